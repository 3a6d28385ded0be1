//! Validation of `spec.storage`: S3 (both credential spellings), Azure Blob Storage,
//! GCS and a volume. No IO.

use super::check_secret_key_ref;
use crate::api::backup::{AzureStorage, BackupStorage, GcsStorage, S3Storage, StorageType};
use crate::policy::{Review, syntax};

const F: &str = "spec.storage";

pub(super) fn check_storage(review: &mut Review, storage: &BackupStorage) {
    let blocks = [
        (StorageType::S3, "s3", storage.s3.is_some()),
        (StorageType::Azure, "azure", storage.azure.is_some()),
        (StorageType::Gcs, "gcs", storage.gcs.is_some()),
        (
            StorageType::Filesystem,
            "filesystem",
            storage.filesystem.is_some(),
        ),
    ];
    for (kind, name, set) in blocks {
        if set && kind != storage.kind {
            review.violation(
                format!("{F}.{name}"),
                format!(
                    "is set but {F}.type is '{}'; remove one",
                    type_name(storage.kind)
                ),
            );
        }
    }
    match storage.kind {
        StorageType::S3 => match &storage.s3 {
            Some(s3) => check_s3(review, s3),
            None => review.violation(
                format!("{F}.s3"),
                "is required when spec.storage.type is 's3': give at least the bucket",
            ),
        },
        StorageType::Azure => match &storage.azure {
            Some(azure) => check_azure(review, azure),
            None => review.violation(
                format!("{F}.azure"),
                "is required when spec.storage.type is 'azure': give storageAccount and container",
            ),
        },
        StorageType::Gcs => match &storage.gcs {
            Some(gcs) => check_gcs(review, gcs),
            None => review.violation(
                format!("{F}.gcs"),
                "is required when spec.storage.type is 'gcs': give at least the bucket",
            ),
        },
        StorageType::Filesystem => {
            let claim = storage
                .filesystem
                .as_ref()
                .and_then(|f| f.claim_name.as_deref());
            match claim {
                None => review.violation(
                    format!("{F}.filesystem.claimName"),
                    "is required: a backup written to the pod's own file system is lost with the pod; name a PersistentVolumeClaim (filesystem.path is the directory within it)",
                ),
                Some(claim) => {
                    if let Err(e) = syntax::dns_subdomain(claim) {
                        review.violation(format!("{F}.filesystem.claimName"), e);
                    }
                }
            }
            if let Some(path) = storage.filesystem.as_ref().and_then(|f| f.path.as_deref())
                && let Err(e) = syntax::relative_path(path.trim_start_matches('/'))
            {
                review.violation(format!("{F}.filesystem.path"), e);
            }
        }
    }
}

fn type_name(kind: StorageType) -> &'static str {
    match kind {
        StorageType::S3 => "s3",
        StorageType::Azure => "azure",
        StorageType::Gcs => "gcs",
        StorageType::Filesystem => "filesystem",
    }
}

fn check_prefix(review: &mut Review, field: &str, prefix: Option<&str>) {
    if let Some(prefix) = prefix
        && prefix.starts_with('/')
    {
        review.violation(field, format!("'{prefix}' must not start with '/'"));
    }
}

