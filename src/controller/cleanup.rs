//! The frame of both reconcilers: our finalizer around the apply step, and the removal
//! of everything the operator made for a deleted resource (R4).

use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, finalizer};
use kube::{Resource, ResourceExt};

use crate::constants::FINALIZER;
use crate::controller::Context;
use crate::controller::calls::delete_owned;
use crate::controller::error::{Error, Result};
use crate::controller::names;

/// The frame of both reconcilers: our finalizer around `apply` and the cleanup of the
/// children labelled by `selector` (R4), and the reconcile metrics.
pub(crate) async fn with_cleanup<K, Fut>(
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
        result.as_ref().err().map(|e| e.class().as_str()),
    );
    result
}

/// Removes everything the operator made for a resource (R4): its Jobs and CronJobs with
/// Background propagation, the pods of those Jobs (finished ones too), its ConfigMaps
/// and, for a restore, the report PVC. "Made for it" means our managed-by label and a
/// controller owner reference with its UID (for pods and CronJob runs: with the UID of
/// one of its Jobs or CronJobs); a user's object that merely carries our labels stays.
/// The finalizer helper then removes only our finalizer.
pub(crate) async fn cleanup(
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
        for cronjob in delete_owned(&ctx.metrics, &cronjobs, &list, &owners).await? {
            owners.extend(cronjob.uid());
            deleted += 1;
        }
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
    let config_maps = Api::<ConfigMap>::namespaced(client.clone(), namespace);
    deleted += delete_owned(&ctx.metrics, &config_maps, &list, &owners)
        .await?
        .len();
    if restore {
        let pvcs = Api::<PersistentVolumeClaim>::namespaced(client, namespace);
        deleted += delete_owned(&ctx.metrics, &pvcs, &list, &owners)
            .await?
            .len();
    }
    tracing::info!(%namespace, %selector, deleted, "cleaned up");
    Ok(Action::await_change())
}
