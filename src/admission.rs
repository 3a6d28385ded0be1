//! The admission policy for KafkaBackup and KafkaRestore: binds the pure policy to the
//! generic admission server. Reading the request and deciding; no IO.

use admission_server::{AdmissionRequest, Decision, DynamicObject, Operation, Policy};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::api::{KafkaBackup, KafkaRestore};
use crate::constants::{API_GROUP, FINALIZER};
use crate::policy::{self, Review};

/// The operator's admission policy: defaults on `/mutate`, rules on `/validate`.
#[derive(Clone, Copy, Debug, Default)]
pub struct KafkaBackupPolicy;

/// The kinds this policy admits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Backup,
    Restore,
}

impl Kind {
    fn of(request: &AdmissionRequest<DynamicObject>) -> Result<Self, Decision> {
        let gvk = &request.kind;
        match (gvk.group.as_str(), gvk.kind.as_str()) {
            (API_GROUP, "KafkaBackup") => Ok(Kind::Backup),
            (API_GROUP, "KafkaRestore") => Ok(Kind::Restore),
            (group, kind) => Err(Decision::bad_request(format!(
                "this webhook admits {API_GROUP} KafkaBackup and KafkaRestore, not {}/{kind}; check the rules of the webhook configuration",
                if group.is_empty() { "core" } else { group }
            ))),
        }
    }
}

/// Whether the request is one the policy leaves alone: deletes, connects, and writes to
/// subresources such as status.
fn passes_through(request: &AdmissionRequest<DynamicObject>) -> bool {
    matches!(request.operation, Operation::Delete | Operation::Connect)
        || request
            .sub_resource
            .as_deref()
            .is_some_and(|s| !s.is_empty())
}

/// Reads an object of the request into its type; the error names the field. Reads
/// `spec` and `status` where they lie instead of re-serializing the whole object.
pub fn typed<K>(object: &DynamicObject) -> Result<K, String>
where
    K: Resource<DynamicType = ()> + HasSpecAndStatus,
{
    let field = |name: &str| object.data.get(name).unwrap_or(&Value::Null);
    let spec: K::Spec = from_ref(field("spec")).map_err(|e| format!("spec{e}"))?;
    if let Some(unknown) = unknown_passed_through(field("spec"), &spec).first() {
        return Err(unknown.clone());
    }
    let status = match field("status") {
        Value::Null => None,
        status => Some(from_ref(status).map_err(|e| format!("status{e}"))?),
    };
    Ok(K::assemble(object.metadata.clone(), spec, status))
}

/// Fields of the Kubernetes objects the CRD passes through (`template.pod.affinity`,
/// ...) that their Kubernetes types do not have: the schema keeps them, reading drops
/// them, so they are refused instead of ignored.
pub fn unknown_passed_through<S: serde::Serialize>(sent: &Value, spec: &S) -> Vec<String> {
    let Ok(read) = serde_json::to_value(spec) else {
        return Vec::new();
    };
    let mut unknown = Vec::new();
    for path in crate::api::PASSED_THROUGH {
        let (Some(sent), Some(read)) = (sent.pointer(path), read.pointer(path)) else {
            continue;
        };
        for operation in json_patch::diff(sent, read).0 {
            if let json_patch::PatchOperation::Remove(remove) = operation {
                let field = format!("{path}{}", remove.path).replace('/', ".");
                unknown.push(format!(
                    "spec{field}: unknown field; check its spelling against the Kubernetes type"
                ));
            }
        }
    }
    unknown
}

/// Deserializes from a borrowed JSON value; the error starts with the failing path
/// (`.backoffLimit: ...`) or is the bare message at the top.
fn from_ref<'a, T: serde::Deserialize<'a>>(value: &'a Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            format!(": {}", e.inner())
        } else {
            format!(".{path}: {}", e.inner())
        }
    })
}

/// The two kinds, put together from their parts.
pub trait HasSpecAndStatus: Sized {
    type Spec: DeserializeOwned + serde::Serialize;
    type Status: DeserializeOwned;
    fn assemble(metadata: ObjectMeta, spec: Self::Spec, status: Option<Self::Status>) -> Self;
}

impl HasSpecAndStatus for KafkaBackup {
    type Spec = crate::api::KafkaBackupSpec;
    type Status = crate::api::KafkaBackupStatus;
    fn assemble(metadata: ObjectMeta, spec: Self::Spec, status: Option<Self::Status>) -> Self {
        KafkaBackup {
            metadata,
            spec,
            status,
        }
    }
}

impl HasSpecAndStatus for KafkaRestore {
    type Spec = crate::api::KafkaRestoreSpec;
    type Status = crate::api::KafkaRestoreStatus;
    fn assemble(metadata: ObjectMeta, spec: Self::Spec, status: Option<Self::Status>) -> Self {
        KafkaRestore {
            metadata,
            spec,
            status,
        }
    }
}

/// Deserializes a JSON value, naming the failing field in the error.
pub fn from_value<K: DeserializeOwned>(value: Value) -> Result<K, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.inner().to_string()
        } else {
            format!("{path}: {}", e.inner())
        }
    })
}