fn check_s3(review: &mut Review, s3: &S3Storage) {
    const S: &str = "spec.storage.s3";
    if let Err(e) = syntax::s3_bucket(&s3.bucket) {
        review.violation(format!("{S}.bucket"), e);
    }
    if let Some(region) = &s3.region
        && let Err(e) = syntax::s3_region(region)
    {
        review.violation(format!("{S}.region"), e);
    }
    check_prefix(review, &format!("{S}.prefix"), s3.prefix.as_deref());
    if let (Some(a), Some(b)) = (s3.path_style, s3.force_path_style)
        && a != b
    {
        review.violation(
            format!("{S}.forcePathStyle"),
            "says the opposite of pathStyle, the same setting; give one of them",
        );
    }
    if let Some(endpoint) = &s3.endpoint {
        match syntax::endpoint_url(endpoint) {
            Err(e) => review.violation(format!("{S}.endpoint"), e),
            Ok(()) if endpoint.starts_with("http://") => {
                if s3.allow_http == Some(false) {
                    review.violation(
                        format!("{S}.allowHttp"),
                        "is false but the endpoint is http://; use an https:// endpoint or allow plain HTTP",
                    );
                } else if s3.access_keys().is_some() {
                    review.warning(
                        &format!("{S}.endpoint"),
                        "uses http://: credentials and backups cross the network unencrypted",
                    );
                }
            }
            Ok(()) => {}
        }
    }
    match (&s3.access_key_secret, &s3.secret_key_secret) {
        (Some(id), Some(secret)) => {
            check_secret_key_ref(review, &format!("{S}.accessKeySecret"), &id.name, &id.key);
            check_secret_key_ref(
                review,
                &format!("{S}.secretKeySecret"),
                &secret.name,
                &secret.key,
            );
        }
        (Some(_), None) | (None, Some(_)) => review.violation(
            format!("{S}.accessKeySecret"),
            "accessKeySecret and secretKeySecret go together: give both, or neither to use the pod's identity",
        ),
        (None, None) => {}
    }
    if let Some(creds) = &s3.credentials_secret {
        // A credentials file may stand beside accessKeySecret and secretKeySecret, which
        // override it (as in strimzi-backup-operator); the two keys may not.
        if creds.key.is_none() && (s3.access_key_secret.is_some() || s3.secret_key_secret.is_some())
        {
            review.violation(
                format!("{S}.credentialsSecret"),
                "is another way to give the keys of accessKeySecret and secretKeySecret; give one of the two",
            );
        }
        if let Err(e) = syntax::dns_subdomain(&creds.name) {
            review.violation(format!("{S}.credentialsSecret.name"), e);
        }
        if let Some(key) = &creds.key {
            if let Err(e) = syntax::secret_key(key) {
                review.violation(format!("{S}.credentialsSecret.key"), e);
            }
            if creds.access_key_id_key.is_some() || creds.secret_access_key_key.is_some() {
                review.violation(
                    format!("{S}.credentialsSecret.key"),
                    "names a credentials file, and accessKeyIdKey and secretAccessKeyKey name the keys one by one; give one of the two forms",
                );
            }
        }
        for (field, key) in [
            ("accessKeyIdKey", &creds.access_key_id_key),
            ("secretAccessKeyKey", &creds.secret_access_key_key),
        ] {
            if let Some(key) = key
                && let Err(e) = syntax::secret_key(key)
            {
                review.violation(format!("{S}.credentialsSecret.{field}"), e);
            }
        }
    }
}

fn check_azure(review: &mut Review, azure: &AzureStorage) {
    const A: &str = "spec.storage.azure";
    if let Err(e) = syntax::azure_account(&azure.storage_account) {
        review.violation(format!("{A}.storageAccount"), e);
    }
    if let Err(e) = syntax::azure_container(&azure.container) {
        review.violation(format!("{A}.container"), e);
    }
    check_prefix(review, &format!("{A}.prefix"), azure.prefix.as_deref());
    if let Some(endpoint) = &azure.endpoint
        && let Err(e) = syntax::endpoint_url(endpoint)
    {
        review.violation(format!("{A}.endpoint"), e);
    }
    if azure.account_key_secret.is_some() && azure.credentials_secret.is_some() {
        review.violation(
            format!("{A}.credentialsSecret"),
            "is the same setting as accountKeySecret; give one of them",
        );
    }
    for (field, secret) in [
        ("accountKeySecret", &azure.account_key_secret),
        ("credentialsSecret", &azure.credentials_secret),
        ("sasTokenSecret", &azure.sas_token_secret),
        ("clientSecretSecret", &azure.client_secret_secret),
    ] {
        if let Some(secret) = secret {
            check_secret_key_ref(review, &format!("{A}.{field}"), &secret.name, &secret.key);
        }
    }
    if azure.client_secret_secret.is_some()
        && (azure.client_id.is_none() || azure.tenant_id.is_none())
    {
        review.violation(
            format!("{A}.clientSecretSecret"),
            "a service principal needs clientId and tenantId too",
        );
    }
}

fn check_gcs(review: &mut Review, gcs: &GcsStorage) {
    const G: &str = "spec.storage.gcs";
    if let Err(e) = syntax::s3_bucket(&gcs.bucket) {
        review.violation(format!("{G}.bucket"), e);
    }
    check_prefix(review, &format!("{G}.prefix"), gcs.prefix.as_deref());
    if let Some(secret) = &gcs.credentials_secret {
        check_secret_key_ref(
            review,
            &format!("{G}.credentialsSecret"),
            &secret.name,
            &secret.key,
        );
        if gcs.service_account_path.is_some() {
            review.violation(
                format!("{G}.serviceAccountPath"),
                "and credentialsSecret both give the service account key; give one",
            );
        }
    }
    if let Some(path) = &gcs.service_account_path
        && !path.starts_with('/')
    {
        review.violation(
            format!("{G}.serviceAccountPath"),
            format!("'{path}' must be an absolute path in the pod"),
        );
    }
}
