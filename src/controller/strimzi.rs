//! Reading Strimzi resources: the bootstrap address of a `Kafka` listener and whether it
//! needs the cluster CA, and the credentials of a `KafkaUser`. Pure; the reconciler
//! fetches the resources.

use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::Value;

use crate::api::{
    AuthenticationType, CertificateAndKey, KafkaAuthentication, SecretKeyRef, StrimziClusterRef,
};

/// The Strimzi `Kafka` kind (`kafka.strimzi.io/v1beta2`).
pub fn kafka_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kafka.strimzi.io", "v1beta2", "Kafka"),
        "kafkas",
    )
}

/// The Strimzi `KafkaUser` kind (`kafka.strimzi.io/v1beta2`).
pub fn kafka_user_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kafka.strimzi.io", "v1beta2", "KafkaUser"),
        "kafkausers",
    )
}

/// A listener of a Strimzi cluster, ready to connect to.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedListener {
    pub bootstrap_servers: String,
    /// The cluster CA Secret and key, when the listener uses TLS.
    pub ca_secret: Option<SecretKeyRef>,
}

/// Why a Strimzi resource cannot be used (yet).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StrimziError {
    #[error(
        "Strimzi Kafka '{name}' not found in namespace '{namespace}'; check spec.strimziClusterRef"
    )]
    NotFound { name: String, namespace: String },
    #[error("Strimzi Kafka '{cluster}' has no listener '{listener}'; listeners: {known}")]
    NoSuchListener {
        cluster: String,
        listener: String,
        known: String,
    },
    #[error(
        "Strimzi Kafka '{cluster}' has no listener with {wanted}; listeners: {known}. Set spec.strimziClusterRef.listener, or change spec.authentication"
    )]
    NoMatchingListener {
        cluster: String,
        wanted: String,
        known: String,
    },
    #[error(
        "Strimzi Kafka '{cluster}' does not report an address for listener '{listener}' yet; waiting for it to be ready"
    )]
    NotReady { cluster: String, listener: String },
    #[error(
        "KafkaUser '{name}' not found in namespace '{namespace}'; check spec.authentication.kafkaUserRef"
    )]
    UserNotFound { name: String, namespace: String },
    #[error("KafkaUser '{0}' is not ready yet: the User Operator has not written its Secret")]
    UserNotReady(String),
    #[error(
        "KafkaUser '{user}' authenticates with '{theirs}', but spec.authentication.type is '{ours}'; make them the same"
    )]
    UserMismatch {
        user: String,
        theirs: String,
        ours: String,
    },
}

/// The listener authentication a client's authentication needs.
fn listener_authentication(auth: Option<AuthenticationType>) -> Option<&'static str> {
    match auth {
        None => None,
        Some(AuthenticationType::Tls) => Some("tls"),
        Some(AuthenticationType::ScramSha512) => Some("scram-sha-512"),
        Some(AuthenticationType::ScramSha256) => Some("scram-sha-256"),
        Some(AuthenticationType::Plain) => Some("plain"),
    }
}

