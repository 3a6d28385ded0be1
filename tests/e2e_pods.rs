//! The whole job on a real node: backups and restores run in pods of the operator's own
//! image against a Kafka broker and an S3 server the pods reach, admitted under the Pod
//! Security Standard `restricted`, and their records are checked with an independent
//! client (rdkafka) from the test.
//!
//! Besides what `make e2e` needs (`KAFKA_BACKUP_E2E=1`, `KUBECONFIG`), these tests need a
//! schedulable node that holds the image `KAFKA_BACKUP_E2E_IMAGE`, a Kafka broker at
//! `KAFKA_BACKUP_E2E_KAFKA` and an S3 endpoint at `KAFKA_BACKUP_E2E_S3` (any keys, such as
//! moto's), both reachable from the pods and from the test, and a default StorageClass
//! whose volumes the worker (uid 65532, fsGroup) can write. Without them they say so and
//! return.

#[path = "support/broker.rs"]
mod broker;
#[path = "support/cluster.rs"]
mod cluster;

use std::time::Duration;

use broker::{Broker, Record, consume, produce, sample_records, sorted, topic_exists, watermarks};
use cluster::{Parts, TestNamespace, cluster, kubectl, parts};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret};
use kafka_backup_operator::api::{KafkaBackup, KafkaRestore};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

/// How long a whole run may take on a small node.
const RUN: Duration = Duration::from_secs(240);

/// The cluster, its parts, a namespace whose pods run on nodes under `restricted`, with
/// a bucket and the Secret of its keys; and the broker.
async fn setup(test: &str) -> Option<(TestNamespace, Parts, Broker, String)> {
    let client = cluster().await?;
    let parts = parts(&client).await?;
    // The controller in the test process makes Jobs of `KAFKA_BACKUP_E2E_IMAGE`.
    let ns = TestNamespace::on_nodes(&client, test).await;
    let bucket = format!("e2e-{test}-{}", std::process::id()).replace('_', "-");
    let created = reqwest::Client::new()
        .put(format!("{}/{bucket}", parts.s3))
        .send()
        .await
        .expect("the S3 endpoint answers");
    assert!(
        created.status().is_success(),
        "create bucket {bucket}: {}",
        created.status()
    );
    let secrets: Api<Secret> = ns.api();
    secrets
        .create(
            &Default::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "s3-keys"},
                "stringData": {
                    "AWS_ACCESS_KEY_ID": "e2e", "AWS_SECRET_ACCESS_KEY": "e2e-secret",
                    // The same keys as an AWS shared credentials file.
                    "credentials": "[default]\naws_access_key_id = e2e\naws_secret_access_key = e2e-secret\n"
                }
            }))
            .unwrap(),
        )
        .await
        .expect("the Secret of the S3 keys");
    let broker = Broker::external(&parts.kafka);
    Some((ns, parts, broker, bucket))
}

fn storage(parts: &Parts, bucket: &str) -> Value {
    json!({"type": "s3", "s3": {"bucket": bucket, "prefix": "kafka", "region": "us-east-1",
        "endpoint": parts.s3, "pathStyle": true, "credentialsSecret": {"name": "s3-keys"}}})
}

async fn backup(ns: &TestNamespace, parts: &Parts, bucket: &str, topic: &str, extra: Value) {
    let mut spec = json!({
        "kafka": {"bootstrapServers": parts.kafka},
        "storage": storage(parts, bucket),
        "topics": {"include": [topic]},
        "backoffLimit": 0
    });
    merge(&mut spec, extra);
    ns.apply::<KafkaBackup>(json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaBackup",
        "metadata": {"name": "nightly"}, "spec": spec
    }))
    .await;
}

/// A backup of `topic` that has run once.
async fn backed_up(ns: &TestNamespace, parts: &Parts, bucket: &str, topic: &str) {
    backup(ns, parts, bucket, topic, json!({})).await;
    within("the backup", || async {
        ns.api::<KafkaBackup>()
            .get("nightly")
            .await
            .ok()?
            .status?
            .last_backup
    })
    .await;
}

