//! KafkaRestore reconciles against a mocked API (tower-test), one `Scenario` each, with
//! the exact requests: create with the deterministic name, AlreadyExists adopted, the
//! live read before a new Job, delete with Background propagation, finalizer removal
//! that keeps other finalizers; and, over two passes, no write in a steady state, and a
//! backup run's figures read once. These are not end-to-end tests: see tests/e2e.rs.

#[path = "support/api_mock.rs"]
mod api_mock;
#[path = "support/caches.rs"]
mod caches;

use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};
use k8s_openapi::api::batch::v1::Job;
use kafka_backup_operator::api::{KafkaBackup, KafkaRestore};
use kafka_backup_operator::controller::{reconcile_backup, reconcile_restore};
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock;

use self::api_mock::*;
use self::caches::*;

fn restore() -> Value {
    json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaRestore",
        "metadata": {"name": "restore-orders", "namespace": "kafka", "uid": "uid-r", "generation": 1,
                     "resourceVersion": "1", "finalizers": ["kafkabackup.com/cleanup"]},
        "spec": {"kafka": {"bootstrapServers": "kafka:9092"}, "backupRef": {"name": "daily-backup"}}
    })
}

fn backup() -> Value {
    json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaBackup",
        "metadata": {"name": "daily-backup", "namespace": "kafka", "uid": "uid-b"},
        "spec": {"kafka": {"bootstrapServers": "kafka:9092"}, "storage": {"type": "s3", "s3": {"bucket": "my-kafka-backups"}}}
    })
}

fn conflict(kind: &str, name: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "AlreadyExists", "code": 409,
           "message": format!("{kind} \"{name}\" already exists")})
}

const NS: &str = "/apis/kafkabackup.com/v1alpha1/namespaces/kafka";
/// The restore's label and our managed-by label: what the operator made.
const MANAGED: &str = "labelSelector=kafkabackup.com%2Frestore%3Drestore-orders%2Capp.kubernetes.io%2Fmanaged-by%3Dkafka-backup-operator";

/// A controller owner reference to the KafkaRestore with `uid`.
fn owner(kind: &str, uid: &str) -> Value {
    json!([{"apiVersion": "kafkabackup.com/v1alpha1", "kind": kind, "name": "restore-orders",
            "uid": uid, "controller": true}])
}

/// A child named `name` with our labels, controlled by `uid`.
fn child(kind: &str, name: &str, owner_kind: &str, uid: &str) -> Value {
    let api_version = if kind == "Job" { "batch/v1" } else { "v1" };
    json!({"apiVersion": api_version, "kind": kind,
           "metadata": {"name": name, "namespace": "kafka", "uid": format!("uid-{name}"),
                        "labels": {"kafkabackup.com/restore": "restore-orders",
                                   "app.kubernetes.io/managed-by": "kafka-backup-operator"},
                        "ownerReferences": owner(owner_kind, uid)}})
}

/// The restore's labels and status as the operator writes them.
const RESTORE: &str = "/apis/kafkabackup.com/v1alpha1/namespaces/kafka/kafkarestores/restore-orders?&force=true&fieldManager=kafka-backup-operator";

/// The restore being deleted, with our finalizer after another's.
fn deleting_restore() -> Value {
    let mut deleting = restore();
    deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    deleting["metadata"]["finalizers"] = json!(["example.com/keep-me", "kafkabackup.com/cleanup"]);
    deleting
}

/// The end of a deleted restore's cleanup: its report PVC deleted, then our finalizer
/// removed (the answer: `deleting`).
fn report_pvc_then_finalizer(deleting: &Value) -> Vec<Expect> {
    vec![
        expect(
            Method::DELETE,
            "/api/v1/namespaces/kafka/persistentvolumeclaims/restore-orders-report-x7k2p?",
            StatusCode::OK,
            json!({}),
        ),
        expect(
            Method::PATCH,
            format!("{NS}/kafkarestores/restore-orders?"),
            StatusCode::OK,
            deleting.clone(),
        ),
    ]
}

/// The restore as the API answers a write, at `version`.
fn restore_at(version: &str) -> Value {
    let mut restore = restore();
    restore["metadata"]["resourceVersion"] = json!(version);
    restore
}

/// The requests of a first reconcile, up to and including the Job creation. The PVCs,
/// the Jobs and the KafkaBackup come from the caches, and nothing is read live: the Job
/// is claimed first, in the restore's labels, on condition that the restore is still the
/// cached version (R1), then the PVC and the Job are made.
fn first_reconcile_until_job(job_answer: (StatusCode, Value)) -> Vec<Expect> {
    vec![
        expect(Method::PATCH, RESTORE, StatusCode::OK, restore_at("2")),
        expect(
            Method::POST,
            "/api/v1/namespaces/kafka/persistentvolumeclaims?&fieldManager=kafka-backup-operator",
            StatusCode::CREATED,
            json!({}),
        ),
        expect(
            Method::POST,
            "/apis/batch/v1/namespaces/kafka/jobs?&fieldManager=kafka-backup-operator",
            job_answer.0,
            job_answer.1,
        ),
    ]
}

/// What follows a Job created or adopted: status, then its Event.
fn status_event() -> Vec<Expect> {
    vec![
        expect(
            Method::PATCH,
            format!(
                "{NS}/kafkarestores/restore-orders/status?&force=true&fieldManager=kafka-backup-operator"
            ),
            StatusCode::OK,
            restore(),
        ),
        expect(
            Method::POST,
            "/apis/events.k8s.io/v1/namespaces/kafka/events?",
            StatusCode::CREATED,
            json!({}),
        ),
    ]
}

