//! What the pages of a listing changed, gathered until it is committed in one atomic step.
//!
//! sled turns every atomic step into log writes of its own (it rolls its I/O buffer before and
//! after each batch and writes it out on a thread of its own). Committing every page with a
//! change made a steady poll with scattered changes (0.5 % of 100,000: about 400 such pages)
//! cost 1.6x a bare listing in CPU; committing every 20 ms still cost 1.25x; once per listing
//! costs about 1x. So pages are gathered and committed together: once per listing, or when a
//! change has waited [`MAX_WAIT`], or at [`LIMIT`] keys (conversations new to the store count
//! a tenth: they are written packed, see [`FRESH_PER_KEY`]). A crash before the commit loses
//! nothing: none of it was sent, and the next poll finds the same changes again, under the same
//! event ids.

use crate::diff::Stored;
use crate::event::EventType;
use crate::reminders::ReminderState;
use crate::store::{Commit, Listed, OutboxEntry, ReminderWrite};
use foldhash::fast::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::time::Duration;
use tokio::time::Instant;

/// Keys (snapshots and outbox entries) after which the gathered pages are committed: bounds the
/// memory a first listing of a large org holds (about 1,000 snapshots, under 2 MB).
pub const LIMIT: usize = 1_000;

/// A snapshot of a conversation the store does not hold counts this share of a key toward
/// [`LIMIT`]: an org's first listing is written in runs of about 10,000 (see
/// `Commit::fresh`), about 15 MB held; each run is one more place later lookups ask.
pub const FRESH_PER_KEY: usize = 10;

/// How long a change may wait for the pages after it before it is committed (and its sinks
/// woken): the most that gathering adds to a notification. A listing that ends sooner is
/// committed at its end; a long one (100,000 conversations take about 0.6 s on the benchmark
/// machine) every 250 ms, which costs a few commits a listing, not hundreds.
pub const MAX_WAIT: Duration = Duration::from_millis(250);

/// The events of a commit, for the metrics once it is made.
#[derive(Debug, Default)]
pub struct Sent {
    /// The kind of every event.
    pub kinds: Vec<EventType>,
    /// `(reminder, step)` of every reminder event.
    pub reminders: Vec<(String, u32)>,
}

/// Where a staged snapshot is: in `commit.fresh` or in `commit.writes`, at this position.
#[derive(Debug, Clone, Copy)]
struct Slot {
    fresh: bool,
    at: usize,
}

impl Commit {
    fn slot(&self, slot: Slot) -> &Stored {
        &self.list(slot.fresh)[slot.at]
    }

    fn list(&self, fresh: bool) -> &Vec<Stored> {
        if fresh {
            &self.fresh
        } else {
            &self.writes
        }
    }

    fn list_mut(&mut self, fresh: bool) -> &mut Vec<Stored> {
        if fresh {
            &mut self.fresh
        } else {
            &mut self.writes
        }
    }
}

/// Pages diffed and not yet committed.
#[derive(Debug, Default)]
pub struct Staged {
    /// Snapshots go straight to `commit.fresh` or `commit.writes` (see `write`).
    commit: Commit,
    /// Where each staged conversation is, found by the hash of its id (no copy of the id: a
    /// first listing stages 10,000 at a time).
    by_id: hashbrown::HashTable<Slot>,
    hasher: RandomState,
    clocks: HashMap<(String, String), usize, RandomState>,
    events: Vec<EventType>,
    reminders: Vec<(String, u32)>,
    since: Option<Instant>,
    /// Pages gathered.
    pub pages: usize,
    /// Usable conversations on them.
    pub conversations: usize,
    /// Records skipped on them.
    pub skipped: usize,
}

impl Staged {
    /// The latest snapshot staged for `id`, if a page of this listing changed it.
    pub fn get(&self, id: &str) -> Option<&Stored> {
        let commit = &self.commit;
        let found = self.by_id.find(self.hasher.hash_one(id), |&slot| {
            commit.slot(slot).conversation.id() == id
        });
        found.map(|&slot| commit.slot(slot))
    }

