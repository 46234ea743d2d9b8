//! Deliveries recorded together. A worker's attempt that its sink took hands the entry back
//! ([`Taken`]) instead of recording it at once; the worker records what its attempts took in
//! one atomic step ([`record_taken`]) when [`RECORD_MAX`] have gathered, when the first has
//! waited [`RECORD_WAIT`], or when nothing else is in flight. Every atomic step costs sled log
//! writes of its own: a step per delivery made 500 webhooks cost more than the listing they
//! came from (see the README's Performance section).
//!
//! Until it is recorded, a taken entry stays queued and busy (never planned again); a crash
//! before then sends it again, with the same event id, as a crash just after any attempt could.

use super::{bounded, settle, Outcome, Worker};
use crate::event::Event;
use crate::sinks::Attempt;
use crate::store::{OutboxEntry, StoreError};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::time::Duration;
use tokio::time::Instant;

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
/// recorded (`Ok`); any other outcome is settled (rescheduled, dead-lettered, parked) at once
/// (`Err`, what it became).
pub(super) async fn attempt_one(
    worker: &Worker,
    seq: u64,
    entry: OutboxEntry,
    now: DateTime<Utc>,
) -> Result<Result<Taken, Outcome>, StoreError> {
    let (attempt, at) = bounded(worker, worker.sink.deliver(&entry.event), now).await;
    let Attempt::Delivered(detail) = &attempt else {
        return settle(worker, vec![(seq, entry)], attempt, at).map(Err);
    };
    super::disable::record(worker, &attempt, at)?;
    tracing::debug!(%detail, "delivered");
    Ok(Ok(Taken { seq, entry, at }))
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
        worker.metrics.delivery(sink, "delivered", 1, Some(latency));
    }
    Ok(())
}

/// Taken entries waiting to be recorded, and since when.
#[derive(Default)]
pub(super) struct Gathered {
    taken: Vec<Taken>,
    since: Option<Instant>,
}

impl Gathered {
    /// A task ended: the entries it held but its sink did not take are free again; the taken
    /// ones stay busy until recorded.
    pub(super) fn finished(
        &mut self,
        (seqs, taken): (Vec<u64>, Vec<Taken>),
        busy: &mut HashSet<u64>,
    ) {
        for seq in seqs {
            if !taken.iter().any(|t| t.seq == seq) {
                busy.remove(&seq);
            }
        }
        if !taken.is_empty() {
            self.since.get_or_insert_with(Instant::now);
        }
        self.taken.extend(taken);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.taken.is_empty()
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        self.since.map(|since| since + RECORD_WAIT)
    }

    /// Whether to record now: enough gathered, the first waited long enough, or nothing else
    /// is in flight (`idle`) to wait for.
    pub(super) fn is_due(&self, idle: bool) -> bool {
        !self.taken.is_empty()
            && (idle
                || self.taken.len() >= RECORD_MAX
                || self.deadline().is_some_and(|at| at <= Instant::now()))
    }

    /// Records what is gathered; its entries are free again either way (when recording failed
    /// they stay queued, and are sent again).
    pub(super) fn record(&mut self, worker: &Worker, busy: &mut HashSet<u64>) {
        let taken = std::mem::take(&mut self.taken);
        self.since = None;
        if taken.is_empty() {
            return;
        }
        if let Err(error) = record_taken(worker, &taken) {
            tracing::error!(sink = worker.sink.name(), %error, "cannot record deliveries; the entries stay queued and will be sent again");
        }
        for taken in &taken {
            busy.remove(&taken.seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(seq: u64) -> Taken {
        let event = crate::render::sample_in(false, "inbox");
        let entry = OutboxEntry::new(event, Utc::now());
        Taken {
            seq,
            entry,
            at: Utc::now(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn taken_entries_wait_to_be_recorded_until_enough_gathered_or_the_first_waited() {
        let mut gathered = Gathered::default();
        let mut busy: HashSet<u64> = [1, 2].into();
        assert!(
            !gathered.is_due(true),
            "nothing gathered, nothing to record"
        );
        gathered.finished((vec![1, 2], vec![taken(1)]), &mut busy);
        assert_eq!(
            busy,
            [1].into(),
            "the taken one stays busy, the other is free"
        );
        assert!(
            !gathered.is_due(false),
            "others in flight: it waits for them"
        );
        assert!(
            gathered.is_due(true),
            "nothing else in flight: no reason to wait"
        );
        tokio::time::advance(RECORD_WAIT).await;
        assert!(gathered.is_due(false), "the first has waited long enough");
        let mut many = Gathered::default();
        let seqs: Vec<u64> = (0..RECORD_MAX as u64).collect();
        many.finished(
            (seqs.clone(), seqs.into_iter().map(taken).collect()),
            &mut busy,
        );
        assert!(many.is_due(false), "enough gathered");
    }
}
