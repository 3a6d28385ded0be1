//! The KafkaRestore custom resource: a one-shot restore of a backup into a cluster. No IO.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::{
    api::resource::Quantity,
    apis::meta::v1::{Condition, Time},
};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    ClusterSource, KafkaConnection, PodTemplate, StrimziClusterRef, TopicSelector, condition,
};

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
    pub kafka: Option<KafkaConnection>,
    /// The backup to restore from.
    pub backup_ref: BackupRef,
    /// Which of the backed-up topics to restore. Defaults to every topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<TopicSelector>,
    /// Restore a topic under another name: source topic name to target topic name.
    /// Topics not listed keep their name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_mapping: Option<BTreeMap<String, String>>,
    /// Restore only records whose timestamp falls in this window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point_in_time: Option<PointInTime>,
    /// Delete the records already in the target topics before the first attempt
    /// writes. Defaults to false. A resumed attempt never purges again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge_topics: Option<bool>,
    /// Read the backup and report what would be restored, writing nothing to Kafka.
    /// Defaults to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
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
    pub template: Option<PodTemplate>,
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

/// A time window over record timestamps. Both ends are RFC 3339 times; either may be
/// left out.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PointInTime {
    /// Restore records with a timestamp at or after this time, e.g. `2026-01-31T00:00:00Z`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Restore records with a timestamp before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
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

/// One attempt of a restore: one Job.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
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
