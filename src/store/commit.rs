//! The atomic commit of what a listing changed: snapshots, deletions, outbox entries, reminder
//! clocks and the fingerprint journal, in one sled transaction.

use super::outbox::NewEntry;
use super::state::text_of;
use super::{snapshot, OutboxEntry, Result, Store};
use crate::diff::Stored;
use std::cell::RefCell;
use std::collections::HashSet;

/// Everything one or more pages of a listing change (or a removal check), written in one atomic
/// step.
#[derive(Debug, Default)]
pub struct Commit {
    /// Snapshots to write.
    pub writes: Vec<Stored>,
    /// Conversations to forget (removed upstream).
    pub deletes: Vec<String>,
    /// Outbox entries: (sink name, entry).
    pub outbox: Vec<(String, OutboxEntry)>,
    /// Reminder clocks started, advanced or ended.
    pub reminders: Vec<super::ReminderWrite>,
}

impl Store {
    /// Writes snapshots, deletions and outbox entries of one page in one atomic step: after a
    /// crash either all of it is there or none of it, so a change is never recorded without
    /// its notifications, nor notified without being recorded.
    pub fn commit(&self, org: &str, commit: &Commit) -> Result<()> {
        self.watch(|| self.commit_unwatched(org, commit))
    }

    fn commit_unwatched(&self, org: &str, commit: &Commit) -> Result<()> {
        let nothing = commit.writes.is_empty() && commit.deletes.is_empty();
        if nothing && commit.outbox.is_empty() && commit.reminders.is_empty() {
            return Ok(());
        }
        let keys = self.encode_commit(org, commit)?;
        self.counters.committed();
        let org_prints = self.fingerprints.org(org);
        let mut known = org_prints.lock();
        let (result, replaced) = self.apply(&keys);
        org_prints.follow_base(keys.new_org, result.is_ok(), &keys.prints);
        let replaced = replaced
            .iter()
            .map(|(k, v)| self.fingerprints.of(&text_of(k, v)));
        let written = keys.prints.iter().filter_map(|(_, print)| *print);
        self.fingerprints
            .follow(&mut known, result.is_ok(), replaced, written);
        if result.is_err() {
            org_prints.forget(&mut known);
        }
        result
    }

    fn encode_commit(&self, org: &str, commit: &Commit) -> Result<Keys> {
        let (number, new_org) = match commit.writes.is_empty() && commit.deletes.is_empty() {
            true => (0, false), // no conversation key is written
            false => self.numbers.get_or_make(org)?,
        };
        let (writes, written_prints) = self.encode_writes(number, &commit.writes);
        let deletes: Vec<Vec<u8>> = commit
            .deletes
            .iter()
            .map(|id| snapshot::key(number, id.as_bytes()))
            .collect();
        let mut entries = Vec::with_capacity(commit.outbox.len());
        for (sink, entry) in &commit.outbox {
            entries.push(self.encode_new_entry(sink, entry)?);
        }
        let bytes: usize = writes.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
            + entries
                .iter()
                .map(|e| e.key.len() + e.value.len() + e.index.len())
                .sum::<usize>();
        self.counters.wrote(writes.len() + entries.len(), bytes);
        self.counters.removed(deletes.len());
        let prints = self.print_changes(&writes, written_prints, &deletes);
        // The journal entry's place (see `prints.rs`): the store's id counter, unique and rising.
        let journal = match prints.is_empty() {
            true => 0,
            false => self.next_id()?,
        };
        Ok(Keys {
            prints,
            journal,
            new_org,
            writes,
            deletes,
            entries,
            org: org.to_string(),
            reminders: super::reminders::encode_reminders(org, &commit.reminders)?,
        })
    }

    /// Applies the keys in one transaction; returns its result and the snapshots it replaced or
    /// deleted. The entries' counters follow a successful commit.
    fn apply(&self, keys: &Keys) -> (Result<()>, Vec<(Vec<u8>, sled::IVec)>) {
        let replaced = RefCell::new(Vec::new());
        // Entries carry their poll's number: the counter on disk must cover it (see `orgs.rs`).
        let poll = self.polls.unstored().filter(|_| !keys.entries.is_empty());
        let result = self.transact_with_conversations(|trees| {
            // A transaction may run more than once (on a conflict): only the last run counts.
            let mut replaced = replaced.borrow_mut();
            replaced.clear();
            apply_keys(trees, keys, poll, &mut replaced)
        });
        if result.is_ok() {
            poll.inspect(|&poll| self.polls.stored(poll));
            for entry in &keys.entries {
                self.counts.queued(&entry.sink, 1, 0);
            }
        }
        (result, replaced.into_inner())
    }
}

type Trees<'a> = [&'a sled::transaction::TransactionalTree; 7];

/// The body of a commit's transaction.
fn apply_keys(
    [conversations, outbox, index, clocks, due, db, prints]: Trees<'_>,
    keys: &Keys,
    poll: Option<u64>,
    replaced: &mut Vec<(Vec<u8>, sled::IVec)>,
) -> sled::transaction::ConflictableTransactionResult<(), ()> {
    for (key, value) in &keys.writes {
        let old = conversations.insert(key.as_slice(), value.as_slice())?;
        replaced.extend(old.map(|old| (key.clone(), old)));
    }
    for key in &keys.deletes {
        let old = conversations.remove(key.as_slice())?;
        replaced.extend(old.map(|old| (key.clone(), old)));
    }
    for entry in &keys.entries {
        outbox.insert(entry.key.as_slice(), entry.value.as_slice())?;
        index.insert(entry.index.as_slice(), &[])?;
    }
    if let Some(poll) = poll {
        db.insert("poll", &poll.to_be_bytes())?;
    }
    super::prints::apply(prints, &keys.org, keys.journal, &keys.prints)?;
    super::reminders::apply_reminders(clocks, due, &keys.org, &keys.reminders)
}

type KeyValue = (Vec<u8>, Vec<u8>);

/// A commit as sled keys and values.
struct Keys {
    prints: super::prints::Changes,
    journal: u64,
    /// Whether the org got its number for this commit: nothing of it was stored before.
    new_org: bool,
    writes: Vec<KeyValue>,
    deletes: Vec<Vec<u8>>,
    entries: Vec<NewEntry>,
    org: String,
    reminders: Vec<super::reminders::EncodedReminder>,
}

impl Store {
    /// Keys and encoded snapshots, and the fingerprint of each one's text; when a key is
    /// written twice, only the last write is kept (the transaction would keep only it too, and
    /// the fingerprints must follow what is stored).
    fn encode_writes(&self, org: u32, writes: &[Stored]) -> (Vec<KeyValue>, Vec<u64>) {
        let mut seen = HashSet::new();
        let (mut encoded, mut prints): (Vec<_>, Vec<_>) = writes
            .iter()
            .rev()
            .filter(|s| seen.insert(s.conversation.id()))
            .map(|s| {
                let (id, text) = (s.conversation.id().as_bytes(), s.conversation.to_bytes());
                let value = snapshot::encode(s.revision, id, &text);
                ((snapshot::key(org, id), value), self.fingerprints.of(&text))
            })
            .unzip();
        encoded.reverse();
        prints.reverse();
        (encoded, prints)
    }
}
