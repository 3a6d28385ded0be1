//! Prometheus metrics of the admission server: answers by outcome, and latency. No IO.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Which endpoint answered.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum Review {
    Mutate,
    Validate,
}

/// How a request ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum Outcome {
    /// The policy admitted the object.
    Allowed,
    /// The policy refused the object.
    Denied,
    /// The request could not be read (malformed, wrong kind, too large).
    Errored,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    review: Review,
    outcome: Outcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReviewLabels {
    review: Review,
}

/// Counters and a latency histogram, registered once in the host's registry.
#[derive(Clone, Debug)]
pub struct Metrics {
    requests: Family<OutcomeLabels, Counter>,
    duration: Family<ReviewLabels, Histogram>,
}

impl Metrics {
    /// Registers the admission metrics under the `admission` prefix.
    pub fn register(registry: &mut Registry) -> Self {
        let requests = Family::<OutcomeLabels, Counter>::default();
        let duration = Family::<ReviewLabels, Histogram>::new_with_constructor(|| {
            // 50 µs .. ~1.6 s: admission answers are expected well under a millisecond.
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
                0.000_05, 2.0, 16,
            ))
        });
        let sub = registry.sub_registry_with_prefix("admission");
        sub.register(
            "requests",
            "Admission reviews answered, by review and outcome",
            requests.clone(),
        );
        sub.register(
            "request_duration_seconds",
            "Time to answer an admission review, from body read to response",
            duration.clone(),
        );
        Self { requests, duration }
    }

    pub(crate) fn observe(&self, review: Review, outcome: Outcome, seconds: f64) {
        self.requests
            .get_or_create(&OutcomeLabels { review, outcome })
            .inc();
        self.duration
            .get_or_create(&ReviewLabels { review })
            .observe(seconds);
    }
}
