//! Wiring: the watches and caches, both controllers, and leader election over a Lease.

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Pod, PodStatus};
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::{self};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};

use crate::api::{KafkaBackup, KafkaRestore};
use crate::constants::FIELD_MANAGER;
use crate::controller::build::JobDefaults;
use crate::controller::cached_job::CachedJob;
use crate::controller::error::{Result, error_policy};
use crate::controller::metrics::ControllerMetrics;
use crate::controller::{Caches, Context, Limits};
use crate::controller::{health, names, reconcile_backup, reconcile_restore};

/// Drops from a cached KafkaRestore or KafkaBackup what no reconcile reads: the
/// managed fields, most of a small object's size, except the names of other managers of
/// its status (see `status::write_status`).
pub(crate) fn trim_cached_resource<K: Resource>(resource: &mut K) {
    if let Some(entries) = resource.meta_mut().managed_fields.as_mut() {
        entries.retain(crate::controller::status::is_foreign_status_entry);
        for entry in entries.iter_mut() {
            entry.fields_v1 = None;
        }
    }
}

/// The stream of a kind the controllers reconcile, into `writer`'s store, trimmed.
fn watch_resources<K>(
    api: Api<K>,
    writer: reflector::store::Writer<K>,
) -> impl futures::Stream<Item = watcher::Result<K>>
where
    K: Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    reflector::reflector(
        writer,
        watcher(api, watcher::Config::default())
            .default_backoff()
            .modify(trim_cached_resource),
    )
    .applied_objects()
}

/// The restore Job cache: the Job watch's events, read as [`CachedJob`]s and without
/// managed fields, into `writer`'s store. Decisions to create use a live read, not the
/// cache (R1). The controller feeds it the Job watch; the memory benchmark feeds it the
/// same Jobs.
pub fn cache_restore_jobs<S>(
    writer: reflector::store::Writer<CachedJob>,
    events: S,
) -> impl futures::Stream<Item = S::Item>
where
    S: futures::Stream<Item = watcher::Result<watcher::Event<CachedJob>>>,
{
    reflector::reflector(
        writer,
        events.modify(|job| job.metadata.managed_fields = None),
    )
}

/// The PVC events that reconcile a restore: every one but the update that marks a PVC
/// deleted (the cache still takes it). Nothing of a restore's plan changes until the PVC
/// is gone, and that deletion is an event of its own; during a namespace deletion each
/// such update would reconcile a restore whose cleanup is under way, to remove a
/// finalizer that is gone already.
pub fn pvc_triggers<S, K>(events: S) -> impl futures::Stream<Item = S::Item>
where
    S: futures::Stream<Item = watcher::Result<watcher::Event<K>>>,
    K: Resource,
{
    events.filter(|event| {
        futures::future::ready(!matches!(
            event,
            Ok(watcher::Event::Apply(pvc)) if pvc.meta().deletion_timestamp.is_some()
        ))
    })
}

/// The restores to reconcile when `namespace` changes: all of its restores once it is
/// being deleted, none otherwise. Their report PVCs are then deleted and our finalizer
/// removed at once (see `with_cleanup`), before the namespace controller comes to the
/// restores themselves.
pub fn restores_in_deleted_namespace(
    restores: &reflector::Store<KafkaRestore>,
    namespace: &PartialObjectMeta<Namespace>,
) -> Vec<reflector::ObjectRef<KafkaRestore>> {
    if namespace.metadata.deletion_timestamp.is_none() {
        return Vec::new();
    }
    let name = namespace.metadata.name.as_deref();
    restores
        .state()
        .iter()
        .filter(|restore| restore.metadata.namespace.as_deref() == name)
        .map(|restore| reflector::ObjectRef::from_obj(restore.as_ref()))
        .collect()
}

/// Where the controllers look for resources.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    /// Every namespace.
    #[default]
    Cluster,
    /// One namespace only.
    Namespace(String),
}

impl Scope {
    /// The watch of the namespaces in scope, metadata only.
    fn namespaces(&self) -> watcher::Config {
        match self {
            Scope::Cluster => watcher::Config::default(),
            Scope::Namespace(namespace) => {
                watcher::Config::default().fields(&format!("metadata.name={namespace}"))
            }
        }
    }

    fn api<K>(&self, client: &Client) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        match self {
            Scope::Cluster => Api::all(client.clone()),
            Scope::Namespace(namespace) => Api::namespaced(client.clone(), namespace),
        }
    }
}

