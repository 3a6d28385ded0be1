//! Builders of the children: a backup's worker ConfigMap, the restore report PVC,
//! restore Jobs, and backup Jobs and CronJobs. Pods satisfy Pod Security `restricted`;
//! credentials come only from Secret references. No IO.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};

use super::names::{self, LABEL_ATTEMPT};
use crate::api::backup::{BackupRun, BackupStorage, StorageType};
use crate::api::effective::WindowEnd;
use crate::api::restore::{ExistingTopicPolicy, TopicCreation};
use crate::api::{
    AuthenticationType, ConnectionTuning, KafkaAuthentication, KafkaBackup, KafkaRestore, Outcome,
    SecretKeyRef, TopicSelector, WorkerMetrics,
};
use crate::constants::DEFAULT_REPORT_SIZE;
use crate::worker::config::{self as wc, WorkerConfig};

mod pod;

use self::pod::{WorkerConfigFile, WorkerPod, pod_template};

/// How the worker reaches Kafka, once `strimziClusterRef` is resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Connection {
    pub bootstrap_servers: String,
    pub tls: bool,
    pub ca_secret: Option<SecretKeyRef>,
    pub authentication: Option<KafkaAuthentication>,
}

/// Settings of the operator that shape every Job.
#[derive(Clone, Debug, PartialEq)]
pub struct JobDefaults {
    /// The worker image when `spec.image` is left out: the operator's own.
    pub image: String,
}

/// Why a child cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0} has no uid yet, so nothing can be owned by it")]
    NoOwner(String),
    #[error("writing the worker configuration: {0}")]
    Config(#[from] serde_yaml::Error),
}

fn owner_of<K: kube::Resource<DynamicType = ()>>(
    resource: &K,
) -> Result<OwnerReference, BuildError> {
    let mut owner = resource.controller_owner_ref(&()).ok_or_else(|| {
        BuildError::NoOwner(format!(
            "{} '{}'",
            K::kind(&()),
            resource.meta().name.clone().unwrap_or_default()
        ))
    })?;
    // Foreground deletion of the owner waits for its children.
    owner.block_owner_deletion = Some(true);
    Ok(owner)
}

fn meta(
    name: String,
    namespace: Option<String>,
    labels: BTreeMap<String, String>,
    owner: OwnerReference,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace,
        labels: Some(labels),
        owner_references: Some(vec![owner]),
        ..Default::default()
    }
}

/// The worker configuration for a backup.
pub fn backup_worker_config(
    backup: &KafkaBackup,
    connection: &Connection,
    retention: Option<wc::RetentionOptions>,
) -> WorkerConfig {
    let spec = &backup.spec;
    let tuning = spec.backup.clone().unwrap_or_default();
    let groups = spec.consumer_groups.clone().unwrap_or_default();
    let positive = |n: Option<i32>| n.and_then(|n| usize::try_from(n).ok());
    let options = wc::BackupOptions {
        compression: tuning.compression,
        compression_level: tuning.compression_level,
        segment_max_bytes: tuning.segment_size.and_then(|n| u64::try_from(n).ok()),
        segment_max_interval_ms: tuning.segment_max_interval_ms,
        parallelism: positive(tuning.parallelism),
        start_offset: tuning.start_offset,
        include_internal_topics: tuning.include_internal_topics.unwrap_or(false),
        internal_topics: tuning.internal_topics,
        checkpoint_interval_secs: tuning.checkpoint_interval_secs,
        sync_interval_secs: tuning.sync_interval_secs,
        include_offset_headers: tuning.include_offset_headers.unwrap_or(false),
        source_cluster_id: tuning.source_cluster_id,
        consumer_group_snapshot: tuning.consumer_group_snapshot.unwrap_or(false),
        consumer_groups_include: groups.include,
        consumer_groups_exclude: groups.exclude,
        offset_storage: spec
            .offset_storage
            .as_ref()
            .map(|o| wc::OffsetStorageOptions {
                db_path: o.db_path.clone(),
                sync_interval_secs: o.sync_interval_secs,
            }),
        retention,
    };
    WorkerConfig {
        kafka: endpoint(connection, spec.connection.as_ref()),
        storage: storage_location(&spec.storage),
        backup_id: kube::ResourceExt::name_any(backup),
        topics: spec.topics.clone().unwrap_or_else(all_topics),
        backup: (options != wc::BackupOptions::default()).then_some(options),
        restore: None,
        metrics: metrics(spec.metrics.as_ref()),
    }
}

