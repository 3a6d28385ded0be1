//! Apache Kafka (KRaft, one node acting as broker and controller) on 127.0.0.1, and an
//! independent rdkafka client, for the worker tests and the worker benchmark.
//!
//! The broker comes from Maven Central: `tests/support/kafka/pom.xml` names it, and the
//! first run copies its runtime class path with `mvn dependency:copy-dependencies` into a
//! cache outside the repository (`$KAFKA_BACKUP_CACHE`, else `$XDG_CACHE_HOME` or
//! `~/.cache`, under `kafka-backup-operator/`). It needs `java` (17 or newer) and `mvn`;
//! without them the tests say so and return, unless `KAFKA_BACKUP_REQUIRE_BROKER=1` (set
//! by `.ci/run`, which installs them), where they fail.
//!
//! A broker runs under a small shell watchdog that holds the broker's PID and reads the
//! test process's pipe: when the test drops the broker, or the test process ends however
//! it ends, the pipe closes and the watchdog stops exactly the broker it started and
//! removes its data. So one broker can serve every test of a test binary
//! ([`Broker::shared`]), each test on topics of its own names.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

/// The Apache Kafka release the tests run; the same as `kafka.version` in the pom.
pub const KAFKA_VERSION: &str = "4.4.0";
const POM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/kafka/pom.xml");
/// Any valid cluster id (a base64 UUID); each broker has a data directory of its own.
const CLUSTER_ID: &str = "a2Fma2EtYmFja3VwLXRlc3Q";
/// How long a broker may take to answer metadata after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// The directory of the broker's jars, fetched on first use; or why there is none.
pub fn kafka_classpath() -> Result<PathBuf, String> {
    static CLASSPATH: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    CLASSPATH.get_or_init(fetch_kafka).clone()
}

fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("KAFKA_BACKUP_CACHE") {
        return PathBuf::from(dir);
    }
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("kafka-backup-operator")
}

