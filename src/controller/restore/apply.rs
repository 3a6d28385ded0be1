//! Applying a restore plan: the report PVC, the worker ConfigMap, the Job, its
//! suspension, and the removal of a TTL.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim};
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::events::EventType;
use serde_json::json;

use crate::api::KafkaRestore;
use crate::controller::Context;
use crate::controller::calls::{
    Creation, apply, create_or_adopt, get_opt, merge_patch, taken_by_another,
};
use crate::controller::error::Result;
use crate::controller::events::publish;
use crate::controller::restore::plan::RestorePlan;

/// How applying the children of a plan went.
pub(crate) enum Applied {
    Done,
    /// A child's name is held by an object this resource does not own; nothing after it
    /// was applied.
    NameTaken(String),
}

/// Creates and changes the restore's children as planned: the report PVC, the worker
/// ConfigMap, the Job, its suspension, and the removal of a TTL.
pub(crate) async fn apply_restore_plan(
    ctx: &Context,
    restore: &KafkaRestore,
    plan: &RestorePlan,
) -> Result<Applied> {
    let namespace = restore.namespace().unwrap_or_default();
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
    if let Some(pvc) = &plan.create_pvc {
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
        if let Creation::Taken(message) = create_or_adopt(&ctx.metrics, &pvcs, pvc, restore).await?
        {
            return Ok(Applied::NameTaken(message));
        }
    }
    if let Some(config_map) = &plan.config_map {
        let config_maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
        let existing = get_opt(&config_maps, &config_map.name_any()).await?;
        if let Some(message) = taken_by_another(existing.as_ref(), restore) {
            return Ok(Applied::NameTaken(message));
        }
        apply(&ctx.metrics, &config_maps, config_map).await?;
    }
    if let Some(job) = &plan.create_job {
        match create_or_adopt(&ctx.metrics, &jobs, job, restore).await? {
            Creation::Created => ctx.metrics.job_created("KafkaRestore"),
            Creation::Adopted => {}
            Creation::Taken(message) => return Ok(Applied::NameTaken(message)),
        }
    }
    if let Some((job, suspend)) = &plan.suspend_job {
        merge_patch(
            &ctx.metrics,
            &jobs,
            job,
            json!({"spec": {"suspend": suspend}}),
        )
        .await?;
    }
    for job in &plan.clear_ttl {
        merge_patch(
            &ctx.metrics,
            &jobs,
            job,
            json!({"spec": {"ttlSecondsAfterFinished": null}}),
        )
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
