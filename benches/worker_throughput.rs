//! Backup and restore throughput of the worker against raw produce and consume with
//! rdkafka, on the same Apache Kafka broker (KRaft, one node) on 127.0.0.1, in one run,
//! through a directory and through an S3-compatible server (moto on 127.0.0.1, when
//! installed). Prints records/s, MB/s and the ratios (backup vs raw consume, restore vs
//! raw produce).

#[path = "../tests/support/broker.rs"]
mod broker;
#[path = "../tests/support/s3.rs"]
mod s3;

use std::process::Command;
use std::time::{Duration, Instant};

use broker::{Broker, Record, consume, produce};

const RECORDS: usize = 50_000;
const VALUE_BYTES: usize = 1024;

fn rate(label: &str, records: usize, bytes: usize, took: Duration) -> f64 {
    let per_sec = records as f64 / took.as_secs_f64();
    println!(
        "{label:<16} {records:>7} records in {:>6.2} s: {per_sec:>9.0} records/s {:>7.1} MB/s",
        took.as_secs_f64(),
        bytes as f64 / took.as_secs_f64() / 1e6
    );
    per_sec
}

fn worker(args: &[&str], storage: &[String]) {
    let status = Command::new(env!("CARGO_BIN_EXE_kafka-backup-operator"))
        .args(args)
        .args(storage)
        .env("RUST_LOG", "warn")
        .env("AWS_ACCESS_KEY_ID", s3::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", s3::SECRET_KEY)
        .env("AWS_REGION", s3::REGION)
        .status()
        .expect("worker runs");
    assert!(status.success(), "worker {args:?} failed");
}

fn main() {
    // `cargo test --all-targets` runs bench mains too; this one only runs under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("worker_throughput runs under `cargo bench` only");
        return;
    }
    // Says why when there is no broker (Java or Maven missing).
    let Some(broker) = Broker::start() else {
        return;
    };
    println!("Apache Kafka {}", broker::KAFKA_VERSION);
    let storage = tempfile::tempdir().unwrap();
    let records: Vec<Record> = (0..RECORDS)
        .map(|i| Record {
            partition: (i % 4) as i32,
            key: Some(format!("key-{i}").into_bytes()),
            value: Some(vec![(i % 251) as u8; VALUE_BYTES]),
            headers: vec![],
            timestamp: Some(1_767_225_600_000 + i as i64),
        })
        .collect();
    let bytes = RECORDS * VALUE_BYTES;
    broker.create_topic("bench", 4);

    let started = Instant::now();
    produce(&broker, "bench", &records);
    let raw_produce = rate("raw produce", RECORDS, bytes, started.elapsed());

    let started = Instant::now();
    let consumed = consume(&broker, "bench", 4, RECORDS);
    // The consumer waits 2 s of quiet after the last record to be sure it has all.
    let raw_consume = rate(
        "raw consume",
        consumed.len(),
        bytes,
        started.elapsed().saturating_sub(Duration::from_secs(2)),
    );

    let mut stores = vec![(
        "directory",
        vec![
            "--storage".to_string(),
            format!("file://{}", storage.path().display()),
        ],
    )];
    let server = s3::S3Server::start();
    if let Some(server) = &server {
        server.create_bucket("bench");
        stores.push((
            "s3 (moto)",
            vec![
                "--storage".into(),
                "s3://bench/throughput".into(),
                "--s3-endpoint".into(),
                server.endpoint(),
            ],
        ));
    }
    for (name, storage) in &stores {
        let started = Instant::now();
        worker(
            &[
                "backup",
                "--bootstrap-servers",
                &broker.address,
                "--backup-id",
                "bench",
                "--topics",
                "bench",
                "--termination-log",
                "/dev/null",
            ],
            storage,
        );
        let backup = rate(&format!("backup {name}"), RECORDS, bytes, started.elapsed());

        let report = tempfile::tempdir().unwrap();
        let report_dir = report.path().display().to_string();
        let target = format!("bench-restored-{}", name.split(' ').next().unwrap());
        let mapping = format!("bench={target}");
        let started = Instant::now();
        worker(
            &[
                "restore",
                "--bootstrap-servers",
                &broker.address,
                "--backup-id",
                "bench",
                "--topic-mapping",
                &mapping,
                "--report-dir",
                &report_dir,
                "--termination-log",
                "/dev/null",
            ],
            storage,
        );
        let restore = rate(
            &format!("restore {name}"),
            RECORDS,
            bytes,
            started.elapsed(),
        );
        assert_eq!(consume(&broker, &target, 4, RECORDS).len(), RECORDS);
        println!(
            "{name}: backup / raw consume {:.2}, restore / raw produce {:.2}",
            backup / raw_consume,
            restore / raw_produce
        );
    }
}
