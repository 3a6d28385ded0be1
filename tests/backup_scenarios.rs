//! KafkaBackup reconciles against a mocked API, one scenario each: the requests the
//! reconcile must make, in order, and what they must carry. A one-shot backup, a
//! schedule, a run-now request, a removed schedule, and a deleted backup. These are not
//! end-to-end tests: see tests/e2e.rs for the real API server.

#[path = "support/api_mock.rs"]
mod api_mock;
#[path = "support/caches.rs"]
mod caches;

use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};
use kafka_backup_operator::api::KafkaBackup;
use kafka_backup_operator::controller::names;
use kafka_backup_operator::controller::reconcile_backup;
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock;

use self::api_mock::*;
use self::caches::*;

const NS: &str = "/apis/kafkabackup.com/v1alpha1/namespaces/kafka";
const BATCH: &str = "/apis/batch/v1/namespaces/kafka";
const CORE: &str = "/api/v1/namespaces/kafka";
const APPLY: &str = "?&force=true&fieldManager=kafka-backup-operator";
const CREATE: &str = "?&fieldManager=kafka-backup-operator";
const OF_BACKUP: &str = "labelSelector=kafkabackup.com%2Fbackup%3Ddaily-backup";
const MANAGED: &str = "labelSelector=kafkabackup.com%2Fbackup%3Ddaily-backup%2Capp.kubernetes.io%2Fmanaged-by%3Dkafka-backup-operator";
const RUN_NOW: &str = "2026-11-23T09:00";

/// What the backup is and has when the reconcile starts.
#[derive(Clone, Copy, Debug)]
enum Scenario {
    /// A backup without a schedule, nothing made yet: one Job.
    OneShotFirstRun,
    /// A backup with a schedule, nothing made yet: a CronJob, no Job.
    ScheduleFirstRun,
    /// A scheduled backup with `kafkabackup.com/run-now`: one extra Job for the token.
    RunNow,
    /// The schedule was removed: its CronJob goes, and the one-shot Job is made.
    ScheduleRemoved,
    /// The backup is being deleted: what the operator made goes, only our finalizer.
    Deleted,
}

impl Scenario {
    fn backup(self) -> Value {
        let mut backup = json!({
            "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaBackup",
            "metadata": {"name": "daily-backup", "namespace": "kafka", "uid": "uid-b",
                         "generation": 1, "resourceVersion": "1",
                         "finalizers": ["kafkabackup.com/cleanup"]},
            "spec": {"kafka": {"bootstrapServers": "kafka:9092"},
                     "storage": {"type": "s3", "s3": {"bucket": "my-kafka-backups"}}}
        });
        match self {
            Scenario::ScheduleFirstRun | Scenario::RunNow => {
                backup["spec"]["schedule"] = json!({"cron": "0 2 * * *"});
            }
            Scenario::Deleted => {
                backup["metadata"]["deletionTimestamp"] = json!("2026-11-23T10:00:00Z");
                backup["metadata"]["finalizers"] =
                    json!(["example.com/keep-me", "kafkabackup.com/cleanup"]);
            }
            Scenario::OneShotFirstRun | Scenario::ScheduleRemoved => {}
        }
        if let Scenario::RunNow = self {
            backup["metadata"]["annotations"] = json!({"kafkabackup.com/run-now": RUN_NOW});
        }
        backup
    }