    /// Adds a snapshot to write; a later one for the same conversation replaces it. `fresh`:
    /// the store holds nothing of the conversation (an org's first listing had not listed it
    /// before), so it is written packed (see [`Commit::fresh`]).
    pub fn write(&mut self, stored: Stored, fresh: bool) {
        self.since.get_or_insert_with(Instant::now);
        let (commit, hasher) = (&mut self.commit, &self.hasher);
        let id = stored.conversation.id();
        let hash = hasher.hash_one(id);
        let same = |slot: &Slot| commit.slot(*slot).conversation.id() == id;
        let slot = match self.by_id.find(hash, same) {
            // What the store holds has not changed since the first write: its freshness stands.
            Some(&slot) => slot,
            None => {
                let slot = Slot {
                    fresh,
                    at: commit.list(fresh).len(),
                };
                let rehash = |slot: &Slot| hasher.hash_one(commit.slot(*slot).conversation.id());
                self.by_id.insert_unique(hash, slot, rehash);
                commit.list_mut(fresh).push(stored);
                return;
            }
        };
        commit.list_mut(slot.fresh)[slot.at] = stored;
    }

    /// Adds a reminder clock to write; a later one for the same clock replaces it.
    pub fn clock(&mut self, write: ReminderWrite) {
        self.since.get_or_insert_with(Instant::now);
        let key = (write.conversation.clone(), write.reminder.clone());
        match self.clocks.get(&key) {
            Some(&i) => self.commit.reminders[i] = write,
            None => {
                self.clocks.insert(key, self.commit.reminders.len());
                self.commit.reminders.push(write);
            }
        }
    }

    /// The clock staged for (conversation, reminder): `Some(state)` when this listing changed it.
    pub fn staged_clock(
        &self,
        conversation: &str,
        reminder: &str,
    ) -> Option<Option<ReminderState>> {
        let key = (conversation.to_string(), reminder.to_string());
        self.clocks
            .get(&key)
            .map(|&i| self.commit.reminders[i].state)
    }

    /// Adds an event's outbox entries (one per sink that takes it).
    pub fn queue(&mut self, kind: EventType, entries: Vec<(String, OutboxEntry)>) {
        self.since.get_or_insert_with(Instant::now);
        self.events.push(kind);
        self.commit.outbox.extend(entries);
    }

    /// Adds a reminder event's outbox entries, and remembers its reminder and step so that it is
    /// counted once committed (not before: a failed commit sends nothing).
    pub fn queue_reminder(
        &mut self,
        reminder: &str,
        step: u32,
        entries: Vec<(String, OutboxEntry)>,
    ) {
        self.queue(EventType::Reminder, entries);
        self.reminders.push((reminder.to_string(), step));
    }

    /// Whether it is time to commit: enough keys, or a change has waited long enough.
    pub fn is_due(&self) -> bool {
        let keys = self.commit.writes.len() + self.commit.fresh.len() / FRESH_PER_KEY;
        keys + self.commit.outbox.len() + self.commit.reminders.len() >= LIMIT
            || self.deadline().is_some_and(|t| t <= Instant::now())
    }

    /// When the oldest change will have waited [`MAX_WAIT`]; `None` while nothing is gathered.
    pub fn deadline(&self) -> Option<Instant> {
        self.since.map(|since| since + MAX_WAIT)
    }

    /// Empties it, returning what to commit and what it sends.
    pub fn take(&mut self) -> (Commit, Sent) {
        let taken = std::mem::take(self);
        let sent = Sent {
            kinds: taken.events,
            reminders: taken.reminders,
        };
        (taken.commit, sent)
    }

