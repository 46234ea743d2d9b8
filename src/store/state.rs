//! Conversation snapshots, per-org state, and the atomic page commit.

use super::{corrupt, pair_key, prefix, transact, OutboxEntry, Result, Store, StoreError};
use crate::diff::Stored;
use crate::event::Conversation;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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

/// A stored snapshot as it is on disk: revision (u64 BE) + JSON.
#[derive(Debug, Clone)]
pub struct Encoded(sled::IVec);

impl Encoded {
    /// Whether `conversation` is exactly what is stored (the steady-state fast path: nothing to
    /// decode, diff or write).
    pub fn same_as(&self, conversation: &Conversation) -> bool {
        self.0
            .get(8..)
            .is_some_and(|json| json == &*conversation.to_bytes())
    }

    /// The stored snapshot.
    pub fn decode(&self) -> Result<Stored> {
        decode_stored(&self.0)
    }
}

/// Everything one page changes, written in one atomic step.
#[derive(Debug, Default)]
pub struct PageCommit {
    /// Snapshots to write.
    pub writes: Vec<Stored>,
    /// Conversations to forget (removed upstream).
    pub deletes: Vec<String>,
    /// Outbox entries: (sink name, entry).
    pub outbox: Vec<(String, OutboxEntry)>,
}

impl Store {
    /// The stored snapshot of each of `ids` in `org`, in the same order, still encoded.
    pub fn previous(&self, org: &str, ids: &[&str]) -> Result<Vec<Option<Encoded>>> {
        self.counters.read(ids.len());
        ids.iter()
            .map(|id| {
                Ok(self
                    .conversations
                    .get(pair_key(org, id.as_bytes()))?
                    .map(Encoded))
            })
            .collect()
    }

    /// Every stored conversation of `org`.
    pub fn stored(&self, org: &str) -> impl Iterator<Item = Result<Stored>> + '_ {
        self.conversations.scan_prefix(prefix(org)).map(|item| {
            item.map_err(StoreError::from)
                .and_then(|(_, v)| decode_stored(&v))
        })
    }

    /// How many conversations are stored for `org` (a scan: for status, not hot paths).
    pub fn count_stored(&self, org: &str) -> usize {
        self.conversations.scan_prefix(prefix(org)).count()
    }

    /// Writes snapshots, deletions and outbox entries of one page in one atomic step: after a
    /// crash either all of it is there or none of it, so a change is never recorded without
    /// its notifications, nor notified without being recorded.
    pub fn commit_page(&self, org: &str, commit: &PageCommit) -> Result<()> {
        if commit.writes.is_empty() && commit.deletes.is_empty() && commit.outbox.is_empty() {
            return Ok(());
        }
        let writes: Vec<(Vec<u8>, Vec<u8>)> = commit
            .writes
            .iter()
            .map(|s| {
                (
                    pair_key(org, s.conversation.id().as_bytes()),
                    encode_stored(s),
                )
            })
            .collect();
        let deletes: Vec<Vec<u8>> = commit
            .deletes
            .iter()
            .map(|id| pair_key(org, id.as_bytes()))
            .collect();
        let mut entries = Vec::with_capacity(commit.outbox.len());
        for (sink, entry) in &commit.outbox {
            entries.push(self.encode_new_entry(sink, entry)?);
        }
        let bytes: usize = writes
            .iter()
            .chain(&entries)
            .map(|(k, v)| k.len() + v.len())
            .sum();
        self.counters.wrote(writes.len() + entries.len(), bytes);
        self.counters.removed(deletes.len());
        transact(
            &self.conversations,
            &self.outbox,
            |conversations, outbox| {
                for (key, value) in &writes {
                    conversations.insert(key.as_slice(), value.as_slice())?;
                }
                for key in &deletes {
                    conversations.remove(key.as_slice())?;
                }
                for (key, value) in &entries {
                    outbox.insert(key.as_slice(), value.as_slice())?;
                }
                Ok(())
            },
        )
    }

    /// The org's state; the default for an org never polled.
    pub fn org_state(&self, org: &str) -> Result<OrgState> {
        match self.orgs.get(org.as_bytes())? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| corrupt("org state", e)),
            None => Ok(OrgState::default()),
        }
    }

    /// Replaces the org's state.
    pub fn set_org_state(&self, org: &str, state: &OrgState) -> Result<()> {
        let bytes = serde_json::to_vec(state).map_err(|e| corrupt("org state", e))?;
        self.counters.wrote(1, org.len() + bytes.len());
        self.orgs.insert(org.as_bytes(), bytes)?;
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

fn encode_stored(stored: &Stored) -> Vec<u8> {
    let mut bytes = stored.revision.to_be_bytes().to_vec();
    bytes.extend_from_slice(&stored.conversation.to_bytes());
    bytes
}

fn decode_stored(bytes: &[u8]) -> Result<Stored> {
    let (revision, json) = bytes
        .split_at_checked(8)
        .ok_or_else(|| corrupt("snapshot", "too short"))?;
    let revision = u64::from_be_bytes(revision.try_into().expect("8 bytes"));
    let text = std::str::from_utf8(json).map_err(|e| corrupt("snapshot", e))?;
    let conversation = Conversation::from_json(text).map_err(|e| corrupt("snapshot", e))?;
    Ok(Stored {
        revision,
        conversation,
    })
}
