//! The backup and restore workers against Apache Kafka (KRaft, one node) on 127.0.0.1,
//! checked record by record with an independent client (rdkafka).
//!
//! One broker serves every test of this binary (`Broker::shared`), each test on topics of
//! its own names; it is stopped by its PID when the tests end. Without Java and Maven the
//! tests say so and return, unless `KAFKA_BACKUP_REQUIRE_BROKER=1` (set by `.ci/run`,
//! which installs them), where they fail.

#[path = "support/broker.rs"]
mod broker;
#[path = "support/s3.rs"]
mod s3;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use broker::{
    Broker, Isolation, consume, consume_with, free_port, produce, produce_transactions,
    sample_records, sorted, topic_exists, watermarks,
};
use s3::S3Server;

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

/// Where a test's backup lives: a directory, or a prefix in a bucket of the S3 server.
enum Store<'a> {
    Dir(&'a Path),
    S3 { endpoint: String, url: String },
}

impl Store<'_> {
    /// `--storage` and, for S3, the endpoint flag and the keys in the environment (the
    /// only way credentials reach the worker).
    fn apply(&self, command: &mut Command) {
        match self {
            Store::Dir(dir) => {
                command.args(["--storage", &format!("file://{}", dir.display())]);
            }
            Store::S3 { endpoint, url } => {
                command
                    .args(["--storage", url, "--s3-endpoint", endpoint])
                    .env("AWS_ACCESS_KEY_ID", s3::ACCESS_KEY)
                    .env("AWS_SECRET_ACCESS_KEY", s3::SECRET_KEY)
                    .env("AWS_REGION", s3::REGION);
            }
        }
    }
}

/// A prefix in a bucket of `server`.
fn s3_store(server: &S3Server, url: &str) -> Store<'static> {
    Store::S3 {
        endpoint: server.endpoint(),
        url: url.into(),
    }
}

fn backup_command(
    broker: &Broker,
    store: &Store,
    summary: &Path,
    topics: &str,
    id: &str,
) -> Command {
    let mut command = worker(&[
        "backup",
        "--bootstrap-servers",
        &broker.address,
        "--backup-id",
        id,
        "--topics",
        topics,
        "--termination-log",
        &summary.display().to_string(),
    ]);
    store.apply(&mut command);
    command
}

fn backup(broker: &Broker, storage: &Path, topics: &str, id: &str) {
    run_ok(backup_command(
        broker,
        &Store::Dir(storage),
        &storage.join("backup-summary"),
        topics,
        id,
    ));
}

fn restore_from(
    broker: &Broker,
    store: &Store,
    report: &Path,
    id: &str,
    extra: &[&str],
) -> Command {
    let report_dir = report.display().to_string();
    let summary = report.join("summary").display().to_string();
    let mut args = vec![
        "restore",
        "--bootstrap-servers",
        &broker.address,
        "--backup-id",
        id,
        "--report-dir",
        &report_dir,
        "--termination-log",
        &summary,
    ];
    args.extend_from_slice(extra);
    let mut command = worker(&args);
    store.apply(&mut command);
    command
}

fn restore_command(
    broker: &Broker,
    storage: &Path,
    report: &Path,
    id: &str,
    extra: &[&str],
) -> Command {
    restore_from(broker, &Store::Dir(storage), report, id, extra)
}

#[test]
fn round_trip_is_record_for_record_into_a_mapped_topic() {
    let Some(broker) = Broker::shared() else {
        return;
    };
    let storage = tempfile::tempdir().unwrap();
    let report = tempfile::tempdir().unwrap();
    broker.create_topic("orders", 3);
    let records = sample_records(300, 3);
    produce(broker, "orders", &records);
    let source = consume(broker, "orders", 3, records.len());
    assert_eq!(
        source,
        sorted(records.clone()),
        "the broker returns what was produced"
    );

    backup(broker, storage.path(), "orders", "nightly");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(storage.path().join("backup-summary")).unwrap(),
    )
    .unwrap();
    // What the controller shows in status.lastBackup (R3).
    assert_eq!(summary["outcome"], "Succeeded");
    assert_eq!(summary["records"], records.len());
    assert_eq!(summary["topics"], 1);
    assert_eq!(summary["backupId"], "nightly");
    assert!(summary["bytes"].as_u64().unwrap() > 0, "{summary}");

    run_ok(restore_command(
        broker,
        storage.path(),
        report.path(),
        "nightly",
        &["--topic-mapping", "orders=orders-restored"],
    ));
    let restored = consume(broker, "orders-restored", 3, records.len());
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
        broker,
        storage.path(),
        report.path(),
        "nightly",
        &["--topic-mapping", "orders=orders-restored"],
    ));
    assert_eq!(
        consume(broker, "orders-restored", 3, records.len()).len(),
        records.len()
    );
}

