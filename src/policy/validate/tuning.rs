//! Validation of how a run reads and writes: connection settings, backup and restore
//! tuning, the offset database, retention of old data, and consumer groups. A setting
//! the worker cannot honour is refused here with the reason and what to use instead.
//! No IO.

use std::collections::BTreeSet;

use crate::api::ConnectionTuning;
use crate::api::backup::{BackupRetention, BackupTuning, ConsumerGroupSelector, OffsetStorage};
use crate::api::restore::{
    ExistingTopicPolicy, KafkaRestoreSpec, RestoreConsumerGroups, RestoreTuning, TopicCreation,
};
use crate::constants::MAX_BACKUP_HISTORY;
use crate::policy::{Review, syntax};

fn at_least(review: &mut Review, field: &str, value: Option<i64>, min: i64) {
    if let Some(v) = value
        && v < min
    {
        review.violation(field, format!("is {v}; use {min} or more"));
    }
}

pub(super) fn check_connection(review: &mut Review, connection: &ConnectionTuning) {
    const C: &str = "spec.connection";
    at_least(
        review,
        &format!("{C}.connectionsPerBroker"),
        connection.connections_per_broker.map(i64::from),
        1,
    );
    for (field, value) in [
        ("keepaliveTimeSecs", connection.keepalive_time_secs),
        ("keepaliveIntervalSecs", connection.keepalive_interval_secs),
    ] {
        at_least(
            review,
            &format!("{C}.{field}"),
            value.map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
            1,
        );
    }
}

fn unsigned(value: Option<u64>) -> Option<i64> {
    value.map(|v| i64::try_from(v).unwrap_or(i64::MAX))
}

pub(super) fn check_backup_tuning(review: &mut Review, tuning: &BackupTuning) {
    const B: &str = "spec.backup";
    let compression = tuning.compression.as_deref().map(str::to_ascii_lowercase);
    match compression.as_deref() {
        None | Some("zstd" | "lz4" | "none") => {}
        Some(other @ ("gzip" | "snappy")) => review.violation(
            format!("{B}.compression"),
            format!("'{other}' is not available in kafka-backup-core's segments; use zstd (the default), lz4 or none"),
        ),
        Some(other) => review.violation(
            format!("{B}.compression"),
            format!("'{other}' is not one of zstd, lz4, none"),
        ),
    }
    if let Some(level) = tuning.compression_level {
        match compression.as_deref() {
            None | Some("zstd") if !(1..=22).contains(&level) => review.violation(
                format!("{B}.compressionLevel"),
                format!("is {level}; zstd levels go from 1 to 22"),
            ),
            Some("lz4" | "none") => review.violation(
                format!("{B}.compressionLevel"),
                "applies to zstd only; remove it or use compression: zstd",
            ),
            _ => {}
        }
    }
    at_least(
        review,
        &format!("{B}.segmentSize"),
        tuning.segment_size,
        1024,
    );
    at_least(
        review,
        &format!("{B}.segmentMaxIntervalMs"),
        unsigned(tuning.segment_max_interval_ms),
        1,
    );
    at_least(
        review,
        &format!("{B}.parallelism"),
        tuning.parallelism.map(i64::from),
        1,
    );
    at_least(
        review,
        &format!("{B}.checkpointIntervalSecs"),
        unsigned(tuning.checkpoint_interval_secs),
        1,
    );
    at_least(
        review,
        &format!("{B}.syncIntervalSecs"),
        unsigned(tuning.sync_interval_secs),
        1,
    );
    if let Some(start) = &tuning.start_offset
        && !["earliest", "latest"].contains(&start.to_ascii_lowercase().as_str())
    {
        review.violation(
            format!("{B}.startOffset"),
            format!("'{start}' is not earliest or latest"),
        );
    }
    if let Some(encryption) = &tuning.encryption {
        if encryption.enabled {
            review.violation(
                format!("{B}.encryption.enabled"),
                "kafka-backup-core does not encrypt segments, so nothing would be encrypted; encrypt at rest in the store (an S3 bucket's default SSE-S3 or SSE-KMS, Azure Storage Service Encryption, GCS's default or customer-managed keys) and remove spec.backup.encryption",
            );
        } else if encryption.key_secret.is_some() {
            review.warning(
                &format!("{B}.encryption.keySecret"),
                "is not read: encryption is not enabled (and cannot be, see spec.backup.encryption)",
            );
        }
    }
    if tuning.continuous == Some(true) {
        review.violation(
            format!("{B}.continuous"),
            "a KafkaBackup runs as Jobs that end; use spec.schedule to back up again and again",
        );
    }
    if tuning.poll_interval_ms.is_some() {
        review.violation(
            format!("{B}.pollIntervalMs"),
            "is the poll interval of continuous mode, which a Job does not run; remove it",
        );
    }
    if tuning.stop_at_current_offsets == Some(false) {
        review.violation(
            format!("{B}.stopAtCurrentOffsets"),
            "a run must end at the offsets current when it starts; records produced meanwhile go to the next run. Remove it or set it to true",
        );
    }
    for (i, topic) in tuning.internal_topics.iter().enumerate() {
        if let Err(e) = syntax::topic_name(topic) {
            review.violation(format!("{B}.internalTopics[{i}]"), e);
        }
    }
    if !tuning.internal_topics.is_empty() && tuning.include_internal_topics != Some(true) {
        review.warning(
            &format!("{B}.internalTopics"),
            "is used only with includeInternalTopics: true",
        );
    }
}

