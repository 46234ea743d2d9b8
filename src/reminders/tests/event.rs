//! The `conversation.reminder` event: its shape, its id, and that other events did not change.

use super::*;
use crate::diff::DiffContext;
use proptest::prelude::*;

fn ctx(at: DateTime<Utc>) -> DiffContext<'static> {
    DiffContext {
        org_id: "org-1",
        org_name: "Acme Support",
        emit: true,
        detected_at: at,
    }
}

fn step_two() -> (ReminderState, DueStep) {
    let state = ReminderState {
        since: t(0),
        sent: 2,
    };
    let due = DueStep {
        step: 2,
        after: mins(60),
        age: Duration::from_secs(3725),
    };
    (state, due)
}

#[test]
fn the_reminder_event_has_the_shape_the_spec_shows() {
    let unread = conversation("inbox", false, Some("2026-04-29T16:00:00Z"));
    let (state, due) = step_two();
    let at = t(62) + chrono::Duration::seconds(5);
    let event = reminder_event(&ctx(at), &unread_inbox(), &state, &due, &unread);
    let body = serde_json::to_value(&event).unwrap();
    assert_eq!(body["type"], "conversation.reminder");
    assert_eq!(body["timestamp"], "2026-04-29T17:02:05Z");
    assert_eq!(body["data"]["org_id"], "org-1");
    assert_eq!(body["data"]["org_name"], "Acme Support");
    assert_eq!(body["data"]["changes"], json!([]));
    assert_eq!(
        body["data"]["conversation"],
        serde_json::to_value(&unread).unwrap()
    );
    let reminder = serde_json::to_string(&body["data"]["reminder"]).unwrap();
    assert_eq!(
        reminder,
        r#"{"name":"unread-inbox","step":2,"steps":3,"after":"1h","since":"2026-04-29T16:00:00Z","age_seconds":3725}"#
    );
    let id = reminder_event_id("org-1", "c1", "unread-inbox", 2, t(0));
    assert_eq!(event.id, id);
    assert!(id.starts_with("evt_") && id.len() == 36, "{id}");
    assert!(id[4..].chars().all(|c| c.is_ascii_hexdigit()));
    let back: crate::event::Event = serde_json::from_value(body).unwrap();
    assert_eq!(back, event, "it round-trips through the outbox");
}

#[test]
fn change_events_serialise_exactly_as_before_and_old_bodies_still_read() {
    let unread = conversation("inbox", false, None);
    let changes = crate::diff::diff_page(&ctx(t(0)), std::slice::from_ref(&unread), &[None]);
    let event = &changes.events[0];
    let text = serde_json::to_string(event).unwrap();
    let body = r#"{"type":"conversation.created","timestamp":"2026-04-29T16:00:00Z","data":{"org_id":"org-1","org_name":"Acme Support","changes":[],"previous":{},"conversation":{"conversation_id":"c1","folder":"inbox","is_read":false}}}"#;
    assert_eq!(text, format!(r#"{{"id":"{}",{}"#, event.id, &body[1..]));
    let back: crate::event::Event = serde_json::from_str(&text).unwrap();
    assert_eq!(back.data.reminder, None);
    assert_eq!(&back, event);
}

#[test]
fn a_reminder_event_reads_as_which_step_of_which_reminder() {
    let unread = conversation("inbox", false, None);
    let (state, due) = step_two();
    let event = reminder_event(&ctx(t(62)), &unread_inbox(), &state, &due, &unread);
    assert_eq!(
        crate::render::describe(&event),
        "Still unread after 1h: step 2 of 3 (unread-inbox)"
    );
    let read = conversation("billing", true, None);
    let event = reminder_event(&ctx(t(62)), &unread_inbox(), &state, &due, &read);
    assert_eq!(
        crate::render::describe(&event),
        "Still in billing after 1h: step 2 of 3 (unread-inbox)",
        "a rule on folders alone speaks of the folder"
    );
}

proptest! {
    #[test]
    fn the_id_depends_on_org_conversation_reminder_step_and_since_and_nothing_else(
        step in 1u32..10,
        since_seconds in 0i64..1_000_000,
        other_seconds in 1i64..1_000_000,
        age in 0u64..100_000,
    ) {
        let since = t(0) + chrono::Duration::seconds(since_seconds);
        let id = reminder_event_id("org-1", "c1", "unread-inbox", step, since);
        prop_assert_eq!(&id, &reminder_event_id("org-1", "c1", "unread-inbox", step, since));
        let later = since + chrono::Duration::seconds(other_seconds);
        prop_assert_ne!(&id, &reminder_event_id("org-1", "c1", "unread-inbox", step, later));
        prop_assert_ne!(&id, &reminder_event_id("org-1", "c1", "unread-inbox", step + 1, since));
        prop_assert_ne!(&id, &reminder_event_id("org-1", "c1", "other", step, since));
        prop_assert_ne!(&id, &reminder_event_id("org-1", "c2", "unread-inbox", step, since));
        prop_assert_ne!(&id, &reminder_event_id("org-2", "c1", "unread-inbox", step, since));
        // Detected later, with another age and snapshot: a re-send after a crash, same id.
        let state = ReminderState { since, sent: step };
        let due = DueStep { step, after: mins(1), age: Duration::from_secs(age) };
        let read_later = conversation("inbox", false, Some("2026-04-29T18:00:00Z"));
        let event = reminder_event(&ctx(later), &unread_inbox(), &state, &due, &read_later);
        prop_assert_eq!(event.id, id);
    }
}
