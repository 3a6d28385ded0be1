//! What counts as the operator's own (R1, R4, R5): an object is a resource's child only
//! when its controller owner reference carries that resource's UID. A name or a label
//! alone proves nothing: an earlier object of the same name, or a user, may have made it.
//! No IO.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{Resource, ResourceExt};

use super::names::{LABEL_MANAGED_BY, MANAGED_BY};

/// The UID of the controller owner reference, if any.
pub fn controller_uid(meta: &ObjectMeta) -> Option<&str> {
    meta.owner_references
        .as_deref()?
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.as_str())
}

/// Whether `child` is controlled by the object with `owner_uid`.
pub fn is_controlled_by(child: &ObjectMeta, owner_uid: Option<&str>) -> bool {
    owner_uid.is_some_and(|uid| controller_uid(child) == Some(uid))
}

/// Whether `child` is controlled by `owner`.
pub fn is_child_of<C: Resource, O: Resource>(child: &C, owner: &O) -> bool {
    is_controlled_by(child.meta(), owner.meta().uid.as_deref())
}

/// Whether the operator made `object` for the owner with `owner_uid`: our managed-by
/// label and a controller reference to it. Cleanup deletes nothing else (R4).
pub fn is_ours(object: &ObjectMeta, owner_uid: Option<&str>) -> bool {
    object
        .labels
        .as_ref()
        .and_then(|l| l.get(LABEL_MANAGED_BY))
        .is_some_and(|v| v == MANAGED_BY)
        && is_controlled_by(object, owner_uid)
}

/// The message of a name conflict: which object is in the way, whose it is, and the
/// ways out.
pub fn conflict_message<C: Resource<DynamicType = ()>>(child: &C, owner_kind: &str) -> String {
    let holder = match child.meta().owner_references.as_deref().unwrap_or_default() {
        [] => "it has no owner".to_string(),
        refs => refs
            .iter()
            .map(|o| format!("it belongs to {} '{}' (uid {})", o.kind, o.name, o.uid))
            .collect::<Vec<_>>()
            .join(", "),
    };
    format!(
        "{} '{}' already exists and was not made for this {owner_kind} ({holder}); \
         it is left alone and nothing is run until it is gone: delete it, or create the \
         {owner_kind} under another name",
        C::kind(&()),
        child.name_any()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::names;
    use k8s_openapi::api::batch::v1::Job;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    fn owner(uid: &str, controller: bool) -> OwnerReference {
        OwnerReference {
            api_version: "kafkabackup.com/v1alpha1".into(),
            kind: "KafkaRestore".into(),
            name: "restore-orders".into(),
            uid: uid.into(),
            controller: Some(controller),
            block_owner_deletion: None,
        }
    }

    fn job(owners: Vec<OwnerReference>, managed: bool) -> Job {
        let mut job = Job::default();
        job.metadata.name = Some("restore-orders-restore-1".into());
        job.metadata.owner_references = Some(owners);
        if managed {
            job.metadata.labels = Some(names::restore_labels("restore-orders"));
        }
        job
    }

    #[test]
    fn r1_only_the_controller_reference_with_the_uid_makes_a_child() {
        let ours = job(vec![owner("uid-new", true)], true);
        assert!(is_controlled_by(&ours.metadata, Some("uid-new")));
        // An earlier restore of the same name left this Job behind.
        let earlier = job(vec![owner("uid-old", true)], true);
        assert!(!is_controlled_by(&earlier.metadata, Some("uid-new")));
        // A reference that is not the controller does not count.
        let weak = job(vec![owner("uid-new", false)], true);
        assert!(!is_controlled_by(&weak.metadata, Some("uid-new")));
        // A resource without a uid (not stored yet) owns nothing.
        assert!(!is_controlled_by(&ours.metadata, None));
    }

    #[test]
    fn r4_cleanup_needs_both_the_managed_by_label_and_the_owner() {
        assert!(is_ours(
            &job(vec![owner("u", true)], true).metadata,
            Some("u")
        ));
        // A user's object with our labels copied onto it.
        assert!(!is_ours(&job(vec![], true).metadata, Some("u")));
        // Owned by the resource but not made by the operator (no managed-by label).
        assert!(!is_ours(
            &job(vec![owner("u", true)], false).metadata,
            Some("u")
        ));
    }

    #[test]
    fn a_conflict_names_the_object_its_owner_and_the_way_out() {
        let message = conflict_message(&job(vec![owner("uid-old", true)], true), "KafkaRestore");
        assert!(
            message.contains("Job 'restore-orders-restore-1'"),
            "{message}"
        );
        assert!(message.contains("uid-old"), "{message}");
        assert!(message.contains("delete it"), "{message}");
        let orphan = conflict_message(&job(vec![], false), "KafkaRestore");
        assert!(orphan.contains("it has no owner"), "{orphan}");
    }
}
