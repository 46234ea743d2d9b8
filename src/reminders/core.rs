//! The rules of a reminder's clock: when it starts, which steps are due, when the next one is.
//!
//! Pure functions of their inputs; the time that counts comes in as `age(since, now)`, which is
//! [`wall_age`] without a `clock`, or the open time of the clock's schedule between the two.

use super::{Reminder, ReminderState};
use crate::event::{Conversation, Field};
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use serde_json::Value;
use std::time::Duration;

/// What one poll saw of one conversation, for one org.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    /// The org id (for `when.orgs`).
    pub org_id: &'a str,
    /// The snapshot; `None` when a complete listing no longer has it (removed).
    pub conversation: Option<&'a Conversation>,
    /// When the poll saw it: "now" for every rule here.
    pub detected_at: DateTime<Utc>,
    /// True on the baseline first sight of the org (`initial = "baseline"`): steps already
    /// overdue when a conversation is first seen in the state are passed over, not sent.
    pub first_sight: bool,
}

/// A step due now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueStep {
    /// 1-based, as `data.reminder.step` shows it.
    pub step: u32,
    /// The step's `after`.
    pub after: Duration,
    /// The age of the clock at detection (≥ `after`).
    pub age: Duration,
}

/// The outcome of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The state to store; `None`: not in the state (it left, or never entered), so delete it.
    pub state: Option<ReminderState>,
    /// The steps to send now, in order; each at most once per clock.
    pub due: Vec<DueStep>,
}

/// When the next step of a clock is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextDue {
    /// 1-based step number.
    pub step: u32,
    /// `since + after`: the exact due time on the wall clock; with a `clock` only an earliest
    /// bound, since a schedule's open time never runs faster than the wall clock (it is due at
    /// this time at the earliest, and later by the time the schedule is closed in between).
    pub earliest: DateTime<Utc>,
    /// Whether `earliest` is the due time itself (no `clock`).
    pub exact: bool,
}

/// `now − since` on the wall clock; zero when `since` is later (a clock that went back).
pub fn wall_age(since: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - since).to_std().unwrap_or(Duration::ZERO)
}

/// Where a clock entering at `detected_at` starts: the snapshot's `last_activity_at` when present
/// (and parseable) and not later than the detection, else the detection time. Whole seconds
/// (rounded down, so never later than the detection): events show `since` in whole seconds, and
/// the id hashes exactly what they show.
pub fn since_for(conversation: &Conversation, detected_at: DateTime<Utc>) -> DateTime<Utc> {
    let activity = conversation
        .field(Field::LastActivityAt)
        .and_then(Value::as_str)
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| *t <= detected_at);
    activity.unwrap_or(detected_at).trunc_subsecs(0)
}

/// One reminder over one conversation at one poll. In the state with no previous state: the
/// clock starts ([`since_for`]); still in it: the clock runs on untouched (new activity does not
/// restart it); out of it or removed: the state ends. Steps whose `after` the age has reached are
/// due, in order and each once (`sent` counts them); on a baseline first sight the ones already
/// overdue on entering are counted as done without being sent.
pub fn evaluate(
    reminder: &Reminder,
    previous: Option<&ReminderState>,
    seen: &Seen<'_>,
    age: &dyn Fn(DateTime<Utc>, DateTime<Utc>) -> Duration,
) -> Evaluation {
    let in_state = seen
        .conversation
        .filter(|c| reminder.matches(seen.org_id, c));
    let Some(conversation) = in_state else {
        return Evaluation {
            state: None,
            due: Vec::new(),
        };
    };
    let entering = previous.is_none();
    let mut state = previous.copied().unwrap_or(ReminderState {
        since: since_for(conversation, seen.detected_at),
        sent: 0,
    });
    let elapsed = age(state.since, seen.detected_at);
    let due = due_steps(reminder, state.sent, elapsed);
    state.sent = state
        .sent
        .saturating_add(u32::try_from(due.len()).unwrap_or(u32::MAX));
    let silent = entering && seen.first_sight;
    Evaluation {
        state: Some(state),
        due: if silent { Vec::new() } else { due },
    }
}

/// The steps after the first `sent` whose `after` `elapsed` has reached, stopping at the first
/// that it has not (so they come in order even if the steps were not increasing).
fn due_steps(reminder: &Reminder, sent: u32, elapsed: Duration) -> Vec<DueStep> {
    let skip = usize::try_from(sent).unwrap_or(usize::MAX);
    reminder
        .steps()
        .iter()
        .enumerate()
        .skip(skip)
        .take_while(|(_, step)| step.after <= elapsed)
        .map(|(i, step)| DueStep {
            step: u32::try_from(i + 1).unwrap_or(u32::MAX),
            after: step.after,
            age: elapsed,
        })
        .collect()
}

/// The next step of `state` and when it is due; `None` when every step is done. See
/// [`NextDue::earliest`] for what the time means with a `clock`.
pub fn next_due(reminder: &Reminder, state: &ReminderState) -> Option<NextDue> {
    let step = state.sent.checked_add(1)?;
    let after = reminder.step(step)?.after;
    let earliest = TimeDelta::from_std(after)
        .ok()
        .and_then(|after| state.since.checked_add_signed(after))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    Some(NextDue {
        step,
        earliest,
        exact: reminder.clock().is_none(),
    })
}
