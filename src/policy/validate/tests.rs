use k8s_openapi::api::core::v1::EnvVar;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::*;
use crate::api::PodTemplate;
use crate::api::backup::StorageType;
use crate::api::{
    AuthenticationType, CertificateAndKey, KafkaTls, SecretKeyRef,
    backup::{BackupRetention, BackupSchedule, FilesystemStorage, S3CredentialsSecret},
    restore::{PointInTime, ReportVolume},
};

/// The fields named by a review's violations.
fn fields(review: &Review) -> Vec<&str> {
    review.violations.iter().map(|v| v.field.as_str()).collect()
}

fn refused_at(review: &Review, field: &str) -> String {
    review
        .violations
        .iter()
        .find(|v| v.field == field)
        .unwrap_or_else(|| {
            panic!(
                "expected a violation at {field}, got {:?}",
                review.violations
            )
        })
        .message
        .clone()
}

fn direct(bootstrap: &str) -> KafkaConnection {
    KafkaConnection {
        bootstrap_servers: bootstrap.into(),
        tls: None,
        authentication: None,
    }
}

#[test]
fn valid_fixtures_are_accepted_without_warnings() {
    let review = validate_restore(&KafkaRestore::test());
    assert_eq!(review, Review::default());
    let review = validate_backup(&KafkaBackup::test());
    assert_eq!(review, Review::default());
}

#[test]
fn r7_exactly_one_cluster_source() {
    let none = KafkaRestore::test().with(|s| s.strimzi_cluster_ref = None);
    assert!(refused_at(&validate_restore(&none), "spec").contains("spec.strimziClusterRef"));

    let both = KafkaBackup::test().with(|s| s.kafka = Some(direct("kafka:9092")));
    assert!(refused_at(&validate_backup(&both), "spec.kafka").contains("only one"));

    let direct_only = KafkaBackup::test().with(|s| {
        s.strimzi_cluster_ref = None;
        s.kafka = Some(direct("kafka:9092"));
    });
    assert!(validate_backup(&direct_only).is_allowed());
}

#[test]
fn r7_strimzi_ref_names_are_checked() {
    let bad = KafkaRestore::test().with(|s| {
        s.strimzi_cluster_ref = Some(StrimziClusterRef {
            name: "My_Cluster".into(),
            listener: Some("TLS-listener".into()),
            ..Default::default()
        })
    });
    assert_eq!(
        fields(&validate_restore(&bad)),
        [
            "spec.strimziClusterRef.name",
            "spec.strimziClusterRef.listener"
        ]
    );
}

#[test]
fn r7_bootstrap_servers_need_host_and_port() {
    let bad = KafkaBackup::test().with(|s| {
        s.strimzi_cluster_ref = None;
        s.kafka = Some(direct("kafka"));
    });
    assert!(
        refused_at(&validate_backup(&bad), "spec.kafka.bootstrapServers").contains("host:port")
    );
}

#[test]
fn r7_sasl_needs_username_and_password_secret_and_warns_without_tls() {
    let auth = KafkaAuthentication {
        kind: AuthenticationType::ScramSha512,
        username: None,
        password_secret: None,
        certificate_and_key: None,
        kafka_user_ref: None,
    };
    let bad = KafkaBackup::test().with(|s| {
        s.strimzi_cluster_ref = None;
        s.kafka = Some(KafkaConnection {
            authentication: Some(auth),
            ..direct("kafka:9092")
        });
    });
    let review = validate_backup(&bad);
    assert_eq!(
        fields(&review),
        [
            "spec.kafka.authentication.username",
            "spec.kafka.authentication.passwordSecret"
        ]
    );
    assert!(
        review.warnings[0].contains("plaintext"),
        "{:?}",
        review.warnings
    );
}

