//! The delivered-events log: what each sink took, kept for `delivery.keep_delivered` so that
//! `replay` can queue it again with its original id and body.
//!
//! `delivered[detected (u64 BE, ms) event id]` = sinks length (u16 BE) + sink names joined by
//! `\0` + the event JSON (compact, as sent). One record per event, however many sinks took it:
//! the second sink's delivery adds its name to the record instead of a second copy of the body.
//! The key starts with the event's detection time (its `timestamp`), so a time range is one range
//! scan and purging by age deletes a prefix of the tree. Records and their bytes are counters
//! ([`LogCounts`]), counted by one scan the first time the size is asked for (`status`), not at
//! open: `run --once`, and a daemon nobody asks, never read the whole log for it.

use super::outbox::{header_millis, index_key, OutboxEntry};
use super::{corrupt, pair_key, Result, Store};
use crate::event::Event;
use chrono::{DateTime, SubsecRound, Utc};
use std::sync::atomic::{AtomicU64, Ordering};

/// How big the log is: records (one per event) and their bytes (keys and values).
#[derive(Debug, Default)]
pub(super) struct LogCounts {
    entries: AtomicU64,
    bytes: AtomicU64,
}

impl LogCounts {
    fn change(&self, entries: i64, bytes: i64) {
        let apply = |counter: &AtomicU64, delta: i64| {
            let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(old.saturating_add_signed(delta))
            });
        };
        apply(&self.entries, entries);
        apply(&self.bytes, bytes);
    }
}

/// A reading of the log's size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LogSize {
    /// Events in the log.
    pub events: u64,
    /// Bytes of their keys and values (sled's own overhead comes on top).
    pub bytes: u64,
}

/// One event of the log and the sinks that took it.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    /// The event, as it was sent.
    pub event: Event,
    /// The sinks that took it, in the order they did.
    pub sinks: Vec<String>,
}

/// The log's counters once they are counted. Until then changes are not followed: the first
/// count sees them (deliveries in flight while it runs may be off by one each).
#[derive(Debug, Default)]
pub(super) struct LazyCounts(std::sync::OnceLock<LogCounts>);

impl LazyCounts {
    fn change(&self, entries: i64, bytes: i64) {
        if let Some(counts) = self.0.get() {
            counts.change(entries, bytes);
        }
    }
}

/// Counts the log's records and bytes.
fn count_log(log: &sled::Tree) -> Result<LogCounts> {
    let counts = LogCounts::default();
    for item in log.iter() {
        let (key, value) = item?;
        counts.change(1, (key.len() + value.len()) as i64);
    }
    Ok(counts)
}

fn time_key(at: DateTime<Utc>) -> [u8; 8] {
    (at.timestamp_millis().max(0) as u64).to_be_bytes()
}

/// Keyed by the detection time as the body says it (whole seconds), so that a range of times
/// selects the events whose `timestamp` falls in it.
fn log_key(event: &Event) -> Vec<u8> {
    let mut key = time_key(event.timestamp.trunc_subsecs(0)).to_vec();
    key.extend_from_slice(event.id.as_bytes());
    key
}

/// The record for `json` taken by `sinks`.
fn encode_record(sinks: &[&str], json: &[u8]) -> Result<Vec<u8>> {
    let names = sinks.join("\0");
    let length = u16::try_from(names.len()).map_err(|_| corrupt("delivered log", "sink names"))?;
    let mut value = length.to_be_bytes().to_vec();
    value.extend_from_slice(names.as_bytes());
    value.extend_from_slice(json);
    Ok(value)
}

/// The sink names and the event JSON of a record.
fn split_record(value: &[u8]) -> Result<(Vec<&str>, &[u8])> {
    let short = || corrupt("delivered log", "too short");
    let length = u16::from_be_bytes(value.get(..2).ok_or_else(short)?.try_into().expect("2"));
    let end = 2 + usize::from(length);
    let names = std::str::from_utf8(value.get(2..end).ok_or_else(short)?)
        .map_err(|e| corrupt("delivered log", e))?;
    let sinks = names.split('\0').filter(|s| !s.is_empty()).collect();
    Ok((sinks, &value[end..]))
}

/// `old` with `sink` added (the new record when there was none); `None` when it has it already.
fn with_sink(old: Option<&[u8]>, sink: &str, json: &[u8]) -> Result<Option<Vec<u8>>> {
    let Some(old) = old else {
        return encode_record(&[sink], json).map(Some);
    };
    let (mut sinks, json) = split_record(old)?;
    if sinks.contains(&sink) {
        return Ok(None);
    }
    sinks.push(sink);
    encode_record(&sinks, json).map(Some)
}

fn event_json(event: &Event) -> Result<Vec<u8>> {
    serde_json::to_vec(event).map_err(|e| corrupt("delivered log", e))
}

/// Logs one event as taken by `sink`, inside a transaction: (records added, bytes grown).
fn log_one(
    log: &sled::transaction::TransactionalTree,
    sink: &str,
    log_key: &[u8],
    json: &[u8],
) -> sled::transaction::ConflictableTransactionResult<(i64, i64), ()> {
    let before = log.get(log_key)?;
    let record = with_sink(before.as_deref(), sink, json)
        .map_err(|_| sled::transaction::ConflictableTransactionError::Abort(()))?;
    let Some(new) = record else {
        return Ok((0, 0));
    };
    let change = match &before {
        None => (1, (log_key.len() + new.len()) as i64),
        Some(old) => (0, new.len() as i64 - old.len() as i64),
    };
    log.insert(log_key, new)?;
    Ok(change)
}

