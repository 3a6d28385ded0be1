//! Before a backup or restore touches Kafka, one listing of the backup's place in the
//! object store (S3, Azure Blob Storage, GCS) proves the bucket or container, the
//! credentials and the endpoint, so a wrong one fails within seconds with a message
//! that names it, and nothing is written anywhere.

use kafka_backup_core::storage::StorageBackendConfig;

use super::config::StorageLocation;

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
        StorageLocation::Azure {
            account,
            container,
            prefix,
            endpoint,
            ..
        } => {
            let path = match prefix.as_deref().filter(|p| !p.is_empty()) {
                Some(prefix) => format!("azure://{account}/{container}/{prefix}"),
                None => format!("azure://{account}/{container}"),
            };
            match endpoint {
                Some(endpoint) => format!("{path} at {endpoint}"),
                None => path,
            }
        }
        StorageLocation::Gcs { bucket, prefix, .. } => {
            match prefix.as_deref().filter(|p| !p.is_empty()) {
                Some(prefix) => format!("gs://{bucket}/{prefix}"),
                None => format!("gs://{bucket}"),
            }
        }
        StorageLocation::Filesystem { path } => format!("directory {path}"),
    }
}

/// The fields a person fixes for each cause, by kind of store.
fn fields(storage: &StorageLocation) -> [&'static str; 3] {
    match storage {
        StorageLocation::Azure { .. } => [
            "Create it, or fix the container name (spec.storage.azure.container).",
            "Check the account key, SAS token or service principal (spec.storage.azure) and its permissions on the container.",
            "Check the endpoint (spec.storage.azure.endpoint) and that the store is reachable from the pod.",
        ],
        StorageLocation::Gcs { .. } => [
            "Create it, or fix the bucket name (spec.storage.gcs.bucket).",
            "Check the service account key (spec.storage.gcs.credentialsSecret) and its permissions on the bucket.",
            "Check that storage.googleapis.com (or the emulator) is reachable from the pod.",
        ],
        _ => [
            "Create it, or fix the bucket name (spec.storage.s3.bucket).",
            "Check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the Secret in spec.storage.s3) and the key's permissions on the bucket.",
            "Check the endpoint (spec.storage.s3.endpoint) and that the store is running and reachable from the pod.",
        ],
    }
}

/// What a failed store call means, from the server's error code or the transport's
/// words (kafka-backup-core passes storage failures on as text).
pub fn explain(storage: &StorageLocation, raw: &str) -> StorageUnusable {
    let location = describe(storage);
    let [missing, refused, unreachable] = fields(storage);
    let absent = match storage {
        StorageLocation::Azure { .. } => "the container does not exist",
        _ => "the bucket does not exist",
    };
    let has = |needle: &str| raw.contains(needle);
    let (cause, way_out) = if has("NoSuchBucket")
        || has("ContainerNotFound")
        || (matches!(storage, StorageLocation::Gcs { .. }) && has("404"))
    {
        (absent, missing)
    } else if has("InvalidAccessKeyId")
        || has("SignatureDoesNotMatch")
        || has("AccessDenied")
        || has("AuthenticationFailed")
        || has("AuthorizationFailure")
        || has("403 Forbidden")
        || has("401 Unauthorized")
    {
        ("the server refused the credentials", refused)
    } else if has("onnection refused")
        || has("error sending request")
        || has("dns error")
        || has("timed out")
        || has("tcp connect")
    {
        ("the endpoint cannot be reached", unreachable)
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
pub async fn check(
    storage: &StorageLocation,
    core: &StorageBackendConfig,
    backup_id: &str,
) -> Result<(), StorageUnusable> {
    if matches!(storage, StorageLocation::Filesystem { .. }) {
        return Ok(());
    }
    let backend = kafka_backup_core::storage::create_backend(core)
        .map_err(|e| explain(storage, &e.to_string()))?;
    backend
        .list(&format!("{backup_id}/"))
        .await
        .map(|_| ())
        .map_err(|e| explain(storage, &e.to_string()))
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
            allow_http: false,
            credentials_file: None,
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
        let location = || s3(None, Some("http://minio:9000"));
        let missing = explain(
            &location(),
            "S3 LIST failed: 404 Not Found: <Error><Code>NoSuchBucket</Code></Error>",
        );
        assert_eq!(missing.cause, "the bucket does not exist");
        assert!(
            missing
                .to_string()
                .contains("s3://backups at http://minio:9000")
        );
        assert!(missing.to_string().contains("spec.storage.s3.bucket"));
        let refused = explain(&location(), "403 Forbidden <Code>InvalidAccessKeyId</Code>");
        assert_eq!(refused.cause, "the server refused the credentials");
        assert!(refused.way_out.contains("AWS_ACCESS_KEY_ID"));
        let down = explain(
            &location(),
            "Generic S3 error: error sending request: tcp connect error: Connection refused",
        );
        assert_eq!(down.cause, "the endpoint cannot be reached");
        let other = explain(&location(), "500 Internal Server Error\n  <xml/>");
        assert_eq!(other.detail, "500 Internal Server Error <xml/>");
    }

    #[test]
    fn a_long_answer_is_cut() {
        let unusable = explain(&s3(None, None), &"x".repeat(1000));
        assert_eq!(unusable.detail.chars().count(), 401);
    }
}
