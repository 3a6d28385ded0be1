//! Each setting of the API shown to change what the builders make: a spec fragment, and
//! where in the worker configuration or the pod its value lands (table-driven); and the
//! manifests of `tests/compat/` built into worker configurations and pods compared with
//! `tests/compat/golden/` (regenerate with `UPDATE_GOLDEN=1`).

use std::path::Path;

use kube::api::{ApiResource, DynamicObject};
use serde_json::{Value, json};

use super::*;
use crate::api::KafkaBackupSpec;
use crate::controller::observe::{StrimziObjects, connection_of};
use crate::controller::strimzi;

fn object(resource: &ApiResource, name: &str, data: Value) -> DynamicObject {
    let mut object = DynamicObject::new(name, resource);
    object.data = data;
    object
}

/// A Strimzi cluster with one listener of each authentication, all reporting addresses.
fn strimzi_cluster(name: &str) -> DynamicObject {
    object(
        &strimzi::kafka_resource(),
        name,
        json!({
            "spec": {"kafka": {"listeners": [
                {"name": "plain", "type": "internal", "tls": false},
                {"name": "tls", "type": "internal", "tls": true},
                {"name": "scram", "type": "internal", "tls": true,
                 "authentication": {"type": "scram-sha-512"}},
                {"name": "mtls", "type": "internal", "tls": true,
                 "authentication": {"type": "tls"}}
            ]}},
            "status": {"listeners": [
                {"name": "plain", "bootstrapServers": format!("{name}-kafka-bootstrap:9092")},
                {"name": "tls", "bootstrapServers": format!("{name}-kafka-bootstrap:9093")},
                {"name": "scram", "bootstrapServers": format!("{name}-kafka-bootstrap:9094")},
                {"name": "mtls", "bootstrapServers": format!("{name}-kafka-bootstrap:9095")}
            ]}
        }),
    )
}

fn kafka_user(name: &str, kind: &str) -> DynamicObject {
    object(
        &strimzi::kafka_user_resource(),
        name,
        json!({
            "spec": {"authentication": {"type": kind}},
            "status": {"username": name, "secret": name,
                       "conditions": [{"type": "Ready", "status": "True"}]}
        }),
    )
}

fn resolve(
    namespace: &str,
    source: Option<crate::api::ClusterSource<'_>>,
    auth: Option<&KafkaAuthentication>,
) -> Connection {
    let kafka = match source {
        Some(crate::api::ClusterSource::Strimzi(r)) => Some(strimzi_cluster(&r.name)),
        _ => None,
    };
    let user = auth.and_then(|a| {
        let name = &a.kafka_user_ref.as_ref()?.name;
        let kind = if a.kind.is_sasl() {
            "scram-sha-512"
        } else {
            "tls"
        };
        Some(kafka_user(name, kind))
    });
    connection_of(namespace, source, auth, &StrimziObjects { kafka, user }).expect("a connection")
}

fn defaults() -> JobDefaults {
    JobDefaults {
        image: "ghcr.io/kafka-backup-operator/kafka-backup-operator:0.1.0".into(),
    }
}

fn uid(meta: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) {
    meta.uid = Some("00000000-0000-0000-0000-00000000c0de".into());
}

/// What a KafkaBackup makes: its worker configuration and its pod.
fn built_backup(mut backup: KafkaBackup) -> Value {
    uid(&mut backup.metadata);
    crate::policy::default_backup(&mut backup.spec);
    let namespace = backup.metadata.namespace.clone().unwrap_or_default();
    let connection = resolve(
        &namespace,
        backup.spec.cluster(),
        backup.spec.effective_authentication(),
    );
    let retention = retention_options(&backup, &[], vec![]);
    let config = backup_worker_config(&backup, &connection, retention);
    let job = backup_job_spec(&backup, &connection, &defaults());
    let cronjob = backup
        .spec
        .schedule
        .is_some()
        .then(|| backup_cronjob(&backup, &connection, &defaults()).unwrap());
    json!({
        "config": config,
        "backoffLimit": job.backoff_limit,
        "pod": job.template,
        "cronjob": cronjob.and_then(|c| c.spec).map(|mut s| {
            s.job_template = Default::default();
            s
        }),
    })
}

