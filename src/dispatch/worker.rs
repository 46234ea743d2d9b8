//! The per-sink delivery loop: start what is due (as [`plan`](super::plan) groups it) while there
//! is room, sleep until the next entry is due or the poller pokes, stop on the token.

use super::taken::{attempt_one, Gathered, Taken};
use super::{deliver_batch, deliver_one, settle, Outcome, Unit, Worker};
use crate::sinks::Attempt;
use crate::sinks::Batching;
use crate::store::StoreError;
use crate::store::{Cursor, OutboxEntry};
use chrono::{DateTime, Utc};
use futures::FutureExt;
use std::collections::HashSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How many due entries a grouping sink looks at in one go.
const GROUP_SCAN: usize = 10_000;

/// What a delivery task ends with: the entries it held, and those of them its sink took (to be
/// recorded by the worker, see `taken.rs`).
type Done = (Vec<u64>, Vec<Taken>);

/// Delivers `worker`'s outbox until `stop`, then lets the attempts in flight finish and records
/// what they took.
pub async fn run_worker(worker: Worker, stop: CancellationToken) {
    let wake = worker.outbox.wake_handle(worker.sink.name());
    let mut busy: HashSet<u64> = HashSet::new();
    let mut cursor = Cursor::default();
    let mut tasks: JoinSet<Done> = JoinSet::new();
    let mut taken = Gathered::default();
    loop {
        if taken.is_due(tasks.is_empty()) {
            taken.record(&worker, &mut busy);
        }
        if busy.is_empty() {
            cursor.reset(); // nothing in flight to walk over: look from the start
        }
        let next_at = match start_due(&worker, &mut busy, &mut cursor, &mut tasks) {
            Ok(next_at) => next_at,
            Err(error) => {
                tracing::error!(sink = worker.sink.name(), %error, "cannot read the outbox; retrying in 1s");
                Some(Utc::now() + chrono::Duration::seconds(1))
            }
        };
        let pause = next_at.map(|at| (at - Utc::now()).to_std().unwrap_or_default());
        let record_at = taken.deadline();
        tokio::select! {
            _ = stop.cancelled() => break,
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                taken.finished(done.unwrap_or_default(), &mut busy);
                if tasks.is_empty() && taken.is_empty() { busy.clear(); }
            }
            _ = wake.notified() => {}
            _ = tokio::time::sleep(pause.unwrap_or_default()), if pause.is_some() => {}
            _ = tokio::time::sleep_until(record_at.unwrap_or_else(Instant::now)), if record_at.is_some() => {}
        }
    }
    while let Some(done) = tasks.join_next().await {
        taken.finished(done.unwrap_or_default(), &mut busy);
    }
    taken.record(&worker, &mut busy);
}

/// Starts deliveries for due entries while there is room; returns when to look again (`None`:
/// when a delivery finishes or the poller pokes). Grouping sinks deliver one unit at a time.
fn start_due(
    worker: &Worker,
    busy: &mut HashSet<u64>,
    cursor: &mut Cursor,
    tasks: &mut JoinSet<Done>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let batching = worker.sink.batching();
    let single = batching == Batching::Single;
    let room = if single {
        // One entry a task: taken entries waiting to be recorded hold no room.
        worker.policy.concurrency.saturating_sub(tasks.len())
    } else {
        usize::from(busy.is_empty())
    };
    if room == 0 {
        return Ok(None);
    }
    let now = Utc::now();
    if let Some(until) = worker.paused_until(now) {
        return Ok(Some(until));
    }
    let limit = if single { room } else { GROUP_SCAN };
    // A grouping sink looks only when nothing is in flight: from the start, every time.
    let mut from_start = Cursor::default();
    let cursor = if single { cursor } else { &mut from_start };
    let (plan, read, due_next) = worker.plan_due(now, limit, busy, cursor)?;
    let full = single && read == room;
    if single {
        for unit in plan.units {
            spawn(worker, vec![unit], busy, tasks);
        }
    } else if !plan.units.is_empty() {
        spawn(worker, plan.units, busy, tasks);
    }
    let next_at = [due_next, plan.wake_at].into_iter().flatten().min();
    Ok(if full { None } else { next_at })
}