#[test]
fn r7_mutual_tls_needs_a_certificate_and_tls() {
    let auth = KafkaAuthentication {
        kind: AuthenticationType::Tls,
        username: None,
        password_secret: None,
        certificate_and_key: None,
        kafka_user_ref: None,
    };
    let bad = KafkaRestore::test().with(|s| {
        s.strimzi_cluster_ref = None;
        s.kafka = Some(Box::new(KafkaConnection {
            authentication: Some(auth.clone()),
            ..direct("kafka:9093")
        }));
    });
    assert_eq!(
        fields(&validate_restore(&bad)),
        [
            "spec.kafka.authentication.certificateAndKey",
            "spec.kafka.authentication"
        ]
    );

    let good = KafkaRestore::test().with(|s| {
        s.strimzi_cluster_ref = None;
        s.kafka = Some(Box::new(KafkaConnection {
            bootstrap_servers: "kafka:9093".into(),
            tls: Some(KafkaTls {
                ca_secret: Some(SecretKeyRef {
                    name: "cluster-ca".into(),
                    key: "ca.crt".into(),
                }),
            }),
            authentication: Some(KafkaAuthentication {
                certificate_and_key: Some(CertificateAndKey {
                    secret_name: "backup-user".into(),
                    certificate: "user.crt".into(),
                    key: "user.key".into(),
                }),
                ..auth
            }),
        }));
    });
    assert_eq!(validate_restore(&good), Review::default());
}

#[test]
fn r2_negative_backoff_limit_is_refused() {
    let bad = KafkaRestore::test().with(|s| s.backoff_limit = Some(-1));
    assert!(refused_at(&validate_restore(&bad), "spec.backoffLimit").contains("0 or more"));
    let bad = KafkaBackup::test().with(|s| s.backoff_limit = Some(-3));
    assert!(!validate_backup(&bad).is_allowed());
}

#[test]
fn r7_restore_backoff_limit_above_zero_warns_unless_dry_run() {
    let risky = KafkaRestore::test().with(|s| s.backoff_limit = Some(2));
    let review = validate_restore(&risky);
    assert!(review.is_allowed());
    assert!(
        review.warnings[0].starts_with("spec.backoffLimit: is 2"),
        "{:?}",
        review.warnings
    );

    let dry = KafkaRestore::test().with(|s| {
        s.backoff_limit = Some(2);
        s.dry_run = Some(true);
    });
    assert!(validate_restore(&dry).warnings.is_empty());
}

#[test]
fn r7_purge_topics_warns() {
    let purge = KafkaRestore::test().with(|s| s.purge_topics = Some(true));
    assert!(validate_restore(&purge).warnings[0].contains("deletes the records"));
    let dry = KafkaRestore::test().with(|s| {
        s.purge_topics = Some(true);
        s.dry_run = Some(true);
    });
    assert!(validate_restore(&dry).warnings[0].contains("ignored"));
}

#[test]
fn r7_metadata_name_must_fit_a_label_value() {
    let mut long = KafkaRestore::test();
    long.metadata.name = Some("r".repeat(64));
    assert!(refused_at(&validate_restore(&long), "metadata.name").contains("at most 63"));
    let mut ok = KafkaBackup::test();
    ok.metadata.name = Some("b".repeat(63));
    assert!(validate_backup(&ok).is_allowed());
}

#[test]
fn r7_storage_type_must_match_its_block() {
    let missing = KafkaBackup::test().with(|s| s.storage.s3 = None);
    assert!(refused_at(&validate_backup(&missing), "spec.storage.s3").contains("bucket"));

    let both = KafkaBackup::test().with(|s| {
        s.storage.filesystem = Some(FilesystemStorage {
            claim_name: Some("backups".into()),
            path: None,
        })
    });
    assert_eq!(fields(&validate_backup(&both)), ["spec.storage.filesystem"]);

    let fs = KafkaBackup::test().with(|s| {
        s.storage.kind = StorageType::Filesystem;
        s.storage.s3 = None;
        s.storage.filesystem = Some(FilesystemStorage {
            claim_name: Some("backups".into()),
            path: Some("../escape".into()),
        });
    });
    assert_eq!(
        fields(&validate_backup(&fs)),
        ["spec.storage.filesystem.path"]
    );
}

