//! The KafkaBackup custom resource: what to back up, where to, and when. No IO.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use k8s_openapi::api::core::v1::{EnvVar, ResourceRequirements};

use super::common::{
    ClusterSource, ConnectionTuning, KafkaAuthentication, KafkaConnection, Logging, Outcome,
    PodTemplate, SecretKeyRef, StrimziClusterRef, TopicSelector, WorkerMetrics,
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
    /// How to authenticate to the cluster (either source). The same as
    /// `spec.kafka.authentication`, which it replaces; give one of the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<KafkaAuthentication>,
    /// TCP settings of the connections to the brokers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionTuning>,
    /// Where backups are written.
    pub storage: BackupStorage,
    /// Which topics to back up. Defaults to every topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<TopicSelector>,
    /// Which consumer groups' committed offsets the snapshot keeps (with
    /// `backup.consumerGroupSnapshot`). Defaults to every group with offsets on the
    /// backed-up topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_groups: Option<ConsumerGroupSelector>,
    /// How each run reads and writes: compression, segments, parallelism, where to
    /// start and stop, the consumer group snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupTuning>,
    /// Where the backup's offset database is kept during a run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_storage: Option<OffsetStorage>,
    /// Logging of the worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// The worker's Prometheus endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<WorkerMetrics>,
    /// Extra environment variables of the worker container (also
    /// `template.container.env`). Variables the operator sets cannot be overridden.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// CPU and memory of the worker container (also `template.resources`; give one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Run on a schedule (a CronJob). Without it, the backup runs once (a Job).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<BackupSchedule>,
    /// How long backed-up data is kept in storage (`maxAge`, `maxBackups`,
    /// `pruneOnSchedule`), and how many finished Jobs and status entries are kept
    /// (`*HistoryLimit`). The two never affect each other.
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
    pub template: Option<Box<PodTemplate>>,
}

/// Where backups are stored: `type` names the one storage block that is set.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[x_kube(validation = Rule::new("(self.type == 's3') == has(self.s3) && (self.type == 'azure') == has(self.azure) && (self.type == 'gcs') == has(self.gcs) && (self.type == 'filesystem') == has(self.filesystem)").message("storage.type names the one storage block that must be set: s3, azure, gcs or filesystem"))]
#[serde(rename_all = "camelCase")]
pub struct BackupStorage {
    /// Kind of storage: `s3` (any S3-compatible object store), `azure` (Azure Blob
    /// Storage), `gcs` (Google Cloud Storage) or `filesystem` (a volume).
    #[serde(rename = "type")]
    pub kind: StorageType,
    /// S3 or S3-compatible bucket, for `type: s3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Storage>,
    /// Azure Blob Storage container, for `type: azure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureStorage>,
    /// Google Cloud Storage bucket, for `type: gcs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs: Option<GcsStorage>,
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
    /// Azure Blob Storage.
    Azure,
    /// Google Cloud Storage.
    Gcs,
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
    /// S3-compatible stores need this. Defaults to false. `forcePathStyle` is the
    /// same setting; give one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_style: Option<bool>,
    /// The same as `pathStyle` (strimzi-backup-operator's spelling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_path_style: Option<bool>,
    /// Allow an `http://` endpoint. Defaults to true for an `http://` endpoint and
    /// false otherwise; false with an `http://` endpoint is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_http: Option<bool>,
    /// Secret key holding the access key id (`AWS_ACCESS_KEY_ID`); with
    /// `secretKeySecret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_secret: Option<SecretKeyRef>,
    /// Secret key holding the secret access key (`AWS_SECRET_ACCESS_KEY`); with
    /// `accessKeySecret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_secret: Option<SecretKeyRef>,
    /// One Secret holding the access key pair under two keys, instead of
    /// `accessKeySecret` and `secretKeySecret`; or, with `key`, an AWS shared
    /// credentials file. When no credentials are given, the pod's own identity is used
    /// (e.g. an IAM role bound to its service account).
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
    /// Key of an AWS shared credentials file (strimzi-backup-operator's form), instead
    /// of the two keys above. It is mounted into the worker, which reads the profile
    /// named by `AWS_PROFILE` (in `env`), else `default`, else the only one;
    /// `accessKeySecret` and `secretKeySecret` override it. Temporary credentials
    /// (`aws_session_token`) are refused when the worker starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// An Azure Blob Storage container. Authentication, in this order: a SAS token, the
/// account key, a service principal (`clientId`, `tenantId`, `clientSecretSecret`),
/// Workload Identity, or the managed identity of the node.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AzureStorage {
    /// Storage account name.
    pub storage_account: String,
    /// Blob container name.
    pub container: String,
    /// Key prefix under which backups are written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Blob endpoint for sovereign clouds or Azurite, e.g.
    /// `https://account.blob.core.usgovcloudapi.net`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Secret key holding the storage account key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_key_secret: Option<SecretKeyRef>,
    /// The same as `accountKeySecret` (strimzi-backup-operator's other spelling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<SecretKeyRef>,
    /// Secret key holding a SAS token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sas_token_secret: Option<SecretKeyRef>,
    /// Azure AD application (client) id, for a service principal or Workload
    /// Identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Azure AD tenant id, for a service principal or Workload Identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Secret key holding the service principal's client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_secret: Option<SecretKeyRef>,
    /// Authenticate with Azure Workload Identity (the pod's service account must be
    /// federated; the label `azure.workload.identity/use: "true"` is added to the pod).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_workload_identity: Option<bool>,
}