pub(super) fn check_consumer_group_selector(
    review: &mut Review,
    groups: &ConsumerGroupSelector,
    snapshot: bool,
) {
    for (list, patterns) in [("include", &groups.include), ("exclude", &groups.exclude)] {
        for (i, pattern) in patterns.iter().enumerate() {
            if let Err(e) = regex::Regex::new(pattern) {
                review.violation(
                    format!("spec.consumerGroups.{list}[{i}]"),
                    format!("'{pattern}' is not a regular expression: {e}"),
                );
            }
        }
    }
    if !snapshot && (!groups.include.is_empty() || !groups.exclude.is_empty()) {
        review.warning(
            "spec.consumerGroups",
            "selects the groups of the consumer group snapshot, which is taken only with spec.backup.consumerGroupSnapshot: true",
        );
    }
}

pub(super) fn check_offset_storage(review: &mut Review, storage: &OffsetStorage) {
    const O: &str = "spec.offsetStorage";
    if let Some(backend) = &storage.backend {
        match backend.to_ascii_lowercase().as_str() {
            "sqlite" => {}
            "memory" => review.violation(
                format!("{O}.backend"),
                "kafka-backup-core keeps the offset database in SQLite only; remove it or use sqlite",
            ),
            other => review.violation(format!("{O}.backend"), format!("'{other}' is not sqlite")),
        }
    }
    if let Some(path) = &storage.db_path
        && (!path.starts_with("/tmp/") || path.split('/').any(|p| p == ".."))
    {
        review.violation(
            format!("{O}.dbPath"),
            format!("'{path}': the worker's root file system is read-only; give a file under /tmp/, such as /tmp/offsets.db"),
        );
    }
    if storage.s3_key.is_some() {
        review.violation(
            format!("{O}.s3Key"),
            "the offset database is always uploaded to <backupId>/offsets.db in the backup storage; remove it",
        );
    }
    at_least(
        review,
        &format!("{O}.syncIntervalSecs"),
        unsigned(storage.sync_interval_secs),
        1,
    );
}

pub(super) fn check_retention(review: &mut Review, retention: &BackupRetention) {
    const R: &str = "spec.retention";
    for (field, value, max) in [
        (
            "successfulJobsHistoryLimit",
            retention.successful_jobs_history_limit,
            None,
        ),
        (
            "failedJobsHistoryLimit",
            retention.failed_jobs_history_limit,
            None,
        ),
        (
            "backupHistoryLimit",
            retention.backup_history_limit,
            Some(MAX_BACKUP_HISTORY),
        ),
    ] {
        match (value, max) {
            (Some(v), _) if v < 0 => {
                review.violation(format!("{R}.{field}"), format!("is {v}; use 0 or more"))
            }
            (Some(v), Some(max)) if v > max => {
                review.violation(format!("{R}.{field}"), format!("is {v}; use at most {max}"))
            }
            _ => {}
        }
    }
    if let Some(age) = &retention.max_age
        && let Err(e) = kafka_backup_core::util::parse_duration(age)
    {
        review.violation(
            format!("{R}.maxAge"),
            format!("{e}; write it like 30d, 720h or 1d12h"),
        );
    }
    if let Some(n) = retention.max_backups {
        if n < 1 {
            review.violation(format!("{R}.maxBackups"), format!("is {n}; use 1 or more"));
        } else if n > MAX_BACKUP_HISTORY {
            review.violation(
                format!("{R}.maxBackups"),
                format!("is {n}; the runs are counted in status.backupHistory, which keeps at most {MAX_BACKUP_HISTORY}"),
            );
        } else if let Some(limit) = retention.backup_history_limit
            && limit < n
        {
            review.violation(
                format!("{R}.backupHistoryLimit"),
                format!("is {limit}, fewer than maxBackups ({n}): the runs are counted in status.backupHistory; raise it to at least {n}"),
            );
        }
    }
    let criteria = retention.max_age.is_some() || retention.max_backups.is_some();
    match retention.prune_on_schedule {
        Some(true) if !criteria => review.violation(
            format!("{R}.pruneOnSchedule"),
            "needs maxAge or maxBackups to say what to delete",
        ),
        Some(true) => {}
        _ if criteria => review.warning(
            R,
            "maxAge and maxBackups take effect only with pruneOnSchedule: true; nothing is deleted from storage now",
        ),
        _ => {}
    }
}

