//! Expiry of old backed-up data (`spec.retention` with `pruneOnSchedule`), run by the
//! backup worker at the end of a run with kafka-backup-core's prune: the manifest is
//! rewritten first, then the segments are deleted, and the newest segment of every
//! partition is always kept.
//!
//! Nothing is deleted while a restore may still read the backup. The operator names
//! the KafkaRestores of the backup that have not completed in the configuration
//! (`heldBy`); and a restore worker keeps a hold in the backup's storage while it runs
//! (`<backupId>/holds/<restore>.json`, its heartbeat refreshed every minute), which
//! covers a restore that started after the configuration was written. A hold whose
//! heartbeat is older than [`STALE_AFTER_MS`] belongs to a restore that is gone or is
//! named in `heldBy`. Does IO.

use std::collections::HashMap;
use std::time::Duration;

use kafka_backup_core::backup::prune::{PruneCriteria, execute_prune, plan_prune};
use kafka_backup_core::manifest::{BackupManifest, PruneReason};
use kafka_backup_core::storage::StorageBackend;
use serde::{Deserialize, Serialize};

use super::config::RetentionOptions;
use super::report::Pruned;

/// How often a restore refreshes its hold.
pub const HEARTBEAT: Duration = Duration::from_secs(60);
/// A hold not refreshed for this long is left over from a restore that stopped.
pub const STALE_AFTER_MS: i64 = 10 * 60 * 1000;

/// A restore's mark on the backup it reads.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Hold {
    pub restore: String,
    pub heartbeat_ms: i64,
}

fn hold_key(backup_id: &str, restore: &str) -> String {
    let file: String = restore
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{backup_id}/holds/{file}.json")
}

/// Writes (or refreshes) a restore's hold on a backup.
pub async fn hold(
    storage: &dyn StorageBackend,
    backup_id: &str,
    restore: &str,
    now_ms: i64,
) -> kafka_backup_core::Result<()> {
    let hold = Hold {
        restore: restore.to_string(),
        heartbeat_ms: now_ms,
    };
    let json = serde_json::to_vec(&hold).unwrap_or_default();
    storage
        .put(&hold_key(backup_id, restore), json.into())
        .await
}

/// Removes a restore's hold.
pub async fn release(
    storage: &dyn StorageBackend,
    backup_id: &str,
    restore: &str,
) -> kafka_backup_core::Result<()> {
    storage.delete(&hold_key(backup_id, restore)).await
}

/// What the end of a run did about retention.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub pruned: Option<Pruned>,
    /// Why nothing was deleted although retention was due.
    pub held: Option<String>,
}

/// The time before which segments are deleted: the later of the age limit and the
/// start of the oldest run kept. `None` when neither applies yet.
pub fn cutoff(options: &RetentionOptions, run_started_ms: i64, now_ms: i64) -> Option<i64> {
    let by_age = options
        .max_age
        .as_deref()
        .and_then(|age| kafka_backup_core::util::parse_duration(age).ok())
        .map(|age| now_ms - age.as_millis() as i64);
    let by_runs = match options.keep_runs {
        Some(1) => Some(run_started_ms),
        Some(keep) => options
            .run_starts
            .get(keep as usize - 2)
            .and_then(|start| start.parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_millisecond()),
        None => None,
    };
    by_age.into_iter().chain(by_runs).max()
}

/// Why the holds in storage keep retention from deleting, if they do.
fn fresh_holds(holds: &[Hold], now_ms: i64) -> Option<String> {
    let fresh: Vec<&str> = holds
        .iter()
        .filter(|h| now_ms - h.heartbeat_ms < STALE_AFTER_MS)
        .map(|h| h.restore.as_str())
        .collect();
    (!fresh.is_empty()).then(|| format!("the restore {} is reading the backup", fresh.join(", ")))
}

