//! Running a backup or a restore with kafka-backup-core: SIGTERM stops the library
//! cleanly, the restore report is kept current, and the outcome is summed up for the
//! controller. Does IO.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kafka_backup_core::RestoreEngine;
use kafka_backup_core::backup::BackupEngine;

use std::collections::BTreeMap;

use kafka_backup_core::restore::offset_reset::RestoreTopicMapping;

use super::config::{ConsumerGroupOptions, WorkerConfig};
use super::engine_config::{self, CHECKPOINT_FILE, ConfigError};
use super::fingerprint::{self, Settings};
use super::groups::{self, OffsetRanges};
use super::report::{self, RestoreReport, Status, Summary};
use crate::api::Outcome;

/// How long a restore asked to stop may take to return by itself: the library stops
/// only between topics, so within a topic the run is dropped after this.
const RESTORE_STOP_GRACE: Duration = Duration::from_secs(5);

/// Runs the restore engine until it returns or the process is asked to stop, and says
/// whether it was. Asked to stop, the engine is told to stop after its current topic and
/// given [`RESTORE_STOP_GRACE`] to return; a run still writing is then dropped, which
/// aborts its partition tasks. That stop is unclean: records acknowledged after the last
/// checkpoint save are found by the next attempt in the target partitions' tails, and
/// that attempt first waits out the produce timeout, so no request of this one lands
/// after it starts. `Ok(None)` is a dry run or a dropped run.
async fn run_until_stopped(
    engine: &RestoreEngine,
    dry_run: bool,
) -> (
    kafka_backup_core::Result<Option<kafka_backup_core::manifest::RestoreReport>>,
    bool,
) {
    let run = async {
        if dry_run {
            engine.dry_run().await.map(|_| None)
        } else {
            engine.run().await.map(Some)
        }
    };
    tokio::pin!(run);
    tokio::select! {
        outcome = &mut run => (outcome, false),
        () = crate::shutdown::requested() => {
            tracing::warn!("stop requested: stopping the restore");
            engine.shutdown();
            match tokio::time::timeout(RESTORE_STOP_GRACE, &mut run).await {
                Ok(outcome) => (outcome, true),
                Err(_) => {
                    tracing::warn!(
                        grace_secs = RESTORE_STOP_GRACE.as_secs(),
                        "the restore did not stop at a topic boundary in time: \
                         dropping it; the next attempt verifies what it wrote"
                    );
                    (Ok(None), true)
                }
            }
        }
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{what}: {source}")]
    Engine {
        what: String,
        source: kafka_backup_core::Error,
    },
    #[error("report directory {dir}: {source}")]
    Report {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("stopped by a signal before it finished; a new attempt resumes from the report")]
    Interrupted,
    #[error(transparent)]
    Storage(#[from] super::storage_check::StorageUnusable),
    #[error(
        "the restore settings differ from those attempt {attempt} made its progress under ({}): \
         resumed under these, the library would start over and write again every record \
         restored so far{}. Nothing was written. To go on, run the restore with the settings \
         of attempt {attempt}; to start from scratch instead, delete the report (the \
         restore's report PVC, or report.json and checkpoint.json in {}), knowing that what \
         was restored is written again",
        changes.join(", "),
        if *purges { ", after purging the target topics again" } else { "" },
        dir.display()
    )]
    SettingsChanged {
        attempt: u32,
        changes: Vec<String>,
        purges: bool,
        dir: PathBuf,
    },
    #[error(
        "restore.existingTopicPolicy is fail and these target topics already exist: {}. Nothing was written. Delete them, restore under other names (spec.topicMapping), or use append or overwrite",
        .0.join(", ")
    )]
    TopicsExist(Vec<String>),
    #[error("consumer group offsets: {0}")]
    Groups(String),

    #[error(
        "nothing to continue: {0} holds no report of a restore, so what the target has \
         already received is unknown. Continue with the report of the completed restore \
         (its report PVC); to restore everything again, start a new restore without a \
         continue token"
    )]
    NothingToContinue(PathBuf),
}

