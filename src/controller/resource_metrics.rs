//! Metrics per KafkaBackup and KafkaRestore, read at each scrape from the controller's
//! caches: what their status says (the last successful run, the outcome of the last
//! one, the next scheduled time; a restore's state, attempt and progress). Labels are
//! `namespace` and `name` only, and a deleted resource's series go with it, because
//! nothing is kept between scrapes. A replica that does not lead has no caches and
//! exports none of them (so two replicas never export the same series twice).
//! `series` is pure; the collector only encodes.

use std::sync::{Arc, RwLock};

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::ResourceExt;
use kube::runtime::reflector::Store;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::api::common::Outcome;
use crate::api::{KafkaBackup, KafkaRestore};
use crate::controller::backup::plan::next_run;

/// The labels of every series here.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    pub namespace: String,
    pub name: String,
}

/// One metric: its name, help and a value per resource.
#[derive(Debug, PartialEq)]
pub struct Series {
    pub name: &'static str,
    pub help: &'static str,
    pub values: Vec<(ResourceLabels, f64)>,
}

/// The metrics of every backup and restore, as of `now`. Pure.
pub fn series(
    backups: &[Arc<KafkaBackup>],
    restores: &[Arc<KafkaRestore>],
    now: Timestamp,
) -> Vec<Series> {
    let mut out: Vec<Series> = METRICS
        .iter()
        .map(|(name, help)| Series {
            name,
            help,
            values: Vec::new(),
        })
        .collect();
    let mut put = |metric: &str, resource: &dyn ResourceName, value: f64| {
        let series = out
            .iter_mut()
            .find(|s| s.name == metric)
            .expect("every metric is in METRICS");
        series.values.push((resource.labels(), value));
    };
    let no_backup_status = Default::default();
    let no_restore_status = Default::default();
    for backup in backups.iter().map(Arc::as_ref) {
        let status = backup.status.as_ref().unwrap_or(&no_backup_status);
        put(
            "kafka_backup_created_timestamp_seconds",
            backup,
            seconds(backup.creation_timestamp().map(|t| t.0)),
        );
        let runs = status
            .last_backup
            .iter()
            .chain(status.backup_history.iter());
        if let Some(success) = runs
            .filter(|r| r.outcome == Outcome::Succeeded)
            .max_by_key(|r| r.completion_time.clone())
        {
            if let Some(done) = &success.completion_time {
                put(
                    "kafka_backup_last_success_timestamp_seconds",
                    backup,
                    seconds(Some(done.0)),
                );
                if let Some(start) = &success.start_time {
                    put(
                        "kafka_backup_last_success_duration_seconds",
                        backup,
                        (done.0.as_millisecond() - start.0.as_millisecond()).max(0) as f64 / 1e3,
                    );
                }
            }
            if let Some(records) = success.records {
                put("kafka_backup_last_success_records", backup, records as f64);
            }
            if let Some(bytes) = success.bytes {
                put("kafka_backup_last_success_bytes", backup, bytes as f64);
            }
        }
        if let Some(last) = &status.last_backup {
            put(
                "kafka_backup_last_run_failed",
                backup,
                f64::from(u8::from(last.outcome == Outcome::Failed)),
            );
        }
        put(
            "kafka_backup_running",
            backup,
            f64::from(u8::from(
                ready_reason(&status.conditions) == Some("BackupRunning"),
            )),
        );
        if let Some(next) = &status.next_schedule_time {
            put(
                "kafka_backup_next_run_timestamp_seconds",
                backup,
                seconds(Some(next.0)),
            );
        }
        if let Some(schedule) = backup.spec.schedule.as_ref()
            && schedule.suspend != Some(true)
            && let Some(interval) = longest_interval(
                &schedule.cron,
                schedule.time_zone.as_deref().unwrap_or("Etc/UTC"),
                now,
            )
        {
            put("kafka_backup_schedule_interval_seconds", backup, interval);
        }
    }
    for restore in restores.iter().map(Arc::as_ref) {
        let status: &crate::api::KafkaRestoreStatus =
            restore.status.as_ref().unwrap_or(&no_restore_status);
        let reason = ready_reason(&status.conditions);
        for (metric, want) in [
            ("kafka_restore_running", "RestoreRunning"),
            ("kafka_restore_completed", "RestoreCompleted"),
            ("kafka_restore_failed", "RestoreFailed"),
        ] {
            put(metric, restore, f64::from(u8::from(reason == Some(want))));
        }
        if let Some(attempt) = &status.restore {
            put("kafka_restore_attempt", restore, f64::from(attempt.attempt));
            let progress = attempt.progress.as_ref();
            if let Some(progress) = progress {
                put(
                    "kafka_restore_progress_ratio",
                    restore,
                    f64::from(progress.percent) / 100.0,
                );
                put(
                    "kafka_restore_records_written",
                    restore,
                    progress.records as f64,
                );
                put(
                    "kafka_restore_bytes_written",
                    restore,
                    progress.bytes as f64,
                );
            }
            if let Some(last) = progress
                .and_then(|p| p.last_progress_time.as_ref())
                .or(attempt.start_time.as_ref())
            {
                put(
                    "kafka_restore_last_progress_timestamp_seconds",
                    restore,
                    seconds(Some(last.0)),
                );
            }
        }
    }
    out.retain(|s| !s.values.is_empty());
    out
}

