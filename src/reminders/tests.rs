//! The clock rules one case at a time; `props.rs` checks them over random sequences of polls.

use super::*;
use crate::config::StateFilter;
use crate::config::StepConfig;
use chrono::TimeZone;
use serde_json::json;

mod event;
mod next;
mod props;

pub(super) fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 29, 16, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
}

pub(super) fn mins(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

pub(super) fn config(name: &str, steps: &[u64]) -> ReminderConfig {
    ReminderConfig {
        name: name.into(),
        when: StateFilter {
            folder: Some(vec!["inbox".into()]),
            is_read: Some(false),
            orgs: None,
        },
        steps: steps
            .iter()
            .map(|m| StepConfig {
                after: mins(*m),
                sinks: vec!["slack".into()],
            })
            .collect(),
        clock: None,
    }
}

/// "unread-inbox": steps at 15m, 1h and 4h.
pub(super) fn unread_inbox() -> Reminder {
    Reminder::try_from(&config("unread-inbox", &[15, 60, 240])).unwrap()
}

pub(super) fn conversation(folder: &str, is_read: bool, activity: Option<&str>) -> Conversation {
    let mut value = json!({"conversation_id": "c1", "folder": folder, "is_read": is_read});
    if let Some(activity) = activity {
        value["last_activity_at"] = json!(activity);
    }
    Conversation::from_value(value).unwrap()
}

fn seen(conversation: Option<&Conversation>, at: DateTime<Utc>, first: bool) -> Seen<'_> {
    Seen {
        org_id: "org-1",
        conversation,
        detected_at: at,
        first_sight: first,
    }
}

fn run(previous: Option<&ReminderState>, c: Option<&Conversation>, at: i64) -> Evaluation {
    evaluate(&unread_inbox(), previous, &seen(c, t(at), false), &wall_age)
}

pub(super) fn steps(evaluation: &Evaluation) -> Vec<u32> {
    evaluation.due.iter().map(|d| d.step).collect()
}

#[test]
fn entering_the_state_starts_the_clock_at_the_last_activity() {
    let unread = conversation("inbox", false, Some("2026-04-29T15:50:00Z"));
    let out = run(None, Some(&unread), 0);
    assert_eq!(out.state.map(|s| s.since), Some(t(-10)));
    assert_eq!(out.state.map(|s| s.sent), Some(0));
    assert!(out.due.is_empty());
}

#[test]
fn a_last_activity_later_than_the_detection_or_missing_or_garbled_starts_at_the_detection() {
    for activity in [Some("2026-04-29T16:30:00Z"), None, Some("yesterday")] {
        let unread = conversation("inbox", false, activity);
        let out = run(None, Some(&unread), 0);
        assert_eq!(out.state.map(|s| s.since), Some(t(0)), "{activity:?}");
    }
}

#[test]
fn since_is_rounded_down_to_whole_seconds_and_never_later_than_the_detection() {
    let unread = conversation("inbox", false, Some("2026-04-29T15:59:59.900Z"));
    let at = t(0) + chrono::Duration::milliseconds(250);
    let since = since_for(&unread, at);
    assert_eq!(since, t(0) - chrono::Duration::seconds(1));
    let none = conversation("inbox", false, None);
    assert_eq!(since_for(&none, at), t(0));
}

#[test]
fn new_activity_while_still_in_the_state_does_not_restart_the_clock() {
    let first = conversation("inbox", false, Some("2026-04-29T16:00:00Z"));
    let state = run(None, Some(&first), 0).state.unwrap();
    let newer = conversation("inbox", false, Some("2026-04-29T16:10:00Z"));
    let out = run(Some(&state), Some(&newer), 16);
    assert_eq!(out.state.map(|s| s.since), Some(t(0)));
    assert_eq!(steps(&out), [1]);
}

#[test]
fn reading_moving_or_removing_the_conversation_ends_the_state() {
    let unread = conversation("inbox", false, None);
    let state = run(None, Some(&unread), 0).state.unwrap();
    let read = conversation("inbox", true, None);
    let moved = conversation("archived", false, None);
    for now in [Some(&read), Some(&moved), None] {
        let out = run(Some(&state), now, 300);
        assert_eq!(
            out,
            Evaluation {
                state: None,
                due: vec![]
            }
        );
    }
}

