use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::*;
use crate::api::backup::BackupSchedule;

fn at(seconds: i64) -> Time {
    Time(jiff::Timestamp::from_second(seconds).unwrap())
}

fn connection() -> Connection {
    Connection {
        bootstrap_servers: "kafka:9092".into(),
        tls: false,
        ca_secret: None,
        authentication: None,
    }
}

/// A controller owner reference to an object of `kind` with `uid`.
fn owned_by(kind: &str, uid: &str) -> Option<Vec<OwnerReference>> {
    Some(vec![OwnerReference {
        api_version: "v1".into(),
        kind: kind.into(),
        name: "daily-backup".into(),
        uid: uid.into(),
        controller: Some(true),
        block_owner_deletion: None,
    }])
}

/// A Job of daily-backup, made by the operator for `KafkaBackup::test()`.
fn job(name: &str, state: Option<&str>, done: i64) -> Job {
    Job {
        metadata: ObjectMeta {
            name: Some(name.into()),
            owner_references: owned_by("KafkaBackup", &KafkaBackup::test().uid().unwrap()),
            labels: Some(BTreeMap::from([(
                "kafkabackup.com/backup".to_string(),
                "daily-backup".to_string(),
            )])),
            ..Default::default()
        },
        status: Some(JobStatus {
            start_time: Some(at(done - 10)),
            completion_time: (state == Some("Complete")).then(|| at(done)),
            conditions: state.map(|s| {
                vec![JobCondition {
                    type_: s.into(),
                    status: "True".into(),
                    last_transition_time: Some(at(done)),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn scheduled() -> KafkaBackup {
    KafkaBackup::test().with(|s| {
        s.schedule = Some(BackupSchedule {
            cron: "0 2 * * *".into(),
            time_zone: None,
            suspend: None,
            ..Default::default()
        })
    })
}

fn plan(
    backup: &KafkaBackup,
    jobs: Vec<Job>,
    config_map: Option<ConfigMap>,
    cronjob: Option<CronJob>,
) -> BackupPlan {
    plan_with_summaries(backup, jobs, config_map, cronjob, BTreeMap::new())
}

fn plan_with_summaries(
    backup: &KafkaBackup,
    jobs: Vec<Job>,
    config_map: Option<ConfigMap>,
    cronjob: Option<CronJob>,
    summaries: BTreeMap<String, Summary>,
) -> BackupPlan {
    let defaults = JobDefaults {
        image: "kafka-backup-operator:test".into(),
    };
    plan_backup(&BackupObservation {
        backup,
        config_map,
        cronjob,
        jobs,
        summaries,
        restores_reading: vec![],
        connection: Ok(connection()),
        defaults: &defaults,
        now: at(1_767_225_600), // 2026-01-01T00:00:00Z
    })
    .expect("plan")
}

fn ready(plan: &BackupPlan) -> (&str, &str) {
    let c = plan
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    (c.status.as_str(), c.reason.as_str())
}

#[test]
fn r8_schedule_makes_a_cronjob_with_forbid_time_zone_and_backoff_limit() {
    let backup = scheduled().with(|s| s.backoff_limit = Some(1));
    let plan = plan(&backup, vec![], None, None);
    let cronjob = plan.cronjob.as_ref().expect("a CronJob");
    let spec = cronjob.spec.as_ref().unwrap();
    assert_eq!(
        cronjob.metadata.name.as_deref(),
        Some("daily-backup-backup")
    );
    assert_eq!(spec.schedule, "0 2 * * *");
    assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
    assert_eq!(spec.time_zone.as_deref(), Some("Etc/UTC"));
    assert_eq!(spec.suspend, Some(false));
    assert_eq!(spec.successful_jobs_history_limit, Some(3));
    assert_eq!(
        spec.job_template.spec.as_ref().unwrap().backoff_limit,
        Some(1),
        "R2"
    );
    assert!(plan.create_job.is_none());
    assert_eq!(ready(&plan), ("False", "BackupScheduled"));
    assert_eq!(
        plan.status.next_schedule_time,
        Some(at(1_767_225_600 + 2 * 3600))
    );
}

#[test]
fn r2_default_backoff_limit_of_a_backup_job_is_three() {
    let plan = plan(&KafkaBackup::test(), vec![], None, None);
    let job = plan.create_job.as_ref().expect("a one-shot Job");
    assert_eq!(job.metadata.name.as_deref(), Some("daily-backup-backup"));
    assert_eq!(job.spec.as_ref().unwrap().backoff_limit, Some(3));
    assert_eq!(ready(&plan), ("False", "BackupRunning"));
}

#[test]
fn r8_one_shot_backup_runs_once() {
    let done = job("daily-backup-backup", Some("Complete"), 2000);
    let plan_done = plan(&KafkaBackup::test(), vec![done], None, None);
    assert!(plan_done.create_job.is_none());
    assert_eq!(ready(&plan_done), ("True", "BackupCompleted"));
    // The user deletes the finished Job: the history remembers it, so no second run.
    let mut remembered = KafkaBackup::test();
    remembered.status = Some(plan_done.status.clone());
    assert!(plan(&remembered, vec![], None, None).create_job.is_none());
}

#[test]
fn r3_failed_run_sets_backup_failed_and_error() {
    let plan = plan(
        &scheduled(),
        vec![job("daily-backup-backup-1", Some("Failed"), 3000)],
        None,
        None,
    );
    assert_eq!(ready(&plan), ("False", "BackupFailed"));
    let error = plan
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Error")
        .unwrap();
    assert_eq!(error.status, "True");
    assert_eq!(
        plan.status.last_backup.as_ref().unwrap().outcome,
        Outcome::Failed
    );
}

#[test]
fn r3_history_is_newest_first_bounded_and_outlives_deleted_jobs() {
    let backup = scheduled().with(|s| {
        s.retention = Some(crate::api::backup::BackupRetention {
            backup_history_limit: Some(2),
            ..Default::default()
        })
    });
    let jobs = vec![
        job("daily-backup-backup-1", Some("Complete"), 1000),
        job("daily-backup-backup-2", Some("Complete"), 3000),
        job("daily-backup-backup-3", Some("Failed"), 2000),
        job("daily-backup-backup-4", None, 4000),
    ];
    let first = plan(&backup, jobs, None, None);
    let names: Vec<&str> = first
        .status
        .backup_history
        .iter()
        .map(|r| r.job_name.as_str())
        .collect();
    assert_eq!(names, ["daily-backup-backup-2", "daily-backup-backup-3"]);
    assert_eq!(
        first.status.last_backup.as_ref().unwrap().job_name,
        "daily-backup-backup-2"
    );
    assert_eq!(ready(&first), ("False", "BackupRunning"));

    let mut later = backup.clone();
    later.status = Some(first.status.clone());
    let second = plan(
        &later,
        vec![job("daily-backup-backup-4", Some("Complete"), 4000)],
        None,
        None,
    );
    let names: Vec<&str> = second
        .status
        .backup_history
        .iter()
        .map(|r| r.job_name.as_str())
        .collect();
    assert_eq!(names, ["daily-backup-backup-4", "daily-backup-backup-2"]);
}

#[test]
fn run_now_annotation_makes_one_job_per_token() {
    let mut backup = scheduled();
    backup.metadata.annotations = Some(BTreeMap::from([(
        ANNOTATION_RUN_NOW.to_string(),
        "2026-01-01T10:00".to_string(),
    )]));
    let first = plan(&backup, vec![], None, None);
    let manual = first
        .create_job
        .as_ref()
        .expect("a manual run")
        .metadata
        .name
        .clone()
        .unwrap();
    assert!(manual.starts_with("daily-backup-backup-"));
    let again = plan(&backup, vec![job(&manual, None, 10)], None, None);
    assert!(again.create_job.is_none());
}

#[test]
fn r3_steady_state_writes_nothing() {
    let backup = scheduled();
    let first = plan(&backup, vec![], None, None);
    let (config_map, cronjob) = (
        first.config_map.clone().unwrap(),
        first.cronjob.clone().unwrap(),
    );
    let mut observed = backup.clone();
    observed.status = Some(first.status.clone());
    let second = plan(
        &observed,
        vec![],
        Some(config_map.clone()),
        Some(cronjob.clone()),
    );
    // The same objects are applied again, which the API server takes as no change; no
    // Job, and the same status.
    assert_eq!(second.config_map, Some(config_map));
    assert_eq!(second.cronjob, Some(cronjob));
    assert!(second.create_job.is_none());
    assert_eq!(second.status, first.status);
}

#[test]
fn r8_removing_the_schedule_deletes_the_cronjob() {
    let cronjob = plan(&scheduled(), vec![], None, None).cronjob.unwrap();
    let plan = plan(&KafkaBackup::test(), vec![], None, Some(cronjob));
    assert_eq!(plan.delete_cronjob.as_deref(), Some("daily-backup-backup"));
}

#[test]
fn r9_suspended_schedule_has_no_next_run() {
    let backup = scheduled().with(|s| s.schedule.as_mut().unwrap().suspend = Some(true));
    let plan = plan(&backup, vec![], None, None);
    assert_eq!(plan.cronjob.unwrap().spec.unwrap().suspend, Some(true));
    assert_eq!(plan.status.next_schedule_time, None);
}

#[test]
fn next_run_follows_the_time_zone() {
    // 02:00 in Brussels on 2026-01-01 is 01:00 UTC.
    assert_eq!(
        next_run("0 2 * * *", "Europe/Brussels", &at(1_767_225_600)),
        Some(at(1_767_225_600 + 3600))
    );
}

#[test]
fn r4_jobs_of_its_own_cronjob_count_and_nobody_elses() {
    let backup = scheduled();
    let mut cronjob = plan(&backup, vec![], None, None).cronjob.unwrap();
    cronjob.metadata.uid = Some("uid-of-our-cronjob".into());
    let mut by_cronjob = job("daily-backup-backup-29000000", Some("Complete"), 100);
    by_cronjob.metadata.owner_references = owned_by("CronJob", "uid-of-our-cronjob");
    let mut users = job("daily-backup-backup-29000001", Some("Failed"), 200);
    users.metadata.owner_references = None;
    let plan = plan(&backup, vec![by_cronjob, users], None, Some(cronjob));
    let history: Vec<&str> = plan
        .status
        .backup_history
        .iter()
        .map(|r| r.job_name.as_str())
        .collect();
    assert_eq!(history, ["daily-backup-backup-29000000"]);
    assert_eq!(ready(&plan), ("True", "BackupCompleted"));
}

#[test]
fn r4_a_cronjob_of_the_same_name_made_by_someone_else_is_left_alone() {
    let backup = scheduled();
    let mut theirs = plan(&backup, vec![], None, None).cronjob.unwrap();
    theirs.metadata.owner_references = owned_by("Application", "uid-of-argo");
    let plan = plan(&backup, vec![], None, Some(theirs));
    assert!(plan.cronjob.is_none() && plan.config_map.is_none() && plan.create_job.is_none());
    assert!(
        plan.delete_cronjob.is_none(),
        "never deleted: it is not ours"
    );
    assert_eq!(ready(&plan), ("False", "NameConflict"));
    let error = plan
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Error")
        .unwrap();
    assert_eq!(error.status, "True");
    assert!(
        error.message.contains("CronJob 'daily-backup-backup'"),
        "{}",
        error.message
    );
}

fn summary(outcome: Outcome, records: u64) -> Summary {
    Summary {
        outcome,
        records,
        bytes: records * 1024,
        topics: Some(3),
        backup_id: Some("daily-backup".into()),
        attempt: None,
        error: None,
        consumer_groups: None,
        groups_reset: Vec::new(),
        pruned: None,
        prune_held: None,
    }
}

#[test]
fn r3_a_finished_runs_figures_reach_last_backup_and_history_once() {
    let backup = KafkaBackup::test();
    let done = job("daily-backup-backup", Some("Complete"), 3000);
    // The reconciler is told to read exactly the run that is new to the history.
    assert_eq!(
        runs_to_read(&backup, None, std::slice::from_ref(&done)),
        ["daily-backup-backup"]
    );
    let first = plan_with_summaries(
        &backup,
        vec![done.clone()],
        None,
        None,
        BTreeMap::from([(
            "daily-backup-backup".to_string(),
            summary(Outcome::Succeeded, 1500),
        )]),
    );
    let last = first.status.last_backup.clone().unwrap();
    assert_eq!(
        (last.records, last.bytes, last.topics),
        (Some(1500), Some(1500 * 1024), Some(3))
    );
    assert_eq!(last.backup_id.as_deref(), Some("daily-backup"));
    assert_eq!(first.status.backup_history, std::slice::from_ref(&last));
    let message = &first
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap()
        .message;
    assert!(message.contains("1500 records"), "{message}");

    // Recorded: never read again, and its figures stay without the summary.
    let mut settled = backup.clone();
    settled.status = Some(first.status.clone());
    assert!(runs_to_read(&settled, None, std::slice::from_ref(&done)).is_empty());
    let second = plan(&settled, vec![done], None, None);
    assert_eq!(second.status, first.status);
}

#[test]
fn r3_scheduled_runs_each_get_their_own_figures_and_a_failure_none() {
    let backup = scheduled();
    let mut cronjob = plan(&backup, vec![], None, None).cronjob.unwrap();
    let cronjob_uid = "uid-cronjob";
    cronjob.metadata.uid = Some(cronjob_uid.into());
    let run = |name: &str, state: &str, at: i64| {
        let mut job = job(name, Some(state), at);
        job.metadata.owner_references = owned_by("CronJob", cronjob_uid);
        job
    };
    let jobs = vec![
        run("daily-backup-backup-1", "Complete", 1000),
        run("daily-backup-backup-2", "Failed", 2000),
        run("daily-backup-backup-3", "Complete", 3000),
    ];
    // Not this backup's: another owner's Job with our label is never read.
    let mut foreign = job("daily-backup-backup-4", Some("Complete"), 4000);
    foreign.metadata.owner_references = owned_by("CronJob", "uid-other");
    let jobs = [jobs, vec![foreign]].concat();
    assert_eq!(
        runs_to_read(&backup, Some(&cronjob), &jobs),
        [
            "daily-backup-backup-3",
            "daily-backup-backup-2",
            "daily-backup-backup-1"
        ]
    );
    let summaries = BTreeMap::from([
        (
            "daily-backup-backup-1".to_string(),
            summary(Outcome::Succeeded, 10),
        ),
        (
            "daily-backup-backup-2".to_string(),
            summary(Outcome::Failed, 0),
        ),
        (
            "daily-backup-backup-3".to_string(),
            summary(Outcome::Succeeded, 30),
        ),
    ]);
    let plan = plan_with_summaries(&backup, jobs, None, Some(cronjob), summaries);
    let figures: Vec<(&str, Outcome, Option<i64>)> = plan
        .status
        .backup_history
        .iter()
        .map(|r| (r.job_name.as_str(), r.outcome, r.records))
        .collect();
    assert_eq!(
        figures,
        [
            ("daily-backup-backup-3", Outcome::Succeeded, Some(30)),
            ("daily-backup-backup-2", Outcome::Failed, None),
            ("daily-backup-backup-1", Outcome::Succeeded, Some(10)),
        ]
    );
    assert_eq!(plan.status.last_backup.unwrap().records, Some(30));
}

#[test]
fn r3_runs_beyond_the_history_limit_are_not_read() {
    let backup = KafkaBackup::test().with(|s| {
        s.retention = Some(crate::api::backup::BackupRetention {
            backup_history_limit: Some(1),
            ..Default::default()
        })
    });
    let older = job("daily-backup-backup-old", Some("Complete"), 1000);
    let jobs = vec![older, job("daily-backup-backup", Some("Complete"), 3000)];
    assert_eq!(runs_to_read(&backup, None, &jobs), ["daily-backup-backup"]);
}

#[test]
fn r3_the_plan_announces_changes_and_looks_again_while_waiting() {
    let first = plan(&KafkaBackup::test(), vec![], None, None);
    let running = first.announce.clone().expect("an Event");
    assert_eq!(
        (running.reason.as_str(), running.warning),
        ("BackupRunning", false)
    );
    assert_eq!(first.requeue, Requeue::Resync);
    let mut settled = KafkaBackup::test();
    settled.status = Some(first.status.clone());
    let again = plan(
        &settled,
        vec![],
        first.config_map.clone(),
        first.cronjob.clone(),
    );
    assert_eq!(again.announce, None);

    // A ConfigMap of the backup's name made by someone else: a Warning, and a timer.
    let mut foreign = first.config_map.clone().unwrap();
    foreign.metadata.owner_references = owned_by("KafkaBackup", "uid-someone-else");
    let taken = plan(&KafkaBackup::test(), vec![], Some(foreign), None);
    let conflict = taken.announce.expect("an Event");
    assert_eq!(
        (conflict.reason.as_str(), conflict.warning),
        ("NameConflict", true)
    );
    assert_eq!(taken.requeue, Requeue::Waiting);
}