#[test]
fn r7_s3_fields_are_checked() {
    let bad = KafkaBackup::test().with(|s| {
        let s3 = s.storage.s3.as_mut().unwrap();
        s3.bucket = "B".into();
        s3.region = Some("EU".into());
        s3.prefix = Some("/abs".into());
        s3.endpoint = Some("minio:9000".into());
        s3.credentials_secret = Some(S3CredentialsSecret {
            name: "s3_creds".into(),
            access_key_id_key: Some("bad/key".into()),
            secret_access_key_key: None,
            ..Default::default()
        });
    });
    assert_eq!(
        fields(&validate_backup(&bad)),
        [
            "spec.storage.s3.bucket",
            "spec.storage.s3.region",
            "spec.storage.s3.prefix",
            "spec.storage.s3.endpoint",
            "spec.storage.s3.credentialsSecret.name",
            "spec.storage.s3.credentialsSecret.accessKeyIdKey",
        ]
    );
}

#[test]
fn r7_plain_http_endpoint_with_credentials_warns() {
    let review = validate_backup(&KafkaBackup::test().with(|s| {
        let s3 = s.storage.s3.as_mut().unwrap();
        s3.endpoint = Some("http://minio:9000".into());
        s3.credentials_secret = Some(S3CredentialsSecret {
            name: "s3".into(),
            ..Default::default()
        });
    }));
    assert!(review.is_allowed());
    assert!(review.warnings[0].contains("unencrypted"));
}

#[test]
fn r8_schedule_cron_and_time_zone_are_checked() {
    let bad = KafkaBackup::test().with(|s| {
        s.schedule = Some(BackupSchedule {
            cron: "0 2 * *".into(),
            time_zone: Some("Mars/Olympus".into()),
            suspend: None,
            ..Default::default()
        })
    });
    assert_eq!(
        fields(&validate_backup(&bad)),
        ["spec.schedule.cron", "spec.schedule.timeZone"]
    );
    let good = KafkaBackup::test().with(|s| {
        s.schedule = Some(BackupSchedule {
            cron: "0 2 * * *".into(),
            time_zone: Some("Europe/Brussels".into()),
            suspend: Some(true),
            ..Default::default()
        })
    });
    assert_eq!(validate_backup(&good), Review::default());
}

#[test]
fn retention_limits_are_bounded() {
    let bad = KafkaBackup::test().with(|s| {
        s.retention = Some(BackupRetention {
            successful_jobs_history_limit: Some(-1),
            failed_jobs_history_limit: Some(0),
            backup_history_limit: Some(1000),
            ..Default::default()
        })
    });
    assert_eq!(
        fields(&validate_backup(&bad)),
        [
            "spec.retention.successfulJobsHistoryLimit",
            "spec.retention.backupHistoryLimit"
        ]
    );
}

#[test]
fn r7_topic_patterns_are_checked_with_their_index() {
    let bad = KafkaBackup::test().with(|s| {
        s.topics = Some(TopicSelector {
            include: vec!["orders-*".into(), "~(".into()],
            exclude: vec!["".into()],
        })
    });
    assert_eq!(
        fields(&validate_backup(&bad)),
        ["spec.topics.include[1]", "spec.topics.exclude[0]"]
    );
}

#[test]
fn r7_topic_mapping_names_are_topic_names_and_merges_warn() {
    let mapping: Vec<crate::api::mapping::TopicMapping> = [
        ("orders", "orders restored"),
        ("a", "merged"),
        ("b", "merged"),
        ("a", "again"),
    ]
    .iter()
    .map(|(s, t)| crate::api::mapping::TopicMapping {
        source_topic: s.to_string(),
        target_topic: t.to_string(),
    })
    .collect();
    let review = validate_restore(&KafkaRestore::test().with(|s| s.topic_mapping = mapping.into()));
    assert_eq!(
        fields(&review),
        [
            "spec.topicMapping[0].targetTopic",
            "spec.topicMapping[3].sourceTopic"
        ]
    );
    assert!(
        review.warnings[0].contains("a, b all map to 'merged'"),
        "{:?}",
        review.warnings
    );
}