#[test]
fn a_step_is_due_when_the_age_reaches_its_after_and_not_a_second_before() {
    let unread = conversation("inbox", false, None);
    let state = run(None, Some(&unread), 0).state.unwrap();
    let early = evaluate(
        &unread_inbox(),
        Some(&state),
        &seen(Some(&unread), t(15) - chrono::Duration::seconds(1), false),
        &wall_age,
    );
    assert!(early.due.is_empty());
    assert_eq!(early.state, Some(state));
    let on_time = run(Some(&state), Some(&unread), 15);
    assert_eq!(
        on_time.due,
        [DueStep {
            step: 1,
            after: mins(15),
            age: mins(15)
        }]
    );
    assert_eq!(on_time.state.map(|s| s.sent), Some(1));
    let again = run(on_time.state.as_ref(), Some(&unread), 16);
    assert!(again.due.is_empty(), "each step once per clock");
}

#[test]
fn steps_missed_by_a_long_gap_between_polls_are_all_sent_in_order() {
    let unread = conversation("inbox", false, None);
    let state = run(None, Some(&unread), 0).state.unwrap();
    let out = run(Some(&state), Some(&unread), 300);
    assert_eq!(steps(&out), [1, 2, 3]);
    assert_eq!(out.state.map(|s| s.sent), Some(3));
}

#[test]
fn first_sight_passes_over_overdue_steps_and_sends_the_later_ones() {
    let reminder = unread_inbox();
    let old = conversation("inbox", false, Some("2026-04-29T14:30:00Z"));
    let first = evaluate(&reminder, None, &seen(Some(&old), t(0), true), &wall_age);
    assert!(
        first.due.is_empty(),
        "15m and 1h were overdue at first sight"
    );
    assert_eq!(first.state.map(|s| (s.since, s.sent)), Some((t(-90), 2)));
    let later = evaluate(
        &reminder,
        first.state.as_ref(),
        &seen(Some(&old), t(150), false),
        &wall_age,
    );
    assert_eq!(steps(&later), [3]);
}

#[test]
fn first_sight_of_a_conversation_that_already_has_state_sends_what_is_due() {
    let unread = conversation("inbox", false, None);
    let state = ReminderState {
        since: t(0),
        sent: 0,
    };
    let out = evaluate(
        &unread_inbox(),
        Some(&state),
        &seen(Some(&unread), t(20), true),
        &wall_age,
    );
    assert_eq!(steps(&out), [1]);
}

#[test]
fn the_age_function_decides_when_a_step_is_due() {
    // A clock that counts half of the wall-clock time (a schedule open half the day).
    let half = |since, now| wall_age(since, now) / 2;
    let reminder = unread_inbox();
    let unread = conversation("inbox", false, None);
    let state = ReminderState {
        since: t(0),
        sent: 0,
    };
    let at_20 = evaluate(
        &reminder,
        Some(&state),
        &seen(Some(&unread), t(20), false),
        &half,
    );
    assert!(at_20.due.is_empty());
    let at_30 = evaluate(
        &reminder,
        Some(&state),
        &seen(Some(&unread), t(30), false),
        &half,
    );
    assert_eq!(
        at_30.due,
        [DueStep {
            step: 1,
            after: mins(15),
            age: mins(15)
        }]
    );
}

#[test]
fn when_orgs_limits_the_state_to_those_orgs() {
    let mut config = config("acme", &[15]);
    config.when = StateFilter {
        orgs: Some(vec!["org-2".into()]),
        ..StateFilter::default()
    };
    let reminder = Reminder::try_from(&config).unwrap();
    let any = conversation("archived", true, None);
    assert!(!reminder.matches("org-1", &any));
    assert!(reminder.matches("org-2", &any));
    let unknown = Conversation::from_value(json!({"conversation_id": "c2"})).unwrap();
    assert!(
        !unread_inbox().matches("org-1", &unknown),
        "a missing folder matches no list"
    );
}

#[test]
fn a_state_with_more_steps_done_than_the_reminder_has_sends_nothing() {
    let unread = conversation("inbox", false, None);
    let state = ReminderState {
        since: t(0),
        sent: u32::MAX,
    };
    let out = run(Some(&state), Some(&unread), 10_000);
    assert!(out.due.is_empty());
    assert_eq!(out.state, Some(state));
    assert_eq!(next_due(&unread_inbox(), &state), None);
}

#[test]
fn the_state_round_trips_through_json_as_stored() {
    let state = ReminderState {
        since: t(-10),
        sent: 2,
    };
    let text = serde_json::to_string(&state).unwrap();
    assert_eq!(text, r#"{"since":"2026-04-29T15:50:00Z","sent":2}"#);
    assert_eq!(serde_json::from_str::<ReminderState>(&text).unwrap(), state);
}
