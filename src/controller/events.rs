//! Events on our resources: one when the Ready reason changes, Warnings for what needs
//! a person. An Event is an announcement, not the work: a reconcile queues it and goes
//! on, and one task writes the queue to the API, in order, one Event at a time, and only
//! while a reconcile slot is free. Under a burst (thousands of new restores) the Jobs are
//! made first and their Events follow; an Event waits at most [`MAX_DELAY`]. When the
//! queue is full an Event is dropped and counted, as client-go's recorder drops them: an
//! Event never blocks or fails a reconcile.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::controller::Context;
use crate::controller::conditions::Announcement;
use crate::controller::metrics::ControllerMetrics;

/// How many Events may wait to be written; more are dropped.
pub const QUEUE_CAPACITY: usize = 4096;

/// The longest an Event waits for a free reconcile slot before it is written anyway.
pub const MAX_DELAY: Duration = Duration::from_secs(300);

/// An Event waiting to be written.
struct Queued {
    event: Event,
    regarding: ObjectReference,
    since: Instant,
}

/// The Event queue of the controllers, and the count of reconciles running that decides
/// when its Events are written.
pub struct Events {
    queue: mpsc::Sender<Queued>,
    running: Arc<watch::Sender<usize>>,
    metrics: ControllerMetrics,
    /// Whether the last Event was dropped: a full queue is logged once, not per Event.
    dropping: AtomicBool,
}

impl Events {
    /// Starts the task that writes the Events through `recorder`: an Event waits while
    /// `slots` reconciles or more run (`0`: it never waits), at most [`MAX_DELAY`]. The
    /// task writes what is queued and ends once these `Events` are dropped.
    pub fn start(recorder: Recorder, slots: usize, metrics: ControllerMetrics) -> Self {
        let (queue, queued) = mpsc::channel(QUEUE_CAPACITY);
        let (running, free) = watch::channel(0);
        tokio::spawn(write(recorder, queued, free, slots, metrics.clone()));
        Self {
            queue,
            running: Arc::new(running),
            metrics,
            dropping: AtomicBool::new(false),
        }
    }

    /// Marks a reconcile as running until the guard is dropped.
    pub fn reconciling(&self) -> Reconciling {
        self.running.send_modify(|n| *n += 1);
        Reconciling(self.running.clone())
    }

    /// Queues `event` on the object `regarding`; drops it, counted, when the queue is full.
    fn queue(&self, event: Event, regarding: ObjectReference) {
        let queued = Queued {
            event,
            regarding,
            since: Instant::now(),
        };
        match self.queue.try_send(queued) {
            Ok(()) => {
                self.metrics.event_queued();
                self.dropping.store(false, Ordering::Relaxed);
            }
            Err(error) => {
                self.metrics.event_dropped();
                if !self.dropping.swap(true, Ordering::Relaxed) {
                    let reason = match error {
                        mpsc::error::TrySendError::Full(_) => "the queue is full",
                        mpsc::error::TrySendError::Closed(_) => "the writer has stopped",
                    };
                    tracing::warn!(
                        capacity = QUEUE_CAPACITY,
                        "{reason}: dropping Events until it has room (controller_events_dropped_total counts them)"
                    );
                }
            }
        }
    }
}

/// A running reconcile; dropping it frees its slot.
pub struct Reconciling(Arc<watch::Sender<usize>>);

impl Drop for Reconciling {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Writes the queued Events in order, each once fewer than `slots` reconciles run or
/// once it has waited [`MAX_DELAY`]. An Event the API refuses is logged, not retried.
async fn write(
    recorder: Recorder,
    mut queued: mpsc::Receiver<Queued>,
    mut running: watch::Receiver<usize>,
    slots: usize,
    metrics: ControllerMetrics,
) {
    // Whether a slot was free, and stayed free, before the last Event: the Events of a
    // backlog are then written one after another while no slot is taken (the settling
    // wait is paid once, not per Event).
    let mut free = false;
    while let Some(Queued {
        event,
        regarding,
        since,
    }) = queued.recv().await
    {
        free = free && *running.borrow_and_update() < slots;
        if slots > 0 && !free {
            let _ =
                tokio::time::timeout_at(since + MAX_DELAY, free_slot(&mut running, slots)).await;
            free = true;
        }
        metrics.event_done();
        if let Err(error) = recorder.publish(&event, &regarding).await {
            tracing::warn!(%error, reason = %event.reason, "could not publish an event");
        }
    }
}

/// How long a slot must stay free before an Event is written: between the end of one
/// reconcile and the start of the next one waiting, a slot is free for an instant.
const SETTLE: Duration = Duration::from_millis(100);

/// Waits until fewer than `slots` reconciles run, and still do [`SETTLE`] later.
async fn free_slot(running: &mut watch::Receiver<usize>, slots: usize) {
    loop {
        if running.wait_for(|running| *running < slots).await.is_err() {
            // The reconciles are gone (the controllers stopped): nothing to wait for.
            return;
        }
        tokio::time::sleep(SETTLE).await;
        if *running.borrow_and_update() < slots {
            return;
        }
    }
}

/// Queues the Event a plan announces, if any.
pub(crate) fn announce<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    resource: &K,
    announcement: Option<&Announcement>,
) {
    if let Some(a) = announcement {
        let type_ = if a.warning {
            EventType::Warning
        } else {
            EventType::Normal
        };
        publish(ctx, resource, type_, &a.reason, a.message.clone());
    }
}

/// Queues an Event on a resource (see the module's text).
pub(crate) fn publish<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    resource: &K,
    type_: EventType,
    reason: &str,
    note: String,
) {
    ctx.events
        .queue(event(type_, reason, &note), resource.object_ref(&()));
}

