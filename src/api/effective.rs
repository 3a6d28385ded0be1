//! One reading of every setting that two spellings can give: this operator's and
//! strimzi-backup-operator's (`spec.kafka.authentication` and `spec.authentication`,
//! `pathStyle` and `forcePathStyle`, `timeZone` and `timezone`, `template.*` and
//! `template.pod.*`, ...). Validation refuses two spellings that disagree, so here the
//! first one given wins. The builders and the controller read settings through these
//! methods only. No IO.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, HostAlias, LocalObjectReference, PodSecurityContext, ResourceRequirements,
    SecurityContext, Toleration,
};

use super::backup::{AzureStorage, BackupSchedule, FilesystemStorage, S3Storage};
use super::common::{KafkaAuthentication, PodTemplate, SecretKeyRef};
use super::restore::{ExistingTopicPolicy, KafkaRestoreSpec, RestoreConsumerGroups};
use super::{KafkaBackupSpec, KafkaConnection};

/// Default keys of the access key pair in `s3.credentialsSecret`.
pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
pub const AWS_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";

fn authentication<'a>(
    top: Option<&'a KafkaAuthentication>,
    kafka: Option<&'a KafkaConnection>,
) -> Option<&'a KafkaAuthentication> {
    top.or_else(|| kafka.and_then(|k| k.authentication.as_ref()))
}

impl KafkaBackupSpec {
    /// `spec.authentication`, or `spec.kafka.authentication`.
    pub fn effective_authentication(&self) -> Option<&KafkaAuthentication> {
        authentication(self.authentication.as_ref(), self.kafka.as_ref())
    }

    /// The worker pod's settings from `template`, `env` and `resources`.
    pub fn pod_settings(&self) -> PodSettings {
        PodSettings::of(self.template.as_deref(), &self.env, self.resources.as_ref())
    }
}

/// The end of a restore's time window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WindowEnd {
    /// `pointInTime.to`: records before this time.
    Before(String),
    /// `pointInTime.timestamp`: records at or before this time.
    AtOrBefore(String),
}

impl KafkaRestoreSpec {
    /// `spec.authentication`, or `spec.kafka.authentication`.
    pub fn effective_authentication(&self) -> Option<&KafkaAuthentication> {
        authentication(self.authentication.as_deref(), self.kafka.as_deref())
    }

    /// Whether the target topics are emptied before the first attempt writes:
    /// `spec.purgeTopics`, `spec.restore.purgeTopics`, or
    /// `spec.restore.existingTopicPolicy: overwrite`.
    pub fn effective_purge_topics(&self) -> bool {
        let tuning = self.restore.as_ref();
        self.purge_topics
            .or_else(|| tuning.and_then(|r| r.purge_topics))
            .unwrap_or(false)
            || tuning.and_then(|r| r.existing_topic_policy) == Some(ExistingTopicPolicy::Overwrite)
    }

    /// `spec.dryRun` or `spec.restore.dryRun`.
    pub fn effective_dry_run(&self) -> bool {
        self.dry_run
            .or_else(|| self.restore.as_ref().and_then(|r| r.dry_run))
            .unwrap_or(false)
    }

    /// The start of the time window: `from` or `startTimestamp`.
    pub fn window_start(&self) -> Option<&str> {
        let window = self.point_in_time.as_ref()?;
        window.from.as_deref().or(window.start_timestamp.as_deref())
    }

    /// The end of the time window: `to` or `timestamp`.
    pub fn window_end(&self) -> Option<WindowEnd> {
        let window = self.point_in_time.as_ref()?;
        match (&window.to, &window.timestamp) {
            (Some(to), _) => Some(WindowEnd::Before(to.clone())),
            (None, Some(at)) => Some(WindowEnd::AtOrBefore(at.clone())),
            (None, None) => None,
        }
    }

    /// The worker pod's settings from `template`, `env` and `resources`.
    pub fn pod_settings(&self) -> PodSettings {
        PodSettings::of(
            self.template.as_deref(),
            &self.env,
            self.resources.as_deref(),
        )
    }
}