    /// How the page's conversations stand against what earlier pages staged: `Some(None)` when a
    /// staged snapshot is exactly this record, `Some(Some(stored))` when one differs, `None`
    /// when none is staged (the store knows).
    pub fn previous(&self, received: &impl Listed) -> Option<Option<&Stored>> {
        let staged = self.get(received.id())?;
        Some((staged.conversation.to_bytes() != received.text()).then_some(staged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Conversation;
    use serde_json::json;

    fn stored(id: &str, read: bool) -> Stored {
        Stored {
            revision: 1,
            conversation: Conversation::from_value(json!({"conversation_id": id, "is_read": read}))
                .unwrap(),
        }
    }

    #[test]
    fn a_conversation_staged_twice_is_written_once_with_its_latest_snapshot() {
        let mut staged = Staged::default();
        staged.write(stored("c1", false), false);
        staged.write(stored("c2", false), false);
        staged.write(stored("c1", true), false);
        let (commit, _) = staged.take();
        assert_eq!(commit.writes.len(), 2);
        assert_eq!(commit.writes[0], stored("c1", true));
        assert!(staged.get("c1").is_none(), "taken: empty again");
        assert!(staged.take().0.writes.is_empty());
    }

    #[test]
    fn conversations_the_store_does_not_hold_are_committed_apart_and_stay_so_when_staged_again() {
        let mut staged = Staged::default();
        staged.write(stored("new", false), true);
        staged.write(stored("known", false), false);
        staged.write(stored("new", true), false);
        let (commit, _) = staged.take();
        assert_eq!(commit.fresh, [stored("new", true)]);
        assert_eq!(commit.writes, [stored("known", false)]);
    }

    #[test]
    fn a_staged_snapshot_answers_for_the_conversation_before_the_store_does() {
        let mut staged = Staged::default();
        staged.write(stored("c1", false), false);
        let same = stored("c1", false).conversation;
        let changed = stored("c1", true).conversation;
        assert_eq!(staged.previous(&same), Some(None));
        assert_eq!(staged.previous(&changed), Some(Some(&stored("c1", false))));
        assert_eq!(staged.previous(&stored("c2", false).conversation), None);
    }

    #[test]
    fn a_queued_reminder_is_handed_back_with_its_name_and_step_for_counting() {
        let mut staged = Staged::default();
        staged.queue(EventType::Created, Vec::new());
        staged.queue_reminder("unread", 2, Vec::new());
        let (_, sent) = staged.take();
        assert_eq!(sent.kinds, [EventType::Created, EventType::Reminder]);
        assert_eq!(sent.reminders, [("unread".to_string(), 2)]);
        assert!(staged.take().1.reminders.is_empty(), "taken: empty again");
    }

    #[tokio::test(start_paused = true)]
    async fn it_is_due_at_the_key_limit_and_not_before() {
        let mut staged = Staged::default();
        assert!(!staged.is_due(), "nothing gathered, nothing to commit");
        for i in 0..LIMIT - 1 {
            staged.write(stored(&format!("c{i}"), false), false);
        }
        assert!(!staged.is_due());
        staged.write(stored("last", false), false);
        assert!(staged.is_due());
    }

    #[tokio::test(start_paused = true)]
    async fn conversations_the_store_does_not_hold_are_gathered_ten_times_as_many() {
        let mut staged = Staged::default();
        for i in 0..LIMIT * FRESH_PER_KEY - 1 {
            staged.write(stored(&format!("c{i}"), false), true);
        }
        assert!(!staged.is_due());
        staged.write(stored("last", false), true);
        assert!(staged.is_due());
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_is_due_once_it_has_waited_the_longest_wait() {
        let mut staged = Staged::default();
        assert_eq!(staged.deadline(), None);
        staged.write(stored("c1", false), false);
        assert!(!staged.is_due());
        assert_eq!(staged.deadline(), Some(Instant::now() + MAX_WAIT));
        tokio::time::advance(MAX_WAIT).await;
        assert!(staged.is_due());
    }
}
