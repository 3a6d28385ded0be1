//! The install manifests: `kubectl kustomize` renders them (the same engine as
//! `kubectl apply -k`), and the webhook configurations, Deployment and RBAC say what the
//! design requires.

use serde_json::Value;

#[path = "support/kustomize.rs"]
mod kustomize;
use kustomize::render;

fn find<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn r7_webhooks_fail_closed_without_side_effects_on_both_kinds() {
    let objects = render("manifests");
    for (kind, path) in [
        ("MutatingWebhookConfiguration", "/mutate"),
        ("ValidatingWebhookConfiguration", "/validate"),
    ] {
        let webhook = &find(&objects, kind)["webhooks"][0];
        assert_eq!(webhook["failurePolicy"], "Fail", "{kind}");
        assert_eq!(webhook["sideEffects"], "None", "{kind}");
        assert_eq!(
            webhook["admissionReviewVersions"],
            serde_json::json!(["v1"]),
            "{kind}"
        );
        assert_eq!(webhook["matchPolicy"], "Equivalent", "{kind}");
        assert!(webhook["timeoutSeconds"].as_i64().unwrap() <= 10, "{kind}");
        assert_eq!(webhook["clientConfig"]["service"]["path"], path);
        let rule = &webhook["rules"][0];
        assert_eq!(rule["operations"], serde_json::json!(["CREATE", "UPDATE"]));
        assert_eq!(
            rule["resources"],
            serde_json::json!(["kafkabackups", "kafkarestores"])
        );
        assert_eq!(rule["apiGroups"], serde_json::json!(["kafkabackup.com"]));
    }
}

