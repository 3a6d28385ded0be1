//! Reconcile throughput of the pure planners: one `plan_restore` or `plan_backup` call
//! per reconcile, for the common states.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kafka_backup_operator::api::{KafkaBackup, KafkaRestore};
use kafka_backup_operator::controller::backup::plan::{BackupObservation, plan_backup};
use kafka_backup_operator::controller::build::{Connection, JobDefaults};
use kafka_backup_operator::controller::restore::plan::{RestoreObservation, plan_restore};
use serde_json::json;

fn restore(status: serde_json::Value) -> KafkaRestore {
    serde_json::from_value(json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaRestore",
        "metadata": {"name": "restore-orders", "namespace": "kafka", "uid": "u", "generation": 1,
                     "labels": {"kafkabackup.com/report-pvc-name": "restore-orders-report-x7k2p"}},
        "spec": {"strimziClusterRef": {"name": "my-cluster"}, "backupRef": {"name": "daily-backup"}},
        "status": status
    }))
    .unwrap()
}

fn job(state: Option<&str>) -> Job {
    serde_json::from_value(json!({
        "metadata": {"name": "restore-orders-restore-1", "labels": {"kafkabackup.com/attempt": "1"}},
        "spec": {"template": {}},
        "status": {"startTime": "2026-01-01T00:00:00Z",
                   "conditions": state.map(|s| vec![json!({"type": s, "status": "True"})]).unwrap_or_default()}
    }))
    .unwrap()
}

fn planner(c: &mut Criterion) {
    let defaults = JobDefaults {
        image: "operator:1".into(),
    };
    let connection = Connection {
        bootstrap_servers: "kafka:9092".into(),
        tls: false,
        ca_secret: None,
        authentication: None,
    };
    let storage: kafka_backup_operator::api::backup::BackupStorage =
        serde_json::from_value(json!({"type": "s3", "s3": {"bucket": "b"}})).unwrap();
    let now = Time(jiff::Timestamp::from_second(1_767_225_600).unwrap());
    let started = json!({"restore": {"jobName": "restore-orders-restore-1", "attempt": 1}});
    let cases = [
        ("plan_restore/new", restore(json!(null)), vec![]),
        (
            "plan_restore/running",
            restore(started.clone()),
            vec![job(None)],
        ),
        (
            "plan_restore/succeeded",
            restore(started.clone()),
            vec![job(Some("Complete"))],
        ),
        ("plan_restore/resume", restore(started), vec![]),
    ];
    for (name, restore, jobs) in cases {
        c.bench_function(name, |b| {
            b.iter(|| {
                black_box(plan_restore(&RestoreObservation {
                    restore: &restore,
                    jobs: jobs.clone(),
                    pvcs: vec![],
                    active_pods: 0,
                    backup_storage: Ok(storage.clone()),
                    connection: Ok(connection.clone()),
                    defaults: &defaults,
                    now: now.clone(),
                    summary: None,
                }))
            })
        });
    }
    let backup: KafkaBackup = serde_json::from_value(json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaBackup",
        "metadata": {"name": "daily-backup", "namespace": "kafka", "uid": "u", "generation": 1},
        "spec": {"strimziClusterRef": {"name": "my-cluster"}, "schedule": {"cron": "0 2 * * *"},
                 "storage": {"type": "s3", "s3": {"bucket": "b"}}}
    }))
    .unwrap();
    c.bench_function("plan_backup/scheduled", |b| {
        b.iter(|| {
            black_box(plan_backup(&BackupObservation {
                backup: &backup,
                config_map: None,
                cronjob: None,
                jobs: vec![],
                summaries: Default::default(),
                restores_reading: vec![],
                connection: Ok(connection.clone()),
                defaults: &defaults,
                now: now.clone(),
            }))
        })
    });
}

criterion_group!(benches, planner);
criterion_main!(benches);
