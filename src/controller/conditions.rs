//! Status conditions, computed from the old ones and what is true now (R3):
//! `lastTransitionTime` moves only when a condition's status changes. No IO.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// One condition as the planner wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Want {
    pub type_: &'static str,
    pub status: bool,
    pub reason: &'static str,
    pub message: String,
}

impl Want {
    pub fn new(
        type_: &'static str,
        status: bool,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            type_,
            status,
            reason,
            message: message.into(),
        }
    }
}

fn status_text(status: bool) -> &'static str {
    if status { "True" } else { "False" }
}

/// The new condition list: every wanted condition, keeping the old transition time when
/// its status is unchanged; conditions not wanted are dropped. Order follows `wanted`.
pub fn merge(
    old: &[Condition],
    wanted: &[Want],
    generation: Option<i64>,
    now: Time,
) -> Vec<Condition> {
    wanted
        .iter()
        .map(|want| {
            let status = status_text(want.status).to_string();
            let last_transition_time = old
                .iter()
                .find(|c| c.type_ == want.type_ && c.status == status)
                .map(|c| c.last_transition_time.clone())
                .unwrap_or_else(|| now.clone());
            Condition {
                type_: want.type_.to_string(),
                status,
                reason: want.reason.to_string(),
                message: want.message.clone(),
                last_transition_time,
                observed_generation: generation,
            }
        })
        .collect()
}

/// The Event a change of status calls for: the new Ready reason with its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    pub reason: String,
    pub message: String,
    /// A Warning (a failure, or something that waits on a person or on the cluster);
    /// Normal otherwise.
    pub warning: bool,
}

/// The Event to publish when the Ready reason changes from `old` to `new`; none when it
/// stays.
pub fn announcement(old: &[Condition], new: &[Condition]) -> Option<Announcement> {
    let reason = ready_reason(new)?;
    if ready_reason(old) == Some(reason) {
        return None;
    }
    Some(Announcement {
        reason: reason.to_string(),
        message: new.first().map(|c| c.message.clone()).unwrap_or_default(),
        warning: is_warning(reason),
    })
}

/// Whether a Ready reason needs someone to look: a failure or a reason to wait.
pub fn is_warning(reason: &str) -> bool {
    use crate::api::condition as c;
    matches!(reason, c::RESTORE_FAILED | c::BACKUP_FAILED)
        || crate::controller::waiting::Waiting::from_reason(reason)
            .is_some_and(|w| w.event_type() == kube::runtime::events::EventType::Warning)
}

/// The reason of the `Ready` condition, if any.
pub fn ready_reason(conditions: &[Condition]) -> Option<&str> {
    conditions
        .iter()
        .find(|c| c.type_ == crate::api::condition::READY)
        .map(|c| c.reason.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Time {
        Time(jiff::Timestamp::from_second(seconds).unwrap())
    }

    #[test]
    fn r3_transition_time_changes_only_with_status() {
        let first = merge(
            &[],
            &[Want::new("Ready", false, "RestoreRunning", "running")],
            Some(1),
            at(10),
        );
        assert_eq!(first[0].last_transition_time, at(10));

        // Same status, new reason and message: the time stays.
        let second = merge(
            &first,
            &[Want::new("Ready", false, "RestoreFailed", "failed")],
            Some(1),
            at(20),
        );
        assert_eq!(second[0].last_transition_time, at(10));
        assert_eq!(second[0].reason, "RestoreFailed");

        // Status flips: the time moves.
        let third = merge(
            &second,
            &[Want::new("Ready", true, "RestoreCompleted", "done")],
            Some(2),
            at(30),
        );
        assert_eq!(third[0].last_transition_time, at(30));
        assert_eq!(third[0].status, "True");
        assert_eq!(third[0].observed_generation, Some(2));
    }

    #[test]
    fn r3_merge_is_stable_so_unchanged_status_is_not_rewritten() {
        let wanted = [
            Want::new("Ready", true, "RestoreCompleted", "done"),
            Want::new("RestoreComplete", true, "RestoreCompleted", "done"),
        ];
        let once = merge(&[], &wanted, Some(1), at(10));
        let twice = merge(&once, &wanted, Some(1), at(99));
        assert_eq!(once, twice);
    }

    #[test]
    fn conditions_no_longer_wanted_are_dropped() {
        let old = merge(
            &[],
            &[Want::new("Error", true, "RestoreFailed", "x")],
            None,
            at(1),
        );
        let new = merge(
            &old,
            &[Want::new("Ready", false, "RestoreRunning", "y")],
            None,
            at(2),
        );
        assert_eq!(new.len(), 1);
        assert_eq!(ready_reason(&new), Some("RestoreRunning"));
    }
}