#[test]
fn deployment_runs_restricted_with_probes_and_the_tls_secret() {
    let objects = render("manifests");
    let pod = &find(&objects, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let container = &pod["containers"][0];
    let security = &container["securityContext"];
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert!(container["resources"]["limits"]["memory"].is_string());
    assert_eq!(
        pod["volumes"][0]["secret"]["secretName"],
        "kafka-backup-operator-webhook-tls"
    );
}

#[test]
fn rbac_never_reads_secrets() {
    let objects = render("manifests");
    for role in objects
        .iter()
        .filter(|o| o["kind"] == "ClusterRole" || o["kind"] == "Role")
    {
        for rule in role["rules"].as_array().unwrap() {
            let resources = rule["resources"].as_array().unwrap();
            assert!(
                !resources.iter().any(|r| r == "secrets" || r == "*"),
                "{rule}"
            );
            assert!(
                !rule["verbs"].as_array().unwrap().iter().any(|v| v == "*"),
                "{rule}"
            );
        }
    }
}

#[test]
fn cert_manager_overlay_issues_the_secret_and_injects_the_ca() {
    let objects = render("manifests/cert-manager");
    let certificate = find(&objects, "Certificate");
    assert_eq!(
        certificate["spec"]["secretName"],
        "kafka-backup-operator-webhook-tls"
    );
    assert_eq!(
        certificate["spec"]["dnsNames"][0],
        "kafka-backup-operator-webhook.kafka-backup-operator.svc"
    );
    for kind in [
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    ] {
        assert_eq!(
            find(&objects, kind)["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
            "kafka-backup-operator/kafka-backup-operator-webhook"
        );
    }
}

#[test]
fn rbac_grants_what_the_controller_uses() {
    let objects = render("manifests");
    let role = find(&objects, "ClusterRole");
    let allows = |group: &str, resource: &str, verb: &str| {
        role["rules"].as_array().unwrap().iter().any(|rule| {
            rule["apiGroups"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g == group)
                && rule["resources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r == resource)
                && rule["verbs"].as_array().unwrap().iter().any(|v| v == verb)
        })
    };
    for (group, resource, verb) in [
        ("kafkabackup.com", "kafkarestores", "watch"),
        ("kafkabackup.com", "kafkarestores", "patch"),
        ("kafkabackup.com", "kafkarestores/status", "patch"),
        ("kafkabackup.com", "kafkabackups", "get"),
        ("kafkabackup.com", "kafkarestores", "list"),
        ("batch", "jobs", "get"),
        ("batch", "jobs", "create"),
        ("batch", "jobs", "patch"),
        ("batch", "jobs", "delete"),
        ("batch", "cronjobs", "list"),
        ("batch", "cronjobs", "patch"),
        ("batch", "cronjobs", "delete"),
        ("", "pods", "get"),
        ("", "pods", "list"),
        ("", "pods", "delete"),
        ("", "persistentvolumeclaims", "get"),
        ("", "persistentvolumeclaims", "create"),
        ("", "persistentvolumeclaims", "delete"),
        ("", "configmaps", "get"),
        ("", "configmaps", "list"),
        ("", "configmaps", "patch"),
        ("", "configmaps", "delete"),
        ("kafka.strimzi.io", "kafkas", "get"),
        ("events.k8s.io", "events", "create"),
        ("", "namespaces", "list"),
        ("", "namespaces", "watch"),
    ] {
        assert!(
            allows(group, resource, verb),
            "missing {verb} on {group}/{resource}"
        );
    }
    let lease_role = objects.iter().find(|o| o["kind"] == "Role").unwrap();
    assert_eq!(
        lease_role["rules"][0]["resources"],
        serde_json::json!(["leases"])
    );
}

/// The operator's own ServiceAccount, as the API server names it in `userInfo`.
const OPERATOR_USER: &str = "system:serviceaccount:kafka-backup-operator:kafka-backup-operator";

#[test]
fn r7_webhooks_skip_the_operators_own_writes_where_the_server_can() {
    let objects = render("manifests");
    for kind in [
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    ] {
        let conditions = &find(&objects, kind)["webhooks"][0]["matchConditions"];
        let expression = conditions[0]["expression"].as_str().unwrap_or_default();
        assert!(
            expression.contains(OPERATOR_USER) && expression.contains("!="),
            "{kind}: {conditions}"
        );
    }
    // The service account named there is the one the Deployment runs as.
    let deployment = find(&objects, "Deployment");
    assert_eq!(
        format!(
            "system:serviceaccount:{}:{}",
            deployment["metadata"]["namespace"].as_str().unwrap(),
            deployment["spec"]["template"]["spec"]["serviceAccountName"]
                .as_str()
                .unwrap()
        ),
        OPERATOR_USER
    );
}

#[test]
fn kubernetes_1_26_overlay_is_the_base_without_match_conditions() {
    let base = render("manifests");
    let old = render("manifests/kubernetes-1.26");
    assert_eq!(base.len(), old.len(), "the same objects");
    for kind in [
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    ] {
        let mut webhook = find(&base, kind).clone();
        webhook["webhooks"][0]
            .as_object_mut()
            .unwrap()
            .remove("matchConditions");
        assert_eq!(find(&old, kind), &webhook, "{kind}");
    }
}

/// The operator's container in `objects`' Deployment.
fn operator_container(objects: &[Value]) -> &Value {
    find(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "operator")
        .expect("a container named `operator`: the operator reads its image by that name")
}

#[test]
fn every_install_names_the_released_image_of_this_version() {
    let released = format!(
        "ghcr.io/kafka-backup-operator/kafka-backup-operator:{}",
        env!("CARGO_PKG_VERSION")
    );
    for dir in [
        "manifests",
        "manifests/cert-manager",
        "manifests/kubernetes-1.26",
    ] {
        let objects = render(dir);
        let container = operator_container(&objects);
        assert_eq!(container["image"], released.as_str(), "{dir}");
        let env = container["env"].as_array().unwrap();
        let names: Vec<&str> = env.iter().filter_map(|e| e["name"].as_str()).collect();
        assert!(
            !names.contains(&"KAFKA_BACKUP_WORKER_IMAGE"),
            "{dir}: a fixed worker image would not follow the operator's"
        );
        assert!(
            names.contains(&"POD_NAME") && names.contains(&"POD_NAMESPACE"),
            "{dir}"
        );
    }
}

#[test]
fn a_users_kustomize_image_moves_the_operator_image() {
    // What `kustomize edit set image` writes, in an overlay of the user's own.
    let objects = kustomize::render_overlay(
        "resources: [{repo}/manifests]\nimages:\n  - name: ghcr.io/kafka-backup-operator/kafka-backup-operator\n    newName: registry.example.com/platform/kafka-backup-operator\n    newTag: 0.1.0-rc1\n",
    );
    assert_eq!(
        operator_container(&objects)["image"],
        "registry.example.com/platform/kafka-backup-operator:0.1.0-rc1"
    );
}
