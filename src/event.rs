//! The event envelope (Standard Webhooks `type`/`timestamp`/`data`, plus `id`), the conversation
//! record as upstream sent it, deterministic event ids, and sink filters.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

mod conversation;
mod filter;
mod notice;
pub use conversation::Conversation;
pub use notice::SinkNotice;

/// What happened to a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    /// First seen (after the baseline, or on first sight with `initial = "notify"`).
    #[serde(rename = "conversation.created")]
    Created,
    /// A tracked field changed.
    #[serde(rename = "conversation.updated")]
    Updated,
    /// Gone from a complete listing (opt-in).
    #[serde(rename = "conversation.removed")]
    Removed,
    /// Still in a reminder's state after one of its steps' `after` (see [`crate::reminders`]).
    #[serde(rename = "conversation.reminder")]
    Reminder,
    /// A sink was disabled after sustained failure (see [`SinkNotice`]); sent only to
    /// `delivery.notify_sinks`, never through sink filters.
    #[serde(rename = "sink.disabled")]
    SinkDisabled,
}

impl EventType {
    /// The wire name, e.g. `conversation.created`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "conversation.created",
            EventType::Updated => "conversation.updated",
            EventType::Removed => "conversation.removed",
            EventType::Reminder => "conversation.reminder",
            EventType::SinkDisabled => "sink.disabled",
        }
    }
}

/// A field whose change is an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The time of the latest activity.
    LastActivityAt,
    /// The read state.
    IsRead,
    /// The folder or status bucket.
    Folder,
}

impl Field {
    /// Every tracked field, in the order events list them.
    pub const ALL: [Field; 3] = [Field::LastActivityAt, Field::IsRead, Field::Folder];

    /// The record key.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::LastActivityAt => "last_activity_at",
            Field::IsRead => "is_read",
            Field::Folder => "folder",
        }
    }
}

/// The longest `conversation_id` accepted, in bytes. Real ids are short tokens; a longer one is
/// bad data that would otherwise be stored, hashed and sent in every event about it.
pub const MAX_ID_BYTES: usize = 1024;

/// Why an upstream record was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Not a JSON object.
    #[error("record is not a JSON object")]
    NotAnObject,
    /// No usable `conversation_id`.
    #[error("record has no string `conversation_id`")]
    MissingId,
    /// A `conversation_id` over [`MAX_ID_BYTES`]: bad data, and one it would cost to store and send.
    #[error("record's `conversation_id` is {bytes} bytes, over the limit of {MAX_ID_BYTES}")]
    IdTooLong { bytes: usize },
    /// A tracked field of the wrong type (the id is known, so the record still counts as seen).
    #[error("conversation {id}: `{field}` has the wrong type")]
    WrongType { id: String, field: &'static str },
}

/// The event envelope delivered to sinks (its serde is in [`notice`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Deterministic id, also the `webhook-id` header; see [`event_id`].
    pub id: String,
    /// What happened.
    pub kind: EventType,
    /// When the change was detected (whole seconds, UTC).
    pub timestamp: DateTime<Utc>,
    /// The org, the change and the snapshot.
    pub data: EventData,
    /// On `sink.disabled` only: its `data` on the wire, instead of [`Event::data`] (then a
    /// stand-in that nothing sends).
    pub notice: Option<Box<SinkNotice>>,
}

/// `data` of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventData {
    /// The org id.
    pub org_id: String,
    /// The org's configured name (its id when none).
    pub org_name: String,
    /// Fields that changed (empty for created and removed).
    pub changes: Vec<Field>,
    /// Values of the changed fields before the change (empty for created and removed).
    pub previous: Map<String, Value>,
    /// Which reminder step this is; only on `conversation.reminder`, absent (not `null`) on the
    /// others, so their bodies stay exactly as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder: Option<crate::reminders::ReminderData>,
    /// The current snapshot (for removed, the last one seen).
    pub conversation: Conversation,
}

/// `evt_` + 32 hex digits of SHA-256 over the org, the conversation, the type, the stored
/// revision the change creates, and the new values of what changed. The same change detected
/// twice (a re-poll after a crash) starts from the same stored revision, so it gets the same id;
/// a flip back and forth (read, unread, read) gets a new id each time.
pub fn event_id(
    org_id: &str,
    kind: EventType,
    revision: u64,
    conversation: &Conversation,
    changes: &[Field],
) -> String {
    let mut hash = Sha256::new();
    for part in [
        org_id,
        conversation.id(),
        kind.as_str(),
        &revision.to_string(),
    ] {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    let fields: &[Field] = if changes.is_empty() {
        &Field::ALL
    } else {
        changes
    };
    for field in fields {
        let value = conversation
            .field(*field)
            .map(Value::to_string)
            .unwrap_or_default();
        hash.update(format!("{}={value}\0", field.as_str()).as_bytes());
    }
    let digest = hash.finalize();
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("evt_{hex}")
}

/// RFC 3339 with whole seconds and `Z`, as in the SPEC's example.
pub(crate) mod seconds {
    use super::*;

    pub fn serialize<S: Serializer>(
        time: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}