    /// The requests, in order, with the answers the mocked API gives.
    fn script(self) -> Vec<Expect> {
        if let Scenario::Deleted = self {
            return deletion();
        }
        let cronjob_found = match self {
            Scenario::ScheduleRemoved => (StatusCode::OK, own_cronjob()),
            _ => (StatusCode::NOT_FOUND, not_found()),
        };
        let mut script = vec![
            expect(
                Method::GET,
                format!("{BATCH}/cronjobs/daily-backup-backup"),
                cronjob_found.0,
                cronjob_found.1,
            ),
            expect(
                Method::GET,
                format!("{BATCH}/jobs?&{OF_BACKUP}"),
                StatusCode::OK,
                items("JobList", vec![]),
            ),
            expect(
                Method::GET,
                format!("{CORE}/configmaps/daily-backup-backup-config"),
                StatusCode::NOT_FOUND,
                not_found(),
            ),
            expect(
                Method::PATCH,
                format!("{CORE}/configmaps/daily-backup-backup-config{APPLY}"),
                StatusCode::OK,
                json!({}),
            ),
        ];
        let create_job = expect(
            Method::POST,
            format!("{BATCH}/jobs{CREATE}"),
            StatusCode::CREATED,
            json!({}),
        );
        match self {
            Scenario::OneShotFirstRun => script.push(create_job),
            Scenario::ScheduleFirstRun | Scenario::RunNow => {
                script.push(expect(
                    Method::PATCH,
                    format!("{BATCH}/cronjobs/daily-backup-backup{APPLY}"),
                    StatusCode::OK,
                    json!({}),
                ));
                if let Scenario::RunNow = self {
                    script.push(create_job);
                }
            }
            Scenario::ScheduleRemoved => {
                script.push(expect(
                    Method::DELETE,
                    format!("{BATCH}/cronjobs/daily-backup-backup?"),
                    StatusCode::OK,
                    json!({}),
                ));
                script.push(create_job);
            }
            Scenario::Deleted => unreachable!(),
        }
        script.extend([
            expect(
                Method::PATCH,
                format!("{NS}/kafkabackups/daily-backup/status{APPLY}"),
                StatusCode::OK,
                self.backup(),
            ),
            expect(
                Method::POST,
                "/apis/events.k8s.io/v1/namespaces/kafka/events?",
                StatusCode::CREATED,
                json!({}),
            ),
        ]);
        script
    }

    /// What the requests must carry, by the order of `script`.
    fn verify(self, sent: &[Value]) {
        let owned_by_backup = |object: &Value| {
            assert_eq!(object["metadata"]["ownerReferences"][0]["uid"], "uid-b");
            assert_eq!(object["metadata"]["ownerReferences"][0]["controller"], true);
        };
        match self {
            Scenario::OneShotFirstRun => {
                let job = &sent[4];
                assert_eq!(job["metadata"]["name"], "daily-backup-backup");
                assert_eq!(job["spec"]["backoffLimit"], 3, "R2: a backup retries");
                owned_by_backup(job);
                assert_ready(&sent[5], "BackupRunning");
            }
            Scenario::ScheduleFirstRun => {
                let cronjob = &sent[4];
                assert_eq!(cronjob["spec"]["schedule"], "0 2 * * *");
                assert_eq!(cronjob["spec"]["concurrencyPolicy"], "Forbid");
                owned_by_backup(cronjob);
                assert_ready(&sent[5], "BackupScheduled");
                assert!(sent[5]["status"]["nextScheduleTime"].is_string());
            }
            Scenario::RunNow => {
                let job = &sent[5];
                assert_eq!(
                    job["metadata"]["name"],
                    names::backup_manual_job_name("daily-backup", RUN_NOW)
                );
                owned_by_backup(job);
                assert_ready(&sent[6], "BackupRunning");
            }
            Scenario::ScheduleRemoved => {
                assert_eq!(sent[4]["propagationPolicy"], "Background");
                assert_eq!(sent[5]["metadata"]["name"], "daily-backup-backup");
                assert_ready(&sent[6], "BackupRunning");
            }
            Scenario::Deleted => {
                for delete in [1, 3, 5] {
                    assert_eq!(sent[delete]["propagationPolicy"], "Background");
                }
                assert_eq!(
                    sent[7],
                    json!([
                        {"op": "test", "path": "/metadata/finalizers/1", "value": "kafkabackup.com/cleanup"},
                        {"op": "remove", "path": "/metadata/finalizers/1"}
                    ])
                );
            }
        }
    }
}

