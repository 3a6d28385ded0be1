use super::*;
use prometheus_client::registry::Registry;
use serde_json::json;

const NOW: &str = "2026-06-03T12:00:00Z";

fn backup(spec_extra: serde_json::Value, status: serde_json::Value) -> Arc<KafkaBackup> {
    let mut spec = json!({"kafka": {"bootstrapServers": "kafka:9092"},
                          "storage": {"type": "s3", "s3": {"bucket": "b"}}});
    spec.as_object_mut()
        .unwrap()
        .extend(spec_extra.as_object().unwrap().clone());
    Arc::new(
        serde_json::from_value(json!({
            "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaBackup",
            "metadata": {"name": "daily", "namespace": "kafka",
                         "creationTimestamp": "2026-06-01T00:00:00Z"},
            "spec": spec, "status": status,
        }))
        .unwrap(),
    )
}

fn restore(status: serde_json::Value) -> Arc<KafkaRestore> {
    Arc::new(
        serde_json::from_value(json!({
            "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaRestore",
            "metadata": {"name": "orders", "namespace": "staging"},
            "spec": {"kafka": {"bootstrapServers": "kafka:9092"}, "backupRef": {"name": "daily"}},
            "status": status,
        }))
        .unwrap(),
    )
}

fn ready(reason: &str) -> serde_json::Value {
    json!([{"type": "Ready", "status": "False", "reason": reason, "message": "",
            "lastTransitionTime": "2026-06-03T11:00:00Z"}])
}

/// The value of `metric` for the only resource that has it, or None.
fn value(all: &[Series], metric: &str) -> Option<f64> {
    let series = all.iter().find(|s| s.name == metric)?;
    assert_eq!(series.values.len(), 1, "{metric}");
    Some(series.values[0].1)
}

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

#[test]
fn a_failed_run_after_a_success_shows_both() {
    let status = json!({
        "lastBackup": {"jobName": "daily-3", "outcome": "Failed",
                       "startTime": "2026-06-03T03:00:00Z", "completionTime": "2026-06-03T03:01:00Z"},
        "backupHistory": [
            {"jobName": "daily-3", "outcome": "Failed", "completionTime": "2026-06-03T03:01:00Z"},
            {"jobName": "daily-2", "outcome": "Succeeded", "startTime": "2026-06-02T03:00:00Z",
             "completionTime": "2026-06-02T03:02:30Z", "records": 1500, "bytes": 2048},
            {"jobName": "daily-1", "outcome": "Succeeded", "startTime": "2026-06-01T03:00:00Z",
             "completionTime": "2026-06-01T03:01:00Z", "records": 10, "bytes": 20}],
        "nextScheduleTime": "2026-06-04T03:00:00Z",
        "conditions": ready("BackupFailed"),
    });
    let all = series(
        &[backup(json!({"schedule": {"cron": "0 3 * * *"}}), status)],
        &[],
        now(),
    );
    let day_two: Timestamp = "2026-06-02T03:02:30Z".parse().unwrap();
    assert_eq!(
        value(&all, "kafka_backup_last_success_timestamp_seconds"),
        Some(day_two.as_second() as f64)
    );
    assert_eq!(
        value(&all, "kafka_backup_last_success_duration_seconds"),
        Some(150.0)
    );
    assert_eq!(
        value(&all, "kafka_backup_last_success_records"),
        Some(1500.0)
    );
    assert_eq!(value(&all, "kafka_backup_last_success_bytes"), Some(2048.0));
    assert_eq!(value(&all, "kafka_backup_last_run_failed"), Some(1.0));
    assert_eq!(value(&all, "kafka_backup_running"), Some(0.0));
    assert_eq!(
        value(&all, "kafka_backup_schedule_interval_seconds"),
        Some(86_400.0)
    );
    let next: Timestamp = "2026-06-04T03:00:00Z".parse().unwrap();
    assert_eq!(
        value(&all, "kafka_backup_next_run_timestamp_seconds"),
        Some(next.as_second() as f64)
    );
}

#[test]
fn a_backup_that_never_ran_has_its_creation_time_and_no_success() {
    let all = series(
        &[backup(
            json!({"schedule": {"cron": "0 3 * * 1-5", "suspend": false}}),
            json!({"conditions": ready("BackupScheduled")}),
        )],
        &[],
        now(),
    );
    let created: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
    assert_eq!(
        value(&all, "kafka_backup_created_timestamp_seconds"),
        Some(created.as_second() as f64)
    );
    assert_eq!(
        value(&all, "kafka_backup_last_success_timestamp_seconds"),
        None
    );
    assert_eq!(value(&all, "kafka_backup_last_run_failed"), None);
    // Weekdays only: the longest gap is Friday to Monday.
    assert_eq!(
        value(&all, "kafka_backup_schedule_interval_seconds"),
        Some(3.0 * 86_400.0)
    );
}

