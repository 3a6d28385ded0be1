//! The worker's pod: Pod Security `restricted`, its configuration, TLS and storage mounts,
//! credentials only from Secret references, logging and metrics, and the user's
//! template on top. No IO.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, ContainerPort, DownwardAPIVolumeFile,
    DownwardAPIVolumeSource, EmptyDirVolumeSource, EnvVar, EnvVarSource, KeyToPath,
    ObjectFieldSelector, PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec,
    PodTemplateSpec, SeccompProfile, SecretKeySelector, SecretVolumeSource, SecurityContext,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::Connection;
use crate::api::backup::{BackupStorage, StorageType};
use crate::api::effective::PodSettings;
use crate::api::{Logging, SecretKeyRef};
use crate::constants::ANNOTATION_WORKER_CONFIG;
use crate::worker::config as wc;

/// The user and group the worker runs as.
const WORKER_UID: i64 = 65532;
/// Label Azure Workload Identity's webhook looks for.
const AZURE_WORKLOAD_IDENTITY_LABEL: &str = "azure.workload.identity/use";

/// Where the worker's `config.yaml` comes from.
pub(super) enum WorkerConfigFile<'a> {
    /// A ConfigMap of this name: a backup's, whose retention settings follow its history
    /// between the runs of one CronJob.
    ConfigMap(&'a str),
    /// This YAML, in the pod's annotation `kafkabackup.com/worker-config`, mounted by the
    /// downward API: a restore attempt's, fixed for its Job, with no object to create
    /// and delete beside it.
    Annotation(String),
}

/// What a worker's pod is made of.
pub(super) struct WorkerPod<'a> {
    pub labels: BTreeMap<String, String>,
    /// `backup` or `restore`.
    pub subcommand: &'a str,
    pub config: WorkerConfigFile<'a>,
    pub connection: &'a Connection,
    pub settings: PodSettings,
    pub image: &'a str,
    pub storage: &'a BackupStorage,
    /// A restore only reads a volume backup.
    pub storage_read_only: bool,
    /// The restore's report PVC.
    pub report_pvc: Option<&'a str>,
    pub logging: Option<&'a Logging>,
    /// The port of the worker's metrics endpoint, when it serves one.
    pub metrics_port: Option<u16>,
    /// The port a restore worker serves its progress on, for the operator to read.
    pub progress_port: Option<u16>,
}

pub(super) fn pvc_volume(name: &str, claim: &str) -> Volume {
    Volume {
        name: name.into(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: claim.into(),
            read_only: None,
        }),
        ..Default::default()
    }
}

fn secret_volume(name: &str, secret: &str, items: Option<Vec<KeyToPath>>) -> Volume {
    Volume {
        name: name.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.into()),
            default_mode: Some(0o440),
            items,
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(super) fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: Some(read_only),
        ..Default::default()
    }
}

fn secret_env(name: &str, secret: &SecretKeyRef) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.name.clone(),
                key: secret.key.clone(),
                optional: Some(false),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn value_env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..Default::default()
    }
}

