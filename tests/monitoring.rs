//! The monitoring of manifests/monitoring/: its alert rules pass `promtool test rules`
//! (tests/monitoring/rules.test.yaml), and the rules and the Grafana dashboard use only
//! series the operator exports, read from a scrape of its metrics registry holding a
//! backup and a restore of every state. The e2e suite checks the same series on an
//! operator reconciling real backups and restores.

use std::collections::BTreeSet;
use std::path::Path;

use kafka_backup_operator::api::{KafkaBackup, KafkaRestore};
use kafka_backup_operator::controller::metrics::ControllerMetrics;
use kube::runtime::{reflector, watcher};
use prometheus_client::registry::Registry;
use serde_json::{Value, json};

#[path = "support/kustomize.rs"]
mod kustomize;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A store that has had its first listing, holding `objects`.
fn store<K>(objects: Vec<Value>) -> reflector::Store<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + 'static,
{
    let (store, mut writer) = reflector::store();
    writer.apply_watcher_event(&watcher::Event::Init);
    for object in objects {
        writer.apply_watcher_event(&watcher::Event::InitApply(
            serde_json::from_value(object).unwrap(),
        ));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    store
}

fn ready(reason: &str) -> Value {
    json!([{"type": "Ready", "status": "False", "reason": reason, "message": "",
            "lastTransitionTime": "2026-06-03T11:00:00Z"}])
}

/// The metric families of a scrape of the operator's registry while it leads, with a
/// scheduled backup that succeeded then failed, and a running restore.
fn exported() -> BTreeSet<String> {
    let mut registry = Registry::default();
    let metrics = ControllerMetrics::register(&mut registry);
    metrics.leading(true);
    let backup = json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaBackup",
        "metadata": {"name": "daily", "namespace": "kafka", "creationTimestamp": "2026-06-01T00:00:00Z"},
        "spec": {"kafka": {"bootstrapServers": "kafka:9092"}, "schedule": {"cron": "0 3 * * *"},
                 "storage": {"type": "s3", "s3": {"bucket": "b"}}},
        "status": {
            "conditions": ready("BackupFailed"),
            "lastBackup": {"jobName": "daily-2", "outcome": "Failed", "completionTime": "2026-06-03T03:01:00Z"},
            "backupHistory": [{"jobName": "daily-1", "outcome": "Succeeded", "startTime": "2026-06-02T03:00:00Z",
                               "completionTime": "2026-06-02T03:02:00Z", "records": 10, "bytes": 100}],
            "nextScheduleTime": "2026-06-04T03:00:00Z"
        }
    });
    let restore = json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaRestore",
        "metadata": {"name": "orders", "namespace": "staging"},
        "spec": {"kafka": {"bootstrapServers": "kafka:9092"}, "backupRef": {"name": "daily"}},
        "status": {"conditions": ready("RestoreRunning"),
                   "restore": {"jobName": "orders-restore-1", "attempt": 1,
                               "startTime": "2026-06-03T10:00:00Z",
                               "progress": {"records": 250, "bytes": 2500, "totalRecords": 1000,
                                            "percent": 25, "measuredTime": "2026-06-03T10:10:00Z",
                                            "lastProgressTime": "2026-06-03T10:10:00Z"}}}
    });
    metrics.resources.attach(
        store::<KafkaBackup>(vec![backup]),
        store::<KafkaRestore>(vec![restore]),
    );
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// The names of the operator's series (`kafka_...`) in a PromQL expression.
fn series_in(expr: &str) -> BTreeSet<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|token| token.starts_with("kafka_"))
        .map(str::to_string)
        .collect()
}

fn rule_groups() -> Value {
    let rule: Value = serde_yaml::from_str(&read("manifests/monitoring/prometheus-rule.yaml"))
        .expect("the PrometheusRule is YAML");
    assert_eq!(rule["kind"], "PrometheusRule");
    rule["spec"].clone()
}

