//! The Slack sink: an incoming-webhook message with `text` and Block Kit `blocks`, kept inside
//! Slack's limits, sent one at a time per sink and at most about once a second per URL, as
//! Slack asks (see [`pacing`]).

use super::{error_chain, Attempt};
use crate::backoff::retry_after;
use crate::config::SlackSinkConfig;
use crate::event::Event;
use crate::render::{defaults, sample_event, Renderer};
use crate::secret::redact_url;
use crate::store::Store;
use anyhow::Context;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

mod api;
mod app;
mod fit;
mod history;
mod live;
mod pacing;
mod probe;
mod settings;
pub use fit::{fit, limits};
pub use pacing::Pacers;
use pacing::{Pacer, PACE};
pub use probe::probe_app;
pub(crate) use settings::check_settings;

/// Events listed in a summary.
const SUMMARY_LISTED: usize = 5;

/// A configured Slack sink: an incoming webhook, or a Slack app (see [`app`]).
pub struct SlackSink {
    name: String,
    mode: Mode,
    renderer: Renderer,
    max_per_poll: usize,
}

/// How a Slack sink posts.
enum Mode {
    /// An incoming webhook: a new message per delivery.
    Hook {
        client: reqwest::Client,
        url: Url,
        pacer: Arc<Pacer>,
    },
    /// The Web API with a bot token: one message per conversation.
    App(Box<app::AppMode>),
}

fn renderer(config: &SlackSinkConfig) -> Result<Renderer, String> {
    let templates = &config.templates;
    Renderer::new(
        config.style(),
        &[
            ("text", templates.text.as_deref(), defaults::SLACK_TEXT),
            (
                "blocks",
                templates.blocks.as_deref(),
                defaults::SLACK_BLOCKS,
            ),
        ],
    )
}

/// Compiles and renders the sink's templates against a sample event.
pub fn check(config: &SlackSinkConfig) -> Result<(), String> {
    message(&renderer(config)?, &sample_event()).map(|_| ())
}

/// The message for one event, inside Slack's limits.
pub fn message(renderer: &Renderer, event: &Event) -> Result<Value, String> {
    if let Some(notice) = &event.notice {
        // Not a conversation: the conversation templates have nothing to show of it.
        let text = crate::render::words::mrkdwn(&notice.line());
        return Ok(fit(json!({ "text": text })));
    }
    let view = renderer.view(event)?;
    let text = renderer.render_with("text", &view)?;
    let blocks_json = renderer.render_with("blocks", &view)?;
    let blocks: Value = serde_json::from_str(&blocks_json)
        .map_err(|e| format!("template `blocks` did not render to JSON: {e}"))?;
    if !blocks.is_array() {
        return Err("template `blocks` must render to a JSON array".into());
    }
    Ok(fit(json!({ "text": text.trim(), "blocks": blocks })))
}

/// One message for many events (one poll's flood, or what waited for a window): counts by kind and
/// the first few conversations.
pub fn summary(renderer: &Renderer, events: &[Event]) -> Result<Value, String> {
    let view = renderer.batch_view(events, SUMMARY_LISTED, None)?;
    let text = renderer.render_with("batch_text", &view)?;
    let title = format!("{}: {} conversation changes", view.orgs, view.count);
    let lines: Vec<String> = view
        .shown
        .iter()
        .map(|e| {
            format!(
                "• *{}* · `{}` · {} · {} · {}",
                e.what, e.conversation_id, e.org, e.folder, e.read
            )
        })
        .collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": title}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("Together: {}.", view.tally)}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": crate::render::words::mrkdwn(&lines.join("\n"))}}),
    ];
    if view.more > 0 {
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("…and {} more.", view.more)}]}));
    }
    Ok(fit(json!({ "text": text.trim(), "blocks": blocks })))
}