/// A Google Cloud Storage bucket.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GcsStorage {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix under which backups are written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Secret key holding a service account key (JSON), mounted as a file. When left
    /// out, the pod's own identity is used (GKE Workload Identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<SecretKeyRef>,
    /// Path of a service account key file already in the pod (mounted by you, e.g.
    /// through a CSI driver). Instead of `credentialsSecret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_path: Option<String>,
}

/// A directory on a PersistentVolumeClaim.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FilesystemStorage {
    /// Name of the PersistentVolumeClaim, in the same namespace. Required: a backup
    /// in the pod's own filesystem would be lost with the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_name: Option<String>,
    /// Directory within the volume. Defaults to the volume's root; a leading `/` is
    /// read from the volume's root too.
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
    /// Defaults to `Etc/UTC`. `timezone` is the same setting; give one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The same as `timeZone` (strimzi-backup-operator's spelling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Stop starting new runs; a running one finishes. Defaults to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// What is kept: backed-up data in storage, and finished Jobs and status entries in
/// the cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupRetention {
    /// Storage: delete backed-up segments uploaded longer ago than this, e.g. `30d`,
    /// `720h`, `1d12h`. The newest segment of each partition is always kept, and
    /// nothing is deleted while a KafkaRestore of this backup has not completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<String>,
    /// Storage: keep the data of this many most recent successful runs and delete
    /// older segments, under the same protections as `maxAge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_backups: Option<i32>,
    /// Storage: apply `maxAge` and `maxBackups` at the end of every run. Defaults to
    /// false: nothing is deleted from storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune_on_schedule: Option<bool>,
    /// Cluster: finished successful Jobs kept by the CronJob. Defaults to 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub successful_jobs_history_limit: Option<i32>,
    /// Cluster: finished failed Jobs kept by the CronJob. Defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub failed_jobs_history_limit: Option<i32>,
    /// Cluster: entries kept in `status.backupHistory`. Defaults to 10, at most 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub backup_history_limit: Option<i32>,
}

/// Consumer groups by regular expression.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerGroupSelector {
    /// Groups to keep, by regular expression (matched against the whole group id).
    /// Defaults to every group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Groups to leave out, by regular expression.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

/// How a backup run reads and writes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupTuning {
    /// Compression of the segments: `zstd` (the default), `lz4` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    /// zstd level, 1 to 22. Defaults to 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_level: Option<i32>,
    /// Largest segment in bytes before a new one starts (bounds the worker's memory).
    /// Defaults to 16 MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_size: Option<i64>,
    /// Longest time span of a segment in milliseconds before a new one starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_max_interval_ms: Option<u64>,
    /// Partitions backed up at once. Defaults to 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<i32>,
    /// Where the first run of a partition starts: `earliest` (the default) or
    /// `latest`. Later runs continue where the previous one stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_offset: Option<String>,
    /// Stop at the end offsets current when the run starts, so records produced while
    /// it runs are left for the next run. Defaults to true; false is refused, since a
    /// run must end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_at_current_offsets: Option<bool>,
    /// Keep running and back up new records as they arrive. Refused: a KafkaBackup
    /// runs as Jobs that end; use `spec.schedule` to run again and again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuous: Option<bool>,
    /// Poll interval of continuous mode. Refused with `continuous`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval_ms: Option<u64>,
    /// Back up internal topics (`__consumer_offsets`, ...) too. Defaults to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_internal_topics: Option<bool>,
    /// Which internal topics `includeInternalTopics` backs up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub internal_topics: Vec<String>,
    /// Seconds between saves of the run's progress. Defaults to 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_interval_secs: Option<u64>,
    /// Seconds between uploads of the manifest and offset database. Defaults to 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_interval_secs: Option<u64>,
    /// Add each record's source offset, timestamp and partition as headers in the
    /// archive. Defaults to false (a verbatim archive); restores remove them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_offset_headers: Option<bool>,
    /// Source cluster id written in the offset headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_cluster_id: Option<String>,
    /// Save the committed offsets of the consumer groups on the backed-up topics
    /// after each run, for a restore to set them in the target. Defaults to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_group_snapshot: Option<bool>,
    /// Encryption of the segments by the worker (strimzi-backup-operator 0.2.x).
    /// `enabled: true` is refused: kafka-backup-core does not encrypt segments; use
    /// the store's encryption at rest (S3 SSE-S3 or SSE-KMS bucket default, Azure
    /// Storage Service Encryption, GCS default or customer-managed keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<BackupEncryption>,
}

