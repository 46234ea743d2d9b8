//! Replay: delivered events queued again from the delivered-events log, with their original
//! event (same id, same body, same `timestamp`), so that a receiver that lost them gets them back
//! and one that did not dedupes them. Shared by `hyperrep-notifier replay` and
//! `POST /admin/replay`; reading the request and choosing the sinks is pure, queueing is one
//! store step per slice of events.

use crate::event::EventType;
use crate::store::{Logged, OutboxEntry, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Entries queued per store step: a long replay never holds the whole range in memory.
const SLICE: usize = 500;

/// A replay as asked for, in words (the command line's options, the admin endpoint's body).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// RFC 3339, or a duration ago (`2h`).
    pub since: String,
    /// The same; now when absent.
    #[serde(default)]
    pub until: Option<String>,
    /// Only to this configured sink.
    #[serde(default)]
    pub sink: Option<String>,
    /// Only this org's events.
    #[serde(default)]
    pub org: Option<String>,
    /// Only events of this type (`conversation.updated`, …).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// Which logged events go again, and to which sinks.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Detected at or after this.
    pub since: DateTime<Utc>,
    /// Detected at or before this.
    pub until: DateTime<Utc>,
    /// Only to this sink; else to every configured sink that took the event.
    pub sink: Option<String>,
    /// Only this org's.
    pub org: Option<String>,
    /// Only this type.
    pub kind: Option<EventType>,
}

/// `TIME`: RFC 3339, or a duration before `now` (`2h`, `30m`, `7d`).
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(at.with_timezone(&Utc));
    }
    let ago = humantime::parse_duration(text.trim()).map_err(|_| {
        format!(
            "cannot read `{text}` as a time: give RFC 3339 (2026-04-29T16:00:00Z) or a \
             duration ago (2h, 30m, 7d)"
        )
    })?;
    crate::backoff::ago(now, ago)
        .ok_or_else(|| format!("`{text}` ago is before any time this notifier can name"))
}

/// An event type by its wire name.
pub fn parse_type(text: &str) -> Result<EventType, String> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).map_err(|_| {
        format!(
            "unknown event type `{text}` (known: conversation.created, conversation.updated, \
             conversation.removed, conversation.reminder)"
        )
    })
}

impl Selection {
    /// The selection `request` names; the reason, prefixed by the field, when it names none.
    pub fn read(
        request: &Request,
        configured: &[&str],
        now: DateTime<Utc>,
    ) -> Result<Selection, String> {
        let since = parse_time(&request.since, now).map_err(|e| format!("since: {e}"))?;
        let until = match &request.until {
            Some(text) => parse_time(text, now).map_err(|e| format!("until: {e}"))?,
            None => now,
        };
        if since > until {
            return Err("since: is later than until".to_string());
        }
        if let Some(sink) = request.sink.as_deref() {
            if !configured.contains(&sink) {
                let known = configured.join(", ");
                return Err(format!(
                    "sink: no configured sink `{sink}` (known: {known})"
                ));
            }
        }
        let kind = request.kind.as_deref().map(parse_type).transpose();
        Ok(Selection {
            since,
            until,
            sink: request.sink.clone(),
            org: request.org.clone(),
            kind: kind.map_err(|e| format!("type: {e}"))?,
        })
    }

    /// The sinks `logged` goes to again: those that took it, still configured, and `sink` only
    /// when one is named; none when its org or type is not selected.
    pub fn sinks_for<'a>(&self, logged: &'a Logged, configured: &[&str]) -> Vec<&'a str> {
        let event = &logged.event;
        let org_ok = self.org.as_ref().is_none_or(|o| *o == event.data.org_id);
        let kind_ok = self.kind.is_none_or(|k| k == event.kind);
        if !(org_ok && kind_ok) {
            return Vec::new();
        }
        let sinks = logged.sinks.iter().map(String::as_str);
        sinks
            .filter(|s| configured.contains(s))
            .filter(|s| self.sink.as_deref().is_none_or(|only| only == *s))
            .collect()
    }
}

/// What a replay queued: entries per sink.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Replayed {
    /// Entries queued, every sink together.
    pub queued: usize,
    /// Entries queued per sink.
    pub sinks: BTreeMap<String, usize>,
}

impl Replayed {
    /// `queued 3 events for replay (sink: hook)`.
    pub fn summary(&self) -> String {
        let sinks = match self.sinks.len() {
            0 => "sinks: none".to_string(),
            1 => format!("sink: {}", self.sinks.keys().next().expect("one")),
            _ => {
                let each: Vec<String> =
                    self.sinks.iter().map(|(s, n)| format!("{s} {n}")).collect();
                format!("sinks: {}", each.join(", "))
            }
        };
        format!("queued {} events for replay ({sinks})", self.queued)
    }
}

/// Queues again, due `now`, every logged event `selection` takes, to the sinks it names.
pub fn replay(
    store: &Store,
    selection: &Selection,
    configured: &[&str],
    now: DateTime<Utc>,
) -> Result<Replayed, StoreError> {
    let mut replayed = Replayed::default();
    let mut slice: Vec<(String, OutboxEntry)> = Vec::new();
    store.for_each_delivered(selection.since, selection.until, |logged| {
        for sink in selection.sinks_for(&logged, configured) {
            // Poll 0: no poll of this process, so a sink that judges floods per poll sees the
            // replayed entries as closed and may summarise them.
            slice.push((
                sink.to_string(),
                OutboxEntry::new(logged.event.clone(), now),
            ));
            *replayed.sinks.entry(sink.to_string()).or_default() += 1;
        }
        if slice.len() >= SLICE {
            store.requeue(&std::mem::take(&mut slice))?;
        }
        Ok(())
    })?;
    store.requeue(&slice)?;
    replayed.queued = replayed.sinks.values().sum();
    Ok(replayed)
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