async fn restore(ns: &TestNamespace, parts: &Parts, name: &str, extra: Value) {
    let mut spec = json!({
        "kafka": {"bootstrapServers": parts.kafka},
        "backupRef": {"name": "nightly"},
        "report": {"size": "64Mi"}
    });
    merge(&mut spec, extra);
    ns.apply::<KafkaRestore>(json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaRestore",
        "metadata": {"name": name}, "spec": spec
    }))
    .await;
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, value) => *slot = value,
    }
}

/// Polls for at most `RUN`.
async fn within<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    cluster::eventually_within(RUN, what, check).await
}

async fn reason(ns: &TestNamespace, kind: &str, name: &str) -> Option<String> {
    let status = match kind {
        "KafkaRestore" => {
            serde_json::to_value(ns.api::<KafkaRestore>().get(name).await.ok()?.status).ok()?
        }
        _ => serde_json::to_value(ns.api::<KafkaBackup>().get(name).await.ok()?.status).ok()?,
    };
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")?["reason"]
        .as_str()
        .map(str::to_string)
}

/// Waits for a restore's Ready reason, failing at once on another final one.
async fn restore_reaches(ns: &TestNamespace, name: &str, wanted: &str) {
    within(&format!("{name} {wanted}"), || async {
        let now = reason(ns, "KafkaRestore", name).await;
        if now.as_deref() != Some(wanted)
            && ["RestoreCompleted", "RestoreFailed"].contains(&now.as_deref().unwrap_or(""))
        {
            let restore = ns.api::<KafkaRestore>().get(name).await.ok();
            panic!(
                "{name} is {now:?}, not {wanted}: {:?}",
                restore.and_then(|r| r.status)
            );
        }
        (now.as_deref() == Some(wanted)).then_some(())
    })
    .await;
}

async fn pods_of(ns: &TestNamespace, selector: &str) -> Vec<Pod> {
    ns.api::<Pod>()
        .list(&ListParams::default().labels(selector))
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}

fn topic_of(ns: &TestNamespace, name: &str) -> String {
    format!("{}-{name}", ns.name)
}

/// Runs a blocking call of the test's Kafka client off the runtime's threads, which also
/// drive the controller.
fn blocking<T>(call: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(call)
}

/// A topic of `count` records on two partitions; the records as the broker returns them.
/// How many records the target topic holds now (its high watermarks: the restore's
/// producer is idempotent, not transactional, so every offset is a record); reading the
/// records instead would wait for a quiet topic, which a running restore never gives.
fn written(broker: &Broker, topic: &str) -> i64 {
    if !topic_exists(broker, topic) {
        return 0;
    }
    watermarks(broker, topic, 2)
        .iter()
        .map(|(_, high)| high)
        .sum()
}

