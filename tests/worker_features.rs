//! The settings a KafkaBackup or KafkaRestore passes to its worker, against Apache Kafka
//! (KRaft, one node) on 127.0.0.1, checked with an independent client (rdkafka): consumer
//! group offsets, topics created with the backup's partitions and configuration,
//! expiry of old segments, compression, a backup that stops at the offsets current when
//! it started, and an existing target topic refused. The worker reads its settings from
//! a configuration file, as in a Job.
//!
//! Without Java and Maven the tests say so and return, unless
//! `KAFKA_BACKUP_REQUIRE_BROKER=1` (set by `.ci/run`), where they fail.

#[path = "support/azurite.rs"]
mod azurite;
#[path = "support/broker.rs"]
mod broker;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use broker::{
    Broker, Record, commit_group, committed, consume, consume_partition_offsets, describe_topic,
    first_record_of_group, produce, produce_transactions, sample_records, sorted,
};
use kafka_backup_operator::api::TopicSelector;
use kafka_backup_operator::worker::config::{
    BackupOptions, ConsumerGroupOptions, GroupRename, KafkaEndpoint, RestoreOptions,
    RetentionOptions, StorageLocation, WorkerConfig,
};

fn config(broker: &Broker, storage: &Path, id: &str, topics: &[&str]) -> WorkerConfig {
    WorkerConfig {
        kafka: KafkaEndpoint {
            bootstrap_servers: broker.address.clone(),
            tls: None,
            sasl: None,
            connection: None,
        },
        storage: StorageLocation::Filesystem {
            path: storage.display().to_string(),
        },
        backup_id: id.into(),
        topics: TopicSelector {
            include: topics.iter().map(|t| t.to_string()).collect(),
            exclude: vec![],
        },
        backup: None,
        restore: None,
        metrics: None,
    }
}

/// Runs the worker on a configuration file; its output and summary.
fn run(command: &str, config: &WorkerConfig) -> (Output, serde_json::Value) {
    run_with(command, config, &[])
}

/// Runs the worker with environment variables (credentials, as a Job's Secrets give).
fn run_with(
    command: &str,
    config: &WorkerConfig,
    env: &[(&str, &str)],
) -> (Output, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.yaml");
    std::fs::write(&file, config.to_yaml().unwrap()).unwrap();
    let summary = dir.path().join("summary");
    let output = Command::cargo_bin("kafka-backup-operator")
        .unwrap()
        .args([command, "--config"])
        .arg(&file)
        .arg("--termination-log")
        .arg(&summary)
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let summary = std::fs::read_to_string(&summary)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(serde_json::Value::Null);
    (output, summary)
}