#[test]
fn r7_point_in_time_must_be_rfc3339_and_ordered() {
    let window = |from: &str, to: &str| {
        KafkaRestore::test().with(|s| {
            s.point_in_time = Some(Box::new(PointInTime {
                from: Some(from.into()),
                to: Some(to.into()),
                ..Default::default()
            }))
        })
    };
    assert!(validate_restore(&window("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z")).is_allowed());
    assert_eq!(
        fields(&validate_restore(&window(
            "yesterday",
            "2026-01-02T00:00:00Z"
        ))),
        ["spec.pointInTime.from"]
    );
    assert!(
        refused_at(
            &validate_restore(&window("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z")),
            "spec.pointInTime"
        )
        .contains("must be before")
    );
}

#[test]
fn r5_report_volume_is_checked() {
    let bad = KafkaRestore::test().with(|s| {
        s.report = Some(ReportVolume {
            storage_class_name: Some("Fast SSD".into()),
            size: Some(Quantity("0".into())),
        })
    });
    assert_eq!(
        fields(&validate_restore(&bad)),
        ["spec.report.storageClassName", "spec.report.size"]
    );
}

#[test]
fn r7_backup_ref_is_checked() {
    let bad = KafkaRestore::test().with(|s| {
        s.backup_ref.name = String::new();
        s.backup_ref.backup_id = Some("../../etc".into());
    });
    assert_eq!(
        fields(&validate_restore(&bad)),
        ["spec.backupRef.name", "spec.backupRef.backupId"]
    );
}

#[test]
fn r7_pod_template_is_checked() {
    let bad = KafkaRestore::test().with(|s| {
        s.image = Some("not an image".into());
        s.template = Some(Box::new(PodTemplate {
            service_account_name: Some("Backup SA".into()),
            env: Some(vec![EnvVar {
                name: "1BAD".into(),
                ..Default::default()
            }]),
            ..Default::default()
        }));
    });
    assert_eq!(
        fields(&validate_restore(&bad)),
        [
            "spec.image",
            "spec.template.serviceAccountName",
            "spec.template.env[0].name"
        ]
    );
}

#[test]
fn r4_template_labels_may_not_claim_the_operators_keys() {
    let labelled = |key: &str| {
        KafkaRestore::test().with(|s| {
            s.template = Some(Box::new(PodTemplate {
                labels: Some([(key.to_string(), "x".to_string())].into()),
                ..Default::default()
            }));
        })
    };
    for key in [
        "kafkabackup.com/restore",
        "kafkabackup.com/anything",
        "app.kubernetes.io/managed-by",
    ] {
        let review = validate_restore(&labelled(key));
        assert_eq!(
            fields(&review),
            [format!("spec.template.labels[{key}]")],
            "{key}"
        );
        assert!(
            review
                .denial_message()
                .contains("remove it from the template")
        );
    }
    for key in ["team", "app.kubernetes.io/name", "sub.kafkabackup.com/x"] {
        assert!(validate_restore(&labelled(key)).is_allowed(), "{key}");
    }
    let backup = KafkaBackup::test().with(|s| {
        s.template = Some(Box::new(PodTemplate {
            labels: Some([("kafkabackup.com/backup".to_string(), "x".to_string())].into()),
            ..Default::default()
        }));
    });
    assert!(!validate_backup(&backup).is_allowed());
}

