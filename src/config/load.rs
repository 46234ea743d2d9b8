//! Loading: the TOML file, then `HRN_SECTION__KEY` environment overrides, then `*_file` secrets,
//! then validation. Every failure becomes a [`ConfigError`] that names the key path.

use super::{validate, Config, SinkConfig};
use crate::secret::Secret;
use figment::error::Kind;
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use std::fmt;
use std::path::{Path, PathBuf};

/// Environment variables with the `HRN_` prefix that are not configuration keys.
const NOT_CONFIG_KEYS: &[&str] = &["config", "log_format"];

/// Where the configuration file is, and whether the user named it (a named file must exist; the
/// default one may be absent, for environment-only set-ups such as containers).
#[derive(Debug, Clone)]
pub struct ConfigSource {
    /// The TOML file.
    pub path: PathBuf,
    /// Named by `--config` or `HRN_CONFIG`.
    pub explicit: bool,
}

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

/// Loads, resolves and validates the configuration from `source` and the process environment.
pub fn load(source: &ConfigSource) -> Result<Config, ConfigErrors> {
    let mut figment = Figment::new();
    if source.path.exists() {
        figment = figment.merge(Toml::file_exact(&source.path));
    } else if source.explicit {
        let reason = format!("configuration file {} does not exist", source.path.display());
        return Err(ConfigErrors(vec![ConfigError::new("--config", reason)]));
    }
    let env = Env::prefixed("HRN_").ignore(NOT_CONFIG_KEYS).split("__");
    let config = from_figment(figment.merge(env))?;
    finish(config)
}

/// Loads from TOML text alone (no environment), then resolves and validates: for tests and tools.
pub fn load_str(toml: &str) -> Result<Config, ConfigErrors> {
    finish(from_figment(Figment::from(Toml::string(toml)))?)
}

fn from_figment(figment: Figment) -> Result<Config, ConfigErrors> {
    figment
        .extract::<Config>()
        .map_err(|e| ConfigErrors(e.into_iter().map(convert).collect()))
}

fn finish(mut config: Config) -> Result<Config, ConfigErrors> {
    let mut errors = resolve_secret_files(&mut config);
    errors.extend(validate::validate(&config));
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// Turns one figment error into a key path and a reason, without ever quoting a value (it may
/// be a secret).
fn convert(error: figment::Error) -> ConfigError {
    let mut path = error.path.clone();
    let reason = match &error.kind {
        Kind::UnknownField(field, expected) => {
            if path.last() != Some(field) {
                path.push(field.clone());
            }
            format!("unknown key (expected one of: {})", expected.join(", "))
        }
        Kind::MissingField(field) => {
            if path.last().map(String::as_str) != Some(field.as_ref()) {
                path.push(field.to_string());
            }
            "missing required key".to_string()
        }
        Kind::UnknownVariant(value, expected) => {
            format!("unknown value `{value}` (expected one of: {})", expected.join(", "))
        }
        Kind::InvalidType(actual, expected) => format!("expected {expected}, found {actual}"),
        Kind::InvalidValue(_, expected) => format!("invalid value, expected {expected}"),
        other => other.to_string(),
    };
    let origin = error.metadata.as_ref().map(|m| match &m.source {
        Some(figment::Source::File(file)) => format!(" (in {})", file.display()),
        _ => format!(" (from {})", m.interpolate(&error.profile.clone().unwrap_or_default(), &path)),
    });
    ConfigError::new(key_path(&path), format!("{reason}{}", origin.unwrap_or_default()))
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

fn resolve_secret_files(config: &mut Config) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let api = &mut config.api;
    if let Err(e) = resolve(&mut api.api_key, api.api_key_file.as_deref(), "api.api_key") {
        errors.push(e);
    }
    for (i, sink) in config.sinks.iter_mut().enumerate() {
        if let SinkConfig::Webhook(hook) = sink {
            let key = format!("sinks[{i}].secret");
            if let Err(e) = resolve(&mut hook.secret, hook.secret_file.as_deref(), &key) {
                errors.push(e);
            }
        }
    }
    errors
}

/// Fills `value` from `file` when only the file is given.
fn resolve(value: &mut Option<Secret>, file: Option<&Path>, key: &str) -> Result<(), ConfigError> {
    let Some(file) = file else { return Ok(()) };
    if value.is_some() {
        return Err(ConfigError::new(key, format!("set either `{key}` or `{key}_file`, not both")));
    }
    let text = std::fs::read_to_string(file).map_err(|e| {
        ConfigError::new(format!("{key}_file"), format!("cannot read {}: {e}", file.display()))
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Err(ConfigError::new(format!("{key}_file"), format!("{} is empty", file.display())));
    }
    *value = Some(Secret::new(text));
    Ok(())
}
