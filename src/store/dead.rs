//! Dead letters: what a sink could not take and will not be retried without an operator.
//!
//! `dead_letters[seq]` = dead time (i64 BE, ms) + sink name length (u16 BE) + sink name +
//! [`DeadLetter`] JSON. The header lets counting, filtering by sink and purging by age go
//! without decoding JSON; the key (the entry's sequence number, its id) makes retrying one a
//! point lookup and listing in pages a range scan.

use super::outbox::{encode_entry, header_millis, index_key, OutboxEntry};
use super::{corrupt, pair_key, Result, Store};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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

/// Which dead letters an operation applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadFilter {
    /// Only this sink's.
    pub sink: Option<String>,
    /// Only those given up before this.
    pub dead_before: Option<DateTime<Utc>>,
}

impl DeadFilter {
    fn takes(&self, header: &Header<'_>) -> bool {
        self.sink.as_deref().is_none_or(|s| s == header.sink)
            && self
                .dead_before
                .is_none_or(|t| header.dead_at < t.timestamp_millis())
    }
}

/// The readable part of a stored dead letter.
pub(super) struct Header<'a> {
    pub(super) dead_at: i64,
    pub(super) sink: &'a str,
    json: &'a [u8],
}

pub(super) fn encode_dead(letter: &DeadLetter) -> Result<Vec<u8>> {
    let sink = letter.sink.as_bytes();
    let length = u16::try_from(sink.len()).map_err(|_| corrupt("dead letter", "sink name"))?;
    let mut bytes = letter.dead_at.timestamp_millis().to_be_bytes().to_vec();
    bytes.extend_from_slice(&length.to_be_bytes());
    bytes.extend_from_slice(sink);
    serde_json::to_writer(&mut bytes, letter).map_err(|e| corrupt("dead letter", e))?;
    Ok(bytes)
}

pub(super) fn header(value: &[u8]) -> Result<Header<'_>> {
    let short = || corrupt("dead letter", "too short");
    let dead_at = i64::from_be_bytes(value.get(..8).ok_or_else(short)?.try_into().expect("8"));
    let length = u16::from_be_bytes(value.get(8..10).ok_or_else(short)?.try_into().expect("2"));
    let end = 10 + usize::from(length);
    let sink = std::str::from_utf8(value.get(10..end).ok_or_else(short)?)
        .map_err(|e| corrupt("dead letter", e))?;
    Ok(Header {
        dead_at,
        sink,
        json: &value[end..],
    })
}

fn decode_dead(value: &[u8]) -> Result<DeadLetter> {
    serde_json::from_slice(header(value)?.json).map_err(|e| corrupt("dead letter", e))
}

impl Store {
    /// Moves an entry to the dead letters in one atomic step; returns the dead letter's id.
    pub fn dead_letter(
        &self,
        sink: &str,
        seq: u64,
        entry: OutboxEntry,
        reason: &str,
    ) -> Result<u64> {
        self.watch(|| self.dead_letter_unwatched(sink, seq, entry, reason))
    }

    fn dead_letter_unwatched(
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
        let bytes = encode_dead(&letter)?;
        let key = pair_key(sink, &seq.to_be_bytes());
        let removed = self.transact3(|outbox, index, dead| {
            let old = outbox.remove(key.as_slice())?;
            if let Some(at) = old.as_deref().and_then(|v| header_millis(v).ok()) {
                index.remove(index_key(sink, at, seq))?;
            }
            dead.insert(&seq.to_be_bytes(), bytes.as_slice())?;
            Ok(old.is_some())
        })?;
        self.counts.queued(sink, 0, u64::from(removed));
        self.counts.dead(sink, 1, 0);
        Ok(seq)
    }

    /// Up to `limit` dead letters with ids after `after`, oldest first, that `filter` takes.
    pub fn dead_letters_page(
        &self,
        after: Option<u64>,
        limit: usize,
        filter: &DeadFilter,
    ) -> Result<Vec<DeadLetter>> {
        let Some(start) = after.map_or(Some(0), |a| a.checked_add(1)) else {
            return Ok(Vec::new());
        };
        let mut letters = Vec::new();
        for item in self.dead.range(start.to_be_bytes()..) {
            if letters.len() >= limit {
                break;
            }
            let (_, value) = item?;
            if filter.takes(&header(&value)?) {
                letters.push(decode_dead(&value)?);
            }
        }
        Ok(letters)
    }

    /// Every dead letter, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        self.dead_letters_page(None, usize::MAX, &DeadFilter::default())
    }

    /// One dead letter, by id (a point lookup).
    pub fn dead_letter_by_id(&self, id: u64) -> Result<Option<DeadLetter>> {
        self.dead
            .get(id.to_be_bytes())?
            .map(|v| decode_dead(&v))
            .transpose()
    }

    /// Puts a dead letter back in its sink's outbox, due now, with a fresh attempt count.
    /// Returns its sink, or `None` when there is no such dead letter.
    pub fn retry_dead_letter(&self, id: u64) -> Result<Option<String>> {
        let Some(letter) = self.dead_letter_by_id(id)? else {
            return Ok(None);
        };
        let now = Utc::now();
        let entry = OutboxEntry {
            attempts: 0,
            next_attempt_at: now,
            enqueued_at: now,
            ..letter.entry
        };
        let value = encode_entry(&entry)?;
        let key = pair_key(&letter.sink, &id.to_be_bytes());
        let index = index_key(&letter.sink, header_millis(&value)?, id);
        let back = self.transact3(|outbox, due, dead| {
            let removed = dead.remove(&id.to_be_bytes())?.is_some();
            if removed {
                outbox.insert(key.as_slice(), value.as_slice())?;
                due.insert(index.as_slice(), &[])?;
            }
            Ok(removed)
        })?;
        if back {
            self.counts.dead(&letter.sink, 0, 1);
            self.counts.queued(&letter.sink, 1, 0);
        }
        Ok(back.then_some(letter.sink))
    }

    /// Re-queues every dead letter that `filter` takes; returns how many.
    pub fn retry_dead_letters(&self, filter: &DeadFilter) -> Result<usize> {
        let mut retried = 0;
        for id in self.dead_ids(filter)? {
            retried += usize::from(self.retry_dead_letter(id)?.is_some());
        }
        Ok(retried)
    }

    /// Deletes every dead letter that `filter` takes; returns how many.
    pub fn purge_dead_letters(&self, filter: &DeadFilter) -> Result<usize> {
        let mut purged = 0;
        for id in self.dead_ids(filter)? {
            if let Some(value) = self.dead.remove(id.to_be_bytes())? {
                self.counts.dead(header(&value)?.sink, 0, 1);
                purged += 1;
            }
        }
        self.counters.removed(purged);
        Ok(purged)
    }

    fn dead_ids(&self, filter: &DeadFilter) -> Result<Vec<u64>> {
        let mut ids = Vec::new();
        for item in self.dead.iter() {
            let (key, value) = item?;
            if filter.takes(&header(&value)?) {
                ids.push(super::outbox::seq_of(&key)?);
            }
        }
        Ok(ids)
    }
}
