//! KafkaBackup: observe (ConfigMap, CronJob, Jobs, new runs' figures, cluster) → plan
//! (pure, `plan`) → apply → status and Event.

mod apply;
mod observe;
pub mod plan;
mod status;

use self::apply::apply_plan;
use self::observe::observe;

use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::controller::Action;

use crate::api::KafkaBackup;
use crate::controller::backup::plan::plan_backup;
use crate::controller::cleanup::with_cleanup;
use crate::controller::error::Result;
use crate::controller::names;
use crate::controller::{Context, is_paused};

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

pub(crate) async fn apply_backup(backup: &KafkaBackup, ctx: &Context) -> Result<Action> {
    if is_paused(backup) {
        return Ok(Action::await_change());
    }
    let observation = observe(ctx, backup).await?;
    let plan = plan_backup(&observation)?;
    apply_plan(ctx, backup, plan).await
}
