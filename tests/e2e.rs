//! End-to-end tests against a real cluster. They run only when `KAFKA_BACKUP_E2E=1` and a
//! cluster is reachable through `KUBECONFIG` (`make e2e`); otherwise each test returns at
//! once, saying it was skipped. Each test works in a namespace of its own and deletes it.
//!
//! The CRDs are applied from `manifests/crds/crds.yaml`. The controller runs inside the
//! test process unless `KAFKA_BACKUP_E2E_EXTERNAL=1` says an installed operator is used.
//! Pods of the Jobs are completed by `complete_pod`, which writes pod status as a kubelet
//! would, so a cluster without nodes (or with kwok) is enough; with real nodes, set
//! `KAFKA_BACKUP_E2E_IMAGE` to an image that can run the worker.

#[path = "support/caches.rs"]
mod caches;
#[path = "support/cluster.rs"]
mod cluster;

use cluster::{TIMEOUT, TestNamespace, cluster, eventually, kubectl, kubectl_refused};

use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod};
use kafka_backup_operator::api::{KafkaBackup, KafkaRestore};
use kafka_backup_operator::controller::reconcile_restore;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

/// Finishes the pod of a Job as a kubelet would: phase and a terminated container.
async fn complete_pod(ns: &TestNamespace, job: &str, succeeded: bool) {
    finish_pod(ns, job, succeeded, None).await;
}

/// Finishes the pod of a Job as a kubelet would, with the container's termination
/// message: what the worker wrote to /dev/termination-log.
async fn finish_pod(ns: &TestNamespace, job: &str, succeeded: bool, message: Option<&str>) {
    let pods: Api<Pod> = ns.api();
    let pod = eventually(&format!("a pod of Job {job}"), || {
        let pods = pods.clone();
        async move {
            pods.list(&ListParams::default().labels(&format!("job-name={job}")))
                .await
                .ok()?
                .items
                .into_iter()
                .find(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Succeeded"))
        }
    })
    .await;
    let (phase, code) = if succeeded {
        ("Succeeded", 0)
    } else {
        ("Failed", 1)
    };
    let status = json!({"status": {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "False", "reason": "PodCompleted"}],
        "containerStatuses": [{
            "name": "worker", "image": "worker", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": code, "reason": if succeeded { "Completed" } else { "Error" },
                                      "message": message,
                                      "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:00:01Z"}}
        }]
    }});
    pods.patch_status(
        &pod.name_any(),
        &PatchParams::default(),
        &Patch::Merge(status),
    )
    .await
    .expect("pod status");
}

/// How long after the Job controller marks `job` Complete the restore shows
/// `RestoreComplete=True`, polled every 20 ms.
async fn job_complete_to_restore_complete(ns: &TestNamespace, job: &str) -> Duration {
    let jobs: Api<Job> = ns.api();
    let complete = |job: &Job| {
        job.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.type_ == "Complete" && c.status == "True")
            })
    };
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while !jobs.get(job).await.is_ok_and(|j| complete(&j)) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Job {job} never completed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = tokio::time::Instant::now();
    while condition(ns, "restore-orders", "RestoreComplete").await
        != Some(("True".into(), "RestoreCompleted".into()))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "RestoreComplete never came"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

async fn jobs_of(ns: &TestNamespace, restore: &str) -> Vec<Job> {
    ns.api::<Job>()
        .list(&ListParams::default().labels(&format!("kafkabackup.com/restore={restore}")))
        .await
        .expect("list jobs")
        .items
}

async fn condition(ns: &TestNamespace, restore: &str, type_: &str) -> Option<(String, String)> {
    let restore = ns.api::<KafkaRestore>().get(restore).await.ok()?;
    let c = restore
        .status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == type_)?;
    Some((c.status, c.reason))
}

async fn backup_and_restore(ns: &TestNamespace, restore_spec: serde_json::Value) {
    ns.apply::<KafkaBackup>(json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaBackup",
        "metadata": {"name": "daily-backup"},
        "spec": {"kafka": {"bootstrapServers": "kafka:9092"}, "schedule": {"cron": "0 2 * * *"},
                 "storage": {"type": "s3", "s3": {"bucket": "my-kafka-backups"}}}
    }))
    .await;
    let mut spec =
        json!({"kafka": {"bootstrapServers": "kafka:9092"}, "backupRef": {"name": "daily-backup"}});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), restore_spec.as_object()) {
        spec.extend(extra.clone());
    }
    ns.apply::<KafkaRestore>(json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaRestore",
        "metadata": {"name": "restore-orders"}, "spec": spec
    }))
    .await;
}

#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn r1_a_restore_creates_exactly_one_job() {
    let Some(client) = cluster().await else {
        return;
    };
    let ns = TestNamespace::new(&client, "one-job").await;
    backup_and_restore(&ns, json!({})).await;
    let job = eventually("the restore Job", || async {
        jobs_of(&ns, "restore-orders").await.into_iter().next()
    })
    .await;
    assert_eq!(job.name_any(), "restore-orders-restore-1");
    assert_eq!(job.spec.as_ref().unwrap().backoff_limit, Some(0));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(jobs_of(&ns, "restore-orders").await.len(), 1);
    let restore = ns
        .api::<KafkaRestore>()
        .get("restore-orders")
        .await
        .unwrap();
    assert_eq!(
        restore.labels()["kafkabackup.com/restore-job-name"],
        "restore-orders-restore-1"
    );
    let pvc = &restore.labels()["kafkabackup.com/report-pvc-name"];
    assert!(ns.api::<PersistentVolumeClaim>().get(pvc).await.is_ok());
}

#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn r3_job_success_shows_in_status_and_is_never_rerun() {
    let Some(client) = cluster().await else {
        return;
    };
    let ns = TestNamespace::new(&client, "success").await;
    backup_and_restore(&ns, json!({})).await;
    eventually("the restore Job", || async {
        jobs_of(&ns, "restore-orders").await.into_iter().next()
    })
    .await;
    complete_pod(&ns, "restore-orders-restore-1", true).await;
    let reaction = job_complete_to_restore_complete(&ns, "restore-orders-restore-1").await;
    eprintln!("reaction: Job Complete -> RestoreComplete=True in {reaction:?}");
    assert!(reaction < TIMEOUT);
    let restore = ns
        .api::<KafkaRestore>()
        .get("restore-orders")
        .await
        .unwrap();
    assert!(
        restore
            .status
            .unwrap()
            .restore
            .unwrap()
            .completion_time
            .is_some()
    );
    // Deleting the Job of a completed restore does not run it again.
    ns.api::<Job>()
        .delete("restore-orders-restore-1", &DeleteParams::background())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert!(
        jobs_of(&ns, "restore-orders")
            .await
            .iter()
            .all(|j| j.name_any() == "restore-orders-restore-1")
    );
}

