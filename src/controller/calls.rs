//! Calls to the API shared by both kinds: each bounded in time; create-or-adopt for
//! what is made once (R1), server-side apply for what is kept as planned, and deletes.

use std::time::Duration;

use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, PropagationPolicy};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::constants::{FIELD_MANAGER, FINALIZER};
use crate::controller::error::{Call, Error, Result};
use crate::controller::metrics::ControllerMetrics;
use crate::controller::ownership;

/// How long any single API call may take.
pub(crate) const API_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs one API call within [`API_TIMEOUT`]; a failure says which call it was.
pub(crate) async fn timed<T>(
    call: Call,
    request: impl std::future::Future<Output = Result<T, kube::Error>>,
) -> Result<T> {
    match tokio::time::timeout(API_TIMEOUT, request).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(source)) => Err(Error::Api { call, source }),
        Err(_) => Err(Error::Timeout { call }),
    }
}

/// Runs one write to the API like [`timed`], and counts it in the metrics when it
/// succeeds.
pub(crate) async fn write<T>(
    metrics: &ControllerMetrics,
    call: Call,
    request: impl std::future::Future<Output = Result<T, kube::Error>>,
) -> Result<T> {
    let (verb, kind) = (call.verb, call.kind.clone());
    let answer = timed(call, request).await?;
    metrics.wrote(verb, &kind);
    Ok(answer)
}

/// `Ok(None)` for 404.
pub(crate) async fn get_opt<K>(api: &Api<K>, name: &str) -> Result<Option<K>>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    timed(Call::on::<K>("get", name), api.get_opt(name)).await
}

/// The objects of `list`.
pub(crate) async fn list<K>(api: &Api<K>, list: &ListParams) -> Result<Vec<K>>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let selector = list.label_selector.as_deref().unwrap_or("all");
    Ok(timed(Call::on::<K>("list", selector), api.list(list))
        .await?
        .items)
}

/// A JSON merge patch of one object under the operator's field manager: for a field of
/// a Job (made once, R1) or one to take away from whoever set it.
pub(crate) async fn merge_patch<K>(
    metrics: &ControllerMetrics,
    api: &Api<K>,
    name: &str,
    patch: serde_json::Value,
) -> Result<()>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    write(
        metrics,
        Call::on::<K>("patch", name),
        api.patch(name, &params, &Patch::Merge(patch)),
    )
    .await?;
    Ok(())
}

/// Removes our finalizer from `resource`, if it has it, by a JSON patch that tests it is
/// still where it was read (so no other finalizer is taken out by a concurrent change),
/// as kube's finalizer helper does for a deleted object. An object gone already is no
/// error. Returns whether a patch was sent.
pub(crate) async fn remove_finalizer<K>(
    metrics: &ControllerMetrics,
    api: &Api<K>,
    resource: &K,
) -> Result<bool>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let Some(index) = resource
        .meta()
        .finalizers
        .iter()
        .flatten()
        .position(|f| f == FINALIZER)
    else {
        return Ok(false);
    };
    let index = index.to_string();
    let path = json_patch::jsonptr::PointerBuf::from_tokens(["metadata", "finalizers", &index]);
    let patch = json_patch::Patch(vec![
        json_patch::PatchOperation::Test(json_patch::TestOperation {
            path: path.clone(),
            value: json!(FINALIZER),
        }),
        json_patch::PatchOperation::Remove(json_patch::RemoveOperation { path }),
    ]);
    let name = resource.meta().name.clone().unwrap_or_default();
    match write(
        metrics,
        Call::on::<K>("remove the finalizer of", &name),
        api.patch(&name, &PatchParams::default(), &Patch::Json::<()>(patch)),
    )
    .await
    {
        // Gone already: nothing holds it any more.
        Err(e) if e.status_code() == Some(404) => Ok(true),
        other => other.map(|_| true),
    }
}

