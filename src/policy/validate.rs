//! Validation of creates and updates of both kinds (R7). Every check runs on a
//! defaulted copy; every violation names its field and the way out. No IO.

use std::collections::BTreeMap;

use kube::ResourceExt;
use serde::Serialize;

use super::{Review, default_backup, default_restore, syntax};
use crate::api::{
    KafkaAuthentication, KafkaBackup, KafkaBackupSpec, KafkaConnection, KafkaRestore,
    KafkaRestoreSpec, PodTemplate, StrimziClusterRef, TopicSelector,
    backup::{BackupStorage, StorageType},
};
use crate::constants::MAX_RESOURCE_NAME;

/// Create rules for a KafkaBackup (also the rules any updated spec must meet).
pub fn validate_backup(backup: &KafkaBackup) -> Review {
    let mut review = Review::default();
    let mut spec = backup.spec.clone();
    default_backup(&mut spec);
    check_name(&mut review, &backup.name_any());
    check_cluster(
        &mut review,
        spec.strimzi_cluster_ref.as_ref(),
        spec.kafka.as_ref(),
    );
    check_backoff_limit(&mut review, spec.backoff_limit);
    check_storage(&mut review, &spec.storage);
    check_topics(&mut review, spec.topics.as_ref());
    if let Some(schedule) = &spec.schedule {
        if let Err(e) = syntax::cron_expression(&schedule.cron) {
            review.violation("spec.schedule.cron", e);
        }
        if let Some(tz) = &schedule.time_zone
            && let Err(e) = syntax::time_zone(tz)
        {
            review.violation("spec.schedule.timeZone", e);
        }
    }
    if let Some(retention) = &spec.retention {
        for (field, value, max) in [
            (
                "spec.retention.successfulJobsHistoryLimit",
                retention.successful_jobs_history_limit,
                None,
            ),
            (
                "spec.retention.failedJobsHistoryLimit",
                retention.failed_jobs_history_limit,
                None,
            ),
            (
                "spec.retention.backupHistoryLimit",
                retention.backup_history_limit,
                Some(crate::constants::MAX_BACKUP_HISTORY),
            ),
        ] {
            match (value, max) {
                (Some(v), _) if v < 0 => review.violation(field, format!("is {v}; use 0 or more")),
                (Some(v), Some(max)) if v > max => {
                    review.violation(field, format!("is {v}; use at most {max}"))
                }
                _ => {}
            }
        }
    }
    check_pod(&mut review, spec.image.as_deref(), spec.template.as_ref());
    review
}

/// Update rules for a KafkaBackup: the new spec must be valid, unless only metadata
/// changed. Changing where backups go is legal but starts a new chain.
pub fn validate_backup_update(old: &KafkaBackup, new: &KafkaBackup) -> Review {
    if defaulted_backup(&old.spec) == defaulted_backup(&new.spec) {
        return Review::default();
    }
    let mut review = validate_backup(new);
    let has_history = old.status.as_ref().is_some_and(|s| s.last_backup.is_some());
    if has_history && defaulted_backup(&old.spec).storage != defaulted_backup(&new.spec).storage {
        review.warning(
            "spec.storage",
            "changed after backups were taken: new backups go to the new location, and restores of earlier backups need a KafkaBackup that points at the old one",
        );
    }
    review
}

