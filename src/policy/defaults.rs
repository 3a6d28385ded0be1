//! Defaults for both kinds (R2 and the rest). The mutating webhook writes them; the
//! controller assumes them when a field is absent. Idempotent. No IO.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::api::{
    KafkaBackupSpec, KafkaRestoreSpec, TopicSelector,
    backup::{BackupRetention, StorageType},
    restore::ReportVolume,
};
use crate::constants::*;

/// Fills every default of a KafkaBackup spec.
pub fn default_backup(spec: &mut KafkaBackupSpec) {
    spec.backoff_limit
        .get_or_insert(DEFAULT_BACKUP_BACKOFF_LIMIT);
    default_topics(&mut spec.topics);
    // A setting with two spellings is defaulted only when neither is given.
    if spec.storage.kind == StorageType::S3
        && let Some(s3) = spec.storage.s3.as_mut()
        && s3.force_path_style.is_none()
    {
        s3.path_style.get_or_insert(false);
    }
    if let Some(schedule) = spec.schedule.as_mut() {
        if schedule.timezone.is_none() {
            schedule
                .time_zone
                .get_or_insert_with(|| DEFAULT_TIME_ZONE.to_string());
        }
        schedule.suspend.get_or_insert(false);
    }
    let retention = spec.retention.get_or_insert_with(BackupRetention::default);
    // maxBackups counts the runs in the history, so the history keeps at least as many.
    let history = retention.max_backups.map_or(DEFAULT_BACKUP_HISTORY, |n| {
        n.clamp(DEFAULT_BACKUP_HISTORY, MAX_BACKUP_HISTORY)
    });
    retention
        .successful_jobs_history_limit
        .get_or_insert(DEFAULT_SUCCESSFUL_JOBS_HISTORY);
    retention
        .failed_jobs_history_limit
        .get_or_insert(DEFAULT_FAILED_JOBS_HISTORY);
    retention.backup_history_limit.get_or_insert(history);
}

/// Fills every default of a KafkaRestore spec.
pub fn default_restore(spec: &mut KafkaRestoreSpec) {
    spec.backoff_limit
        .get_or_insert(DEFAULT_RESTORE_BACKOFF_LIMIT);
    spec.enabled.get_or_insert(true);
    // A setting with two spellings is defaulted only when neither is given.
    let tuning = spec.restore.as_ref();
    if tuning.is_none_or(|r| r.purge_topics.is_none() && r.existing_topic_policy.is_none()) {
        spec.purge_topics.get_or_insert(false);
    }
    if tuning.is_none_or(|r| r.dry_run.is_none()) {
        spec.dry_run.get_or_insert(false);
    }
    default_topics(&mut spec.topics);
    let report = spec.report.get_or_insert_with(ReportVolume::default);
    report
        .size
        .get_or_insert_with(|| Quantity(DEFAULT_REPORT_SIZE.to_string()));
}