/// Server-side apply of the labels the operator keeps on one of our resources; labels
/// it stops keeping are removed, everyone else's stay. With `precondition`, the write
/// only succeeds on that resourceVersion (409 Conflict otherwise): the labels are then
/// also a compare-and-swap of the whole object. Returns the resourceVersion it made.
pub(crate) async fn apply_labels<K>(
    metrics: &ControllerMetrics,
    api: &Api<K>,
    name: &str,
    labels: &std::collections::BTreeMap<String, String>,
    precondition: Option<&str>,
) -> Result<Option<String>>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut metadata = json!({"name": name, "labels": labels});
    if let Some(version) = precondition {
        metadata["resourceVersion"] = json!(version);
    }
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "metadata": metadata,
    });
    let written = write(
        metrics,
        Call::on::<K>("apply labels of", name),
        api.patch(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(body),
        ),
    )
    .await?;
    Ok(written.resource_version())
}

fn background() -> DeleteParams {
    DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..Default::default()
    }
}

/// What a create of a child came to.
pub(crate) enum Creation {
    Created,
    /// It existed already, made for the same owner: adopted, not made twice (R1).
    Adopted,
    /// An object of that name exists that is not the owner's: left alone.
    Taken(String),
}

/// Creates `object` for `owner`. AlreadyExists is adopted only when the existing object's
/// controller owner reference carries the owner's UID (R1); otherwise the name is taken.
pub(crate) async fn create_or_adopt<K, O>(
    metrics: &ControllerMetrics,
    api: &Api<K>,
    object: &K,
    owner: &O,
) -> Result<Creation>
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    O: Resource<DynamicType = ()>,
{
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    let name = object.name_any();
    match write(
        metrics,
        Call::on::<K>("create", &name),
        api.create(&params, object),
    )
    .await
    {
        Ok(_) => {
            tracing::info!(kind = K::kind(&()).as_ref(), %name, "created");
            Ok(Creation::Created)
        }
        Err(conflict) if conflict.status_code() == Some(409) => {
            let Some(existing) = get_opt(api, &name).await? else {
                // Deleted in between: the next reconcile decides afresh.
                return Err(conflict);
            };
            match taken_by_another(Some(&existing), owner) {
                None => {
                    tracing::info!(kind = K::kind(&()).as_ref(), %name, "already exists; adopted");
                    Ok(Creation::Adopted)
                }
                Some(message) => {
                    tracing::warn!(kind = K::kind(&()).as_ref(), %name, "{message}");
                    Ok(Creation::Taken(message))
                }
            }
        }
        Err(e) => Err(e),
    }
}

/// `Some(message)` when `existing` is there and is not `owner`'s child.
pub(crate) fn taken_by_another<K, O>(existing: Option<&K>, owner: &O) -> Option<String>
where
    K: Resource<DynamicType = ()>,
    O: Resource<DynamicType = ()>,
{
    existing
        .filter(|e| !ownership::is_child_of(*e, owner))
        .map(|e| ownership::conflict_message(e, &O::kind(&())))
}

/// Server-side apply under the operator's field manager.
pub(crate) async fn apply<K>(metrics: &ControllerMetrics, api: &Api<K>, object: &K) -> Result<()>
where
    K: Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let name = object.meta().name.clone().unwrap_or_default();
    let mut body = serde_json::to_value(object).map_err(|source| Error::Serialize {
        call: Call::on::<K>("apply", &name),
        source,
    })?;
    body["apiVersion"] = json!(K::api_version(&K::DynamicType::default()));
    body["kind"] = json!(K::kind(&K::DynamicType::default()));
    write(
        metrics,
        Call::on::<K>("apply", &name),
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(body),
        ),
    )
    .await?;
    Ok(())
}

/// Deletes one object with Background propagation; gone already is fine.
pub(crate) async fn delete<K>(metrics: &ControllerMetrics, api: &Api<K>, name: &str) -> Result<()>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    match write(
        metrics,
        Call::on::<K>("delete", name),
        api.delete(name, &background()),
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(gone) if gone.status_code() == Some(404) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Deletes, with Background propagation, the objects of `list` that the operator made
/// for one of `owner_uids`; returns them.
pub(crate) async fn delete_owned<K>(
    metrics: &ControllerMetrics,
    api: &Api<K>,
    selection: &ListParams,
    owner_uids: &[String],
) -> Result<Vec<K>>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let mut deleted = Vec::new();
    for object in list(api, selection).await? {
        let ours = owner_uids
            .iter()
            .any(|uid| ownership::is_ours(object.meta(), Some(uid)));
        if !ours {
            continue;
        }
        delete(metrics, api, &object.name_any()).await?;
        deleted.push(object);
    }
    Ok(deleted)
}
