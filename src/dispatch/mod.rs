//! Outbox → sinks. [`deliver_one`] is one attempt of one entry with its bookkeeping (delivered,
//! rescheduled with backoff, or dead-lettered), [`deliver_batch`] the same for a summary or a
//! digest; [`plan`] decides which of those the due entries make; [`run_worker`] is the per-sink
//! loop around them. Entries live in the store until delivered, so a crash or a restart loses
//! none: at worst an entry in flight is sent again, with the same event id.

mod disable;
mod outbox;
mod plan;
mod settle;
mod taken;
mod thread;
mod worker;

pub use disable::enable;
pub use outbox::{OpenPoll, Outbox};
pub use plan::{plan, Grouping, Plan, Unit};
use settle::expire;
use settle::settle;
pub use settle::{sweep_dead_letters, sweep_delivered};
pub use thread::Workers;
pub use worker::{deliver, guarded, run_worker};

use crate::backoff::Backoff;
use crate::config::DeliveryConfig;
use crate::metrics::Metrics;
use crate::schedule::Schedule;
use crate::sinks::{Attempt, Batch, Sink};
use crate::store::{Cursor, OutboxEntry, Store, StoreError};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// The retry rules, as data.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Waits between attempts.
    pub backoff: Backoff,
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// Age (since queued) after which an entry is a dead letter, attempted or not.
    pub max_age: Duration,
    /// Attempts in flight per sink.
    pub concurrency: usize,
    /// The longest one attempt may take, whatever the sink's own timeouts do.
    pub timeout: Duration,
    /// Whether delivered events go to the delivered log (`delivery.keep_delivered` above 0).
    pub log_delivered: bool,
    /// How long every attempt to a sink may fail before it is disabled (`0`: never by time).
    pub disable_after: Duration,
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
            log_delivered: !config.keep_delivered.is_zero(),
            disable_after: config.disable_after,
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
    /// Its sink is disabled (by this attempt, or before it started: then nothing was sent):
    /// kept queued, not attempted again until the sink is enabled.
    Parked,
}

/// A sink's `Retry-After`: no new attempt to the sink starts before this time, whichever entry
/// got the answer (shared by the worker's tasks; it only moves later).
#[derive(Debug, Default)]
pub struct Hold(std::sync::Mutex<Option<DateTime<Utc>>>);

impl Hold {
    /// Holds until `at` (unless already held longer).
    pub fn until(&self, at: DateTime<Utc>) {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *held = Some(held.map_or(at, |h| h.max(at)));
    }

    /// When the hold ends, while it lasts at `now`.
    pub fn active(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        held.filter(|at| *at > now)
    }
}

impl Worker {
    /// When the sink may next be attempted, if not at `now`: a `Retry-After` it gave, or its
    /// window being closed (waiting for a window is not a failure: nothing is attempted or
    /// counted; a window that never opens again is looked at daily, and entries keep waiting),
    /// or its being disabled (looked at daily; enabling it wakes the worker at once).
    pub fn paused_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_disabled() {
            return Some(now + chrono::Duration::days(1));
        }
        if let Some(until) = self.hold.active(now) {
            return Some(until);
        }
        let window = self.window.as_ref().filter(|w| !w.is_open(now))?;
        Some(
            window
                .next_opening(now)
                .unwrap_or(now + chrono::Duration::days(1)),
        )
    }

    /// Whether the sink is disabled (see README "Disabled sinks").
    pub fn is_disabled(&self) -> bool {
        self.store.sink_disabled(self.sink.name())
    }

    /// How old an entry queued at `since` is at `now`, for `delivery.max_age`: only the time the
    /// sink was in its window counts, so waiting for a window never expires an entry.
    pub fn age(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
        match &self.window {
            Some(window) => window.open_time_between(since, now),
            None => (now - since).to_std().unwrap_or_default(),
        }
    }

    /// The deliveries due for the sink at `now`: up to `limit` entries (skipping `busy`), those
    /// past `max_age` dead-lettered, the rest planned as the sink groups them. Also how many
    /// entries were read and when the next one not yet due is.
    pub fn plan_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        busy: &HashSet<u64>,
        cursor: &mut Cursor,
    ) -> Result<(Plan, usize, Option<DateTime<Utc>>), StoreError> {
        let due = self
            .store
            .due_from(self.sink.name(), now, limit, busy, cursor)?;
        let read = due.entries.len();
        let entries = expire(self, due.entries, now)?;
        let plan = plan(entries, self.sink.batching(), &self.grouping(), now);
        Ok((plan, read, due.next_at))
    }

    /// What flood control needs: which polls are still queueing, and which entries waited for
    /// the sink's window (queued while it was closed: judged together when it opens).
    pub fn grouping(&self) -> Grouping<'_> {
        Grouping {
            open_poll: Box::new(|poll| self.outbox.is_open(poll)),
            waited: Box::new(|at| self.window.as_ref().is_some_and(|w| !w.is_open(at))),
        }
    }
}

