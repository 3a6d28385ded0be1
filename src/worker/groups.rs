//! Consumer group offsets across a backup and a restore.
//!
//! A backup with `consumerGroupSnapshot` has kafka-backup-core save the committed
//! offsets of the groups on the backed-up topics in
//! `<backupId>/consumer-groups-snapshot.json`; [`filter_snapshot`] keeps the groups
//! `consumerGroups.include/exclude` select.
//!
//! A restore translates each committed source offset to the offset the restore wrote
//! the same record at, and commits it for the group (under its target name): a consumer
//! then resumes at the first record it had not consumed. The translation uses the
//! source and target offset of every record the restore wrote, which the library reports
//! per attempt; [`OffsetRanges`] keeps them across attempts in the report directory
//! (`offset-map.json`) as runs of consecutive offsets. A partition whose records were
//! written by an attempt that ended without a report (SIGKILL, or SIGTERM in the middle
//! of a topic, see `run::run_until_stopped`) has a gap there; its
//! offsets are not guessed but left out and named in `offsets.json`. Does IO.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use kafka_backup_core::manifest::OffsetMapping;
use kafka_backup_core::restore::offset_reset::{
    GroupResetPlan, OffsetResetExecutor, OffsetResetPlan, PartitionResetPlan, RestoreTopicMapping,
};
use kafka_backup_core::storage::StorageBackend;
use serde::{Deserialize, Serialize};

use super::config::ConsumerGroupOptions;

/// File of the merged offset translation in the report directory.
pub const OFFSET_MAP_FILE: &str = "offset-map.json";
/// File of the consumer group offsets a restore set (or would set).
pub const OFFSETS_FILE: &str = "offsets.json";

/// The snapshot kafka-backup-core writes, as much of it as is read here.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub snapshot_time: i64,
    pub groups: Vec<SnapshotGroup>,
}

/// One group's committed offsets: topic, partition (as text), next offset to read.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SnapshotGroup {
    pub group_id: String,
    pub offsets: BTreeMap<String, BTreeMap<String, i64>>,
}

/// Where a backup's snapshot lives in its storage.
pub fn snapshot_key(backup_id: &str) -> String {
    format!("{backup_id}/consumer-groups-snapshot.json")
}

fn anchored(patterns: &[String]) -> Result<Vec<regex::Regex>, String> {
    patterns
        .iter()
        .map(|p| {
            regex::Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| format!("consumer group pattern '{p}': {e}"))
        })
        .collect()
}

/// The groups of a snapshot the patterns select (all when `include` is empty).
pub fn select_groups(
    snapshot: &Snapshot,
    include: &[String],
    exclude: &[String],
) -> Result<Snapshot, String> {
    let (include, exclude) = (anchored(include)?, anchored(exclude)?);
    Ok(Snapshot {
        snapshot_time: snapshot.snapshot_time,
        groups: snapshot
            .groups
            .iter()
            .filter(|g| include.is_empty() || include.iter().any(|r| r.is_match(&g.group_id)))
            .filter(|g| !exclude.iter().any(|r| r.is_match(&g.group_id)))
            .cloned()
            .collect(),
    })
}

/// Reads the snapshot of a backup, `None` when it has none.
pub async fn read_snapshot(
    storage: &dyn StorageBackend,
    backup_id: &str,
) -> Result<Option<Snapshot>, String> {
    let key = snapshot_key(backup_id);
    match kafka_backup_core::storage::get_if_exists(storage, &key).await {
        Ok(None) => Ok(None),
        Ok(Some(bytes)) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{key}: {e}")),
        Err(e) => Err(format!("{key}: {e}")),
    }
}

