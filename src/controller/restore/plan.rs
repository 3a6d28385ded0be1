//! Planning a KafkaRestore reconcile from what was observed (R1, R3, R5, R6, R9): which
//! PVC, ConfigMap and Job to create, which Job to suspend or resume, the labels and the
//! status. Pure: the reconciler observes, calls `plan_restore`, and applies the plan.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use crate::api::backup::BackupStorage;
use crate::api::{KafkaRestore, KafkaRestoreStatus, condition as c};
use crate::constants::{ANNOTATION_CONTINUE, LABEL_REPORT_PVC_NAME, LABEL_RESTORE_JOB_NAME};
use crate::controller::build::{self, Connection, JobDefaults};
use crate::controller::conditions::{self, Announcement, Want};
use crate::controller::names::{self};
use crate::controller::ownership;
pub use crate::controller::waiting::{Blocker, Requeue, Waiting};

use super::attempt::{JobState, attempt_of, begin, job_state};
pub use super::attempt::{finished_job_without_figures, pod_may_still_run};
use super::status::own_labels;
pub use super::status::{blocked_plan, invalid_spec_plan};
use super::status::{blocked_wants, disabled_wants, running_wants};
use crate::policy;
use crate::worker::report::Summary;

/// Everything the planner needs, gathered by the reconciler.
#[derive(Clone)]
pub struct RestoreObservation<'a> {
    pub restore: &'a KafkaRestore,
    /// Jobs labelled with this restore, its own and any other's. Only those whose
    /// controller owner reference carries the restore's UID count (R1); another's Job
    /// with the name of the next attempt is a conflict. Before a new Job is made or a
    /// suspended one resumed, the reconciler confirms these with a live read.
    pub jobs: Vec<Job>,
    /// PVCs labelled with this restore; only its own count.
    pub pvcs: Vec<PersistentVolumeClaim>,
    /// Pods of this restore still running or terminating (a deleted or suspended Job's
    /// pods may linger); read live before a Job is made or resumed.
    pub active_pods: usize,
    /// The storage of the referenced KafkaBackup, or why it cannot be used.
    pub backup_storage: Result<BackupStorage, Blocker>,
    /// How to reach the target cluster, or why it cannot be reached yet.
    pub connection: Result<Connection, Blocker>,
    pub defaults: &'a JobDefaults,
    pub now: Time,
    /// What the current Job's worker reported when it finished (its termination message).
    pub summary: Option<Summary>,
}

/// What the reconciler is to do.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RestorePlan {
    pub create_pvc: Option<PersistentVolumeClaim>,
    pub create_job: Option<Job>,
    /// A Job whose `spec.suspend` must change, and the new value (R9).
    pub suspend_job: Option<(String, bool)>,
    /// The restore's Jobs that gained a `ttlSecondsAfterFinished` (a policy engine may
    /// add one): it is removed, since a Job that vanishes on its own would look like the
    /// user's request to resume.
    pub clear_ttl: Vec<String>,
    /// The operator's labels on the KafkaRestore (R6).
    pub labels: BTreeMap<String, String>,
    pub status: KafkaRestoreStatus,
    /// When to look again if nothing changes before.
    pub requeue: Requeue,
    /// The Event the new status calls for.
    pub announce: Option<Announcement>,
}

impl RestorePlan {
    /// Whether the plan starts pods, by creating a Job or resuming a suspended one, so
    /// the reconciler must confirm it first (R1, R9): by a live read, or for a restore's
    /// first Job by the claim of its name on the version the plan was made from.
    pub fn needs_live_confirmation(&self) -> bool {
        self.create_job.is_some() || matches!(self.suspend_job, Some((_, false)))
    }
}

/// Why a restore must not be started here: its status says it ran or runs under
/// another operator (strimzi-backup-operator writes `RestoreRunning` and `RestoreFailed`
/// without an attempt of ours), and a second run could duplicate its records (R1).
fn started_elsewhere(restore: &KafkaRestore, own_jobs: &[&Job]) -> Option<String> {
    let status = restore.status.as_ref()?;
    let ours = status
        .restore
        .as_ref()
        .is_some_and(|r| !r.job_name.is_empty());
    if ours || !own_jobs.is_empty() || restore.is_completed() {
        return None;
    }
    let ready = status.conditions.iter().find(|c| c.type_ == c::READY)?;
    // This operator said so already (the status it wrote replaced the other operator's
    // reason): the same words again.
    if ready.reason == Waiting::StartedElsewhere.reason() {
        return Some(ready.message.clone());
    }
    let reason = ready.reason.as_str();
    [c::RESTORE_RUNNING, c::RESTORE_FAILED].contains(&reason).then(|| {
        format!(
            "KafkaRestore '{}' was started by another operator (its status says {reason}), so running it here could write its records twice; to restore with this operator, delete it and create a new one",
            restore.name_any()
        )
    })
}

