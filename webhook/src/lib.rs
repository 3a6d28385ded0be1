//! A generic Kubernetes admission webhook server: AdmissionReview v1 over HTTPS (axum on
//! tokio-rustls), with a certificate that reloads from its files, health and readiness
//! endpoints, and Prometheus metrics. It knows nothing of the resources it guards: the
//! host hands it a [`Policy`].
#![forbid(unsafe_code)]

pub mod metrics;
pub mod server;
pub mod tls;

pub use kube::core::DynamicObject;
pub use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
pub use metrics::Metrics;
pub use server::{Decision, Policy, ReadinessCheck, Server, ServerError, ServerOptions};
pub use tls::{ReloadingCertificate, TlsError};
