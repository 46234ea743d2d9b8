//! The notifier's metric families: their names, help texts and buckets, registered under the
//! `hyperrep_notifier_` prefix, and the series created at 0 for a [`Layout`].

use super::labels::{
    OrgLabel, OrgOutcome, ReasonLabel, ReminderStep, SinkLabel, SinkOutcome, StatusLabel,
    TypeLabel, VersionLabel,
};
use super::layout::{api_buckets, Layout};
use crate::event::EventType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Metric, Registry};
use std::sync::atomic::AtomicU64;

/// A gauge of seconds (or a Unix time).
pub(super) type Seconds = Gauge<f64, AtomicU64>;

/// The families of polling: orgs, the API, listings and events.
pub(super) struct PollFamilies {
    pub polls: Family<OrgOutcome, Counter>,
    pub last_success: Family<OrgLabel, Seconds>,
    pub api_requests: Family<StatusLabel, Counter>,
    pub api_seconds: Histogram,
    pub pages: Family<OrgLabel, Counter>,
    pub conversations: Family<OrgLabel, Counter>,
    pub skipped: Family<OrgLabel, Counter>,
    pub pages_refused: Family<ReasonLabel, Counter>,
    pub events: Family<TypeLabel, Counter>,
    pub reminders: Family<ReminderStep, Counter>,
}

/// The families of delivery, by sink.
pub(super) struct DeliveryFamilies {
    pub deliveries: Family<SinkOutcome, Counter>,
    pub delivery_seconds: Family<SinkLabel, Histogram>,
    pub outbox: Family<SinkLabel, Gauge>,
    pub dead_letters: Family<SinkLabel, Gauge>,
    /// 1 while a sink is disabled after sustained failure.
    pub disabled: Family<SinkLabel, Gauge>,
    pub in_window: Family<SinkLabel, Gauge>,
    pub waiting_for_window: Family<SinkLabel, Gauge>,
}

/// The outcomes of a poll and of a delivery, each a series from the start.
const POLL_OUTCOMES: [&str; 2] = ["complete", "incomplete"];
const DELIVERY_OUTCOMES: [&str; 3] = ["delivered", "retrying", "dead_lettered"];
/// Why the API client refuses a listing page whole (see `api`).
const REFUSAL_REASONS: [&str; 2] = ["too_large", "malformed"];

/// Registers the constant families in `r` (already prefixed): `build_info` (1, with the
/// version as a label) and `poll_interval_seconds`.
pub(super) fn register_constants(r: &mut Registry, layout: &Layout) {
    let build_info: Family<VersionLabel, Gauge> = family(
        r,
        "build_info",
        "The running build: always 1, the version in its label",
    );
    let version = env!("CARGO_PKG_VERSION").to_string();
    build_info.get_or_create(&VersionLabel { version }).set(1);
    let interval: Seconds = add(
        r,
        "poll_interval_seconds",
        "The configured poll interval (poll.interval)",
        Gauge::default(),
    );
    interval.set(layout.poll_interval.as_secs_f64());
}

impl PollFamilies {
    /// Registers the polling families in `r`, with the API buckets of `layout` and a series
    /// at 0 for each of its orgs.
    pub fn register(r: &mut Registry, layout: &Layout) -> PollFamilies {
        let api_seconds = Histogram::new(api_buckets(layout.api_timeout));
        let families = PollFamilies {
            polls: family(r, "polls", "Polls of an org, by outcome"),
            last_success: family(
                r,
                "last_successful_poll_timestamp_seconds",
                "End of the last complete listing of an org (Unix time; 0: none since start)",
            ),
            api_requests: family(r, "api_requests", "Requests to the HyperRep API, by status"),
            api_seconds: add(
                r,
                "api_request_duration_seconds",
                "Duration of HyperRep API requests",
                api_seconds,
            ),
            pages: family(r, "pages", "Listing pages committed"),
            conversations: family(r, "conversations_seen", "Conversations seen in listings"),
            skipped: family(r, "records_skipped", "Unusable upstream records skipped"),
            pages_refused: family(
                r,
                "api_pages_refused",
                "Listing pages refused whole, by reason",
            ),
            events: family(r, "events", "Events detected, by type"),
            reminders: family(
                r,
                "reminders_sent",
                "Reminder events queued, by reminder and step (one per event, whatever its sinks)",
            ),
        };
        layout
            .orgs
            .iter()
            .for_each(|(org, name)| families.precreate(org, name));
        families.precreate_kinds();
        for (reminder, steps) in &layout.reminders {
            families.precreate_steps(reminder, *steps);
        }
        families
    }