#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn r3_job_failure_shows_in_status_without_retry() {
    let Some(client) = cluster().await else {
        return;
    };
    let ns = TestNamespace::new(&client, "failure").await;
    backup_and_restore(&ns, json!({})).await;
    eventually("the restore Job", || async {
        jobs_of(&ns, "restore-orders").await.into_iter().next()
    })
    .await;
    complete_pod(&ns, "restore-orders-restore-1", false).await;
    eventually("RestoreFailed", || async {
        (condition(&ns, "restore-orders", "Ready").await?
            == ("False".into(), "RestoreFailed".into()))
            .then_some(())
    })
    .await;
    assert_eq!(
        condition(&ns, "restore-orders", "Error").await,
        Some(("True".into(), "RestoreFailed".into()))
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(jobs_of(&ns, "restore-orders").await.len(), 1);
}

#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn r5_deleting_the_job_resumes_with_the_same_report_pvc() {
    let Some(client) = cluster().await else {
        return;
    };
    let ns = TestNamespace::new(&client, "resume").await;
    backup_and_restore(&ns, json!({})).await;
    eventually("the restore Job", || async {
        jobs_of(&ns, "restore-orders").await.into_iter().next()
    })
    .await;
    // The labels are written right after the Job and its status.
    let pvc = eventually("the report PVC's label", || async {
        ns.api::<KafkaRestore>()
            .get("restore-orders")
            .await
            .ok()?
            .labels()
            .get("kafkabackup.com/report-pvc-name")
            .cloned()
    })
    .await;
    ns.api::<Job>()
        .delete("restore-orders-restore-1", &DeleteParams::background())
        .await
        .unwrap();
    // Pods of the deleted Job may linger without a kubelet; remove them as one would.
    let _ = ns
        .api::<Pod>()
        .delete_collection(
            &DeleteParams {
                grace_period_seconds: Some(0),
                ..DeleteParams::background()
            },
            &ListParams::default().labels("job-name=restore-orders-restore-1"),
        )
        .await;
    let next = eventually("the next attempt's Job", || async {
        jobs_of(&ns, "restore-orders")
            .await
            .into_iter()
            .find(|j| j.name_any() == "restore-orders-restore-2")
    })
    .await;
    let claim = next
        .spec
        .unwrap()
        .template
        .spec
        .unwrap()
        .volumes
        .unwrap()
        .into_iter()
        .find_map(|v| v.persistent_volume_claim)
        .unwrap();
    assert_eq!(claim.claim_name, pvc);
    let restore = ns
        .api::<KafkaRestore>()
        .get("restore-orders")
        .await
        .unwrap();
    assert_eq!(restore.status.unwrap().restore.unwrap().attempt, 2);
}

#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn r4_deleting_the_restore_removes_jobs_pods_and_pvc() {
    let Some(client) = cluster().await else {
        return;
    };
    let ns = TestNamespace::new(&client, "cleanup").await;
    backup_and_restore(&ns, json!({})).await;
    eventually("the restore Job", || async {
        jobs_of(&ns, "restore-orders").await.into_iter().next()
    })
    .await;
    complete_pod(&ns, "restore-orders-restore-1", true).await;
    ns.api::<KafkaRestore>()
        .delete("restore-orders", &DeleteParams::default())
        .await
        .unwrap();
    let selector = ListParams::default().labels("kafkabackup.com/restore=restore-orders");
    eventually("everything of the restore to be gone", || async {
        let jobs = ns.api::<Job>().list(&selector).await.ok()?.items.len();
        let pods = ns.api::<Pod>().list(&selector).await.ok()?.items.len();
        let pvcs = ns
            .api::<PersistentVolumeClaim>()
            .list(&selector)
            .await
            .ok()?
            .items
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .count();
        let restore = ns
            .api::<KafkaRestore>()
            .get_opt("restore-orders")
            .await
            .ok()?;
        (jobs == 0 && pods == 0 && pvcs == 0 && restore.is_none()).then_some(())
    })
    .await;
}

/// The CronJob is applied on every reconcile: a hand edit of a field the operator sets
/// is put back; a field it does not set (a label of the user's) stays.
#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn a_hand_edit_of_the_cronjob_is_put_back() {
    let Some(client) = cluster().await else {
        return;
    };
    let ns = TestNamespace::new(&client, "handedit").await;
    ns.apply::<KafkaBackup>(json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaBackup",
        "metadata": {"name": "daily-backup"},
        "spec": {"kafka": {"bootstrapServers": "kafka:9092"}, "schedule": {"cron": "0 2 * * *"},
                 "storage": {"type": "s3", "s3": {"bucket": "my-kafka-backups"}}}
    }))
    .await;
    eventually("the CronJob", || async {
        ns.api::<CronJob>()
            .get_opt("daily-backup-backup")
            .await
            .ok()?
    })
    .await;
    kubectl(
        &[
            "patch",
            "cronjob",
            "daily-backup-backup",
            "-n",
            &ns.name,
            "--type=merge",
            "-p",
            r#"{"metadata":{"labels":{"team":"payments"}},"spec":{"schedule":"*/5 * * * *"}}"#,
        ],
        None,
    );
    let cronjob = eventually("the schedule put back", || async {
        let cronjob = ns.api::<CronJob>().get("daily-backup-backup").await.ok()?;
        (cronjob.spec.as_ref()?.schedule == "0 2 * * *").then_some(cronjob)
    })
    .await;
    assert_eq!(
        cronjob.labels().get("team").map(String::as_str),
        Some("payments")
    );
}

#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn r8_a_backup_schedule_makes_a_cronjob_with_the_backoff_limit() {
    let Some(client) = cluster().await else {
        return;
    };
    let ns = TestNamespace::new(&client, "schedule").await;
    ns.apply::<KafkaBackup>(json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaBackup",
        "metadata": {"name": "daily-backup"},
        "spec": {"kafka": {"bootstrapServers": "kafka:9092"}, "schedule": {"cron": "0 2 * * *"}, "backoffLimit": 1,
                 "storage": {"type": "s3", "s3": {"bucket": "my-kafka-backups", "region": "eu-west-1"}}}
    }))
    .await;
    let cronjob = eventually("the CronJob", || async {
        ns.api::<CronJob>()
            .get_opt("daily-backup-backup")
            .await
            .ok()?
    })
    .await;
    let spec = cronjob.spec.unwrap();
    assert_eq!(spec.schedule, "0 2 * * *");
    assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
    assert_eq!(spec.job_template.spec.unwrap().backoff_limit, Some(1));
}

