//! The `sink.disabled` notice (the same envelope as conversation events, with its own `data`),
//! and the envelope's serde: `data` is the notice on a notice, the conversation change otherwise.
//! The envelope is read back in the order it is written (`type` before `data`), so `data` is
//! read straight into its type; only a body in another order is read through a JSON value.

use super::{seconds, Conversation, Event, EventData, EventType};
use chrono::{DateTime, Utc};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `data` of a `sink.disabled` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkNotice {
    /// The disabled sink's name.
    pub sink: String,
    /// Why it was disabled.
    pub reason: String,
    /// When it was disabled.
    #[serde(with = "seconds")]
    pub since: DateTime<Utc>,
    /// Entries waiting for it when it was disabled.
    pub queued: u64,
}

impl SinkNotice {
    /// The event: its id derives from the sink and `since`, so the same disabling sent twice
    /// is one event to a receiver that dedupes on ids. Its [`Event::data`] is a stand-in (a
    /// conversation named after the sink) that nothing sends.
    pub fn into_event(self) -> Event {
        let mut hash = Sha256::new();
        hash.update(format!(
            "sink.disabled\0{}\0{}",
            self.sink,
            self.since.timestamp()
        ));
        let hex: String = hash
            .finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        let stand_in = serde_json::json!({ "conversation_id": format!("sink:{}", self.sink) });
        let conversation = Conversation::from_value(stand_in).expect("a non-empty id");
        Event {
            id: format!("evt_{hex}"),
            kind: EventType::SinkDisabled,
            timestamp: self.since,
            data: EventData {
                org_id: String::new(),
                org_name: String::new(),
                changes: Vec::new(),
                previous: Map::new(),
                reminder: None,
                conversation,
            },
            notice: Some(Box::new(self)),
        }
    }

    /// The notice as one line a person reads.
    pub fn line(&self) -> String {
        format!(
            "sink `{}` was disabled: {}, {} queued",
            self.sink, self.reason, self.queued
        )
    }
}

/// The envelope as written.
#[derive(Serialize)]
struct Wire<'a, D: Serialize> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: EventType,
    #[serde(with = "seconds")]
    timestamp: DateTime<Utc>,
    data: &'a D,
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (id, kind, timestamp) = (self.id.as_str(), self.kind, self.timestamp);
        match &self.notice {
            Some(data) => Wire {
                id,
                kind,
                timestamp,
                data: data.as_ref(),
            }
            .serialize(serializer),
            None => Wire {
                id,
                kind,
                timestamp,
                data: &self.data,
            }
            .serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EventVisitor)
    }
}

/// `data` as read: typed when `type` came first, a JSON value otherwise.
enum Data {
    Change(Box<EventData>),
    Notice(SinkNotice),
    Later(Value),
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an event envelope")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let (mut id, mut kind, mut timestamp, mut data) = (None, None, None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "id" => id = Some(map.next_value::<String>()?),
                "type" => kind = Some(map.next_value::<EventType>()?),
                "timestamp" => timestamp = Some(map.next_value::<Stamp>()?.0),
                "data" => {
                    data = Some(match kind {
                        Some(EventType::SinkDisabled) => Data::Notice(map.next_value()?),
                        Some(_) => Data::Change(Box::new(map.next_value()?)),
                        None => Data::Later(map.next_value()?),
                    })
                }
                _ => drop(map.next_value::<de::IgnoredAny>()?),
            }
        }
        let kind = kind.ok_or_else(|| de::Error::missing_field("type"))?;
        let id = id.ok_or_else(|| de::Error::missing_field("id"))?;
        let timestamp = timestamp.ok_or_else(|| de::Error::missing_field("timestamp"))?;
        let data = match data.ok_or_else(|| de::Error::missing_field("data"))? {
            Data::Later(value) => typed(value, kind).map_err(de::Error::custom)?,
            known => known,
        };
        match data {
            Data::Notice(notice) => Ok(Event {
                id,
                timestamp,
                ..notice.into_event()
            }),
            Data::Change(data) => Ok(Event {
                id,
                kind,
                timestamp,
                data: *data,
                notice: None,
            }),
            Data::Later(_) => Err(de::Error::custom("event data of no known shape")),
        }
    }
}

/// `data` read as its type says.
fn typed(value: Value, kind: EventType) -> Result<Data, serde_json::Error> {
    match kind {
        EventType::SinkDisabled => serde_json::from_value(value).map(Data::Notice),
        _ => serde_json::from_value(value).map(|d| Data::Change(Box::new(d))),
    }
}

/// A timestamp as [`seconds`] reads it.
struct Stamp(DateTime<Utc>);

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        seconds::deserialize(deserializer).map(Stamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice() -> Event {
        SinkNotice {
            sink: "hook".into(),
            reason: "the endpoint answered HTTP 410".into(),
            since: DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
                .unwrap()
                .to_utc(),
            queued: 3,
        }
        .into_event()
    }

    #[test]
    fn a_notice_is_the_event_envelope_with_the_notice_as_data_and_reads_back() {
        let event = notice();
        let body = serde_json::to_value(&event).unwrap();
        assert_eq!(body["type"], "sink.disabled");
        assert_eq!(body["timestamp"], "2026-11-24T10:00:00Z");
        assert_eq!(
            body["data"],
            serde_json::json!({"sink": "hook", "reason": "the endpoint answered HTTP 410",
                "since": "2026-11-24T10:00:00Z", "queued": 3})
        );
        let back: Event = serde_json::from_str(&body.to_string()).unwrap();
        assert_eq!(back, event, "it round-trips through the outbox");
        assert_eq!(notice().id, event.id, "the same disabling has the same id");
    }

    #[test]
    fn an_envelope_with_data_before_type_still_reads() {
        let text = r#"{"data":{"sink":"hook","reason":"r","since":"2026-11-24T10:00:00Z","queued":1},
            "id":"evt_1","timestamp":"2026-11-24T10:00:00Z","type":"sink.disabled"}"#;
        let event: Event = serde_json::from_str(text).unwrap();
        assert_eq!(event.notice.map(|n| n.queued), Some(1));
        assert_eq!(event.id, "evt_1");
    }
}