#[test]
fn r7_update_of_new_restore_follows_create_rules() {
    let old = KafkaRestore::test();
    let new = old.clone().with(|s| s.backup_ref.name = "weekly".into());
    assert!(validate_restore_update(&old, &new).is_allowed());
    let bad = old.clone().with(|s| s.backoff_limit = Some(-1));
    assert!(!validate_restore_update(&old, &bad).is_allowed());
}

#[test]
fn r7_started_restore_may_change_only_enabled() {
    let old = KafkaRestore::test().started();
    let paused = old.clone().with(|s| s.enabled = Some(false));
    assert!(validate_restore_update(&old, &paused).is_allowed());

    let changed = old.clone().with(|s| {
        s.backup_ref.name = "weekly".into();
        s.dry_run = Some(true);
        s.enabled = Some(false);
    });
    let review = validate_restore_update(&old, &changed);
    assert_eq!(fields(&review), ["spec.backupRef", "spec.dryRun"]);
    let message = &review.violations[0].message;
    assert!(message.contains("restore-orders-restore-1"), "{message}");
    assert!(
        message.contains("delete it and create a new one"),
        "{message}"
    );
}

#[test]
fn r7_completed_restore_may_change_nothing() {
    let old = KafkaRestore::test().completed();
    let paused = old.clone().with(|s| s.enabled = Some(false));
    let review = validate_restore_update(&old, &paused);
    assert_eq!(fields(&review), ["spec.enabled"]);
    assert!(review.violations[0].message.contains("has completed"));
}

#[test]
fn r7_reapply_that_omits_defaults_passes_on_started_and_completed_restores() {
    // The stored object carries the webhook's defaults; the re-applied manifest does not.
    for old in [
        KafkaRestore::test().started(),
        KafkaRestore::test().completed(),
    ] {
        let mut stored = old.clone();
        default_restore(&mut stored.spec);
        assert!(validate_restore_update(&stored, &old).is_allowed());
        assert!(validate_restore_update(&old, &stored).is_allowed());
    }
}

#[test]
fn r7_metadata_only_update_passes_even_if_spec_breaks_newer_rules() {
    // An object admitted under looser rules must still be updatable (finalizer removal).
    let mut old = KafkaRestore::test()
        .completed()
        .with(|s| s.backup_ref.name = "Bad_Name".into());
    let mut new = old.clone();
    new.metadata.finalizers = Some(vec![]);
    new.metadata.labels = Some([("team".to_string(), "a".to_string())].into());
    assert!(validate_restore_update(&old, &new).is_allowed());
    old.metadata.name = Some("x".repeat(70));
    assert!(validate_restore_update(&old, &old.clone()).is_allowed());
}

#[test]
fn r7_backup_update_validates_the_new_spec_and_warns_on_storage_move() {
    let mut old = KafkaBackup::test();
    old.status = Some(crate::api::KafkaBackupStatus {
        last_backup: Some(crate::api::backup::BackupRun {
            job_name: "daily-backup-backup".into(),
            backup_id: None,
            outcome: crate::api::Outcome::Succeeded,
            start_time: None,
            completion_time: None,
            records: None,
            bytes: None,
            topics: None,
            consumer_groups: None,
            pruned_segments: None,
            pruned_bytes: None,
            prune_held: None,
        }),
        ..Default::default()
    });
    let moved = old
        .clone()
        .with(|s| s.storage.s3.as_mut().unwrap().bucket = "other-bucket".into());
    let review = validate_backup_update(&old, &moved);
    assert!(review.is_allowed());
    assert!(review.warnings[0].starts_with("spec.storage"));

    let broken = old.clone().with(|s| s.backoff_limit = Some(-1));
    assert!(!validate_backup_update(&old, &broken).is_allowed());
    assert_eq!(
        validate_backup_update(&old, &old.clone()),
        Review::default()
    );
}