/// Status, its Event, then the labels: a reconcile that makes no Job.
fn status_event_labels() -> Vec<Expect> {
    let mut script = status_event();
    script.push(expect(Method::PATCH, RESTORE, StatusCode::OK, restore()));
    script
}

/// A KafkaRestore reconcile against the mocked API: what the restore is when it starts,
/// the requests the reconcile must make (in order, with the answers), and what they must
/// carry.
#[derive(Clone, Copy, Debug)]
enum Scenario {
    /// No Job yet: the PVC and Job 1, confirmed live first (R1).
    FirstReconcile,
    /// The create meets a Job of this restore made meanwhile: adopted, not duplicated (R1).
    AlreadyExists,
    /// The create meets a Job of an earlier restore of the same name: a conflict (R1).
    ForeignJobInTheWay,
    /// Being deleted: what it made goes, Background propagation, only our finalizer (R4).
    Deleted,
    /// A new restore: our finalizer first, beside the others.
    New,
    /// A spec the webhook would refuse: a condition and a Warning, no child (R10).
    InvalidSpec,
    /// Paused by Strimzi's annotation: no request at all.
    Paused,
}

impl Scenario {
    /// What the caches hold: daily-backup and, for a deleted restore, its Job, the Job of
    /// an earlier restore of the same name, a user's Job that copied our labels, and its
    /// report PVC.
    fn cached(self) -> Cached {
        match self {
            Scenario::Deleted => {
                let mut users = child("Job", "orders-by-hand", "KafkaRestore", "uid-r");
                users["metadata"]
                    .as_object_mut()
                    .unwrap()
                    .remove("ownerReferences");
                let jobs = [
                    child("Job", "restore-orders-restore-1", "KafkaRestore", "uid-r"),
                    child("Job", "restore-orders-restore-9", "KafkaRestore", "uid-old"),
                    users,
                ];
                let pvc = child(
                    "PersistentVolumeClaim",
                    "restore-orders-report-x7k2p",
                    "KafkaRestore",
                    "uid-r",
                );
                cached(
                    jobs.into_iter()
                        .map(|j| serde_json::from_value(j).unwrap())
                        .collect(),
                    json!({"items": [pvc]}),
                )
            }
            _ => cached_backup(),
        }
    }

    /// The restore the reconcile starts from, and the script of the mocked API.
    fn input(self) -> (Value, Vec<Expect>) {
        match self {
            Scenario::FirstReconcile => {
                let mut script = first_reconcile_until_job((StatusCode::CREATED, json!({})));
                script.extend(status_event());
                (restore(), script)
            }
            Scenario::AlreadyExists => {
                let mut script = first_reconcile_until_job((
                    StatusCode::CONFLICT,
                    conflict("jobs.batch", "restore-orders-restore-1"),
                ));
                // The Job in the way is read: it was made for this restore (its UID), so it is ours.
                script.push(expect(
                    Method::GET,
                    "/apis/batch/v1/namespaces/kafka/jobs/restore-orders-restore-1",
                    StatusCode::OK,
                    child("Job", "restore-orders-restore-1", "KafkaRestore", "uid-r"),
                ));
                script.extend(status_event());
                (restore(), script)
            }
            Scenario::ForeignJobInTheWay => {
                let mut script = first_reconcile_until_job((
                    StatusCode::CONFLICT,
                    conflict("jobs.batch", "restore-orders-restore-1"),
                ));
                // A completed Job left by an earlier KafkaRestore of the same name.
                let mut earlier = child(
                    "Job",
                    "restore-orders-restore-1",
                    "KafkaRestore",
                    "uid-of-an-earlier-restore",
                );
                earlier["status"] = json!({"conditions": [{"type": "Complete", "status": "True"}]});
                script.push(expect(
                    Method::GET,
                    "/apis/batch/v1/namespaces/kafka/jobs/restore-orders-restore-1",
                    StatusCode::OK,
                    earlier,
                ));
                // The conflict in status; the claim is taken back, since its Job was not made.
                script.extend(status_event_labels());
                (restore(), script)
            }
            Scenario::Deleted => {
                let deleting = deleting_restore();
                // The Jobs and the PVC come from the caches (see `cached`): no LIST. The Job of an
                // earlier restore of the same name stays; the pods go with their Job.
                let mut script = vec![expect(
                    Method::DELETE,
                    "/apis/batch/v1/namespaces/kafka/jobs/restore-orders-restore-1?",
                    StatusCode::OK,
                    json!({}),
                )];
                script.extend(report_pvc_then_finalizer(&deleting));
                (deleting, script)
            }
            Scenario::New => {
                let mut fresh = restore();
                fresh["metadata"]["finalizers"] = json!(["example.com/keep-me"]);
                let script = vec![expect(
                    Method::PATCH,
                    format!("{NS}/kafkarestores/restore-orders?"),
                    StatusCode::OK,
                    fresh.clone(),
                )];
                (fresh, script)
            }
            Scenario::InvalidSpec => {
                let mut invalid = restore();
                invalid["spec"]["backoffLimit"] = json!(-1);
                let script = vec![
                    expect(
                        Method::PATCH,
                        format!(
                            "{NS}/kafkarestores/restore-orders/status?&force=true&fieldManager=kafka-backup-operator"
                        ),
                        StatusCode::OK,
                        invalid.clone(),
                    ),
                    // The same Warning Event a backup with an invalid spec gets.
                    expect(
                        Method::POST,
                        "/apis/events.k8s.io/v1/namespaces/kafka/events?",
                        StatusCode::CREATED,
                        json!({}),
                    ),
                ];
                (invalid, script)
            }
            Scenario::Paused => {
                let mut paused = restore();
                paused["metadata"]["annotations"] =
                    json!({"strimzi.io/pause-reconciliation": "true"});
                (paused, vec![])
            }
        }
    }