/// Seed 003 on a real API server: `kubectl annotate` with a continue token on a completed
/// restore (metadata, so admission allows it) makes one more Job on the same report;
/// the same token again makes none.
#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn a_continue_token_on_a_completed_restore_runs_one_more_job() {
    let Some(client) = cluster().await else {
        return;
    };
    let ns = TestNamespace::new(&client, "continue").await;
    backup_and_restore(&ns, json!({})).await;
    complete_pod(&ns, "restore-orders-restore-1", true).await;
    job_complete_to_restore_complete(&ns, "restore-orders-restore-1").await;
    let annotate = |token: &str| {
        kubectl(
            &[
                "annotate",
                "--overwrite",
                "kafkarestore",
                "restore-orders",
                "-n",
                &ns.name,
                &format!("kafkabackup.com/continue={token}"),
            ],
            None,
        )
    };
    annotate("after-tuesday");
    let continuation = eventually("the continuation's Job", || async {
        ns.api::<Job>()
            .get_opt("restore-orders-restore-2")
            .await
            .ok()?
    })
    .await;
    assert_eq!(
        continuation.annotations()["kafkabackup.com/continue"],
        "after-tuesday"
    );
    let restore = ns
        .api::<KafkaRestore>()
        .get("restore-orders")
        .await
        .unwrap();
    let status = restore.status.unwrap();
    assert_eq!(status.continued, ["after-tuesday"]);
    let first_pvc = status.restore.unwrap().report_pvc;
    assert_eq!(
        condition(&ns, "restore-orders", "RestoreComplete").await,
        Some(("False".into(), "RestoreRunning".into()))
    );
    complete_pod(&ns, "restore-orders-restore-2", true).await;
    job_complete_to_restore_complete(&ns, "restore-orders-restore-2").await;
    let restore = ns
        .api::<KafkaRestore>()
        .get("restore-orders")
        .await
        .unwrap();
    assert_eq!(
        restore.status.unwrap().restore.unwrap().report_pvc,
        first_pvc,
        "the same report"
    );

    // The same token again: nothing more.
    annotate("after-tuesday");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let names: Vec<String> = jobs_of(&ns, "restore-orders")
        .await
        .iter()
        .map(|j| j.name_any())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

/// The run of `job` in the backup's status history, once it has one.
async fn backup_run(ns: &TestNamespace, backup: &str, job: &str) -> serde_json::Value {
    eventually(
        &format!("the run of {job} in {backup}'s history"),
        || async {
            let backup = ns.api::<KafkaBackup>().get(backup).await.ok()?;
            let status = serde_json::to_value(backup.status?).ok()?;
            status["backupHistory"]
                .as_array()?
                .iter()
                .find(|r| r["jobName"] == job)
                .cloned()
        },
    )
    .await
}

#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn r3_backup_figures_reach_status_for_a_one_shot_job_and_a_cronjob_run() {
    let Some(client) = cluster().await else {
        return;
    };
    let ns = TestNamespace::new(&client, "figures").await;
    let storage = json!({"type": "s3", "s3": {"bucket": "my-kafka-backups"}});
    ns.apply::<KafkaBackup>(json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaBackup",
        "metadata": {"name": "once"},
        "spec": {"kafka": {"bootstrapServers": "kafka:9092"}, "storage": storage}
    }))
    .await;
    let message =
        r#"{"outcome":"Succeeded","records":1200,"bytes":1228800,"topics":3,"backupId":"once"}"#;
    finish_pod(&ns, "once-backup", true, Some(message)).await;
    let run = backup_run(&ns, "once", "once-backup").await;
    assert_eq!(run["outcome"], "Succeeded");
    assert_eq!(
        (
            &run["records"],
            &run["bytes"],
            &run["topics"],
            &run["backupId"]
        ),
        (&json!(1200), &json!(1_228_800), &json!(3), &json!("once"))
    );
    let last = serde_json::to_value(
        ns.api::<KafkaBackup>()
            .get("once")
            .await
            .unwrap()
            .status
            .unwrap()
            .last_backup,
    )
    .unwrap();
    assert_eq!(last, run);
    // The printer columns, through the real kubectl.
    let table = kubectl(&["get", "kafkabackup", "once", "-n", &ns.name], None);
    let (header, row) = (table.lines().next().unwrap(), table.lines().nth(1).unwrap());
    // Columns are aligned; an empty cell (no Strimzi cluster, no schedule) is blank.
    let cell = |column: &str| {
        let at = header.find(column).expect(column);
        row[at..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(cell("RECORDS"), "1200", "{table}");
    assert_ne!(cell("LAST BACKUP"), "", "{table}");

    // A run of the schedule: a Job the CronJob makes (here through kubectl, as a user
    // starts one by hand), owned by the CronJob.
    ns.apply::<KafkaBackup>(json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaBackup",
        "metadata": {"name": "nightly"},
        "spec": {"kafka": {"bootstrapServers": "kafka:9092"}, "storage": storage,
                 "schedule": {"cron": "0 2 * * *"}}
    }))
    .await;
    eventually("the CronJob", || async {
        ns.api::<CronJob>().get_opt("nightly-backup").await.ok()?
    })
    .await;
    kubectl(
        &[
            "create",
            "job",
            "nightly-run-1",
            "--from=cronjob/nightly-backup",
            "-n",
            &ns.name,
        ],
        None,
    );
    let message =
        r#"{"outcome":"Succeeded","records":77,"bytes":78848,"topics":1,"backupId":"nightly"}"#;
    finish_pod(&ns, "nightly-run-1", true, Some(message)).await;
    let run = backup_run(&ns, "nightly", "nightly-run-1").await;
    assert_eq!((&run["records"], &run["topics"]), (&json!(77), &json!(1)));
}

/// The restore's UID.
async fn uid_of(ns: &TestNamespace, restore: &str) -> String {
    ns.api::<KafkaRestore>()
        .get(restore)
        .await
        .unwrap()
        .metadata
        .uid
        .unwrap()
}

/// The UID in an object's controller owner reference.
fn controller_uid(meta: &kube::api::ObjectMeta) -> Option<String> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.clone())
}

async fn ready_reason(ns: &TestNamespace, restore: &str) -> Option<String> {
    condition(ns, restore, "Ready")
        .await
        .map(|(_, reason)| reason)
}

/// Warning Events on the restore with `reason`.
async fn warnings(ns: &TestNamespace, reason: &str) -> usize {
    ns.api::<k8s_openapi::api::events::v1::Event>()
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|e| e.type_.as_deref() == Some("Warning") && e.reason.as_deref() == Some(reason))
        .count()
}

