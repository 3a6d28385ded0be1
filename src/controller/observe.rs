//! Observations both kinds make: how to reach the Kafka cluster (as given, or through
//! Strimzi), what a finished worker reported, and the time.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DynamicObject, ListParams};

use crate::api::{ClusterSource, KafkaAuthentication};
use crate::controller::Context;
use crate::controller::build::Connection;
use crate::controller::calls::{list, timed};
use crate::controller::error::{Call, Result};
use crate::controller::strimzi;
use crate::controller::waiting::{Blocker, Waiting};

pub(crate) fn now() -> Time {
    Time(jiff::Timestamp::now())
}

/// The summary the worker of a finished Job left in its termination message.
pub(crate) async fn worker_summary(
    ctx: &Context,
    namespace: &str,
    job: &str,
) -> Result<Option<crate::worker::report::Summary>> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let pods = list(
        &pods,
        &ListParams::default().labels(&format!("job-name={job}")),
    )
    .await?;
    Ok(pods
        .iter()
        .filter_map(|pod| pod.status.as_ref()?.container_statuses.as_ref())
        .flatten()
        .filter_map(|c| c.state.as_ref()?.terminated.as_ref()?.message.as_deref())
        .filter_map(|message| serde_json::from_str(message.trim()).ok())
        .next_back())
}

/// The Strimzi resources a resource names: its `Kafka` (in `strimziClusterRef.namespace`
/// or its own) and the `KafkaUser` of its authentication. Each is `None` when not named,
/// missing, or when Strimzi's CRDs are not installed.
#[derive(Clone, Debug, Default)]
pub(crate) struct StrimziObjects {
    pub kafka: Option<DynamicObject>,
    pub user: Option<DynamicObject>,
}

async fn get_strimzi(
    ctx: &Context,
    namespace: &str,
    resource: &kube::api::ApiResource,
    name: &str,
) -> Result<Option<DynamicObject>> {
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), namespace, resource);
    match timed(
        Call::of_kind("get", &resource.kind, name),
        api.get_opt(name),
    )
    .await
    {
        Ok(object) => Ok(object),
        Err(e) if e.status_code() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads the Strimzi resources a resource names.
pub(crate) async fn strimzi_objects(
    ctx: &Context,
    namespace: &str,
    source: Option<ClusterSource<'_>>,
    auth: Option<&KafkaAuthentication>,
) -> Result<StrimziObjects> {
    let kafka = match source {
        Some(ClusterSource::Strimzi(reference)) => {
            let kafka_namespace = reference.namespace.as_deref().unwrap_or(namespace);
            get_strimzi(
                ctx,
                kafka_namespace,
                &strimzi::kafka_resource(),
                &reference.name,
            )
            .await?
        }
        _ => None,
    };
    let user = match auth.and_then(|a| a.kafka_user_ref.as_ref()) {
        Some(user) => {
            get_strimzi(ctx, namespace, &strimzi::kafka_user_resource(), &user.name).await?
        }
        None => None,
    };
    Ok(StrimziObjects { kafka, user })
}

/// How to reach the cluster, or why it cannot be reached yet: the address of the
/// cluster or of its matching listener, the CA, and the credentials, a KafkaUser's
/// resolved to its Secret. Pure.
pub(crate) fn connection_of(
    namespace: &str,
    source: Option<ClusterSource<'_>>,
    auth: Option<&KafkaAuthentication>,
    objects: &StrimziObjects,
) -> Result<Connection, Blocker> {
    let authentication = match auth {
        Some(a) => match &a.kafka_user_ref {
            Some(user) => Some(
                strimzi::user_credentials(a, &user.name, namespace, objects.user.as_ref())
                    .map_err(|e| Blocker::new(Waiting::UserNotReady, e.to_string()))?,
            ),
            None => Some(a.clone()),
        },
        None => None,
    };
    match source {
        None => Err(Blocker::new(
            Waiting::InvalidSpec,
            "set spec.strimziClusterRef or spec.kafka",
        )),
        Some(ClusterSource::Direct(kafka)) => Ok(Connection {
            bootstrap_servers: kafka.bootstrap_servers.clone(),
            tls: kafka.tls.is_some(),
            ca_secret: kafka.tls.as_ref().and_then(|t| t.ca_secret.clone()),
            authentication,
        }),
        Some(ClusterSource::Strimzi(reference)) => {
            let kafka_namespace = reference.namespace.as_deref().unwrap_or(namespace);
            strimzi::resolve(
                reference,
                kafka_namespace,
                objects.kafka.as_ref(),
                auth.map(|a| a.kind),
            )
            .map(|listener| Connection {
                bootstrap_servers: listener.bootstrap_servers,
                tls: listener.ca_secret.is_some(),
                ca_secret: listener.ca_secret,
                authentication,
            })
            .map_err(|e| Blocker::new(Waiting::ClusterNotReady, e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{KafkaConnection, StrimziClusterRef};

    #[test]
    fn the_cluster_is_reached_as_given_or_waited_for() {
        let none = StrimziObjects::default();
        let unset = connection_of("kafka", None, None, &none).unwrap_err();
        assert_eq!(unset.why, Waiting::InvalidSpec);

        let direct = KafkaConnection {
            bootstrap_servers: "kafka:9092".into(),
            ..Default::default()
        };
        let connection =
            connection_of("kafka", Some(ClusterSource::Direct(&direct)), None, &none).unwrap();
        assert_eq!(connection.bootstrap_servers, "kafka:9092");
        assert!(!connection.tls);

        let reference = StrimziClusterRef {
            name: "my-cluster".into(),
            listener: None,
            ..Default::default()
        };
        let missing = connection_of(
            "kafka",
            Some(ClusterSource::Strimzi(&reference)),
            None,
            &none,
        )
        .unwrap_err();
        assert_eq!(missing.why, Waiting::ClusterNotReady);
        assert!(
            missing.message.contains("my-cluster"),
            "{}",
            missing.message
        );
    }
}
