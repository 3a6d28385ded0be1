//! Types shared by KafkaBackup and KafkaRestore: how to reach Kafka, which topics, how
//! the Job's pod is shaped, and status conditions. No IO.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, HostAlias, LocalObjectReference, PodSecurityContext, ResourceRequirements,
    SecurityContext, Toleration,
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

/// A Kafka cluster managed by Strimzi.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StrimziClusterRef {
    /// Name of the Strimzi `Kafka` resource.
    pub name: String,
    /// Name of the listener to connect through (as in the Kafka resource's
    /// `spec.kafka.listeners[].name`). When left out, the operator picks an internal
    /// listener whose authentication matches `spec.authentication`, preferring TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener: Option<String>,
    /// Namespace of the `Kafka` resource. Defaults to this resource's namespace. The
    /// worker's pod runs in this resource's namespace and can mount Secrets only from
    /// there: for a cluster in another namespace, copy its CA certificate into this
    /// namespace and name it in `caSecret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Secret (in this resource's namespace) and key of the cluster CA certificate.
    /// Defaults to Strimzi's `<name>-cluster-ca-cert`, key `ca.crt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret: Option<SecretKeyRef>,
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
    /// A Strimzi `KafkaUser` (in this resource's namespace) whose credentials to use:
    /// the operator reads its status (user name and Secret) and the worker's pod
    /// mounts the Secret the User Operator keeps (`password` for SCRAM,
    /// `user.crt`/`user.key` for `tls`). Instead of `username`, `passwordSecret` and
    /// `certificateAndKey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_user_ref: Option<KafkaUserRef>,
}

/// A Strimzi `KafkaUser`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaUserRef {
    /// Name of the `KafkaUser`.
    pub name: String,
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
    /// Pod settings in the Strimzi template convention (`template.pod`), as
    /// strimzi-backup-operator spells them. A setting may be given here or in the
    /// fields above, not in both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<PodOverrides>,
    /// Settings of the worker container in the Strimzi template convention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerOverrides>,
}

/// The schema of a Kubernetes object passed through as strimzi-backup-operator
/// declares it: any object, kept as given. Its fields are checked when the webhook
/// reads it into the Kubernetes type (unknown ones are refused there), which keeps the
/// CRD small enough for `kubectl apply`.
fn passed_through(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// A list of Kubernetes objects passed through (see [`passed_through`]).
fn passed_through_list(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
    })
}

/// Paths (under `spec`) of the Kubernetes objects passed through as they are (declared
/// with preserved unknown fields, checked by the webhook).
pub const PASSED_THROUGH: [&str; 6] = [
    "/template/pod/affinity",
    "/template/pod/tolerations",
    "/template/pod/imagePullSecrets",
    "/template/pod/securityContext",
    "/template/container/env",
    "/template/container/securityContext",
];

/// `template.pod`: settings of the worker's pod.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodOverrides {
    /// Extra labels and annotations of the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<PodMetadata>,
    /// Scheduling constraints of the pod (a Kubernetes `Affinity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "passed_through")]
    pub affinity: Option<Affinity>,
    /// Taints the pod tolerates (Kubernetes `Toleration`s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "passed_through_list")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Entries added to the pod's `/etc/hosts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_aliases: Option<Vec<HostAlias>>,
    /// Secrets used to pull the image (`{name}` each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "passed_through_list")]
    pub image_pull_secrets: Option<Vec<LocalObjectReference>>,
    /// Pod security settings (a Kubernetes `PodSecurityContext`), merged over the
    /// operator's: the pod must still meet the Pod Security Standard `restricted`
    /// (non-root, RuntimeDefault or Localhost seccomp); settings that break it are
    /// refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "passed_through")]
    pub security_context: Option<PodSecurityContext>,
    /// Service account of the pod, in this resource's namespace (for workload
    /// identity: IRSA, Azure Workload Identity, GKE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
}

/// Extra labels and annotations of a pod.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodMetadata {
    /// Extra labels. The operator's own labels take precedence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Extra annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// `template.container`: settings of the worker container.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerOverrides {
    /// Extra environment variables (Kubernetes `EnvVar`s). Variables the operator sets
    /// cannot be overridden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "passed_through_list")]
    pub env: Option<Vec<EnvVar>>,
    /// Container security settings (a Kubernetes `SecurityContext`), merged over the
    /// operator's; settings that break the Pod Security Standard `restricted` are
    /// refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "passed_through")]
    pub security_context: Option<SecurityContext>,
}

/// TCP settings of the connections to the brokers.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionTuning {
    /// Send TCP keepalive probes. Defaults to true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_keepalive: Option<bool>,
    /// Seconds of idleness before the first keepalive probe. Defaults to 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_time_secs: Option<u64>,
    /// Seconds between keepalive probes. Defaults to 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_interval_secs: Option<u64>,
    /// Disable Nagle's algorithm (TCP_NODELAY). Defaults to true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_nodelay: Option<bool>,
    /// TCP connections kept to each broker. Defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections_per_broker: Option<u32>,
}

/// Logging of the worker.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Logging {
    /// Level of everything not named in `modules`: `error`, `warn`, `info`, `debug` or
    /// `trace`. Defaults to `info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// `text` or `json`. Defaults to `json`, what log collectors read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Levels of single modules, e.g. `kafka_backup_core: debug`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub modules: BTreeMap<String, String>,
    /// `stderr` (the default) or `stdout`. Both reach `kubectl logs`; a file in the
    /// pod would be lost with it, so a file path is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Rotation of a log file. Refused: the worker logs to its container's output,
    /// which the kubelet rotates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<LogRotation>,
}

/// Rotation of a log file.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogRotation {
    /// Rotated files kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_files: Option<u32>,
    /// Size of a file before it is rotated, in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size_mb: Option<u64>,
}

/// The worker's Prometheus endpoint (kafka-backup-core's metrics: records, bytes,
/// lag and throughput per partition).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkerMetrics {
    /// Serve metrics from the worker. Defaults to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Port of the endpoint. Defaults to 8080.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Address to listen on. Defaults to `0.0.0.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_address: Option<String>,
    /// Path of the endpoint. Defaults to `/metrics`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Seconds to keep serving after the run ends, so the last values are scraped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive_seconds: Option<u64>,
    /// How often the values are recalculated, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_interval_ms: Option<u64>,
    /// Most topic/partition series exported; 0 for no limit. Defaults to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_partition_labels: Option<u32>,
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