    /// What the requests sent must carry, by the order of the script.
    fn verify(self, sent: &[Value]) {
        match self {
            Scenario::FirstReconcile => {
                // The claim: the labels naming the Job and the PVC, on condition of the
                // version the plan was made from.
                let claim = &sent[0]["metadata"];
                assert_eq!(claim["resourceVersion"], "1", "{claim}");
                assert_eq!(
                    claim["labels"]["kafkabackup.com/restore-job-name"],
                    "restore-orders-restore-1"
                );
                assert!(
                    claim.get("finalizers").is_none(),
                    "the label patch never touches finalizers"
                );

                let pvc = &sent[1];
                let pvc_name = pvc["metadata"]["name"].as_str().unwrap();
                assert!(
                    pvc_name.starts_with("restore-orders-report-")
                        && pvc_name.len() == "restore-orders-report-".len() + 5,
                    "{pvc_name}"
                );
                assert_eq!(pvc["metadata"]["ownerReferences"][0]["uid"], "uid-r");
                assert_eq!(claim["labels"]["kafkabackup.com/report-pvc-name"], pvc_name);

                let job = &sent[2];
                assert_eq!(job["metadata"]["name"], "restore-orders-restore-1");
                assert_eq!(job["spec"]["backoffLimit"], 0);
                assert_eq!(
                    job["metadata"]["labels"]["kafkabackup.com/restore"],
                    "restore-orders"
                );
                // The worker's configuration travels in the Job's pod, no ConfigMap.
                let config = job["spec"]["template"]["metadata"]["annotations"]
                    ["kafkabackup.com/worker-config"]
                    .as_str()
                    .unwrap();
                assert!(config.contains("backupId: daily-backup"), "{config}");

                let status = &sent[3]["status"];
                assert_eq!(status["restore"]["jobName"], "restore-orders-restore-1");
                assert_eq!(status["restore"]["attempt"], 1);
                assert_eq!(status["conditions"][0]["reason"], "RestoreRunning");
                assert_eq!(sent[4]["reason"], "RestoreRunning");
            }
            Scenario::AlreadyExists => {
                // Exactly one create was sent, and the status records that Job.
                assert_eq!(
                    sent[4]["status"]["restore"]["jobName"],
                    "restore-orders-restore-1"
                );
            }
            Scenario::ForeignJobInTheWay => {
                let conditions = &sent[4]["status"]["conditions"];
                assert_eq!(conditions[0]["type"], "Ready");
                assert_eq!(conditions[0]["reason"], "NameConflict");
                assert_eq!(conditions[1]["type"], "RestoreComplete");
                assert_eq!(conditions[1]["status"], "False", "never completion");
                assert!(
                    conditions[0]["message"]
                        .as_str()
                        .unwrap()
                        .contains("uid-of-an-earlier-restore")
                );
                assert_eq!(sent[5]["type"], "Warning");
                assert_eq!(sent[5]["reason"], "NameConflict");
                // The labels the restore had before the claim: none of ours, and no
                // precondition (this write must not fail on the claim's own version).
                assert_eq!(sent[6]["metadata"]["labels"], json!({}));
                assert!(sent[6]["metadata"].get("resourceVersion").is_none());
            }
            Scenario::Deleted => {
                for delete in [0, 1] {
                    assert_eq!(
                        sent[delete]["propagationPolicy"], "Background",
                        "{}",
                        sent[delete]
                    );
                }
                // The finalizer patch tests that ours is where it was and removes only it.
                assert_eq!(
                    sent[2],
                    json!([
                        {"op": "test", "path": "/metadata/finalizers/1", "value": "kafkabackup.com/cleanup"},
                        {"op": "remove", "path": "/metadata/finalizers/1"}
                    ])
                );
            }
            Scenario::New => {
                assert_eq!(
                    sent[0],
                    json!([
                        {"op": "test", "path": "/metadata/finalizers", "value": ["example.com/keep-me"]},
                        {"op": "add", "path": "/metadata/finalizers/-", "value": "kafkabackup.com/cleanup"}
                    ])
                );
            }
            Scenario::InvalidSpec => {
                let ready = &sent[0]["status"]["conditions"][0];
                assert_eq!(ready["reason"], "InvalidSpec");
                assert!(
                    ready["message"]
                        .as_str()
                        .unwrap()
                        .contains("spec.backoffLimit")
                );
                assert_eq!(
                    (&sent[1]["type"], &sent[1]["reason"]),
                    (&json!("Warning"), &json!("InvalidSpec"))
                );
            }
            Scenario::Paused => {}
        }
    }
}

/// Caches holding daily-backup, and the Jobs and PVCs given.
fn cached(jobs: Vec<Job>, pvcs: Value) -> Cached {
    Cached {
        jobs,
        pvcs: serde_json::from_value(pvcs["items"].clone()).unwrap(),
        backups: vec![serde_json::from_value(backup()).unwrap()],
        ..Default::default()
    }
}

fn cached_backup() -> Cached {
    cached(vec![], list("PersistentVolumeClaimList"))
}

/// Runs one reconcile of the scenario, with caches holding only daily-backup, and checks what was sent.
async fn run(scenario: Scenario) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let (restore, script) = scenario.input();
    let server = tokio::spawn(serve(handle, script));
    let restore: KafkaRestore = serde_json::from_value(restore).unwrap();
    reconcile_restore(Arc::new(restore), context(client, scenario.cached()))
        .await
        .unwrap_or_else(|e| panic!("{scenario:?}: {e}"));
    let sent = server.await.unwrap();
    scenario.verify(&sent);
}

