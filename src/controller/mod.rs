//! The controller: reconciles KafkaRestore and KafkaBackup into Jobs, CronJobs,
//! ConfigMaps and PVCs. Each reconcile is a pipeline: observe (IO), plan (pure,
//! `restore_plan` / `backup_plan`), confirm a new Job with a live read (IO, R1), apply
//! (IO), write status only when it changed (IO, R3), and publish an Event on a
//! transition. Cleanup on delete goes through the `kafkabackup.com/cleanup` finalizer (R4).

pub mod backup_plan;
pub mod build;
pub mod conditions;
pub mod health;
pub mod metrics;
pub mod names;
pub mod ownership;
pub mod restore_plan;
pub mod strimzi;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, PropagationPolicy,
};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{self, finalizer};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;

use self::backup_plan::{BackupObservation, plan_backup};
use self::build::{Connection, JobDefaults};
use self::metrics::ControllerMetrics;
use self::restore_plan::{Blocker, RestoreObservation, RestorePlan, plan_restore};
use crate::api::backup::BackupStorage;
use crate::api::{ClusterSource, KafkaBackup, KafkaRestore, SecretKeyRef, condition as c};
use crate::constants::{ANNOTATION_PAUSE, FIELD_MANAGER, FINALIZER};
use crate::policy;

/// How long any single API call may take.
const API_TIMEOUT: Duration = Duration::from_secs(20);
/// Resync of a settled resource, as a safety net beside the watches.
const RESYNC: Duration = restore_plan::Requeue::Resync.after();
/// Retry of a resource waiting on something not watched (a KafkaBackup, a Strimzi Kafka).
const WAIT_RETRY: Duration = restore_plan::Requeue::Waiting.after();

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

/// Whether a resource carries `strimzi.io/pause-reconciliation: "true"`.
pub fn is_paused<K: Resource>(resource: &K) -> bool {
    resource
        .meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_PAUSE))
        .is_some_and(|v| v == "true")
}

/// Drops what the planner never reads from a cached Job: its pod template and managed
/// fields, most of its size. Decisions to create use a live read, not the cache (R1).
fn trim_cached_job(job: &mut Job) {
    job.metadata.managed_fields = None;
    if let Some(spec) = job.spec.as_mut() {
        spec.template = Default::default();
    }
}

/// The restore Job cache: the Job watch's events, trimmed, into `writer`'s store. The
/// controller feeds it the Job watch; the memory benchmark feeds it the same Jobs.
pub fn cache_restore_jobs<S>(
    writer: reflector::store::Writer<Job>,
    events: S,
) -> impl futures::Stream<Item = S::Item>
where
    S: futures::Stream<Item = watcher::Result<watcher::Event<Job>>>,
{
    reflector::reflector(writer, events.modify(trim_cached_job))
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

async fn timed<T>(call: impl std::future::Future<Output = Result<T, kube::Error>>) -> Result<T> {
    tokio::time::timeout(API_TIMEOUT, call)
        .await
        .map_err(|_| Error::Timeout)?
        .map_err(Error::Kube)
}

/// `Ok(None)` for 404.
async fn get_opt<K>(api: &Api<K>, name: &str) -> Result<Option<K>>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    timed(api.get_opt(name)).await
}

fn now() -> Time {
    Time(jiff::Timestamp::now())
}

// ---------------------------------------------------------------------------------------
// KafkaRestore

/// Reconciles one KafkaRestore.
pub async fn reconcile_restore(restore: Arc<KafkaRestore>, ctx: Arc<Context>) -> Result<Action> {
    let selector = names::restore_selector(&restore.name_any());
    let apply_ctx = ctx.clone();
    with_cleanup(
        restore,
        &ctx,
        "KafkaRestore",
        &selector,
        true,
        |restore| async move { apply_restore(&restore, &apply_ctx).await },
    )
    .await
}

/// The pods of a restore that still run or are stopping: while any is left, no other pod
/// may start on the same report (R5).
async fn active_restore_pods(ctx: &Context, namespace: &str, name: &str) -> Result<usize> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let selector = ListParams::default().labels(&names::restore_children_selector(name));
    Ok(timed(pods.list(&selector))
        .await?
        .items
        .iter()
        .filter(|p| restore_plan::pod_may_still_run(p))
        .count())
}

