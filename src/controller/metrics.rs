//! Prometheus metrics of the controller: reconciles, errors by class, durations, and
//! Jobs created. No IO.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
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
        };
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
        metrics
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
