//! The worker's configuration file (`config.yaml` in the Job's ConfigMap) and the fixed
//! paths and environment variables of a Job's pod. Secrets never appear here: the file
//! names environment variables and mounted files that Kubernetes fills from Secrets.
//! No IO.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::TopicSelector;

/// Where the ConfigMap is mounted.
pub const CONFIG_DIR: &str = "/etc/kafka-backup";
/// The configuration file within it.
pub const CONFIG_FILE_NAME: &str = "config.yaml";
/// Where a restore's report PVC is mounted; the report and checkpoint live here.
pub const REPORTS_DIR: &str = "/var/lib/kafka-backup/reports";
/// Where a filesystem backup's PVC is mounted.
pub const STORAGE_DIR: &str = "/var/lib/kafka-backup/storage";
/// Where the CA certificate Secret of the Kafka cluster is mounted.
pub const CA_DIR: &str = "/etc/kafka-backup/tls/ca";
/// Where the client certificate Secret (mutual TLS) is mounted.
pub const CLIENT_CERT_DIR: &str = "/etc/kafka-backup/tls/client";
/// Environment variable holding the SASL password, from a Secret.
pub const ENV_SASL_PASSWORD: &str = "KAFKA_SASL_PASSWORD";
/// Environment variables holding S3 credentials, from a Secret (the usual AWS names).
pub const ENV_S3_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
pub const ENV_S3_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
/// Environment variables holding Azure credentials, from Secrets.
pub const ENV_AZURE_STORAGE_KEY: &str = "AZURE_STORAGE_KEY";
pub const ENV_AZURE_SAS_TOKEN: &str = "AZURE_STORAGE_SAS_TOKEN";
pub const ENV_AZURE_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
/// Where an AWS shared credentials file from a Secret is mounted, and its file name.
pub const S3_CREDENTIALS_DIR: &str = "/etc/kafka-backup/s3";
pub const S3_CREDENTIALS_FILE: &str = "credentials";
/// Where a GCS service account key Secret is mounted.
pub const GCS_CREDENTIALS_DIR: &str = "/etc/kafka-backup/gcs";
/// Environment variables the worker reads its logging from.
pub const ENV_LOG_FORMAT: &str = "KAFKA_BACKUP_LOG_FORMAT";
pub const ENV_LOG_OUTPUT: &str = "KAFKA_BACKUP_LOG_OUTPUT";
pub const ENV_RUST_LOG: &str = "RUST_LOG";

/// Everything a worker needs to run one backup or restore.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkerConfig {
    /// The Kafka cluster.
    pub kafka: KafkaEndpoint,
    /// The backup storage.
    pub storage: StorageLocation,
    /// The backup's identifier: the same for every run of a KafkaBackup, so runs are
    /// incremental; for a restore, the backup to read.
    pub backup_id: String,
    /// Topics to back up or restore.
    pub topics: TopicSelector,
    /// How a backup reads and writes; absent for the defaults, and for a restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupOptions>,
    /// Present for a restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreOptions>,
    /// The worker's Prometheus endpoint, when it serves one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsOptions>,
}

/// How to reach Kafka.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KafkaEndpoint {
    /// Comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// TLS, with file paths of the mounted Secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsFiles>,
    /// SASL, with the password in an environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<Sasl>,
    /// TCP settings; the library's defaults when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionOptions>,
}

/// TCP settings of the connections to the brokers; each absent one is the library's
/// default.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_keepalive: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_time_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_interval_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_nodelay: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections_per_broker: Option<u32>,
}

/// TLS material as files.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsFiles {
    /// PEM CA certificate(s); the system roots when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// PEM client certificate, for mutual TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// PEM client key, for mutual TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
}

/// SASL credentials.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sasl {
    /// `SCRAM-SHA-512`, `SCRAM-SHA-256` or `PLAIN`.
    pub mechanism: String,
    pub username: String,
    /// Name of the environment variable holding the password.
    pub password_env: String,
}

/// Where backups are kept.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum StorageLocation {
    /// An S3-compatible bucket; credentials come from the usual AWS environment
    /// variables, an AWS shared credentials file, or the pod's identity.
    #[serde(rename_all = "camelCase")]
    S3 {
        bucket: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        region: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        endpoint: Option<String>,
        #[serde(default)]
        path_style: bool,
        /// Allow a plain-HTTP endpoint; implied by an `http://` endpoint.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        allow_http: bool,
        /// An AWS shared credentials file (mounted from a Secret) to read the keys
        /// from; `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` override it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        credentials_file: Option<String>,
    },
    /// An Azure Blob Storage container; secrets come from the environment variables
    /// named here.
    #[serde(rename_all = "camelCase")]
    Azure {
        account: String,
        container: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        endpoint: Option<String>,
        /// Environment variable holding the account key.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account_key_env: Option<String>,
        /// Environment variable holding a SAS token.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sas_token_env: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tenant_id: Option<String>,
        /// Environment variable holding a service principal's client secret.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_secret_env: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        use_workload_identity: bool,
    },
    /// A Google Cloud Storage bucket.
    #[serde(rename_all = "camelCase")]
    Gcs {
        bucket: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
        /// A service account key file; the pod's identity when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service_account_file: Option<String>,
    },
    /// A directory.
    Filesystem { path: String },
}