impl BackupSchedule {
    /// `timeZone` or `timezone`.
    pub fn effective_time_zone(&self) -> Option<&str> {
        self.time_zone.as_deref().or(self.timezone.as_deref())
    }
}

impl S3Storage {
    /// `pathStyle` or `forcePathStyle`; false when neither is given.
    pub fn effective_path_style(&self) -> bool {
        self.path_style.or(self.force_path_style).unwrap_or(false)
    }

    /// Whether the endpoint may be plain HTTP: `allowHttp`, or an `http://` endpoint.
    pub fn effective_allow_http(&self) -> bool {
        self.allow_http.unwrap_or_else(|| {
            self.endpoint
                .as_deref()
                .is_some_and(|e| e.starts_with("http://"))
        })
    }

    /// The Secret keys of the access key id and the secret access key:
    /// `accessKeySecret` and `secretKeySecret`, or the two keys of `credentialsSecret`
    /// (unless it names a credentials file).
    pub fn access_keys(&self) -> Option<(SecretKeyRef, SecretKeyRef)> {
        if let (Some(id), Some(secret)) = (&self.access_key_secret, &self.secret_key_secret) {
            return Some((id.clone(), secret.clone()));
        }
        self.credentials_secret
            .as_ref()
            .filter(|c| c.key.is_none())
            .map(|c| {
                (
                    SecretKeyRef {
                        name: c.name.clone(),
                        key: c
                            .access_key_id_key
                            .clone()
                            .unwrap_or_else(|| AWS_ACCESS_KEY_ID.into()),
                    },
                    SecretKeyRef {
                        name: c.name.clone(),
                        key: c
                            .secret_access_key_key
                            .clone()
                            .unwrap_or_else(|| AWS_SECRET_ACCESS_KEY.into()),
                    },
                )
            })
    }

    /// The Secret key of an AWS shared credentials file: `credentialsSecret` with `key`.
    pub fn credentials_file(&self) -> Option<SecretKeyRef> {
        self.credentials_secret.as_ref().and_then(|c| {
            c.key.as_ref().map(|key| SecretKeyRef {
                name: c.name.clone(),
                key: key.clone(),
            })
        })
    }
}

impl RestoreConsumerGroups {
    /// `auto`, true by default when neither `groups` nor `mapping` is given.
    pub fn effective_auto(&self) -> bool {
        self.auto
            .unwrap_or(self.groups.is_empty() && self.mapping.is_empty())
    }
}

impl AzureStorage {
    /// `accountKeySecret` or `credentialsSecret`.
    pub fn effective_account_key(&self) -> Option<&SecretKeyRef> {
        self.account_key_secret
            .as_ref()
            .or(self.credentials_secret.as_ref())
    }
}

impl FilesystemStorage {
    /// The directory within the volume, relative to its root.
    pub fn subdirectory(&self) -> Option<&str> {
        self.path
            .as_deref()
            .map(|p| p.trim_matches('/'))
            .filter(|p| !p.is_empty())
    }
}

/// Everything a resource says about its worker's pod, read once from both template
/// conventions and the top-level `env` and `resources`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodSettings {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub service_account_name: Option<String>,
    pub node_selector: Option<BTreeMap<String, String>>,
    pub affinity: Option<Affinity>,
    pub tolerations: Option<Vec<Toleration>>,
    pub priority_class_name: Option<String>,
    pub image_pull_secrets: Option<Vec<LocalObjectReference>>,
    pub host_aliases: Option<Vec<HostAlias>>,
    pub pod_security_context: Option<PodSecurityContext>,
    pub resources: Option<ResourceRequirements>,
    /// `env`, `template.env` and `template.container.env`, each name once: where
    /// several set it, the last of them in that order (Kubernetes' own rule for a
    /// container's repeated variables, and the order strimzi-backup-operator gives them).
    pub env: Vec<EnvVar>,
    pub container_security_context: Option<SecurityContext>,
}