impl WorkerError {
    /// The exit code of a Job's worker: 1 failed, 2 refused before doing anything,
    /// 3 stopped by a signal.
    pub fn exit_code(&self) -> u8 {
        match self {
            WorkerError::Interrupted => 3,
            WorkerError::SettingsChanged { .. }
            | WorkerError::NothingToContinue(_)
            | WorkerError::TopicsExist(_) => 2,
            _ => 1,
        }
    }
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Runs one backup to the end of the offsets current when it started.
pub async fn backup(config: &WorkerConfig) -> Result<Summary, WorkerError> {
    let started_ms = jiff::Timestamp::now().as_millisecond();
    let store = engine_config::storage(&config.storage, &env)?;
    super::storage_check::check(&config.storage, &store, &config.backup_id).await?;
    let resolved;
    let config = if library_patterns_only(config) {
        config
    } else {
        resolved = with_literal_topics(config).await?;
        &resolved
    };
    let core = engine_config::backup_config(config, &env)?;
    tracing::info!(backup_id = %config.backup_id, brokers = %config.kafka.bootstrap_servers, "backup starting");
    let what = format!(
        "backup '{}' from {}",
        config.backup_id, config.kafka.bootstrap_servers
    );
    let fail = |source| WorkerError::Engine {
        what: what.clone(),
        source,
    };
    let engine = BackupEngine::new(core).await.map_err(fail)?;
    let shutdown = engine.shutdown_handle();
    let stopped = tokio::spawn(async move {
        crate::shutdown::requested().await;
        tracing::warn!("stop requested: finishing the current segment and stopping");
        let _ = shutdown.send(());
    });
    let result = engine.run().await;
    let interrupted = stopped.is_finished();
    stopped.abort();
    let metrics = engine.metrics().report();
    result.map_err(fail)?;
    if interrupted {
        return Err(WorkerError::Interrupted);
    }
    let options = config.backup.clone().unwrap_or_default();
    let consumer_groups = if options.consumer_group_snapshot {
        let backend = kafka_backup_core::storage::create_backend(&store).map_err(fail)?;
        super::groups::filter_snapshot(
            backend.as_ref(),
            &config.backup_id,
            &options.consumer_groups_include,
            &options.consumer_groups_exclude,
        )
        .await
        .map_err(WorkerError::Groups)?
    } else {
        None
    };
    let retention = match &options.retention {
        Some(retention) => {
            let backend = kafka_backup_core::storage::create_backend(&store).map_err(fail)?;
            super::retention::apply(
                backend.as_ref(),
                &config.backup_id,
                retention,
                started_ms,
                jiff::Timestamp::now().as_millisecond(),
            )
            .await
            // The backup itself succeeded; a retention that failed is reported and
            // tried again at the end of the next run.
            .unwrap_or_else(|error| {
                tracing::error!(%error, "retention failed; nothing was deleted");
                super::retention::Outcome {
                    pruned: None,
                    held: Some(format!("retention failed: {error}")),
                }
            })
        }
        None => super::retention::Outcome::default(),
    };
    // The figures are the run's; the topic count is the backup's, which a run adds to.
    let topics = match read_manifest(config).await {
        Ok(manifest) => Some(manifest.topics.len() as u64),
        Err(error) => {
            tracing::warn!(%error, "the backup completed but its manifest could not be read back");
            None
        }
    };
    tracing::info!(
        records = metrics.records_processed,
        bytes = metrics.bytes_uncompressed,
        topics,
        "backup completed"
    );
    Ok(Summary {
        outcome: Outcome::Succeeded,
        records: metrics.records_processed,
        bytes: metrics.bytes_uncompressed,
        topics,
        backup_id: Some(config.backup_id.clone()),
        attempt: None,
        error: None,
        consumer_groups,
        groups_reset: Vec::new(),
        pruned: retention.pruned,
        prune_held: retention.held,
    })
}

/// The manifest of the configured backup, read from its storage.
async fn read_manifest(
    config: &WorkerConfig,
) -> Result<kafka_backup_core::BackupManifest, WorkerError> {
    let what = format!("reading the manifest of backup '{}'", config.backup_id);
    let fail = |source| WorkerError::Engine {
        what: what.clone(),
        source,
    };
    let backend =
        kafka_backup_core::storage::create_backend(&engine_config::storage(&config.storage, &env)?)
            .map_err(fail)?;
    let bytes = backend
        .get(&format!("{}/manifest.json", config.backup_id))
        .await
        .map_err(fail)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| fail(kafka_backup_core::Error::Io(std::io::Error::other(e))))
}

