use k8s_openapi::api::core::v1::{EnvVar, PodSpec, Volume, VolumeMount};

use super::*;
use crate::api::CertificateAndKey;
use crate::api::PodTemplate;
use crate::api::backup::{FilesystemStorage, S3CredentialsSecret, S3Storage};

fn connection(authentication: Option<KafkaAuthentication>) -> Connection {
    Connection {
        bootstrap_servers: "kafka:9093".into(),
        tls: true,
        ca_secret: Some(SecretKeyRef {
            name: "my-cluster-cluster-ca-cert".into(),
            key: "ca.crt".into(),
        }),
        authentication,
    }
}

fn scram() -> KafkaAuthentication {
    KafkaAuthentication {
        kind: AuthenticationType::ScramSha512,
        username: Some("backup".into()),
        password_secret: Some(SecretKeyRef {
            name: "backup-user".into(),
            key: "password".into(),
        }),
        certificate_and_key: None,
        kafka_user_ref: None,
    }
}

fn s3_with_credentials() -> BackupStorage {
    BackupStorage {
        kind: StorageType::S3,
        s3: Some(S3Storage {
            bucket: "b".into(),
            credentials_secret: Some(S3CredentialsSecret {
                name: "s3-creds".into(),
                access_key_id_key: Some("id".into()),
                secret_access_key_key: None,
                ..Default::default()
            }),
            ..Default::default()
        }),
        azure: None,
        gcs: None,
        filesystem: None,
    }
}

fn defaults() -> JobDefaults {
    JobDefaults {
        image: "operator:1".into(),
    }
}

fn pod(job: &Job) -> &PodSpec {
    job.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
}

/// A restore's Job of `attempt`, with the worker configuration the planner gives it.
fn job_of(
    restore: &KafkaRestore,
    attempt: i32,
    report_pvc: &str,
    storage: &BackupStorage,
    connection: &Connection,
) -> Job {
    let config = restore_worker_config(restore, storage, connection);
    restore_job(
        restore,
        attempt,
        report_pvc,
        storage,
        &config,
        connection,
        &defaults(),
    )
    .unwrap()
}

/// The volume `name` of a Job's pod.
fn volume<'a>(job: &'a Job, name: &str) -> &'a Volume {
    pod(job)
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == name)
        .unwrap()
}

/// The mount `name` of a Job's worker container.
fn mount<'a>(job: &'a Job, name: &str) -> &'a VolumeMount {
    pod(job).containers[0]
        .volume_mounts
        .iter()
        .flatten()
        .find(|m| m.name == name)
        .unwrap()
}

#[test]
fn r6_restore_job_is_owned_labelled_and_runs_the_restore_command() {
    let restore = KafkaRestore::test();
    let job = job_of(
        &restore,
        2,
        "restore-orders-report-x7k2p",
        &s3_with_credentials(),
        &connection(None),
    );
    let owner = &job.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (
            owner.kind.as_str(),
            owner.controller,
            owner.block_owner_deletion
        ),
        ("KafkaRestore", Some(true), Some(true))
    );
    let labels = job.metadata.labels.as_ref().unwrap();
    assert_eq!(labels["kafkabackup.com/restore"], "restore-orders");
    assert_eq!(labels["kafkabackup.com/attempt"], "2");
    let pod_labels = job
        .spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .as_ref()
        .unwrap();
    assert_eq!(pod_labels["kafkabackup.com/restore"], "restore-orders");
    assert_eq!(
        pod_labels["app.kubernetes.io/managed-by"],
        "kafka-backup-operator"
    );
    let container = &pod(&job).containers[0];
    assert_eq!(container.image.as_deref(), Some("operator:1"));
    assert_eq!(
        container.args.as_ref().unwrap(),
        &["restore", "--config", "/etc/kafka-backup/config.yaml"]
    );
    assert!(
        job.spec
            .as_ref()
            .unwrap()
            .ttl_seconds_after_finished
            .is_none(),
        "R5: a restore Job never vanishes on its own"
    );
    assert_eq!(pod(&job).restart_policy.as_deref(), Some("Never"));
}

