//! The outbox: what each sink still has to receive, indexed by when it is due.
//!
//! Each entry is `outbox[sink \0 seq]` = due time (i64 BE, ms) + [`OutboxEntry`] JSON, and has
//! one key in `outbox_due`: `sink \0 due (u64 BE, ms) seq (u64 BE)`. Finding due work
//! (`due.rs`) walks the index and stops at the first key not yet due, so it costs what is due,
//! not what is queued. The index is written without a transaction on the delivery path:
//! an index key whose entry is gone, or whose entry now says another time, is stale (a crash
//! between the two writes) and is dropped when met.

use super::{corrupt, pair_key, Result, Store};
use crate::event::Event;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One (event, sink) delivery still to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The event, exactly as it will be sent.
    pub event: Event,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the entry was queued.
    pub enqueued_at: DateTime<Utc>,
    /// Not to be tried before this.
    pub next_attempt_at: DateTime<Utc>,
    /// The last failure, for dead letters and status.
    pub last_error: Option<String>,
    /// The poll that found it (flood summaries group by poll).
    #[serde(default)]
    pub poll: u64,
}

impl OutboxEntry {
    /// A fresh entry, due now.
    pub fn new(event: Event, now: DateTime<Utc>) -> Self {
        OutboxEntry {
            event,
            attempts: 0,
            enqueued_at: now,
            next_attempt_at: now,
            last_error: None,
            poll: 0,
        }
    }
}

/// A new entry as keys and values, ready for a transaction.
pub(super) struct NewEntry {
    pub(super) sink: String,
    pub(super) key: Vec<u8>,
    pub(super) value: Vec<u8>,
    pub(super) index: Vec<u8>,
}

impl Store {
    /// One queued entry, by its sequence number (a point lookup).
    pub fn queued_entry(&self, sink: &str, seq: u64) -> Result<Option<OutboxEntry>> {
        self.counters.read(1);
        let value = self.outbox.get(pair_key(sink, &seq.to_be_bytes()))?;
        value.map(|v| decode_entry(&v)).transpose()
    }

    /// Entries waiting for `sink` (a counter, not a scan).
    pub fn outbox_depth(&self, sink: &str) -> usize {
        self.counts.get(sink).queued as usize
    }

    /// Replaces an entry after a failed attempt (attempts, next time, last error).
    pub fn reschedule(&self, sink: &str, seq: u64, entry: &OutboxEntry) -> Result<()> {
        self.watch(|| self.reschedule_unwatched(sink, seq, entry))
    }

    fn reschedule_unwatched(&self, sink: &str, seq: u64, entry: &OutboxEntry) -> Result<()> {
        let value = encode_entry(entry)?;
        let key = pair_key(sink, &seq.to_be_bytes());
        let at = header_millis(&value)?;
        // The new index key first: a crash after it leaves a stale key, never a lost entry.
        self.outbox_due.insert(index_key(sink, at, seq), &[])?;
        let old = self.outbox.insert(&key, value.as_slice())?;
        self.counters.wrote(2, key.len() + value.len());
        match old {
            Some(old) if header_millis(&old)? != at => {
                self.outbox_due
                    .remove(index_key(sink, header_millis(&old)?, seq))?;
            }
            Some(_) => {}
            // It was delivered or dead-lettered meanwhile: take back what was just written.
            None => {
                self.outbox.remove(&key)?;
                self.outbox_due.remove(index_key(sink, at, seq))?;
            }
        }
        Ok(())
    }

    /// Key, value and index key of a new entry for `sink`, with a fresh sequence number.
    pub(super) fn encode_new_entry(&self, sink: &str, entry: &OutboxEntry) -> Result<NewEntry> {
        let seq = self.next_id()?;
        let value = encode_entry(entry)?;
        let index = index_key(sink, header_millis(&value)?, seq);
        Ok(NewEntry {
            sink: sink.to_string(),
            key: pair_key(sink, &seq.to_be_bytes()),
            value,
            index,
        })
    }
}

/// Milliseconds since the epoch, as an index orders them (times before 1970 sort first).
pub(super) fn millis(at: DateTime<Utc>) -> u64 {
    at.timestamp_millis().max(0) as u64
}

/// `sink \0 at seq`.
pub(super) fn index_key(sink: &str, at: u64, seq: u64) -> Vec<u8> {
    let mut tail = at.to_be_bytes().to_vec();
    tail.extend_from_slice(&seq.to_be_bytes());
    pair_key(sink, &tail)
}

pub(super) fn index_parts(key: &[u8]) -> Result<(u64, u64)> {
    let tail = key
        .len()
        .checked_sub(16)
        .map(|start| &key[start..])
        .ok_or_else(|| corrupt("outbox index key", "too short"))?;
    let (at, seq) = tail.split_at(8);
    let number = |b: &[u8]| u64::from_be_bytes(b.try_into().expect("8 bytes"));
    Ok((number(at), number(seq)))
}

pub(super) fn encode_entry(entry: &OutboxEntry) -> Result<Vec<u8>> {
    let mut bytes = entry
        .next_attempt_at
        .timestamp_millis()
        .to_be_bytes()
        .to_vec();
    serde_json::to_writer(&mut bytes, entry).map_err(|e| corrupt("outbox entry", e))?;
    Ok(bytes)
}

/// The due time in an entry's header, as the index orders it.
pub(super) fn header_millis(value: &[u8]) -> Result<u64> {
    let header: [u8; 8] = value
        .get(..8)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| corrupt("outbox entry", "too short"))?;
    Ok(i64::from_be_bytes(header).max(0) as u64)
}

pub(super) fn decode_entry(value: &[u8]) -> Result<OutboxEntry> {
    serde_json::from_slice(&value[8..]).map_err(|e| corrupt("outbox entry", e))
}

/// The sequence number at the end of an outbox key.
pub(super) fn seq_of(key: &[u8]) -> Result<u64> {
    let tail = key
        .len()
        .checked_sub(8)
        .ok_or_else(|| corrupt("outbox key", "too short"))?;
    Ok(u64::from_be_bytes(key[tail..].try_into().expect("8 bytes")))
}

/// The sink name at the start of an outbox or index key.
pub(super) fn sink_of(key: &[u8]) -> String {
    let end = key.iter().position(|b| *b == 0).unwrap_or(key.len());
    String::from_utf8_lossy(&key[..end]).into_owned()
}
