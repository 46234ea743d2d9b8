//! The Slack sink: an incoming-webhook message with `text` and Block Kit `blocks`, kept inside
//! Slack's limits, sent one at a time per sink and at most about once a second per URL, as
//! Slack asks (see [`pacing`]).

use super::{error_chain, Attempt};
use crate::backoff::retry_after;
use crate::config::SlackSinkConfig;
use crate::event::Event;
use crate::render::{defaults, sample_event, Renderer};
use crate::secret::redact_url;
use anyhow::Context;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

mod pacing;
pub use pacing::Pacers;
use pacing::{Pacer, PACE};

/// Slack's documented limits (characters, items).
pub mod limits {
    /// Blocks per message.
    pub const BLOCKS: usize = 50;
    /// The top-level `text` (Slack truncates beyond 40,000; 4,000 keeps notifications readable).
    pub const TEXT: usize = 4000;
    /// A header block's text.
    pub const HEADER: usize = 150;
    /// A section block's text.
    pub const SECTION: usize = 3000;
    /// Fields per section, and each field's text.
    pub const FIELDS: usize = 10;
    /// A section field's text.
    pub const FIELD: usize = 2000;
    /// Elements per context block.
    pub const CONTEXT_ELEMENTS: usize = 10;
    /// A context element's text.
    pub const CONTEXT: usize = 2000;
}

/// Events listed in a summary.
const SUMMARY_LISTED: usize = 5;

/// A configured Slack webhook.
pub struct SlackSink {
    name: String,
    client: reqwest::Client,
    url: Url,
    renderer: Renderer,
    pacer: Arc<Pacer>,
    max_per_poll: usize,
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

/// Cuts every value that is too long, and drops blocks and items past Slack's counts. Only
/// values that exist are touched (a block must not gain keys it did not have).
pub fn fit(mut payload: Value) -> Value {
    cut(payload.get_mut("text"), limits::TEXT);
    if let Some(blocks) = payload.get_mut("blocks").and_then(Value::as_array_mut) {
        blocks.truncate(limits::BLOCKS);
        for block in blocks {
            match block.get("type").and_then(Value::as_str) {
                Some("header") => cut(block.pointer_mut("/text/text"), limits::HEADER),
                Some("section") => {
                    cut(block.pointer_mut("/text/text"), limits::SECTION);
                    cut_items(block.get_mut("fields"), limits::FIELDS, limits::FIELD);
                }
                Some("context") => cut_items(
                    block.get_mut("elements"),
                    limits::CONTEXT_ELEMENTS,
                    limits::CONTEXT,
                ),
                _ => {}
            }
        }
    }
    payload
}

/// Keeps at most `count` items of a list and cuts each item's `text`.
fn cut_items(items: Option<&mut Value>, count: usize, limit: usize) {
    if let Some(items) = items.and_then(Value::as_array_mut) {
        items.truncate(count);
        items
            .iter_mut()
            .for_each(|item| cut(item.get_mut("text"), limit));
    }
}

/// Shortens a string value to `limit` characters, ending with `…`.
fn cut(value: Option<&mut Value>, limit: usize) {
    if let Some(Value::String(text)) = value {
        if text.chars().count() > limit {
            let kept: String = text.chars().take(limit - 1).collect();
            *text = format!("{kept}…");
        }
    }
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
    /// every sink posting to the same URL.
    pub fn new(
        config: &SlackSinkConfig,
        timeout: Duration,
        pacers: &Pacers,
    ) -> anyhow::Result<Self> {
        let url = config
            .url
            .as_ref()
            .context("the Slack webhook URL is missing")?;
        let url = Url::parse(url.expose())
            .map_err(|_| anyhow::anyhow!("the Slack webhook URL is not a URL"))?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hyperrep-notifier/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let renderer = renderer(config).map_err(anyhow::Error::msg)?;
        Ok(SlackSink {
            name: config.name.clone(),
            client,
            pacer: pacers.for_url(&url),
            url,
            renderer,
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

    /// One message for one event.
    pub async fn deliver(&self, event: &Event) -> Attempt {
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
        self.pacer.turn().await;
        let sent = self
            .client
            .post(self.url.clone())
            .json(payload)
            .send()
            .await;
        let shown = redact_url(&self.url, true);
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

#[cfg(test)]
mod tests;
