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

/// How to reach the cluster of a resource: as given, or resolved through Strimzi.
pub(crate) async fn connection(
    ctx: &Context,
    namespace: &str,
    source: Option<ClusterSource<'_>>,
) -> Result<Result<Connection, Blocker>> {
    match source {
        None => Ok(Err(Blocker {
            why: Waiting::InvalidSpec,
            message: "set spec.strimziClusterRef or spec.kafka".into(),
        })),
        Some(ClusterSource::Direct(kafka)) => Ok(Ok(Connection {
            bootstrap_servers: kafka.bootstrap_servers.clone(),
            tls: kafka.tls.is_some(),
            ca_secret: kafka.tls.as_ref().and_then(|t| t.ca_secret.clone()),
            authentication: kafka.authentication.clone(),
        })),
        Some(ClusterSource::Strimzi(reference)) => {
            let api: Api<DynamicObject> =
                Api::namespaced_with(ctx.client.clone(), namespace, &strimzi::kafka_resource());
            let call = Call::of_kind("get", "Kafka", &reference.name);
            let kafka = match timed(call, api.get_opt(&reference.name)).await {
                Ok(kafka) => kafka,
                // No Strimzi CRD in this cluster: the same answer as a missing cluster.
                Err(e) if e.status_code() == Some(404) => None,
                Err(e) => return Err(e),
            };
            Ok(strimzi::resolve(reference, kafka.as_ref())
                .map(|listener| Connection {
                    bootstrap_servers: listener.bootstrap_servers,
                    tls: listener.ca_secret.is_some(),
                    ca_secret: listener
                        .ca_secret
                        .map(|(name, key)| SecretKeyRef { name, key }),
                    authentication: None,
                })
                .map_err(|e| Blocker {
                    why: Waiting::ClusterNotReady,
                    message: e.to_string(),
                }))
        }
    }
}
