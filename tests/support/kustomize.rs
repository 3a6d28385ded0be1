//! Renders a kustomization of this repository with `kubectl kustomize` (the engine of
//! `kubectl apply -k`) into its objects.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

pub fn render(dir: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let output = Command::new("kubectl")
        .args(["kustomize"])
        .arg(&path)
        .output()
        .expect("kubectl is installed");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

/// Renders a kustomization of a user's own, in a temporary directory: `kustomization`
/// names this repository's directories as `{repo}/manifests/...`.
pub fn render_overlay(kustomization: &str) -> Vec<Value> {
    let overlay = tempfile::tempdir().unwrap();
    // kustomize takes bases by relative path only: up to `/`, then down to the repository.
    let up = "../".repeat(overlay.path().canonicalize().unwrap().components().count() - 1);
    let repo = format!(
        "{up}{}",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .canonicalize()
            .unwrap()
            .strip_prefix("/")
            .unwrap()
            .display()
    );
    std::fs::write(
        overlay.path().join("kustomization.yaml"),
        kustomization.replace("{repo}", &repo),
    )
    .unwrap();
    render(overlay.path().to_str().unwrap())
}
