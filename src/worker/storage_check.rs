//! Before a backup or restore touches Kafka, one listing of the backup's place in S3
//! proves the bucket, the credentials and the endpoint, so a wrong one fails within
//! seconds with a message that names it, and nothing is written anywhere.

use super::config::StorageLocation;
use super::engine_config;

/// A storage that cannot be used: where, and why in words, with the server's own answer.
#[derive(Debug, thiserror::Error)]
#[error("backup storage {location}: {cause}. {way_out} (server said: {detail})")]
pub struct StorageUnusable {
    pub location: String,
    pub cause: &'static str,
    pub way_out: &'static str,
    pub detail: String,
}

/// `s3://bucket/prefix at endpoint`, or the directory.
pub fn describe(storage: &StorageLocation) -> String {
    match storage {
        StorageLocation::S3 {
            bucket,
            prefix,
            endpoint,
            region,
            ..
        } => {
            let path = match prefix.as_deref().filter(|p| !p.is_empty()) {
                Some(prefix) => format!("s3://{bucket}/{prefix}"),
                None => format!("s3://{bucket}"),
            };
            match (endpoint, region) {
                (Some(endpoint), _) => format!("{path} at {endpoint}"),
                (None, Some(region)) => format!("{path} in {region}"),
                (None, None) => path,
            }
        }
        StorageLocation::Filesystem { path } => format!("directory {path}"),
    }
}

/// What a failed S3 call means, from the server's error code or the transport's words
/// (kafka-backup-core passes storage failures on as text).
pub fn explain(location: String, raw: &str) -> StorageUnusable {
    let has = |needle: &str| raw.contains(needle);
    let (cause, way_out) = if has("NoSuchBucket") {
        (
            "the bucket does not exist",
            "Create it, or fix the bucket name (spec.storage.s3.bucket).",
        )
    } else if has("InvalidAccessKeyId")
        || has("SignatureDoesNotMatch")
        || has("AccessDenied")
        || has("403 Forbidden")
    {
        (
            "the server refused the credentials",
            "Check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the Secret in \
             spec.storage.s3.credentialsSecret) and the key's permissions on the bucket.",
        )
    } else if has("onnection refused")
        || has("error sending request")
        || has("dns error")
        || has("timed out")
        || has("tcp connect")
    {
        (
            "the endpoint cannot be reached",
            "Check the endpoint (spec.storage.s3.endpoint) and that the store is running \
             and reachable from the pod.",
        )
    } else {
        (
            "the store answered with an error",
            "See the server's answer below.",
        )
    };
    StorageUnusable {
        location,
        cause,
        way_out,
        detail: first_line(raw),
    }
}

/// The server's answer on one line, cut to a readable length.
fn first_line(raw: &str) -> String {
    let flat: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(400) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

/// Lists the backup's place once. Directories need no check: a missing one is made.
pub async fn check(storage: &StorageLocation, backup_id: &str) -> Result<(), StorageUnusable> {
    if !matches!(storage, StorageLocation::S3 { .. }) {
        return Ok(());
    }
    let location = describe(storage);
    let backend = kafka_backup_core::storage::create_backend(&engine_config::storage(storage))
        .map_err(|e| explain(location.clone(), &e.to_string()))?;
    backend
        .list(&format!("{backup_id}/"))
        .await
        .map(|_| ())
        .map_err(|e| explain(location, &e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(prefix: Option<&str>, endpoint: Option<&str>) -> StorageLocation {
        StorageLocation::S3 {
            bucket: "backups".into(),
            region: Some("eu-west-1".into()),
            prefix: prefix.map(Into::into),
            endpoint: endpoint.map(Into::into),
            path_style: true,
        }
    }

    #[test]
    fn the_location_names_bucket_prefix_and_endpoint() {
        assert_eq!(
            describe(&s3(Some("team-a"), Some("http://minio:9000"))),
            "s3://backups/team-a at http://minio:9000"
        );
        assert_eq!(describe(&s3(None, None)), "s3://backups in eu-west-1");
    }

    #[test]
    fn server_answers_become_a_cause_and_a_way_out() {
        let location = || "s3://backups at http://minio:9000".to_string();
        let missing = explain(
            location(),
            "S3 LIST failed: 404 Not Found: <Error><Code>NoSuchBucket</Code></Error>",
        );
        assert_eq!(missing.cause, "the bucket does not exist");
        assert!(
            missing
                .to_string()
                .contains("s3://backups at http://minio:9000")
        );
        assert!(missing.to_string().contains("spec.storage.s3.bucket"));
        let refused = explain(location(), "403 Forbidden <Code>InvalidAccessKeyId</Code>");
        assert_eq!(refused.cause, "the server refused the credentials");
        assert!(refused.way_out.contains("AWS_ACCESS_KEY_ID"));
        let down = explain(
            location(),
            "Generic S3 error: error sending request: tcp connect error: Connection refused",
        );
        assert_eq!(down.cause, "the endpoint cannot be reached");
        let other = explain(location(), "500 Internal Server Error\n  <xml/>");
        assert_eq!(other.detail, "500 Internal Server Error <xml/>");
    }

    #[test]
    fn a_long_answer_is_cut() {
        let unusable = explain("s3://b".into(), &"x".repeat(1000));
        assert_eq!(unusable.detail.chars().count(), 401);
    }
}
