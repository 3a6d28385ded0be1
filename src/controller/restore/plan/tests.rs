use k8s_openapi::api::batch::v1::{JobCondition, JobSpec, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::*;
use crate::api::backup::{S3Storage, StorageType};
use crate::controller::names::LABEL_ATTEMPT;

fn at(seconds: i64) -> Time {
    Time(jiff::Timestamp::from_second(seconds).unwrap())
}

fn storage() -> BackupStorage {
    BackupStorage {
        kind: StorageType::S3,
        s3: Some(S3Storage {
            bucket: "my-kafka-backups".into(),
            ..Default::default()
        }),
        azure: None,
        gcs: None,
        filesystem: None,
    }
}

fn connection() -> Connection {
    Connection {
        bootstrap_servers: "my-cluster-kafka-bootstrap:9092".into(),
        tls: false,
        ca_secret: None,
        authentication: None,
    }
}

fn defaults() -> JobDefaults {
    JobDefaults {
        image: "kafka-backup-operator:test".into(),
    }
}

/// The UID of `KafkaRestore::test()`.
fn uid() -> String {
    KafkaRestore::test().metadata.uid.unwrap()
}

/// A controller owner reference to the restore-orders with `uid`.
fn owned_by(uid: &str) -> Option<Vec<OwnerReference>> {
    Some(vec![OwnerReference {
        api_version: "kafkabackup.com/v1alpha1".into(),
        kind: "KafkaRestore".into(),
        name: "restore-orders".into(),
        uid: uid.into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }])
}

/// The report PVC the planner names for `attempt` of `KafkaRestore::test()`.
fn fresh_pvc(attempt: i32) -> String {
    names::report_pvc_name("restore-orders", &names::report_pvc_suffix(&uid(), attempt))
}

/// A Job of attempt `attempt` of restore-orders, in the given state.
fn job(attempt: i32, state: Option<&str>) -> Job {
    Job {
        metadata: ObjectMeta {
            name: Some(names::restore_job_name("restore-orders", attempt)),
            namespace: Some("kafka".into()),
            labels: Some(BTreeMap::from([(
                LABEL_ATTEMPT.to_string(),
                attempt.to_string(),
            )])),
            owner_references: owned_by(&uid()),
            ..Default::default()
        },
        spec: Some(JobSpec::default()),
        status: Some(JobStatus {
            start_time: Some(at(100)),
            completion_time: (state == Some("Complete")).then(|| at(200)),
            conditions: state.map(|s| {
                vec![JobCondition {
                    type_: s.into(),
                    status: "True".into(),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        }),
    }
}

/// The same Job, made for an earlier restore of the same name.
fn earlier_restores(mut job: Job) -> Job {
    job.metadata.owner_references = owned_by("uid-of-an-earlier-restore");
    job
}

fn pvc(name: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.into()),
            owner_references: owned_by(&uid()),
            ..Default::default()
        },
        ..Default::default()
    }
}

struct Case {
    restore: KafkaRestore,
    jobs: Vec<Job>,
    pvcs: Vec<PersistentVolumeClaim>,
    active_pods: usize,
    backup: Result<BackupStorage, Blocker>,
    connection: Result<Connection, Blocker>,
    summary: Option<Summary>,
}

impl Case {
    fn new(restore: KafkaRestore) -> Self {
        Self {
            restore,
            jobs: vec![],
            pvcs: vec![],
            active_pods: 0,
            backup: Ok(storage()),
            connection: Ok(connection()),
            summary: None,
        }
    }

    fn jobs(mut self, jobs: Vec<Job>) -> Self {
        self.jobs = jobs;
        self
    }

    fn pvcs(mut self, pvcs: Vec<PersistentVolumeClaim>) -> Self {
        self.pvcs = pvcs;
        self
    }

    fn plan(&self) -> RestorePlan {
        let defaults = defaults();
        plan_restore(&RestoreObservation {
            restore: &self.restore,
            jobs: self.jobs.clone(),
            pvcs: self.pvcs.clone(),
            active_pods: self.active_pods,
            backup_storage: self.backup.clone(),
            connection: self.connection.clone(),
            defaults: &defaults,
            now: at(1000),
            summary: self.summary.clone(),
        })
        .expect("plan")
    }
}

fn condition<'a>(plan: &'a RestorePlan, type_: &str) -> (&'a str, &'a str) {
    let c = plan
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .expect(type_);
    (c.status.as_str(), c.reason.as_str())
}

/// A restore whose status records attempt 1 and its PVC.
fn started() -> KafkaRestore {
    let mut restore = KafkaRestore::test().started();
    restore.metadata.labels = Some(BTreeMap::from([(
        LABEL_REPORT_PVC_NAME.to_string(),
        "restore-orders-report-x7k2p".to_string(),
    )]));
    restore
}

#[test]
fn r1_r5_no_job_yet_creates_pvc_config_and_the_first_job() {
    let plan = Case::new(KafkaRestore::test()).plan();
    let job = plan.create_job.as_ref().expect("a job");
    assert_eq!(
        job.metadata.name.as_deref(),
        Some("restore-orders-restore-1")
    );
    assert_eq!(
        job.spec.as_ref().unwrap().backoff_limit,
        Some(0),
        "R2 default"
    );
    assert_eq!(
        plan.create_pvc.as_ref().unwrap().metadata.name,
        Some(fresh_pvc(1))
    );
    assert!(build::restore_job_config(plan.create_job.as_ref().unwrap()).is_some());
    assert_eq!(
        plan.labels[LABEL_RESTORE_JOB_NAME],
        "restore-orders-restore-1"
    );
    assert_eq!(plan.labels[LABEL_REPORT_PVC_NAME], fresh_pvc(1));
    let attempt = plan.status.restore.as_ref().unwrap();
    assert_eq!(
        (attempt.attempt, attempt.report_pvc.clone()),
        (1, Some(fresh_pvc(1)))
    );
    assert_eq!(attempt.start_time, Some(at(1000)));
    assert_eq!(condition(&plan, "Ready"), ("False", "RestoreRunning"));
}

#[test]
fn r1_running_job_creates_nothing() {
    let plan = Case::new(started())
        .jobs(vec![job(1, None)])
        .pvcs(vec![pvc("restore-orders-report-x7k2p")])
        .plan();
    assert!(plan.create_job.is_none() && plan.create_pvc.is_none() && plan.suspend_job.is_none());
    assert_eq!(condition(&plan, "Ready"), ("False", "RestoreRunning"));
}

#[test]
fn r3_succeeded_job_completes_the_restore() {
    let plan = Case::new(started())
        .jobs(vec![job(1, Some("Complete"))])
        .plan();
    assert!(plan.create_job.is_none());
    assert_eq!(condition(&plan, "Ready"), ("True", "RestoreCompleted"));
    assert_eq!(
        condition(&plan, "RestoreComplete"),
        ("True", "RestoreCompleted")
    );
    assert_eq!(condition(&plan, "Error"), ("False", "RestoreCompleted"));
    let attempt = plan.status.restore.as_ref().unwrap();
    assert_eq!(attempt.completion_time, Some(at(200)));
}

#[test]
fn r1_r3_failed_job_is_not_retried() {
    let plan = Case::new(started())
        .jobs(vec![job(1, Some("Failed"))])
        .plan();
    assert!(plan.create_job.is_none());
    assert_eq!(condition(&plan, "Ready"), ("False", "RestoreFailed"));
    assert_eq!(condition(&plan, "Error"), ("True", "RestoreFailed"));
}

#[test]
fn r5_job_deleted_before_completion_resumes_with_the_same_pvc() {
    let plan = Case::new(started())
        .pvcs(vec![pvc("restore-orders-report-x7k2p")])
        .plan();
    let job = plan.create_job.as_ref().expect("the next attempt");
    assert_eq!(
        job.metadata.name.as_deref(),
        Some("restore-orders-restore-2")
    );
    assert!(plan.create_pvc.is_none(), "the report PVC is reused");
    let claim = job
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .volumes
        .as_ref()
        .unwrap()
        .iter()
        .find_map(|v| v.persistent_volume_claim.as_ref())
        .unwrap()
        .claim_name
        .clone();
    assert_eq!(claim, "restore-orders-report-x7k2p");
    assert_eq!(plan.status.restore.as_ref().unwrap().attempt, 2);
    assert_eq!(
        plan.status.restore.as_ref().unwrap().start_time,
        Some(at(0)),
        "start of the first attempt is kept"
    );
}

#[test]
fn r5_failed_job_deleted_by_the_user_resumes() {
    let mut failed = started();
    failed.status.as_mut().unwrap().conditions = Case::new(started())
        .jobs(vec![job(1, Some("Failed"))])
        .plan()
        .status
        .conditions;
    let plan = Case::new(failed)
        .pvcs(vec![pvc("restore-orders-report-x7k2p")])
        .plan();
    assert_eq!(
        plan.create_job.as_ref().unwrap().metadata.name.as_deref(),
        Some("restore-orders-restore-2")
    );
    assert_eq!(condition(&plan, "Error"), ("False", "RestoreRunning"));
}

#[test]
fn r1_r5_job_deleted_after_completion_is_never_rerun() {
    let plan = Case::new(KafkaRestore::test().completed()).plan();
    assert!(plan.create_job.is_none() && plan.create_pvc.is_none());
    assert_eq!(
        condition(&plan, "RestoreComplete"),
        ("True", "RestoreCompleted")
    );
}

#[test]
fn r5_deleted_pvc_gets_a_fresh_one_for_the_next_attempt() {
    let mut terminating = pvc("restore-orders-report-x7k2p");
    terminating.metadata.deletion_timestamp = Some(at(900));
    let plan = Case::new(started()).pvcs(vec![terminating]).plan();
    let fresh = plan.create_pvc.as_ref().expect("a fresh PVC");
    assert_eq!(
        fresh.metadata.name,
        Some(fresh_pvc(2)),
        "named after the restore's UID and the attempt it is made for"
    );
    assert_ne!(
        fresh.metadata.name.as_deref(),
        Some("restore-orders-report-x7k2p")
    );
    assert_eq!(
        plan.create_job.as_ref().unwrap().metadata.name.as_deref(),
        Some("restore-orders-restore-2")
    );
}

#[test]
fn r5_a_new_attempt_waits_for_the_old_pods_to_stop() {
    let mut case = Case::new(started()).pvcs(vec![pvc("restore-orders-report-x7k2p")]);
    case.active_pods = 1;
    let plan = case.plan();
    assert!(plan.create_job.is_none());
    assert_eq!(condition(&plan, "Ready"), ("False", "RestoreRunning"));
}

#[test]
fn r9_disabled_restore_creates_no_job_but_its_pvc() {
    let plan = Case::new(KafkaRestore::test().with(|s| s.enabled = Some(false))).plan();
    assert!(plan.create_job.is_none());
    assert!(
        plan.create_pvc.is_some(),
        "the PVC is created with the restore"
    );
    assert_eq!(condition(&plan, "Ready"), ("False", "RestoreDisabled"));
}

#[test]
fn r9_disabled_running_job_is_suspended_and_resumed_when_enabled() {
    let disabled = started().with(|s| s.enabled = Some(false));
    let plan = Case::new(disabled).jobs(vec![job(1, None)]).plan();
    assert_eq!(
        plan.suspend_job,
        Some(("restore-orders-restore-1".into(), true))
    );
    assert_eq!(condition(&plan, "Ready"), ("False", "RestoreDisabled"));

    let mut suspended = job(1, None);
    suspended.spec.as_mut().unwrap().suspend = Some(true);
    let plan = Case::new(started()).jobs(vec![suspended]).plan();
    assert_eq!(
        plan.suspend_job,
        Some(("restore-orders-restore-1".into(), false))
    );
}

#[test]
fn r9_disabled_restore_whose_job_was_deleted_waits() {
    let plan = Case::new(started().with(|s| s.enabled = Some(false)))
        .pvcs(vec![pvc("restore-orders-report-x7k2p")])
        .plan();
    assert!(plan.create_job.is_none());
}

#[test]
fn r1_stale_status_adopts_the_newer_job() {
    // Status says attempt 1 (its Job deleted); attempt 2's Job already exists.
    let plan = Case::new(started()).jobs(vec![job(2, None)]).plan();
    assert!(plan.create_job.is_none());
    assert_eq!(
        plan.status.restore.as_ref().unwrap().job_name,
        "restore-orders-restore-2"
    );
    assert_eq!(
        plan.labels[LABEL_RESTORE_JOB_NAME],
        "restore-orders-restore-2"
    );
}

#[test]
fn r1_lost_status_write_adopts_the_existing_job() {
    let plan = Case::new(KafkaRestore::test())
        .jobs(vec![job(1, None)])
        .plan();
    assert!(plan.create_job.is_none());
    assert_eq!(plan.status.restore.as_ref().unwrap().attempt, 1);
}

#[test]
fn a_first_status_written_after_its_job_keeps_when_the_job_was_made() {
    // In a burst the first status follows the Job, which the job controller may not
    // have started yet: the status says when the Job was made, and its start, when the
    // job controller records it, is no reason to write the status again.
    let mut made = job(1, None);
    made.metadata.creation_timestamp = Some(at(50));
    made.status = Some(Default::default());
    let first = Case::new(KafkaRestore::test())
        .jobs(vec![made.clone()])
        .plan();
    assert_eq!(
        first.status.restore.as_ref().unwrap().start_time,
        Some(at(50))
    );
    let mut written = KafkaRestore::test();
    written.status = Some(first.status.clone());
    let started = Case::new(written).jobs(vec![job(1, None)]).plan();
    assert_eq!(started.status, first.status);
}

#[test]
fn missing_backup_or_cluster_blocks_with_a_reason() {
    let mut case = Case::new(KafkaRestore::test());
    case.backup = Err(Blocker {
        why: Waiting::BackupNotFound,
        message: "spec.backupRef.name: KafkaBackup 'daily-backup' not found in namespace 'kafka'"
            .into(),
    });
    let plan = case.plan();
    assert!(plan.create_job.is_none());
    assert_eq!(condition(&plan, "Ready"), ("False", "BackupNotFound"));
}

#[test]
fn r3_steady_state_plans_the_same_status() {
    let case = Case::new(started())
        .jobs(vec![job(1, None)])
        .pvcs(vec![pvc("restore-orders-report-x7k2p")]);
    let first = case.plan();
    let mut again = case.restore.clone();
    again.status = Some(first.status.clone());
    let second = Case::new(again)
        .jobs(case.jobs.clone())
        .pvcs(case.pvcs.clone())
        .plan();
    assert_eq!(first.status, second.status);
}

#[test]
fn r4_being_deleted_plans_nothing() {
    let mut deleting = started();
    deleting.metadata.deletion_timestamp = Some(at(999));
    let plan = Case::new(deleting.clone()).plan();
    assert_eq!(plan.create_job, None);
    assert_eq!(plan.create_pvc, None);
    assert_eq!(plan.status, deleting.status.unwrap());
}

#[test]
fn paused_restore_plans_nothing_and_keeps_its_status() {
    let mut paused = KafkaRestore::test();
    paused.metadata.annotations = Some(BTreeMap::from([(
        crate::constants::ANNOTATION_PAUSE.to_string(),
        "true".to_string(),
    )]));
    let plan = Case::new(paused).plan();
    assert_eq!(plan, RestorePlan::default());
}

#[test]
fn r3_the_workers_figures_reach_status() {
    let mut case = Case::new(started()).jobs(vec![job(1, Some("Complete"))]);
    assert!(finished_job_without_figures(&case.restore, &case.jobs).is_some());
    case.summary = Some(Summary {
        outcome: crate::api::Outcome::Succeeded,
        records: 1500,
        bytes: 90_000,
        topics: Some(2),
        backup_id: Some("daily-backup".into()),
        attempt: Some(1),
        error: None,
        consumer_groups: None,
        groups_reset: Vec::new(),
        pruned: None,
        prune_held: None,
    });
    let plan = case.plan();
    let attempt = plan.status.restore.as_ref().unwrap();
    assert_eq!((attempt.records, attempt.bytes), (Some(1500), Some(90_000)));
    let mut settled = case.restore.clone();
    settled.status = Some(plan.status.clone());
    assert!(
        finished_job_without_figures(&settled, &case.jobs).is_none(),
        "read once"
    );
}

/// R5: a worker that refuses a resume (or fails otherwise) says why; the restore's
/// condition carries that, from then on, and the next attempt starts without it.
#[test]
fn r5_the_workers_reason_for_a_failed_attempt_reaches_the_condition_once() {
    let mut case = Case::new(started()).jobs(vec![job(1, Some("Failed"))]);
    assert!(finished_job_without_figures(&case.restore, &case.jobs).is_some());
    let why = "the restore settings differ from those attempt 1 made its progress under \
               (restore.produce_batch_size: 1000 -> 500): ...";
    case.summary = Some(Summary {
        outcome: crate::api::Outcome::Failed,
        records: 6409,
        bytes: 400_000,
        topics: Some(1),
        backup_id: Some("daily-backup".into()),
        attempt: Some(1),
        error: Some(why.into()),
        consumer_groups: None,
        groups_reset: Vec::new(),
        pruned: None,
        prune_held: None,
    });
    let plan = case.plan();
    let attempt = plan.status.restore.clone().unwrap();
    assert_eq!(attempt.failure.as_deref(), Some(why));
    assert_eq!(attempt.records, Some(6409));
    let ready = plan
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.reason, "RestoreFailed");
    assert!(ready.message.contains(why), "{}", ready.message);
    assert!(
        ready.message.contains("delete the Job"),
        "{}",
        ready.message
    );

    // Read once: the next reconcile has no summary and keeps the message.
    let mut settled = case.restore.clone();
    settled.status = Some(plan.status.clone());
    assert!(finished_job_without_figures(&settled, &case.jobs).is_none());
    let again = Case::new(settled.clone())
        .jobs(vec![job(1, Some("Failed"))])
        .plan();
    assert_eq!(again.status, plan.status);

    // The user deletes the Job: attempt 2 starts with no failure and no figures yet.
    let next = Case::new(settled)
        .pvcs(vec![pvc("restore-orders-report-x7k2p")])
        .plan();
    let attempt = next.status.restore.unwrap();
    assert_eq!(attempt.attempt, 2);
    assert_eq!((attempt.failure, attempt.records), (None, None));
}

