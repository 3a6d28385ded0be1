//! The command line of `backup` and `restore`: a configuration file (what the controller
//! mounts) and flags for a person running them by hand. Turning flags into a
//! `WorkerConfig` is pure.

use std::path::PathBuf;

use clap::Args;

use super::config::{KafkaEndpoint, RestoreOptions, StorageLocation, WorkerConfig};
use crate::api::TopicSelector;

/// Flags shared by `backup` and `restore`. Secrets never go on the command line: SASL
/// passwords and S3 keys come from environment variables.
#[derive(Args, Debug, Clone, Default)]
pub struct WorkerArgs {
    /// Configuration file, as the controller writes it into the Job's ConfigMap. Flags
    /// given beside it override its values.
    #[arg(long, env = "KAFKA_BACKUP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Kafka brokers, `host:port` separated by commas.
    #[arg(long, env = "KAFKA_BACKUP_BOOTSTRAP_SERVERS")]
    pub bootstrap_servers: Option<String>,
    /// Topics to include: globs with `*` and `?`, separated by commas.
    #[arg(long, value_delimiter = ',')]
    pub topics: Vec<String>,
    /// Topics to leave out, separated by commas.
    #[arg(long, value_delimiter = ',')]
    pub exclude_topics: Vec<String>,
    /// Backup storage: `file:///dir` or `s3://bucket/prefix`. S3 credentials come from
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    #[arg(long, env = "KAFKA_BACKUP_STORAGE")]
    pub storage: Option<String>,
    /// Endpoint of an S3-compatible store, e.g. `http://127.0.0.1:9000`, addressed
    /// path-style (`endpoint/bucket`) unless `--s3-virtual-hosted` is given.
    #[arg(long, env = "KAFKA_BACKUP_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Address the bucket by host name (`bucket.endpoint`), as AWS S3 does; the default
    /// without `--s3-endpoint`.
    #[arg(long)]
    pub s3_virtual_hosted: bool,
    /// Region of the S3 bucket.
    #[arg(long, env = "AWS_REGION")]
    pub s3_region: Option<String>,
    /// An AWS shared credentials file to read the S3 keys from (the profile in
    /// AWS_PROFILE, else `default`); AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
    /// override it.
    #[arg(long, env = "AWS_SHARED_CREDENTIALS_FILE")]
    pub s3_credentials_file: Option<PathBuf>,
    /// Backup identifier: runs with the same id are incremental; a restore reads it.
    #[arg(long, env = "KAFKA_BACKUP_ID")]
    pub backup_id: Option<String>,
    /// Where the worker leaves its one-line summary.
    #[arg(long, env = "KAFKA_BACKUP_TERMINATION_LOG", default_value = super::report::DEFAULT_TERMINATION_LOG)]
    pub termination_log: PathBuf,
    /// Records per produce request of a restore.
    #[arg(long, env = "KAFKA_BACKUP_PRODUCE_BATCH_SIZE")]
    pub produce_batch_size: Option<usize>,
    /// Largest backup segment in bytes (bounds memory).
    #[arg(long, env = "KAFKA_BACKUP_SEGMENT_MAX_BYTES")]
    pub segment_max_bytes: Option<u64>,
}

