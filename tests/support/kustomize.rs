//! Renders a kustomization of this repository with `kubectl kustomize` (the engine of
//! `kubectl apply -k`) into its objects.

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
