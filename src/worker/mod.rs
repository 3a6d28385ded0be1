//! The data-plane worker that runs inside backup and restore Jobs. This module holds the
//! contract between the controller and the worker: the configuration file the
//! controller writes into the Job's ConfigMap, and the paths the Job mounts.

pub mod cli;
pub mod config;
pub mod engine_config;
pub mod fingerprint;
pub mod groups;
pub mod progress;
pub mod report;
pub mod retention;
pub mod run;
pub mod storage_check;