/// Flags of `restore` only.
#[derive(Args, Debug, Clone, Default)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub common: WorkerArgs,
    /// Restore topic SRC as DST (repeatable).
    #[arg(long = "topic-mapping", value_name = "SRC=DST")]
    pub topic_mapping: Vec<String>,
    /// Restore records with a timestamp at or after this RFC 3339 time.
    #[arg(long)]
    pub from: Option<String>,
    /// Restore records with a timestamp before this RFC 3339 time.
    #[arg(long)]
    pub to: Option<String>,
    /// Directory of the restore report and checkpoint; the same directory resumes.
    #[arg(long, env = "KAFKA_BACKUP_REPORT_DIR")]
    pub report_dir: Option<String>,
    /// Read the backup and report what would be restored; write nothing to Kafka.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete existing records in the target topics before the first attempt writes.
    #[arg(long)]
    pub purge_topics: bool,
    /// Continue a completed restore with what the backup gained since it completed,
    /// once per TOKEN (any new value); the report must be the completed restore's.
    #[arg(long = "continue", value_name = "TOKEN")]
    pub continue_token: Option<String>,
    /// Write at most this many records per second (the whole restore).
    #[arg(long, value_name = "N")]
    pub rate_limit_records_per_sec: Option<u64>,
    /// Write at most this many bytes per second (the whole restore).
    #[arg(long, value_name = "N")]
    pub rate_limit_bytes_per_sec: Option<u64>,
    /// How long the broker may take to acknowledge a produce request (default 30000);
    /// an attempt after an unclean stop first waits this long plus 6 seconds.
    #[arg(long, value_name = "MS")]
    pub produce_timeout_ms: Option<u32>,
    /// Serve the restore's progress at http://ADDR/progress while it runs (JSON; the
    /// operator reads it into the KafkaRestore's status).
    #[arg(long, env = "KAFKA_BACKUP_PROGRESS_LISTEN", value_name = "ADDR")]
    pub progress_listen: Option<std::net::SocketAddr>,
}

/// Reads `--config` (if given) and applies the flags over it.
pub fn backup_config(args: &WorkerArgs, file: Option<&str>) -> Result<WorkerConfig, String> {
    let mut config = common_config(args, file)?;
    if config.restore.is_some() {
        return Err("the configuration has a 'restore' section; run it with `restore`".into());
    }
    if let Some(bytes) = args.segment_max_bytes {
        config
            .backup
            .get_or_insert_with(Default::default)
            .segment_max_bytes = Some(bytes);
    }
    Ok(config)
}

/// Reads `--config` (if given) and applies the restore flags over it.
pub fn restore_config(args: &RestoreArgs, file: Option<&str>) -> Result<WorkerConfig, String> {
    let mut config = common_config(&args.common, file)?;
    let mut options = config.restore.take().unwrap_or_default();
    for pair in &args.topic_mapping {
        let (source, target) = pair
            .split_once('=')
            .filter(|(s, t)| !s.is_empty() && !t.is_empty())
            .ok_or_else(|| format!("--topic-mapping '{pair}': write it as SOURCE=TARGET"))?;
        options
            .topic_mapping
            .insert(source.to_string(), target.to_string());
    }
    for (flag, value, slot) in [
        ("--from", &args.from, &mut options.from),
        ("--to", &args.to, &mut options.to),
    ] {
        if let Some(value) = value {
            crate::policy::syntax::rfc3339(value).map_err(|e| format!("{flag}: {e}"))?;
            *slot = Some(value.clone());
        }
    }
    if let Some(dir) = &args.report_dir {
        options.report_dir = dir.clone();
    }
    if options.report_dir.is_empty() {
        return Err("--report-dir is required: the directory where the restore keeps its report and checkpoint".into());
    }
    options.dry_run |= args.dry_run;
    options.purge_topics |= args.purge_topics;
    if let Some(token) = &args.continue_token {
        if token.is_empty() {
            return Err("--continue: give a token, any value not used before".into());
        }
        options.continue_token = Some(token.clone());
    }
    for (flag, value, slot) in [
        (
            "--rate-limit-records-per-sec",
            args.rate_limit_records_per_sec,
            &mut options.rate_limit_records_per_sec,
        ),
        (
            "--rate-limit-bytes-per-sec",
            args.rate_limit_bytes_per_sec,
            &mut options.rate_limit_bytes_per_sec,
        ),
    ] {
        if let Some(value) = value {
            if value == 0 {
                return Err(format!(
                    "{flag}: give a rate above 0, or leave it out for none"
                ));
            }
            *slot = Some(value);
        }
    }
    if let Some(ms) = args.produce_timeout_ms {
        if ms == 0 {
            return Err("--produce-timeout-ms: give a timeout above 0".into());
        }
        options.produce_timeout_ms = Some(ms);
    }
    if let Some(size) = args.common.produce_batch_size {
        if size == 0 {
            return Err("--produce-batch-size: give a size above 0".into());
        }
        options.produce_batch_size = Some(size);
    }
    config.restore = Some(options);
    Ok(config)
}

