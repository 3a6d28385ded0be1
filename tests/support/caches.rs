//! A controller context whose caches hold what a test gives: a reconcile called with it
//! sees exactly those objects, however far the API's are ahead (a stale cache). Used
//! with the mocked API (tests/support/api_mock.rs) and with the real API server.
#![allow(dead_code)]

use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim};
use kafka_backup_operator::api::{KafkaBackup, KafkaRestore};
use kafka_backup_operator::controller::build::JobDefaults;
use kafka_backup_operator::controller::metrics::ControllerMetrics;
use kafka_backup_operator::controller::{Caches, Context, Limits};
use kube::core::PartialObjectMeta;
use kube::core::PartialObjectMetaExt;
use kube::runtime::{reflector, watcher};

/// What the operator's caches hold when a test's reconcile runs.
#[derive(Default)]
pub struct Cached {
    pub jobs: Vec<Job>,
    pub pvcs: Vec<PersistentVolumeClaim>,
    pub backups: Vec<KafkaBackup>,
    pub restores: Vec<KafkaRestore>,
    /// Namespaces, metadata only (one being deleted carries a deletionTimestamp).
    pub namespaces: Vec<PartialObjectMeta<Namespace>>,
}

impl Cached {
    pub fn jobs(jobs: Vec<Job>) -> Self {
        Self {
            jobs,
            ..Default::default()
        }
    }
}

/// A store that has had its first listing, holding `objects`.
fn store<K>(objects: Vec<K>) -> reflector::Store<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    let (store, mut writer) = reflector::store();
    writer.apply_watcher_event(&watcher::Event::Init);
    for object in objects {
        writer.apply_watcher_event(&watcher::Event::InitApply(object));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    store
}

pub fn context(client: kube::Client, cached: Cached) -> Arc<Context> {
    context_counting(
        client,
        cached,
        &mut prometheus_client::registry::Registry::default(),
    )
}

/// The controllers' limits in tests: 8 reconciles at once, as the operator's default,
/// and no request rate (the mocked API answers at once).
pub const LIMITS: Limits = Limits {
    concurrency: 8,
    requests_per_second: 0,
};

/// A context whose metrics are registered in `registry`, to read them back.
pub fn context_counting(
    client: kube::Client,
    cached: Cached,
    registry: &mut prometheus_client::registry::Registry,
) -> Arc<Context> {
    context_within(client, cached, registry, LIMITS)
}

/// A context of controllers within `limits`.
pub fn context_within(
    client: kube::Client,
    cached: Cached,
    registry: &mut prometheus_client::registry::Registry,
    limits: Limits,
) -> Arc<Context> {
    let metrics = ControllerMetrics::register(registry);
    let caches = Caches {
        // Read from their JSON, as the controller's Job watch reads them.
        restore_jobs: store(
            cached
                .jobs
                .iter()
                .map(|job| serde_json::from_value(serde_json::to_value(job).unwrap()).unwrap())
                .collect(),
        ),
        pvcs: store(
            cached
                .pvcs
                .into_iter()
                .map(|pvc| pvc.metadata.into_request_partial())
                .collect(),
        ),
        backups: store(cached.backups),
        restores: store(cached.restores),
        namespaces: store(cached.namespaces),
    };
    Arc::new(Context::new(
        client,
        caches,
        JobDefaults {
            image: "kafka-backup-operator:test".into(),
        },
        metrics,
        "test".into(),
        limits,
    ))
}