/// Runs both controllers on the resources in `scope` until `stop` completes, within
/// `limits`.
#[allow(clippy::too_many_arguments)]
pub async fn run_controllers(
    client: Client,
    defaults: JobDefaults,
    metrics: ControllerMetrics,
    instance: String,
    scope: Scope,
    limits: Limits,
    stop: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let managed_selector = format!("{}={}", names::LABEL_MANAGED_BY, names::MANAGED_BY);
    let managed = watcher::Config::default().labels(&managed_selector);
    let restore_jobs_config = watcher::Config::default().labels(&format!(
        "{managed_selector},{}",
        crate::constants::LABEL_RESTORE
    ));
    let backup_jobs_config = watcher::Config::default().labels(&format!(
        "{managed_selector},{}",
        crate::constants::LABEL_BACKUP
    ));
    let (restore_jobs, writer) = reflector::store();
    let job_stream = cache_restore_jobs(
        writer,
        watcher(scope.api::<CachedJob>(&client), restore_jobs_config).default_backoff(),
    )
    .touched_objects();
    let (pvcs, writer) = reflector::store();
    // The report PVCs, metadata only: nothing else of a PVC is read.
    let pvc_stream = pvc_triggers(reflector::reflector(
        writer,
        watcher(
            scope.api::<PartialObjectMeta<PersistentVolumeClaim>>(&client),
            managed.clone(),
        )
        .default_backoff()
        .modify(|pvc| pvc.metadata.managed_fields = None),
    ))
    .touched_objects();
    let (backup_store, writer) = reflector::store();
    let backups = Controller::for_stream(
        watch_resources(scope.api::<KafkaBackup>(&client), writer),
        backup_store,
    );
    let (restore_store, writer) = reflector::store();
    let restores = Controller::for_stream(
        watch_resources(scope.api::<KafkaRestore>(&client), writer),
        restore_store,
    );
    let (namespaces, writer) = reflector::store();
    let namespace_stream = reflector::reflector(
        writer,
        watcher(
            Api::<PartialObjectMeta<Namespace>>::all(client.clone()),
            scope.namespaces(),
        )
        .default_backoff()
        .modify(|ns| ns.metadata.managed_fields = None),
    );
    let caches = Caches {
        restore_jobs,
        pvcs,
        backups: backups.store(),
        restores: restores.store(),
        namespaces,
    };
    metrics
        .resources
        .attach(caches.backups.clone(), caches.restores.clone());
    // The worker pods of restores, for the progress reader: their labels, phase and
    // address only.
    let (restore_pods, writer) = reflector::store();
    let pod_stream = reflector::reflector(
        writer,
        watcher(
            scope.api::<Pod>(&client),
            watcher::Config::default().labels(&format!(
                "{managed_selector},{}",
                crate::constants::LABEL_RESTORE
            )),
        )
        .default_backoff()
        .modify(|pod| {
            pod.metadata.managed_fields = None;
            pod.metadata.annotations = None;
            pod.spec = None;
            pod.status = pod.status.take().map(|s| PodStatus {
                phase: s.phase,
                pod_ip: s.pod_ip,
                ..Default::default()
            });
        }),
    );
    let progress = crate::controller::restore::progress::run(
        client.clone(),
        metrics.clone(),
        caches.restores.clone(),
        restore_pods,
    );
    metrics.leading(true);
    let stopped_metrics = metrics.clone();
    let ctx = Arc::new(Context::new(
        client.clone(),
        caches,
        defaults,
        metrics,
        instance,
        limits,
    ));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let config = controller::Config::default().concurrency(limits.concurrency);
    let namespace_stream = namespace_stream
        .inspect(|event| {
            if let Err(error) = event {
                tracing::warn!(%error, "namespace watch (grant list and watch on namespaces, see manifests/base/rbac.yaml)");
            }
        })
        .touched_objects();
    let restore_store = restores.store();
    let restores = restores
        .with_config(config.clone())
        .owns_stream(job_stream)
        .owns_stream(pvc_stream)
        .watches_stream(namespace_stream, move |namespace| {
            restores_in_deleted_namespace(&restore_store, &namespace)
        })
        .reconcile_all_on(ctx.burst.ends())
        .graceful_shutdown_on(stopped(stop_rx.clone()))
        .run(reconcile_restore, error_policy, ctx.clone())
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "restore reconcile");
            }
        });
    let restore_pods =
        pod_stream
            .take_until(stopped(stop_rx.clone()))
            .for_each(|event| async move {
                if let Err(error) = event {
                    tracing::warn!(%error, "restore pod watch");
                }
            });
    let progress_stop = stopped(stop_rx.clone());
    let progress = async move {
        tokio::select! {
            () = progress => {}
            () = progress_stop => {}
        }
    };
    let backups = backups
        .with_config(config)
        .owns(scope.api::<Job>(&client), backup_jobs_config)
        .owns(scope.api::<CronJob>(&client), managed.clone())
        .graceful_shutdown_on(stopped(stop_rx))
        .run(reconcile_backup, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "backup reconcile");
            }
        });
    tokio::spawn(async move {
        stop.await;
        let _ = stop_tx.send(true);
    });
    tracing::info!("controllers running");
    tokio::join!(restores, backups, restore_pods, progress);
    stopped_metrics.resources.detach();
    stopped_metrics.leading(false);
    tracing::info!("controllers stopped");
}

/// Where the leader election Lease lives and who this replica is.
#[derive(Clone, Debug)]
pub struct LeaderElection {
    pub namespace: String,
    pub identity: String,
    pub lease_name: String,
}

