//! The `kafka-backup-operator` command: CRDs, development certificates, the admission
//! webhook, offline validation, and the operator itself.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use admission_server::{Metrics, ReadinessCheck, Server, ServerOptions};
use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use kafka_backup_operator::controller::build::JobDefaults;
use kafka_backup_operator::controller::health::{Health, Phase};
use kafka_backup_operator::controller::metrics::ControllerMetrics;
use kafka_backup_operator::controller::{LeaderElection, Scope, run_with_leader_election};
use kafka_backup_operator::supervise::{Supervisor, TaskResult};
use kafka_backup_operator::worker::cli::{self as worker_cli, RestoreArgs, WorkerArgs};
use kafka_backup_operator::{
    admission::KafkaBackupPolicy, api, certs, cluster, crypto, manifest_check, worker,
};
use prometheus_client::registry::Registry;

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
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
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

#[derive(Args, Debug, Clone)]
struct ControllerArgs {
    /// Image of the worker in backup and restore Jobs, when a resource gives none. In a
    /// pod (POD_NAME set) the default is the image of the operator's own container, read
    /// from the API; elsewhere the release image of this version.
    #[arg(long, env = "KAFKA_BACKUP_WORKER_IMAGE")]
    worker_image: Option<String>,
    /// This pod's name (the Downward API), to read the operator's own image.
    #[arg(long, env = "POD_NAME", hide = true)]
    pod_name: Option<String>,
    /// Namespace of the leader election Lease; defaults to the pod's namespace.
    #[arg(long, env = "POD_NAMESPACE", default_value = "kafka-backup-operator")]
    lease_namespace: String,
    /// Name of the leader election Lease.
    #[arg(
        long,
        env = "KAFKA_BACKUP_LEASE_NAME",
        default_value = "kafka-backup-operator"
    )]
    lease_name: String,
    /// This replica's identity in the Lease; defaults to the pod's name.
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Watch KafkaBackups and KafkaRestores in this namespace only; every namespace when
    /// left out.
    #[arg(long = "watch-namespace", env = "KAFKA_BACKUP_WATCH_NAMESPACE")]
    watch_namespace: Option<String>,
}

#[derive(Args, Debug, Clone)]
struct RunArgs {
    #[command(flatten)]
    webhook: WebhookArgs,
    #[command(flatten)]
    controller: ControllerArgs,
}

#[derive(Args, Debug)]
struct CertsArgs {
    /// Directory to write the files into (created if missing).
    #[arg(long, env = "KAFKA_BACKUP_CERTS_OUT")]
    out: PathBuf,
    /// DNS name the certificate is valid for (repeatable).
    #[arg(long = "dns", env = "KAFKA_BACKUP_CERTS_DNS", value_delimiter = ',')]
    dns: Vec<String>,
    /// IP address the certificate is valid for (repeatable).
    #[arg(long = "ip", env = "KAFKA_BACKUP_CERTS_IP", value_delimiter = ',')]
    ip: Vec<IpAddr>,
    /// Days the certificates are valid for.
    #[arg(long, env = "KAFKA_BACKUP_CERTS_DAYS", default_value_t = 365)]
    days: i64,
}

#[derive(Args, Debug, Clone)]
struct WebhookArgs {
    /// Address and port the HTTPS server listens on.
    #[arg(long, env = "KAFKA_BACKUP_LISTEN", default_value = "0.0.0.0:8443")]
    listen: SocketAddr,
    /// PEM certificate chain of the server; reloaded when the file changes.
    #[arg(long, env = "KAFKA_BACKUP_TLS_CERT", default_value = "/tls/tls.crt")]
    tls_cert: PathBuf,
    /// PEM private key of the server; reloaded when the file changes.
    #[arg(long, env = "KAFKA_BACKUP_TLS_KEY", default_value = "/tls/tls.key")]
    tls_key: PathBuf,
    /// Largest admission request body accepted, in bytes.
    #[arg(long, env = "KAFKA_BACKUP_BODY_LIMIT", default_value_t = 6 * 1024 * 1024)]
    body_limit: usize,
    /// Seconds allowed for the TLS handshake and the request headers.
    #[arg(long, env = "KAFKA_BACKUP_HEADER_TIMEOUT", default_value_t = 5)]
    header_read_timeout: u64,
    /// Seconds between checks of the certificate files for a change.
    #[arg(long, env = "KAFKA_BACKUP_CERT_RELOAD_INTERVAL", default_value_t = 10)]
    cert_reload_interval: u64,
}

