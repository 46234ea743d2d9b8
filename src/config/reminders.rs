//! `[[reminders]]`: rules over a conversation's current state ("unread in the inbox for 15
//! minutes"), their escalation steps, and the checks that a type cannot express. What a reminder
//! does at run time lives in [`crate::reminders`].

use super::{Config, ConfigError, Filter};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
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

/// Every problem of the `[[reminders]]` entries, each under its key
/// (`reminders[0].steps[1].after`).
pub(super) fn check(config: &Config, errors: &mut Vec<ConfigError>) {
    let mut names = HashSet::new();
    for (i, reminder) in config.reminders.iter().enumerate() {
        let key = format!("reminders[{i}]");
        let name = reminder.name.as_str();
        if !super::validate::is_plain_name(name) {
            let reason = "must be non-empty and use only letters, digits, `-`, `_` and `.`";
            errors.push(ConfigError::new(format!("{key}.name"), reason));
        } else if !names.insert(name) {
            let reason = format!("`{name}` is used twice");
            errors.push(ConfigError::new(format!("{key}.name"), reason));
        }
        check_when(&reminder.when, config, &key, errors);
        check_steps(&reminder.steps, config, &key, errors);
        if let Some(clock) = &reminder.clock {
            if config.schedule(clock).is_none() {
                let reason = format!("`{clock}` is not one of the configured [[schedules]] names");
                errors.push(ConfigError::new(format!("{key}.clock"), reason));
            }
        }
    }
}

fn check_when(when: &StateFilter, config: &Config, key: &str, errors: &mut Vec<ConfigError>) {
    if when.is_empty() {
        // A reminder over every conversation would remind about all of them, forever.
        let reason = "needs at least one state field: `folder`, `is_read` or `orgs`";
        errors.push(ConfigError::new(format!("{key}.when"), reason));
    }
    super::validate::check_filter(&when.to_filter(), config, &format!("{key}.when"), errors);
}

fn check_steps(steps: &[StepConfig], config: &Config, key: &str, errors: &mut Vec<ConfigError>) {
    if steps.is_empty() {
        let reason = "at least one step (`{ after = \"15m\", sinks = [...] }`) is required";
        errors.push(ConfigError::new(format!("{key}.steps"), reason));
    }
    for (j, step) in steps.iter().enumerate() {
        let step_key = format!("{key}.steps[{j}]");
        if j > 0 && step.after <= steps[j - 1].after {
            // Each step is a later escalation; an equal or earlier one would never be distinct.
            let reason = format!("must be later than steps[{}].after", j - 1);
            errors.push(ConfigError::new(format!("{step_key}.after"), reason));
        }
        if step.sinks.is_empty() {
            let reason = "at least one sink is required: a step must reach someone";
            errors.push(ConfigError::new(format!("{step_key}.sinks"), reason));
        }
        let mut seen = HashSet::new();
        for sink in &step.sinks {
            let reason = if !config.sinks.iter().any(|s| s.name() == sink) {
                format!("`{sink}` is not one of the configured [[sinks]] names")
            } else if !seen.insert(sink.as_str()) {
                format!("`{sink}` is listed twice")
            } else {
                continue;
            };
            errors.push(ConfigError::new(format!("{step_key}.sinks"), reason));
        }
    }
}
