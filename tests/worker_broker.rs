//! The backup and restore workers against a real Kafka-protocol broker (tansu) on
//! 127.0.0.1, checked record by record with an independent client (rdkafka).
//!
//! The broker is started per test on a free port and stopped by its PID. When `tansu` is
//! not installed the tests say so and return, unless `KAFKA_BACKUP_REQUIRE_BROKER=1`
//! (set by `.ci/run`, which installs it), where they fail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

/// A tansu broker on a free loopback port; stopped when dropped.
struct Broker {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

fn tansu() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("TANSU").map(PathBuf::from),
        std::env::var_os("CARGO_HOME").map(|h| PathBuf::from(h).join("bin/tansu")),
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/tansu")),
    ];
    candidates.into_iter().flatten().find(|p| p.exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Broker {
    /// Starts a broker, or `None` (with a note) when tansu is not installed.
    fn start() -> Option<Self> {
        let Some(binary) = tansu() else {
            assert!(
                std::env::var("KAFKA_BACKUP_REQUIRE_BROKER").as_deref() != Ok("1"),
                "tansu is required: cargo install tansu --version 0.6.0 --locked --features dynostore"
            );
            eprintln!(
                "skipped: tansu is not installed (cargo install tansu --version 0.6.0 --locked --features dynostore)"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(binary)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "memory://tansu/",
            ])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tansu starts");
        let broker = Broker {
            child,
            address: format!("127.0.0.1:{port}"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&broker.address).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen within 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(broker)
    }

    fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.address)
            // tansu holds a fetch for the client's whole max wait.
            .set("fetch.wait.max.ms", "10")
            .set("message.timeout.ms", "20000");
        config
    }

    fn create_topic(&self, name: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> = self.client().create().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let result = runtime
            .block_on(admin.create_topics(
                &[NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
                &AdminOptions::new(),
            ))
            .expect("create topic");
        for outcome in result {
            outcome.expect("topic created");
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Only the process this test started, by its PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One record as the independent client sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Record {
    partition: i32,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
    timestamp: Option<i64>,
}

/// A set of records covering the cases a verbatim restore must keep.
fn sample_records(count: usize, partitions: i32) -> Vec<Record> {
    (0..count)
        .map(|i| Record {
            partition: (i as i32) % partitions,
            key: match i % 5 {
                0 => None,
                _ => Some(format!("key-{i}").into_bytes()),
            },
            value: match i % 7 {
                3 => None,                                       // a tombstone
                4 => Some(vec![0, 159, 146, 150, 255, i as u8]), // binary, not UTF-8
                _ => Some(format!("value-{i}").into_bytes()),
            },
            headers: match i % 3 {
                0 => vec![],
                1 => vec![
                    ("trace".into(), Some(b"a".to_vec())),
                    ("trace".into(), Some(b"b".to_vec())),
                    ("empty".into(), None),
                ],
                _ => vec![("h".into(), Some(vec![i as u8]))],
            },
            timestamp: Some(1_767_225_600_000 + i as i64 * 1000),
        })
        .collect()
}

fn produce(broker: &Broker, topic: &str, records: &[Record]) {
    let producer: ThreadedProducer<DefaultProducerContext> =
        broker.client().set("linger.ms", "5").create().unwrap();
    for r in records {
        let mut headers = OwnedHeaders::new();
        for (key, value) in &r.headers {
            headers = headers.insert(Header {
                key,
                value: value.as_deref(),
            });
        }
        let mut record = BaseRecord::<[u8], [u8]>::to(topic)
            .partition(r.partition)
            .headers(headers);
        if let Some(key) = &r.key {
            record = record.key(key.as_slice());
        }
        if let Some(value) = &r.value {
            record = record.payload(value.as_slice());
        }
        if let Some(ts) = r.timestamp {
            record = record.timestamp(ts);
        }
        producer.send(record).map_err(|(e, _)| e).expect("queued");
    }
    producer.flush(Duration::from_secs(30)).expect("flushed");
}

/// Every record of a topic, per partition in offset order.
fn consume(broker: &Broker, topic: &str, partitions: i32, expected: usize) -> Vec<Record> {
    let consumer: BaseConsumer = broker
        .client()
        .set("group.id", format!("verify-{topic}-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut records = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                quiet_since = Instant::now();
                records.push(Record {
                    partition: m.partition(),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                    headers: m
                        .headers()
                        .map(|h| {
                            h.iter()
                                .map(|x| (x.key.to_string(), x.value.map(<[u8]>::to_vec)))
                                .collect()
                        })
                        .unwrap_or_default(),
                    timestamp: m.timestamp().to_millis(),
                });
            }
            Some(Err(e)) => panic!("consume {topic}: {e}"),
            None if records.len() >= expected && quiet_since.elapsed() > Duration::from_secs(2) => {
                break;
            }
            None => {}
        }
    }
    let mut by_partition = records;
    by_partition.sort_by_key(|r| r.partition); // stable: offset order within a partition
    by_partition
}

fn sorted(mut records: Vec<Record>) -> Vec<Record> {
    records.sort_by_key(|r| r.partition);
    records
}

fn worker(args: &[&str]) -> Command {
    let mut command = Command::cargo_bin("kafka-backup-operator").unwrap();
    command.args(args).env("RUST_LOG", "info");
    command
}

fn run_ok(mut command: Command) -> String {
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        output.status.success(),
        "worker failed ({:?}):\n{stderr}",
        output.status.code()
    );
    stderr
}

fn backup(broker: &Broker, storage: &Path, topics: &str, id: &str) {
    run_ok(worker(&[
        "backup",
        "--bootstrap-servers",
        &broker.address,
        "--storage",
        &format!("file://{}", storage.display()),
        "--backup-id",
        id,
        "--topics",
        topics,
        "--termination-log",
        &storage.join("backup-summary").display().to_string(),
    ]));
}

fn restore_command(
    broker: &Broker,
    storage: &Path,
    report: &Path,
    id: &str,
    extra: &[&str],
) -> Command {
    let storage_url = format!("file://{}", storage.display());
    let report_dir = report.display().to_string();
    let summary = report.join("summary").display().to_string();
    let mut args = vec![
        "restore",
        "--bootstrap-servers",
        &broker.address,
        "--storage",
        &storage_url,
        "--backup-id",
        id,
        "--report-dir",
        &report_dir,
        "--termination-log",
        &summary,
    ];
    args.extend_from_slice(extra);
    worker(&args)
}

#[test]
fn round_trip_is_record_for_record_into_a_mapped_topic() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let storage = tempfile::tempdir().unwrap();
    let report = tempfile::tempdir().unwrap();
    broker.create_topic("orders", 3);
    let records = sample_records(300, 3);
    produce(&broker, "orders", &records);
    let source = consume(&broker, "orders", 3, records.len());
    assert_eq!(
        source,
        sorted(records.clone()),
        "the broker returns what was produced"
    );

    backup(&broker, storage.path(), "orders", "nightly");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(storage.path().join("backup-summary")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["outcome"], "succeeded");

    run_ok(restore_command(
        &broker,
        storage.path(),
        report.path(),
        "nightly",
        &["--topic-mapping", "orders=orders-restored"],
    ));
    let restored = consume(&broker, "orders-restored", 3, records.len());
    assert_eq!(restored.len(), source.len());
    assert_eq!(
        restored, source,
        "keys, values, headers, timestamps and partitions are kept"
    );

    let report_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report_json["status"], "completed");
    assert_eq!(report_json["attempt"], 1);
    assert_eq!(report_json["records"], records.len());
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.path().join("summary")).unwrap())
            .unwrap();
    assert_eq!(summary["records"], records.len());

    // A completed restore run again does nothing.
    run_ok(restore_command(
        &broker,
        storage.path(),
        report.path(),
        "nightly",
        &["--topic-mapping", "orders=orders-restored"],
    ));
    assert_eq!(
        consume(&broker, "orders-restored", 3, records.len()).len(),
        records.len()
    );
}

