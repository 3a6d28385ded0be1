//! The attempts of a restore as its Jobs and pods show them: which attempt a Job is,
//! whether it runs, succeeded or failed, and whether a pod may still write the report
//! (R5). Pure.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use crate::api::KafkaRestore;
use crate::api::restore::RestoreAttempt;
use crate::controller::names::LABEL_ATTEMPT;
use crate::controller::ownership;

/// Whether a pod of the restore may still be writing its report: its phase is not final,
/// or it is being deleted. A pod being deleted counts whatever its phase says: the pod
/// garbage collector marks pods `Failed` before their containers are confirmed stopped
/// (an unreachable node), and only the pod's removal proves its end (R5).
pub fn pod_may_still_run(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
        || !matches!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        )
}

/// The Job of the restore's current attempt when it has finished and status does not
/// carry the worker's figures yet: the reconciler reads its pod's termination message.
pub fn finished_job_without_figures<'a>(
    restore: &KafkaRestore,
    jobs: &'a [Job],
) -> Option<&'a Job> {
    let recorded = restore.status.as_ref()?.restore.as_ref()?;
    if recorded.records.is_some() {
        return None;
    }
    jobs.iter()
        .filter(|j| ownership::is_child_of(*j, restore))
        .find(|j| j.name_any() == recorded.job_name)
        .filter(|j| job_state(j) != JobState::Running)
}

/// The status of a new attempt: the worker's figures and failure belong to an attempt,
/// and the next reports its own (its figures count from the start of the restore).
pub(super) fn begin(previous: RestoreAttempt, attempt: i32, job_name: String) -> RestoreAttempt {
    RestoreAttempt {
        attempt,
        job_name,
        records: None,
        bytes: None,
        failure: None,
        ..previous
    }
}

/// The state of a Job as the restore sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum JobState {
    Running,
    Succeeded,
    Failed,
}

pub(super) fn job_state(job: &Job) -> JobState {
    let conditions = job.status.as_ref().and_then(|s| s.conditions.as_ref());
    let holds = |type_: &str| {
        conditions.is_some_and(|cs| cs.iter().any(|c| c.type_ == type_ && c.status == "True"))
    };
    if holds("Complete") {
        JobState::Succeeded
    } else if holds("Failed") {
        JobState::Failed
    } else {
        JobState::Running
    }
}

pub(crate) fn attempt_of(job: &Job) -> Option<i32> {
    job.labels().get(LABEL_ATTEMPT).and_then(|a| a.parse().ok())
}
