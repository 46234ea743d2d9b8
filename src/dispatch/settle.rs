//! What an attempt's outcome means for its entries (delivered, rescheduled with backoff, or
//! dead-lettered), and the limits that keep queues from growing forever: `delivery.max_age` for
//! every queued entry, attempted or not, `delivery.keep_dead_letters` and
//! `delivery.keep_delivered`.

use super::taken::{record_taken, Taken};
use super::{Outcome, Policy, Worker};
use crate::sinks::Attempt;
use crate::store::{DeadFilter, OutboxEntry, Store, StoreError};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Records what an attempt, settled at `now`, means for its entries and for the sink's health.
pub(super) fn settle(
    worker: &Worker,
    mut entries: Vec<(u64, OutboxEntry)>,
    attempt: Attempt,
    now: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    super::disable::record(worker, &attempt, now)?;
    let (error, after, counts) = match attempt {
        Attempt::Delivered(detail) => {
            let taken: Vec<Taken> = entries
                .into_iter()
                .map(|(seq, entry)| Taken {
                    seq,
                    entry,
                    at: now,
                })
                .collect();
            record_taken(worker, &taken)?;
            tracing::debug!(%detail, "delivered");
            return Ok(Outcome::Delivered);
        }
        Attempt::Reject(error) => return dead(worker, entries, 1, format!("refused: {error}")),
        Attempt::Gone(error) => (error, None, true),
        Attempt::Retry { error, after } => (error, after, true),
        Attempt::Throttled { error, after } => (error, Some(after), false),
    };
    let (after, counts) = honour(&worker.policy, after, counts);
    let attempts = entries.iter().map(|(_, e)| e.attempts).max().unwrap_or(0) + u32::from(counts);
    if worker.is_disabled() {
        // Kept for when the sink is enabled: neither given up nor expired meanwhile.
        return super::disable::park(worker, entries, attempts, error, now);
    }
    let oldest = entries
        .iter()
        .map(|(_, e)| e.enqueued_at)
        .min()
        .unwrap_or(now);
    if attempts >= worker.policy.max_attempts {
        return dead(
            worker,
            entries,
            u32::from(counts),
            format!("gave up after {attempts} attempts: {error}"),
        );
    }
    if worker.age(oldest, now) >= worker.policy.max_age {
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
    if after.is_some() {
        // The sink named a time: nothing else goes to it before then either.
        worker.hold.until(next_at);
    }
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
    // Counted once they are dead letters: a scrape never sees the count ahead of the store.
    let count = entries.len();
    for (seq, mut entry) in entries {
        entry.attempts += extra;
        entry.last_error = Some(reason.clone());
        let attempts = entry.attempts;
        let id = worker
            .store
            .dead_letter(worker.sink.name(), seq, entry, &reason)?;
        tracing::error!(%reason, attempts, dead_letter = id, "delivery given up: moved to dead letters");
    }
    worker
        .metrics
        .delivery(worker.sink.name(), "dead_lettered", count, None);
    Ok(Outcome::DeadLettered { reason })
}

/// Dead-letters the entries older than `max_age` (since they were queued) without an attempt,
/// whether they were ever attempted or not: an entry that waited that long is no longer news.
/// Returns the others.
pub(crate) fn expire(
    worker: &Worker,
    entries: Vec<(u64, OutboxEntry)>,
    now: DateTime<Utc>,
) -> Result<Vec<(u64, OutboxEntry)>, StoreError> {
    if worker.is_disabled() {
        // Kept while the sink is disabled: that time does not count (enabling moves their age).
        return Ok(entries);
    }
    let max_age = worker.policy.max_age;
    let (old, fresh): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .partition(|(_, e)| worker.age(e.enqueued_at, now) >= max_age);
    if !old.is_empty() {
        let reason = format!(
            "undelivered for longer than delivery.max_age ({})",
            humantime::format_duration(max_age)
        );
        dead(worker, old, 0, reason)?;
    }
    Ok(fresh)
}

/// Removes the dead letters given up more than `keep` before `now`; returns how many.
pub fn sweep_dead_letters(
    store: &Store,
    keep: Duration,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let Some(dead_before) = crate::backoff::ago(now, keep) else {
        return Ok(0);
    };
    let filter = DeadFilter {
        sink: None,
        dead_before: Some(dead_before),
    };
    let purged = store.purge_dead_letters(&filter)?;
    if purged > 0 {
        tracing::info!(
            purged,
            "removed dead letters older than delivery.keep_dead_letters"
        );
    }
    Ok(purged)
}

/// Removes the delivered log's events detected more than `keep` before `now` (all of them with
/// `keep` = 0: a log turned off leaves nothing behind); returns how many.
pub fn sweep_delivered(
    store: &Store,
    keep: Duration,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let Some(before) = crate::backoff::ago(now, keep) else {
        return Ok(0);
    };
    let purged = store.purge_delivered_before(before)?;
    if purged > 0 {
        tracing::info!(
            purged,
            "removed delivered events older than delivery.keep_delivered"
        );
    }
    Ok(purged)
}