/// Create rules for a KafkaRestore (also the rules any updated spec must meet).
pub fn validate_restore(restore: &KafkaRestore) -> Review {
    let mut review = Review::default();
    let mut spec = restore.spec.clone();
    default_restore(&mut spec);
    check_name(&mut review, &restore.name_any());
    check_cluster(
        &mut review,
        spec.strimzi_cluster_ref.as_ref(),
        spec.kafka.as_ref(),
    );
    check_backoff_limit(&mut review, spec.backoff_limit);
    if let Err(e) = syntax::dns_subdomain(&spec.backup_ref.name) {
        review.violation(
            "spec.backupRef.name",
            format!("{e}; name the KafkaBackup to restore from"),
        );
    }
    if let Some(id) = &spec.backup_ref.backup_id
        && let Err(e) = syntax::backup_id(id)
    {
        review.violation("spec.backupRef.backupId", e);
    }
    check_topics(&mut review, spec.topics.as_ref());
    if let Some(mapping) = &spec.topic_mapping {
        check_topic_mapping(&mut review, mapping);
    }
    if let Some(window) = &spec.point_in_time {
        let from = window
            .from
            .as_deref()
            .map(|v| syntax::rfc3339(v).map_err(|e| review.violation("spec.pointInTime.from", e)));
        let to = window
            .to
            .as_deref()
            .map(|v| syntax::rfc3339(v).map_err(|e| review.violation("spec.pointInTime.to", e)));
        if let (Some(Ok(from)), Some(Ok(to))) = (from, to)
            && from >= to
        {
            review.violation(
                "spec.pointInTime",
                format!("from ({from}) must be before to ({to})"),
            );
        }
    }
    if let Some(report) = &spec.report {
        if let Some(class) = &report.storage_class_name
            && let Err(e) = syntax::dns_subdomain(class)
        {
            review.violation("spec.report.storageClassName", e);
        }
        if let Some(size) = &report.size
            && let Err(e) = syntax::positive_quantity(&size.0)
        {
            review.violation("spec.report.size", e);
        }
    }
    check_pod(&mut review, spec.image.as_deref(), spec.template.as_ref());

    let dry_run = spec.dry_run == Some(true);
    if let Some(limit) = spec.backoff_limit
        && limit > 0
        && !dry_run
    {
        review.warning(
            "spec.backoffLimit",
            format!("is {limit}: a retried pod re-applies a partly completed restore and can duplicate records; keep 0 unless the restore is safe to repeat"),
        );
    }
    if spec.purge_topics == Some(true) {
        if dry_run {
            review.warning("spec.purgeTopics", "is ignored because spec.dryRun is true");
        } else {
            review.warning(
                "spec.purgeTopics",
                "deletes the records already in the target topics before the restore writes",
            );
        }
    }
    review
}

/// Update rules for a KafkaRestore (R7): a started restore may change only
/// `spec.enabled`; a completed one may change nothing. Metadata-only updates and a
/// re-apply that leaves defaulted fields out always pass.
pub fn validate_restore_update(old: &KafkaRestore, new: &KafkaRestore) -> Review {
    let old_spec = defaulted_restore(&old.spec);
    let new_spec = defaulted_restore(&new.spec);
    if old_spec == new_spec {
        return Review::default();
    }
    let name = old.name_any();
    let changed = changed_fields(&old_spec, &new_spec);
    if old.is_completed() {
        let mut review = Review::default();
        for field in changed {
            review.violation(
                format!("spec.{field}"),
                format!("KafkaRestore '{name}' has completed and its spec can no longer change; to restore again, delete it and create a new one"),
            );
        }
        return review;
    }
    if old.is_started() {
        let job = old
            .status
            .as_ref()
            .and_then(|s| s.restore.as_ref())
            .map(|r| r.job_name.as_str())
            .unwrap_or_default();
        let mut review = Review::default();
        for field in changed.into_iter().filter(|f| f != "enabled") {
            review.violation(
                format!("spec.{field}"),
                format!("cannot change after KafkaRestore '{name}' started (Job '{job}'); only spec.enabled may change. To restore differently, delete it and create a new one"),
            );
        }
        if !review.is_allowed() {
            return review;
        }
    }
    validate_restore(new)
}

fn defaulted_backup(spec: &KafkaBackupSpec) -> KafkaBackupSpec {
    let mut spec = spec.clone();
    default_backup(&mut spec);
    spec
}

fn defaulted_restore(spec: &KafkaRestoreSpec) -> KafkaRestoreSpec {
    let mut spec = spec.clone();
    default_restore(&mut spec);
    spec
}

/// Top-level spec fields whose values differ, by their JSON names.
fn changed_fields<T: Serialize>(old: &T, new: &T) -> Vec<String> {
    let as_map = |v: &T| -> BTreeMap<String, serde_json::Value> {
        match serde_json::to_value(v) {
            Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
            _ => BTreeMap::new(),
        }
    };
    let (old, new) = (as_map(old), as_map(new));
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .cloned()
        .collect()
}

fn check_name(review: &mut Review, name: &str) {
    if name.len() > MAX_RESOURCE_NAME {
        review.violation(
            "metadata.name",
            format!(
                "'{name}' is {} characters; use at most {MAX_RESOURCE_NAME}, because the name is a label value on the Jobs and pods made for it",
                name.len()
            ),
        );
    }
}

fn check_cluster(
    review: &mut Review,
    strimzi: Option<&StrimziClusterRef>,
    kafka: Option<&KafkaConnection>,
) {
    match (strimzi, kafka) {
        (None, None) => review.violation(
            "spec",
            "set spec.strimziClusterRef (a Strimzi Kafka resource) or spec.kafka (bootstrap servers)",
        ),
        (Some(_), Some(_)) => review.violation(
            "spec.kafka",
            "set only one of spec.strimziClusterRef and spec.kafka",
        ),
        (Some(r), None) => {
            if let Err(e) = syntax::dns_subdomain(&r.name) {
                review.violation("spec.strimziClusterRef.name", format!("{e}; name the Strimzi Kafka resource"));
            }
            if let Some(listener) = &r.listener
                && let Err(e) = syntax::strimzi_listener(listener)
            {
                review.violation("spec.strimziClusterRef.listener", e);
            }
        }
        (None, Some(k)) => check_connection(review, k),
    }
}

