//! Checks that a type cannot express: ranges, uniqueness, cross-references, decodable secrets.

use super::{ApiConfig, Config, ConfigError, DeliveryConfig, EmailSinkConfig, Filter, SinkConfig};
use crate::secret::Secret;
use std::collections::HashSet;
use std::time::Duration;
use url::Url;

/// Every problem of an extracted configuration; empty when it is valid.
pub fn validate(config: &Config) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    check_api(&config.api, &mut errors);
    check_poll_store_delivery(config, &mut errors);
    check_orgs(config, &mut errors);
    check_sinks(config, &mut errors);
    super::schedules::check(config, &mut errors);
    super::reminders::check(config, &mut errors);
    errors
}

/// The smallest `api.max_page_bytes` accepted.
const MIN_PAGE_BYTES: u64 = 64 * 1024;

fn check_api(api: &ApiConfig, errors: &mut Vec<ConfigError>) {
    if api.api_key.is_none() {
        let reason = "required: set `api.api_key`, `api.api_key_file` or HRN_API__API_KEY";
        errors.push(ConfigError::new("api.api_key", reason));
    }
    check_http_url(&api.base_url, "api.base_url", errors);
    if !(1..=100).contains(&api.page_size) {
        errors.push(ConfigError::new(
            "api.page_size",
            "must be between 1 and 100",
        ));
    }
    if api.requests_per_second == 0 {
        errors.push(ConfigError::new(
            "api.requests_per_second",
            "must be at least 1",
        ));
    }
    positive(api.timeout, "api.timeout", errors);
    positive(api.max_retry_after, "api.max_retry_after", errors);
    if api.max_page_bytes < MIN_PAGE_BYTES {
        // A full page of 100 ordinary records is well over 16 KiB; less would refuse real pages.
        errors.push(ConfigError::new(
            "api.max_page_bytes",
            format!("must be at least {MIN_PAGE_BYTES} (64 KiB)"),
        ));
    }
    positive(api.initial_backoff, "api.initial_backoff", errors);
    if api.initial_backoff > api.max_backoff {
        errors.push(ConfigError::new(
            "api.max_backoff",
            "must not be shorter than api.initial_backoff",
        ));
    }
}

fn check_poll_store_delivery(config: &Config, errors: &mut Vec<ConfigError>) {
    if config.poll.interval < Duration::from_millis(100) {
        errors.push(ConfigError::new("poll.interval", "must be at least 100ms"));
    }
    if config.poll.concurrency == 0 {
        errors.push(ConfigError::new("poll.concurrency", "must be at least 1"));
    }
    if config.store.cache_mb == 0 {
        errors.push(ConfigError::new("store.cache_mb", "must be at least 1"));
    }
    if config.store.compact_growth_percent == 0 {
        // At 0 % every check would find the store due: a rewrite after every poll.
        errors.push(ConfigError::new(
            "store.compact_growth_percent",
            "must be at least 1",
        ));
    }
    if config.store.path.as_os_str().is_empty() {
        errors.push(ConfigError::new("store.path", "must not be empty"));
    }
    check_delivery(&config.delivery, errors);
    super::sinks::check_notify_sinks(config, errors);
    super::server::check(&config.server, errors);
}

fn check_delivery(delivery: &DeliveryConfig, errors: &mut Vec<ConfigError>) {
    if delivery.max_attempts == 0 {
        errors.push(ConfigError::new(
            "delivery.max_attempts",
            "must be at least 1",
        ));
    }
    if delivery.concurrency == 0 {
        errors.push(ConfigError::new(
            "delivery.concurrency",
            "must be at least 1",
        ));
    }
    positive(delivery.initial_backoff, "delivery.initial_backoff", errors);
    positive(delivery.timeout, "delivery.timeout", errors);
    positive(delivery.max_age, "delivery.max_age", errors);
    if delivery.initial_backoff > delivery.max_backoff {
        let reason = "must not be shorter than delivery.initial_backoff";
        errors.push(ConfigError::new("delivery.max_backoff", reason));
    }
}

fn check_orgs(config: &Config, errors: &mut Vec<ConfigError>) {
    if config.orgs.is_empty() {
        errors.push(ConfigError::new(
            "orgs",
            "at least one [[orgs]] entry with an `id` is required",
        ));
    }
    let mut seen = HashSet::new();
    for (i, org) in config.orgs.iter().enumerate() {
        if org.id.trim().is_empty() {
            errors.push(ConfigError::new(
                format!("orgs[{i}].id"),
                "must not be empty",
            ));
        } else if !seen.insert(org.id.as_str()) {
            errors.push(ConfigError::new(
                format!("orgs[{i}].id"),
                "the same org is listed twice",
            ));
        }
    }
}

