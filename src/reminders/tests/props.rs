//! The clock rules over random sequences of polls: the conversation appears, changes activity,
//! flips read and unread, moves, disappears, with random gaps between polls, on the wall clock
//! and on a clock that counts only part of the time.

use super::*;
use crate::config::StateFilter;
use proptest::prelude::*;

/// One poll: how long after the previous one, and what it saw.
#[derive(Debug, Clone)]
struct Poll {
    gap_seconds: i64,
    /// `None`: gone from the listing.
    snapshot: Option<(Option<&'static str>, Option<bool>, Option<i64>)>,
}

fn poll() -> impl Strategy<Value = Poll> {
    let folder = prop::sample::select(vec![Some("inbox"), Some("archived"), None]);
    let read = prop::sample::select(vec![Some(false), Some(false), Some(true), None]);
    // Last activity relative to the detection, in seconds: mostly past, sometimes future.
    let activity = prop::option::of(-20_000i64..600);
    let snapshot = prop::option::weighted(0.9, (folder, read, activity));
    (0i64..7_200, snapshot).prop_map(|(gap_seconds, snapshot)| Poll {
        gap_seconds,
        snapshot,
    })
}

fn snapshot_at(
    snapshot: (Option<&str>, Option<bool>, Option<i64>),
    now: DateTime<Utc>,
) -> Conversation {
    let (folder, read, activity) = snapshot;
    let mut value = json!({"conversation_id": "c1", "folder": folder, "is_read": read});
    if let Some(offset) = activity {
        let at = now + chrono::Duration::seconds(offset);
        value["last_activity_at"] = json!(at.to_rfc3339());
    }
    Conversation::from_value(value).unwrap()
}

/// The age functions under test: the wall clock, and one that counts a third of the time.
fn age_of(clocked: bool) -> impl Fn(DateTime<Utc>, DateTime<Utc>) -> Duration {
    move |since, now| {
        let wall = wall_age(since, now);
        if clocked {
            wall / 3
        } else {
            wall
        }
    }
}

/// What a sequence of polls reported, clock by clock.
#[derive(Debug, Default)]
struct Clock {
    since: Option<DateTime<Utc>>,
    steps: Vec<u32>,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_poll_sequence_reports_each_reached_step_once_in_order_and_never_early(
        polls in prop::collection::vec(poll(), 1..40),
        first_sight in any::<bool>(),
        clocked in any::<bool>(),
    ) {
        let reminder = unread_inbox();
        let age = age_of(clocked);
        let mut state: Option<ReminderState> = None;
        let mut now = t(0);
        let mut clocks: Vec<Clock> = Vec::new();
        for (i, poll) in polls.iter().enumerate() {
            now += chrono::Duration::seconds(poll.gap_seconds);
            let conversation = poll.snapshot.map(|s| snapshot_at(s, now));
            let seen = Seen {
                org_id: "org-1",
                conversation: conversation.as_ref(),
                detected_at: now,
                first_sight: first_sight && i == 0,
            };
            let out = evaluate(&reminder, state.as_ref(), &seen, &age);
            let in_state = conversation.as_ref().is_some_and(|c| reminder.matches("org-1", c));
            prop_assert_eq!(out.state.is_some(), in_state);
            let Some(new) = out.state else {
                prop_assert!(out.due.is_empty());
                state = None;
                continue;
            };
            match state {
                // Changes that keep it in the state keep the clock.
                Some(old) => prop_assert_eq!(new.since, old.since),
                // Entering (again) starts a clock from this snapshot, with nothing done.
                None => {
                    let fresh = since_for(conversation.as_ref().unwrap(), now);
                    prop_assert_eq!(new.since, fresh);
                    prop_assert!(new.since <= now);
                    clocks.push(Clock { since: Some(new.since), steps: Vec::new() });
                }
            }
            let elapsed = age(new.since, now);
            let clock = clocks.last_mut().unwrap();
            for due in &out.due {
                let step = reminder.step(due.step).unwrap();
                prop_assert!(elapsed >= step.after, "never before its after");
                prop_assert_eq!(due.age, elapsed);
                prop_assert!(clock.steps.last().is_none_or(|last| *last < due.step), "in order, once");
                clock.steps.push(due.step);
            }
            // Never skipped: every step whose after is reached is done (sent or passed over).
            let reached = reminder.steps().iter().filter(|s| s.after <= elapsed).count();
            prop_assert_eq!(usize::try_from(new.sent).unwrap(), reached);
            if first_sight && i == 0 {
                prop_assert!(out.due.is_empty(), "first sight sends nothing overdue");
            }
            state = Some(new);
        }
        for clock in &clocks {
            prop_assert!(clock.since.is_some());
            prop_assert!(clock.steps.windows(2).all(|w| w[1] == w[0] + 1), "consecutive");
        }
    }

    #[test]
    fn first_sight_passes_over_what_is_overdue_and_sends_each_later_step_once_reached(
        overdue_minutes in 0u64..400,
        later_minutes in 0u64..400,
    ) {
        let reminder = unread_inbox();
        let since = t(0) - chrono::Duration::minutes(i64::try_from(overdue_minutes).unwrap());
        let activity = since.to_rfc3339();
        let unread = conversation("inbox", false, Some(&activity));
        let seen_at = |at: DateTime<Utc>, first| Seen {
            org_id: "org-1", conversation: Some(&unread), detected_at: at, first_sight: first,
        };
        let first = evaluate(&reminder, None, &seen_at(t(0), true), &wall_age);
        prop_assert!(first.due.is_empty());
        let later_at = t(0) + chrono::Duration::minutes(i64::try_from(later_minutes).unwrap());
        let later = evaluate(&reminder, first.state.as_ref(), &seen_at(later_at, false), &wall_age);
        let expected: Vec<u32> = reminder.steps().iter().zip(1u32..)
            .filter(|(s, _)| s.after > mins(overdue_minutes)
                && s.after <= mins(overdue_minutes + later_minutes))
            .map(|(_, n)| n)
            .collect();
        prop_assert_eq!(steps(&later), expected);
    }

    #[test]
    fn the_state_fields_match_exactly_as_a_sink_filter_does(
        folder in prop::option::of(prop::sample::subsequence(vec!["inbox", "archived", "spam"], 0..3)),
        is_read in prop::option::of(any::<bool>()),
        orgs in prop::option::of(prop::sample::subsequence(vec!["org-1", "org-2"], 0..2)),
        conv_folder in prop::sample::select(vec![Some("inbox"), Some("spam"), None]),
        conv_read in prop::option::of(any::<bool>()),
        org in prop::sample::select(vec!["org-1", "org-2"]),
    ) {
        let when = StateFilter {
            folder: folder.map(|f| f.into_iter().map(String::from).collect()),
            is_read,
            orgs: orgs.map(|o| o.into_iter().map(String::from).collect()),
        };
        let mut config = config("x", &[1]);
        config.when = when.clone();
        let reminder = Reminder::try_from(&config).unwrap();
        let c = Conversation::from_value(
            json!({"conversation_id": "c1", "folder": conv_folder, "is_read": conv_read}),
        ).unwrap();
        let event = crate::event::Event {
            id: "evt_x".into(),
            kind: crate::event::EventType::Created,
            timestamp: t(0),
            data: crate::event::EventData {
                org_id: org.into(),
                org_name: org.into(),
                changes: vec![],
                previous: serde_json::Map::new(),
                reminder: None,
                conversation: c.clone(),
            },
            notice: None,
        };
        prop_assert_eq!(reminder.matches(org, &c), when.to_filter().matches(&event));
    }
}
