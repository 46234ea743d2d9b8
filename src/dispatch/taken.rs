//! Deliveries recorded together. A worker's attempt that its sink took hands the entry back
//! ([`Taken`]) instead of recording it at once; the worker records what its attempts took in
//! one atomic step ([`record_taken`]) when [`RECORD_MAX`] have gathered, when the first has
//! waited [`RECORD_WAIT`], or when nothing else is in flight. Every atomic step costs sled log
//! writes of its own: a step per delivery made 500 webhooks cost more than the listing they
//! came from (see the README's Performance section).
//!
//! Until it is recorded, a taken entry stays queued and busy (never planned again); a crash
//! before then sends it again, with the same event id, as a crash just after any attempt could.

use super::{bounded, settle, Worker};
use crate::event::Event;
use crate::sinks::Attempt;
use crate::store::{OutboxEntry, StoreError};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Taken entries after which they are recorded.
pub const RECORD_MAX: usize = 64;

/// The longest a taken entry waits to be recorded.
pub const RECORD_WAIT: Duration = Duration::from_millis(20);

/// An entry its sink took, at `at`, not recorded yet.
#[derive(Debug)]
pub struct Taken {
    pub(super) seq: u64,
    pub(super) entry: OutboxEntry,
    pub(super) at: DateTime<Utc>,
}

/// One attempt of entry `seq`, started at `now`: what its sink took is handed back to be
/// recorded; any other outcome is settled (rescheduled, dead-lettered, parked) at once.
pub(super) async fn attempt_one(
    worker: &Worker,
    seq: u64,
    entry: OutboxEntry,
    now: DateTime<Utc>,
) -> Result<Option<Taken>, StoreError> {
    let (attempt, at) = bounded(worker, worker.sink.deliver(&entry.event), now).await;
    let Attempt::Delivered(detail) = &attempt else {
        settle(worker, vec![(seq, entry)], attempt, at)?;
        return Ok(None);
    };
    super::disable::record(worker, &attempt, at)?;
    tracing::debug!(%detail, "delivered");
    Ok(Some(Taken { seq, entry, at }))
}

/// Records taken entries as delivered, in one atomic step, and counts them.
pub fn record_taken(worker: &Worker, taken: &[Taken]) -> Result<(), StoreError> {
    let events: Vec<(u64, &Event)> = taken.iter().map(|t| (t.seq, &t.entry.event)).collect();
    let sink = worker.sink.name();
    worker
        .store
        .delivered_all(sink, &events, worker.policy.log_delivered)?;
    for taken in taken {
        // enqueued_at keeps sub-second precision; the event's timestamp is whole seconds.
        let latency = (taken.at - taken.entry.enqueued_at)
            .to_std()
            .unwrap_or_default();
        worker
            .metrics
            .delivery(sink, "delivered", 1, Some(latency));
    }
    Ok(())
}