/// Keeps the selected groups in the snapshot a backup run just saved; returns how many
/// groups it holds, or `None` when the run saved none.
pub async fn filter_snapshot(
    storage: &dyn StorageBackend,
    backup_id: &str,
    include: &[String],
    exclude: &[String],
) -> Result<Option<u64>, String> {
    let Some(snapshot) = read_snapshot(storage, backup_id).await? else {
        return Ok(None);
    };
    let selected = select_groups(&snapshot, include, exclude)?;
    if selected != snapshot {
        let json = serde_json::to_vec_pretty(&selected).map_err(|e| e.to_string())?;
        storage
            .put(&snapshot_key(backup_id), json.into())
            .await
            .map_err(|e| format!("{}: {e}", snapshot_key(backup_id)))?;
    }
    Ok(Some(selected.groups.len() as u64))
}

/// A run of records whose source and target offsets both go up by one.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub source: i64,
    pub target: i64,
    pub count: i64,
}

/// Source to target offsets of every record written, per target `topic/partition`, as
/// runs sorted by source offset.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct OffsetRanges {
    pub partitions: BTreeMap<String, Vec<Run>>,
}

impl OffsetRanges {
    /// Reads `offset-map.json` of a report directory; empty when there is none.
    pub fn load(dir: &Path) -> std::io::Result<Self> {
        match std::fs::read(dir.join(OFFSET_MAP_FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e),
        }
    }

    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        super::report::write_file_atomic(&dir.join(OFFSET_MAP_FILE), &json)
    }

    /// Adds what one attempt wrote (the library's per-record pairs).
    pub fn absorb(&mut self, mapping: &OffsetMapping) {
        for (key, pairs) in &mapping.detailed_mappings {
            let runs = self.partitions.entry(key.clone()).or_default();
            let mut all: BTreeMap<i64, i64> = runs
                .iter()
                .flat_map(|r| (0..r.count).map(move |i| (r.source + i, r.target + i)))
                .collect();
            all.extend(pairs.iter().map(|p| (p.source_offset, p.target_offset)));
            *runs = compress(all);
        }
    }

    /// Records known for a target partition.
    pub fn records(&self, key: &str) -> i64 {
        self.partitions
            .get(key)
            .map_or(0, |runs| runs.iter().map(|r| r.count).sum())
    }

    /// The target offset a consumer resumes at for a committed source offset: that of
    /// the first record written at or after it, or one past the last record written.
    pub fn target_of(&self, key: &str, committed: i64) -> Option<i64> {
        let runs = self.partitions.get(key)?;
        let last = runs.last()?;
        for run in runs {
            if run.source + run.count > committed {
                return Some(run.target + (committed - run.source).max(0));
            }
        }
        Some(last.target + last.count)
    }
}

fn compress(pairs: BTreeMap<i64, i64>) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (source, target) in pairs {
        match runs.last_mut() {
            Some(run) if run.source + run.count == source && run.target + run.count == target => {
                run.count += 1
            }
            _ => runs.push(Run {
                source,
                target,
                count: 1,
            }),
        }
    }
    runs
}

/// What a restore did with consumer group offsets, as `offsets.json` records it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GroupOffsets {
    /// Committed (or, for `report_only`, computed) offsets by target group, then
    /// target `topic/partition`.
    pub groups: BTreeMap<String, BTreeMap<String, i64>>,
    /// What could not be translated, and why.
    pub skipped: Vec<String>,
    /// Whether the offsets were committed in the target.
    pub committed: bool,
}

