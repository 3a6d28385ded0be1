//! The KafkaRestore custom resource: a one-shot restore of a backup into a cluster. No IO.

use k8s_openapi::api::core::v1::{EnvVar, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::{
    api::resource::Quantity,
    apis::meta::v1::{Condition, Time},
};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    ClusterSource, ConnectionTuning, KafkaAuthentication, KafkaConnection, Logging, PodTemplate,
    StrimziClusterRef, TopicSelector, WorkerMetrics, condition,
};
use super::mapping::TopicMappings;

/// Desired state of a KafkaRestore: the backup, the target cluster and what to restore.
// Several printer columns share a type; clippy reads that as a repeated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "kafkabackup.com",
    version = "v1alpha1",
    kind = "KafkaRestore",
    doc = "Restores topics from a KafkaBackup into a Kafka cluster, exactly once. The restore runs as a Job and is never re-run on its own; deleting its Job before it completes resumes it from its progress report.",
    namespaced,
    status = "KafkaRestoreStatus",
    shortname = "kr",
    category = "kafka-backup",
    cel,
    printcolumn(
        name = "Cluster",
        type_ = "string",
        json_path = ".spec.strimziClusterRef.name"
    ),
    printcolumn(name = "Backup", type_ = "string", json_path = ".spec.backupRef.name"),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Progress",
        type_ = "integer",
        description = "Percent of the backup window's records written",
        json_path = ".status.restore.progress.percent"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("has(self.strimziClusterRef) != has(self.kafka)").message("exactly one of spec.strimziClusterRef and spec.kafka must be set"))]
#[serde(rename_all = "camelCase")]
pub struct KafkaRestoreSpec {
    /// The Strimzi-managed Kafka cluster to restore into. Exactly one of
    /// `strimziClusterRef` and `kafka` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strimzi_cluster_ref: Option<StrimziClusterRef>,
    /// A Kafka cluster given by bootstrap address. Exactly one of `strimziClusterRef`
    /// and `kafka` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<Box<KafkaConnection>>,
    /// How to authenticate to the cluster (either target). The same as
    /// `spec.kafka.authentication`, which it replaces; give one of the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Box<KafkaAuthentication>>,
    /// TCP settings of the connections to the brokers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionTuning>,
    /// The backup to restore from.
    pub backup_ref: BackupRef,
    /// Which of the backed-up topics to restore, by their names in the backup.
    /// Defaults to every topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<TopicSelector>,
    /// Restore topics under other names: a list of `{sourceTopic, targetTopic}`.
    /// Topics not listed keep their name. (The earlier map form `{source: target}`
    /// is still read, and the webhook rewrites it as a list.)
    #[serde(default, skip_serializing_if = "TopicMappings::is_empty")]
    pub topic_mapping: TopicMappings,
    /// Restore only records whose timestamp falls in this window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point_in_time: Option<Box<PointInTime>>,
    /// Consumer group offsets to set in the target after the records are restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_groups: Option<Box<RestoreConsumerGroups>>,
    /// How the restore writes: topic creation, existing topics, partitions,
    /// parallelism, rate limits, the producer. `restore.purgeTopics` and
    /// `restore.dryRun` are the same settings as `spec.purgeTopics` and `spec.dryRun`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<Box<RestoreTuning>>,
    /// Delete the records already in the target topics before the first attempt
    /// writes. Defaults to false. A resumed attempt never purges again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge_topics: Option<bool>,
    /// Read the backup and report what would be restored, writing nothing to Kafka.
    /// Defaults to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Logging of the worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Box<Logging>>,
    /// The worker's Prometheus endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Box<WorkerMetrics>>,
    /// Extra environment variables of the worker container (also
    /// `template.container.env`). Variables the operator sets cannot be overridden.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// CPU and memory of the worker container (also `template.resources`; give one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Box<ResourceRequirements>>,
    /// Set to false to pause: no Job is created, and a running Job is suspended until
    /// this is true again. Defaults to true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The PersistentVolumeClaim that keeps the progress report across attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportVolume>,
    /// Pod retries within the restore Job (the Job's `backoffLimit`). Defaults to 0,
    /// exactly one attempt: a retried pod may re-apply a partial restore. Raise it
    /// only for restores that are safe to repeat, such as a dry run.
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

/// A KafkaBackup in the same namespace, and optionally one of its runs.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupRef {
    /// Name of the KafkaBackup.
    pub name: String,
    /// Which backup to restore, as listed in the KafkaBackup's `status.backupHistory`.
    /// Defaults to the most recent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<String>,
}