/// What a KafkaRestore makes (reading a backup in S3): worker configuration and pod.
fn built_restore(mut restore: KafkaRestore) -> Value {
    uid(&mut restore.metadata);
    crate::policy::default_restore(&mut restore.spec);
    let namespace = restore.metadata.namespace.clone().unwrap_or_default();
    let connection = resolve(
        &namespace,
        restore.spec.cluster(),
        restore.spec.effective_authentication(),
    );
    let storage = BackupStorage {
        kind: StorageType::S3,
        s3: Some(crate::api::backup::S3Storage {
            bucket: "archive".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let config = restore_worker_config(&restore, &storage, &connection);
    let job = restore_job(
        &restore,
        1,
        "report",
        &storage,
        &config,
        &connection,
        &defaults(),
    )
    .unwrap();
    // The configuration the pod carries is the one above; shown once, under "config".
    assert_eq!(
        restore_job_config(&job),
        Some(config.to_yaml().unwrap().as_str())
    );
    let mut spec = job.spec.unwrap();
    if let Some(meta) = spec.template.metadata.as_mut()
        && let Some(annotations) = meta.annotations.as_mut()
    {
        annotations.remove(crate::constants::ANNOTATION_WORKER_CONFIG);
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
    json!({
        "config": config,
        "backoffLimit": spec.backoff_limit,
        "pod": spec.template,
    })
}

fn backup_with(fragment: Value) -> KafkaBackup {
    let mut spec = json!({
        "strimziClusterRef": {"name": "events"},
        "storage": {"type": "s3", "s3": {"bucket": "archive"}}
    });
    merge(&mut spec, fragment);
    let spec: KafkaBackupSpec = serde_json::from_value(spec).expect("a backup spec");
    let mut backup = KafkaBackup::new("nightly", spec);
    backup.metadata.namespace = Some("kafka".into());
    backup
}

fn restore_with(fragment: Value) -> KafkaRestore {
    let mut spec = json!({
        "strimziClusterRef": {"name": "events"},
        "backupRef": {"name": "nightly"}
    });
    merge(&mut spec, fragment);
    let spec: crate::api::KafkaRestoreSpec = serde_json::from_value(spec).expect("a restore spec");
    let mut restore = KafkaRestore::new("recover", spec);
    restore.metadata.namespace = Some("kafka".into());
    restore
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, value) => *slot = value,
    }
}

/// The value of an environment variable of the worker container.
fn env_of(built: &Value, name: &str) -> Value {
    built["pod"]["spec"]["containers"][0]["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn every_backup_setting_reaches_the_worker_or_its_pod() {
    let base = built_backup(backup_with(json!({})));
    let cases: Vec<(Value, &str, Value)> = vec![
        (
            json!({"backup": {"compression": "lz4"}}),
            "/config/backup/compression",
            json!("lz4"),
        ),
        (
            json!({"backup": {"compressionLevel": 9}}),
            "/config/backup/compressionLevel",
            json!(9),
        ),
        (
            json!({"backup": {"segmentSize": 1048576}}),
            "/config/backup/segmentMaxBytes",
            json!(1048576),
        ),
        (
            json!({"backup": {"segmentMaxIntervalMs": 5000}}),
            "/config/backup/segmentMaxIntervalMs",
            json!(5000),
        ),
        (
            json!({"backup": {"parallelism": 7}}),
            "/config/backup/parallelism",
            json!(7),
        ),
        (
            json!({"backup": {"startOffset": "latest"}}),
            "/config/backup/startOffset",
            json!("latest"),
        ),
        (
            json!({"backup": {"includeInternalTopics": true}}),
            "/config/backup/includeInternalTopics",
            json!(true),
        ),
        (
            json!({"backup": {"internalTopics": ["__consumer_offsets"]}}),
            "/config/backup/internalTopics/0",
            json!("__consumer_offsets"),
        ),
        (
            json!({"backup": {"checkpointIntervalSecs": 9}}),
            "/config/backup/checkpointIntervalSecs",
            json!(9),
        ),
        (
            json!({"backup": {"syncIntervalSecs": 11}}),
            "/config/backup/syncIntervalSecs",
            json!(11),
        ),
        (
            json!({"backup": {"includeOffsetHeaders": true}}),
            "/config/backup/includeOffsetHeaders",
            json!(true),
        ),
        (
            json!({"backup": {"sourceClusterId": "eu"}}),
            "/config/backup/sourceClusterId",
            json!("eu"),
        ),
        (
            json!({"backup": {"consumerGroupSnapshot": true}}),
            "/config/backup/consumerGroupSnapshot",
            json!(true),
        ),
        (
            json!({"consumerGroups": {"include": ["a.*"]}}),
            "/config/backup/consumerGroupsInclude/0",
            json!("a.*"),
        ),
        (
            json!({"consumerGroups": {"exclude": ["b"]}}),
            "/config/backup/consumerGroupsExclude/0",
            json!("b"),
        ),
        (
            json!({"offsetStorage": {"dbPath": "/tmp/o.db"}}),
            "/config/backup/offsetStorage/dbPath",
            json!("/tmp/o.db"),
        ),
        (
            json!({"offsetStorage": {"syncIntervalSecs": 4}}),
            "/config/backup/offsetStorage/syncIntervalSecs",
            json!(4),
        ),
        (
            json!({"retention": {"maxAge": "7d", "pruneOnSchedule": true}}),
            "/config/backup/retention/maxAge",
            json!("7d"),
        ),
        (
            json!({"retention": {"maxBackups": 3, "pruneOnSchedule": true}}),
            "/config/backup/retention/keepRuns",
            json!(3),
        ),
        (
            json!({"retention": {"maxAge": "7d"}}),
            "/config/backup",
            Value::Null,
        ),
        (
            json!({"retention": {"successfulJobsHistoryLimit": 5}, "schedule": {"cron": "0 1 * * *"}}),
            "/cronjob/successfulJobsHistoryLimit",
            json!(5),
        ),
        (
            json!({"retention": {"failedJobsHistoryLimit": 4}, "schedule": {"cron": "0 1 * * *"}}),
            "/cronjob/failedJobsHistoryLimit",
            json!(4),
        ),
        (
            json!({"schedule": {"cron": "0 1 * * *", "timezone": "Europe/Paris"}}),
            "/cronjob/timeZone",
            json!("Europe/Paris"),
        ),
        (
            json!({"schedule": {"cron": "0 1 * * *", "suspend": true}}),
            "/cronjob/suspend",
            json!(true),
        ),
        (
            json!({"topics": {"include": ["a"]}}),
            "/config/topics/include/0",
            json!("a"),
        ),
        (
            json!({"topics": {"exclude": ["b"]}}),
            "/config/topics/exclude/0",
            json!("b"),
        ),
        (
            json!({"connection": {"tcpKeepalive": false}}),
            "/config/kafka/connection/tcpKeepalive",
            json!(false),
        ),
        (
            json!({"connection": {"keepaliveTimeSecs": 5}}),
            "/config/kafka/connection/keepaliveTimeSecs",
            json!(5),
        ),
        (
            json!({"connection": {"keepaliveIntervalSecs": 6}}),
            "/config/kafka/connection/keepaliveIntervalSecs",
            json!(6),
        ),
        (
            json!({"connection": {"tcpNodelay": false}}),
            "/config/kafka/connection/tcpNodelay",
            json!(false),
        ),
        (
            json!({"connection": {"connectionsPerBroker": 3}}),
            "/config/kafka/connection/connectionsPerBroker",
            json!(3),
        ),
        (
            json!({"metrics": {"enabled": true, "port": 9200}}),
            "/config/metrics/port",
            json!(9200),
        ),
        (
            json!({"metrics": {"enabled": true, "port": 9200}}),
            "/pod/spec/containers/0/ports/0/containerPort",
            json!(9200),
        ),
        (
            json!({"metrics": {"enabled": true, "bindAddress": "127.0.0.1"}}),
            "/config/metrics/bindAddress",
            json!("127.0.0.1"),
        ),
        (
            json!({"metrics": {"enabled": true, "path": "/m"}}),
            "/config/metrics/path",
            json!("/m"),
        ),
        (
            json!({"metrics": {"enabled": true, "keepAliveSeconds": 5}}),
            "/config/metrics/keepAliveSeconds",
            json!(5),
        ),
        (
            json!({"metrics": {"enabled": true, "updateIntervalMs": 250}}),
            "/config/metrics/updateIntervalMs",
            json!(250),
        ),
        (
            json!({"metrics": {"enabled": true, "maxPartitionLabels": 0}}),
            "/config/metrics/maxPartitionLabels",
            json!(0),
        ),
        (
            json!({"storage": {"s3": {"region": "eu-west-1"}}}),
            "/config/storage/region",
            json!("eu-west-1"),
        ),
        (
            json!({"storage": {"s3": {"prefix": "p"}}}),
            "/config/storage/prefix",
            json!("p"),
        ),
        (
            json!({"storage": {"s3": {"endpoint": "http://minio:9000"}}}),
            "/config/storage/allowHttp",
            json!(true),
        ),
        (
            json!({"storage": {"s3": {"endpoint": "https://m", "allowHttp": true}}}),
            "/config/storage/allowHttp",
            json!(true),
        ),
        (
            json!({"storage": {"s3": {"forcePathStyle": true}}}),
            "/config/storage/pathStyle",
            json!(true),
        ),
        (
            json!({"strimziClusterRef": {"listener": "plain"}}),
            "/config/kafka/bootstrapServers",
            json!("events-kafka-bootstrap:9092"),
        ),
        (
            json!({"strimziClusterRef": {"listener": "tls", "caSecret": {"name": "ca", "key": "x.pem"}}}),
            "/config/kafka/tls/caFile",
            json!("/etc/kafka-backup/tls/ca/x.pem"),
        ),
        (
            json!({"image": "example/worker:2"}),
            "/pod/spec/containers/0/image",
            json!("example/worker:2"),
        ),
        (
            json!({"resources": {"limits": {"memory": "1Gi"}}}),
            "/pod/spec/containers/0/resources/limits/memory",
            json!("1Gi"),
        ),
        (
            json!({"logging": {"format": "text"}}),
            "/pod/spec/containers/0/env",
            Value::Null,
        ),
        (
            json!({"template": {"pod": {"serviceAccountName": "sa"}}}),
            "/pod/spec/serviceAccountName",
            json!("sa"),
        ),
        (
            json!({"template": {"pod": {"hostAliases": [{"ip": "10.0.0.1", "hostnames": ["s3"]}]}}}),
            "/pod/spec/hostAliases/0/ip",
            json!("10.0.0.1"),
        ),
        (
            json!({"template": {"pod": {"imagePullSecrets": [{"name": "reg"}]}}}),
            "/pod/spec/imagePullSecrets/0/name",
            json!("reg"),
        ),
        (
            json!({"template": {"pod": {"tolerations": [{"operator": "Exists"}]}}}),
            "/pod/spec/tolerations/0/operator",
            json!("Exists"),
        ),
        (
            json!({"template": {"pod": {"affinity": {"nodeAffinity": {}}}}}),
            "/pod/spec/affinity/nodeAffinity",
            json!({}),
        ),
        (
            json!({"template": {"pod": {"metadata": {"labels": {"team": "a"}}}}}),
            "/pod/metadata/labels/team",
            json!("a"),
        ),
        (
            json!({"template": {"pod": {"metadata": {"annotations": {"n": "v"}}}}}),
            "/pod/metadata/annotations/n",
            json!("v"),
        ),
        (
            json!({"template": {"pod": {"securityContext": {"runAsUser": 1001}}}}),
            "/pod/spec/securityContext/runAsUser",
            json!(1001),
        ),
        (
            json!({"template": {"container": {"securityContext": {"readOnlyRootFilesystem": false}}}}),
            "/pod/spec/containers/0/securityContext/readOnlyRootFilesystem",
            json!(false),
        ),
        (json!({"backoffLimit": 5}), "/backoffLimit", json!(5)),
    ];
    for (fragment, pointer, expected) in cases {
        let built = built_backup(backup_with(fragment.clone()));
        if pointer == "/pod/spec/containers/0/env" {
            assert_ne!(
                env_of(&built, "KAFKA_BACKUP_LOG_FORMAT"),
                env_of(&base, "KAFKA_BACKUP_LOG_FORMAT"),
                "{fragment}"
            );
            continue;
        }
        assert_eq!(
            built.pointer(pointer).cloned().unwrap_or(Value::Null),
            expected,
            "{fragment} at {pointer}"
        );
        if !expected.is_null() {
            assert_ne!(
                base.pointer(pointer),
                built.pointer(pointer),
                "{fragment} changes {pointer}"
            );
        }
    }
}

#[test]
fn credentials_reach_the_pod_by_secret_reference_only() {
    let cases: Vec<(Value, &str, &str, &str)> = vec![
        (
            json!({"storage": {"s3": {"accessKeySecret": {"name": "s3-keys", "key": "id"}, "secretKeySecret": {"name": "s3-keys", "key": "secret"}}}}),
            "AWS_ACCESS_KEY_ID",
            "s3-keys",
            "id",
        ),
        (
            json!({"storage": {"s3": {"credentialsSecret": {"name": "s3-pair"}}}}),
            "AWS_SECRET_ACCESS_KEY",
            "s3-pair",
            "AWS_SECRET_ACCESS_KEY",
        ),
        (
            json!({"storage": {"type": "azure", "s3": null, "azure": {"storageAccount": "acct", "container": "cont", "accountKeySecret": {"name": "az-key", "key": "key"}}}}),
            "AZURE_STORAGE_KEY",
            "az-key",
            "key",
        ),
        (
            json!({"storage": {"type": "azure", "s3": null, "azure": {"storageAccount": "acct", "container": "cont", "credentialsSecret": {"name": "az-creds", "key": "k"}}}}),
            "AZURE_STORAGE_KEY",
            "az-creds",
            "k",
        ),
        (
            json!({"storage": {"type": "azure", "s3": null, "azure": {"storageAccount": "acct", "container": "cont", "sasTokenSecret": {"name": "az-sas", "key": "t"}}}}),
            "AZURE_STORAGE_SAS_TOKEN",
            "az-sas",
            "t",
        ),
        (
            json!({"storage": {"type": "azure", "s3": null, "azure": {"storageAccount": "acct", "container": "cont", "clientId": "i", "tenantId": "t", "clientSecretSecret": {"name": "az-sp", "key": "s"}}}}),
            "AZURE_CLIENT_SECRET",
            "az-sp",
            "s",
        ),
        (
            json!({"authentication": {"type": "scram-sha-512", "username": "u", "passwordSecret": {"name": "sasl-pw", "key": "p"}}, "strimziClusterRef": {"listener": "scram"}}),
            "KAFKA_SASL_PASSWORD",
            "sasl-pw",
            "p",
        ),
        (
            json!({"authentication": {"type": "scram-sha-512", "kafkaUserRef": {"name": "backup-user"}}}),
            "KAFKA_SASL_PASSWORD",
            "backup-user",
            "password",
        ),
    ];
    for (fragment, variable, secret, key) in cases {
        let built = built_backup(backup_with(fragment.clone()));
        let env = env_of(&built, variable);
        assert_eq!(
            env["valueFrom"]["secretKeyRef"]["name"], secret,
            "{fragment}"
        );
        assert_eq!(env["valueFrom"]["secretKeyRef"]["key"], key, "{fragment}");
        assert!(env["value"].is_null(), "never a value: {fragment}");
        let config = serde_json::to_string(&built["config"]).unwrap();
        assert!(
            !config.contains(&format!("\"{secret}\"")) || secret == "backup-user",
            "no Secret in the config: {config}"
        );
    }
    // A KafkaUser's user name and the listener of its kind.
    let built = built_backup(backup_with(
        json!({"authentication": {"type": "scram-sha-512", "kafkaUserRef": {"name": "backup-user"}}}),
    ));
    assert_eq!(built["config"]["kafka"]["sasl"]["username"], "backup-user");
    assert_eq!(
        built["config"]["kafka"]["bootstrapServers"],
        "events-kafka-bootstrap:9094"
    );
    let tls = built_backup(backup_with(
        json!({"authentication": {"type": "tls", "kafkaUserRef": {"name": "backup-user"}}}),
    ));
    assert_eq!(
        tls["config"]["kafka"]["tls"]["certFile"],
        "/etc/kafka-backup/tls/client/user.crt"
    );
    let volumes = tls["pod"]["spec"]["volumes"].to_string();
    assert!(
        volumes.contains(r#""secretName":"backup-user""#),
        "{volumes}"
    );
    // GCS: the service account key is a mounted file.
    let gcs = built_backup(backup_with(
        json!({"storage": {"type": "gcs", "s3": null, "gcs": {"bucket": "g", "credentialsSecret": {"name": "sa", "key": "key.json"}}}}),
    ));
    assert_eq!(
        gcs["config"]["storage"]["serviceAccountFile"],
        "/etc/kafka-backup/gcs/key.json"
    );
    assert!(
        gcs["pod"]["spec"]["volumes"]
            .to_string()
            .contains(r#""secretName":"sa""#)
    );
    let identity = built_backup(backup_with(
        json!({"storage": {"type": "azure", "s3": null, "azure": {"storageAccount": "acct", "container": "c", "useWorkloadIdentity": true}}}),
    ));
    assert_eq!(
        identity["pod"]["metadata"]["labels"]["azure.workload.identity/use"],
        "true"
    );
    assert_eq!(identity["config"]["storage"]["useWorkloadIdentity"], true);
}

#[test]
fn every_restore_setting_reaches_the_worker_or_its_pod() {
    let base = built_restore(restore_with(json!({})));
    let cases: Vec<(Value, &str, Value)> = vec![
        (
            json!({"topicMapping": [{"sourceTopic": "a", "targetTopic": "b"}]}),
            "/config/restore/topicMapping/a",
            json!("b"),
        ),
        (
            json!({"pointInTime": {"startTimestamp": "2026-01-01T00:00:00Z"}}),
            "/config/restore/from",
            json!("2026-01-01T00:00:00Z"),
        ),
        (
            json!({"pointInTime": {"timestamp": "2026-01-02T00:00:00Z"}}),
            "/config/restore/to",
            json!("2026-01-02T00:00:00.001Z"),
        ),
        (
            json!({"pointInTime": {"to": "2026-01-02T00:00:00Z"}}),
            "/config/restore/to",
            json!("2026-01-02T00:00:00Z"),
        ),
        (
            json!({"restore": {"purgeTopics": true}}),
            "/config/restore/purgeTopics",
            json!(true),
        ),
        (
            json!({"restore": {"existingTopicPolicy": "overwrite"}}),
            "/config/restore/purgeTopics",
            json!(true),
        ),
        (
            json!({"restore": {"existingTopicPolicy": "fail"}}),
            "/config/restore/failOnExistingTopics",
            json!(true),
        ),
        (
            json!({"restore": {"dryRun": true}}),
            "/config/restore/dryRun",
            json!(true),
        ),
        (
            json!({"restore": {"topicCreation": "manual"}}),
            "/config/restore/createTopics",
            json!(false),
        ),
        (
            json!({"restore": {"defaultReplicationFactor": 3}}),
            "/config/restore/defaultReplicationFactor",
            json!(3),
        ),
        (
            json!({"restore": {"includeOriginalOffsetHeader": true}}),
            "/config/restore/includeOriginalOffsetHeader",
            json!(true),
        ),
        (
            json!({"restore": {"sourcePartitions": [1]}}),
            "/config/restore/sourcePartitions/0",
            json!(1),
        ),
        (
            json!({"restore": {"partitionMapping": [{"sourcePartition": 2, "targetPartition": 0}]}}),
            "/config/restore/partitionMapping/2",
            json!(0),
        ),
        (
            json!({"restore": {"repartitioning": [{"topic": "t", "targetPartitions": 6, "strategy": "automatic"}]}}),
            "/config/restore/repartitioning/t/targetPartitions",
            json!(6),
        ),
        (
            json!({"restore": {"parallelism": 2}}),
            "/config/restore/parallelism",
            json!(2),
        ),
        (
            json!({"restore": {"rateLimitRecordsPerSec": 10}}),
            "/config/restore/rateLimitRecordsPerSec",
            json!(10),
        ),
        (
            json!({"restore": {"rateLimitBytesPerSec": 20}}),
            "/config/restore/rateLimitBytesPerSec",
            json!(20),
        ),
        (
            json!({"restore": {"produceBatchSize": 30}}),
            "/config/restore/produceBatchSize",
            json!(30),
        ),
        (
            json!({"restore": {"produceAcks": 1}}),
            "/config/restore/produceAcks",
            json!(1),
        ),
        (
            json!({"restore": {"produceTimeoutMs": 4000}}),
            "/config/restore/produceTimeoutMs",
            json!(4000),
        ),
        (
            json!({"restore": {"checkpointIntervalSecs": 3}}),
            "/config/restore/checkpointIntervalSecs",
            json!(3),
        ),
        (
            json!({"consumerGroups": {"restore": true, "auto": true}}),
            "/config/restore/consumerGroups/auto",
            json!(true),
        ),
        (
            json!({"consumerGroups": {"restore": true, "groups": ["g"]}}),
            "/config/restore/consumerGroups/groups/0/target",
            json!("g"),
        ),
        (
            json!({"consumerGroups": {"restore": true, "mapping": [{"sourceGroup": "s", "targetGroup": "t"}]}}),
            "/config/restore/consumerGroups/groups/0/target",
            json!("t"),
        ),
        (
            json!({"consumerGroups": {"restore": true, "auto": true, "strategy": "manual"}}),
            "/config/restore/consumerGroups/reportOnly",
            json!(true),
        ),
        (
            json!({"consumerGroups": {"restore": true, "auto": true, "strategy": "header-based"}}),
            "/config/restore/includeOriginalOffsetHeader",
            json!(true),
        ),
        (
            json!({"backupRef": {"backupId": "nightly-2026"}}),
            "/config/backupId",
            json!("nightly-2026"),
        ),
        (
            json!({"logging": {"level": "debug"}}),
            "/pod/spec/containers/0/env",
            Value::Null,
        ),
        (json!({"backoffLimit": 1}), "/backoffLimit", json!(1)),
    ];
    for (fragment, pointer, expected) in cases {
        let built = built_restore(restore_with(fragment.clone()));
        if pointer == "/pod/spec/containers/0/env" {
            assert_eq!(env_of(&built, "RUST_LOG")["value"], "debug", "{fragment}");
            assert!(env_of(&base, "RUST_LOG").is_null());
            continue;
        }
        assert_eq!(
            built.pointer(pointer).cloned().unwrap_or(Value::Null),
            expected,
            "{fragment} at {pointer}"
        );
        assert_ne!(
            base.pointer(pointer),
            built.pointer(pointer),
            "{fragment} changes {pointer}"
        );
    }
    // strategy: skip sets no offsets; the restore holds its backup while it runs.
    let skipped = built_restore(restore_with(
        json!({"consumerGroups": {"restore": true, "auto": true, "strategy": "skip"}}),
    ));
    assert!(skipped["config"]["restore"]["consumerGroups"].is_null());
    assert_eq!(base["config"]["restore"]["holdAs"], "kafka/recover");
}

/// Builds every manifest of `tests/compat/` and compares with its golden file.
#[test]
fn the_compat_manifests_build_what_their_golden_files_say() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat");
    let update = std::env::var("UPDATE_GOLDEN").is_ok();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10);
    for file in files {
        let mut manifest: Value =
            serde_yaml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        if let Some(spec) = manifest.get_mut("spec") {
            crate::api::mapping::convert_map_form(spec);
        }
        let built = match manifest["kind"].as_str() {
            Some("KafkaBackup") => built_backup(crate::admission::from_value(manifest).unwrap()),
            _ => built_restore(crate::admission::from_value(manifest).unwrap()),
        };
        let golden = dir.join("golden").join(file.file_name().unwrap());
        let text = serde_yaml::to_string(&built).unwrap();
        if update {
            std::fs::write(&golden, &text).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_else(|_| {
            panic!("{} is missing: run with UPDATE_GOLDEN=1", golden.display())
        });
        assert_eq!(
            text,
            expected,
            "{}: run with UPDATE_GOLDEN=1 after a deliberate change",
            file.display()
        );
    }
}
