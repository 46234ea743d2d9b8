//! Conversation snapshots, per-org state, and the atomic commit of what a listing changed.

use super::outbox::NewEntry;
use super::{corrupt, snapshot, OutboxEntry, Result, Store};
use crate::diff::Stored;
use crate::event::Conversation;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;

/// A stored snapshot as it is on disk (see `snapshot.rs`), with its conversation's id.
#[derive(Debug, Clone)]
pub struct Encoded {
    value: sled::IVec,
    id: Box<str>,
}

impl Encoded {
    /// Whether `conversation` is exactly what is stored (the steady-state fast path: nothing to
    /// decode, diff or write).
    pub fn same_as(&self, received: &(impl Listed + ?Sized)) -> bool {
        snapshot::same_text(&self.value, self.id.as_bytes(), &received.text())
    }

    /// The stored snapshot.
    pub fn decode(&self) -> Result<Stored> {
        decode_stored(&self.value, self.id.as_bytes())
    }
}

/// A received record as the store compares it: its id and its JSON text as received (a
/// page's record borrowed from the page, or a parsed [`Conversation`]).
pub trait Listed {
    /// The `conversation_id`.
    fn id(&self) -> &str;
    /// The JSON text.
    fn text(&self) -> Cow<'_, [u8]>;
}

impl Listed for Conversation {
    fn id(&self) -> &str {
        Conversation::id(self)
    }
    fn text(&self) -> Cow<'_, [u8]> {
        self.to_bytes()
    }
}

