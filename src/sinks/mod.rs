//! Sinks: a closed set, one file each. A sink is built from its config section and does one
//! thing: make one delivery attempt of one event and say what the answer means ([`Attempt`]).
//! Retrying, backoff and dead letters belong to the dispatcher, not to sinks.
//!
//! A sink owns all of itself: its section's checks ([`check`]), its templates, what its answers
//! mean, its messages. Adding a sink: one file here, one variant in [`Sink`] and in
//! `config::SinkConfig`, one arm in [`check`].

mod body;
mod checks;
pub mod console;
pub mod email;
pub mod slack;
pub mod webhook;

pub use checks::check;

use crate::config::{DeliveryConfig, SinkConfig};
use crate::event::Event;
use crate::store::Store;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The outcome of one delivery attempt, as the sink classified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Accepted; the detail says how (e.g. `HTTP 200`).
    Delivered(String),
    /// Failed for now; try again, not before `after` when the sink said so.
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// Refused for good (e.g. HTTP 400): straight to dead letters.
    Reject(String),
    /// The endpoint says it is gone for good (HTTP 410): the sink is disabled, and the entry
    /// stays queued (its attempt counted) for when an operator enables it again.
    Gone(String),
    /// Rate-limited: wait `after`, and do not count this as a failed attempt.
    Throttled { error: String, after: Duration },
}

/// How a sink wants its events grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batching {
    /// One delivery per event.
    Single,
    /// One per event, unless one poll brings more than `max`: then one summary for that poll.
    Flood { max: usize },
    /// One delivery per window of this length, listing every event in it.
    Digest { window: Duration },
}

/// What a grouped delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    /// A flood summary of one poll.
    Summary,
    /// A digest of a time window.
    Digest {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
}

/// A live sink.
pub enum Sink {
    /// See [`webhook`].
    Webhook(Box<webhook::WebhookSink>),
    /// See [`slack`].
    Slack(Box<slack::SlackSink>),
    /// See [`email`].
    Email(Box<email::EmailSink>),
    /// See [`console`].
    Console(console::ConsoleSink),
}

impl Sink {
    /// Builds the live sink for a validated config section. Sinks built with the same `pacers`
    /// share Slack's pace when they post to the same URL or channel; sinks that remember what
    /// they posted (Slack app mode) keep it in `store`.
    pub fn build(
        config: &SinkConfig,
        delivery: &DeliveryConfig,
        pacers: &slack::Pacers,
        store: Option<&Store>,
    ) -> anyhow::Result<Sink> {
        Ok(match config {
            SinkConfig::Webhook(c) => {
                Sink::Webhook(Box::new(webhook::WebhookSink::new(c, delivery.timeout)?))
            }
            SinkConfig::Slack(c) => Sink::Slack(Box::new(slack::SlackSink::new(
                c,
                delivery.timeout,
                pacers,
                store,
            )?)),
            SinkConfig::Email(c) => {
                Sink::Email(Box::new(email::EmailSink::new(c, delivery.timeout)?))
            }
            SinkConfig::Console(c) => Sink::Console(console::ConsoleSink::new(c)),
        })
    }

    /// The configured name.
    pub fn name(&self) -> &str {
        match self {
            Sink::Webhook(s) => s.name(),
            Sink::Slack(s) => s.name(),
            Sink::Email(s) => s.name(),
            Sink::Console(s) => s.name(),
        }
    }

    /// One attempt to deliver `event`.
    pub async fn deliver(&self, event: &Event) -> Attempt {
        match self {
            Sink::Webhook(s) => s.deliver(event).await,
            Sink::Slack(s) => s.deliver(event).await,
            Sink::Email(s) => s.deliver(event).await,
            Sink::Console(s) => s.deliver(event),
        }
    }

    /// How this sink groups events.
    pub fn batching(&self) -> Batching {
        match self {
            Sink::Slack(s) => Batching::Flood {
                max: s.max_per_poll(),
            },
            Sink::Email(s) => s.batching(),
            Sink::Webhook(_) | Sink::Console(_) => Batching::Single,
        }
    }

    /// One delivery of many events (only for sinks whose [`Sink::batching`] groups).
    pub async fn deliver_batch(&self, events: &[Event], batch: Batch) -> Attempt {
        let window = match batch {
            Batch::Digest { start, end } => Some((start, end)),
            Batch::Summary => None,
        };
        match self {
            Sink::Slack(s) => s.deliver_summary(events).await,
            Sink::Email(s) => s.deliver_batch(events, window).await,
            Sink::Webhook(_) | Sink::Console(_) => {
                Attempt::Reject("this sink does not take batches".into())
            }
        }
    }
}

/// An error and its sources on one line (`a: b: c`), for logs and dead letters.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    text
}