pub(super) fn check_restore_tuning(
    review: &mut Review,
    spec: &KafkaRestoreSpec,
    tuning: &RestoreTuning,
) {
    const R: &str = "spec.restore";
    for (ours, theirs, a, b) in [
        (
            "spec.purgeTopics",
            "purgeTopics",
            spec.purge_topics,
            tuning.purge_topics,
        ),
        ("spec.dryRun", "dryRun", spec.dry_run, tuning.dry_run),
    ] {
        if let (Some(a), Some(b)) = (a, b)
            && a != b
        {
            review.violation(
                format!("{R}.{theirs}"),
                format!("says the opposite of {ours}, the same setting; give one of them"),
            );
        }
    }
    match tuning.existing_topic_policy {
        Some(ExistingTopicPolicy::Overwrite)
            if spec.purge_topics == Some(false) || tuning.purge_topics == Some(false) =>
        {
            review.violation(
                format!("{R}.existingTopicPolicy"),
                "overwrite deletes the records of existing target topics, which purgeTopics: false forbids; give one of them",
            )
        }
        Some(ExistingTopicPolicy::Fail)
            if spec.purge_topics == Some(true) || tuning.purge_topics == Some(true) =>
        {
            review.violation(
                format!("{R}.existingTopicPolicy"),
                "fail refuses existing target topics, so there is nothing to purge; remove purgeTopics or use overwrite",
            )
        }
        _ => {}
    }
    if tuning.topic_creation == Some(TopicCreation::Manual)
        && tuning.default_replication_factor.is_some()
    {
        review.warning(
            &format!("{R}.defaultReplicationFactor"),
            "is used only for topics the restore creates, and topicCreation is manual",
        );
    }
    at_least(
        review,
        &format!("{R}.defaultReplicationFactor"),
        tuning.default_replication_factor.map(i64::from),
        1,
    );
    let mut seen = BTreeSet::new();
    for (i, p) in tuning.source_partitions.iter().enumerate() {
        if *p < 0 || !seen.insert(*p) {
            review.violation(
                format!("{R}.sourcePartitions[{i}]"),
                format!("{p} is negative or listed twice"),
            );
        }
    }
    let mut sources = BTreeSet::new();
    for (i, m) in tuning.partition_mapping.iter().enumerate() {
        if m.source_partition < 0 || m.target_partition < 0 {
            review.violation(
                format!("{R}.partitionMapping[{i}]"),
                "partitions are 0 or more",
            );
        }
        if !sources.insert(m.source_partition) {
            review.violation(
                format!("{R}.partitionMapping[{i}].sourcePartition"),
                format!("{} is mapped twice", m.source_partition),
            );
        }
    }
    let mut topics = BTreeSet::new();
    for (i, r) in tuning.repartitioning.iter().enumerate() {
        if let Err(e) = syntax::topic_name(&r.topic) {
            review.violation(format!("{R}.repartitioning[{i}].topic"), e);
        }
        if !topics.insert(r.topic.clone()) {
            review.violation(
                format!("{R}.repartitioning[{i}].topic"),
                format!("'{}' is listed twice", r.topic),
            );
        }
        at_least(
            review,
            &format!("{R}.repartitioning[{i}].targetPartitions"),
            Some(i64::from(r.target_partitions)),
            1,
        );
        if let Some(strategy) = &r.strategy
            && !["murmur2", "automatic"].contains(&strategy.to_ascii_lowercase().as_str())
        {
            review.violation(
                format!("{R}.repartitioning[{i}].strategy"),
                format!("'{strategy}' is not murmur2 or automatic"),
            );
        }
    }
    for (field, value) in [
        ("parallelism", tuning.parallelism.map(i64::from)),
        (
            "rateLimitRecordsPerSec",
            unsigned(tuning.rate_limit_records_per_sec),
        ),
        (
            "rateLimitBytesPerSec",
            unsigned(tuning.rate_limit_bytes_per_sec),
        ),
        ("produceBatchSize", tuning.produce_batch_size.map(i64::from)),
        ("produceTimeoutMs", tuning.produce_timeout_ms.map(i64::from)),
        (
            "checkpointIntervalSecs",
            unsigned(tuning.checkpoint_interval_secs),
        ),
    ] {
        at_least(review, &format!("{R}.{field}"), value, 1);
    }
    if let Some(acks) = tuning.produce_acks {
        if ![-1, 0, 1].contains(&acks) {
            review.violation(
                format!("{R}.produceAcks"),
                format!("is {acks}; use -1 (all in-sync replicas), 1 or 0"),
            );
        } else if acks != -1 {
            review.warning(
                &format!("{R}.produceAcks"),
                format!("is {acks}: without acks=all the producer is not idempotent, and a request resent after a timeout can write records twice"),
            );
        }
    }
    if tuning.checkpoint_state.is_some() {
        review.violation(
            format!("{R}.checkpointState"),
            "the checkpoint is kept on the restore's report volume, where a resumed attempt finds it; remove it",
        );
    }
}

