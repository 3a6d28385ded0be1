//! Reading a Strimzi `Kafka` resource: the bootstrap address of a listener and whether it
//! needs the cluster CA. Pure; the reconciler fetches the resource.

use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::Value;

use crate::api::StrimziClusterRef;

/// The Strimzi `Kafka` kind (`kafka.strimzi.io/v1beta2`).
pub fn kafka_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kafka.strimzi.io", "v1beta2", "Kafka"),
        "kafkas",
    )
}

/// A listener of a Strimzi cluster, ready to connect to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedListener {
    pub bootstrap_servers: String,
    /// The cluster CA Secret and key, when the listener uses TLS.
    pub ca_secret: Option<(String, String)>,
}

/// Why a Strimzi cluster cannot be used (yet).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StrimziError {
    #[error("Strimzi Kafka '{0}' not found in this namespace; check spec.strimziClusterRef.name")]
    NotFound(String),
    #[error("Strimzi Kafka '{cluster}' has no listener '{listener}'; listeners: {known}")]
    NoSuchListener {
        cluster: String,
        listener: String,
        known: String,
    },
    #[error("Strimzi Kafka '{0}' has no internal listener; set spec.strimziClusterRef.listener")]
    NoInternalListener(String),
    #[error(
        "Strimzi Kafka '{cluster}' does not report an address for listener '{listener}' yet; waiting for it to be ready"
    )]
    NotReady { cluster: String, listener: String },
}

/// Finds the listener to use: the named one, or the first `internal` one, and its
/// address from the resource's status.
pub fn resolve(
    reference: &StrimziClusterRef,
    kafka: Option<&DynamicObject>,
) -> Result<ResolvedListener, StrimziError> {
    let cluster = reference.name.clone();
    let kafka = kafka.ok_or_else(|| StrimziError::NotFound(cluster.clone()))?;
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
    let chosen = match &reference.listener {
        Some(wanted) => listeners
            .iter()
            .find(|l| name_of(l) == *wanted)
            .ok_or_else(|| StrimziError::NoSuchListener {
                cluster: cluster.clone(),
                listener: wanted.clone(),
                known: listeners.iter().map(name_of).collect::<Vec<_>>().join(", "),
            })?,
        None => listeners
            .iter()
            .find(|l| l.get("type").and_then(Value::as_str) == Some("internal"))
            .ok_or_else(|| StrimziError::NoInternalListener(cluster.clone()))?,
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
        ca_secret: tls.then(|| (format!("{cluster}-cluster-ca-cert"), "ca.crt".to_string())),
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
                {"name": "external", "port": 9094, "type": "loadbalancer", "tls": true}
            ]}},
            "status": {"listeners": [
                {"name": "plain", "bootstrapServers": "my-cluster-kafka-bootstrap.kafka.svc:9092"},
                {"name": "tls", "bootstrapServers": "my-cluster-kafka-bootstrap.kafka.svc:9093"}
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
    fn the_first_internal_listener_is_the_default() {
        let resolved = resolve(&reference(None), Some(&cluster())).unwrap();
        assert_eq!(
            resolved.bootstrap_servers,
            "my-cluster-kafka-bootstrap.kafka.svc:9092"
        );
        assert_eq!(resolved.ca_secret, None);
    }

    #[test]
    fn a_tls_listener_brings_the_cluster_ca() {
        let resolved = resolve(&reference(Some("tls")), Some(&cluster())).unwrap();
        assert_eq!(
            resolved.bootstrap_servers,
            "my-cluster-kafka-bootstrap.kafka.svc:9093"
        );
        assert_eq!(
            resolved.ca_secret,
            Some(("my-cluster-cluster-ca-cert".into(), "ca.crt".into()))
        );
    }

    #[test]
    fn missing_cluster_listener_or_address_is_explained() {
        assert!(matches!(
            resolve(&reference(None), None),
            Err(StrimziError::NotFound(_))
        ));
        let err = resolve(&reference(Some("nope")), Some(&cluster())).unwrap_err();
        assert!(
            err.to_string().contains("listeners: plain, tls, external"),
            "{err}"
        );
        assert!(matches!(
            resolve(&reference(Some("external")), Some(&cluster())),
            Err(StrimziError::NotReady { .. })
        ));
        let no_internal =
            kafka(json!({"spec": {"kafka": {"listeners": [{"name": "ext", "type": "route"}]}}}));
        assert!(matches!(
            resolve(&reference(None), Some(&no_internal)),
            Err(StrimziError::NoInternalListener(_))
        ));
    }
}
