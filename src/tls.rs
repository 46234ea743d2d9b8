//! What the notifier's TLS clients trust beyond the system store: a sink's own `ca_file`, a PEM
//! bundle of CA certificates (a corporate relay's or endpoint's private CA). The system store
//! itself (`/etc/ssl/certs`, or `SSL_CERT_FILE` / `SSL_CERT_DIR`) is loaded by
//! rustls-platform-verifier, for reqwest and lettre alike.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, Error as TlsError};
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

/// When a TLS error somewhere in `error`'s sources is the peer's certificate being refused, what
/// is wrong with it, in words (`url_key` names the configured address it must match). A refused
/// certificate does not change by trying again: the callers make it a dead letter.
pub(crate) fn certificate_problem(
    error: &(dyn std::error::Error + 'static),
    url_key: &str,
) -> Option<String> {
    let reason = format!("{:?}", certificate_error(error)?);
    Some(in_words(&reason, url_key))
}

/// [`certificate_problem`] read from an error's text, for clients whose error chain does not
/// keep the rustls error as a type (reqwest through hyper: "invalid peer certificate: UnknownIssuer").
pub(crate) fn certificate_problem_in_text(text: &str, url_key: &str) -> Option<String> {
    let (_, rest) = text.split_once("invalid peer certificate: ")?;
    let reason: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
    Some(in_words(&reason, url_key))
}

/// What a rustls certificate error (as its `Debug` text: `UnknownIssuer`,
/// `ExpiredContext { … }`) says about the certificate, in words.
fn in_words(reason: &str, url_key: &str) -> String {
    let name: String = reason.chars().take_while(|c| c.is_alphanumeric()).collect();
    match name.as_str() {
        "UnknownIssuer" => {
            "is signed by a CA that is neither in the system trust store nor in the sink's `ca_file`"
                .to_string()
        }
        "Expired" | "ExpiredContext" => "has expired".to_string(),
        "NotValidForName" | "NotValidForNameContext" => {
            format!("does not name the host of `{url_key}`")
        }
        _ => format!("was refused ({reason})"),
    }
}

/// The rustls certificate error somewhere in `error`'s sources (tokio-rustls wraps it in an
/// `io::Error`, whose `source()` skips it, so those are unwrapped by hand).
fn certificate_error(error: &(dyn std::error::Error + 'static)) -> Option<CertificateError> {
    let mut next = Some(error);
    while let Some(current) = next {
        let inner = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static));
        for candidate in [Some(current), inner].into_iter().flatten() {
            if let Some(TlsError::InvalidCertificate(reason)) = candidate.downcast_ref() {
                return Some(reason.clone());
            }
        }
        next = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_certificate_is_recognised_in_an_error_text_and_said_in_words() {
        let text = "error sending request: client error (Connect): invalid peer certificate: UnknownIssuer";
        let problem = certificate_problem_in_text(text, "url").unwrap();
        assert!(problem.contains("neither in the system trust store nor in the sink's `ca_file`"));
        let expired = certificate_problem_in_text("…invalid peer certificate: Expired", "url");
        assert_eq!(expired.as_deref(), Some("has expired"));
        assert_eq!(
            certificate_problem_in_text("connection refused", "url"),
            None
        );
    }

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
