//! TLS towards the relay: the system trust store plus the sink's `ca_file` (lettre's own
//! default with `rustls-tls` is the bundled Mozilla list, which no corporate CA is in), and what
//! a refused certificate means: a dead letter, since trying again cannot change the answer.

use super::{SmtpUrl, TlsMode};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use std::path::Path;

/// How lettre is to encrypt the connection to `url`'s relay.
pub(crate) fn connection(url: &SmtpUrl, ca_file: Option<&Path>) -> anyhow::Result<Tls> {
    let parameters = || parameters(&url.host, ca_file);
    Ok(match url.tls {
        TlsMode::Plain => Tls::None,
        TlsMode::Opportunistic => Tls::Opportunistic(parameters()?),
        TlsMode::Required => Tls::Required(parameters()?),
        TlsMode::Wrapper => Tls::Wrapper(parameters()?),
    })
}

/// TLS parameters for `host`, trusting the system store and the certificates of `ca_file`.
fn parameters(host: &str, ca_file: Option<&Path>) -> anyhow::Result<TlsParameters> {
    let mut builder = TlsParameters::builder(host.to_string());
    if let Some(path) = ca_file {
        for der in crate::tls::read_ca_file(path).map_err(anyhow::Error::msg)? {
            builder = builder.add_root_certificate(Certificate::from_der(der.to_vec())?);
        }
    }
    // With `rustls-platform-verifier`, lettre verifies against the system store (rustls-native-certs:
    // `SSL_CERT_FILE`, `SSL_CERT_DIR`, `/etc/ssl/certs`) plus the roots added above.
    builder.build_rustls().map_err(|e| {
        anyhow::anyhow!(
            "cannot set up TLS for {host}: {} (install the system CA certificates, or set `ca_file`)",
            crate::sinks::error_chain(&e)
        )
    })
}

/// When `error` is the relay's certificate being refused, the dead-letter text saying so.
pub(crate) fn certificate_refused(error: &lettre::transport::smtp::Error) -> Option<String> {
    let problem = crate::tls::certificate_problem(error, "smtp_url")?;
    Some(format!(
        "the SMTP relay's TLS certificate was not trusted: it {problem}. This will not fix \
         itself: trust the relay's CA with `ca_file` (or the system store), then `dead-letters retry` it"
    ))
}
