//! Sink health: since when every attempt to a sink has failed, and whether it is disabled (see
//! README "Disabled sinks"). `sink_state[sink]` = [`SinkHealth`] JSON, written only when it
//! changes (first failure, first success after failures, disable, enable), never per attempt;
//! read from a copy in memory, loaded once at open and kept by the writes.

use super::outbox::{decode_entry, seq_of};
use super::{corrupt, prefix, Result, Store};
use crate::store::OutboxEntry;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// What the dispatcher remembers about a sink between attempts (and across restarts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkHealth {
    /// The first failed attempt with no delivered one after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<Utc>>,
    /// Set while the sink is disabled: nothing is attempted until it is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<Disabled>,
}

/// Why and since when a sink is disabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disabled {
    /// When it was disabled.
    pub since: DateTime<Utc>,
    /// Why, in words (`answered HTTP 410 Gone`, `every attempt failed for 5days`).
    pub reason: String,
}

/// The copy in memory of the `sink_state` tree.
#[derive(Debug, Default)]
pub(super) struct HealthCache(Mutex<BTreeMap<String, SinkHealth>>);

impl HealthCache {
    pub(super) fn load(tree: &sled::Tree) -> Result<HealthCache> {
        let mut map = BTreeMap::new();
        for item in tree.iter() {
            let (key, value) = item?;
            let health = serde_json::from_slice(&value).map_err(|e| corrupt("sink state", e))?;
            map.insert(String::from_utf8_lossy(&key).into_owned(), health);
        }
        Ok(HealthCache(Mutex::new(map)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, SinkHealth>> {
        // Each change is one insert: the map is consistent whatever panicked while it was held.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store {
    /// `sink`'s health (a read in memory).
    pub fn sink_health(&self, sink: &str) -> SinkHealth {
        self.sink_health
            .lock()
            .get(sink)
            .cloned()
            .unwrap_or_default()
    }

    /// Whether `sink` is disabled (a read in memory, before every attempt).
    pub fn sink_disabled(&self, sink: &str) -> bool {
        self.sink_health
            .lock()
            .get(sink)
            .is_some_and(|h| h.disabled.is_some())
    }

    /// Notes a failed attempt at `at`: the start of the failures, unless they started earlier.
    pub fn sink_failing(&self, sink: &str, at: DateTime<Utc>) -> Result<()> {
        self.change_health(sink, |h| {
            let first = h.failing_since.is_none();
            h.failing_since.get_or_insert(at);
            first
        })
    }

    /// Notes a delivered attempt: the failures, if any, have ended.
    pub fn sink_recovered(&self, sink: &str) -> Result<()> {
        self.change_health(sink, |h| h.failing_since.take().is_some())
    }

    /// Writes `sink`'s health when `change` says it changed; the lock keeps concurrent attempts
    /// of one sink from undoing each other's changes.
    fn change_health(
        &self,
        sink: &str,
        change: impl FnOnce(&mut SinkHealth) -> bool,
    ) -> Result<()> {
        let mut cache = self.sink_health.lock();
        let mut health = cache.get(sink).cloned().unwrap_or_default();
        if !change(&mut health) {
            return Ok(());
        }
        let value = serde_json::to_vec(&health).map_err(|e| corrupt("sink state", e))?;
        self.watch(|| Ok(self.sink_state.insert(sink.as_bytes(), value.as_slice())?))?;
        self.counters.wrote(1, sink.len() + value.len());
        cache.insert(sink.to_string(), health);
        Ok(())
    }

    /// Disables `sink` and queues `notices` (sink, entry) in one atomic step, so a crash neither
    /// loses the notice nor sends it twice. `false` (and nothing written) when it already was.
    pub fn disable_sink(
        &self,
        sink: &str,
        disabled: &Disabled,
        notices: &[(String, OutboxEntry)],
    ) -> Result<bool> {
        use sled::Transactional;
        let mut cache = self.sink_health.lock();
        let mut health = cache.get(sink).cloned().unwrap_or_default();
        if health.disabled.is_some() {
            return Ok(false);
        }
        health.failing_since.get_or_insert(disabled.since);
        health.disabled = Some(disabled.clone());
        let value = serde_json::to_vec(&health).map_err(|e| corrupt("sink state", e))?;
        let mut entries = Vec::with_capacity(notices.len());
        for (to, entry) in notices {
            entries.push(self.encode_new_entry(to, entry)?);
        }
        let trees = (&self.sink_state, &self.outbox, &self.outbox_due);
        self.watch(|| {
            trees
                .transaction(|(state, outbox, due)| {
                    state.insert(sink.as_bytes(), value.as_slice())?;
                    for entry in &entries {
                        outbox.insert(entry.key.as_slice(), entry.value.as_slice())?;
                        due.insert(entry.index.as_slice(), &[])?;
                    }
                    Ok(())
                })
                .map_err(super::tx::tx_error)
        })?;
        self.counters.committed();
        for entry in &entries {
            self.counts.queued(&entry.sink, 1, 0);
        }
        cache.insert(sink.to_string(), health);
        Ok(true)
    }

    /// Enables `sink` again: its entries are due at `now`, in the order they were queued, and
    /// the time it was disabled does not count towards their `delivery.max_age`. The record it
    /// was disabled with, and how many entries it has, or `None` when it was not disabled.
    pub fn enable_sink(&self, sink: &str, now: DateTime<Utc>) -> Result<Option<(Disabled, usize)>> {
        let Some(disabled) = self.sink_health(sink).disabled else {
            return Ok(None);
        };
        let queued = self.resume_entries(sink, now, now - disabled.since)?;
        // Cleared after the entries are due: a crash in between leaves it disabled, to enable again.
        self.change_health(sink, |h| {
            h.failing_since = None;
            h.disabled.take().is_some()
        })?;
        Ok(Some((disabled, queued)))
    }

    /// Makes every queued entry of `sink` due at `now`, and moves the time it was queued on by
    /// `paused`. Entries keep their sequence numbers, so they go out in the order they were queued.
    fn resume_entries(
        &self,
        sink: &str,
        now: DateTime<Utc>,
        paused: chrono::Duration,
    ) -> Result<usize> {
        let mut resumed = 0;
        for item in self.outbox.scan_prefix(prefix(sink)) {
            let (key, value) = item?;
            let mut entry = decode_entry(&value)?;
            entry.next_attempt_at = now;
            let moved = entry.enqueued_at.checked_add_signed(paused);
            entry.enqueued_at = moved.unwrap_or(now).min(now);
            // Moves the index key too: the next `due` finds the entry at once.
            self.reschedule(sink, seq_of(&key)?, &entry)?;
            resumed += 1;
        }
        Ok(resumed)
    }
}
