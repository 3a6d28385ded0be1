//! Applying a backup plan: the worker ConfigMap and the CronJob (server-side apply on
//! every reconcile), a removed schedule's CronJob, a Job to run; then the status and its
//! Event. The plan is taken apart field by field, so a field added to it cannot be left
//! unapplied by mistake.

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;

use crate::api::{KafkaBackup, condition as c};
use crate::controller::Context;
use crate::controller::backup::plan::BackupPlan;
use crate::controller::calls::{Creation, apply, create_or_adopt, delete};
use crate::controller::error::{Error, Result};
use crate::controller::events::{announce, publish};
use crate::controller::status::write_status;

/// Applies `plan` to `backup`.
pub(crate) async fn apply_plan(
    ctx: &Context,
    backup: &KafkaBackup,
    plan: BackupPlan,
) -> Result<Action> {
    let BackupPlan {
        config_map,
        cronjob,
        delete_cronjob,
        create_job,
        status,
        requeue,
        announce: announcement,
    } = plan;
    let namespace = backup.namespace().unwrap_or_default();
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
    let cronjobs: Api<CronJob> = Api::namespaced(ctx.client.clone(), &namespace);
    let config_maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
    if let Some(config_map) = &config_map {
        apply(&ctx.metrics, &config_maps, config_map).await?;
    }
    if let Some(cronjob) = &cronjob {
        apply(&ctx.metrics, &cronjobs, cronjob).await?;
    }
    if let Some(cronjob) = &delete_cronjob {
        delete(&ctx.metrics, &cronjobs, cronjob).await?;
    }
    if let Some(job) = &create_job {
        match create_or_adopt(&ctx.metrics, &jobs, job, backup).await? {
            Creation::Created => ctx.metrics.job_created("KafkaBackup"),
            Creation::Adopted => {}
            Creation::Taken(message) => {
                publish(
                    ctx,
                    backup,
                    EventType::Warning,
                    c::NAME_CONFLICT,
                    message.clone(),
                );
                return Err(Error::NameTaken(message));
            }
        }
    }
    write_status(ctx, backup, backup.status.as_ref(), &status).await?;
    announce(ctx, backup, announcement.as_ref());
    Ok(requeue.action())
}