async fn apply_restore(restore: &KafkaRestore, ctx: &Context) -> Result<Action> {
    if is_paused(restore) {
        tracing::debug!(restore = %restore.name_any(), "reconciliation paused");
        return Ok(Action::await_change());
    }
    let namespace = restore.namespace().unwrap_or_default();
    let name = restore.name_any();
    let review = policy::validate_restore(restore);
    if !review.is_allowed() {
        let blocker = Blocker {
            reason: c::INVALID_SPEC,
            message: review.denial_message(),
        };
        let status = restore_plan::blocked_status(restore, &blocker, now());
        write_status(ctx, restore, restore.status.as_ref(), &status).await?;
        return Ok(Action::await_change());
    }

    let cached_jobs: Vec<Job> = ctx
        .restore_jobs
        .state()
        .iter()
        .filter(|j| {
            j.namespace().as_deref() == Some(namespace.as_str())
                && j.labels().get(crate::constants::LABEL_RESTORE) == Some(&name)
        })
        .map(|j| (**j).clone())
        .collect();
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
    let pvc_list = timed(pvcs.list(&ListParams::default().labels(&names::restore_selector(&name))))
        .await?
        .items;
    let backup_storage = backup_storage(ctx, &namespace, &restore.spec.backup_ref.name).await?;
    let connection = connection(ctx, &namespace, restore.spec.cluster()).await?;
    let summary = match restore_plan::finished_job_without_figures(restore, &cached_jobs) {
        Some(job) => worker_summary(ctx, &namespace, &job.name_any()).await?,
        None => None,
    };
    let mut observation = RestoreObservation {
        restore,
        jobs: cached_jobs,
        pvcs: pvc_list,
        active_pods: 0,
        backup_storage,
        connection,
        defaults: &ctx.defaults,
        now: now(),
        summary,
    };
    let mut plan = plan_restore(&observation)?;

    // R1: the cache may be stale. A Job is only made, or a suspended one resumed, when a
    // live read of the restore, its Jobs and its pods agrees.
    let live_restore;
    if plan.needs_live_confirmation() {
        let restores: Api<KafkaRestore> = Api::namespaced(ctx.client.clone(), &namespace);
        let Some(fresh) = get_opt(&restores, &name).await? else {
            return Ok(Action::await_change());
        };
        live_restore = fresh;
        let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
        observation.restore = &live_restore;
        observation.jobs =
            timed(jobs.list(&ListParams::default().labels(&names::restore_selector(&name))))
                .await?
                .items;
        observation.active_pods = active_restore_pods(ctx, &namespace, &name).await?;
        plan = plan_restore(&observation)?;
    }
    let current = observation.restore;

    match apply_restore_plan(ctx, current, &plan).await? {
        Applied::Done => {}
        Applied::NameTaken(message) => {
            let blocker = Blocker {
                reason: c::NAME_CONFLICT,
                message,
            };
            let status = restore_plan::blocked_status(current, &blocker, now());
            write_status(ctx, current, current.status.as_ref(), &status).await?;
            announce(ctx, current, current.status.as_ref(), &status).await;
            return Ok(Action::requeue(WAIT_RETRY));
        }
    }
    // Status before labels: a label write that fails must never freeze status.
    write_status(ctx, current, current.status.as_ref(), &plan.status).await?;
    announce(ctx, current, current.status.as_ref(), &plan.status).await;
    let labels_differ = plan
        .labels
        .iter()
        .any(|(k, v)| current.labels().get(k) != Some(v));
    if labels_differ {
        let restores: Api<KafkaRestore> = Api::namespaced(ctx.client.clone(), &namespace);
        timed(restores.patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": plan.labels}})),
        ))
        .await?;
    }
    Ok(Action::requeue(plan.requeue.after()))
}

/// How applying the children of a plan went.
enum Applied {
    Done,
    /// A child's name is held by an object this resource does not own; nothing after it
    /// was applied.
    NameTaken(String),
}

