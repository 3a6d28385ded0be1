//! The `kafka-backup-operator` command: CRDs, development certificates, the admission
//! webhook, offline validation, the worker of backup and restore Jobs, and the operator.
//! `main.rs` only calls [`main`].

mod operator;
mod tools;
mod worker;

use std::process::ExitCode;
use std::sync::LazyLock;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use self::operator::{ControllerArgs, RunArgs, WebhookArgs};
use self::tools::{CertsArgs, ValidateArgs};
use crate::worker::cli::{RestoreArgs, WorkerArgs};

/// The crate version, and the git commit it was built from when the build was told
/// (`KAFKA_BACKUP_GIT_COMMIT`, set by `make image` and the Dockerfile).
fn version() -> &'static str {
    static VERSION: LazyLock<String> =
        LazyLock::new(|| match option_env!("KAFKA_BACKUP_GIT_COMMIT") {
            Some(commit) if !commit.is_empty() => {
                format!("{} (commit {commit})", env!("CARGO_PKG_VERSION"))
            }
            _ => env!("CARGO_PKG_VERSION").to_owned(),
        });
    &VERSION
}

/// Back up and restore Apache Kafka topics on Kubernetes.
#[derive(Parser, Debug)]
#[command(name = "kafka-backup-operator", version = version(), about)]
struct Cli {
    /// Log format: `text` for a terminal, `json` in a cluster.
    #[arg(
        long,
        global = true,
        env = "KAFKA_BACKUP_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,
    /// Where logs go: `stderr` or `stdout`.
    #[arg(
        long,
        global = true,
        env = "KAFKA_BACKUP_LOG_OUTPUT",
        default_value = "stderr"
    )]
    log_output: LogOutput,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogOutput {
    Stderr,
    Stdout,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the CustomResourceDefinitions as YAML.
    Crds,
    /// Write a development CA and serving certificate: ca.crt, tls.crt, tls.key.
    Certs(CertsArgs),
    /// Serve the admission webhook only.
    Webhook(WebhookArgs),
    /// Check manifests offline with the webhook's defaults and create rules.
    Validate(ValidateArgs),
    /// Back up Kafka topics once (what a backup Job runs).
    Backup(WorkerArgs),
    /// Restore Kafka topics, resuming from the report directory (what a restore Job runs).
    Restore(RestoreArgs),
    /// Run the controller only (no webhook).
    Controller(ControllerArgs),
    /// Run the operator: the admission webhook and the controller.
    Run(RunArgs),
}

/// Parses the command line, sets up logging and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format, cli.log_output);
    crate::crypto::install_default_provider();
    if matches!(
        cli.command,
        Command::Webhook(_) | Command::Controller(_) | Command::Run(_)
    ) {
        operator::exit_on_panic();
    }
    match run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat, output: LogOutput) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let writer =
        tracing_subscriber::fmt::writer::BoxMakeWriter::new(move || -> Box<dyn std::io::Write> {
            match output {
                LogOutput::Stderr => Box::new(std::io::stderr()),
                LogOutput::Stdout => Box::new(std::io::stdout()),
            }
        });
    // Colours only on a terminal: `kubectl logs` of a Job shows no escape codes.
    let terminal = match output {
        LogOutput::Stderr => std::io::IsTerminal::is_terminal(&std::io::stderr()),
        LogOutput::Stdout => std::io::IsTerminal::is_terminal(&std::io::stdout()),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(terminal)
        .with_writer(writer);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Crds => tools::crds(),
        Command::Certs(args) => tools::certs(&args),
        Command::Validate(args) => tools::validate(&args),
        Command::Backup(args) => Ok(worker::backup(args)),
        Command::Restore(args) => Ok(worker::restore(args)),
        Command::Webhook(args) => {
            runtime()?.block_on(operator::operate(Some(args), None))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Controller(args) => {
            runtime()?.block_on(operator::operate(None, Some(args)))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => {
            runtime()?.block_on(operator::operate(Some(args.webhook), Some(args.controller)))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