/// A variable in two lists is the later list's, with a warning naming both (as in
/// strimzi-backup-operator's manifests); twice in one list is a mistake.
#[test]
fn a_variable_set_in_two_lists_warns_and_twice_in_one_is_refused() {
    let var = |name: &str| EnvVar {
        name: name.into(),
        value: Some("x".into()),
        ..Default::default()
    };
    let review = validate_backup(&KafkaBackup::test().with(|s| {
        s.env = vec![var("RUST_LOG")];
        s.template = Some(Box::new(PodTemplate {
            container: Some(crate::api::common::ContainerOverrides {
                env: Some(vec![var("RUST_LOG")]),
                ..Default::default()
            }),
            ..Default::default()
        }));
    }));
    assert!(review.is_allowed(), "{:?}", review.violations);
    assert!(
        review.warnings.iter().any(|w| w.starts_with(
            "spec.template.container.env[0].name: 'RUST_LOG' is also set in spec.env; this value is used"
        )),
        "{:?}",
        review.warnings
    );
    let twice = validate_backup(&KafkaBackup::test().with(|s| s.env = vec![var("TZ"), var("TZ")]));
    assert!(refused_at(&twice, "spec.env[1].name").contains("set it once"));
}

#[test]
fn an_s3_credentials_file_is_one_form_of_credentials_secret() {
    let file = |s: &mut KafkaBackupSpec| {
        s.storage.s3.as_mut().unwrap().credentials_secret = Some(S3CredentialsSecret {
            name: "aws".into(),
            key: Some("credentials".into()),
            ..Default::default()
        });
    };
    assert!(validate_backup(&KafkaBackup::test().with(file)).is_allowed());
    let overridden = KafkaBackup::test().with(|s| {
        file(s);
        let s3 = s.storage.s3.as_mut().unwrap();
        s3.access_key_secret = Some(SecretKeyRef {
            name: "keys".into(),
            key: "id".into(),
        });
        s3.secret_key_secret = Some(SecretKeyRef {
            name: "keys".into(),
            key: "secret".into(),
        });
    });
    assert!(
        validate_backup(&overridden).is_allowed(),
        "the two key Secrets override the file"
    );
    let both_forms = KafkaBackup::test().with(|s| {
        file(s);
        let creds = s.storage.s3.as_mut().unwrap().credentials_secret.as_mut();
        creds.unwrap().access_key_id_key = Some("id".into());
    });
    assert!(
        refused_at(
            &validate_backup(&both_forms),
            "spec.storage.s3.credentialsSecret.key"
        )
        .contains("one of the two forms")
    );
}

#[test]
fn segment_encryption_can_only_be_declared_off() {
    use crate::api::backup::{BackupEncryption, BackupTuning};
    let with = |enabled: bool| {
        validate_backup(&KafkaBackup::test().with(|s| {
            s.backup = Some(BackupTuning {
                encryption: Some(BackupEncryption {
                    enabled,
                    key_secret: Some(SecretKeyRef {
                        name: "k".into(),
                        key: "aes".into(),
                    }),
                }),
                ..Default::default()
            })
        }))
    };
    assert!(refused_at(&with(true), "spec.backup.encryption.enabled").contains("encrypt at rest"));
    let off = with(false);
    assert!(off.is_allowed());
    assert!(off.warnings[0].starts_with("spec.backup.encryption.keySecret: is not read"));
}

#[test]
fn consumer_group_restore_without_a_list_sets_every_group_and_says_so() {
    use crate::api::restore::RestoreConsumerGroups;
    let with = |auto: Option<bool>| {
        validate_restore(&KafkaRestore::test().with(|s| {
            s.consumer_groups = Some(Box::new(RestoreConsumerGroups {
                restore: true,
                auto,
                ..Default::default()
            }))
        }))
    };
    let implied = with(None);
    assert!(implied.is_allowed());
    assert!(implied.warnings[0].contains("every group of the backup's snapshot"));
    assert!(refused_at(&with(Some(false)), "spec.consumerGroups.auto").contains("no group"));
    assert_eq!(with(Some(true)), Review::default());
}