#[test]
fn r1_a_completed_job_of_an_earlier_restore_of_the_same_name_is_never_adopted() {
    let plan = Case::new(KafkaRestore::test())
        .jobs(vec![earlier_restores(job(1, Some("Complete")))])
        .plan();
    assert!(
        plan.create_job.is_none(),
        "the name is taken: nothing is created"
    );
    assert_eq!(condition(&plan, "Ready"), ("False", "NameConflict"));
    assert_eq!(
        condition(&plan, "RestoreComplete"),
        ("False", "NameConflict")
    );
    assert_eq!(condition(&plan, "Error"), ("True", "NameConflict"));
    let message = &plan.status.conditions[0].message;
    assert!(message.contains("uid-of-an-earlier-restore"), "{message}");
    assert!(message.contains("delete it"), "{message}");
}

#[test]
fn r1_another_restores_job_does_not_count_as_an_attempt() {
    // Attempt 3 of an earlier restore of the same name is still there; this restore's
    // first Job is attempt 1, not 4.
    let plan = Case::new(KafkaRestore::test())
        .jobs(vec![earlier_restores(job(3, None))])
        .plan();
    assert_eq!(
        plan.create_job.as_ref().unwrap().metadata.name.as_deref(),
        Some("restore-orders-restore-1")
    );
}

