//! A burst of new restores (thousands applied at once): their Jobs come first, and the
//! first status of a restore whose Job was made waits until the burst is over. Each
//! restore's Job costs three requests (claim, PVC, Job) instead of four, so within the
//! same request rate every Job is made about a quarter sooner; the claim in the labels
//! names the Job meanwhile, and the status and its Event follow (`benches/api_load.sh`).
//! A restore never waits longer than [`MAX_WAIT`] after its creation, and outside a
//! burst nothing waits. When a burst is over, every restore is reconciled once (see
//! [`Burst::ends`]): the waiting ones write their status then.
//!
//! While the restores of a burst are still being created (more than run at once created
//! in the last [`ARRIVAL_WINDOW`]), their Jobs are made at a quarter of the request rate
//! (see [`wait_for_arrivals`]): the client creating them (`kubectl apply`, a GitOps
//! sync) then shares the API server with the operator's Job traffic only a little, and
//! the Jobs follow at the full rate once it is done.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::Stream;
use tokio::sync::Notify;

use jiff::Timestamp;
use kube::ResourceExt;

use crate::api::KafkaRestore;
use crate::constants::LABEL_RESTORE_JOB_NAME;
use crate::controller::{Caches, Context, is_paused};

/// How long after its creation a restore's first status may wait at most.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(120);

/// Restores created this recently are still arriving.
const ARRIVAL_WINDOW: Duration = Duration::from_secs(3);

/// While restores arrive, their Jobs take one part in this many of the request rate.
const ARRIVAL_SHARE: u32 = 4;

/// The requests a restore's Job costs in a burst: claim, PVC, Job.
const REQUESTS_PER_JOB: u32 = 3;

/// Where bursts of new restores are told apart, and their end announced.
#[derive(Debug)]
pub struct Burst {
    /// More untouched restores than this make a burst (`0`: never).
    threshold: usize,
    /// Whether a restore's first status waits for the end of a burst.
    waiting: AtomicBool,
    /// Notified at the end of a burst in which a status waited.
    over: Arc<Notify>,
    /// The time between two Jobs while restores arrive (`None`: no pacing).
    arrival_gap: Option<Duration>,
    /// When the next Job may be made while restores arrive.
    next_turn: Mutex<tokio::time::Instant>,
}