/// Volumes, mounts and variables the backup storage needs: a PVC, or credentials from
/// Secrets for an object store.
fn storage_parts(
    storage: &BackupStorage,
    read_only: bool,
) -> (Vec<Volume>, Vec<VolumeMount>, Vec<EnvVar>) {
    let (mut volumes, mut mounts, mut env) = (vec![], vec![], vec![]);
    match storage.kind {
        StorageType::Filesystem => {
            if let Some(claim) = storage
                .filesystem
                .as_ref()
                .and_then(|f| f.claim_name.as_deref())
            {
                volumes.push(pvc_volume("storage", claim));
                mounts.push(mount("storage", wc::STORAGE_DIR, read_only));
            }
        }
        StorageType::S3 => {
            if let Some((id, secret)) = storage.s3.as_ref().and_then(|s| s.access_keys()) {
                env.push(secret_env(wc::ENV_S3_ACCESS_KEY_ID, &id));
                env.push(secret_env(wc::ENV_S3_SECRET_ACCESS_KEY, &secret));
            }
            if let Some(file) = storage.s3.as_ref().and_then(|s| s.credentials_file()) {
                volumes.push(secret_volume(
                    "s3-credentials",
                    &file.name,
                    Some(vec![KeyToPath {
                        key: file.key.clone(),
                        path: wc::S3_CREDENTIALS_FILE.to_string(),
                        mode: None,
                    }]),
                ));
                mounts.push(mount("s3-credentials", wc::S3_CREDENTIALS_DIR, true));
            }
        }
        StorageType::Azure => {
            if let Some(azure) = &storage.azure {
                for (name, secret) in [
                    (wc::ENV_AZURE_STORAGE_KEY, azure.effective_account_key()),
                    (wc::ENV_AZURE_SAS_TOKEN, azure.sas_token_secret.as_ref()),
                    (
                        wc::ENV_AZURE_CLIENT_SECRET,
                        azure.client_secret_secret.as_ref(),
                    ),
                ] {
                    if let Some(secret) = secret {
                        env.push(secret_env(name, secret));
                    }
                }
            }
        }
        StorageType::Gcs => {
            if let Some(secret) = storage
                .gcs
                .as_ref()
                .and_then(|g| g.credentials_secret.as_ref())
            {
                volumes.push(secret_volume(
                    "gcs-credentials",
                    &secret.name,
                    Some(vec![KeyToPath {
                        key: secret.key.clone(),
                        path: secret.key.clone(),
                        mode: None,
                    }]),
                ));
                mounts.push(mount("gcs-credentials", wc::GCS_CREDENTIALS_DIR, true));
            }
        }
    }
    (volumes, mounts, env)
}

/// Variables of the worker's logging: the filter, the format (JSON unless asked
/// otherwise: what log collectors read) and the output stream.
fn logging_env(logging: Option<&Logging>) -> Vec<EnvVar> {
    let logging = logging.cloned().unwrap_or_default();
    let mut env = vec![value_env(
        wc::ENV_LOG_FORMAT,
        logging
            .format
            .as_deref()
            .unwrap_or("json")
            .to_ascii_lowercase(),
    )];
    if logging.level.is_some() || !logging.modules.is_empty() {
        let mut directives = vec![
            logging
                .level
                .as_deref()
                .unwrap_or("info")
                .to_ascii_lowercase(),
        ];
        directives.extend(
            logging
                .modules
                .iter()
                .map(|(module, level)| format!("{module}={}", level.to_ascii_lowercase())),
        );
        env.push(value_env(wc::ENV_RUST_LOG, directives.join(",")));
    }
    if let Some(output) = &logging.output {
        env.push(value_env(wc::ENV_LOG_OUTPUT, output.to_ascii_lowercase()));
    }
    env
}

/// The operator's restricted pod security, with the user's settings over it
/// (validation refuses those that break `restricted`).
fn pod_security(user: Option<PodSecurityContext>) -> PodSecurityContext {
    let user = user.unwrap_or_default();
    PodSecurityContext {
        run_as_non_root: Some(user.run_as_non_root.unwrap_or(true)),
        run_as_user: Some(user.run_as_user.unwrap_or(WORKER_UID)),
        run_as_group: Some(user.run_as_group.unwrap_or(WORKER_UID)),
        fs_group: Some(user.fs_group.unwrap_or(WORKER_UID)),
        // A large report or backup volume is re-owned only when its root is not ours
        // already, not walked on every pod start.
        fs_group_change_policy: Some(
            user.fs_group_change_policy
                .unwrap_or_else(|| "OnRootMismatch".into()),
        ),
        seccomp_profile: Some(user.seccomp_profile.unwrap_or(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        })),
        ..user
    }
}

