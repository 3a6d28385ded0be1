//! Progress of running restores in their status: every 10 seconds the operator reads
//! `GET /progress` of each running restore's worker pod (plain HTTP on the pod network,
//! port [`PROGRESS_PORT`]) and writes `status.restore.progress` under its own field
//! manager, [`PROGRESS_MANAGER`], so that the reconcilers' status writes and these never
//! take each other's fields. The worker keeps no API token. A completed restore's
//! progress is set to 100 percent once. `next_progress` and `completed_progress` are
//! pure; `run` does the IO.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::Store;
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::api::KafkaRestore;
use crate::api::condition as c;
use crate::api::restore::Progress;
use crate::controller::conditions::ready_reason;
use crate::worker::progress::{self as worker, PATH};

/// The field manager of `status.restore.progress`.
pub const PROGRESS_MANAGER: &str = "kafka-backup-operator-progress";
/// The port a restore worker serves its progress on.
pub const PROGRESS_PORT: u16 = 8081;
/// How often running restores are read.
const INTERVAL: Duration = Duration::from_secs(10);
/// How long one read may take.
const READ_TIMEOUT: Duration = Duration::from_secs(3);
/// A restore whose figures have not changed gets its `measuredTime` refreshed this often.
const REFRESH: Duration = Duration::from_secs(60);
/// Reads at the same time.
const PARALLEL: usize = 16;

fn millis(time: &Time) -> i64 {
    time.0.as_millisecond()
}

/// A count the worker served, as the status holds it.
fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The progress to write after the worker served `served` at `now`, or `None` when the
/// status already says the same (and was measured less than a minute ago). The time
/// of the last progress moves only when more records were written; before any, it is
/// the attempt's start. Pure.
pub fn next_progress(
    old: Option<&Progress>,
    served: &worker::Progress,
    started: Option<&Time>,
    now: &Time,
) -> Option<Progress> {
    let records = count(served.records);
    let grew = old.is_none_or(|o| records > o.records);
    let last_progress_time = if grew && records > 0 {
        Some(now.clone())
    } else {
        old.and_then(|o| o.last_progress_time.clone())
            .or_else(|| started.cloned())
            .or_else(|| Some(now.clone()))
    };
    let next = Progress {
        records,
        bytes: count(served.bytes),
        total_records: count(served.total_records),
        partitions: count(served.partitions),
        segments_done: count(served.segments_done),
        segments_total: count(served.segments_total),
        percent: i32::from(served.percent),
        measured_time: Some(now.clone()),
        last_progress_time,
    };
    let same_figures = |o: &Progress| {
        Progress {
            measured_time: None,
            last_progress_time: None,
            ..o.clone()
        } == Progress {
            measured_time: None,
            last_progress_time: None,
            ..next.clone()
        }
    };
    match old {
        Some(o)
            if same_figures(o)
                && o.measured_time
                    .as_ref()
                    .is_some_and(|m| millis(now) - millis(m) < REFRESH.as_millis() as i64) =>
        {
            None
        }
        _ => Some(next),
    }
}

/// The progress of a restore that completed, with `records` and `bytes` as its
/// worker reported: 100 percent, unless the status says so already. Pure.
pub fn completed_progress(
    old: Option<&Progress>,
    records: Option<i64>,
    bytes: Option<i64>,
    now: &Time,
) -> Option<Progress> {
    if old.is_some_and(|o| o.percent == 100) {
        return None;
    }
    let old = old.cloned().unwrap_or_default();
    let records = records.unwrap_or(0).max(old.records);
    Some(Progress {
        records,
        bytes: bytes.unwrap_or(0).max(old.bytes),
        total_records: old.total_records.max(records),
        percent: 100,
        measured_time: Some(now.clone()),
        last_progress_time: Some(now.clone()),
        ..old
    })
}

/// The running worker pods' addresses, by namespace and Job name: read once a round.
type Addresses = HashMap<(String, String), String>;

fn worker_addresses(pods: &Store<Pod>) -> Addresses {
    pods.state()
        .iter()
        .filter_map(|pod| {
            let status = pod.status.as_ref()?;
            if status.phase.as_deref() != Some("Running") {
                return None;
            }
            let job = pod.labels().get("job-name")?.clone();
            Some(((pod.namespace()?, job), status.pod_ip.clone()?))
        })
        .collect()
}

/// What to write for one restore, reading its worker when it runs.
async fn progress_of(
    http: &reqwest::Client,
    addresses: &Addresses,
    restore: &KafkaRestore,
) -> Option<Progress> {
    let status = restore.status.as_ref()?;
    let attempt = status.restore.as_ref()?;
    let old = attempt.progress.as_ref();
    let now = Time(jiff::Timestamp::now());
    match ready_reason(&status.conditions)? {
        c::RESTORE_COMPLETED => completed_progress(old, attempt.records, attempt.bytes, &now),
        c::RESTORE_RUNNING if !attempt.job_name.is_empty() => {
            let address = addresses.get(&(restore.namespace()?, attempt.job_name.clone()))?;
            let url = format!("http://{address}:{PROGRESS_PORT}{PATH}");
            let served = match http.get(&url).send().await {
                Ok(answer) => answer.json::<worker::Progress>().await,
                Err(error) => Err(error),
            };
            match served {
                Ok(served) => next_progress(old, &served, attempt.start_time.as_ref(), &now),
                Err(error) => {
                    tracing::debug!(restore = %restore.name_any(), %url, %error, "progress not read");
                    None
                }
            }
        }
        _ => None,
    }
}