/// The translated offsets of the selected groups: `restored` holds the records the
/// restore wrote by source `topic/partition`.
pub fn plan_offsets(
    snapshot: &Snapshot,
    options: &ConsumerGroupOptions,
    mapping: &RestoreTopicMapping,
    ranges: &OffsetRanges,
    restored: &BTreeMap<String, u64>,
) -> GroupOffsets {
    let mut out = GroupOffsets::default();
    let by_id: BTreeMap<&str, &SnapshotGroup> = snapshot
        .groups
        .iter()
        .map(|g| (g.group_id.as_str(), g))
        .collect();
    let mut wanted: Vec<(String, String)> = options
        .groups
        .iter()
        .map(|r| (r.source.clone(), r.target.clone()))
        .collect();
    if options.auto {
        for group in &snapshot.groups {
            if !wanted.iter().any(|(s, _)| *s == group.group_id) {
                wanted.push((group.group_id.clone(), group.group_id.clone()));
            }
        }
    }
    for (source, target) in wanted {
        let Some(group) = by_id.get(source.as_str()) else {
            out.skipped.push(format!(
                "group '{source}': not in the backup's snapshot (it had no committed offsets on the backed-up topics when the snapshot was taken)"
            ));
            continue;
        };
        let offsets = out.groups.entry(target.clone()).or_default();
        for (topic, partitions) in &group.offsets {
            for (partition, committed) in partitions {
                let Ok(partition) = partition.parse::<i32>() else {
                    continue;
                };
                let source_key = format!("{topic}/{partition}");
                let Some(written) = restored.get(&source_key) else {
                    // A topic or partition this restore does not restore.
                    continue;
                };
                let Some((target_topic, target_partition)) = mapping.target(topic, partition)
                else {
                    out.skipped.push(format!(
                        "group '{source}' on {source_key}: the topic is repartitioned, so source offsets have no counterpart"
                    ));
                    continue;
                };
                let key = format!("{target_topic}/{target_partition}");
                if ranges.records(&key) != *written as i64 {
                    out.skipped.push(format!(
                        "group '{source}' on {source_key}: {} of the {written} records restored there were written by an attempt that stopped without reporting their offsets, so the group's offset cannot be translated exactly; set it by hand",
                        *written as i64 - ranges.records(&key)
                    ));
                    continue;
                }
                // Nothing restored there leaves the group to its own reset policy.
                if let Some(offset) = ranges.target_of(&key, *committed) {
                    offsets.insert(key, offset);
                }
            }
        }
        if offsets.is_empty() {
            out.groups.remove(&target);
        }
    }
    out
}

