//! When the next step is due, and which configurations make a reminder.

use super::*;

#[test]
fn next_due_is_exact_without_a_clock_and_an_earliest_bound_with_one() {
    let state = ReminderState {
        since: t(0),
        sent: 1,
    };
    let next = next_due(&unread_inbox(), &state);
    assert_eq!(
        next,
        Some(NextDue {
            step: 2,
            earliest: t(60),
            exact: true
        })
    );
    let mut clocked = config("clocked", &[15, 60]);
    clocked.clock = Some("support-hours".into());
    let clocked = Reminder::try_from(&clocked).unwrap();
    assert_eq!(next_due(&clocked, &state).map(|n| n.exact), Some(false));
    assert_eq!(
        next_due(
            &clocked,
            &ReminderState {
                since: t(0),
                sent: 2
            }
        ),
        None
    );
}

#[test]
fn next_due_of_an_enormous_after_saturates_instead_of_overflowing() {
    let mut huge = config("huge", &[1]);
    huge.steps[0].after = Duration::from_secs(u64::MAX);
    let reminder = Reminder::try_from(&huge).unwrap();
    let next = next_due(
        &reminder,
        &ReminderState {
            since: t(0),
            sent: 0,
        },
    );
    assert_eq!(next.map(|n| n.earliest), Some(DateTime::<Utc>::MAX_UTC));
}

#[test]
fn a_reminder_needs_steps_and_strictly_increasing_afters() {
    let none = config("none", &[]);
    assert_eq!(
        Reminder::try_from(&none),
        Err(ReminderError::NoSteps("none".into()))
    );
    let flat = config("flat", &[15, 60, 60]);
    assert_eq!(
        Reminder::try_from(&flat),
        Err(ReminderError::NotIncreasing("flat".into(), 2))
    );
    let reminder = unread_inbox();
    assert_eq!(reminder.step_count(), 3);
    assert_eq!(reminder.step(1).map(|s| s.after), Some(mins(15)));
    assert_eq!(reminder.step(0), None);
    assert_eq!(reminder.step(4), None);
}
