//! The command-line contract: `crds` matches the committed manifests, `certs` writes a
//! usable pair, `validate` reports and exits 0 or 1, `webhook` serves and stops on SIGTERM.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;

fn operator() -> Command {
    Command::cargo_bin("kafka-backup-operator").expect("binary built")
}

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn committed_crds_are_up_to_date() {
    let committed =
        std::fs::read_to_string(repo("manifests/crds/crds.yaml")).expect("committed CRDs");
    let output = operator().arg("crds").output().unwrap();
    assert!(output.status.success());
    let generated = String::from_utf8(output.stdout).unwrap();
    assert!(
        committed == generated,
        "manifests/crds/crds.yaml is stale: run `make generate` and commit the result"
    );
}

#[test]
fn crds_name_both_kinds_with_short_names_category_and_columns() {
    let output = operator().arg("crds").output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let crds: Vec<serde_json::Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    assert_eq!(crds.len(), 2);
    for (crd, kind, short, columns) in [
        (
            &crds[0],
            "KafkaBackup",
            "kb",
            vec![
                "Cluster",
                "Schedule",
                "Last Backup",
                "Records",
                "Status",
                "Age",
            ],
        ),
        (
            &crds[1],
            "KafkaRestore",
            "kr",
            vec!["Cluster", "Backup", "Status", "Progress", "Age"],
        ),
    ] {
        assert_eq!(crd["spec"]["group"], "kafkabackup.com");
        assert_eq!(crd["spec"]["scope"], "Namespaced");
        assert_eq!(crd["spec"]["names"]["kind"], kind);
        assert_eq!(crd["spec"]["names"]["shortNames"][0], short);
        assert_eq!(crd["spec"]["names"]["categories"][0], "kafka-backup");
        let version = &crd["spec"]["versions"][0];
        assert_eq!(version["name"], "v1alpha1");
        assert_eq!(version["subresources"]["status"], serde_json::json!({}));
        let names: Vec<&str> = version["additionalPrinterColumns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, columns);
        let schema = &version["schema"]["openAPIV3Schema"];
        assert!(
            schema["description"].as_str().unwrap().len() > 20,
            "kubectl explain needs a description"
        );
        let spec = &schema["properties"]["spec"];
        assert_eq!(
            spec["x-kubernetes-validations"][0]["rule"],
            "has(self.strimziClusterRef) != has(self.kafka)"
        );
        assert_eq!(spec["properties"]["backoffLimit"]["minimum"], 0.0);
        // Every field of the spec is documented.
        for (field, schema) in spec["properties"].as_object().unwrap() {
            assert!(
                schema["description"].is_string(),
                "{kind}.spec.{field} has no description"
            );
        }
    }
}

#[test]
fn certs_writes_a_ca_and_a_server_pair() {
    let dir = tempfile::tempdir().unwrap();
    let output = operator()
        .args(["certs", "--out"])
        .arg(dir.path())
        .args([
            "--dns",
            "localhost",
            "--dns",
            "webhook.svc",
            "--ip",
            "127.0.0.1",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for file in ["ca.crt", "tls.crt", "tls.key"] {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(text.starts_with("-----BEGIN"), "{file}");
    }
    // The pair loads as a server certificate.
    admission_server::ReloadingCertificate::load(
        &dir.path().join("tls.crt"),
        &dir.path().join("tls.key"),
    )
    .expect("the written pair is usable");
}

#[test]
fn certs_without_names_fails_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let output = operator()
        .args(["certs", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--dns"));
}

#[test]
fn validate_accepts_the_examples_and_exits_zero() {
    let output = operator()
        .args(["validate", "-f"])
        .arg(repo("manifests/examples"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("5 objects checked: 5 valid, 0 invalid"),
        "{stdout}"
    );
    assert!(stdout.contains("warning: spec.backoffLimit"), "{stdout}");
}

#[test]
fn validate_reports_file_object_and_field_and_exits_one() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n---\n\
         apiVersion: kafkabackup.com/v1alpha1\nkind: KafkaBackup\nmetadata:\n  name: nightly\nspec:\n  \
         strimziClusterRef:\n    name: my-cluster\n  schedule:\n    cron: \"0 25 * * *\"\n  storage:\n    type: s3\n",
    )
    .unwrap();
    let output = operator()
        .args(["validate", "-f"])
        .arg(&bad)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let prefix = format!("{}#2: KafkaBackup/nightly: error: ", bad.display());
    assert!(
        stdout.contains(&format!("{prefix}spec.storage.s3: is required")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{prefix}spec.schedule.cron:")),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 object checked: 0 valid, 1 invalid; 1 other objects skipped"),
        "{stdout}"
    );
}

#[test]
fn validate_reads_stdin() {
    let mut child = operator()
        .args(["validate", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            std::fs::read(repo("manifests/examples/daily-backup.yaml"))
                .unwrap()
                .as_slice(),
        )
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("1 object checked: 1 valid"));
}

#[test]
fn validate_of_a_missing_file_names_it() {
    let output = operator()
        .args(["validate", "-f", "/nonexistent/manifests.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/manifests.yaml"));
}

#[test]
fn webhook_without_certificates_says_how_to_get_them() {
    let output = operator()
        .args([
            "webhook",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "/nonexistent/tls.crt",
            "--tls-key",
            "/nonexistent/tls.key",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("make certs"), "{stderr}");
    assert!(stderr.contains("/nonexistent/tls.crt"), "{stderr}");
}

#[tokio::test]
async fn webhook_command_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let ca = support::write_certs(dir.path());
    // Find a free port, then hand it to the child.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = operator()
        .args(["webhook", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--tls-cert")
        .arg(dir.path().join("tls.crt"))
        .arg("--tls-key")
        .arg(dir.path().join("tls.key"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(response) = client
            .get(format!("https://localhost:{port}/readyz"))
            .send()
            .await
        {
            ready = response.status() == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(client);
    // Stop the child we started, by its PID, whatever happened above.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if exited.is_none() {
        let _ = child.kill();
    }
    assert!(ready, "the webhook did not become ready");
    assert!(exited.expect("exits within 5 s of SIGTERM").success());
}
