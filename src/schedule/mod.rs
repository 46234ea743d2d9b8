//! Delivery windows: a schedule (time zone, week days, local hour ranges, holidays) and an
//! instant → open or not, the next opening, the next closing, and how much of a span is open.
//!
//! The core is pure: every function is told the instant it is asked about and nothing here
//! reads the clock, so callers (the dispatcher, reminder clocks, `status`) and tests inject time.
//!
//! Windows follow local time, daylight saving included. A day's range becomes one interval of
//! UTC instants: it **opens the first time the local clock shows its start and closes the last
//! time the local clock shows its end**. So:
//! * a start or end the clock skips (spring-forward gap, 02:30 in Berlin on 2026-03-29) moves to
//!   the first instant after the gap (03:00 CEST): a window holding the skipped hour is one hour
//!   shorter, one inside the gap (02:00-03:00 that day) does not open at all;
//! * in the repeated hour (fall-back, 2026-10-25) a start takes the earlier instant and an end
//!   the later one: a window holding the repeated hour is one hour longer, never cut short.
//!
//! Windows that touch or overlap (`…-24:00` then `00:00-…` the next day) are one window.

mod parse;
#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

pub use parse::HourRange;
pub(crate) use parse::{days_out, hours_out, list, one};

use crate::config::ScheduleConfig;
use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono::{Datelike, TimeDelta, Weekday};
use chrono_tz::Tz;
use std::collections::BTreeSet;
use std::iter::Peekable;
use std::time::Duration;

/// How many days ahead [`Schedule::next_opening`] and [`Schedule::next_closing`] look: more
/// than a year, so that a yearly holiday list cannot hide the next opening.
pub const HORIZON_DAYS: u64 = 400;

/// One window as UTC instants, `[open, close)`.
type Window = (DateTime<Utc>, DateTime<Utc>);

/// When a sink may deliver (or a reminder clock runs): built from a validated `[[schedules]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    timezone: Tz,
    /// Indexed by `Weekday::num_days_from_monday`.
    days: [bool; 7],
    /// Sorted, and merged where they touch, so each day's windows come out in order.
    hours: Vec<HourRange>,
    except: BTreeSet<NaiveDate>,
}

impl Schedule {
    /// A schedule open on `days` (local week days), during `hours` (local time of day), except on
    /// the local dates `except`. Empty `days` or `hours` give a schedule that never opens.
    pub fn new(timezone: Tz, days: &[Weekday], hours: &[HourRange], except: &[NaiveDate]) -> Self {
        let mut open_days = [false; 7];
        for day in days {
            open_days[day.num_days_from_monday() as usize] = true;
        }
        Schedule {
            timezone,
            days: open_days,
            hours: merge_ranges(hours),
            except: except.iter().copied().collect(),
        }
    }

    /// The schedule a `[[schedules]]` entry describes.
    pub fn from_config(config: &ScheduleConfig) -> Self {
        Schedule::new(config.timezone, &config.days, &config.hours, &config.except)
    }