pub(super) fn check_restore_consumer_groups(
    review: &mut Review,
    groups: &RestoreConsumerGroups,
    repartitioned: bool,
) {
    const G: &str = "spec.consumerGroups";
    let listed = !groups.groups.is_empty() || !groups.mapping.is_empty();
    if groups.restore && !listed {
        match groups.auto {
            Some(false) => review.violation(
                format!("{G}.auto"),
                "is false and neither groups nor mapping is given, so no group would be set; list groups or mapping, set auto: true, or set restore: false",
            ),
            None => review.warning(
                &format!("{G}.restore"),
                "sets every group of the backup's snapshot, as auto: true does; list groups or mapping to set fewer",
            ),
            Some(true) => {}
        }
    }
    if !groups.restore && (listed || groups.auto == Some(true)) {
        review.warning(
            G,
            "lists groups but restore is not true: no consumer offsets are set",
        );
    }
    let mut sources = BTreeSet::new();
    let mut targets = BTreeSet::new();
    for (i, group) in groups.groups.iter().enumerate() {
        if group.is_empty() || !sources.insert(group.clone()) || !targets.insert(group.clone()) {
            review.violation(
                format!("{G}.groups[{i}]"),
                format!("'{group}' is empty or listed twice"),
            );
        }
    }
    for (i, m) in groups.mapping.iter().enumerate() {
        if m.source_group.is_empty() || !sources.insert(m.source_group.clone()) {
            review.violation(
                format!("{G}.mapping[{i}].sourceGroup"),
                format!("'{}' is empty or listed twice", m.source_group),
            );
        }
        if m.target_group.is_empty() || !targets.insert(m.target_group.clone()) {
            review.violation(
                format!("{G}.mapping[{i}].targetGroup"),
                format!(
                    "'{}' is empty or the target of another group",
                    m.target_group
                ),
            );
        }
    }
    match groups.strategy.as_deref() {
        None | Some("skip" | "header-based" | "manual") => {}
        Some(other @ ("timestamp-based" | "cluster-scan")) => review.violation(
            format!("{G}.strategy"),
            format!("'{other}' is not implemented by kafka-backup-core; leave it out to commit the offsets translated from the records the restore wrote, or use manual to only report them"),
        ),
        Some(other) => review.violation(
            format!("{G}.strategy"),
            format!("'{other}' is not one of skip, header-based, manual"),
        ),
    }
    if groups.offset_report.is_some() {
        review.violation(
            format!("{G}.offsetReport"),
            "a file in the pod is lost with it: the offsets are written to the restore's report volume (offsets.json) and the groups set are listed in status.restore.consumerGroups; remove it",
        );
    }
    if groups.restore && repartitioned {
        review.warning(
            G,
            "offsets of repartitioned topics cannot be translated and are not set",
        );
    }
}