fn run_ok(command: &str, config: &WorkerConfig) -> serde_json::Value {
    let (output, summary) = run(command, config);
    assert!(
        output.status.success(),
        "{command} failed ({:?}):\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    summary
}

fn restore_options(report: &Path, mapping: &[(&str, &str)]) -> RestoreOptions {
    RestoreOptions {
        report_dir: report.display().to_string(),
        topic_mapping: mapping
            .iter()
            .map(|(s, t)| (s.to_string(), t.to_string()))
            .collect(),
        ..Default::default()
    }
}

/// Seed of the compatibility issue: a consumer of a mapped group resumes in the target
/// at the record after the one it had committed in the source, not from the start and
/// not past unread records, although the offsets differ (the source holds aborted
/// transactions and transaction markers, which the restore does not write).
#[test]
fn a_consumer_group_resumes_at_its_next_record_in_the_target() {
    let Some(broker) = Broker::shared() else {
        return;
    };
    broker.create_topic("cg-orders", 2);
    let records = sample_records(600, 2);
    let transactions: Vec<(bool, Vec<Record>)> = records
        .chunks(40)
        .enumerate()
        .map(|(i, chunk)| (i % 4 != 2, chunk.to_vec()))
        .collect();
    produce_transactions(broker, "cg-orders", &transactions);
    let committed_records: usize = transactions
        .iter()
        .filter(|(c, _)| *c)
        .map(|(_, r)| r.len())
        .sum();
    let p0 = consume_partition_offsets(broker, "cg-orders", 0, committed_records / 2);
    let p1 = consume_partition_offsets(broker, "cg-orders", 1, committed_records / 2);
    // billing has read 100 records of partition 0 and 37 of partition 1; audit, 5 of
    // partition 0. Their committed offsets are source offsets, gaps and all.
    let (next0, next1) = (&p0[100], &p1[37]);
    commit_group(
        broker,
        "billing",
        "cg-orders",
        &[(0, next0.0), (1, next1.0)],
    );
    commit_group(broker, "audit", "cg-orders", &[(0, p0[5].0)]);
    assert!(next0.0 > 100, "the source offsets have gaps: {}", next0.0);

    let storage = tempfile::tempdir().unwrap();
    let mut backup = config(broker, storage.path(), "groups", &["cg-orders"]);
    backup.backup = Some(BackupOptions {
        consumer_group_snapshot: true,
        consumer_groups_exclude: vec!["aud.*".into()],
        ..Default::default()
    });
    let summary = run_ok("backup", &backup);
    assert_eq!(summary["consumerGroups"], 1, "audit is left out: {summary}");
    let snapshot =
        std::fs::read_to_string(storage.path().join("groups/consumer-groups-snapshot.json"))
            .unwrap();
    assert!(
        snapshot.contains("billing") && !snapshot.contains("audit"),
        "{snapshot}"
    );

    let report = tempfile::tempdir().unwrap();
    let mut restore = config(broker, storage.path(), "groups", &["cg-orders"]);
    let mut options = restore_options(report.path(), &[("cg-orders", "cg-orders-restored")]);
    options.consumer_groups = Some(ConsumerGroupOptions {
        groups: vec![GroupRename {
            source: "billing".into(),
            target: "billing-dr".into(),
        }],
        ..Default::default()
    });
    restore.restore = Some(options);
    let summary = run_ok("restore", &restore);
    assert_eq!(
        summary["groupsReset"],
        serde_json::json!(["billing-dr"]),
        "{summary}\n{}\n{}",
        std::fs::read_to_string(report.path().join("offsets.json")).unwrap_or_default(),
        std::fs::read_to_string(report.path().join("report.json")).unwrap_or_default()
    );

    // The target holds the committed records only, at other offsets.
    assert_eq!(
        consume(broker, "cg-orders-restored", 2, committed_records).len(),
        committed_records
    );
    let offsets = committed(broker, "billing-dr", "cg-orders-restored", 2);
    assert_eq!(
        offsets,
        [Some(100), Some(37)],
        "the record counts, not the source offsets"
    );
    for (partition, next) in [(0, next0), (1, next1)] {
        let resumed = first_record_of_group(broker, "billing-dr", "cg-orders-restored", partition)
            .expect("a record to resume at");
        assert_eq!(
            (resumed.key.clone(), resumed.value.clone()),
            (next.1.key.clone(), next.1.value.clone()),
            "partition {partition} resumes at the record the group had not read"
        );
    }
    assert_eq!(
        committed(broker, "billing", "cg-orders-restored", 2),
        [None, None],
        "the source name is not used in the target"
    );
    let offsets_file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.path().join("offsets.json")).unwrap())
            .unwrap();
    assert_eq!(offsets_file["committed"], true);
}

/// `topicCreation: auto`: a missing target is created like the backed-up topic, with its
/// partition count and configuration overrides.
#[test]
fn a_missing_target_is_created_with_the_backups_partitions_and_configuration() {
    let Some(broker) = Broker::shared() else {
        return;
    };
    broker.create_topic_with(
        "tc-ledger",
        3,
        &[("retention.ms", "86400000"), ("cleanup.policy", "compact")],
    );
    let records: Vec<Record> = sample_records(90, 3)
        .into_iter()
        .enumerate()
        .map(|(i, mut r)| {
            r.key = Some(format!("key-{i}").into_bytes());
            r
        })
        .collect();
    produce(broker, "tc-ledger", &records);
    let storage = tempfile::tempdir().unwrap();
    run_ok(
        "backup",
        &config(broker, storage.path(), "tc", &["tc-ledger"]),
    );

    let report = tempfile::tempdir().unwrap();
    let mut restore = config(broker, storage.path(), "tc", &["tc-ledger"]);
    restore.restore = Some(restore_options(
        report.path(),
        &[("tc-ledger", "tc-ledger-copy")],
    ));
    run_ok("restore", &restore);
    let (partitions, configs) = describe_topic(broker, "tc-ledger-copy");
    assert_eq!(partitions, 3);
    assert_eq!(
        configs.get("retention.ms").map(String::as_str),
        Some("86400000")
    );
    assert_eq!(
        configs.get("cleanup.policy").map(String::as_str),
        Some("compact")
    );
    assert_eq!(
        consume(broker, "tc-ledger-copy", 3, records.len()).len(),
        records.len()
    );

    // topicCreation: manual never creates one.
    let report = tempfile::tempdir().unwrap();
    let mut manual = config(broker, storage.path(), "tc", &["tc-ledger"]);
    let mut options = restore_options(report.path(), &[("tc-ledger", "tc-ledger-nowhere")]);
    options.create_topics = false;
    manual.restore = Some(options);
    let (output, _) = run("restore", &manual);
    assert!(!output.status.success());
    assert!(!broker::topic_exists(broker, "tc-ledger-nowhere"));
}