/// Asserts for `seconds` that the restore never shows `RestoreComplete=True`.
async fn never_completes(ns: &TestNamespace, restore: &str, seconds: u64) {
    for _ in 0..seconds * 4 {
        assert_ne!(
            condition(ns, restore, "RestoreComplete").await.map(|c| c.0),
            Some("True".to_string()),
            "a restore that never ran must not complete"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn r1_a_restore_recreated_under_the_same_name_never_adopts_the_old_job() {
    let Some(client) = cluster().await else {
        return;
    };
    let ns = TestNamespace::new(&client, "recreate").await;
    backup_and_restore(&ns, json!({})).await;
    let job = "restore-orders-restore-1";
    eventually("the restore Job", || async {
        jobs_of(&ns, "restore-orders").await.into_iter().next()
    })
    .await;
    // Another controller's finalizer holds the Job past its restore's deletion.
    ns.api::<Job>()
        .patch(
            job,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["e2e.kafkabackup.com/hold"]}})),
        )
        .await
        .unwrap();
    complete_pod(&ns, job, true).await;
    eventually("the first restore completes", || async {
        (condition(&ns, "restore-orders", "RestoreComplete").await?.0 == "True").then_some(())
    })
    .await;
    let old_uid = uid_of(&ns, "restore-orders").await;
    ns.api::<KafkaRestore>()
        .delete("restore-orders", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the first restore to be gone", || async {
        ns.api::<KafkaRestore>()
            .get_opt("restore-orders")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;

    // The same manifest again, while the completed Job of the old one still exists.
    ns.apply::<KafkaRestore>(json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaRestore",
        "metadata": {"name": "restore-orders"},
        "spec": {"kafka": {"bootstrapServers": "kafka:9092"}, "backupRef": {"name": "daily-backup"}}
    }))
    .await;
    let new_uid = uid_of(&ns, "restore-orders").await;
    assert_ne!(old_uid, new_uid);
    eventually("a NameConflict condition", || async {
        (ready_reason(&ns, "restore-orders").await? == "NameConflict").then_some(())
    })
    .await;
    never_completes(&ns, "restore-orders", 3).await;
    assert!(warnings(&ns, "NameConflict").await >= 1, "a Warning Event");

    // Once the old Job is gone, the new restore runs its own first attempt.
    ns.api::<Job>()
        .patch(
            job,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .unwrap();
    let fresh = eventually("the new restore's own Job", || async {
        let job = ns.api::<Job>().get_opt(job).await.ok()??;
        (controller_uid(&job.metadata)? == new_uid).then_some(job)
    })
    .await;
    assert_eq!(fresh.name_any(), job);
    never_completes(&ns, "restore-orders", 1).await;
}

#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn r1_a_foreign_job_with_the_deterministic_name_is_a_conflict_and_left_alone() {
    let Some(client) = cluster().await else {
        return;
    };
    let ns = TestNamespace::new(&client, "foreign").await;
    let foreign: Job = serde_json::from_value(json!({
        "metadata": {"name": "restore-orders-restore-1"},
        "spec": {"suspend": true, "template": {"spec": {"restartPolicy": "Never",
                 "containers": [{"name": "c", "image": "busybox"}]}}}
    }))
    .unwrap();
    ns.api::<Job>()
        .create(&PostParams::default(), &foreign)
        .await
        .unwrap();
    backup_and_restore(&ns, json!({})).await;
    eventually("a NameConflict condition", || async {
        (ready_reason(&ns, "restore-orders").await? == "NameConflict").then_some(())
    })
    .await;
    let (status, _) = condition(&ns, "restore-orders", "Error").await.unwrap();
    assert_eq!(status, "True");
    assert!(warnings(&ns, "NameConflict").await >= 1, "a Warning Event");
    never_completes(&ns, "restore-orders", 2).await;
    let job = ns
        .api::<Job>()
        .get("restore-orders-restore-1")
        .await
        .unwrap();
    assert!(job.metadata.owner_references.is_none(), "not adopted");
    assert_eq!(job.spec.unwrap().suspend, Some(true), "not touched");
}

#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn r4_cleanup_leaves_a_users_object_that_carries_our_labels() {
    let Some(client) = cluster().await else {
        return;
    };
    let ns = TestNamespace::new(&client, "users-object").await;
    backup_and_restore(&ns, json!({})).await;
    eventually("the restore Job", || async {
        jobs_of(&ns, "restore-orders").await.into_iter().next()
    })
    .await;
    ns.apply::<ConfigMap>(json!({
        "metadata": {"name": "orders-notes", "labels": {
            "kafkabackup.com/restore": "restore-orders",
            "app.kubernetes.io/managed-by": "kafka-backup-operator"}},
        "data": {"note": "kept by a person"}
    }))
    .await;
    ns.api::<KafkaRestore>()
        .delete("restore-orders", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the restore and its Jobs to be gone", || async {
        let gone = ns
            .api::<KafkaRestore>()
            .get_opt("restore-orders")
            .await
            .ok()?
            .is_none();
        (gone && jobs_of(&ns, "restore-orders").await.is_empty()).then_some(())
    })
    .await;
    let kept = ns.api::<ConfigMap>().get("orders-notes").await;
    assert!(kept.is_ok(), "the user's ConfigMap is still there");
    assert!(
        ns.api::<ConfigMap>()
            .get_opt("restore-orders-restore-config")
            .await
            .unwrap()
            .is_none(),
        "ours is gone"
    );
}

/// The resourceVersions of a restore and everything made for it.
async fn versions(ns: &TestNamespace) -> Vec<(String, String)> {
    let selector = ListParams::default().labels("kafkabackup.com/restore=restore-orders");
    let mut versions = vec![];
    let restore = ns
        .api::<KafkaRestore>()
        .get("restore-orders")
        .await
        .unwrap();
    versions.push(("restore".into(), restore.resource_version().unwrap()));
    for job in ns.api::<Job>().list(&selector).await.unwrap().items {
        versions.push((job.name_any(), job.resource_version().unwrap()));
    }
    for pvc in ns
        .api::<PersistentVolumeClaim>()
        .list(&selector)
        .await
        .unwrap()
        .items
    {
        versions.push((pvc.name_any(), pvc.resource_version().unwrap()));
    }
    for cm in ns.api::<ConfigMap>().list(&selector).await.unwrap().items {
        versions.push((cm.name_any(), cm.resource_version().unwrap()));
    }
    // The backup's own objects are applied on every reconcile; unchanged, none is written.
    let backup = ns.api::<KafkaBackup>().get("daily-backup").await.unwrap();
    versions.push(("backup".into(), backup.resource_version().unwrap()));
    let of_backup = ListParams::default().labels("kafkabackup.com/backup=daily-backup");
    for cm in ns.api::<ConfigMap>().list(&of_backup).await.unwrap().items {
        versions.push((cm.name_any(), cm.resource_version().unwrap()));
    }
    for cronjob in ns.api::<CronJob>().list(&of_backup).await.unwrap().items {
        versions.push((cronjob.name_any(), cronjob.resource_version().unwrap()));
    }
    versions
}