#[derive(Args, Debug)]
struct ValidateArgs {
    /// Manifest file, directory (searched for .yaml, .yml and .json), or `-` for stdin.
    /// Repeatable.
    #[arg(
        short = 'f',
        long = "filename",
        env = "KAFKA_BACKUP_VALIDATE_FILES",
        value_delimiter = ',',
        required = true
    )]
    files: Vec<PathBuf>,
    /// Print only errors and the summary, not warnings.
    #[arg(long, short = 'q')]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    crypto::install_default_provider();
    if matches!(
        cli.command,
        Command::Webhook(_) | Command::Controller(_) | Command::Run(_)
    ) {
        exit_on_panic();
    }
    match run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: `kubectl logs` of a Job shows no escape codes.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Crds => {
            print!("{}", api::crds_yaml().context("serializing the CRDs")?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Certs(args) => {
            let generated = certs::generate(
                &args.dns,
                &args.ip,
                time::OffsetDateTime::now_utc(),
                args.days,
            )?;
            generated.write_to(&args.out)?;
            println!(
                "wrote {dir}/ca.crt, {dir}/tls.crt and {dir}/tls.key",
                dir = args.out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate(args) => validate(&args),
        Command::Webhook(args) => {
            runtime()?.block_on(operate(Some(args), None))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup(args) => Ok(run_worker(
            &args.termination_log.clone(),
            None,
            move |runtime| {
                let file = worker_cli::read_config_file(&args).map_err(WorkerFailure::Input)?;
                let config = worker_cli::backup_config(&args, file.as_deref())
                    .map_err(WorkerFailure::Input)?;
                runtime
                    .block_on(worker::run::backup(&config, &args.tuning()))
                    .map_err(WorkerFailure::Run)
            },
        )),
        Command::Restore(args) => {
            let report_dir = args.report_dir.clone().map(PathBuf::from);
            Ok(run_worker(
                &args.common.termination_log.clone(),
                report_dir,
                move |runtime| {
                    let file =
                        worker_cli::read_config_file(&args.common).map_err(WorkerFailure::Input)?;
                    let config = worker_cli::restore_config(&args, file.as_deref())
                        .map_err(WorkerFailure::Input)?;
                    runtime
                        .block_on(worker::run::restore(&config, &args.common.tuning()))
                        .map_err(WorkerFailure::Run)
                },
            ))
        }
        Command::Controller(args) => {
            runtime()?.block_on(operate(None, Some(args)))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => {
            runtime()?.block_on(operate(Some(args.webhook), Some(args.controller)))?;
            Ok(ExitCode::SUCCESS)
        }
    }
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
                outcome: kafka_backup_operator::api::Outcome::Failed,
                records: 0,
                bytes: 0,
                topics: None,
                backup_id: None,
                attempt: None,
                error: Some(message),
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

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn validate(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let mut inputs = Vec::new();
    for path in &args.files {
        inputs.extend(
            manifest_check::collect_inputs(path)
                .with_context(|| format!("reading {}", path.display()))?,
        );
    }
    let report = manifest_check::check(&inputs);
    for finding in &report.findings {
        if !(args.quiet && finding.is_warning) {
            println!("{finding}");
        }
    }
    println!("{}", report.summary());
    Ok(if report.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// How long the webhook and the controller get to stop once one of them has stopped.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// The worker image outside a pod when none is given: what the release workflow publishes.
const RELEASE_IMAGE: &str = concat!(
    "ghcr.io/kafka-backup-operator/kafka-backup-operator:",
    env!("CARGO_PKG_VERSION")
);
/// Wait between two attempts to reach the Kubernetes API.
const CONNECT_RETRY: Duration = Duration::from_secs(10);

/// Serves the webhook and/or runs the controller until SIGTERM or Ctrl-C. Without a
/// reachable cluster the controller waits, saying why, while the webhook serves. When
/// either ends on its own (an error, a panic) the other is stopped and the process
/// fails, so Kubernetes restarts the pod.
async fn operate(
    webhook: Option<WebhookArgs>,
    controller: Option<ControllerArgs>,
) -> anyhow::Result<()> {
    tracing::info!(version = version(), "kafka-backup-operator starting");
    let mut registry = Registry::default();
    let admission_metrics = Metrics::register(&mut registry);
    let controller_metrics = ControllerMetrics::register(&mut registry);
    let registry = Arc::new(registry);
    let health = Health::default();
    let mut supervisor = Supervisor::new();

    if let Some(args) = webhook {
        let mut options =
            ServerOptions::new(args.listen, args.tls_cert.clone(), args.tls_key.clone());
        options.body_limit = args.body_limit;
        options.header_read_timeout = Duration::from_secs(args.header_read_timeout);
        options.reload_interval = Duration::from_secs(args.cert_reload_interval.max(1));
        if controller.is_some() {
            let health = health.clone();
            options.readiness = Some(ReadinessCheck::new(move || health.readiness()));
        }
        let server = Server::bind(options, Arc::new(KafkaBackupPolicy), admission_metrics, registry.clone())
            .await
            .with_context(|| {
                format!(
                    "starting the webhook (certificate {}, key {}; `make certs` writes development ones)",
                    args.tls_cert.display(),
                    args.tls_key.display()
                )
            })?;
        tracing::info!(
            addr = %server.local_addr(),
            "webhook serving /mutate, /validate, /healthz, /readyz and /metrics over TLS"
        );
        let mut stop = supervisor.stop_signal();
        supervisor.spawn("webhook", async move {
            server
                .run(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            Ok(())
        });
    }
    if let Some(args) = controller {
        let stop = supervisor.stop_signal();
        supervisor.spawn(
            "controller",
            run_controller(args, controller_metrics, health, stop),
        );
    }

    supervisor.run(shutdown_signal(), STOP_GRACE).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Connects to the cluster (waiting, and saying why, while it cannot be reached) and runs
/// the controllers under leader election until `stop`. Ends with an error when waiting
/// cannot help (credentials refused, RBAC), so the process exits.
async fn run_controller(
    args: ControllerArgs,
    metrics: ControllerMetrics,
    health: Health,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> TaskResult {
    let client = loop {
        match cluster::connect().await {
            Ok((client, version)) => {
                tracing::info!(server = %version, "connected to the Kubernetes API");
                break client;
            }
            Err(error) if error.cause.is_fatal() => {
                tracing::error!(
                    cause = error.cause.label(),
                    address = error.address.as_deref().unwrap_or(""),
                    "{error}"
                );
                return Err(error.into());
            }
            Err(error) => {
                tracing::warn!(
                    cause = error.cause.label(),
                    address = error.address.as_deref().unwrap_or(""),
                    "{error}; the controller waits and retries every {}s",
                    CONNECT_RETRY.as_secs()
                );
                health.set(Phase::Connecting(error.to_string()));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(CONNECT_RETRY) => {}
            _ = stop.wait_for(|s| *s) => return Ok(()),
        }
    };
    let identity = args.identity.clone().unwrap_or_else(|| {
        std::env::var("HOSTNAME")
            .unwrap_or_else(|_| format!("kafka-backup-operator-{}", std::process::id()))
    });
    let election = LeaderElection {
        namespace: args.lease_namespace.clone(),
        identity,
        lease_name: args.lease_name.clone(),
    };
    let image = match (&args.worker_image, &args.pod_name) {
        (Some(image), _) => image.clone(),
        (None, Some(pod)) => cluster::own_image(client.clone(), &args.lease_namespace, pod).await?,
        (None, None) => RELEASE_IMAGE.to_string(),
    };
    tracing::info!(%image, "backup and restore Jobs run this image unless a resource names one");
    let defaults = JobDefaults { image };
    loop {
        let result = run_with_leader_election(
            client.clone(),
            defaults.clone(),
            metrics.clone(),
            election.clone(),
            match &args.watch_namespace {
                Some(namespace) => Scope::Namespace(namespace.clone()),
                None => Scope::Cluster,
            },
            health.clone(),
            stop.clone(),
        )
        .await;
        if *stop.borrow() {
            return Ok(());
        }
        let why = match result {
            Ok(()) => "the leader election ended".to_string(),
            Err(error) => format!("leader election failed: {error}"),
        };
        tracing::error!(lease = %election.lease_name, namespace = %election.namespace, "{why} (check the Lease RBAC and that the namespace exists); retrying in {}s", CONNECT_RETRY.as_secs());
        health.set(Phase::Connecting(why));
        tokio::select! {
            _ = tokio::time::sleep(CONNECT_RETRY) => {}
            _ = stop.wait_for(|s| *s) => return Ok(()),
        }
    }
}

/// A panic anywhere in a long-running command ends the process (after the usual
/// report), so no task can die while the rest stays up and reports ready.
fn exit_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        tracing::error!(%info, "panic: the process exits so that it is restarted");
        std::process::exit(101);
    }));
}

/// Completes when the process is asked to stop.
async fn shutdown_signal() {
    kafka_backup_operator::shutdown::requested().await;
    tracing::info!("shutdown requested");
}