/// Plans one reconcile of a restore. Never plans a Job after `RestoreComplete=True`
/// (unless a new continue token asks for one continuation), after a failure, or while a
/// Job of the restore exists (R1); plans the next attempt when the current Job was
/// deleted before completion (R5).
pub fn plan_restore(observed: &RestoreObservation<'_>) -> Result<RestorePlan, build::BuildError> {
    let restore = observed.restore;
    if is_idle(restore) {
        return Ok(RestorePlan {
            labels: own_labels(restore),
            status: restore.status.clone().unwrap_or_default(),
            ..Default::default()
        });
    }
    let name = restore.name_any();
    let mut spec = restore.spec.clone();
    policy::default_restore(&mut spec);
    let defaulted = KafkaRestore {
        spec,
        ..restore.clone()
    };
    let enabled = defaulted.spec.enabled != Some(false);
    let old_status = restore.status.clone().unwrap_or_default();
    let recorded = old_status.restore.clone();
    let (own_jobs, other_jobs): (Vec<&Job>, Vec<&Job>) = observed
        .jobs
        .iter()
        .partition(|j| ownership::is_child_of(*j, restore));
    if let Some(message) = started_elsewhere(restore, &own_jobs) {
        return Ok(blocked_plan(
            restore,
            Blocker::new(Waiting::StartedElsewhere, message),
            observed.now.clone(),
        ));
    }

    // The current attempt: the newest of what status records and what Jobs of its own
    // exist. A status that lags behind (stale cache, lost write) adopts the newer Job.
    let newest_job = own_jobs
        .iter()
        .filter_map(|j| attempt_of(j).map(|a| (a, j)))
        .max_by_key(|(a, _)| *a);
    let recorded_attempt = recorded.as_ref().map(|r| r.attempt).unwrap_or(0);
    let attempt = recorded_attempt.max(newest_job.map(|(a, _)| a).unwrap_or(0));
    let current_job = own_jobs
        .iter()
        .copied()
        .find(|j| attempt > 0 && j.name_any() == names::restore_job_name(&name, attempt));
    let completed =
        restore.is_completed() || current_job.is_some_and(|j| job_state(j) == JobState::Succeeded);

    // A continue token on a completed restore asks for one more attempt (seed 003). A
    // token counts as honoured once status lists it or a Job of ours carries it, so a
    // status that lags never starts a second continuation (R1).
    let mut continued = old_status.continued.clone();
    let mut by_attempt: Vec<&&Job> = own_jobs.iter().collect();
    by_attempt.sort_by_key(|j| attempt_of(j));
    for token in by_attempt
        .iter()
        .filter_map(|j| j.annotations().get(ANNOTATION_CONTINUE))
    {
        if !continued.contains(token) {
            continued.push(token.clone());
        }
    }
    let continuation = restore
        .annotations()
        .get(ANNOTATION_CONTINUE)
        .filter(|token| completed && !token.is_empty() && !continued.contains(token))
        .cloned();
    let (completed, current_job) = match continuation {
        Some(_) => (false, None),
        None => (completed, current_job),
    };

    let live_pvcs: Vec<&PersistentVolumeClaim> = observed
        .pvcs
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() && ownership::is_child_of(*p, restore))
        .collect();
    // A new report PVC's name is derived from the restore's UID and the attempt it is
    // made for, so replicas racing (or a reconcile repeated) name the same claim (R5).
    let uid = restore.metadata.uid.as_deref().unwrap_or_default();
    let fresh_pvc = |next: i32| names::report_pvc_name(&name, &names::report_pvc_suffix(uid, next));
    let recorded_pvc = restore
        .labels()
        .get(LABEL_REPORT_PVC_NAME)
        .cloned()
        .or_else(|| recorded.as_ref().and_then(|r| r.report_pvc.clone()));
    let existing_pvc = live_pvcs
        .iter()
        .find(|p| Some(p.name_any()) == recorded_pvc)
        .or_else(|| live_pvcs.first())
        .map(|p| p.name_any());

    let mut plan = RestorePlan {
        clear_ttl: own_jobs
            .iter()
            .filter(|j| {
                j.spec
                    .as_ref()
                    .is_some_and(|s| s.ttl_seconds_after_finished.is_some())
            })
            .map(|j| j.name_any())
            .collect(),
        ..Default::default()
    };
    let mut attempt_status = recorded.clone().unwrap_or_default();
    if attempt > attempt_status.attempt {
        attempt_status = begin(
            attempt_status,
            attempt,
            names::restore_job_name(&name, attempt),
        );
    }
    let mut pvc_name = existing_pvc.clone().or(recorded_pvc.clone());
    let wants: Vec<Want>;

    if completed {
        let job = current_job;
        if let Some(done) = job
            .and_then(|j| j.status.as_ref())
            .and_then(|s| s.completion_time.clone())
        {
            attempt_status.completion_time = Some(done);
        }
        if attempt_status.completion_time.is_none() {
            attempt_status.completion_time = Some(observed.now.clone());
        }
        if let Some(summary) = &observed.summary {
            attempt_status.records = i64::try_from(summary.records).ok();
            attempt_status.bytes = i64::try_from(summary.bytes).ok();
            attempt_status.consumer_groups = summary.groups_reset.clone();
        }
        let groups = match attempt_status.consumer_groups.len() {
            0 => String::new(),
            n => format!(
                "; offsets of {n} consumer group{} set",
                if n == 1 { "" } else { "s" }
            ),
        };
        let message = format!(
            "restore completed by Job '{}'{groups}; it will not run again",
            attempt_status.job_name
        );
        wants = vec![
            Want::new(c::READY, true, c::RESTORE_COMPLETED, &message),
            Want::new(c::RESTORE_COMPLETE, true, c::RESTORE_COMPLETED, &message),
            Want::new(c::ERROR, false, c::RESTORE_COMPLETED, "no error"),
        ];
    } else if let Some(job) = current_job {
        if attempt_status.start_time.is_none() {
            // A status first written after the Job was made (in a burst) says when the
            // Job was made until the job controller starts it, as a status written with
            // the Job does; the job controller's start does not rewrite it.
            attempt_status.start_time = job
                .status
                .as_ref()
                .and_then(|s| s.start_time.clone())
                .or_else(|| job.metadata.creation_timestamp.clone());
        }
        let suspended = job.spec.as_ref().and_then(|s| s.suspend).unwrap_or(false);
        match job_state(job) {
            JobState::Failed => {
                if let Some(summary) = &observed.summary {
                    attempt_status.records = i64::try_from(summary.records).ok();
                    attempt_status.bytes = i64::try_from(summary.bytes).ok();
                    attempt_status.failure = summary.error.clone();
                }
                let cause = attempt_status
                    .failure
                    .as_ref()
                    .map(|f| format!(": {f}"))
                    .unwrap_or_default();
                let message = format!(
                    "Job '{}' failed after exhausting its backoffLimit{cause}. The restore is not retried: delete the Job to run a new attempt from the report, or delete the KafkaRestore to give up",
                    job.name_any()
                );
                wants = vec![
                    Want::new(c::READY, false, c::RESTORE_FAILED, &message),
                    Want::new(c::RESTORE_COMPLETE, false, c::RESTORE_FAILED, &message),
                    Want::new(c::ERROR, true, c::RESTORE_FAILED, &message),
                ];
            }
            _ if !enabled => {
                if !suspended {
                    plan.suspend_job = Some((job.name_any(), true));
                }
                wants = disabled_wants(&format!(
                    "spec.enabled is false: Job '{}' is suspended until it is true again",
                    job.name_any()
                ));
            }
            _ if suspended && observed.active_pods > 0 => {
                // Resuming now would start a pod beside one still stopping: two writers
                // of one report (R5).
                plan.requeue = Requeue::Soon;
                wants = running_wants(&format!(
                    "spec.enabled is true: Job '{}' resumes once {} pod(s) of the restore have stopped",
                    job.name_any(),
                    observed.active_pods
                ));
            }
            _ => {
                if suspended {
                    plan.suspend_job = Some((job.name_any(), false));
                }
                // The message the Job was made with (which says whether it resumes or
                // continues) stays while it runs: rewording it would be one more status
                // write for every new restore.
                let quoted = format!("'{}'", job.name_any());
                let message = old_status
                    .conditions
                    .iter()
                    .find(|c| {
                        c.type_ == c::READY
                            && c.reason == c::RESTORE_RUNNING
                            && c.message.contains(&quoted)
                    })
                    .map(|c| c.message.clone())
                    .unwrap_or_else(|| format!("Job {quoted} (attempt {attempt}) is running"));
                wants = running_wants(&message);
            }
        }
    } else if !enabled {
        wants = disabled_wants("spec.enabled is false: no Job is created until it is true");
        if existing_pvc.is_none() && attempt == 0 {
            let pvc = fresh_pvc(1);
            plan.create_pvc = Some(build::report_pvc(&defaulted, pvc.clone())?);
            pvc_name = Some(pvc);
        }
    } else if observed.active_pods > 0 {
        plan.requeue = Requeue::Soon;
        wants = running_wants(&format!(
            "waiting for {} pod(s) of the previous attempt to stop before attempt {} starts",
            observed.active_pods,
            attempt + 1
        ));
    } else {
        match (&observed.backup_storage, &observed.connection) {
            (Err(blocker), _) | (_, Err(blocker)) => {
                plan.requeue = Requeue::Waiting;
                wants = vec![
                    Want::new(c::READY, false, blocker.reason(), &blocker.message),
                    Want::new(
                        c::RESTORE_COMPLETE,
                        false,
                        blocker.reason(),
                        &blocker.message,
                    ),
                    Want::new(c::ERROR, false, blocker.reason(), "waiting, not failed"),
                ];
            }
            (Ok(_), Ok(_))
                if let Some(other) = other_jobs
                    .iter()
                    .find(|j| j.name_any() == names::restore_job_name(&name, attempt + 1)) =>
            {
                let blocker = Blocker::new(
                    Waiting::NameConflict,
                    ownership::conflict_message(*other, "KafkaRestore"),
                );
                wants = blocked_wants(false, &blocker);
            }
            (Ok(storage), Ok(connection)) => {
                let next = attempt + 1;
                let pvc = match &existing_pvc {
                    Some(pvc) => pvc.clone(),
                    None => {
                        let pvc = fresh_pvc(next);
                        plan.create_pvc = Some(build::report_pvc(&defaulted, pvc.clone())?);
                        pvc
                    }
                };
                let mut config = build::restore_worker_config(&defaulted, storage, connection);
                if let Some(options) = config.restore.as_mut() {
                    options.continue_token = continuation.clone();
                }
                let mut job = build::restore_job(
                    &defaulted,
                    next,
                    &pvc,
                    storage,
                    &config,
                    connection,
                    observed.defaults,
                )?;
                attempt_status = begin(attempt_status, next, job.name_any());
                attempt_status
                    .start_time
                    .get_or_insert_with(|| observed.now.clone());
                let message = if let Some(token) = &continuation {
                    job.annotations_mut()
                        .insert(ANNOTATION_CONTINUE.to_string(), token.clone());
                    continued.push(token.clone());
                    attempt_status.completion_time = None;
                    format!(
                        "continuing with token '{token}': created Job '{}' (attempt {next}) to restore what the backup gained since the restore completed, from the report in '{pvc}'",
                        job.name_any()
                    )
                } else if next == 1 {
                    format!("created Job '{}'", job.name_any())
                } else {
                    format!(
                        "resuming from the report in '{pvc}': created Job '{}' (attempt {next})",
                        job.name_any()
                    )
                };
                plan.create_job = Some(job);
                pvc_name = Some(pvc);
                wants = running_wants(&message);
            }
        }
    }

    if let Some(pvc) = &pvc_name {
        attempt_status.report_pvc = Some(pvc.clone());
        plan.labels
            .insert(LABEL_REPORT_PVC_NAME.to_string(), pvc.clone());
    }
    if !attempt_status.job_name.is_empty() {
        plan.labels.insert(
            LABEL_RESTORE_JOB_NAME.to_string(),
            attempt_status.job_name.clone(),
        );
    }
    let generation = restore.metadata.generation;
    plan.status = KafkaRestoreStatus {
        observed_generation: generation,
        conditions: conditions::merge(
            &old_status.conditions,
            &wants,
            generation,
            observed.now.clone(),
        ),
        restore: (!attempt_status.job_name.is_empty() || attempt_status.report_pvc.is_some())
            .then_some(attempt_status),
        continued,
    };
    plan.announce = conditions::announcement(&old_status.conditions, &plan.status.conditions);
    Ok(plan)
}

/// Paused (`strimzi.io/pause-reconciliation: "true"`) or being deleted: nothing is
/// made or changed; cleanup is the finalizer's work.
pub fn is_idle(restore: &KafkaRestore) -> bool {
    restore.metadata.deletion_timestamp.is_some() || crate::controller::is_paused(restore)
}

#[cfg(test)]
mod tests;
