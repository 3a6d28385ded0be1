//! KafkaBackup: observe (ConfigMap, CronJob, Jobs, new runs' figures, cluster) → plan
//! (pure, `plan`) → apply → status and Event.

mod apply;
pub mod plan;

use self::apply::apply_plan;

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use kube::runtime::controller::Action;

use crate::api::KafkaBackup;
use crate::controller::backup::plan::{BackupObservation, plan_backup};
use crate::controller::calls::{get_opt, list};
use crate::controller::cleanup::with_cleanup;
use crate::controller::error::Result;
use crate::controller::names;
use crate::controller::observe::{connection, now, worker_summary};
use crate::controller::waiting::{Blocker, Waiting};
use crate::controller::{Context, is_paused};
use crate::policy;

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
    let namespace = backup.namespace().unwrap_or_default();
    let name = backup.name_any();
    let review = policy::validate_backup(backup);
    let connection = if review.is_allowed() {
        connection(ctx, &namespace, backup.spec.cluster()).await?
    } else {
        Err(Blocker {
            why: Waiting::InvalidSpec,
            message: review.denial_message(),
        })
    };
    let selector = ListParams::default().labels(&names::backup_selector(&name));
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
    let cronjobs: Api<CronJob> = Api::namespaced(ctx.client.clone(), &namespace);
    let config_maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
    let cronjob = get_opt(&cronjobs, &names::backup_cronjob_name(&name)).await?;
    let jobs_seen = list(&jobs, &selector).await?;
    // Each finished run's figures are read once, when it enters the history (R3).
    let mut summaries = BTreeMap::new();
    for job in plan::runs_to_read(backup, cronjob.as_ref(), &jobs_seen) {
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
    apply_plan(ctx, backup, plan).await
}
