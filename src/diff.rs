//! The differ: previous snapshots + one page of conversations → new snapshots and events.
//!
//! Pure: no I/O, no clock (the detection time comes in the context), so it is property-tested
//! directly. The poller reads the previous snapshots and commits what this returns.

use crate::event::{event_id, Conversation, Event, EventData, EventType, Field};
use chrono::{DateTime, Utc};
use serde_json::Map;
use std::collections::HashMap;

/// A conversation as stored: the last snapshot and how many times it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// Increases with every write; part of event ids (see [`event_id`]).
    pub revision: u64,
    /// The snapshot.
    pub conversation: Conversation,
}

/// Who is being diffed, and whether changes become events.
#[derive(Debug, Clone)]
pub struct DiffContext<'a> {
    /// The org id.
    pub org_id: &'a str,
    /// The org's label.
    pub org_name: &'a str,
    /// False while recording a baseline: state is written, nothing is announced.
    pub emit: bool,
    /// The event timestamp.
    pub detected_at: DateTime<Utc>,
}

/// How a snapshot compares with the one before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// Identical: nothing to write, nothing to send.
    Unchanged,
    /// Never seen before.
    Created,
    /// Tracked fields changed (in [`Field::ALL`] order).
    Updated(Vec<Field>),
    /// Only untracked fields changed: the snapshot is refreshed silently.
    Refreshed,
}

/// What one page changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageChanges {
    /// Snapshots to write (changed or new ones only).
    pub writes: Vec<Stored>,
    /// Events to queue.
    pub events: Vec<Event>,
}

/// Compares one conversation with its previous snapshot.
pub fn compare(previous: Option<&Conversation>, current: &Conversation) -> Comparison {
    let Some(previous) = previous else {
        return Comparison::Created;
    };
    if previous == current {
        return Comparison::Unchanged;
    }
    let changes: Vec<Field> = Field::ALL
        .into_iter()
        .filter(|f| previous.field(*f) != current.field(*f))
        .collect();
    if changes.is_empty() {
        Comparison::Refreshed
    } else {
        Comparison::Updated(changes)
    }
}

/// Diffs a page. `previous[i]` is the stored snapshot of `page[i]`, if any. A conversation that
/// appears twice in the page is compared with its own earlier occurrence.
pub fn diff_page(
    ctx: &DiffContext<'_>,
    page: &[Conversation],
    previous: &[Option<Stored>],
) -> PageChanges {
    assert_eq!(
        page.len(),
        previous.len(),
        "one previous slot per conversation"
    );
    let mut written: HashMap<&str, usize> = HashMap::new();
    let mut out = PageChanges::default();
    for (current, stored) in page.iter().zip(previous) {
        let before = match written.get(current.id()) {
            Some(&i) => Some(&out.writes[i]),
            None => stored.as_ref(),
        };
        let comparison = compare(before.map(|s| &s.conversation), current);
        if comparison == Comparison::Unchanged {
            continue;
        }
        let revision = before.map_or(0, |s| s.revision + 1);
        if ctx.emit {
            if let Some(event) = event_for(ctx, &comparison, before, current, revision) {
                out.events.push(event);
            }
        }
        let stored = Stored {
            revision,
            conversation: current.clone(),
        };
        match written.get(current.id()) {
            Some(&i) => out.writes[i] = stored,
            None => {
                written.insert(current.id(), out.writes.len());
                out.writes.push(stored);
            }
        }
    }
    out
}

fn event_for(
    ctx: &DiffContext<'_>,
    comparison: &Comparison,
    before: Option<&Stored>,
    current: &Conversation,
    revision: u64,
) -> Option<Event> {
    let (kind, changes) = match comparison {
        Comparison::Created => (EventType::Created, Vec::new()),
        Comparison::Updated(changes) => (EventType::Updated, changes.clone()),
        Comparison::Unchanged | Comparison::Refreshed => return None,
    };
    let mut previous = Map::new();
    if let Some(before) = before {
        for field in &changes {
            let value = before
                .conversation
                .field(*field)
                .cloned()
                .unwrap_or_default();
            previous.insert(field.as_str().to_string(), value);
        }
    }
    Some(make_event(
        ctx,
        kind,
        revision,
        current.clone(),
        changes,
        previous,
    ))
}

/// The `conversation.removed` event for a stored conversation missing from a complete listing.
pub fn removed_event(ctx: &DiffContext<'_>, stored: &Stored) -> Event {
    let conversation = stored.conversation.clone();
    make_event(
        ctx,
        EventType::Removed,
        stored.revision + 1,
        conversation,
        Vec::new(),
        Map::new(),
    )
}

fn make_event(
    ctx: &DiffContext<'_>,
    kind: EventType,
    revision: u64,
    conversation: Conversation,
    changes: Vec<Field>,
    previous: Map<String, serde_json::Value>,
) -> Event {
    Event {
        id: event_id(ctx.org_id, kind, revision, &conversation, &changes),
        kind,
        timestamp: ctx.detected_at,
        data: EventData {
            org_id: ctx.org_id.to_string(),
            org_name: ctx.org_name.to_string(),
            changes,
            previous,
            reminder: None,
            conversation,
        },
        notice: None,
    }
}

#[cfg(test)]
mod tests;