/// Runs `units` one after the other in a task.
fn spawn(worker: &Worker, units: Vec<Unit>, busy: &mut HashSet<u64>, tasks: &mut JoinSet<Done>) {
    let seqs: Vec<u64> = units.iter().flat_map(seqs_of).collect();
    busy.extend(&seqs);
    let worker = worker.clone();
    tasks.spawn(async move {
        let mut taken = Vec::new();
        for unit in units {
            let unit_seqs = seqs_of(&unit);
            let result = match unit {
                Unit::One(seq, entry) => attempt(&worker, seq, *entry, &unit_seqs).await,
                unit => {
                    let delivery = deliver(&worker, unit, Utc::now());
                    guarded(&worker, &unit_seqs, delivery).await.map(|_| None)
                }
            };
            match result {
                Ok(took) => taken.extend(took),
                Err(error) => tracing::error!(sink = worker.sink.name(), %error, "cannot record a delivery outcome; the entries stay queued"),
            }
        }
        (seqs, taken)
    });
}

fn seqs_of(unit: &Unit) -> Vec<u64> {
    match unit {
        Unit::One(seq, _) => vec![*seq],
        Unit::Batch(_, entries) => entries.iter().map(|(seq, _)| *seq).collect(),
    }
}

/// One attempt of one entry, as [`deliver`] makes it, except that an entry its sink took is
/// handed back to be recorded with others.
async fn attempt(
    worker: &Worker,
    seq: u64,
    entry: OutboxEntry,
    seqs: &[u64],
) -> Result<Option<Taken>, StoreError> {
    if worker.is_disabled() {
        return Ok(None); // parked: see `deliver`
    }
    let span = one_span(worker, &entry);
    let attempt = attempt_one(worker, seq, entry, Utc::now()).instrument(span);
    match caught(attempt).await {
        Ok(result) => result.map(Result::ok),
        Err(message) => settle_panic(worker, seqs, message).map(|_| None),
    }
}

/// The span of one entry's delivery.
fn one_span(worker: &Worker, entry: &OutboxEntry) -> tracing::Span {
    tracing::info_span!("deliver", sink = worker.sink.name(), event = %entry.event.id,
        org = %entry.event.data.org_id, conversation = %entry.event.data.conversation.id())
}

/// Makes one delivery (one entry, or one batch), started at `now`, and records its outcome.
pub async fn deliver(
    worker: &Worker,
    unit: Unit,
    now: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    if worker.is_disabled() {
        // Disabled by an attempt planned with this one: the rest of the plan waits too.
        return Ok(Outcome::Parked);
    }
    match unit {
        Unit::One(seq, entry) => {
            let span = one_span(worker, &entry);
            deliver_one(worker, seq, *entry, now).instrument(span).await
        }
        Unit::Batch(batch, entries) => {
            let span =
                tracing::info_span!("deliver", sink = worker.sink.name(), events = entries.len());
            deliver_batch(worker, batch, entries, now)
                .instrument(span)
                .await
        }
    }
}

/// Runs one delivery; a panic inside it (a bug, never the input's fault) is caught, logged with
/// the sink and the events, and counted as a failed attempt of the entries `seqs`, so they are
/// retried later with backoff: neither lost, nor stuck as "in flight", nor retried in a loop.
pub async fn guarded(
    worker: &Worker,
    seqs: &[u64],
    delivery: impl Future<Output = Result<Outcome, StoreError>>,
) -> Result<Outcome, StoreError> {
    match caught(delivery).await {
        Ok(result) => result,
        Err(message) => settle_panic(worker, seqs, message),
    }
}

/// The future's output, or the message of its panic.
async fn caught<T>(work: impl Future<Output = T>) -> Result<T, String> {
    AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .map_err(|panic| {
            panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into())
        })
}

/// A panicked delivery of the entries `seqs` (see [`guarded`]): logged, and a failed attempt.
fn settle_panic(worker: &Worker, seqs: &[u64], message: String) -> Result<Outcome, StoreError> {
    let mut entries = Vec::new();
    for seq in seqs {
        if let Some(entry) = worker.store.queued_entry(worker.sink.name(), *seq)? {
            entries.push((*seq, entry));
        }
    }
    let events: Vec<&str> = entries.iter().map(|(_, e)| e.event.id.as_str()).collect();
    tracing::error!(sink = worker.sink.name(), ?events, %message, "a delivery panicked; it will be retried");
    let error = format!("the delivery panicked: {message}");
    let failed = Attempt::Retry { error, after: None };
    settle(worker, entries, failed, Utc::now())
}
