//! Queued entries and dead letters per sink, kept as counters so that `/metrics`, `/status` and
//! `run --once`'s drain loop cost O(1) whatever the queue holds. Counted once when the store
//! opens (keys and headers only, no JSON), then followed by every operation that adds or removes
//! an entry or a dead letter.

use std::collections::BTreeMap;
use std::sync::Mutex;

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
pub(super) struct Counts(Mutex<BTreeMap<String, SinkCounts>>);

impl Counts {
    fn with<T>(&self, sink: &str, change: impl FnOnce(&mut SinkCounts) -> T) -> T {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(counts) = map.get_mut(sink) {
            return change(counts);
        }
        change(map.entry(sink.to_string()).or_default())
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
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(sink).copied().unwrap_or_default()
    }

    /// Every sink with something queued or dead.
    pub(super) fn all(&self) -> BTreeMap<String, SinkCounts> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .filter(|(_, c)| c.queued > 0 || c.dead > 0)
            .map(|(s, c)| (s.clone(), *c))
            .collect()
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
}