/// The status sent says Ready=False with this reason.
fn assert_ready(status_patch: &Value, reason: &str) {
    let ready = status_patch["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap()
        .clone();
    assert_eq!(ready["reason"], reason, "{status_patch}");
    assert_eq!(ready["status"], "False");
}

/// A CronJob made for daily-backup.
fn own_cronjob() -> Value {
    json!({"apiVersion": "batch/v1", "kind": "CronJob",
           "metadata": {"name": "daily-backup-backup", "namespace": "kafka", "uid": "uid-cj",
                        "labels": {"kafkabackup.com/backup": "daily-backup",
                                   "app.kubernetes.io/managed-by": "kafka-backup-operator"},
                        "ownerReferences": [{"apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaBackup",
                                             "name": "daily-backup", "uid": "uid-b", "controller": true}]},
           "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}})
}

/// An object of ours named `name`, controlled by `owner_kind` with `owner_uid`.
fn ours(kind: &str, name: &str, owner_kind: &str, owner_uid: &str) -> Value {
    json!({"apiVersion": if kind == "Job" || kind == "CronJob" { "batch/v1" } else { "v1" }, "kind": kind,
           "metadata": {"name": name, "namespace": "kafka", "uid": format!("uid-{name}"),
                        "labels": {"kafkabackup.com/backup": "daily-backup",
                                   "app.kubernetes.io/managed-by": "kafka-backup-operator"},
                        "ownerReferences": [{"apiVersion": "v1", "kind": owner_kind, "name": "x",
                                             "uid": owner_uid, "controller": true}]}})
}

/// The cleanup of a deleted backup: its CronJob, the Jobs the CronJob made, their pods,
/// its ConfigMap; then only our finalizer.
fn deletion() -> Vec<Expect> {
    vec![
        expect(
            Method::GET,
            format!("{BATCH}/cronjobs?&{MANAGED}"),
            StatusCode::OK,
            items(
                "CronJobList",
                vec![ours(
                    "CronJob",
                    "daily-backup-backup",
                    "KafkaBackup",
                    "uid-b",
                )],
            ),
        ),
        expect(
            Method::DELETE,
            format!("{BATCH}/cronjobs/daily-backup-backup?"),
            StatusCode::OK,
            json!({}),
        ),
        expect(
            Method::GET,
            format!("{BATCH}/jobs?&{MANAGED}"),
            StatusCode::OK,
            items(
                "JobList",
                // A run the CronJob made: owned by the CronJob, removed with it.
                vec![ours(
                    "Job",
                    "daily-backup-backup-29000000",
                    "CronJob",
                    "uid-daily-backup-backup",
                )],
            ),
        ),
        expect(
            Method::DELETE,
            format!("{BATCH}/jobs/daily-backup-backup-29000000?"),
            StatusCode::OK,
            json!({}),
        ),
        expect(
            Method::GET,
            format!("{CORE}/pods?&{MANAGED}"),
            StatusCode::OK,
            items(
                "PodList",
                vec![ours(
                    "Pod",
                    "daily-backup-backup-29000000-x7k2p",
                    "Job",
                    "uid-daily-backup-backup-29000000",
                )],
            ),
        ),
        expect(
            Method::DELETE,
            format!("{CORE}/pods/daily-backup-backup-29000000-x7k2p?"),
            StatusCode::OK,
            json!({}),
        ),
        expect(
            Method::GET,
            format!("{CORE}/configmaps?&{MANAGED}"),
            StatusCode::OK,
            items("ConfigMapList", vec![]),
        ),
        expect(
            Method::PATCH,
            format!("{NS}/kafkabackups/daily-backup?"),
            StatusCode::OK,
            Scenario::Deleted.backup(),
        ),
    ]
}

/// Runs one reconcile of the scenario's backup against its script and checks what was
/// sent.
async fn run(scenario: Scenario) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let server = tokio::spawn(serve(handle, scenario.script()));
    let backup: KafkaBackup = serde_json::from_value(scenario.backup()).unwrap();
    reconcile_backup(Arc::new(backup), context(client, Cached::default()))
        .await
        .unwrap_or_else(|e| panic!("{scenario:?}: {e}"));
    let sent = server.await.unwrap();
    scenario.verify(&sent);
}

#[tokio::test]
async fn r8_a_one_shot_backup_makes_one_job() {
    run(Scenario::OneShotFirstRun).await;
}

#[tokio::test]
async fn r8_a_schedule_makes_a_cronjob_and_no_job() {
    run(Scenario::ScheduleFirstRun).await;
}

#[tokio::test]
async fn run_now_makes_one_job_named_after_the_token() {
    run(Scenario::RunNow).await;
}

#[tokio::test]
async fn r8_a_removed_schedule_deletes_the_cronjob_and_runs_once() {
    run(Scenario::ScheduleRemoved).await;
}

#[tokio::test]
async fn r4_a_deleted_backup_removes_its_cronjob_runs_pods_and_only_our_finalizer() {
    run(Scenario::Deleted).await;
}
