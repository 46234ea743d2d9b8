//! Prometheus metrics: one registry per running notifier (no global state), with the questions an
//! operator asks answered by name. Counters end in `_total`, durations in `_seconds`.

mod labels;

pub use labels::{
    OrgLabel, OrgOutcome, ReasonLabel, SinkLabel, SinkOutcome, StatusLabel, TypeLabel,
};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

type Seconds = Gauge<f64, AtomicU64>;

/// Every metric of one notifier; cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    /// Exact delivery latencies, kept only when a benchmark asks (see [`Metrics::keep_latencies`]).
    samples: std::sync::Mutex<Option<Vec<Duration>>>,
    polls: Family<OrgOutcome, Counter>,
    last_success: Family<OrgLabel, Seconds>,
    api_requests: Family<StatusLabel, Counter>,
    api_seconds: Histogram,
    pages: Family<OrgLabel, Counter>,
    conversations: Family<OrgLabel, Counter>,
    skipped: Family<OrgLabel, Counter>,
    pages_refused: Family<ReasonLabel, Counter>,
    events: Family<TypeLabel, Counter>,
    deliveries: Family<SinkOutcome, Counter>,
    delivery_seconds: Family<SinkLabel, Histogram>,
    outbox: Family<SinkLabel, Gauge>,
    dead_letters: Family<SinkLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("hyperrep_notifier");
        let inner = Inner {
            polls: register(
                &mut r,
                "polls",
                "Polls of an org, by outcome",
                Family::default(),
            ),
            last_success: register(
                &mut r,
                "last_successful_poll_timestamp_seconds",
                "End of the last complete listing of an org (Unix time)",
                Family::default(),
            ),
            api_requests: register(
                &mut r,
                "api_requests",
                "Requests to the HyperRep API, by status",
                Family::default(),
            ),
            api_seconds: register(
                &mut r,
                "api_request_duration_seconds",
                "Duration of HyperRep API requests",
                Histogram::new(exponential_buckets(0.005, 2.0, 12)),
            ),
            pages: register(
                &mut r,
                "pages",
                "Listing pages committed",
                Family::default(),
            ),
            conversations: register(
                &mut r,
                "conversations_seen",
                "Conversations seen in listings",
                Family::default(),
            ),
            skipped: register(
                &mut r,
                "records_skipped",
                "Unusable upstream records skipped",
                Family::default(),
            ),
            pages_refused: register(
                &mut r,
                "api_pages_refused",
                "Listing pages refused whole, by reason",
                Family::default(),
            ),
            events: register(
                &mut r,
                "events",
                "Events detected, by type",
                Family::default(),
            ),
            deliveries: register(
                &mut r,
                "deliveries",
                "Delivery attempts, by sink and outcome",
                Family::default(),
            ),
            delivery_seconds: register(
                &mut r,
                "delivery_latency_seconds",
                "From detection to successful delivery",
                Family::new_with_constructor(latency_histogram),
            ),
            outbox: register(
                &mut r,
                "outbox_depth",
                "Entries waiting for delivery",
                Family::default(),
            ),
            dead_letters: register(
                &mut r,
                "dead_letters",
                "Entries that will not be retried without an operator",
                Family::default(),
            ),
            registry: r,
            samples: std::sync::Mutex::new(None),
        };
        Metrics(Arc::new(inner))
    }

    /// One API request and its answer (`None`: no answer).
    pub fn api_request(&self, status: Option<u16>, took: Duration) {
        let status = status.map_or("error".to_string(), |s| s.to_string());
        self.0
            .api_requests
            .get_or_create(&StatusLabel { status })
            .inc();
        self.0.api_seconds.observe(took.as_secs_f64());
    }

    /// One committed page.
    pub fn page(&self, org: &str, conversations: usize, skipped: usize) {
        let label = OrgLabel {
            org: org.to_string(),
        };
        self.0.pages.get_or_create(&label).inc();
        self.0
            .conversations
            .get_or_create(&label)
            .inc_by(conversations as u64);
        self.0.skipped.get_or_create(&label).inc_by(skipped as u64);
    }

    /// One listing page refused whole (`too_large`, `malformed`).
    pub fn page_refused(&self, reason: &str) {
        let reason = reason.to_string();
        self.0
            .pages_refused
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// One event detected.
    pub fn event(&self, kind: &str) {
        self.0
            .events
            .get_or_create(&TypeLabel {
                r#type: kind.to_string(),
            })
            .inc();
    }

    /// The end of one org's poll.
    pub fn poll(&self, org: &str, complete: bool, at: chrono::DateTime<chrono::Utc>) {
        let outcome = if complete { "complete" } else { "incomplete" }.to_string();
        self.0
            .polls
            .get_or_create(&OrgOutcome {
                org: org.to_string(),
                outcome,
            })
            .inc();
        if complete {
            self.0
                .last_success
                .get_or_create(&OrgLabel {
                    org: org.to_string(),
                })
                .set(at.timestamp_millis() as f64 / 1000.0);
        }
    }

    /// `count` entries of `sink` had this outcome; `latency` is detection → success.
    pub fn delivery(&self, sink: &str, outcome: &str, count: usize, latency: Option<Duration>) {
        let label = SinkOutcome {
            sink: sink.to_string(),
            outcome: outcome.to_string(),
        };
        self.0.deliveries.get_or_create(&label).inc_by(count as u64);
        if let Some(latency) = latency {
            if let Some(samples) = self
                .0
                .samples
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_mut()
            {
                samples.push(latency);
            }
            self.0
                .delivery_seconds
                .get_or_create(&SinkLabel {
                    sink: sink.to_string(),
                })
                .observe(latency.as_secs_f64());
        }
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
        self.0.outbox.get_or_create(&label).set(outbox as i64);
        self.0
            .dead_letters
            .get_or_create(&label)
            .set(dead_letters as i64);
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        encode(&mut text, &self.0.registry).expect("writing to a String cannot fail");
        text
    }
}

fn register<M: prometheus_client::registry::Metric + Clone>(
    registry: &mut Registry,
    name: &str,
    help: &str,
    metric: M,
) -> M {
    registry.register(name, help, metric.clone());
    metric
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 16))
}
