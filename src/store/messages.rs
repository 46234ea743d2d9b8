//! Slack app mode's message references: which Slack message shows a conversation, per sink.
//!
//! `messages[org \0 conversation \0 sink]` = [`MessageRef`] JSON. A reference is created (without
//! a message yet) when a sink's filter first takes an event of the conversation, so every later
//! event of it reaches that sink whatever its filter says; it gets its message when the first
//! post succeeds, and an `attempt` while a post is under way, so a crash between Slack's answer
//! and the write of its `ts` can be told apart from a post that never happened. Keyed by org and
//! conversation first, so one conversation's references are one prefix scan.

use super::{corrupt, pair_key, Result, Store};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One conversation's message in one sink.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRef {
    /// The posted message, once there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Posted>,
    /// A post that was started and whose answer was not recorded yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<PostAttempt>,
    /// The detection time of the newest event the message shows (older ones change nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_at: Option<DateTime<Utc>>,
    /// The event whose thread reply was sent last (a retry does not reply twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replied: Option<String>,
    /// Reminder steps the message has shown.
    #[serde(default)]
    pub reminders: u32,
    /// Last written: references unused for the sink's `keep_messages` are forgotten.
    pub used_at: DateTime<Utc>,
}

/// A Slack message: its channel and timestamp (Slack's id for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posted {
    /// The channel id.
    pub channel: String,
    /// The message's `ts`.
    pub ts: String,
}

/// A post under way: when it started and for which event (its metadata names the event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostAttempt {
    /// When the post was started.
    pub at: DateTime<Utc>,
    /// The event it carried.
    pub event: String,
}

fn key(org: &str, conversation: &str, sink: &str) -> Vec<u8> {
    let mut tail = conversation.as_bytes().to_vec();
    tail.push(0);
    tail.extend_from_slice(sink.as_bytes());
    pair_key(org, &tail)
}

/// The sink named in a key (after the last `\0`).
fn sink_of(key: &[u8]) -> &[u8] {
    key.rsplit(|b| *b == 0).next().unwrap_or_default()
}

impl Store {
    /// The sink's reference for the conversation, if it has one.
    pub fn message_ref(
        &self,
        sink: &str,
        org: &str,
        conversation: &str,
    ) -> Result<Option<MessageRef>> {
        self.counters.read(1);
        let Some(bytes) = self.messages.get(key(org, conversation, sink))? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| corrupt("message reference", e))
    }

    /// Writes the sink's reference for the conversation.
    pub fn put_message_ref(
        &self,
        sink: &str,
        org: &str,
        conversation: &str,
        message: &MessageRef,
    ) -> Result<()> {
        let value = serde_json::to_vec(message).map_err(|e| corrupt("message reference", e))?;
        let key = key(org, conversation, sink);
        self.counters.wrote(1, key.len() + value.len());
        self.watch(|| {
            self.messages
                .insert(key, value)
                .map(drop)
                .map_err(Into::into)
        })
    }

    /// Starts a reference for the conversation (no message yet) unless it has one; whether it
    /// had one.
    pub fn track_message(&self, sink: &str, org: &str, conversation: &str) -> Result<bool> {
        if self.tracks_message(sink, org, conversation)? {
            return Ok(true);
        }
        let fresh = MessageRef {
            used_at: Utc::now(),
            ..MessageRef::default()
        };
        self.put_message_ref(sink, org, conversation, &fresh)?;
        Ok(false)
    }

    /// Whether the sink has a reference for the conversation.
    pub fn tracks_message(&self, sink: &str, org: &str, conversation: &str) -> Result<bool> {
        self.counters.read(1);
        Ok(self.messages.contains_key(key(org, conversation, sink))?)
    }

    /// Forgets the sink's reference for the conversation.
    pub fn forget_message(&self, sink: &str, org: &str, conversation: &str) -> Result<()> {
        self.counters.removed(1);
        let key = key(org, conversation, sink);
        self.watch(|| self.messages.remove(key).map(drop).map_err(Into::into))
    }

    /// Forgets every reference of a sink in `sinks` unused since that sink's cutoff; how many.
    pub fn forget_old_messages(&self, cutoffs: &[(&str, DateTime<Utc>)]) -> Result<usize> {
        let mut forgotten = 0;
        for item in self.messages.iter() {
            let (key, value) = item?;
            let sink = sink_of(&key);
            let Some((_, cutoff)) = cutoffs.iter().find(|(s, _)| s.as_bytes() == sink) else {
                continue;
            };
            let used: MessageRef =
                serde_json::from_slice(&value).map_err(|e| corrupt("message reference", e))?;
            if used.used_at < *cutoff {
                self.watch(|| self.messages.remove(&key).map(drop).map_err(Into::into))?;
                forgotten += 1;
            }
        }
        self.counters.removed(forgotten);
        Ok(forgotten)
    }

    /// How many message references the store holds (a scan: for `status` and tests).
    pub fn message_count(&self) -> usize {
        self.messages.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s"), 4).unwrap();
        (dir, store)
    }

    #[test]
    fn a_tracked_conversation_keeps_its_message_until_it_is_forgotten() {
        let (_dir, store) = store();
        assert!(!store.track_message("slack", "org", "c1").unwrap());
        assert!(store.track_message("slack", "org", "c1").unwrap());
        let mut reference = store.message_ref("slack", "org", "c1").unwrap().unwrap();
        reference.message = Some(Posted {
            channel: "C1".into(),
            ts: "1.000100".into(),
        });
        store
            .put_message_ref("slack", "org", "c1", &reference)
            .unwrap();
        assert!(!store.tracks_message("other", "org", "c1").unwrap());
        assert_eq!(
            store.message_ref("slack", "org", "c1").unwrap(),
            Some(reference)
        );
        store.forget_message("slack", "org", "c1").unwrap();
        assert!(!store.tracks_message("slack", "org", "c1").unwrap());
    }

    #[test]
    fn references_unused_for_longer_than_their_sink_keeps_them_are_forgotten() {
        let (_dir, store) = store();
        let now = Utc::now();
        let old = MessageRef {
            used_at: now - chrono::Duration::days(40),
            ..MessageRef::default()
        };
        let recent = MessageRef {
            used_at: now - chrono::Duration::days(1),
            ..MessageRef::default()
        };
        store.put_message_ref("a", "org", "old", &old).unwrap();
        store
            .put_message_ref("a", "org", "recent", &recent)
            .unwrap();
        store.put_message_ref("b", "org", "old", &old).unwrap();
        let cutoff = now - chrono::Duration::days(30);
        assert_eq!(store.forget_old_messages(&[("a", cutoff)]).unwrap(), 1);
        assert!(!store.tracks_message("a", "org", "old").unwrap());
        assert!(store.tracks_message("a", "org", "recent").unwrap());
        assert!(
            store.tracks_message("b", "org", "old").unwrap(),
            "sink b has no cutoff given"
        );
    }
}
