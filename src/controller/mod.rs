//! The controller: reconciles KafkaRestore and KafkaBackup into Jobs, CronJobs,
//! ConfigMaps and PVCs. Each kind is a pipeline in its own module (`restore`, `backup`):
//! observe (IO), plan (pure), confirm a new Job with a live read (IO, R1), apply (IO),
//! write status only when it changed (IO, R3), and publish an Event on a transition.
//! Shared steps: `calls` (API calls), `status`, `events`, `observe`, `cleanup` (the
//! finalizer, R4), `error`, and `run` (watches, caches, leader election).

pub mod backup;
pub mod build;
pub mod cached_job;
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
pub mod resource_metrics;
pub mod restore;
pub mod run;
pub(crate) mod status;
pub mod strimzi;
pub mod waiting;

use self::cached_job::CachedJob;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim};
use kube::core::PartialObjectMeta;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
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
use crate::api::{KafkaBackup, KafkaRestore};
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

/// The caches a reconcile reads instead of the API, each fed by a watch of what the
/// operator made (or of the KafkaBackups): what a reconcile reads on every pass costs
/// the API server nothing. Decisions to create or resume a Job confirm with live reads
/// by name (R1).
#[derive(Clone)]
pub struct Caches {
    /// Restore Jobs, without their pod template.
    pub restore_jobs: Store<CachedJob>,
    /// The PVCs the operator made, their metadata only.
    pub pvcs: Store<PartialObjectMeta<PersistentVolumeClaim>>,
    /// Every KafkaBackup the backup controller watches.
    pub backups: Store<KafkaBackup>,
    /// Every KafkaRestore the restore controller watches.
    pub restores: Store<KafkaRestore>,
    /// The namespaces the controllers watch, metadata only: whether one is being deleted.
    pub namespaces: Store<PartialObjectMeta<Namespace>>,
}

impl Caches {
    /// How long a reconcile waits for the caches' first listing after a start.
    const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

    /// Waits until every cache has had its first listing, so that a reconcile right
    /// after a start never takes "not listed yet" for "absent".
    pub async fn ready(&self) -> Result<()> {
        let ready = async {
            self.restore_jobs.wait_until_ready().await?;
            self.pvcs.wait_until_ready().await?;
            self.backups.wait_until_ready().await?;
            self.restores.wait_until_ready().await
        };
        match tokio::time::timeout(Self::READY_TIMEOUT, ready).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(Error::CacheNotReady),
        }
    }

    /// Whether `namespace` is being deleted: the namespace controller then deletes
    /// everything in it, so the operator neither makes nor removes anything there. Not
    /// known (the namespace cache not listed yet, or not permitted) reads as false: the
    /// API's refusal of a create there is then the signal (see `ErrorClass`).
    pub fn namespace_terminating(&self, namespace: &str) -> bool {
        self.namespaces
            .get(&ObjectRef::new(namespace))
            .is_some_and(|ns| ns.metadata.deletion_timestamp.is_some())
    }
}

/// The objects of `store` in `namespace` labelled as made for the restore `name`.
pub(crate) fn restore_children<K>(store: &Store<K>, namespace: &str, name: &str) -> Vec<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    store
        .state()
        .iter()
        .filter(|o| {
            let meta = o.meta();
            meta.namespace.as_deref() == Some(namespace)
                && meta
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(crate::constants::LABEL_RESTORE))
                    .map(String::as_str)
                    == Some(name)
        })
        .map(|o| (**o).clone())
        .collect()
}

/// The versions of each resource, by UID, that the operator's last status or label
/// writes have replaced: until the watch brings the version the last write made, the
/// cache shows the resource as it was before it, and a reconcile triggered meanwhile (by
/// a Job the same reconcile made, or by the event of the status write that preceded the
/// label write) would find the status or labels "changed" and write them again. Such a
/// reconcile is skipped instead: the event of the last write is on its way and
/// reconciles.
#[derive(Debug, Default)]
pub struct OwnWrites(std::sync::Mutex<std::collections::HashMap<String, Vec<String>>>);

impl OwnWrites {
    /// The operator wrote over `resource` as it was at its resourceVersion, and its
    /// writes went through the versions `passed` (the answers of all but the last).
    pub fn wrote<K: Resource>(&self, resource: &K, passed: &[String]) {
        let meta = resource.meta();
        if let (Some(uid), Some(version)) = (&meta.uid, &meta.resource_version) {
            let mut versions = vec![version.clone()];
            versions.extend(passed.iter().cloned());
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            map.insert(uid.clone(), versions);
        }
    }

    /// Whether `resource` is a version the operator's last write replaced (the cache
    /// has not caught up with it). Any other version forgets the writes.
    pub fn is_behind<K: Resource>(&self, resource: &K) -> bool {
        let meta = resource.meta();
        let (Some(uid), Some(version)) = (&meta.uid, &meta.resource_version) else {
            return false;
        };
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(uid) {
            Some(versions) if versions.contains(version) => true,
            Some(_) => {
                map.remove(uid);
                false
            }
            None => false,
        }
    }
}

/// Shared state of the reconcilers.
pub struct Context {
    pub client: Client,
    pub caches: Caches,
    pub defaults: JobDefaults,
    pub metrics: ControllerMetrics,
    /// The Event queue, and the count of running reconciles it waits on.
    pub events: events::Events,
    /// Failures in a row per object, for the error backoff.
    pub failures: error::Failures,
    /// Writes the caches have not shown yet.
    pub own_writes: OwnWrites,
    /// Bursts of new restores (see `restore::burst`).
    pub burst: restore::burst::Burst,
}

/// How hard the controllers may press on the API server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Reconciles that run at the same time, per kind (`0`: no bound).
    pub concurrency: u16,
    /// The requests a second the controllers' client sends at most (see
    /// [`crate::cluster::connect`]; `0`: no limit).
    pub requests_per_second: u32,
}

impl Context {
    /// The context of controllers within `limits`; starts the task that writes their
    /// Events (see `events`).
    pub fn new(
        client: Client,
        caches: Caches,
        defaults: JobDefaults,
        metrics: ControllerMetrics,
        instance: String,
        limits: Limits,
    ) -> Self {
        let concurrency = limits.concurrency;
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: FIELD_MANAGER.into(),
                instance: Some(instance),
            },
        );
        let events = events::Events::start(recorder, usize::from(concurrency), metrics.clone());
        Self {
            client,
            caches,
            defaults,
            metrics,
            events,
            failures: Default::default(),
            own_writes: Default::default(),
            burst: restore::burst::Burst::new(usize::from(concurrency), limits.requests_per_second),
        }
    }
}
