//! The frame of both reconcilers: our finalizer around the apply step, and the removal
//! of everything the operator made for a deleted resource (R4).

use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, finalizer};
use kube::runtime::reflector::Store;
use kube::{Resource, ResourceExt};

use crate::constants::FINALIZER;
use crate::controller::calls::{delete, delete_owned, remove_finalizer};
use crate::controller::error::{Error, Result};
use crate::controller::names;
use crate::controller::{Context, ownership, restore_children};

/// The frame of both reconcilers: our finalizer around `apply` and the cleanup of the
/// children (R4): a restore's by name, a backup's labelled by `selector`; and the
/// reconcile metrics.
pub(crate) async fn with_cleanup<K, Fut>(
    resource: Arc<K>,
    ctx: &Context,
    kind: &'static str,
    selector: &str,
    is_restore: bool,
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
    let _running = ctx.events.reconciling();
    let namespace = resource.namespace().unwrap_or_default();
    let uid = resource.meta().uid.clone().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
    // In a namespace being deleted everything goes with it: nothing is made there; as
    // soon as the namespace is marked, a restore's report PVCs are deleted (see
    // `cleanup_restore`) and then our finalizer is removed, before the namespace
    // controller comes to the restores (the namespace can only go on to be deleted, and
    // nothing can be made in it any more). A deleted resource's cleanup there is the
    // removal of our finalizer. Deleting a namespace with thousands of restores so costs
    // two requests per restore, all at its start.
    let terminating = ctx.caches.namespace_terminating(&namespace);
    let result = if ctx.own_writes.is_behind(resource.as_ref()) {
        // The event of the operator's own write will reconcile it (see `OwnWrites`).
        tracing::debug!(%namespace, "the cache is behind the operator's last write");
        Ok(Action::await_change())
    } else if terminating && resource.meta().deletion_timestamp.is_none() {
        tracing::debug!(%namespace, "the namespace is being deleted; nothing is made");
        async {
            if is_restore {
                let uid = resource.meta().uid.as_deref();
                cleanup_restore(ctx, &namespace, &resource.name_any(), uid, true).await?;
                if remove_finalizer(&ctx.metrics, &api, resource.as_ref()).await? {
                    // A reconcile of the version read (the cache behind) would find our
                    // finalizer and fail to remove it again.
                    ctx.own_writes.wrote(resource.as_ref(), &[]);
                }
            }
            Ok(Action::await_change())
        }
        .await
    } else {
        let result = finalizer(&api, FINALIZER, resource, |event| async {
        match event {
            finalizer::Event::Apply(resource) => apply(resource).await,
            finalizer::Event::Cleanup(resource) if is_restore => {
                let uid = resource.meta().uid.as_deref();
                cleanup_restore(ctx, &namespace, &resource.name_any(), uid, terminating).await
            }
            finalizer::Event::Cleanup(_) if terminating => {
                tracing::debug!(%namespace, "the namespace is being deleted; its objects go with it");
                Ok(Action::await_change())
            }
            finalizer::Event::Cleanup(resource) => {
                let uid = resource.meta().uid.as_deref();
                cleanup(ctx, &namespace, selector, uid).await
            }
        }
        })
        .await;
        match result {
            // A second pass over an object whose finalizer the first pass removed (its
            // cache entry not yet gone): the object is deleted, nothing is left to do.
            Err(finalizer::Error::RemoveFinalizer(kube::Error::Api(status)))
                if status.code == 404 =>
            {
                tracing::debug!(%namespace, "already deleted");
                Ok(Action::await_change())
            }
            other => other.map_err(|e| Error::Finalizer(Box::new(e))),
        }
    };
    if result.is_ok() {
        ctx.failures.succeeded(&uid);
    }
    ctx.metrics.reconciled(
        kind,
        started.elapsed(),
        result.as_ref().err().map(|e| e.class().as_str()),
    );
    result
}

