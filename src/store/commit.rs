//! The atomic commit of what a listing changed: snapshots (level 0, and the packs of a first
//! listing: `fresh.rs`), deletions, outbox entries, reminder clocks and the fingerprint journal,
//! in one sled transaction.

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
    /// Snapshots of conversations the store does not hold (an org's first listing): written
    /// packed, in a run of their own (see `packs.rs`), without looking for what they replace.
    pub fresh: Vec<Stored>,
    /// Conversations to forget (removed upstream).
    pub deletes: Vec<String>,
    /// Outbox entries: (sink name, entry).
    pub outbox: Vec<(String, OutboxEntry)>,
    /// Reminder clocks started, advanced or ended.
    pub reminders: Vec<super::ReminderWrite>,
}

impl Commit {
    /// Whether it writes or removes any snapshot.
    fn touches_snapshots(&self) -> bool {
        !(self.writes.is_empty() && self.fresh.is_empty() && self.deletes.is_empty())
    }
}

impl Store {
    /// Writes snapshots, deletions and outbox entries of one page in one atomic step: after a
    /// crash either all of it is there or none of it, so a change is never recorded without
    /// its notifications, nor notified without being recorded.
    pub fn commit(&self, org: &str, commit: &Commit) -> Result<()> {
        self.watch(|| self.commit_unwatched(org, commit))
    }

    fn commit_unwatched(&self, org: &str, commit: &Commit) -> Result<()> {
        if commit.outbox.is_empty() && commit.reminders.is_empty() && !commit.touches_snapshots() {
            return Ok(());
        }
        let org_prints = self.fingerprints.org(org);
        // Held from the encoding on: the org's runs (which a fold changes, holding it too) are
        // the same when they are looked up and when the transaction lands.
        let mut known = org_prints.lock();
        let keys = self.encode_commit(org, commit)?;
        self.counters.committed();
        let (result, (mut replaced, hidden)) = self.apply(&keys);
        org_prints.follow_base(keys.new_org, result.is_ok(), &keys.prints);
        // Whether what replaced holds is all that the commit replaced.
        let certain = result.is_ok() && self.follow_runs(&keys, hidden, &mut replaced);
        let replaced = replaced
            .iter()
            .map(|(id, v)| self.fingerprints.of(&text_of(id, v)));
        let written = keys.prints.iter().filter_map(|(_, print)| *print);
        self.fingerprints
            .follow(&mut known, certain, replaced, written);
        if !certain {
            org_prints.forget(&mut known);
        }
        result
    }

    fn encode_commit(&self, org: &str, commit: &Commit) -> Result<Keys> {
        let (number, new_org) = match commit.touches_snapshots() {
            true => self.numbers.get_or_make(org)?,
            false => (0, false), // no conversation key is written
        };
        let runs = match commit.touches_snapshots() {
            true => self.runs.of(number)?,
            false => Vec::new(),
        };
        let (writes, written_prints) = self.encode_writes(number, &commit.writes);
        let deletes: Vec<Vec<u8>> = commit
            .deletes
            .iter()
            .map(|id| snapshot::key(number, id.as_bytes()))
            .collect();
        let run = (!commit.fresh.is_empty())
            .then(|| self.runs.next(number))
            .transpose()?;
        let (packs, fresh_prints) = self.encode_fresh(number, run.unwrap_or(0), &commit.fresh);
        let mut entries = Vec::with_capacity(commit.outbox.len());
        for (sink, entry) in &commit.outbox {
            entries.push(self.encode_new_entry(sink, entry)?);
        }
        let bytes: usize = (writes.iter().chain(&packs))
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
            + entries
                .iter()
                .map(|e| e.key.len() + e.value.len() + e.index.len())
                .sum::<usize>();
        // A packed snapshot counts as one key written, as a level-0 one does.
        self.counters
            .wrote(writes.len() + commit.fresh.len() + entries.len(), bytes);
        self.counters.removed(deletes.len());
        // Fresh ones first: were a conversation written both ways, level 0 would answer for it.
        let mut prints = fresh_prints;
        prints.extend(self.print_changes(&writes, written_prints, &deletes));
        // The journal entry's place (see `prints.rs`): the store's id counter, unique and rising.
        let journal = match prints.is_empty() {
            true => 0,
            false => self.next_id()?,
        };
        Ok(Keys {
            prints,
            journal,
            new_org,
            number,
            runs,
            run,
            writes,
            deletes,
            packs,
            entries,
            org: org.to_string(),
            reminders: super::reminders::encode_reminders(org, &commit.reminders)?,
        })
    }

    /// Applies the keys in one transaction; returns its result, the snapshots it replaced or
    /// deleted, `(id, value)`, and the ids it wrote or deleted that level 0 did not hold (a run
    /// may). The entries' counters follow a successful commit.
    fn apply(&self, keys: &Keys) -> (Result<()>, Replaced) {
        let replaced = RefCell::new((Vec::new(), Vec::new()));
        // Entries carry their poll's number: the counter on disk must cover it (see `orgs.rs`).
        let poll = self.polls.unstored().filter(|_| !keys.entries.is_empty());
        let result = self.transact_with_conversations(|trees| {
            // A transaction may run more than once (on a conflict): only the last run counts.
            let mut replaced = replaced.borrow_mut();
            *replaced = (Vec::new(), Vec::new());
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

type Trees<'a> = [&'a sled::transaction::TransactionalTree; 8];

/// What a transaction replaced: `(id, old value)`, and the ids level 0 did not hold.
type Replaced = (Vec<(Vec<u8>, sled::IVec)>, Vec<Vec<u8>>);

/// The body of a commit's transaction.
fn apply_keys(
    [conversations, outbox, index, clocks, due, db, prints, packs]: Trees<'_>,
    keys: &Keys,
    poll: Option<u64>,
    (replaced, hidden): &mut Replaced,
) -> sled::transaction::ConflictableTransactionResult<(), ()> {
    let mut note = |key: &[u8], old: Option<sled::IVec>| {
        let id = snapshot::id_of(key).to_vec();
        match old {
            Some(old) if !old.is_empty() => replaced.push((id, old)),
            Some(_) => {} // a tombstone: nothing stood there
            None => hidden.push(id),
        }
    };
    for (key, value) in &keys.writes {
        note(key, conversations.insert(key.as_slice(), value.as_slice())?);
    }
    for key in &keys.deletes {
        // With runs, a removal is a tombstone: the runs may still hold the conversation.
        let old = match keys.runs.is_empty() {
            true => conversations.remove(key.as_slice())?,
            false => conversations.insert(key.as_slice(), &[])?,
        };
        note(key, old);
    }
    for (key, pack) in &keys.packs {
        packs.insert(key.as_slice(), pack.as_slice())?;
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

pub(super) type KeyValue = (Vec<u8>, Vec<u8>);

/// A commit as sled keys and values.
pub(super) struct Keys {
    prints: super::prints::Changes,
    journal: u64,
    /// Whether the org got its number for this commit: nothing of it was stored before.
    new_org: bool,
    /// The org's number, and its runs before the commit.
    pub(super) number: u32,
    pub(super) runs: Vec<u32>,
    /// The run the commit's packs make, when it has any.
    pub(super) run: Option<u32>,
    writes: Vec<KeyValue>,
    deletes: Vec<Vec<u8>>,
    pub(super) packs: Vec<KeyValue>,
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