/// What retention deletes at the end of a backup run, when `pruneOnSchedule` asks for
/// it: by age, and by run from the starts of the successful runs in the history.
/// `held_by` names the KafkaRestores of this backup that have not completed.
pub fn retention_options(
    backup: &KafkaBackup,
    history: &[BackupRun],
    held_by: Vec<String>,
) -> Option<wc::RetentionOptions> {
    let retention = backup.spec.retention.as_ref()?;
    if retention.prune_on_schedule != Some(true)
        || (retention.max_age.is_none() && retention.max_backups.is_none())
    {
        return None;
    }
    let keep_runs = retention
        .max_backups
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0);
    let run_starts = match keep_runs {
        Some(keep) => {
            let mut starts: Vec<&Time> = history
                .iter()
                .filter(|run| run.outcome == Outcome::Succeeded)
                .filter_map(|run| run.start_time.as_ref())
                .collect();
            starts.sort_by_key(|t| std::cmp::Reverse(t.0));
            starts.dedup();
            starts
                .into_iter()
                .take(keep.saturating_sub(1) as usize)
                .map(|t| t.0.to_string())
                .collect()
        }
        None => vec![],
    };
    Some(wc::RetentionOptions {
        max_age: retention.max_age.clone(),
        keep_runs,
        run_starts,
        held_by,
    })
}

/// The port of the worker's metrics endpoint, when it serves one.
fn metrics_port(metrics: Option<&WorkerMetrics>) -> Option<u16> {
    metrics
        .filter(|m| m.enabled == Some(true))
        .map(|m| m.port.unwrap_or(DEFAULT_METRICS_PORT))
}

/// The library's default port of the worker's metrics endpoint.
const DEFAULT_METRICS_PORT: u16 = 8080;

/// The worker's metrics endpoint, when asked for.
fn metrics(metrics: Option<&WorkerMetrics>) -> Option<wc::MetricsOptions> {
    metrics
        .filter(|m| m.enabled == Some(true))
        .map(|m| wc::MetricsOptions {
            port: m.port,
            bind_address: m.bind_address.clone(),
            path: m.path.clone(),
            keep_alive_seconds: m.keep_alive_seconds,
            update_interval_ms: m.update_interval_ms,
            max_partition_labels: m.max_partition_labels,
        })
}

