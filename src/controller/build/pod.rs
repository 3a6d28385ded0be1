//! The worker's pod: Pod Security `restricted`, the ConfigMap, TLS and storage mounts,
//! credentials only from Secret references, and the user's template on top. No IO.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    ObjectFieldSelector, PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec,
    PodTemplateSpec, SeccompProfile, SecretKeySelector, SecretVolumeSource, SecurityContext,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::Connection;
use crate::api::PodTemplate;
use crate::api::backup::{BackupStorage, StorageType};
use crate::worker::config as wc;

/// The backup storage volume, when the storage is a PVC.
pub(super) fn storage_mounts(
    storage: &BackupStorage,
    read_only: bool,
) -> (Vec<Volume>, Vec<VolumeMount>) {
    match (&storage.kind, &storage.filesystem) {
        (StorageType::Filesystem, Some(fs)) => (
            vec![pvc_volume("storage", &fs.claim_name)],
            vec![mount("storage", wc::STORAGE_DIR, read_only)],
        ),
        _ => (vec![], vec![]),
    }
}

/// S3 credentials from the storage's Secret, under the usual AWS variable names.
pub(super) fn s3_credentials_env(storage: &BackupStorage) -> Vec<EnvVar> {
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

pub(super) fn secret_volume(name: &str, secret: &str) -> Volume {
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

pub(super) fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: Some(read_only),
        ..Default::default()
    }
}

pub(super) fn secret_env(name: &str, secret: &str, key: &str) -> EnvVar {
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
pub(super) fn pod_template(
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
