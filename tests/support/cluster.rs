//! The end-to-end suites' hold on a real cluster: a client from `KUBECONFIG` (only when
//! `KAFKA_BACKUP_E2E=1`), the CRDs applied, a namespace per test with the controller
//! running in the test process and watching only it (or an installed operator with
//! `KAFKA_BACKUP_E2E_EXTERNAL=1`), polling, and the real kubectl.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Node};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kafka_backup_operator::controller::build::JobDefaults;
use kafka_backup_operator::controller::metrics::ControllerMetrics;
use kafka_backup_operator::controller::{Limits, Scope, run_controllers};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;

/// A node label no node has: pods of simulated tests select it and stay Pending, so a
/// real node never runs them while the test writes their status as a kubelet would.
pub const SIMULATED_NODE_LABEL: &str = "kafkabackup.com/e2e-simulated";

pub const TIMEOUT: Duration = Duration::from_secs(90);

/// The client, or `None` (and a note) when the suite is not asked for.
pub async fn cluster() -> Option<Client> {
    if std::env::var("KAFKA_BACKUP_E2E").as_deref() != Ok("1")
        || std::env::var_os("KUBECONFIG").is_none()
    {
        eprintln!("skipped: set KAFKA_BACKUP_E2E=1 and KUBECONFIG to run the end-to-end suite");
        return None;
    }
    kafka_backup_operator::crypto::install_default_provider();
    // The in-process controllers' logs, with the test's output, when asked for:
    // KAFKA_BACKUP_E2E_LOG=kafka_backup_operator=debug (a filter, as RUST_LOG).
    if let Ok(filter) = std::env::var("KAFKA_BACKUP_E2E_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .with_ansi(false)
            .try_init();
    }
    let client = Client::try_default()
        .await
        .expect("a client from KUBECONFIG");
    install_crds(&client).await;
    Some(client)
}

pub async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in kafka_backup_operator::api::crds() {
        crds.patch(
            &crd.name_any(),
            &PatchParams::apply("kafka-backup-e2e").force(),
            &Patch::Apply(&crd),
        )
        .await
        .expect("apply CRD");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// A namespace for one test, with the controller running for as long as it lives,
/// watching that namespace only (so parallel tests never see each other's controllers).
pub struct TestNamespace {
    pub client: Client,
    pub name: String,
    stops: Vec<tokio::sync::oneshot::Sender<()>>,
    /// The metrics registry of each controller started, as `/metrics` encodes it.
    registries: Vec<prometheus_client::registry::Registry>,
    /// Pods of this namespace stay off real nodes: the test plays the kubelet.
    simulated: bool,
}

impl TestNamespace {
    pub async fn new(client: &Client, test: &str) -> Self {
        let mut ns = Self::without_controller(client, test).await;
        if std::env::var("KAFKA_BACKUP_E2E_EXTERNAL").as_deref() != Ok("1") {
            ns.start_controller(&format!("e2e-{test}"));
        }
        ns
    }

    pub async fn without_controller(client: &Client, test: &str) -> Self {
        Self::create(client, test, json!({}), true).await
    }

    /// A namespace whose pods run on the cluster's nodes, admitted under the Pod
    /// Security Standard `restricted`, with the controller running.
    pub async fn on_nodes(client: &Client, test: &str) -> Self {
        let mut ns = Self::on_nodes_without_controller(client, test).await;
        if std::env::var("KAFKA_BACKUP_E2E_EXTERNAL").as_deref() != Ok("1") {
            ns.start_controller(&format!("e2e-{test}"));
        }
        ns
    }

    /// A namespace whose pods run on the cluster's nodes under `restricted`, and no
    /// controller of the test process: for an operator installed in the cluster.
    pub async fn on_nodes_without_controller(client: &Client, test: &str) -> Self {
        let labels = json!({
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest"
        });
        Self::create(client, test, labels, false).await
    }

    async fn create(
        client: &Client,
        test: &str,
        labels: serde_json::Value,
        simulated: bool,
    ) -> Self {
        let name = format!("kbo-e2e-{test}-{}", std::process::id());
        let namespaces: Api<Namespace> = Api::all(client.clone());
        namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}}))
                    .unwrap(),
            )
            .await
            .expect("create namespace");
        Self {
            client: client.clone(),
            name,
            stops: Vec::new(),
            registries: Vec::new(),
            simulated,
        }
    }

    /// Keeps the pods of a resource off real nodes, where its test plays the kubelet.
    pub fn simulated_pods(&self, object: &mut serde_json::Value) {
        let ours =
            ["KafkaBackup", "KafkaRestore"].contains(&object["kind"].as_str().unwrap_or_default());
        if self.simulated && ours && object["spec"]["template"]["nodeSelector"].is_null() {
            object["spec"]["template"]["nodeSelector"] = json!({SIMULATED_NODE_LABEL: "true"});
        }
    }

    /// Starts one more in-process controller on this namespace, with empty caches: a
    /// second replica, or the operator after a restart. Returns its index for `stop`.
    pub fn start_controller(&mut self, instance: &str) -> usize {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let image = std::env::var("KAFKA_BACKUP_E2E_IMAGE")
            .unwrap_or_else(|_| "kafka-backup-operator:e2e".into());
        let mut registry = prometheus_client::registry::Registry::default();
        let metrics = ControllerMetrics::register(&mut registry);
        self.registries.push(registry);
        tokio::spawn(run_controllers(
            self.client.clone(),
            JobDefaults { image },
            metrics,
            instance.to_string(),
            Scope::Namespace(self.name.clone()),
            Limits {
                concurrency: 8,
                requests_per_second: 0,
            },
            async {
                let _ = stopped.await;
            },
        ));
        self.stops.push(stop);
        self.stops.len() - 1
    }

    /// What `/metrics` shows of controller `index` (see `start_controller`) now.
    #[allow(dead_code)]
    pub fn scrape(&self, index: usize) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registries[index])
            .expect("OpenMetrics text");
        text
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }

    pub async fn apply<K>(&self, object: serde_json::Value) -> K
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        let mut object = object;
        self.simulated_pods(&mut object);
        let object: K = serde_json::from_value(object).unwrap();
        self.api::<K>()
            .create(&PostParams::default(), &object)
            .await
            .expect("create")
    }
}