/// The worker configuration for a restore, reading the storage of its KafkaBackup.
pub fn restore_worker_config(
    restore: &KafkaRestore,
    backup_storage: &BackupStorage,
    connection: &Connection,
) -> WorkerConfig {
    let spec = &restore.spec;
    let tuning = spec.restore.clone().unwrap_or_default();
    let positive = |n: Option<i32>| n.and_then(|n| usize::try_from(n).ok());
    let to = match spec.window_end() {
        Some(WindowEnd::Before(to)) => Some(to),
        // An inclusive end is the exclusive end one millisecond later.
        Some(WindowEnd::AtOrBefore(at)) => Some(
            at.parse::<jiff::Timestamp>()
                .ok()
                .and_then(|t| t.checked_add(jiff::SignedDuration::from_millis(1)).ok())
                .map_or(at, |t| t.to_string()),
        ),
        None => None,
    };
    let groups = spec
        .consumer_groups
        .as_ref()
        .filter(|g| g.restore && g.strategy.as_deref() != Some("skip"))
        .map(|g| {
            let mut renames: Vec<wc::GroupRename> = g
                .mapping
                .iter()
                .map(|m| wc::GroupRename {
                    source: m.source_group.clone(),
                    target: m.target_group.clone(),
                })
                .collect();
            renames.extend(g.groups.iter().map(|group| wc::GroupRename {
                source: group.clone(),
                target: group.clone(),
            }));
            wc::ConsumerGroupOptions {
                auto: g.effective_auto(),
                groups: renames,
                report_only: g.strategy.as_deref() == Some("manual"),
            }
        });
    let header_based = spec
        .consumer_groups
        .as_ref()
        .is_some_and(|g| g.restore && g.strategy.as_deref() == Some("header-based"));
    WorkerConfig {
        kafka: endpoint(connection, spec.connection.as_ref()),
        storage: storage_location(backup_storage),
        backup_id: spec
            .backup_ref
            .backup_id
            .clone()
            .unwrap_or_else(|| spec.backup_ref.name.clone()),
        topics: spec.topics.clone().unwrap_or_else(all_topics),
        backup: None,
        restore: Some(wc::RestoreOptions {
            topic_mapping: spec.topic_mapping.as_map(),
            from: spec.window_start().map(str::to_string),
            to,
            purge_topics: spec.effective_purge_topics(),
            dry_run: spec.effective_dry_run(),
            report_dir: wc::REPORTS_DIR.to_string(),
            continue_token: None,
            rate_limit_records_per_sec: tuning.rate_limit_records_per_sec,
            rate_limit_bytes_per_sec: tuning.rate_limit_bytes_per_sec,
            produce_timeout_ms: tuning
                .produce_timeout_ms
                .and_then(|ms| u32::try_from(ms).ok()),
            produce_batch_size: tuning.produce_batch_size.map(|n| n as usize),
            produce_acks: tuning.produce_acks,
            parallelism: positive(tuning.parallelism),
            checkpoint_interval_secs: tuning.checkpoint_interval_secs,
            create_topics: tuning.topic_creation != Some(TopicCreation::Manual),
            default_replication_factor: tuning.default_replication_factor,
            fail_on_existing_topics: tuning.existing_topic_policy
                == Some(ExistingTopicPolicy::Fail),
            include_original_offset_header: tuning.include_original_offset_header == Some(true)
                || header_based,
            source_partitions: tuning.source_partitions,
            partition_mapping: tuning
                .partition_mapping
                .iter()
                .map(|m| (m.source_partition, m.target_partition))
                .collect(),
            repartitioning: tuning
                .repartitioning
                .iter()
                .map(|r| {
                    (
                        r.topic.clone(),
                        wc::RepartitionOptions {
                            strategy: r.strategy.clone(),
                            target_partitions: r.target_partitions,
                        },
                    )
                })
                .collect(),
            consumer_groups: groups,
            hold_as: Some(format!(
                "{}/{}",
                restore.metadata.namespace.clone().unwrap_or_default(),
                kube::ResourceExt::name_any(restore)
            )),
        }),
        metrics: metrics(spec.metrics.as_deref()),
    }
}

fn all_topics() -> TopicSelector {
    TopicSelector {
        include: vec![crate::constants::ALL_TOPICS.to_string()],
        exclude: vec![],
    }
}

fn endpoint(connection: &Connection, tuning: Option<&ConnectionTuning>) -> wc::KafkaEndpoint {
    let mutual = connection
        .authentication
        .as_ref()
        .filter(|a| a.kind == AuthenticationType::Tls && a.certificate_and_key.is_some());
    wc::KafkaEndpoint {
        bootstrap_servers: connection.bootstrap_servers.clone(),
        tls: connection.tls.then(|| wc::TlsFiles {
            ca_file: connection
                .ca_secret
                .as_ref()
                .map(|s| format!("{}/{}", wc::CA_DIR, s.key)),
            cert_file: mutual
                .and_then(|a| a.certificate_and_key.as_ref())
                .map(|c| format!("{}/{}", wc::CLIENT_CERT_DIR, c.certificate)),
            key_file: mutual
                .and_then(|a| a.certificate_and_key.as_ref())
                .map(|c| format!("{}/{}", wc::CLIENT_CERT_DIR, c.key)),
        }),
        sasl: connection
            .authentication
            .as_ref()
            .filter(|a| a.kind.is_sasl())
            .map(|a| wc::Sasl {
                mechanism: match a.kind {
                    AuthenticationType::ScramSha512 => "SCRAM-SHA-512",
                    AuthenticationType::ScramSha256 => "SCRAM-SHA-256",
                    _ => "PLAIN",
                }
                .to_string(),
                username: a.username.clone().unwrap_or_default(),
                password_env: wc::ENV_SASL_PASSWORD.to_string(),
            }),
        connection: tuning.map(|t| wc::ConnectionOptions {
            tcp_keepalive: t.tcp_keepalive,
            keepalive_time_secs: t.keepalive_time_secs,
            keepalive_interval_secs: t.keepalive_interval_secs,
            tcp_nodelay: t.tcp_nodelay,
            connections_per_broker: t.connections_per_broker,
        }),
    }
}

