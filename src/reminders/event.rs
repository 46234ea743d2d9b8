//! The `conversation.reminder` event: the usual envelope, empty `changes`, the latest snapshot,
//! and `data.reminder` saying which step of which clock it is.

use super::{DueStep, Reminder, ReminderState};
use crate::diff::DiffContext;
use crate::event::{Conversation, Event, EventData, EventType};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Map;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// `data.reminder` of a `conversation.reminder` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderData {
    /// The reminder's name.
    pub name: String,
    /// Which step (1-based).
    pub step: u32,
    /// How many steps the reminder has.
    pub steps: u32,
    /// The step's `after`, as configured (`15m`, `1h`).
    #[serde(with = "humantime_serde")]
    pub after: Duration,
    /// When this clock started.
    #[serde(with = "crate::event::seconds")]
    pub since: DateTime<Utc>,
    /// The clock's age at detection, in whole seconds (only open time with a `clock`).
    pub age_seconds: u64,
}

/// `evt_` + 32 hex digits of SHA-256 over the org, the conversation, the type, the reminder's
/// name, the step and the clock's `since`, in the style of [`crate::event::event_id`]. A step
/// sent again after a crash has the same five, so the same id; a new clock (left the state and
/// entered it again later) has a new `since`, so new ids.
pub fn reminder_event_id(
    org_id: &str,
    conversation_id: &str,
    reminder: &str,
    step: u32,
    since: DateTime<Utc>,
) -> String {
    let mut hash = Sha256::new();
    for part in [
        org_id,
        conversation_id,
        EventType::Reminder.as_str(),
        reminder,
        &step.to_string(),
        // Every digit chrono keeps: two different `since`s never hash alike.
        &since.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    ] {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    let digest = hash.finalize();
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("evt_{hex}")
}

/// The event for step `due` of `reminder` on the clock `state`, about `conversation` (the
/// latest snapshot), detected at `ctx.detected_at`.
pub fn reminder_event(
    ctx: &DiffContext<'_>,
    reminder: &Reminder,
    state: &ReminderState,
    due: &DueStep,
    conversation: &Conversation,
) -> Event {
    let id = reminder_event_id(
        ctx.org_id,
        conversation.id(),
        reminder.name(),
        due.step,
        state.since,
    );
    Event {
        id,
        kind: EventType::Reminder,
        timestamp: ctx.detected_at,
        data: EventData {
            org_id: ctx.org_id.to_string(),
            org_name: ctx.org_name.to_string(),
            changes: Vec::new(),
            previous: Map::new(),
            reminder: Some(ReminderData {
                name: reminder.name().to_string(),
                step: due.step,
                steps: reminder.step_count(),
                after: due.after,
                since: state.since,
                age_seconds: due.age.as_secs(),
            }),
            conversation: conversation.clone(),
        },
        notice: None,
    }
}
