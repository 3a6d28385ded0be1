//! The Helm chart on a real cluster: `helm install` of charts/kafka-backup-operator runs
//! the operator in pods of its image; the API server calls its webhooks through the
//! chart's Service; it backs up a real topic to S3 in a pod; `helm uninstall` removes
//! what the chart made. Its own test binary, so its cluster-wide webhook configurations
//! never meet the other suites' tests.
//!
//! Needs what tests/e2e_pods.rs needs (`KAFKA_BACKUP_E2E=1`, `KUBECONFIG`,
//! `KAFKA_BACKUP_E2E_IMAGE`, `KAFKA_BACKUP_E2E_KAFKA`, `KAFKA_BACKUP_E2E_S3`), helm on
//! PATH, and an API server that reaches Services (kube-proxy, or kube-apiserver's
//! `--enable-aggregator-routing`). Without them it says so and returns.

#[path = "support/broker.rs"]
mod broker;
#[path = "support/cluster.rs"]
mod cluster;

use std::process::Command;
use std::time::Duration;

use base64::Engine;
use broker::{Broker, produce, sample_records};
use cluster::{TestNamespace, cluster, eventually_within, kubectl, kubectl_refused};
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::api::rbac::v1::ClusterRole;
use kafka_backup_operator::api::KafkaBackup;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::{Value, json};

const RELEASE: &str = "kbo-e2e";
const RUN: Duration = Duration::from_secs(240);

