//! The Helm chart (charts/kafka-backup-operator) installs what `manifests/` installs:
//! `helm template` of each set of values is compared, object by object, with `kubectl
//! kustomize` of the matching kustomization, so the two installs cannot drift. The only
//! differences allowed are Helm's own labels and the Namespace (Helm makes it with
//! `--create-namespace`). `helm lint --strict` passes, and every value lands where it
//! says.
//!
//! helm comes from the Go module proxy (`go install helm.sh/helm/v3/cmd/helm@v3.22.0`,
//! which `.ci/run` does); without it the rendering tests skip, unless
//! KAFKA_BACKUP_REQUIRE_HELM is set.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

#[path = "support/kustomize.rs"]
mod kustomize;

const CHART: &str = "charts/kafka-backup-operator";
const NAMESPACE: &str = "kafka-backup-operator";
/// Helm's labels, on every object of the chart besides the selector label of manifests/.
const HELM_LABELS: [&str; 4] = [
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
];

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn helm_found() -> bool {
    if Command::new("helm").arg("version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("KAFKA_BACKUP_REQUIRE_HELM").is_none(),
        "helm is required: go install helm.sh/helm/v3/cmd/helm@v3.22.0"
    );
    eprintln!("skipped: helm not found (go install helm.sh/helm/v3/cmd/helm@v3.22.0)");
    false
}

/// `helm template` of the chart in `namespace` with `args`; the error text when it fails.
fn try_template(namespace: &str, args: &[&str]) -> Result<Vec<Value>, String> {
    let output = Command::new("helm")
        .args(["template", "kbo"])
        .arg(repo(CHART))
        .args(["--namespace", namespace, "--include-crds"])
        .args(args)
        .output()
        .expect("helm runs");
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let text = String::from_utf8(output.stdout).unwrap();
    Ok(serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|o: &Value| !o.is_null())
        .collect())
}

fn template(namespace: &str, args: &[&str]) -> Vec<Value> {
    try_template(namespace, args).unwrap_or_else(|e| panic!("helm template {args:?}: {e}"))
}

/// `minimum: 0.0` and `minimum: 0` are the same number to the API server; kustomize
/// writes the one, helm keeps the other.
fn normalize_numbers(value: &mut Value) {
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && n.is_f64()) {
                *value = json!(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_numbers),
        Value::Object(map) => map.values_mut().for_each(normalize_numbers),
        _ => {}
    }
}

fn find<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

