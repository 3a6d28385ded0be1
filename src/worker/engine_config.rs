//! Translates our worker configuration into kafka-backup-core's `Config`, the library
//! that does the Kafka work. Pure but for reading an S3 credentials file: the
//! environment is passed in as a lookup function.

use std::path::Path;

use kafka_backup_core::config::{
    BackupOptions as CoreBackup, CompressionType, ConnectionConfig, KafkaConfig, MetricsConfig,
    Mode, OffsetStorageConfig, OffsetStrategy, RepartitioningStrategy, RestoreCheckpointStorage,
    RestoreOptions as CoreRestore, SaslMechanism, SecurityConfig, SecurityProtocol, StartOffset,
    TopicRepartitioning, TopicSelection,
};
use kafka_backup_core::storage::StorageBackendConfig;

use super::config::{BackupOptions, StorageLocation, WorkerConfig};

/// File name of the library's restore checkpoint, beside our report.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";

/// The worker's own defaults where they differ from the library's: a segment of
/// 16 MiB bounds a backup's memory (the library's is 128 MiB).
pub const DEFAULT_SEGMENT_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Why a configuration cannot be run, in words a person can act on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "kafka.sasl.passwordEnv: the environment variable {0} is not set; it must hold the SASL password (from a Secret)"
    )]
    MissingPassword(String),
    #[error("kafka.bootstrapServers: no broker given; list host:port pairs separated by commas")]
    NoBrokers,
    #[error(
        "kafka.sasl.mechanism: '{0}' is not supported; use SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN"
    )]
    Mechanism(String),
    #[error("restore.{field}: '{value}' is not an RFC 3339 time such as 2026-01-31T00:00:00Z")]
    Time { field: &'static str, value: String },
    #[error(
        "topics: '{0}' uses regular-expression or character-class syntax, which must be matched before the library runs"
    )]
    UnsupportedPattern(String),
    #[error("topics: '{pattern}' is not a valid pattern: {reason}")]
    BadPattern { pattern: String, reason: String },
    #[error("topics: no topic matches {0}")]
    NothingMatches(String),
    #[error("this configuration has no 'restore' section; it is for a backup")]
    NotARestore,
    #[error("{field}: '{value}' is not one of {allowed}")]
    Choice {
        field: &'static str,
        value: String,
        allowed: &'static str,
    },
    #[error(
        "storage: the environment variable {0} named in the configuration is not set; it must hold a credential (from a Secret)"
    )]
    MissingCredential(String),
    #[error("storage.credentialsFile {path}: {reason}")]
    CredentialsFile { path: String, reason: String },
}

fn choice<T>(
    field: &'static str,
    value: &str,
    allowed: &'static str,
    pick: impl Fn(&str) -> Option<T>,
) -> Result<T, ConfigError> {
    pick(&value.to_ascii_lowercase()).ok_or_else(|| ConfigError::Choice {
        field,
        value: value.to_string(),
        allowed,
    })
}