/// How a received conversation stands against the store.
#[derive(Debug, Clone)]
pub enum Previous {
    /// Stored exactly as received (the same JSON text): nothing to decode, diff or write.
    Same,
    /// Stored, as other text: decode it and diff.
    Differs(Encoded),
    /// Never stored.
    Absent,
}

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
    /// How each conversation of a page stands against its stored snapshot, in page order. With
    /// fingerprints kept, a conversation stored exactly as received is answered from memory;
    /// the others are read from the store (and an exact match is remembered).
    pub fn previous<L: Listed + ?Sized>(&self, org: &str, page: &[&L]) -> Result<Vec<Previous>> {
        let fingerprints = &self.fingerprints;
        let prints: Vec<u64> = page.iter().map(|c| fingerprints.of(&c.text())).collect();
        let org_prints = fingerprints.org(org);
        let mut known = org_prints.lock();
        if !org_prints.is_loaded() {
            let stored = self.stored_prints(org)?;
            org_prints.loaded(&mut known, stored);
        }
        // Looked up in one pass of their own, so the set's cache misses overlap.
        let hits: Vec<bool> = prints.iter().map(|p| known.contains(p)).collect();
        let mut answers = Vec::with_capacity(page.len());
        let number = self.numbers.get(org)?;
        for ((conversation, print), hit) in page.iter().zip(prints).zip(hits) {
            let previous = match (hit, number) {
                (true, _) => Previous::Same,
                (false, None) => Previous::Absent,
                (false, Some(number)) => self.read_previous(number, *conversation)?,
            };
            if !hit && matches!(previous, Previous::Same) {
                known.insert(print);
            }
            answers.push(previous);
        }
        Ok(answers)
    }

    fn read_previous(&self, org: u32, conversation: &(impl Listed + ?Sized)) -> Result<Previous> {
        self.counters.read(1);
        let id = conversation.id();
        let key = snapshot::key(org, id.as_bytes());
        let stored = self.conversations.get(key)?.map(|value| Encoded {
            value,
            id: id.into(),
        });
        Ok(match stored {
            None => Previous::Absent,
            Some(stored) if stored.same_as(conversation) => Previous::Same,
            Some(stored) => Previous::Differs(stored),
        })
    }

    /// The ids of every stored conversation of `org`: keys only, no snapshot is read or decoded
    /// (what removal detection needs after a complete listing).
    pub fn stored_ids(&self, org: &str) -> impl Iterator<Item = Result<String>> + '_ {
        self.org_snapshots(org).keys().map(move |key| {
            let key = key?;
            Ok(String::from_utf8_lossy(snapshot::id_of(&key)).into_owned())
        })
    }

    /// Every stored snapshot of `org` (none for an org without a number).
    pub(super) fn org_snapshots(&self, org: &str) -> sled::Iter {
        match self.numbers.get(org) {
            Ok(Some(number)) => self.conversations.scan_prefix(number.to_be_bytes()),
            // No org has number 0: an empty scan (a failed read fails the first poll's reads).
            _ => self.conversations.scan_prefix(0u32.to_be_bytes()),
        }
    }

    /// The stored snapshot of one conversation.
    pub fn snapshot(&self, org: &str, id: &str) -> Result<Option<Stored>> {
        self.counters.read(1);
        let Some(number) = self.numbers.get(org)? else {
            return Ok(None);
        };
        let value = self
            .conversations
            .get(snapshot::key(number, id.as_bytes()))?;
        value.map(|v| decode_stored(&v, id.as_bytes())).transpose()
    }

    /// How many conversations are stored for `org` (a scan: for status, not hot paths).
    pub fn count_stored(&self, org: &str) -> usize {
        self.org_snapshots(org).count()
    }

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
        let replaced: Vec<Cow<[u8]>> = replaced.iter().map(|(k, v)| text_of(k, v)).collect();
        let written: Vec<Cow<[u8]>> = keys.writes.iter().map(|(k, v)| text_of(k, v)).collect();
        let (replaced, written) = (replaced.iter().map(|t| &**t), written.iter().map(|t| &**t));
        self.fingerprints
            .follow(&mut known, result.is_ok(), replaced, written);
        if result.is_err() {
            org_prints.forget(&mut known);
        }
        result
    }

    fn encode_commit(&self, org: &str, commit: &Commit) -> Result<Keys> {
        let number = match commit.writes.is_empty() && commit.deletes.is_empty() {
            true => 0, // no conversation key is written
            false => self.numbers.get_or_make(org)?,
        };
        let writes = encode_writes(number, &commit.writes);
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
        let prints = self.print_changes(&writes, &deletes);
        // The journal entry's place (see `prints.rs`): sled's own counter, unique and rising.
        let journal = match prints.is_empty() {
            true => 0,
            false => self.db.generate_id()?,
        };
        Ok(Keys {
            prints,
            journal,
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

/// A commit as sled keys and values.
struct Keys {
    prints: super::prints::Changes,
    journal: u64,
    writes: Vec<(Vec<u8>, Vec<u8>)>,
    deletes: Vec<Vec<u8>>,
    entries: Vec<NewEntry>,
    org: String,
    reminders: Vec<super::reminders::EncodedReminder>,
}

/// Keys and encoded snapshots; when a key is written twice, only the last write is kept (the
/// transaction would keep only it too, and the fingerprints must follow what is stored).
fn encode_writes(org: u32, writes: &[Stored]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut seen = HashSet::new();
    let mut encoded: Vec<(Vec<u8>, Vec<u8>)> = writes
        .iter()
        .rev()
        .filter(|s| seen.insert(s.conversation.id()))
        .map(|s| {
            let id = s.conversation.id().as_bytes();
            let value = snapshot::encode(s.revision, id, &s.conversation.to_bytes());
            (snapshot::key(org, id), value)
        })
        .collect();
    encoded.reverse();
    encoded
}

/// The JSON text of a stored snapshot (none when it cannot be read: it then matches nothing).
pub(super) fn text_of<'a>(key: &[u8], value: &'a [u8]) -> Cow<'a, [u8]> {
    snapshot::decode(value, snapshot::id_of(key)).map_or(Cow::Borrowed(&[][..]), |(_, text)| text)
}

fn decode_stored(value: &[u8], id: &[u8]) -> Result<Stored> {
    let (revision, json) = snapshot::decode(value, id)?;
    let text = std::str::from_utf8(&json).map_err(|e| corrupt("snapshot", e))?;
    let conversation = Conversation::from_json(text).map_err(|e| corrupt("snapshot", e))?;
    Ok(Stored {
        revision,
        conversation,
    })
}
