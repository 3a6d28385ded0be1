//! Prometheus metrics of the controller: reconciles, errors by class, durations, and
//! Jobs created. No IO.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WriteLabels {
    verb: &'static str,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    verb: &'static str,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    kind: &'static str,
    class: &'static str,
}

/// The controller's metrics, registered in the process's registry.
#[derive(Clone, Debug)]
pub struct ControllerMetrics {
    reconciles: Family<KindLabel, Counter>,
    errors: Family<ErrorLabels, Counter>,
    duration: Family<KindLabel, Histogram>,
    jobs_created: Family<KindLabel, Counter>,
    writes: Family<WriteLabels, Counter>,
    requests: Family<RequestLabels, Counter>,
    leader: Gauge,
    events_queued: Gauge,
    events_dropped: Counter,
    /// The per-resource series, read from the caches at each scrape.
    pub resources: super::resource_metrics::ResourceCaches,
}

impl ControllerMetrics {
    /// Registers the metrics under the `controller` prefix.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            reconciles: Family::default(),
            errors: Family::default(),
            duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 2.0, 14))
            }),
            jobs_created: Family::default(),
            writes: Family::default(),
            requests: Family::default(),
            leader: Gauge::default(),
            events_queued: Gauge::default(),
            events_dropped: Counter::default(),
            resources: Default::default(),
        };
        registry.register_collector(Box::new(metrics.resources.clone()));
        let sub = registry.sub_registry_with_prefix("controller");
        sub.register(
            "reconciles",
            "Reconciles run, by kind",
            metrics.reconciles.clone(),
        );
        sub.register(
            "reconcile_errors",
            "Reconciles that failed, by kind and error class",
            metrics.errors.clone(),
        );
        sub.register(
            "reconcile_duration_seconds",
            "Time spent in one reconcile",
            metrics.duration.clone(),
        );
        sub.register(
            "jobs_created",
            "Jobs created, by kind of owner",
            metrics.jobs_created.clone(),
        );
        sub.register(
            "api_writes",
            "Writes to the API server that succeeded, by verb and kind of object",
            metrics.writes.clone(),
        );
        sub.register(
            "api_requests",
            "Requests the controller sent to the API server, reads and watches included, by verb and resource",
            metrics.requests.clone(),
        );
        sub.register(
            "events_queued",
            "Events waiting to be written (they wait while every reconcile slot is taken)",
            metrics.events_queued.clone(),
        );
        sub.register(
            "events_dropped",
            "Events not written because the queue was full",
            metrics.events_dropped.clone(),
        );
        registry.register(
            "kafka_backup_operator_leader",
            "1 while this replica holds the leader election Lease and runs the controllers",
            metrics.leader.clone(),
        );
        metrics
    }

    /// Whether this replica leads (runs the controllers) now.
    pub fn leading(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// Counts one request the controller's client sends (see [`request_kind`]).
    pub fn requested(&self, method: &http::Method, uri: &http::Uri) {
        let (verb, kind) = request_kind(method, uri.path(), uri.query());
        self.requests
            .get_or_create(&RequestLabels { verb, kind })
            .inc();
    }

    /// Counts one reconcile and, when it failed, its error class.
    pub fn reconciled(
        &self,
        kind: &'static str,
        took: Duration,
        error_class: Option<&'static str>,
    ) {
        self.reconciles.get_or_create(&KindLabel { kind }).inc();
        self.duration
            .get_or_create(&KindLabel { kind })
            .observe(took.as_secs_f64());
        if let Some(class) = error_class {
            self.errors
                .get_or_create(&ErrorLabels { kind, class })
                .inc();
        }
    }

    /// One Event more waits to be written.
    pub fn event_queued(&self) {
        self.events_queued.inc();
    }

    /// One Event waits no more: it is being written.
    pub fn event_done(&self) {
        self.events_queued.dec();
    }

    /// One Event dropped, the queue full.
    pub fn event_dropped(&self) {
        self.events_dropped.inc();
    }

    pub fn job_created(&self, kind: &'static str) {
        self.jobs_created.get_or_create(&KindLabel { kind }).inc();
    }

    /// Counts one write to the API server.
    pub fn wrote(&self, verb: &'static str, kind: &str) {
        self.writes
            .get_or_create(&WriteLabels {
                verb,
                kind: kind.to_string(),
            })
            .inc();
    }
}