#[tokio::test]
async fn r1_first_reconcile_creates_one_job_with_the_deterministic_name() {
    run(Scenario::FirstReconcile).await;
}

#[tokio::test]
async fn r1_already_exists_is_adopted_not_duplicated() {
    run(Scenario::AlreadyExists).await;
}

#[tokio::test]
async fn r1_a_job_of_another_owner_in_the_way_is_a_conflict_never_adopted() {
    run(Scenario::ForeignJobInTheWay).await;
}

#[tokio::test]
async fn r4_delete_removes_what_it_made_with_background_propagation_and_only_our_finalizer() {
    run(Scenario::Deleted).await;
}

#[tokio::test]
async fn r4_a_new_restore_gets_the_finalizer_first() {
    run(Scenario::New).await;
}

#[tokio::test]
async fn r10_an_invalid_spec_gets_a_condition_not_a_job() {
    run(Scenario::InvalidSpec).await;
}

#[tokio::test]
async fn paused_restore_is_left_alone() {
    run(Scenario::Paused).await;
}

fn running_job() -> Job {
    serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "restore-orders-restore-1", "namespace": "kafka",
                     "labels": {"kafkabackup.com/restore": "restore-orders", "kafkabackup.com/attempt": "1"},
                     "ownerReferences": owner("KafkaRestore", "uid-r")},
        "spec": {"template": {"spec": {"containers": []}}},
        "status": {"startTime": "2026-01-01T00:00:00Z", "active": 1}
    }))
    .unwrap()
}

fn pvc_list() -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaimList", "metadata": {}, "items": [
        {"metadata": {"name": "restore-orders-report-x7k2p", "namespace": "kafka",
                      "ownerReferences": owner("KafkaRestore", "uid-r")}}
    ]})
}

#[tokio::test]
async fn r3_steady_state_issues_no_request() {
    // First pass: the running Job is in the cache; labels and status are written.
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let server = tokio::spawn(serve(handle, status_event_labels()));
    let restore: KafkaRestore = serde_json::from_value(restore()).unwrap();
    reconcile_restore(
        Arc::new(restore.clone()),
        context(client, cached(vec![running_job()], pvc_list())),
    )
    .await
    .unwrap();
    let sent = server.await.unwrap();

    // Second pass with what was written: everything read comes from the caches, so a
    // settled restore costs the API server nothing, neither a write nor a LIST or GET.
    let mut settled = restore.clone();
    let labels = sent[2]["metadata"]["labels"].clone();
    settled.metadata.labels = Some(serde_json::from_value(labels).unwrap());
    settled.status = Some(serde_json::from_value(sent[0]["status"].clone()).unwrap());
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let server = tokio::spawn(serve(handle, vec![]));
    reconcile_restore(
        Arc::new(settled),
        context(client, cached(vec![running_job()], pvc_list())),
    )
    .await
    .unwrap();
    server.await.unwrap();
}

/// daily-backup with our finalizer, and `status` as given.
fn backup_in_progress(status: Value) -> Value {
    let mut backup = backup();
    backup["metadata"]["finalizers"] = json!(["kafkabackup.com/cleanup"]);
    backup["metadata"]["generation"] = json!(1);
    backup["metadata"]["resourceVersion"] = json!("1");
    backup["status"] = status;
    backup
}

/// The one-shot Job of daily-backup, finished.
fn finished_backup_job() -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": "daily-backup-backup", "namespace": "kafka", "uid": "uid-job",
                        "labels": {"kafkabackup.com/backup": "daily-backup",
                                   "app.kubernetes.io/managed-by": "kafka-backup-operator"},
                        "ownerReferences": [{"apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaBackup",
                                             "name": "daily-backup", "uid": "uid-b", "controller": true}]},
           "status": {"startTime": "2026-01-01T02:00:00Z", "completionTime": "2026-01-01T02:05:00Z",
                      "conditions": [{"type": "Complete", "status": "True"}]}})
}

/// The Job's pod, terminated with the worker's summary as its termination message.
fn backup_pod_with_summary() -> Value {
    let summary = r#"{"outcome":"Succeeded","records":52000,"bytes":53248000,"topics":4,"backupId":"daily-backup"}"#;
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "daily-backup-backup-x7k2p", "namespace": "kafka",
                        "labels": {"job-name": "daily-backup-backup"}},
           "status": {"phase": "Succeeded", "containerStatuses": [{
               "name": "worker", "image": "kafka-backup-operator:test", "imageID": "", "ready": false,
               "restartCount": 0,
               "state": {"terminated": {"exitCode": 0, "reason": "Completed", "message": summary}}}]}})
}

const BACKUP_SELECTOR: &str = "labelSelector=kafkabackup.com%2Fbackup%3Ddaily-backup";

/// The reads of a backup reconcile up to the Jobs, and the Jobs it finds.
fn backup_reads(jobs: Vec<Value>) -> Vec<Expect> {
    vec![
        expect(
            Method::GET,
            "/apis/batch/v1/namespaces/kafka/cronjobs/daily-backup-backup",
            StatusCode::NOT_FOUND,
            not_found(),
        ),
        expect(
            Method::GET,
            format!("/apis/batch/v1/namespaces/kafka/jobs?&{BACKUP_SELECTOR}"),
            StatusCode::OK,
            items("JobList", jobs),
        ),
    ]
}