/// The library's backup options from ours.
fn core_backup(options: &BackupOptions) -> Result<CoreBackup, ConfigError> {
    let defaults = CoreBackup::default();
    let compression = match &options.compression {
        None => CompressionType::Zstd,
        Some(c) => choice("backup.compression", c, "zstd, lz4, none", |c| match c {
            "zstd" => Some(CompressionType::Zstd),
            "lz4" => Some(CompressionType::Lz4),
            "none" => Some(CompressionType::None),
            _ => None,
        })?,
    };
    let start_offset = match &options.start_offset {
        None => StartOffset::Earliest,
        Some(s) => choice("backup.startOffset", s, "earliest, latest", |s| match s {
            "earliest" => Some(StartOffset::Earliest),
            "latest" => Some(StartOffset::Latest),
            _ => None,
        })?,
    };
    Ok(CoreBackup {
        // One-shot Job semantics: stop at the offsets current when the run began.
        stop_at_current_offsets: true,
        continuous: false,
        // A verbatim archive unless offset headers are asked for.
        include_offset_headers: options.include_offset_headers,
        source_cluster_id: options.source_cluster_id.clone(),
        compression,
        compression_level: options
            .compression_level
            .unwrap_or(defaults.compression_level),
        segment_max_bytes: options
            .segment_max_bytes
            .unwrap_or(DEFAULT_SEGMENT_MAX_BYTES),
        segment_max_interval_ms: options
            .segment_max_interval_ms
            .unwrap_or(defaults.segment_max_interval_ms),
        max_concurrent_partitions: options
            .parallelism
            .unwrap_or(defaults.max_concurrent_partitions),
        start_offset,
        include_internal_topics: options.include_internal_topics,
        internal_topics: if options.internal_topics.is_empty() {
            defaults.internal_topics.clone()
        } else {
            options.internal_topics.clone()
        },
        checkpoint_interval_secs: options
            .checkpoint_interval_secs
            .unwrap_or(defaults.checkpoint_interval_secs),
        sync_interval_secs: options
            .sync_interval_secs
            .unwrap_or(defaults.sync_interval_secs),
        consumer_group_snapshot: options.consumer_group_snapshot,
        // Retention runs in the worker after the library, where restores can hold it.
        retention: None,
        ..defaults
    })
}

