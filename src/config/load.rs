//! Loading: the TOML file, then `HRN_SECTION__KEY` environment overrides, then `*_file` secrets,
//! then validation. Every failure becomes a [`ConfigError`] that names the key path.

use super::errors::convert;
pub use super::errors::{ConfigError, ConfigErrors};
use super::{validate, Config, SinkConfig};
use crate::secret::Secret;
use figment::error::Kind;
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use std::path::PathBuf;

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

/// What a sink section needs beyond the configuration's own rules, supplied by the sinks
/// themselves (`crate::sinks::check`): the configuration does not know its sinks' insides.
pub type SinkChecks = fn(&Config) -> Vec<ConfigError>;

/// Loads, resolves and validates the configuration from `source` and the process environment,
/// by the configuration's own rules only; [`load_with`] adds the sinks' checks.
pub fn load(source: &ConfigSource) -> Result<Config, ConfigErrors> {
    load_with(source, |_| Vec::new())
}

/// [`load`], with every mistake `sinks` finds reported beside the configuration's own.
pub fn load_with(source: &ConfigSource, sinks: SinkChecks) -> Result<Config, ConfigErrors> {
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
    let mut config = from_figment(figment.merge(env))?;
    log_format_from_env(&mut config).map_err(|e| ConfigErrors(vec![e]))?;
    finish(config, sinks)
}

/// `HRN_LOG_FORMAT` (read by logging, which may start before any configuration) wins over
/// `log.format`; it is applied here too, so that `check` shows the format actually in force.
fn log_format_from_env(config: &mut Config) -> Result<(), ConfigError> {
    let Ok(value) = std::env::var("HRN_LOG_FORMAT") else {
        return Ok(());
    };
    config.log.format = match value.to_ascii_lowercase().as_str() {
        "text" => super::LogFormat::Text,
        "json" => super::LogFormat::Json,
        _ => {
            let reason = "HRN_LOG_FORMAT must be `text` or `json`";
            return Err(ConfigError::new("log.format", reason));
        }
    };
    Ok(())
}

/// Loads from TOML text alone (no environment), then resolves and validates by the
/// configuration's own rules: for tests and tools.
pub fn load_str(toml: &str) -> Result<Config, ConfigErrors> {
    load_str_with(toml, |_| Vec::new())
}

/// [`load_str`], with the sinks' checks.
pub fn load_str_with(toml: &str, sinks: SinkChecks) -> Result<Config, ConfigErrors> {
    finish(from_figment(Figment::from(Toml::string(toml)))?, sinks)
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
        schedules,
        reminders,
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
        schedules,
        reminders,
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
    schedules: Vec<super::ScheduleConfig>,
    #[serde(default)]
    reminders: Vec<super::ReminderConfig>,
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

fn finish(mut config: Config, sinks: SinkChecks) -> Result<Config, ConfigErrors> {
    let mut errors = resolve_secret_files(&mut config);
    errors.extend(validate::validate(&config));
    errors.extend(sinks(&config));
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(errors))
    }
}

fn resolve_secret_files(config: &mut Config) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let api = &mut config.api;
    if let Err(e) = resolve(&mut api.api_key, &mut api.api_key_file, "api.api_key") {
        errors.push(e);
    }
    let server = &mut config.server;
    if let Err(e) = resolve(
        &mut server.admin_token,
        &mut server.admin_token_file,
        "server.admin_token",
    ) {
        errors.push(e);
    }
    for (i, sink) in config.sinks.iter_mut().enumerate() {
        let secrets = match sink {
            SinkConfig::Webhook(c) => {
                errors.extend(resolve_webhook_secrets(c, &format!("sinks[{i}]")));
                vec![
                    (&mut c.url, &mut c.url_file, "url"),
                    (&mut c.secret, &mut c.secret_file, "secret"),
                ]
            }
            SinkConfig::Slack(c) => vec![
                (&mut c.url, &mut c.url_file, "url"),
                (&mut c.bot_token, &mut c.bot_token_file, "bot_token"),
            ],
            SinkConfig::Email(c) => vec![(&mut c.password, &mut c.password_file, "password")],
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

/// Fills `value` from `file` when only the file is given. An empty path means no file: the
/// environment cannot remove a key that the file sets, but `HRN_API__API_KEY_FILE=` can empty it,
/// so that `HRN_API__API_KEY` can take over without editing the file.
fn resolve(
    value: &mut Option<Secret>,
    file: &mut Option<PathBuf>,
    key: &str,
) -> Result<(), ConfigError> {
    if file.as_ref().is_some_and(|f| f.as_os_str().is_empty()) {
        *file = None;
    }
    let Some(file) = file.as_deref() else {
        return Ok(());
    };
    if value.is_some() {
        return Err(ConfigError::new(
            key,
            format!("set either `{key}` or `{key}_file`, not both"),
        ));
    }
    *value = Some(read_secret_file(file, &format!("{key}_file"))?);
    Ok(())
}

/// A webhook's list of secrets: `secrets` takes the place of `secret`/`secret_file` (both would
/// leave the signing order unclear), and each of `secrets_files` holds one more secret.
fn resolve_webhook_secrets(hook: &mut super::WebhookSinkConfig, key: &str) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let single_file = hook
        .secret_file
        .as_ref()
        .is_some_and(|f| !f.as_os_str().is_empty());
    if !hook.secrets.is_empty() && (hook.secret.is_some() || single_file) {
        let single = if single_file { "secret_file" } else { "secret" };
        let reason = format!(
            "set either `{single}` or `secrets`, not both (list every secret in `secrets`)"
        );
        errors.push(ConfigError::new(format!("{key}.secrets"), reason));
    }
    hook.secrets_from_files.clear();
    for (j, file) in hook.secrets_files.iter().enumerate() {
        // A file that cannot be read keeps its place (`None`), so later ones keep their index.
        let secret = match read_secret_file(file, &format!("{key}.secrets_files[{j}]")) {
            Ok(secret) => Some(secret),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        hook.secrets_from_files.push(secret);
    }
    errors
}

/// The secret a file holds, surrounding whitespace removed; errors name `key`, never the value.
fn read_secret_file(file: &std::path::Path, key: &str) -> Result<Secret, ConfigError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| ConfigError::new(key, format!("cannot read {}: {e}", file.display())))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(ConfigError::new(
            key,
            format!("{} is empty", file.display()),
        ));
    }
    Ok(Secret::new(text))
}