/// Creates and changes the restore's children as planned: the report PVC, the worker
/// ConfigMap, the Job, its suspension, and the removal of a TTL.
async fn apply_restore_plan(
    ctx: &Context,
    restore: &KafkaRestore,
    plan: &RestorePlan,
) -> Result<Applied> {
    let namespace = restore.namespace().unwrap_or_default();
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
    if let Some(pvc) = &plan.create_pvc {
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
        if let Creation::Taken(message) = create_or_adopt(&pvcs, pvc, restore).await? {
            return Ok(Applied::NameTaken(message));
        }
    }
    if let Some(config_map) = &plan.config_map {
        let config_maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
        let existing = get_opt(&config_maps, &config_map.name_any()).await?;
        if let Some(message) = taken_by_another(existing.as_ref(), restore) {
            return Ok(Applied::NameTaken(message));
        }
        apply(&config_maps, config_map).await?;
    }
    if let Some(job) = &plan.create_job {
        match create_or_adopt(&jobs, job, restore).await? {
            Creation::Created => ctx.metrics.job_created("KafkaRestore"),
            Creation::Adopted => {}
            Creation::Taken(message) => return Ok(Applied::NameTaken(message)),
        }
    }
    if let Some((job, suspend)) = &plan.suspend_job {
        timed(jobs.patch(
            job,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"suspend": suspend}})),
        ))
        .await?;
    }
    for job in &plan.clear_ttl {
        timed(jobs.patch(
            job,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"ttlSecondsAfterFinished": null}})),
        ))
        .await?;
        publish(
            ctx,
            restore,
            EventType::Warning,
            "TTLRemoved",
            format!(
                "Job '{job}' had spec.ttlSecondsAfterFinished (a policy may add one); it was removed: \
                 a restore Job that deletes itself would look like a request to resume"
            ),
        )
        .await;
    }
    Ok(Applied::Done)
}

/// The status of either kind: compared as a whole, announced by its Ready reason.
trait ObservedStatus: PartialEq + serde::Serialize {
    fn conditions(&self) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition];
}

impl ObservedStatus for crate::api::KafkaRestoreStatus {
    fn conditions(&self) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition] {
        &self.conditions
    }
}

impl ObservedStatus for crate::api::KafkaBackupStatus {
    fn conditions(&self) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition] {
        &self.conditions
    }
}

/// Writes `new` as the status of `resource` unless it equals `old` (R3: an unchanged
/// status is not written again).
async fn write_status<K, S>(ctx: &Context, resource: &K, old: Option<&S>, new: &S) -> Result<()>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    S: ObservedStatus,
{
    if old == Some(new) {
        return Ok(());
    }
    let api: Api<K> = Api::namespaced(
        ctx.client.clone(),
        &resource.namespace().unwrap_or_default(),
    );
    timed(api.patch_status(
        &resource.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": new })),
    ))
    .await?;
    Ok(())
}

/// Publishes an Event when the Ready reason changes, with the new Ready message.
async fn announce<K, S>(ctx: &Context, resource: &K, old: Option<&S>, new: &S)
where
    K: Resource<DynamicType = ()>,
    S: ObservedStatus,
{
    let old_reason = old.and_then(|s| conditions::ready_reason(s.conditions()));
    let new_reason = conditions::ready_reason(new.conditions());
    if old_reason != new_reason {
        let message = new
            .conditions()
            .first()
            .map(|c| c.message.clone())
            .unwrap_or_default();
        let reason = new_reason.unwrap_or_default();
        publish(ctx, resource, event_type(reason), reason, message).await;
    }
}

/// The summary the worker of a finished Job left in its termination message.
async fn worker_summary(
    ctx: &Context,
    namespace: &str,
    job: &str,
) -> Result<Option<crate::worker::report::Summary>> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let list = timed(pods.list(&ListParams::default().labels(&format!("job-name={job}")))).await?;
    Ok(list
        .items
        .iter()
        .filter_map(|pod| pod.status.as_ref()?.container_statuses.as_ref())
        .flatten()
        .filter_map(|c| c.state.as_ref()?.terminated.as_ref()?.message.as_deref())
        .filter_map(|message| serde_json::from_str(message.trim()).ok())
        .next_back())
}

