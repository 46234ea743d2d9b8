//! Per-org state and the poll counter: what changes with every poll, kept in memory and written
//! only when it matters, so that a poll that finds nothing new writes nothing at all.
//!
//! Every poll used to write its org's state (for the new `last_poll_at`) and the poll counter.
//! Two tiny keys, but each write also makes sled move pages out of old log segments, and its
//! flusher write the log out: an idle daemon kept writing about 1 MB/s for over a minute after
//! a large first poll. Now:
//! - the org state is written when its *outcome* changes (the baseline is recorded, an error
//!   starts, changes or ends, the conversations missing from a listing change) and at shutdown
//!   ([`Store::save_poll_times`]); in between, the latest state (with its times) is in memory
//!   and is what [`Store::org_state`] answers. After a crash, the times shown are those of the
//!   last write: a status, not a record anything depends on across a restart.
//! - the poll counter is written in the same transaction as the first commit that carries a
//!   number the store has not seen (outbox entries name their poll), so every number on disk is
//!   covered by the stored counter, and the next process starts above all of them.

use super::{corrupt, Result, Store};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// What the poller remembers about an org between polls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgState {
    /// A complete listing has been recorded, so new conversations are news.
    pub baseline_done: bool,
    /// The end of the last complete listing.
    pub last_complete_at: Option<DateTime<Utc>>,
    /// The end of the last poll, complete or not.
    pub last_poll_at: Option<DateTime<Utc>>,
    /// Why the last poll did not complete; `None` after a complete one.
    pub last_error: Option<String>,
    /// Conversations the last complete listing lacked: announced as removed only if the next
    /// complete listing lacks them too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

impl OrgState {
    /// Whether `other` has the same outcome (everything but the times): if so, writing it can
    /// wait for the shutdown.
    fn same_outcome(&self, other: &OrgState) -> bool {
        self.baseline_done == other.baseline_done
            && self.last_error == other.last_error
            && self.missing == other.missing
    }
}

/// An org's state as stored and as it is now.
#[derive(Debug, Clone)]
struct Live {
    stored: OrgState,
    now: OrgState,
}

/// The in-memory side of the org states and of the poll counter.
#[derive(Debug, Default)]
pub(super) struct Polls {
    orgs: Mutex<HashMap<String, Live>>,
    /// The last poll number given out.
    last: AtomicU64,
    /// The last one written to the store.
    stored: AtomicU64,
}

impl Polls {
    /// Starts from the counter the store holds.
    pub(super) fn open(db: &sled::Db) -> Result<Polls> {
        let last = db
            .get("poll")?
            .and_then(|b| b.as_ref().try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        Ok(Polls {
            orgs: Mutex::default(),
            last: AtomicU64::new(last),
            stored: AtomicU64::new(last),
        })
    }

    fn orgs(&self) -> MutexGuard<'_, HashMap<String, Live>> {
        // Each change is one insert: a panic elsewhere cannot leave the map half-changed.
        self.orgs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The counter to write with a commit, when it is ahead of the stored one.
    pub(super) fn unstored(&self) -> Option<u64> {
        let last = self.last.load(Ordering::SeqCst);
        (last > self.stored.load(Ordering::SeqCst)).then_some(last)
    }

    /// A commit that wrote the counter `number` landed.
    pub(super) fn stored(&self, number: u64) {
        self.stored.fetch_max(number, Ordering::SeqCst);
    }
}

impl Store {
    /// Numbers a new poll (1, 2, …, kept across restarts; see the module docs).
    pub fn next_poll(&self) -> Result<u64> {
        Ok(self.polls.last.fetch_add(1, Ordering::SeqCst) + 1)
    }

    /// The number of the last poll started (0 before the first).
    pub fn last_poll(&self) -> Result<u64> {
        Ok(self.polls.last.load(Ordering::SeqCst))
    }

    /// The org's state: the latest one when this process polled it, else the stored one (the
    /// default for an org never polled).
    pub fn org_state(&self, org: &str) -> Result<OrgState> {
        if let Some(live) = self.polls.orgs().get(org) {
            return Ok(live.now.clone());
        }
        self.read_org_state(org)
    }

