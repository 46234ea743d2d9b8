//! `[[reminders]]`: rules over a conversation's current state ("unread in the inbox for 15
//! minutes"), their escalation steps, and the checks that a type cannot express. What a reminder
//! does at run time lives in [`crate::reminders`].

use super::Filter;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One `[[reminders]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderConfig {
    /// Unique name: part of the event (`data.reminder.name`), of its id and of the stored
    /// state, so renaming a reminder starts every clock afresh.
    pub name: String,
    /// The state a conversation must be in for its clock to run; leaving it ends the clock.
    pub when: StateFilter,
    /// What to send as the time in the state grows: strictly increasing `after`s, so that each
    /// step is a later, and usually louder, escalation.
    pub steps: Vec<StepConfig>,
    /// A `[[schedules]]` name: only the time inside its windows counts towards `after` (a
    /// conversation left unread over the weekend is not four days late on Monday); absent:
    /// wall-clock time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<String>,
}

/// `steps[]` of a reminder.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// Time in the state (counted by the reminder's `clock`) at which this step is sent.
    #[serde(with = "humantime_serde")]
    pub after: Duration,
    /// The sinks this step goes to, whatever their filters say: an escalation must reach
    /// exactly the people it names.
    pub sinks: Vec<String>,
}

/// `when` of a reminder: the state fields of a sink filter (`folder`, `is_read`, `orgs`), with
/// the same meaning: fields combine with AND, list values with OR. `events` and `changes` are
/// not state and are refused as unknown keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StateFilter {
    /// The conversation's current folder must be one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<Vec<String>>,
    /// The conversation's current read state must be this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_read: Option<bool>,
    /// The conversation's org must be one of these ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orgs: Option<Vec<String>>,
}

impl StateFilter {
    /// The same conditions as a sink filter, so both are checked (and matched) alike.
    pub fn to_filter(&self) -> Filter {
        Filter {
            events: None,
            changes: None,
            folder: self.folder.clone(),
            is_read: self.is_read,
            orgs: self.orgs.clone(),
        }
    }

    /// Whether no state field is set: such a `when` would match every conversation forever.
    pub fn is_empty(&self) -> bool {
        self.folder.is_none() && self.is_read.is_none() && self.orgs.is_none()
    }
}