#[test]
fn point_in_time_window_and_topic_selection() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let storage = tempfile::tempdir().unwrap();
    let report = tempfile::tempdir().unwrap();
    broker.create_topic("payments", 1);
    broker.create_topic("audit", 1);
    let records = sample_records(20, 1);
    produce(&broker, "payments", &records);
    produce(&broker, "audit", &records[..5]);
    backup(&broker, storage.path(), "payments,audit", "pit");
    // Records 5..10 (timestamps base+5 s .. base+9 s).
    run_ok(restore_command(
        &broker,
        storage.path(),
        report.path(),
        "pit",
        &[
            "--topics",
            "pay*",
            "--topic-mapping",
            "payments=payments-window",
            "--from",
            "2026-01-01T00:00:05Z",
            "--to",
            "2026-01-01T00:00:10Z",
        ],
    ));
    let restored = consume(&broker, "payments-window", 1, 5);
    assert_eq!(restored, records[5..10].to_vec());
}

#[test]
fn resume_after_sigkill_neither_duplicates_nor_loses() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let storage = tempfile::tempdir().unwrap();
    let report = tempfile::tempdir().unwrap();
    broker.create_topic("events", 2);
    let records = sample_records(20_000, 2);
    produce(&broker, "events", &records);
    let source = consume(&broker, "events", 2, records.len());
    backup(&broker, storage.path(), "events", "resume");

    // One record per produce request: the memory engine's ListOffsets is wrong, and the
    // library verifies the written tail through it on resume.
    let extra = [
        "--topic-mapping",
        "events=events-restored",
        "--produce-batch-size",
        "1",
    ];
    let report_now = || -> serde_json::Value {
        std::fs::read_to_string(report.path().join("report.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null)
    };
    // Each attempt is killed (SIGKILL: no chance to save anything) once its own report
    // shows it has restored another 3,000 records.
    let mut attempts = 0;
    for _ in 0..3 {
        attempts += 1;
        let before = report_now()["records"].as_u64().unwrap_or(0);
        let mut child = restore_command(&broker, storage.path(), report.path(), "resume", &extra)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let now = report_now();
            let own = now["attempt"].as_u64() == Some(attempts);
            if (own && now["records"].as_u64().unwrap_or(0) >= before + 3_000)
                || Instant::now() > deadline
                || child.try_wait().unwrap().is_some()
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "attempt {attempts} finished before it could be killed"
        );
        let _ = child.kill();
        let _ = child.wait();
        let interrupted = report_now();
        assert_eq!(
            interrupted["status"], "running",
            "a killed attempt leaves a running report"
        );
        assert_eq!(interrupted["attempt"], attempts);
        assert!(interrupted["records"].as_u64().unwrap() < records.len() as u64);
    }
    run_ok(restore_command(
        &broker,
        storage.path(),
        report.path(),
        "resume",
        &extra,
    ));
    let restored = consume(&broker, "events-restored", 2, source.len());
    assert_eq!(restored.len(), source.len(), "no record duplicated or lost");
    assert_eq!(restored, source);
    let report_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report_json["status"], "completed");
    assert_eq!(
        report_json["attempt"],
        attempts + 1,
        "the report counts the attempts"
    );
}

