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
    /// Present for a restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreOptions>,
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
    /// variables or the pod's identity.
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
    },
    /// A directory.
    Filesystem { path: String },
}

/// What a restore does.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoreOptions {
    /// Source topic to target topic.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub topic_mapping: BTreeMap<String, String>,
    /// RFC 3339 start of the time window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// RFC 3339 end of the time window.
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
}

impl WorkerConfig {
    /// The file as written into the ConfigMap.
    pub fn to_yaml(&self) -> Result<String, serde_yaml::Error> {
        serde_yaml::to_string(self)
    }
}
