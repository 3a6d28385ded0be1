//! Compatibility with strimzi-backup-operator's `kafkabackup.com/v1alpha1` API (and its
//! `v1`): manifests of our own in its spelling (`tests/compat/`) pass `validate`, the
//! webhook over TLS and the CRD's schema; every field path of its CRDs (kept below as
//! facts, from its v0.2.x `deploy/crds/`) is in our CRD schema, and is either used by
//! one of those manifests or refused with a reason naming the field.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use kafka_backup_operator::api::crds;
use kafka_backup_operator::manifest_check::{Input, check};
use serde_json::{Value, json};
use support::{TestServer, patch_of, review};

/// Field paths of strimzi-backup-operator's KafkaBackup and KafkaRestore specs alike (v0.2.x).
const SBO_COMMON_FIELDS: &[&str] = &[
    "spec.authentication",
    "spec.authentication.certificateAndKey",
    "spec.authentication.certificateAndKey.certificate",
    "spec.authentication.certificateAndKey.key",
    "spec.authentication.certificateAndKey.secretName",
    "spec.authentication.kafkaUserRef",
    "spec.authentication.kafkaUserRef.name",
    "spec.authentication.passwordSecret",
    "spec.authentication.passwordSecret.key",
    "spec.authentication.passwordSecret.name",
    "spec.authentication.type",
    "spec.authentication.username",
    "spec.backoffLimit",
    "spec.connection",
    "spec.connection.connectionsPerBroker",
    "spec.connection.keepaliveIntervalSecs",
    "spec.connection.keepaliveTimeSecs",
    "spec.connection.tcpKeepalive",
    "spec.connection.tcpNodelay",
    "spec.consumerGroups",
    "spec.env",
    "spec.image",
    "spec.logging",
    "spec.logging.format",
    "spec.logging.level",
    "spec.logging.modules",
    "spec.logging.output",
    "spec.logging.rotation",
    "spec.logging.rotation.maxFiles",
    "spec.logging.rotation.maxSizeMb",
    "spec.metrics",
    "spec.metrics.bindAddress",
    "spec.metrics.enabled",
    "spec.metrics.keepAliveSeconds",
    "spec.metrics.maxPartitionLabels",
    "spec.metrics.path",
    "spec.metrics.port",
    "spec.metrics.updateIntervalMs",
    "spec.resources",
    "spec.resources.limits",
    "spec.resources.requests",
    "spec.strimziClusterRef",
    "spec.strimziClusterRef.caSecret",
    "spec.strimziClusterRef.caSecret.key",
    "spec.strimziClusterRef.caSecret.name",
    "spec.strimziClusterRef.listener",
    "spec.strimziClusterRef.name",
    "spec.strimziClusterRef.namespace",
    "spec.template",
    "spec.template.container",
    "spec.template.container.env",
    "spec.template.container.securityContext",
    "spec.template.pod",
    "spec.template.pod.affinity",
    "spec.template.pod.hostAliases",
    "spec.template.pod.hostAliases[].hostnames",
    "spec.template.pod.hostAliases[].ip",
    "spec.template.pod.imagePullSecrets",
    "spec.template.pod.metadata",
    "spec.template.pod.metadata.annotations",
    "spec.template.pod.metadata.labels",
    "spec.template.pod.securityContext",
    "spec.template.pod.serviceAccountName",
    "spec.template.pod.tolerations",
    "spec.topics",
    "spec.topics.exclude",
    "spec.topics.include",
];