#[test]
fn r5_a_pvc_of_another_restore_is_never_reused() {
    let mut theirs = pvc("restore-orders-report-abcde");
    theirs.metadata.owner_references = owned_by("uid-of-an-earlier-restore");
    let plan = Case::new(KafkaRestore::test()).pvcs(vec![theirs]).plan();
    assert_eq!(
        plan.create_pvc.as_ref().unwrap().metadata.name,
        Some(fresh_pvc(1))
    );
}

#[test]
fn r9_resume_after_a_pause_waits_until_no_pod_of_the_restore_is_left() {
    let mut suspended = job(1, None);
    suspended.spec.as_mut().unwrap().suspend = Some(true);
    let mut case = Case::new(started())
        .jobs(vec![suspended])
        .pvcs(vec![pvc("restore-orders-report-x7k2p")]);
    case.active_pods = 1;
    let waiting = case.plan();
    assert_eq!(waiting.suspend_job, None, "no second writer of the report");
    assert_eq!(waiting.requeue, Requeue::Soon);
    assert!(!waiting.needs_live_confirmation());
    assert!(waiting.status.conditions[0].message.contains("1 pod(s)"));
    case.active_pods = 0;
    let resumed = case.plan();
    assert_eq!(
        resumed.suspend_job,
        Some(("restore-orders-restore-1".into(), false))
    );
    assert!(
        resumed.needs_live_confirmation(),
        "pods are confirmed live first"
    );
}

