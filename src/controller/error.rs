//! Why a reconcile failed, its class for metrics, and the requeue after a failure.

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self};

use crate::controller::build;
use crate::controller::calls::API_TIMEOUT;
use crate::controller::{Context, WAIT_RETRY};

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("building a child: {0}")]
    Build(#[from] build::BuildError),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
    #[error("the API did not answer within {API_TIMEOUT:?}")]
    Timeout,
    #[error("serializing: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("{0}")]
    NameTaken(String),
}

impl Error {
    /// A short, stable label for metrics and logs.
    pub fn class(&self) -> &'static str {
        match self {
            Error::Kube(kube::Error::Api(status)) if status.code == 409 => "conflict",
            Error::Kube(kube::Error::Api(status)) if status.code == 403 => "forbidden",
            Error::Kube(_) => "api",
            Error::Build(_) => "build",
            Error::Finalizer(inner) => match inner.as_ref() {
                finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e.class(),
                _ => "finalizer",
            },
            Error::Timeout => "timeout",
            Error::Serialize(_) => "build",
            Error::NameTaken(_) => "name-taken",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Requeue after an error by its class: conflicts retry soon, the rest back off.
pub fn error_policy<K>(_resource: Arc<K>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(%error, class = error.class(), "reconcile failed");
    match error.class() {
        "conflict" => Action::requeue(Duration::from_secs(1)),
        "forbidden" | "build" => Action::requeue(Duration::from_secs(120)),
        "name-taken" => Action::requeue(WAIT_RETRY),
        _ => Action::requeue(Duration::from_secs(15)),
    }
}