/// Field paths of its KafkaBackup spec only.
const SBO_BACKUP_FIELDS: &[&str] = &[
    "spec.backup",
    "spec.backup.checkpointIntervalSecs",
    "spec.backup.compression",
    "spec.backup.compressionLevel",
    "spec.backup.consumerGroupSnapshot",
    "spec.backup.continuous",
    // Declared by 0.2.15 and earlier, removed since (never implemented there either).
    "spec.backup.encryption",
    "spec.backup.encryption.enabled",
    "spec.backup.encryption.keySecret",
    "spec.backup.encryption.keySecret.key",
    "spec.backup.encryption.keySecret.name",
    "spec.backup.includeInternalTopics",
    "spec.backup.includeOffsetHeaders",
    "spec.backup.internalTopics",
    "spec.backup.parallelism",
    "spec.backup.pollIntervalMs",
    "spec.backup.segmentMaxIntervalMs",
    "spec.backup.segmentSize",
    "spec.backup.sourceClusterId",
    "spec.backup.startOffset",
    "spec.backup.stopAtCurrentOffsets",
    "spec.backup.syncIntervalSecs",
    "spec.consumerGroups.exclude",
    "spec.consumerGroups.include",
    "spec.offsetStorage",
    "spec.offsetStorage.backend",
    "spec.offsetStorage.dbPath",
    "spec.offsetStorage.s3Key",
    "spec.offsetStorage.syncIntervalSecs",
    "spec.retention",
    "spec.retention.maxAge",
    "spec.retention.maxBackups",
    "spec.retention.pruneOnSchedule",
    "spec.schedule",
    "spec.schedule.cron",
    "spec.schedule.suspend",
    "spec.schedule.timezone",
    "spec.storage",
    "spec.storage.azure",
    "spec.storage.azure.accountKeySecret",
    "spec.storage.azure.accountKeySecret.key",
    "spec.storage.azure.accountKeySecret.name",
    "spec.storage.azure.clientId",
    "spec.storage.azure.clientSecretSecret",
    "spec.storage.azure.clientSecretSecret.key",
    "spec.storage.azure.clientSecretSecret.name",
    "spec.storage.azure.container",
    "spec.storage.azure.credentialsSecret",
    "spec.storage.azure.credentialsSecret.key",
    "spec.storage.azure.credentialsSecret.name",
    "spec.storage.azure.endpoint",
    "spec.storage.azure.prefix",
    "spec.storage.azure.sasTokenSecret",
    "spec.storage.azure.sasTokenSecret.key",
    "spec.storage.azure.sasTokenSecret.name",
    "spec.storage.azure.storageAccount",
    "spec.storage.azure.tenantId",
    "spec.storage.azure.useWorkloadIdentity",
    "spec.storage.filesystem",
    "spec.storage.filesystem.path",
    "spec.storage.gcs",
    "spec.storage.gcs.bucket",
    "spec.storage.gcs.credentialsSecret",
    "spec.storage.gcs.credentialsSecret.key",
    "spec.storage.gcs.credentialsSecret.name",
    "spec.storage.gcs.prefix",
    "spec.storage.gcs.serviceAccountPath",
    "spec.storage.s3",
    "spec.storage.s3.accessKeySecret",
    "spec.storage.s3.accessKeySecret.key",
    "spec.storage.s3.accessKeySecret.name",
    "spec.storage.s3.allowHttp",
    "spec.storage.s3.bucket",
    "spec.storage.s3.credentialsSecret",
    "spec.storage.s3.credentialsSecret.key",
    "spec.storage.s3.credentialsSecret.name",
    "spec.storage.s3.endpoint",
    "spec.storage.s3.forcePathStyle",
    "spec.storage.s3.prefix",
    "spec.storage.s3.region",
    "spec.storage.s3.secretKeySecret",
    "spec.storage.s3.secretKeySecret.key",
    "spec.storage.s3.secretKeySecret.name",
    "spec.storage.type",
];

/// Field paths of its KafkaRestore spec only.
const SBO_RESTORE_FIELDS: &[&str] = &[
    "spec.backupRef",
    "spec.backupRef.backupId",
    "spec.backupRef.name",
    "spec.consumerGroups.auto",
    "spec.consumerGroups.groups",
    "spec.consumerGroups.mapping",
    "spec.consumerGroups.mapping[].sourceGroup",
    "spec.consumerGroups.mapping[].targetGroup",
    "spec.consumerGroups.offsetReport",
    "spec.consumerGroups.restore",
    "spec.consumerGroups.strategy",
    "spec.pointInTime",
    "spec.pointInTime.offsetFromEnd",
    "spec.pointInTime.startTimestamp",
    "spec.pointInTime.timestamp",
    "spec.restore",
    "spec.restore.checkpointIntervalSecs",
    "spec.restore.checkpointState",
    "spec.restore.defaultReplicationFactor",
    "spec.restore.dryRun",
    "spec.restore.existingTopicPolicy",
    "spec.restore.includeOriginalOffsetHeader",
    "spec.restore.parallelism",
    "spec.restore.partitionMapping",
    "spec.restore.partitionMapping[].sourcePartition",
    "spec.restore.partitionMapping[].targetPartition",
    "spec.restore.produceAcks",
    "spec.restore.produceBatchSize",
    "spec.restore.produceTimeoutMs",
    "spec.restore.purgeTopics",
    "spec.restore.rateLimitBytesPerSec",
    "spec.restore.rateLimitRecordsPerSec",
    "spec.restore.repartitioning",
    "spec.restore.repartitioning[].strategy",
    "spec.restore.repartitioning[].targetPartitions",
    "spec.restore.repartitioning[].topic",
    "spec.restore.sourcePartitions",
    "spec.restore.topicCreation",
    "spec.topicMapping",
    "spec.topicMapping[].sourceTopic",
    "spec.topicMapping[].targetTopic",
];

