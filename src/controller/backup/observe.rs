//! What a backup reconcile reads: its ConfigMap, CronJob and Jobs, what the workers of
//! runs new to the history reported (once each, R3), and the cluster; a spec that breaks
//! a rule is observed as the reason to wait instead of a cluster.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, ListParams};

use crate::api::KafkaBackup;
use crate::controller::Context;
use crate::controller::backup::plan::{self, BackupObservation};
use crate::controller::calls::{get_opt, list};
use crate::controller::error::Result;
use crate::controller::names;
use crate::controller::observe::{connection_of, now, strimzi_objects, worker_summary};
use crate::controller::waiting::{Blocker, Waiting};
use crate::policy;

/// The KafkaRestores in the backup's namespace that read it and have not completed, from
/// the restore controller's cache; only when retention may delete from the backup's
/// storage.
async fn restores_reading(ctx: &Context, backup: &KafkaBackup) -> Result<Vec<String>> {
    let prunes = backup
        .spec
        .retention
        .as_ref()
        .is_some_and(|r| r.prune_on_schedule == Some(true));
    if !prunes {
        return Ok(vec![]);
    }
    let namespace = backup.namespace().unwrap_or_default();
    let name = backup.name_any();
    ctx.caches.ready().await?;
    let mut reading: Vec<String> = ctx
        .caches
        .restores
        .state()
        .iter()
        .filter(|r| {
            r.namespace().as_deref() == Some(namespace.as_str())
                && r.spec.backup_ref.name == name
                && !r.is_completed()
        })
        .map(|r| format!("{namespace}/{}", r.name_any()))
        .collect();
    reading.sort();
    Ok(reading)
}

/// Everything the planner reads, gathered from the API.
pub(crate) async fn observe<'a>(
    ctx: &'a Context,
    backup: &'a KafkaBackup,
) -> Result<BackupObservation<'a>> {
    let namespace = backup.namespace().unwrap_or_default();
    let name = backup.name_any();
    let review = policy::validate_backup(backup);
    let connection = if review.is_allowed() {
        let auth = backup.spec.effective_authentication();
        let strimzi = strimzi_objects(ctx, &namespace, backup.spec.cluster(), auth).await?;
        connection_of(&namespace, backup.spec.cluster(), auth, &strimzi)
    } else {
        Err(Blocker::new(Waiting::InvalidSpec, review.denial_message()))
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
    Ok(BackupObservation {
        backup,
        config_map: get_opt(&config_maps, &names::backup_config_name(&name)).await?,
        cronjob,
        jobs: jobs_seen,
        summaries,
        restores_reading: restores_reading(ctx, backup).await?,
        connection,
        defaults: &ctx.defaults,
        now: now(),
    })
}
