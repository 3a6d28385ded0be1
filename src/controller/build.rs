//! Builders of the children: the worker's ConfigMap, the restore report PVC, restore Jobs,
//! and backup Jobs and CronJobs. Pods satisfy Pod Security `restricted`; credentials come
//! only from Secret references. No IO.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar,
    EnvVarSource, ObjectFieldSelector, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec, PodTemplateSpec,
    SeccompProfile, SecretKeySelector, SecretVolumeSource, SecurityContext, Volume, VolumeMount,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::names::{self, LABEL_ATTEMPT};
use crate::api::backup::{BackupStorage, StorageType};
use crate::api::{
    AuthenticationType, KafkaAuthentication, KafkaBackup, KafkaRestore, PodTemplate, SecretKeyRef,
    TopicSelector,
};
use crate::constants::DEFAULT_REPORT_SIZE;
use crate::worker::config::{self as wc, WorkerConfig};

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

/// The backup storage volume, when the storage is a PVC.
fn storage_mounts(storage: &BackupStorage, read_only: bool) -> (Vec<Volume>, Vec<VolumeMount>) {
    match (&storage.kind, &storage.filesystem) {
        (StorageType::Filesystem, Some(fs)) => (
            vec![pvc_volume("storage", &fs.claim_name)],
            vec![mount("storage", wc::STORAGE_DIR, read_only)],
        ),
        _ => (vec![], vec![]),
    }
}

/// S3 credentials from the storage's Secret, under the usual AWS variable names.
fn s3_credentials_env(storage: &BackupStorage) -> Vec<EnvVar> {
    storage
        .s3
        .as_ref()
        .and_then(|s| s.credentials_secret.as_ref())
        .map(|creds| {
            vec![
                secret_env(
                    wc::ENV_S3_ACCESS_KEY_ID,
                    &creds.name,
                    creds
                        .access_key_id_key
                        .as_deref()
                        .unwrap_or(wc::ENV_S3_ACCESS_KEY_ID),
                ),
                secret_env(
                    wc::ENV_S3_SECRET_ACCESS_KEY,
                    &creds.name,
                    creds
                        .secret_access_key_key
                        .as_deref()
                        .unwrap_or(wc::ENV_S3_SECRET_ACCESS_KEY),
                ),
            ]
        })
        .unwrap_or_default()
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

fn pvc_volume(name: &str, claim: &str) -> Volume {
    Volume {
        name: name.into(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: claim.into(),
            read_only: None,
        }),
        ..Default::default()
    }
}

fn secret_volume(name: &str, secret: &str) -> Volume {
    Volume {
        name: name.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.into()),
            default_mode: Some(0o440),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: Some(read_only),
        ..Default::default()
    }
}

fn secret_env(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.into(),
                key: key.into(),
                optional: Some(false),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The pod of a worker: restricted security, the ConfigMap, TLS and storage mounts,
/// credentials from Secrets, and the user's template on top.
#[allow(clippy::too_many_arguments)]
fn pod_template(
    labels: BTreeMap<String, String>,
    subcommand: &str,
    config_map: &str,
    connection: &Connection,
    template: Option<&PodTemplate>,
    image: &str,
    mut volumes: Vec<Volume>,
    mut mounts: Vec<VolumeMount>,
    extra_env: &[EnvVar],
) -> PodTemplateSpec {
    let template = template.cloned().unwrap_or_default();
    volumes.push(Volume {
        name: "config".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: config_map.into(),
            ..Default::default()
        }),
        ..Default::default()
    });
    mounts.push(mount("config", wc::CONFIG_DIR, true));
    volumes.push(Volume {
        name: "tmp".into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    });
    mounts.push(mount("tmp", "/tmp", false));
    if let Some(ca) = &connection.ca_secret {
        volumes.push(secret_volume("kafka-ca", &ca.name));
        mounts.push(mount("kafka-ca", wc::CA_DIR, true));
    }
    let mut env = vec![EnvVar {
        name: "POD_NAME".into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: "metadata.name".into(),
                api_version: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }];
    if let Some(auth) = &connection.authentication {
        if let Some(password) = auth
            .password_secret
            .as_ref()
            .filter(|_| auth.kind.is_sasl())
        {
            env.push(secret_env(
                wc::ENV_SASL_PASSWORD,
                &password.name,
                &password.key,
            ));
        }
        if let Some(cert) = auth
            .certificate_and_key
            .as_ref()
            .filter(|_| !auth.kind.is_sasl())
        {
            volumes.push(secret_volume("kafka-client", &cert.secret_name));
            mounts.push(mount("kafka-client", wc::CLIENT_CERT_DIR, true));
        }
    }
    env.extend(extra_env.iter().cloned());
    // The user's variables come last; the operator's names cannot be overridden.
    let ours: Vec<String> = env.iter().map(|e| e.name.clone()).collect();
    env.extend(
        template
            .env
            .unwrap_or_default()
            .into_iter()
            .filter(|e| !ours.contains(&e.name)),
    );

    let mut pod_labels = template.labels.unwrap_or_default();
    pod_labels.extend(labels);
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(pod_labels),
            annotations: template.annotations,
            ..Default::default()
        }),
        spec: Some(PodSpec {
            restart_policy: Some("Never".into()),
            service_account_name: template.service_account_name,
            node_selector: template.node_selector,
            affinity: template.affinity,
            tolerations: template.tolerations,
            priority_class_name: template.priority_class_name,
            image_pull_secrets: template.image_pull_secrets,
            // The worker never talks to the Kubernetes API: no token in the pod.
            automount_service_account_token: Some(false),
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(65532),
                run_as_group: Some(65532),
                fs_group: Some(65532),
                // A large report or backup volume is re-owned only when its root is not
                // ours already, not walked on every pod start.
                fs_group_change_policy: Some("OnRootMismatch".into()),
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    localhost_profile: None,
                }),
                ..Default::default()
            }),
            containers: vec![Container {
                name: "worker".into(),
                image: Some(image.into()),
                args: Some(vec![
                    subcommand.into(),
                    "--config".into(),
                    format!("{}/{}", wc::CONFIG_DIR, wc::CONFIG_FILE_NAME),
                ]),
                env: Some(env),
                resources: template.resources,
                volume_mounts: Some(mounts),
                termination_message_policy: Some("FallbackToLogsOnError".into()),
                security_context: Some(SecurityContext {
                    allow_privilege_escalation: Some(false),
                    read_only_root_filesystem: Some(true),
                    run_as_non_root: Some(true),
                    capabilities: Some(Capabilities {
                        drop: Some(vec!["ALL".into()]),
                        add: None,
                    }),
                    seccomp_profile: Some(SeccompProfile {
                        type_: "RuntimeDefault".into(),
                        localhost_profile: None,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            volumes: Some(volumes),
            ..Default::default()
        }),
    }
}

#[cfg(test)]
mod tests;
