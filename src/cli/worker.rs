//! The worker commands `backup` and `restore`: what a Job runs. The outcome becomes an
//! exit code and a termination message the controller reads.

use std::path::PathBuf;
use std::process::ExitCode;

use super::runtime;
use crate::worker;
use crate::worker::cli::{self as worker_cli, RestoreArgs, WorkerArgs};

/// Runs one backup.
pub fn backup(args: WorkerArgs) -> ExitCode {
    run_worker(&args.termination_log.clone(), None, move |runtime| {
        let file = worker_cli::read_config_file(&args).map_err(WorkerFailure::Input)?;
        let config =
            worker_cli::backup_config(&args, file.as_deref()).map_err(WorkerFailure::Input)?;
        runtime
            .block_on(worker::run::backup(&config))
            .map_err(WorkerFailure::Run)
    })
}

/// Runs one attempt of a restore.
pub fn restore(args: RestoreArgs) -> ExitCode {
    let report_dir = args.report_dir.clone().map(PathBuf::from);
    run_worker(
        &args.common.termination_log.clone(),
        report_dir,
        move |runtime| {
            let file = worker_cli::read_config_file(&args.common).map_err(WorkerFailure::Input)?;
            let config =
                worker_cli::restore_config(&args, file.as_deref()).map_err(WorkerFailure::Input)?;
            runtime
                .block_on(worker::run::restore(&config, args.progress_listen))
                .map_err(WorkerFailure::Run)
        },
    )
}

/// How a worker run ended badly.
enum WorkerFailure {
    /// The configuration or flags are unusable: nothing was done.
    Input(String),
    Run(worker::run::WorkerError),
}

/// Runs a worker and turns its outcome into an exit code a Job understands (0 done,
/// 1 failed, 2 unusable input, 3 stopped by a signal) and a termination message.
fn run_worker(
    termination_log: &std::path::Path,
    report_dir: Option<PathBuf>,
    work: impl FnOnce(&tokio::runtime::Runtime) -> Result<worker::report::Summary, WorkerFailure>,
) -> ExitCode {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    match work(&runtime) {
        Ok(summary) => {
            worker::report::write_termination_message(termination_log, &summary);
            ExitCode::SUCCESS
        }
        Err(WorkerFailure::Input(message)) => {
            tracing::error!("{message}");
            let summary = worker::report::Summary {
                outcome: crate::api::Outcome::Failed,
                records: 0,
                bytes: 0,
                topics: None,
                backup_id: None,
                attempt: None,
                error: Some(message),
                consumer_groups: None,
                groups_reset: Vec::new(),
                pruned: None,
                prune_held: None,
            };
            worker::report::write_termination_message(termination_log, &summary);
            ExitCode::from(2)
        }
        Err(WorkerFailure::Run(error)) => {
            tracing::error!("{error}");
            worker::report::write_termination_message(
                termination_log,
                &worker::run::failure(&error, report_dir.as_deref()),
            );
            ExitCode::from(error.exit_code())
        }
    }
}
