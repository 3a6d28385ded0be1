//! Offline validation of manifests (`kafka-backup-operator validate`): the webhook's
//! defaulting and create rules, the CRDs' own schema and CEL rules, run on YAML or JSON
//! files for CI and GitOps pipelines. Update rules need the live object and are not
//! checked. Parsing is pure; `collect_inputs` reads files.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use kube::{CustomResourceExt, ResourceExt};
use serde::Deserialize;
use serde_json::Value;

use crate::admission::from_value;
use crate::api::{KafkaBackup, KafkaRestore};
use crate::constants::{API_GROUP, API_VERSION, SERVED_VERSIONS};
use crate::policy::{self, Review};

/// One manifest source: a name to report and its text.
pub struct Input {
    pub name: String,
    pub text: String,
}

/// What was found in one object.
#[derive(Debug, PartialEq, Eq)]
pub struct Finding {
    /// File (or `<stdin>`) and document index.
    pub source: String,
    /// `Kind/name` of the object, or `document N` when unreadable.
    pub object: String,
    /// A problem that makes the object invalid, or a warning.
    pub message: String,
    pub is_warning: bool,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = if self.is_warning { "warning" } else { "error" };
        write!(
            f,
            "{}: {}: {level}: {}",
            self.source, self.object, self.message
        )
    }
}

/// The result of checking every input.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Our objects checked.
    pub checked: usize,
    /// Our objects with at least one error.
    pub invalid: usize,
    /// Documents of other kinds, passed over.
    pub skipped: usize,
    /// Inputs that are not YAML or JSON.
    pub unreadable: usize,
}

impl Report {
    /// Whether every input read and every object is valid.
    pub fn is_valid(&self) -> bool {
        self.invalid == 0 && self.unreadable == 0
    }

    /// The closing line printed after the findings.
    pub fn summary(&self) -> String {
        format!(
            "{} checked: {} valid, {} invalid; {} other objects skipped{}",
            plural(self.checked, "object"),
            self.checked - self.invalid,
            self.invalid,
            self.skipped,
            if self.unreadable > 0 {
                format!("; {} could not be read", plural(self.unreadable, "input"))
            } else {
                String::new()
            }
        )
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Reads a file, every `.yaml`/`.yml`/`.json` file under a directory, or standard input
/// for `-`.
pub fn collect_inputs(path: &Path) -> std::io::Result<Vec<Input>> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        return Ok(vec![Input {
            name: "<stdin>".into(),
            text,
        }]);
    }
    let mut files = Vec::new();
    gather(path, true, &mut files)?;
    files.sort();
    files
        .into_iter()
        .map(|file| {
            Ok(Input {
                name: file.display().to_string(),
                text: std::fs::read_to_string(&file)?,
            })
        })
        .collect()
}

fn gather(path: &Path, explicit: bool, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        for entry in std::fs::read_dir(path)? {
            gather(&entry?.path(), false, out)?;
        }
    } else if explicit
        || path
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
    {
        out.push(path.to_owned());
    }
    Ok(())
}

/// Checks every document of every input.
pub fn check(inputs: &[Input]) -> Report {
    let mut report = Report::default();
    for input in inputs {
        let documents = match parse_documents(&input.text) {
            Ok(documents) => documents,
            Err(error) => {
                report.unreadable += 1;
                report.findings.push(Finding {
                    source: input.name.clone(),
                    object: "file".into(),
                    message: format!("not valid YAML or JSON: {error}"),
                    is_warning: false,
                });
                continue;
            }
        };
        for (index, document) in documents.into_iter().enumerate() {
            for object in expand_lists(document) {
                check_object(
                    &mut report,
                    &format!("{}#{}", input.name, index + 1),
                    object,
                );
            }
        }
    }
    report
}

fn parse_documents(text: &str) -> Result<Vec<Value>, serde_yaml::Error> {
    serde_yaml::Deserializer::from_str(text)
        .map(Value::deserialize)
        .filter(|d| !matches!(d, Ok(Value::Null)))
        .collect()
}

/// `kind: List` documents (as `kubectl get -o yaml` prints) hold their objects in `items`.
fn expand_lists(document: Value) -> Vec<Value> {
    let is_list = document
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k == "List" || k.ends_with("List"));
    match (is_list, document.get("items")) {
        (true, Some(Value::Array(items))) => items.clone(),
        _ => vec![document],
    }
}