    fn read_org_state(&self, org: &str) -> Result<OrgState> {
        match self.orgs.get(org.as_bytes())? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| corrupt("org state", e)),
            None => Ok(OrgState::default()),
        }
    }

    /// Replaces the org's state; written to the store only when its outcome changed (see the
    /// module docs).
    pub fn set_org_state(&self, org: &str, state: &OrgState) -> Result<()> {
        let known = self.polls.orgs().get(org).map(|live| live.stored.clone());
        let stored = match known {
            Some(stored) => stored,
            None => self.read_org_state(org)?,
        };
        if stored.same_outcome(state) {
            let now = state.clone();
            self.polls.orgs().insert(org.into(), Live { stored, now });
            return Ok(());
        }
        self.write_org_state(org, state)
    }

    fn write_org_state(&self, org: &str, state: &OrgState) -> Result<()> {
        self.watch(|| {
            let bytes = serde_json::to_vec(state).map_err(|e| corrupt("org state", e))?;
            self.counters.wrote(1, org.len() + bytes.len());
            self.orgs.insert(org.as_bytes(), bytes)?;
            let (stored, now) = (state.clone(), state.clone());
            self.polls.orgs().insert(org.into(), Live { stored, now });
            Ok(())
        })
    }

    /// Writes the org states whose times changed since they were last written: at shutdown.
    pub fn save_poll_times(&self) -> Result<()> {
        let unsaved: Vec<(String, OrgState)> = self
            .polls
            .orgs()
            .iter()
            .filter(|(_, live)| live.stored != live.now)
            .map(|(org, live)| (org.clone(), live.now.clone()))
            .collect();
        for (org, state) in unsaved {
            self.write_org_state(&org, &state)?;
        }
        Ok(())
    }

    /// Every org with stored state, for `status`.
    pub fn org_ids(&self) -> Result<Vec<String>> {
        self.orgs
            .iter()
            .keys()
            .map(|k| Ok(String::from_utf8_lossy(&k?).into_owned()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Commit, OutboxEntry};

    fn entry(poll: u64) -> Commit {
        let conversation = crate::event::Conversation::from_value(
            serde_json::json!({"conversation_id": "c1", "is_read": false}),
        )
        .unwrap();
        let stored = crate::diff::Stored {
            revision: 0,
            conversation,
        };
        let ctx = crate::diff::DiffContext {
            org_id: "o",
            org_name: "O",
            emit: true,
            detected_at: Utc::now(),
        };
        let event =
            crate::diff::diff_page(&ctx, std::slice::from_ref(&stored.conversation), &[None]);
        let mut entry = OutboxEntry::new(event.events[0].clone(), Utc::now());
        entry.poll = poll;
        Commit {
            writes: vec![stored],
            outbox: vec![("hook".into(), entry)],
            ..Commit::default()
        }
    }

    #[test]
    fn numbering_polls_writes_nothing_and_a_number_an_entry_carries_is_not_given_again() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), 4).unwrap();
            for _ in 0..5 {
                store.next_poll().unwrap();
            }
            assert_eq!(store.stats().writes, 0, "numbers alone are not written");
        }
        let store = Store::open(dir.path(), 4).unwrap();
        let poll = store.next_poll().unwrap();
        store.commit("o", &entry(poll)).unwrap();
        drop(store);
        let store = Store::open(dir.path(), 4).unwrap();
        assert_eq!(store.last_poll().unwrap(), poll);
        assert!(store.next_poll().unwrap() > poll);
    }

    #[test]
    fn an_org_state_is_written_when_its_outcome_changes_and_its_times_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 4).unwrap();
        let mut state = OrgState {
            baseline_done: true,
            ..OrgState::default()
        };
        store.set_org_state("o", &state).unwrap();
        assert_eq!(store.stats().writes, 1, "the baseline is recorded");
        state.last_poll_at = Some(Utc::now());
        store.set_org_state("o", &state).unwrap();
        assert_eq!(store.stats().writes, 1, "a new time alone waits");
        assert_eq!(store.org_state("o").unwrap(), state, "and is what is shown");
        state.last_error = Some("upstream said 503".into());
        store.set_org_state("o", &state).unwrap();
        assert_eq!(store.stats().writes, 2, "an error is recorded at once");
        state.last_poll_at = Some(Utc::now());
        store.set_org_state("o", &state).unwrap();
        store.save_poll_times().unwrap();
        store.save_poll_times().unwrap();
        assert_eq!(
            store.stats().writes,
            3,
            "the times are saved once at the end"
        );
        drop(store);
        let store = Store::open(dir.path(), 4).unwrap();
        assert_eq!(store.org_state("o").unwrap(), state);
    }
}