/// Segment encryption as strimzi-backup-operator 0.2.x declared it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupEncryption {
    /// Must be false (the default): see `backup.encryption`.
    #[serde(default)]
    pub enabled: bool,
    /// The key; not read while `enabled` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_secret: Option<SecretKeyRef>,
}

/// The offset database of a run.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OffsetStorage {
    /// `sqlite`, the only backend. `memory` is refused: the library no longer has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// Path of the database file in the pod, under `/tmp` (the root file system is
    /// read-only). It is uploaded to `<backupId>/offsets.db` in the storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_path: Option<String>,
    /// Refused: the database is always uploaded to `<backupId>/offsets.db`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_key: Option<String>,
    /// Seconds between uploads of the database. Defaults to `backup.syncIntervalSecs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_interval_secs: Option<u64>,
}

/// Observed state of a KafkaBackup.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
// Fields strimzi-backup-operator writes here (in manifests copied from its documentation,
// and on objects it managed) are accepted, not refused by strict field validation; the
// controller's first status write removes them (controller::status).
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct KafkaBackupStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (reasons `BackupRunning`, `BackupCompleted`, `BackupFailed`,
    /// `BackupScheduled`) and `Error`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The most recent finished run.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_run"
    )]
    pub last_backup: Option<BackupRun>,
    /// Finished runs, newest first, bounded by `spec.retention.backupHistoryLimit`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient_runs"
    )]
    pub backup_history: Vec<BackupRun>,
    /// When the schedule runs next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_schedule_time: Option<Time>,
}

/// The schema of a run requires no field: a run strimzi-backup-operator wrote has neither
/// `jobName` nor `outcome`, and a status the server held invalid would refuse every
/// later write to the resource (its finalizer, a spec edit) until replaced. Such a run
/// is read as absent ([`lenient_run`]) and replaced by the next status write.
fn nothing_required(schema: &mut schemars::Schema) {
    schema.remove("required");
}

/// Reads the last run, or none when another operator wrote it in its own shape (a
/// status strimzi-backup-operator left): such a status must not keep the resource from
/// being read; the next status write replaces it.
fn lenient_run<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<BackupRun>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(value.and_then(|v| serde_json::from_value(v).ok()))
}

/// Reads the runs that are in this operator's shape, leaving out the others.
fn lenient_runs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<BackupRun>, D::Error> {
    let values = Option::<Vec<serde_json::Value>>::deserialize(d)?.unwrap_or_default();
    Ok(values
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

/// One backup run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = nothing_required)]
// Fields strimzi-backup-operator writes here (in manifests copied from its documentation,
// and on objects it managed) are accepted, not refused by strict field validation; the
// controller's first status write removes them (controller::status).
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
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
    /// Consumer groups in the snapshot this run saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_groups: Option<i64>,
    /// Segments deleted from storage by `retention` at the end of this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruned_segments: Option<i64>,
    /// Compressed bytes deleted from storage by `retention` at the end of this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruned_bytes: Option<i64>,
    /// Why `retention` deleted nothing although it was due, e.g. a KafkaRestore
    /// still reading the backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune_held: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A status strimzi-backup-operator wrote reads; its runs, in another shape, are left
    /// out rather than making the resource unreadable.
    #[test]
    fn a_status_in_another_operators_shape_reads() {
        let status: KafkaBackupStatus = serde_json::from_value(serde_json::json!({
            "conditions": [],
            "lastBackup": {"id": "daily-20260101", "startTime": "2026-01-01T02:00:00Z", "status": "Completed"},
            "backupHistory": [
                {"id": "daily-20260101", "startTime": "2026-01-01T02:00:00Z", "status": "Completed"},
                {"jobName": "daily-backup", "outcome": "Succeeded", "records": 5}
            ],
            "nextScheduledBackup": "2026-01-02T02:00:00Z"
        }))
        .unwrap();
        assert_eq!(status.last_backup, None);
        assert_eq!(status.backup_history.len(), 1);
        assert_eq!(status.backup_history[0].records, Some(5));
    }
}