impl Store {
    /// Forgets delivered entries of `sink`, and logs their events as taken by it when `log`, in
    /// one atomic step: a worker records what its deliveries took together, since every atomic
    /// step costs sled log writes of its own (see `poller/staged.rs`).
    pub fn delivered_all(&self, sink: &str, entries: &[(u64, &Event)], log: bool) -> Result<()> {
        self.watch(|| self.delivered_all_unwatched(sink, entries, log))
    }

    fn delivered_all_unwatched(
        &self,
        sink: &str,
        entries: &[(u64, &Event)],
        log: bool,
    ) -> Result<()> {
        use sled::Transactional;
        let mut records = Vec::with_capacity(entries.len());
        for (seq, event) in entries {
            let key = pair_key(sink, &seq.to_be_bytes());
            let logged = match log {
                true => Some((log_key(event), event_json(event)?)),
                false => None,
            };
            records.push((*seq, key, logged));
        }
        let trees = (&self.outbox, &self.outbox_due, &self.delivered);
        let (removed, change) = trees
            .transaction(|(outbox, index, log)| {
                let (mut removed, mut change) = (0, (0, 0));
                for (seq, key, logged) in &records {
                    let old = outbox.remove(key.as_slice())?;
                    if let Some(at) = old.as_deref().and_then(|v| header_millis(v).ok()) {
                        index.remove(index_key(sink, at, *seq))?;
                    }
                    removed += usize::from(old.is_some());
                    if let Some((log_key, json)) = logged {
                        let (count, bytes) = log_one(log, sink, log_key, json)?;
                        change = (change.0 + count, change.1 + bytes);
                    }
                }
                Ok((removed, change))
            })
            .map_err(super::tx::tx_error)?;
        self.counters.removed(entries.len());
        self.counts.queued(sink, 0, removed as u64);
        self.log.change(change.0, change.1);
        Ok(())
    }

    /// The log's size: counted by one scan the first time, from counters after.
    pub fn delivered_log_size(&self) -> Result<LogSize> {
        let counts = match self.log.0.get() {
            Some(counts) => counts,
            None => {
                let counted = count_log(&self.delivered)?;
                self.log.0.get_or_init(|| counted)
            }
        };
        Ok(LogSize {
            events: counts.entries.load(Ordering::Relaxed),
            bytes: counts.bytes.load(Ordering::Relaxed),
        })
    }

    /// Calls `each` for every logged event detected from `since` to `until` (both included),
    /// oldest first, decoding one record at a time.
    pub fn for_each_delivered(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        mut each: impl FnMut(Logged) -> Result<()>,
    ) -> Result<()> {
        let end = (until.timestamp_millis().max(0) as u64).saturating_add(1);
        for item in self.delivered.range(time_key(since)..end.to_be_bytes()) {
            let (_, value) = item?;
            let (sinks, json) = split_record(&value)?;
            let event = serde_json::from_slice(json).map_err(|e| corrupt("delivered log", e))?;
            let sinks = sinks.into_iter().map(str::to_string).collect();
            each(Logged { event, sinks })?;
        }
        Ok(())
    }

    /// Removes every logged event detected before `before`; returns how many.
    pub fn purge_delivered_before(&self, before: DateTime<Utc>) -> Result<usize> {
        self.watch(|| self.purge_delivered_unwatched(before))
    }

    fn purge_delivered_unwatched(&self, before: DateTime<Utc>) -> Result<usize> {
        let mut purged = 0;
        loop {
            // In slices, so that a long backlog never sits in memory at once.
            let mut batch = sled::Batch::default();
            let (mut count, mut bytes) = (0usize, 0usize);
            for item in self.delivered.range(..time_key(before)).take(1000) {
                let (key, value) = item?;
                bytes += key.len() + value.len();
                batch.remove(key);
                count += 1;
            }
            if count == 0 {
                return Ok(purged);
            }
            self.delivered.apply_batch(batch)?;
            self.counters.removed(count);
            self.log.change(-(count as i64), -(bytes as i64));
            purged += count;
        }
    }

    /// Queues `entries` (sink, entry) in one atomic step: events replayed from the log.
    pub fn requeue(&self, entries: &[(String, OutboxEntry)]) -> Result<()> {
        self.watch(|| self.requeue_unwatched(entries))
    }

    fn requeue_unwatched(&self, entries: &[(String, OutboxEntry)]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut encoded = Vec::with_capacity(entries.len());
        for (sink, entry) in entries {
            encoded.push(self.encode_new_entry(sink, entry)?);
        }
        self.transact3(|outbox, index, _| {
            for entry in &encoded {
                outbox.insert(entry.key.as_slice(), entry.value.as_slice())?;
                index.insert(entry.index.as_slice(), &[])?;
            }
            Ok(())
        })?;
        self.counters.committed();
        for entry in &encoded {
            self.counters
                .wrote(2, entry.key.len() + entry.value.len() + entry.index.len());
            self.counts.queued(&entry.sink, 1, 0);
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "delivered_tests.rs"]
mod tests;
