//! What a restore reconcile reads besides its cached Jobs: its pods and the storage of
//! the KafkaBackup it restores.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use crate::api::KafkaBackup;
use crate::api::backup::BackupStorage;
use crate::controller::Context;
use crate::controller::calls::{get_opt, list};
use crate::controller::error::Result;
use crate::controller::names;
use crate::controller::waiting::{Blocker, Waiting};

use super::plan;

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

/// The storage of the KafkaBackup a restore reads from.
pub(crate) async fn backup_storage(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Result<BackupStorage, Blocker>> {
    let backups: Api<KafkaBackup> = Api::namespaced(ctx.client.clone(), namespace);
    Ok(match get_opt(&backups, name).await? {
        Some(backup) => Ok(backup.spec.storage),
        None => Err(Blocker {
            why: Waiting::BackupNotFound,
            message: format!(
                "spec.backupRef.name: KafkaBackup '{name}' not found in namespace '{namespace}'"
            ),
        }),
    })
}
