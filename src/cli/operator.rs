//! The long-running commands: the admission webhook and the controller, supervised
//! together until SIGTERM, with the controller waiting for the cluster while it cannot
//! be reached.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use admission_server::{Metrics, ReadinessCheck, Server, ServerOptions};
use anyhow::Context;
use clap::Args;
use prometheus_client::registry::Registry;

use super::version;
use crate::admission::KafkaBackupPolicy;
use crate::cluster;
use crate::controller::build::JobDefaults;
use crate::controller::health::{Health, Phase};
use crate::controller::metrics::ControllerMetrics;
use crate::controller::{LeaderElection, Limits, Scope, run_with_leader_election};
use crate::supervise::{Supervisor, TaskResult};

#[derive(Args, Debug, Clone)]
pub struct ControllerArgs {
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
    /// Reconciles run at the same time, per kind: bounds the controller's load on the
    /// API server when thousands of resources change at once (0: no bound).
    #[arg(
        long,
        env = "KAFKA_BACKUP_MAX_CONCURRENT_RECONCILES",
        default_value_t = 8
    )]
    max_concurrent_reconciles: u16,
    /// Requests a second the controllers may send to the API server, with a burst of as
    /// many (0: no limit). The leader election Lease is renewed outside this limit.
    /// While restores are created in bulk, their Jobs take a quarter of it (see
    /// `restore::burst`). The default is what `benches/api_load.sh` found, on a control
    /// plane of two cores shared with the operator, while 2,000 restores are applied
    /// from one file: at 120 the apply took 1.09 times as long as with no operator (10
    /// Jobs a second during it), and every restore had its Job 45.6 s after it (40 Jobs
    /// a second, three requests each). Without the quarter, 70 slowed the apply 1.24 to
    /// 1.93 times and 60 left the last Jobs 66 s behind a fast apply.
    #[arg(long, env = "KAFKA_BACKUP_KUBE_API_QPS", default_value_t = 120)]
    kube_api_qps: u32,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub webhook: WebhookArgs,
    #[command(flatten)]
    pub controller: ControllerArgs,
}

#[derive(Args, Debug, Clone)]
pub struct WebhookArgs {
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
pub async fn operate(
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
    let clients = loop {
        let counter = metrics.clone();
        let on_request = move |request: &http::Request<kube::client::Body>| {
            counter.requested(request.method(), request.uri())
        };
        match cluster::connect(on_request, cluster::RequestRate(args.kube_api_qps)).await {
            Ok((clients, version)) => {
                tracing::info!(server = %version, "connected to the Kubernetes API");
                break clients;
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
        (None, Some(pod)) => {
            cluster::own_image(clients.api.clone(), &args.lease_namespace, pod).await?
        }
        (None, None) => RELEASE_IMAGE.to_string(),
    };
    tracing::info!(%image, "backup and restore Jobs run this image unless a resource names one");
    let defaults = JobDefaults { image };
    loop {
        let result = run_with_leader_election(
            clients.clone(),
            defaults.clone(),
            metrics.clone(),
            election.clone(),
            match &args.watch_namespace {
                Some(namespace) => Scope::Namespace(namespace.clone()),
                None => Scope::Cluster,
            },
            Limits {
                concurrency: args.max_concurrent_reconciles,
                requests_per_second: args.kube_api_qps,
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
pub fn exit_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        tracing::error!(%info, "panic: the process exits so that it is restarted");
        std::process::exit(101);
    }));
}

/// Completes when the process is asked to stop.
async fn shutdown_signal() {
    crate::shutdown::requested().await;
    tracing::info!("shutdown requested");
}
