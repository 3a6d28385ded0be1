//! Memory of the controller's caches: reflector stores holding 2,000 KafkaRestores and
//! 2,000 restore Jobs as the controller builds them, the Jobs passed through the very
//! cache pipeline the controller's Job watch feeds (`cache_restore_jobs`), measured with
//! a counting allocator (no cluster). Prints the bytes held per store and per object.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use futures::StreamExt;
use kafka_backup_operator::api::KafkaRestore;
use kafka_backup_operator::controller::build::{self, Connection, JobDefaults};
use kafka_backup_operator::controller::cache_restore_jobs;
use kafka_backup_operator::controller::cached_job::CachedJob;
use kube::runtime::{reflector, watcher};
use serde_json::json;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const COUNT: usize = 2_000;

fn restore(i: usize) -> KafkaRestore {
    serde_json::from_value(json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaRestore",
        "metadata": {"name": format!("restore-{i:05}"), "namespace": "kafka", "uid": format!("uid-{i}"),
                     "generation": 1, "resourceVersion": "12345",
                     "labels": {"kafkabackup.com/restore-job-name": format!("restore-{i:05}-restore-1"),
                                "kafkabackup.com/report-pvc-name": format!("restore-{i:05}-report-x7k2p")},
                     "finalizers": ["kafkabackup.com/cleanup"]},
        "spec": {"strimziClusterRef": {"name": "my-cluster"}, "backupRef": {"name": "daily-backup"},
                 "backoffLimit": 0, "enabled": true, "purgeTopics": false, "dryRun": false,
                 "topics": {"include": ["orders-*"]}, "report": {"size": "1Gi"}},
        "status": {"observedGeneration": 1, "restore": {"jobName": format!("restore-{i:05}-restore-1"), "attempt": 1,
                   "startTime": "2026-01-01T00:00:00Z", "reportPvc": format!("restore-{i:05}-report-x7k2p")},
                   "conditions": [
                     {"type": "Ready", "status": "False", "reason": "RestoreRunning", "message": "Job 'restore-1' (attempt 1) is running", "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1},
                     {"type": "RestoreComplete", "status": "False", "reason": "RestoreRunning", "message": "running", "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1},
                     {"type": "Error", "status": "False", "reason": "RestoreRunning", "message": "no error", "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1}]}
    }))
    .expect("restore")
}

fn main() {
    let defaults = JobDefaults {
        image: "ghcr.io/kafka-backup-operator/kafka-backup-operator:0.1.0".into(),
    };
    let connection = Connection {
        bootstrap_servers: "my-cluster-kafka-bootstrap.kafka.svc:9093".into(),
        tls: true,
        ca_secret: Some(kafka_backup_operator::api::SecretKeyRef {
            name: "my-cluster-cluster-ca-cert".into(),
            key: "ca.crt".into(),
        }),
        authentication: None,
    };
    let storage =
        serde_json::from_value(json!({"type": "s3", "s3": {"bucket": "b", "region": "eu-west-1"}}))
            .unwrap();

    // Objects arrive from the watch one by one; build each, insert it, drop the copy.
    let before = LIVE.load(Ordering::Relaxed);
    let (restores, mut restore_writer) = reflector::store::<KafkaRestore>();
    for i in 0..COUNT {
        restore_writer.apply_watcher_event(&watcher::Event::Apply(restore(i)));
    }
    let after_restores = LIVE.load(Ordering::Relaxed);
    let (jobs, job_writer) = reflector::store::<CachedJob>();
    // One by one, as a watch delivers them, through the controller's cache pipeline.
    let events = futures::stream::iter((0..COUNT).map(|i| {
        let restore = restore(i);
        let job = build::restore_job(
            &restore,
            1,
            &format!("restore-{i:05}-report-x7k2p"),
            &storage,
            &build::restore_worker_config(&restore, &storage, &connection),
            &connection,
            &defaults,
        )
        .expect("job");
        // Read from its JSON as the watch reads it.
        let cached: CachedJob =
            serde_json::from_value(serde_json::to_value(&job).expect("json")).expect("cached job");
        Ok(watcher::Event::Apply(cached))
    }));
    futures::executor::block_on(cache_restore_jobs(job_writer, events).for_each(|_| async {}));
    let after_jobs = LIVE.load(Ordering::Relaxed);
    assert_eq!(restores.state().len(), COUNT);
    assert_eq!(jobs.state().len(), COUNT);
    let mib = |b: isize| b as f64 / (1024.0 * 1024.0);
    println!(
        "restore store: {COUNT} objects, {:.2} MiB, {} bytes each",
        mib(after_restores - before),
        (after_restores - before) / COUNT as isize
    );
    println!(
        "job store:     {COUNT} objects, {:.2} MiB, {} bytes each",
        mib(after_jobs - after_restores),
        (after_jobs - after_restores) / COUNT as isize
    );
    println!("both caches:   {:.2} MiB", mib(after_jobs - before));
}