/// What Slack's answer means (the SPEC's table).
pub fn classify(status: StatusCode, headers: &HeaderMap, body: &str, shown_url: &str) -> Attempt {
    let body = body.trim();
    let detail = format!(
        "HTTP {} from {shown_url}: {}",
        status.as_u16(),
        body.chars().take(200).collect::<String>()
    );
    if body == "no_service" {
        return Attempt::Reject(format!(
            "{detail} (the webhook was revoked or its channel deleted)"
        ));
    }
    match status.as_u16() {
        200 if body == "ok" => Attempt::Delivered("HTTP 200 ok".into()),
        429 => Attempt::Throttled {
            after: retry_after(headers, chrono::Utc::now()).unwrap_or(PACE),
            error: detail,
        },
        408 | 500..=599 | 200..=299 => Attempt::Retry {
            error: detail,
            after: retry_after(headers, chrono::Utc::now()),
        },
        _ => Attempt::Reject(detail),
    }
}

impl SlackSink {
    /// Builds the sink; `timeout` bounds each attempt; its pace is shared through `pacers` with
    /// every sink posting to the same URL or channel. App mode keeps its messages in `store`.
    pub fn new(
        config: &SlackSinkConfig,
        timeout: Duration,
        pacers: &Pacers,
        store: Option<&Store>,
    ) -> anyhow::Result<Self> {
        let client = client(timeout)?;
        let mode = match (&config.bot_token, store) {
            (Some(token), Some(store)) => Mode::App(Box::new(app::AppMode {
                sink: config.name.clone(),
                api: api::WebApi::new(client, config.api_url.clone(), token.clone()),
                channel: config
                    .channel
                    .clone()
                    .context("the Slack channel is missing")?,
                thread_replies: config.thread_replies,
                filter: config.filter.clone(),
                store: store.clone(),
                pacer: pacers.for_channel(
                    &config.api_url,
                    config.channel.as_deref().unwrap_or_default(),
                ),
            })),
            (Some(_), None) => anyhow::bail!(
                "Slack app mode keeps its messages in the store, which is not open here"
            ),
            (None, _) => {
                let url = config
                    .url
                    .as_ref()
                    .context("the Slack webhook URL is missing")?;
                let url = Url::parse(url.expose())
                    .map_err(|_| anyhow::anyhow!("the Slack webhook URL is not a URL"))?;
                Mode::Hook {
                    client,
                    pacer: pacers.for_url(&url),
                    url,
                }
            }
        };
        Ok(SlackSink {
            name: config.name.clone(),
            mode,
            renderer: renderer(config).map_err(anyhow::Error::msg)?,
            max_per_poll: config.max_messages_per_poll,
        })
    }

    /// The sink's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// More events than this from one poll become one summary.
    pub fn max_per_poll(&self) -> usize {
        self.max_per_poll
    }

    /// One message for one event (in app mode: the conversation's message, kept up to date).
    pub async fn deliver(&self, event: &Event) -> Attempt {
        match &self.mode {
            // A notice is about a sink, not a conversation: a message of its own.
            Mode::App(app) if event.notice.is_none() => {
                return app.deliver(&self.renderer, event).await
            }
            _ => {}
        }
        match message(&self.renderer, event) {
            Ok(payload) => self.post(&payload).await,
            Err(error) => Attempt::Reject(error),
        }
    }

    /// One summary message for many events.
    pub async fn deliver_summary(&self, events: &[Event]) -> Attempt {
        match summary(&self.renderer, events) {
            Ok(payload) => self.post(&payload).await,
            Err(error) => Attempt::Reject(error),
        }
    }

    /// POSTs one message, no sooner than [`PACE`] after the previous one to the same URL.
    async fn post(&self, payload: &Value) -> Attempt {
        let (client, url, pacer) = match &self.mode {
            Mode::Hook { client, url, pacer } => (client, url, pacer),
            Mode::App(app) => return app.post_loose(payload).await,
        };
        pacer.turn().await;
        let sent = client.post(url.clone()).json(payload).send().await;
        let shown = redact_url(url, true);
        match sent {
            Ok(response) => {
                let (status, headers) = (response.status(), response.headers().clone());
                let body = super::body::snippet(response).await;
                classify(status, &headers, &body, &shown)
            }
            Err(e) => Attempt::Retry {
                error: format!("{shown}: {}", error_chain(&e.without_url())),
                after: None,
            },
        }
    }
}

/// The HTTP client of a Slack sink: bounded by `timeout`, never following redirects.
fn client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("hyperrep-notifier/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

#[cfg(test)]
mod tests;