/// The storage of the KafkaBackup a restore reads from.
async fn backup_storage(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Result<BackupStorage, Blocker>> {
    let backups: Api<KafkaBackup> = Api::namespaced(ctx.client.clone(), namespace);
    Ok(match get_opt(&backups, name).await? {
        Some(backup) => Ok(backup.spec.storage),
        None => Err(Blocker {
            reason: "BackupNotFound",
            message: format!(
                "spec.backupRef.name: KafkaBackup '{name}' not found in namespace '{namespace}'"
            ),
        }),
    })
}

/// How to reach the cluster of a resource: as given, or resolved through Strimzi.
async fn connection(
    ctx: &Context,
    namespace: &str,
    source: Option<ClusterSource<'_>>,
) -> Result<Result<Connection, Blocker>> {
    match source {
        None => Ok(Err(Blocker {
            reason: c::INVALID_SPEC,
            message: "set spec.strimziClusterRef or spec.kafka".into(),
        })),
        Some(ClusterSource::Direct(kafka)) => Ok(Ok(Connection {
            bootstrap_servers: kafka.bootstrap_servers.clone(),
            tls: kafka.tls.is_some(),
            ca_secret: kafka.tls.as_ref().and_then(|t| t.ca_secret.clone()),
            authentication: kafka.authentication.clone(),
        })),
        Some(ClusterSource::Strimzi(reference)) => {
            let api: Api<DynamicObject> =
                Api::namespaced_with(ctx.client.clone(), namespace, &strimzi::kafka_resource());
            let kafka = match timed(api.get_opt(&reference.name)).await {
                Ok(kafka) => kafka,
                // No Strimzi CRD in this cluster: the same answer as a missing cluster.
                Err(Error::Kube(kube::Error::Api(status))) if status.code == 404 => None,
                Err(e) => return Err(e),
            };
            Ok(strimzi::resolve(reference, kafka.as_ref())
                .map(|listener| Connection {
                    bootstrap_servers: listener.bootstrap_servers,
                    tls: listener.ca_secret.is_some(),
                    ca_secret: listener
                        .ca_secret
                        .map(|(name, key)| SecretKeyRef { name, key }),
                    authentication: None,
                })
                .map_err(|e| Blocker {
                    reason: "ClusterNotReady",
                    message: e.to_string(),
                }))
        }
    }
}

// ---------------------------------------------------------------------------------------
// KafkaBackup

/// Reconciles one KafkaBackup.
pub async fn reconcile_backup(backup: Arc<KafkaBackup>, ctx: Arc<Context>) -> Result<Action> {
    let selector = names::backup_selector(&backup.name_any());
    let apply_ctx = ctx.clone();
    with_cleanup(
        backup,
        &ctx,
        "KafkaBackup",
        &selector,
        false,
        |backup| async move { apply_backup(&backup, &apply_ctx).await },
    )
    .await
}

async fn apply_backup(backup: &KafkaBackup, ctx: &Context) -> Result<Action> {
    if is_paused(backup) {
        return Ok(Action::await_change());
    }
    let namespace = backup.namespace().unwrap_or_default();
    let name = backup.name_any();
    let review = policy::validate_backup(backup);
    let connection = if review.is_allowed() {
        connection(ctx, &namespace, backup.spec.cluster()).await?
    } else {
        Err(Blocker {
            reason: c::INVALID_SPEC,
            message: review.denial_message(),
        })
    };
    let selector = ListParams::default().labels(&names::backup_selector(&name));
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
    let cronjobs: Api<CronJob> = Api::namespaced(ctx.client.clone(), &namespace);
    let config_maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
    let cronjob = get_opt(&cronjobs, &names::backup_cronjob_name(&name)).await?;
    let jobs_seen = timed(jobs.list(&selector)).await?.items;
    // Each finished run's figures are read once, when it enters the history (R3).
    let mut summaries = BTreeMap::new();
    for job in backup_plan::runs_to_read(backup, cronjob.as_ref(), &jobs_seen) {
        if let Some(summary) = worker_summary(ctx, &namespace, &job).await? {
            summaries.insert(job, summary);
        }
    }
    let observation = BackupObservation {
        backup,
        config_map: get_opt(&config_maps, &names::backup_config_name(&name)).await?,
        cronjob,
        jobs: jobs_seen,
        summaries,
        connection,
        defaults: &ctx.defaults,
        now: now(),
    };
    let plan = plan_backup(&observation)?;
    if let Some(config_map) = &plan.config_map {
        apply(&config_maps, config_map).await?;
    }
    if let Some(cronjob) = &plan.cronjob {
        apply(&cronjobs, cronjob).await?;
    }
    if let Some(cronjob) = &plan.delete_cronjob {
        timed(cronjobs.delete(cronjob, &background())).await?;
    }
    if let Some(job) = &plan.create_job {
        match create_or_adopt(&jobs, job, backup).await? {
            Creation::Created => ctx.metrics.job_created("KafkaBackup"),
            Creation::Adopted => {}
            Creation::Taken(message) => {
                publish(
                    ctx,
                    backup,
                    EventType::Warning,
                    c::NAME_CONFLICT,
                    message.clone(),
                )
                .await;
                return Err(Error::NameTaken(message));
            }
        }
    }
    write_status(ctx, backup, backup.status.as_ref(), &plan.status).await?;
    announce(ctx, backup, backup.status.as_ref(), &plan.status).await;
    let waiting = observation.connection.is_err()
        || conditions::ready_reason(&plan.status.conditions) == Some(c::NAME_CONFLICT);
    Ok(Action::requeue(if waiting { WAIT_RETRY } else { RESYNC }))
}

// ---------------------------------------------------------------------------------------
// Shared steps

/// The frame of both reconcilers: our finalizer around `apply` and the cleanup of the
/// children labelled by `selector` (R4), and the reconcile metrics.
async fn with_cleanup<K, Fut>(
    resource: Arc<K>,
    ctx: &Context,
    kind: &'static str,
    selector: &str,
    has_report_pvc: bool,
    apply: impl FnOnce(Arc<K>) -> Fut,
) -> Result<Action>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    Fut: std::future::Future<Output = Result<Action>>,
{
    let started = Instant::now();
    let namespace = resource.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
    let result = finalizer(&api, FINALIZER, resource, |event| async {
        match event {
            finalizer::Event::Apply(resource) => apply(resource).await,
            finalizer::Event::Cleanup(resource) => {
                cleanup(
                    ctx,
                    &namespace,
                    selector,
                    resource.meta().uid.as_deref(),
                    has_report_pvc,
                )
                .await
            }
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    ctx.metrics.reconciled(
        kind,
        started.elapsed(),
        result.as_ref().err().map(Error::class),
    );
    result
}

fn background() -> DeleteParams {
    DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..Default::default()
    }
}

/// What a create of a child came to.
enum Creation {
    Created,
    /// It existed already, made for the same owner: adopted, not made twice (R1).
    Adopted,
    /// An object of that name exists that is not the owner's: left alone.
    Taken(String),
}

/// Creates `object` for `owner`. AlreadyExists is adopted only when the existing object's
/// controller owner reference carries the owner's UID (R1); otherwise the name is taken.
async fn create_or_adopt<K, O>(api: &Api<K>, object: &K, owner: &O) -> Result<Creation>
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    O: Resource<DynamicType = ()>,
{
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    let name = object.name_any();
    match timed(api.create(&params, object)).await {
        Ok(_) => {
            tracing::info!(kind = K::kind(&()).as_ref(), %name, "created");
            Ok(Creation::Created)
        }
        Err(Error::Kube(kube::Error::Api(status))) if status.code == 409 => {
            let Some(existing) = get_opt(api, &name).await? else {
                // Deleted in between: the next reconcile decides afresh.
                return Err(Error::Kube(kube::Error::Api(status)));
            };
            match taken_by_another(Some(&existing), owner) {
                None => {
                    tracing::info!(kind = K::kind(&()).as_ref(), %name, "already exists; adopted");
                    Ok(Creation::Adopted)
                }
                Some(message) => {
                    tracing::warn!(kind = K::kind(&()).as_ref(), %name, "{message}");
                    Ok(Creation::Taken(message))
                }
            }
        }
        Err(e) => Err(e),
    }
}

/// `Some(message)` when `existing` is there and is not `owner`'s child.
fn taken_by_another<K, O>(existing: Option<&K>, owner: &O) -> Option<String>
where
    K: Resource<DynamicType = ()>,
    O: Resource<DynamicType = ()>,
{
    existing
        .filter(|e| !ownership::is_child_of(*e, owner))
        .map(|e| ownership::conflict_message(e, &O::kind(&())))
}

/// Server-side apply under the operator's field manager.
async fn apply<K>(api: &Api<K>, object: &K) -> Result<()>
where
    K: Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let name = object.meta().name.clone().unwrap_or_default();
    let mut body = serde_json::to_value(object)?;
    body["apiVersion"] = json!(K::api_version(&K::DynamicType::default()));
    body["kind"] = json!(K::kind(&K::DynamicType::default()));
    timed(api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(body),
    ))
    .await?;
    Ok(())
}

/// Removes everything the operator made for a resource (R4): its Jobs and CronJobs with
/// Background propagation, the pods of those Jobs (finished ones too), its ConfigMaps
/// and, for a restore, the report PVC. "Made for it" means our managed-by label and a
/// controller owner reference with its UID (for pods and CronJob runs: with the UID of
/// one of its Jobs or CronJobs); a user's object that merely carries our labels stays.
/// The finalizer helper then removes only our finalizer.
async fn cleanup(
    ctx: &Context,
    namespace: &str,
    selector: &str,
    owner_uid: Option<&str>,
    restore: bool,
) -> Result<Action> {
    let list = ListParams::default().labels(&format!(
        "{selector},{}={}",
        names::LABEL_MANAGED_BY,
        names::MANAGED_BY
    ));
    let client = ctx.client.clone();
    let mut owners: Vec<String> = owner_uid.map(str::to_string).into_iter().collect();
    let mut deleted = 0;
    if !restore {
        let cronjobs = Api::<CronJob>::namespaced(client.clone(), namespace);
        for cronjob in delete_owned(&cronjobs, &list, &owners).await? {
            owners.extend(cronjob.uid());
            deleted += 1;
        }
    }
    let jobs = Api::<Job>::namespaced(client.clone(), namespace);
    let deleted_jobs = delete_owned(&jobs, &list, &owners).await?;
    deleted += deleted_jobs.len();
    let job_uids: Vec<String> = deleted_jobs.iter().filter_map(|j| j.uid()).collect();
    // Background propagation hands the pods to the garbage collector; deleting them here
    // too means no Completed pod outlives the resource, whatever the collector's pace.
    let pods = Api::<Pod>::namespaced(client.clone(), namespace);
    deleted += delete_owned(&pods, &list, &job_uids).await?.len();
    let config_maps = Api::<ConfigMap>::namespaced(client.clone(), namespace);
    deleted += delete_owned(&config_maps, &list, &owners).await?.len();
    if restore {
        let pvcs = Api::<PersistentVolumeClaim>::namespaced(client, namespace);
        deleted += delete_owned(&pvcs, &list, &owners).await?.len();
    }
    tracing::info!(%namespace, %selector, deleted, "cleaned up");
    Ok(Action::await_change())
}

/// Deletes, with Background propagation, the objects of `list` that the operator made
/// for one of `owner_uids`; returns them.
async fn delete_owned<K>(api: &Api<K>, list: &ListParams, owner_uids: &[String]) -> Result<Vec<K>>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut deleted = Vec::new();
    for object in timed(api.list(list)).await?.items {
        let ours = owner_uids
            .iter()
            .any(|uid| ownership::is_ours(object.meta(), Some(uid)));
        if !ours {
            continue;
        }
        match timed(api.delete(&object.name_any(), &background())).await {
            Ok(_) => {}
            Err(Error::Kube(kube::Error::Api(status))) if status.code == 404 => {}
            Err(e) => return Err(e),
        }
        deleted.push(object);
    }
    Ok(deleted)
}

