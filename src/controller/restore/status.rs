//! The conditions of a restore: running, disabled, blocked; the status of a restore
//! whose plan could not be made, and the plan of one whose spec breaks a rule. Pure.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use std::collections::BTreeMap;

use kube::ResourceExt;

use super::plan::RestorePlan;
use crate::api::{KafkaRestore, KafkaRestoreStatus, condition as c};
use crate::constants::{LABEL_REPORT_PVC_NAME, LABEL_RESTORE_JOB_NAME};
use crate::controller::conditions::{self, Want};
use crate::controller::waiting::{Blocker, Waiting};

pub(super) fn running_wants(message: &str) -> Vec<Want> {
    vec![
        Want::new(c::READY, false, c::RESTORE_RUNNING, message),
        Want::new(c::RESTORE_COMPLETE, false, c::RESTORE_RUNNING, message),
        Want::new(c::ERROR, false, c::RESTORE_RUNNING, "no error"),
    ]
}

/// Conditions of a restore that cannot go on until a person acts.
pub(super) fn blocked_wants(completed: bool, blocker: &Blocker) -> Vec<Want> {
    vec![
        Want::new(c::READY, false, blocker.reason(), &blocker.message),
        Want::new(
            c::RESTORE_COMPLETE,
            completed,
            blocker.reason(),
            &blocker.message,
        ),
        Want::new(c::ERROR, true, blocker.reason(), &blocker.message),
    ]
}

pub(super) fn disabled_wants(message: &str) -> Vec<Want> {
    vec![
        Want::new(c::READY, false, c::RESTORE_DISABLED, message),
        Want::new(c::RESTORE_COMPLETE, false, c::RESTORE_DISABLED, message),
        Want::new(c::ERROR, false, c::RESTORE_DISABLED, "no error"),
    ]
}

/// The status with nothing but the attempt bookkeeping, for a restore whose plan could
/// not be made (an unusable spec): the reason is shown, nothing else changes.
fn blocked_status(restore: &KafkaRestore, blocker: &Blocker, now: Time) -> KafkaRestoreStatus {
    let old = restore.status.clone().unwrap_or_default();
    let wants = blocked_wants(restore.is_completed(), blocker);
    KafkaRestoreStatus {
        observed_generation: restore.metadata.generation,
        conditions: conditions::merge(&old.conditions, &wants, restore.metadata.generation, now),
        restore: old.restore,
        continued: old.continued,
    }
}

/// The plan of a restore whose spec breaks a rule (R10): no child, the reason in status,
/// and nothing more until the spec changes.
pub fn invalid_spec_plan(restore: &KafkaRestore, message: String, now: Time) -> RestorePlan {
    blocked_plan(restore, Blocker::new(Waiting::InvalidSpec, message), now)
}

/// The plan of a restore that cannot go on: the reason in status and its Event, the
/// labels it has, and when to look again.
pub fn blocked_plan(restore: &KafkaRestore, blocker: Blocker, now: Time) -> RestorePlan {
    let status = blocked_status(restore, &blocker, now);
    let old = restore.status.clone().unwrap_or_default();
    RestorePlan {
        labels: own_labels(restore),
        announce: conditions::announcement(&old.conditions, &status.conditions),
        status,
        requeue: blocker.why.requeue(),
        ..Default::default()
    }
}

/// The operator's labels the restore carries now.
pub(super) fn own_labels(restore: &KafkaRestore) -> BTreeMap<String, String> {
    restore
        .labels()
        .iter()
        .filter(|(k, _)| *k == LABEL_REPORT_PVC_NAME || *k == LABEL_RESTORE_JOB_NAME)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