fn storage_location(storage: &BackupStorage) -> wc::StorageLocation {
    match (storage.kind, &storage.s3, &storage.azure, &storage.gcs) {
        (StorageType::S3, Some(s3), _, _) => wc::StorageLocation::S3 {
            bucket: s3.bucket.clone(),
            region: s3.region.clone(),
            prefix: s3.prefix.clone(),
            endpoint: s3.endpoint.clone(),
            path_style: s3.effective_path_style(),
            allow_http: s3.effective_allow_http(),
            credentials_file: s3
                .credentials_file()
                .map(|_| format!("{}/{}", wc::S3_CREDENTIALS_DIR, wc::S3_CREDENTIALS_FILE)),
        },
        (StorageType::Azure, _, Some(azure), _) => wc::StorageLocation::Azure {
            account: azure.storage_account.clone(),
            container: azure.container.clone(),
            prefix: azure.prefix.clone(),
            endpoint: azure.endpoint.clone(),
            account_key_env: azure
                .effective_account_key()
                .map(|_| wc::ENV_AZURE_STORAGE_KEY.to_string()),
            sas_token_env: azure
                .sas_token_secret
                .as_ref()
                .map(|_| wc::ENV_AZURE_SAS_TOKEN.to_string()),
            client_id: azure.client_id.clone(),
            tenant_id: azure.tenant_id.clone(),
            client_secret_env: azure
                .client_secret_secret
                .as_ref()
                .map(|_| wc::ENV_AZURE_CLIENT_SECRET.to_string()),
            use_workload_identity: azure.use_workload_identity == Some(true),
        },
        (StorageType::Gcs, _, _, Some(gcs)) => wc::StorageLocation::Gcs {
            bucket: gcs.bucket.clone(),
            prefix: gcs.prefix.clone(),
            service_account_file: match (&gcs.credentials_secret, &gcs.service_account_path) {
                (Some(secret), _) => Some(format!("{}/{}", wc::GCS_CREDENTIALS_DIR, secret.key)),
                (None, path) => path.clone(),
            },
        },
        _ => wc::StorageLocation::Filesystem {
            path: match storage.filesystem.as_ref().and_then(|f| f.subdirectory()) {
                Some(sub) => format!("{}/{sub}", wc::STORAGE_DIR),
                None => wc::STORAGE_DIR.to_string(),
            },
        },
    }
}

/// The ConfigMap with a backup worker's `config.yaml`.
pub fn config_map<K: kube::Resource<DynamicType = ()>>(
    owner: &K,
    name: String,
    labels: BTreeMap<String, String>,
    config: &WorkerConfig,
) -> Result<ConfigMap, BuildError> {
    Ok(ConfigMap {
        metadata: meta(
            name,
            owner.meta().namespace.clone(),
            labels,
            owner_of(owner)?,
        ),
        data: Some(BTreeMap::from([(
            wc::CONFIG_FILE_NAME.to_string(),
            config.to_yaml()?,
        )])),
        ..Default::default()
    })
}

