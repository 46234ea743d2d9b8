//! The simulator's data: generated orgs and conversations in a stable order, pagination by
//! offset cursors, scripted changes, and fault rules.

use super::{Fault, FaultRule};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Timelike;
use chrono::{DateTime, Duration as Span, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::HashMap;

const FOLDERS: [(&str, u32); 4] = [("inbox", 60), ("archived", 25), ("done", 10), ("spam", 5)];

/// One org's conversations, in insertion order (so offset cursors stay valid as records change).
#[derive(Default)]
pub struct Org {
    pub conversations: Vec<Value>,
    index: HashMap<String, usize>,
}

impl Org {
    pub fn push(&mut self, record: Value) {
        if let Some(id) = record.get("conversation_id").and_then(Value::as_str) {
            self.index.insert(id.to_string(), self.conversations.len());
        }
        self.conversations.push(record);
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Value> {
        let i = *self.index.get(id)?;
        self.conversations.get_mut(i)
    }

    pub fn get(&self, id: &str) -> Option<&Value> {
        self.conversations.get(*self.index.get(id)?)
    }

    pub fn remove(&mut self, id: &str) {
        if let Some(i) = self.index.remove(id) {
            self.conversations.remove(i);
            for slot in self.index.values_mut().filter(|slot| **slot > i) {
                *slot -= 1;
            }
        }
    }
}

/// One listing or single-conversation request, as received, for assertions about timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRequest {
    /// When it arrived.
    pub at: std::time::Instant,
    /// The org in its path.
    pub org: String,
    /// The fault it got, if any.
    pub fault: Option<Fault>,
}

/// Everything the simulator holds.
pub struct State {
    pub api_key: String,
    pub orgs: Vec<(String, Org)>,
    pub faults: Vec<FaultRule>,
    pub requests: u64,
    pub first_request: Option<std::time::Instant>,
    pub log: Vec<SimRequest>,
    rng: StdRng,
}

impl State {
    pub fn new(seed: u64, api_key: String) -> State {
        State {
            api_key,
            orgs: Vec::new(),
            faults: Vec::new(),
            requests: 0,
            first_request: None,
            log: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Counts a request, remembering when the first one came.
    pub fn count_request(&mut self) {
        self.requests += 1;
        self.first_request
            .get_or_insert_with(std::time::Instant::now);
    }

    /// Logs a request with the fault it got.
    pub fn log_request(&mut self, org: &str, fault: Option<&Fault>) {
        self.log.push(SimRequest {
            at: std::time::Instant::now(),
            org: org.to_string(),
            fault: fault.cloned(),
        });
    }

    pub fn org(&self, id: &str) -> Option<&Org> {
        self.orgs.iter().find(|(o, _)| o == id).map(|(_, org)| org)
    }

    pub fn org_mut(&mut self, id: &str) -> Option<&mut Org> {
        self.orgs
            .iter_mut()
            .find(|(o, _)| o == id)
            .map(|(_, org)| org)
    }

    pub fn new_id(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let tail: String = (0..43)
            .map(|_| ALPHABET[self.rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        format!("gAAAAAB{tail}")
    }

    pub fn add_org(&mut self) -> String {
        let id = self.new_id();
        self.orgs.push((id.clone(), Org::default()));
        id
    }

    /// A realistic conversation that started some time before `now`.
    pub fn generated(&mut self, now: DateTime<Utc>) -> Value {
        let started = now - Span::minutes(self.rng.random_range(5..60 * 24 * 30));
        let last = started
            + Span::minutes(
                self.rng
                    .random_range(0..=(now - started).num_minutes().max(0)),
            );
        let folder = self.folder();
        let is_read = self.rng.random_bool(0.6);
        let (id, contact) = (self.new_id(), self.new_id());
        json!({"conversation_id": id, "start_at": stamp(started), "last_activity_at": stamp(last),
               "folder": folder, "is_read": is_read, "contact_id": contact})
    }

    pub fn folder(&mut self) -> &'static str {
        let mut pick = self.rng.random_range(0..100);
        for (folder, weight) in FOLDERS {
            if pick < weight {
                return folder;
            }
            pick -= weight;
        }
        "inbox"
    }

    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// The fault for this request, consuming one use of the first matching rule.
    pub fn take_fault(&mut self, org: &str, page: Option<usize>) -> Option<Fault> {
        let rule = self.faults.iter_mut().find(|r| {
            r.times > 0
                && r.org.as_deref().is_none_or(|o| o == org)
                && r.page.is_none_or(|p| Some(p) == page)
        })?;
        if rule.times != usize::MAX {
            rule.times -= 1;
        }
        Some(rule.fault.clone())
    }
}

/// New activity: `last_activity_at` strictly later than before, and unread.
pub fn touch(record: &mut Value, now: DateTime<Utc>) {
    let previous = record
        .get("last_activity_at")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    // Stamps have whole seconds: a second touch within the same second must still move it.
    let now = now.with_nanosecond(0).unwrap_or(now);
    let next = match previous {
        Some(p) if p.to_utc() >= now => p.to_utc() + Span::seconds(1),
        _ => now,
    };
    record["last_activity_at"] = json!(stamp(next));
    record["is_read"] = json!(false);
}

pub fn stamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

pub fn decode_cursor(cursor: &str) -> Option<usize> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    text.strip_prefix("o:")?.parse().ok()
}