/// The Event type of a Ready reason: Warning for what needs a person.
fn event_type(reason: &str) -> EventType {
    match reason {
        c::RESTORE_FAILED
        | c::BACKUP_FAILED
        | c::INVALID_SPEC
        | c::NAME_CONFLICT
        | "BackupNotFound"
        | "ClusterNotReady" => EventType::Warning,
        _ => EventType::Normal,
    }
}

/// Publishes an Event on a resource. An Event that cannot be written is logged, not
/// retried: it must never block a reconcile.
async fn publish<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    resource: &K,
    type_: EventType,
    reason: &str,
    note: String,
) {
    let event = Event {
        type_,
        reason: reason.to_string(),
        note: Some(note.chars().take(1024).collect()),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(error) = ctx
        .recorder
        .publish(&event, &resource.object_ref(&()))
        .await
    {
        tracing::warn!(%error, "could not publish an event");
    }
}

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

// ---------------------------------------------------------------------------------------
// Running

/// Where the controllers look for resources.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    /// Every namespace.
    #[default]
    Cluster,
    /// One namespace only.
    Namespace(String),
}

impl Scope {
    fn api<K>(&self, client: &Client) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        match self {
            Scope::Cluster => Api::all(client.clone()),
            Scope::Namespace(namespace) => Api::namespaced(client.clone(), namespace),
        }
    }
}