/// The library configuration of a backup.
pub fn backup_config(
    config: &WorkerConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<kafka_backup_core::Config, ConfigError> {
    let options = config.backup.clone().unwrap_or_default();
    Ok(kafka_backup_core::Config {
        mode: Mode::Backup,
        backup_id: config.backup_id.clone(),
        source: Some(kafka(config, env)?),
        target: None,
        storage: storage(&config.storage, env)?,
        backup: Some(core_backup(&options)?),
        restore: None,
        offset_storage: options
            .offset_storage
            .as_ref()
            .map(|o| OffsetStorageConfig {
                db_path: o
                    .db_path
                    .clone()
                    .map(Into::into)
                    .unwrap_or_else(|| std::env::temp_dir().join("offsets.db")),
                sync_interval_secs: o.sync_interval_secs,
                ..OffsetStorageConfig::default()
            }),
        metrics: metrics(config),
    })
}

fn metrics(config: &WorkerConfig) -> Option<MetricsConfig> {
    config.metrics.as_ref().map(|m| {
        let mut core = MetricsConfig::default();
        core.enabled = true;
        if let Some(port) = m.port {
            core.port = port;
        }
        if let Some(address) = &m.bind_address {
            core.bind_address = address.clone();
        }
        if let Some(path) = &m.path {
            core.path = path.clone();
        }
        if let Some(seconds) = m.keep_alive_seconds {
            core.keep_alive_seconds = seconds;
        }
        if let Some(ms) = m.update_interval_ms {
            core.update_interval_ms = ms;
        }
        if let Some(labels) = m.max_partition_labels {
            core.max_partition_labels = labels as usize;
        }
        core
    })
}

/// The library configuration of a restore. Everything in it is the same on every
/// attempt, so the checkpoint written by one attempt is resumed by the next (the
/// library ties a checkpoint to a hash of these options).
pub fn restore_config(
    config: &WorkerConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<kafka_backup_core::Config, ConfigError> {
    let options = config.restore.as_ref().ok_or(ConfigError::NotARestore)?;
    let millis =
        |field: &'static str, value: &Option<String>| -> Result<Option<i64>, ConfigError> {
            value
                .as_deref()
                .map(|v| {
                    v.parse::<jiff::Timestamp>()
                        .map(|t| t.as_millisecond())
                        .map_err(|_| ConfigError::Time {
                            field,
                            value: v.to_string(),
                        })
                })
                .transpose()
        };
    let defaults = CoreRestore::default();
    let repartitioning = options
        .repartitioning
        .iter()
        .map(|(topic, r)| {
            let strategy = match &r.strategy {
                None => RepartitioningStrategy::Murmur2,
                Some(s) => choice(
                    "restore.repartitioning.strategy",
                    s,
                    "murmur2, automatic",
                    |s| match s {
                        "murmur2" => Some(RepartitioningStrategy::Murmur2),
                        "automatic" => Some(RepartitioningStrategy::Automatic),
                        _ => None,
                    },
                )?,
            };
            Ok((
                topic.clone(),
                TopicRepartitioning {
                    strategy,
                    target_partitions: r.target_partitions,
                },
            ))
        })
        .collect::<Result<_, ConfigError>>()?;
    let restore = CoreRestore {
        time_window_start: millis("from", &options.from)?,
        // Our window ends before `to`; the library's end is inclusive.
        time_window_end: millis("to", &options.to)?.map(|end| end - 1),
        topic_mapping: options.topic_mapping.clone().into_iter().collect(),
        source_partitions: (!options.source_partitions.is_empty())
            .then(|| options.source_partitions.clone()),
        partition_mapping: options.partition_mapping.clone().into_iter().collect(),
        repartitioning,
        dry_run: options.dry_run,
        // The library purges only when no checkpoint with progress exists, so a
        // resumed attempt never wipes what an earlier one restored.
        purge_topics: options.purge_topics,
        // Records whose archive carries offset headers are restored without them,
        // unless the source offsets are asked for as headers.
        strip_offset_headers: !options.include_original_offset_header,
        include_original_offset_header: options.include_original_offset_header,
        create_topics: options.create_topics,
        // Created topics get the backup's topic configuration too.
        restore_topic_configs: options.create_topics,
        default_replication_factor: options.default_replication_factor,
        checkpoint_state: Some(Path::new(&options.report_dir).join(CHECKPOINT_FILE)),
        checkpoint_storage: RestoreCheckpointStorage::Local,
        checkpoint_interval_secs: options.checkpoint_interval_secs.unwrap_or(1),
        produce_batch_size: options
            .produce_batch_size
            .unwrap_or(defaults.produce_batch_size),
        produce_acks: options.produce_acks.unwrap_or(defaults.produce_acks),
        // An idempotent producer needs acks=all; with fewer acks there is none.
        idempotent_producer: options.produce_acks.unwrap_or(-1) == -1,
        max_concurrent_partitions: options
            .parallelism
            .unwrap_or(defaults.max_concurrent_partitions),
        rate_limit_records_per_sec: options.rate_limit_records_per_sec,
        rate_limit_bytes_per_sec: options.rate_limit_bytes_per_sec,
        produce_timeout_ms: options
            .produce_timeout_ms
            .map_or(defaults.produce_timeout_ms, |ms| {
                i32::try_from(ms).unwrap_or(i32::MAX)
            }),
        // Consumer offsets are set by the worker once the records are written (see
        // `worker::groups`), from the backup's snapshot and the offsets this restore
        // wrote, so the library's own group handling stays off.
        consumer_group_strategy: OffsetStrategy::Skip,
        ..defaults
    };
    Ok(kafka_backup_core::Config {
        mode: Mode::Restore,
        backup_id: config.backup_id.clone(),
        source: None,
        target: Some(kafka(config, env)?),
        storage: storage(&config.storage, env)?,
        backup: None,
        restore: Some(restore),
        offset_storage: None,
        metrics: metrics(config),
    })
}

/// Whether the library can match a pattern itself: a literal or a `*`/`?` glob.
pub fn library_matches(pattern: &str) -> bool {
    !(pattern.starts_with('~') || pattern.contains(['[', ']', '{', '}', '!', '\\']))
}

fn library_pattern(pattern: &str) -> Result<String, ConfigError> {
    if !library_matches(pattern) {
        return Err(ConfigError::UnsupportedPattern(pattern.to_string()));
    }
    Ok(pattern.to_string())
}

/// One of our patterns, compiled: a glob, or a regular expression after `~`.
enum Matcher {
    Glob(globset::GlobMatcher),
    Regex(regex::Regex),
}

fn compile(pattern: &str) -> Result<Matcher, ConfigError> {
    let bad = |reason: String| ConfigError::BadPattern {
        pattern: pattern.to_string(),
        reason,
    };
    match pattern.strip_prefix('~') {
        Some(expr) => regex::Regex::new(expr)
            .map(Matcher::Regex)
            .map_err(|e| bad(e.to_string())),
        None => globset::Glob::new(pattern)
            .map(|g| Matcher::Glob(g.compile_matcher()))
            .map_err(|e| bad(e.to_string())),
    }
}

impl Matcher {
    fn is_match(&self, topic: &str) -> bool {
        match self {
            Matcher::Glob(glob) => glob.is_match(topic),
            Matcher::Regex(regex) => regex.is_match(topic),
        }
    }
}

/// The topics of `available` a selector picks, by name: how patterns the library cannot
/// match (regular expressions, character classes) become a literal list. Internal topics
/// (`__consumer_offsets`, ...) are never picked by a pattern.
pub fn select_topics(
    selector: &crate::api::TopicSelector,
    available: &[String],
) -> Result<Vec<String>, ConfigError> {
    let include = selector
        .include
        .iter()
        .map(|p| compile(p))
        .collect::<Result<Vec<_>, _>>()?;
    let exclude = selector
        .exclude
        .iter()
        .map(|p| compile(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut picked: Vec<String> = available
        .iter()
        .filter(|t| !t.starts_with("__"))
        .filter(|t| include.iter().any(|m| m.is_match(t)) && !exclude.iter().any(|m| m.is_match(t)))
        .cloned()
        .collect();
    picked.sort();
    picked.dedup();
    if picked.is_empty() {
        return Err(ConfigError::NothingMatches(selector.include.join(", ")));
    }
    Ok(picked)
}

fn kafka(
    config: &WorkerConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<KafkaConfig, ConfigError> {
    let endpoint = &config.kafka;
    let brokers: Vec<String> = endpoint
        .bootstrap_servers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if brokers.is_empty() {
        return Err(ConfigError::NoBrokers);
    }
    let tls = endpoint.tls.as_ref();
    let mut security = SecurityConfig {
        security_protocol: match (tls.is_some(), endpoint.sasl.is_some()) {
            (false, false) => SecurityProtocol::Plaintext,
            (true, false) => SecurityProtocol::Ssl,
            (false, true) => SecurityProtocol::SaslPlaintext,
            (true, true) => SecurityProtocol::SaslSsl,
        },
        ssl_ca_location: tls.and_then(|t| t.ca_file.clone()).map(Into::into),
        ssl_certificate_location: tls.and_then(|t| t.cert_file.clone()).map(Into::into),
        ssl_key_location: tls.and_then(|t| t.key_file.clone()).map(Into::into),
        ..SecurityConfig::default()
    };
    if let Some(sasl) = &endpoint.sasl {
        security.sasl_mechanism = Some(match sasl.mechanism.to_ascii_uppercase().as_str() {
            "SCRAM-SHA-512" => SaslMechanism::ScramSha512,
            "SCRAM-SHA-256" => SaslMechanism::ScramSha256,
            "PLAIN" => SaslMechanism::Plain,
            other => return Err(ConfigError::Mechanism(other.to_string())),
        });
        security.sasl_username = Some(sasl.username.clone());
        security.sasl_password = Some(
            env(&sasl.password_env)
                .ok_or_else(|| ConfigError::MissingPassword(sasl.password_env.clone()))?,
        );
    }
    let topics = TopicSelection {
        include: config
            .topics
            .include
            .iter()
            .map(|p| library_pattern(p))
            .collect::<Result<_, _>>()?,
        exclude: config
            .topics
            .exclude
            .iter()
            .map(|p| library_pattern(p))
            .collect::<Result<_, _>>()?,
    };
    let mut connection = ConnectionConfig::default();
    if let Some(c) = &endpoint.connection {
        if let Some(v) = c.tcp_keepalive {
            connection.tcp_keepalive = v;
        }
        if let Some(v) = c.keepalive_time_secs {
            connection.keepalive_time_secs = v;
        }
        if let Some(v) = c.keepalive_interval_secs {
            connection.keepalive_interval_secs = v;
        }
        if let Some(v) = c.tcp_nodelay {
            connection.tcp_nodelay = v;
        }
        if let Some(v) = c.connections_per_broker {
            connection.connections_per_broker = v as usize;
        }
    }
    Ok(KafkaConfig {
        bootstrap_servers: brokers,
        security,
        topics,
        connection,
    })
}

/// The library's storage configuration of a location. Secrets are read from the
/// environment variables the configuration names; S3 keys from the usual AWS ones.
pub fn storage(
    location: &StorageLocation,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<StorageBackendConfig, ConfigError> {
    let secret = |name: &Option<String>| -> Result<Option<String>, ConfigError> {
        name.as_ref()
            .map(|n| env(n).ok_or_else(|| ConfigError::MissingCredential(n.clone())))
            .transpose()
    };
    Ok(match location {
        StorageLocation::S3 {
            bucket,
            region,
            prefix,
            endpoint,
            path_style,
            allow_http,
            credentials_file,
        } => {
            // Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (read by
            // the S3 client itself), a shared credentials file they override, or the
            // pod's identity; never from the configuration file.
            let (access_key, secret_key) = match credentials_file {
                Some(path) if env(super::config::ENV_S3_ACCESS_KEY_ID).is_none() => {
                    let keys = s3_credentials_file(path, env)?;
                    (Some(keys.access_key_id), Some(keys.secret_access_key))
                }
                _ => (None, None),
            };
            StorageBackendConfig::S3 {
                bucket: bucket.clone(),
                region: region.clone(),
                endpoint: endpoint.clone(),
                access_key,
                secret_key,
                prefix: prefix.clone(),
                path_style: *path_style,
                allow_http: *allow_http
                    || endpoint
                        .as_deref()
                        .is_some_and(|e| e.starts_with("http://")),
            }
        }
        StorageLocation::Azure {
            account,
            container,
            prefix,
            endpoint,
            account_key_env,
            sas_token_env,
            client_id,
            tenant_id,
            client_secret_env,
            use_workload_identity,
        } => StorageBackendConfig::Azure {
            account_name: account.clone(),
            container_name: container.clone(),
            account_key: secret(account_key_env)?,
            prefix: prefix.clone(),
            endpoint: endpoint.clone(),
            use_workload_identity: use_workload_identity.then_some(true),
            client_id: client_id.clone(),
            tenant_id: tenant_id.clone(),
            client_secret: secret(client_secret_env)?,
            sas_token: secret(sas_token_env)?,
            use_emulator: false,
            allow_http: endpoint
                .as_deref()
                .is_some_and(|e| e.starts_with("http://")),
        },
        StorageLocation::Gcs {
            bucket,
            prefix,
            service_account_file,
        } => StorageBackendConfig::Gcs {
            bucket: bucket.clone(),
            service_account_path: service_account_file.clone(),
            prefix: prefix.clone(),
        },
        StorageLocation::Filesystem { path } => {
            StorageBackendConfig::Filesystem { path: path.into() }
        }
    })
}

/// The access key pair of an AWS shared credentials file.
#[derive(Debug, PartialEq, Eq)]
pub struct S3Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// Reads the keys of an AWS shared credentials file: the profile named by
/// `AWS_PROFILE`, else `default`, else the file's only profile. Temporary credentials
/// (`aws_session_token`) are refused: the S3 client takes a session token only from
/// `AWS_SESSION_TOKEN`, and one in a Secret expires within hours anyway.
fn s3_credentials_file(
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<S3Keys, ConfigError> {
    let fail = |reason: String| ConfigError::CredentialsFile {
        path: path.to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    parse_s3_credentials(&text, env("AWS_PROFILE").as_deref()).map_err(fail)
}

/// [`s3_credentials_file`] on the file's text.
pub fn parse_s3_credentials(text: &str, profile: Option<&str>) -> Result<S3Keys, String> {
    let ini = ini::Ini::load_from_str(text)
        .map_err(|e| format!("not an AWS shared credentials file: {e}"))?;
    let profiles: Vec<&str> = ini.sections().flatten().collect();
    let name = match profile {
        Some(name) => name,
        None if profiles.contains(&"default") => "default",
        None if profiles.len() == 1 => profiles[0],
        None => {
            return Err(format!(
                "has the profiles {} and no 'default'; name one in AWS_PROFILE (spec.env)",
                profiles.join(", ")
            ));
        }
    };
    let section = ini
        .section(Some(name))
        .ok_or_else(|| format!("has no profile '{name}' (it has: {})", profiles.join(", ")))?;
    if section.contains_key("aws_session_token") {
        return Err(format!(
            "profile '{name}' holds temporary credentials (aws_session_token), which expire; give long-lived keys or use the pod's identity (IAM role for its service account)"
        ));
    }
    let key = |k: &str| {
        section
            .get(k)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("profile '{name}' has no {k}"))
    };
    Ok(S3Keys {
        access_key_id: key("aws_access_key_id")?,
        secret_access_key: key("aws_secret_access_key")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::TopicSelector;
    use crate::worker::config::{KafkaEndpoint, RestoreOptions, Sasl, TlsFiles};

    fn config() -> WorkerConfig {
        WorkerConfig {
            kafka: KafkaEndpoint {
                bootstrap_servers: "a:9092, b:9092".into(),
                tls: None,
                sasl: None,
                connection: None,
            },
            storage: StorageLocation::Filesystem {
                path: "/var/lib/kafka-backup/storage".into(),
            },
            backup_id: "daily-backup".into(),
            topics: TopicSelector {
                include: vec!["orders-*".into()],
                exclude: vec!["orders-tmp".into()],
            },
            backup: None,
            restore: None,
            metrics: None,
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn backups_are_one_shot_verbatim_and_bounded() {
        let core = backup_config(&config(), &no_env).unwrap();
        let backup = core.backup.unwrap();
        assert!(backup.stop_at_current_offsets);
        assert!(!backup.include_offset_headers);
        assert_eq!(backup.segment_max_bytes, 16 * 1024 * 1024);
        let source = core.source.unwrap();
        assert_eq!(source.bootstrap_servers, vec!["a:9092", "b:9092"]);
        assert_eq!(source.topics.include, vec!["orders-*"]);
        assert_eq!(
            source.security.security_protocol,
            SecurityProtocol::Plaintext
        );
    }

    #[test]
    fn restores_checkpoint_beside_the_report_and_read_the_window() {
        let mut cfg = config();
        cfg.restore = Some(RestoreOptions {
            from: Some("2026-01-01T00:00:00Z".into()),
            to: Some("2026-01-02T00:00:00Z".into()),
            report_dir: "/reports".into(),
            topic_mapping: [("orders".to_string(), "orders-copy".to_string())].into(),
            ..Default::default()
        });
        let core = restore_config(&cfg, &no_env).unwrap();
        let restore = core.restore.unwrap();
        assert_eq!(
            restore.checkpoint_state.as_deref(),
            Some(Path::new("/reports/checkpoint.json"))
        );
        assert_eq!(restore.time_window_start, Some(1_767_225_600_000));
        assert_eq!(
            restore.time_window_end,
            Some(1_767_312_000_000 - 1),
            "the window ends before `to`"
        );
        assert_eq!(restore.topic_mapping["orders"], "orders-copy");
        assert!(restore.strip_offset_headers);
    }

    #[test]
    fn rate_limits_and_the_produce_timeout_reach_the_library() {
        let mut cfg = config();
        cfg.restore = Some(RestoreOptions {
            report_dir: "/reports".into(),
            ..Default::default()
        });
        let unlimited = restore_config(&cfg, &no_env).unwrap().restore.unwrap();
        assert_eq!(unlimited.rate_limit_records_per_sec, None);
        assert_eq!(unlimited.rate_limit_bytes_per_sec, None);
        cfg.restore = Some(RestoreOptions {
            report_dir: "/reports".into(),
            rate_limit_records_per_sec: Some(2_000),
            rate_limit_bytes_per_sec: Some(1 << 20),
            ..Default::default()
        });
        let limited = restore_config(&cfg, &no_env).unwrap().restore.unwrap();
        assert_eq!(limited.rate_limit_records_per_sec, Some(2_000));
        assert_eq!(limited.rate_limit_bytes_per_sec, Some(1 << 20));
        assert_eq!(
            unlimited.produce_timeout_ms, 30_000,
            "the library's default"
        );
        cfg.restore.as_mut().unwrap().produce_timeout_ms = Some(2_000);
        let short = restore_config(&cfg, &no_env).unwrap().restore.unwrap();
        assert_eq!(short.produce_timeout_ms, 2_000);
    }

    #[test]
    fn the_restore_options_are_the_same_on_every_attempt() {
        let mut cfg = config();
        cfg.restore = Some(RestoreOptions {
            purge_topics: true,
            report_dir: "/reports".into(),
            ..Default::default()
        });
        let first = serde_json::to_value(restore_config(&cfg, &no_env).unwrap().restore).unwrap();
        let second = serde_json::to_value(restore_config(&cfg, &no_env).unwrap().restore).unwrap();
        assert_eq!(first, second);
    }

    #[test]
    fn sasl_password_comes_from_the_environment() {
        let mut cfg = config();
        cfg.kafka.tls = Some(TlsFiles {
            ca_file: Some("/ca/ca.crt".into()),
            ..Default::default()
        });
        cfg.kafka.sasl = Some(Sasl {
            mechanism: "SCRAM-SHA-512".into(),
            username: "backup".into(),
            password_env: "KAFKA_SASL_PASSWORD".into(),
        });
        assert_eq!(
            backup_config(&cfg, &no_env).unwrap_err(),
            ConfigError::MissingPassword("KAFKA_SASL_PASSWORD".into())
        );
        let env = |name: &str| (name == "KAFKA_SASL_PASSWORD").then(|| "s3cret".to_string());
        let security = backup_config(&cfg, &env).unwrap().source.unwrap().security;
        assert_eq!(security.security_protocol, SecurityProtocol::SaslSsl);
        assert_eq!(security.sasl_password.as_deref(), Some("s3cret"));
        assert_eq!(
            security.ssl_ca_location.as_deref(),
            Some(Path::new("/ca/ca.crt"))
        );
    }

    #[test]
    fn bad_input_is_named() {
        let mut cfg = config();
        cfg.kafka.bootstrap_servers = " , ".into();
        assert_eq!(
            backup_config(&cfg, &no_env).unwrap_err(),
            ConfigError::NoBrokers
        );
        let mut cfg = config();
        cfg.topics.include = vec!["~^orders$".into()];
        assert!(matches!(
            backup_config(&cfg, &no_env),
            Err(ConfigError::UnsupportedPattern(_))
        ));
        let mut cfg = config();
        cfg.restore = Some(RestoreOptions {
            from: Some("yesterday".into()),
            report_dir: "/r".into(),
            ..Default::default()
        });
        assert!(matches!(
            restore_config(&cfg, &no_env),
            Err(ConfigError::Time { field: "from", .. })
        ));
        assert_eq!(
            restore_config(&config(), &no_env).unwrap_err(),
            ConfigError::NotARestore
        );
    }

    #[test]
    fn regex_and_class_patterns_become_a_literal_list() {
        let available: Vec<String> = [
            "orders-1",
            "orders-22",
            "payments.v2",
            "audit",
            "__consumer_offsets",
        ]
        .map(String::from)
        .to_vec();
        let selector = TopicSelector {
            include: vec![
                "~^orders-[0-9]$".into(),
                "payments.v[0-9]".into(),
                "*consumer*".into(),
            ],
            exclude: vec![],
        };
        assert_eq!(
            select_topics(&selector, &available).unwrap(),
            vec!["orders-1", "payments.v2"]
        );
        let excluded = TopicSelector {
            include: vec!["*".into()],
            exclude: vec!["~^orders".into()],
        };
        assert_eq!(
            select_topics(&excluded, &available).unwrap(),
            vec!["audit", "payments.v2"]
        );
        let none = TopicSelector {
            include: vec!["~^nothing$".into()],
            exclude: vec![],
        };
        assert!(matches!(
            select_topics(&none, &available),
            Err(ConfigError::NothingMatches(_))
        ));
        assert!(
            library_matches("orders-*") && !library_matches("~x") && !library_matches("a[0-9]")
        );
    }

    #[test]
    fn a_shared_credentials_file_gives_the_keys_of_one_profile() {
        let file = "# keys\n[ci]\naws_access_key_id = CI\naws_secret_access_key = ci-secret\n\n[default]\naws_access_key_id=DEF\naws_secret_access_key = def-secret\nregion = us-east-1\n";
        let keys = |profile| parse_s3_credentials(file, profile);
        assert_eq!(
            keys(None),
            Ok(S3Keys {
                access_key_id: "DEF".into(),
                secret_access_key: "def-secret".into()
            })
        );
        assert_eq!(keys(Some("ci")).unwrap().access_key_id, "CI");
        assert!(
            keys(Some("prod"))
                .unwrap_err()
                .contains("no profile 'prod'")
        );
        let only = "[archive]\naws_access_key_id = A\naws_secret_access_key = s\n";
        assert_eq!(
            parse_s3_credentials(only, None).unwrap().access_key_id,
            "A",
            "the only profile"
        );
        let two = "[a]\naws_access_key_id = A\n[b]\naws_access_key_id = B\n";
        let err = parse_s3_credentials(two, None).unwrap_err();
        assert!(err.contains("AWS_PROFILE") && err.contains("a, b"), "{err}");
        let half = "[default]\naws_access_key_id = A\n";
        assert!(
            parse_s3_credentials(half, None)
                .unwrap_err()
                .contains("no aws_secret_access_key")
        );
        let temporary =
            "[default]\naws_access_key_id = A\naws_secret_access_key = s\naws_session_token = t\n";
        assert!(
            parse_s3_credentials(temporary, None)
                .unwrap_err()
                .contains("temporary credentials")
        );
    }

    fn s3_with_credentials_file(path: &str) -> StorageLocation {
        StorageLocation::S3 {
            bucket: "b".into(),
            region: None,
            prefix: None,
            endpoint: None,
            path_style: false,
            allow_http: false,
            credentials_file: Some(path.into()),
        }
    }

    #[test]
    fn the_key_variables_override_a_credentials_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        std::fs::write(
            &path,
            "[default]\naws_access_key_id = FILE\naws_secret_access_key = file-secret\n",
        )
        .unwrap();
        let location = s3_with_credentials_file(&path.display().to_string());
        let keys = |env: &dyn Fn(&str) -> Option<String>| match storage(&location, env).unwrap() {
            StorageBackendConfig::S3 {
                access_key,
                secret_key,
                ..
            } => (access_key, secret_key),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            keys(&no_env),
            (Some("FILE".into()), Some("file-secret".into()))
        );
        let with_keys = |name: &str| (name == "AWS_ACCESS_KEY_ID").then(|| "ENV".to_string());
        assert_eq!(
            keys(&with_keys),
            (None, None),
            "left to the S3 client, which reads the variables"
        );
        let missing = s3_with_credentials_file("/nonexistent/credentials");
        let err = storage(&missing, &no_env).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/credentials"), "{err}");
    }

    #[test]
    fn s3_credentials_never_come_from_the_file() {
        let mut cfg = config();
        cfg.storage = StorageLocation::S3 {
            bucket: "b".into(),
            region: None,
            prefix: Some("p".into()),
            endpoint: Some("http://minio:9000".into()),
            path_style: true,
            allow_http: false,
            credentials_file: None,
        };
        match backup_config(&cfg, &no_env).unwrap().storage {
            StorageBackendConfig::S3 {
                access_key,
                secret_key,
                allow_http,
                path_style,
                ..
            } => {
                assert!(access_key.is_none() && secret_key.is_none());
                assert!(allow_http && path_style);
            }
            other => panic!("{other:?}"),
        }
    }
}