#[tokio::test]
async fn r3_a_finished_backup_runs_figures_are_read_once_into_status() {
    // First pass: the finished run is new, so its pod's termination message is read.
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let mut script = backup_reads(vec![finished_backup_job()]);
    script.extend([
        expect(
            Method::GET,
            "/api/v1/namespaces/kafka/pods?&labelSelector=job-name%3Ddaily-backup-backup",
            StatusCode::OK,
            items("PodList", vec![backup_pod_with_summary()]),
        ),
        expect(
            Method::GET,
            "/api/v1/namespaces/kafka/configmaps/daily-backup-backup-config",
            StatusCode::NOT_FOUND,
            not_found(),
        ),
        expect(
            Method::PATCH,
            "/api/v1/namespaces/kafka/configmaps/daily-backup-backup-config?&force=true&fieldManager=kafka-backup-operator",
            StatusCode::OK,
            json!({}),
        ),
        expect(
            Method::PATCH,
            format!("{NS}/kafkabackups/daily-backup/status?&force=true&fieldManager=kafka-backup-operator"),
            StatusCode::OK,
            backup(),
        ),
        expect(
            Method::POST,
            "/apis/events.k8s.io/v1/namespaces/kafka/events?",
            StatusCode::CREATED,
            json!({}),
        ),
    ]);
    let server = tokio::spawn(serve(handle, script));
    let backup: KafkaBackup = serde_json::from_value(backup_in_progress(json!({}))).unwrap();
    let mut registry = prometheus_client::registry::Registry::default();
    reconcile_backup(
        Arc::new(backup),
        context_counting(client, Cached::default(), &mut registry),
    )
    .await
    .unwrap();
    let sent = server.await.unwrap();
    // Every write is counted, by verb and kind; reads are not.
    let mut metrics = String::new();
    prometheus_client::encoding::text::encode(&mut metrics, &registry).unwrap();
    let mut writes: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("controller_api_writes_total{"))
        .collect();
    writes.sort();
    assert_eq!(
        writes,
        [
            r#"controller_api_writes_total{verb="apply status of",kind="KafkaBackup"} 1"#,
            r#"controller_api_writes_total{verb="apply",kind="ConfigMap"} 1"#,
        ],
        "{metrics}"
    );
    let config_map = sent[4].clone();
    let status = sent[5]["status"].clone();
    let last = &status["lastBackup"];
    assert_eq!(last["jobName"], "daily-backup-backup");
    assert_eq!(last["outcome"], "Succeeded");
    assert_eq!(
        (&last["records"], &last["bytes"], &last["topics"]),
        (&json!(52000), &json!(53_248_000), &json!(4))
    );
    assert_eq!(last["backupId"], "daily-backup");
    assert_eq!(last["completionTime"], "2026-01-01T02:05:00Z");
    assert_eq!(status["backupHistory"], json!([last.clone()]));
    assert_eq!(sent[6]["reason"], "BackupCompleted");
    assert!(
        sent[6]["note"]
            .as_str()
            .is_some_and(|n| n.contains("52000 records")),
        "{}",
        sent[6]
    );

    // Second pass with what was written: the run is recorded, its pods are not read
    // again, and no status is written. The ConfigMap is applied again, unchanged (a
    // no-op for the API server; a hand edit would be put back).
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let mut script = backup_reads(vec![finished_backup_job()]);
    script.extend([
        expect(
            Method::GET,
            "/api/v1/namespaces/kafka/configmaps/daily-backup-backup-config",
            StatusCode::OK,
            config_map.clone(),
        ),
        expect(
            Method::PATCH,
            "/api/v1/namespaces/kafka/configmaps/daily-backup-backup-config?&force=true&fieldManager=kafka-backup-operator",
            StatusCode::OK,
            config_map.clone(),
        ),
    ]);
    let server = tokio::spawn(serve(handle, script));
    let settled: KafkaBackup = serde_json::from_value(backup_in_progress(status)).unwrap();
    reconcile_backup(Arc::new(settled), context(client, Cached::default()))
        .await
        .unwrap();
    let sent = server.await.unwrap();
    assert_eq!(sent[3], config_map, "the same ConfigMap");
}

#[tokio::test]
async fn r4_a_second_cleanup_pass_after_the_restore_is_gone_is_not_an_error() {
    // The cache still holds the deleting restore after the first pass removed our
    // finalizer: the second pass finds nothing left and the object gone.
    let mut deleting = restore();
    deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    let script = vec![expect(
        Method::PATCH,
        format!("{NS}/kafkarestores/restore-orders?"),
        StatusCode::NOT_FOUND,
        not_found(),
    )];
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let server = tokio::spawn(serve(handle, script));
    let restore: KafkaRestore = serde_json::from_value(deleting).unwrap();
    reconcile_restore(Arc::new(restore), context(client, cached_backup()))
        .await
        .expect("the restore is gone: nothing to retry");
    server.await.unwrap();
}

/// Caches holding daily-backup and the namespace `kafka`, being deleted.
fn namespace_being_deleted() -> Cached {
    let mut cached = cached_backup();
    cached.namespaces = vec![
        serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "kafka", "deletionTimestamp": "2026-01-01T00:00:00Z"}
        }))
        .unwrap(),
    ];
    cached
}

/// The cached report PVCs of the restore: an old one being deleted already, and
/// `restore-orders-report-x7k2p`, marked deleted too if `deleting`.
fn report_pvcs(deleting: bool) -> Vec<k8s_openapi::api::core::v1::PersistentVolumeClaim> {
    let mut going = child(
        "PersistentVolumeClaim",
        "restore-orders-report-old",
        "KafkaRestore",
        "uid-r",
    );
    going["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    let mut current = child(
        "PersistentVolumeClaim",
        "restore-orders-report-x7k2p",
        "KafkaRestore",
        "uid-r",
    );
    if deleting {
        current["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:01Z");
    }
    [current, going]
        .into_iter()
        .map(|pvc| serde_json::from_value(pvc).unwrap())
        .collect()
}