#[test]
fn the_alert_rules_use_only_series_the_operator_exports() {
    let exported = exported();
    let groups = rule_groups();
    let mut alerts = Vec::new();
    for rule in groups["groups"][0]["rules"].as_array().unwrap() {
        let expr = rule["expr"].as_str().unwrap();
        let used = series_in(expr);
        assert!(!used.is_empty(), "{expr}");
        for name in used {
            assert!(
                exported.contains(&name),
                "alert {} uses {name}, which the operator does not export: {exported:?}",
                rule["alert"]
            );
        }
        alerts.push(rule["alert"].as_str().unwrap().to_string());
    }
    for wanted in [
        "KafkaBackupMissed",
        "KafkaBackupFailed",
        "KafkaRestoreFailed",
        "KafkaRestoreStalled",
        "KafkaBackupOperatorNotLeading",
    ] {
        assert!(alerts.iter().any(|a| a == wanted), "{wanted} in {alerts:?}");
    }
}

#[test]
fn the_dashboard_is_json_and_plots_only_series_the_operator_exports() {
    let exported = exported();
    let dashboard: Value =
        serde_json::from_str(&read("manifests/monitoring/dashboard.json")).expect("JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut plotted = BTreeSet::new();
    for panel in panels {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("a PromQL target");
            let used = series_in(expr);
            assert!(!used.is_empty(), "panel {}: {expr}", panel["title"]);
            for name in &used {
                assert!(
                    exported.contains(name),
                    "panel {} plots {name}, which the operator does not export",
                    panel["title"]
                );
            }
            plotted.extend(used);
        }
    }
    // What the dashboard is for: backups per namespace, the age of the last success,
    // records and bytes per run, restore progress.
    for wanted in [
        "kafka_backup_created_timestamp_seconds",
        "kafka_backup_last_success_timestamp_seconds",
        "kafka_backup_last_success_records",
        "kafka_backup_last_success_bytes",
        "kafka_restore_progress_ratio",
    ] {
        assert!(plotted.contains(wanted), "{wanted} in {plotted:?}");
    }
    // Its variables query a series the operator exports too.
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    for variable in variables.iter().filter(|v| v["type"] == "query") {
        for name in series_in(variable["definition"].as_str().unwrap()) {
            assert!(exported.contains(&name), "{name}");
        }
    }
}

#[test]
fn the_alert_rules_pass_their_promtool_tests() {
    let promtool = std::process::Command::new("promtool")
        .arg("--version")
        .output();
    if promtool.is_err() {
        assert!(
            std::env::var_os("KAFKA_BACKUP_REQUIRE_PROMTOOL").is_none(),
            "promtool is required (Debian's prometheus package ships it)"
        );
        eprintln!("skipped: promtool not found (Debian's prometheus package ships it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.yaml"),
        serde_yaml::to_string(&rule_groups()).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("rules.test.yaml"),
        read("tests/monitoring/rules.test.yaml"),
    )
    .unwrap();
    let out = std::process::Command::new("promtool")
        .args(["test", "rules", "rules.test.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool test rules failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn kustomize_renders_the_monitor_the_rules_and_the_dashboard_configmap() {
    let objects = kustomize::render("manifests/monitoring");
    let kinds: BTreeSet<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["ConfigMap", "PodMonitor", "PrometheusRule"])
    );
    let dashboard = objects.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    assert_eq!(dashboard["metadata"]["labels"]["grafana_dashboard"], "1");
    let json: Value = serde_json::from_str(
        dashboard["data"]["kafka-backup-operator.json"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["uid"], "kafka-backup-operator");
    let monitor = objects.iter().find(|o| o["kind"] == "PodMonitor").unwrap();
    let endpoint = &monitor["spec"]["podMetricsEndpoints"][0];
    assert_eq!(
        (&endpoint["port"], &endpoint["path"], &endpoint["scheme"]),
        (&json!("https"), &json!("/metrics"), &json!("https"))
    );
}
