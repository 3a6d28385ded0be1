//! Planning a KafkaBackup reconcile (R2, R3, R8): the ConfigMap, the CronJob of a
//! schedule or the Job of a one-shot backup, a run asked for with the run-now
//! annotation, and the status with `lastBackup`, `backupHistory` and the next run.
//! Pure: the reconciler observes, calls `plan_backup`, and applies the plan.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use crate::api::backup::KafkaBackupStatus;
use crate::api::{KafkaBackup, Outcome, condition as c};
use crate::constants::ANNOTATION_RUN_NOW;
use crate::controller::build::{self, Connection, JobDefaults};
use crate::controller::conditions::{self, Announcement, Want};
use crate::controller::names;
use crate::controller::ownership;
use crate::controller::waiting::{Blocker, Requeue, Waiting};
use crate::policy;
use crate::worker::report::Summary;

use super::status::{completed_message, finished, merge_history, own_cronjob, own_jobs};
pub use super::status::{next_run, runs_to_read};

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
    /// KafkaRestores of this backup that have not completed (`namespace/name`): while
    /// there is one, retention deletes nothing.
    pub restores_reading: Vec<String>,
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
        let retention =
            build::retention_options(&defaulted, &history, observed.restores_reading.clone());
        let config = build::backup_worker_config(&defaulted, connection, retention);
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

#[cfg(test)]
mod tests;