#[test]
fn r5_waiting_for_old_pods_looks_again_within_seconds() {
    let mut case = Case::new(started()).pvcs(vec![pvc("restore-orders-report-x7k2p")]);
    case.active_pods = 2;
    let plan = case.plan();
    assert!(plan.create_job.is_none());
    assert_eq!(plan.requeue, Requeue::Soon);
    assert!(Requeue::Soon.after() <= std::time::Duration::from_secs(5));
}

#[test]
fn r5_a_ttl_added_to_a_restore_job_is_removed() {
    let mut with_ttl = job(1, Some("Failed"));
    with_ttl.spec.as_mut().unwrap().ttl_seconds_after_finished = Some(100);
    let plan = Case::new(started()).jobs(vec![with_ttl]).plan();
    assert_eq!(plan.clear_ttl, ["restore-orders-restore-1"]);
    let plan = Case::new(started())
        .jobs(vec![job(1, Some("Failed"))])
        .plan();
    assert!(plan.clear_ttl.is_empty());
}

#[test]
fn r1_only_a_new_job_or_a_resumed_one_needs_live_confirmation() {
    let new = Case::new(KafkaRestore::test()).plan();
    assert!(new.needs_live_confirmation());
    let running = Case::new(started()).jobs(vec![job(1, None)]).plan();
    assert!(!running.needs_live_confirmation());
}

