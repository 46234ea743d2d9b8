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
        let reason = format!(
            "configuration file {} does not exist",
            source.path.display()
        );
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
    let all = |e: figment::Error| ConfigErrors(e.into_iter().map(|e| convert(e, &[])).collect());
    let raw: RawConfig = figment.extract().map_err(all)?;
    let mut errors = Vec::new();
    let mut sinks = Vec::new();
    for (i, value) in raw.sinks.into_iter().enumerate() {
        match sink_from_value(value, &figment) {
            Ok(sink) => sinks.push(sink),
            Err(e) => errors.extend(
                e.into_iter()
                    .map(|e| convert(e, &["sinks".into(), i.to_string()])),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    let RawConfig {
        api,
        poll,
        orgs,
        store,
        delivery,
        server,
        log,
        ..
    } = raw;
    Ok(Config {
        api,
        poll,
        orgs,
        store,
        delivery,
        sinks,
        server,
        log,
    })
}

/// [`Config`] with the sinks still raw: serde's internally tagged enums buffer their content and
/// lose the key path of errors inside a sink, so sinks are dispatched on `type` by hand.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    api: super::ApiConfig,
    #[serde(default)]
    poll: super::PollConfig,
    #[serde(default)]
    orgs: Vec<super::OrgConfig>,
    #[serde(default)]
    store: super::StoreConfig,
    #[serde(default)]
    delivery: super::DeliveryConfig,
    #[serde(default)]
    sinks: Vec<figment::value::Value>,
    #[serde(default)]
    server: super::ServerConfig,
    #[serde(default)]
    log: super::LogConfig,
}

fn sink_from_value(
    value: figment::value::Value,
    figment: &Figment,
) -> Result<SinkConfig, Box<figment::Error>> {
    let tag = value.tag();
    let with_source = |mut e: figment::Error| {
        e.metadata = e.metadata.or_else(|| figment.get_metadata(tag).cloned());
        Box::new(e)
    };
    let Some(mut dict) = value.into_dict() else {
        return Err(with_source(
            "a [[sinks]] entry must be a table".to_string().into(),
        ));
    };
    let kind = dict.remove("type").and_then(|t| t.into_string());
    let rest = figment::value::Value::from(dict);
    match kind.as_deref() {
        Some("webhook") => rest
            .deserialize()
            .map(SinkConfig::Webhook)
            .map_err(with_source),
        Some("slack") => rest
            .deserialize()
            .map(SinkConfig::Slack)
            .map_err(with_source),
        Some("email") => rest
            .deserialize()
            .map(|c| SinkConfig::Email(Box::new(c)))
            .map_err(with_source),
        Some("console") => rest
            .deserialize()
            .map(SinkConfig::Console)
            .map_err(with_source),
        Some(other) => {
            let kinds = &["webhook", "slack", "email", "console"];
            let mut e = figment::Error::from(Kind::UnknownVariant(other.to_string(), kinds));
            e.path = vec!["type".into()];
            Err(with_source(e))
        }
        None => Err(with_source(Kind::MissingField("type".into()).into())),
    }
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
fn convert(error: figment::Error, parent: &[String]) -> ConfigError {
    let mut path = parent.to_vec();
    path.extend(error.path.iter().cloned());
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
            format!(
                "unknown value `{value}` (expected one of: {})",
                expected.join(", ")
            )
        }
        Kind::InvalidType(actual, expected) => format!("expected {expected}, found {actual}"),
        Kind::InvalidValue(_, expected) => format!("invalid value, expected {expected}"),
        other => other.to_string(),
    };
    let origin = error.metadata.as_ref().map(|m| match &m.source {
        Some(figment::Source::File(file)) => format!(" (in {})", file.display()),
        _ if m.name.contains("environment") => {
            format!(" (from HRN_{})", path.join("__").to_uppercase())
        }
        _ => String::new(),
    });
    ConfigError::new(
        key_path(&path),
        format!("{}{}", scrub(&reason), origin.unwrap_or_default()),
    )
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

fn resolve_secret_files(config: &mut Config) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let api = &mut config.api;
    if let Err(e) = resolve(&mut api.api_key, api.api_key_file.as_deref(), "api.api_key") {
        errors.push(e);
    }
    let server = &mut config.server;
    if let Err(e) = resolve(
        &mut server.admin_token,
        server.admin_token_file.as_deref(),
        "server.admin_token",
    ) {
        errors.push(e);
    }
    for (i, sink) in config.sinks.iter_mut().enumerate() {
        let secrets = match sink {
            SinkConfig::Webhook(c) => vec![
                (&mut c.url, c.url_file.as_deref(), "url"),
                (&mut c.secret, c.secret_file.as_deref(), "secret"),
            ],
            SinkConfig::Slack(c) => vec![(&mut c.url, c.url_file.as_deref(), "url")],
            SinkConfig::Email(c) => vec![(&mut c.password, c.password_file.as_deref(), "password")],
            SinkConfig::Console(_) => continue,
        };
        for (value, file, key) in secrets {
            if let Err(e) = resolve(value, file, &format!("sinks[{i}].{key}")) {
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
        return Err(ConfigError::new(
            key,
            format!("set either `{key}` or `{key}_file`, not both"),
        ));
    }
    let text = std::fs::read_to_string(file).map_err(|e| {
        ConfigError::new(
            format!("{key}_file"),
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Err(ConfigError::new(
            format!("{key}_file"),
            format!("{} is empty", file.display()),
        ));
    }
    *value = Some(Secret::new(text));
    Ok(())
}