fn key(object: &Value) -> String {
    format!(
        "{} {} {}/{}",
        object["apiVersion"].as_str().unwrap_or_default(),
        object["kind"].as_str().unwrap_or_default(),
        object["metadata"]["namespace"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// Removes Helm's labels from `labels`, after checking that each is there with its value.
fn strip_helm_labels(labels: &mut Value, what: &str) {
    let labels = labels
        .as_object_mut()
        .unwrap_or_else(|| panic!("{what} has no labels"));
    let expected = [
        "kbo".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
        "Helm".to_string(),
        format!("kafka-backup-operator-{}", env!("CARGO_PKG_VERSION")),
    ];
    for (name, value) in HELM_LABELS.iter().zip(expected) {
        assert_eq!(
            labels.remove(*name),
            Some(Value::String(value)),
            "{what}: label {name}"
        );
    }
}

/// The chart's objects with Helm's labels checked and removed, by key.
fn chart_objects(objects: Vec<Value>) -> BTreeMap<String, Value> {
    objects
        .into_iter()
        .map(|mut object| {
            let key = key(&object);
            if object["kind"] != "CustomResourceDefinition" {
                strip_helm_labels(&mut object["metadata"]["labels"], &key);
            }
            if object["kind"] == "Deployment" {
                strip_helm_labels(
                    &mut object["spec"]["template"]["metadata"]["labels"],
                    &format!("{key}: pod template"),
                );
            }
            (key, object)
        })
        .collect()
}

/// kustomize's objects by key, less the Namespace.
fn kustomize_objects(objects: Vec<Value>) -> BTreeMap<String, Value> {
    let mut objects: BTreeMap<String, Value> = objects.into_iter().map(|o| (key(&o), o)).collect();
    let namespace = objects
        .remove(&format!("v1 Namespace /{NAMESPACE}"))
        .expect("manifests/ makes the operator's Namespace");
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted",
        "the README tells Helm users to set this label themselves"
    );
    objects
}

fn assert_same(
    mut helm: BTreeMap<String, Value>,
    mut kustomize: BTreeMap<String, Value>,
    what: &str,
) {
    helm.values_mut().for_each(normalize_numbers);
    kustomize.values_mut().for_each(normalize_numbers);
    let helm_keys: Vec<&String> = helm.keys().collect();
    let kustomize_keys: Vec<&String> = kustomize.keys().collect();
    assert_eq!(helm_keys, kustomize_keys, "{what}: the objects differ");
    for (key, object) in &helm {
        assert!(
            object == &kustomize[key],
            "{what}: {key} differs\nhelm:\n{}\nkustomize:\n{}",
            serde_yaml::to_string(object).unwrap(),
            serde_yaml::to_string(&kustomize[key]).unwrap()
        );
    }
}

fn compare(helm_args: &[&str], kustomize: Vec<Value>, what: &str) {
    assert_same(
        chart_objects(template(NAMESPACE, helm_args)),
        kustomize_objects(kustomize),
        what,
    );
}

#[test]
fn the_default_chart_installs_what_manifests_installs() {
    if !helm_found() {
        return;
    }
    compare(
        &["--kube-version", "1.33.0"],
        kustomize::render("manifests"),
        "default values on 1.33",
    );
    // matchConditions forced on, whatever the version.
    compare(
        &[
            "--kube-version",
            "1.26.0",
            "--set",
            "webhooks.matchConditions=true",
        ],
        kustomize::render("manifests"),
        "matchConditions=true on 1.26",
    );
}

#[test]
fn on_kubernetes_1_26_and_1_27_the_chart_is_the_1_26_variant() {
    if !helm_found() {
        return;
    }
    for version in ["1.26.0", "1.27.9"] {
        compare(
            &["--kube-version", version],
            kustomize::render("manifests/kubernetes-1.26"),
            version,
        );
    }
    // 1.28 is the first with matchConditions.
    compare(
        &["--kube-version", "1.28.0"],
        kustomize::render("manifests"),
        "1.28",
    );
    compare(
        &[
            "--kube-version",
            "1.33.0",
            "--set",
            "webhooks.matchConditions=false",
        ],
        kustomize::render("manifests/kubernetes-1.26"),
        "matchConditions=false on 1.33",
    );
}

#[test]
fn with_cert_manager_the_chart_is_the_cert_manager_overlay() {
    if !helm_found() {
        return;
    }
    compare(
        &[
            "--kube-version",
            "1.33.0",
            "--set",
            "certManager.enabled=true",
        ],
        kustomize::render("manifests/cert-manager"),
        "certManager.enabled",
    );
    // What the README tells a 1.26 user with cert-manager to write.
    compare(
        &[
            "--kube-version",
            "1.26.0",
            "--set",
            "certManager.enabled=true",
        ],
        kustomize::render_overlay(
            "resources: [{repo}/manifests/cert-manager]\ncomponents: [{repo}/manifests/components/without-match-conditions]\n",
        ),
        "certManager.enabled on 1.26",
    );
}

#[test]
fn with_monitoring_the_chart_adds_manifests_monitoring() {
    if !helm_found() {
        return;
    }
    let mut kustomize = kustomize::render("manifests");
    kustomize.extend(kustomize::render("manifests/monitoring"));
    compare(
        &[
            "--kube-version",
            "1.33.0",
            "--set",
            "monitoring.enabled=true",
        ],
        kustomize,
        "monitoring.enabled",
    );
    // Each part can be left out.
    for (part, kind) in [
        ("podMonitor", "PodMonitor"),
        ("prometheusRule", "PrometheusRule"),
        ("dashboard", "ConfigMap"),
    ] {
        let objects = template(
            NAMESPACE,
            &[
                "--set",
                "monitoring.enabled=true",
                "--set",
                &format!("monitoring.{part}.enabled=false"),
                "--kube-version",
                "1.33.0",
            ],
        );
        let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
        assert!(!kinds.contains(&kind), "{part} off: {kinds:?}");
        let monitoring = ["PodMonitor", "PrometheusRule", "ConfigMap"];
        assert_eq!(
            kinds.iter().filter(|k| monitoring.contains(k)).count(),
            2,
            "{part} off leaves the other two: {kinds:?}"
        );
    }
}

/// Every string in `value`, with the key it sits under.
fn strings<'a>(value: &'a Value, key: &str, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::String(s) => out.push((key.to_string(), s)),
        Value::Array(items) => items.iter().for_each(|v| strings(v, key, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| strings(v, k, out)),
        _ => {}
    }
}

#[test]
fn installed_in_another_namespace_everything_follows_it() {
    if !helm_found() {
        return;
    }
    let objects = template(
        "team-ops",
        &[
            "--kube-version",
            "1.33.0",
            "--set",
            "certManager.enabled=true",
            "--set",
            "monitoring.enabled=true",
        ],
    );
    for object in &objects {
        let what = key(object);
        let kind = object["kind"].as_str().unwrap();
        let cluster_scoped = [
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ];
        if !cluster_scoped.contains(&kind) {
            assert_eq!(object["metadata"]["namespace"], "team-ops", "{what}");
        }
        // No reference to the default namespace is left anywhere.
        let mut found = Vec::new();
        strings(object, "", &mut found);
        for (key, text) in found {
            let names_default = (key == "namespace" && text == NAMESPACE)
                || text.contains(".kafka-backup-operator.svc")
                || text.contains("serviceaccount:kafka-backup-operator:")
                || text.starts_with("kafka-backup-operator/");
            assert!(
                !names_default,
                "{what}: {key}: {text:?} names the default namespace"
            );
        }
    }
    for kind in [
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    ] {
        let webhook = &find(&objects, kind)["webhooks"][0];
        assert_eq!(
            webhook["namespaceSelector"]["matchExpressions"][0]["values"],
            json!(["team-ops"])
        );
        assert_eq!(webhook["clientConfig"]["service"]["namespace"], "team-ops");
        assert_eq!(
            webhook["matchConditions"][0]["expression"],
            "request.userInfo.username != \"system:serviceaccount:team-ops:kafka-backup-operator\""
        );
        assert_eq!(
            find(&objects, kind)["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
            "team-ops/kafka-backup-operator-webhook"
        );
    }
    assert_eq!(
        find(&objects, "ClusterRoleBinding")["subjects"][0]["namespace"],
        "team-ops"
    );
    assert_eq!(
        find(&objects, "Certificate")["spec"]["dnsNames"],
        json!([
            "kafka-backup-operator-webhook.team-ops.svc",
            "kafka-backup-operator-webhook.team-ops.svc.cluster.local"
        ])
    );
    assert_eq!(
        find(&objects, "PodMonitor")["spec"]["podMetricsEndpoints"][0]["tlsConfig"]["serverName"],
        "kafka-backup-operator-webhook.team-ops.svc"
    );
}

#[test]
fn every_value_lands_where_it_says() {
    if !helm_found() {
        return;
    }
    let objects = template(
        NAMESPACE,
        &[
            "--kube-version",
            "1.33.0",
            "--set",
            "image.repository=registry.example.com/platform/kbo",
            "--set",
            "image.tag=0.1.0-rc1",
            "--set",
            "image.pullPolicy=Always",
            "--set",
            "imagePullSecrets[0].name=registry",
            "--set",
            "replicas=1",
            "--set",
            "resources.requests.cpu=200m",
            "--set",
            "resources.limits.memory=1Gi",
            "--set",
            "watchNamespace=kafka",
            "--set",
            "logLevel=debug",
            "--set",
            "kubeApiQps=50",
            "--set",
            "maxConcurrentReconciles=4",
            "--set",
            "nodeSelector.pool=system",
            "--set",
            "tolerations[0].key=dedicated",
            "--set",
            "tolerations[0].operator=Exists",
            "--set",
            "podAnnotations.team=platform",
            "--set",
            "tls.secretName=my-webhook-tls",
            "--set",
            "webhooks.caBundle=Q0E=",
            "--set",
            "monitoring.enabled=true",
        ],
    );
    let deployment = find(&objects, "Deployment");
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert!(
        !objects.iter().any(|o| o["kind"] == "PodDisruptionBudget"),
        "one replica with minAvailable 1 would block every node drain"
    );
    let pod = &deployment["spec"]["template"];
    assert_eq!(pod["metadata"]["annotations"], json!({"team": "platform"}));
    let spec = &pod["spec"];
    assert_eq!(spec["imagePullSecrets"], json!([{"name": "registry"}]));
    assert_eq!(spec["nodeSelector"], json!({"pool": "system"}));
    assert_eq!(
        spec["tolerations"],
        json!([{"key": "dedicated", "operator": "Exists"}])
    );
    assert_eq!(spec["volumes"][0]["secret"]["secretName"], "my-webhook-tls");
    let container = &spec["containers"][0];
    assert_eq!(
        container["image"],
        "registry.example.com/platform/kbo:0.1.0-rc1"
    );
    assert_eq!(container["imagePullPolicy"], "Always");
    assert_eq!(
        container["resources"],
        json!({"requests": {"cpu": "200m", "memory": "64Mi"}, "limits": {"memory": "1Gi"}})
    );
    let env: BTreeMap<&str, &Value> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), &e["value"]))
        .collect();
    assert_eq!(env["KAFKA_BACKUP_WATCH_NAMESPACE"], "kafka");
    assert_eq!(env["RUST_LOG"], "debug");
    assert_eq!(env["KAFKA_BACKUP_KUBE_API_QPS"], "50");
    assert_eq!(env["KAFKA_BACKUP_MAX_CONCURRENT_RECONCILES"], "4");
    for kind in [
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    ] {
        assert_eq!(
            find(&objects, kind)["webhooks"][0]["clientConfig"]["caBundle"],
            "Q0E="
        );
    }
    assert_eq!(
        find(&objects, "PodMonitor")["spec"]["podMetricsEndpoints"][0]["tlsConfig"]["ca"]["secret"]
            ["name"],
        "my-webhook-tls"
    );
    // The operator reads these variables under these names.
    let help = Command::new(env!("CARGO_BIN_EXE_kafka-backup-operator"))
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for name in env.keys().filter(|n| n.starts_with("KAFKA_BACKUP_")) {
        assert!(help.contains(name), "`run --help` does not know {name}");
    }
    // The defaults set none of the optional variables: the operator's own defaults hold.
    let defaults = template(NAMESPACE, &["--kube-version", "1.33.0"]);
    let deployment = find(&defaults, "Deployment");
    let names: Vec<&str> = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    for optional in [
        "KAFKA_BACKUP_WATCH_NAMESPACE",
        "KAFKA_BACKUP_KUBE_API_QPS",
        "KAFKA_BACKUP_MAX_CONCURRENT_RECONCILES",
    ] {
        assert!(!names.contains(&optional), "{optional} set by default");
    }
}

