//! KafkaRestore: observe (cache, PVCs, backup storage, cluster, worker figures) → plan
//! (pure, `plan`) → confirm a new attempt's Job live (R1) → apply: claim, children,
//! status, Event, labels. In a burst of new restores their Jobs come first (`burst`).

mod apply;
mod attempt;
pub(crate) mod burst;
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
    // While restores are created in bulk, a new one waits for its turn (see `burst`).
    burst::wait_for_arrivals(ctx, restore, now().0).await;
    let observation = observe(ctx, restore).await?;
    let plan = plan_restore(&observation)?;
    // R1: the cache may be stale. A Job is only made, or a suspended one resumed, when a
    // live read of the restore, its Jobs and its pods agrees; a restore's first Job needs
    // none (see `first_claim`).
    if !plan.needs_live_confirmation() || first_claim(restore, &plan) {
        return apply_plan(ctx, restore, plan).await;
    }
    // In a burst, the Job a restore claimed may not be in the cache yet: its watch event
    // reconciles the restore, whose first status waits anyway; a live read now would
    // cost five requests (see `burst`).
    let now = now().0;
    if burst::has_claim(restore) && burst::first_status_waits(ctx, restore, now) {
        return Ok(burst::retry(restore, now));
    }
    let Some(live) = observe_live(ctx, observation).await? else {
        return Ok(Action::await_change());
    };
    let plan = plan_restore(&live.observation())?;
    apply_plan(ctx, &live.restore, plan).await
}

/// Whether `plan` makes the first Job of a restore for which no Job was ever claimed:
/// neither its labels nor its status name one. Such a plan needs no live read (R1):
/// `apply_plan` claims the Job in the labels on condition that the restore is still the
/// version the plan was made from, so a stale cache fails the claim and makes nothing.
/// Since every Job is claimed before it is made, and a claim is only taken back when its
/// Job was not made, an unclaimed restore has no Job and no pod that another attempt
/// could meet, and the one name its first Job can have is free or adopted on create. (A
/// build before claims recorded a Job after making it; one that stopped in between left
/// Job 1 at most, which create adopts.)
fn first_claim(restore: &KafkaRestore, plan: &plan::RestorePlan) -> bool {
    let first_job = plan
        .create_job
        .as_ref()
        .is_some_and(|job| attempt::attempt_of(job) == Some(1));
    let recorded = restore
        .status
        .as_ref()
        .and_then(|s| s.restore.as_ref())
        .is_some_and(|r| r.attempt > 0 || !r.job_name.is_empty());
    first_job && !recorded && !burst::has_claim(restore)
}
