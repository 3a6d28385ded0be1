//! kafka-backup-operator: a Kubernetes operator that backs up and restores Apache Kafka
//! topics. The API types, the pure policy (defaults and validation), the admission
//! policy the webhook serves, the offline validator, the controller, the worker, and the
//! command line (`cli`) over all of them.
#![forbid(unsafe_code)]

pub mod admission;
pub mod api;
pub mod certs;
pub mod cli;
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
