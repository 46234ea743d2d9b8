//! Reminders and escalation: "this conversation has been unread in the inbox for an hour".
//!
//! This module owns the pure core: a validated [`Reminder`], the small per (reminder, org,
//! conversation) [`ReminderState`] that the store keeps, [`evaluate`] (state + the latest
//! snapshot + now → the new state and the steps due now), [`next_due`] (for due-time indexes and
//! `status`) and the `conversation.reminder` event ([`reminder_event`]). No clock is read here:
//! the detection time comes in, and the time that counts (wall-clock, or only the time inside a
//! schedule's windows) is a function passed in, so all of it is tested with injected time.
//!
//! Reading and committing the state with the poll's other writes is the poller's job.

mod core;
mod event;
mod rules;
#[cfg(test)]
mod tests;

pub use self::core::{evaluate, next_due, since_for, wall_age, DueStep, Evaluation, NextDue, Seen};
pub use self::event::{reminder_event, reminder_event_id, ReminderData};
pub use self::rules::Rules;

use crate::config::{Filter, ReminderConfig};
use crate::event::Conversation;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One escalation step of a reminder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Age in the state at which the step is due.
    pub after: Duration,
    /// Where it goes, whatever the sinks' filters say.
    pub sinks: Vec<String>,
}

/// A reminder whose steps are known to be non-empty and strictly increasing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    name: String,
    /// `when` as the filter it means.
    when: Filter,
    steps: Vec<Step>,
    clock: Option<String>,
}

/// Why a [`ReminderConfig`] is not a usable reminder (`check` reports these per key first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReminderError {
    /// No steps: the reminder could never send anything.
    #[error("reminder `{0}` has no steps")]
    NoSteps(String),
    /// Step `.1` (0-based) is not later than the one before it.
    #[error("reminder `{0}`: step {1} is not later than the one before it")]
    NotIncreasing(String, usize),
}

impl TryFrom<&ReminderConfig> for Reminder {
    type Error = ReminderError;

    fn try_from(config: &ReminderConfig) -> Result<Self, Self::Error> {
        if config.steps.is_empty() {
            return Err(ReminderError::NoSteps(config.name.clone()));
        }
        if let Some(i) =
            (1..config.steps.len()).find(|&i| config.steps[i].after <= config.steps[i - 1].after)
        {
            return Err(ReminderError::NotIncreasing(config.name.clone(), i));
        }
        Ok(Reminder {
            name: config.name.clone(),
            when: config.when.to_filter(),
            steps: config
                .steps
                .iter()
                .map(|s| Step {
                    after: s.after,
                    sinks: s.sinks.clone(),
                })
                .collect(),
            clock: config.clock.clone(),
        })
    }
}

impl Reminder {
    /// The reminder's unique name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The steps, in increasing `after` order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Step `number` (1-based, as in events).
    pub fn step(&self, number: u32) -> Option<&Step> {
        let index = usize::try_from(number).ok()?.checked_sub(1)?;
        self.steps.get(index)
    }

    /// The `[[schedules]]` name whose open time counts; `None`: wall-clock time.
    pub fn clock(&self) -> Option<&str> {
        self.clock.as_deref()
    }

    /// How many steps there are, as events count them.
    pub fn step_count(&self) -> u32 {
        u32::try_from(self.steps.len()).unwrap_or(u32::MAX)
    }

    /// Whether `conversation` of `org_id` is in the state: a sink filter's state fields, with
    /// their meaning ([`Filter::matches_state`](crate::config::Filter::matches_state)).
    pub fn matches(&self, org_id: &str, conversation: &Conversation) -> bool {
        self.when.matches_state(org_id, conversation)
    }
}

/// What the store keeps per (reminder, org, conversation) while the conversation is in the
/// state; absent when it is not. Small on purpose: one is written per conversation entering the
/// state and per step sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderState {
    /// When the clock started (whole seconds, UTC): part of every event id of this clock.
    pub since: DateTime<Utc>,
    /// Steps done on this clock: sent, or passed over as already overdue at first sight.
    pub sent: u32,
}