#[test]
fn an_empty_report_dir_starts_from_zero() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let storage = tempfile::tempdir().unwrap();
    broker.create_topic("fresh", 1);
    let records = sample_records(10, 1);
    produce(&broker, "fresh", &records);
    backup(&broker, storage.path(), "fresh", "fresh");
    for target in ["fresh-a", "fresh-b"] {
        let report = tempfile::tempdir().unwrap();
        let mapping = format!("fresh={target}");
        run_ok(restore_command(
            &broker,
            storage.path(),
            report.path(),
            "fresh",
            &["--topic-mapping", &mapping],
        ));
        assert_eq!(consume(&broker, target, 1, 10), records);
    }
}

#[test]
fn bad_input_fails_clearly_and_writes_nothing() {
    let storage = tempfile::tempdir().unwrap();
    let report = tempfile::tempdir().unwrap();
    // Unreachable broker: a closed loopback port.
    let port = free_port();
    let output = worker(&[
        "backup",
        "--bootstrap-servers",
        &format!("127.0.0.1:{port}"),
        "--storage",
        &format!("file://{}", storage.path().display()),
        "--backup-id",
        "nowhere",
        "--termination-log",
        &report.path().join("summary").display().to_string(),
    ])
    .output()
    .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        std::fs::read_dir(storage.path()).unwrap().next().is_none(),
        "nothing written to storage"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.path().join("summary")).unwrap())
            .unwrap();
    assert_eq!(summary["outcome"], "failed");

    // A malformed configuration file.
    let config = report.path().join("config.yaml");
    std::fs::write(&config, "kafka: [not, a, map]\n").unwrap();
    let output = worker(&[
        "backup",
        "--config",
        &config.display().to_string(),
        "--termination-log",
        "/dev/null",
    ])
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("config.yaml"));

    // A restore of a backup id that does not exist, when a broker is there.
    if let Some(broker) = Broker::start() {
        let empty = tempfile::tempdir().unwrap();
        let output = restore_command(&broker, empty.path(), report.path(), "missing", &[])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            String::from_utf8_lossy(&output.stderr)
                .to_lowercase()
                .contains("missing"),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