/// One sink and what its worker needs.
#[derive(Clone)]
pub struct Worker {
    /// Until when the sink asked not to be sent anything.
    pub hold: Arc<Hold>,
    /// The sink's delivery windows (`deliver_during`); any time when `None`.
    pub window: Option<Arc<Schedule>>,
    /// Where entries are.
    pub store: Store,
    /// Retry rules.
    pub policy: Policy,
    /// The sink.
    pub sink: Arc<Sink>,
    /// The hand-off: which polls are still queueing (flood summaries wait for them), and the
    /// wake-up the poller pokes when it queues entries for this sink or finishes a poll.
    pub outbox: Arc<Outbox>,
    /// Where deliveries are counted.
    pub metrics: Metrics,
    /// Who is told when this sink is disabled (`delivery.notify_sinks`).
    pub notify_sinks: Arc<[String]>,
}

/// Makes one attempt, started at `now`, to deliver entry `seq` and records the outcome.
pub async fn deliver_one(
    worker: &Worker,
    seq: u64,
    entry: OutboxEntry,
    now: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    match taken::attempt_one(worker, seq, entry, now).await? {
        Ok(taken) => {
            taken::record_taken(worker, &[taken])?;
            Ok(Outcome::Delivered)
        }
        Err(outcome) => Ok(outcome),
    }
}

/// Makes one attempt to deliver `entries` as one message (a summary or a digest); they share
/// the outcome: all delivered, all rescheduled, or all dead-lettered.
pub async fn deliver_batch(
    worker: &Worker,
    batch: Batch,
    entries: Vec<(u64, OutboxEntry)>,
    now: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    let events: Vec<_> = entries.iter().map(|(_, e)| e.event.clone()).collect();
    tracing::info!(
        events = events.len(),
        ?batch,
        "one message for several events"
    );
    let (attempt, now) = bounded(worker, worker.sink.deliver_batch(&events, batch), now).await;
    settle(worker, entries, attempt, now)
}

/// An attempt that takes longer than the policy allows is a failed attempt (a hung SMTP server
/// or HTTP peer must not stall the sink's worker). Also when it ended, on the clock that read
/// `started` when it began (a test's clock, or the real one).
async fn bounded(
    worker: &Worker,
    attempt: impl std::future::Future<Output = Attempt>,
    started: DateTime<Utc>,
) -> (Attempt, DateTime<Utc>) {
    let limit = worker.policy.timeout;
    let clock = std::time::Instant::now();
    let attempt = tokio::time::timeout(limit, attempt)
        .await
        .unwrap_or_else(|_| Attempt::Retry {
            error: format!("no answer within {}", humantime::format_duration(limit)),
            after: None,
        });
    let took = chrono::Duration::from_std(clock.elapsed()).unwrap_or_default();
    (attempt, started.checked_add_signed(took).unwrap_or(started))
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