/// Every metric this module exports, with its help.
pub const METRICS: &[(&str, &str)] = &[
    (
        "kafka_backup_created_timestamp_seconds",
        "When the KafkaBackup was created (Unix seconds)",
    ),
    (
        "kafka_backup_last_success_timestamp_seconds",
        "When the last successful backup run completed (Unix seconds)",
    ),
    (
        "kafka_backup_last_success_duration_seconds",
        "How long the last successful backup run took",
    ),
    (
        "kafka_backup_last_success_records",
        "Records the last successful backup run wrote",
    ),
    (
        "kafka_backup_last_success_bytes",
        "Bytes the last successful backup run wrote",
    ),
    (
        "kafka_backup_last_run_failed",
        "1 when the last finished backup run failed, 0 when it succeeded",
    ),
    (
        "kafka_backup_running",
        "1 while a backup run is in progress",
    ),
    (
        "kafka_backup_next_run_timestamp_seconds",
        "When the schedule runs next (Unix seconds)",
    ),
    (
        "kafka_backup_schedule_interval_seconds",
        "The longest time between two runs of an active schedule",
    ),
    ("kafka_restore_running", "1 while the restore runs"),
    ("kafka_restore_completed", "1 once the restore completed"),
    (
        "kafka_restore_failed",
        "1 when the restore's last attempt failed",
    ),
    (
        "kafka_restore_attempt",
        "The restore's current (or last) attempt, from 1",
    ),
    (
        "kafka_restore_progress_ratio",
        "Records written out of the records in the backup window, 0 to 1 (1 once completed)",
    ),
    (
        "kafka_restore_records_written",
        "Records the restore has written, over all its attempts",
    ),
    (
        "kafka_restore_bytes_written",
        "Bytes of keys and values the restore has written",
    ),
    (
        "kafka_restore_last_progress_timestamp_seconds",
        "When the restore's written records last grew, or its attempt started (Unix seconds)",
    ),
];

/// The reason of the Ready condition.
fn ready_reason(conditions: &[Condition]) -> Option<&str> {
    conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.reason.as_str())
}

fn seconds(time: Option<Timestamp>) -> f64 {
    time.map(|t| t.as_millisecond() as f64 / 1e3)
        .unwrap_or_default()
}

/// The longest gap between two of the next runs of `cron` after `now`: twice it is how
/// long a backup may go without success before an alert, with no false alarm over a
/// weekend of a weekdays-only schedule.
pub fn longest_interval(cron: &str, time_zone: &str, now: Timestamp) -> Option<f64> {
    let mut at = Time(now);
    let mut times = Vec::new();
    for _ in 0..16 {
        at = next_run(cron, time_zone, &at)?;
        times.push(at.0);
    }
    times
        .windows(2)
        .map(|w| (w[1].as_millisecond() - w[0].as_millisecond()) as f64 / 1e3)
        .reduce(f64::max)
}

trait ResourceName {
    fn labels(&self) -> ResourceLabels;
}

impl<K: kube::Resource> ResourceName for K {
    fn labels(&self) -> ResourceLabels {
        ResourceLabels {
            namespace: self.meta().namespace.clone().unwrap_or_default(),
            name: self.meta().name.clone().unwrap_or_default(),
        }
    }
}

/// The stores of both kinds.
type Stores = (Store<KafkaBackup>, Store<KafkaRestore>);

/// The caches the collector reads; empty while this replica does not lead.
#[derive(Clone, Debug, Default)]
pub struct ResourceCaches(Arc<RwLock<Option<Stores>>>);

impl ResourceCaches {
    /// From now on, scrapes read these stores.
    pub fn attach(&self, backups: Store<KafkaBackup>, restores: Store<KafkaRestore>) {
        if let Ok(mut current) = self.0.write() {
            *current = Some((backups, restores));
        }
    }

    /// The controllers stopped: no per-resource series until they run again.
    pub fn detach(&self) {
        if let Ok(mut current) = self.0.write() {
            *current = None;
        }
    }
}

impl Collector for ResourceCaches {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some((backups, restores)) = self.0.read().ok().and_then(|c| c.clone()) else {
            return Ok(());
        };
        for metric in series(&backups.state(), &restores.state(), Timestamp::now()) {
            let mut family =
                encoder.encode_descriptor(metric.name, metric.help, None, MetricType::Gauge)?;
            for (labels, value) in &metric.values {
                ConstGauge::new(*value).encode(family.encode_family(labels)?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