fn check_object(report: &mut Report, source: &str, mut object: Value) {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let (group, version) = api_version
        .split_once('/')
        .map(|(g, v)| (g.to_string(), v.to_string()))
        .unwrap_or_default();
    if group != API_GROUP {
        report.skipped += 1;
        return;
    }
    report.checked += 1;
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("<no name>")
        .to_string();
    let label = format!("{kind}/{name}");
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    if kind == "KafkaRestore"
        && let Some(spec) = object.get_mut("spec")
    {
        // As the mutating webhook does: an earlier spelling is rewritten, with a warning.
        warnings.extend(crate::api::mapping::convert_map_form(spec));
    }
    if !SERVED_VERSIONS.contains(&version.as_str()) {
        errors.push(format!(
            "apiVersion: {api_version} is not served; use {API_GROUP}/{API_VERSION} (or {API_GROUP}/v1)"
        ));
    } else {
        match kind.as_str() {
            "KafkaBackup" => check_typed::<KafkaBackup>(
                &object,
                &mut errors,
                &mut warnings,
                policy::validate_backup,
                |b| KafkaBackup::validate_cel(b).map_err(|e| e.to_string()),
            ),
            "KafkaRestore" => check_typed::<KafkaRestore>(
                &object,
                &mut errors,
                &mut warnings,
                policy::validate_restore,
                |r| KafkaRestore::validate_cel(r).map_err(|e| e.to_string()),
            ),
            other => errors.push(format!(
                "kind: {other} is not a kind of {API_GROUP}; use KafkaBackup or KafkaRestore"
            )),
        }
    }
    if !errors.is_empty() {
        report.invalid += 1;
    }
    let finding = |message: String, is_warning: bool| Finding {
        source: source.to_string(),
        object: label.clone(),
        message,
        is_warning,
    };
    report
        .findings
        .extend(errors.into_iter().map(|m| finding(m, false)));
    report
        .findings
        .extend(warnings.into_iter().map(|m| finding(m, true)));
}

fn check_typed<K>(
    object: &Value,
    errors: &mut Vec<String>,
    warnings: &mut Vec<String>,
    rules: impl Fn(&K) -> Review,
    cel: impl Fn(&K) -> Result<(), String>,
) where
    K: serde::de::DeserializeOwned + serde::Serialize + CustomResourceExt + ResourceExt,
{
    errors.extend(unknown_fields::<K>(object));
    if object.pointer("/metadata/name").is_none()
        && object.pointer("/metadata/generateName").is_none()
    {
        errors.push("metadata.name: is required".into());
    }
    let typed: K = match from_value(object.clone()) {
        Ok(typed) => typed,
        Err(error) => {
            errors.push(error);
            return;
        }
    };
    if let (Some(sent), Ok(read)) = (object.get("spec"), serde_json::to_value(&typed)) {
        errors.extend(crate::admission::unknown_passed_through(
            sent,
            read.get("spec").unwrap_or(&Value::Null),
        ));
    }
    let review = rules(&typed);
    errors.extend(review.violations.iter().map(ToString::to_string));
    warnings.extend(review.warnings);
    // The API server evaluates the CRD's CEL rules too; report them here as well, unless
    // a rule above already explained the problem.
    if review.violations.is_empty()
        && let Err(error) = cel(&typed)
    {
        errors.push(error);
    }
}

/// Fields the CRD's schema does not know: the API server drops them (or, with strict
/// field validation, refuses the object), so they are usually misspellings.
fn unknown_fields<K: CustomResourceExt>(object: &Value) -> Vec<String> {
    // Generating a CRD's schema is the slow part of a check: once per kind.
    static SCHEMAS: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<String, Value>>,
    > = std::sync::LazyLock::new(Default::default);
    let kind = K::crd_name();
    let cached = SCHEMAS.lock().ok().and_then(|s| s.get(kind).cloned());
    let schema = match cached {
        Some(schema) => Some(schema),
        None => {
            let schema = K::crd()
                .spec
                .versions
                .first()
                .and_then(|v| v.schema.as_ref())
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .and_then(|s| serde_json::to_value(s).ok());
            if let (Some(schema), Ok(mut cache)) = (&schema, SCHEMAS.lock()) {
                cache.insert(kind.to_string(), schema.clone());
            }
            schema
        }
    };
    let Some(schema) = schema else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for section in ["spec"] {
        if let (Some(value), Some(schema)) = (
            object.get(section),
            schema.pointer(&format!("/properties/{section}")),
        ) {
            walk_unknown(value, schema, section, &mut found);
        }
    }
    found
        .into_iter()
        .map(|path| {
            format!(
                "{path}: unknown field; check its spelling (kubectl explain {}.{path})",
                K::crd().spec.names.singular.unwrap_or_default()
            )
        })
        .collect()
}

