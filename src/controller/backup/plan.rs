//! Planning a KafkaBackup reconcile (R2, R3, R8): the ConfigMap, the CronJob of a
//! schedule or the Job of a one-shot backup, a run asked for with the run-now
//! annotation, and the status with `lastBackup`, `backupHistory` and the next run.
//! Pure: the reconciler observes, calls `plan_backup`, and applies the plan.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use crate::api::backup::{BackupRun, KafkaBackupStatus};
use crate::api::{KafkaBackup, Outcome, condition as c};
use crate::constants::{ANNOTATION_RUN_NOW, DEFAULT_BACKUP_HISTORY};
use crate::controller::build::{self, Connection, JobDefaults};
use crate::controller::conditions::{self, Announcement, Want};
use crate::controller::names;
use crate::controller::ownership;
use crate::controller::waiting::{Blocker, Requeue, Waiting};
use crate::policy;
use crate::worker::report::Summary;

/// Everything the planner needs, gathered by the reconciler.
pub struct BackupObservation<'a> {
    pub backup: &'a KafkaBackup,
    /// The ConfigMap of the backup's name, whoever made it.
    pub config_map: Option<ConfigMap>,
    /// The CronJob of the backup's name, whoever made it.
    pub cronjob: Option<CronJob>,
    /// Jobs labelled with this backup (one-shot, manual, and those the CronJob made).
    /// Only those controlled by the backup or by its own CronJob count.
    pub jobs: Vec<Job>,
    /// What the workers of the runs named by [`runs_to_read`] left in their termination
    /// messages, by Job name.
    pub summaries: BTreeMap<String, Summary>,
    pub connection: Result<Connection, Blocker>,
    pub defaults: &'a JobDefaults,
    pub now: Time,
}

/// What the reconciler is to do.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BackupPlan {
    /// The worker ConfigMap, applied on every reconcile (server-side apply: unchanged, it
    /// writes nothing; edited by hand, it is put back).
    pub config_map: Option<ConfigMap>,
    /// The CronJob of a schedule, applied on every reconcile like the ConfigMap.
    pub cronjob: Option<CronJob>,
    /// A CronJob to delete: the schedule was removed.
    pub delete_cronjob: Option<String>,
    pub create_job: Option<Job>,
    pub status: KafkaBackupStatus,
    /// When to look again if nothing changes before.
    pub requeue: Requeue,
    /// The Event the new status calls for.
    pub announce: Option<Announcement>,
}

