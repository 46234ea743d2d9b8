//! The configuration: its shape, its defaults and what every key means.
//!
//! Loading (figment: TOML file, then `HRN_SECTION__KEY` environment overrides, then `*_file`
//! secrets) lives in [`load`]; the checks that need more than a type live in [`validate`]; sink
//! sections and filters live in [`sinks`]. Every struct denies unknown keys, so a typo stops the
//! start instead of silently disabling an alert.

mod errors;
mod load;
mod messages;
mod reminders;
mod schedules;
mod server;
mod sinks;
mod validate;
mod warnings;

pub use load::{
    load, load_str, load_str_with, load_with, ConfigError, ConfigErrors, ConfigSource, SinkChecks,
};

/// The checks that sinks share for their own sections (`crate::sinks::check`).
pub(crate) mod checks {
    pub(crate) use super::validate::{check_flood_limit, check_http_url, check_secret_url};
}
pub use messages::{
    EmailSinkConfig, EmailTemplates, MessageStyle, SlackSinkConfig, SlackTemplates,
};
pub use reminders::{ReminderConfig, StateFilter, StepConfig};
pub use schedules::ScheduleConfig;
pub use server::ServerConfig;
pub use sinks::{ConsoleFormat, ConsoleSinkConfig, Filter, SinkConfig, WebhookSinkConfig};
pub use warnings::warnings;

use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// The whole configuration of one notifier.
/// Deserialised through `load` (which handles the sinks), serialised for `check`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Config {
    /// How to reach the HyperRep API.
    pub api: ApiConfig,
    /// When and how to list conversations.
    pub poll: PollConfig,
    /// The organizations to watch.
    pub orgs: Vec<OrgConfig>,
    /// Where state, the outbox and dead letters are kept.
    pub store: StoreConfig,
    /// Retries, backoff and dead-lettering of deliveries.
    pub delivery: DeliveryConfig,
    /// Where events go.
    pub sinks: Vec<SinkConfig>,
    /// Named delivery windows: sinks deliver only inside the one they name in `deliver_during`.
    pub schedules: Vec<ScheduleConfig>,
    /// Rules over a conversation's state ("unread in the inbox") and the escalation steps
    /// sent while it stays in it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reminders: Vec<ReminderConfig>,
    /// Health, readiness, metrics, status and admin endpoints.
    pub server: ServerConfig,
    /// Log format.
    pub log: LogConfig,
}

/// `[api]`: the HyperRep client.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Root URL of the API (the paths `/api/v2/...` are appended).
    pub base_url: Url,
    /// The `X-API-KEY` value. Prefer `api_key_file` or `HRN_API__API_KEY`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    /// A file holding the API key (Docker/Kubernetes secret); surrounding whitespace is ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_file: Option<PathBuf>,
    /// Conversations per page: the `limit` query parameter, 1 to 100.
    pub page_size: u32,
    /// Time limit of one request, from connect to the last byte.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Retries of one request after a connect error, a timeout, a 429 or a 5xx.
    pub max_retries: u32,
    /// First wait between retries; doubles each time, with full jitter.
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
    /// Longest wait between retries (a `Retry-After` from the API is honoured beyond it).
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Client-side ceiling on requests per second, shared by all orgs.
    pub requests_per_second: u32,
    /// Longest hold a `Retry-After` from the API puts on every request with this key: upstream
    /// may ask for any wait, and a wrong or hostile header must not stop polling for good.
    #[serde(with = "humantime_serde")]
    pub max_retry_after: Duration,
    /// Largest listing page read, in bytes: the body is read in chunks up to it, so an upstream
    /// fault cannot make the process grow without bound. A larger page makes the listing incomplete.
    pub max_page_bytes: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            base_url: Url::parse("https://api.hyperrep.ai").expect("a valid default URL"),
            api_key: None,
            api_key_file: None,
            page_size: 100,
            timeout: Duration::from_secs(15),
            max_retries: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            requests_per_second: 10,
            max_retry_after: Duration::from_secs(600),
            max_page_bytes: 8 * 1024 * 1024,
        }
    }
}

/// What the first listing of an org does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InitialMode {
    /// Record what exists and send nothing; changes after that are notified.
    #[default]
    Baseline,
    /// Send `conversation.created` for every conversation seen the first time.
    Notify,
}

