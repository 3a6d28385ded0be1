//! The restore report (`report.json` in the report directory, written atomically and
//! kept current while the restore runs) and the one-line summary a worker leaves in its
//! container's termination message. Building them is pure; `write_atomic`, `load` and
//! `write_termination_message` do file IO.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use kafka_backup_core::manifest::RestoreCheckpoint;
use serde::{Deserialize, Serialize};

use super::fingerprint::Settings;
use crate::api::Outcome;

/// File name of the report in the report directory.
pub const REPORT_FILE: &str = "report.json";

/// Where a finished worker leaves its summary for the controller.
pub const DEFAULT_TERMINATION_LOG: &str = "/dev/termination-log";

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Running,
    Completed,
    Failed,
}

/// What a restore has done so far, across attempts.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    pub status: Status,
    /// The attempt writing the report, from 1.
    pub attempt: u32,
    pub backup_id: String,
    /// When the first attempt started (RFC 3339).
    pub started_at: String,
    /// When this attempt started.
    pub attempt_started_at: String,
    pub updated_at: String,
    pub dry_run: bool,
    /// Whether the target topics were to be purged before the first write.
    pub purge_topics: bool,
    /// The attempt that purged them; a resumed attempt never purges again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purged_on_attempt: Option<u32>,
    pub records: u64,
    pub bytes: u64,
    /// Progress by `topic/partition` of the backup.
    pub partitions: BTreeMap<String, PartitionProgress>,
    /// What went wrong, newest last.
    #[serde(default)]
    pub errors: Vec<String>,
    /// The settings the progress was made under; an attempt under others is refused
    /// (R5). Absent in reports of earlier releases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
    /// Tokens of the continuations of this restore after it completed, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub continued: Vec<String>,
    /// Consumer groups whose offsets were committed in the target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumer_groups: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PartitionProgress {
    pub source_topic: String,
    pub source_partition: i32,
    pub target_topic: String,
    pub records: u64,
    pub bytes: u64,
    /// The last source offset whose record the target acknowledged.
    pub last_source_offset: i64,
}

impl RestoreReport {
    /// The report of a new attempt: the next after `previous`, or the first.
    pub fn next_attempt(
        previous: Option<&RestoreReport>,
        backup_id: &str,
        dry_run: bool,
        purge_topics: bool,
        settings: &Settings,
        now: &str,
    ) -> Self {
        match previous {
            Some(previous) => RestoreReport {
                status: Status::Running,
                attempt: previous.attempt + 1,
                attempt_started_at: now.to_string(),
                updated_at: now.to_string(),
                settings: Some(settings.clone()),
                ..previous.clone()
            },
            None => RestoreReport {
                status: Status::Running,
                attempt: 1,
                backup_id: backup_id.to_string(),
                started_at: now.to_string(),
                attempt_started_at: now.to_string(),
                updated_at: now.to_string(),
                dry_run,
                purge_topics,
                purged_on_attempt: None,
                records: 0,
                bytes: 0,
                partitions: BTreeMap::new(),
                errors: Vec::new(),
                settings: Some(settings.clone()),
                continued: Vec::new(),
                consumer_groups: Vec::new(),
            },
        }
    }

    /// Whether an earlier attempt restored anything, by this report or the checkpoint.
    pub fn made_progress(&self, checkpoint_progress: bool) -> bool {
        checkpoint_progress || self.records > 0 || !self.partitions.is_empty()
    }

    /// Takes the progress the library recorded in its checkpoint.
    pub fn absorb(&mut self, checkpoint: &RestoreCheckpoint, now: &str) {
        // Per-partition acknowledgements move before whole segments complete.
        let acked: u64 = checkpoint
            .partitions
            .values()
            .map(|p| p.records_acked)
            .sum();
        let acked_bytes: u64 = checkpoint.partitions.values().map(|p| p.bytes_acked).sum();
        self.records = checkpoint.records_restored.max(acked).max(self.records);
        self.bytes = checkpoint.bytes_restored.max(acked_bytes).max(self.bytes);
        for (key, p) in &checkpoint.partitions {
            self.partitions.insert(
                key.clone(),
                PartitionProgress {
                    source_topic: p.source_topic.clone(),
                    source_partition: p.source_partition,
                    target_topic: p.target_topic.clone(),
                    records: p.records_acked,
                    bytes: p.bytes_acked,
                    last_source_offset: p.last_source_offset_acked,
                },
            );
        }
        self.updated_at = now.to_string();
    }
}

