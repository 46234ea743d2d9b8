//! Outbox → sinks. [`deliver_one`] is one attempt of one entry with its bookkeeping (delivered,
//! rescheduled with backoff, or dead-lettered), [`deliver_batch`] the same for a summary or a
//! digest; [`plan`] decides which of those the due entries make; [`run_worker`] is the per-sink
//! loop around them. Entries live in the store until delivered, so a crash or a restart loses
//! none: at worst an entry in flight is sent again, with the same event id.

mod outbox;
mod plan;
mod worker;

pub use outbox::{OpenPoll, Outbox};
pub use plan::{plan, Plan, Unit};
pub use worker::run_worker;

use crate::backoff::Backoff;
use crate::config::DeliveryConfig;
use crate::metrics::Metrics;
use crate::sinks::{Attempt, Batch, Sink};
use crate::store::{OutboxEntry, Store, StoreError};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The retry rules, as data.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Waits between attempts.
    pub backoff: Backoff,
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// Age (since detection) after which a failure is final.
    pub max_age: Duration,
    /// Attempts in flight per sink.
    pub concurrency: usize,
    /// The longest one attempt may take, whatever the sink's own timeouts do.
    pub timeout: Duration,
}

impl From<&DeliveryConfig> for Policy {
    fn from(config: &DeliveryConfig) -> Self {
        Policy {
            backoff: Backoff {
                initial: config.initial_backoff,
                max: config.max_backoff,
            },
            max_attempts: config.max_attempts,
            max_age: config.max_age,
            concurrency: config.concurrency,
            // A little over the sink's own timeout, which covers one request; Slack's pacing
            // may add up to a second before it.
            timeout: config.timeout + Duration::from_secs(2),
        }
    }
}

/// What became of one entry (or one batch) after one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The sink took it; the entries are gone from the outbox.
    Delivered,
    /// It failed and will be tried again at `next_at`.
    Retrying {
        attempts: u32,
        next_at: DateTime<Utc>,
    },
    /// It will not be retried without an operator: now dead letters.
    DeadLettered { reason: String },
}

/// One sink and what its worker needs.
#[derive(Clone)]
pub struct Worker {
    /// Where entries are.
    pub store: Store,
    /// Retry rules.
    pub policy: Policy,
    /// The sink.
    pub sink: Arc<Sink>,
    /// Poked when the poller queues entries for this sink or finishes a poll.
    pub wake: Arc<Notify>,
    /// Which polls are still queueing (flood summaries wait for them).
    pub outbox: Arc<Outbox>,
    /// Where deliveries are counted.
    pub metrics: Metrics,
}

/// Makes one attempt to deliver entry `seq` and records the outcome in the store.
pub async fn deliver_one(
    worker: &Worker,
    seq: u64,
    entry: OutboxEntry,
) -> Result<Outcome, StoreError> {
    let attempt = bounded(worker, worker.sink.deliver(&entry.event)).await;
    settle(worker, vec![(seq, entry)], attempt)
}

/// Makes one attempt to deliver `entries` as one message (a summary or a digest); they share
/// the outcome: all delivered, all rescheduled, or all dead-lettered.
pub async fn deliver_batch(
    worker: &Worker,
    batch: Batch,
    entries: Vec<(u64, OutboxEntry)>,
) -> Result<Outcome, StoreError> {
    let events: Vec<_> = entries.iter().map(|(_, e)| e.event.clone()).collect();
    tracing::info!(
        events = events.len(),
        ?batch,
        "one message for several events"
    );
    let attempt = bounded(worker, worker.sink.deliver_batch(&events, batch)).await;
    settle(worker, entries, attempt)
}

/// An attempt that takes longer than the policy allows is a failed attempt (a hung SMTP server
/// or HTTP peer must not stall the sink's worker).
async fn bounded(worker: &Worker, attempt: impl std::future::Future<Output = Attempt>) -> Attempt {
    let limit = worker.policy.timeout;
    tokio::time::timeout(limit, attempt)
        .await
        .unwrap_or_else(|_| Attempt::Retry {
            error: format!("no answer within {}", humantime::format_duration(limit)),
            after: None,
        })
}