/// `[poll]`: the poll loop.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PollConfig {
    /// Time between the starts of two polls of an org (each org keeps its own rhythm).
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// `baseline` (default) or `notify`: see [`InitialMode`].
    pub initial: InitialMode,
    /// Emit `conversation.removed` for what a complete listing no longer contains.
    pub detect_removed: bool,
    /// Orgs listed at the same time; each org's pages stay in order.
    pub concurrency: usize,
    /// The longest wait between polls of an org whose polls keep failing (401, outage, garbage):
    /// failures double the wait from `interval`, so a broken org does not hammer the API.
    #[serde(with = "humantime_serde")]
    pub max_failure_delay: Duration,
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            interval: Duration::from_secs(60),
            initial: InitialMode::Baseline,
            detect_removed: false,
            concurrency: 4,
            max_failure_delay: Duration::from_secs(600),
        }
    }
}

/// `[[orgs]]`: one watched organization.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrgConfig {
    /// The organization id, as HyperRep returns it.
    pub id: String,
    /// A label used in messages; the id when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl OrgConfig {
    /// The label to show people.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// `[store]`: the sled database.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// The sled directory; created when missing.
    pub path: PathBuf,
    /// sled's page cache in MiB (sled's own default is about 1 GiB). Polls read the store only
    /// for changed conversations once their fingerprints are known, so it matters most for the
    /// first poll after a start and for `run --once`.
    pub cache_mb: u64,
    /// A store smaller than this (MiB) is never compacted: sled's files grow by about half over
    /// hundreds of polls of scattered changes, which is not worth a rewrite in a small store.
    pub compact_min_mb: u64,
    /// A store is rewritten into a compact copy once it has grown by this share (percent) over
    /// its size after the last compaction, so that the volume holds the data, not sled's
    /// leftovers; the rewrite costs about what a first listing of the store costs.
    pub compact_growth_percent: u32,
}

impl StoreConfig {
    /// When the store is compacted (see [`StoreConfig::compact_growth_percent`]).
    pub fn compaction(&self) -> crate::store::Compaction {
        crate::store::Compaction {
            min_bytes: self.compact_min_mb.saturating_mul(1024 * 1024),
            growth: 1.0 + f64::from(self.compact_growth_percent) / 100.0,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from("data"),
            cache_mb: 16,
            compact_min_mb: 8,
            compact_growth_percent: 10,
        }
    }
}

/// `[delivery]`: how the outbox is delivered to sinks.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Attempts per (event, sink) before the entry becomes a dead letter.
    pub max_attempts: u32,
    /// First wait after a failed attempt; doubles each time, with full jitter.
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
    /// Longest wait between two attempts; a sink's `Retry-After` is honoured up to it (a longer
    /// one is capped here and counts as a failed attempt, so no entry is parked forever).
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// An entry still undelivered this long after it was queued becomes a dead letter, attempted
    /// or not: a notification that late is no longer news, and the queue must not grow forever.
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
    /// How long dead letters are kept for an operator to inspect and retry; older ones are
    /// removed (hourly), so a sink that stays broken cannot fill the disk.
    #[serde(with = "humantime_serde")]
    pub keep_dead_letters: Duration,
    /// How long delivered events are kept (by their detection time) so that `replay` can send
    /// them again; older ones are removed hourly, so the log stays bounded. `0s` keeps none.
    #[serde(with = "humantime_serde")]
    pub keep_delivered: Duration,
    /// Time limit of one delivery attempt.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Deliveries in flight at once, per sink.
    pub concurrency: usize,
    /// A sink whose every attempt failed for this long is disabled (kept, not attempted) until
    /// an operator enables it, instead of retrying forever; `0s`: never by time (a webhook that
    /// answers 410 Gone is disabled whatever this says).
    #[serde(with = "humantime_serde")]
    pub disable_after: Duration,
    /// The sinks told when a sink is disabled (a `sink.disabled` event), so a person learns of
    /// it from a channel that still works.
    pub notify_sinks: Vec<String>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            max_attempts: 12,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(600),
            max_age: Duration::from_secs(24 * 3600),
            keep_dead_letters: Duration::from_secs(30 * 24 * 3600),
            keep_delivered: Duration::from_secs(7 * 24 * 3600),
            timeout: Duration::from_secs(10),
            concurrency: 8,
            disable_after: Duration::from_secs(5 * 24 * 3600),
            notify_sinks: Vec::new(),
        }
    }
}

/// `[log]`: how log lines are written (to stderr; the level comes from `RUST_LOG`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` (readable, the default) or `json` (one object per line); `HRN_LOG_FORMAT` wins.
    pub format: LogFormat,
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl Config {
    /// The org with this id, if configured.
    pub fn org(&self, id: &str) -> Option<&OrgConfig> {
        self.orgs.iter().find(|org| org.id == id)
    }

    /// The effective configuration as TOML, every secret shown as `[redacted]`.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

#[cfg(test)]
mod tests;
