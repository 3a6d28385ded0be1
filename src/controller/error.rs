//! Why a reconcile failed: each API call carries what it did to which object, the class
//! of a failure (for metrics and the requeue) follows from its variant, and the requeue
//! after a failure from its class.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use kube::Resource;
use kube::runtime::controller::Action;
use kube::runtime::finalizer;

use crate::controller::Context;
use crate::controller::build;
use crate::controller::calls::API_TIMEOUT;
use crate::controller::waiting::Waiting;

/// One call to the API: what was done to which object (a name, or a label selector for a
/// list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub verb: &'static str,
    pub kind: String,
    pub object: String,
}

impl Call {
    /// A call on an object of kind `K`.
    pub fn on<K>(verb: &'static str, object: impl Into<String>) -> Self
    where
        K: Resource,
        K::DynamicType: Default,
    {
        Self::of_kind(verb, &K::kind(&K::DynamicType::default()), object)
    }

    /// A call on an object of a kind known by name only (a Strimzi `Kafka`).
    pub fn of_kind(verb: &'static str, kind: &str, object: impl Into<String>) -> Self {
        Self {
            verb,
            kind: kind.to_string(),
            object: object.into(),
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} '{}'", self.verb, self.kind, self.object)
    }
}

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{call}: {source}")]
    Api {
        call: Call,
        #[source]
        source: kube::Error,
    },
    #[error("{call}: the API did not answer within {API_TIMEOUT:?}")]
    Timeout { call: Call },
    #[error("{call}: serializing the object: {source}")]
    Serialize {
        call: Call,
        #[source]
        source: serde_json::Error,
    },
    #[error("building a child: {0}")]
    Build(#[from] build::BuildError),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
    #[error("{0}")]
    NameTaken(String),
    #[error("the operator's caches have not finished their first listing; retrying")]
    CacheNotReady,
    #[error(
        "KafkaRestore '{restore}': Jobs of a hundred attempts after attempt {from} exist, more than the operator ever makes unseen; delete the Jobs of attempts the restore does not record"
    )]
    TooManyAttempts { restore: String, from: i32 },
}

/// How many attempts beyond the newest known a live read of a restore's Jobs follows
/// before it gives up: the operator makes Jobs one at a time, so never more than one is
/// unseen.
pub(crate) const MAX_UNSEEN_ATTEMPTS: i32 = 100;

/// What kind of failure a reconcile had: the metrics label and the requeue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Someone else wrote the object first: retry at once with a fresh read.
    Conflict,
    /// RBAC refused a call: a person must act.
    Forbidden,
    /// Any other answer of the API, or none.
    Api,
    Timeout,
    /// A child could not be built from the spec: a person must act.
    Build,
    /// An object of our deterministic name belongs to someone else.
    NameTaken,
    /// The finalizer helper failed on its own (not in our apply or cleanup).
    Finalizer,
    /// The namespace is being deleted and refuses new objects: the resource itself goes
    /// with it, so nothing is retried (its deletion starts the cleanup).
    NamespaceTerminating,
}

impl ErrorClass {
    /// The label in `kafka_backup_reconcile_errors_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Conflict => "conflict",
            ErrorClass::Forbidden => "forbidden",
            ErrorClass::Api => "api",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Build => "build",
            ErrorClass::NameTaken => "name-taken",
            ErrorClass::Finalizer => "finalizer",
            ErrorClass::NamespaceTerminating => "namespace-terminating",
        }
    }

    /// When to reconcile again after a failure of this class.
    pub fn requeue(self) -> Duration {
        match self {
            ErrorClass::Conflict => Duration::from_secs(1),
            ErrorClass::Forbidden | ErrorClass::Build => Duration::from_secs(120),
            ErrorClass::NameTaken => Waiting::NameConflict.requeue().after(),
            ErrorClass::Api | ErrorClass::Timeout | ErrorClass::Finalizer => {
                Duration::from_secs(15)
            }
            // Not retried (see `error_policy`); the value only bounds a caller that does.
            ErrorClass::NamespaceTerminating => MAX_BACKOFF,
        }
    }
}

impl Error {
    /// The class of this failure.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Api { .. } => match self.status_code() {
                Some(409) => ErrorClass::Conflict,
                Some(403) if self.namespace_terminating() => ErrorClass::NamespaceTerminating,
                Some(403) => ErrorClass::Forbidden,
                _ => ErrorClass::Api,
            },
            Error::Timeout { .. } | Error::CacheNotReady => ErrorClass::Timeout,
            Error::TooManyAttempts { .. } => ErrorClass::Api,
            Error::Serialize { .. } | Error::Build(_) => ErrorClass::Build,
            Error::NameTaken(_) => ErrorClass::NameTaken,
            Error::Finalizer(inner) => match inner.as_ref() {
                finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e.class(),
                _ => ErrorClass::Finalizer,
            },
        }
    }

    /// Whether the API refused a create because the namespace is being deleted.
    fn namespace_terminating(&self) -> bool {
        match self {
            Error::Api {
                source: kube::Error::Api(status),
                ..
            } => status.message.contains("because it is being terminated"),
            _ => false,
        }
    }

    /// The HTTP status the API answered with, when it answered with one.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Error::Api {
                source: kube::Error::Api(status),
                ..
            } => Some(status.code),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Requeue after an error by its class (conflicts retry soon), backing off per object:
/// each failure in a row doubles the wait, up to five minutes, with ±20% jitter so that
/// many objects failing together (an API server under load) do not retry together.
pub fn error_policy<K: kube::Resource>(
    resource: Arc<K>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    let class = error.class();
    if class == ErrorClass::NamespaceTerminating {
        tracing::info!(%error, "the namespace is being deleted; not retried");
        return Action::await_change();
    }
    let failures = ctx
        .failures
        .record(resource.meta().uid.as_deref().unwrap_or_default());
    let after = backoff(class, failures, fastrand::f64());
    tracing::warn!(%error, class = class.as_str(), failures, retry_in = ?after, "reconcile failed");
    Action::requeue(after)
}

/// The longest wait after failures in a row.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The wait before the next reconcile after `failures` failures in a row, the last of
/// `class`; `unit` in [0, 1) draws the jitter. Pure.
pub fn backoff(class: ErrorClass, failures: u32, unit: f64) -> Duration {
    let base = class.requeue();
    let doubled = match class {
        ErrorClass::Conflict => base,
        _ => base
            .saturating_mul(1 << failures.clamp(1, 10).saturating_sub(1))
            .min(MAX_BACKOFF.max(base)),
    };
    doubled.mul_f64(0.8 + 0.4 * unit)
}

/// Failures in a row per object (by UID), forgotten at its next successful reconcile.
#[derive(Debug, Default)]
pub struct Failures(std::sync::Mutex<std::collections::HashMap<String, u32>>);

impl Failures {
    /// Counts one more failure of `uid`; returns how many in a row.
    pub fn record(&self, uid: &str) -> u32 {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(uid.to_string()).or_insert(0);
        *n = n.saturating_add(1);
        *n
    }

    /// Forgets the failures of `uid`.
    pub fn succeeded(&self, uid: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::Job;

    fn api_error(code: u16) -> Error {
        Error::Api {
            call: Call::on::<Job>("create", "restore-orders-restore-1"),
            source: kube::Error::Api(Box::new(
                kube::core::Status::failure("refused", "Refused").with_code(code),
            )),
        }
    }

    #[test]
    fn a_failure_names_the_call_and_the_object() {
        let message = api_error(403).to_string();
        assert!(
            message.starts_with("create Job 'restore-orders-restore-1': "),
            "{message}"
        );
        let timeout = Error::Timeout {
            call: Call::of_kind("get", "Kafka", "my-cluster"),
        };
        assert!(timeout.to_string().starts_with("get Kafka 'my-cluster': "));
    }

    #[test]
    fn failures_in_a_row_back_off_with_jitter_up_to_five_minutes() {
        let secs = |class, n, unit| backoff(class, n, unit).as_secs_f64();
        assert_eq!(secs(ErrorClass::Api, 1, 0.5), 15.0);
        assert_eq!(secs(ErrorClass::Api, 2, 0.5), 30.0);
        assert_eq!(secs(ErrorClass::Api, 5, 0.5), 240.0);
        assert_eq!(secs(ErrorClass::Api, 50, 0.5), 300.0);
        assert_eq!(secs(ErrorClass::Conflict, 50, 0.5), 1.0);
        assert_eq!(secs(ErrorClass::Forbidden, 9, 0.5), 300.0);
        assert!((secs(ErrorClass::Api, 1, 0.0) - 12.0).abs() < 1e-9);
        assert!((secs(ErrorClass::Api, 1, 0.999_999) - 18.0).abs() < 1e-3);

        let failures = Failures::default();
        assert_eq!(failures.record("a"), 1);
        assert_eq!(failures.record("a"), 2);
        assert_eq!(failures.record("b"), 1);
        failures.succeeded("a");
        assert_eq!(failures.record("a"), 1);
    }

    #[test]
    fn the_class_and_requeue_follow_from_the_variant() {
        let cases = [
            (api_error(409), ErrorClass::Conflict, 1),
            (api_error(403), ErrorClass::Forbidden, 120),
            (api_error(500), ErrorClass::Api, 15),
            (
                Error::Timeout {
                    call: Call::on::<Job>("list", "a=b"),
                },
                ErrorClass::Timeout,
                15,
            ),
            (Error::NameTaken("taken".into()), ErrorClass::NameTaken, 30),
            (
                Error::Api {
                    call: Call::on::<Job>("create", "restore-orders-restore-2"),
                    source: kube::Error::Api(Box::new(
                        kube::core::Status::failure(
                            "jobs.batch \"restore-orders-restore-2\" is forbidden: unable to create new content in namespace kafka because it is being terminated",
                            "Forbidden",
                        )
                        .with_code(403),
                    )),
                },
                ErrorClass::NamespaceTerminating,
                300,
            ),
            (
                Error::Finalizer(Box::new(finalizer::Error::ApplyFailed(api_error(409)))),
                ErrorClass::Conflict,
                1,
            ),
        ];
        for (error, class, seconds) in cases {
            assert_eq!(error.class(), class, "{error}");
            assert_eq!(class.requeue(), Duration::from_secs(seconds), "{error}");
        }
    }
}