fn check_connection(review: &mut Review, kafka: &KafkaConnection) {
    if let Err(e) = syntax::bootstrap_servers(&kafka.bootstrap_servers) {
        review.violation("spec.kafka.bootstrapServers", e);
    }
    if let Some(ca) = kafka.tls.as_ref().and_then(|t| t.ca_secret.as_ref()) {
        check_secret_key_ref(review, "spec.kafka.tls.caSecret", &ca.name, &ca.key);
    }
    if let Some(auth) = &kafka.authentication {
        check_authentication(review, auth, kafka.tls.is_some());
    }
}

fn check_authentication(review: &mut Review, auth: &KafkaAuthentication, tls: bool) {
    const F: &str = "spec.kafka.authentication";
    if auth.kind.is_sasl() {
        if auth.username.as_deref().unwrap_or_default().is_empty() {
            review.violation(
                format!("{F}.username"),
                "is required for SASL authentication",
            );
        }
        match &auth.password_secret {
            None => review.violation(
                format!("{F}.passwordSecret"),
                "is required for SASL authentication: name the Secret and key holding the password",
            ),
            Some(s) => {
                check_secret_key_ref(review, &format!("{F}.passwordSecret"), &s.name, &s.key)
            }
        }
        if auth.certificate_and_key.is_some() {
            review.violation(
                format!("{F}.certificateAndKey"),
                "is only for type 'tls'; remove it or change the type",
            );
        }
        if !tls {
            review.warning(
                F,
                "SASL without spec.kafka.tls sends credentials over a plaintext connection",
            );
        }
    } else {
        match &auth.certificate_and_key {
            None => review.violation(
                format!("{F}.certificateAndKey"),
                "is required for type 'tls': name the Secret holding the client certificate and key",
            ),
            Some(c) => {
                if let Err(e) = syntax::dns_subdomain(&c.secret_name) {
                    review.violation(format!("{F}.certificateAndKey.secretName"), e);
                }
                for (field, key) in [("certificate", &c.certificate), ("key", &c.key)] {
                    if let Err(e) = syntax::secret_key(key) {
                        review.violation(format!("{F}.certificateAndKey.{field}"), e);
                    }
                }
            }
        }
        if !tls {
            review.violation(F, "type 'tls' needs spec.kafka.tls to be set");
        }
        if auth.password_secret.is_some() || auth.username.is_some() {
            review.violation(
                format!("{F}.passwordSecret"),
                "username and passwordSecret are only for SASL types; remove them or change the type",
            );
        }
    }
}

fn check_secret_key_ref(review: &mut Review, field: &str, name: &str, key: &str) {
    if let Err(e) = syntax::dns_subdomain(name) {
        review.violation(format!("{field}.name"), e);
    }
    if let Err(e) = syntax::secret_key(key) {
        review.violation(format!("{field}.key"), e);
    }
}

fn check_backoff_limit(review: &mut Review, limit: Option<i32>) {
    if let Some(limit) = limit
        && limit < 0
    {
        review.violation(
            "spec.backoffLimit",
            format!("is {limit}; use 0 or more (the number of pod retries)"),
        );
    }
}