/// A time window over record timestamps. The ends are RFC 3339 times; either may be
/// left out. The start is `from` or `startTimestamp`, the end `to` (exclusive) or
/// `timestamp` (inclusive): one spelling of each.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PointInTime {
    /// Restore records with a timestamp at or after this time, e.g. `2026-01-31T00:00:00Z`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Restore records with a timestamp before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The same as `from` (strimzi-backup-operator's spelling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timestamp: Option<String>,
    /// Restore records with a timestamp at or before this time: the point in time to
    /// restore to, e.g. `2026-02-12T14:30:00.000Z`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// A window end relative to the end of the backup. Refused: give the end as
    /// `timestamp` (or `to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_from_end: Option<String>,
}

/// Consumer group offsets to set in the target cluster once the records are
/// restored: each group then resumes at the first record it had not consumed in the
/// source, translated to the offsets the restore wrote.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreConsumerGroups {
    /// Set consumer group offsets. Defaults to false. Needs a backup with
    /// `backup.consumerGroupSnapshot: true`. Without `groups`, `mapping` or `auto`,
    /// every group of the snapshot is set, as with `auto: true`.
    #[serde(default)]
    pub restore: bool,
    /// Every group in the backup's snapshot, under its own name. Defaults to true
    /// when neither `groups` nor `mapping` is given, false otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto: Option<bool>,
    /// These groups of the snapshot, under their own names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Groups of the snapshot set under another name in the target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mapping: Vec<ConsumerGroupMapping>,
    /// How offsets are found: `header-based` also writes each record's source offset
    /// as headers (`x-original-offset`, ...) into the target; `skip` sets nothing;
    /// `manual` computes the offsets and reports them in the restore's report
    /// without committing them. Defaults to committing the translated offsets.
    /// `timestamp-based` and `cluster-scan` are refused: kafka-backup-core does not
    /// implement them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// File of the offset mapping report. Refused: the worker writes it to the
    /// restore's report volume (`offsets.json`), and status lists the groups set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_report: Option<String>,
}

/// A consumer group of the backup, set in the target under another name.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerGroupMapping {
    /// The group's id in the backup's snapshot.
    pub source_group: String,
    /// The group id to commit in the target.
    pub target_group: String,
}

/// How a restore writes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreTuning {
    /// `auto` (the default): create missing target topics with the backup's partition
    /// count and topic configuration; `manual`: they must exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_creation: Option<TopicCreation>,
    /// Replication factor of created topics. Defaults to the broker's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_replication_factor: Option<i16>,
    /// A target topic that already exists: `append` (the default) writes after its
    /// records, `overwrite` deletes them first (as `purgeTopics`), `fail` refuses to
    /// write into it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_topic_policy: Option<ExistingTopicPolicy>,
    /// The same as `spec.purgeTopics`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge_topics: Option<bool>,
    /// The same as `spec.dryRun`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Add each record's source offset, timestamp and partition as headers
    /// (`x-original-offset`, ...) to the restored records. Defaults to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_original_offset_header: Option<bool>,
    /// Restore only these partitions of each topic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_partitions: Vec<i32>,
    /// Write a source partition's records to another partition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_mapping: Vec<PartitionMapping>,
    /// Restore a topic into another number of partitions, placing each record by its
    /// key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repartitioning: Vec<Repartitioning>,
    /// Partitions restored at once. Defaults to 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<i32>,
    /// Records per second the whole restore may write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_records_per_sec: Option<u64>,
    /// Bytes per second the whole restore may write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_bytes_per_sec: Option<u64>,
    /// Records per produce request. Defaults to 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produce_batch_size: Option<u32>,
    /// Acknowledgements the producer waits for: `-1` (all in-sync replicas, the
    /// default and the only value with an idempotent producer), `1` or `0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produce_acks: Option<i16>,
    /// How long the broker may take to acknowledge a produce request, in
    /// milliseconds. Defaults to 30000. An attempt after an unclean stop first waits
    /// this long plus 6 seconds, so the stopped attempt's requests cannot land later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produce_timeout_ms: Option<i32>,
    /// Seconds between saves of the checkpoint on the report volume. Defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_interval_secs: Option<u64>,
    /// Path of the checkpoint file. Refused: the checkpoint is kept on the report
    /// volume, where a resumed attempt finds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_state: Option<String>,
}