/// Runs both controllers on the resources in `scope` until `stop` completes.
pub async fn run_controllers(
    client: Client,
    defaults: JobDefaults,
    metrics: ControllerMetrics,
    instance: String,
    scope: Scope,
    stop: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let managed_selector = format!("{}={}", names::LABEL_MANAGED_BY, names::MANAGED_BY);
    let managed = watcher::Config::default().labels(&managed_selector);
    let restore_jobs_config = watcher::Config::default().labels(&format!(
        "{managed_selector},{}",
        crate::constants::LABEL_RESTORE
    ));
    let backup_jobs_config = watcher::Config::default().labels(&format!(
        "{managed_selector},{}",
        crate::constants::LABEL_BACKUP
    ));
    let (restore_jobs, writer) = reflector::store();
    let job_stream = cache_restore_jobs(
        writer,
        watcher(scope.api::<Job>(&client), restore_jobs_config).default_backoff(),
    )
    .touched_objects();
    let ctx = Arc::new(Context::new(
        client.clone(),
        restore_jobs,
        defaults,
        metrics,
        instance,
    ));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let restores = Controller::new(
        scope.api::<KafkaRestore>(&client),
        watcher::Config::default(),
    )
    .owns_stream(job_stream)
    .owns(scope.api::<PersistentVolumeClaim>(&client), managed.clone())
    .graceful_shutdown_on(stopped(stop_rx.clone()))
    .run(reconcile_restore, error_policy, ctx.clone())
    .for_each(|result| async move {
        if let Err(error) = result {
            tracing::debug!(%error, "restore reconcile");
        }
    });
    let backups = Controller::new(
        scope.api::<KafkaBackup>(&client),
        watcher::Config::default(),
    )
    .owns(scope.api::<Job>(&client), backup_jobs_config)
    .owns(scope.api::<CronJob>(&client), managed.clone())
    .graceful_shutdown_on(stopped(stop_rx))
    .run(reconcile_backup, error_policy, ctx)
    .for_each(|result| async move {
        if let Err(error) = result {
            tracing::debug!(%error, "backup reconcile");
        }
    });
    tokio::spawn(async move {
        stop.await;
        let _ = stop_tx.send(true);
    });
    tracing::info!("controllers running");
    tokio::join!(restores, backups);
    tracing::info!("controllers stopped");
}