impl Drop for TestNamespace {
    /// Removes the namespace and everything in it, also after a failed assertion. Drop
    /// cannot wait on the test's runtime, so this goes through the real kubectl: the
    /// namespace is deleted, and the finalizers are taken off what is left in it: ours
    /// (the test's controllers are stopped) and the hold a test puts on a Job.
    fn drop(&mut self) {
        for stop in self.stops.drain(..) {
            let _ = stop.send(());
        }
        let run = |args: &[&str]| {
            std::process::Command::new("kubectl")
                .args(args)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        };
        run(&["delete", "namespace", &self.name, "--wait=false"]);
        let left = run(&[
            "get",
            "kafkarestores,kafkabackups,jobs",
            "-n",
            &self.name,
            "-o",
            "name",
        ]);
        for object in left.lines() {
            run(&[
                "patch",
                object,
                "-n",
                &self.name,
                "--type=merge",
                "-p",
                r#"{"metadata":{"finalizers":null}}"#,
            ]);
        }
    }
}

/// What the suites that run pods on a node need besides the cluster: the operator's
/// image on the node, a Kafka broker and an S3 endpoint both pods and test reach.
pub struct Parts {
    pub image: String,
    pub kafka: String,
    pub s3: String,
}

/// The parts from the environment and a schedulable node, or `None` with a note.
pub async fn parts(client: &kube::Client) -> Option<Parts> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(image), Some(kafka), Some(s3)) = (
        var("KAFKA_BACKUP_E2E_IMAGE"),
        var("KAFKA_BACKUP_E2E_KAFKA"),
        var("KAFKA_BACKUP_E2E_S3"),
    ) else {
        eprintln!(
            "skipped: set KAFKA_BACKUP_E2E_IMAGE, KAFKA_BACKUP_E2E_KAFKA and KAFKA_BACKUP_E2E_S3 to run pods on a node"
        );
        return None;
    };
    let nodes: Api<Node> = Api::all(client.clone());
    let schedulable = nodes
        .list(&ListParams::default())
        .await
        .ok()?
        .items
        .into_iter()
        .any(|node| {
            let spec = node.spec.unwrap_or_default();
            let ready = node
                .status
                .and_then(|s| s.conditions)
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            ready
                && spec.unschedulable != Some(true)
                && spec
                    .taints
                    .unwrap_or_default()
                    .iter()
                    .all(|t| t.effect != "NoSchedule" && t.effect != "NoExecute")
        });
    if !schedulable {
        eprintln!("skipped: the cluster has no schedulable node");
        return None;
    }
    Some(Parts { image, kafka, s3 })
}

/// Polls `check` every 500 ms until it returns `Some`, for at most `TIMEOUT`.
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(TIMEOUT, what, check).await
}

/// Polls `check` every 500 ms until it returns `Some`, for at most `timeout`.
pub async fn eventually_within<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Runs `kubectl` (the real one, with the suite's KUBECONFIG) with `stdin`.
fn kubectl_output(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new("kubectl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `kubectl` and returns its stdout; it must succeed.
pub fn kubectl(args: &[&str], stdin: Option<&str>) -> String {
    let output = kubectl_output(args, stdin);
    assert!(
        output.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs `kubectl` and returns its error output; it must fail.
pub fn kubectl_refused(args: &[&str], stdin: Option<&str>) -> String {
    let output = kubectl_output(args, stdin);
    assert!(!output.status.success(), "kubectl {args:?} succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}
