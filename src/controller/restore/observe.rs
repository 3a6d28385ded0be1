//! What a restore reconcile reads: its Jobs, its PVCs and the KafkaBackup it restores
//! from the caches, the cluster, what a finished worker reported; and, before a later
//! attempt's Job is made or a suspended one resumed, the restore, its Jobs and report PVC
//! by name and its pods, live (R1). (A restore's first Job is confirmed by its claim.)

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use kube::runtime::reflector::ObjectRef;

use crate::api::backup::BackupStorage;
use crate::api::{KafkaBackup, KafkaRestore};
use crate::constants::LABEL_REPORT_PVC_NAME;
use crate::controller::calls::{get_opt, list};
use crate::controller::error::{Error, MAX_UNSEEN_ATTEMPTS, Result};
use crate::controller::names;
use crate::controller::observe::{connection_of, now, strimzi_objects, worker_summary};
use crate::controller::restore_children;
use crate::controller::waiting::{Blocker, Waiting};
use crate::controller::{Context, ownership};

use super::attempt::attempt_of;
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

/// Everything the planner reads, from the caches: no request to the API server, except
/// for the Strimzi resources a restore names and, once per finished Job, its pod's
/// termination message.
pub(crate) async fn observe<'a>(
    ctx: &'a Context,
    restore: &'a KafkaRestore,
) -> Result<RestoreObservation<'a>> {
    ctx.caches.ready().await?;
    let namespace = restore.namespace().unwrap_or_default();
    let name = restore.name_any();
    let jobs: Vec<Job> = restore_children(&ctx.caches.restore_jobs, &namespace, &name)
        .iter()
        .map(Job::from)
        .collect();
    let pvcs: Vec<PersistentVolumeClaim> = restore_children(&ctx.caches.pvcs, &namespace, &name)
        .into_iter()
        .map(|pvc| PersistentVolumeClaim {
            metadata: pvc.metadata,
            ..Default::default()
        })
        .collect();
    let backup_name = &restore.spec.backup_ref.name;
    let backup = ctx
        .caches
        .backups
        .get(&ObjectRef::new(backup_name).within(&namespace))
        .map(|b| (*b).clone());
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

/// Reads live, by name, what a decision to create or resume a Job rests on: the
/// restore; its Jobs from the newest attempt the cache or status knows upward until a
/// name is free (Jobs are named by attempt, so a Job the cache has not seen yet is
/// found); its report PVC; and, in one list, the pods of the restore still running or
/// stopping (R5). `None` when the restore is gone.
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
    let recorded = restore
        .status
        .as_ref()
        .and_then(|s| s.restore.as_ref())
        .map(|r| r.attempt)
        .unwrap_or(0);
    let cached_newest = cached
        .jobs
        .iter()
        .filter(|j| ownership::is_child_of(*j, &restore))
        .filter_map(attempt_of)
        .max()
        .unwrap_or(0);
    let first = recorded.max(cached_newest).max(1);
    // What the cache holds from `first` on is replaced by what the API has: the Job of
    // the current attempt (gone when deleted to resume) and every one after it, until a
    // name is free after the current attempt's.
    cached
        .jobs
        .retain(|j| attempt_of(j).is_none_or(|a| a < first));
    for attempt in first.. {
        if attempt - first > MAX_UNSEEN_ATTEMPTS {
            return Err(Error::TooManyAttempts {
                restore: name,
                from: first,
            });
        }
        match get_opt(&jobs, &names::restore_job_name(&name, attempt)).await? {
            Some(job) => cached.jobs.push(job),
            None if attempt > first => break,
            None => {}
        }
    }
    let recorded_pvc = restore
        .labels()
        .get(LABEL_REPORT_PVC_NAME)
        .cloned()
        .or_else(|| {
            restore
                .status
                .as_ref()
                .and_then(|s| s.restore.as_ref())
                .and_then(|r| r.report_pvc.clone())
        });
    if let Some(pvc_name) = recorded_pvc {
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
        cached.pvcs.retain(|p| p.name_any() != pvc_name);
        if let Some(pvc) = get_opt(&pvcs, &pvc_name).await? {
            cached.pvcs.push(pvc);
        }
    }
    cached.active_pods = active_restore_pods(ctx, &namespace, &name).await?;
    Ok(Some(Live { restore, cached }))
}
