//! What a restore reconcile reads: its cached Jobs, its PVCs, the storage of the
//! KafkaBackup it restores, the cluster, what a finished worker reported; and, before a
//! Job is made or resumed, the restore, its Jobs and its pods read live (R1).

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::ResourceExt;
use kube::api::{Api, ListParams};

use crate::api::backup::BackupStorage;
use crate::api::{KafkaBackup, KafkaRestore};
use crate::constants::LABEL_RESTORE;
use crate::controller::Context;
use crate::controller::calls::{get_opt, list};
use crate::controller::error::Result;
use crate::controller::names;
use crate::controller::observe::{connection_of, now, strimzi_objects, worker_summary};
use crate::controller::waiting::{Blocker, Waiting};

use super::plan::{self, RestoreObservation};

/// The pods of a restore that still run or are stopping: while any is left, no other pod
/// may start on the same report (R5).
pub(crate) async fn active_restore_pods(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<usize> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let selector = ListParams::default().labels(&names::restore_children_selector(name));
    Ok(list(&pods, &selector)
        .await?
        .iter()
        .filter(|p| plan::pod_may_still_run(p))
        .count())
}

/// The storage of the KafkaBackup a restore reads from, or why there is none yet. Pure.
fn backup_storage(
    backup: Option<KafkaBackup>,
    namespace: &str,
    name: &str,
) -> std::result::Result<BackupStorage, Blocker> {
    backup.map(|b| b.spec.storage).ok_or_else(|| {
        Blocker::new(
            Waiting::BackupNotFound,
            format!(
                "spec.backupRef.name: KafkaBackup '{name}' not found in namespace '{namespace}'"
            ),
        )
    })
}

/// Everything the planner reads, gathered from the cache and the API.
pub(crate) async fn observe<'a>(
    ctx: &'a Context,
    restore: &'a KafkaRestore,
) -> Result<RestoreObservation<'a>> {
    let namespace = restore.namespace().unwrap_or_default();
    let name = restore.name_any();
    let jobs: Vec<Job> = ctx
        .restore_jobs
        .state()
        .iter()
        .filter(|j| {
            j.namespace().as_deref() == Some(namespace.as_str())
                && j.labels().get(LABEL_RESTORE) == Some(&name)
        })
        .map(|j| (**j).clone())
        .collect();
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
    let pvcs = list(
        &pvcs,
        &ListParams::default().labels(&names::restore_selector(&name)),
    )
    .await?;
    let backups: Api<KafkaBackup> = Api::namespaced(ctx.client.clone(), &namespace);
    let backup_name = &restore.spec.backup_ref.name;
    let backup = get_opt(&backups, backup_name).await?;
    let auth = restore.spec.effective_authentication();
    let strimzi = strimzi_objects(ctx, &namespace, restore.spec.cluster(), auth).await?;
    let summary = match plan::finished_job_without_figures(restore, &jobs) {
        Some(job) => worker_summary(ctx, &namespace, &job.name_any()).await?,
        None => None,
    };
    Ok(RestoreObservation {
        restore,
        jobs,
        pvcs,
        active_pods: 0,
        backup_storage: backup_storage(backup, &namespace, backup_name),
        connection: connection_of(&namespace, restore.spec.cluster(), auth, &strimzi),
        defaults: &ctx.defaults,
        now: now(),
        summary,
    })
}

/// An observation confirmed by live reads: the restore as the API has it now.
pub(crate) struct Live<'a> {
    pub restore: KafkaRestore,
    cached: RestoreObservation<'a>,
}

impl Live<'_> {
    /// The observation with the live restore, Jobs and pods in place of the cached ones.
    pub fn observation(&self) -> RestoreObservation<'_> {
        RestoreObservation {
            restore: &self.restore,
            ..self.cached.clone()
        }
    }
}

/// Reads the restore, its Jobs and its pods live; `None` when the restore is gone.
pub(crate) async fn observe_live<'a>(
    ctx: &Context,
    mut cached: RestoreObservation<'a>,
) -> Result<Option<Live<'a>>> {
    let namespace = cached.restore.namespace().unwrap_or_default();
    let name = cached.restore.name_any();
    let restores: Api<KafkaRestore> = Api::namespaced(ctx.client.clone(), &namespace);
    let Some(restore) = get_opt(&restores, &name).await? else {
        return Ok(None);
    };
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
    cached.jobs = list(
        &jobs,
        &ListParams::default().labels(&names::restore_selector(&name)),
    )
    .await?;
    cached.active_pods = active_restore_pods(ctx, &namespace, &name).await?;
    Ok(Some(Live { restore, cached }))
}
