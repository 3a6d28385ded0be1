//! Events on our resources: one when the Ready reason changes, Warnings for what needs
//! a person. An Event that cannot be written never blocks a reconcile.

use kube::Resource;
use kube::runtime::events::{Event, EventType};

use crate::api::condition as c;
use crate::controller::Context;
use crate::controller::conditions;
use crate::controller::status::ObservedStatus;
use crate::controller::waiting::Waiting;

/// Publishes an Event when the Ready reason changes, with the new Ready message.
pub(crate) async fn announce<K, S>(ctx: &Context, resource: &K, old: Option<&S>, new: &S)
where
    K: Resource<DynamicType = ()>,
    S: ObservedStatus,
{
    let old_reason = old.and_then(|s| conditions::ready_reason(s.conditions()));
    let new_reason = conditions::ready_reason(new.conditions());
    if old_reason != new_reason {
        let message = new
            .conditions()
            .first()
            .map(|c| c.message.clone())
            .unwrap_or_default();
        let reason = new_reason.unwrap_or_default();
        publish(ctx, resource, event_type(reason), reason, message).await;
    }
}

/// The Event type of a Ready reason: Warning for what needs a person.
pub(crate) fn event_type(reason: &str) -> EventType {
    match reason {
        c::RESTORE_FAILED | c::BACKUP_FAILED => EventType::Warning,
        other => Waiting::from_reason(other).map_or(EventType::Normal, Waiting::event_type),
    }
}

/// Publishes an Event on a resource. An Event that cannot be written is logged, not
/// retried: it must never block a reconcile.
pub(crate) async fn publish<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    resource: &K,
    type_: EventType,
    reason: &str,
    note: String,
) {
    let event = Event {
        type_,
        reason: reason.to_string(),
        note: Some(note.chars().take(1024).collect()),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(error) = ctx
        .recorder
        .publish(&event, &resource.object_ref(&()))
        .await
    {
        tracing::warn!(%error, "could not publish an event");
    }
}