fn common_config(args: &WorkerArgs, file: Option<&str>) -> Result<WorkerConfig, String> {
    let mut config = match file {
        Some(text) => serde_yaml::from_str::<WorkerConfig>(text).map_err(|e| {
            format!(
                "{}: {e}",
                args.config
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )
        })?,
        None => WorkerConfig {
            kafka: KafkaEndpoint {
                bootstrap_servers: String::new(),
                tls: None,
                sasl: None,
                connection: None,
            },
            storage: StorageLocation::Filesystem {
                path: String::new(),
            },
            backup_id: String::new(),
            topics: TopicSelector::default(),
            backup: None,
            restore: None::<RestoreOptions>,
            metrics: None,
        },
    };
    if let Some(servers) = &args.bootstrap_servers {
        crate::policy::syntax::bootstrap_servers(servers)
            .map_err(|e| format!("--bootstrap-servers: {e}"))?;
        config.kafka.bootstrap_servers = servers.clone();
    }
    if !args.topics.is_empty() {
        config.topics.include = args.topics.clone();
    }
    if !args.exclude_topics.is_empty() {
        config.topics.exclude = args.exclude_topics.clone();
    }
    if config.topics.include.is_empty() {
        config
            .topics
            .include
            .push(crate::constants::ALL_TOPICS.to_string());
    }
    if let Some(storage) = &args.storage {
        config.storage = parse_storage(
            storage,
            args.s3_endpoint.as_deref(),
            args.s3_region.as_deref(),
            args.s3_virtual_hosted,
        )?;
        if let (
            StorageLocation::S3 {
                credentials_file, ..
            },
            Some(file),
        ) = (&mut config.storage, &args.s3_credentials_file)
        {
            *credentials_file = Some(file.display().to_string());
        }
    }
    if let Some(id) = &args.backup_id {
        crate::policy::syntax::backup_id(id).map_err(|e| format!("--backup-id: {e}"))?;
        config.backup_id = id.clone();
    }
    let missing = [
        (
            "--bootstrap-servers",
            config.kafka.bootstrap_servers.is_empty(),
        ),
        (
            "--storage",
            matches!(&config.storage, StorageLocation::Filesystem { path } if path.is_empty()),
        ),
        ("--backup-id", config.backup_id.is_empty()),
    ];
    if let Some((flag, _)) = missing.iter().find(|(_, absent)| *absent) {
        return Err(format!("{flag} is required (or give --config FILE)"));
    }
    Ok(config)
}

/// `file:///dir` or `s3://bucket/prefix`.
fn parse_storage(
    url: &str,
    endpoint: Option<&str>,
    region: Option<&str>,
    virtual_hosted: bool,
) -> Result<StorageLocation, String> {
    if let Some(path) = url.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(format!(
                "--storage '{url}': use an absolute path, file:///dir"
            ));
        }
        return Ok(StorageLocation::Filesystem {
            path: path.to_string(),
        });
    }
    if let Some(rest) = url.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        crate::policy::syntax::s3_bucket(bucket).map_err(|e| format!("--storage: {e}"))?;
        return Ok(StorageLocation::S3 {
            bucket: bucket.to_string(),
            region: region.map(str::to_string),
            prefix: (!prefix.is_empty()).then(|| prefix.trim_end_matches('/').to_string()),
            endpoint: endpoint.map(str::to_string),
            path_style: endpoint.is_some() && !virtual_hosted,
            allow_http: false,
            credentials_file: None,
        });
    }
    Err(format!(
        "--storage '{url}': use file:///dir or s3://bucket/prefix"
    ))
}

