//! The admission webhook over real TLS on 127.0.0.1: AdmissionReview v1 requests for
//! every operation, patches applied with json-patch, bad requests, metrics, header
//! timeouts and certificate rotation while serving.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Settings, TestServer, example, patch_of, review, write_certs};

fn allowed(answer: &Value) -> bool {
    answer["response"]["allowed"]
        .as_bool()
        .expect("allowed is a boolean")
}

fn message(answer: &Value) -> &str {
    answer["response"]["status"]["message"]
        .as_str()
        .unwrap_or_default()
}

/// Applies the mutating webhook's patch as the API server would.
async fn defaulted(server: &TestServer, object: &Value) -> Value {
    let (status, answer) = server
        .review("/mutate", &review("CREATE", Some(object), None, false))
        .await;
    assert_eq!(status, 200);
    assert!(allowed(&answer));
    let mut patched = object.clone();
    json_patch::patch(&mut patched, &patch_of(&answer)).expect("patch applies");
    patched
}

#[tokio::test]
async fn r2_mutate_fills_restore_defaults_and_a_second_pass_is_empty() {
    let server = TestServer::start().await;
    let restore = json!({
        "apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaRestore",
        "metadata": {"name": "restore-orders", "namespace": "kafka"},
        "spec": {"strimziClusterRef": {"name": "my-cluster"}, "backupRef": {"name": "daily-backup"}}
    });
    let (status, answer) = server
        .review("/mutate", &review("CREATE", Some(&restore), None, false))
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(answer["kind"], "AdmissionReview");
    assert_eq!(answer["response"]["uid"], "uid-CREATE-restore-orders");
    let patch = patch_of(&answer);
    let paths: Vec<String> = patch
        .0
        .iter()
        .map(|op| {
            serde_json::to_value(op).unwrap()["path"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(!paths.is_empty());
    // The defaults, and the operator's finalizer (see the test of the finalizer below).
    assert!(
        paths
            .iter()
            .all(|p| p.starts_with("/spec/") || p == "/metadata/finalizers"),
        "{paths:?}"
    );

    let mut patched = restore.clone();
    json_patch::patch(&mut patched, &patch).unwrap();
    let spec = &patched["spec"];
    assert_eq!(spec["backoffLimit"], 0);
    assert_eq!(spec["enabled"], true);
    assert_eq!(spec["purgeTopics"], false);
    assert_eq!(spec["dryRun"], false);
    assert_eq!(spec["report"]["size"], "1Gi");
    assert_eq!(spec["topics"]["include"], json!(["*"]));
    // What the user wrote is untouched.
    assert_eq!(spec["backupRef"], json!({"name": "daily-backup"}));

    let (_, again) = server
        .review("/mutate", &review("CREATE", Some(&patched), None, false))
        .await;
    assert!(allowed(&again));
    assert!(
        again["response"]["patch"].is_null(),
        "second pass must not patch: {again}"
    );
    server.stop().await;
}

#[tokio::test]
async fn r4_a_created_object_gets_the_finalizer_after_its_others_and_an_update_never() {
    let server = TestServer::start().await;
    let mut restore = example("restore-orders.yaml");
    let created = defaulted(&server, &restore).await;
    assert_eq!(
        created["metadata"]["finalizers"],
        json!(["kafkabackup.com/cleanup"])
    );
    restore["metadata"]["finalizers"] = json!(["example.com/keep-me"]);
    let created = defaulted(&server, &restore).await;
    assert_eq!(
        created["metadata"]["finalizers"],
        json!(["example.com/keep-me", "kafkabackup.com/cleanup"])
    );
    // Already there: not added twice (the second pass above sends no patch at all).
    let again = defaulted(&server, &created).await;
    assert_eq!(
        again["metadata"]["finalizers"],
        created["metadata"]["finalizers"]
    );
    // An update, a user who took the finalizer off included: left as it is.
    let mut backup = defaulted(&server, &example("daily-backup.yaml")).await;
    backup["metadata"]["finalizers"] = json!([]);
    let (status, answer) = server
        .review(
            "/mutate",
            &review("UPDATE", Some(&backup), Some(&backup), false),
        )
        .await;
    assert_eq!(status, 200);
    assert!(allowed(&answer));
    assert!(answer["response"]["patch"].is_null(), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn seed_examples_are_defaulted_and_admitted() {
    let server = TestServer::start().await;
    let backup = defaulted(&server, &example("daily-backup.yaml")).await;
    assert_eq!(
        backup["spec"]["backoffLimit"], 1,
        "an explicit backoffLimit is kept"
    );
    assert_eq!(backup["spec"]["schedule"]["timeZone"], "Etc/UTC");
    let (_, answer) = server
        .review("/validate", &review("CREATE", Some(&backup), None, false))
        .await;
    assert!(allowed(&answer), "{answer}");

    let restore = defaulted(&server, &example("restore-orders.yaml")).await;
    assert_eq!(restore["spec"]["backoffLimit"], 2);
    let (_, answer) = server
        .review("/validate", &review("CREATE", Some(&restore), None, false))
        .await;
    assert!(allowed(&answer), "{answer}");
    let warnings = answer["response"]["warnings"]
        .as_array()
        .expect("a warning");
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .starts_with("spec.backoffLimit"),
        "{warnings:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn r7_invalid_create_is_denied_naming_the_field() {
    let server = TestServer::start().await;
    let mut backup = example("daily-backup.yaml");
    backup["spec"]["schedule"]["cron"] = json!("0 2 * *");
    backup["spec"]["backoffLimit"] = json!(-1);
    let (status, answer) = server
        .review("/validate", &review("CREATE", Some(&backup), None, false))
        .await;
    assert_eq!(status, 200);
    assert!(!allowed(&answer));
    assert_eq!(answer["response"]["uid"], "uid-CREATE-daily-backup");
    assert_eq!(answer["response"]["status"]["code"], 403);
    let text = message(&answer);
    assert!(
        text.starts_with("KafkaBackup 'daily-backup' is invalid: "),
        "{text}"
    );
    assert!(text.contains("spec.backoffLimit: is -1"), "{text}");
    assert!(text.contains("spec.schedule.cron:"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn r7_a_field_of_the_wrong_type_is_left_to_schema_on_mutate_and_named_on_validate() {
    let server = TestServer::start().await;
    let mut restore = example("restore-orders.yaml");
    restore["spec"]["backoffLimit"] = json!("three");
    let (_, answer) = server
        .review("/mutate", &review("CREATE", Some(&restore), None, false))
        .await;
    assert!(allowed(&answer));
    assert!(answer["response"]["patch"].is_null());
    let (_, answer) = server
        .review("/validate", &review("CREATE", Some(&restore), None, false))
        .await;
    assert!(!allowed(&answer));
    assert!(
        message(&answer).contains("spec.backoffLimit: invalid type"),
        "{}",
        message(&answer)
    );
    server.stop().await;
}

fn started(mut restore: Value) -> Value {
    restore["status"] = json!({"restore": {"jobName": "restore-orders-1", "attempt": 1}});
    restore
}

fn completed(restore: Value) -> Value {
    let mut restore = started(restore);
    restore["status"]["conditions"] = json!([{
        "type": "RestoreComplete", "status": "True", "reason": "RestoreCompleted",
        "message": "done", "lastTransitionTime": "2026-01-01T00:00:00Z"
    }]);
    restore
}

#[tokio::test]
async fn r7_updates_of_started_and_completed_restores() {
    let server = TestServer::start().await;
    let manifest = example("restore-orders.yaml");
    let stored_started = started(defaulted(&server, &manifest).await);
    let stored_completed = completed(defaulted(&server, &manifest).await);

    for stored in [&stored_started, &stored_completed] {
        // Metadata only: a label and the finalizer go away.
        let mut relabelled = stored.clone();
        relabelled["metadata"]["labels"] = json!({"team": "payments"});
        relabelled["metadata"]["finalizers"] = json!([]);
        let (_, answer) = server
            .review(
                "/validate",
                &review("UPDATE", Some(&relabelled), Some(stored), false),
            )
            .await;
        assert!(allowed(&answer), "metadata-only: {answer}");

        // GitOps re-apply of the manifest as written: defaulted fields are absent.
        let mut reapplied = manifest.clone();
        reapplied["status"] = stored["status"].clone();
        let (_, answer) = server
            .review(
                "/validate",
                &review("UPDATE", Some(&reapplied), Some(stored), false),
            )
            .await;
        assert!(allowed(&answer), "re-apply: {answer}");

        // A real change to the spec.
        let mut changed = stored.clone();
        changed["spec"]["backupRef"]["name"] = json!("weekly-backup");
        let (_, answer) = server
            .review(
                "/validate",
                &review("UPDATE", Some(&changed), Some(stored), false),
            )
            .await;
        assert!(!allowed(&answer));
        assert!(
            message(&answer).contains("spec.backupRef"),
            "{}",
            message(&answer)
        );
        assert!(
            message(&answer).contains("delete it and create a new one"),
            "{}",
            message(&answer)
        );
    }

    // Pausing is the one change a started restore takes; a completed one refuses it.
    let mut paused = stored_started.clone();
    paused["spec"]["enabled"] = json!(false);
    let (_, answer) = server
        .review(
            "/validate",
            &review("UPDATE", Some(&paused), Some(&stored_started), false),
        )
        .await;
    assert!(allowed(&answer), "{answer}");
    let mut paused = stored_completed.clone();
    paused["spec"]["enabled"] = json!(false);
    let (_, answer) = server
        .review(
            "/validate",
            &review("UPDATE", Some(&paused), Some(&stored_completed), false),
        )
        .await;
    assert!(!allowed(&answer));
    assert!(
        message(&answer).contains("has completed"),
        "{}",
        message(&answer)
    );
    server.stop().await;
}

#[tokio::test]
async fn deletes_and_status_writes_always_pass() {
    let server = TestServer::start().await;
    let stored = completed(example("restore-orders.yaml"));
    let (_, answer) = server
        .review("/validate", &review("DELETE", None, Some(&stored), false))
        .await;
    assert!(allowed(&answer));
    assert_eq!(answer["response"]["uid"], "uid-DELETE-restore-orders");
    let (_, answer) = server
        .review("/mutate", &review("DELETE", None, Some(&stored), false))
        .await;
    assert!(allowed(&answer));

    let mut changed = stored.clone();
    changed["spec"]["dryRun"] = json!(true);
    let mut status_write = review("UPDATE", Some(&changed), Some(&stored), false);
    status_write["request"]["subResource"] = json!("status");
    let (_, answer) = server.review("/validate", &status_write).await;
    assert!(allowed(&answer));
    server.stop().await;
}

#[tokio::test]
async fn r7_dry_run_gets_the_same_answers() {
    let server = TestServer::start().await;
    let restore = example("restore-orders.yaml");
    for path in ["/mutate", "/validate"] {
        let (_, real) = server
            .review(path, &review("CREATE", Some(&restore), None, false))
            .await;
        let (_, dry) = server
            .review(path, &review("CREATE", Some(&restore), None, true))
            .await;
        assert_eq!(real, dry, "{path}");
    }
    let mut bad = restore.clone();
    bad["spec"]["backoffLimit"] = json!(-5);
    let (_, dry) = server
        .review("/validate", &review("CREATE", Some(&bad), None, true))
        .await;
    assert!(!allowed(&dry));
    server.stop().await;
}

#[tokio::test]
async fn r10_malformed_requests_get_400_with_a_message_and_the_uid_when_known() {
    let server = TestServer::start().await;
    let client = server.client();

    let response = client
        .post(server.url("/validate"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    assert!(!allowed(&answer));
    assert!(message(&answer).contains("not JSON"), "{answer}");

    let missing = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "abc-123", "operation": "CREATE"}});
    let response = client
        .post(server.url("/mutate"))
        .json(&missing)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["response"]["uid"], "abc-123");
    assert!(
        message(&answer).contains("malformed AdmissionReview"),
        "{answer}"
    );

    let mut old_version = review("CREATE", Some(&example("restore-orders.yaml")), None, false);
    old_version["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let response = client
        .post(server.url("/validate"))
        .json(&old_version)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["response"]["uid"], "uid-CREATE-restore-orders");
    assert!(
        message(&answer).contains("admissionReviewVersions"),
        "{answer}"
    );

    let no_request = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"});
    let response = client
        .post(server.url("/validate"))
        .json(&no_request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    server.stop().await;
}

#[tokio::test]
async fn r10_wrong_kind_is_refused_with_its_uid() {
    let server = TestServer::start().await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "kafka"}, "spec": {}});
    let mut request = review("CREATE", Some(&pod), None, false);
    request["request"]["kind"] = json!({"group": "", "version": "v1", "kind": "Pod"});
    for path in ["/mutate", "/validate"] {
        let (status, answer) = server.review(path, &request).await;
        assert_eq!(status, 200);
        assert!(!allowed(&answer));
        assert_eq!(answer["response"]["uid"], "uid-CREATE-p");
        assert_eq!(answer["response"]["status"]["code"], 400);
        assert!(message(&answer).contains("not core/Pod"), "{answer}");
    }
    server.stop().await;
}

#[tokio::test]
async fn r10_oversized_bodies_are_refused() {
    let server = TestServer::start_with(Settings {
        body_limit: 16 * 1024,
        ..Default::default()
    })
    .await;
    let mut restore = example("restore-orders.yaml");
    restore["metadata"]["annotations"] = json!({"big": "x".repeat(32 * 1024)});
    let response = server
        .client()
        .post(server.url("/validate"))
        .json(&review("CREATE", Some(&restore), None, false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let answer: Value = response.json().await.unwrap();
    assert!(!allowed(&answer));
    assert!(!message(&answer).is_empty());
    // The server goes on answering.
    let (status, _) = server
        .review(
            "/validate",
            &review("CREATE", Some(&example("restore-orders.yaml")), None, false),
        )
        .await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let server = TestServer::start().await;
    let client = server.client();
    assert_eq!(
        client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let good = example("restore-orders.yaml");
    let mut bad = good.clone();
    bad["spec"]["backoffLimit"] = json!(-1);
    server
        .review("/validate", &review("CREATE", Some(&good), None, false))
        .await;
    server
        .review("/validate", &review("CREATE", Some(&bad), None, false))
        .await;
    client
        .post(server.url("/mutate"))
        .body("nope")
        .send()
        .await
        .unwrap();

    let text = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "admission_requests_total{review=\"Validate\",outcome=\"Allowed\"} 1",
        "admission_requests_total{review=\"Validate\",outcome=\"Denied\"} 1",
        "admission_requests_total{review=\"Mutate\",outcome=\"Errored\"} 1",
        "admission_request_duration_seconds_count{review=\"Validate\"} 2",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    server.stop().await;
}

#[tokio::test]
async fn tls_1_2_and_1_3_are_served_over_http1_and_http2() {
    let server = TestServer::start().await;
    let ca = reqwest::Certificate::from_pem(server.ca_pem.as_bytes()).unwrap();
    for (min, max, http2) in [
        (
            reqwest::tls::Version::TLS_1_2,
            reqwest::tls::Version::TLS_1_2,
            false,
        ),
        (
            reqwest::tls::Version::TLS_1_3,
            reqwest::tls::Version::TLS_1_3,
            true,
        ),
    ] {
        let mut builder = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca.clone())
            .resolve("localhost", server.addr)
            .min_tls_version(min)
            .max_tls_version(max);
        builder = if http2 {
            builder.http2_prior_knowledge()
        } else {
            builder.http1_only()
        };
        let response = builder
            .build()
            .unwrap()
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let expected = if http2 {
            reqwest::Version::HTTP_2
        } else {
            reqwest::Version::HTTP_11
        };
        assert_eq!(response.version(), expected);
    }
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_stalls_in_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start_with(Settings {
        header_read_timeout: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types_pem(&server.ca_pem) {
        roots.add(cert).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(b"POST /validate HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    tls.flush().await.unwrap();
    // The server closes the connection (or answers 408) once the timeout passes; the
    // bound keeps the test from waiting forever if it does not.
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut buffer)).await;
    assert!(read.is_ok(), "connection still open after 5 s");
    let text = String::from_utf8_lossy(&buffer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    server.stop().await;
}

fn rustls_pki_types_pem(pem: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn rotated_certificates_are_served_without_a_restart() {
    let server = TestServer::start().await;
    let old_client = server.client();
    assert_eq!(
        old_client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A broken file (as while a Secret is half updated) keeps the old certificate.
    std::fs::write(server.cert_dir().join("tls.crt"), "not a certificate").unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        old_client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A new CA and certificate, as when cert-manager rotates the Secret.
    let new_ca = write_certs(&server.cert_dir());
    let new_client = server.client_trusting(&new_ca);
    let mut rotated = false;
    for _ in 0..50 {
        if new_client.get(server.url("/healthz")).send().await.is_ok() {
            rotated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(rotated, "the new certificate was not served within 5 s");
    // Fresh connections with the old trust now fail: the old certificate is gone.
    let fresh_old = server.client_trusting(&server.ca_pem);
    assert!(fresh_old.get(server.url("/healthz")).send().await.is_err());
    server.stop().await;
}
