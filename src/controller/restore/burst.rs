//! A burst of new restores (thousands applied at once): their Jobs come first, and the
//! first status of a restore whose Job was made waits until the burst is over. Each
//! restore's Job costs three requests (claim, PVC, Job) instead of four, so within the
//! same request rate every Job is made about a quarter sooner; the claim in the labels
//! names the Job meanwhile, and the status and its Event follow (`benches/api_load.sh`).
//! A restore never waits longer than [`MAX_WAIT`] after its creation, and outside a
//! burst nothing waits.

use std::time::Duration;

use jiff::Timestamp;
use kube::ResourceExt;

use crate::api::KafkaRestore;
use crate::constants::LABEL_RESTORE_JOB_NAME;
use crate::controller::{Caches, Context, is_paused};

/// How long after its creation a restore's first status may wait at most.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(120);

/// How soon a restore whose first status waits is reconciled again.
pub(crate) const RETRY: Duration = Duration::from_secs(5);

/// Whether the first status of `restore`, whose Job is claimed, waits: it has none yet,
/// it was created less than [`MAX_WAIT`] before `now`, and more restores than run at
/// once wait for a first reconcile to write to them.
pub(crate) fn first_status_waits(ctx: &Context, restore: &KafkaRestore, now: Timestamp) -> bool {
    ctx.burst > 0
        && !has_conditions(restore)
        && recent(restore, now)
        && untouched_restores(&ctx.caches, now, ctx.burst + 1) > ctx.burst
}

/// Whether `restore` has a status with conditions: every reconcile's first status has.
fn has_conditions(restore: &KafkaRestore) -> bool {
    restore
        .status
        .as_ref()
        .is_some_and(|s| !s.conditions.is_empty())
}

/// Whether `restore` was created less than [`MAX_WAIT`] before `now`.
fn recent(restore: &KafkaRestore, now: Timestamp) -> bool {
    restore
        .creation_timestamp()
        .is_some_and(|created| now.duration_since(created.0).unsigned_abs() < MAX_WAIT)
}

/// The restores in the cache that no reconcile has written to yet (no status condition,
/// no claimed Job), created less than [`MAX_WAIT`] before `now`, neither being deleted
/// nor paused nor in a namespace being deleted; counted up to `enough`.
pub(crate) fn untouched_restores(caches: &Caches, now: Timestamp, enough: usize) -> usize {
    caches
        .restores
        .state()
        .iter()
        .filter(|restore| {
            !has_conditions(restore)
                && !restore.labels().contains_key(LABEL_RESTORE_JOB_NAME)
                && restore.metadata.deletion_timestamp.is_none()
                && !is_paused(restore.as_ref())
                && recent(restore, now)
                && !caches.namespace_terminating(&restore.namespace().unwrap_or_default())
        })
        .take(enough)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Namespace;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use kube::core::PartialObjectMeta;
    use kube::runtime::{reflector, watcher};

    fn restore(name: &str, namespace: &str, created: Timestamp) -> KafkaRestore {
        let mut restore = KafkaRestore::new(name, Default::default());
        restore.metadata.namespace = Some(namespace.into());
        restore.metadata.creation_timestamp = Some(Time(created));
        restore
    }

    #[test]
    fn only_new_restores_no_reconcile_wrote_to_count() {
        let now = Timestamp::now();
        let mut restores = vec![restore("new", "kafka", now)];
        let mut claimed = restore("claimed", "kafka", now);
        claimed
            .labels_mut()
            .insert(LABEL_RESTORE_JOB_NAME.into(), "claimed-restore-1".into());
        let mut with_status = restore("with-status", "kafka", now);
        with_status.status = Some(crate::api::KafkaRestoreStatus {
            conditions: vec![
                serde_json::from_value(serde_json::json!({
                    "type": "Ready", "status": "False", "reason": "RestoreRunning",
                    "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"
                }))
                .unwrap(),
            ],
            ..Default::default()
        });
        let mut deleting = restore("deleting", "kafka", now);
        deleting.metadata.deletion_timestamp = Some(Time(now));
        let mut paused = restore("paused", "kafka", now);
        paused
            .annotations_mut()
            .insert(crate::constants::ANNOTATION_PAUSE.into(), "true".into());
        restores.extend([
            claimed,
            with_status,
            deleting,
            paused,
            restore("old", "kafka", now - jiff::SignedDuration::from_secs(121)),
            restore("in-a-namespace-being-deleted", "gone", now),
        ]);
        let (store, mut writer) = reflector::store();
        for restore in restores {
            writer.apply_watcher_event(&watcher::Event::Apply(restore));
        }
        let (namespaces, mut writer) = reflector::store();
        let mut gone = PartialObjectMeta::<Namespace>::default();
        gone.metadata.name = Some("gone".into());
        gone.metadata.deletion_timestamp = Some(Time(now));
        writer.apply_watcher_event(&watcher::Event::Apply(gone));
        let caches = Caches {
            restore_jobs: reflector::store().0,
            pvcs: reflector::store().0,
            backups: reflector::store().0,
            restores: store,
            namespaces,
        };
        assert_eq!(untouched_restores(&caches, now, 100), 1);
        assert_eq!(untouched_restores(&caches, now, 0), 0);
    }
}
