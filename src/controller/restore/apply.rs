//! Applying a restore plan: the claim of a new Job in the labels (R1), the report PVC,
//! the Job, its suspension and the removal of a TTL; then the status and its Event, then
//! the labels. A claimed restore's first status waits while a burst of new restores
//! waits for their Jobs (`burst`).
//! The plan is taken apart field by field, so a field added to it cannot be left
//! unapplied by mistake.

use std::time::Duration;

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
use crate::controller::restore::burst;
use crate::controller::restore::plan::{RestorePlan, blocked_plan};
use crate::controller::status::write_status;
use crate::controller::waiting::{Blocker, Waiting};

/// Applies `plan` to `restore`. A new Job is claimed first (R1): the labels naming it
/// are written on condition that the restore is still the version the plan was made
/// from, and only then is the Job made. Otherwise status goes before labels: a label
/// write that fails must never freeze status.
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
    let name = restore.name_any();
    let restores: Api<KafkaRestore> = Api::namespaced(ctx.client.clone(), &namespace);
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
    // The resourceVersions the writes to the restore made, in order.
    let mut versions = Vec::new();
    let claimed = create_job.is_some();
    if claimed {
        let version = restore.resource_version();
        match apply_labels(&ctx.metrics, &restores, &name, &labels, version.as_deref()).await {
            Ok(written) => versions.extend(written),
            Err(e) if e.status_code() == Some(409) => {
                // Changed since it was read: nothing was made, the next reconcile plans
                // from the new version.
                tracing::debug!(restore = %name, "changed since the plan was made; planning again");
                return Ok(Action::requeue(CLAIM_CONFLICT_RETRY));
            }
            Err(e) => return Err(e),
        }
    }
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
        versions.extend(write_restore_status(ctx, restore, &blocked.status).await?);
        announce(ctx, restore, blocked.announce.as_ref());
        if claimed {
            // The claimed Job was not made: the labels go back to what they were.
            versions
                .extend(apply_labels(&ctx.metrics, &restores, &name, &blocked.labels, None).await?);
        }
        remember_writes(ctx, restore, &versions);
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
        );
    }
    let job_claimed = claimed || burst::has_claim(restore);
    let now = now().0;
    if job_claimed && burst::first_status_waits(ctx, restore, now) {
        tracing::debug!(restore = %name, "a burst of new restores: the first status waits for their Jobs");
        remember_writes(ctx, restore, &versions);
        return Ok(burst::retry(restore, now));
    }
    versions.extend(write_restore_status(ctx, restore, &status).await?);
    announce(ctx, restore, announcement.as_ref());
    let labels_differ = labels
        .iter()
        .any(|(k, v)| restore.labels().get(k) != Some(v));
    if labels_differ && !claimed {
        versions.extend(apply_labels(&ctx.metrics, &restores, &name, &labels, None).await?);
    }
    remember_writes(ctx, restore, &versions);
    Ok(requeue.action())
}

/// How soon a restore whose claim met a newer version is planned again.
const CLAIM_CONFLICT_RETRY: Duration = Duration::from_secs(1);

/// Tells [`OwnWrites`](crate::controller::OwnWrites) which versions of `restore` the
/// writes passed through, so a reconcile of one of them (the cache behind) makes no
/// request; the last version is the one to plan from.
fn remember_writes(ctx: &Context, restore: &KafkaRestore, versions: &[String]) {
    if let Some((_, passed)) = versions.split_last() {
        ctx.own_writes.wrote(restore, passed);
    }
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