/// The report PVC of a restore (R5): owned by it, sized and classed by `spec.report`.
pub fn report_pvc(
    restore: &KafkaRestore,
    name: String,
) -> Result<PersistentVolumeClaim, BuildError> {
    let report = restore.spec.report.clone().unwrap_or_default();
    let restore_name = kube::ResourceExt::name_any(restore);
    Ok(PersistentVolumeClaim {
        metadata: meta(
            name,
            restore.metadata.namespace.clone(),
            names::restore_labels(&restore_name),
            owner_of(restore)?,
        ),
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: report.storage_class_name,
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    report
                        .size
                        .unwrap_or_else(|| Quantity(DEFAULT_REPORT_SIZE.into())),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The Job of one restore attempt, with the worker's `config` in its pod (see
/// `WorkerConfigFile::Annotation`). No `ttlSecondsAfterFinished`: a Job that vanished
/// on its own would look like a request to resume.
pub fn restore_job(
    restore: &KafkaRestore,
    attempt: i32,
    report_pvc: &str,
    backup_storage: &BackupStorage,
    config: &WorkerConfig,
    connection: &Connection,
    defaults: &JobDefaults,
) -> Result<Job, BuildError> {
    let name = kube::ResourceExt::name_any(restore);
    let mut labels = names::restore_labels(&name);
    labels.insert(LABEL_ATTEMPT.to_string(), attempt.to_string());
    let spec = &restore.spec;
    let template = pod_template(WorkerPod {
        labels: labels.clone(),
        subcommand: "restore",
        config: WorkerConfigFile::Annotation(config.to_yaml()?),
        connection,
        settings: spec.pod_settings(),
        image: spec.image.as_deref().unwrap_or(&defaults.image),
        storage: backup_storage,
        storage_read_only: true,
        report_pvc: Some(report_pvc),
        logging: spec.logging.as_deref(),
        metrics_port: metrics_port(spec.metrics.as_deref()),
        progress_port: Some(crate::controller::restore::progress::PROGRESS_PORT),
    });
    Ok(Job {
        metadata: meta(
            names::restore_job_name(&name, attempt),
            restore.metadata.namespace.clone(),
            labels,
            owner_of(restore)?,
        ),
        spec: Some(JobSpec {
            backoff_limit: Some(
                spec.backoff_limit
                    .unwrap_or(crate::constants::DEFAULT_RESTORE_BACKOFF_LIMIT),
            ),
            suspend: Some(spec.enabled == Some(false)),
            template,
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The worker's `config.yaml` a restore Job carries in its pod's annotation.
pub fn restore_job_config(job: &Job) -> Option<&str> {
    job.spec
        .as_ref()?
        .template
        .metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get(crate::constants::ANNOTATION_WORKER_CONFIG)
        .map(String::as_str)
}

/// The Job spec of a backup run, shared by one-shot Jobs and the CronJob's template.
pub fn backup_job_spec(
    backup: &KafkaBackup,
    connection: &Connection,
    defaults: &JobDefaults,
) -> JobSpec {
    let name = kube::ResourceExt::name_any(backup);
    let spec = &backup.spec;
    JobSpec {
        backoff_limit: Some(
            spec.backoff_limit
                .unwrap_or(crate::constants::DEFAULT_BACKUP_BACKOFF_LIMIT),
        ),
        template: pod_template(WorkerPod {
            labels: names::backup_labels(&name),
            subcommand: "backup",
            config: WorkerConfigFile::ConfigMap(&names::backup_config_name(&name)),
            connection,
            settings: spec.pod_settings(),
            image: spec.image.as_deref().unwrap_or(&defaults.image),
            storage: &spec.storage,
            storage_read_only: false,
            report_pvc: None,
            logging: spec.logging.as_ref(),
            metrics_port: metrics_port(spec.metrics.as_ref()),
            progress_port: None,
        }),
        ..Default::default()
    }
}

/// A one-shot backup Job (no schedule), or a run asked for with the run-now annotation.
pub fn backup_job(
    backup: &KafkaBackup,
    job_name: String,
    connection: &Connection,
    defaults: &JobDefaults,
) -> Result<Job, BuildError> {
    let name = kube::ResourceExt::name_any(backup);
    Ok(Job {
        metadata: meta(
            job_name,
            backup.metadata.namespace.clone(),
            names::backup_labels(&name),
            owner_of(backup)?,
        ),
        spec: Some(backup_job_spec(backup, connection, defaults)),
        ..Default::default()
    })
}

/// The CronJob of a scheduled backup (R8): Forbid concurrency, time zone, suspend,
/// history limits, and the backoffLimit in its Job template.
pub fn backup_cronjob(
    backup: &KafkaBackup,
    connection: &Connection,
    defaults: &JobDefaults,
) -> Result<CronJob, BuildError> {
    let name = kube::ResourceExt::name_any(backup);
    let spec = &backup.spec;
    let schedule = spec.schedule.clone().unwrap_or_default();
    let retention = spec.retention.clone().unwrap_or_default();
    let labels = names::backup_labels(&name);
    Ok(CronJob {
        metadata: meta(
            names::backup_cronjob_name(&name),
            backup.metadata.namespace.clone(),
            labels.clone(),
            owner_of(backup)?,
        ),
        spec: Some(CronJobSpec {
            time_zone: schedule.effective_time_zone().map(str::to_string),
            schedule: schedule.cron,
            suspend: schedule.suspend,
            concurrency_policy: Some("Forbid".into()),
            successful_jobs_history_limit: retention.successful_jobs_history_limit,
            failed_jobs_history_limit: retention.failed_jobs_history_limit,
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..Default::default()
                }),
                spec: Some(backup_job_spec(backup, connection, defaults)),
            },
            ..Default::default()
        }),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod wiring_tests;
