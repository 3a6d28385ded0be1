//! The real binary's `controller` and `run` commands when the Kubernetes API cannot be
//! used: a TLS listener started here on 127.0.0.1 with its own CA stands where the API
//! server would be. These are process tests (TLS client set-up, logs, exit codes,
//! readiness), not end-to-end tests: tests/e2e.rs runs against a real API server.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;

/// A TLS listener that answers `/version` like an API server and refuses every other
/// request as unauthorized (401). Runs until the test's runtime ends.
async fn refusing_api(dir: &Path) -> (u16, String) {
    let ca = support::write_certs(dir);
    kafka_backup_operator::crypto::install_default_provider();
    let certificate = Arc::new(
        admission_server::ReloadingCertificate::load(&dir.join("tls.crt"), &dir.join("tls.key"))
            .unwrap(),
    );
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(certificate.server_config().unwrap()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let router = Router::new()
        .route(
            "/version",
            get(|| async {
                r#"{"major":"1","minor":"33","gitVersion":"v1.33.0","gitCommit":"","gitTreeState":"","buildDate":"","goVersion":"","compiler":"","platform":"linux/amd64"}"#
            }),
        )
        .fallback(|| async {
            (
                StatusCode::UNAUTHORIZED,
                [("content-type", "application/json")],
                r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#,
            )
        });
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let service = TowerToHyperService::new(router.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                }
            });
        }
    });
    (port, ca)
}

/// A kubeconfig for `server` trusting `ca_pem`, with a bearer token.
fn kubeconfig(dir: &Path, server: &str, ca_pem: &str) -> PathBuf {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\n\
             clusters: [{{name: c, cluster: {{server: \"{server}\", certificate-authority-data: {ca}}}}}]\n\
             users: [{{name: u, user: {{token: not-a-valid-token}}}}]\n\
             contexts: [{{name: x, context: {{cluster: c, user: u}}}}]\n\
             current-context: x\n"
        ),
    )
    .unwrap();
    path
}

/// A free port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The operator binary, started with `args` and `kubeconfig`, its log collected.
struct Operator {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Operator {
    fn start(args: &[&str], kubeconfig: &Path, home: &Path) -> Self {
        let mut child = Command::cargo_bin("kafka-backup-operator")
            .unwrap()
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("HOME", home)
            .env("RUST_LOG", "info")
            .env("KAFKA_BACKUP_LOG_FORMAT", "text")
            .env("NO_COLOR", "1")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("KUBERNETES_SERVICE_PORT")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Self { child, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits up to 20 s for a log line containing every one of `needles`.
    async fn wait_for_line(&self, needles: &[&str]) -> String {
        for _ in 0..200 {
            if let Some(line) = self
                .log()
                .lines()
                .find(|l| needles.iter().all(|n| l.contains(n)))
            {
                return line.to_string();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no log line with {needles:?} in:\n{}", self.log());
    }

    /// Waits up to 20 s for the process to end on its own.
    async fn wait_for_exit(&mut self) -> Option<ExitStatus> {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// Stops the process we started, by its PID, with SIGTERM; its exit status.
    async fn terminate(&mut self) -> Option<ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.wait_for_exit().await
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[tokio::test]
async fn controller_behind_an_unknown_ca_logs_tls_and_the_address_and_keeps_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let (port, _their_ca) = refusing_api(dir.path()).await;
    // The kubeconfig trusts another CA than the one that signed the server's certificate.
    let other = tempfile::tempdir().unwrap();
    let our_ca = support::write_certs(other.path());
    let address = format!("https://127.0.0.1:{port}");
    let config = kubeconfig(dir.path(), &address, &our_ca);
    let mut operator = Operator::start(&["controller"], &config, dir.path());
    let line = operator
        .wait_for_line(&["cause=\"tls\"", &address, "waits and retries"])
        .await;
    assert!(line.contains("certificate"), "{line}");
    assert!(
        operator.child.try_wait().unwrap().is_none(),
        "still waiting"
    );
    let status = operator.terminate().await.expect("stops on SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(!operator.log().contains("panicked"), "{}", operator.log());
}

#[tokio::test]
async fn controller_whose_credentials_are_refused_exits_non_zero_naming_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let (port, ca) = refusing_api(dir.path()).await;
    let address = format!("https://127.0.0.1:{port}");
    let config = kubeconfig(dir.path(), &address, &ca);
    let mut operator = Operator::start(&["controller"], &config, dir.path());
    let status = operator
        .wait_for_exit()
        .await
        .expect("the controller task ended, so the process ends");
    assert!(!status.success(), "{status:?}");
    let log = operator.log();
    let line = operator
        .wait_for_line(&["cause=\"unauthorized\"", &address])
        .await;
    assert!(line.contains("renew them"), "{line}");
    assert!(log.contains("the controller failed"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

#[tokio::test]
async fn controller_without_any_configuration_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-kubeconfig");
    let mut operator = Operator::start(&["controller"], &missing, dir.path());
    let line = operator
        .wait_for_line(&["cause=\"no-configuration\"", "waits and retries"])
        .await;
    assert!(line.contains("set KUBECONFIG"), "{line}");
    assert!(operator.terminate().await.expect("stops").success());
}

#[tokio::test]
async fn run_serves_the_webhook_and_is_not_ready_while_the_api_refuses_connections() {
    let dir = tempfile::tempdir().unwrap();
    let ca = support::write_certs(dir.path());
    let api = format!("https://127.0.0.1:{}", closed_port());
    let config = kubeconfig(dir.path(), &api, &ca);
    let port = closed_port();
    let listen = format!("127.0.0.1:{port}");
    let cert = dir.path().join("tls.crt");
    let key = dir.path().join("tls.key");
    let mut operator = Operator::start(
        &[
            "run",
            "--listen",
            &listen,
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        &config,
        dir.path(),
    );
    operator.wait_for_line(&["cause=\"refused\"", &api]).await;
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let get = |path: &str| client.get(format!("https://localhost:{port}{path}")).send();
    let health = get("/healthz").await.unwrap();
    assert_eq!(health.status(), 200, "the webhook serves");
    let ready = get("/readyz").await.unwrap();
    assert_eq!(ready.status(), 503);
    let why = ready.text().await.unwrap();
    assert!(why.contains("the controller is not running"), "{why}");
    assert!(why.contains("refused"), "{why}");
    drop(client);
    let status = operator.terminate().await.expect("stops on SIGTERM");
    assert!(status.success(), "{status:?}");
}
