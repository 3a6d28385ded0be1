//! Validation of creates and updates of both kinds (R7). Every check runs on a
//! defaulted copy; every violation names its field and the way out. No IO.

use std::collections::BTreeMap;

use kube::ResourceExt;
use serde::Serialize;

use super::{Review, default_backup, default_restore, syntax};
use crate::api::mapping::TopicMappings;
use crate::api::{
    KafkaAuthentication, KafkaBackup, KafkaBackupSpec, KafkaConnection, KafkaRestore,
    KafkaRestoreSpec, StrimziClusterRef, TopicSelector,
};
use crate::constants::MAX_RESOURCE_NAME;

mod pod;
mod storage;
mod tuning;

use self::pod::{PodInput, check_pod};
use self::storage::check_storage;

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
    check_authentication_place(
        &mut review,
        spec.authentication.as_ref(),
        spec.kafka.as_ref(),
        spec.strimzi_cluster_ref.as_ref(),
        backup.namespace().as_deref(),
    );
    check_backoff_limit(&mut review, spec.backoff_limit);
    check_storage(&mut review, &spec.storage);
    check_topics(&mut review, spec.topics.as_ref());
    if let Some(schedule) = &spec.schedule {
        if let Err(e) = syntax::cron_expression(&schedule.cron) {
            review.violation("spec.schedule.cron", e);
        }
        for (field, zone) in [
            ("timeZone", &schedule.time_zone),
            ("timezone", &schedule.timezone),
        ] {
            if let Some(tz) = zone
                && let Err(e) = syntax::time_zone(tz)
            {
                review.violation(format!("spec.schedule.{field}"), e);
            }
        }
        if let (Some(a), Some(b)) = (&schedule.time_zone, &schedule.timezone)
            && a != b
        {
            review.violation(
                "spec.schedule.timezone",
                "and timeZone are the same setting and differ; give one of them",
            );
        }
    }
    if let Some(retention) = &spec.retention {
        tuning::check_retention(&mut review, retention);
    }
    if let Some(connection) = &spec.connection {
        tuning::check_connection(&mut review, connection);
    }
    let backup_tuning = spec.backup.clone().unwrap_or_default();
    tuning::check_backup_tuning(&mut review, &backup_tuning);
    if let Some(groups) = &spec.consumer_groups {
        tuning::check_consumer_group_selector(
            &mut review,
            groups,
            backup_tuning.consumer_group_snapshot == Some(true),
        );
    }
    if let Some(offsets) = &spec.offset_storage {
        tuning::check_offset_storage(&mut review, offsets);
    }
    check_pod(
        &mut review,
        PodInput {
            image: spec.image.as_deref(),
            template: spec.template.as_deref(),
            env: &spec.env,
            resources: spec.resources.as_ref(),
            logging: spec.logging.as_ref(),
            metrics: spec.metrics.as_ref(),
        },
    );
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
        spec.kafka.as_deref(),
    );
    check_authentication_place(
        &mut review,
        spec.authentication.as_deref(),
        spec.kafka.as_deref(),
        spec.strimzi_cluster_ref.as_ref(),
        restore.namespace().as_deref(),
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
    check_topic_mapping(&mut review, &spec.topic_mapping);
    if let Some(window) = &spec.point_in_time {
        for (ours, theirs, both) in [
            (
                "from",
                "startTimestamp",
                window.from.is_some() && window.start_timestamp.is_some(),
            ),
            (
                "to",
                "timestamp",
                window.to.is_some() && window.timestamp.is_some(),
            ),
        ] {
            if both {
                review.violation(
                    format!("spec.pointInTime.{theirs}"),
                    format!("and pointInTime.{ours} both give this end of the window; give one"),
                );
            }
        }
        let mut time = |field: &str, value: &Option<String>| {
            value.as_deref().and_then(|v| {
                syntax::rfc3339(v)
                    .map_err(|e| review.violation(format!("spec.pointInTime.{field}"), e))
                    .ok()
            })
        };
        let from = time("from", &window.from).or(time("startTimestamp", &window.start_timestamp));
        let to = time("to", &window.to);
        let at = time("timestamp", &window.timestamp);
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            review.violation(
                "spec.pointInTime",
                format!("the start ({from}) must be before to ({to})"),
            );
        }
        if let (Some(from), Some(at)) = (from, at)
            && from > at
        {
            review.violation(
                "spec.pointInTime",
                format!("the start ({from}) must not be after timestamp ({at})"),
            );
        }
        if window.offset_from_end.is_some() {
            review.violation(
                "spec.pointInTime.offsetFromEnd",
                "a window end relative to the end of the backup is not supported; give the end as pointInTime.timestamp",
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
    if let Some(connection) = &spec.connection {
        tuning::check_connection(&mut review, connection);
    }
    let restore_tuning = spec.restore.clone().unwrap_or_default();
    tuning::check_restore_tuning(&mut review, &spec, &restore_tuning);
    if let Some(groups) = &spec.consumer_groups {
        tuning::check_restore_consumer_groups(
            &mut review,
            groups,
            !restore_tuning.repartitioning.is_empty(),
        );
    }
    check_pod(
        &mut review,
        PodInput {
            image: spec.image.as_deref(),
            template: spec.template.as_deref(),
            env: &spec.env,
            resources: spec.resources.as_deref(),
            logging: spec.logging.as_deref(),
            metrics: spec.metrics.as_deref(),
        },
    );

    let dry_run = spec.effective_dry_run();
    if let Some(limit) = spec.backoff_limit
        && limit > 0
        && !dry_run
    {
        review.warning(
            "spec.backoffLimit",
            format!("is {limit}: a retried pod re-applies a partly completed restore and can duplicate records; keep 0 unless the restore is safe to repeat"),
        );
    }
    if spec.effective_purge_topics() {
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
            if let Some(namespace) = &r.namespace
                && let Err(e) = syntax::dns_label(namespace)
            {
                review.violation("spec.strimziClusterRef.namespace", e);
            }
            if let Some(ca) = &r.ca_secret {
                check_secret_key_ref(review, "spec.strimziClusterRef.caSecret", &ca.name, &ca.key);
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
}

/// `spec.authentication` or `spec.kafka.authentication`, not both; then its rules.
fn check_authentication_place(
    review: &mut Review,
    top: Option<&KafkaAuthentication>,
    kafka: Option<&KafkaConnection>,
    strimzi: Option<&StrimziClusterRef>,
    namespace: Option<&str>,
) {
    let nested = kafka.and_then(|k| k.authentication.as_ref());
    let (auth, field) = match (top, nested) {
        (Some(_), Some(_)) => {
            review.violation(
                "spec.kafka.authentication",
                "and spec.authentication are the same setting; give it once, in spec.authentication",
            );
            return;
        }
        (Some(a), None) => (a, "spec.authentication"),
        (None, Some(a)) => (a, "spec.kafka.authentication"),
        (None, None) => return,
    };
    // With a Strimzi cluster the listener decides TLS; given by address, spec.kafka.tls.
    let tls = kafka.map(|k| k.tls.is_some());
    check_authentication(review, field, auth, tls);
    if auth.kafka_user_ref.is_some()
        && let Some(other) = strimzi.and_then(|r| r.namespace.as_deref())
        && namespace.is_some_and(|own| own != other)
    {
        review.violation(
            format!("{field}.kafkaUserRef"),
            format!("the KafkaUser's Secret would be in namespace '{other}', which the worker's pod cannot mount; copy the Secret into this namespace and name it in passwordSecret or certificateAndKey"),
        );
    }
}

fn check_authentication(
    review: &mut Review,
    field: &str,
    auth: &KafkaAuthentication,
    tls: Option<bool>,
) {
    if let Some(user) = &auth.kafka_user_ref {
        if let Err(e) = syntax::dns_subdomain(&user.name) {
            review.violation(format!("{field}.kafkaUserRef.name"), e);
        }
        if auth.username.is_some()
            || auth.password_secret.is_some()
            || auth.certificate_and_key.is_some()
        {
            review.violation(
                format!("{field}.kafkaUserRef"),
                "the credentials come from the KafkaUser; remove username, passwordSecret and certificateAndKey, or kafkaUserRef",
            );
        }
        if auth.kind == crate::api::AuthenticationType::Tls && tls == Some(false) {
            review.violation(field, "type 'tls' needs spec.kafka.tls to be set");
        }
        return;
    }
    if auth.kind.is_sasl() {
        if auth.username.as_deref().unwrap_or_default().is_empty() {
            review.violation(
                format!("{field}.username"),
                "is required for SASL authentication (or name a KafkaUser in kafkaUserRef)",
            );
        }
        match &auth.password_secret {
            None => review.violation(
                format!("{field}.passwordSecret"),
                "is required for SASL authentication: name the Secret and key holding the password (or a KafkaUser in kafkaUserRef)",
            ),
            Some(s) => {
                check_secret_key_ref(review, &format!("{field}.passwordSecret"), &s.name, &s.key)
            }
        }
        if auth.certificate_and_key.is_some() {
            review.violation(
                format!("{field}.certificateAndKey"),
                "is only for type 'tls'; remove it or change the type",
            );
        }
        if tls == Some(false) {
            review.warning(
                field,
                "SASL without spec.kafka.tls sends credentials over a plaintext connection",
            );
        }
    } else {
        match &auth.certificate_and_key {
            None => review.violation(
                format!("{field}.certificateAndKey"),
                "is required for type 'tls': name the Secret holding the client certificate and key (or a KafkaUser in kafkaUserRef)",
            ),
            Some(c) => {
                if let Err(e) = syntax::dns_subdomain(&c.secret_name) {
                    review.violation(format!("{field}.certificateAndKey.secretName"), e);
                }
                for (part, key) in [("certificate", &c.certificate), ("key", &c.key)] {
                    if let Err(e) = syntax::secret_key(key) {
                        review.violation(format!("{field}.certificateAndKey.{part}"), e);
                    }
                }
            }
        }
        if tls == Some(false) {
            review.violation(field, "type 'tls' needs spec.kafka.tls to be set");
        }
        if auth.password_secret.is_some() || auth.username.is_some() {
            review.violation(
                format!("{field}.passwordSecret"),
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

fn check_topic_mapping(review: &mut Review, mapping: &TopicMappings) {
    let mut targets: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut sources = std::collections::BTreeSet::new();
    for (i, m) in mapping.iter().enumerate() {
        if let Err(e) = syntax::topic_name(&m.source_topic) {
            review.violation(format!("spec.topicMapping[{i}].sourceTopic"), e);
        }
        if let Err(e) = syntax::topic_name(&m.target_topic) {
            review.violation(format!("spec.topicMapping[{i}].targetTopic"), e);
        }
        if !sources.insert(m.source_topic.as_str()) {
            review.violation(
                format!("spec.topicMapping[{i}].sourceTopic"),
                format!(
                    "'{}' is mapped twice; a topic is restored under one name",
                    m.source_topic
                ),
            );
        }
        targets
            .entry(m.target_topic.as_str())
            .or_default()
            .push(m.source_topic.as_str());
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

#[cfg(test)]
mod tests;