/// The operator's restricted container security, with the user's settings over it.
fn container_security(user: Option<SecurityContext>) -> SecurityContext {
    let user = user.unwrap_or_default();
    let mut capabilities = user.capabilities.clone().unwrap_or_default();
    let mut drop = capabilities.drop.unwrap_or_default();
    if !drop.iter().any(|c| c == "ALL") {
        drop.push("ALL".into());
    }
    capabilities.drop = Some(drop);
    SecurityContext {
        allow_privilege_escalation: Some(user.allow_privilege_escalation.unwrap_or(false)),
        read_only_root_filesystem: Some(user.read_only_root_filesystem.unwrap_or(true)),
        run_as_non_root: Some(user.run_as_non_root.unwrap_or(true)),
        capabilities: Some(capabilities),
        seccomp_profile: Some(user.seccomp_profile.clone().unwrap_or(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        })),
        ..user
    }
}

/// The pod of a worker: restricted security, its configuration, TLS and storage mounts,
/// credentials from Secrets, and the user's settings on top.
pub(super) fn pod_template(pod: WorkerPod<'_>) -> PodTemplateSpec {
    let WorkerPod {
        labels,
        subcommand,
        config,
        connection,
        settings,
        image,
        storage,
        storage_read_only,
        report_pvc,
        logging,
        metrics_port,
        progress_port,
    } = pod;
    let (mut volumes, mut mounts, storage_env) = storage_parts(storage, storage_read_only);
    if let Some(claim) = report_pvc {
        volumes.push(pvc_volume("reports", claim));
        mounts.push(mount("reports", wc::REPORTS_DIR, false));
    }
    // The user's annotations, then ours, which win.
    let mut annotations = settings.annotations;
    volumes.push(match config {
        WorkerConfigFile::ConfigMap(name) => Volume {
            name: "config".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: name.into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        WorkerConfigFile::Annotation(yaml) => {
            annotations.insert(ANNOTATION_WORKER_CONFIG.into(), yaml);
            Volume {
                name: "config".into(),
                downward_api: Some(DownwardAPIVolumeSource {
                    items: Some(vec![DownwardAPIVolumeFile {
                        path: wc::CONFIG_FILE_NAME.into(),
                        field_ref: Some(ObjectFieldSelector {
                            field_path: format!(
                                "metadata.annotations['{ANNOTATION_WORKER_CONFIG}']"
                            ),
                            api_version: None,
                        }),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                ..Default::default()
            }
        }
    });
    mounts.push(mount("config", wc::CONFIG_DIR, true));
    volumes.push(Volume {
        name: "tmp".into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    });
    mounts.push(mount("tmp", "/tmp", false));
    if let Some(ca) = &connection.ca_secret {
        volumes.push(secret_volume("kafka-ca", &ca.name, None));
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
            env.push(secret_env(wc::ENV_SASL_PASSWORD, password));
        }
        if let Some(cert) = auth
            .certificate_and_key
            .as_ref()
            .filter(|_| !auth.kind.is_sasl())
        {
            volumes.push(secret_volume("kafka-client", &cert.secret_name, None));
            mounts.push(mount("kafka-client", wc::CLIENT_CERT_DIR, true));
        }
    }
    if let Some(port) = progress_port {
        env.push(value_env(
            "KAFKA_BACKUP_PROGRESS_LISTEN",
            format!("0.0.0.0:{port}"),
        ));
    }
    env.extend(storage_env);
    // A RUST_LOG of the user's own replaces the one made from spec.logging (validation
    // warns about it); every other variable the operator sets stays the operator's.
    let user_filter = settings.env.iter().any(|e| e.name == wc::ENV_RUST_LOG);
    env.extend(
        logging_env(logging)
            .into_iter()
            .filter(|e| !(user_filter && e.name == wc::ENV_RUST_LOG)),
    );
    let ours: Vec<String> = env.iter().map(|e| e.name.clone()).collect();
    env.extend(settings.env.into_iter().filter(|e| !ours.contains(&e.name)));

    let mut pod_labels = settings.labels;
    if storage
        .azure
        .as_ref()
        .is_some_and(|a| a.use_workload_identity == Some(true))
    {
        pod_labels.insert(AZURE_WORKLOAD_IDENTITY_LABEL.into(), "true".into());
    }
    pod_labels.extend(labels);
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(pod_labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            restart_policy: Some("Never".into()),
            service_account_name: settings.service_account_name,
            node_selector: settings.node_selector,
            affinity: settings.affinity,
            tolerations: settings.tolerations,
            priority_class_name: settings.priority_class_name,
            image_pull_secrets: settings.image_pull_secrets,
            host_aliases: settings.host_aliases,
            // The worker never talks to the Kubernetes API: no token in the pod.
            automount_service_account_token: Some(false),
            security_context: Some(pod_security(settings.pod_security_context)),
            containers: vec![Container {
                name: "worker".into(),
                image: Some(image.into()),
                args: Some(vec![
                    subcommand.into(),
                    "--config".into(),
                    format!("{}/{}", wc::CONFIG_DIR, wc::CONFIG_FILE_NAME),
                ]),
                env: Some(env),
                ports: Some(
                    [("metrics", metrics_port), ("progress", progress_port)]
                        .into_iter()
                        .filter_map(|(name, port)| {
                            port.map(|port| ContainerPort {
                                name: Some(name.into()),
                                container_port: i32::from(port),
                                protocol: Some("TCP".into()),
                                ..Default::default()
                            })
                        })
                        .collect::<Vec<_>>(),
                )
                .filter(|ports| !ports.is_empty()),
                resources: settings.resources,
                volume_mounts: Some(mounts),
                termination_message_policy: Some("FallbackToLogsOnError".into()),
                security_context: Some(container_security(settings.container_security_context)),
                ..Default::default()
            }],
            volumes: Some(volumes),
            ..Default::default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Capabilities;

    #[test]
    fn the_users_security_settings_go_over_restricted_defaults() {
        let pod = pod_security(Some(PodSecurityContext {
            run_as_user: Some(1001),
            supplemental_groups: Some(vec![2000]),
            ..Default::default()
        }));
        assert_eq!(pod.run_as_user, Some(1001));
        assert_eq!(pod.run_as_non_root, Some(true));
        assert_eq!(pod.supplemental_groups, Some(vec![2000]));
        assert_eq!(pod.seccomp_profile.unwrap().type_, "RuntimeDefault");
        let container = container_security(Some(SecurityContext {
            capabilities: Some(Capabilities {
                add: Some(vec!["NET_BIND_SERVICE".into()]),
                drop: None,
            }),
            ..Default::default()
        }));
        let caps = container.capabilities.unwrap();
        assert_eq!(caps.drop, Some(vec!["ALL".to_string()]));
        assert_eq!(caps.add, Some(vec!["NET_BIND_SERVICE".to_string()]));
        assert_eq!(container.allow_privilege_escalation, Some(false));
        assert_eq!(container.read_only_root_filesystem, Some(true));
    }

    #[test]
    fn logging_becomes_the_workers_filter_format_and_output() {
        let env = logging_env(Some(&Logging {
            level: Some("WARN".into()),
            format: Some("text".into()),
            modules: [("kafka_backup_core".to_string(), "debug".to_string())].into(),
            output: Some("stdout".into()),
            rotation: None,
        }));
        let value = |name: &str| {
            env.iter()
                .find(|e| e.name == name)
                .and_then(|e| e.value.clone())
        };
        assert_eq!(
            value(wc::ENV_RUST_LOG).as_deref(),
            Some("warn,kafka_backup_core=debug")
        );
        assert_eq!(value(wc::ENV_LOG_FORMAT).as_deref(), Some("text"));
        assert_eq!(value(wc::ENV_LOG_OUTPUT).as_deref(), Some("stdout"));
        let default = logging_env(None);
        assert_eq!(default.len(), 1, "JSON, and the worker's own filter");
        assert_eq!(default[0].value.as_deref(), Some("json"));
    }
}