/// The verb and resource of a request to the API server, from its method and path:
/// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete` or `deletecollection`,
/// and the resource's plural with its subresource (`kafkarestores/status`); paths that
/// name no resource (`/version`, discovery) count as `discovery`. Pure.
pub fn request_kind(
    method: &http::Method,
    path: &str,
    query: Option<&str>,
) -> (&'static str, String) {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    // After `/api/v1` or `/apis/<group>/<version>`.
    let rest = match segments.as_slice() {
        ["api", _, rest @ ..] => rest,
        ["apis", _, _, rest @ ..] => rest,
        _ => &[][..],
    };
    let rest = match rest {
        ["namespaces", _, resource, tail @ ..] => {
            let mut all = vec![*resource];
            all.extend_from_slice(tail);
            all
        }
        other => other.to_vec(),
    };
    let Some((resource, tail)) = rest.split_first() else {
        return ("discovery", "discovery".into());
    };
    let named = !tail.is_empty();
    let kind = match tail.get(1) {
        Some(sub) => format!("{resource}/{sub}"),
        None => resource.to_string(),
    };
    let watch = query.is_some_and(|q| {
        q.split('&')
            .any(|pair| pair == "watch=true" || pair == "watch=1")
    });
    let verb = match *method {
        http::Method::GET if watch => "watch",
        http::Method::GET if named => "get",
        http::Method::GET => "list",
        http::Method::POST => "create",
        http::Method::PUT => "update",
        http::Method::PATCH => "patch",
        http::Method::DELETE if named => "delete",
        http::Method::DELETE => "deletecollection",
        _ => "other",
    };
    (verb, kind)
}

#[cfg(test)]
mod tests {
    use super::request_kind;
    use http::Method;

    #[test]
    fn requests_are_counted_by_verb_and_resource() {
        let cases = [
            (
                Method::GET,
                "/api/v1/namespaces/kafka/persistentvolumeclaims",
                Some("labelSelector=a%3Db"),
                "list",
                "persistentvolumeclaims",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/kafka/pods",
                Some("labelSelector=x&watch=true&timeoutSeconds=290"),
                "watch",
                "pods",
            ),
            (
                Method::GET,
                "/apis/batch/v1/namespaces/kafka/jobs/r-restore-1",
                None,
                "get",
                "jobs",
            ),
            (
                Method::GET,
                "/apis/kafkabackup.com/v1alpha1/kafkarestores",
                Some("watch=1"),
                "watch",
                "kafkarestores",
            ),
            (
                Method::PATCH,
                "/apis/kafkabackup.com/v1alpha1/namespaces/kafka/kafkarestores/r/status",
                Some("fieldManager=x"),
                "patch",
                "kafkarestores/status",
            ),
            (
                Method::POST,
                "/apis/batch/v1/namespaces/kafka/jobs",
                None,
                "create",
                "jobs",
            ),
            (
                Method::DELETE,
                "/api/v1/namespaces/kafka/configmaps/r-config",
                None,
                "delete",
                "configmaps",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/kafka",
                None,
                "get",
                "namespaces",
            ),
            (
                Method::PUT,
                "/apis/coordination.k8s.io/v1/namespaces/ops/leases/kafka-backup-operator",
                None,
                "update",
                "leases",
            ),
            (Method::GET, "/version", None, "discovery", "discovery"),
        ];
        for (method, path, query, verb, kind) in cases {
            assert_eq!(
                request_kind(&method, path, query),
                (verb, kind.to_string()),
                "{method} {path}"
            );
        }
    }
}