#[test]
fn a_suspended_or_one_shot_backup_has_no_interval() {
    let suspended = backup(
        json!({"schedule": {"cron": "0 3 * * *", "suspend": true}}),
        json!({}),
    );
    let one_shot = backup(json!({}), json!({"conditions": ready("BackupRunning")}));
    assert_eq!(
        value(
            &series(&[suspended], &[], now()),
            "kafka_backup_schedule_interval_seconds"
        ),
        None
    );
    let all = series(&[one_shot], &[], now());
    assert_eq!(value(&all, "kafka_backup_schedule_interval_seconds"), None);
    assert_eq!(value(&all, "kafka_backup_running"), Some(1.0));
}

#[test]
fn a_restore_shows_its_state_and_attempt() {
    let running = restore(json!({
        "conditions": ready("RestoreRunning"),
        "restore": {"jobName": "orders-restore-2", "attempt": 2, "startTime": "2026-06-03T10:00:00Z",
                    "progress": {"records": 250, "bytes": 2500, "totalRecords": 1000, "percent": 25,
                                 "lastProgressTime": "2026-06-03T11:00:00Z"}},
    }));
    let all = series(&[], &[running], now());
    assert_eq!(value(&all, "kafka_restore_progress_ratio"), Some(0.25));
    assert_eq!(value(&all, "kafka_restore_records_written"), Some(250.0));
    assert_eq!(value(&all, "kafka_restore_bytes_written"), Some(2500.0));
    let progressed: Timestamp = "2026-06-03T11:00:00Z".parse().unwrap();
    assert_eq!(
        value(&all, "kafka_restore_last_progress_timestamp_seconds"),
        Some(progressed.as_second() as f64)
    );
    assert_eq!(value(&all, "kafka_restore_running"), Some(1.0));
    assert_eq!(value(&all, "kafka_restore_completed"), Some(0.0));
    assert_eq!(value(&all, "kafka_restore_failed"), Some(0.0));
    assert_eq!(value(&all, "kafka_restore_attempt"), Some(2.0));
    let failed = restore(json!({"conditions": ready("RestoreFailed"),
                                "restore": {"jobName": "orders-restore-1", "attempt": 1,
                                            "startTime": "2026-06-03T10:00:00Z"}}));
    let all = series(&[], &[failed], now());
    // Never read while it ran: its start stands for the last progress.
    let started: Timestamp = "2026-06-03T10:00:00Z".parse().unwrap();
    assert_eq!(
        value(&all, "kafka_restore_last_progress_timestamp_seconds"),
        Some(started.as_second() as f64)
    );
    assert_eq!(value(&all, "kafka_restore_progress_ratio"), None);
    assert_eq!(value(&all, "kafka_restore_failed"), Some(1.0));
    assert_eq!(value(&all, "kafka_restore_running"), Some(0.0));
}

/// A store that has had its first listing, holding `objects`.
fn store<K>(objects: Vec<Arc<K>>) -> Store<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    let (store, mut writer) = kube::runtime::reflector::store();
    writer.apply_watcher_event(&kube::runtime::watcher::Event::Init);
    for object in objects {
        writer.apply_watcher_event(&kube::runtime::watcher::Event::InitApply((*object).clone()));
    }
    writer.apply_watcher_event(&kube::runtime::watcher::Event::InitDone);
    store
}

fn scrape(registry: &Registry) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
    text
}

#[test]
fn scrapes_read_the_caches_only_while_attached_and_a_deleted_resource_leaves_no_series() {
    let caches = ResourceCaches::default();
    let mut registry = Registry::default();
    registry.register_collector(Box::new(caches.clone()));
    assert!(!scrape(&registry).contains("kafka_"), "standby: no series");

    let (backups, mut writer) = kube::runtime::reflector::store();
    writer.apply_watcher_event(&kube::runtime::watcher::Event::Init);
    let daily = backup(json!({"schedule": {"cron": "0 3 * * *"}}), json!({}));
    writer.apply_watcher_event(&kube::runtime::watcher::Event::InitApply((*daily).clone()));
    writer.apply_watcher_event(&kube::runtime::watcher::Event::InitDone);
    caches.attach(
        backups,
        store(vec![restore(
            json!({"conditions": ready("RestoreCompleted")}),
        )]),
    );
    let text = scrape(&registry);
    assert!(
        text.contains("# TYPE kafka_backup_schedule_interval_seconds gauge"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"kafka_backup_schedule_interval_seconds{namespace="kafka",name="daily"} 86400"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"kafka_restore_completed{namespace="staging",name="orders"} 1"#),
        "{text}"
    );

    writer.apply_watcher_event(&kube::runtime::watcher::Event::Delete((*daily).clone()));
    let text = scrape(&registry);
    assert!(!text.contains("kafka_backup_"), "{text}");
    assert!(text.contains("kafka_restore_completed"), "{text}");

    caches.detach();
    assert!(!scrape(&registry).contains("kafka_"));
}
