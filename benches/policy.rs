//! Policy evaluation per admission request: parse the AdmissionReview, then default
//! (`/mutate`) or validate (`/validate`), as the webhook does for every request.

use admission_server::{AdmissionRequest, AdmissionReview, DynamicObject, Policy};
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use kafka_backup_operator::admission::KafkaBackupPolicy;
use serde_json::{Value, json};

fn example(name: &str) -> Value {
    let path = format!("{}/manifests/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn body(operation: &str, object: &Value, old: Option<&Value>) -> Vec<u8> {
    let kind = object["kind"].as_str().unwrap();
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "bench", "operation": operation, "name": object["metadata"]["name"], "namespace": "kafka",
            "kind": {"group": "kafkabackup.com", "version": "v1alpha1", "kind": kind},
            "resource": {"group": "kafkabackup.com", "version": "v1alpha1", "resource": "x"},
            "userInfo": {"username": "bench"}, "object": object, "oldObject": old, "dryRun": false
        }
    }))
    .unwrap()
}

fn parse(body: &[u8]) -> AdmissionRequest<DynamicObject> {
    let review: AdmissionReview<DynamicObject> = serde_json::from_slice(body).unwrap();
    review.try_into().unwrap()
}

fn policy(c: &mut Criterion) {
    let policy = KafkaBackupPolicy;
    let restore = example("restore-to-staging.yaml");
    let backup = example("backup-to-minio.yaml");
    let mut started = restore.clone();
    started["status"] = json!({"restore": {"jobName": "orders-to-staging-1", "attempt": 1}});
    let mut paused = started.clone();
    paused["spec"]["enabled"] = json!(true);

    let cases = [
        (
            "mutate/restore-create",
            body("CREATE", &restore, None),
            true,
        ),
        (
            "validate/restore-create",
            body("CREATE", &restore, None),
            false,
        ),
        ("mutate/backup-create", body("CREATE", &backup, None), true),
        (
            "validate/backup-create",
            body("CREATE", &backup, None),
            false,
        ),
        (
            "validate/restore-update-started",
            body("UPDATE", &paused, Some(&started)),
            false,
        ),
    ];
    for (name, body, mutate) in cases {
        c.bench_function(name, |b| {
            b.iter(|| {
                let request = parse(black_box(&body));
                if mutate {
                    black_box(policy.mutate(&request))
                } else {
                    black_box(policy.validate(&request))
                }
            })
        });
    }
}

criterion_group!(benches, policy);
criterion_main!(benches);
