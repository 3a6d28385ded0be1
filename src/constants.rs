//! Names shared by the webhook, the controller and the worker: API group, label and
//! annotation keys, finalizer, field managers and defaults. No IO.

/// The API group of both custom resources.
pub const API_GROUP: &str = "kafkabackup.com";
/// The stored version, served with `v1` beside it.
pub const API_VERSION: &str = "v1alpha1";
/// The versions served, with the same schema: `v1` is what strimzi-backup-operator 0.3
/// and later write.
pub const SERVED_VERSIONS: [&str; 2] = [API_VERSION, "v1"];

/// Label on every Job and pod made for a KafkaRestore: the restore's name (R6).
pub const LABEL_RESTORE: &str = "kafkabackup.com/restore";
/// Label on every Job, CronJob and pod made for a KafkaBackup: the backup's name (R6).
pub const LABEL_BACKUP: &str = "kafkabackup.com/backup";
/// Label on a KafkaRestore naming its current Job (R6).
pub const LABEL_RESTORE_JOB_NAME: &str = "kafkabackup.com/restore-job-name";
/// Label on a KafkaRestore naming its report PersistentVolumeClaim (R5, R6).
pub const LABEL_REPORT_PVC_NAME: &str = "kafkabackup.com/report-pvc-name";

/// Finalizer that lets the operator remove what it made before a resource goes (R4).
pub const FINALIZER: &str = "kafkabackup.com/cleanup";

/// Annotation that asks for a one-off backup run now; its value is any new token.
pub const ANNOTATION_RUN_NOW: &str = "kafkabackup.com/run-now";
/// Annotation on a completed KafkaRestore that asks for one continuation: restore what
/// the backup gained since. Its value is any new token; each token is honoured once. The
/// continuation's Job carries it too.
pub const ANNOTATION_CONTINUE: &str = "kafkabackup.com/continue";
/// Strimzi's annotation to pause reconciliation, honoured for our resources too.
pub const ANNOTATION_PAUSE: &str = "strimzi.io/pause-reconciliation";
/// On a restore Job's pod: the worker's `config.yaml`, which the downward API mounts as
/// a file (a restore attempt's settings are fixed for its Job, so no ConfigMap).
pub const ANNOTATION_WORKER_CONFIG: &str = "kafkabackup.com/worker-config";

/// Field manager for the operator's own writes.
pub const FIELD_MANAGER: &str = "kafka-backup-operator";

/// `spec.backoffLimit` when a KafkaRestore leaves it out: exactly one attempt (R2).
pub const DEFAULT_RESTORE_BACKOFF_LIMIT: i32 = 0;
/// `spec.backoffLimit` when a KafkaBackup leaves it out: re-running a backup is safe (R2).
pub const DEFAULT_BACKUP_BACKOFF_LIMIT: i32 = 3;
/// `spec.report.size` when left out.
pub const DEFAULT_REPORT_SIZE: &str = "1Gi";
/// `spec.schedule.timeZone` when left out: explicit, so runs do not follow the node's zone.
pub const DEFAULT_TIME_ZONE: &str = "Etc/UTC";
/// Topic pattern matching every topic, used when `spec.topics.include` is left out.
pub const ALL_TOPICS: &str = "*";
/// Default `spec.retention.successfulJobsHistoryLimit`.
pub const DEFAULT_SUCCESSFUL_JOBS_HISTORY: i32 = 3;
/// Default `spec.retention.failedJobsHistoryLimit`.
pub const DEFAULT_FAILED_JOBS_HISTORY: i32 = 1;
/// Default `spec.retention.backupHistoryLimit`.
pub const DEFAULT_BACKUP_HISTORY: i32 = 10;
/// Upper bound of `spec.retention.backupHistoryLimit`, so status stays small.
pub const MAX_BACKUP_HISTORY: i32 = 100;

/// Longest name a KafkaBackup or KafkaRestore may have: the name is a label value (R6).
pub const MAX_RESOURCE_NAME: usize = 63;
