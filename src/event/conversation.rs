//! One conversation record exactly as upstream sent it: its text as received, and its fields
//! parsed when first asked for.

use super::{Field, RecordError, MAX_ID_BYTES};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

/// One conversation exactly as the API returned it, unknown fields included.
#[derive(Debug, Clone)]
pub struct Conversation {
    id: String,
    /// Every field, parsed when first asked for (a record new to the store is stored as its
    /// text and never needs it). Shared: a conversation is cloned into its snapshot, its event
    /// and its outbox entries, and a map of a dozen fields is the dearest part to copy.
    raw: OnceLock<Arc<Map<String, Value>>>,
    /// The record's JSON text as received (or as stored), when known: comparing it with the
    /// stored text is the steady-state fast path, so it is never re-serialised for that.
    text: Option<Arc<str>>,
}

/// Two conversations are equal when their content is, however it was encoded.
impl PartialEq for Conversation {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.raw() == other.raw()
    }
}

impl Conversation {
    /// Accepts an object with a non-empty string `conversation_id` of at most [`MAX_ID_BYTES`]
    /// and tracked fields of the documented types (missing or null are fine: that is data).
    pub fn from_value(value: Value) -> Result<Conversation, RecordError> {
        let Value::Object(raw) = value else {
            return Err(RecordError::NotAnObject);
        };
        let id = match raw.get("conversation_id") {
            Some(Value::String(id)) if id.len() > MAX_ID_BYTES => {
                return Err(RecordError::IdTooLong { bytes: id.len() })
            }
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            _ => return Err(RecordError::MissingId),
        };
        for field in Field::ALL {
            let ok = match (field, raw.get(field.as_str())) {
                (_, None | Some(Value::Null)) => true,
                (Field::IsRead, Some(v)) => v.is_boolean(),
                (_, Some(v)) => v.is_string(),
            };
            if !ok {
                return Err(RecordError::WrongType {
                    id,
                    field: field.as_str(),
                });
            }
        }
        Ok(Conversation {
            id,
            raw: OnceLock::from(Arc::new(raw)),
            text: None,
        })
    }

    /// A record a page's quick look found usable (`api/page.rs`: a JSON object whose id and
    /// tracked fields pass the rules of [`Conversation::from_value`]), kept as its text and
    /// parsed only when a field is asked for.
    pub(crate) fn from_checked(id: &str, text: &str) -> Conversation {
        Conversation {
            id: id.to_string(),
            raw: OnceLock::new(),
            text: Some(Arc::from(text)),
        }
    }

    fn raw(&self) -> &Map<String, Value> {
        self.raw.get_or_init(|| {
            let text = self.text.as_deref().unwrap_or("{}");
            // Checked when it was made: an object, so this parse cannot fail.
            Arc::new(serde_json::from_str(text).unwrap_or_default())
        })
    }

    /// Parses one record from its JSON text, keeping the text.
    pub fn from_json(text: &str) -> Result<Conversation, RecordError> {
        let value: Value = serde_json::from_str(text).map_err(|_| RecordError::NotAnObject)?;
        let mut conversation = Conversation::from_value(value)?;
        conversation.text = Some(Arc::from(text));
        Ok(conversation)
    }

    /// The `conversation_id`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A tracked field's value; `None` when missing or null.
    pub fn field(&self, field: Field) -> Option<&Value> {
        self.raw().get(field.as_str()).filter(|v| !v.is_null())
    }

    /// The folder, when known.
    pub fn folder(&self) -> Option<&str> {
        self.field(Field::Folder).and_then(Value::as_str)
    }

    /// The read state, when known.
    pub fn is_read(&self) -> Option<bool> {
        self.field(Field::IsRead).and_then(Value::as_bool)
    }

    /// Any field, as sent.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.raw().get(key)
    }

    /// The record's JSON: as received when known, else serialised (compact, upstream's key order).
    pub fn to_bytes(&self) -> Cow<'_, [u8]> {
        match &self.text {
            Some(text) => Cow::Borrowed(text.as_bytes()),
            None => {
                Cow::Owned(serde_json::to_vec(self.raw()).expect("a JSON map always serialises"))
            }
        }
    }
}

impl Serialize for Conversation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Conversation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Conversation::from_value(value).map_err(serde::de::Error::custom)
    }
}