/// Runs the controllers only while this replica holds the Lease, so several replicas can
/// run safely; stops them when the Lease is lost or `shutdown` turns true, then releases
/// the Lease.
#[allow(clippy::too_many_arguments)]
pub async fn run_with_leader_election(
    clients: crate::cluster::Clients,
    defaults: JobDefaults,
    metrics: ControllerMetrics,
    election: LeaderElection,
    scope: Scope,
    limits: Limits,
    health: health::Health,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), kube_lease_manager::LeaseManagerError> {
    let manager =
        kube_lease_manager::LeaseManagerBuilder::new(clients.lease.clone(), &election.lease_name)
            .with_namespace(&election.namespace)
            .with_identity(&election.identity)
            .with_field_manager(FIELD_MANAGER)
            .with_duration(15)
            .with_grace(5)
            .build()
            .await?;
    let (mut leader, lease_task) = manager.watch().await;
    health.set(health::Phase::Standby);
    tracing::info!(lease = %election.lease_name, namespace = %election.namespace, identity = %election.identity, "waiting to become the leader");
    loop {
        tokio::select! {
            changed = leader.wait_for(|is_leader| *is_leader) => if changed.is_err() { break },
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
        tracing::info!("became the leader; starting the controllers");
        health.set(health::Phase::Leading);
        let mut lost = leader.clone();
        let mut stop = shutdown.clone();
        run_controllers(clients.api.clone(), defaults.clone(), metrics.clone(), election.identity.clone(), scope.clone(), limits, async move {
            tokio::select! {
                _ = lost.wait_for(|is_leader| !*is_leader) => tracing::warn!("lost the lease; stopping the controllers"),
                _ = stop.wait_for(|stop| *stop) => {}
            }
        })
        .await;
        health.set(health::Phase::Standby);
        if *shutdown.borrow() {
            break;
        }
    }
    drop(leader);
    match lease_task.await {
        Ok(Ok(_)) => tracing::info!("lease released"),
        Ok(Err(error)) => tracing::warn!(%error, "lease not released cleanly"),
        Err(error) => tracing::warn!(%error, "lease task failed"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};

    #[test]
    fn a_cached_resource_keeps_only_the_names_of_other_status_managers() {
        let entry = |manager: &str, subresource: Option<&str>| ManagedFieldsEntry {
            manager: Some(manager.into()),
            subresource: subresource.map(str::to_string),
            fields_v1: Some(FieldsV1(serde_json::json!({"f:status": {}}))),
            ..Default::default()
        };
        let mut restore = KafkaRestore::new("r", Default::default());
        restore.metadata.managed_fields = Some(vec![
            entry("kubectl", None),
            entry(FIELD_MANAGER, Some("status")),
            entry("strimzi-backup-operator", Some("status")),
        ]);
        trim_cached_resource(&mut restore);
        let kept = restore.metadata.managed_fields.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].manager.as_deref(), Some("strimzi-backup-operator"));
        assert!(kept[0].fields_v1.is_none());
    }

    #[test]
    fn a_namespace_marked_deleted_reconciles_its_restores_and_no_others() {
        let (store, mut writer) = reflector::store::<KafkaRestore>();
        for (namespace, name) in [("kafka", "a"), ("kafka", "b"), ("other", "c")] {
            let mut restore = KafkaRestore::new(name, Default::default());
            restore.metadata.namespace = Some(namespace.into());
            writer.apply_watcher_event(&watcher::Event::Apply(restore));
        }
        let mut namespace = PartialObjectMeta::<Namespace>::default();
        namespace.metadata.name = Some("kafka".into());
        assert!(restores_in_deleted_namespace(&store, &namespace).is_empty());
        namespace.metadata.deletion_timestamp = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Default::default()),
        );
        let mut names: Vec<String> = restores_in_deleted_namespace(&store, &namespace)
            .into_iter()
            .map(|r| format!("{}/{}", r.namespace.unwrap(), r.name))
            .collect();
        names.sort();
        assert_eq!(names, ["kafka/a", "kafka/b"]);
    }

    #[tokio::test]
    async fn a_pvc_marked_deleted_reconciles_nothing_until_it_is_gone() {
        let pvc = |name: &str, deleting: bool| {
            let mut pvc = PartialObjectMeta::<PersistentVolumeClaim>::default();
            pvc.metadata.name = Some(name.into());
            if deleting {
                pvc.metadata.deletion_timestamp = Some(
                    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Default::default()),
                );
            }
            pvc
        };
        let events = futures::stream::iter([
            Ok(watcher::Event::Apply(pvc("made", false))),
            Ok(watcher::Event::Apply(pvc("marked", true))),
            Ok(watcher::Event::Delete(pvc("gone", true))),
            Ok(watcher::Event::InitApply(pvc("listed-deleting", true))),
        ]);
        let touched: Vec<String> = pvc_triggers(events)
            .touched_objects()
            .map(|pvc| pvc.unwrap().metadata.name.unwrap())
            .collect()
            .await;
        assert_eq!(touched, ["made", "gone", "listed-deleting"]);
    }
}
