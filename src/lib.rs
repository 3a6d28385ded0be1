//! kafka-backup-operator: a Kubernetes operator that backs up and restores Apache Kafka
//! topics. The API types, the pure policy (defaults and validation), the admission
//! policy the webhook serves, and the offline validator.
#![forbid(unsafe_code)]

pub mod admission;
pub mod api;
pub mod certs;
pub mod cluster;
pub mod constants;
pub mod controller;
pub mod crypto;
#[cfg(test)]
mod fixtures;
pub mod manifest_check;
pub mod policy;
pub mod shutdown;
pub mod supervise;
pub mod worker;