/// Removes everything the operator made for a KafkaBackup (R4): its Jobs and CronJobs
/// with Background propagation, the pods of those Jobs (finished ones too) and its
/// ConfigMaps. "Made for it" means our managed-by label and a controller owner reference
/// with its UID (for pods and CronJob runs: with the UID of one of its Jobs or
/// CronJobs); a user's object that merely carries our labels stays. The finalizer helper
/// then removes only our finalizer.
pub(crate) async fn cleanup(
    ctx: &Context,
    namespace: &str,
    selector: &str,
    owner_uid: Option<&str>,
) -> Result<Action> {
    let list = ListParams::default().labels(&format!(
        "{selector},{}={}",
        names::LABEL_MANAGED_BY,
        names::MANAGED_BY
    ));
    let client = ctx.client.clone();
    let mut owners: Vec<String> = owner_uid.map(str::to_string).into_iter().collect();
    let mut deleted = 0;
    let cronjobs = Api::<CronJob>::namespaced(client.clone(), namespace);
    for cronjob in delete_owned(&ctx.metrics, &cronjobs, &list, &owners).await? {
        owners.extend(cronjob.uid());
        deleted += 1;
    }
    let jobs = Api::<Job>::namespaced(client.clone(), namespace);
    let deleted_jobs = delete_owned(&ctx.metrics, &jobs, &list, &owners).await?;
    deleted += deleted_jobs.len();
    let job_uids: Vec<String> = deleted_jobs.iter().filter_map(|j| j.uid()).collect();
    // Background propagation hands the pods to the garbage collector; deleting them here
    // too means no Completed pod outlives the resource, whatever the collector's pace.
    let pods = Api::<Pod>::namespaced(client.clone(), namespace);
    deleted += delete_owned(&ctx.metrics, &pods, &list, &job_uids)
        .await?
        .len();
    let config_maps = Api::<ConfigMap>::namespaced(client, namespace);
    deleted += delete_owned(&ctx.metrics, &config_maps, &list, &owners)
        .await?
        .len();
    tracing::info!(%namespace, %selector, deleted, "cleaned up");
    Ok(Action::await_change())
}

/// Removes what the operator made for a KafkaRestore (R4), by name, without a LIST: its
/// Jobs and report PVCs as the caches hold them, deleted with Background propagation.
/// Each carries a controller owner reference to the restore, so the garbage collector
/// removes the Jobs' pods, anything made so recently that the caches had not seen it,
/// and the ConfigMap earlier builds made for a restore, once the restore is gone.
/// Deleting a namespace with thousands of restores so costs a few requests per restore,
/// and a namespace that is being deleted answers them without errors to retry. An
/// object the caches already show as being deleted costs no request.
///
/// In a namespace being deleted (`terminating`) only the PVCs are deleted here, as soon
/// as the namespace is marked (every restore there is reconciled then, see
/// `restores_in_deleted_namespace`), whether or not the restore is marked yet. The
/// namespace controller would delete them too, but only after the kinds it happens to
/// delete before PVCs; each PVC then waits for the cluster's pvc-protection controller,
/// which removes its finalizer from one PVC after another (about 20 a second at
/// kube-controller-manager's default rate) and so paces the whole deletion. Deleted
/// here, the PVCs reach it from the start of the deletion (`benches/api_load.sh`).
/// The Jobs go with the namespace in one call.
pub(crate) async fn cleanup_restore(
    ctx: &Context,
    namespace: &str,
    name: &str,
    owner_uid: Option<&str>,
    terminating: bool,
) -> Result<Action> {
    ctx.caches.ready().await?;
    let mut deleted = 0;
    if !terminating {
        let jobs = Api::<Job>::namespaced(ctx.client.clone(), namespace);
        deleted += delete_children(ctx, &ctx.caches.restore_jobs, &jobs, name, owner_uid).await?;
    }
    let pvcs = Api::<PersistentVolumeClaim>::namespaced(ctx.client.clone(), namespace);
    deleted += delete_children(ctx, &ctx.caches.pvcs, &pvcs, name, owner_uid).await?;
    tracing::info!(%namespace, restore = %name, deleted, "cleaned up");
    Ok(Action::await_change())
}

/// Deletes, through `api`, the children of restore `name` in `store` that the operator
/// made for it and that are not being deleted yet; returns how many.
async fn delete_children<C, K>(
    ctx: &Context,
    store: &Store<C>,
    api: &Api<K>,
    name: &str,
    owner_uid: Option<&str>,
) -> Result<usize>
where
    C: Resource<DynamicType = ()> + Clone + 'static,
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let namespace = api.namespace().unwrap_or_default();
    let mut deleted = 0;
    for child in restore_children(store, namespace, name) {
        let meta = child.meta();
        if ownership::is_ours(meta, owner_uid) && meta.deletion_timestamp.is_none() {
            delete(&ctx.metrics, api, &child.name_any()).await?;
            deleted += 1;
        }
    }
    Ok(deleted)
}