#[test]
fn point_in_time_window_and_topic_selection() {
    let Some(broker) = Broker::shared() else {
        return;
    };
    let storage = tempfile::tempdir().unwrap();
    let report = tempfile::tempdir().unwrap();
    broker.create_topic("payments", 1);
    broker.create_topic("audit", 1);
    let records = sample_records(20, 1);
    produce(broker, "payments", &records);
    produce(broker, "audit", &records[..5]);
    backup(broker, storage.path(), "payments,audit", "pit");
    // Records 5..10 (timestamps base+5 s .. base+9 s).
    run_ok(restore_command(
        broker,
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
    let restored = consume(broker, "payments-window", 1, 5);
    assert_eq!(restored, records[5..10].to_vec());

    // A regular expression picks topics from the backup; an exclude leaves audit out
    // (restoring it into itself would have doubled it).
    let report = tempfile::tempdir().unwrap();
    run_ok(restore_command(
        broker,
        storage.path(),
        report.path(),
        "pit",
        &[
            "--topics",
            "~^(payments|audit)$",
            "--exclude-topics",
            "audit",
            "--topic-mapping",
            "payments=payments-regex",
        ],
    ));
    assert_eq!(consume(broker, "payments-regex", 1, 20), records);
    assert_eq!(
        consume(broker, "audit", 1, 5).len(),
        5,
        "the excluded topic was not restored"
    );
}

/// A restore slow enough to be interrupted mid-way: 2,000 records a second, in batches
/// of 100. A short produce timeout keeps the wait of an attempt after an unclean stop
/// (the timeout plus 6 s, so the stopped attempt's requests cannot land later) short.
const SLOW: [&str; 6] = [
    "--produce-batch-size",
    "100",
    "--rate-limit-records-per-sec",
    "2000",
    "--produce-timeout-ms",
    "2000",
];

/// The restore report of a directory, or null while there is none.
fn report_of(dir: &Path) -> serde_json::Value {
    std::fs::read_to_string(dir.join("report.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// A topic of 30,000 records on two partitions, backed up as `id` into `store`: at the
/// rate of [`SLOW`] a restore of it lasts 15 s, long enough to be interrupted. Returns the records
/// produced and the records as the broker returns them.
fn backed_up_into(
    broker: &Broker,
    store: &Store,
    topic: &str,
    id: &str,
) -> (Vec<broker::Record>, Vec<broker::Record>) {
    let scratch = tempfile::tempdir().unwrap();
    broker.create_topic(topic, 2);
    let records = sample_records(30_000, 2);
    produce(broker, topic, &records);
    let source = consume(broker, topic, 2, records.len());
    run_ok(backup_command(
        broker,
        store,
        &scratch.path().join("summary"),
        topic,
        id,
    ));
    (records, source)
}

/// The same in a directory of its own; returns it and an empty report directory too.
fn backed_up(
    broker: &Broker,
    topic: &str,
    id: &str,
) -> (
    tempfile::TempDir,
    tempfile::TempDir,
    Vec<broker::Record>,
    Vec<broker::Record>,
) {
    let storage = tempfile::tempdir().unwrap();
    let report = tempfile::tempdir().unwrap();
    let (records, source) = backed_up_into(broker, &Store::Dir(storage.path()), topic, id);
    (storage, report, records, source)
}

/// Attempt `attempt` of a restore, killed (SIGKILL) once its own report shows another
/// 3,000 records; the report it leaves says `running`, for that attempt.
fn killed_after_3000_more(
    broker: &Broker,
    store: &Store,
    report: &Path,
    id: &str,
    extra: &[&str],
    attempt: u64,
) {
    let before = report_of(report)["records"].as_u64().unwrap_or(0);
    let mut child = restore_from(broker, store, report, id, extra)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = report_of(report);
        let own = now["attempt"].as_u64() == Some(attempt);
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
        "attempt {attempt} finished before it could be killed"
    );
    let _ = child.kill();
    let _ = child.wait();
    let interrupted = report_of(report);
    assert_eq!(
        interrupted["status"], "running",
        "a killed attempt leaves a running report"
    );
    assert_eq!(interrupted["attempt"], attempt);
}

/// Three attempts of a restore of `topic` into `topic-restored`, each killed (SIGKILL: no
/// chance to save anything) once its own report shows another 3,000 records, then one
/// that finishes: the target holds the source exactly, and the report counts 4 attempts.
fn killed_three_times_then_finished(
    broker: &Broker,
    store: &Store,
    topic: &str,
    id: &str,
    source: &[broker::Record],
) {
    let report = tempfile::tempdir().unwrap();
    let mapping = format!("{topic}={topic}-restored");
    let extra = [&["--topic-mapping", mapping.as_str()][..], &SLOW[..]].concat();
    let report_now = || report_of(report.path());
    let attempts = 3;
    for attempt in 1..=attempts {
        killed_after_3000_more(broker, store, report.path(), id, &extra, attempt);
        assert!(report_now()["records"].as_u64().unwrap() < source.len() as u64);
    }
    run_ok(restore_from(broker, store, report.path(), id, &extra));
    let restored = consume(broker, &format!("{topic}-restored"), 2, source.len());
    assert_eq!(restored.len(), source.len(), "no record duplicated or lost");
    assert_eq!(restored, source);
    let report_json = report_now();
    assert_eq!(report_json["status"], "completed");
    assert_eq!(
        report_json["attempt"],
        attempts + 1,
        "the report counts the attempts"
    );
}

#[test]
fn resume_after_sigkill_neither_duplicates_nor_loses() {
    let Some(broker) = Broker::shared() else {
        return;
    };
    let storage = tempfile::tempdir().unwrap();
    let store = Store::Dir(storage.path());
    let (_, source) = backed_up_into(broker, &store, "events", "resume");
    killed_three_times_then_finished(broker, &store, "events", "resume", &source);
}

#[test]
fn s3_resume_after_sigkill_neither_duplicates_nor_loses() {
    let (Some(broker), Some(server)) = (Broker::shared(), S3Server::start()) else {
        return;
    };
    server.create_bucket("resumable");
    let store = s3_store(&server, "s3://resumable/cluster-a");
    let (_, source) = backed_up_into(broker, &store, "payments-s3", "resume");
    killed_three_times_then_finished(broker, &store, "payments-s3", "resume", &source);
}

/// R5: a resume whose settings differ from those the progress was made under would make
/// the library start over and write everything again. It is refused before anything is
/// written, with what changed and the way out; the old settings then finish exactly.
#[test]
fn a_resume_with_changed_settings_is_refused_and_writes_nothing_more() {
    let Some(broker) = Broker::shared() else {
        return;
    };
    let storage = tempfile::tempdir().unwrap();
    let store = Store::Dir(storage.path());
    let (_, source) = backed_up_into(broker, &store, "ledger", "fingerprint");
    let report = tempfile::tempdir().unwrap();
    let summary = report.path().join("summary");
    let old = [
        "--topic-mapping",
        "ledger=ledger-restored",
        "--produce-batch-size",
        "100",
        "--rate-limit-records-per-sec",
        "2000",
        "--produce-timeout-ms",
        "2000",
    ];
    killed_after_3000_more(broker, &store, report.path(), "fingerprint", &old, 1);
    let interrupted = report_of(report.path());
    let written = consume(broker, "ledger-restored", 2, 0).len();
    assert!(written >= 3_000 && written < source.len(), "{written}");

    let changed = [
        "--topic-mapping",
        "ledger=ledger-restored",
        "--produce-batch-size",
        "200",
        "--rate-limit-records-per-sec",
        "2000",
        "--produce-timeout-ms",
        "2000",
    ];
    let output = restore_from(broker, &store, report.path(), "fingerprint", &changed)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "refused as unusable input");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains('\u{1b}'),
        "no colour codes off a terminal: {stderr}"
    );
    for said in [
        "attempt 1",
        "produce_batch_size",
        "100 -> 200",
        "start over",
        "the settings of attempt 1",
        "delete the report",
    ] {
        assert!(stderr.contains(said), "'{said}' missing from: {stderr}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["outcome"], "Failed");
    assert!(
        summary["error"]
            .as_str()
            .is_some_and(|e| e.contains("produce_batch_size")),
        "{summary}"
    );
    assert_eq!(
        consume(broker, "ledger-restored", 2, 0).len(),
        written,
        "nothing more was written"
    );
    assert_eq!(
        report_of(report.path()),
        interrupted,
        "the refused attempt is not counted"
    );

    run_ok(restore_from(
        broker,
        &store,
        report.path(),
        "fingerprint",
        &old,
    ));
    assert_eq!(consume(broker, "ledger-restored", 2, source.len()), source);
    assert_eq!(report_of(report.path())["attempt"], 2);
}

/// Seed 003: restore, then the source grows and is backed up again under the same
/// backup id; a continuation restores exactly what the target has not received, once
/// per token.
#[test]
fn a_continued_restore_adds_exactly_what_the_backup_gained() {
    let Some(broker) = Broker::shared() else {
        return;
    };
    let storage = tempfile::tempdir().unwrap();
    let store = Store::Dir(storage.path());
    let report = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    broker.create_topic("trades", 2);
    let first = sample_records(3_000, 2);
    produce(broker, "trades", &first);
    let summary = scratch.path().join("summary");
    run_ok(backup_command(broker, &store, &summary, "trades", "grows"));
    let extra = ["--topic-mapping", "trades=trades-restored"];
    run_ok(restore_from(broker, &store, report.path(), "grows", &extra));
    assert_eq!(
        consume(broker, "trades-restored", 2, first.len()),
        consume(broker, "trades", 2, first.len())
    );

    // The source grows; the next backup run adds to the same backup.
    let more: Vec<broker::Record> = sample_records(4_000, 2).split_off(3_000);
    produce(broker, "trades", &more);
    run_ok(backup_command(broker, &store, &summary, "trades", "grows"));
    let source = consume(broker, "trades", 2, first.len() + more.len());
    assert_eq!(source.len(), 4_000);

    // Without a token the completed restore stays completed.
    run_ok(restore_from(broker, &store, report.path(), "grows", &extra));
    assert_eq!(consume(broker, "trades-restored", 2, 0).len(), first.len());

    let continued = [&extra[..], &["--continue", "2026-11-23"]].concat();
    run_ok(restore_from(
        broker,
        &store,
        report.path(),
        "grows",
        &continued,
    ));
    let restored = consume(broker, "trades-restored", 2, source.len());
    assert_eq!(restored.len(), source.len(), "nothing duplicated or lost");
    assert_eq!(restored, source);
    let report_json = report_of(report.path());
    assert_eq!(report_json["status"], "completed");
    assert_eq!(report_json["continued"], serde_json::json!(["2026-11-23"]));
    assert_eq!(report_json["attempt"], 2);

    // The same token again does nothing.
    run_ok(restore_from(
        broker,
        &store,
        report.path(),
        "grows",
        &continued,
    ));
    assert_eq!(consume(broker, "trades-restored", 2, 0).len(), source.len());
    assert_eq!(report_of(report.path())["attempt"], 2);

    // Someone else wrote to the target since: what this restore wrote can no longer be
    // told apart, so a continuation refuses instead of guessing.
    let foreign = sample_records(9_004, 2).split_off(9_000);
    produce(broker, "trades-restored", &foreign);
    produce(broker, "trades", &sample_records(5_010, 2).split_off(5_000));
    run_ok(backup_command(broker, &store, &summary, "trades", "grows"));
    let again = [&extra[..], &["--continue", "second"]].concat();
    let output = restore_from(broker, &store, report.path(), "grows", &again)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Another writer"), "{stderr}");
    assert_eq!(
        consume(broker, "trades-restored", 2, 0).len(),
        source.len() + 4,
        "nothing written after the other writer's records"
    );

    // A continuation without the completed restore's report has nothing to go on.
    let empty = tempfile::tempdir().unwrap();
    let output = restore_from(broker, &store, empty.path(), "grows", &continued)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nothing to continue"), "{stderr}");
    assert_eq!(
        consume(broker, "trades-restored", 2, 0).len(),
        source.len() + 4
    );
}

#[test]
fn an_empty_report_dir_starts_from_zero() {
    let Some(broker) = Broker::shared() else {
        return;
    };
    let storage = tempfile::tempdir().unwrap();
    broker.create_topic("fresh", 1);
    let records = sample_records(10, 1);
    produce(broker, "fresh", &records);
    backup(broker, storage.path(), "fresh", "fresh");
    for target in ["fresh-a", "fresh-b"] {
        let report = tempfile::tempdir().unwrap();
        let mapping = format!("fresh={target}");
        run_ok(restore_command(
            broker,
            storage.path(),
            report.path(),
            "fresh",
            &["--topic-mapping", &mapping],
        ));
        assert_eq!(consume(broker, target, 1, 10), records);
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
    assert_eq!(summary["outcome"], "Failed");

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
    if let Some(broker) = Broker::shared() {
        let empty = tempfile::tempdir().unwrap();
        let output = restore_command(broker, empty.path(), report.path(), "missing", &[])
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

#[test]
/// SIGTERM in the middle of a topic stops the restore within seconds (the library stops
/// only between topics, so the worker drops the run), and the next attempt finishes
/// record for record from the checkpoint and the target's tail.
fn sigterm_stops_a_restore_mid_topic_and_the_next_attempt_finishes_exactly() {
    let Some(broker) = Broker::shared() else {
        return;
    };
    let (storage, report, _, source) = backed_up(broker, "clicks", "term");
    let extra = [
        &["--topic-mapping", "clicks=clicks-restored"][..],
        &SLOW[..],
    ]
    .concat();
    let report_now = || report_of(report.path());
    let mut child = restore_command(broker, storage.path(), report.path(), "term", &extra)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while report_now()["records"].as_u64().unwrap_or(0) < 3_000
        && Instant::now() < deadline
        && child.try_wait().unwrap().is_none()
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the restore finished before it could be stopped"
    );
    // SIGTERM, as Kubernetes sends when it stops a pod; to the child we started, by PID.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the worker did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        status.code(),
        Some(3),
        "exit code 3 means stopped by a signal"
    );
    let written: i64 = watermarks(broker, "clicks-restored", 2)
        .iter()
        .map(|(_, high)| high)
        .sum();
    assert!(
        written < source.len() as i64,
        "stopped mid-topic, not at the end: {written} records written"
    );
    let stopped = report_now();
    assert_eq!(stopped["status"], "running");
    assert!(
        stopped["errors"][0]
            .as_str()
            .unwrap()
            .contains("stopped by a signal"),
        "{stopped}"
    );

    run_ok(restore_command(
        broker,
        storage.path(),
        report.path(),
        "term",
        &extra,
    ));
    let restored = consume(broker, "clicks-restored", 2, source.len());
    assert_eq!(restored, source, "no record duplicated or lost");
}

#[test]
fn s3_round_trip_is_record_for_record_through_a_bucket_prefix() {
    let (Some(broker), Some(server)) = (Broker::shared(), S3Server::start()) else {
        return;
    };
    server.create_bucket("backups");
    let store = s3_store(&server, "s3://backups/team-a/kafka");
    let scratch = tempfile::tempdir().unwrap();
    let report = tempfile::tempdir().unwrap();
    broker.create_topic("orders-s3", 3);
    let records = sample_records(300, 3);
    produce(broker, "orders-s3", &records);
    let source = consume(broker, "orders-s3", 3, records.len());

    let summary_file = scratch.path().join("backup-summary");
    run_ok(backup_command(
        broker,
        &store,
        &summary_file,
        "orders-s3",
        "nightly",
    ));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_file).unwrap()).unwrap();
    assert_eq!(summary["outcome"], "Succeeded");
    let keys = server.keys("backups", "");
    assert!(!keys.is_empty(), "the backup is in the bucket");
    assert!(
        keys.iter().all(|k| k.starts_with("team-a/kafka/")),
        "everything under the prefix: {keys:?}"
    );

    run_ok(restore_from(
        broker,
        &store,
        report.path(),
        "nightly",
        &["--topic-mapping", "orders-s3=orders-from-s3"],
    ));
    let restored = consume(broker, "orders-from-s3", 3, records.len());
    assert_eq!(restored.len(), source.len());
    assert_eq!(
        restored, source,
        "record for record, as through a directory"
    );
    assert_eq!(report_of(report.path())["status"], "completed");
}

/// S3 keys from an AWS shared credentials file (what `credentialsSecret.key` mounts in a
/// pod), with no AWS_* key variables: the backup lands in the bucket. A file holding
/// temporary credentials is refused before anything is written, naming the file.
#[test]
fn s3_keys_come_from_a_shared_credentials_file() {
    let (Some(broker), Some(server)) = (Broker::shared(), S3Server::start()) else {
        return;
    };
    server.create_bucket("from-file");
    broker.create_topic("orders-file", 1);
    produce(broker, "orders-file", &sample_records(50, 1));
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("credentials");
    let with_file = |text: &str| {
        std::fs::write(&file, text).unwrap();
        let summary = scratch.path().join("summary");
        let mut command = worker(&[
            "backup",
            "--bootstrap-servers",
            &broker.address,
            "--backup-id",
            "from-file",
            "--topics",
            "orders-file",
            "--termination-log",
            &summary.display().to_string(),
            "--storage",
            "s3://from-file/kafka",
            "--s3-endpoint",
            &server.endpoint(),
        ]);
        // The keys only in the file.
        command
            .env("AWS_SHARED_CREDENTIALS_FILE", &file)
            .env("AWS_REGION", s3::REGION)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_PROFILE");
        command
    };
    run_ok(with_file(&format!(
        "# written by hand\n[other]\naws_access_key_id = nope\n\n[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        s3::ACCESS_KEY,
        s3::SECRET_KEY
    )));
    assert!(
        server
            .keys("from-file", "")
            .iter()
            .any(|k| k.starts_with("kafka/from-file/")),
        "the backup is in the bucket"
    );
    let refused = fails_naming(
        with_file(&format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = t\n",
            s3::ACCESS_KEY,
            s3::SECRET_KEY
        )),
        &[&file.display().to_string(), "aws_session_token"],
    );
    assert!(refused.contains("pod's identity"), "{refused}");
}

/// Runs `command`, expecting a failure whose message names every one of `names`.
fn fails_naming(mut command: Command, names: &[&str]) -> String {
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!output.status.success(), "expected a failure:\n{stderr}");
    for name in names {
        assert!(
            stderr.contains(name),
            "the message names '{name}':\n{stderr}"
        );
    }
    stderr
}

#[test]
fn s3_failures_name_the_bucket_or_endpoint_and_write_nothing() {
    let (Some(broker), Some(server)) = (Broker::shared(), S3Server::start()) else {
        return;
    };
    broker.create_topic("ledger-s3", 1);
    produce(broker, "ledger-s3", &sample_records(10, 1));
    let scratch = tempfile::tempdir().unwrap();
    let summary = scratch.path().join("summary");
    let mapping = ["--topic-mapping", "ledger-s3=ledger-s3-restored"];

    // A bucket that does not exist.
    let missing = s3_store(&server, "s3://no-such-bucket/x");
    let message = fails_naming(
        backup_command(broker, &missing, &summary, "ledger-s3", "b1"),
        &["s3://no-such-bucket/x", "the bucket does not exist"],
    );
    eprintln!("missing bucket (backup): {message}");
    let report = tempfile::tempdir().unwrap();
    let message = fails_naming(
        restore_from(broker, &missing, report.path(), "b1", &mapping),
        &["s3://no-such-bucket/x", "the bucket does not exist"],
    );
    eprintln!("missing bucket (restore): {message}");
    assert_eq!(
        report_of(report.path()),
        serde_json::Value::Null,
        "no attempt is counted before the storage is usable"
    );
    assert!(
        !topic_exists(broker, "ledger-s3-restored"),
        "nothing written to Kafka"
    );

    // Credentials the server refuses.
    let Some(checking) = S3Server::start_checking_credentials() else {
        return;
    };
    let refused = s3_store(&checking, "s3://backups/x");
    let report = tempfile::tempdir().unwrap();
    let message = fails_naming(
        restore_from(broker, &refused, report.path(), "b1", &mapping),
        &[
            "s3://backups/x",
            "refused the credentials",
            "AWS_ACCESS_KEY_ID",
        ],
    );
    eprintln!("refused credentials (restore): {message}");
    assert!(
        !topic_exists(broker, "ledger-s3-restored"),
        "nothing written to Kafka"
    );

    // An endpoint where nothing listens.
    let closed = free_port();
    let nowhere = Store::S3 {
        endpoint: format!("http://127.0.0.1:{closed}"),
        url: "s3://backups/x".into(),
    };
    let report = tempfile::tempdir().unwrap();
    let message = fails_naming(
        restore_from(broker, &nowhere, report.path(), "b1", &mapping),
        &[&format!("127.0.0.1:{closed}"), "cannot be reached"],
    );
    eprintln!("unreachable endpoint (restore): {message}");
    assert!(
        !topic_exists(broker, "ledger-s3-restored"),
        "nothing written to Kafka"
    );
}

/// `--purge-topics` empties the target with DeleteRecords before the first attempt
/// writes; an attempt resumed after SIGKILL never purges again, so what the first one
/// restored stays and the target ends equal to the source.
#[test]
fn purge_empties_the_target_once_and_a_resumed_attempt_keeps_what_was_restored() {
    let Some(broker) = Broker::shared() else {
        return;
    };
    let storage = tempfile::tempdir().unwrap();
    let store = Store::Dir(storage.path());
    let (_, source) = backed_up_into(broker, &store, "inventory", "purge");
    broker.create_topic("inventory-restored", 2);
    let stale = sample_records(40_050, 2).split_off(40_000);
    produce(broker, "inventory-restored", &stale);
    assert_eq!(
        watermarks(broker, "inventory-restored", 2),
        [(0, 25), (0, 25)]
    );

    let report = tempfile::tempdir().unwrap();
    let extra = [
        &[
            "--topic-mapping",
            "inventory=inventory-restored",
            "--purge-topics",
        ][..],
        &SLOW[..],
    ]
    .concat();
    killed_after_3000_more(broker, &store, report.path(), "purge", &extra, 1);
    assert_eq!(report_of(report.path())["purgedOnAttempt"], 1);
    let marks = watermarks(broker, "inventory-restored", 2);
    assert!(
        marks.iter().all(|(low, _)| *low == 25),
        "the stale records were deleted, not the topic: {marks:?}"
    );
    let partly = consume(broker, "inventory-restored", 2, 3_000).len();
    assert!(partly >= 3_000 && partly < source.len(), "{partly}");

    run_ok(restore_from(broker, &store, report.path(), "purge", &extra));
    let restored = consume(broker, "inventory-restored", 2, source.len());
    assert_eq!(
        restored.len(),
        source.len(),
        "nothing purged twice, nothing lost"
    );
    assert_eq!(restored, source);
    let report_json = report_of(report.path());
    assert_eq!(report_json["attempt"], 2);
    assert_eq!(report_json["purgedOnAttempt"], 1, "attempt 2 did not purge");
}

/// A backup reads as a `read_committed` consumer does: records of aborted transactions
/// and the transaction markers are not archived, so the restored topic holds exactly
/// the committed records, and nothing a `read_uncommitted` consumer could trip over.
#[test]
fn a_backup_keeps_committed_transactions_and_leaves_aborted_ones_out() {
    let Some(broker) = Broker::shared() else {
        return;
    };
    broker.create_topic("ledger-tx", 2);
    let records = sample_records(400, 2);
    let chunks: Vec<Vec<broker::Record>> = records.chunks(50).map(<[_]>::to_vec).collect();
    // Eight transactions: the 2nd, 5th and 8th aborted.
    let transactions: Vec<(bool, Vec<broker::Record>)> = chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| (i % 3 != 1, chunk.clone()))
        .collect();
    produce_transactions(broker, "ledger-tx", &transactions);
    let committed: Vec<broker::Record> = transactions
        .iter()
        .filter(|(commit, _)| *commit)
        .flat_map(|(_, r)| r.clone())
        .collect();
    assert_eq!(committed.len(), 250);
    let source = consume(broker, "ledger-tx", 2, committed.len());
    assert_eq!(source, sorted(committed.clone()));
    assert_eq!(
        consume_with(
            broker,
            "ledger-tx",
            2,
            records.len(),
            Isolation::Uncommitted
        )
        .len(),
        records.len(),
        "the aborted records are in the log"
    );

    let storage = tempfile::tempdir().unwrap();
    let summary = storage.path().join("summary");
    run_ok(backup_command(
        broker,
        &Store::Dir(storage.path()),
        &summary,
        "ledger-tx",
        "tx",
    ));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["records"], committed.len(), "{summary}");

    let report = tempfile::tempdir().unwrap();
    run_ok(restore_command(
        broker,
        storage.path(),
        report.path(),
        "tx",
        &["--topic-mapping", "ledger-tx=ledger-tx-restored"],
    ));
    let restored = consume_with(
        broker,
        "ledger-tx-restored",
        2,
        committed.len(),
        Isolation::Uncommitted,
    );
    assert_eq!(
        restored, source,
        "only committed records, and no transaction marker written back as a record"
    );
}

