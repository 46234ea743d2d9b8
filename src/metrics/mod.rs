//! Prometheus metrics: one registry per running notifier (no global state), with the questions an
//! operator asks answered by name. Counters end in `_total`, durations in `_seconds`. The
//! families live in [`families`], the series known from the configuration in [`layout`], the
//! `process_*` metrics in [`process`], and the two expositions of `/metrics` in [`text`].

mod families;
mod labels;
mod layout;
mod process;
mod text;

pub use labels::{
    OrgLabel, OrgOutcome, ReasonLabel, ReminderStep, SinkLabel, SinkOutcome, StatusLabel,
    TypeLabel, VersionLabel,
};
pub use layout::{api_buckets, Layout};
pub use text::Format;

use families::{DeliveryFamilies, PollFamilies};
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Every metric of one notifier; cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    /// Exact delivery latencies, kept only when a benchmark asks (see [`Metrics::keep_latencies`]).
    samples: std::sync::Mutex<Option<Vec<Duration>>>,
    /// Org id → the `org_name` label.
    names: HashMap<String, String>,
    poll: PollFamilies,
    delivery: DeliveryFamilies,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered, for no particular configuration.
    pub fn new() -> Self {
        Self::for_layout(&Layout::default())
    }

    /// A fresh registry for `config`: its orgs' and sinks' series at 0, its buckets.
    pub fn for_config(config: &crate::config::Config) -> Self {
        Self::for_layout(&Layout::from(config))
    }

    /// A fresh registry laid out for `layout`.
    pub fn for_layout(layout: &Layout) -> Self {
        // The process metrics keep their standard unprefixed names; the rest is prefixed.
        let mut root = Registry::default();
        root.register_collector(Box::new(process::ProcessCollector));
        let r = root.sub_registry_with_prefix("hyperrep_notifier");
        families::register_constants(r, layout);
        let poll = PollFamilies::register(r, layout);
        let delivery = DeliveryFamilies::register(r, layout);
        Metrics(Arc::new(Inner {
            registry: root,
            samples: std::sync::Mutex::new(None),
            names: layout.orgs.iter().cloned().collect(),
            poll,
            delivery,
        }))
    }

    /// The labels of org `id`: its configured name beside it, or the id again.
    fn org(&self, id: &str) -> OrgLabel {
        OrgLabel {
            org: id.to_string(),
            org_name: self.0.names.get(id).map_or(id, String::as_str).to_string(),
        }
    }

    /// One API request and its answer (`None`: no answer).
    pub fn api_request(&self, status: Option<u16>, took: Duration) {
        let status = status.map_or("error".to_string(), |s| s.to_string());
        let poll = &self.0.poll;
        poll.api_requests
            .get_or_create(&StatusLabel { status })
            .inc();
        poll.api_seconds.observe(took.as_secs_f64());
    }

    /// One committed page.
    pub fn page(&self, org: &str, conversations: usize, skipped: usize) {
        let label = self.org(org);
        let poll = &self.0.poll;
        poll.pages.get_or_create(&label).inc();
        let seen = poll.conversations.get_or_create(&label);
        seen.inc_by(conversations as u64);
        poll.skipped.get_or_create(&label).inc_by(skipped as u64);
    }

    /// One listing page refused whole (`too_large`, `malformed`).
    pub fn page_refused(&self, reason: &str) {
        let reason = reason.to_string();
        let refused = &self.0.poll.pages_refused;
        refused.get_or_create(&ReasonLabel { reason }).inc();
    }

    /// One event detected.
    pub fn event(&self, kind: &str) {
        let label = TypeLabel {
            r#type: kind.to_string(),
        };
        self.0.poll.events.get_or_create(&label).inc();
    }

    /// One reminder event queued (committed) for step `step` (1-based) of `reminder`.
    pub fn reminder_sent(&self, reminder: &str, step: u32) {
        let label = ReminderStep {
            reminder: reminder.to_string(),
            step: step.to_string(),
        };
        self.0.poll.reminders.get_or_create(&label).inc();
    }

    /// The end of one org's poll.
    pub fn poll(&self, org: &str, complete: bool, at: chrono::DateTime<chrono::Utc>) {
        let OrgLabel { org, org_name } = self.org(org);
        let outcome = if complete { "complete" } else { "incomplete" }.to_string();
        let label = OrgOutcome {
            org,
            org_name,
            outcome,
        };
        self.0.poll.polls.get_or_create(&label).inc();
        if complete {
            let label = self.org(&label.org);
            let last = self.0.poll.last_success.get_or_create(&label);
            last.set(at.timestamp_millis() as f64 / 1000.0);
        }
    }

    /// `count` entries of `sink` had this outcome; `latency` is detection → success.
    pub fn delivery(&self, sink: &str, outcome: &str, count: usize, latency: Option<Duration>) {
        let label = SinkOutcome {
            sink: sink.to_string(),
            outcome: outcome.to_string(),
        };
        let delivery = &self.0.delivery;
        delivery
            .deliveries
            .get_or_create(&label)
            .inc_by(count as u64);
        let Some(latency) = latency else { return };
        if let Some(samples) = self
            .0
            .samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            samples.push(latency);
        }
        let label = SinkLabel {
            sink: sink.to_string(),
        };
        let histogram = delivery.delivery_seconds.get_or_create(&label);
        histogram.observe(latency.as_secs_f64());
    }

    /// Starts keeping every delivery latency exactly (the histogram has buckets); for benchmarks.
    pub fn keep_latencies(&self) {
        *self.0.samples.lock().unwrap_or_else(|p| p.into_inner()) = Some(Vec::new());
    }

    /// The latencies kept since [`Metrics::keep_latencies`], emptying the list.
    pub fn take_latencies(&self) -> Vec<Duration> {
        let mut samples = self.0.samples.lock().unwrap_or_else(|p| p.into_inner());
        samples.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Sets the queue gauges of `sink` (read from the store at scrape time).
    pub fn queues(&self, sink: &str, outbox: usize, dead_letters: usize) {
        let label = SinkLabel {
            sink: sink.to_string(),
        };
        let delivery = &self.0.delivery;
        delivery.outbox.get_or_create(&label).set(outbox as i64);
        let dead = delivery.dead_letters.get_or_create(&label);
        dead.set(dead_letters as i64);
    }

    /// Sets the window gauges of `sink` (read at scrape time): whether it may deliver now, and
    /// so whether its `outbox` entries are waiting for its window rather than for their turn.
    pub fn window(&self, sink: &str, open: bool, outbox: usize) {
        let label = SinkLabel {
            sink: sink.to_string(),
        };
        let delivery = &self.0.delivery;
        delivery
            .in_window
            .get_or_create(&label)
            .set(i64::from(open));
        let waiting = if open { 0 } else { outbox as i64 };
        delivery
            .waiting_for_window
            .get_or_create(&label)
            .set(waiting);
    }

    /// Sets whether `sink` is disabled (read at scrape time).
    pub fn disabled(&self, sink: &str, disabled: bool) {
        let label = SinkLabel {
            sink: sink.to_string(),
        };
        let gauge = self.0.delivery.disabled.get_or_create(&label);
        gauge.set(i64::from(disabled));
    }

    /// The exposition in `format`.
    pub fn encode(&self, format: Format) -> String {
        let mut text = String::new();
        encode(&mut text, &self.0.registry).expect("writing to a String cannot fail");
        match format {
            Format::OpenMetrics => text,
            Format::Text => text::to_text_format(&text),
        }
    }
}

#[cfg(test)]
mod tests;