#[tokio::test]
async fn in_a_namespace_being_deleted_a_restore_not_yet_deleted_loses_its_report_pvc_and_our_finalizer_at_once()
 {
    // The namespace is marked, its restores not yet: the report PVC is deleted now, so
    // the pvc-protection controller starts on it at the start of the deletion, and our
    // finalizer is removed (only ours), so the restore goes as soon as the namespace
    // controller deletes it. What the cache shows done already costs no request, and so
    // does the version read again before the cache shows our write.
    let with_ours = deleting_restore()["metadata"]["finalizers"].clone();
    for (pvc_deleting, finalizers, requests) in [
        (false, with_ours.clone(), 2),
        (true, with_ours, 1),
        (true, json!(["example.com/keep-me"]), 0),
    ] {
        let mut live = restore();
        live["metadata"]["finalizers"] = finalizers;
        let script = report_pvc_then_finalizer(&live)
            .into_iter()
            .skip(2 - requests)
            .collect();
        let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, "default");
        let server = tokio::spawn(serve(handle, script));
        let mut cached = namespace_being_deleted();
        cached.pvcs = report_pvcs(pvc_deleting);
        let restore: Arc<KafkaRestore> = Arc::new(serde_json::from_value(live).unwrap());
        let ctx = context(client, cached);
        reconcile_restore(restore.clone(), ctx.clone())
            .await
            .expect("PVC deleted, finalizer removed");
        // The same version again (the cache behind our write): no request.
        reconcile_restore(restore, ctx.clone())
            .await
            .expect("nothing to do");
        drop(ctx);
        let sent = server.await.unwrap();
        assert_eq!(sent.len(), requests, "{sent:?}");
        if requests == 2 {
            assert_eq!(sent[0]["propagationPolicy"], "Background", "{}", sent[0]);
        }
        if requests > 0 {
            // A JSON patch that tests our finalizer is where it was read, and takes out
            // only that one.
            let ops = sent[requests - 1].as_array().expect("a JSON patch");
            assert_eq!(
                ops,
                &vec![
                    json!({"op": "test", "path": "/metadata/finalizers/1", "value": "kafkabackup.com/cleanup"}),
                    json!({"op": "remove", "path": "/metadata/finalizers/1"}),
                ]
            );
        }
    }
}

#[tokio::test]
async fn r4_in_a_namespace_being_deleted_cleanup_is_the_report_pvc_then_our_finalizer() {
    // The namespace controller deletes the Jobs and ConfigMaps in one call each: deleting
    // them too would double the load of a namespace deletion. The report PVC is deleted
    // first, so the cluster's pvc-protection controller can start on it before the
    // namespace controller reaches PVCs; one the caches show being deleted already (by
    // the garbage collector, say) costs no request.
    let deleting = deleting_restore();
    let script = report_pvc_then_finalizer(&deleting);
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let server = tokio::spawn(serve(handle, script));
    let mut cached = namespace_being_deleted();
    cached.jobs = vec![
        serde_json::from_value(child(
            "Job",
            "restore-orders-restore-1",
            "KafkaRestore",
            "uid-r",
        ))
        .unwrap(),
    ];
    cached.pvcs = report_pvcs(false);
    let restore: KafkaRestore = serde_json::from_value(deleting).unwrap();
    reconcile_restore(Arc::new(restore), context(client, cached))
        .await
        .expect("cleanup");
    let sent = server.await.unwrap();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0]["propagationPolicy"], "Background", "{}", sent[0]);
    // A JSON patch that takes out our finalizer only.
    let ops = sent[1].as_array().expect("a JSON patch");
    assert!(
        ops.iter()
            .any(|op| op["op"] == "remove" && op["path"] == "/metadata/finalizers/1"),
        "{ops:?}"
    );
}

#[tokio::test]
async fn nothing_is_made_in_a_namespace_being_deleted() {
    // Its Jobs deleted by the namespace controller before the restore itself: not a
    // request to resume, and no request at all.
    // (Our finalizer is removed there too: see the test above.)
    for finalizers in [json!(["example.com/keep-me"]), json!([])] {
        let mut live = restore();
        live["metadata"]["finalizers"] = finalizers;
        let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, "default");
        let server = tokio::spawn(serve(handle, vec![]));
        let restore: KafkaRestore = serde_json::from_value(live).unwrap();
        reconcile_restore(
            Arc::new(restore),
            context(client, namespace_being_deleted()),
        )
        .await
        .expect("nothing to do");
        assert!(server.await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn r3_a_reconcile_before_the_cache_shows_the_operators_own_write_makes_no_request() {
    // The Job just made triggers a reconcile while the cache still holds the restore as
    // it was before the claim and the status write: writing them again would double the
    // writes of every new restore. The event of those writes reconciles it next.
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    // The claim answers version 2, the status write version 3.
    let mut script = first_reconcile_until_job((StatusCode::CREATED, json!({})));
    let mut status_written = status_event();
    status_written[0].body["metadata"]["resourceVersion"] = json!("3");
    script.extend(status_written);
    let server = tokio::spawn(serve(handle, script));
    let ctx = context(client, cached_backup());
    let restore: Arc<KafkaRestore> = Arc::new(serde_json::from_value(restore()).unwrap());
    reconcile_restore(restore.clone(), ctx.clone())
        .await
        .expect("first reconcile");
    reconcile_restore(restore.clone(), ctx.clone())
        .await
        .expect("the same version again");
    // The version the claim made, before the status write: behind too.
    let mut between = (*restore).clone();
    between.metadata.resource_version = Some("2".into());
    reconcile_restore(Arc::new(between), ctx.clone())
        .await
        .expect("the version between the two writes");
    drop(ctx);
    assert_eq!(
        server.await.unwrap().len(),
        5,
        "no request after the first pass"
    );
}

#[tokio::test]
async fn r1_a_claim_that_meets_a_newer_restore_makes_nothing() {
    // The cache is behind (another replica, or a user's change): the claim's
    // precondition fails, no PVC and no Job are made, and the restore is planned again
    // soon from the version the watch brings.
    let conflict = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
        "message": "Operation cannot be fulfilled on kafkarestores.kafkabackup.com \"restore-orders\": the object has been modified"});
    let script = vec![expect(
        Method::PATCH,
        RESTORE,
        StatusCode::CONFLICT,
        conflict,
    )];
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let server = tokio::spawn(serve(handle, script));
    let restore: KafkaRestore = serde_json::from_value(restore()).unwrap();
    let action = reconcile_restore(Arc::new(restore), context(client, cached_backup()))
        .await
        .expect("a stale cache is not a failure");
    assert_eq!(
        action,
        kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(1))
    );
    let sent = server.await.unwrap();
    assert_eq!(sent[0]["metadata"]["resourceVersion"], "1");
}