impl Policy for KafkaBackupPolicy {
    fn mutate(&self, request: &AdmissionRequest<DynamicObject>) -> Decision {
        let kind = match Kind::of(request) {
            Ok(kind) => kind,
            Err(decision) => return decision,
        };
        if passes_through(request) {
            return Decision::allow();
        }
        let Some(object) = &request.object else {
            return Decision::bad_request("the request has no object to default");
        };
        // Earlier spellings are rewritten first (the schema would refuse them), then the
        // defaults are filled in: one patch from what was sent to both.
        let sent = spec_of(object.data.get("spec").unwrap_or(&Value::Null));
        let mut converted = object.clone();
        let warnings = match (kind, converted.data.get_mut("spec")) {
            (Kind::Restore, Some(spec)) => crate::api::mapping::convert_map_form(spec)
                .into_iter()
                .collect(),
            _ => Vec::new(),
        };
        // An object that does not fit the schema is left for the API server's schema
        // validation, which runs after mutation and reports every bad field.
        let defaults = match kind {
            Kind::Backup => typed::<KafkaBackup>(&converted).map(|mut b| {
                let before = spec_of(&b.spec);
                policy::default_backup(&mut b.spec);
                json_patch::diff(&before, &spec_of(&b.spec))
            }),
            Kind::Restore => typed::<KafkaRestore>(&converted).map(|mut r| {
                let before = spec_of(&r.spec);
                policy::default_restore(&mut r.spec);
                json_patch::diff(&before, &spec_of(&r.spec))
            }),
        };
        let mut after = spec_of(converted.data.get("spec").unwrap_or(&Value::Null));
        // The defaults only add fields the object lacks, so their patch applies to the
        // object as sent just as to its typed reading (and on error changes nothing).
        let mut sent = sent;
        if let Ok(patch) = defaults {
            let _ = json_patch::patch(&mut after, &patch);
            if matches!(request.operation, Operation::Create) {
                add_finalizer(&object.metadata, &mut sent, &mut after);
            }
        }
        Decision::mutated(&sent, &after).with_warnings(warnings)
    }

    fn validate(&self, request: &AdmissionRequest<DynamicObject>) -> Decision {
        let kind = match Kind::of(request) {
            Ok(kind) => kind,
            Err(decision) => return decision,
        };
        if passes_through(request) {
            return Decision::allow();
        }
        let Some(object) = &request.object else {
            return Decision::bad_request("the request has no object to validate");
        };
        let update = matches!(request.operation, Operation::Update);
        match kind {
            Kind::Backup => {
                review_object::<KafkaBackup>(object, request, update, |old, new| match old {
                    Some(old) => policy::validate_backup_update(old, new),
                    None => policy::validate_backup(new),
                })
            }
            Kind::Restore => {
                review_object::<KafkaRestore>(object, request, update, |old, new| match old {
                    Some(old) => policy::validate_restore_update(old, new),
                    None => policy::validate_restore(new),
                })
            }
        }
    }
}

/// The operator's finalizer, on a new object that lacks it, after the others it has:
/// added here, the controller's first reconcile finds it and makes no request for it.
/// Only on create: a finalizer a user removed later is not put back.
fn add_finalizer(metadata: &ObjectMeta, sent: &mut Value, after: &mut Value) {
    let finalizers = metadata.finalizers.as_deref().unwrap_or_default();
    if finalizers.iter().any(|f| f == FINALIZER) {
        return;
    }
    let mut with = finalizers.to_vec();
    with.push(FINALIZER.to_string());
    sent["metadata"] = match &metadata.finalizers {
        Some(finalizers) => json!({ "finalizers": finalizers }),
        None => json!({}),
    };
    after["metadata"] = json!({ "finalizers": with });
}

/// Wraps a spec as `{"spec": ...}` so a diff yields paths under `/spec`.
fn spec_of<S: serde::Serialize>(spec: &S) -> Value {
    json!({ "spec": spec })
}

fn review_object<K>(
    object: &DynamicObject,
    request: &AdmissionRequest<DynamicObject>,
    update: bool,
    rules: impl Fn(Option<&K>, &K) -> Review,
) -> Decision
where
    K: HasSpecAndStatus + Resource<DynamicType = ()>,
{
    let new: K = match typed(object) {
        Ok(new) => new,
        Err(error) => {
            return Decision::deny(format!("{} is invalid: {error}", describe::<K>(request)));
        }
    };
    // An old object that no longer reads under today's types gets create rules only.
    let old: Option<K> = if update {
        request.old_object.as_ref().and_then(|o| typed(o).ok())
    } else {
        None
    };
    verdict(rules(old.as_ref(), &new), &describe::<K>(request))
}

fn describe<K: Resource<DynamicType = ()>>(request: &AdmissionRequest<DynamicObject>) -> String {
    format!("{} '{}'", K::kind(&()), request.name)
}

/// Turns a review into the webhook's answer.
pub fn verdict(review: Review, what: &str) -> Decision {
    let decision = if review.is_allowed() {
        Decision::allow()
    } else {
        Decision::deny(format!("{what} is invalid: {}", review.denial_message()))
    };
    decision.with_warnings(review.warnings)
}
