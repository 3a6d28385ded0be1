//! KafkaRestore: observe (cache, PVCs, backup storage, cluster, worker figures) → plan
//! (pure, `plan`) → confirm a new Job live (R1) → apply → status, Event, labels.

mod apply;
mod attempt;
mod observe;
pub mod plan;
pub mod progress;
mod status;

use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::controller::Action;

use self::plan::plan_restore;
use crate::api::KafkaRestore;
use crate::controller::cleanup::with_cleanup;
use crate::controller::error::Result;
use crate::controller::names;
use crate::controller::observe::now;
use crate::controller::{Context, is_paused};
use crate::policy;

use self::apply::apply_plan;
use self::observe::{observe, observe_live};

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
    let review = policy::validate_restore(restore);
    if !review.is_allowed() {
        let plan = plan::invalid_spec_plan(restore, review.denial_message(), now());
        return apply_plan(ctx, restore, plan).await;
    }
    let observation = observe(ctx, restore).await?;
    let plan = plan_restore(&observation)?;
    // R1: the cache may be stale. A Job is only made, or a suspended one resumed, when a
    // live read of the restore, its Jobs and its pods agrees.
    if !plan.needs_live_confirmation() {
        return apply_plan(ctx, restore, plan).await;
    }
    let Some(live) = observe_live(ctx, observation).await? else {
        return Ok(Action::await_change());
    };
    let plan = plan_restore(&live.observation())?;
    apply_plan(ctx, &live.restore, plan).await
}