/// Whether a restore creates missing target topics.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TopicCreation {
    /// Create them like the backed-up topics.
    Auto,
    /// They must exist.
    Manual,
}

/// What a restore does with a target topic that already exists.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExistingTopicPolicy {
    /// Refuse to write into it.
    Fail,
    /// Write after its records.
    Append,
    /// Delete its records first.
    Overwrite,
}

/// A source partition written to another target partition.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartitionMapping {
    pub source_partition: i32,
    pub target_partition: i32,
}

/// A target topic restored into another number of partitions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Repartitioning {
    /// The target topic (after `topicMapping`).
    pub topic: String,
    /// `murmur2` (Kafka's default partitioner, the default) or `automatic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Partitions of the target topic.
    pub target_partitions: i32,
}

/// The report volume's size and class.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportVolume {
    /// Storage class of the PersistentVolumeClaim. Defaults to the cluster's default class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// Requested size. Defaults to `1Gi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<Quantity>,
}

/// Observed state of a KafkaRestore.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
// Fields strimzi-backup-operator writes here (in manifests copied from its documentation,
// and on objects it managed) are accepted, not refused by strict field validation; the
// controller's first status write removes them (controller::status).
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct KafkaRestoreStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (reasons `RestoreRunning`, `RestoreCompleted`, `RestoreFailed`,
    /// `RestoreDisabled`), `RestoreComplete` and `Error`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The current (or last) attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreAttempt>,
    /// The `kafkabackup.com/continue` tokens honoured, oldest first: each started one
    /// continuation of the completed restore.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub continued: Vec<String>,
}

/// One attempt of a restore: one Job. Fields another operator did not write read as
/// empty (a status strimzi-backup-operator left has no `jobName`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
// Fields strimzi-backup-operator writes here (in manifests copied from its documentation,
// and on objects it managed) are accepted, not refused by strict field validation; the
// controller's first status write removes them (controller::status).
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct RestoreAttempt {
    /// The Job of this attempt.
    pub job_name: String,
    /// Attempt number, from 1; a new attempt starts when the Job is deleted to resume.
    pub attempt: i32,
    /// When the first attempt's Job started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the restore completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// The PersistentVolumeClaim holding the progress report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_pvc: Option<String>,
    /// Records restored, as the worker reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<i64>,
    /// Bytes restored, as the worker reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<i64>,
    /// Why this attempt failed, as its worker reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Consumer groups whose offsets the restore set in the target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumer_groups: Vec<String>,
    /// How far the restore has come, read from its running worker at least every 10
    /// seconds while its records grow; 100 percent once it completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
}

/// A restore's progress over all its attempts, as its worker measured it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Progress {
    /// Records written to the target.
    pub records: i64,
    /// Bytes of keys and values written.
    pub bytes: i64,
    /// Records in the backup window (from the backup's segment index).
    pub total_records: i64,
    /// Partitions written to so far.
    pub partitions: i64,
    /// Segments of the backup window the current attempt has read, out of `segmentsTotal`.
    pub segments_done: i64,
    pub segments_total: i64,
    /// `records` out of `totalRecords`, 0 to 100; 100 only once the restore completed.
    pub percent: i32,
    /// When the worker measured these figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured_time: Option<Time>,
    /// When the records written last grew (the attempt's start until they first do).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_progress_time: Option<Time>,
}

impl KafkaRestoreSpec {
    /// The cluster this restore writes to, when exactly one source is set.
    pub fn cluster(&self) -> Option<ClusterSource<'_>> {
        match (&self.strimzi_cluster_ref, &self.kafka) {
            (Some(r), None) => Some(ClusterSource::Strimzi(r)),
            (None, Some(k)) => Some(ClusterSource::Direct(k)),
            _ => None,
        }
    }
}

impl KafkaRestore {
    /// The restore has started: a Job was recorded for it.
    pub fn is_started(&self) -> bool {
        self.status
            .as_ref()
            .and_then(|s| s.restore.as_ref())
            .is_some_and(|r| !r.job_name.is_empty())
    }

    /// The restore has completed (`RestoreComplete=True`); it is never run again.
    pub fn is_completed(&self) -> bool {
        self.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == condition::RESTORE_COMPLETE && c.status == "True")
        })
    }
}