#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn r3_an_operator_restart_writes_nothing_to_settled_objects() {
    let Some(client) = cluster().await else {
        return;
    };
    let mut ns = TestNamespace::new(&client, "restart").await;
    backup_and_restore(&ns, json!({})).await;
    eventually("the restore Job", || async {
        jobs_of(&ns, "restore-orders").await.into_iter().next()
    })
    .await;
    complete_pod(&ns, "restore-orders-restore-1", true).await;
    eventually("RestoreComplete=True", || async {
        (condition(&ns, "restore-orders", "RestoreComplete").await?.0 == "True").then_some(())
    })
    .await;
    // Settled: its progress reads 100 (written within 10 s of completion).
    eventually("progress 100", || async {
        let restore = ns.api::<KafkaRestore>().get("restore-orders").await.ok()?;
        (restore.status?.restore?.progress?.percent == 100).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = versions(&ns).await;
    let events_before = ns
        .api::<k8s_openapi::api::events::v1::Event>()
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .len();
    // A restarted operator: fresh caches, a first reconcile of everything.
    ns.start_controller("e2e-restart-again");
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(versions(&ns).await, before, "nothing was written");
    let events_after = ns
        .api::<k8s_openapi::api::events::v1::Event>()
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .len();
    assert_eq!(events_after, events_before, "no Event either");
    assert_eq!(jobs_of(&ns, "restore-orders").await.len(), 1);
}

#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn r1_r5_two_controllers_racing_make_one_job_and_one_report_pvc() {
    let Some(client) = cluster().await else {
        return;
    };
    let mut ns = TestNamespace::without_controller(&client, "race").await;
    // Two replicas without a Lease between them, from the very first event.
    ns.start_controller("e2e-race-a");
    ns.start_controller("e2e-race-b");
    backup_and_restore(&ns, json!({})).await;
    eventually("the restore Job", || async {
        jobs_of(&ns, "restore-orders").await.into_iter().next()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(jobs_of(&ns, "restore-orders").await.len(), 1);
    let pvcs = ns
        .api::<PersistentVolumeClaim>()
        .list(&ListParams::default().labels("kafkabackup.com/restore=restore-orders"))
        .await
        .unwrap()
        .items;
    assert_eq!(pvcs.len(), 1, "one report PVC");
    let restore = ns
        .api::<KafkaRestore>()
        .get("restore-orders")
        .await
        .unwrap();
    assert_eq!(
        restore.labels()["kafkabackup.com/report-pvc-name"],
        pvcs[0].name_any(),
        "status names the claim the Job mounts"
    );
}

#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn r1_a_reconcile_from_a_stale_cache_claims_nothing_and_makes_no_job() {
    // A restore's first Job is made without a live read: its claim (the Job's name in
    // the restore's labels) is written on condition of the version the plan was made
    // from. Here the cache holds the restore as it was before a change, as after a
    // missed watch event or in a replica behind: the real API server refuses the claim,
    // and no PVC or Job is made; from the current version, exactly one of each.
    let Some(client) = cluster().await else {
        return;
    };
    let ns = TestNamespace::without_controller(&client, "stale").await;
    backup_and_restore(&ns, json!({})).await;
    let restores = ns.api::<KafkaRestore>();
    // Our finalizer, as the mutating webhook puts it on a new restore.
    restores
        .patch(
            "restore-orders",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["kafkabackup.com/cleanup"]}})),
        )
        .await
        .expect("finalizer");
    let stale = restores.get("restore-orders").await.unwrap();
    restores
        .patch(
            "restore-orders",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"team": "orders"}}})),
        )
        .await
        .expect("a change the cache has not seen");
    let backup = ns.api::<KafkaBackup>().get("daily-backup").await.unwrap();
    let cached = || caches::Cached {
        backups: vec![backup.clone()],
        ..Default::default()
    };
    reconcile_restore(
        std::sync::Arc::new(stale),
        caches::context(client.clone(), cached()),
    )
    .await
    .expect("a stale cache is not a failure");
    assert!(jobs_of(&ns, "restore-orders").await.is_empty(), "no Job");
    let pvcs = ns.api::<PersistentVolumeClaim>();
    assert!(
        pvcs.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "no PVC"
    );
    let unclaimed = restores.get("restore-orders").await.unwrap();
    assert!(
        !unclaimed
            .labels()
            .contains_key("kafkabackup.com/restore-job-name"),
        "no claim: {:?}",
        unclaimed.labels()
    );

    reconcile_restore(
        std::sync::Arc::new(unclaimed),
        caches::context(client.clone(), cached()),
    )
    .await
    .expect("reconcile from the current version");
    let jobs = jobs_of(&ns, "restore-orders").await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].name_any(), "restore-orders-restore-1");
    assert_eq!(
        pvcs.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );
    let claimed = restores.get("restore-orders").await.unwrap();
    assert_eq!(
        claimed.labels()["kafkabackup.com/restore-job-name"],
        "restore-orders-restore-1"
    );
    assert_eq!(
        claimed.annotations()["team"],
        "orders",
        "the user's change kept"
    );
    let recorded = claimed
        .status
        .and_then(|s| s.restore)
        .expect("status.restore");
    assert_eq!(
        (recorded.attempt, recorded.job_name.as_str()),
        (1, "restore-orders-restore-1")
    );
}

#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn r9_resume_after_a_pause_waits_for_the_stopping_pod() {
    let Some(client) = cluster().await else {
        return;
    };
    let ns = TestNamespace::new(&client, "pause").await;
    backup_and_restore(&ns, json!({})).await;
    let job = "restore-orders-restore-1";
    eventually("the restore Job", || async {
        jobs_of(&ns, "restore-orders").await.into_iter().next()
    })
    .await;
    let pods: Api<Pod> = ns.api();
    let pod = eventually("its pod", || async {
        pods.list(&ListParams::default().labels(&format!("job-name={job}")))
            .await
            .ok()?
            .items
            .into_iter()
            .next()
    })
    .await;
    // Make the pod look scheduled and running, with a finalizer standing in for a
    // kubelet that has not yet confirmed its end.
    pods.patch(
        &pod.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": ["e2e.kafkabackup.com/kubelet"]}})),
    )
    .await
    .unwrap();
    pods.patch_status(
        &pod.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Running"}})),
    )
    .await
    .unwrap();
    let enabled = |on: bool| json!({"spec": {"enabled": on}});
    let restores: Api<KafkaRestore> = ns.api();
    restores
        .patch(
            "restore-orders",
            &PatchParams::default(),
            &Patch::Merge(enabled(false)),
        )
        .await
        .unwrap();
    eventually("the Job suspended", || async {
        let job = ns.api::<Job>().get(job).await.ok()?;
        (job.spec?.suspend == Some(true)).then_some(())
    })
    .await;
    // The Job controller deletes the pod; it is stopping, not gone.
    eventually("the pod stopping", || async {
        pods.get(&pod.name_any())
            .await
            .ok()?
            .metadata
            .deletion_timestamp
            .map(|_| ())
    })
    .await;
    restores
        .patch(
            "restore-orders",
            &PatchParams::default(),
            &Patch::Merge(enabled(true)),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let still = ns.api::<Job>().get(job).await.unwrap();
    assert_eq!(
        still.spec.unwrap().suspend,
        Some(true),
        "not resumed while a pod of the restore is stopping"
    );
    // The pod is gone: the Job resumes within seconds, without a watch on pods.
    pods.patch(
        &pod.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    eventually("the Job resumed", || async {
        let job = ns.api::<Job>().get(job).await.ok()?;
        (job.spec?.suspend == Some(false)).then_some(())
    })
    .await;
}

/// The operator binary started by a test, and the webhook configurations registered for
/// it; both removed when dropped, whatever happened.
struct RunningOperator {
    child: std::process::Child,
    /// `kubectl delete` arguments of what the test made outside its namespace.
    made: Vec<Vec<String>>,
}

impl Drop for RunningOperator {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for what in &self.made {
            let _ = std::process::Command::new("kubectl")
                .arg("delete")
                .args(what)
                .arg("--ignore-not-found")
                .output();
        }
    }
}