fn check_sinks(config: &Config, errors: &mut Vec<ConfigError>) {
    if config.sinks.is_empty() {
        errors.push(ConfigError::new(
            "sinks",
            "at least one [[sinks]] entry is required",
        ));
    }
    let mut names = HashSet::new();
    for (i, sink) in config.sinks.iter().enumerate() {
        let key = format!("sinks[{i}]");
        let name = sink.name();
        if !is_plain_name(name) {
            let reason = "must be non-empty and use only letters, digits, `-`, `_` and `.`";
            errors.push(ConfigError::new(format!("{key}.name"), reason));
        } else if !names.insert(name) {
            errors.push(ConfigError::new(
                format!("{key}.name"),
                format!("`{name}` is used twice"),
            ));
        }
        match sink {
            SinkConfig::Webhook(hook) => {
                check_secret_url(hook.url.as_ref(), &key, errors);
                check_webhook_extras(hook, &key, errors);
            }
            // A Slack sink's section is the sink's own to check (`crate::sinks::check`).
            SinkConfig::Slack(_) => {}
            SinkConfig::Email(email) => check_email(email, &key, errors),
            SinkConfig::Console(_) => {}
        }
        if let Some(filter) = sink.filter() {
            check_filter(filter, config, &format!("{key}.filter"), errors);
        }
    }
}

fn check_webhook_extras(hook: &super::WebhookSinkConfig, key: &str, errors: &mut Vec<ConfigError>) {
    check_ca_file(hook.ca_file.as_deref(), key, errors);
    for (name, value) in &hook.headers {
        let header_key = format!("{key}.headers.{name}");
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            errors.push(ConfigError::new(header_key, "not a valid HTTP header name"));
        } else if reqwest::header::HeaderValue::from_str(value.expose()).is_err() {
            errors.push(ConfigError::new(
                header_key,
                "not a valid HTTP header value",
            ));
        }
    }
}

/// The `url` of a sink whose URL is a secret (from `url`, `url_file` or the environment).
pub(crate) fn check_secret_url(url: Option<&Secret>, key: &str, errors: &mut Vec<ConfigError>) {
    match url {
        None => errors.push(ConfigError::new(
            format!("{key}.url"),
            "required: set `url` or `url_file`",
        )),
        Some(url) => match Url::parse(url.expose()) {
            Ok(url) => check_http_url(&url, &format!("{key}.url"), errors),
            // The URL is the secret: say what is wrong, never what it is.
            Err(e) => errors.push(ConfigError::new(
                format!("{key}.url"),
                format!("not a URL ({e})"),
            )),
        },
    }
}

fn check_email(email: &EmailSinkConfig, key: &str, errors: &mut Vec<ConfigError>) {
    check_ca_file(email.ca_file.as_deref(), key, errors);
    if email.to.is_empty() {
        errors.push(ConfigError::new(
            format!("{key}.to"),
            "at least one recipient is required",
        ));
    }
    if email.username.is_some() != email.password.is_some() {
        let reason = "`username` and `password` (or `password_file`) go together";
        errors.push(ConfigError::new(format!("{key}.password"), reason));
    }
    if email.digest.is_some_and(|d| d < Duration::from_secs(1)) {
        errors.push(ConfigError::new(
            format!("{key}.digest"),
            "must be at least 1s",
        ));
    }
    check_flood_limit(email.max_messages_per_poll, key, errors);
}

/// A `ca_file` must exist and hold at least one PEM certificate.
fn check_ca_file(file: Option<&std::path::Path>, key: &str, errors: &mut Vec<ConfigError>) {
    if let Some(Err(reason)) = file.map(crate::tls::read_ca_file) {
        errors.push(ConfigError::new(format!("{key}.ca_file"), reason));
    }
}

pub(crate) fn check_flood_limit(limit: usize, key: &str, errors: &mut Vec<ConfigError>) {
    if limit == 0 {
        errors.push(ConfigError::new(
            format!("{key}.max_messages_per_poll"),
            "must be at least 1",
        ));
    }
}

pub(super) fn check_filter(
    filter: &Filter,
    config: &Config,
    key: &str,
    errors: &mut Vec<ConfigError>,
) {
    let empty = [
        ("events", filter.events.as_ref().is_some_and(Vec::is_empty)),
        (
            "changes",
            filter.changes.as_ref().is_some_and(Vec::is_empty),
        ),
        ("folder", filter.folder.as_ref().is_some_and(Vec::is_empty)),
        ("orgs", filter.orgs.as_ref().is_some_and(Vec::is_empty)),
    ];
    for (field, is_empty) in empty {
        if is_empty {
            let reason = "an empty list matches nothing; remove the key to match everything";
            errors.push(ConfigError::new(format!("{key}.{field}"), reason));
        }
    }
    for org in filter.orgs.iter().flatten() {
        if config.org(org).is_none() {
            let reason = format!("`{org}` is not one of the configured [[orgs]] ids");
            errors.push(ConfigError::new(format!("{key}.orgs"), reason));
        }
    }
}

/// A name fit for logs, metrics labels and store keys: non-empty, letters, digits, `-_.`.
pub(super) fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

pub(crate) fn check_http_url(url: &Url, key: &str, errors: &mut Vec<ConfigError>) {
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        errors.push(ConfigError::new(
            key,
            "must be an http:// or https:// URL with a host",
        ));
    }
}

fn positive(value: Duration, key: &str, errors: &mut Vec<ConfigError>) {
    if value.is_zero() {
        errors.push(ConfigError::new(key, "must be longer than zero"));
    }
}
