//! The controller: reconciles KafkaRestore and KafkaBackup into Jobs, CronJobs,
//! ConfigMaps and PVCs. Each kind is a pipeline in its own module (`restore`, `backup`):
//! observe (IO), plan (pure), confirm a new Job with a live read (IO, R1), apply (IO),
//! write status only when it changed (IO, R3), and publish an Event on a transition.
//! Shared steps: `calls` (API calls), `status`, `events`, `observe`, `cleanup` (the
//! finalizer, R4), `error`, and `run` (watches, caches, leader election).

pub mod backup;
pub mod build;
pub(crate) mod calls;
pub(crate) mod cleanup;
pub mod conditions;
pub mod error;
pub(crate) mod events;
pub mod health;
pub mod metrics;
pub mod names;
pub(crate) mod observe;
pub mod ownership;
pub mod restore;
pub mod run;
pub(crate) mod status;
pub mod strimzi;
pub mod waiting;

use k8s_openapi::api::batch::v1::Job;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::Store;
use kube::{Client, Resource};

pub use self::backup::reconcile_backup;
use self::build::JobDefaults;
pub use self::error::{Error, Result, error_policy};
use self::metrics::ControllerMetrics;
pub use self::restore::reconcile_restore;
pub use self::run::{
    LeaderElection, Scope, cache_restore_jobs, run_controllers, run_with_leader_election,
};
use crate::constants::{ANNOTATION_PAUSE, FIELD_MANAGER};

/// Whether a resource carries `strimzi.io/pause-reconciliation: "true"`.
pub fn is_paused<K: Resource>(resource: &K) -> bool {
    resource
        .meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_PAUSE))
        .is_some_and(|v| v == "true")
}

/// Shared state of the reconcilers.
pub struct Context {
    pub client: Client,
    /// Cache of restore Jobs, fed by the Job watch.
    pub restore_jobs: Store<Job>,
    pub defaults: JobDefaults,
    pub metrics: ControllerMetrics,
    pub recorder: Recorder,
}

impl Context {
    pub fn new(
        client: Client,
        restore_jobs: Store<Job>,
        defaults: JobDefaults,
        metrics: ControllerMetrics,
        instance: String,
    ) -> Self {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: FIELD_MANAGER.into(),
                instance: Some(instance),
            },
        );
        Self {
            client,
            restore_jobs,
            defaults,
            metrics,
            recorder,
        }
    }
}