/// `GET /progress` of a worker on 127.0.0.1:`port`, or None while it does not answer.
fn served_progress(port: u16) -> Option<serde_json::Value> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET /progress HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200")
        .then(|| serde_json::from_str(body).ok())
        .flatten()
}

#[test]
/// While a restore runs, its worker serves its progress (what the operator reads into
/// the KafkaRestore's status): records rise and never fall, out of the records in the
/// backup window, below 100 percent until it completed; the report then holds them all.
fn a_running_restore_serves_its_progress_rising_to_every_record() {
    let Some(broker) = Broker::shared() else {
        return;
    };
    let (storage, report, _, source) = backed_up(broker, "views", "progress");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let extra = [
        &[
            "--topic-mapping",
            "views=views-restored",
            "--progress-listen",
            &listen,
        ][..],
        &SLOW[..],
    ]
    .concat();
    let mut child = restore_command(broker, storage.path(), report.path(), "progress", &extra)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen: Vec<serde_json::Value> = Vec::new();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the restore did not finish in 120 s"
        );
        if let Some(progress) = served_progress(port) {
            seen.push(progress);
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(status.success());
    let records: Vec<u64> = seen
        .iter()
        .map(|p| p["records"].as_u64().unwrap())
        .collect();
    assert!(
        records.windows(2).all(|w| w[0] <= w[1]),
        "records never fall: {records:?}"
    );
    let distinct: std::collections::BTreeSet<u64> = records.iter().copied().collect();
    assert!(distinct.len() >= 3, "seen rising: {records:?}");
    let total = source.len() as u64;
    let last = seen.last().unwrap();
    assert_eq!(last["totalRecords"], total, "{last}");
    assert!(
        seen.iter()
            .filter(|p| p["records"].as_u64() < Some(total))
            .all(|p| p["percent"].as_u64() < Some(100)),
        "100 only once every record is written"
    );
    let percents: Vec<u64> = seen
        .iter()
        .map(|p| p["percent"].as_u64().unwrap())
        .collect();
    assert!(
        percents.windows(2).all(|w| w[0] <= w[1]) && percents.iter().any(|p| (1..99).contains(p)),
        "{percents:?}"
    );
    assert_eq!(report_of(report.path())["records"], total);
    assert_eq!(report_of(report.path())["status"], "completed");
    assert!(
        served_progress(port).is_none(),
        "the server went with the worker"
    );
}
