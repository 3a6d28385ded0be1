//! The KafkaBackup custom resource: what to back up, where to, and when. No IO.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    ClusterSource, KafkaConnection, Outcome, PodTemplate, StrimziClusterRef, TopicSelector,
};

/// Desired state of a KafkaBackup: the cluster, the storage, the topics and the schedule.
// Several printer columns share a type; clippy reads that as a repeated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "kafkabackup.com",
    version = "v1alpha1",
    kind = "KafkaBackup",
    doc = "Backs up Kafka topics to object storage or a volume, once or on a schedule. Every run is a Kubernetes Job; a CronJob makes them when spec.schedule is set.",
    namespaced,
    status = "KafkaBackupStatus",
    shortname = "kb",
    category = "kafka-backup",
    cel,
    printcolumn(
        name = "Cluster",
        type_ = "string",
        json_path = ".spec.strimziClusterRef.name"
    ),
    printcolumn(name = "Schedule", type_ = "string", json_path = ".spec.schedule.cron"),
    printcolumn(
        name = "Last Backup",
        type_ = "date",
        json_path = ".status.lastBackup.completionTime"
    ),
    printcolumn(
        name = "Records",
        type_ = "integer",
        json_path = ".status.lastBackup.records"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("has(self.strimziClusterRef) != has(self.kafka)").message("exactly one of spec.strimziClusterRef and spec.kafka must be set"))]
#[serde(rename_all = "camelCase")]
pub struct KafkaBackupSpec {
    /// The Strimzi-managed Kafka cluster to back up. Exactly one of `strimziClusterRef`
    /// and `kafka` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strimzi_cluster_ref: Option<StrimziClusterRef>,
    /// A Kafka cluster given by bootstrap address. Exactly one of `strimziClusterRef`
    /// and `kafka` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<KafkaConnection>,
    /// Where backups are written.
    pub storage: BackupStorage,
    /// Which topics to back up. Defaults to every topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<TopicSelector>,
    /// Run on a schedule (a CronJob). Without it, the backup runs once (a Job).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<BackupSchedule>,
    /// How many finished Jobs and history entries to keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<BackupRetention>,
    /// Pod retries within one backup Job (the Job's `backoffLimit`), for one-shot Jobs
    /// and scheduled runs alike. Defaults to 3: re-running a backup is safe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub backoff_limit: Option<i32>,
    /// Container image of the worker. Defaults to the operator's own image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Scheduling, service account, resources and environment of the Job's pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<PodTemplate>,
}

/// Where backups are stored: `type` names the one of `s3` and `filesystem` that is set.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[x_kube(validation = Rule::new("self.type == 's3' ? (has(self.s3) && !has(self.filesystem)) : (has(self.filesystem) && !has(self.s3))").message("storage.type names the one storage block that must be set: s3 or filesystem"))]
#[serde(rename_all = "camelCase")]
pub struct BackupStorage {
    /// Kind of storage: `s3` (any S3-compatible object store) or `filesystem` (a volume).
    #[serde(rename = "type")]
    pub kind: StorageType,
    /// S3 or S3-compatible bucket, for `type: s3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Storage>,
    /// A PersistentVolumeClaim, for `type: filesystem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<FilesystemStorage>,
}

/// A kind of backup storage.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StorageType {
    /// An S3-compatible object store.
    #[default]
    S3,
    /// A directory on a PersistentVolumeClaim.
    Filesystem,
}

/// An S3 bucket (AWS S3, MinIO, Ceph RGW, ...).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3Storage {
    /// Bucket name.
    pub bucket: String,
    /// Region of the bucket, e.g. `eu-west-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Key prefix under which backups are written, e.g. `prod/orders`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Endpoint URL for S3-compatible stores, e.g. `https://minio.storage:9000`.
    /// Left out for AWS S3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Address buckets by path (`endpoint/bucket`) instead of by host name; most
    /// S3-compatible stores need this. Defaults to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_style: Option<bool>,
    /// Secret holding the access key pair. When left out, the pod's own identity is used
    /// (e.g. an IAM role bound to `template.serviceAccountName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<S3CredentialsSecret>,
}

/// A Secret holding S3 credentials.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3CredentialsSecret {
    /// Name of the Secret, in the same namespace.
    pub name: String,
    /// Key of the access key id. Defaults to `AWS_ACCESS_KEY_ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id_key: Option<String>,
    /// Key of the secret access key. Defaults to `AWS_SECRET_ACCESS_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key_key: Option<String>,
}

/// A directory on a PersistentVolumeClaim.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FilesystemStorage {
    /// Name of the PersistentVolumeClaim, in the same namespace.
    pub claim_name: String,
    /// Relative directory within the volume. Defaults to the volume's root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// When scheduled backups run.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupSchedule {
    /// Cron expression in the five-field form CronJobs accept (`0 2 * * *`), or a
    /// macro such as `@daily`.
    pub cron: String,
    /// IANA time zone the cron expression is read in, e.g. `Europe/Brussels`.
    /// Defaults to `Etc/UTC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Stop starting new runs; a running one finishes. Defaults to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// How much history is kept.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupRetention {
    /// Finished successful Jobs kept by the CronJob. Defaults to 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub successful_jobs_history_limit: Option<i32>,
    /// Finished failed Jobs kept by the CronJob. Defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub failed_jobs_history_limit: Option<i32>,
    /// Entries kept in `status.backupHistory`. Defaults to 10, at most 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub backup_history_limit: Option<i32>,
}

/// Observed state of a KafkaBackup.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaBackupStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (reasons `BackupRunning`, `BackupCompleted`, `BackupFailed`,
    /// `BackupScheduled`) and `Error`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The most recent finished run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup: Option<BackupRun>,
    /// Finished runs, newest first, bounded by `spec.retention.backupHistoryLimit`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backup_history: Vec<BackupRun>,
    /// When the schedule runs next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_schedule_time: Option<Time>,
}

/// One backup run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupRun {
    /// The Job that ran it.
    pub job_name: String,
    /// Identifier of the backup in storage; a restore names it in `backupRef.backupId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<String>,
    /// `Succeeded` or `Failed`.
    pub outcome: Outcome,
    /// When the Job started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the Job finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// Records written, as the worker reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<i64>,
    /// Bytes written, as the worker reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<i64>,
    /// Topics the backup holds after this run, as the worker reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<i64>,
}

impl KafkaBackupSpec {
    /// The cluster this backup reads from, when exactly one source is set.
    pub fn cluster(&self) -> Option<ClusterSource<'_>> {
        match (&self.strimzi_cluster_ref, &self.kafka) {
            (Some(r), None) => Some(ClusterSource::Strimzi(r)),
            (None, Some(k)) => Some(ClusterSource::Direct(k)),
            _ => None,
        }
    }
}
