//! Sections of the sinks that write messages for people: Slack and email. Both take templates,
//! a time zone, an optional link to the conversation, and a flood limit.

use super::Filter;
use crate::secret::{redact_url_keeping, Secret};
use chrono_tz::Tz;
use lettre::message::Mailbox;
use serde::{Deserialize, Serialize, Serializer};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// `type = "slack"`: a Slack incoming webhook.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlackSinkConfig {
    /// Unique sink name.
    pub name: String,
    /// The incoming-webhook URL. The URL is the secret: prefer `url_file` or an environment secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Secret>,
    /// A file holding the webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_file: Option<PathBuf>,
    /// Slack app mode instead of `url`: a bot token (`xoxb-…`, scopes `chat:write` and
    /// `channels:history`), so that each conversation gets one message that is kept up to date
    /// instead of a new message per change. A secret: prefer `bot_token_file` or the environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_token: Option<Secret>,
    /// A file holding the bot token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_token_file: Option<PathBuf>,
    /// App mode: the channel id (`C0123ABCD`) to post in; an id, not a name, because looking a
    /// message up after a crash needs the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// App mode: the Web API's base URL; only tests and proxies need another one.
    #[serde(default = "slack_api")]
    pub api_url: Url,
    /// App mode: new activity and reminders also go as replies in the message's thread, so
    /// the channel is notified of them while the message itself shows the current state.
    #[serde(default = "yes")]
    pub thread_replies: bool,
    /// App mode: how long a conversation's message is remembered after its last update; a later
    /// event posts a new message.
    #[serde(default = "thirty_days", with = "humantime_serde")]
    pub keep_messages: Duration,
    /// Message templates; the built-in ones when absent.
    #[serde(default)]
    pub templates: SlackTemplates,
    /// IANA time zone for times in messages, e.g. `Europe/Berlin`.
    #[serde(default = "utc")]
    pub time_zone: Tz,
    /// A minijinja template for a link to the conversation, e.g.
    /// `https://app.example.com/conversations/{{ conversation_id }}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_template: Option<String>,
    /// More matching events than this from one poll become one summary message.
    #[serde(default = "ten")]
    pub max_messages_per_poll: usize,
    /// Which events to post; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    /// A `[[schedules]]` name: outside its windows entries wait (never dropped, never counted as
    /// failures) and go out when the next window opens; any time when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_during: Option<String>,
}

/// `[sinks.templates]` of a Slack sink (minijinja).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlackTemplates {
    /// The notification text (also the fallback where blocks cannot be shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Block Kit blocks: must render to a JSON array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<String>,
}

/// `type = "email"`: one message per event (or per digest window) through SMTP.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSinkConfig {
    /// Unique sink name.
    pub name: String,
    /// Where and how to reach the relay: `smtp://host[:port]` (plain), with `?tls=required` or
    /// `?tls=opportunistic` (STARTTLS), or `smtps://host[:port]` (TLS); nothing else is accepted,
    /// so that a typo cannot mean plain text. Credentials in it are secret; the rest is shown.
    #[serde(serialize_with = "serialize_redacted_url")]
    pub smtp_url: Url,
    /// SMTP user name, when the server needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// SMTP password (prefer `password_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// A file holding the SMTP password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// PEM file of CA certificates to trust besides the system store, for a relay whose
    /// certificate a private (corporate) CA signed; checked at load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The sender, e.g. `HyperRep Notifier <notifier@example.com>`.
    pub from: Mailbox,
    /// Recipients.
    pub to: Vec<Mailbox>,
    /// Copy recipients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<Mailbox>,
    /// One email per window of this length listing every event in it, instead of one per event.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub digest: Option<Duration>,
    /// Message templates; the built-in ones when absent.
    #[serde(default)]
    pub templates: EmailTemplates,
    /// IANA time zone for times in messages, e.g. `Europe/Berlin`.
    #[serde(default = "utc")]
    pub time_zone: Tz,
    /// A minijinja template for a link to the conversation, e.g.
    /// `https://app.example.com/conversations/{{ conversation_id }}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_template: Option<String>,
    /// More matching events than this from one poll become one summary message.
    #[serde(default = "ten")]
    pub max_messages_per_poll: usize,
    /// Which events to mail; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    /// A `[[schedules]]` name: outside its windows entries wait (never dropped, never counted as
    /// failures) and go out when the next window opens; any time when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_during: Option<String>,
}

/// `[sinks.templates]` of an email sink (minijinja; `html` is HTML-escaped automatically).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmailTemplates {
    /// The subject line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The plain-text part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The HTML part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}

/// Presentation settings shared by message sinks.
#[derive(Debug, Clone)]
pub struct MessageStyle {
    /// Time zone of times in messages.
    pub time_zone: Tz,
    /// Template of a link to the conversation.
    pub link_template: Option<String>,
    /// The flood limit.
    pub max_messages_per_poll: usize,
}

impl SlackSinkConfig {
    /// Slack app mode (a bot token and the Web API), not an incoming webhook.
    pub fn is_app(&self) -> bool {
        self.bot_token.is_some()
    }

    /// The presentation settings.
    pub fn style(&self) -> MessageStyle {
        MessageStyle {
            time_zone: self.time_zone,
            link_template: self.link_template.clone(),
            max_messages_per_poll: self.max_messages_per_poll,
        }
    }
}

impl EmailSinkConfig {
    /// The presentation settings.
    pub fn style(&self) -> MessageStyle {
        MessageStyle {
            time_zone: self.time_zone,
            link_template: self.link_template.clone(),
            max_messages_per_poll: self.max_messages_per_poll,
        }
    }
}

fn utc() -> Tz {
    Tz::UTC
}

fn slack_api() -> Url {
    Url::parse("https://slack.com/api").expect("a valid URL")
}

fn yes() -> bool {
    true
}

fn thirty_days() -> Duration {
    Duration::from_secs(30 * 24 * 3600)
}

fn ten() -> usize {
    10
}

/// Only the credentials of an `smtp_url` are secret; its `tls` mode is what `check` must show.
fn serialize_redacted_url<S: Serializer>(url: &Url, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&redact_url_keeping(url, false, &["tls"]))
}