impl PodSettings {
    fn of(
        template: Option<&PodTemplate>,
        env: &[EnvVar],
        resources: Option<&ResourceRequirements>,
    ) -> Self {
        let template = template.cloned().unwrap_or_default();
        let pod = template.pod.unwrap_or_default();
        let container = template.container.unwrap_or_default();
        let metadata = pod.metadata.unwrap_or_default();
        let mut labels = metadata.labels.unwrap_or_default();
        labels.extend(template.labels.unwrap_or_default());
        let mut annotations = metadata.annotations.unwrap_or_default();
        annotations.extend(template.annotations.unwrap_or_default());
        let mut all_env: Vec<EnvVar> = Vec::new();
        for var in env
            .iter()
            .cloned()
            .chain(template.env.unwrap_or_default())
            .chain(container.env.unwrap_or_default())
        {
            match all_env.iter_mut().find(|v| v.name == var.name) {
                Some(earlier) => *earlier = var,
                None => all_env.push(var),
            }
        }
        Self {
            labels,
            annotations,
            service_account_name: template.service_account_name.or(pod.service_account_name),
            node_selector: template.node_selector,
            affinity: template.affinity.or(pod.affinity),
            tolerations: template.tolerations.or(pod.tolerations),
            priority_class_name: template.priority_class_name,
            image_pull_secrets: template.image_pull_secrets.or(pod.image_pull_secrets),
            host_aliases: pod.host_aliases,
            pod_security_context: pod.security_context,
            resources: template.resources.or_else(|| resources.cloned()),
            env: all_env,
            container_security_context: container.security_context,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::backup::S3CredentialsSecret;
    use crate::api::common::{ContainerOverrides, PodMetadata, PodOverrides};
    use crate::api::restore::{PointInTime, RestoreTuning};

    fn key(name: &str, key: &str) -> SecretKeyRef {
        SecretKeyRef {
            name: name.into(),
            key: key.into(),
        }
    }

    #[test]
    fn s3_credentials_read_the_same_in_both_spellings() {
        let sbo = S3Storage {
            access_key_secret: Some(key("aws", "access-key-id")),
            secret_key_secret: Some(key("aws", "secret-access-key")),
            ..Default::default()
        };
        assert_eq!(
            sbo.access_keys(),
            Some((key("aws", "access-key-id"), key("aws", "secret-access-key")))
        );
        let ours = S3Storage {
            credentials_secret: Some(S3CredentialsSecret {
                name: "aws".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            ours.access_keys(),
            Some((
                key("aws", AWS_ACCESS_KEY_ID),
                key("aws", AWS_SECRET_ACCESS_KEY)
            ))
        );
        assert_eq!(S3Storage::default().access_keys(), None);
    }

    #[test]
    fn path_style_and_plain_http_in_both_spellings() {
        let force = S3Storage {
            force_path_style: Some(true),
            ..Default::default()
        };
        assert!(force.effective_path_style());
        assert!(!S3Storage::default().effective_path_style());
        let http = S3Storage {
            endpoint: Some("http://minio:9000".into()),
            ..Default::default()
        };
        assert!(http.effective_allow_http());
        assert!(
            !S3Storage {
                endpoint: Some("https://minio".into()),
                ..Default::default()
            }
            .effective_allow_http()
        );
    }

    #[test]
    fn purge_dry_run_and_window_in_both_spellings() {
        let mut spec = KafkaRestoreSpec {
            restore: Some(Box::new(RestoreTuning {
                purge_topics: Some(true),
                dry_run: Some(true),
                ..Default::default()
            })),
            point_in_time: Some(Box::new(PointInTime {
                start_timestamp: Some("2026-01-01T00:00:00Z".into()),
                timestamp: Some("2026-01-02T00:00:00.000Z".into()),
                ..Default::default()
            })),
            ..Default::default()
        };
        assert!(spec.effective_purge_topics() && spec.effective_dry_run());
        assert_eq!(spec.window_start(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(
            spec.window_end(),
            Some(WindowEnd::AtOrBefore("2026-01-02T00:00:00.000Z".into()))
        );
        spec.restore = Some(Box::new(RestoreTuning {
            existing_topic_policy: Some(ExistingTopicPolicy::Overwrite),
            ..Default::default()
        }));
        assert!(spec.effective_purge_topics(), "overwrite purges");
        spec.restore = None;
        assert!(!spec.effective_purge_topics() && !spec.effective_dry_run());
    }

    #[test]
    fn both_template_conventions_make_one_pod() {
        let template = PodTemplate {
            labels: Some([("team".to_string(), "a".to_string())].into()),
            env: Some(vec![EnvVar {
                name: "A".into(),
                ..Default::default()
            }]),
            pod: Some(PodOverrides {
                metadata: Some(PodMetadata {
                    labels: Some([("tier".to_string(), "backup".to_string())].into()),
                    annotations: Some([("note".to_string(), "x".to_string())].into()),
                }),
                service_account_name: Some("jobs".into()),
                host_aliases: Some(vec![HostAlias {
                    ip: "10.0.0.1".into(),
                    hostnames: Some(vec!["kafka".into()]),
                }]),
                ..Default::default()
            }),
            container: Some(ContainerOverrides {
                env: Some(vec![EnvVar {
                    name: "B".into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let spec = KafkaBackupSpec {
            template: Some(Box::new(template)),
            env: vec![EnvVar {
                name: "C".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let pod = spec.pod_settings();
        assert_eq!(pod.labels.len(), 2);
        assert_eq!(pod.annotations["note"], "x");
        assert_eq!(pod.service_account_name.as_deref(), Some("jobs"));
        assert_eq!(pod.host_aliases.unwrap()[0].ip, "10.0.0.1");
        let names: Vec<&str> = pod.env.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["C", "A", "B"]);
    }

    /// A variable set in several lists appears once, with the value of the last list in
    /// the order env, template.env, template.container.env (strimzi-backup-operator's
    /// manifests set RUST_LOG in env and in the container template).
    #[test]
    fn the_container_templates_variable_overrides_the_specs() {
        let var = |name: &str, value: &str| EnvVar {
            name: name.into(),
            value: Some(value.into()),
            ..Default::default()
        };
        let spec = KafkaBackupSpec {
            env: vec![var("RUST_LOG", "warn"), var("TZ", "UTC")],
            template: Some(Box::new(PodTemplate {
                env: Some(vec![var("TZ", "Europe/Paris")]),
                container: Some(ContainerOverrides {
                    env: Some(vec![var("RUST_LOG", "info")]),
                    ..Default::default()
                }),
                ..Default::default()
            })),
            ..Default::default()
        };
        let env: Vec<(String, String)> = spec
            .pod_settings()
            .env
            .into_iter()
            .map(|e| (e.name, e.value.unwrap()))
            .collect();
        assert_eq!(
            env,
            [
                ("RUST_LOG".to_string(), "info".to_string()),
                ("TZ".to_string(), "Europe/Paris".to_string())
            ]
        );
    }

    #[test]
    fn consumer_groups_without_a_list_mean_every_group() {
        let mut groups = RestoreConsumerGroups {
            restore: true,
            ..Default::default()
        };
        assert!(groups.effective_auto());
        groups.groups = vec!["billing".into()];
        assert!(!groups.effective_auto(), "a list says which");
        groups.auto = Some(true);
        assert!(groups.effective_auto());
    }

    #[test]
    fn a_credentials_file_gives_no_key_variables() {
        let mut s3 = S3Storage {
            credentials_secret: Some(S3CredentialsSecret {
                name: "aws".into(),
                key: Some("credentials".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(s3.access_keys(), None);
        assert_eq!(s3.credentials_file(), Some(key("aws", "credentials")));
        s3.access_key_secret = Some(key("keys", "id"));
        s3.secret_key_secret = Some(key("keys", "secret"));
        assert_eq!(
            s3.access_keys(),
            Some((key("keys", "id"), key("keys", "secret"))),
            "they override the file"
        );
    }
}