/// Commits the planned offsets through the group coordinators of the target.
pub async fn commit(
    target: &kafka_backup_core::config::KafkaConfig,
    offsets: &GroupOffsets,
) -> Result<(), String> {
    let now = jiff::Timestamp::now().as_millisecond();
    let plan = OffsetResetPlan {
        groups: offsets
            .groups
            .iter()
            .map(|(group, partitions)| GroupResetPlan {
                group_id: group.clone(),
                partitions: partitions
                    .iter()
                    .filter_map(|(key, offset)| {
                        let (topic, partition) = key.rsplit_once('/')?;
                        Some(PartitionResetPlan {
                            topic: topic.to_string(),
                            partition: partition.parse().ok()?,
                            source_offset: *offset,
                            target_offset: *offset,
                            timestamp: now,
                            metadata: None,
                            approximate: false,
                        })
                    })
                    .collect(),
                partition_count: partitions.len(),
                complete: true,
            })
            .collect(),
        generated_at: now,
        strategy: "Auto".into(),
        dry_run: false,
        backup_id: None,
        source_cluster_id: None,
        target_bootstrap_servers: target.bootstrap_servers.clone(),
    };
    let router = kafka_backup_core::kafka::PartitionLeaderRouter::new(target.clone())
        .await
        .map_err(|e| e.to_string())?;
    let report =
        OffsetResetExecutor::new_with_router(Arc::new(router), target.bootstrap_servers.clone())
            .execute_plan(&plan)
            .await
            .map_err(|e| e.to_string())?;
    if report.success {
        Ok(())
    } else {
        Err(report.errors.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::config::GroupRename;
    use kafka_backup_core::manifest::OffsetPair;

    fn pairs(pairs: &[(i64, i64)]) -> OffsetMapping {
        let mut mapping = OffsetMapping::default();
        mapping.detailed_mappings.insert(
            "orders-restored/0".into(),
            pairs
                .iter()
                .map(|(s, t)| OffsetPair {
                    source_offset: *s,
                    target_offset: *t,
                    timestamp: 0,
                })
                .collect(),
        );
        mapping
    }

    #[test]
    fn runs_merge_attempts_and_translate_exactly_around_gaps() {
        let mut ranges = OffsetRanges::default();
        // Attempt 1 wrote source 0..=4 at 10..=14; attempt 2 wrote 5, then 8..=9 (6 and 7
        // were aborted transaction records, not in the backup).
        ranges.absorb(&pairs(&[(0, 10), (1, 11), (2, 12), (3, 13), (4, 14)]));
        ranges.absorb(&pairs(&[(5, 15), (8, 16), (9, 17)]));
        let key = "orders-restored/0";
        assert_eq!(
            ranges.partitions[key],
            [
                Run {
                    source: 0,
                    target: 10,
                    count: 6
                },
                Run {
                    source: 8,
                    target: 16,
                    count: 2
                }
            ]
        );
        assert_eq!(ranges.records(key), 8);
        assert_eq!(ranges.target_of(key, 0), Some(10), "nothing read yet");
        assert_eq!(ranges.target_of(key, 3), Some(13));
        assert_eq!(ranges.target_of(key, 6), Some(16), "next is source 8");
        assert_eq!(ranges.target_of(key, 10), Some(18), "everything read");
        ranges.absorb(&pairs(&[(3, 13)]));
        assert_eq!(ranges.records(key), 8, "a pair seen twice counts once");
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            snapshot_time: 0,
            groups: vec![
                SnapshotGroup {
                    group_id: "billing".into(),
                    offsets: [("orders".to_string(), [("0".to_string(), 3)].into())].into(),
                },
                SnapshotGroup {
                    group_id: "audit-1".into(),
                    offsets: [("orders".to_string(), [("0".to_string(), 5)].into())].into(),
                },
            ],
        }
    }

    #[test]
    fn groups_are_selected_by_whole_id() {
        let selected = select_groups(&snapshot(), &["audit-.*".into()], &[]).unwrap();
        assert_eq!(selected.groups.len(), 1);
        assert!(
            select_groups(&snapshot(), &["audit".into()], &[])
                .unwrap()
                .groups
                .is_empty()
        );
        let all_but = select_groups(&snapshot(), &[], &["bill.*".into()]).unwrap();
        assert_eq!(all_but.groups[0].group_id, "audit-1");
        assert!(select_groups(&snapshot(), &["(".into()], &[]).is_err());
    }

    #[test]
    fn offsets_are_translated_for_renamed_groups_and_gaps_are_refused() {
        let mapping = RestoreTopicMapping::new(
            [("orders".to_string(), "orders-restored".to_string())].into(),
            Default::default(),
            Vec::<String>::new(),
        );
        let mut ranges = OffsetRanges::default();
        ranges.absorb(&pairs(&[(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]));
        let restored: BTreeMap<String, u64> = [("orders/0".to_string(), 6)].into();
        let options = ConsumerGroupOptions {
            auto: false,
            groups: vec![
                GroupRename {
                    source: "billing".into(),
                    target: "billing-dr".into(),
                },
                GroupRename {
                    source: "missing".into(),
                    target: "missing".into(),
                },
            ],
            report_only: false,
        };
        let planned = plan_offsets(&snapshot(), &options, &mapping, &ranges, &restored);
        assert_eq!(planned.groups["billing-dr"]["orders-restored/0"], 3);
        assert!(!planned.groups.contains_key("audit-1"), "not asked for");
        assert!(planned.skipped[0].contains("'missing'"));

        let auto = ConsumerGroupOptions {
            auto: true,
            ..Default::default()
        };
        let planned = plan_offsets(&snapshot(), &auto, &mapping, &ranges, &restored);
        assert_eq!(planned.groups["audit-1"]["orders-restored/0"], 5);
        assert_eq!(planned.groups["billing"]["orders-restored/0"], 3);

        // Two more records were written by an attempt that left no offsets.
        let restored: BTreeMap<String, u64> = [("orders/0".to_string(), 8)].into();
        let planned = plan_offsets(&snapshot(), &auto, &mapping, &ranges, &restored);
        assert!(planned.groups.is_empty());
        assert!(planned.skipped.iter().all(|s| s.contains("set it by hand")));
    }
}