#[test]
fn contradictory_or_unknown_values_are_refused_with_the_way_out() {
    if !helm_found() {
        return;
    }
    // values.schema.json: a wrong type, a bad choice, and a key the chart does not have
    // (strimzi-backup-operator's `watchNamespaces`) are refused naming the value, never
    // ignored.
    for (value, named) in [
        (
            "webhooks.matchConditions=maybe",
            "/webhooks/matchConditions",
        ),
        ("replicas=two", "/replicas"),
        ("replicas=0", "/replicas"),
        ("kubeApiQps=-1", "/kubeApiQps"),
        ("image.pullPolicy=Sometimes", "/image/pullPolicy"),
        ("watchNamespaces[0]=kafka", "'watchNamespaces' not allowed"),
        (
            "monitoring.podmonitor.enabled=true",
            "'podmonitor' not allowed",
        ),
    ] {
        let error = try_template(NAMESPACE, &["--kube-version", "1.33.0", "--set", value])
            .expect_err(value);
        assert!(
            error.contains("don't meet the specifications of the schema") && error.contains(named),
            "{value}: {error}"
        );
    }
    let error = try_template(
        NAMESPACE,
        &[
            "--kube-version",
            "1.33.0",
            "--set",
            "certManager.enabled=true",
            "--set",
            "webhooks.caBundle=Q0E=",
        ],
    )
    .expect_err("caBundle with cert-manager");
    assert!(error.contains("leave webhooks.caBundle empty"), "{error}");
    let error =
        try_template(NAMESPACE, &["--kube-version", "1.25.0"]).expect_err("Kubernetes 1.25");
    assert!(error.contains(">=1.26.0-0"), "{error}");
}