/// Reads a configuration file given with `--config`.
pub fn read_config_file(args: &WorkerArgs) -> Result<Option<String>, String> {
    args.config
        .as_ref()
        .map(|path| {
            std::fs::read_to_string(path).map_err(|e| format!("--config {}: {e}", path.display()))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(s, t)| (s.to_string(), t.to_string()))
            .collect()
    }

    fn args() -> WorkerArgs {
        WorkerArgs {
            bootstrap_servers: Some("127.0.0.1:9092".into()),
            storage: Some("file:///tmp/backups".into()),
            backup_id: Some("nightly".into()),
            ..Default::default()
        }
    }

    #[test]
    fn flags_make_a_backup_config() {
        let config = backup_config(&args(), None).unwrap();
        assert_eq!(config.kafka.bootstrap_servers, "127.0.0.1:9092");
        assert_eq!(
            config.storage,
            StorageLocation::Filesystem {
                path: "/tmp/backups".into()
            }
        );
        assert_eq!(config.topics.include, vec!["*"]);
    }

    #[test]
    fn s3_urls_split_bucket_and_prefix() {
        let storage = parse_storage(
            "s3://my-kafka-backups/prod/orders/",
            Some("http://127.0.0.1:9000"),
            None,
            false,
        )
        .unwrap();
        assert_eq!(
            storage,
            StorageLocation::S3 {
                bucket: "my-kafka-backups".into(),
                region: None,
                prefix: Some("prod/orders".into()),
                endpoint: Some("http://127.0.0.1:9000".into()),
                path_style: true,
                allow_http: false,
                credentials_file: None,
            }
        );
        assert!(
            parse_storage("gs://x", None, None, false)
                .unwrap_err()
                .contains("file:///dir")
        );
        assert!(parse_storage("file://relative", None, None, false).is_err());
    }

    /// Path-style with an endpoint unless asked otherwise; virtual-hosted on AWS.
    #[test]
    fn s3_addressing_follows_the_flags() {
        let style = |endpoint: Option<&str>, virtual_hosted: bool| match parse_storage(
            "s3://backups/p",
            endpoint,
            None,
            virtual_hosted,
        )
        .unwrap()
        {
            StorageLocation::S3 { path_style, .. } => path_style,
            other => panic!("{other:?}"),
        };
        assert!(style(Some("http://127.0.0.1:9000"), false));
        assert!(!style(Some("https://s3.example"), true));
        assert!(!style(None, false));
        assert!(!style(None, true));
    }

    #[test]
    fn restore_flags_map_topics_and_need_a_report_dir() {
        let mut restore = RestoreArgs {
            common: args(),
            topic_mapping: vec!["orders=orders-copy".into()],
            from: Some("2026-01-01T00:00:00Z".into()),
            ..Default::default()
        };
        assert!(
            restore_config(&restore, None)
                .unwrap_err()
                .contains("--report-dir")
        );
        restore.report_dir = Some("/tmp/report".into());
        let config = restore_config(&restore, None).unwrap();
        let options = config.restore.unwrap();
        assert_eq!(options.topic_mapping, mapping(&[("orders", "orders-copy")]));
        assert_eq!(options.from.as_deref(), Some("2026-01-01T00:00:00Z"));
        restore.topic_mapping = vec!["orders".into()];
        assert!(
            restore_config(&restore, None)
                .unwrap_err()
                .contains("SOURCE=TARGET")
        );
    }

    #[test]
    fn missing_and_malformed_input_is_named() {
        let mut missing = args();
        missing.backup_id = None;
        assert!(
            backup_config(&missing, None)
                .unwrap_err()
                .contains("--backup-id")
        );
        let mut bad = args();
        bad.bootstrap_servers = Some("kafka".into());
        assert!(
            backup_config(&bad, None)
                .unwrap_err()
                .contains("--bootstrap-servers")
        );
        assert!(backup_config(&WorkerArgs::default(), Some("kafka: [")).is_err());
    }

    #[test]
    fn the_controllers_config_file_is_read_and_flags_override_it() {
        let file = "kafka:\n  bootstrapServers: kafka:9092\nstorage:\n  type: filesystem\n  path: /data\nbackupId: daily\ntopics:\n  include: [orders]\n";
        let only_file = WorkerArgs::default();
        let config = backup_config(&only_file, Some(file)).unwrap();
        assert_eq!(config.backup_id, "daily");
        let config = backup_config(
            &WorkerArgs {
                bootstrap_servers: Some("other:9092".into()),
                ..Default::default()
            },
            Some(file),
        )
        .unwrap();
        assert_eq!(config.kafka.bootstrap_servers, "other:9092");
        assert!(backup_config(&only_file, Some("kafka: {bootstrapServers: k:1}\nstorage: {type: filesystem, path: /d}\nbackupId: x\ntopics: {}\npassword: oops\n")).is_err(), "unknown fields are refused");
    }
}
