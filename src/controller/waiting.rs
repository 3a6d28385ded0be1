//! Why a resource cannot go on for now, and what follows from each reason: the condition
//! reason, the Event type, and when to look again. Pure.

use std::time::Duration;

use kube::runtime::controller::Action;
use kube::runtime::events::EventType;

use crate::api::condition as c;

/// When a resource is reconciled again if no watch event comes first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Requeue {
    /// Settled or driven by watches: only the periodic resync.
    #[default]
    Resync,
    /// Waiting for something not watched (a KafkaBackup, a Strimzi Kafka).
    Waiting,
    /// Waiting for pods to stop: soon, since pods are not watched.
    Soon,
    /// Nothing changes until the resource does (a spec to fix): no timer at all.
    OnChange,
}

impl Requeue {
    /// The interval of a timed requeue; [`Requeue::OnChange`] has none and falls back
    /// to the resync interval where a duration is needed.
    pub const fn after(self) -> Duration {
        match self {
            Requeue::Resync | Requeue::OnChange => Duration::from_secs(300),
            Requeue::Waiting => Duration::from_secs(30),
            Requeue::Soon => Duration::from_secs(3),
        }
    }

    /// What the controller is told at the end of a reconcile.
    pub fn action(self) -> Action {
        match self {
            Requeue::OnChange => Action::await_change(),
            timed => Action::requeue(timed.after()),
        }
    }
}

/// Why a resource waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiting {
    /// The spec breaks a rule the webhook would have refused.
    InvalidSpec,
    /// A child's deterministic name is taken by an object the resource does not own.
    NameConflict,
    /// The KafkaBackup a restore names does not exist (yet).
    BackupNotFound,
    /// The Strimzi Kafka cluster is missing or has no usable listener (yet).
    ClusterNotReady,
    /// The Strimzi KafkaUser is missing, not ready, or of another authentication.
    UserNotReady,
    /// The restore ran, or runs, under another operator.
    StartedElsewhere,
}

impl Waiting {
    /// The condition reason, as status shows it.
    pub const fn reason(self) -> &'static str {
        match self {
            Waiting::InvalidSpec => c::INVALID_SPEC,
            Waiting::NameConflict => c::NAME_CONFLICT,
            Waiting::BackupNotFound => "BackupNotFound",
            Waiting::ClusterNotReady => "ClusterNotReady",
            Waiting::UserNotReady => "KafkaUserNotReady",
            Waiting::StartedElsewhere => "StartedElsewhere",
        }
    }

    /// Every reason a resource waits for needs someone to look: a Warning.
    pub fn event_type(self) -> EventType {
        EventType::Warning
    }

    /// When to look again: a spec only changes with a watch event; the rest is not
    /// watched, so it is looked at again after a while.
    pub const fn requeue(self) -> Requeue {
        match self {
            Waiting::InvalidSpec | Waiting::StartedElsewhere => Requeue::OnChange,
            Waiting::NameConflict
            | Waiting::BackupNotFound
            | Waiting::ClusterNotReady
            | Waiting::UserNotReady => Requeue::Waiting,
        }
    }

    /// The reason of a condition, read back from status.
    pub fn from_reason(reason: &str) -> Option<Self> {
        [
            Waiting::InvalidSpec,
            Waiting::NameConflict,
            Waiting::BackupNotFound,
            Waiting::ClusterNotReady,
            Waiting::UserNotReady,
            Waiting::StartedElsewhere,
        ]
        .into_iter()
        .find(|w| w.reason() == reason)
    }
}

/// Something that keeps a resource from going on, and the message for its user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocker {
    pub why: Waiting,
    pub message: String,
}

impl Blocker {
    pub fn new(why: Waiting, message: impl Into<String>) -> Self {
        Self {
            why,
            message: message.into(),
        }
    }

    /// The condition reason.
    pub fn reason(&self) -> &'static str {
        self.why.reason()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_reads_back_and_warns() {
        for why in [
            Waiting::InvalidSpec,
            Waiting::NameConflict,
            Waiting::BackupNotFound,
            Waiting::ClusterNotReady,
            Waiting::UserNotReady,
            Waiting::StartedElsewhere,
        ] {
            assert_eq!(Waiting::from_reason(why.reason()), Some(why));
            assert_eq!(why.event_type(), EventType::Warning);
        }
        assert_eq!(Waiting::from_reason(c::RESTORE_RUNNING), None);
        assert_eq!(
            Waiting::ClusterNotReady.requeue().after(),
            Duration::from_secs(30)
        );
    }
}