/// Every field path of each kind.
fn sbo_fields() -> [(&'static str, Vec<&'static str>); 2] {
    let with = |own: &[&'static str]| [SBO_COMMON_FIELDS, own].concat();
    [
        ("KafkaBackup", with(SBO_BACKUP_FIELDS)),
        ("KafkaRestore", with(SBO_RESTORE_FIELDS)),
    ]
}

/// Fields refused whatever their value, with a spec fragment that sets them and the
/// words of the reason.
fn refused() -> Vec<(&'static str, &'static str, Value, &'static str)> {
    vec![
        (
            "KafkaBackup",
            "spec.backup.pollIntervalMs",
            json!({"backup": {"pollIntervalMs": 500}}),
            "continuous mode",
        ),
        (
            "KafkaBackup",
            "spec.logging.rotation",
            json!({"logging": {"rotation": {"maxFiles": 3, "maxSizeMb": 10}}}),
            "kubelet rotates",
        ),
        (
            "KafkaBackup",
            "spec.offsetStorage.s3Key",
            json!({"offsetStorage": {"s3Key": "offsets.db"}}),
            "offsets.db",
        ),
        (
            "KafkaRestore",
            "spec.pointInTime.offsetFromEnd",
            json!({"pointInTime": {"offsetFromEnd": "1h"}}),
            "pointInTime.timestamp",
        ),
        (
            "KafkaRestore",
            "spec.restore.checkpointState",
            json!({"restore": {"checkpointState": "/tmp/checkpoint.json"}}),
            "report volume",
        ),
        (
            "KafkaRestore",
            "spec.consumerGroups.offsetReport",
            json!({"consumerGroups": {"restore": true, "auto": true,
                "offsetReport": "/tmp/offsets.csv"}}),
            "offsets.json",
        ),
        (
            "KafkaRestore",
            "spec.logging.rotation",
            json!({"logging": {"rotation": {"maxFiles": 3}}}),
            "kubelet rotates",
        ),
    ]
}

/// Values refused for what they ask, though the field is accepted.
fn refused_values() -> Vec<(&'static str, &'static str, Value, &'static str)> {
    vec![
        (
            "KafkaBackup",
            "spec.backup.continuous",
            json!({"backup": {"continuous": true}}),
            "spec.schedule",
        ),
        (
            "KafkaBackup",
            "spec.backup.stopAtCurrentOffsets",
            json!({"backup": {"stopAtCurrentOffsets": false}}),
            "must end",
        ),
        (
            "KafkaBackup",
            "spec.backup.compression",
            json!({"backup": {"compression": "gzip"}}),
            "zstd",
        ),
        (
            "KafkaBackup",
            "spec.backup.compression",
            json!({"backup": {"compression": "snappy"}}),
            "zstd",
        ),
        (
            "KafkaBackup",
            "spec.logging.output",
            json!({"logging": {"output": "/var/log/backup.log"}}),
            "kubectl logs",
        ),
        (
            "KafkaBackup",
            "spec.offsetStorage.backend",
            json!({"offsetStorage": {"backend": "memory"}}),
            "SQLite",
        ),
        (
            "KafkaBackup",
            "spec.offsetStorage.dbPath",
            json!({"offsetStorage": {"dbPath": "/data/offsets.db"}}),
            "/tmp/",
        ),
        (
            "KafkaBackup",
            "spec.storage.filesystem.claimName",
            json!({"storage": {"type": "filesystem", "filesystem": {"path": "/backups"}}}),
            "PersistentVolumeClaim",
        ),
        (
            "KafkaRestore",
            "spec.consumerGroups.strategy",
            json!({"consumerGroups": {"restore": true, "auto": true, "strategy": "timestamp-based"}}),
            "not implemented",
        ),
        (
            "KafkaRestore",
            "spec.consumerGroups.strategy",
            json!({"consumerGroups": {"restore": true, "auto": true, "strategy": "cluster-scan"}}),
            "not implemented",
        ),
        (
            "KafkaRestore",
            "spec.consumerGroups.auto",
            json!({"consumerGroups": {"restore": true, "auto": false}}),
            "no group would be set",
        ),
        (
            "KafkaBackup",
            "spec.backup.encryption.enabled",
            json!({"backup": {"encryption": {"enabled": true,
                "keySecret": {"name": "k", "key": "aes"}}}}),
            "does not encrypt",
        ),
        (
            "KafkaBackup",
            "spec.storage.s3.credentialsSecret.key",
            json!({"storage": {"type": "s3", "s3": {"bucket": "b",
                "credentialsSecret": {"name": "aws", "key": "credentials",
                                      "accessKeyIdKey": "id"}}}}),
            "one of the two forms",
        ),
        (
            "KafkaRestore",
            "spec.restore.existingTopicPolicy",
            json!({"restore": {"existingTopicPolicy": "overwrite", "purgeTopics": false}}),
            "purgeTopics",
        ),
        (
            "KafkaRestore",
            "spec.template.pod.securityContext.runAsUser",
            json!({"template": {"pod": {"securityContext": {"runAsUser": 0}}}}),
            "restricted",
        ),
        (
            "KafkaRestore",
            "spec.template.container.securityContext.privileged",
            json!({"template": {"container": {"securityContext": {"privileged": true}}}}),
            "restricted",
        ),
    ]
}

fn examples() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                serde_yaml::from_str(&text).unwrap(),
            )
        })
        .collect()
}