    /// Whether `at` lies inside a window.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.window_ending_after(at, 1)
            .is_some_and(|(open, _)| open <= at)
    }

    /// The first instant at or after `at` that is inside a window: `at` itself when open now.
    /// `None` when no window opens within [`HORIZON_DAYS`] (no days, every day excepted).
    pub fn next_opening(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.window_ending_after(at, HORIZON_DAYS)
            .map(|(open, _)| open.max(at))
    }

    /// When the window open at `at` closes. `None` when closed at `at`, or when the window is
    /// still open [`HORIZON_DAYS`] ahead (it never closes, as a 24/7 schedule).
    pub fn next_closing(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let (open, close) = self.window_ending_after(at, HORIZON_DAYS)?;
        if open > at {
            return None;
        }
        let last_day = self
            .local_date(at)
            .checked_add_days(Days::new(HORIZON_DAYS))?;
        let horizon = self.opening_instant(last_day, 0)?;
        (close < horizon).then_some(close)
    }

    /// How much of `[from, to)` lies inside windows (zero when `to ≤ from`). It walks windows,
    /// not minutes, so spans of weeks cost a few steps per day.
    pub fn open_time_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::ZERO;
        }
        let first = self.local_date(from);
        let first = first.checked_sub_days(Days::new(1)).unwrap_or(first);
        let last = self.local_date(to);
        let last = last.checked_add_days(Days::new(1)).unwrap_or(last);
        self.windows(first, last)
            .take_while(|(open, _)| *open < to)
            .filter_map(|(open, close)| (close.min(to) - open.max(from)).to_std().ok())
            .sum()
    }

    /// The first window that ends after `at`, looking `days_ahead` local days past `at`'s date.
    fn window_ending_after(&self, at: DateTime<Utc>, days_ahead: u64) -> Option<Window> {
        let today = self.local_date(at);
        // The day before: its last window may run past midnight into a repeated hour.
        let first = today.checked_sub_days(Days::new(1)).unwrap_or(today);
        let last = today
            .checked_add_days(Days::new(days_ahead))
            .unwrap_or(NaiveDate::MAX);
        self.windows(first, last).find(|(_, close)| *close > at)
    }

    /// Every window of the local dates `first..=last`, in order, touching ones merged.
    fn windows(
        &self,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Merged<impl Iterator<Item = Window> + '_> {
        let days = first.iter_days().take_while(move |day| *day <= last);
        let windows = days.flat_map(move |day| self.windows_on(day));
        Merged(windows.peekable())
    }

    /// The windows of one local date; none on a closed week day or an excepted date.
    fn windows_on(&self, date: NaiveDate) -> impl Iterator<Item = Window> + '_ {
        let open = self.days[date.weekday().num_days_from_monday() as usize]
            && !self.except.contains(&date);
        let hours = if open { &self.hours[..] } else { &[] };
        hours.iter().filter_map(move |range| {
            let open = self.opening_instant(date, range.start())?;
            let close = self.closing_instant(date, range.end())?;
            // A range wholly inside a spring-forward gap opens and closes at the same instant.
            (open < close).then_some((open, close))
        })
    }

    /// The first instant the local clock shows `seconds` after midnight of `date`.
    fn opening_instant(&self, date: NaiveDate, seconds: u32) -> Option<DateTime<Utc>> {
        let local = local_time(date, seconds)?;
        match self.timezone.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.to_utc()),
            LocalResult::None => self.after_gap(local),
        }
    }

    /// The last instant the local clock shows `seconds` after midnight of `date`.
    fn closing_instant(&self, date: NaiveDate, seconds: u32) -> Option<DateTime<Utc>> {
        let local = local_time(date, seconds)?;
        match self.timezone.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(_, t) => Some(t.to_utc()),
            LocalResult::None => self.after_gap(local),
        }
    }

    /// The first instant after a gap that skips the local time `local`: the instant of the
    /// change. chrono-tz does not expose its transitions, so it is found by bisection between
    /// the instants `local` would be under the offsets before and after the change.
    fn after_gap(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        let naive = local.and_utc();
        let offset_at = |t: DateTime<Utc>| {
            let offset = self.timezone.offset_from_utc_datetime(&t.naive_utc());
            i64::from(offset.fix().local_minus_utc())
        };
        let before = offset_at(naive.checked_sub_signed(TimeDelta::days(1))?);
        let after = offset_at(naive.checked_add_signed(TimeDelta::days(1))?);
        let shows_at_least = |seconds: i64| {
            DateTime::from_timestamp(seconds, 0)
                .is_some_and(|t| t.with_timezone(&self.timezone).naive_local() >= local)
        };
        // The clock shows less than `local` at `low` and at least `local` at `high`.
        let (mut low, mut high) = (naive.timestamp() - after, naive.timestamp() - before);
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            if shows_at_least(middle) {
                high = middle;
            } else {
                low = middle;
            }
        }
        DateTime::from_timestamp(high, 0)
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }
}

/// `seconds` after midnight of `date` as a local time; 86400 is midnight of the next day.
fn local_time(date: NaiveDate, seconds: u32) -> Option<NaiveDateTime> {
    let (date, seconds) = if seconds >= parse::DAY_SECONDS {
        (date.succ_opt()?, seconds - parse::DAY_SECONDS)
    } else {
        (date, seconds)
    };
    date.and_hms_opt(seconds / 3600, seconds % 3600 / 60, seconds % 60)
}

/// Sorts ranges and joins those that touch or overlap (validation refuses overlaps as likely
/// mistakes, but the core stays correct without it).
fn merge_ranges(ranges: &[HourRange]) -> Vec<HourRange> {
    let mut sorted = ranges.to_vec();
    sorted.sort();
    let mut merged: Vec<HourRange> = Vec::with_capacity(sorted.len());
    for range in sorted {
        match merged.last_mut() {
            Some(last) if range.start() <= last.end() => {
                let end = last.end().max(range.end());
                *last = HourRange::new(last.start(), end).unwrap_or(*last);
            }
            _ => merged.push(range),
        }
    }
    merged
}

/// Windows in order of opening, those that touch or overlap joined into one.
struct Merged<I: Iterator<Item = Window>>(Peekable<I>);

impl<I: Iterator<Item = Window>> Iterator for Merged<I> {
    type Item = Window;

    fn next(&mut self) -> Option<Window> {
        let (open, mut close) = self.0.next()?;
        while let Some((_, next_close)) = self.0.next_if(|(next_open, _)| *next_open <= close) {
            close = close.max(next_close);
        }
        Some((open, close))
    }
}
