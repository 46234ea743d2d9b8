//! The configured reminders together with the schedules their clocks count in: what the poller
//! needs to evaluate them.

use super::{wall_age, Reminder};
use crate::config::Config;
use crate::schedule::Schedule;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// See the module docs.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    reminders: Vec<Reminder>,
    clocks: HashMap<String, Arc<Schedule>>,
}

impl Rules {
    /// The validated configuration's reminders (a reminder the checks refused cannot be here).
    pub fn from_config(config: &Config, schedules: &HashMap<String, Arc<Schedule>>) -> Rules {
        let reminders: Vec<Reminder> = config
            .reminders
            .iter()
            .filter_map(|c| Reminder::try_from(c).ok())
            .collect();
        let clocks = reminders
            .iter()
            .filter_map(|r| r.clock())
            .filter_map(|name| schedules.get(name).map(|s| (name.to_string(), s.clone())))
            .collect();
        Rules { reminders, clocks }
    }

    /// No reminder is configured.
    pub fn is_empty(&self) -> bool {
        self.reminders.is_empty()
    }

    /// Every reminder.
    pub fn iter(&self) -> impl Iterator<Item = &Reminder> {
        self.reminders.iter()
    }

    /// The reminder named `name`.
    pub fn get(&self, name: &str) -> Option<&Reminder> {
        self.reminders.iter().find(|r| r.name() == name)
    }

    /// The age of a clock started at `since`, at `now`: wall time, or only the time inside the
    /// reminder's `clock` schedule.
    pub fn age(&self, reminder: &Reminder, since: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
        match reminder.clock().and_then(|name| self.clocks.get(name)) {
            Some(schedule) => schedule.open_time_between(since, now),
            None => wall_age(since, now),
        }
    }
}
