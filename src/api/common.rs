//! Types shared by KafkaBackup and KafkaRestore: how to reach Kafka, which topics, how
//! the Job's pod is shaped, and status conditions. No IO.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, LocalObjectReference, ResourceRequirements, Toleration,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a backup run or a restore attempt ended. The worker's termination message and
/// the status use the same words; the lower-case spelling of earlier workers is read too.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Outcome {
    #[serde(alias = "succeeded")]
    Succeeded,
    #[serde(alias = "failed")]
    Failed,
}

/// A Kafka cluster managed by Strimzi, in the same namespace as this resource.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StrimziClusterRef {
    /// Name of the Strimzi `Kafka` resource.
    pub name: String,
    /// Name of the listener to connect through (as in the Kafka resource's
    /// `spec.kafka.listeners[].name`). When left out, the first internal listener is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener: Option<String>,
}

/// A Kafka cluster given by its bootstrap address.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaConnection {
    /// Comma-separated `host:port` list of brokers to bootstrap from,
    /// e.g. `kafka-0.kafka:9092,kafka-1.kafka:9092`.
    pub bootstrap_servers: String,
    /// TLS for the connection. When left out, the connection is plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<KafkaTls>,
    /// How to authenticate to the brokers. When left out, no authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<KafkaAuthentication>,
}

/// TLS settings for a Kafka connection.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaTls {
    /// Secret key holding the PEM certificate(s) of the CA that signed the brokers'
    /// certificates. When left out, the system's trusted roots are used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret: Option<SecretKeyRef>,
}

/// How to authenticate to Kafka. Credentials are read from Secrets, never stored here.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaAuthentication {
    /// Mechanism: `scram-sha-512`, `scram-sha-256`, `plain` (SASL) or `tls` (mutual TLS).
    #[serde(rename = "type")]
    pub kind: AuthenticationType,
    /// User name for the SASL mechanisms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Secret key holding the password, for the SASL mechanisms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<SecretKeyRef>,
    /// Secret holding the client certificate and key, for `tls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_and_key: Option<CertificateAndKey>,
}

/// An authentication mechanism.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum AuthenticationType {
    /// SASL SCRAM-SHA-512.
    #[serde(rename = "scram-sha-512")]
    ScramSha512,
    /// SASL SCRAM-SHA-256.
    #[serde(rename = "scram-sha-256")]
    ScramSha256,
    /// SASL PLAIN.
    #[serde(rename = "plain")]
    Plain,
    /// Mutual TLS with a client certificate.
    #[serde(rename = "tls")]
    Tls,
}

impl AuthenticationType {
    /// Whether the mechanism takes a user name and password.
    pub fn is_sasl(self) -> bool {
        !matches!(self, AuthenticationType::Tls)
    }
}

/// A key in a Secret of the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret.
    pub name: String,
    /// Key within the Secret.
    pub key: String,
}

/// A client certificate and its key, in one Secret of the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateAndKey {
    /// Name of the Secret.
    pub secret_name: String,
    /// Key of the PEM certificate within the Secret, e.g. `user.crt`.
    pub certificate: String,
    /// Key of the PEM private key within the Secret, e.g. `user.key`.
    pub key: String,
}

/// Which topics to act on. A pattern is a glob (`orders-*`, `*`), or a regular
/// expression when it starts with `~` (`~^orders-[0-9]+$`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopicSelector {
    /// Topics to include. Defaults to `["*"]`, every topic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Topics to leave out, even when included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

/// Settings for the pod that runs the Job. Everything is optional.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplate {
    /// Extra labels for the pod. The operator's own labels take precedence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Extra annotations for the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Service account the pod runs as, e.g. one with an IAM role for S3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Node labels the pod must be scheduled on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Scheduling constraints of the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Taints the pod tolerates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Priority class of the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// CPU and memory requests and limits of the worker container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Extra environment variables of the worker container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvVar>>,
    /// Secrets used to pull the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<LocalObjectReference>>,
}

/// The Kafka cluster a resource points at: exactly one of the two spec fields.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClusterSource<'a> {
    /// `spec.strimziClusterRef`.
    Strimzi(&'a StrimziClusterRef),
    /// `spec.kafka`.
    Direct(&'a KafkaConnection),
}

/// Condition types and reasons, as users see them in `status.conditions`.
pub mod condition {
    /// Whether the resource has reached its goal.
    pub const READY: &str = "Ready";
    /// A restore has completed; it is never run again.
    pub const RESTORE_COMPLETE: &str = "RestoreComplete";
    /// Something failed that needs a person.
    pub const ERROR: &str = "Error";

    pub const RESTORE_RUNNING: &str = "RestoreRunning";
    pub const RESTORE_COMPLETED: &str = "RestoreCompleted";
    pub const RESTORE_FAILED: &str = "RestoreFailed";
    pub const RESTORE_DISABLED: &str = "RestoreDisabled";
    pub const BACKUP_RUNNING: &str = "BackupRunning";
    pub const BACKUP_COMPLETED: &str = "BackupCompleted";
    pub const BACKUP_FAILED: &str = "BackupFailed";
    pub const BACKUP_SCHEDULED: &str = "BackupScheduled";
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// A child's deterministic name is taken by an object this resource does not own.
    pub const NAME_CONFLICT: &str = "NameConflict";
}
