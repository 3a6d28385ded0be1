//! KafkaRestore: observe (cache, PVCs, backup storage, cluster, worker figures) → plan
//! (pure, `plan`) → confirm a new Job live (R1) → apply → status, Event, labels.

mod apply;
mod attempt;
mod observe;
pub mod plan;
mod status;

use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use kube::runtime::controller::Action;

use self::plan::{RestoreObservation, plan_restore};
use crate::api::KafkaRestore;
use crate::controller::calls::{get_opt, list};
use crate::controller::cleanup::with_cleanup;
use crate::controller::error::Result;
use crate::controller::names;
use crate::controller::observe::{connection, now, worker_summary};
use crate::controller::{Context, is_paused};
use crate::policy;

use self::apply::apply_plan;
use self::observe::{active_restore_pods, backup_storage};

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

pub(crate) async fn apply_restore(restore: &KafkaRestore, ctx: &Context) -> Result<Action> {
    if is_paused(restore) {
        tracing::debug!(restore = %restore.name_any(), "reconciliation paused");
        return Ok(Action::await_change());
    }
    let namespace = restore.namespace().unwrap_or_default();
    let name = restore.name_any();
    let review = policy::validate_restore(restore);
    if !review.is_allowed() {
        let plan = plan::invalid_spec_plan(restore, review.denial_message(), now());
        return apply_plan(ctx, restore, plan).await;
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
    let pvc_list = list(
        &pvcs,
        &ListParams::default().labels(&names::restore_selector(&name)),
    )
    .await?;
    let backup_storage = backup_storage(ctx, &namespace, &restore.spec.backup_ref.name).await?;
    let connection = connection(ctx, &namespace, restore.spec.cluster()).await?;
    let summary = match plan::finished_job_without_figures(restore, &cached_jobs) {
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
        observation.jobs = list(
            &jobs,
            &ListParams::default().labels(&names::restore_selector(&name)),
        )
        .await?;
        observation.active_pods = active_restore_pods(ctx, &namespace, &name).await?;
        plan = plan_restore(&observation)?;
    }
    let current = observation.restore;

    apply_plan(ctx, current, plan).await
}
