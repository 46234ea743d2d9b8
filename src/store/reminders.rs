//! Reminder clocks: one [`ReminderState`] per (org, conversation, reminder) that is in its
//! reminder's state, and an index of when each is next due, so that finding the reminders due
//! costs what is due, not what is stored.
//!
//! `reminders[org \0 conversation \0 reminder]` = next due (u64 BE, ms; `u64::MAX`: no step
//! left) + state JSON; `reminders_due[org \0 due conversation \0 reminder]` = nothing. Written in
//! the transaction of the poll's commit (see [`Commit::reminders`](super::Commit)).

use super::{corrupt, pair_key, prefix, Result, Store};
use crate::reminders::ReminderState;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// One clock to write (or end) with a commit.
#[derive(Debug, Clone, PartialEq)]
pub struct ReminderWrite {
    /// The conversation id.
    pub conversation: String,
    /// The reminder's name.
    pub reminder: String,
    /// The new state; `None` ends the clock.
    pub state: Option<ReminderState>,
    /// When its next step is due (at the earliest); `None`: no step left.
    pub due: Option<DateTime<Utc>>,
}

/// Per reminder: clocks running, and the earliest time a step is due.
pub type Overview = (usize, Option<DateTime<Utc>>);

/// A reminder clock that is due.
#[derive(Debug, Clone, PartialEq)]
pub struct DueReminder {
    /// The conversation id.
    pub conversation: String,
    /// The reminder's name.
    pub reminder: String,
}

fn tail(conversation: &str, reminder: &str) -> Vec<u8> {
    let mut bytes = conversation.as_bytes().to_vec();
    bytes.push(0);
    bytes.extend_from_slice(reminder.as_bytes());
    bytes
}

pub(super) fn state_key(org: &str, conversation: &str, reminder: &str) -> Vec<u8> {
    pair_key(org, &tail(conversation, reminder))
}

pub(super) fn due_key(org: &str, due: u64, conversation: &str, reminder: &str) -> Vec<u8> {
    let mut bytes = due.to_be_bytes().to_vec();
    bytes.extend(tail(conversation, reminder));
    pair_key(org, &bytes)
}

/// The due time as the index orders it.
pub(super) fn due_millis(due: Option<DateTime<Utc>>) -> u64 {
    due.map_or(u64::MAX, |at| at.timestamp_millis().max(0) as u64)
}

pub(super) fn encode(write: &ReminderWrite, state: &ReminderState) -> Result<Vec<u8>> {
    let mut bytes = due_millis(write.due).to_be_bytes().to_vec();
    serde_json::to_writer(&mut bytes, state).map_err(|e| corrupt("reminder state", e))?;
    Ok(bytes)
}

/// The due time in a stored state's header.
pub(super) fn header_due(value: &[u8]) -> Result<u64> {
    let header = value
        .get(..8)
        .ok_or_else(|| corrupt("reminder state", "too short"))?;
    Ok(u64::from_be_bytes(header.try_into().expect("8 bytes")))
}

impl Store {
    /// The clock of `reminder` for one conversation, if it is in the state.
    pub fn reminder_state(
        &self,
        org: &str,
        conversation: &str,
        reminder: &str,
    ) -> Result<Option<ReminderState>> {
        self.counters.read(1);
        let Some(value) = self.reminders.get(state_key(org, conversation, reminder))? else {
            return Ok(None);
        };
        let json = value.get(8..).unwrap_or_default();
        serde_json::from_slice(json)
            .map(Some)
            .map_err(|e| corrupt("reminder state", e))
    }

    /// The clocks of `org` due at `now` (by their earliest due time), oldest first.
    pub fn due_reminders(&self, org: &str, now: DateTime<Utc>) -> Result<Vec<DueReminder>> {
        let now = due_millis(Some(now));
        let skip = org.len() + 1;
        let mut due = Vec::new();
        for key in self.reminders_due.scan_prefix(prefix(org)).keys() {
            let key = key?;
            let rest = key.get(skip..).unwrap_or_default();
            let (at, names) = rest
                .split_at_checked(8)
                .ok_or_else(|| corrupt("reminder index", "short"))?;
            if u64::from_be_bytes(at.try_into().expect("8 bytes")) > now {
                break;
            }
            let mut parts = names.splitn(2, |b| *b == 0);
            let text =
                |p: Option<&[u8]>| String::from_utf8_lossy(p.unwrap_or_default()).into_owned();
            let conversation = text(parts.next());
            due.push(DueReminder {
                conversation,
                reminder: text(parts.next()),
            });
        }
        Ok(due)
    }

    /// Per reminder: how many clocks run (conversations in its state) and the earliest time a
    /// step is due (a scan of the clocks: for `status`, not for polls).
    pub fn reminder_overview(&self) -> Result<BTreeMap<String, Overview>> {
        let mut overview: BTreeMap<String, Overview> = BTreeMap::new();
        for item in self.reminders.iter() {
            let (key, value) = item?;
            let name = key.rsplit(|b| *b == 0).next().unwrap_or_default();
            let entry = overview
                .entry(String::from_utf8_lossy(name).into_owned())
                .or_default();
            entry.0 += 1;
            let due = header_due(&value)?;
            let due = (due != u64::MAX)
                .then(|| DateTime::from_timestamp_millis(due as i64))
                .flatten();
            entry.1 = match (entry.1, due) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(overview)
    }
}

/// A [`ReminderWrite`] as keys and values, ready for the commit's transaction.
pub(super) struct EncodedReminder {
    key: Vec<u8>,
    /// The value to store; `None` ends the clock.
    value: Option<Vec<u8>>,
    /// The new index key (none when ended or no step is left).
    due_key: Option<Vec<u8>>,
    conversation: String,
    reminder: String,
}

pub(super) fn encode_reminders(
    org: &str,
    writes: &[ReminderWrite],
) -> Result<Vec<EncodedReminder>> {
    writes
        .iter()
        .map(|write| {
            let value = write.state.as_ref().map(|s| encode(write, s)).transpose()?;
            let due = due_millis(write.due);
            let keep = value.is_some() && due != u64::MAX;
            Ok(EncodedReminder {
                key: state_key(org, &write.conversation, &write.reminder),
                due_key: keep.then(|| due_key(org, due, &write.conversation, &write.reminder)),
                value,
                conversation: write.conversation.clone(),
                reminder: write.reminder.clone(),
            })
        })
        .collect()
}

type Tx<'a> = &'a sled::transaction::TransactionalTree;

/// Writes the clocks inside the commit's transaction: the old index key of each goes, the new
/// state and index key come (or the clock ends).
pub(super) fn apply_reminders(
    states: Tx,
    index: Tx,
    org: &str,
    encoded: &[EncodedReminder],
) -> sled::transaction::ConflictableTransactionResult<(), ()> {
    use sled::transaction::ConflictableTransactionError::Abort;
    for write in encoded {
        if let Some(old) = states.get(write.key.as_slice())? {
            let at = header_due(&old).map_err(|_| Abort(()))?;
            index.remove(due_key(org, at, &write.conversation, &write.reminder))?;
        }
        match &write.value {
            Some(value) => {
                states.insert(write.key.as_slice(), value.as_slice())?;
            }
            None => {
                states.remove(write.key.as_slice())?;
            }
        }
        if let Some(key) = &write.due_key {
            index.insert(key.as_slice(), &[])?;
        }
    }
    Ok(())
}
