//! Applying a restore plan: the report PVC, the Job, its suspension and the removal of
//! a TTL; then the status and its Event, then the labels.
//! The plan is taken apart field by field, so a field added to it cannot be left
//! unapplied by mistake.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use serde_json::json;

use crate::api::{KafkaRestore, KafkaRestoreStatus};
use crate::controller::Context;
use crate::controller::calls::{Creation, apply_labels, create_or_adopt, merge_patch};
use crate::controller::error::Result;
use crate::controller::events::{announce, publish};
use crate::controller::observe::now;
use crate::controller::restore::plan::{RestorePlan, blocked_plan};
use crate::controller::status::write_status;
use crate::controller::waiting::{Blocker, Waiting};

/// Applies `plan` to `restore`. Status goes before labels: a label write that fails must
/// never freeze status.
pub(crate) async fn apply_plan(
    ctx: &Context,
    restore: &KafkaRestore,
    plan: RestorePlan,
) -> Result<Action> {
    let RestorePlan {
        create_pvc,
        create_job,
        suspend_job,
        clear_ttl,
        labels,
        status,
        requeue,
        announce: announcement,
    } = plan;
    let namespace = restore.namespace().unwrap_or_default();
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
    let taken = async {
        if let Some(pvc) = &create_pvc {
            let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
            if let Creation::Taken(message) =
                create_or_adopt(&ctx.metrics, &pvcs, pvc, restore).await?
            {
                return Ok(Some(message));
            }
        }
        if let Some(job) = &create_job {
            match create_or_adopt(&ctx.metrics, &jobs, job, restore).await? {
                Creation::Created => ctx.metrics.job_created("KafkaRestore"),
                Creation::Adopted => {}
                Creation::Taken(message) => return Ok(Some(message)),
            }
        }
        Result::<_>::Ok(None)
    }
    .await?;
    if let Some(message) = taken {
        // Nothing after the taken name was applied; the restore shows why and waits.
        let blocked = blocked_plan(restore, Blocker::new(Waiting::NameConflict, message), now());
        write_restore_status(ctx, restore, &blocked.status).await?;
        announce(ctx, restore, blocked.announce.as_ref()).await;
        return Ok(blocked.requeue.action());
    }
    if let Some((job, suspend)) = &suspend_job {
        merge_patch(
            &ctx.metrics,
            &jobs,
            job,
            json!({"spec": {"suspend": suspend}}),
        )
        .await?;
    }
    for job in &clear_ttl {
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
    let written = write_restore_status(ctx, restore, &status).await?;
    announce(ctx, restore, announcement.as_ref()).await;
    let labels_differ = labels
        .iter()
        .any(|(k, v)| restore.labels().get(k) != Some(v));
    if labels_differ {
        let restores: Api<KafkaRestore> = Api::namespaced(ctx.client.clone(), &namespace);
        apply_labels(&ctx.metrics, &restores, &restore.name_any(), &labels).await?;
        ctx.own_writes.wrote(restore, written.as_slice());
    }
    Ok(requeue.action())
}

/// Writes `status` unless it equals the restore's, leaving out `restore.progress`: that
/// is the progress reader's to write (see `progress`), never the reconcilers'.
async fn write_restore_status(
    ctx: &Context,
    restore: &KafkaRestore,
    status: &KafkaRestoreStatus,
) -> Result<Option<String>> {
    let old = restore.status.as_ref().map(without_progress);
    write_status(ctx, restore, old.as_ref(), &without_progress(status)).await
}

/// `status` without `restore.progress`.
fn without_progress(status: &KafkaRestoreStatus) -> KafkaRestoreStatus {
    let mut status = status.clone();
    if let Some(attempt) = status.restore.as_mut() {
        attempt.progress = None;
    }
    status
}
