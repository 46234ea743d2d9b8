//! What the notifier's TLS clients trust beyond the system store: a sink's own `ca_file`, a PEM
//! bundle of CA certificates (a corporate relay's or endpoint's private CA). The system store
//! itself (`/etc/ssl/certs`, or `SSL_CERT_FILE` / `SSL_CERT_DIR`) is loaded by
//! rustls-platform-verifier, for reqwest and lettre alike.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::Path;

/// The certificates of a `ca_file`: at least one, or a reason that says what is wrong with the
/// file (never its contents).
pub(crate) fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| format!("{} is not a PEM file of certificates", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{} holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)",
            path.display()
        ));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_a_certificate_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let reason = read_ca_file(&path).unwrap_err();
        assert!(reason.contains("holds no PEM certificate"), "{reason}");
        assert!(read_ca_file(&dir.path().join("missing.pem"))
            .unwrap_err()
            .contains("cannot read"));
    }
}