fn helm(args: &[&str]) -> Result<String, String> {
    let output = Command::new("helm")
        .args(args)
        .output()
        .map_err(|e| format!("helm: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The release, uninstalled when the test ends however it ends: its webhooks fail closed
/// and must not outlive the operator's pods.
struct Release {
    namespace: String,
}

impl Drop for Release {
    fn drop(&mut self) {
        if let Err(e) = helm(&["uninstall", RELEASE, "-n", &self.namespace, "--wait"]) {
            eprintln!("helm uninstall: {e}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a cluster with a node and helm: make e2e"]
async fn the_chart_installs_an_operator_that_admits_backs_up_and_uninstalls() {
    let Some(client) = cluster().await else {
        return;
    };
    let Some(cluster::Parts { image, kafka, s3 }) = cluster::parts(&client).await else {
        return;
    };
    if helm(&["version"]).is_err() {
        eprintln!("skipped: helm not found (go install helm.sh/helm/v3/cmd/helm@v3.22.0)");
        return;
    }
    // The operator in one namespace (labelled as the README says), watching another.
    let operator = TestNamespace::on_nodes_without_controller(&client, "helm-op").await;
    let work = TestNamespace::on_nodes_without_controller(&client, "helm-work").await;

    // A serving certificate of our own for the chart's Service, in the Secret the chart
    // mounts; its CA goes to the webhooks through the chart's value.
    let service = format!("kafka-backup-operator-webhook.{}.svc", operator.name);
    let certs = kafka_backup_operator::certs::generate(
        std::slice::from_ref(&service),
        &[],
        time::OffsetDateTime::now_utc(),
        1,
    )
    .unwrap();
    let mut secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "kafka-backup-operator-webhook-tls"},
        "type": "kubernetes.io/tls"
    }))
    .unwrap();
    secret.data = Some(
        [
            ("tls.crt", &certs.cert_pem),
            ("tls.key", &certs.key_pem),
            ("ca.crt", &certs.ca_pem),
        ]
        .into_iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                k8s_openapi::ByteString(v.clone().into_bytes()),
            )
        })
        .collect(),
    );
    operator
        .api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(certs.ca_pem.as_bytes());

    let (repository, tag) = image
        .rsplit_once(':')
        .expect("KAFKA_BACKUP_E2E_IMAGE has a tag");
    let chart = format!(
        "{}/charts/kafka-backup-operator",
        env!("CARGO_MANIFEST_DIR")
    );
    let release = Release {
        namespace: operator.name.clone(),
    };
    // --take-ownership: the e2e suite's `run` test applies the manifests' ClusterRole and
    // binding, which a release would otherwise refuse to take over.
    helm(&[
        "install",
        RELEASE,
        &chart,
        "-n",
        &operator.name,
        "--take-ownership",
        "--set",
        &format!("image.repository={repository}"),
        "--set",
        &format!("image.tag={tag}"),
        "--set",
        &format!("webhooks.caBundle={ca_bundle}"),
        "--set",
        &format!("watchNamespace={}", work.name),
        "--wait",
        "--timeout",
        "180s",
    ])
    .unwrap_or_else(|e| panic!("helm install: {e}"));

    // Two replicas ready, one of them leading.
    let deployment = operator
        .api::<Deployment>()
        .get("kafka-backup-operator")
        .await
        .unwrap();
    assert_eq!(deployment.status.unwrap().ready_replicas, Some(2));
    let holder = eventually_within(RUN, "a replica holds the Lease", || async {
        operator
            .api::<Lease>()
            .get("kafka-backup-operator")
            .await
            .ok()?
            .spec?
            .holder_identity
    })
    .await;
    assert!(holder.starts_with("kafka-backup-operator-"), "{holder}");

    // matchConditions as the server's version allows: helm asked the server.
    let version = client.apiserver_version().await.unwrap();
    let minor: u32 = version.minor.trim_end_matches('+').parse().unwrap();
    let mutating: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let webhook = &mutating
        .get("kafka-backup-operator")
        .await
        .unwrap()
        .webhooks
        .unwrap()[0];
    assert_eq!(
        webhook.match_conditions.is_some(),
        minor >= 28,
        "matchConditions on 1.{minor}"
    );

    // Admission through the Service: a dry run is defaulted by the mutating webhook
    // (nothing stored), and a bad one is refused naming the field.
    let backup = |spec: Value| {
        json!({
            "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaBackup",
            "metadata": {"name": "nightly", "namespace": work.name}, "spec": spec
        })
    };
    let bucket = format!("e2e-helm-{}", std::process::id());
    let topic = format!("{}-orders", work.name);
    let spec = json!({
        "kafka": {"bootstrapServers": kafka},
        "storage": {"type": "s3", "s3": {"bucket": bucket, "prefix": "kafka",
            "region": "us-east-1", "endpoint": s3, "pathStyle": true,
            "credentialsSecret": {"name": "s3-keys"}}},
        "topics": {"include": [topic]}
    });
    let dry: Value = serde_json::from_str(&kubectl(
        &["apply", "--dry-run=server", "-o", "json", "-f", "-"],
        Some(&backup(spec.clone()).to_string()),
    ))
    .unwrap();
    assert_eq!(dry["spec"]["backoffLimit"], 3, "defaulted by the webhook");
    assert_eq!(
        dry["metadata"]["finalizers"],
        json!(["kafkabackup.com/cleanup"]),
        "the finalizer comes with the object, not in a later patch"
    );
    let mut bad = spec.clone();
    bad["storage"]["s3"]["bucket"] = json!("Not_A_Bucket");
    let message = kubectl_refused(
        &["apply", "--dry-run=server", "-f", "-"],
        Some(&backup(bad).to_string()),
    );
    assert!(
        message.contains("denied the request") && message.contains("spec.storage.s3.bucket"),
        "{message}"
    );

    // A real backup, run by the installed operator in a pod of its image.
    let broker = Broker::external(&kafka);
    // The Kafka client blocks: off the runtime's threads.
    tokio::task::block_in_place(|| {
        broker.create_topic(&topic, 2);
        produce(&broker, &topic, &sample_records(500, 2));
    });
    let created = reqwest::Client::new()
        .put(format!("{s3}/{bucket}"))
        .send()
        .await
        .expect("the S3 endpoint answers");
    assert!(
        created.status().is_success(),
        "bucket: {}",
        created.status()
    );
    let keys: Secret = serde_json::from_value(json!({
        "metadata": {"name": "s3-keys"},
        "stringData": {"AWS_ACCESS_KEY_ID": "e2e", "AWS_SECRET_ACCESS_KEY": "e2e-secret"}
    }))
    .unwrap();
    work.api::<Secret>()
        .create(&PostParams::default(), &keys)
        .await
        .unwrap();
    kubectl(&["apply", "-f", "-"], Some(&backup(spec).to_string()));
    let backups: Api<KafkaBackup> = work.api();
    let run = eventually_within(RUN, "the backup's run", || async {
        backups.get("nightly").await.ok()?.status?.last_backup
    })
    .await;
    assert_eq!(run.records, Some(500), "{run:?}");
    let stored = backups.get("nightly").await.unwrap();
    assert_eq!(
        stored.spec.backoff_limit,
        Some(3),
        "defaulted by the webhook"
    );
    let job = work.api::<Job>().get(&run.job_name).await.unwrap();
    let pod_spec = job.spec.unwrap().template.spec.unwrap();
    assert_eq!(
        pod_spec.containers[0].image.as_deref(),
        Some(image.as_str()),
        "the Job runs the operator pod's own image"
    );

    // Deleting the backup: the operator removes its finalizer and what it made.
    backups
        .delete("nightly", &DeleteParams::default())
        .await
        .unwrap();
    eventually_within(RUN, "the backup gone", || async {
        backups
            .get_opt("nightly")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;

    // helm uninstall removes the chart's objects, cluster-wide ones included; the CRDs
    // stay (Helm never deletes what crds/ installed), and with them the users' data.
    drop(release);
    let cluster_roles: Api<ClusterRole> = Api::all(client.clone());
    assert!(
        cluster_roles
            .get_opt("kafka-backup-operator")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        mutating
            .get_opt("kafka-backup-operator")
            .await
            .unwrap()
            .is_none()
    );
    let validating: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    assert!(
        validating
            .get_opt("kafka-backup-operator")
            .await
            .unwrap()
            .is_none()
    );
    eventually_within(RUN, "the operator's pods gone", || async {
        operator
            .api::<Pod>()
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .is_empty()
            .then_some(())
    })
    .await;
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    assert!(
        crds.get_opt("kafkabackups.kafkabackup.com")
            .await
            .unwrap()
            .is_some()
    );
}
