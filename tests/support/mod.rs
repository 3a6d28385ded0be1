//! Shared test helpers: a real admission server over TLS on 127.0.0.1 with certificates
//! made in the test, and AdmissionReview requests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use admission_server::{Metrics, Server, ServerOptions};
use base64::Engine;
use kafka_backup_operator::admission::KafkaBackupPolicy;
use kafka_backup_operator::certs;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Writes a fresh CA and a certificate for 127.0.0.1 and localhost into `dir`; returns
/// the CA's PEM.
pub fn write_certs(dir: &Path) -> String {
    let generated = certs::generate(
        &["localhost".into()],
        &["127.0.0.1".parse().unwrap()],
        time::OffsetDateTime::now_utc(),
        1,
    )
    .expect("certificates");
    generated.write_to(dir).expect("write certificates");
    generated.ca_pem
}

/// An admission server running in the background; stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub ca_pem: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub struct Settings {
    pub body_limit: usize,
    pub header_read_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            header_read_timeout: Duration::from_millis(500),
        }
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(Settings::default()).await
    }

    pub async fn start_with(settings: Settings) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca_pem = write_certs(dir.path());
        let mut options = ServerOptions::new(
            "127.0.0.1:0".parse().unwrap(),
            dir.path().join("tls.crt"),
            dir.path().join("tls.key"),
        );
        options.body_limit = settings.body_limit;
        options.header_read_timeout = settings.header_read_timeout;
        options.reload_interval = Duration::from_millis(100);
        options.shutdown_grace = Duration::from_secs(2);
        let mut registry = Registry::default();
        let metrics = Metrics::register(&mut registry);
        let server = Server::bind(
            options,
            Arc::new(KafkaBackupPolicy),
            metrics,
            Arc::new(registry),
        )
        .await
        .expect("server binds");
        let addr = server.local_addr();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            dir,
            ca_pem,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// A client that trusts only the given CA and resolves localhost to this server.
    pub fn client_trusting(&self, ca_pem: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
            .resolve("localhost", self.addr)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    }

    pub fn client(&self) -> reqwest::Client {
        self.client_trusting(&self.ca_pem)
    }

    pub fn cert_dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// Sends an AdmissionReview to `/mutate` or `/validate`; returns HTTP status and body.
    pub async fn review(&self, path: &str, review: &Value) -> (u16, Value) {
        let response = self
            .client()
            .post(self.url(path))
            .json(review)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON answer"))
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An AdmissionReview v1 request for one of our kinds.
pub fn review(
    operation: &str,
    object: Option<&Value>,
    old_object: Option<&Value>,
    dry_run: bool,
) -> Value {
    let sample = object.or(old_object).expect("an object");
    let kind = sample["kind"].as_str().unwrap();
    let plural = format!("{}s", kind.to_lowercase());
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": format!("uid-{operation}-{}", sample["metadata"]["name"].as_str().unwrap()),
            "kind": {"group": "kafkabackup.com", "version": "v1alpha1", "kind": kind},
            "resource": {"group": "kafkabackup.com", "version": "v1alpha1", "resource": plural},
            "requestKind": {"group": "kafkabackup.com", "version": "v1alpha1", "kind": kind},
            "requestResource": {"group": "kafkabackup.com", "version": "v1alpha1", "resource": plural},
            "name": sample["metadata"]["name"],
            "namespace": sample["metadata"]["namespace"],
            "operation": operation,
            "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
            "object": object,
            "oldObject": old_object,
            "dryRun": dry_run,
            "options": null
        }
    })
}

/// The patch of a mutate answer, decoded; empty when the answer has none. The API
/// server reads a byte field as base64 text or as an array of byte values.
pub fn patch_of(answer: &Value) -> json_patch::Patch {
    let bytes: Vec<u8> = match &answer["response"]["patch"] {
        Value::Null => return json_patch::Patch(vec![]),
        Value::String(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("base64 patch"),
        Value::Array(values) => values
            .iter()
            .map(|v| v.as_u64().expect("a byte") as u8)
            .collect(),
        other => panic!("patch is neither base64 nor bytes: {other}"),
    };
    assert_eq!(answer["response"]["patchType"], "JSONPatch");
    serde_json::from_slice(&bytes).expect("JSON patch")
}

/// Reads a manifest under `manifests/examples/` as JSON.
pub fn example(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("manifests/examples")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("example manifest");
    serde_yaml::from_str(&text).expect("example parses")
}