/// The report PVC the restores of the live-read tests keep (the one `pvc_list` caches).
const REPORT_PVC: &str = "restore-orders-report-x7k2p";

/// `restore()` with labels that claim Job 1 and name the report PVC.
fn claimed_job_1() -> Value {
    let mut claimed = restore();
    claimed["metadata"]["labels"] = json!({"kafkabackup.com/restore-job-name": "restore-orders-restore-1",
                                           "kafkabackup.com/report-pvc-name": REPORT_PVC});
    claimed
}

/// A reconcile that confirms a new Job live: the restore (answered with `live`), its Jobs
/// 1 and 2 by name (neither there), its report PVC and its pods; then the claim, the Job
/// (the report PVC is kept), status and Event.
fn live_reads_then_claim(live: Value) -> Vec<Expect> {
    let mut script = vec![
        expect(
            Method::GET,
            format!("{NS}/kafkarestores/restore-orders"),
            StatusCode::OK,
            live,
        ),
        expect(
            Method::GET,
            "/apis/batch/v1/namespaces/kafka/jobs/restore-orders-restore-1",
            StatusCode::NOT_FOUND,
            not_found(),
        ),
        expect(
            Method::GET,
            "/apis/batch/v1/namespaces/kafka/jobs/restore-orders-restore-2",
            StatusCode::NOT_FOUND,
            not_found(),
        ),
        expect(
            Method::GET,
            format!("/api/v1/namespaces/kafka/persistentvolumeclaims/{REPORT_PVC}"),
            StatusCode::OK,
            child("PersistentVolumeClaim", REPORT_PVC, "KafkaRestore", "uid-r"),
        ),
        expect(
            Method::GET,
            format!("/api/v1/namespaces/kafka/pods?&{MANAGED}"),
            StatusCode::OK,
            list("PodList"),
        ),
        expect(Method::PATCH, RESTORE, StatusCode::OK, restore_at("8")),
        expect(
            Method::POST,
            "/apis/batch/v1/namespaces/kafka/jobs?&fieldManager=kafka-backup-operator",
            StatusCode::CREATED,
            json!({}),
        ),
    ];
    script.extend(status_event());
    script
}

/// One reconcile of `restore` against `script`, with its report PVC cached and no Job;
/// what it sent.
async fn reconcile_with_report(restore: Value, script: Vec<Expect>) -> Vec<Value> {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let server = tokio::spawn(serve(handle, script));
    let restore: KafkaRestore = serde_json::from_value(restore).unwrap();
    reconcile_restore(
        Arc::new(restore),
        context(client, cached(vec![], pvc_list())),
    )
    .await
    .expect("reconcile");
    server.await.unwrap()
}

#[tokio::test]
async fn r1_r5_a_later_attempt_is_confirmed_live_before_it_is_claimed() {
    // Attempt 1's Job was deleted before completion: the user's request to resume. A
    // second attempt is confirmed by live reads of the restore, of its Jobs by name and
    // of its pods, and then claimed on condition of the version read live.
    let mut started = claimed_job_1();
    started["status"] = json!({"observedGeneration": 1, "restore": {
        "attempt": 1, "jobName": "restore-orders-restore-1", "reportPvc": REPORT_PVC,
        "startTime": "2026-01-01T00:00:00Z"}});
    let mut live = started.clone();
    live["metadata"]["resourceVersion"] = json!("7");
    let sent = reconcile_with_report(started, live_reads_then_claim(live)).await;
    let claim = &sent[5]["metadata"];
    assert_eq!(claim["resourceVersion"], "7", "the version read live");
    assert_eq!(
        claim["labels"]["kafkabackup.com/restore-job-name"],
        "restore-orders-restore-2"
    );
    assert_eq!(
        claim["labels"]["kafkabackup.com/report-pvc-name"],
        REPORT_PVC
    );
    assert_eq!(sent[6]["metadata"]["name"], "restore-orders-restore-2");
    assert_eq!(sent[7]["status"]["restore"]["attempt"], 2);
}

#[tokio::test]
async fn r1_a_claim_without_a_recorded_attempt_is_confirmed_live() {
    // The operator claimed Job 1 and stopped before it recorded anything in status (the
    // Job may exist, or have been deleted since): the claim alone sends the reconcile the
    // live way, and the Job of the claim is made again under the same name, never a
    // second one.
    let claimed = claimed_job_1();
    let sent = reconcile_with_report(claimed.clone(), live_reads_then_claim(claimed)).await;
    assert_eq!(sent[6]["metadata"]["name"], "restore-orders-restore-1");
    assert_eq!(sent[7]["status"]["restore"]["attempt"], 1);
}