/// Applies retention to a backup after a successful run.
pub async fn apply(
    storage: &dyn StorageBackend,
    backup_id: &str,
    options: &RetentionOptions,
    run_started_ms: i64,
    now_ms: i64,
) -> Result<Outcome, String> {
    if let Some(first) = options.held_by.first() {
        let more = match options.held_by.len() {
            1 => String::new(),
            n => format!(" and {} more", n - 1),
        };
        return Ok(Outcome {
            pruned: None,
            held: Some(format!("KafkaRestore {first}{more} has not completed")),
        });
    }
    let mut holds = Vec::new();
    for key in storage
        .list(&format!("{backup_id}/holds/"))
        .await
        .map_err(|e| e.to_string())?
    {
        if let Some(bytes) = kafka_backup_core::storage::get_if_exists(storage, &key)
            .await
            .map_err(|e| e.to_string())?
            && let Ok(hold) = serde_json::from_slice::<Hold>(&bytes)
        {
            holds.push(hold);
        }
    }
    if let Some(held) = fresh_holds(&holds, now_ms) {
        return Ok(Outcome {
            pruned: None,
            held: Some(held),
        });
    }
    let Some(older_than) = cutoff(options, run_started_ms, now_ms) else {
        return Ok(Outcome::default());
    };
    let key = format!("{backup_id}/manifest.json");
    let Some(bytes) = kafka_backup_core::storage::get_if_exists(storage, &key)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(Outcome::default());
    };
    let manifest: BackupManifest =
        serde_json::from_slice(&bytes).map_err(|e| format!("{key}: {e}"))?;
    let criteria = PruneCriteria {
        older_than: Some(older_than),
        max_total_bytes: None,
        // Never the only copy of a partition: its newest segment stays.
        keep_segments: 1,
    };
    let plan = plan_prune(
        &manifest,
        &HashMap::new(),
        &criteria,
        now_ms,
        PruneReason::Retention,
    );
    if plan.segments > 0 {
        tracing::info!(
            segments = plan.segments,
            bytes = plan.bytes,
            partitions = plan.partitions.len(),
            "retention: deleting old segments"
        );
        execute_prune(storage, manifest, &plan)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(Outcome {
        pruned: Some(Pruned {
            segments: plan.segments,
            bytes: plan.bytes,
        }),
        held: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * 3600 * 1000;

    #[test]
    fn the_cutoff_is_the_later_of_age_and_runs() {
        let now = 100 * DAY;
        let age = RetentionOptions {
            max_age: Some("30d".into()),
            ..Default::default()
        };
        assert_eq!(cutoff(&age, now - 1000, now), Some(70 * DAY));
        let runs = RetentionOptions {
            keep_runs: Some(3),
            run_starts: vec![
                "1970-04-09T00:00:00Z".into(), // day 98
                "1970-04-08T00:00:00Z".into(), // day 97
                "1970-04-07T00:00:00Z".into(),
            ],
            ..Default::default()
        };
        assert_eq!(
            cutoff(&runs, now - 1000, now),
            Some(97 * DAY),
            "this run and two before"
        );
        let one = RetentionOptions {
            keep_runs: Some(1),
            ..Default::default()
        };
        assert_eq!(
            cutoff(&one, now - 1000, now),
            Some(now - 1000),
            "only this run"
        );
        let few = RetentionOptions {
            keep_runs: Some(5),
            run_starts: vec!["1970-04-09T00:00:00Z".into()],
            ..Default::default()
        };
        assert_eq!(
            cutoff(&few, now, now),
            None,
            "fewer runs than kept: nothing yet"
        );
        let both = RetentionOptions {
            max_age: Some("1d".into()),
            ..runs
        };
        assert_eq!(cutoff(&both, now, now), Some(99 * DAY));
    }

    #[test]
    fn fresh_holds_keep_data_and_stale_ones_do_not() {
        let now = 1_000_000_000;
        let holds = [
            Hold {
                restore: "kafka/old".into(),
                heartbeat_ms: now - STALE_AFTER_MS - 1,
            },
            Hold {
                restore: "kafka/reading".into(),
                heartbeat_ms: now - 1000,
            },
        ];
        assert_eq!(
            fresh_holds(&holds, now).as_deref(),
            Some("the restore kafka/reading is reading the backup")
        );
        assert_eq!(fresh_holds(&holds[..1], now), None);
        assert_eq!(
            hold_key("daily", "kafka/restore-1"),
            "daily/holds/kafka_restore-1.json"
        );
    }
}