#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn run_admits_and_reconciles_as_the_manifests_service_account() {
    use assert_cmd::cargo::CommandCargoExt;
    use base64::Engine;
    let Some(client) = cluster().await else {
        return;
    };
    let ns = TestNamespace::without_controller(&client, "run").await;
    // The install the README gives for this server: before 1.28 webhook configurations
    // have no matchConditions, and manifests/kubernetes-1.26/ leaves them out.
    let version = client.apiserver_version().await.unwrap();
    let minor: u32 = version
        .minor
        .trim_end_matches('+')
        .parse()
        .unwrap_or(u32::MAX);
    let install = if minor < 28 {
        "manifests/kubernetes-1.26"
    } else {
        "manifests"
    };
    let rendered = kubectl(
        &[
            "kustomize",
            &format!("{}/{install}", env!("CARGO_MANIFEST_DIR")),
        ],
        None,
    );
    let objects: Vec<serde_json::Value> = serde_yaml::Deserializer::from_str(&rendered)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    // The namespace, ServiceAccount and RBAC exactly as users install them.
    let access: Vec<String> = objects
        .iter()
        .filter(|o| {
            matches!(
                o["kind"].as_str(),
                Some(
                    "Namespace"
                        | "ServiceAccount"
                        | "ClusterRole"
                        | "ClusterRoleBinding"
                        | "Role"
                        | "RoleBinding"
                )
            )
        })
        .map(|o| serde_json::to_string(o).unwrap())
        .collect();
    kubectl(&["apply", "-f", "-"], Some(&access.join("\n")));
    let token = kubectl(
        &[
            "create",
            "token",
            "kafka-backup-operator",
            "-n",
            "kafka-backup-operator",
            "--duration",
            "1h",
        ],
        None,
    );
    let view: serde_json::Value = serde_json::from_str(&kubectl(
        &["config", "view", "--raw", "--minify", "-o", "json"],
        None,
    ))
    .unwrap();
    let cluster = &view["clusters"][0]["cluster"];
    let dir = tempfile::tempdir().unwrap();
    let sa_config = dir.path().join("kubeconfig");
    std::fs::write(
        &sa_config,
        serde_json::to_string(&json!({
            "apiVersion": "v1", "kind": "Config", "current-context": "operator",
            "clusters": [{"name": "c", "cluster": cluster}],
            "users": [{"name": "operator", "user": {"token": token.trim()}}],
            "contexts": [{"name": "operator", "context": {"cluster": "c", "user": "operator"}}]
        }))
        .unwrap(),
    )
    .unwrap();

    // Serving certificate for 127.0.0.1: the API server calls the webhook by URL.
    let certs = kafka_backup_operator::certs::generate(
        &["localhost".into()],
        &["127.0.0.1".parse().unwrap()],
        time::OffsetDateTime::now_utc(),
        1,
    )
    .unwrap();
    certs.write_to(dir.path()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The operator's own pod (no kubelet runs it): the image its Jobs run is read from it.
    let pod_name = format!("e2e-run-{}", std::process::id());
    let operator_image = format!(
        "registry.example/kafka-backup-operator:e2e-{}",
        std::process::id()
    );
    // Its spec is the manifests' pod template (admitted under Pod Security `restricted`).
    let deployment = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
    let mut pod_spec = deployment["spec"]["template"]["spec"].clone();
    pod_spec["containers"][0]["image"] = json!(operator_image);
    kubectl(
        &["apply", "-f", "-"],
        Some(
            &json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": pod_name, "namespace": "kafka-backup-operator"},
                    "spec": pod_spec})
            .to_string(),
        ),
    );
    let child = std::process::Command::cargo_bin("kafka-backup-operator")
        .unwrap()
        .args([
            "run",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--watch-namespace",
            &ns.name,
        ])
        .arg("--tls-cert")
        .arg(dir.path().join("tls.crt"))
        .arg("--tls-key")
        .arg(dir.path().join("tls.key"))
        .env("KUBECONFIG", &sa_config)
        .env("POD_NAMESPACE", "kafka-backup-operator")
        .env("POD_NAME", &pod_name)
        .env("KAFKA_BACKUP_LEASE_NAME", &pod_name)
        .env_remove("KAFKA_BACKUP_WORKER_IMAGE")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut operator = RunningOperator {
        child,
        made: vec![vec![
            "pod".into(),
            "-n".into(),
            "kafka-backup-operator".into(),
            pod_name.clone(),
        ]],
    };

    // Both webhook configurations of the manifests, pointed at this process and limited
    // to this test's namespace.
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(&certs.ca_pem);
    for (kind, path) in [
        ("MutatingWebhookConfiguration", "/mutate"),
        ("ValidatingWebhookConfiguration", "/validate"),
    ] {
        let mut config = objects.iter().find(|o| o["kind"] == kind).unwrap().clone();
        let name = format!("kafka-backup-operator-{}", ns.name);
        config["metadata"]["name"] = json!(name);
        let webhook = &mut config["webhooks"][0];
        webhook["clientConfig"] =
            json!({"url": format!("https://127.0.0.1:{port}{path}"), "caBundle": ca_bundle});
        webhook["namespaceSelector"] =
            json!({"matchLabels": {"kubernetes.io/metadata.name": ns.name}});
        kubectl(&["apply", "-f", "-"], Some(&config.to_string()));
        operator.made.push(vec![kind.to_lowercase(), name]);
    }

    let http = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(certs.ca_pem.as_bytes()).unwrap())
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    eventually("the operator ready", || async {
        let response = http
            .get(format!("https://localhost:{port}/readyz"))
            .send()
            .await
            .ok()?;
        (response.status() == 200).then_some(())
    })
    .await;

    // Admission: a dry run of a bad restore is refused naming the field; nothing stored.
    let bad = json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaRestore",
        "metadata": {"name": "bad", "namespace": ns.name},
        "spec": {"kafka": {"bootstrapServers": "kafka:9092"}, "backupRef": {"name": "daily-backup"}, "backoffLimit": -1}
    });
    let message = kubectl_refused(
        &["apply", "--dry-run=server", "-f", "-"],
        Some(&bad.to_string()),
    );
    assert!(message.contains("spec.backoffLimit"), "{message}");

    // Defaults are filled in by the mutating webhook; the controller runs the restore.
    backup_and_restore(&ns, json!({})).await;
    let restore = ns
        .api::<KafkaRestore>()
        .get("restore-orders")
        .await
        .unwrap();
    assert_eq!(
        restore.spec.backoff_limit,
        Some(0),
        "defaulted by the webhook"
    );
    let job = eventually("the restore Job, made by the process", || async {
        jobs_of(&ns, "restore-orders").await.into_iter().next()
    })
    .await;
    assert_eq!(controller_uid(&job.metadata), restore.metadata.uid);
    let worker_image = job
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone());
    assert_eq!(
        worker_image.as_deref(),
        Some(operator_image.as_str()),
        "the Job runs the operator pod's own image"
    );
    complete_pod(&ns, "restore-orders-restore-1", true).await;
    let reaction = job_complete_to_restore_complete(&ns, "restore-orders-restore-1").await;
    eprintln!("reaction (run, as the service account): {reaction:?}");
    eventually("the CronJob of the backup", || async {
        ns.api::<CronJob>()
            .get_opt("daily-backup-backup")
            .await
            .ok()?
    })
    .await;

    // /metrics of the process, as a PodMonitor scrapes it: the leader, and the series
    // of this namespace's backup and restore (the restore's progress 100 once its
    // progress reader, with the manifests' RBAC, has written it).
    let restore_labels = format!(r#"{{namespace="{}",name="restore-orders"}}"#, ns.name);
    let backup_labels = format!(r#"{{namespace="{}",name="daily-backup"}}"#, ns.name);
    let wanted = [
        "kafka_backup_operator_leader 1".to_string(),
        format!("kafka_restore_completed{restore_labels} 1"),
        format!("kafka_restore_progress_ratio{restore_labels} 1.0"),
        format!("kafka_restore_attempt{restore_labels} 1"),
        format!("kafka_backup_schedule_interval_seconds{backup_labels} 86400"),
        format!("kafka_backup_created_timestamp_seconds{backup_labels} "),
    ];
    let scrape = eventually("the series on /metrics", || async {
        let text = http
            .get(format!("https://localhost:{port}/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        wanted
            .iter()
            .all(|series| text.contains(series.as_str()))
            .then_some(text)
    })
    .await;
    assert!(scrape.contains("controller_api_requests_total"), "{scrape}");

    // Cleanup and the finalizer, as the service account.
    ns.api::<KafkaRestore>()
        .delete("restore-orders", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the restore gone", || async {
        ns.api::<KafkaRestore>()
            .get_opt("restore-orders")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    assert!(jobs_of(&ns, "restore-orders").await.is_empty());

    // SIGTERM: a clean stop.
    std::process::Command::new("kill")
        .args(["-TERM", &operator.child.id().to_string()])
        .status()
        .unwrap();
    let status = eventually("the process to stop", || {
        let exited = operator.child.try_wait().ok().flatten();
        async move { exited }
    })
    .await;
    assert!(status.success(), "{status:?}");
}

/// The raw status of an object, as the API server stores it.
async fn raw_status<K>(ns: &TestNamespace, name: &str) -> serde_json::Value
where
    K: kube::Resource<DynamicType = ()>,
{
    let resource = kube::api::ApiResource::erase::<K>(&());
    let api: Api<kube::api::DynamicObject> =
        Api::namespaced_with(ns.client.clone(), &ns.name, &resource);
    api.get(name).await.unwrap().data["status"].clone()
}

/// Resources strimzi-backup-operator managed carry its status, in its shape: the schema
/// takes it (so do manifests copied from its documentation), the controller's first
/// status write replaces it with ours in one request, and a restore it started is never
/// run here, not on the first reconcile and not on the ones after.
#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn a_status_strimzi_backup_operator_wrote_is_replaced_and_its_restore_never_runs() {
    let Some(client) = cluster().await else {
        return;
    };
    let mut ns = TestNamespace::without_controller(&client, "sbo-status").await;
    backup_and_restore(&ns, json!({})).await;
    let theirs = PatchParams::apply("strimzi-backup-operator").force();
    ns.api::<KafkaBackup>()
        .patch_status(
            "daily-backup",
            &theirs,
            &Patch::Apply(json!({
                "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaBackup",
                "status": {
                    "conditions": [{"type": "Ready", "status": "True", "reason": "BackupCompleted",
                                    "message": "Backup completed", "lastTransitionTime": "2026-01-01T02:15:00Z"}],
                    "lastBackup": {"id": "backup-20260101-020000", "status": "Completed",
                                   "startTime": "2026-01-01T02:00:00Z", "sizeBytes": 1024,
                                   "topicsBackedUp": 3, "partitionsBackedUp": 9},
                    "backupHistory": [{"id": "backup-20260101-020000", "status": "Completed",
                                       "startTime": "2026-01-01T02:00:00Z", "sizeBytes": 1024}],
                    "nextScheduledBackup": "2026-01-02T02:00:00Z"
                }
            })),
        )
        .await
        .expect("the schema takes strimzi-backup-operator's backup status");
    ns.api::<KafkaRestore>()
        .patch_status(
            "restore-orders",
            &theirs,
            &Patch::Apply(json!({
                "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaRestore",
                "status": {
                    "conditions": [{"type": "Ready", "status": "False", "reason": "RestoreRunning",
                                    "message": "Restore job is running", "lastTransitionTime": "2026-01-01T03:00:00Z"}],
                    "restore": {"status": "Running", "startTime": "2026-01-01T03:00:00Z",
                                "restoredBytes": 512, "restoredTopics": 1}
                }
            })),
        )
        .await
        .expect("the schema takes strimzi-backup-operator's restore status");
    assert_eq!(
        raw_status::<KafkaRestore>(&ns, "restore-orders").await["restore"]["restoredBytes"],
        512,
        "kept, not pruned"
    );

    ns.start_controller("e2e-sbo-status");
    let restore = eventually("the restore's status replaced by ours", || async {
        let status = raw_status::<KafkaRestore>(&ns, "restore-orders").await;
        let reason = status["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "Ready")?["reason"]
            .clone();
        (reason == "StartedElsewhere" && status["restore"].get("status").is_none())
            .then_some(status)
    })
    .await;
    assert!(
        restore["restore"].get("restoredBytes").is_none(),
        "{restore}"
    );
    let message = restore["conditions"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("started by another operator (its status says RestoreRunning)"),
        "{message}"
    );
    let backup = eventually("the backup's status replaced by ours", || async {
        let status = raw_status::<KafkaBackup>(&ns, "daily-backup").await;
        status
            .get("nextScheduledBackup")
            .is_none()
            .then_some(status)
    })
    .await;
    assert!(backup.get("lastBackup").is_none(), "{backup}");
    assert!(backup.get("backupHistory").is_none(), "{backup}");
    // Reconciles after the replacement read our own reason: still never run.
    ns.api::<KafkaRestore>()
        .patch(
            "restore-orders",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"e2e/poke": "1"}}})),
        )
        .await
        .unwrap();
    for _ in 0..20 {
        assert!(
            jobs_of(&ns, "restore-orders").await.is_empty(),
            "never run here"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        ready_reason(&ns, "restore-orders").await.as_deref(),
        Some("StartedElsewhere")
    );
}