/// Whether every topic pattern is one the library matches itself.
fn library_patterns_only(config: &WorkerConfig) -> bool {
    config
        .topics
        .include
        .iter()
        .chain(&config.topics.exclude)
        .all(|p| engine_config::library_matches(p))
}

/// Replaces patterns the library cannot match with the backup's matching topic names,
/// read from its manifest.
async fn with_literal_restore_topics(config: &WorkerConfig) -> Result<WorkerConfig, WorkerError> {
    let manifest = read_manifest(config).await?;
    let names: Vec<String> = manifest.topics.iter().map(|t| t.name.clone()).collect();
    let mut literal = config.clone();
    literal.topics.include = engine_config::select_topics(&config.topics, &names)?;
    literal.topics.exclude = vec![];
    tracing::info!(topics = ?literal.topics.include, "topic patterns matched against the backup");
    Ok(literal)
}

/// Replaces patterns the library cannot match with the cluster's matching topic names.
async fn with_literal_topics(config: &WorkerConfig) -> Result<WorkerConfig, WorkerError> {
    let mut literal = config.clone();
    literal.topics.include = vec!["*".into()];
    literal.topics.exclude = vec![];
    let core = engine_config::backup_config(&literal, &env)?;
    let source = core.source.ok_or(ConfigError::NoBrokers)?;
    let topics = cluster_topics(source, &config.kafka.bootstrap_servers).await?;
    literal.topics.include = engine_config::select_topics(&config.topics, &topics)?;
    tracing::info!(topics = ?literal.topics.include, "topic patterns matched");
    Ok(literal)
}