/// `existingTopicPolicy: fail` refuses, before writing anything, a target that exists.
#[test]
fn an_existing_target_is_refused_when_the_policy_says_fail() {
    let Some(broker) = Broker::shared() else {
        return;
    };
    broker.create_topic("ef-src", 1);
    broker.create_topic("ef-dst", 1);
    produce(broker, "ef-src", &sample_records(10, 1));
    let storage = tempfile::tempdir().unwrap();
    run_ok("backup", &config(broker, storage.path(), "ef", &["ef-src"]));
    let report = tempfile::tempdir().unwrap();
    let mut restore = config(broker, storage.path(), "ef", &["ef-src"]);
    let mut options = restore_options(report.path(), &[("ef-src", "ef-dst")]);
    options.fail_on_existing_topics = true;
    restore.restore = Some(options.clone());
    let (output, summary) = run("restore", &restore);
    assert_eq!(output.status.code(), Some(2));
    let message = summary["error"].as_str().unwrap_or_default();
    assert!(
        message.contains("ef-dst") && message.contains("already exist"),
        "{summary}"
    );
    assert!(
        consume(broker, "ef-dst", 1, 0).is_empty(),
        "nothing written"
    );
    assert!(
        !report.path().join("report.json").exists(),
        "no attempt counted"
    );

    options.topic_mapping = [("ef-src".to_string(), "ef-new".to_string())].into();
    restore.restore = Some(options);
    run_ok("restore", &restore);
    assert_eq!(consume(broker, "ef-new", 1, 10).len(), 10);
}

/// zstd (at a chosen level) and lz4 archives restore record for record.
#[test]
fn zstd_and_lz4_backups_restore_exactly() {
    let Some(broker) = Broker::shared() else {
        return;
    };
    broker.create_topic("cmp-events", 2);
    let records = sample_records(500, 2);
    produce(broker, "cmp-events", &records);
    let source = consume(broker, "cmp-events", 2, records.len());
    for (codec, level) in [("zstd", Some(19)), ("lz4", None), ("none", None)] {
        let storage = tempfile::tempdir().unwrap();
        let mut backup = config(broker, storage.path(), codec, &["cmp-events"]);
        backup.backup = Some(BackupOptions {
            compression: Some(codec.into()),
            compression_level: level,
            ..Default::default()
        });
        run_ok("backup", &backup);
        let segments: Vec<String> = walk(storage.path())
            .into_iter()
            .filter(|p| p.contains("segment-"))
            .collect();
        let suffix = match codec {
            "zstd" => ".zst",
            "lz4" => ".lz4",
            _ => ".bin",
        };
        assert!(
            !segments.is_empty() && segments.iter().all(|s| s.ends_with(suffix)),
            "{codec}: {segments:?}"
        );
        let report = tempfile::tempdir().unwrap();
        let target = format!("cmp-events-{codec}");
        let mut restore = config(broker, storage.path(), codec, &["cmp-events"]);
        restore.restore = Some(restore_options(report.path(), &[("cmp-events", &target)]));
        run_ok("restore", &restore);
        assert_eq!(
            consume(broker, &target, 2, records.len()),
            source,
            "{codec}"
        );
    }
}

fn walk(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path.display().to_string());
        }
    }
    found
}