/// How a backup reads and writes; each absent setting is the worker's default.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupOptions {
    /// `zstd`, `lz4` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_level: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_max_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_max_interval_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<usize>,
    /// `earliest` or `latest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_offset: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_internal_topics: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub internal_topics: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_interval_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_interval_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_offset_headers: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_cluster_id: Option<String>,
    /// Save the committed offsets of the consumer groups on the backed-up topics.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub consumer_group_snapshot: bool,
    /// Regular expressions of the groups the snapshot keeps; all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumer_groups_include: Vec<String>,
    /// Regular expressions of the groups the snapshot leaves out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumer_groups_exclude: Vec<String>,
    /// The offset database's local file and upload interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_storage: Option<OffsetStorageOptions>,
    /// Deleting old data from storage at the end of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionOptions>,
}

/// The offset database of a backup run.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OffsetStorageOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_interval_secs: Option<u64>,
}

/// What retention deletes from storage at the end of a backup run, and what holds it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetentionOptions {
    /// Delete segments uploaded longer ago than this (`30d`, `12h`, `1d12h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<String>,
    /// Keep the data of this many most recent successful runs, this one included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_runs: Option<u32>,
    /// When the earlier successful runs started (RFC 3339), newest first, as the
    /// operator recorded them: the oldest run kept starts where deletion stops.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub run_starts: Vec<String>,
    /// KafkaRestores of this backup that have not completed (`namespace/name`):
    /// while there is one, nothing is deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_by: Vec<String>,
}

/// The worker's Prometheus endpoint; each absent setting is the library's default.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricsOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_interval_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_partition_labels: Option<u32>,
}

/// Consumer group offsets a restore sets in the target.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsumerGroupOptions {
    /// Every group of the backup's snapshot, under its own name.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto: bool,
    /// Groups of the snapshot and the name each gets in the target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupRename>,
    /// Compute and report the offsets without committing them (`strategy: manual`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub report_only: bool,
}

/// A consumer group of the backup and its id in the target.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupRename {
    pub source: String,
    pub target: String,
}

/// A target topic restored into another number of partitions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepartitionOptions {
    /// `murmur2` or `automatic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    pub target_partitions: i32,
}

/// What a restore does.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoreOptions {
    /// Source topic to target topic.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub topic_mapping: BTreeMap<String, String>,
    /// RFC 3339 start of the time window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// RFC 3339 end of the time window (records before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Delete existing records in the targets, on the first attempt only.
    #[serde(default)]
    pub purge_topics: bool,
    /// Read and report, write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Directory of the progress report and checkpoint.
    pub report_dir: String,
    /// Continue a completed restore once for this token: restore what the backup gained
    /// since. Each token is honoured once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continue_token: Option<String>,
    /// Records per second the whole restore may write (all partitions together).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_records_per_sec: Option<u64>,
    /// Bytes per second the whole restore may write (all partitions together).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_bytes_per_sec: Option<u64>,
    /// How long the broker may take to acknowledge a produce request, in milliseconds.
    /// An attempt after an unclean stop waits about this long first, so that requests
    /// of the stopped attempt still in flight cannot land after it reads the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produce_timeout_ms: Option<u32>,
    /// Records per produce request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produce_batch_size: Option<usize>,
    /// `-1`, `1` or `0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produce_acks: Option<i16>,
    /// Partitions restored at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<usize>,
    /// Seconds between checkpoint saves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_interval_secs: Option<u64>,
    /// Create missing target topics like the backed-up ones (partitions and
    /// configuration); when false they must exist.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub create_topics: bool,
    /// Replication factor of created topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_replication_factor: Option<i16>,
    /// Refuse to write into a target topic that exists before the first attempt.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fail_on_existing_topics: bool,
    /// Add the source offset, timestamp and partition as headers to restored records.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_original_offset_header: bool,
    /// Restore only these source partitions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_partitions: Vec<i32>,
    /// Source partition to target partition.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub partition_mapping: BTreeMap<i32, i32>,
    /// Target topic to its new partition count.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub repartitioning: BTreeMap<String, RepartitionOptions>,
    /// Consumer group offsets to set once the records are restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_groups: Option<ConsumerGroupOptions>,
    /// The restore's `namespace/name`: while it runs, its hold in the backup's storage
    /// keeps retention from deleting what it reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_as: Option<String>,
}

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

impl Default for RestoreOptions {
    fn default() -> Self {
        Self {
            topic_mapping: BTreeMap::new(),
            from: None,
            to: None,
            purge_topics: false,
            dry_run: false,
            report_dir: String::new(),
            continue_token: None,
            rate_limit_records_per_sec: None,
            rate_limit_bytes_per_sec: None,
            produce_timeout_ms: None,
            produce_batch_size: None,
            produce_acks: None,
            parallelism: None,
            checkpoint_interval_secs: None,
            create_topics: true,
            default_replication_factor: None,
            fail_on_existing_topics: false,
            include_original_offset_header: false,
            source_partitions: Vec::new(),
            partition_mapping: BTreeMap::new(),
            repartitioning: BTreeMap::new(),
            consumer_groups: None,
            hold_as: None,
        }
    }
}

impl WorkerConfig {
    /// The file as written into the ConfigMap.
    pub fn to_yaml(&self) -> Result<String, serde_yaml::Error> {
        serde_yaml::to_string(self)
    }
}