#[test]
fn r5_a_pod_being_deleted_may_still_run_whatever_its_phase() {
    let pod = |phase: Option<&str>, deleting: bool| -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "deletionTimestamp": deleting.then_some("2026-01-01T00:00:00Z")},
            "status": {"phase": phase}
        }))
        .unwrap()
    };
    assert!(pod_may_still_run(&pod(Some("Running"), false)));
    assert!(pod_may_still_run(&pod(Some("Pending"), false)));
    assert!(pod_may_still_run(&pod(None, false)));
    // Marked Failed by the pod garbage collector, not yet confirmed gone.
    assert!(pod_may_still_run(&pod(Some("Failed"), true)));
    assert!(pod_may_still_run(&pod(Some("Succeeded"), true)));
    assert!(!pod_may_still_run(&pod(Some("Failed"), false)));
    assert!(!pod_may_still_run(&pod(Some("Succeeded"), false)));
}

/// `restore` with the continue annotation set to `token`.
fn continue_with(mut restore: KafkaRestore, token: &str) -> KafkaRestore {
    restore
        .annotations_mut()
        .insert(ANNOTATION_CONTINUE.to_string(), token.to_string());
    restore
}

/// Seed 003: a new continue token on a completed restore makes exactly one more attempt,
/// on the same report, with the token in the Job and in the worker's configuration.
#[test]
fn a_continue_token_on_a_completed_restore_makes_one_more_attempt() {
    let completed = continue_with(KafkaRestore::test().completed(), "2026-11-23");
    let case = Case::new(completed.clone())
        .jobs(vec![job(1, Some("Complete"))])
        .pvcs(vec![pvc("restore-orders-report-x7k2p")]);
    let plan = case.plan();
    let made = plan.create_job.as_ref().expect("a continuation");
    assert_eq!(
        made.metadata.name.as_deref(),
        Some("restore-orders-restore-2")
    );
    assert_eq!(made.annotations()[ANNOTATION_CONTINUE], "2026-11-23");
    assert!(plan.create_pvc.is_none(), "the completed restore's report");
    let config = build::restore_job_config(made).unwrap();
    assert!(config.contains("continueToken: 2026-11-23"), "{config}");
    assert_eq!(plan.status.continued, ["2026-11-23"]);
    assert_eq!(
        condition(&plan, "RestoreComplete"),
        ("False", "RestoreRunning")
    );
    let ready = plan.status.conditions.iter().find(|c| c.type_ == "Ready");
    assert!(
        ready
            .unwrap()
            .message
            .contains("continuing with token '2026-11-23'")
    );

    // Settled: the continuation runs, then completes; the token is not honoured again.
    let mut running = completed.clone();
    running.status = Some(plan.status.clone());
    let jobs = vec![job(1, Some("Complete")), plan.create_job.clone().unwrap()];
    let plan = Case::new(running.clone())
        .jobs(jobs.clone())
        .pvcs(vec![pvc("restore-orders-report-x7k2p")])
        .plan();
    assert!(plan.create_job.is_none());
    assert_eq!(condition(&plan, "Ready"), ("False", "RestoreRunning"));
    let mut finished = jobs[1].clone();
    finished.status = job(2, Some("Complete")).status;
    let plan = Case::new(running)
        .jobs(vec![jobs[0].clone(), finished])
        .pvcs(vec![pvc("restore-orders-report-x7k2p")])
        .plan();
    assert!(plan.create_job.is_none());
    assert_eq!(
        condition(&plan, "RestoreComplete"),
        ("True", "RestoreCompleted")
    );
    assert_eq!(plan.status.continued, ["2026-11-23"]);
}

