//! The outbox (what each sink still has to receive) and dead letters (what it could not).

use super::{corrupt, pair_key, prefix, transact, Result, Store};
use crate::event::Event;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};

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

/// An entry that will not be retried without an operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Its id for `dead-letters retry ID`.
    pub id: u64,
    /// The sink that could not take it.
    pub sink: String,
    /// The entry as it was when given up.
    pub entry: OutboxEntry,
    /// When it was given up.
    pub dead_at: DateTime<Utc>,
    /// Why.
    pub reason: String,
}

/// Entries that are due, and when the next of the others is.
#[derive(Debug, Default)]
pub struct Due {
    /// (sequence number, entry), oldest first.
    pub entries: Vec<(u64, OutboxEntry)>,
    /// The earliest `next_attempt_at` of the entries not yet due (unset when `limit` was reached).
    pub next_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Up to `limit` entries of `sink` due at `now`, skipping `busy` ones (in flight).
    pub fn due(
        &self,
        sink: &str,
        now: DateTime<Utc>,
        limit: usize,
        busy: &HashSet<u64>,
    ) -> Result<Due> {
        let mut due = Due::default();
        for item in self.outbox.scan_prefix(prefix(sink)) {
            let (key, value) = item?;
            let seq = seq_of(&key)?;
            let at =
                DateTime::from_timestamp_millis(i64::from_be_bytes(header(&value)?)).unwrap_or(now);
            if busy.contains(&seq) {
                continue;
            }
            if at <= now {
                due.entries.push((seq, decode_entry(&value)?));
                if due.entries.len() >= limit {
                    // Full: the caller will not look at `next_at` before something finishes.
                    break;
                }
            } else if due.next_at.is_none_or(|next| at < next) {
                due.next_at = Some(at);
            }
        }
        Ok(due)
    }

    /// Entries waiting for `sink`.
    pub fn outbox_depth(&self, sink: &str) -> usize {
        self.outbox.scan_prefix(prefix(sink)).count()
    }

    /// Every sink name that has entries waiting.
    pub fn outbox_sinks(&self) -> Result<BTreeSet<String>> {
        let mut sinks = BTreeSet::new();
        for key in self.outbox.iter().keys() {
            let key = key?;
            let end = key.iter().position(|b| *b == 0).unwrap_or(key.len());
            sinks.insert(String::from_utf8_lossy(&key[..end]).into_owned());
        }
        Ok(sinks)
    }

    /// Replaces an entry after a failed attempt (attempts, next time, last error).
    pub fn reschedule(&self, sink: &str, seq: u64, entry: &OutboxEntry) -> Result<()> {
        let value = encode_entry(entry)?;
        self.counters.wrote(1, sink.len() + 9 + value.len());
        self.outbox
            .insert(pair_key(sink, &seq.to_be_bytes()), value)?;
        Ok(())
    }

    /// Forgets a delivered entry.
    pub fn delivered(&self, sink: &str, seq: u64) -> Result<()> {
        self.counters.removed(1);
        self.outbox.remove(pair_key(sink, &seq.to_be_bytes()))?;
        Ok(())
    }

    /// Moves an entry to the dead letters in one atomic step; returns the dead letter's id.
    pub fn dead_letter(
        &self,
        sink: &str,
        seq: u64,
        entry: OutboxEntry,
        reason: &str,
    ) -> Result<u64> {
        let letter = DeadLetter {
            id: seq,
            sink: sink.to_string(),
            entry,
            dead_at: Utc::now(),
            reason: reason.to_string(),
        };
        let bytes = serde_json::to_vec(&letter).map_err(|e| corrupt("dead letter", e))?;
        let key = pair_key(sink, &seq.to_be_bytes());
        transact(&self.outbox, &self.dead, |outbox, dead| {
            outbox.remove(key.as_slice())?;
            dead.insert(&seq.to_be_bytes(), bytes.as_slice())?;
            Ok(())
        })?;
        Ok(seq)
    }

    /// Every dead letter, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        self.dead
            .iter()
            .values()
            .map(|v| serde_json::from_slice(&v?).map_err(|e| corrupt("dead letter", e)))
            .collect()
    }

    /// Puts a dead letter back in its sink's outbox, due now, with a fresh attempt count.
    /// Returns false when there is no such dead letter.
    pub fn retry_dead_letter(&self, id: u64) -> Result<bool> {
        let Some(bytes) = self.dead.get(id.to_be_bytes())? else {
            return Ok(false);
        };
        let letter: DeadLetter =
            serde_json::from_slice(&bytes).map_err(|e| corrupt("dead letter", e))?;
        let now = Utc::now();
        let entry = OutboxEntry {
            attempts: 0,
            next_attempt_at: now,
            enqueued_at: now,
            ..letter.entry
        };
        let (key, value) = self.encode_new_entry(&letter.sink, &entry)?;
        transact(&self.outbox, &self.dead, |outbox, dead| {
            dead.remove(&id.to_be_bytes())?;
            outbox.insert(key.as_slice(), value.as_slice())?;
            Ok(())
        })?;
        Ok(true)
    }

    /// Deletes every dead letter; returns how many.
    pub fn purge_dead_letters(&self) -> Result<usize> {
        let count = self.dead.len();
        self.dead.clear()?;
        Ok(count)
    }

    /// Key and value of a new entry for `sink`, with a fresh sequence number.
    pub(super) fn encode_new_entry(
        &self,
        sink: &str,
        entry: &OutboxEntry,
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let seq = self.db.generate_id()?;
        Ok((pair_key(sink, &seq.to_be_bytes()), encode_entry(entry)?))
    }
}

fn encode_entry(entry: &OutboxEntry) -> Result<Vec<u8>> {
    let mut bytes = entry
        .next_attempt_at
        .timestamp_millis()
        .to_be_bytes()
        .to_vec();
    serde_json::to_writer(&mut bytes, entry).map_err(|e| corrupt("outbox entry", e))?;
    Ok(bytes)
}

fn header(value: &[u8]) -> Result<[u8; 8]> {
    value
        .get(..8)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| corrupt("outbox entry", "too short"))
}

fn decode_entry(value: &[u8]) -> Result<OutboxEntry> {
    serde_json::from_slice(&value[8..]).map_err(|e| corrupt("outbox entry", e))
}

fn seq_of(key: &[u8]) -> Result<u64> {
    let tail = key
        .len()
        .checked_sub(8)
        .ok_or_else(|| corrupt("outbox key", "too short"))?;
    Ok(u64::from_be_bytes(key[tail..].try_into().expect("8 bytes")))
}