/// Writes `progress` into `restore`'s status under [`PROGRESS_MANAGER`].
async fn write(
    client: &Client,
    metrics: &crate::controller::metrics::ControllerMetrics,
    restore: &KafkaRestore,
    progress: Progress,
) {
    let api: Api<KafkaRestore> =
        Api::namespaced(client.clone(), &restore.namespace().unwrap_or_default());
    let body = json!({
        "apiVersion": "kafkabackup.com/v1alpha1",
        "kind": "KafkaRestore",
        "status": {"restore": {"progress": progress}},
    });
    let name = restore.name_any();
    let written = crate::controller::calls::write(
        metrics,
        crate::controller::error::Call::on::<KafkaRestore>("apply progress of", &name),
        api.patch_status(
            &name,
            &PatchParams::apply(PROGRESS_MANAGER).force(),
            &Patch::Apply(body),
        ),
    )
    .await;
    if let Err(error) = written {
        tracing::debug!(restore = %name, %error, "progress not written");
    }
}

/// Every [`INTERVAL`], reads the progress of the running restores in `restores` and
/// writes what changed, until dropped.
pub async fn run(
    client: Client,
    metrics: crate::controller::metrics::ControllerMetrics,
    restores: Store<KafkaRestore>,
    pods: Store<Pod>,
) {
    let http = match reqwest::Client::builder()
        .timeout(READ_TIMEOUT)
        .no_proxy()
        .build()
    {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "no HTTP client: restore progress is not read");
            return;
        }
    };
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let candidates: Vec<Arc<KafkaRestore>> = restores
            .state()
            .into_iter()
            .filter(|r| {
                r.status.as_ref().is_some_and(|s| {
                    matches!(
                        ready_reason(&s.conditions),
                        Some(c::RESTORE_RUNNING | c::RESTORE_COMPLETED)
                    )
                })
            })
            .collect();
        let addresses = worker_addresses(&pods);
        futures::stream::iter(candidates)
            .for_each_concurrent(PARALLEL, |restore| {
                let (http, addresses, client, metrics) = (&http, &addresses, &client, &metrics);
                async move {
                    if let Some(progress) = progress_of(http, addresses, &restore).await {
                        write(client, metrics, &restore, progress).await;
                    }
                }
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Time {
        Time(jiff::Timestamp::from_second(seconds).unwrap())
    }

    fn served(records: u64, percent: u8) -> worker::Progress {
        worker::Progress {
            attempt: 1,
            records,
            bytes: records * 100,
            total_records: 1000,
            segments_done: 1,
            segments_total: 4,
            partitions: 2,
            percent,
            measured_at: String::new(),
        }
    }

    #[test]
    fn growing_records_are_written_with_the_time_they_grew() {
        let first = next_progress(None, &served(0, 0), Some(&at(100)), &at(110)).unwrap();
        assert_eq!(
            first.last_progress_time,
            Some(at(100)),
            "the attempt's start"
        );
        assert_eq!(first.measured_time, Some(at(110)));
        let second =
            next_progress(Some(&first), &served(250, 25), Some(&at(100)), &at(120)).unwrap();
        assert_eq!((second.records, second.percent), (250, 25));
        assert_eq!(second.last_progress_time, Some(at(120)));
    }

    #[test]
    fn unchanged_figures_are_not_written_again_within_a_minute() {
        let old = next_progress(None, &served(250, 25), None, &at(100)).unwrap();
        assert_eq!(
            next_progress(Some(&old), &served(250, 25), None, &at(150)),
            None
        );
        let refreshed = next_progress(Some(&old), &served(250, 25), None, &at(161)).unwrap();
        assert_eq!(refreshed.measured_time, Some(at(161)));
        assert_eq!(
            refreshed.last_progress_time,
            Some(at(100)),
            "no progress since 100: a stall shows"
        );
    }

    #[test]
    fn a_completed_restore_reaches_100_once() {
        let running = next_progress(None, &served(900, 90), None, &at(100)).unwrap();
        let done = completed_progress(Some(&running), Some(1000), Some(5000), &at(130)).unwrap();
        assert_eq!(
            (done.records, done.percent, done.total_records),
            (1000, 100, 1000)
        );
        assert_eq!(
            completed_progress(Some(&done), Some(1000), None, &at(140)),
            None
        );
        // A restore too quick to be read while it ran.
        let quick = completed_progress(None, Some(10), Some(70), &at(5)).unwrap();
        assert_eq!((quick.records, quick.percent), (10, 100));
    }
}