fn base(kind: &str) -> Value {
    match kind {
        "KafkaBackup" => json!({
            "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaBackup",
            "metadata": {"name": "probe", "namespace": "kafka"},
            "spec": {"strimziClusterRef": {"name": "my-cluster"},
                     "storage": {"type": "s3", "s3": {"bucket": "probe-bucket"}}}
        }),
        _ => json!({
            "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaRestore",
            "metadata": {"name": "probe", "namespace": "kafka"},
            "spec": {"strimziClusterRef": {"name": "my-cluster"},
                     "backupRef": {"name": "daily"}}
        }),
    }
}

fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (slot, value) => *slot = value.clone(),
    }
}

fn validate(object: &Value) -> kafka_backup_operator::manifest_check::Report {
    check(&[Input {
        name: "probe".into(),
        text: serde_json::to_string(object).unwrap(),
    }])
}

/// Every field path an object sets, as the lists above spell them.
fn paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = format!("{prefix}.{k}");
                out.insert(path.clone());
                paths(v, &path, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                paths(item, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// The schema node of a path in our CRD, or `true` when a node above keeps unknown
/// fields (an object passed through as strimzi-backup-operator declares it).
fn in_schema(kind: &str, path: &str) -> bool {
    static SCHEMAS: std::sync::LazyLock<Vec<(String, Value)>> = std::sync::LazyLock::new(|| {
        crds()
            .into_iter()
            .map(|crd| {
                let schema = crd.spec.versions[0].schema.clone().unwrap();
                (
                    crd.spec.names.kind.clone(),
                    serde_json::to_value(schema.open_api_v3_schema.unwrap()).unwrap(),
                )
            })
            .collect()
    });
    let mut node = SCHEMAS
        .iter()
        .find(|(k, _)| k == kind)
        .map(|(_, schema)| schema.clone())
        .unwrap();
    for part in path.split('.') {
        if node["x-kubernetes-preserve-unknown-fields"] == true
            || node.pointer("/items/x-kubernetes-preserve-unknown-fields") == Some(&json!(true))
            || node["additionalProperties"].is_object()
        {
            return true;
        }
        let (name, list) = match part.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (part, false),
        };
        node = node["properties"][name].clone();
        if node.is_null() {
            return false;
        }
        if list {
            node = node["items"].clone();
        }
    }
    true
}

#[test]
fn every_field_of_strimzi_backup_operator_is_in_our_schema() {
    for (kind, fields) in [
        ("KafkaBackup", SBO_BACKUP_FIELDS),
        ("KafkaRestore", SBO_RESTORE_FIELDS),
    ] {
        for field in fields {
            assert!(
                in_schema(kind, field),
                "{kind} {field} is not in our CRD schema"
            );
        }
    }
}

#[test]
fn every_field_is_used_by_an_accepted_manifest_or_refused_with_a_reason() {
    let mut used: BTreeSet<(String, String)> = BTreeSet::new();
    for (file, object) in examples() {
        let kind = object["kind"].as_str().unwrap().to_string();
        let mut set = BTreeSet::new();
        paths(&object["spec"], "spec", &mut set);
        used.extend(set.into_iter().map(|p| (kind.clone(), p)));
        let report = validate(&object);
        assert!(report.is_valid(), "{file}: {:#?}", report.findings);
    }
    let refused: BTreeSet<(String, String)> = refused()
        .into_iter()
        .map(|(kind, field, _, _)| (kind.to_string(), field.to_string()))
        .collect();
    let mut missing = Vec::new();
    for (kind, fields) in sbo_fields() {
        for field in fields {
            let key = (kind.to_string(), field.to_string());
            let refused_above = refused
                .iter()
                .any(|(k, f)| k == kind && field.starts_with(f.as_str()));
            if !used.contains(&key) && !refused_above {
                missing.push(format!("{kind} {field}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "neither used by tests/compat nor refused: {missing:#?}"
    );
}

#[test]
fn fields_that_cannot_be_honoured_are_refused_naming_them_and_the_way_out() {
    for (kind, field, fragment, reason) in refused().into_iter().chain(refused_values()) {
        let mut object = base(kind);
        merge(&mut object["spec"], &fragment);
        let report = validate(&object);
        assert!(!report.is_valid(), "{kind} {field} was accepted");
        let said = report
            .findings
            .iter()
            .filter(|f| !f.is_warning)
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            said.contains(field) && said.contains(reason),
            "{kind} {field}: expected the field and '{reason}' in:\n{said}"
        );
    }
}

/// The webhook over TLS admits each example, as `kubectl apply` and a GitOps tool
/// would send it, and its defaults never contradict a setting of the other spelling.
#[tokio::test]
async fn the_webhook_admits_every_example() {
    let server = TestServer::start().await;
    for (file, object) in examples() {
        let (status, answer) = server
            .review("/mutate", &review("CREATE", Some(&object), None, false))
            .await;
        assert_eq!(status, 200, "{file}");
        assert_eq!(answer["response"]["allowed"], true, "{file}: {answer}");
        let patch = patch_of(&answer);
        assert!(!patch.0.is_empty(), "{file}: defaults are filled in");
        let mut defaulted = object.clone();
        json_patch::patch(&mut defaulted, &patch).unwrap();
        let report = validate(&defaulted);
        assert!(
            report.is_valid(),
            "{file} after defaults: {:#?}",
            report.findings
        );
        let (status, answer) = server
            .review(
                "/validate",
                &review("CREATE", Some(&defaulted), None, false),
            )
            .await;
        assert_eq!(status, 200, "{file}");
        assert_eq!(answer["response"]["allowed"], true, "{file}: {answer}");
    }
    server.stop().await;
}

/// The map form of topicMapping of this operator's first releases is rewritten as a
/// list by the webhook, with a warning naming the new form.
#[tokio::test]
async fn the_map_form_of_topic_mapping_is_rewritten_by_the_webhook() {
    let server = TestServer::start().await;
    let mut object = base("KafkaRestore");
    object["spec"]["topicMapping"] = json!({"orders": "orders-restored"});
    let (_, answer) = server
        .review("/mutate", &review("CREATE", Some(&object), None, false))
        .await;
    assert_eq!(answer["response"]["allowed"], true, "{answer}");
    let warnings = answer["response"]["warnings"].to_string();
    assert!(warnings.contains("sourceTopic"), "{answer}");
    json_patch::patch(&mut object, &patch_of(&answer)).unwrap();
    assert_eq!(
        object["spec"]["topicMapping"],
        json!([{"sourceTopic": "orders", "targetTopic": "orders-restored"}])
    );
    assert_eq!(object["spec"]["backoffLimit"], 0, "defaults too");
    server.stop().await;
}