#[test]
fn helm_lint_passes() {
    if !helm_found() {
        return;
    }
    for args in [
        vec![],
        vec![
            "--set",
            "certManager.enabled=true",
            "--set",
            "monitoring.enabled=true",
        ],
    ] {
        let output = Command::new("helm")
            .args(["lint", "--strict"])
            .arg(repo(CHART))
            .args(&args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "helm lint {args:?}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Files the chart carries as copies (a chart cannot read outside its directory); `make
/// generate` writes them.
#[test]
fn the_charts_copies_are_current() {
    for (copy, original) in [
        ("crds/crds.yaml", "manifests/crds/crds.yaml"),
        (
            "files/dashboard.json",
            "manifests/monitoring/dashboard.json",
        ),
        (
            "files/prometheus-rule.yaml",
            "manifests/monitoring/prometheus-rule.yaml",
        ),
    ] {
        let copy_path = repo(CHART).join(copy);
        assert!(
            std::fs::read(&copy_path).unwrap() == std::fs::read(repo(original)).unwrap(),
            "{} is stale: run `make generate` and commit the result",
            copy_path.display()
        );
    }
    let chart: Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo(CHART).join("Chart.yaml")).unwrap())
            .unwrap();
    assert_eq!(chart["appVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(chart["version"], env!("CARGO_PKG_VERSION"));
}
