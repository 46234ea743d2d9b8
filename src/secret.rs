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
    redact_url_keeping(url, whole_path, &[])
}

/// [`redact_url`], but the values of the query parameters named in `keep` are shown (for
/// parameters known not to be secret, such as `smtp_url`'s `tls`).
pub(crate) fn redact_url_keeping(url: &url::Url, whole_path: bool, keep: &[&str]) -> String {
    let mut shown = url.clone();
    if !shown.username().is_empty() {
        let _ = shown.set_username(REDACTED);
    }
    if shown.password().is_some() {
        let _ = shown.set_password(Some(REDACTED));
    }
    if shown.query().is_some() {
        let pairs: Vec<(String, String)> = shown.query_pairs().into_owned().collect();
        shown.query_pairs_mut().clear();
        for (name, value) in pairs {
            let value = if keep.contains(&name.as_str()) {
                value.as_str()
            } else {
                REDACTED
            };
            shown.query_pairs_mut().append_pair(&name, value);
        }
    }
    if whole_path && shown.path() != "/" {
        shown.set_path(REDACTED);
    }
    shown.to_string()
}

/// A URL shown as its scheme, host and port only: anything after them (credentials, path,
/// query, fragment) becomes `/[redacted]`. For URLs whose path may itself be a token (Discord-
/// and Teams-style webhooks); `https://discord.com/api/webhooks/1/T` shows as
/// `https://discord.com/[redacted]`.
pub(crate) fn redact_to_origin(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let bare = url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    let rest = if bare { "" } else { REDACTED };
    format!("{}://{host}{port}/{rest}", url.scheme())
}

/// A URL held as a [`Secret`] (parsed or not), shown with [`redact_to_origin`]; a value that
/// does not parse shows as `[redacted]`.
pub(crate) fn redact_secret_url(url: &Secret) -> String {
    url::Url::parse(url.expose()).map_or_else(|_| REDACTED.to_string(), |u| redact_to_origin(&u))
}

/// Path segments and query values at least this long are taken for tokens by [`hide_url_tokens`]
/// (shorter ones, such as `api` or `123`, are words and ids; real tokens are far longer).
const TOKEN_LENGTH: usize = 8;

/// `text` (say, an answer's body) with every trace of `url`'s secret parts replaced by
/// `[redacted]`: servers echo the request path (`Cannot POST /api/webhooks/1/T…`).
pub(crate) fn hide_url_tokens(text: &str, url: &url::Url) -> String {
    let mut parts: Vec<String> = vec![url.path().to_string()];
    parts.extend(url.query().map(str::to_string));
    parts.extend(
        url.path_segments()
            .into_iter()
            .flatten()
            .map(str::to_string),
    );
    parts.extend(url.query_pairs().map(|(_, v)| v.into_owned()));
    parts.extend(url.password().map(str::to_string));
    parts.push(url.username().to_string());
    // Longest first, so a token is hidden whole rather than around a shorter part of it.
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    parts
        .iter()
        .filter(|p| p.len() >= TOKEN_LENGTH)
        .fold(text.to_string(), |text, part| {
            text.replace(part.as_str(), REDACTED)
        })
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

    #[test]
    fn a_url_redacted_to_its_origin_shows_scheme_host_and_port_only() {
        let shown = |text: &str| redact_to_origin(&url::Url::parse(text).unwrap());
        assert_eq!(
            shown("https://discord.com/api/webhooks/123/AbCdEf?wait=true"),
            "https://discord.com/[redacted]"
        );
        assert_eq!(
            shown("http://u:p@127.0.0.1:8080/?token=abc#frag"),
            "http://127.0.0.1:8080/[redacted]"
        );
        assert_eq!(shown("https://[::1]:9/x"), "https://[::1]:9/[redacted]");
        assert_eq!(shown("https://example.com"), "https://example.com/");
        assert_eq!(redact_secret_url(&Secret::new("not a url")), "[redacted]");
    }

    #[test]
    fn tokens_of_a_url_echoed_in_a_body_are_hidden() {
        let url = url::Url::parse("https://h.example/api/webhooks/123/AbCdEf0123?token=Qu3ryT0ken")
            .unwrap();
        let body = "Cannot POST /api/webhooks/123/AbCdEf0123?token=Qu3ryT0ken; token AbCdEf0123 and Qu3ryT0ken";
        let shown = hide_url_tokens(body, &url);
        for leaked in ["AbCdEf0123", "Qu3ryT0ken"] {
            assert!(!shown.contains(leaked), "{shown} leaks {leaked}");
        }
        assert!(shown.starts_with("Cannot POST [redacted]"), "{shown}");
    }
}
