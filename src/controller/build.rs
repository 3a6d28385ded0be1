//! Builders of the children: the worker's ConfigMap, the restore report PVC, restore Jobs,
//! and backup Jobs and CronJobs. Pods satisfy Pod Security `restricted`; credentials come
//! only from Secret references. No IO.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::names::{self, LABEL_ATTEMPT};
use crate::api::backup::{BackupStorage, StorageType};
use crate::api::{
    AuthenticationType, KafkaAuthentication, KafkaBackup, KafkaRestore, SecretKeyRef, TopicSelector,
};
use crate::constants::DEFAULT_REPORT_SIZE;
use crate::worker::config::{self as wc, WorkerConfig};

mod pod;

use self::pod::{mount, pod_template, pvc_volume, s3_credentials_env, storage_mounts};

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
pub fn backup_worker_config(backup: &KafkaBackup, connection: &Connection) -> WorkerConfig {
    WorkerConfig {
        kafka: endpoint(connection),
        storage: storage_location(&backup.spec.storage),
        backup_id: kube::ResourceExt::name_any(backup),
        topics: backup.spec.topics.clone().unwrap_or_else(all_topics),
        restore: None,
    }
}

/// The worker configuration for a restore, reading the storage of its KafkaBackup.
pub fn restore_worker_config(
    restore: &KafkaRestore,
    backup_storage: &BackupStorage,
    connection: &Connection,
) -> WorkerConfig {
    let spec = &restore.spec;
    WorkerConfig {
        kafka: endpoint(connection),
        storage: storage_location(backup_storage),
        backup_id: spec
            .backup_ref
            .backup_id
            .clone()
            .unwrap_or_else(|| spec.backup_ref.name.clone()),
        topics: spec.topics.clone().unwrap_or_else(all_topics),
        restore: Some(wc::RestoreOptions {
            topic_mapping: spec.topic_mapping.clone().unwrap_or_default(),
            from: spec.point_in_time.as_ref().and_then(|w| w.from.clone()),
            to: spec.point_in_time.as_ref().and_then(|w| w.to.clone()),
            purge_topics: spec.purge_topics.unwrap_or(false),
            dry_run: spec.dry_run.unwrap_or(false),
            report_dir: wc::REPORTS_DIR.to_string(),
            continue_token: None,
            rate_limit_records_per_sec: None,
            rate_limit_bytes_per_sec: None,
            produce_timeout_ms: None,
        }),
    }
}

fn all_topics() -> TopicSelector {
    TopicSelector {
        include: vec![crate::constants::ALL_TOPICS.to_string()],
        exclude: vec![],
    }
}

fn endpoint(connection: &Connection) -> wc::KafkaEndpoint {
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
    }
}

fn storage_location(storage: &BackupStorage) -> wc::StorageLocation {
    match (storage.kind, &storage.s3, &storage.filesystem) {
        (StorageType::S3, Some(s3), _) => wc::StorageLocation::S3 {
            bucket: s3.bucket.clone(),
            region: s3.region.clone(),
            prefix: s3.prefix.clone(),
            endpoint: s3.endpoint.clone(),
            path_style: s3.path_style.unwrap_or(false),
        },
        (_, _, fs) => wc::StorageLocation::Filesystem {
            path: match fs.as_ref().and_then(|f| f.path.as_deref()) {
                Some(sub) => format!("{}/{sub}", wc::STORAGE_DIR),
                None => wc::STORAGE_DIR.to_string(),
            },
        },
    }
}

/// The ConfigMap with the worker's `config.yaml`.
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

/// The Job of one restore attempt. No `ttlSecondsAfterFinished`: a Job that vanished on
/// its own would look like a request to resume.
pub fn restore_job(
    restore: &KafkaRestore,
    attempt: i32,
    report_pvc: &str,
    backup_storage: &BackupStorage,
    connection: &Connection,
    defaults: &JobDefaults,
) -> Result<Job, BuildError> {
    let name = kube::ResourceExt::name_any(restore);
    let mut labels = names::restore_labels(&name);
    labels.insert(LABEL_ATTEMPT.to_string(), attempt.to_string());
    let spec = &restore.spec;
    let (mut volumes, mut mounts) = storage_mounts(backup_storage, true);
    volumes.push(pvc_volume("reports", report_pvc));
    mounts.push(mount("reports", wc::REPORTS_DIR, false));
    let template = pod_template(
        labels.clone(),
        "restore",
        &names::restore_config_name(&name),
        connection,
        spec.template.as_ref(),
        spec.image.as_deref().unwrap_or(&defaults.image),
        volumes,
        mounts,
        &s3_credentials_env(backup_storage),
    );
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

/// The Job spec of a backup run, shared by one-shot Jobs and the CronJob's template.
pub fn backup_job_spec(
    backup: &KafkaBackup,
    connection: &Connection,
    defaults: &JobDefaults,
) -> JobSpec {
    let name = kube::ResourceExt::name_any(backup);
    let spec = &backup.spec;
    let (volumes, mounts) = storage_mounts(&spec.storage, false);
    JobSpec {
        backoff_limit: Some(
            spec.backoff_limit
                .unwrap_or(crate::constants::DEFAULT_BACKUP_BACKOFF_LIMIT),
        ),
        template: pod_template(
            names::backup_labels(&name),
            "backup",
            &names::backup_config_name(&name),
            connection,
            spec.template.as_ref(),
            spec.image.as_deref().unwrap_or(&defaults.image),
            volumes,
            mounts,
            &s3_credentials_env(&spec.storage),
        ),
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
            schedule: schedule.cron,
            time_zone: schedule.time_zone,
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