/// Runs one attempt of a restore, resuming from the report directory when an earlier
/// attempt left a checkpoint there.
/// While it runs, its progress is served at `progress_listen` (see `progress`).
pub async fn restore(
    config: &WorkerConfig,
    progress_listen: Option<std::net::SocketAddr>,
) -> Result<Summary, WorkerError> {
    let options = config.restore.as_ref().ok_or(ConfigError::NotARestore)?;
    let dir = PathBuf::from(&options.report_dir);
    let io = |source| WorkerError::Report {
        dir: dir.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let previous = report::load(&dir).map_err(io)?;
    if options.continue_token.is_some() && previous.is_none() {
        // Without the report nothing tells what the target has already received.
        return Err(WorkerError::NothingToContinue(dir));
    }
    let continuing = options.continue_token.as_ref().filter(|token| {
        previous
            .as_ref()
            .is_some_and(|r| !r.continued.contains(token))
    });
    if let Some(done) = previous.as_ref().filter(|r| r.status == Status::Completed)
        && continuing.is_none()
    {
        // A completed restore is never applied twice, whoever starts it again; only a
        // new continue token takes it further, once.
        tracing::info!(
            attempt = done.attempt,
            records = done.records,
            "the report says this restore completed; nothing to do"
        );
        return Ok(summary_of(done, Outcome::Succeeded, None));
    }
    // An unusable store fails before this attempt is counted in the report.
    let store = engine_config::storage(&config.storage, &env)?;
    super::storage_check::check(&config.storage, &store, &config.backup_id).await?;
    let configured = config;
    let resolved;
    let config = if library_patterns_only(config) {
        config
    } else {
        resolved = with_literal_restore_topics(config).await?;
        &resolved
    };
    let core = engine_config::restore_config(config, &env)?;
    let settings = Settings::of(configured, &core);
    let checkpoint_path = dir.join(CHECKPOINT_FILE);
    let resuming = report::load_checkpoint(&checkpoint_path)
        .is_some_and(|c| !c.segments_completed.is_empty() || !c.partitions.is_empty());
    if let Some(previous) = previous.as_ref().filter(|p| p.made_progress(resuming))
        && let Some(recorded) = &previous.settings
        && recorded.fingerprint != settings.fingerprint
    {
        // The library would start over and write everything again (R5).
        return Err(WorkerError::SettingsChanged {
            attempt: previous.attempt,
            changes: fingerprint::changes(&recorded.values, &settings.values),
            purges: options.purge_topics && !options.dry_run,
            dir,
        });
    }
    if previous
        .as_ref()
        .is_some_and(|p| p.made_progress(resuming) && p.settings.is_none())
    {
        tracing::warn!(
            "the report was written by an earlier release without its settings; resuming \
             without checking them, and recording these"
        );
    }
    let first = !previous.as_ref().is_some_and(|p| p.made_progress(resuming));
    if options.fail_on_existing_topics && first && !options.dry_run {
        let existing = existing_targets(config, &core).await?;
        if !existing.is_empty() {
            return Err(WorkerError::TopicsExist(existing));
        }
    }
    let mut current = RestoreReport::next_attempt(
        previous.as_ref(),
        &config.backup_id,
        options.dry_run,
        options.purge_topics,
        &settings,
        &now(),
    );
    if let Some(token) = continuing {
        current.continued.push(token.clone());
    }
    if options.purge_topics && !options.dry_run && !resuming && current.purged_on_attempt.is_none()
    {
        current.purged_on_attempt = Some(current.attempt);
    }
    report::write_atomic(&dir, &current).map_err(io)?;
    tracing::info!(
        attempt = current.attempt,
        resuming,
        backup_id = %config.backup_id,
        brokers = %config.kafka.bootstrap_servers,
        settings = %settings.fingerprint,
        "restore starting{}",
        if resuming { ", resuming from the checkpoint" } else { "" }
    );

    let what = format!(
        "restore of backup '{}' into {}",
        config.backup_id, config.kafka.bootstrap_servers
    );
    let engine = RestoreEngine::new(core.clone()).map_err(|source| WorkerError::Engine {
        what: what.clone(),
        source,
    })?;
    // While this attempt reads the backup, its hold keeps retention from deleting.
    let holder = match options.hold_as.clone().filter(|_| !options.dry_run) {
        Some(who) => {
            let backend = kafka_backup_core::storage::create_backend(&store).map_err(|source| {
                WorkerError::Engine {
                    what: what.clone(),
                    source,
                }
            })?;
            let backup_id = config.backup_id.clone();
            let stop = tokio_util::sync::CancellationToken::new();
            let stopped = stop.clone();
            // Stopped between beats only: a hold cancelled mid-write could still land
            // after the release below and keep the backup held.
            let task = tokio::spawn(async move {
                let mut beat = tokio::time::interval(super::retention::HEARTBEAT);
                loop {
                    tokio::select! {
                        () = stopped.cancelled() => break,
                        _ = beat.tick() => {}
                    }
                    let now = jiff::Timestamp::now().as_millisecond();
                    if let Err(error) =
                        super::retention::hold(backend.as_ref(), &backup_id, &who, now).await
                    {
                        tracing::warn!(%error, "could not write the restore's hold on the backup");
                    }
                }
            });
            Some((stop, task))
        }
        None => None,
    };
    let live = super::progress::Live::starting(&current);
    let server = progress_listen.map(|listen| {
        let live = live.clone();
        tokio::spawn(async move {
            if let Err(error) = super::progress::serve(listen, live).await {
                tracing::warn!(%error, %listen, "cannot serve the restore's progress");
            }
        })
    });
    let events = {
        let live = live.clone();
        let mut receiver = engine.progress_receiver();
        tokio::spawn(async move {
            loop {
                match receiver.recv().await {
                    Ok(progress) => live.engine(progress),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        })
    };
    let progress = {
        let mut report = current.clone();
        let dir = dir.clone();
        let checkpoint_path = checkpoint_path.clone();
        let live = live.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                if let Some(checkpoint) = report::load_checkpoint(&checkpoint_path) {
                    report.absorb(&checkpoint, &now());
                    live.report(&report);
                    if let Err(error) = report::write_atomic(&dir, &report) {
                        tracing::warn!(%error, "could not update the report");
                    }
                }
            }
        })
    };
    let (outcome, interrupted) = run_until_stopped(&engine, options.dry_run).await;
    // Aborted, and awaited: a report write under way when the abort comes runs to its
    // end (it never yields), and must be over before the final report is written, or
    // the two would race on the same temporary file and the older could land last.
    progress.abort();
    let _ = progress.await;
    events.abort();
    // The server goes with the attempt, whatever its outcome.
    let _server = server.map(tokio_util::task::AbortOnDropHandle::new);

    if let Some(checkpoint) = report::load_checkpoint(&checkpoint_path) {
        current.absorb(&checkpoint, &now());
    }
    // The offsets this attempt wrote, kept with those of earlier attempts: consumer
    // group offsets are translated through them once every record is written.
    if options.consumer_groups.is_some()
        && let Ok(Some(final_report)) = &outcome
    {
        let mut ranges = OffsetRanges::load(&dir).map_err(io)?;
        ranges.absorb(&final_report.offset_mapping);
        ranges.save(&dir).map_err(io)?;
    }
    let result = match outcome {
        Ok(final_report) => {
            if let Some(final_report) = &final_report {
                current.records = current.records.max(final_report.records_restored);
                current.bytes = current.bytes.max(final_report.bytes_restored);
            }
            let groups = match (&options.consumer_groups, interrupted) {
                // A continuation adds records after those the groups went on to consume
                // in the target; their offsets are theirs by now.
                (Some(groups), false) if !options.dry_run && continuing.is_none() => {
                    Some(set_group_offsets(config, &core, &store, &current, &dir, groups).await)
                }
                _ => None,
            };
            if interrupted {
                current.status = Status::Running;
                current
                    .errors
                    .push(format!("attempt {} stopped by a signal", current.attempt));
                Err(WorkerError::Interrupted)
            } else if let Some(Err(error)) = groups {
                current.status = Status::Failed;
                current
                    .errors
                    .push(format!("attempt {}: {error}", current.attempt));
                Err(error)
            } else {
                if let Some(Ok(set)) = groups {
                    current.consumer_groups = set;
                }
                current.status = Status::Completed;
                live.report(&current);
                live.completed();
                Ok(())
            }
        }
        Err(error) => {
            current.status = Status::Failed;
            current
                .errors
                .push(format!("attempt {}: {error}", current.attempt));
            Err(WorkerError::Engine {
                what,
                source: error,
            })
        }
    };
    if let Some((stop, task)) = holder {
        stop.cancel();
        let _ = task.await;
        // A restore that may still be resumed keeps its hold; the operator holds the
        // backup for it too while the KafkaRestore has not completed.
        if current.status == Status::Completed
            && let Some(who) = &options.hold_as
            && let Ok(backend) = kafka_backup_core::storage::create_backend(&store)
            && let Err(error) =
                super::retention::release(backend.as_ref(), &config.backup_id, who).await
        {
            tracing::warn!(%error, "could not remove the restore's hold on the backup");
        }
    }
    current.updated_at = now();
    report::write_atomic(&dir, &current).map_err(io)?;
    result?;
    tracing::info!(
        attempt = current.attempt,
        records = current.records,
        bytes = current.bytes,
        "restore completed"
    );
    Ok(summary_of(&current, Outcome::Succeeded, None))
}