fn default_topics(topics: &mut Option<TopicSelector>) {
    let topics = topics.get_or_insert_with(TopicSelector::default);
    if topics.include.is_empty() {
        topics.include.push(ALL_TOPICS.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::backup::{BackupSchedule, BackupStorage, S3Storage};
    use crate::api::restore::BackupRef;

    fn restore_spec() -> KafkaRestoreSpec {
        KafkaRestoreSpec {
            backup_ref: BackupRef {
                name: "daily-backup".into(),
                backup_id: None,
            },
            ..Default::default()
        }
    }

    fn backup_spec() -> KafkaBackupSpec {
        KafkaBackupSpec {
            storage: BackupStorage {
                kind: StorageType::S3,
                s3: Some(S3Storage {
                    bucket: "b".into(),
                    ..Default::default()
                }),
                azure: None,
                gcs: None,
                filesystem: None,
            },
            ..Default::default()
        }
    }

    #[test]
    fn r2_restore_backoff_limit_defaults_to_zero() {
        let mut spec = restore_spec();
        default_restore(&mut spec);
        assert_eq!(spec.backoff_limit, Some(0));
    }

    #[test]
    fn r2_backup_backoff_limit_defaults_to_three() {
        let mut spec = backup_spec();
        default_backup(&mut spec);
        assert_eq!(spec.backoff_limit, Some(3));
    }

    #[test]
    fn r2_explicit_backoff_limit_is_kept_zero_included() {
        let mut backup = backup_spec();
        backup.backoff_limit = Some(0);
        default_backup(&mut backup);
        assert_eq!(backup.backoff_limit, Some(0));

        let mut restore = restore_spec();
        restore.backoff_limit = Some(2);
        default_restore(&mut restore);
        assert_eq!(restore.backoff_limit, Some(2));
    }

    #[test]
    fn r9_restore_enabled_defaults_to_true_and_false_is_kept() {
        let mut spec = restore_spec();
        default_restore(&mut spec);
        assert_eq!(spec.enabled, Some(true));

        let mut paused = restore_spec();
        paused.enabled = Some(false);
        default_restore(&mut paused);
        assert_eq!(paused.enabled, Some(false));
    }

    #[test]
    fn restore_purge_and_dry_run_default_to_false() {
        let mut spec = restore_spec();
        default_restore(&mut spec);
        assert_eq!(spec.purge_topics, Some(false));
        assert_eq!(spec.dry_run, Some(false));
    }

    #[test]
    fn r5_report_size_defaults_to_1gi_and_keeps_storage_class() {
        let mut spec = restore_spec();
        spec.report = Some(ReportVolume {
            storage_class_name: Some("fast".into()),
            size: None,
        });
        default_restore(&mut spec);
        let report = spec.report.unwrap();
        assert_eq!(report.size, Some(Quantity("1Gi".into())));
        assert_eq!(report.storage_class_name.as_deref(), Some("fast"));
    }

    #[test]
    fn topics_include_defaults_to_every_topic_and_keeps_excludes() {
        let mut spec = restore_spec();
        spec.topics = Some(TopicSelector {
            include: vec![],
            exclude: vec!["internal-*".into()],
        });
        default_restore(&mut spec);
        let topics = spec.topics.unwrap();
        assert_eq!(topics.include, vec!["*"]);
        assert_eq!(topics.exclude, vec!["internal-*"]);

        let mut backup = backup_spec();
        default_backup(&mut backup);
        assert_eq!(backup.topics.unwrap().include, vec!["*"]);
    }

    #[test]
    fn r8_schedule_time_zone_defaults_to_utc_and_suspend_to_false() {
        let mut spec = backup_spec();
        spec.schedule = Some(BackupSchedule {
            cron: "0 2 * * *".into(),
            time_zone: None,
            suspend: None,
            ..Default::default()
        });
        default_backup(&mut spec);
        let schedule = spec.schedule.unwrap();
        assert_eq!(schedule.time_zone.as_deref(), Some("Etc/UTC"));
        assert_eq!(schedule.suspend, Some(false));
    }

    #[test]
    fn backup_without_schedule_gets_no_schedule() {
        let mut spec = backup_spec();
        default_backup(&mut spec);
        assert!(spec.schedule.is_none());
    }

    #[test]
    fn retention_limits_default() {
        let mut spec = backup_spec();
        spec.retention = Some(BackupRetention {
            backup_history_limit: Some(5),
            ..Default::default()
        });
        default_backup(&mut spec);
        let retention = spec.retention.unwrap();
        assert_eq!(retention.successful_jobs_history_limit, Some(3));
        assert_eq!(retention.failed_jobs_history_limit, Some(1));
        assert_eq!(retention.backup_history_limit, Some(5));
    }

    #[test]
    fn s3_path_style_defaults_to_false() {
        let mut spec = backup_spec();
        default_backup(&mut spec);
        assert_eq!(spec.storage.s3.unwrap().path_style, Some(false));
    }

    #[test]
    fn r7_defaulting_is_idempotent() {
        let mut backup = backup_spec();
        default_backup(&mut backup);
        let once = backup.clone();
        default_backup(&mut backup);
        assert_eq!(backup, once);

        let mut restore = restore_spec();
        default_restore(&mut restore);
        let once = restore.clone();
        default_restore(&mut restore);
        assert_eq!(restore, once);
    }
}
