//! A string that must never be shown: API keys, signing secrets, passwords, header values.
//!
//! `Debug` and `Serialize` print `[redacted]`, so a secret cannot leak through a log line, an
//! error chain, a panic message or `hyperrep-notifier check`. Only [`Secret::expose`] reveals it,
//! and only the code that puts it on the wire calls that.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// What every redacted value prints as.
pub const REDACTED: &str = "[redacted]";

/// A secret string; see the module docs.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a value read from the configuration, the environment or a secret file.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()))
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

/// A URL with its credentials, query values and (when `whole_path`) path hidden, for display.
pub fn redact_url(url: &url::Url, whole_path: bool) -> String {
    let mut shown = url.clone();
    if !shown.username().is_empty() {
        let _ = shown.set_username(REDACTED);
    }
    if shown.password().is_some() {
        let _ = shown.set_password(Some(REDACTED));
    }
    if shown.query().is_some() {
        let names: Vec<String> = shown.query_pairs().map(|(k, _)| k.into_owned()).collect();
        shown.query_pairs_mut().clear();
        for name in names {
            shown.query_pairs_mut().append_pair(&name, REDACTED);
        }
    }
    if whole_path && shown.path() != "/" {
        shown.set_path(REDACTED);
    }
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_prints_as_redacted_in_debug_and_serialisation() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"[redacted]\"");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn a_redacted_url_keeps_host_and_hides_tokens() {
        let url = url::Url::parse("https://u:p@hooks.example.com/T0/B0/XXXX?token=abc").unwrap();
        let shown = redact_url(&url, true);
        assert!(shown.starts_with("https://"), "{shown}");
        assert!(shown.contains("hooks.example.com"), "{shown}");
        for leaked in ["XXXX", "abc", ":p@", "u:"] {
            assert!(!shown.contains(leaked), "{shown} leaks {leaked}");
        }
    }
}