#[test]
fn r5_restore_job_mounts_the_report_pvc_at_the_reports_path() {
    let job = job_of(
        &KafkaRestore::test(),
        1,
        "restore-orders-report-x7k2p",
        &s3_with_credentials(),
        &connection(None),
    );
    let volume = volume(&job, "reports");
    assert_eq!(
        volume.persistent_volume_claim.as_ref().unwrap().claim_name,
        "restore-orders-report-x7k2p"
    );
    let mount = mount(&job, "reports");
    assert_eq!(mount.mount_path, wc::REPORTS_DIR);
}

#[test]
fn pods_meet_the_restricted_pod_security_standard() {
    let job = job_of(
        &KafkaRestore::test(),
        1,
        "p",
        &s3_with_credentials(),
        &connection(None),
    );
    let pod = pod(&job);
    let pod_security = pod.security_context.as_ref().unwrap();
    assert_eq!(pod_security.run_as_non_root, Some(true));
    assert_eq!(
        pod_security.seccomp_profile.as_ref().unwrap().type_,
        "RuntimeDefault"
    );
    let security = pod.containers[0].security_context.as_ref().unwrap();
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(
        security
            .capabilities
            .as_ref()
            .unwrap()
            .drop
            .as_ref()
            .unwrap(),
        &["ALL"]
    );
    assert!(
        pod.volumes
            .as_ref()
            .unwrap()
            .iter()
            .all(|v| v.host_path.is_none())
    );
}

#[test]
fn credentials_come_only_from_secret_references() {
    let restore = KafkaRestore::test();
    let job = job_of(
        &restore,
        1,
        "p",
        &s3_with_credentials(),
        &connection(Some(scram())),
    );
    let env = pod(&job).containers[0].env.as_ref().unwrap();
    let from_secret = |name: &str| {
        let var = env
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{name}"));
        assert!(var.value.is_none(), "{name} must not carry a literal value");
        var.value_from
            .as_ref()
            .unwrap()
            .secret_key_ref
            .clone()
            .unwrap()
    };
    assert_eq!(from_secret(wc::ENV_SASL_PASSWORD).name, "backup-user");
    assert_eq!(from_secret(wc::ENV_S3_ACCESS_KEY_ID).key, "id");
    assert_eq!(
        from_secret(wc::ENV_S3_SECRET_ACCESS_KEY).key,
        "AWS_SECRET_ACCESS_KEY"
    );

    let config =
        restore_worker_config(&restore, &s3_with_credentials(), &connection(Some(scram())));
    let yaml = config_map(&restore, "c".into(), Default::default(), &config)
        .unwrap()
        .data
        .unwrap()["config.yaml"]
        .clone();
    assert!(yaml.contains("passwordEnv: KAFKA_SASL_PASSWORD"), "{yaml}");
    assert!(
        !yaml.contains("backup-user") && !yaml.contains("s3-creds"),
        "no Secret names or values in the ConfigMap: {yaml}"
    );
    assert!(
        yaml.contains("caFile: /etc/kafka-backup/tls/ca/ca.crt"),
        "{yaml}"
    );
}

#[test]
fn mutual_tls_mounts_the_client_certificate_secret() {
    let auth = KafkaAuthentication {
        kind: AuthenticationType::Tls,
        username: None,
        password_secret: None,
        certificate_and_key: Some(CertificateAndKey {
            secret_name: "backup-user".into(),
            certificate: "user.crt".into(),
            key: "user.key".into(),
        }),
        kafka_user_ref: None,
    };
    let backup = KafkaBackup::test();
    let job = backup_job(
        &backup,
        "j".into(),
        &connection(Some(auth.clone())),
        &defaults(),
    )
    .unwrap();
    let volume = volume(&job, "kafka-client");
    assert_eq!(
        volume.secret.as_ref().unwrap().secret_name.as_deref(),
        Some("backup-user")
    );
    let config = backup_worker_config(&backup, &connection(Some(auth)), None);
    let tls = config.kafka.tls.unwrap();
    assert_eq!(
        tls.cert_file.as_deref(),
        Some("/etc/kafka-backup/tls/client/user.crt")
    );
    assert_eq!(
        tls.key_file.as_deref(),
        Some("/etc/kafka-backup/tls/client/user.key")
    );
}

