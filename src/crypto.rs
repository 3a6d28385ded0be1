//! The process-wide TLS crypto provider. Two rustls backends are linked into this binary
//! (ring, ours and kafka-backup-core's; aws-lc-rs, which object_store's S3 client forces),
//! so rustls cannot pick a default by itself and panics at the first TLS connection that
//! asks for one (the Kubernetes client does). The binary and the tests install ring once,
//! before any TLS is used. No IO.

/// Installs ring as the process's default crypto provider. Idempotent: a second call, or
/// a provider installed earlier by someone else, is left as it is.
pub fn install_default_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: one provider is then set.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn installing_twice_keeps_one_provider() {
        super::install_default_provider();
        super::install_default_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
