//! What decides what a restore writes, recorded in its report so that a new attempt
//! under other settings is refused instead of silently starting over (R5).
//!
//! kafka-backup-core resumes a checkpoint only when a hash of its restore options is
//! unchanged; otherwise it starts from the beginning, writing again every record restored
//! so far (and purging again with `purgeTopics`). The settings recorded here hold every
//! option the library hashes, as the library serializes them, plus the backup read, the
//! target cluster and the topic patterns, so any change the library would restart on
//! changes the fingerprint too. Pure.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::config::{StorageLocation, WorkerConfig};

/// The settings of one attempt and their fingerprint.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Settings {
    /// SHA-256 of `values`, in hex.
    pub fingerprint: String,
    /// The settings themselves, with sorted keys, to say what changed.
    pub values: Value,
}

impl Settings {
    /// The settings of a restore: `config` as configured (topic patterns before they are
    /// matched against the backup, which grows) and the library's configuration of it.
    pub fn of(config: &WorkerConfig, core: &kafka_backup_core::Config) -> Self {
        let backup = match &config.storage {
            StorageLocation::S3 { bucket, prefix, .. } => {
                json!({"bucket": bucket, "prefix": prefix})
            }
            StorageLocation::Azure {
                account,
                container,
                prefix,
                ..
            } => json!({"account": account, "container": container, "prefix": prefix}),
            StorageLocation::Gcs { bucket, prefix, .. } => {
                json!({"bucket": bucket, "prefix": prefix})
            }
            StorageLocation::Filesystem { path } => json!({"path": path}),
        };
        let mut values = json!({
            "backup": {"id": config.backup_id, "storage": backup},
            "target": core.target.as_ref().map(|t| &t.bootstrap_servers),
            "topics": {"include": config.topics.include, "exclude": config.topics.exclude},
            "restore": serde_json::to_value(&core.restore).unwrap_or(Value::Null),
            "consumerGroups": config.restore.as_ref().and_then(|r| r.consumer_groups.as_ref()),
        });
        values.sort_all_objects();
        let digest = Sha256::digest(serde_json::to_vec(&values).unwrap_or_default());
        Self {
            fingerprint: digest.iter().map(|b| format!("{b:02x}")).collect(),
            values,
        }
    }
}

/// What differs between the recorded settings and these, one `field: old -> new` each.
pub fn changes(recorded: &Value, current: &Value) -> Vec<String> {
    json_patch::diff(recorded, current)
        .0
        .iter()
        .map(|operation| {
            let path = operation.path().to_string();
            let field = path.trim_start_matches('/').replace('/', ".");
            let was = recorded.pointer(&path).map_or("(none)".into(), show);
            let now = current.pointer(&path).map_or("(none)".into(), show);
            format!("{field}: {was} -> {now}")
        })
        .collect()
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::config::{KafkaEndpoint, RestoreOptions};
    use crate::worker::engine_config::restore_config;

    fn config() -> WorkerConfig {
        WorkerConfig {
            kafka: KafkaEndpoint {
                bootstrap_servers: "kafka:9092".into(),
                tls: None,
                sasl: None,
                connection: None,
            },
            storage: StorageLocation::S3 {
                bucket: "backups".into(),
                region: None,
                prefix: Some("team-a".into()),
                endpoint: Some("http://127.0.0.1:9000".into()),
                path_style: true,
                allow_http: false,
                credentials_file: None,
            },
            backup_id: "daily".into(),
            topics: crate::api::TopicSelector {
                include: vec!["orders".into()],
                exclude: vec![],
            },
            backup: None,
            restore: Some(RestoreOptions {
                report_dir: "/reports".into(),
                ..Default::default()
            }),
            metrics: None,
        }
    }

    fn settings(config: &WorkerConfig) -> Settings {
        Settings::of(config, &restore_config(config, &|_| None).unwrap())
    }

    #[test]
    fn the_same_settings_give_the_same_fingerprint() {
        let a = settings(&config());
        assert_eq!(a, settings(&config()));
        assert_eq!(a.fingerprint.len(), 64);
        assert!(changes(&a.values, &a.values).is_empty());
    }

    /// Each of these makes the library start over, or changes what is written.
    #[test]
    fn every_setting_that_decides_what_is_written_changes_the_fingerprint() {
        let base = settings(&config());
        let mut batch = config();
        batch.restore.as_mut().unwrap().produce_batch_size = Some(500);
        let mut mapped = config();
        mapped.restore.as_mut().unwrap().topic_mapping =
            [("orders".to_string(), "orders-copy".to_string())].into();
        let mut purged = config();
        purged.restore.as_mut().unwrap().purge_topics = true;
        let mut windowed = config();
        windowed.restore.as_mut().unwrap().from = Some("2026-01-01T00:00:00Z".into());
        let mut other_target = config();
        other_target.kafka.bootstrap_servers = "other:9092".into();
        let mut other_backup = config();
        other_backup.backup_id = "weekly".into();
        let mut other_bucket = config();
        if let StorageLocation::S3 { bucket, .. } = &mut other_bucket.storage {
            *bucket = "elsewhere".into();
        }
        let mut other_topics = config();
        other_topics.topics.include.push("payments".into());
        let mut grouped = config();
        grouped.restore.as_mut().unwrap().consumer_groups =
            Some(crate::worker::config::ConsumerGroupOptions {
                auto: true,
                ..Default::default()
            });
        let mut moved_report = config();
        moved_report.restore.as_mut().unwrap().report_dir = "/elsewhere".into();

        let cases = [
            ("restore.produce_batch_size: 1000 -> 500", settings(&batch)),
            (
                "restore.topic_mapping.orders: (none) -> orders-copy",
                settings(&mapped),
            ),
            ("restore.purge_topics: false -> true", settings(&purged)),
            (
                "restore.time_window_start: null -> 1767225600000",
                settings(&windowed),
            ),
            (
                "target.0: kafka:9092 -> other:9092",
                settings(&other_target),
            ),
            ("backup.id: daily -> weekly", settings(&other_backup)),
            (
                "backup.storage.bucket: backups -> elsewhere",
                settings(&other_bucket),
            ),
            (
                "topics.include.1: (none) -> payments",
                settings(&other_topics),
            ),
            (
                "consumerGroups: null -> {\"auto\":true}",
                settings(&grouped),
            ),
            (
                "restore.checkpoint_state: /reports/checkpoint.json -> /elsewhere/checkpoint.json",
                settings(&moved_report),
            ),
        ];
        for (said, changed) in cases {
            assert_ne!(changed.fingerprint, base.fingerprint, "{said}");
            assert_eq!(changes(&base.values, &changed.values), [said]);
        }
    }

    /// How the store is reached is not what is restored: a moved endpoint resumes.
    #[test]
    fn the_way_to_the_store_is_not_part_of_it() {
        let base = settings(&config());
        let mut moved = config();
        if let StorageLocation::S3 { endpoint, .. } = &mut moved.storage {
            *endpoint = Some("https://s3.example".into());
        }
        assert_eq!(settings(&moved), base);
    }
}