/// R1: a status that lags behind the continuation's Job never starts a second one.
#[test]
fn a_continuation_whose_status_was_not_written_is_not_started_twice() {
    let completed = continue_with(KafkaRestore::test().completed(), "t1");
    let first = Case::new(completed.clone())
        .jobs(vec![job(1, Some("Complete"))])
        .plan()
        .create_job
        .unwrap();
    let plan = Case::new(completed)
        .jobs(vec![job(1, Some("Complete")), first])
        .pvcs(vec![pvc("restore-orders-report-x7k2p")])
        .plan();
    assert!(plan.create_job.is_none());
    assert_eq!(plan.status.continued, ["t1"]);
    assert_eq!(plan.status.restore.unwrap().attempt, 2);
}

/// A token on a restore that has not completed waits for it; an empty one is no token.
#[test]
fn a_continue_token_before_completion_or_empty_starts_nothing_extra() {
    let running = continue_with(started(), "early");
    let plan = Case::new(running)
        .jobs(vec![job(1, None)])
        .pvcs(vec![pvc("restore-orders-report-x7k2p")])
        .plan();
    assert!(plan.create_job.is_none());
    assert!(plan.status.continued.is_empty());

    let empty = continue_with(KafkaRestore::test().completed(), "");
    let plan = Case::new(empty).jobs(vec![job(1, Some("Complete"))]).plan();
    assert!(plan.create_job.is_none());
    assert_eq!(
        condition(&plan, "RestoreComplete"),
        ("True", "RestoreCompleted")
    );
}