fn source_topic(broker: &Broker, topic: &str, count: usize) -> Vec<Record> {
    broker.create_topic(topic, 2);
    let records = sample_records(count, 2);
    produce(broker, topic, &records);
    consume(broker, topic, 2, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a cluster with a node: make e2e"]
async fn a_backup_and_a_cronjob_run_write_to_s3_and_report_their_figures() {
    let Some((ns, parts, broker, bucket)) = setup("pods-backup").await else {
        return;
    };
    let topic = topic_of(&ns, "orders");
    let source = blocking(|| source_topic(&broker, &topic, 3_000));
    backup(&ns, &parts, &bucket, &topic, json!({})).await;
    let run = within("the one-shot backup's figures", || async {
        let status = ns.api::<KafkaBackup>().get("nightly").await.ok()?.status?;
        status.last_backup
    })
    .await;
    assert_eq!(run.records, Some(source.len() as i64), "{run:?}");
    assert_eq!(run.topics, Some(1));
    assert_eq!(
        reason(&ns, "KafkaBackup", "nightly").await.as_deref(),
        Some("BackupCompleted")
    );
    let pods = pods_of(&ns, "kafkabackup.com/backup=nightly").await;
    assert!(!pods.is_empty(), "the pod ran, admitted under restricted");

    // A schedule: its CronJob's Job, started as `kubectl create job --from` does. Its
    // keys now come from a credentials file in the Secret (no AWS_* variables in the
    // pod: without the file the S3 client would find no credentials and fail).
    let schedule = json!({"spec": {
        "schedule": {"cron": "0 3 * * *"},
        "storage": {"s3": {"credentialsSecret": {"key": "credentials"}}}
    }});
    ns.api::<KafkaBackup>()
        .patch("nightly", &PatchParams::default(), &Patch::Merge(&schedule))
        .await
        .unwrap();
    let cronjob = within("the CronJob", || async {
        ns.api::<CronJob>().get_opt("nightly-backup").await.ok()?
    })
    .await;
    blocking(|| produce(&broker, &topic, &sample_records(3_500, 2).split_off(3_000)));
    kubectl(
        &[
            "-n",
            &ns.name,
            "create",
            "job",
            "--from",
            &format!("cronjob/{}", cronjob.name_any()),
            "nightly-manual",
        ],
        None,
    );
    let scheduled = within("the CronJob run's figures", || async {
        let status = ns.api::<KafkaBackup>().get("nightly").await.ok()?.status?;
        status
            .backup_history
            .into_iter()
            .find(|r| r.job_name == "nightly-manual" && r.records.is_some())
    })
    .await;
    assert_eq!(
        scheduled.records,
        Some(500),
        "the second run adds what was produced since"
    );
    let template = cronjob_pod(&ns).await;
    let env: Vec<String> = template.containers[0]
        .env
        .iter()
        .flatten()
        .map(|e| e.name.clone())
        .collect();
    assert!(!env.iter().any(|n| n.starts_with("AWS_")), "{env:?}");
}

/// The pod template of the backup's CronJob.
async fn cronjob_pod(ns: &TestNamespace) -> k8s_openapi::api::core::v1::PodSpec {
    ns.api::<CronJob>()
        .get("nightly-backup")
        .await
        .unwrap()
        .spec
        .unwrap()
        .job_template
        .spec
        .unwrap()
        .template
        .spec
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a cluster with a node: make e2e"]
async fn a_restore_into_mapped_topics_equals_the_source() {
    let Some((ns, parts, broker, bucket)) = setup("pods-restore").await else {
        return;
    };
    let topic = topic_of(&ns, "payments");
    let source = blocking(|| source_topic(&broker, &topic, 2_000));
    backed_up(&ns, &parts, &bucket, &topic).await;
    let target = format!("{topic}-restored");
    restore(
        &ns,
        &parts,
        "payments",
        json!({"topicMapping": [{"sourceTopic": topic, "targetTopic": target}]}),
    )
    .await;
    restore_reaches(&ns, "payments", "RestoreCompleted").await;
    let restored = blocking(|| consume(&broker, &target, 2, source.len()));
    assert_eq!(
        restored, source,
        "record for record: keys, values, headers, timestamps"
    );
    let status = ns
        .api::<KafkaRestore>()
        .get("payments")
        .await
        .unwrap()
        .status
        .unwrap();
    assert_eq!(status.restore.unwrap().records, Some(source.len() as i64));
    assert_eq!(
        jobs(&ns, "kafkabackup.com/restore=payments").await.len(),
        1,
        "one Job"
    );
}

/// A running restore shows its progress in its status (read from its worker pod, which
/// keeps no API token), rising, and 100 percent once it completed; the operator's
/// metrics then show the backup's and the restore's series.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a cluster with a node: make e2e"]
async fn a_running_restore_shows_its_progress_and_the_metrics_show_both_resources() {
    let Some((ns, parts, broker, bucket)) = setup("pods-progress").await else {
        return;
    };
    let topic = topic_of(&ns, "views");
    let source = blocking(|| source_topic(&broker, &topic, 30_000));
    backed_up(&ns, &parts, &bucket, &topic).await;
    let target = format!("{topic}-restored");
    restore(
        &ns,
        &parts,
        "views",
        json!({
            "topicMapping": [{"sourceTopic": topic, "targetTopic": target}],
            "restore": {"rateLimitRecordsPerSec": 1000, "produceBatchSize": 100}
        }),
    )
    .await;
    let progress = || async {
        ns.api::<KafkaRestore>()
            .get("views")
            .await
            .ok()?
            .status?
            .restore?
            .progress
    };
    let seen = std::sync::Mutex::new(Vec::new());
    within(
        "the restore completed, its progress read on the way",
        || async {
            if let Some(p) = progress().await {
                let mut seen = seen.lock().unwrap();
                if seen.last() != Some(&p.records) {
                    seen.push(p.records);
                }
            }
            (reason(&ns, "KafkaRestore", "views").await.as_deref() == Some("RestoreCompleted"))
                .then_some(())
        },
    )
    .await;
    let seen = seen.into_inner().unwrap();
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]) && seen.iter().filter(|r| **r > 0).count() >= 2,
        "progress rose while it ran: {seen:?}"
    );
    let done = within("100 percent", || async {
        progress().await.filter(|p| p.percent == 100)
    })
    .await;
    assert_eq!(done.records, source.len() as i64);
    assert_eq!(done.total_records, source.len() as i64);

    // The metrics follow the controller's cache, which follows the API a moment later.
    let restore = format!(r#"{{namespace="{}",name="views"}}"#, ns.name);
    let backup = format!(r#"{{namespace="{}",name="nightly"}}"#, ns.name);
    let series = [
        format!("kafka_restore_completed{restore} 1"),
        format!("kafka_restore_progress_ratio{restore} 1.0"),
        format!("kafka_restore_records_written{restore} {}", source.len()),
        format!("kafka_restore_attempt{restore} 1"),
        format!("kafka_restore_last_progress_timestamp_seconds{restore} "),
        format!("kafka_backup_last_success_records{backup} {}", source.len()),
        format!("kafka_backup_last_success_timestamp_seconds{backup} "),
        format!("kafka_backup_last_run_failed{backup} 0"),
        "kafka_backup_operator_leader 1".to_string(),
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let scrape = ns.scrape(0);
        let missing: Vec<&String> = series.iter().filter(|s| !scrape.contains(*s)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{missing:?} not in\n{scrape}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn jobs(ns: &TestNamespace, selector: &str) -> Vec<Job> {
    ns.api::<Job>()
        .list(&ListParams::default().labels(selector))
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}

/// The restore's pod deleted mid-way (SIGTERM): the attempt fails and is not retried;
/// deleting its Job starts the next attempt, which finishes exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a cluster with a node: make e2e"]
async fn a_restore_whose_pod_is_deleted_resumes_exactly_when_its_job_is_deleted() {
    let Some((ns, parts, broker, bucket)) = setup("pods-resume").await else {
        return;
    };
    let topic = topic_of(&ns, "ledger");
    let source = blocking(|| source_topic(&broker, &topic, 20_000));
    backed_up(&ns, &parts, &bucket, &topic).await;
    let target = format!("{topic}-restored");
    restore(
        &ns,
        &parts,
        "ledger",
        json!({
            "topicMapping": [{"sourceTopic": topic, "targetTopic": target}],
            "restore": {"rateLimitRecordsPerSec": 1000, "produceBatchSize": 100,
                        "produceTimeoutMs": 2000}
        }),
    )
    .await;
    within("a third of the records in the target", || async {
        (blocking(|| written(&broker, &target)) >= 6_000).then_some(())
    })
    .await;
    let pods = pods_of(&ns, "kafkabackup.com/restore=ledger").await;
    assert_eq!(pods.len(), 1);
    ns.api::<Pod>()
        .delete(&pods[0].name_any(), &DeleteParams::default())
        .await
        .unwrap();
    restore_reaches(&ns, "ledger", "RestoreFailed").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        jobs(&ns, "kafkabackup.com/restore=ledger").await.len(),
        1,
        "no retry"
    );
    assert!(
        pods_of(&ns, "kafkabackup.com/restore=ledger")
            .await
            .iter()
            .all(|p| { p.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Running") }),
        "no pod runs again"
    );
    let partial = blocking(|| written(&broker, &target));
    assert!(partial < source.len() as i64, "{partial}");

    ns.api::<Job>()
        .delete("ledger-restore-1", &DeleteParams::background())
        .await
        .unwrap();
    within("the second attempt", || async {
        ns.api::<Job>().get_opt("ledger-restore-2").await.ok()?
    })
    .await;
    restore_reaches(&ns, "ledger", "RestoreCompleted").await;
    let restored = blocking(|| consume(&broker, &target, 2, source.len()));
    assert_eq!(restored.len(), source.len(), "nothing duplicated or lost");
    assert_eq!(restored, source);
    let attempt = ns
        .api::<KafkaRestore>()
        .get("ledger")
        .await
        .unwrap()
        .status
        .unwrap()
        .restore
        .unwrap();
    assert_eq!(attempt.attempt, 2);
}

/// `spec.enabled: false` suspends the running restore's Job (its pod stops); true again
/// resumes it, and the target ends equal to the source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a cluster with a node: make e2e"]
async fn a_paused_restore_resumes_and_finishes_exactly() {
    let Some((ns, parts, broker, bucket)) = setup("pods-pause").await else {
        return;
    };
    let topic = topic_of(&ns, "clicks");
    let source = blocking(|| source_topic(&broker, &topic, 12_000));
    backed_up(&ns, &parts, &bucket, &topic).await;
    let target = format!("{topic}-restored");
    restore(
        &ns,
        &parts,
        "clicks",
        json!({
            "topicMapping": [{"sourceTopic": topic, "targetTopic": target}],
            "restore": {"rateLimitRecordsPerSec": 1000, "produceBatchSize": 100,
                        "produceTimeoutMs": 2000}
        }),
    )
    .await;
    within("records in the target", || async {
        (blocking(|| written(&broker, &target)) >= 2_000).then_some(())
    })
    .await;
    let pause = |on: bool| json!({"spec": {"enabled": on}});
    ns.api::<KafkaRestore>()
        .patch(
            "clicks",
            &PatchParams::default(),
            &Patch::Merge(pause(false)),
        )
        .await
        .unwrap();
    within("the Job suspended and its pod gone", || async {
        let job = ns.api::<Job>().get("clicks-restore-1").await.ok()?;
        let suspended = job.spec?.suspend == Some(true);
        let running = pods_of(&ns, "kafkabackup.com/restore=clicks").await;
        (suspended && running.is_empty()).then_some(())
    })
    .await;
    let paused_at = blocking(|| written(&broker, &target));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        blocking(|| written(&broker, &target)),
        paused_at,
        "nothing written while paused"
    );
    ns.api::<KafkaRestore>()
        .patch(
            "clicks",
            &PatchParams::default(),
            &Patch::Merge(pause(true)),
        )
        .await
        .unwrap();
    restore_reaches(&ns, "clicks", "RestoreCompleted").await;
    assert_eq!(
        blocking(|| consume(&broker, &target, 2, source.len())),
        source,
        "exact after the pause"
    );
}

/// Restore more later: the backup gains records (a run-now run), and a continue token
/// on the completed restore adds exactly those.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a cluster with a node: make e2e"]
async fn a_continue_token_adds_what_the_backup_gained() {
    let Some((ns, parts, broker, bucket)) = setup("pods-continue").await else {
        return;
    };
    let topic = topic_of(&ns, "trades");
    let first = blocking(|| source_topic(&broker, &topic, 1_000));
    backed_up(&ns, &parts, &bucket, &topic).await;
    let target = format!("{topic}-restored");
    restore(
        &ns,
        &parts,
        "trades",
        json!({"topicMapping": [{"sourceTopic": topic, "targetTopic": target}]}),
    )
    .await;
    restore_reaches(&ns, "trades", "RestoreCompleted").await;
    assert_eq!(
        blocking(|| consume(&broker, &target, 2, first.len())),
        first
    );

    blocking(|| produce(&broker, &topic, &sample_records(1_600, 2).split_off(1_000)));
    let source = blocking(|| consume(&broker, &topic, 2, 1_600));
    kubectl(
        &[
            "-n",
            &ns.name,
            "annotate",
            "--overwrite",
            "kafkabackup/nightly",
            "kafkabackup.com/run-now=more",
        ],
        None,
    );
    within("the run-now backup's figures", || async {
        let status = ns.api::<KafkaBackup>().get("nightly").await.ok()?.status?;
        status
            .backup_history
            .iter()
            .any(|r| r.records == Some(600))
            .then_some(())
    })
    .await;
    kubectl(
        &[
            "-n",
            &ns.name,
            "annotate",
            "--overwrite",
            "kafkarestore/trades",
            "kafkabackup.com/continue=more",
        ],
        None,
    );
    within("the continuation honoured", || async {
        let status = ns.api::<KafkaRestore>().get("trades").await.ok()?.status?;
        (status.continued == ["more"]
            && reason(&ns, "KafkaRestore", "trades").await.as_deref() == Some("RestoreCompleted")
            && blocking(|| consume(&broker, &target, 2, source.len())).len() == source.len())
        .then_some(())
    })
    .await;
    assert_eq!(
        blocking(|| consume(&broker, &target, 2, source.len())),
        sorted(source)
    );
}

/// Deleting the KafkaBackup and the KafkaRestore leaves no Job, pod, PVC or ConfigMap
/// of theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a cluster with a node: make e2e"]
async fn deleting_the_resources_leaves_nothing_behind() {
    let Some((ns, parts, broker, bucket)) = setup("pods-cleanup").await else {
        return;
    };
    let topic = topic_of(&ns, "audit");
    blocking(|| source_topic(&broker, &topic, 500));
    backed_up(&ns, &parts, &bucket, &topic).await;
    restore(
        &ns,
        &parts,
        "audit",
        json!({"topicMapping": [{"sourceTopic": topic, "targetTopic": format!("{topic}-restored")}]}),
    )
    .await;
    restore_reaches(&ns, "audit", "RestoreCompleted").await;
    ns.api::<KafkaRestore>()
        .delete("audit", &DeleteParams::default())
        .await
        .unwrap();
    ns.api::<KafkaBackup>()
        .delete("nightly", &DeleteParams::default())
        .await
        .unwrap();
    within("everything made for them gone", || async {
        let managed =
            ListParams::default().labels("app.kubernetes.io/managed-by=kafka-backup-operator");
        let jobs = ns.api::<Job>().list(&managed).await.ok()?.items.len();
        let pods = ns.api::<Pod>().list(&managed).await.ok()?.items.len();
        let pvcs = ns
            .api::<PersistentVolumeClaim>()
            .list(&managed)
            .await
            .ok()?
            .items
            .len();
        let maps = ns.api::<ConfigMap>().list(&managed).await.ok()?.items.len();
        let gone = ns
            .api::<KafkaRestore>()
            .get_opt("audit")
            .await
            .ok()?
            .is_none()
            && ns
                .api::<KafkaBackup>()
                .get_opt("nightly")
                .await
                .ok()?
                .is_none();
        (gone && jobs + pods + pvcs + maps == 0).then_some(())
    })
    .await;
}
