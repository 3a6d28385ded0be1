//! The status of a backup: its finished runs (one-shot, run-now, and its CronJob's),
//! newest first with what their workers reported, the Ready message of a completed run,
//! and when the schedule fires next. Pure.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use crate::api::backup::{BackupRun, KafkaBackupStatus};
use crate::api::{KafkaBackup, Outcome};
use crate::constants::DEFAULT_BACKUP_HISTORY;
use crate::controller::ownership;
use crate::worker::report::Summary;

/// The Ready message of a completed run, with the worker's figures when it left them.
pub(super) fn completed_message(run: &BackupRun) -> String {
    let mut message = format!("backup Job '{}' completed", run.job_name);
    if let (Some(records), Some(bytes)) = (run.records, run.bytes) {
        message.push_str(&format!(": {records} records, {bytes} bytes"));
        if let Some(topics) = run.topics {
            message.push_str(&format!(", {topics} topic(s) in backup"));
        }
        if let Some(id) = &run.backup_id {
            message.push_str(&format!(" '{id}'"));
        }
    }
    message
}

/// The backup's CronJob, when it is the backup's own.
pub(super) fn own_cronjob<'a>(
    backup: &KafkaBackup,
    cronjob: Option<&'a CronJob>,
) -> Option<&'a CronJob> {
    cronjob.filter(|cj| ownership::is_child_of(*cj, backup))
}

/// The Jobs made for this backup: by the controller, or by the backup's own CronJob.
pub(super) fn own_jobs(
    backup: &KafkaBackup,
    own_cronjob: Option<&CronJob>,
    jobs: &[Job],
) -> Vec<Job> {
    jobs.iter()
        .filter(|j| {
            ownership::is_child_of(*j, backup)
                || own_cronjob.is_some_and(|cj| ownership::is_child_of(*j, cj))
        })
        .cloned()
        .collect()
}

/// The outcome of a finished Job, `None` while it runs.
pub(super) fn finished(job: &Job) -> Option<Outcome> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    conditions
        .iter()
        .filter(|c| c.status == "True")
        .find_map(|c| match c.type_.as_str() {
            "Complete" => Some(Outcome::Succeeded),
            "Failed" => Some(Outcome::Failed),
            _ => None,
        })
}

/// The finished runs whose workers' termination messages the reconciler reads before it
/// plans: those entering the history now. A run is read once: from then on its entry,
/// figures or not, stays as it was recorded.
pub fn runs_to_read(backup: &KafkaBackup, cronjob: Option<&CronJob>, jobs: &[Job]) -> Vec<String> {
    let old = backup.status.clone().unwrap_or_default();
    let jobs = own_jobs(backup, own_cronjob(backup, cronjob), jobs);
    merge_history(backup, &jobs, &BTreeMap::new())
        .into_iter()
        .filter(|run| !recorded(&old, &run.job_name))
        .map(|run| run.job_name)
        .collect()
}

/// Whether the status already holds a run of this Job.
pub(super) fn recorded(status: &KafkaBackupStatus, job_name: &str) -> bool {
    status
        .backup_history
        .iter()
        .chain(status.last_backup.iter())
        .any(|r| r.job_name == job_name)
}

/// Finished runs, newest first: the Jobs that still exist, and the history of those the
/// CronJob has already cleaned up, bounded by the history limit. A run already in the
/// status keeps its entry; a new one takes its worker's figures from `summaries`.
pub(super) fn merge_history(
    backup: &KafkaBackup,
    jobs: &[Job],
    summaries: &BTreeMap<String, Summary>,
) -> Vec<BackupRun> {
    let old = backup.status.clone().unwrap_or_default();
    let limit = backup
        .spec
        .retention
        .as_ref()
        .and_then(|r| r.backup_history_limit)
        .unwrap_or(DEFAULT_BACKUP_HISTORY);
    let mut runs: Vec<BackupRun> = jobs
        .iter()
        .filter(|job| !recorded(&old, &job.name_any()))
        .filter_map(|job| {
            let outcome = finished(job)?;
            let status = job.status.as_ref();
            let summary = summaries.get(&job.name_any());
            let figure = |n: u64| i64::try_from(n).ok();
            Some(BackupRun {
                job_name: job.name_any(),
                backup_id: summary
                    .and_then(|s| s.backup_id.clone())
                    .or_else(|| job.labels().get(crate::constants::LABEL_BACKUP).cloned()),
                outcome,
                start_time: status.and_then(|s| s.start_time.clone()),
                completion_time: status.and_then(|s| s.completion_time.clone()).or_else(|| {
                    // A failed Job has no completionTime; its Failed condition has a time.
                    status
                        .and_then(|s| s.conditions.as_ref())
                        .and_then(|cs| cs.iter().find(|c| c.type_ == "Failed"))
                        .and_then(|c| c.last_transition_time.clone())
                }),
                // A failed worker reports what it had done; only a success has figures.
                records: summary
                    .filter(|s| s.outcome == Outcome::Succeeded)
                    .and_then(|s| figure(s.records)),
                bytes: summary
                    .filter(|s| s.outcome == Outcome::Succeeded)
                    .and_then(|s| figure(s.bytes)),
                topics: summary
                    .filter(|s| s.outcome == Outcome::Succeeded)
                    .and_then(|s| s.topics)
                    .and_then(figure),
                consumer_groups: summary
                    .filter(|s| s.outcome == Outcome::Succeeded)
                    .and_then(|s| s.consumer_groups)
                    .and_then(figure),
                pruned_segments: summary
                    .and_then(|s| s.pruned)
                    .and_then(|p| figure(p.segments)),
                pruned_bytes: summary.and_then(|s| s.pruned).and_then(|p| figure(p.bytes)),
                prune_held: summary.and_then(|s| s.prune_held.clone()),
            })
        })
        .collect();
    for run in old.backup_history.iter().chain(old.last_backup.iter()) {
        if !runs.iter().any(|r| r.job_name == run.job_name) {
            runs.push(run.clone());
        }
    }
    runs.sort_by(|a, b| {
        b.completion_time
            .cmp(&a.completion_time)
            .then_with(|| a.job_name.cmp(&b.job_name))
    });
    runs.truncate(usize::try_from(limit).unwrap_or(0));
    runs
}

/// The next time a cron expression fires after `now`, in its time zone.
pub fn next_run(cron: &str, time_zone: &str, now: &Time) -> Option<Time> {
    let schedule = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .build()
        .parse(cron)
        .ok()?;
    let zone = jiff::tz::TimeZone::get(time_zone).ok()?;
    let next = schedule
        .find_next_occurrence(&now.0.to_zoned(zone), false)
        .ok()?;
    Some(Time(next.timestamp()))
}
