//! Observations both kinds make: how to reach the Kafka cluster (as given, or through
//! Strimzi), what a finished worker reported, and the time.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DynamicObject, ListParams};

use crate::api::{ClusterSource, SecretKeyRef};
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

/// The Strimzi `Kafka` a resource names, read from the API; `None` for a cluster given by
/// address, a missing `Kafka`, or no Strimzi CRD in the cluster at all.
pub(crate) async fn strimzi_kafka(
    ctx: &Context,
    namespace: &str,
    source: Option<ClusterSource<'_>>,
) -> Result<Option<DynamicObject>> {
    let Some(ClusterSource::Strimzi(reference)) = source else {
        return Ok(None);
    };
    let name = &reference.name;
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), namespace, &strimzi::kafka_resource());
    match timed(Call::of_kind("get", "Kafka", name), api.get_opt(name)).await {
        Ok(kafka) => Ok(kafka),
        Err(e) if e.status_code() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

/// How to reach the cluster, or why it cannot be reached yet. Pure.
pub(crate) fn connection_of(
    source: Option<ClusterSource<'_>>,
    kafka: Option<&DynamicObject>,
) -> Result<Connection, Blocker> {
    match source {
        None => Err(Blocker::new(
            Waiting::InvalidSpec,
            "set spec.strimziClusterRef or spec.kafka",
        )),
        Some(ClusterSource::Direct(kafka)) => Ok(Connection {
            bootstrap_servers: kafka.bootstrap_servers.clone(),
            tls: kafka.tls.is_some(),
            ca_secret: kafka.tls.as_ref().and_then(|t| t.ca_secret.clone()),
            authentication: kafka.authentication.clone(),
        }),
        Some(ClusterSource::Strimzi(reference)) => strimzi::resolve(reference, kafka)
            .map(|listener| Connection {
                bootstrap_servers: listener.bootstrap_servers,
                tls: listener.ca_secret.is_some(),
                ca_secret: listener
                    .ca_secret
                    .map(|(name, key)| SecretKeyRef { name, key }),
                authentication: None,
            })
            .map_err(|e| Blocker::new(Waiting::ClusterNotReady, e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{KafkaConnection, StrimziClusterRef};

    #[test]
    fn the_cluster_is_reached_as_given_or_waited_for() {
        let unset = connection_of(None, None).unwrap_err();
        assert_eq!(unset.why, Waiting::InvalidSpec);

        let direct = KafkaConnection {
            bootstrap_servers: "kafka:9092".into(),
            ..Default::default()
        };
        let connection = connection_of(Some(ClusterSource::Direct(&direct)), None).unwrap();
        assert_eq!(connection.bootstrap_servers, "kafka:9092");
        assert!(!connection.tls);

        let reference = StrimziClusterRef {
            name: "my-cluster".into(),
            listener: None,
            ..Default::default()
        };
        let missing = connection_of(Some(ClusterSource::Strimzi(&reference)), None).unwrap_err();
        assert_eq!(missing.why, Waiting::ClusterNotReady);
        assert!(
            missing.message.contains("my-cluster"),
            "{}",
            missing.message
        );
    }
}
