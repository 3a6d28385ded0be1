//! Small builders for tests: valid resources to start from, and the states they reach.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::api::{
    KafkaBackup, KafkaBackupSpec, KafkaRestore, KafkaRestoreSpec, KafkaRestoreStatus,
    StrimziClusterRef,
    backup::{BackupStorage, S3Storage, StorageType},
    condition,
    restore::{BackupRef, RestoreAttempt},
};

fn cluster() -> Option<StrimziClusterRef> {
    Some(StrimziClusterRef {
        name: "my-cluster".into(),
        listener: None,
        ..Default::default()
    })
}

impl KafkaRestore {
    /// A valid, new restore `restore-orders` of backup `daily-backup`.
    pub fn test() -> Self {
        let mut restore = KafkaRestore::new(
            "restore-orders",
            KafkaRestoreSpec {
                strimzi_cluster_ref: cluster(),
                backup_ref: BackupRef {
                    name: "daily-backup".into(),
                    backup_id: None,
                },
                ..Default::default()
            },
        );
        restore.metadata.namespace = Some("kafka".into());
        restore.metadata.uid = Some("5f1c2a3e-0000-4000-8000-000000000001".into());
        restore.metadata.generation = Some(1);
        restore
    }

    /// Changes the spec.
    pub fn with(mut self, change: impl FnOnce(&mut KafkaRestoreSpec)) -> Self {
        change(&mut self.spec);
        self
    }

    /// The restore has a Job recorded for its first attempt.
    pub fn started(mut self) -> Self {
        let status = self.status.get_or_insert_with(KafkaRestoreStatus::default);
        status.restore = Some(RestoreAttempt {
            job_name: "restore-orders-restore-1".into(),
            attempt: 1,
            start_time: Some(Time(jiff::Timestamp::UNIX_EPOCH)),
            report_pvc: Some("restore-orders-report-x7k2p".into()),
            ..Default::default()
        });
        self
    }

    /// The restore completed: `RestoreComplete=True`.
    pub fn completed(self) -> Self {
        let mut restore = self.started();
        let status = restore
            .status
            .get_or_insert_with(KafkaRestoreStatus::default);
        status.conditions.push(Condition {
            type_: condition::RESTORE_COMPLETE.into(),
            status: "True".into(),
            reason: condition::RESTORE_COMPLETED.into(),
            message: "restore completed".into(),
            last_transition_time: Time(jiff::Timestamp::UNIX_EPOCH),
            observed_generation: Some(1),
        });
        restore
    }
}

impl KafkaBackup {
    /// A valid one-shot backup `daily-backup` to an S3 bucket.
    pub fn test() -> Self {
        let mut backup = KafkaBackup::new(
            "daily-backup",
            KafkaBackupSpec {
                strimzi_cluster_ref: cluster(),
                storage: BackupStorage {
                    kind: StorageType::S3,
                    s3: Some(S3Storage {
                        bucket: "my-kafka-backups".into(),
                        region: Some("eu-west-1".into()),
                        ..Default::default()
                    }),
                    azure: None,
                    gcs: None,
                    filesystem: None,
                },
                ..Default::default()
            },
        );
        backup.metadata.namespace = Some("kafka".into());
        backup.metadata.uid = Some("5f1c2a3e-0000-4000-8000-000000000002".into());
        backup.metadata.generation = Some(1);
        backup
    }

    /// Changes the spec.
    pub fn with(mut self, change: impl FnOnce(&mut KafkaBackupSpec)) -> Self {
        change(&mut self.spec);
        self
    }
}
