//! Development serving certificates: a throw-away CA and a server certificate signed by
//! it, written as PEM files. Generating is pure; `write_to` does file IO.

use std::net::IpAddr;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

/// Why certificates could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("generating certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("a certificate needs at least one --dns name or --ip address")]
    NoNames,
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// A CA certificate, and a server certificate and key signed by it, as PEM.
pub struct DevCertificates {
    /// The CA certificate: what a client (or a webhook's caBundle) trusts.
    pub ca_pem: String,
    /// The server certificate.
    pub cert_pem: String,
    /// The server's private key.
    pub key_pem: String,
}

/// Makes a fresh CA and a server certificate for the given names, valid from `now`
/// for `days` days. The CA's key is not kept: rotating means making a new pair.
pub fn generate(
    dns_names: &[String],
    ips: &[IpAddr],
    now: OffsetDateTime,
    days: i64,
) -> Result<DevCertificates, CertError> {
    if dns_names.is_empty() && ips.is_empty() {
        return Err(CertError::NoNames);
    }
    let not_before = now - Duration::minutes(5);
    let not_after = now + Duration::days(days);

    let mut ca_params = CertificateParams::default();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "kafka-backup-operator development CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let mut params = CertificateParams::default();
    params.subject_alt_names = dns_names
        .iter()
        .map(|name| Ok(SanType::DnsName(name.clone().try_into()?)))
        .chain(ips.iter().map(|ip| Ok(SanType::IpAddress(*ip))))
        .collect::<Result<_, rcgen::Error>>()?;
    let common_name = dns_names
        .first()
        .cloned()
        .or_else(|| ips.first().map(IpAddr::to_string))
        .unwrap_or_default();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = not_before;
    params.not_after = not_after;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca)?;

    Ok(DevCertificates {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

impl DevCertificates {
    /// Writes `ca.crt`, `tls.crt` and `tls.key` (readable by the owner only) into `dir`,
    /// creating it. Each file is replaced atomically, so a server watching them never
    /// reads half a file.
    pub fn write_to(&self, dir: &Path) -> Result<(), CertError> {
        let fail = |path: &Path| {
            let path = path.display().to_string();
            move |source| CertError::Write { path, source }
        };
        std::fs::create_dir_all(dir).map_err(fail(dir))?;
        // The key first: a watcher that sees a new certificate must find its key.
        for (name, contents, private) in [
            ("tls.key", &self.key_pem, true),
            ("tls.crt", &self.cert_pem, false),
            ("ca.crt", &self.ca_pem, false),
        ] {
            let path = dir.join(name);
            let tmp = dir.join(format!(".{name}.tmp"));
            write_file(&tmp, contents, private).map_err(fail(&tmp))?;
            std::fs::rename(&tmp, &path).map_err(fail(&path))?;
        }
        Ok(())
    }
}

fn write_file(path: &Path, contents: &str, private: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_chain_for_the_given_names() {
        let certs = generate(
            &["localhost".into()],
            &["127.0.0.1".parse().unwrap()],
            OffsetDateTime::UNIX_EPOCH + Duration::days(20_000),
            30,
        )
        .unwrap();
        assert!(certs.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(certs.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(certs.key_pem.contains("PRIVATE KEY"));
        assert_ne!(certs.ca_pem, certs.cert_pem);
    }

    #[test]
    fn refuses_a_certificate_without_names() {
        assert!(matches!(
            generate(&[], &[], OffsetDateTime::UNIX_EPOCH, 1),
            Err(CertError::NoNames)
        ));
    }

    #[cfg(unix)]
    #[test]
    fn the_key_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let certs = generate(&["localhost".into()], &[], OffsetDateTime::UNIX_EPOCH, 1).unwrap();
        certs.write_to(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join("tls.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(dir.path().join("ca.crt").exists());
        assert!(dir.path().join("tls.crt").exists());
    }
}