/// An Event of a reconcile, its note cut to the API's 1 kB.
fn event(type_: EventType, reason: &str, note: &str) -> Event {
    Event {
        type_,
        reason: reason.to_string(),
        note: Some(note.chars().take(1024).collect()),
        action: "Reconcile".into(),
        secondary: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{Request, Response};
    use kube::Client;
    use kube::client::Body;
    use kube::runtime::events::Reporter;
    use prometheus_client::registry::Registry;

    type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

    /// Events on a mocked API, for controllers of `slots` reconciles, and their metrics.
    fn events(slots: usize) -> (Events, Handle, Registry) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = Client::new(service, "kafka");
        let mut registry = Registry::default();
        let metrics = ControllerMetrics::register(&mut registry);
        let recorder = Recorder::new(client, Reporter::from("test"));
        (Events::start(recorder, slots, metrics), handle, registry)
    }

    fn queue(events: &Events, reason: &str) {
        let mut restore = crate::api::KafkaRestore::new("orders", Default::default());
        restore.metadata.namespace = Some("kafka".into());
        events.queue(
            event(EventType::Normal, reason, "a note"),
            restore.object_ref(&()),
        );
    }

    /// The reason of the next Event written, within `wait`, or None.
    async fn written(handle: &mut Handle, wait: Duration) -> Option<String> {
        let (request, respond) = tokio::time::timeout(wait, handle.next_request())
            .await
            .ok()??;
        assert_eq!(request.method(), http::Method::POST);
        assert_eq!(
            request.uri().path(),
            "/apis/events.k8s.io/v1/namespaces/kafka/events"
        );
        let body = request.into_body().collect_bytes().await.unwrap();
        let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
        respond.send_response(
            Response::builder()
                .status(201)
                .body(Body::from(body.to_vec()))
                .unwrap(),
        );
        event["reason"].as_str().map(str::to_string)
    }

    /// Asserts that the next Event written, within `wait`, has `reason`.
    async fn assert_written(handle: &mut Handle, wait: Duration, reason: &str) {
        let written = written(handle, wait).await;
        assert_eq!(written.as_deref(), Some(reason));
    }

    fn metric(registry: &Registry, name: &str) -> f64 {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .parse()
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn events_wait_while_every_reconcile_slot_is_taken_and_keep_their_order() {
        let (events, mut handle, registry) = events(2);
        let first = events.reconciling();
        let second = events.reconciling();
        queue(&events, "RestoreRunning");
        queue(&events, "RestoreCompleted");
        assert_eq!(metric(&registry, "controller_events_queued"), 2.0);
        assert_eq!(written(&mut handle, Duration::from_secs(60)).await, None);
        drop(first);
        assert_written(&mut handle, Duration::from_secs(1), "RestoreRunning").await;
        assert_written(&mut handle, Duration::from_secs(1), "RestoreCompleted").await;
        assert_eq!(metric(&registry, "controller_events_queued"), 0.0);
        drop(second);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_free_for_an_instant_between_two_reconciles_writes_no_event() {
        let (events, mut handle, _registry) = events(1);
        let busy = events.reconciling();
        queue(&events, "RestoreRunning");
        tokio::task::yield_now().await;
        // One reconcile ends and the next waiting one starts: the writer sees the slot
        // free in between.
        drop(busy);
        tokio::task::yield_now().await;
        let next = events.reconciling();
        assert_eq!(written(&mut handle, Duration::from_secs(60)).await, None);
        drop(next);
        assert_written(&mut handle, Duration::from_secs(1), "RestoreRunning").await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_backlog_is_written_without_waiting_again_between_its_events() {
        let (events, mut handle, _registry) = events(1);
        let busy = events.reconciling();
        // Different reasons: the recorder writes a repeated Event as a series (a patch).
        for i in 0..50 {
            queue(&events, &format!("Reason{i}"));
        }
        drop(busy);
        let started = Instant::now();
        for i in 0..50 {
            let reason = written(&mut handle, Duration::from_secs(1)).await;
            assert_eq!(reason, Some(format!("Reason{i}")));
        }
        assert!(started.elapsed() < SETTLE * 2, "{:?}", started.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn an_event_waits_at_most_the_longest_delay() {
        let (events, mut handle, _registry) = events(1);
        let _busy = events.reconciling();
        queue(&events, "RestoreRunning");
        assert_eq!(
            written(&mut handle, MAX_DELAY - Duration::from_secs(1)).await,
            None
        );
        assert_written(&mut handle, Duration::from_secs(2), "RestoreRunning").await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_drops_and_counts_events_and_never_blocks() {
        let (events, mut handle, registry) = events(1);
        let busy = events.reconciling();
        // The writer holds the first Event while it waits; the queue holds the rest.
        queue(&events, "RestoreRunning");
        tokio::time::sleep(Duration::from_millis(1)).await;
        for _ in 0..QUEUE_CAPACITY + 2 {
            queue(&events, "RestoreRunning");
        }
        assert_eq!(metric(&registry, "controller_events_dropped_total"), 2.0);
        drop(busy);
        assert!(written(&mut handle, Duration::from_secs(1)).await.is_some());
    }

    #[tokio::test]
    async fn without_a_bound_on_reconciles_events_never_wait() {
        let (events, mut handle, _registry) = events(0);
        let _busy = events.reconciling();
        queue(&events, "RestoreRunning");
        assert_written(&mut handle, Duration::from_secs(5), "RestoreRunning").await;
    }
}