/// The plan says which Event the new status calls for: one per change of the Ready
/// reason, a Warning for a failure or a wait, none in a steady state.
#[test]
fn r3_the_plan_announces_each_change_of_the_ready_reason_once() {
    let first = Case::new(KafkaRestore::test()).plan();
    let running = first.announce.clone().expect("an Event");
    assert_eq!(
        (running.reason.as_str(), running.warning),
        ("RestoreRunning", false)
    );
    let mut settled = started();
    settled.status.as_mut().unwrap().conditions = first.status.conditions.clone();
    let again = Case::new(settled.clone())
        .jobs(vec![job(1, None)])
        .pvcs(vec![pvc("restore-orders-report-x7k2p")])
        .plan();
    assert_eq!(again.announce, None);
    let failed = Case::new(settled)
        .jobs(vec![job(1, Some("Failed"))])
        .pvcs(vec![pvc("restore-orders-report-x7k2p")])
        .plan();
    let failure = failed.announce.expect("an Event");
    assert_eq!(
        (failure.reason.as_str(), failure.warning),
        ("RestoreFailed", true)
    );
}

/// R10 through the plan: the reason in status, a Warning, no child, and no timer.
#[test]
fn r10_an_invalid_spec_is_a_plan_too() {
    let plan = invalid_spec_plan(&started(), "spec.backoffLimit: -1".into(), at(1000));
    assert!(plan.create_job.is_none() && plan.create_pvc.is_none());
    assert_eq!(condition(&plan, "Ready"), ("False", "InvalidSpec"));
    assert!(plan.announce.unwrap().warning);
    assert_eq!(plan.requeue, Requeue::OnChange);
    assert_eq!(
        plan.labels[LABEL_REPORT_PVC_NAME], "restore-orders-report-x7k2p",
        "the labels it has stay"
    );
}

