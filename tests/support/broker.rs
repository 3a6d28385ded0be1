//! A tansu broker on 127.0.0.1 and an independent rdkafka client, for the worker tests
//! and the worker benchmark.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

/// A tansu broker on a free loopback port; stopped when dropped.
pub struct Broker {
    child: Child,
    pub address: String,
    _dir: tempfile::TempDir,
}

pub fn tansu() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("TANSU").map(PathBuf::from),
        std::env::var_os("CARGO_HOME").map(|h| PathBuf::from(h).join("bin/tansu")),
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/tansu")),
    ];
    candidates.into_iter().flatten().find(|p| p.exists())
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Broker {
    /// Starts a broker, or `None` (with a note) when tansu is not installed.
    pub fn start() -> Option<Self> {
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

    pub fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.address)
            // tansu holds a fetch for the client's whole max wait.
            .set("fetch.wait.max.ms", "10")
            .set("message.timeout.ms", "20000");
        config
    }

    pub fn create_topic(&self, name: &str, partitions: i32) {
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

pub fn produce(broker: &Broker, topic: &str, records: &[Record]) {
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
pub fn consume(broker: &Broker, topic: &str, partitions: i32, expected: usize) -> Vec<Record> {
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