/// Finds the listener to use, and its address from the resource's status: the named
/// one, or else one whose authentication matches the client's, in-cluster listeners
/// (`internal`, `cluster-ip`) before others and TLS before plaintext. The CA is
/// `caSecret` when given, else Strimzi's `<cluster>-cluster-ca-cert`.
pub fn resolve(
    reference: &StrimziClusterRef,
    namespace: &str,
    kafka: Option<&DynamicObject>,
    auth: Option<AuthenticationType>,
) -> Result<ResolvedListener, StrimziError> {
    let cluster = reference.name.clone();
    let kafka = kafka.ok_or_else(|| StrimziError::NotFound {
        name: cluster.clone(),
        namespace: namespace.to_string(),
    })?;
    let listeners = kafka
        .data
        .pointer("/spec/kafka/listeners")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let name_of = |l: &Value| {
        l.get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let known = || listeners.iter().map(name_of).collect::<Vec<_>>().join(", ");
    let chosen = match &reference.listener {
        Some(wanted) => listeners
            .iter()
            .find(|l| name_of(l) == *wanted)
            .ok_or_else(|| StrimziError::NoSuchListener {
                cluster: cluster.clone(),
                listener: wanted.clone(),
                known: known(),
            })?,
        None => {
            let wanted = listener_authentication(auth);
            let matching =
                |l: &&Value| l.pointer("/authentication/type").and_then(Value::as_str) == wanted;
            let rank = |l: &&Value| {
                let kind = l.get("type").and_then(Value::as_str).unwrap_or_default();
                let in_cluster = matches!(kind, "internal" | "cluster-ip");
                let tls = l.get("tls").and_then(Value::as_bool).unwrap_or(false);
                (!in_cluster, !tls)
            };
            listeners
                .iter()
                .filter(matching)
                .min_by_key(rank)
                .ok_or_else(|| StrimziError::NoMatchingListener {
                    cluster: cluster.clone(),
                    wanted: match wanted {
                        Some(kind) => format!("authentication '{kind}'"),
                        None => "no authentication".into(),
                    },
                    known: known(),
                })?
        }
    };
    let listener = name_of(chosen);
    let tls = chosen.get("tls").and_then(Value::as_bool).unwrap_or(false);
    let bootstrap_servers = kafka
        .data
        .pointer("/status/listeners")
        .and_then(Value::as_array)
        .and_then(|status| {
            status
                .iter()
                .find(|s| s.get("name").and_then(Value::as_str) == Some(listener.as_str()))
        })
        .and_then(|s| s.get("bootstrapServers"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| StrimziError::NotReady {
            cluster: cluster.clone(),
            listener: listener.clone(),
        })?
        .to_string();
    Ok(ResolvedListener {
        bootstrap_servers,
        ca_secret: tls.then(|| {
            reference.ca_secret.clone().unwrap_or_else(|| SecretKeyRef {
                name: format!("{cluster}-cluster-ca-cert"),
                key: "ca.crt".into(),
            })
        }),
    })
}

/// The credentials of a `KafkaUser`, from its status: the user name and the Secret the
/// User Operator writes (`password` for SCRAM, `user.crt` and `user.key` for TLS).
pub fn user_credentials(
    auth: &KafkaAuthentication,
    name: &str,
    namespace: &str,
    user: Option<&DynamicObject>,
) -> Result<KafkaAuthentication, StrimziError> {
    let user = user.ok_or_else(|| StrimziError::UserNotFound {
        name: name.to_string(),
        namespace: namespace.to_string(),
    })?;
    let theirs = user
        .data
        .pointer("/spec/authentication/type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let ours = listener_authentication(Some(auth.kind)).unwrap_or_default();
    let compatible = theirs == ours || (ours == "tls" && theirs == "tls-external");
    if !compatible {
        return Err(StrimziError::UserMismatch {
            user: name.to_string(),
            theirs: theirs.to_string(),
            ours: ours.to_string(),
        });
    }
    let ready = user
        .data
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        });
    let secret = user
        .data
        .pointer("/status/secret")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let (true, Some(secret)) = (ready, secret) else {
        return Err(StrimziError::UserNotReady(name.to_string()));
    };
    let username = user
        .data
        .pointer("/status/username")
        .and_then(Value::as_str)
        .unwrap_or(name)
        .to_string();
    Ok(if auth.kind.is_sasl() {
        KafkaAuthentication {
            kind: auth.kind,
            username: Some(username),
            password_secret: Some(SecretKeyRef {
                name: secret.to_string(),
                key: "password".into(),
            }),
            certificate_and_key: None,
            kafka_user_ref: None,
        }
    } else {
        KafkaAuthentication {
            kind: auth.kind,
            username: None,
            password_secret: None,
            certificate_and_key: Some(CertificateAndKey {
                secret_name: secret.to_string(),
                certificate: "user.crt".into(),
                key: "user.key".into(),
            }),
            kafka_user_ref: None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kafka(data: Value) -> DynamicObject {
        let mut object = DynamicObject::new("my-cluster", &kafka_resource());
        object.data = data;
        object
    }

    fn cluster() -> DynamicObject {
        kafka(json!({
            "spec": {"kafka": {"listeners": [
                {"name": "plain", "port": 9092, "type": "internal", "tls": false},
                {"name": "tls", "port": 9093, "type": "internal", "tls": true},
                {"name": "scram", "port": 9094, "type": "internal", "tls": true,
                 "authentication": {"type": "scram-sha-512"}},
                {"name": "scramplain", "port": 9095, "type": "internal", "tls": false,
                 "authentication": {"type": "scram-sha-512"}},
                {"name": "external", "port": 9096, "type": "loadbalancer", "tls": true}
            ]}},
            "status": {"listeners": [
                {"name": "plain", "bootstrapServers": "my-cluster-kafka-bootstrap.kafka.svc:9092"},
                {"name": "tls", "bootstrapServers": "my-cluster-kafka-bootstrap.kafka.svc:9093"},
                {"name": "scram", "bootstrapServers": "my-cluster-kafka-bootstrap.kafka.svc:9094"},
                {"name": "scramplain", "bootstrapServers": "my-cluster-kafka-bootstrap.kafka.svc:9095"}
            ]}
        }))
    }

    fn reference(listener: Option<&str>) -> StrimziClusterRef {
        StrimziClusterRef {
            name: "my-cluster".into(),
            listener: listener.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn without_authentication_an_unauthenticated_in_cluster_listener_is_chosen_tls_first() {
        let resolved = resolve(&reference(None), "kafka", Some(&cluster()), None).unwrap();
        assert_eq!(
            resolved.bootstrap_servers,
            "my-cluster-kafka-bootstrap.kafka.svc:9093"
        );
        assert!(resolved.ca_secret.is_some());
        let plain_only = kafka(json!({
            "spec": {"kafka": {"listeners": [{"name": "plain", "type": "internal", "tls": false}]}},
            "status": {"listeners": [{"name": "plain", "bootstrapServers": "k:9092"}]}
        }));
        let resolved = resolve(&reference(None), "kafka", Some(&plain_only), None).unwrap();
        assert_eq!(resolved.ca_secret, None);
    }

    #[test]
    fn the_listener_follows_the_clients_authentication_preferring_tls() {
        let scram = resolve(
            &reference(None),
            "kafka",
            Some(&cluster()),
            Some(AuthenticationType::ScramSha512),
        )
        .unwrap();
        assert_eq!(
            scram.bootstrap_servers,
            "my-cluster-kafka-bootstrap.kafka.svc:9094"
        );
        assert!(scram.ca_secret.is_some(), "the TLS scram listener wins");
        let none = resolve(
            &reference(None),
            "kafka",
            Some(&cluster()),
            Some(AuthenticationType::Plain),
        )
        .unwrap_err();
        assert!(
            none.to_string().contains("authentication 'plain'"),
            "{none}"
        );
    }

    #[test]
    fn a_ca_secret_of_ones_own_replaces_strimzis() {
        let mut r = reference(Some("tls"));
        r.ca_secret = Some(SecretKeyRef {
            name: "copied-ca".into(),
            key: "ca.pem".into(),
        });
        let resolved = resolve(&r, "kafka", Some(&cluster()), None).unwrap();
        assert_eq!(resolved.ca_secret.unwrap().name, "copied-ca");
    }

    fn user(ready: bool, kind: &str) -> DynamicObject {
        let mut object = DynamicObject::new("backup-user", &kafka_user_resource());
        object.data = json!({
            "spec": {"authentication": {"type": kind}},
            "status": {
                "username": "backup-user",
                "secret": "backup-user",
                "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]
            }
        });
        object
    }

    fn auth(kind: AuthenticationType) -> KafkaAuthentication {
        KafkaAuthentication {
            kind,
            username: None,
            password_secret: None,
            certificate_and_key: None,
            kafka_user_ref: Some(crate::api::KafkaUserRef {
                name: "backup-user".into(),
            }),
        }
    }

    #[test]
    fn a_kafka_user_gives_its_secret_by_reference() {
        let scram = user_credentials(
            &auth(AuthenticationType::ScramSha512),
            "backup-user",
            "kafka",
            Some(&user(true, "scram-sha-512")),
        )
        .unwrap();
        assert_eq!(scram.username.as_deref(), Some("backup-user"));
        assert_eq!(
            scram.password_secret,
            Some(SecretKeyRef {
                name: "backup-user".into(),
                key: "password".into()
            })
        );
        let tls = user_credentials(
            &auth(AuthenticationType::Tls),
            "backup-user",
            "kafka",
            Some(&user(true, "tls")),
        )
        .unwrap();
        let cert = tls.certificate_and_key.unwrap();
        assert_eq!(
            (cert.certificate.as_str(), cert.key.as_str()),
            ("user.crt", "user.key")
        );
        assert!(matches!(
            user_credentials(
                &auth(AuthenticationType::Tls),
                "backup-user",
                "kafka",
                Some(&user(false, "tls"))
            ),
            Err(StrimziError::UserNotReady(_))
        ));
        assert!(matches!(
            user_credentials(&auth(AuthenticationType::Tls), "backup-user", "kafka", None),
            Err(StrimziError::UserNotFound { .. })
        ));
        assert!(matches!(
            user_credentials(
                &auth(AuthenticationType::Tls),
                "backup-user",
                "kafka",
                Some(&user(true, "scram-sha-512"))
            ),
            Err(StrimziError::UserMismatch { .. })
        ));
    }

    #[test]
    fn a_tls_listener_brings_the_cluster_ca() {
        let resolved = resolve(&reference(Some("tls")), "kafka", Some(&cluster()), None).unwrap();
        assert_eq!(
            resolved.bootstrap_servers,
            "my-cluster-kafka-bootstrap.kafka.svc:9093"
        );
        assert_eq!(
            resolved.ca_secret,
            Some(SecretKeyRef {
                name: "my-cluster-cluster-ca-cert".into(),
                key: "ca.crt".into()
            })
        );
    }

    #[test]
    fn missing_cluster_listener_or_address_is_explained() {
        assert!(matches!(
            resolve(&reference(None), "kafka", None, None),
            Err(StrimziError::NotFound { .. })
        ));
        let err = resolve(&reference(Some("nope")), "kafka", Some(&cluster()), None).unwrap_err();
        assert!(
            err.to_string()
                .contains("listeners: plain, tls, scram, scramplain, external"),
            "{err}"
        );
        assert!(matches!(
            resolve(
                &reference(Some("external")),
                "kafka",
                Some(&cluster()),
                None
            ),
            Err(StrimziError::NotReady { .. })
        ));
        let only_auth = kafka(json!({"spec": {"kafka": {"listeners": [
            {"name": "ext", "type": "route", "authentication": {"type": "tls"}}
        ]}}}));
        assert!(matches!(
            resolve(&reference(None), "kafka", Some(&only_auth), None),
            Err(StrimziError::NoMatchingListener { .. })
        ));
    }
}