fn walk_unknown(value: &Value, schema: &Value, path: &str, found: &mut Vec<String>) {
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return;
    }
    match value {
        Value::Object(map) => {
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (key, child) in map {
                    match properties.get(key) {
                        Some(child_schema) => {
                            walk_unknown(child, child_schema, &format!("{path}.{key}"), found)
                        }
                        None => found.push(format!("{path}.{key}")),
                    }
                }
            } else if let Some(values) =
                schema.get("additionalProperties").filter(|v| v.is_object())
            {
                for (key, child) in map {
                    walk_unknown(child, values, &format!("{path}[{key}]"), found);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    walk_unknown(item, item_schema, &format!("{path}[{i}]"), found);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Report {
        check(&[Input {
            name: "test.yaml".into(),
            text: text.into(),
        }])
    }

    const RESTORE: &str = "apiVersion: kafkabackup.com/v1alpha1
kind: KafkaRestore
metadata:
  name: restore-orders
  namespace: kafka
spec:
  strimziClusterRef:
    name: my-cluster
  backupRef:
    name: daily-backup
";

    #[test]
    fn a_valid_restore_passes() {
        let report = run(RESTORE);
        assert!(report.is_valid(), "{:?}", report.findings);
        assert_eq!((report.checked, report.invalid, report.skipped), (1, 0, 0));
    }

    #[test]
    fn other_kinds_are_skipped_and_lists_are_expanded() {
        let text = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\n---\napiVersion: v1\nkind: List\nitems:\n{}",
            RESTORE
                .lines()
                .map(|l| format!("  {l}\n"))
                .collect::<String>()
                .replacen("  apiVersion", "- apiVersion", 1)
        );
        let report = run(&text);
        assert_eq!(
            (report.checked, report.skipped),
            (1, 1),
            "{:?}",
            report.findings
        );
    }

    #[test]
    fn a_policy_violation_names_file_object_and_field() {
        let report = run(&RESTORE.replace("  backupRef:\n", "  backoffLimit: -1\n  backupRef:\n"));
        assert!(!report.is_valid());
        let line = report.findings[0].to_string();
        assert_eq!(
            line,
            "test.yaml#1: KafkaRestore/restore-orders: error: spec.backoffLimit: is -1; use 0 or more (the number of pod retries)"
        );
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let report =
            run(&RESTORE.replace("  backupRef:\n", "  backoffLimit: three\n  backupRef:\n"));
        assert!(
            report.findings[0]
                .message
                .starts_with("spec.backoffLimit: invalid type"),
            "{:?}",
            report.findings
        );
    }

    #[test]
    fn unknown_fields_are_reported_as_misspellings() {
        let report = run(&RESTORE.replace("  backupRef:\n", "  backofLimit: 1\n  backupRef:\n"));
        assert!(!report.is_valid());
        assert!(
            report.findings[0]
                .message
                .starts_with("spec.backofLimit: unknown field"),
            "{:?}",
            report.findings
        );
    }

    #[test]
    fn a_misspelled_field_of_a_passed_through_kubernetes_object_is_refused() {
        let affinity =
            "  template:\n    pod:\n      affinity:\n        nodeAfinity: {}\n  backupRef:\n";
        let report = run(&RESTORE.replace("  backupRef:\n", affinity));
        assert!(!report.is_valid());
        assert!(
            report.findings.iter().any(|f| f
                .message
                .starts_with("spec.template.pod.affinity.nodeAfinity: unknown field")),
            "{:?}",
            report.findings
        );
    }

    #[test]
    fn the_map_form_of_topic_mapping_is_rewritten_with_a_warning() {
        let map = "  topicMapping:\n    orders: orders-restored\n  backupRef:\n";
        let report = run(&RESTORE.replace("  backupRef:\n", map));
        assert!(report.is_valid(), "{:?}", report.findings);
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.is_warning && f.message.contains("sourceTopic"))
        );
    }

    #[test]
    fn warnings_do_not_fail_the_check() {
        let report = run(&RESTORE.replace("  backupRef:\n", "  backoffLimit: 2\n  backupRef:\n"));
        assert!(report.is_valid());
        assert!(report.findings[0].is_warning);
    }

    #[test]
    fn unserved_versions_and_kinds_are_errors() {
        assert!(
            run(&RESTORE.replace("v1alpha1", "v1")).is_valid(),
            "v1 is served"
        );
        assert!(!run(&RESTORE.replace("v1alpha1", "v2")).is_valid());
        assert!(!run(&RESTORE.replace("kind: KafkaRestore", "kind: KafkaTopicRestore")).is_valid());
    }

    #[test]
    fn cel_rules_of_the_crd_are_evaluated() {
        let both = RESTORE.replace(
            "  backupRef:\n",
            "  kafka:\n    bootstrapServers: kafka:9092\n  backupRef:\n",
        );
        let report = run(&both);
        assert!(!report.is_valid());
        // The policy reports it first; the CEL rule agrees.
        let restore: KafkaRestore = serde_yaml::from_str(&both).unwrap();
        assert!(KafkaRestore::validate_cel(&restore).is_err());
        let valid: KafkaRestore = serde_yaml::from_str(RESTORE).unwrap();
        assert!(KafkaRestore::validate_cel(&valid).is_ok());
    }

    #[test]
    fn broken_yaml_is_unreadable() {
        let report = run("kind: [unclosed");
        assert!(!report.is_valid());
        assert_eq!(report.unreadable, 1);
        assert!(report.summary().contains("1 input could not be read"));
    }
}
