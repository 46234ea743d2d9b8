//! `[[sinks]]` sections: one struct per sink type, chosen by `type`, and the shared `filter`.

use super::messages::{EmailSinkConfig, SlackSinkConfig};
use crate::event::{EventType, Field};
use crate::secret::{redact_secret_url, Secret};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One sink section. The set is closed: a new sink type is one variant here and one file in
/// `src/sinks/`.
///
/// Deserialised by `load` (dispatching on `type` itself, to keep error paths); serialised for
/// `check` with `type` as a key.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SinkConfig {
    /// POST the event JSON, signed per Standard Webhooks.
    Webhook(WebhookSinkConfig),
    /// A Slack incoming webhook.
    Slack(SlackSinkConfig),
    /// Email through SMTP.
    Email(Box<EmailSinkConfig>),
    /// One line per event on stdout.
    Console(ConsoleSinkConfig),
}

impl SinkConfig {
    /// The sink's unique name (used in logs, metrics and the outbox).
    pub fn name(&self) -> &str {
        match self {
            SinkConfig::Webhook(c) => &c.name,
            SinkConfig::Slack(c) => &c.name,
            SinkConfig::Email(c) => &c.name,
            SinkConfig::Console(c) => &c.name,
        }
    }

    /// The schedule whose windows the sink delivers in; `None`: any time.
    pub fn deliver_during(&self) -> Option<&str> {
        match self {
            SinkConfig::Webhook(c) => c.deliver_during.as_deref(),
            SinkConfig::Slack(c) => c.deliver_during.as_deref(),
            SinkConfig::Email(c) => c.deliver_during.as_deref(),
            SinkConfig::Console(c) => c.deliver_during.as_deref(),
        }
    }

    /// How long the sink remembers a conversation's message, for a sink that keeps one message
    /// per conversation (Slack app mode); `None` for every other sink.
    pub fn keep_messages(&self) -> Option<std::time::Duration> {
        match self {
            SinkConfig::Slack(c) if c.is_app() => Some(c.keep_messages),
            _ => None,
        }
    }

    /// Which events the sink receives; `None` means all.
    pub fn filter(&self) -> Option<&Filter> {
        match self {
            SinkConfig::Webhook(c) => c.filter.as_ref(),
            SinkConfig::Slack(c) => c.filter.as_ref(),
            SinkConfig::Email(c) => c.filter.as_ref(),
            SinkConfig::Console(c) => c.filter.as_ref(),
        }
    }
}

/// `type = "webhook"`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSinkConfig {
    /// Unique sink name.
    pub name: String,
    /// Where to POST. Its path and query may be tokens (Discord- and Teams-style hooks), so
    /// it is shown as scheme, host and port only; prefer `url_file` or an environment secret.
    #[serde(
        default,
        serialize_with = "serialize_redacted_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<Secret>,
    /// A file holding the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_file: Option<PathBuf>,
    /// Standard Webhooks signing secret, `whsec_` + base64; no signature headers when no secret
    /// is set at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    /// A file holding the signing secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<PathBuf>,
    /// Several signing secrets, for rotation: every delivery carries one signature per secret,
    /// so a receiver that knows any one of them accepts it. Instead of `secret`/`secret_file`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Secret>,
    /// Files holding one signing secret each (Docker/Kubernetes secrets), signed with after
    /// `secret` or `secrets`, in the order listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets_files: Vec<PathBuf>,
    /// What each of `secrets_files` held, filled at load (`None`: it could not be read, an
    /// error already says so); never shown.
    #[serde(skip)]
    pub(crate) secrets_from_files: Vec<Option<Secret>>,
    /// Extra request headers (for example `Authorization`); values are secrets.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Secret>,
    /// PEM file of CA certificates to trust besides the system store, for an endpoint whose
    /// certificate a private (corporate) CA signed; checked at load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Which events to send; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    /// A `[[schedules]]` name: outside its windows entries wait (never dropped, never counted as
    /// failures) and go out when the next window opens; any time when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_during: Option<String>,
}

impl WebhookSinkConfig {
    /// Every signing secret, in signing order, each with the key it came from (relative to the
    /// sink, e.g. `secrets[1]`): `secret` (or `secret_file`), `secrets`, then `secrets_files`.
    pub(crate) fn signing_secrets(&self) -> Vec<(String, &Secret)> {
        let single = self.secret.iter().map(|s| ("secret".to_string(), s));
        let listed = (self.secrets.iter().enumerate()).map(|(i, s)| (format!("secrets[{i}]"), s));
        let files = (self.secrets_from_files.iter().enumerate())
            .filter_map(|(i, s)| Some((format!("secrets_files[{i}]"), s.as_ref()?)));
        single.chain(listed).chain(files).collect()
    }
}

/// `type = "console"`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSinkConfig {
    /// Unique sink name.
    pub name: String,
    /// `text` (one readable line per event, the default) or `json` (the event envelope).
    #[serde(default)]
    pub format: ConsoleFormat,
    /// Which events to print; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    /// A `[[schedules]]` name: outside its windows entries wait (never dropped, never counted as
    /// failures) and go out when the next window opens; any time when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_during: Option<String>,
}

/// How the console sink writes an event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsoleFormat {
    /// One readable line.
    #[default]
    Text,
    /// The event envelope as one JSON line.
    Json,
}

/// `[sinks.filter]`: fields combine with AND, list values with OR.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Event types to accept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventType>>,
    /// An update must change at least one of these fields (created/removed pass).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Field>>,
    /// The conversation's current folder must be one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<Vec<String>>,
    /// The conversation's current read state must be this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_read: Option<bool>,
    /// The event's org must be one of these ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orgs: Option<Vec<String>>,
}

fn serialize_redacted_url<S: Serializer>(
    url: &Option<Secret>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match url {
        Some(url) => serializer.serialize_str(&redact_secret_url(url)),
        None => serializer.serialize_none(),
    }
}

/// `delivery.notify_sinks` must name configured sinks, each once.
pub(super) fn check_notify_sinks(config: &super::Config, errors: &mut Vec<super::ConfigError>) {
    let mut seen = std::collections::HashSet::new();
    for (i, name) in config.delivery.notify_sinks.iter().enumerate() {
        let key = format!("delivery.notify_sinks[{i}]");
        if !config.sinks.iter().any(|s| s.name() == name) {
            let reason = format!("names no configured sink (`{name}`)");
            errors.push(super::ConfigError::new(key, reason));
        } else if !seen.insert(name) {
            errors.push(super::ConfigError::new(
                key,
                "the same sink is listed twice",
            ));
        }
    }
}