#[test]
fn template_and_image_are_honoured_and_cannot_override_ours() {
    let backup = KafkaBackup::test().with(|s| {
        s.image = Some("registry/worker:2".into());
        s.template = Some(Box::new(PodTemplate {
            service_account_name: Some("backup-sa".into()),
            node_selector: Some([("pool".to_string(), "kafka".to_string())].into()),
            labels: Some(
                [
                    ("team".to_string(), "a".to_string()),
                    ("kafkabackup.com/backup".to_string(), "spoof".to_string()),
                ]
                .into(),
            ),
            env: Some(vec![
                EnvVar {
                    name: "RUST_LOG".into(),
                    value: Some("debug".into()),
                    ..Default::default()
                },
                EnvVar {
                    name: "POD_NAME".into(),
                    value: Some("spoof".into()),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }))
    });
    let job = backup_job(&backup, "j".into(), &connection(None), &defaults()).unwrap();
    let pod_spec = pod(&job);
    assert_eq!(pod_spec.service_account_name.as_deref(), Some("backup-sa"));
    assert_eq!(pod_spec.node_selector.as_ref().unwrap()["pool"], "kafka");
    assert_eq!(
        pod_spec.containers[0].image.as_deref(),
        Some("registry/worker:2")
    );
    let labels = job
        .spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .as_ref()
        .unwrap();
    assert_eq!(labels["team"], "a");
    assert_eq!(labels["kafkabackup.com/backup"], "daily-backup");
    let env = pod_spec.containers[0].env.as_ref().unwrap();
    assert!(env.iter().any(|e| e.name == "RUST_LOG"));
    assert_eq!(env.iter().filter(|e| e.name == "POD_NAME").count(), 1);
    assert!(
        env.iter()
            .find(|e| e.name == "POD_NAME")
            .unwrap()
            .value
            .is_none()
    );
}

#[test]
fn filesystem_storage_is_mounted_read_only_for_restores() {
    let storage = BackupStorage {
        kind: StorageType::Filesystem,
        s3: None,
        azure: None,
        gcs: None,
        filesystem: Some(FilesystemStorage {
            claim_name: Some("backups".into()),
            path: Some("prod".into()),
        }),
    };
    let job = job_of(&KafkaRestore::test(), 1, "p", &storage, &connection(None));
    let mount = mount(&job, "storage");
    assert_eq!(mount.read_only, Some(true));
    let config = restore_worker_config(&KafkaRestore::test(), &storage, &connection(None));
    assert_eq!(
        config.storage,
        wc::StorageLocation::Filesystem {
            path: "/var/lib/kafka-backup/storage/prod".into()
        }
    );
}

#[test]
fn r5_report_pvc_is_owned_and_sized_by_spec_report() {
    let restore = KafkaRestore::test().with(|s| {
        s.report = Some(crate::api::restore::ReportVolume {
            storage_class_name: Some("fast".into()),
            size: Some(Quantity("2Gi".into())),
        })
    });
    let pvc = report_pvc(&restore, "restore-orders-report-x7k2p".into()).unwrap();
    let spec = pvc.spec.unwrap();
    assert_eq!(spec.storage_class_name.as_deref(), Some("fast"));
    assert_eq!(
        spec.resources.unwrap().requests.unwrap()["storage"],
        Quantity("2Gi".into())
    );
    assert_eq!(
        pvc.metadata.owner_references.unwrap()[0].kind,
        "KafkaRestore"
    );
    assert_eq!(
        pvc.metadata.labels.unwrap()["kafkabackup.com/restore"],
        "restore-orders"
    );
}

#[test]
fn worker_config_round_trips_through_yaml() {
    let config = restore_worker_config(
        &KafkaRestore::test(),
        &s3_with_credentials(),
        &connection(Some(scram())),
    );
    let parsed: WorkerConfig = serde_yaml::from_str(&config.to_yaml().unwrap()).unwrap();
    assert_eq!(parsed, config);
    assert_eq!(parsed.backup_id, "daily-backup");
    assert_eq!(parsed.restore.unwrap().report_dir, wc::REPORTS_DIR);
}

#[test]
fn an_owner_without_uid_is_an_error_not_a_panic() {
    let mut restore = KafkaRestore::test();
    restore.metadata.uid = None;
    assert!(matches!(
        report_pvc(&restore, "p".into()),
        Err(BuildError::NoOwner(_))
    ));
}

/// Every pod the operator makes for S3 storage (one-shot backup, scheduled backup,
/// restore) gets the keys from the Secret through the environment, and nowhere else:
/// not as a literal value, not on the command line, not in the ConfigMap.
#[test]
fn s3_credentials_reach_every_worker_only_through_secret_references() {
    let backup = KafkaBackup::test().with(|s| s.storage = s3_with_credentials());
    let restore = KafkaRestore::test();
    let one_shot = backup_job(&backup, "j".into(), &connection(None), &defaults()).unwrap();
    let cronjob = backup_cronjob(&backup, &connection(None), &defaults()).unwrap();
    let scheduled = cronjob.spec.unwrap().job_template.spec.unwrap().template;
    let restore_job = job_of(&restore, 1, "p", &s3_with_credentials(), &connection(None));
    for (what, pod_spec) in [
        ("backup Job", pod(&one_shot)),
        ("CronJob", scheduled.spec.as_ref().unwrap()),
        ("restore Job", pod(&restore_job)),
    ] {
        let container = &pod_spec.containers[0];
        let env = container.env.as_deref().unwrap_or_default();
        for (variable, key) in [
            (wc::ENV_S3_ACCESS_KEY_ID, "id"),
            (wc::ENV_S3_SECRET_ACCESS_KEY, wc::ENV_S3_SECRET_ACCESS_KEY),
        ] {
            let var = env
                .iter()
                .find(|e| e.name == variable)
                .unwrap_or_else(|| panic!("{what}: no {variable}"));
            assert!(
                var.value.is_none(),
                "{what}: {variable} has a literal value"
            );
            let reference = var.value_from.as_ref().unwrap().secret_key_ref.as_ref();
            assert_eq!(
                reference.map(|r| r.name.as_str()),
                Some("s3-creds"),
                "{what}"
            );
            assert_eq!(reference.map(|r| r.key.as_str()), Some(key), "{what}");
        }
        let command_line: Vec<&String> = container
            .command
            .iter()
            .chain(container.args.iter())
            .flatten()
            .collect();
        assert!(
            command_line
                .iter()
                .all(|a| !a.contains("s3-creds") && !a.to_lowercase().contains("key")),
            "{what}: {command_line:?}"
        );
    }
    let config = backup_worker_config(&backup, &connection(None), None);
    let yaml = serde_yaml::to_string(&config).unwrap();
    assert!(
        !yaml.contains("s3-creds") && !yaml.to_lowercase().contains("access"),
        "{yaml}"
    );
}

/// A restore Job carries the worker's configuration in its pod, mounted by the downward
/// API as the file the worker reads; a user's annotation of the same name cannot replace
/// it, and the user's other annotations stay.
#[test]
fn r1_a_restore_jobs_configuration_is_in_its_pod_and_cannot_be_overridden() {
    let restore = KafkaRestore::test().with(|s| {
        s.template = Some(Box::new(PodTemplate {
            annotations: Some(
                [
                    ("team".to_string(), "a".to_string()),
                    (
                        crate::constants::ANNOTATION_WORKER_CONFIG.to_string(),
                        "spoof".to_string(),
                    ),
                ]
                .into(),
            ),
            ..Default::default()
        }))
    });
    let config = restore_worker_config(&restore, &s3_with_credentials(), &connection(None));
    let job = restore_job(
        &restore,
        1,
        "p",
        &s3_with_credentials(),
        &config,
        &connection(None),
        &defaults(),
    )
    .unwrap();
    assert_eq!(
        restore_job_config(&job),
        Some(config.to_yaml().unwrap().as_str())
    );
    let template = &job.spec.as_ref().unwrap().template;
    assert_eq!(
        template
            .metadata
            .as_ref()
            .unwrap()
            .annotations
            .as_ref()
            .unwrap()["team"],
        "a"
    );
    let pod_spec = pod(&job);
    let volume = volume(&job, "config");
    let file = &volume
        .downward_api
        .as_ref()
        .unwrap()
        .items
        .as_ref()
        .unwrap()[0];
    assert_eq!(file.path, wc::CONFIG_FILE_NAME);
    assert_eq!(
        file.field_ref.as_ref().unwrap().field_path,
        "metadata.annotations['kafkabackup.com/worker-config']"
    );
    let mount = mount(&job, "config");
    assert_eq!(mount.mount_path, wc::CONFIG_DIR);
    assert!(
        pod_spec.containers[0]
            .args
            .as_ref()
            .unwrap()
            .contains(&format!("{}/{}", wc::CONFIG_DIR, wc::CONFIG_FILE_NAME))
    );
}