/// The names of the topics of a cluster.
async fn cluster_topics(
    kafka: kafka_backup_core::config::KafkaConfig,
    brokers: &str,
) -> Result<Vec<String>, WorkerError> {
    let what = format!("listing the topics of {brokers}");
    let fail = |source| WorkerError::Engine {
        what: what.clone(),
        source,
    };
    let client = kafka_backup_core::kafka::KafkaClient::new(kafka);
    client.connect().await.map_err(fail)?;
    Ok(client
        .fetch_metadata(None)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|t| t.name)
        .collect())
}

/// The target topics of a restore that exist in the target cluster already.
async fn existing_targets(
    config: &WorkerConfig,
    core: &kafka_backup_core::Config,
) -> Result<Vec<String>, WorkerError> {
    let manifest = read_manifest(config).await?;
    let names: Vec<String> = manifest.topics.iter().map(|t| t.name.clone()).collect();
    let selected = engine_config::select_topics(&config.topics, &names)?;
    let mapping = config
        .restore
        .as_ref()
        .map(|r| r.topic_mapping.clone())
        .unwrap_or_default();
    let targets: Vec<String> = selected
        .iter()
        .map(|t| mapping.get(t).cloned().unwrap_or_else(|| t.clone()))
        .collect();
    let target = core.target.clone().ok_or(ConfigError::NotARestore)?;
    let present = cluster_topics(target, &config.kafka.bootstrap_servers).await?;
    Ok(targets
        .into_iter()
        .filter(|t| present.contains(t))
        .collect())
}

