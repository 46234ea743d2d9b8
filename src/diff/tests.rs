use super::*;
use crate::event::EventType;
use proptest::prelude::*;
use serde_json::{json, Value};

fn conv(id: &str, last: Option<&str>, read: Option<bool>, folder: Option<&str>) -> Conversation {
    Conversation::from_value(json!({
        "conversation_id": id, "start_at": "2026-04-29T14:00:00Z",
        "last_activity_at": last, "is_read": read, "folder": folder, "contact_id": "k1"
    }))
    .unwrap()
}

fn ctx(emit: bool) -> DiffContext<'static> {
    let detected_at = DateTime::parse_from_rfc3339("2026-04-29T16:00:05Z")
        .unwrap()
        .to_utc();
    DiffContext {
        org_id: "org1",
        org_name: "Acme Support",
        emit,
        detected_at,
    }
}

fn stored(conversation: Conversation, revision: u64) -> Option<Stored> {
    Some(Stored {
        revision,
        conversation,
    })
}

#[test]
fn an_unread_change_becomes_one_update_with_the_previous_value() {
    let before = conv(
        "c1",
        Some("2026-04-29T14:00:00Z"),
        Some(true),
        Some("inbox"),
    );
    let after = conv(
        "c1",
        Some("2026-04-29T16:00:00Z"),
        Some(false),
        Some("inbox"),
    );
    let out = diff_page(
        &ctx(true),
        std::slice::from_ref(&after),
        &[stored(before, 3)],
    );
    assert_eq!(out.events.len(), 1);
    let event = &out.events[0];
    assert_eq!(event.kind, EventType::Updated);
    assert_eq!(
        event.data.changes,
        vec![Field::LastActivityAt, Field::IsRead]
    );
    assert_eq!(
        Value::Object(event.data.previous.clone()),
        json!({"last_activity_at": "2026-04-29T14:00:00Z", "is_read": true})
    );
    assert_eq!(event.data.conversation, after);
    assert_eq!(
        out.writes,
        vec![Stored {
            revision: 4,
            conversation: after
        }]
    );
}