/// A backup ends at the offsets current when it started, while producers go on writing:
/// the records written meanwhile are the next run's.
#[test]
fn a_backup_ends_while_producers_still_write() {
    let Some(broker) = Broker::shared() else {
        return;
    };
    broker.create_topic("live-clicks", 2);
    produce(broker, "live-clicks", &sample_records(2_000, 2));
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(2_000));
    let writer = {
        let (stop, written) = (stop.clone(), written.clone());
        let address = broker.address.clone();
        std::thread::spawn(move || {
            use rdkafka::producer::{
                BaseRecord, DefaultProducerContext, Producer, ThreadedProducer,
            };
            let producer: ThreadedProducer<DefaultProducerContext> = rdkafka::ClientConfig::new()
                .set("bootstrap.servers", &address)
                .set("linger.ms", "5")
                .create()
                .unwrap();
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let value = format!("live-{i}");
                let _ = producer.send(BaseRecord::<(), str>::to("live-clicks").payload(&value));
                i += 1;
                written.fetch_add(1, Ordering::Relaxed);
                if i.is_multiple_of(50) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            producer.flush(Duration::from_secs(30)).unwrap();
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    let storage = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let summary = run_ok(
        "backup",
        &config(broker, storage.path(), "live", &["live-clicks"]),
    );
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let total = written.load(Ordering::Relaxed);
    let backed_up = summary["records"].as_u64().unwrap() as usize;
    assert!(took < Duration::from_secs(60), "the backup ended: {took:?}");
    assert!(
        (2_000..total).contains(&backed_up),
        "{backed_up} records backed up of {total} written by the end"
    );
}

/// Retention keeps the data of the newest runs (and of each partition its newest
/// segment), deletes the rest from storage with the library's prune, and reports it; a
/// restore of what is kept is exact. While a KafkaRestore still reads the backup, or a
/// restore's hold in storage is fresh, nothing is deleted.
#[test]
fn retention_deletes_old_segments_unless_a_restore_holds_the_backup() {
    let Some(broker) = Broker::shared() else {
        return;
    };
    broker.create_topic("ret-audit", 1);
    let first = sample_records(100, 1);
    let second: Vec<Record> = sample_records(250, 1).split_off(100);
    let storage = tempfile::tempdir().unwrap();
    let backup = config(broker, storage.path(), "ret", &["ret-audit"]);
    produce(broker, "ret-audit", &first);
    run_ok("backup", &backup);
    produce(broker, "ret-audit", &second);
    let keep_one = |held_by: Vec<String>| {
        let mut c = backup.clone();
        c.backup = Some(BackupOptions {
            retention: Some(RetentionOptions {
                keep_runs: Some(1),
                held_by,
                ..Default::default()
            }),
            ..Default::default()
        });
        c
    };
    // Held by a KafkaRestore the operator names.
    let summary = run_ok("backup", &keep_one(vec!["kafka/restore-ledger".into()]));
    assert_eq!(
        summary["pruneHeld"],
        "KafkaRestore kafka/restore-ledger has not completed"
    );
    assert!(summary["pruned"].is_null(), "{summary}");
    // Held by a restore worker's fresh hold in storage.
    let holds = storage.path().join("ret/holds");
    std::fs::create_dir_all(&holds).unwrap();
    let now = jiff::Timestamp::now().as_millisecond();
    std::fs::write(
        holds.join("kafka_restore-x.json"),
        format!(r#"{{"restore":"kafka/restore-x","heartbeatMs":{now}}}"#),
    )
    .unwrap();
    let summary = run_ok("backup", &keep_one(vec![]));
    assert!(
        summary["pruneHeld"]
            .as_str()
            .unwrap()
            .contains("kafka/restore-x"),
        "{summary}"
    );
    // A stale hold does not hold; the oldest segments go, the newest stays.
    std::fs::write(
        holds.join("kafka_restore-x.json"),
        format!(
            r#"{{"restore":"kafka/restore-x","heartbeatMs":{}}}"#,
            now - 3_600_000
        ),
    )
    .unwrap();
    let segments_before = walk(storage.path())
        .iter()
        .filter(|p| p.contains("segment-"))
        .count();
    let summary = run_ok("backup", &keep_one(vec![]));
    let pruned = summary["pruned"]["segments"].as_u64().unwrap();
    assert!(
        pruned >= 1 && (pruned as usize) < segments_before,
        "{summary}"
    );
    assert!(summary["pruned"]["bytes"].as_u64().unwrap() > 0);
    let segments_after = walk(storage.path())
        .iter()
        .filter(|p| p.contains("segment-"))
        .count();
    assert_eq!(segments_after, segments_before - pruned as usize);

    // What is kept restores exactly: the second run's records.
    let report = tempfile::tempdir().unwrap();
    let mut restore = config(broker, storage.path(), "ret", &["ret-audit"]);
    restore.restore = Some(restore_options(
        report.path(),
        &[("ret-audit", "ret-audit-kept")],
    ));
    run_ok("restore", &restore);
    let kept = consume(broker, "ret-audit-kept", 1, second.len());
    assert_eq!(
        kept,
        sorted(second),
        "the records of the run kept, and no more"
    );
}

fn azure(
    broker: &Broker,
    azurite: &azurite::Azurite,
    container: &str,
    credential: &str,
    id: &str,
    topic: &str,
) -> WorkerConfig {
    let mut config = config(broker, Path::new("/"), id, &[topic]);
    config.storage = StorageLocation::Azure {
        account: azurite::ACCOUNT.into(),
        container: container.into(),
        prefix: Some("cluster-a".into()),
        endpoint: Some(azurite.endpoint()),
        account_key_env: (credential == "key").then(|| "AZURE_STORAGE_KEY".into()),
        sas_token_env: (credential == "sas").then(|| "AZURE_STORAGE_SAS_TOKEN".into()),
        client_id: None,
        tenant_id: None,
        client_secret_env: None,
        use_workload_identity: false,
    };
    config
}

/// Azure Blob Storage on Azurite (the emulator speaks the real protocol): a backup and
/// a restore record for record, with the account key and with a SAS token, each from
/// the environment as a Job's Secret gives it; a missing container fails before
/// anything is written, naming it.
#[test]
fn azure_blob_storage_round_trip_with_an_account_key_and_a_sas_token() {
    let (Some(broker), Some(azurite)) = (Broker::shared(), azurite::Azurite::start()) else {
        return;
    };
    azurite.create_container("kafka-backups");
    broker.create_topic("az-orders", 2);
    let records = sample_records(400, 2);
    produce(broker, "az-orders", &records);
    let source = consume(broker, "az-orders", 2, records.len());
    let sas = azurite.sas_token();
    for (credential, secret) in [("key", azurite::KEY), ("sas", sas.as_str())] {
        let variable = match credential {
            "key" => "AZURE_STORAGE_KEY",
            _ => "AZURE_STORAGE_SAS_TOKEN",
        };
        let id = format!("az-{credential}");
        let backup = azure(
            broker,
            &azurite,
            "kafka-backups",
            credential,
            &id,
            "az-orders",
        );
        let (output, summary) = run_with("backup", &backup, &[(variable, secret)]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(summary["records"], records.len());
        let blobs = azurite.blobs("kafka-backups");
        assert!(
            blobs
                .iter()
                .any(|b| b.starts_with(&format!("cluster-a/{id}/"))),
            "the backup is in the container under the prefix: {blobs:?}"
        );
        let report = tempfile::tempdir().unwrap();
        let target = format!("az-orders-{credential}");
        let mut restore = azure(
            broker,
            &azurite,
            "kafka-backups",
            credential,
            &id,
            "az-orders",
        );
        restore.restore = Some(restore_options(report.path(), &[("az-orders", &target)]));
        let (output, _) = run_with("restore", &restore, &[(variable, secret)]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            consume(broker, &target, 2, records.len()),
            source,
            "{credential}"
        );
    }

    let missing = azure(
        broker,
        &azurite,
        "no-such-container",
        "key",
        "az-x",
        "az-orders",
    );
    let (output, summary) = run_with("backup", &missing, &[("AZURE_STORAGE_KEY", azurite::KEY)]);
    assert!(!output.status.success());
    let error = summary["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("azure://devstoreaccount1/no-such-container")
            && error.contains("the container does not exist"),
        "{error}"
    );
    // Without the variable its Secret fills, the worker says which one is missing.
    let (output, summary) = run_with("backup", &missing, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        summary["error"]
            .as_str()
            .unwrap_or_default()
            .contains("AZURE_STORAGE_KEY"),
        "{summary}"
    );
}
