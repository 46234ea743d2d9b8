//! Queued entries and dead letters per sink, kept as counters so that `/metrics`, `/status` and
//! `run --once`'s drain loop cost O(1) whatever the queue holds. Counted once when the store
//! opens (keys and headers only, no JSON), then followed by every operation that adds or removes
//! an entry or a dead letter. A change wakes whoever waits for one (`run --once`'s drain), so
//! that it ends as soon as the outbox is empty, not at its next look.

use std::collections::BTreeMap;
use std::sync::Mutex;
use tokio::sync::futures::Notified;
use tokio::sync::Notify;

/// One sink's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkCounts {
    /// Entries in the outbox.
    pub queued: u64,
    /// Dead letters.
    pub dead: u64,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(super) struct Counts {
    map: Mutex<BTreeMap<String, SinkCounts>>,
    changed: Notify,
}

impl Counts {
    fn with(&self, sink: &str, change: impl FnOnce(&mut SinkCounts)) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(sink) {
            Some(counts) => change(counts),
            None => change(map.entry(sink.to_string()).or_default()),
        }
        drop(map);
        self.changed.notify_waiters();
    }

    /// Resolves at the next change of any count (create it before looking at the counts, so
    /// that a change in between is not missed).
    pub(super) fn changed(&self) -> Notified<'_> {
        self.changed.notified()
    }

    pub(super) fn queued(&self, sink: &str, added: u64, removed: u64) {
        self.with(sink, |c| {
            c.queued = (c.queued + added).saturating_sub(removed)
        });
    }

    pub(super) fn dead(&self, sink: &str, added: u64, removed: u64) {
        self.with(sink, |c| c.dead = (c.dead + added).saturating_sub(removed));
    }

    pub(super) fn get(&self, sink: &str) -> SinkCounts {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(sink).copied().unwrap_or_default()
    }

    /// Every sink with something queued or dead.
    pub(super) fn all(&self) -> BTreeMap<String, SinkCounts> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .filter(|(_, c)| c.queued > 0 || c.dead > 0)
            .map(|(s, c)| (s.clone(), *c))
            .collect()
    }
}

impl super::Store {
    /// Queued entries and dead letters of `sink` (counters: no scan).
    pub fn sink_counts(&self, sink: &str) -> SinkCounts {
        self.counts.get(sink)
    }

    /// Resolves at the next change of the queued or dead counts (see [`Store::sink_counts`]).
    pub fn counts_changed(&self) -> Notified<'_> {
        self.counts.changed()
    }

    /// Every sink with queued entries or dead letters, configured or not.
    pub fn sinks_with_entries(&self) -> BTreeMap<String, SinkCounts> {
        self.counts.all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_additions_and_removals_and_never_go_below_zero() {
        let counts = Counts::default();
        counts.queued("a", 3, 0);
        counts.queued("a", 0, 1);
        counts.dead("a", 1, 0);
        counts.dead("b", 0, 5);
        assert_eq!(counts.get("a"), SinkCounts { queued: 2, dead: 1 });
        assert_eq!(counts.get("b"), SinkCounts::default());
        assert_eq!(counts.all().keys().collect::<Vec<_>>(), ["a"]);
    }

    #[tokio::test]
    async fn a_change_wakes_who_waits_for_one() {
        let counts = Counts::default();
        let changed = counts.changed();
        tokio::pin!(changed);
        changed.as_mut().enable();
        counts.queued("a", 0, 1);
        let woke = tokio::time::timeout(std::time::Duration::from_secs(5), changed).await;
        assert!(woke.is_ok(), "the waiter was not woken by the removal");
    }
}