fn runs(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn fetch_kafka() -> Result<PathBuf, String> {
    let libs = cache_root().join(format!("kafka_2.13-{KAFKA_VERSION}"));
    let complete = libs.join(".complete");
    if complete.exists() {
        return Ok(libs);
    }
    if !runs("java", "-version") {
        return Err("java is not installed (Apache Kafka needs Java 17 or newer: apt-get install openjdk-17-jre-headless)".into());
    }
    if !runs("mvn", "-v") {
        return Err("mvn is not installed (it fetches Apache Kafka from Maven Central: apt-get install maven)".into());
    }
    let parent = libs.parent().expect("a cache directory");
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    // Into a directory of this process's own, then renamed: test binaries that fetch at
    // the same time never see half a class path.
    let partial = parent.join(format!(".kafka-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    let output = Command::new("mvn")
        .args(["-q", "-B", "-f", POM, "dependency:copy-dependencies"])
        .arg("-DincludeScope=runtime")
        .arg(format!("-DoutputDirectory={}", partial.display()))
        .output()
        .map_err(|e| format!("mvn: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "mvn could not fetch Apache Kafka {KAFKA_VERSION}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    std::fs::write(partial.join(".complete"), KAFKA_VERSION).map_err(|e| e.to_string())?;
    if std::fs::rename(&partial, &libs).is_err() {
        // Another process finished first; its copy is as good.
        let _ = std::fs::remove_dir_all(&partial);
    }
    if complete.exists() {
        Ok(libs)
    } else {
        Err(format!("{} is incomplete; remove it", libs.display()))
    }
}

/// An Apache Kafka broker on free loopback ports, stopped (by its PID, through its
/// watchdog) when dropped or when the test process ends.
pub struct Broker {
    /// The watchdog of a broker the tests started; none for one given by address.
    watchdog: Option<Child>,
    lifeline: Option<ChildStdin>,
    /// `127.0.0.1:PORT` of its PLAINTEXT listener.
    pub address: String,
    dir: PathBuf,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the broker and waits for the end of its stdin (the lifeline), then stops the
/// broker it started, by PID, and removes its data.
const WATCHDOG: &str = r#"
dir="$1"; classpath="$2/*"
java -cp "$classpath" kafka.tools.StorageTool format --cluster-id "$3" \
  --config "$dir/server.properties" >"$dir/format.log" 2>&1 || exit 1
java -Xms256m -Xmx768m -cp "$classpath" kafka.Kafka "$dir/server.properties" \
  >"$dir/broker.log" 2>&1 </dev/null &
broker=$!
read -r _ || true
kill "$broker" 2>/dev/null
wait "$broker"
rm -rf "$dir"
"#;

impl Broker {
    /// The broker every test of this test binary shares; `None` (with a note) when Java
    /// or Maven is missing.
    pub fn shared() -> Option<&'static Broker> {
        static SHARED: OnceLock<Option<Broker>> = OnceLock::new();
        SHARED.get_or_init(Broker::start).as_ref()
    }

    /// A broker of the caller's own.
    pub fn start() -> Option<Self> {
        let classpath = match kafka_classpath() {
            Ok(classpath) => classpath,
            Err(why) => {
                assert!(
                    std::env::var("KAFKA_BACKUP_REQUIRE_BROKER").as_deref() != Ok("1"),
                    "Apache Kafka is required (KAFKA_BACKUP_REQUIRE_BROKER=1): {why}"
                );
                eprintln!("skipped: no Apache Kafka broker: {why}");
                return None;
            }
        };
        let dir = tempfile::Builder::new()
            .prefix("kafka-broker-")
            .tempdir()
            .unwrap()
            .keep();
        let (port, controller) = (free_port(), free_port());
        let properties = format!(
            "process.roles=broker,controller\n\
             node.id=1\n\
             controller.quorum.voters=1@127.0.0.1:{controller}\n\
             listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}\n\
             advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n\
             controller.listener.names=CONTROLLER\n\
             inter.broker.listener.name=PLAINTEXT\n\
             listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n\
             log.dirs={data}\n\
             auto.create.topics.enable=false\n\
             # The tests' records carry timestamps of 2026-01-01: keep them whatever their age.\n\
             log.retention.ms=-1\n\
             offsets.topic.replication.factor=1\n\
             offsets.topic.num.partitions=1\n\
             transaction.state.log.replication.factor=1\n\
             transaction.state.log.min.isr=1\n\
             transaction.state.log.num.partitions=1\n\
             group.initial.rebalance.delay.ms=0\n",
            data = dir.join("data").display(),
        );
        std::fs::write(dir.join("server.properties"), properties).unwrap();
        let mut watchdog = Command::new("sh")
            .args(["-c", WATCHDOG, "kafka-watchdog"])
            .arg(&dir)
            .arg(&classpath)
            .arg(CLUSTER_ID)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh starts");
        let lifeline = watchdog.stdin.take();
        let broker = Broker {
            watchdog: Some(watchdog),
            lifeline,
            address: format!("127.0.0.1:{port}"),
            dir,
        };
        broker.wait_until_ready();
        Some(broker)
    }

    /// A broker someone else runs, at `address` (for the end-to-end suite, whose pods
    /// must reach it too).
    pub fn external(address: &str) -> Self {
        Broker {
            watchdog: None,
            lifeline: None,
            address: address.to_string(),
            dir: PathBuf::new(),
        }
    }

    /// Until the broker answers metadata and an idempotent producer has written (the
    /// first one can wait on its producer id while the broker settles).
    fn wait_until_ready(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let ready = self
                .client()
                .set("socket.timeout.ms", "2000")
                .create::<BaseConsumer>()
                .ok()
                .and_then(|c| c.fetch_metadata(None, Duration::from_secs(2)).ok())
                .is_some_and(|m| !m.brokers().is_empty());
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "Apache Kafka did not answer within {START_TIMEOUT:?}:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        self.create_topic("__tests-ready", 1);
        let producer: ThreadedProducer<DefaultProducerContext> = self
            .client()
            .set("enable.idempotence", "true")
            .create()
            .unwrap();
        producer
            .send(BaseRecord::<[u8], [u8]>::to("__tests-ready").payload(b"ready"))
            .map_err(|(e, _)| e)
            .expect("queued");
        producer
            .flush(Duration::from_secs(60))
            .expect("the first idempotent write");
    }

    /// The end of the broker's logs (format and run), for a failure message.
    pub fn logs(&self) -> String {
        ["format.log", "broker.log"]
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!("--- {name}\n{}", tail.join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.address)
            .set("message.timeout.ms", "30000");
        config
    }

    pub fn create_topic(&self, name: &str, partitions: i32) {
        self.create_topic_with(name, partitions, &[]);
    }

    /// A topic with configuration overrides (`retention.ms`, `cleanup.policy`, ...).
    pub fn create_topic_with(&self, name: &str, partitions: i32, configs: &[(&str, &str)]) {
        let admin: AdminClient<DefaultClientContext> = self.client().create().unwrap();
        let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
        for (key, value) in configs {
            topic = topic.set(key, value);
        }
        let result = runtime()
            .block_on(admin.create_topics(&[topic], &AdminOptions::new()))
            .expect("create topic");
        for outcome in result {
            outcome.expect("topic created");
        }
    }
}

/// A runtime for the admin client's futures in synchronous tests.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Closing the lifeline makes the watchdog stop the broker it started.
        drop(self.lifeline.take());
        let Some(watchdog) = self.watchdog.as_mut() else {
            return;
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while watchdog.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One record as the independent client sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub partition: i32,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub timestamp: Option<i64>,
}

/// A set of records covering the cases a verbatim restore must keep.
pub fn sample_records(count: usize, partitions: i32) -> Vec<Record> {
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

fn base_record<'a>(topic: &'a str, r: &'a Record) -> BaseRecord<'a, [u8], [u8]> {
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
    record
}

pub fn produce(broker: &Broker, topic: &str, records: &[Record]) {
    let producer: ThreadedProducer<DefaultProducerContext> =
        broker.client().set("linger.ms", "5").create().unwrap();
    for r in records {
        producer
            .send(base_record(topic, r))
            .map_err(|(e, _)| e)
            .expect("queued");
    }
    producer.flush(Duration::from_secs(60)).expect("flushed");
}

/// Writes each group of records in a transaction of its own, committed or aborted as
/// the group says, with a transactional producer.
pub fn produce_transactions(broker: &Broker, topic: &str, transactions: &[(bool, Vec<Record>)]) {
    let producer: ThreadedProducer<DefaultProducerContext> = broker
        .client()
        .set("transactional.id", format!("tests-{topic}"))
        .create()
        .unwrap();
    let timeout = Duration::from_secs(60);
    producer.init_transactions(timeout).expect("transactions");
    for (commit, records) in transactions {
        producer.begin_transaction().unwrap();
        for r in records {
            producer
                .send(base_record(topic, r))
                .map_err(|(e, _)| e)
                .expect("queued");
        }
        producer.flush(timeout).expect("flushed");
        if *commit {
            producer.commit_transaction(timeout).expect("committed");
        } else {
            producer.abort_transaction(timeout).expect("aborted");
        }
    }
}

/// How a verifying consumer reads transactional data.
#[derive(Clone, Copy)]
pub enum Isolation {
    Committed,
    Uncommitted,
}

/// Every record of a topic, per partition in offset order (committed records only).
pub fn consume(broker: &Broker, topic: &str, partitions: i32, expected: usize) -> Vec<Record> {
    consume_with(broker, topic, partitions, expected, Isolation::Committed)
}

/// Every record of a topic a consumer of the given isolation sees, per partition in
/// offset order; waits for `expected` records and two quiet seconds (at most a minute).
pub fn consume_with(
    broker: &Broker,
    topic: &str,
    partitions: i32,
    expected: usize,
    isolation: Isolation,
) -> Vec<Record> {
    let mut records: Vec<Record> =
        read_from_start(broker, topic, 0..partitions, expected, isolation)
            .into_iter()
            .map(|(_, record)| record)
            .collect();
    records.sort_by_key(|r| r.partition); // stable: offset order within a partition
    records
}

/// The records of `partitions` of a topic from their start, with their offsets, in the
/// order they arrive.
fn read_from_start(
    broker: &Broker,
    topic: &str,
    partitions: std::ops::Range<i32>,
    expected: usize,
    isolation: Isolation,
) -> Vec<(i64, Record)> {
    let consumer: BaseConsumer = broker
        .client()
        .set("group.id", format!("verify-{topic}-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set(
            "isolation.level",
            match isolation {
                Isolation::Committed => "read_committed",
                Isolation::Uncommitted => "read_uncommitted",
            },
        )
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    for p in partitions {
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
                records.push((
                    m.offset(),
                    Record {
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
                    },
                ));
            }
            Some(Err(e)) => panic!("consume {topic}: {e}"),
            None if records.len() >= expected && quiet_since.elapsed() > Duration::from_secs(2) => {
                break;
            }
            None => {}
        }
    }
    records
}

pub fn sorted(mut records: Vec<Record>) -> Vec<Record> {
    records.sort_by_key(|r| r.partition);
    records
}

/// Whether the broker has a topic of this name (read from all topics' metadata, which
/// never creates one).
pub fn topic_exists(broker: &Broker, topic: &str) -> bool {
    let consumer: BaseConsumer = broker.client().create().unwrap();
    let metadata = consumer
        .fetch_metadata(None, Duration::from_secs(10))
        .expect("metadata");
    metadata.topics().iter().any(|t| t.name() == topic)
}

/// The first and the next offset of each partition of a topic (log start, high
/// watermark), as the broker reports them.
pub fn watermarks(broker: &Broker, topic: &str, partitions: i32) -> Vec<(i64, i64)> {
    let consumer: BaseConsumer = broker.client().create().unwrap();
    (0..partitions)
        .map(|p| {
            consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .expect("watermarks")
        })
        .collect()
}

/// The records of one partition with their offsets, as a `read_committed` consumer sees
/// them (waits for `expected` records and two quiet seconds, at most a minute).
pub fn consume_partition_offsets(
    broker: &Broker,
    topic: &str,
    partition: i32,
    expected: usize,
) -> Vec<(i64, Record)> {
    read_from_start(
        broker,
        topic,
        partition..partition + 1,
        expected,
        Isolation::Committed,
    )
}

/// Commits `offsets` (partition, next offset to read) for a consumer group, as a
/// consumer of the group would.
pub fn commit_group(broker: &Broker, group: &str, topic: &str, offsets: &[(i32, i64)]) {
    let consumer: BaseConsumer = broker
        .client()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut list = TopicPartitionList::new();
    for (partition, offset) in offsets {
        list.add_partition_offset(topic, *partition, Offset::Offset(*offset))
            .unwrap();
    }
    consumer
        .commit(&list, rdkafka::consumer::CommitMode::Sync)
        .expect("commit");
}

/// The offsets a consumer group has committed on a topic's partitions (`None` for none).
pub fn committed(broker: &Broker, group: &str, topic: &str, partitions: i32) -> Vec<Option<i64>> {
    let consumer: BaseConsumer = broker
        .client()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut list = TopicPartitionList::new();
    for p in 0..partitions {
        list.add_partition(topic, p);
    }
    let committed = consumer
        .committed_offsets(list, Duration::from_secs(30))
        .expect("committed offsets");
    (0..partitions)
        .map(
            |p| match committed.find_partition(topic, p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => Some(o),
                _ => None,
            },
        )
        .collect()
}

/// The first record a consumer of `group` reads on a partition: where it resumes.
pub fn first_record_of_group(
    broker: &Broker,
    group: &str,
    topic: &str,
    partition: i32,
) -> Option<Record> {
    let consumer: BaseConsumer = broker
        .client()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, partition, Offset::Stored)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                return Some(Record {
                    partition: m.partition(),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                    headers: vec![],
                    timestamp: m.timestamp().to_millis(),
                });
            }
            Some(Err(e)) => panic!("consume {topic}: {e}"),
            None => {}
        }
    }
    None
}

/// Partition count and configuration overrides of a topic, as the broker describes them.
pub fn describe_topic(
    broker: &Broker,
    topic: &str,
) -> (usize, std::collections::BTreeMap<String, String>) {
    use rdkafka::admin::{ConfigSource, ResourceSpecifier};
    let consumer: BaseConsumer = broker.client().create().unwrap();
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let partitions = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map_or(0, |t| t.partitions().len());
    let admin: AdminClient<DefaultClientContext> = broker.client().create().unwrap();
    let described = runtime()
        .block_on(admin.describe_configs(&[ResourceSpecifier::Topic(topic)], &AdminOptions::new()))
        .expect("describe configs");
    let mut configs = std::collections::BTreeMap::new();
    for resource in described.into_iter().flatten() {
        for entry in resource.entries {
            if matches!(entry.source, ConfigSource::DynamicTopic) {
                configs.insert(entry.name.clone(), entry.value.clone().unwrap_or_default());
            }
        }
    }
    (partitions, configs)
}