    /// Every step of `reminder`, at 0: an escalation alert needs its series before it fires.
    fn precreate_steps(&self, reminder: &str, steps: u32) {
        for step in 1..=steps {
            let _ = self.reminders.get_or_create(&ReminderStep {
                reminder: reminder.to_string(),
                step: step.to_string(),
            });
        }
    }

    /// Every event type and refusal reason, at 0: they are known before any org is.
    fn precreate_kinds(&self) {
        for kind in [EventType::Created, EventType::Updated, EventType::Removed] {
            let r#type = kind.as_str().to_string();
            let _ = self.events.get_or_create(&TypeLabel { r#type });
        }
        for reason in REFUSAL_REASONS {
            let reason = reason.to_string();
            let _ = self.pages_refused.get_or_create(&ReasonLabel { reason });
        }
    }

    /// `get_or_create` makes the series; the guard it returns is dropped at once.
    fn precreate(&self, org: &str, org_name: &str) {
        let label = OrgLabel {
            org: org.to_string(),
            org_name: org_name.to_string(),
        };
        for outcome in POLL_OUTCOMES {
            let _ = self.polls.get_or_create(&OrgOutcome {
                org: org.to_string(),
                org_name: org_name.to_string(),
                outcome: outcome.to_string(),
            });
        }
        let _ = self.last_success.get_or_create(&label);
        let _ = self.pages.get_or_create(&label);
        let _ = self.conversations.get_or_create(&label);
        let _ = self.skipped.get_or_create(&label);
    }
}

impl DeliveryFamilies {
    /// Registers the delivery families in `r`, with a series at 0 for each sink of `layout`.
    pub fn register(r: &mut Registry, layout: &Layout) -> DeliveryFamilies {
        let families = DeliveryFamilies {
            deliveries: family(r, "deliveries", "Delivery attempts, by sink and outcome"),
            delivery_seconds: add(
                r,
                "delivery_latency_seconds",
                "From detection to successful delivery",
                Family::new_with_constructor(latency_histogram),
            ),
            outbox: family(r, "outbox_depth", "Entries waiting for delivery"),
            dead_letters: family(
                r,
                "dead_letters",
                "Entries that will not be retried without an operator",
            ),
            disabled: family(
                r,
                "sink_disabled",
                "1 while a sink is disabled after sustained failure (nothing is sent to it until enabled)",
            ),
            in_window: family(
                r,
                "sink_in_window",
                "1 while a sink may deliver (in its window, or it has none), 0 outside its window",
            ),
            waiting_for_window: family(
                r,
                "outbox_waiting_for_window",
                "Entries waiting for their sink's delivery window to open",
            ),
        };
        for sink in &layout.sinks {
            families.precreate(sink, !layout.closed.contains(sink));
        }
        families
    }

    /// `open`: whether `sink` may deliver now (no window, or in it).
    fn precreate(&self, sink: &str, open: bool) {
        for outcome in DELIVERY_OUTCOMES {
            let _ = self.deliveries.get_or_create(&SinkOutcome {
                sink: sink.to_string(),
                outcome: outcome.to_string(),
            });
        }
        let label = SinkLabel {
            sink: sink.to_string(),
        };
        let _ = self.delivery_seconds.get_or_create(&label);
        let _ = self.outbox.get_or_create(&label);
        let _ = self.dead_letters.get_or_create(&label);
        let _ = self.disabled.get_or_create(&label);
        let _ = self.waiting_for_window.get_or_create(&label);
        self.in_window.get_or_create(&label).set(i64::from(open));
    }
}

/// Registers an empty family of `name`.
fn family<L, M>(registry: &mut Registry, name: &str, help: &str) -> Family<L, M>
where
    Family<L, M>: Metric + Clone + Default,
{
    add(registry, name, help, Family::default())
}

/// Registers `metric` and hands back the handle the notifier records into.
fn add<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 16))
}
