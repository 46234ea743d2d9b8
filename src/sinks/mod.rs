//! Sinks: a closed set, one file each. A sink is built from its config section and does one
//! thing: make one delivery attempt of one event and say what the answer means ([`Attempt`]).
//! Retrying, backoff and dead letters belong to the dispatcher, not to sinks.
//!
//! Adding a sink: one file here, one variant in [`Sink`] and in `config::SinkConfig`.

pub mod console;
pub mod webhook;

use crate::config::{DeliveryConfig, SinkConfig};
use crate::event::Event;
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
}

/// A live sink.
pub enum Sink {
    /// See [`webhook`].
    Webhook(Box<webhook::WebhookSink>),
    /// See [`console`].
    Console(console::ConsoleSink),
}

impl Sink {
    /// Builds the live sink for a validated config section.
    pub fn build(config: &SinkConfig, delivery: &DeliveryConfig) -> anyhow::Result<Sink> {
        Ok(match config {
            SinkConfig::Webhook(c) => {
                Sink::Webhook(Box::new(webhook::WebhookSink::new(c, delivery.timeout)?))
            }
            SinkConfig::Console(c) => Sink::Console(console::ConsoleSink::new(c)),
        })
    }

    /// The configured name.
    pub fn name(&self) -> &str {
        match self {
            Sink::Webhook(s) => s.name(),
            Sink::Console(s) => s.name(),
        }
    }

    /// One attempt to deliver `event`.
    pub async fn deliver(&self, event: &Event) -> Attempt {
        match self {
            Sink::Webhook(s) => s.deliver(event).await,
            Sink::Console(s) => s.deliver(event),
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