/// `n` restores created at `created` that no reconcile has written to yet.
fn untouched_restores(n: usize, created: &str) -> Vec<KafkaRestore> {
    (0..n)
        .map(|i| {
            let mut restore = restore();
            restore["metadata"]["name"] = json!(format!("restore-{i}"));
            restore["metadata"]["uid"] = json!(format!("uid-{i}"));
            restore["metadata"]["creationTimestamp"] = json!(created);
            serde_json::from_value(restore).unwrap()
        })
        .collect()
}

/// `time` as the API writes a creationTimestamp (whole seconds).
fn api_time(time: jiff::Timestamp) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The restore, created now, and when.
fn restore_created_now() -> (String, Value) {
    let created = api_time(jiff::Timestamp::now());
    let mut new = restore();
    new["metadata"]["creationTimestamp"] = json!(created);
    (created, new)
}

#[tokio::test(start_paused = true)]
async fn while_restores_arrive_in_bulk_a_new_ones_job_waits_its_turn() {
    let (created, mut new) = restore_created_now();
    // Nine restores created in the last 3 s, more than the 8 reconciles that run at
    // once: at 120 requests a second, a Job (3 requests) every 0.1 s.
    let mut script = Vec::new();
    for _ in 0..3 {
        script.extend(first_reconcile_until_job((StatusCode::CREATED, json!({}))));
    }
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let server = tokio::spawn(serve(handle, script));
    let mut cached = cached_backup();
    cached.restores = untouched_restores(9, &created);
    let ctx = context_within(
        client,
        cached,
        &mut Default::default(),
        kafka_backup_operator::controller::Limits {
            concurrency: 8,
            requests_per_second: 120,
        },
    );
    let start = tokio::time::Instant::now();
    let mut turns = Vec::new();
    for version in ["10", "20", "30"] {
        // A version the operator's writes did not pass through, so each is reconciled.
        new["metadata"]["resourceVersion"] = json!(version);
        reconcile_restore(
            Arc::new(serde_json::from_value(new.clone()).unwrap()),
            ctx.clone(),
        )
        .await
        .expect("claim, PVC, Job");
        turns.push(start.elapsed());
    }
    assert_eq!(
        turns,
        [0, 100, 200].map(std::time::Duration::from_millis),
        "one Job every 0.1 s while the restores arrive"
    );
    drop(ctx);
    assert_eq!(server.await.unwrap().len(), 9);
}

#[tokio::test]
async fn in_a_burst_of_new_restores_their_jobs_come_first_and_a_first_status_waits() {
    let (created, new) = restore_created_now();
    // Nine restores no reconcile has written to: more than the 8 reconciles that run at
    // once. The new one is claimed and gets its PVC and Job; its status waits.
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let server = tokio::spawn(serve(
        handle,
        first_reconcile_until_job((StatusCode::CREATED, json!({}))),
    ));
    let mut cached = cached_backup();
    cached.restores = untouched_restores(9, &created);
    let ctx = context(client, cached);
    let action = reconcile_restore(
        Arc::new(serde_json::from_value(new.clone()).unwrap()),
        ctx.clone(),
    )
    .await
    .expect("claim, PVC, Job");
    // Reconciled again at the end of the burst, or 2 minutes after its creation.
    assert_ne!(action, kube::runtime::controller::Action::await_change());
    drop(ctx);
    assert_eq!(server.await.unwrap().len(), 3);

    // Claimed: no request while the others wait for their Jobs, whether its Job is in
    // the cache yet or not (no live read either); once they are claimed (or once it is
    // 2 minutes old), its status and Event.
    let mut claimed = new.clone();
    claimed["metadata"]["resourceVersion"] = json!("2");
    claimed["metadata"]["labels"] = json!({
        "kafkabackup.com/restore-job-name": "restore-orders-restore-1",
        "kafkabackup.com/report-pvc-name": REPORT_PVC,
    });
    let mut job = child("Job", "restore-orders-restore-1", "KafkaRestore", "uid-r");
    job["metadata"]["labels"]["kafkabackup.com/attempt"] = json!("1");
    let old = api_time(jiff::Timestamp::now() - jiff::SignedDuration::from_secs(121));
    for (job_cached, others_claimed, age, script) in [
        (true, false, &created, vec![]),
        (false, false, &created, vec![]),
        (true, true, &created, status_event()),
        (true, false, &old, status_event()),
    ] {
        let mut cached = cached_backup();
        if job_cached {
            cached.jobs = vec![serde_json::from_value(job.clone()).unwrap()];
        }
        cached.restores = untouched_restores(9, &created);
        if others_claimed {
            for restore in &mut cached.restores {
                restore.metadata.labels = Some(
                    [(
                        "kafkabackup.com/restore-job-name".to_string(),
                        "job".to_string(),
                    )]
                    .into(),
                );
            }
        }
        let mut restore = claimed.clone();
        restore["metadata"]["creationTimestamp"] = json!(age);
        let expected = script.len();
        let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, "default");
        let server = tokio::spawn(serve(handle, script));
        let ctx = context(client, cached);
        reconcile_restore(
            Arc::new(serde_json::from_value(restore).unwrap()),
            ctx.clone(),
        )
        .await
        .expect("status or nothing");
        drop(ctx);
        let sent = server.await.unwrap();
        assert_eq!(
            sent.len(),
            expected,
            "others claimed {others_claimed}, created {age}: {sent:?}"
        );
        if expected > 0 {
            assert_eq!(
                sent[0]["status"]["restore"]["jobName"],
                "restore-orders-restore-1"
            );
        }
    }
}