/// Reads the report of a directory; `Ok(None)` when there is none yet.
pub fn load(dir: &Path) -> std::io::Result<Option<RestoreReport>> {
    let path = dir.join(REPORT_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads the library's checkpoint, if it wrote one and it reads.
pub fn load_checkpoint(path: &Path) -> Option<RestoreCheckpoint> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Replaces `<dir>/report.json` atomically: a reader sees the old or the new report,
/// never half of one, even across a crash.
pub fn write_atomic(dir: &Path, report: &RestoreReport) -> std::io::Result<()> {
    write_file_atomic(
        &dir.join(REPORT_FILE),
        &serde_json::to_vec_pretty(report).map_err(std::io::Error::other)?,
    )
}

/// Replaces a file atomically: a temporary file beside it, synced, then renamed.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp: PathBuf = dir.join(format!(".{name}.tmp"));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// The one-line summary a worker leaves for the controller.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub outcome: Outcome,
    pub records: u64,
    pub bytes: u64,
    /// Topics written to by a restore; topics the backup holds after a backup run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<u64>,
    /// The backup written to or read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Backup: consumer groups in the snapshot the run saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_groups: Option<u64>,
    /// Restore: the consumer groups whose offsets were set in the target (the first
    /// fifty; the report on the volume lists them all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups_reset: Vec<String>,
    /// Backup: what retention deleted from storage at the end of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruned: Option<Pruned>,
    /// Backup: why retention deleted nothing although it was due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune_held: Option<String>,
}

/// What retention deleted from a backup's storage.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Pruned {
    pub segments: u64,
    pub bytes: u64,
}

impl Summary {
    /// A summary with this outcome and nothing else yet.
    pub fn new(outcome: Outcome) -> Self {
        Self {
            outcome,
            records: 0,
            bytes: 0,
            topics: None,
            backup_id: None,
            attempt: None,
            error: None,
            consumer_groups: None,
            groups_reset: Vec::new(),
            pruned: None,
            prune_held: None,
        }
    }
}

/// Writes the summary as one JSON line to the termination message file, when there is
/// one to write to (a person running the worker by hand has none).
pub fn write_termination_message(path: &Path, summary: &Summary) {
    let Ok(line) = serde_json::to_string(summary) else {
        return;
    };
    // Kubernetes keeps at most 4096 bytes of a termination message.
    let line: String = line.chars().take(4000).collect();
    if let Err(error) = std::fs::write(path, line + "\n") {
        tracing::debug!(%error, path = %path.display(), "no termination message written");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            fingerprint: "f".repeat(64),
            values: serde_json::json!({"restore": {"produce_batch_size": 1000}}),
        }
    }

    #[test]
    fn a_new_attempt_continues_the_previous_report() {
        let first = RestoreReport::next_attempt(None, "daily", false, true, &settings(), "t1");
        assert_eq!((first.attempt, first.status), (1, Status::Running));
        let mut done = first.clone();
        done.records = 10;
        done.purged_on_attempt = Some(1);
        let second =
            RestoreReport::next_attempt(Some(&done), "daily", false, true, &settings(), "t2");
        assert_eq!(second.attempt, 2);
        assert_eq!(second.started_at, "t1");
        assert_eq!(second.attempt_started_at, "t2");
        assert_eq!(second.records, 10);
        assert_eq!(second.purged_on_attempt, Some(1));
    }

    #[test]
    fn the_report_is_written_atomically_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), None);
        let report = RestoreReport::next_attempt(None, "daily", true, false, &settings(), "t1");
        write_atomic(dir.path(), &report).unwrap();
        assert_eq!(load(dir.path()).unwrap(), Some(report));
        assert!(!dir.path().join(".report.json.tmp").exists());
        std::fs::write(dir.path().join(REPORT_FILE), "{half").unwrap();
        assert!(load(dir.path()).is_err());
    }

    #[test]
    fn the_summary_is_one_json_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("termination-log");
        let summary = Summary {
            outcome: Outcome::Succeeded,
            records: 3,
            bytes: 40,
            topics: Some(1),
            backup_id: Some("daily".into()),
            attempt: Some(2),
            error: None,
            consumer_groups: None,
            groups_reset: Vec::new(),
            pruned: None,
            prune_held: None,
        };
        write_termination_message(&path, &summary);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert_eq!(
            serde_json::from_str::<Summary>(text.trim()).unwrap(),
            summary
        );
    }

    /// A Job finished by a worker of an earlier release still shows its figures.
    #[test]
    fn a_summary_of_an_earlier_worker_still_reads() {
        let summary: Summary =
            serde_json::from_str(r#"{"outcome":"succeeded","records":3,"bytes":40}"#).unwrap();
        assert_eq!(summary.outcome, Outcome::Succeeded);
        assert_eq!(summary.backup_id, None);
    }
}