/// Records what an attempt means for its entries.
fn settle(
    worker: &Worker,
    mut entries: Vec<(u64, OutboxEntry)>,
    attempt: Attempt,
) -> Result<Outcome, StoreError> {
    let (error, after, counts) = match attempt {
        Attempt::Delivered(detail) => {
            let now = Utc::now();
            for (seq, entry) in &entries {
                worker.store.delivered(worker.sink.name(), *seq)?;
                // enqueued_at keeps sub-second precision; the event's timestamp is whole seconds.
                let latency = (now - entry.enqueued_at).to_std().unwrap_or_default();
                worker
                    .metrics
                    .delivery(worker.sink.name(), "delivered", 1, Some(latency));
            }
            tracing::debug!(%detail, "delivered");
            return Ok(Outcome::Delivered);
        }
        Attempt::Reject(error) => return dead(worker, entries, 1, format!("refused: {error}")),
        Attempt::Retry { error, after } => (error, after, true),
        Attempt::Throttled { error, after } => (error, Some(after), false),
    };
    let (after, counts) = honour(&worker.policy, after, counts);
    let attempts = entries.iter().map(|(_, e)| e.attempts).max().unwrap_or(0) + u32::from(counts);
    let oldest = entries
        .iter()
        .map(|(_, e)| e.enqueued_at)
        .min()
        .unwrap_or_else(Utc::now);
    let now = Utc::now();
    if attempts >= worker.policy.max_attempts {
        return dead(
            worker,
            entries,
            u32::from(counts),
            format!("gave up after {attempts} attempts: {error}"),
        );
    }
    if (now - oldest).to_std().unwrap_or_default() >= worker.policy.max_age {
        let max_age = humantime::format_duration(worker.policy.max_age);
        let reason = format!("undelivered for longer than {max_age}: {error}");
        return dead(worker, entries, u32::from(counts), reason);
    }
    let wait = after.unwrap_or_else(|| {
        worker
            .policy
            .backoff
            .delay(attempts.max(1), &mut rand::rng())
    });
    let next_at = chrono::Duration::from_std(wait)
        .ok()
        .and_then(|wait| now.checked_add_signed(wait))
        .unwrap_or(now);
    for (seq, entry) in &mut entries {
        entry.attempts = attempts;
        entry.next_attempt_at = next_at;
        entry.last_error = Some(error.clone());
        worker.store.reschedule(worker.sink.name(), *seq, entry)?;
    }
    tracing::warn!(%error, attempts, retry_in_ms = wait.as_millis() as u64, "delivery failed; will retry");
    worker
        .metrics
        .delivery(worker.sink.name(), "retrying", entries.len(), None);
    Ok(Outcome::Retrying { attempts, next_at })
}

/// A sink's `Retry-After` as the wait before the next attempt, and whether the attempt counts:
/// honoured up to `delivery.max_backoff`; beyond it (a sink asking for hours, or for centuries),
/// the wait is capped there and the attempt counts as failed, so the entry neither spins nor
/// parks forever and reaches its dead letter in the usual number of attempts.
pub(crate) fn honour(
    policy: &Policy,
    after: Option<Duration>,
    counts: bool,
) -> (Option<Duration>, bool) {
    match after {
        Some(wait) if wait > policy.backoff.max => (Some(policy.backoff.max), true),
        other => (other, counts),
    }
}

/// Moves `entries` to the dead letters; `extra` is the attempt that just failed when it was not
/// counted yet.
fn dead(
    worker: &Worker,
    entries: Vec<(u64, OutboxEntry)>,
    extra: u32,
    reason: String,
) -> Result<Outcome, StoreError> {
    worker
        .metrics
        .delivery(worker.sink.name(), "dead_lettered", entries.len(), None);
    for (seq, mut entry) in entries {
        entry.attempts += extra;
        entry.last_error = Some(reason.clone());
        let attempts = entry.attempts;
        let id = worker
            .store
            .dead_letter(worker.sink.name(), seq, entry, &reason)?;
        tracing::error!(%reason, attempts, dead_letter = id, "delivery given up: moved to dead letters");
    }
    Ok(Outcome::DeadLettered { reason })
}

/// Moves every entry queued for a sink that is no longer configured to the dead letters, so it
/// is kept (and can be retried once the sink is back) instead of silently waiting forever.
pub fn dead_letter_orphans(store: &Store, configured: &[&str]) -> Result<usize, StoreError> {
    let mut moved = 0;
    for (sink, counts) in store.sinks_with_entries() {
        if counts.queued == 0 || configured.contains(&sink.as_str()) {
            continue;
        }
        let far = Utc::now() + chrono::Duration::days(365 * 100);
        let reason = format!("sink `{sink}` is no longer in the configuration");
        for (seq, entry) in store.due(&sink, far, usize::MAX, &HashSet::new())?.entries {
            store.dead_letter(&sink, seq, entry, &reason)?;
            moved += 1;
        }
        tracing::warn!(
            sink,
            moved,
            "entries for a sink that is no longer configured were moved to dead letters"
        );
    }
    Ok(moved)
}
