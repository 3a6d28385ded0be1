//! The pure policy both the admission webhook and the controller apply: defaults
//! (R2 and the rest) and validation of creates and updates (R7). No IO, no clock.
//!
//! Validation always runs on a defaulted copy, so a manifest that leaves a defaulted
//! field out means the same as one that spells the default out.

pub mod defaults;
pub mod syntax;
pub mod validate;

use std::fmt;

pub use defaults::{default_backup, default_restore};
pub use validate::{
    validate_backup, validate_backup_update, validate_restore, validate_restore_update,
};

/// A reason to refuse an object, naming the field and the way out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// JSON path of the field, e.g. `spec.schedule.cron`.
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The outcome of validating one object: refusals and risky-but-legal warnings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Review {
    pub violations: Vec<Violation>,
    pub warnings: Vec<String>,
}

impl Review {
    /// Whether the object may be admitted.
    pub fn is_allowed(&self) -> bool {
        self.violations.is_empty()
    }

    pub(crate) fn violation(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.violations.push(Violation {
            field: field.into(),
            message: message.into(),
        });
    }

    pub(crate) fn warning(&mut self, field: &str, message: impl fmt::Display) {
        self.warnings.push(format!("{field}: {message}"));
    }

    /// All violations as one message, as the webhook returns it.
    pub fn denial_message(&self) -> String {
        self.violations
            .iter()
            .map(Violation::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}