#[test]
fn the_envelope_serialises_as_the_spec_shows() {
    let after = conv(
        "c1",
        Some("2026-04-29T16:00:00Z"),
        Some(false),
        Some("inbox"),
    );
    let out = diff_page(&ctx(true), &[after], &[None]);
    let json = serde_json::to_value(&out.events[0]).unwrap();
    assert_eq!(json["type"], "conversation.created");
    assert_eq!(json["timestamp"], "2026-04-29T16:00:05Z");
    assert!(json["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(json["data"]["org_name"], "Acme Support");
    assert_eq!(json["data"]["changes"], json!([]));
    assert_eq!(json["data"]["conversation"]["contact_id"], "k1");
}

#[test]
fn a_baseline_records_state_and_announces_nothing() {
    let page = [
        conv("c1", None, None, None),
        conv("c2", Some("x"), Some(true), Some("inbox")),
    ];
    let out = diff_page(&ctx(false), &page, &[None, None]);
    assert!(out.events.is_empty());
    assert_eq!(out.writes.len(), 2);
}

#[test]
fn only_untracked_changes_refresh_the_snapshot_silently() {
    let before = conv("c1", Some("t"), Some(true), Some("inbox"));
    let mut raw = serde_json::to_value(&before).unwrap();
    raw["contact_id"] = json!("k2");
    let after = Conversation::from_value(raw).unwrap();
    let out = diff_page(
        &ctx(true),
        std::slice::from_ref(&after),
        &[stored(before, 0)],
    );
    assert!(out.events.is_empty());
    assert_eq!(out.writes.len(), 1);
}

#[test]
fn a_conversation_listed_twice_in_a_page_is_compared_with_itself() {
    let first = conv("c1", Some("t1"), Some(true), Some("inbox"));
    let again = conv("c1", Some("t1"), Some(true), Some("inbox"));
    let out = diff_page(&ctx(true), &[first, again], &[None, None]);
    assert_eq!(out.events.len(), 1, "created once, then unchanged");
    assert_eq!(out.writes.len(), 1);
}

#[test]
fn a_flip_back_gets_a_new_event_id_but_a_redetection_keeps_it() {
    let unread = conv("c1", Some("t"), Some(false), Some("inbox"));
    let read = conv("c1", Some("t"), Some(true), Some("inbox"));
    let first = diff_page(
        &ctx(true),
        std::slice::from_ref(&unread),
        &[stored(read.clone(), 1)],
    );
    let again = diff_page(
        &ctx(true),
        std::slice::from_ref(&unread),
        &[stored(read.clone(), 1)],
    );
    let later = diff_page(
        &ctx(true),
        std::slice::from_ref(&unread),
        &[stored(read, 3)],
    );
    assert_eq!(first.events[0].id, again.events[0].id);
    assert_ne!(first.events[0].id, later.events[0].id);
}

#[test]
fn removal_carries_the_last_snapshot() {
    let last = conv("c1", Some("t"), Some(true), Some("archived"));
    let event = removed_event(
        &ctx(true),
        &Stored {
            revision: 2,
            conversation: last.clone(),
        },
    );
    assert_eq!(event.kind, EventType::Removed);
    assert_eq!(event.data.conversation, last);
    assert!(event.data.changes.is_empty());
}

fn arb_conversation() -> impl Strategy<Value = Conversation> {
    let time = prop::option::of(prop_oneof![
        Just("2026-04-29T14:00:00Z"),
        Just("2026-04-29T16:00:00Z"),
        Just("2026-05-01T00:00:00Z")
    ]);
    let folder = prop::option::of(prop_oneof![Just("inbox"), Just("archived"), Just("spam")]);
    ("c[0-4]", time, prop::option::of(any::<bool>()), folder, prop::option::of("[a-z]{0,3}"))
        .prop_map(|(id, last, read, folder, extra)| {
            let mut value = json!({"conversation_id": id, "last_activity_at": last, "is_read": read, "folder": folder});
            if let Some(extra) = extra {
                value["extra"] = json!(extra);
            }
            Conversation::from_value(value).unwrap()
        })
}

proptest! {
    #[test]
    fn an_unchanged_conversation_never_produces_an_event_or_a_write(c in arb_conversation(), rev in 0u64..5) {
        let out = diff_page(&ctx(true), std::slice::from_ref(&c), &[stored(c.clone(), rev)]);
        prop_assert!(out.events.is_empty());
        prop_assert!(out.writes.is_empty());
    }

    #[test]
    fn a_tracked_change_always_produces_exactly_one_update_naming_it(a in arb_conversation(), b in arb_conversation()) {
        let b = Conversation::from_value({
            let mut v = serde_json::to_value(&b).unwrap();
            v["conversation_id"] = json!(a.id());
            v
        }).unwrap();
        let changed: Vec<Field> = Field::ALL.into_iter().filter(|f| a.field(*f) != b.field(*f)).collect();
        let out = diff_page(&ctx(true), std::slice::from_ref(&b), &[stored(a.clone(), 0)]);
        if changed.is_empty() {
            prop_assert!(out.events.is_empty());
        } else {
            prop_assert_eq!(out.events.len(), 1);
            prop_assert_eq!(out.events[0].kind, EventType::Updated);
            prop_assert_eq!(&out.events[0].data.changes, &changed);
            for field in &changed {
                let before = a.field(*field).cloned().unwrap_or_default();
                prop_assert_eq!(out.events[0].data.previous.get(field.as_str()), Some(&before));
            }
        }
    }

    #[test]
    fn any_page_diffs_without_panicking_and_deterministically(
        page in prop::collection::vec(arb_conversation(), 0..12),
        known in prop::collection::vec(prop::option::of(arb_conversation()), 12),
    ) {
        let previous: Vec<Option<Stored>> = page.iter().zip(&known).map(|(c, k)| k.clone().map(|k| {
            let mut v = serde_json::to_value(&k).unwrap();
            v["conversation_id"] = json!(c.id());
            Stored { revision: 1, conversation: Conversation::from_value(v).unwrap() }
        })).collect();
        let first = diff_page(&ctx(true), &page, &previous);
        let second = diff_page(&ctx(true), &page, &previous);
        prop_assert_eq!(&first, &second);
        let ids: std::collections::HashSet<_> = first.writes.iter().map(|s| s.conversation.id()).collect();
        prop_assert_eq!(ids.len(), first.writes.len(), "one write per conversation");
    }
}