/// Installs minimal Strimzi `Kafka` and `KafkaUser` CRDs when the cluster has none (a
/// cluster with Strimzi keeps its own).
fn strimzi_crds() {
    for (plural, kind) in [("kafkas", "Kafka"), ("kafkausers", "KafkaUser")] {
        let name = format!("{plural}.kafka.strimzi.io");
        if std::process::Command::new("kubectl")
            .args(["get", "crd", &name])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            continue;
        }
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": name},
            "spec": {"group": "kafka.strimzi.io", "scope": "Namespaced",
                "names": {"plural": plural, "kind": kind, "singular": kind.to_lowercase()},
                "versions": [{"name": "v1beta2", "served": true, "storage": true,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object",
                        "x-kubernetes-preserve-unknown-fields": true}}}]}
        });
        kubectl(&["apply", "-f", "-"], Some(&crd.to_string()));
        kubectl(
            &[
                "wait",
                "--for=condition=Established",
                &format!("crd/{name}"),
            ],
            None,
        );
    }
}

/// strimzi-backup-operator's manifests (ours, in its spelling, from tests/compat),
/// applied as they are with the real kubectl: the API server takes them (v1alpha1 and
/// v1), and the operator makes a CronJob, Jobs and a ConfigMap that carry their settings;
/// `kubectl explain` documents the new fields.
#[tokio::test]
#[ignore = "needs a cluster: make e2e"]
async fn strimzi_backup_operator_manifests_reconcile_with_their_settings() {
    let Some(client) = cluster().await else {
        return;
    };
    strimzi_crds();
    let ns = TestNamespace::new(&client, "sbo").await;
    // A Strimzi cluster with the listeners the manifests use, and its users.
    for cluster_name in ["events-cluster", "recovery-cluster"] {
        let kafka = json!({
            "apiVersion": "kafka.strimzi.io/v1beta2", "kind": "Kafka",
            "metadata": {"name": cluster_name, "namespace": ns.name},
            "spec": {"kafka": {"listeners": [
                {"name": "scram", "port": 9094, "type": "internal", "tls": true,
                 "authentication": {"type": "scram-sha-512"}},
                {"name": "mtls", "port": 9095, "type": "internal", "tls": true,
                 "authentication": {"type": "tls"}}]}}
        });
        kubectl(&["apply", "-f", "-"], Some(&kafka.to_string()));
        let status = json!({"status": {"listeners": [
            {"name": "scram", "bootstrapServers": format!("{cluster_name}-kafka-bootstrap:9094")},
            {"name": "mtls", "bootstrapServers": format!("{cluster_name}-kafka-bootstrap:9095")}]}});
        kubectl(
            &[
                "-n",
                &ns.name,
                "patch",
                "kafka",
                cluster_name,
                "--subresource=status",
                "--type=merge",
                "-p",
                &status.to_string(),
            ],
            None,
        );
    }
    let manifest = |file: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/compat")
            .join(file);
        std::fs::read_to_string(path)
            .unwrap()
            .replace("namespace: streaming", &format!("namespace: {}", ns.name))
    };
    kubectl(
        &["apply", "-f", "-"],
        Some(&manifest("backup-s3-every-setting.yaml")),
    );
    kubectl(
        &["apply", "-f", "-"],
        Some(&manifest("restore-every-setting.yaml")),
    );
    kubectl(
        &["apply", "-f", "-"],
        Some(&manifest("backup-azure-keys.yaml")),
    );

    // The backup's CronJob and ConfigMap carry its settings.
    let cronjob = eventually("the CronJob of nightly-s3", || async {
        ns.api::<CronJob>()
            .get_opt("nightly-s3-backup")
            .await
            .ok()?
    })
    .await;
    let spec = cronjob.spec.unwrap();
    assert_eq!(spec.schedule, "30 1 * * *");
    assert_eq!(spec.time_zone.as_deref(), Some("Europe/Berlin"));
    let pod = spec.job_template.spec.unwrap().template;
    let pod_json = serde_json::to_value(&pod).unwrap();
    assert_eq!(pod_json["spec"]["serviceAccountName"], "archive-writer");
    assert_eq!(pod_json["spec"]["hostAliases"][0]["ip"], "10.20.0.9");
    assert_eq!(pod_json["spec"]["securityContext"]["runAsUser"], 10001);
    assert_eq!(pod_json["metadata"]["labels"]["team"], "streaming");
    let env = pod_json["spec"]["containers"][0]["env"].to_string();
    assert!(
        env.contains("archive-keys") && env.contains("nightly-backup-password"),
        "{env}"
    );
    let config = eventually("the ConfigMap of nightly-s3", || async {
        ns.api::<ConfigMap>()
            .get_opt("nightly-s3-backup-config")
            .await
            .ok()?
    })
    .await;
    let yaml = config.data.unwrap()["config.yaml"].clone();
    for said in [
        "compression: zstd",
        "compressionLevel: 6",
        "consumerGroupSnapshot: true",
        "keepRuns: 20",
        "maxAge: 14d",
        "events-cluster-kafka-bootstrap:9094",
        "connectionsPerBroker: 2",
        "port: 9102",
    ] {
        assert!(yaml.contains(said), "'{said}' missing from:\n{yaml}");
    }

    // The restore's Job, with the worker's configuration in its pod.
    let job = eventually("the restore Job", || async {
        ns.api::<Job>()
            .get_opt("invoices-until-incident-restore-1")
            .await
            .ok()?
    })
    .await;
    let job_json = serde_json::to_value(&job).unwrap();
    assert_eq!(job_json["spec"]["backoffLimit"], 0);
    assert_eq!(
        job_json["spec"]["template"]["spec"]["serviceAccountName"],
        "recovery-jobs"
    );
    let yaml = kafka_backup_operator::controller::build::restore_job_config(&job)
        .expect("the worker's configuration in the Job's pod")
        .to_string();
    for said in [
        "invoices-eu: invoices-eu-recovered",
        "to: 2026-03-04T17:45:00.001Z",
        "target: invoice-mailer-recovery",
        "rateLimitRecordsPerSec: 50000",
        "recovery-cluster-kafka-bootstrap:9094",
    ] {
        assert!(yaml.contains(said), "'{said}' missing from:\n{yaml}");
    }

    // Served as v1 too, stored as v1alpha1.
    let stored = kubectl(
        &[
            "-n",
            &ns.name,
            "get",
            "kafkabackups.v1alpha1.kafkabackup.com",
            "before-upgrade",
            "-o",
            "json",
        ],
        None,
    );
    assert!(
        stored.contains("\"apiVersion\": \"kafkabackup.com/v1alpha1\""),
        "{stored}"
    );
    let as_v1 = kubectl(
        &[
            "-n",
            &ns.name,
            "get",
            "kafkabackups.v1.kafkabackup.com",
            "before-upgrade",
            "-o",
            "json",
        ],
        None,
    );
    assert!(
        as_v1.contains("\"apiVersion\": \"kafkabackup.com/v1\""),
        "{as_v1}"
    );

    // kubectl explain documents the new fields.
    let explained = kubectl(&["explain", "kafkabackup.spec.retention.maxBackups"], None);
    assert!(
        explained.contains("most recent successful runs"),
        "{explained}"
    );
    let explained = kubectl(
        &["explain", "kafkarestore.spec.consumerGroups.mapping"],
        None,
    );
    assert!(explained.contains("another name"), "{explained}");
}
