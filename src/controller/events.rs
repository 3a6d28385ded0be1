//! Events on our resources: one when the Ready reason changes, Warnings for what needs
//! a person. An Event that cannot be written never blocks a reconcile.

use kube::Resource;
use kube::runtime::events::{Event, EventType};

use crate::controller::Context;
use crate::controller::conditions::Announcement;

/// Publishes the Event a plan announces, if any.
pub(crate) async fn announce<K: Resource<DynamicType = ()>>(
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
        publish(ctx, resource, type_, &a.reason, a.message.clone()).await;
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
