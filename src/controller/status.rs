//! Writing the status of either kind, only when it changed (R3), by server-side apply
//! under the operator's field manager.

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::constants::FIELD_MANAGER;
use crate::controller::Context;
use crate::controller::calls::write;
use crate::controller::error::Call;
use crate::controller::error::Result;

/// Applies `new` as the status of `resource` unless it equals `old` (R3: an unchanged
/// status is not written again). What the operator no longer sets leaves the status.
pub(crate) async fn write_status<K, S>(
    ctx: &Context,
    resource: &K,
    old: Option<&S>,
    new: &S,
) -> Result<()>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    S: PartialEq + serde::Serialize,
{
    if old == Some(new) {
        return Ok(());
    }
    let api: Api<K> = Api::namespaced(
        ctx.client.clone(),
        &resource.namespace().unwrap_or_default(),
    );
    let name = resource.name_any();
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": new,
    });
    write(
        &ctx.metrics,
        Call::on::<K>("apply status of", &name),
        api.patch_status(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(body),
        ),
    )
    .await?;
    Ok(())
}
