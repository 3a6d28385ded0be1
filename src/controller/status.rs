//! Writing the status of either kind, only when it changed (R3), by server-side apply
//! under the operator's field manager.

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::constants::FIELD_MANAGER;
use crate::controller::Context;
use crate::controller::calls::write;
use crate::controller::error::Call;
use crate::controller::error::{Error, Result};
use crate::controller::restore::progress::PROGRESS_MANAGER;

/// Applies `new` as the status of `resource` unless it equals `old` (R3: an unchanged
/// status is not written again). What the operator no longer sets leaves the status.
/// Returns the resourceVersion the write made, when it wrote.
pub(crate) async fn write_status<K, S>(
    ctx: &Context,
    resource: &K,
    old: Option<&S>,
    new: &S,
) -> Result<Option<String>>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    S: PartialEq + serde::Serialize,
{
    if old == Some(new) {
        return Ok(None);
    }
    let api: Api<K> = Api::namespaced(
        ctx.client.clone(),
        &resource.namespace().unwrap_or_default(),
    );
    let name = resource.name_any();
    if let Some(manager) = foreign_status_manager(resource) {
        // Another manager's status fields (strimzi-backup-operator's, on a resource it
        // managed) would stay beside ours under server-side apply and contradict them:
        // the whole status is replaced once, in one request (never left empty, which
        // could let a restore another operator started run again).
        tracing::info!(%name, %manager, "replacing the status another manager wrote");
        let replace = json_patch::Patch(vec![json_patch::PatchOperation::Add(
            json_patch::AddOperation {
                path: json_patch::jsonptr::PointerBuf::from_tokens(["status"]),
                value: serde_json::to_value(new).map_err(|source| Error::Serialize {
                    call: Call::on::<K>("replace the status another manager wrote of", &name),
                    source,
                })?,
            },
        )]);
        let written = write(
            &ctx.metrics,
            Call::on::<K>("replace the status another manager wrote of", &name),
            api.patch_status(
                &name,
                &PatchParams {
                    field_manager: Some(FIELD_MANAGER.to_string()),
                    ..Default::default()
                },
                &Patch::Json::<()>(replace),
            ),
        )
        .await?;
        ctx.own_writes.wrote(resource, &[]);
        return Ok(written.resource_version());
    }
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": new,
    });
    let written = write(
        &ctx.metrics,
        Call::on::<K>("apply status of", &name),
        api.patch_status(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(body),
        ),
    )
    .await?;
    ctx.own_writes.wrote(resource, &[]);
    Ok(written.resource_version())
}

/// Whether `entry` is another manager's (not the reconcilers', not the progress
/// reader's) of the status subresource.
pub(crate) fn is_foreign_status_entry(
    entry: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry,
) -> bool {
    entry.subresource.as_deref() == Some("status")
        && !matches!(
            entry.manager.as_deref(),
            Some(FIELD_MANAGER) | Some(PROGRESS_MANAGER)
        )
}

/// A field manager other than the operator's that owns fields of the status.
fn foreign_status_manager<K: Resource>(resource: &K) -> Option<String> {
    resource
        .meta()
        .managed_fields
        .iter()
        .flatten()
        .find(|entry| is_foreign_status_entry(entry))
        .map(|entry| entry.manager.clone().unwrap_or_default())
}