/// Sets the consumer group offsets a restore asks for, once all its records are
/// written; records them in `offsets.json` and returns the groups set.
async fn set_group_offsets(
    config: &WorkerConfig,
    core: &kafka_backup_core::Config,
    store: &kafka_backup_core::storage::StorageBackendConfig,
    report: &RestoreReport,
    dir: &Path,
    options: &ConsumerGroupOptions,
) -> Result<Vec<String>, WorkerError> {
    let fail = |why: String| WorkerError::Groups(why);
    let backend =
        kafka_backup_core::storage::create_backend(store).map_err(|e| fail(e.to_string()))?;
    let snapshot = groups::read_snapshot(backend.as_ref(), &config.backup_id)
        .await
        .map_err(fail)?
        .ok_or_else(|| {
            fail(format!(
                "backup '{}' has no consumer group snapshot: back it up with backup.consumerGroupSnapshot: true, or leave consumerGroups out",
                config.backup_id
            ))
        })?;
    let restore = core.restore.clone().unwrap_or_default();
    let mapping = RestoreTopicMapping::from_restore_options(&restore);
    let ranges = OffsetRanges::load(dir).map_err(|e| fail(e.to_string()))?;
    let restored: BTreeMap<String, u64> = report
        .partitions
        .values()
        .map(|p| {
            (
                format!("{}/{}", p.source_topic, p.source_partition),
                p.records,
            )
        })
        .collect();
    let mut planned = groups::plan_offsets(&snapshot, options, &mapping, &ranges, &restored);
    for skipped in &planned.skipped {
        tracing::warn!("{skipped}");
    }
    if !options.report_only && !planned.groups.is_empty() {
        let target = core
            .target
            .as_ref()
            .ok_or_else(|| fail("no target".into()))?;
        groups::commit(target, &planned).await.map_err(fail)?;
        planned.committed = true;
    }
    let json = serde_json::to_vec_pretty(&planned).map_err(|e| fail(e.to_string()))?;
    report::write_file_atomic(&dir.join(groups::OFFSETS_FILE), &json)
        .map_err(|e| fail(e.to_string()))?;
    let set: Vec<String> = planned.groups.keys().cloned().collect();
    tracing::info!(
        groups = ?set,
        committed = planned.committed,
        skipped = planned.skipped.len(),
        "consumer group offsets translated"
    );
    Ok(if planned.committed { set } else { Vec::new() })
}

/// The summary of a restore from its report.
pub fn summary_of(report: &RestoreReport, outcome: Outcome, error: Option<String>) -> Summary {
    let topics: std::collections::BTreeSet<&str> = report
        .partitions
        .values()
        .map(|p| p.target_topic.as_str())
        .collect();
    Summary {
        outcome,
        records: report.records,
        bytes: report.bytes,
        topics: Some(topics.len() as u64),
        backup_id: Some(report.backup_id.clone()),
        attempt: Some(report.attempt),
        error,
        consumer_groups: None,
        groups_reset: report.consumer_groups.iter().take(50).cloned().collect(),
        pruned: None,
        prune_held: None,
    }
}

/// The summary of a failed run.
pub fn failure(error: &WorkerError, report_dir: Option<&Path>) -> Summary {
    let previous = report_dir.and_then(|d| report::load(d).ok().flatten());
    match previous {
        Some(report) => summary_of(&report, Outcome::Failed, Some(error.to_string())),
        None => Summary {
            outcome: Outcome::Failed,
            records: 0,
            bytes: 0,
            topics: None,
            backup_id: None,
            attempt: None,
            error: Some(error.to_string()),
            consumer_groups: None,
            groups_reset: Vec::new(),
            pruned: None,
            prune_held: None,
        },
    }
}