impl Burst {
    /// Bursts of more untouched restores than `threshold` (the reconciles that run at
    /// once; `0`: none), by controllers that send at most `requests_per_second` (`0`:
    /// no limit, and then no pacing while restores arrive).
    pub fn new(threshold: usize, requests_per_second: u32) -> Self {
        let arrival_gap = (threshold > 0 && requests_per_second > 0).then(|| {
            Duration::from_secs(u64::from(REQUESTS_PER_JOB * ARRIVAL_SHARE)) / requests_per_second
        });
        Self {
            threshold,
            waiting: AtomicBool::new(false),
            over: Arc::new(Notify::new()),
            arrival_gap,
            next_turn: Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// An item at the end of each burst in which a restore's first status waited: the
    /// restore controller reconciles every restore on it.
    pub fn ends(&self) -> impl Stream<Item = ()> + Send + 'static {
        futures::stream::unfold(self.over.clone(), |over| async move {
            over.notified().await;
            Some(((), over))
        })
    }
}

/// Whether the first status of `restore`, whose Job is claimed, waits: it has none yet,
/// it was created less than [`MAX_WAIT`] before `now`, and a burst is on. A burst
/// begins when more restores than run at once wait for a first reconcile to write to
/// them, and ends when none does (so the last few are not queued behind the statuses
/// that waited). A status that waits is written when the burst ends, or [`MAX_WAIT`]
/// after the restore's creation at the latest (the `Action` to return then is `retry`).
pub(crate) fn first_status_waits(ctx: &Context, restore: &KafkaRestore, now: Timestamp) -> bool {
    let burst = &ctx.burst;
    if burst.threshold == 0 || has_conditions(restore) || !recent(restore, now) {
        return false;
    }
    let untouched = untouched_restores(&ctx.caches, now, burst.threshold + 1);
    let on = burst.waiting.load(Ordering::Relaxed);
    if untouched > burst.threshold || (on && untouched > 0) {
        burst.waiting.store(true, Ordering::Relaxed);
        return true;
    }
    if burst.waiting.swap(false, Ordering::Relaxed) {
        burst.over.notify_one();
    }
    false
}

/// When a restore whose first status waits is reconciled again at the latest: when it
/// is [`MAX_WAIT`] old (its Job's events and the end of the burst reconcile it sooner).
pub(crate) fn retry(restore: &KafkaRestore, now: Timestamp) -> kube::runtime::controller::Action {
    let age = age(restore, now).unwrap_or_default();
    kube::runtime::controller::Action::requeue(
        MAX_WAIT.saturating_sub(age).max(Duration::from_secs(1)),
    )
}

/// Waits for the turn of `restore` while restores are created in bulk, if no reconcile
/// has written to it yet: turns come at a quarter of the request rate, so about a
/// quarter of the controller's requests compete with the client creating them. Returns
/// at once when restores do not arrive, or when `restore` has a status or a claimed Job.
pub(crate) async fn wait_for_arrivals(ctx: &Context, restore: &KafkaRestore, now: Timestamp) {
    let burst = &ctx.burst;
    let Some(gap) = burst.arrival_gap else {
        return;
    };
    if !untouched(restore) || !arriving(&ctx.caches, now, burst.threshold) {
        return;
    }
    let turn = {
        let mut next = burst
            .next_turn
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let turn = (*next).max(tokio::time::Instant::now());
        *next = turn + gap;
        turn
    };
    tokio::time::sleep_until(turn).await;
}

/// Whether more than `threshold` restores in the cache were created in the last
/// [`ARRIVAL_WINDOW`] before `now` (creation times are whole seconds).
fn arriving(caches: &Caches, now: Timestamp, threshold: usize) -> bool {
    caches
        .restores
        .state()
        .iter()
        .filter(|restore| age(restore, now).is_some_and(|age| age < ARRIVAL_WINDOW))
        .take(threshold + 1)
        .count()
        > threshold
}

/// Whether a reconcile claimed a Job for `restore`: the claim label names it.
pub(crate) fn has_claim(restore: &KafkaRestore) -> bool {
    restore.labels().contains_key(LABEL_RESTORE_JOB_NAME)
}

/// Whether no reconcile has written to `restore` yet: no status condition, no claim.
fn untouched(restore: &KafkaRestore) -> bool {
    !has_conditions(restore) && !has_claim(restore)
}

/// Whether `restore` has a status with conditions: every reconcile's first status has.
fn has_conditions(restore: &KafkaRestore) -> bool {
    restore
        .status
        .as_ref()
        .is_some_and(|s| !s.conditions.is_empty())
}

/// How long before `now` `restore` was created, if the API said when.
fn age(restore: &KafkaRestore, now: Timestamp) -> Option<Duration> {
    restore
        .creation_timestamp()
        .map(|created| now.duration_since(created.0).unsigned_abs())
}

/// Whether `restore` was created less than [`MAX_WAIT`] before `now`.
fn recent(restore: &KafkaRestore, now: Timestamp) -> bool {
    age(restore, now).is_some_and(|age| age < MAX_WAIT)
}

/// The restores in the cache that no reconcile has written to yet (no status condition,
/// no claimed Job), created less than [`MAX_WAIT`] before `now`, neither being deleted
/// nor paused nor in a namespace being deleted; counted up to `enough`.
pub(crate) fn untouched_restores(caches: &Caches, now: Timestamp, enough: usize) -> usize {
    caches
        .restores
        .state()
        .iter()
        .filter(|restore| {
            untouched(restore)
                && restore.metadata.deletion_timestamp.is_none()
                && !is_paused(restore.as_ref())
                && recent(restore, now)
                && !caches.namespace_terminating(&restore.namespace().unwrap_or_default())
        })
        .take(enough)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Namespace;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use kube::core::PartialObjectMeta;
    use kube::runtime::{reflector, watcher};

    fn restore(name: &str, namespace: &str, created: Timestamp) -> KafkaRestore {
        let mut restore = KafkaRestore::new(name, Default::default());
        restore.metadata.namespace = Some(namespace.into());
        restore.metadata.creation_timestamp = Some(Time(created));
        restore
    }

    /// A store of `n` restores created at `created`, and its writer.
    fn restores_created(
        n: usize,
        created: Timestamp,
    ) -> (
        reflector::Store<KafkaRestore>,
        reflector::store::Writer<KafkaRestore>,
    ) {
        let (store, mut writer) = reflector::store();
        for i in 0..n {
            writer.apply_watcher_event(&watcher::Event::Apply(restore(
                &format!("r{i}"),
                "kafka",
                created,
            )));
        }
        (store, writer)
    }

    #[test]
    fn only_new_restores_no_reconcile_wrote_to_count() {
        let now = Timestamp::now();
        let mut restores = vec![restore("new", "kafka", now)];
        let mut claimed = restore("claimed", "kafka", now);
        claimed
            .labels_mut()
            .insert(LABEL_RESTORE_JOB_NAME.into(), "claimed-restore-1".into());
        let mut with_status = restore("with-status", "kafka", now);
        with_status.status = Some(crate::api::KafkaRestoreStatus {
            conditions: vec![
                serde_json::from_value(serde_json::json!({
                    "type": "Ready", "status": "False", "reason": "RestoreRunning",
                    "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"
                }))
                .unwrap(),
            ],
            ..Default::default()
        });
        let mut deleting = restore("deleting", "kafka", now);
        deleting.metadata.deletion_timestamp = Some(Time(now));
        let mut paused = restore("paused", "kafka", now);
        paused
            .annotations_mut()
            .insert(crate::constants::ANNOTATION_PAUSE.into(), "true".into());
        restores.extend([
            claimed,
            with_status,
            deleting,
            paused,
            restore("old", "kafka", now - jiff::SignedDuration::from_secs(121)),
            restore("in-a-namespace-being-deleted", "gone", now),
        ]);
        let (store, mut writer) = reflector::store();
        for restore in restores {
            writer.apply_watcher_event(&watcher::Event::Apply(restore));
        }
        let (namespaces, mut writer) = reflector::store();
        let mut gone = PartialObjectMeta::<Namespace>::default();
        gone.metadata.name = Some("gone".into());
        gone.metadata.deletion_timestamp = Some(Time(now));
        writer.apply_watcher_event(&watcher::Event::Apply(gone));
        let caches = Caches {
            restore_jobs: reflector::store().0,
            pvcs: reflector::store().0,
            backups: reflector::store().0,
            restores: store,
            namespaces,
        };
        assert_eq!(untouched_restores(&caches, now, 100), 1);
        assert_eq!(untouched_restores(&caches, now, 0), 0);
    }

    /// The context of controllers running 2 reconciles at once, sending at most
    /// `requests_per_second`, with `restores` in the cache; no request gets an answer.
    fn context(restores: reflector::Store<KafkaRestore>, requests_per_second: u32) -> Context {
        let caches = Caches {
            restore_jobs: reflector::store().0,
            pvcs: reflector::store().0,
            backups: reflector::store().0,
            restores,
            namespaces: reflector::store().0,
        };
        let (service, _handle) = tower_test::mock::pair::<
            http::Request<kube::client::Body>,
            http::Response<kube::client::Body>,
        >();
        Context::new(
            kube::Client::new(service, "default"),
            caches,
            crate::controller::build::JobDefaults {
                image: "test".into(),
            },
            crate::controller::metrics::ControllerMetrics::register(&mut Default::default()),
            "test".into(),
            crate::controller::Limits {
                concurrency: 2,
                requests_per_second,
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn while_restores_arrive_new_ones_take_turns_at_a_quarter_of_the_rate() {
        use tokio::time::Instant;
        let now = Timestamp::now();
        let (restores, _writer) = restores_created(3, now);
        // 12 requests a second: a quarter is a Job (3 requests) a second.
        let ctx = context(restores, 12);
        let new = restore("new", "kafka", now);
        let start = Instant::now();
        let mut turns = Vec::new();
        for _ in 0..3 {
            wait_for_arrivals(&ctx, &new, now).await;
            turns.push(start.elapsed());
        }
        assert_eq!(
            turns,
            [0, 1, 2].map(Duration::from_secs),
            "three restores arrived in the last 3 s, more than the 2 reconciles at once"
        );
        // A claimed restore does not wait, nor does any once the restores stopped
        // arriving 3 s ago.
        let mut claimed = new.clone();
        claimed
            .labels_mut()
            .insert(LABEL_RESTORE_JOB_NAME.into(), "new-restore-1".into());
        let before = Instant::now();
        wait_for_arrivals(&ctx, &claimed, now).await;
        let later = now + jiff::SignedDuration::from_secs(3);
        wait_for_arrivals(&ctx, &new, later).await;
        assert_eq!(before.elapsed(), Duration::ZERO);
        // Two recent restores are not more than run at once: no wait either.
        let (restores, _writer) = restores_created(2, now);
        let ctx = context(restores, 12);
        wait_for_arrivals(&ctx, &new, now).await;
        wait_for_arrivals(&ctx, &new, now).await;
        assert_eq!(before.elapsed(), Duration::ZERO);
        // Without a request rate there is nothing to share.
        let (restores, _writer) = restores_created(3, now);
        let ctx = context(restores, 0);
        wait_for_arrivals(&ctx, &new, now).await;
        wait_for_arrivals(&ctx, &new, now).await;
        assert_eq!(before.elapsed(), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_status_waits_while_the_burst_lasts_and_its_end_is_announced_once() {
        use futures::StreamExt;
        let now = Timestamp::now();
        let (restores, mut writer) = reflector::store();
        let others: Vec<KafkaRestore> = (0..3)
            .map(|i| restore(&format!("r{i}"), "kafka", now))
            .collect();
        for other in &others {
            writer.apply_watcher_event(&watcher::Event::Apply(other.clone()));
        }
        let ctx = context(restores, 0);
        let mut ends = Box::pin(ctx.burst.ends());
        let claimed = restore("claimed", "kafka", now);
        // Three untouched restores, more than the 2 reconciles that run at once.
        assert!(first_status_waits(&ctx, &claimed, now));
        assert_eq!(
            retry(&claimed, now),
            kube::runtime::controller::Action::requeue(MAX_WAIT)
        );
        // Two minutes after its creation a restore waits no more, burst or not.
        let later = now + jiff::SignedDuration::from_secs(121);
        assert!(!first_status_waits(&ctx, &claimed, later));
        assert!(first_status_waits(&ctx, &claimed, now));
        // Two of them claimed: no burst would begin with one left, but this one lasts
        // until none is left, and its end is said once.
        let mut others = others.into_iter().map(|mut other| {
            other
                .labels_mut()
                .insert(LABEL_RESTORE_JOB_NAME.into(), "job".into());
            other
        });
        for other in others.by_ref().take(2) {
            writer.apply_watcher_event(&watcher::Event::Apply(other));
        }
        assert!(first_status_waits(&ctx, &claimed, now));
        let none = tokio::time::timeout(Duration::from_millis(100), ends.next()).await;
        assert!(none.is_err(), "not over yet");
        for other in others {
            writer.apply_watcher_event(&watcher::Event::Apply(other));
        }
        assert!(!first_status_waits(&ctx, &claimed, now));
        let ended = tokio::time::timeout(Duration::from_secs(1), ends.next()).await;
        assert_eq!(ended, Ok(Some(())));
        assert!(!first_status_waits(&ctx, &claimed, now));
        let again = tokio::time::timeout(Duration::from_millis(100), ends.next()).await;
        assert!(again.is_err(), "announced once");
    }
}
