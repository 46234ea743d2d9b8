//! Configuration errors: each names the key path (`sinks[1].url`) and the reason, and never
//! quotes a value, which may be a secret.

use figment::error::Kind;
use std::fmt;

/// One configuration problem: the key path and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {reason}")]
pub struct ConfigError {
    /// Dotted key path, e.g. `api.page_size` or `sinks[1].url`.
    pub key: String,
    /// What is wrong, and where the value came from when known.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// Every problem found in one configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "invalid configuration: {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Turns one figment error into a key path and a reason, without ever quoting a value (it may
/// be a secret). Hints of our own (a likely key, the duration format) are added after the
/// scrubbing, since they quote only what we wrote.
pub(super) fn convert(error: figment::Error, parent: &[String]) -> ConfigError {
    let mut path = parent.to_vec();
    path.extend(error.path.iter().cloned());
    let reason = scrub(&reason(&error.kind, &mut path));
    let origin = error.metadata.as_ref().map(|m| match &m.source {
        Some(figment::Source::File(file)) => format!(" (in {})", file.display()),
        _ if m.name.contains("environment") => {
            format!(" (from HRN_{})", path.join("__").to_uppercase())
        }
        _ => String::new(),
    });
    ConfigError::new(
        key_path(&path),
        format!("{reason}{}", origin.unwrap_or_default()),
    )
}

/// What serde expects of every duration (`humantime_serde`'s own word for it).
const A_DURATION: &str = "a duration";

/// Why figment refused the value; completes `path` with the key itself where figment names it
/// apart.
fn reason(kind: &Kind, path: &mut Vec<String>) -> String {
    match kind {
        Kind::UnknownField(field, expected) => {
            if path.last() != Some(field) {
                path.push(field.clone());
            }
            let guess = suggestion(field, expected)
                .map(|known| format!(", did you mean `{known}`?"))
                .unwrap_or_default();
            format!(
                "unknown key{guess} (expected one of: {})",
                expected.join(", ")
            )
        }
        Kind::MissingField(field) => {
            if path.last().map(String::as_str) != Some(field.as_ref()) {
                path.push(field.to_string());
            }
            "missing required key".to_string()
        }
        Kind::UnknownVariant(value, expected) => {
            format!(
                "unknown value `{value}` (expected one of: {})",
                expected.join(", ")
            )
        }
        Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected)
            if expected == A_DURATION =>
        {
            // Backticks, not double quotes: `scrub` hides whatever is double-quoted.
            "invalid duration: expected a number and a unit, such as `60s`, `5m` or `1h30m`"
                .to_string()
        }
        Kind::InvalidType(actual, expected) => format!("expected {expected}, found {actual}"),
        Kind::InvalidValue(_, expected) => format!("invalid value, expected {expected}"),
        other => other.to_string(),
    }
}

/// The known key closest to a mistyped one, when it is close enough to be the likely intent
/// (Jaro-Winkler similarity of at least 0.8: `intervall`, `base_ur1`, `pag_size`).
fn suggestion<'a>(field: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(field, k), *k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// Hides every double-quoted part of a message: serde and the URL parser quote the value they
/// refused, and that value may be a secret (a webhook URL's token, a mistyped key).
fn scrub(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    for (i, part) in reason.split('"').enumerate() {
        out.push_str(if i % 2 == 1 {
            "\"[value hidden]\""
        } else {
            part
        });
    }
    out
}

/// `["sinks", "1", "url"]` → `sinks[1].url`.
fn key_path(path: &[String]) -> String {
    let mut key = String::new();
    for part in path {
        if part.parse::<usize>().is_ok() {
            key.push_str(&format!("[{part}]"));
        } else {
            if !key.is_empty() {
                key.push('.');
            }
            key.push_str(part);
        }
    }
    key
}