/// Where the leader election Lease lives and who this replica is.
#[derive(Clone, Debug)]
pub struct LeaderElection {
    pub namespace: String,
    pub identity: String,
    pub lease_name: String,
}

/// Runs the controllers only while this replica holds the Lease, so several replicas can
/// run safely; stops them when the Lease is lost or `shutdown` turns true, then releases
/// the Lease.
pub async fn run_with_leader_election(
    client: Client,
    defaults: JobDefaults,
    metrics: ControllerMetrics,
    election: LeaderElection,
    scope: Scope,
    health: health::Health,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), kube_lease_manager::LeaseManagerError> {
    let manager =
        kube_lease_manager::LeaseManagerBuilder::new(client.clone(), &election.lease_name)
            .with_namespace(&election.namespace)
            .with_identity(&election.identity)
            .with_field_manager(FIELD_MANAGER)
            .with_duration(15)
            .with_grace(5)
            .build()
            .await?;
    let (mut leader, lease_task) = manager.watch().await;
    health.set(health::Phase::Standby);
    tracing::info!(lease = %election.lease_name, namespace = %election.namespace, identity = %election.identity, "waiting to become the leader");
    loop {
        tokio::select! {
            changed = leader.wait_for(|is_leader| *is_leader) => if changed.is_err() { break },
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
        tracing::info!("became the leader; starting the controllers");
        health.set(health::Phase::Leading);
        let mut lost = leader.clone();
        let mut stop = shutdown.clone();
        run_controllers(client.clone(), defaults.clone(), metrics.clone(), election.identity.clone(), scope.clone(), async move {
            tokio::select! {
                _ = lost.wait_for(|is_leader| !*is_leader) => tracing::warn!("lost the lease; stopping the controllers"),
                _ = stop.wait_for(|stop| *stop) => {}
            }
        })
        .await;
        health.set(health::Phase::Standby);
        if *shutdown.borrow() {
            break;
        }
    }
    drop(leader);
    match lease_task.await {
        Ok(Ok(_)) => tracing::info!("lease released"),
        Ok(Err(error)) => tracing::warn!(%error, "lease not released cleanly"),
        Err(error) => tracing::warn!(%error, "lease task failed"),
    }
    Ok(())
}
