//! A running restore's progress, served over HTTP (`GET /progress`, JSON) for the
//! operator to read: the worker keeps no API token, so it never writes the KafkaRestore
//! itself; the operator polls the pods of running restores and writes their status.
//! The figures combine the library's progress events (the records in the backup window,
//! what this attempt wrote) with the report (what every attempt wrote). `Progress::of` is
//! pure; `serve` does network IO.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use kafka_backup_core::restore::RestoreProgress;
use serde::{Deserialize, Serialize};

use super::report::RestoreReport;

/// The path the operator reads.
pub const PATH: &str = "/progress";

/// What a restore has done, over all its attempts, as of `measured_at`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// The attempt running.
    pub attempt: u32,
    /// Records written to the target.
    pub records: u64,
    /// Bytes of keys and values written.
    pub bytes: u64,
    /// Records in the backup window (from the backup's segment index; an estimate when
    /// the window cuts a segment).
    pub total_records: u64,
    /// Segments of the backup window this attempt has read, and how many it reads.
    pub segments_done: u64,
    pub segments_total: u64,
    /// Partitions written to so far.
    pub partitions: u64,
    /// `records` out of `total_records`, 0 to 100; 100 only once the restore completed.
    pub percent: u8,
    /// When these figures were taken (RFC 3339).
    pub measured_at: String,
}

/// What an attempt had already written when it started, and the latest figures.
#[derive(Debug, Default)]
struct State {
    /// Records and bytes of earlier attempts (from the report when this one started).
    base_records: u64,
    base_bytes: u64,
    engine: Option<RestoreProgress>,
    report: Option<RestoreReport>,
    completed: bool,
}

impl Progress {
    /// The figures from what earlier attempts wrote (`base_*`), this attempt's engine
    /// events and its report. Pure.
    fn of(state: &State, now: &str) -> Self {
        let engine = state.engine.as_ref();
        let report = state.report.as_ref();
        let this_attempt = engine.map(|e| e.records_restored).unwrap_or(0);
        let records = report
            .map(|r| r.records)
            .unwrap_or(0)
            .max(state.base_records + this_attempt);
        let bytes = report
            .map(|r| r.bytes)
            .unwrap_or(0)
            .max(state.base_bytes + engine.map(|e| e.bytes_restored).unwrap_or(0));
        // The plan of a resumed attempt leaves out the segments earlier attempts
        // completed: their records are in `base_records`.
        let total_records = engine
            .map(|e| state.base_records + e.total_records)
            .unwrap_or(0)
            .max(records);
        // Never 100 before the restore completed (consumer group offsets may follow);
        // nothing claimed before the library knows the window.
        let percent = if state.completed {
            100
        } else {
            records
                .saturating_mul(100)
                .checked_div(total_records)
                .map_or(0, |p| p.min(99) as u8)
        };
        Progress {
            attempt: report.map(|r| r.attempt).unwrap_or(0),
            records,
            bytes,
            total_records,
            segments_done: engine.map(|e| e.segments_completed).unwrap_or(0),
            segments_total: engine.map(|e| e.total_segments).unwrap_or(0),
            partitions: report.map(|r| r.partitions.len() as u64).unwrap_or(0),
            percent,
            measured_at: now.to_string(),
        }
    }
}

/// The live figures of one attempt, shared by the engine's listener, the report loop
/// and the HTTP server.
#[derive(Clone, Debug, Default)]
pub struct Live(Arc<Mutex<State>>);

impl Live {
    /// An attempt starting after earlier ones wrote `report`'s records.
    pub fn starting(report: &RestoreReport) -> Self {
        let live = Live::default();
        if let Ok(mut state) = live.0.lock() {
            state.base_records = report.records;
            state.base_bytes = report.bytes;
            state.report = Some(report.clone());
        }
        live
    }

    pub fn engine(&self, progress: RestoreProgress) {
        if let Ok(mut state) = self.0.lock() {
            state.engine = Some(progress);
        }
    }

    pub fn report(&self, report: &RestoreReport) {
        if let Ok(mut state) = self.0.lock() {
            state.report = Some(report.clone());
        }
    }

    pub fn completed(&self) {
        if let Ok(mut state) = self.0.lock() {
            state.completed = true;
        }
    }

    pub fn now(&self) -> Progress {
        let now = jiff::Timestamp::now().to_string();
        match self.0.lock() {
            Ok(state) => Progress::of(&state, &now),
            Err(_) => Progress::default(),
        }
    }
}

/// Serves `live` at `GET /progress` on `listen` until the task is dropped. Plain HTTP:
/// the figures are counts, and the pod has no certificate of its own.
pub async fn serve(listen: SocketAddr, live: Live) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "serving the restore's progress at {PATH}");
    let app = axum::Router::new().route(
        PATH,
        axum::routing::get(move || {
            let live = live.clone();
            async move { axum::Json(live.now()) }
        }),
    );
    axum::serve(listener, app).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(records: u64, total: u64) -> RestoreProgress {
        RestoreProgress {
            current_topic: "orders".into(),
            current_partition: 0,
            total_topics: 1,
            topics_completed: 0,
            total_segments: 4,
            segments_completed: 1,
            total_records: total,
            records_restored: records,
            total_bytes: 0,
            bytes_restored: records * 10,
            throughput_records_per_sec: 0.0,
            throughput_bytes_per_sec: 0.0,
            elapsed_ms: 0,
            eta_ms: None,
            percentage: 0.0,
        }
    }

    #[test]
    fn a_first_attempt_counts_what_the_engine_wrote_of_the_window() {
        let mut state = State {
            engine: Some(engine(250, 1000)),
            ..Default::default()
        };
        let p = Progress::of(&state, "t");
        assert_eq!((p.records, p.total_records, p.percent), (250, 1000, 25));
        assert_eq!((p.segments_done, p.segments_total), (1, 4));
        state.engine = Some(engine(1000, 1000));
        assert_eq!(
            Progress::of(&state, "t").percent,
            99,
            "100 only once completed"
        );
        state.completed = true;
        assert_eq!(Progress::of(&state, "t").percent, 100);
    }

    #[test]
    fn a_resumed_attempt_adds_what_earlier_attempts_wrote() {
        // Attempt 1 wrote 600 of 1,000; the plan of attempt 2 holds the other 400.
        let state = State {
            base_records: 600,
            engine: Some(engine(100, 400)),
            ..Default::default()
        };
        let p = Progress::of(&state, "t");
        assert_eq!((p.records, p.total_records, p.percent), (700, 1000, 70));
    }

    #[test]
    fn before_the_plan_nothing_is_known_and_nothing_is_claimed() {
        let p = Progress::of(&State::default(), "t");
        assert_eq!((p.records, p.total_records, p.percent), (0, 0, 0));
    }
}
