//! `[[schedules]]`: named delivery windows. The text forms are parsed at load into typed values
//! (a time zone, week days, hour ranges, dates; see `crate::schedule`), so a typo stops the
//! start naming its key; [`check`] adds what a type cannot say: unique names, no overlapping
//! ranges, no empty lists, and that every reference to a schedule names one.

use super::{Config, ConfigError};
use crate::schedule::{self, HourRange};
use chrono::{NaiveDate, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// One `[[schedules]]` entry: when a sink with `deliver_during` may deliver, or when a
/// reminder's `clock` runs.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// The name sinks (`deliver_during`) and reminders (`clock`) refer to it by.
    pub name: String,
    /// IANA time zone the days, hours and dates are read in, so that windows follow the team's
    /// wall clock through daylight saving changes; `UTC` when absent.
    #[serde(default = "utc", deserialize_with = "schedule::one")]
    pub timezone: Tz,
    /// Local week days with windows (`mon` … `sun`), for teams that do not work every day;
    /// every day when absent.
    #[serde(
        default = "every_day",
        deserialize_with = "schedule::list",
        serialize_with = "schedule::days_out"
    )]
    pub days: Vec<Weekday>,
    /// Local time ranges `HH:MM-HH:MM` (end exclusive, `24:00` ends the day, no crossing of
    /// midnight), so a lunch break or a night can be left out; the whole day when absent.
    #[serde(
        default = "whole_day",
        deserialize_with = "schedule::list",
        serialize_with = "schedule::hours_out"
    )]
    pub hours: Vec<HourRange>,
    /// Local dates `YYYY-MM-DD` without any window (holidays), which a week pattern cannot say.
    #[serde(default, deserialize_with = "schedule::list")]
    pub except: Vec<NaiveDate>,
}

fn utc() -> Tz {
    Tz::UTC
}

fn every_day() -> Vec<Weekday> {
    use Weekday::*;
    vec![Mon, Tue, Wed, Thu, Fri, Sat, Sun]
}

fn whole_day() -> Vec<HourRange> {
    vec![HourRange::whole_day()]
}

impl Config {
    /// The schedule with this name, if configured.
    pub fn schedule(&self, name: &str) -> Option<&ScheduleConfig> {
        self.schedules.iter().find(|s| s.name == name)
    }
}

/// The schedules' own rules, and every sink's `deliver_during` naming one of them.
pub(super) fn check(config: &Config, errors: &mut Vec<ConfigError>) {
    let mut names = HashSet::new();
    for (i, schedule) in config.schedules.iter().enumerate() {
        let key = format!("schedules[{i}]");
        let name = schedule.name.as_str();
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !name_ok {
            let reason = "must be non-empty and use only letters, digits, `-`, `_` and `.`";
            errors.push(ConfigError::new(format!("{key}.name"), reason));
        } else if !names.insert(name) {
            let reason = format!("`{name}` is used twice");
            errors.push(ConfigError::new(format!("{key}.name"), reason));
        }
        check_lists(schedule, &key, errors);
    }
    for (i, sink) in config.sinks.iter().enumerate() {
        match sink.deliver_during() {
            Some(name) if config.schedule(name).is_none() => {
                let reason = format!("`{name}` is not one of the configured [[schedules]] names");
                errors.push(ConfigError::new(
                    format!("sinks[{i}].deliver_during"),
                    reason,
                ));
            }
            _ => {}
        }
    }
}

/// Empty lists (a schedule that never opens would hold its sinks' entries for ever) and
/// overlapping hour ranges (most likely a typo in one of them).
fn check_lists(schedule: &ScheduleConfig, key: &str, errors: &mut Vec<ConfigError>) {
    let never = "an empty list never opens; remove the key to mean";
    if schedule.days.is_empty() {
        let reason = format!("{never} every day");
        errors.push(ConfigError::new(format!("{key}.days"), reason));
    }
    if schedule.hours.is_empty() {
        let reason = format!("{never} the whole day");
        errors.push(ConfigError::new(format!("{key}.hours"), reason));
    }
    for (j, range) in schedule.hours.iter().enumerate() {
        if let Some(k) = schedule.hours[..j].iter().position(|r| r.overlaps(range)) {
            let reason = format!("overlaps `{}` (hours[{k}])", schedule.hours[k]);
            errors.push(ConfigError::new(format!("{key}.hours[{j}]"), reason));
        }
    }
}