fn check_storage(review: &mut Review, storage: &BackupStorage) {
    match storage.kind {
        StorageType::S3 => {
            if storage.filesystem.is_some() {
                review.violation(
                    "spec.storage.filesystem",
                    "is set but spec.storage.type is 's3'; remove one",
                );
            }
            let Some(s3) = &storage.s3 else {
                review.violation(
                    "spec.storage.s3",
                    "is required when spec.storage.type is 's3': give at least the bucket",
                );
                return;
            };
            if let Err(e) = syntax::s3_bucket(&s3.bucket) {
                review.violation("spec.storage.s3.bucket", e);
            }
            if let Some(region) = &s3.region
                && let Err(e) = syntax::s3_region(region)
            {
                review.violation("spec.storage.s3.region", e);
            }
            if let Some(prefix) = &s3.prefix
                && prefix.starts_with('/')
            {
                review.violation(
                    "spec.storage.s3.prefix",
                    format!("'{prefix}' must not start with '/'"),
                );
            }
            if let Some(endpoint) = &s3.endpoint {
                match syntax::endpoint_url(endpoint) {
                    Err(e) => review.violation("spec.storage.s3.endpoint", e),
                    Ok(())
                        if endpoint.starts_with("http://") && s3.credentials_secret.is_some() =>
                    {
                        review.warning(
                            "spec.storage.s3.endpoint",
                            "uses http://: credentials and backups cross the network unencrypted",
                        )
                    }
                    Ok(()) => {}
                }
            }
            if let Some(creds) = &s3.credentials_secret {
                if let Err(e) = syntax::dns_subdomain(&creds.name) {
                    review.violation("spec.storage.s3.credentialsSecret.name", e);
                }
                for (field, key) in [
                    ("accessKeyIdKey", &creds.access_key_id_key),
                    ("secretAccessKeyKey", &creds.secret_access_key_key),
                ] {
                    if let Some(key) = key
                        && let Err(e) = syntax::secret_key(key)
                    {
                        review.violation(format!("spec.storage.s3.credentialsSecret.{field}"), e);
                    }
                }
            }
        }
        StorageType::Filesystem => {
            if storage.s3.is_some() {
                review.violation(
                    "spec.storage.s3",
                    "is set but spec.storage.type is 'filesystem'; remove one",
                );
            }
            let Some(fs) = &storage.filesystem else {
                review.violation(
                    "spec.storage.filesystem",
                    "is required when spec.storage.type is 'filesystem': give the claimName of a PersistentVolumeClaim",
                );
                return;
            };
            if let Err(e) = syntax::dns_subdomain(&fs.claim_name) {
                review.violation("spec.storage.filesystem.claimName", e);
            }
            if let Some(path) = &fs.path
                && let Err(e) = syntax::relative_path(path)
            {
                review.violation("spec.storage.filesystem.path", e);
            }
        }
    }
}

fn check_topics(review: &mut Review, topics: Option<&TopicSelector>) {
    let Some(topics) = topics else { return };
    for (list, patterns) in [("include", &topics.include), ("exclude", &topics.exclude)] {
        for (i, pattern) in patterns.iter().enumerate() {
            if let Err(e) = syntax::topic_pattern(pattern) {
                review.violation(format!("spec.topics.{list}[{i}]"), e);
            }
        }
    }
}

fn check_topic_mapping(review: &mut Review, mapping: &BTreeMap<String, String>) {
    let mut targets: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (source, target) in mapping {
        if let Err(e) = syntax::topic_name(source) {
            review.violation(
                format!("spec.topicMapping[{source}]"),
                format!("source {e}"),
            );
        }
        if let Err(e) = syntax::topic_name(target) {
            review.violation(
                format!("spec.topicMapping[{source}]"),
                format!("target {e}"),
            );
        }
        targets.entry(target).or_default().push(source);
    }
    for (target, sources) in targets.into_iter().filter(|(_, s)| s.len() > 1) {
        review.warning(
            "spec.topicMapping",
            format!(
                "{} all map to '{target}': their records are interleaved in one topic",
                sources.join(", ")
            ),
        );
    }
}

fn check_pod(review: &mut Review, image: Option<&str>, template: Option<&PodTemplate>) {
    if let Some(image) = image
        && let Err(e) = syntax::image(image)
    {
        review.violation("spec.image", e);
    }
    let Some(template) = template else { return };
    if let Some(sa) = &template.service_account_name
        && let Err(e) = syntax::dns_subdomain(sa)
    {
        review.violation("spec.template.serviceAccountName", e);
    }
    if let Some(pc) = &template.priority_class_name
        && let Err(e) = syntax::dns_subdomain(pc)
    {
        review.violation("spec.template.priorityClassName", e);
    }
    for (i, var) in template.env.iter().flatten().enumerate() {
        if let Err(e) = syntax::env_name(&var.name) {
            review.violation(format!("spec.template.env[{i}].name"), e);
        }
    }
    for (i, secret) in template.image_pull_secrets.iter().flatten().enumerate() {
        if let Err(e) = syntax::dns_subdomain(&secret.name) {
            review.violation(format!("spec.template.imagePullSecrets[{i}].name"), e);
        }
    }
    // The operator finds and cleans up its pods by these labels (R4, R6); a user's copy
    // would make a pod look like the operator's, or the operator's like a user's.
    for key in template.labels.iter().flatten().map(|(k, _)| k) {
        let reserved = key
            .split_once('/')
            .is_some_and(|(prefix, _)| prefix == crate::constants::API_GROUP)
            || key == crate::controller::names::LABEL_MANAGED_BY;
        if reserved {
            review.violation(
                format!("spec.template.labels[{key}]"),
                "this label is set by the operator on the pods it makes; remove it from the template",
            );
        }
    }
}

#[cfg(test)]
mod tests;
