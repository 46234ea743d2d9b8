//! Outbox → sinks. [`deliver_one`] is one attempt of one entry with its bookkeeping (delivered,
//! rescheduled with backoff, or dead-lettered); [`run_worker`] is the per-sink loop around it with
//! bounded concurrency. Entries live in the store until delivered, so a crash or a restart loses
//! none: at worst an entry in flight is sent again, with the same event id.

use crate::backoff::Backoff;
use crate::config::DeliveryConfig;
use crate::sinks::{Attempt, Sink};
use crate::store::{OutboxEntry, Store, StoreError};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

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
        }
    }
}

/// What became of one entry after one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The sink took it; the entry is gone from the outbox.
    Delivered,
    /// It failed and will be tried again at `next_at`.
    Retrying {
        attempts: u32,
        next_at: DateTime<Utc>,
    },
    /// It will not be retried without an operator: now a dead letter.
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
    /// Poked when the poller queues entries for this sink.
    pub wake: Arc<Notify>,
}

/// Makes one attempt to deliver entry `seq` and records the outcome in the store.
pub async fn deliver_one(
    worker: &Worker,
    seq: u64,
    mut entry: OutboxEntry,
) -> Result<Outcome, StoreError> {
    let sink = worker.sink.name();
    let attempt = worker.sink.deliver(&entry.event).await;
    entry.attempts += 1;
    let (error, after) = match attempt {
        Attempt::Delivered(detail) => {
            worker.store.delivered(sink, seq)?;
            tracing::debug!(%detail, attempts = entry.attempts, "delivered");
            return Ok(Outcome::Delivered);
        }
        Attempt::Reject(error) => return dead(worker, seq, entry, format!("refused: {error}")),
        Attempt::Retry { error, after } => (error, after),
    };
    let now = Utc::now();
    let age = (now - entry.enqueued_at).to_std().unwrap_or_default();
    if entry.attempts >= worker.policy.max_attempts {
        return dead(
            worker,
            seq,
            entry,
            format!(
                "gave up after {} attempts: {error}",
                worker.policy.max_attempts
            ),
        );
    }
    if age >= worker.policy.max_age {
        let max_age = humantime::format_duration(worker.policy.max_age);
        return dead(
            worker,
            seq,
            entry,
            format!("undelivered for longer than {max_age}: {error}"),
        );
    }
    let wait = after.unwrap_or_else(|| {
        worker
            .policy
            .backoff
            .delay(entry.attempts, &mut rand::rng())
    });
    entry.next_attempt_at = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
    entry.last_error = Some(error.clone());
    worker.store.reschedule(sink, seq, &entry)?;
    tracing::warn!(%error, attempts = entry.attempts, retry_in_ms = wait.as_millis() as u64, "delivery failed; will retry");
    Ok(Outcome::Retrying {
        attempts: entry.attempts,
        next_at: entry.next_attempt_at,
    })
}

fn dead(
    worker: &Worker,
    seq: u64,
    entry: OutboxEntry,
    reason: String,
) -> Result<Outcome, StoreError> {
    let attempts = entry.attempts;
    let id = worker
        .store
        .dead_letter(worker.sink.name(), seq, entry, &reason)?;
    tracing::error!(%reason, attempts, dead_letter = id, "delivery given up: moved to dead letters");
    Ok(Outcome::DeadLettered { reason })
}

/// Delivers `worker`'s outbox until `stop`, then lets the attempts in flight finish.
pub async fn run_worker(worker: Worker, stop: CancellationToken) {
    let mut busy: HashSet<u64> = HashSet::new();
    let mut tasks: JoinSet<u64> = JoinSet::new();
    loop {
        let next_at = match start_due(&worker, &mut busy, &mut tasks) {
            Ok(next_at) => next_at,
            Err(error) => {
                tracing::error!(sink = worker.sink.name(), %error, "cannot read the outbox; retrying in 1s");
                Some(Utc::now() + chrono::Duration::seconds(1))
            }
        };
        let pause = next_at.map(|at| (at - Utc::now()).to_std().unwrap_or_default());
        tokio::select! {
            _ = stop.cancelled() => break,
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok(seq) = done { busy.remove(&seq); }
            }
            _ = worker.wake.notified() => {}
            _ = tokio::time::sleep(pause.unwrap_or_default()), if pause.is_some() => {}
        }
    }
    while tasks.join_next().await.is_some() {}
}

/// Starts attempts for due entries while there is room; returns when to look again (`None`:
/// when an attempt finishes or the poller wakes us).
fn start_due(
    worker: &Worker,
    busy: &mut HashSet<u64>,
    tasks: &mut JoinSet<u64>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let room = worker.policy.concurrency.saturating_sub(busy.len());
    if room == 0 {
        return Ok(None);
    }
    let due = worker
        .store
        .due(worker.sink.name(), Utc::now(), room, busy)?;
    let full = due.entries.len() == room;
    for (seq, entry) in due.entries {
        busy.insert(seq);
        let span = tracing::info_span!("deliver", sink = worker.sink.name(), event = %entry.event.id,
            org = %entry.event.data.org_id, conversation = %entry.event.data.conversation.id());
        let worker = worker.clone();
        tasks.spawn(
            async move {
                if let Err(error) = deliver_one(&worker, seq, entry).await {
                    tracing::error!(%error, "cannot record a delivery outcome; the entry stays queued");
                }
                seq
            }
            .instrument(span),
        );
    }
    Ok(if full { None } else { due.next_at })
}

/// Moves every entry queued for a sink that is no longer configured to the dead letters, so it
/// is kept (and can be retried once the sink is back) instead of silently waiting forever.
pub fn dead_letter_orphans(store: &Store, configured: &[&str]) -> Result<usize, StoreError> {
    let mut moved = 0;
    for sink in store.outbox_sinks()? {
        if configured.contains(&sink.as_str()) {
            continue;
        }
        let far = Utc::now() + chrono::Duration::days(365 * 100);
        for (seq, entry) in store.due(&sink, far, usize::MAX, &HashSet::new())?.entries {
            store.dead_letter(
                &sink,
                seq,
                entry,
                &format!("sink `{sink}` is no longer in the configuration"),
            )?;
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