/// A restore strimzi-backup-operator started (its status, in its own shape, says
/// running or failed, with no attempt of ours) is never run a second time here (R1); one
/// it completed stays completed.
#[test]
fn r1_a_restore_started_by_another_operator_is_not_run_again() {
    for reason in ["RestoreRunning", "RestoreFailed"] {
        let mut restore = KafkaRestore::test();
        restore.status = Some(
            serde_json::from_value(serde_json::json!({
                "conditions": [{"type": "Ready", "status": "False", "reason": reason,
                                "message": "Restore job is running",
                                "lastTransitionTime": "2026-01-01T00:00:00Z"}],
                "restore": {"startTime": "2026-01-01T00:00:00Z", "status": "Running"}
            }))
            .expect("strimzi-backup-operator's status reads"),
        );
        let plan = Case::new(restore.clone()).plan();
        assert!(
            plan.create_job.is_none() && plan.create_pvc.is_none(),
            "{reason}"
        );
        assert_eq!(condition(&plan, "Ready"), ("False", "StartedElsewhere"));
        let message = &plan
            .status
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap()
            .message;
        assert!(
            message.contains("delete it and create a new one"),
            "{message}"
        );
        // The next reconcile reads the status this one wrote: still never run.
        let mut again = restore;
        again.status = Some(plan.status.clone());
        let replan = Case::new(again).plan();
        assert!(
            replan.create_job.is_none() && replan.create_pvc.is_none(),
            "{reason}, second reconcile"
        );
        assert_eq!(condition(&replan, "Ready"), ("False", "StartedElsewhere"));
        assert_eq!(
            replan.status, plan.status,
            "the same status again: nothing to write (R3)"
        );
    }
    let mut done = KafkaRestore::test();
    done.status = Some(
        serde_json::from_value(serde_json::json!({
            "conditions": [{"type": "RestoreComplete", "status": "True", "reason": "RestoreCompleted",
                            "message": "done", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
            "restore": {"startTime": "2026-01-01T00:00:00Z", "status": "Completed", "restoredBytes": 10}
        }))
        .unwrap(),
    );
    let plan = Case::new(done).plan();
    assert!(plan.create_job.is_none());
    assert_eq!(
        condition(&plan, "RestoreComplete"),
        ("True", "RestoreCompleted")
    );
}

#[test]
fn r3_a_new_restores_status_is_written_once_not_again_when_its_job_appears() {
    let created = Case::new(KafkaRestore::test()).plan();
    let mut restore = KafkaRestore::test();
    restore.status = Some(created.status.clone());
    restore.metadata.labels = Some(created.labels.clone());
    let running = Case::new(restore.clone())
        .jobs(vec![job(1, None)])
        .pvcs(vec![pvc(&fresh_pvc(1))])
        .plan();
    assert_eq!(
        Some(&running.status),
        restore.status.as_ref(),
        "the same status: nothing to write"
    );
    assert_eq!(running.labels, created.labels);
    assert!(running.create_job.is_none() && running.announce.is_none());
}

/// The Job cache keeps only part of a Job (`CachedJob`): every plan made from Jobs read
/// through it equals the plan made from the whole Jobs, in each state a Job can be in.
#[test]
fn r1_the_job_cache_keeps_everything_a_plan_reads() {
    use crate::controller::cached_job::CachedJob;
    let through_the_cache = |jobs: &[Job]| -> Vec<Job> {
        jobs.iter()
            .map(|job| {
                let cached: CachedJob =
                    serde_json::from_value(serde_json::to_value(job).unwrap()).unwrap();
                Job::from(&cached)
            })
            .collect()
    };
    let mut suspended = job(1, None);
    suspended.spec.as_mut().unwrap().suspend = Some(true);
    let mut with_ttl = job(1, Some("Complete"));
    with_ttl.spec.as_mut().unwrap().ttl_seconds_after_finished = Some(60);
    let mut continuation = job(2, None);
    continuation
        .annotations_mut()
        .insert(ANNOTATION_CONTINUE.to_string(), "2026-11-23".to_string());
    let restores = [
        KafkaRestore::test(),
        started(),
        started().with(|s| s.enabled = Some(false)),
        KafkaRestore::test().completed(),
        continue_with(KafkaRestore::test().completed(), "2026-11-23"),
        continue_with(KafkaRestore::test().completed(), "2026-11-24"),
    ];
    let job_sets = [
        vec![],
        vec![job(1, None)],
        vec![job(1, Some("Complete"))],
        vec![job(1, Some("Failed"))],
        vec![suspended],
        vec![with_ttl],
        vec![job(1, Some("Complete")), continuation],
        vec![earlier_restores(job(1, Some("Complete")))],
    ];
    for restore in &restores {
        for jobs in &job_sets {
            let whole = Case::new(restore.clone())
                .jobs(jobs.clone())
                .pvcs(vec![pvc("restore-orders-report-x7k2p")]);
            let cached = Case::new(restore.clone())
                .jobs(through_the_cache(jobs))
                .pvcs(vec![pvc("restore-orders-report-x7k2p")]);
            assert_eq!(
                cached.plan(),
                whole.plan(),
                "{:?} with {jobs:?}",
                restore.status
            );
        }
    }
}
