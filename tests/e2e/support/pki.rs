//! A private CA made at test time (nothing to commit, nothing to mistake for a real secret) and a
//! server certificate it signs for `127.0.0.1` and `localhost`, written as PEM files into a
//! temporary directory: the situation of a relay or endpoint behind a corporate CA.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SanType,
};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use tempfile::TempDir;

/// The CA's certificate and a server certificate (with its key) signed by it, as PEM files.
pub struct Pki {
    /// The CA certificate, what a `ca_file` or `SSL_CERT_FILE` names.
    pub ca_pem: PathBuf,
    /// The server's certificate (`basicConstraints=CA:FALSE`, as rustls requires).
    pub cert_pem: PathBuf,
    /// The server's private key.
    pub key_pem: PathBuf,
    _dir: TempDir,
}

impl Pki {
    pub fn new(ca_name: &str) -> Pki {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name.push(DnType::CommonName, ca_name);
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();

        let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "relay.internal");
        leaf.subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        leaf.is_ca = IsCa::ExplicitNoCa;
        let key = KeyPair::generate().unwrap();
        let cert = leaf.signed_by(&key, &ca).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        Pki {
            ca_pem: write("ca.pem", ca.pem()),
            cert_pem: write("server.pem", cert.pem()),
            key_pem: write("server-key.pem", key.serialize_pem()),
            _dir: dir,
        }
    }
}
