//! Conversation snapshots: how a received record stands against the stored one, and reading
//! them back. Writing them is `commit.rs`.

use super::{corrupt, snapshot, Result, Store};
use crate::diff::Stored;
use crate::event::Conversation;
use std::borrow::Cow;

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
        let stored = self.stored_value(org, id.as_bytes())?.map(|value| Encoded {
            value,
            id: id.into(),
        });
        Ok(match stored {
            None => Previous::Absent,
            Some(stored) if stored.same_as(conversation) => Previous::Same,
            Some(stored) => Previous::Differs(stored),
        })
    }

    /// The stored value of one conversation: level 0 answers first (an empty value there says
    /// it was removed), then the org's runs (see `packs.rs`).
    pub(super) fn stored_value(&self, org: u32, id: &[u8]) -> Result<Option<sled::IVec>> {
        match self.conversations.get(snapshot::key(org, id))? {
            Some(value) if value.is_empty() => Ok(None),
            Some(value) => Ok(Some(value)),
            None => Ok(self.runs.find(org, id)?.map(sled::IVec::from)),
        }
    }

    /// The ids of every stored conversation of `org`: no snapshot is decoded (what removal
    /// detection needs after a complete listing).
    pub fn stored_ids(&self, org: &str) -> impl Iterator<Item = Result<String>> + '_ {
        self.org_snapshots(org)
            .map(|item| Ok(String::from_utf8_lossy(&item?.0).into_owned()))
    }

    /// The stored snapshot of one conversation.
    pub fn snapshot(&self, org: &str, id: &str) -> Result<Option<Stored>> {
        self.counters.read(1);
        let Some(number) = self.numbers.get(org)? else {
            return Ok(None);
        };
        let value = self.stored_value(number, id.as_bytes())?;
        value.map(|v| decode_stored(&v, id.as_bytes())).transpose()
    }

    /// How many conversations are stored for `org` (a scan: for status, not hot paths).
    pub fn count_stored(&self, org: &str) -> usize {
        self.org_snapshots(org).count()
    }
}

/// The JSON text of a stored snapshot (none when it cannot be read: it then matches nothing).
pub(super) fn text_of<'a>(id: &[u8], value: &'a [u8]) -> Cow<'a, [u8]> {
    snapshot::decode(value, id).map_or(Cow::Borrowed(&[][..]), |(_, text)| text)
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