/// Plans one reconcile of a backup.
pub fn plan_backup(observed: &BackupObservation<'_>) -> Result<BackupPlan, build::BuildError> {
    let backup = observed.backup;
    let old_status = backup.status.clone().unwrap_or_default();
    if backup.metadata.deletion_timestamp.is_some() || crate::controller::is_paused(backup) {
        return Ok(BackupPlan {
            status: old_status,
            ..Default::default()
        });
    }
    let name = backup.name_any();
    let mut spec = backup.spec.clone();
    policy::default_backup(&mut spec);
    let defaulted = KafkaBackup {
        spec,
        ..backup.clone()
    };
    let mut plan = BackupPlan::default();

    // Only what was made for this backup counts; a ConfigMap or CronJob of the same name
    // made by anyone else is left alone and blocks the backup (R4).
    let own_cronjob = own_cronjob(backup, observed.cronjob.as_ref());
    let jobs = own_jobs(backup, own_cronjob, &observed.jobs);
    let taken = observed
        .config_map
        .as_ref()
        .filter(|cm| !ownership::is_child_of(*cm, backup))
        .map(|cm| ownership::conflict_message(cm, "KafkaBackup"))
        .or_else(|| {
            observed
                .cronjob
                .as_ref()
                .filter(|cj| !ownership::is_child_of(*cj, backup))
                .map(|cj| ownership::conflict_message(cj, "KafkaBackup"))
        });
    let connection = match taken {
        Some(message) => Err(Blocker {
            why: Waiting::NameConflict,
            message,
        }),
        None => observed.connection.clone(),
    };

    let history = merge_history(backup, &jobs, &observed.summaries);
    let known = |job: &str| {
        history.iter().any(|r| r.job_name == job) || jobs.iter().any(|j| j.name_any() == job)
    };

    if let Ok(connection) = &connection {
        let run = |job_name: String| {
            build::backup_job(&defaulted, job_name, connection, observed.defaults)
        };
        let config = build::backup_worker_config(&defaulted, connection);
        let config_map = build::config_map(
            &defaulted,
            names::backup_config_name(&name),
            names::backup_labels(&name),
            &config,
        )?;
        plan.config_map = Some(config_map);

        match &defaulted.spec.schedule {
            Some(_) => {
                let cronjob = build::backup_cronjob(&defaulted, connection, observed.defaults)?;
                plan.cronjob = Some(cronjob);
            }
            None => {
                plan.delete_cronjob = own_cronjob.map(|c| c.name_any());
                let job_name = names::backup_job_name(&name);
                if !known(&job_name) {
                    plan.create_job = Some(run(job_name)?);
                }
            }
        }
        if plan.create_job.is_none()
            && let Some(token) = backup
                .annotations()
                .get(ANNOTATION_RUN_NOW)
                .filter(|t| !t.is_empty())
        {
            let job_name = names::backup_manual_job_name(&name, token);
            if !known(&job_name) {
                plan.create_job = Some(run(job_name)?);
            }
        }
    }

    let running = jobs.iter().filter(|j| finished(j).is_none()).count()
        + usize::from(plan.create_job.is_some());
    let last = history.first().cloned();
    let schedule = defaulted.spec.schedule.as_ref();
    let wants = match (&connection, running, &last) {
        (Err(blocker), _, _) if blocker.why == Waiting::NameConflict => vec![
            Want::new(c::READY, false, blocker.reason(), &blocker.message),
            Want::new(c::ERROR, true, blocker.reason(), &blocker.message),
        ],
        (Err(blocker), _, _) => vec![
            Want::new(c::READY, false, blocker.reason(), &blocker.message),
            Want::new(c::ERROR, false, blocker.reason(), "waiting, not failed"),
        ],
        (_, running, _) if running > 0 => vec![
            Want::new(
                c::READY,
                false,
                c::BACKUP_RUNNING,
                format!("{running} backup Job(s) running"),
            ),
            Want::new(c::ERROR, false, c::BACKUP_RUNNING, "no error"),
        ],
        (_, _, Some(run)) if run.outcome == Outcome::Failed => {
            let message = format!(
                "backup Job '{}' failed after its retries; see its pod's logs",
                run.job_name
            );
            vec![
                Want::new(c::READY, false, c::BACKUP_FAILED, &message),
                Want::new(c::ERROR, true, c::BACKUP_FAILED, &message),
            ]
        }
        (_, _, Some(run)) => vec![
            Want::new(c::READY, true, c::BACKUP_COMPLETED, completed_message(run)),
            Want::new(c::ERROR, false, c::BACKUP_COMPLETED, "no error"),
        ],
        (_, _, None) => {
            let message = match schedule {
                Some(s) if s.suspend == Some(true) => "the schedule is suspended".to_string(),
                Some(s) => format!("waiting for the first run of '{}'", s.cron),
                None => "waiting for the backup Job".to_string(),
            };
            vec![
                Want::new(c::READY, false, c::BACKUP_SCHEDULED, &message),
                Want::new(c::ERROR, false, c::BACKUP_SCHEDULED, "no error"),
            ]
        }
    };
    let generation = backup.metadata.generation;
    plan.status = KafkaBackupStatus {
        observed_generation: generation,
        conditions: conditions::merge(
            &old_status.conditions,
            &wants,
            generation,
            observed.now.clone(),
        ),
        last_backup: last,
        backup_history: history,
        next_schedule_time: schedule.filter(|s| s.suspend != Some(true)).and_then(|s| {
            next_run(
                &s.cron,
                s.time_zone.as_deref().unwrap_or("Etc/UTC"),
                &observed.now,
            )
        }),
    };
    // A backup waiting (on the cluster, a name taken, a spec) looks again after a while.
    plan.requeue = match &connection {
        Err(_) => Requeue::Waiting,
        Ok(_) => Requeue::Resync,
    };
    plan.announce = conditions::announcement(&old_status.conditions, &plan.status.conditions);
    Ok(plan)
}

/// The Ready message of a completed run, with the worker's figures when it left them.
fn completed_message(run: &BackupRun) -> String {
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
fn own_cronjob<'a>(backup: &KafkaBackup, cronjob: Option<&'a CronJob>) -> Option<&'a CronJob> {
    cronjob.filter(|cj| ownership::is_child_of(*cj, backup))
}

/// The Jobs made for this backup: by the controller, or by the backup's own CronJob.
fn own_jobs(backup: &KafkaBackup, own_cronjob: Option<&CronJob>, jobs: &[Job]) -> Vec<Job> {
    jobs.iter()
        .filter(|j| {
            ownership::is_child_of(*j, backup)
                || own_cronjob.is_some_and(|cj| ownership::is_child_of(*j, cj))
        })
        .cloned()
        .collect()
}

/// The outcome of a finished Job, `None` while it runs.
fn finished(job: &Job) -> Option<Outcome> {
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
fn recorded(status: &KafkaBackupStatus, job_name: &str) -> bool {
    status
        .backup_history
        .iter()
        .chain(status.last_backup.iter())
        .any(|r| r.job_name == job_name)
}

/// Finished runs, newest first: the Jobs that still exist, and the history of those the
/// CronJob has already cleaned up, bounded by the history limit. A run already in the
/// status keeps its entry; a new one takes its worker's figures from `summaries`.
fn merge_history(
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

#[cfg(test)]
mod tests;
