//! The delivered-events log: one record per event whatever the number of sinks, the body kept
//! byte for byte, time ranges, retention by age, and counters that match the tree.

use super::super::{Commit, OutboxEntry, Store};
use crate::event::Event;
use crate::render::sample_event;
use chrono::{DateTime, Duration as Span, Utc};
use std::collections::HashSet;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s"), 8).unwrap();
    (dir, store)
}

fn event(id: &str, at: DateTime<Utc>) -> Event {
    Event {
        id: id.to_string(),
        timestamp: at,
        ..sample_event()
    }
}

/// Queues `event` for `sink` and delivers it (through the log).
fn deliver(store: &Store, sink: &str, event: &Event) {
    let commit = Commit {
        outbox: vec![(
            sink.to_string(),
            OutboxEntry::new(event.clone(), Utc::now()),
        )],
        ..Commit::default()
    };
    store.commit("o", &commit).unwrap();
    let due = store.due(sink, Utc::now(), 100, &HashSet::new()).unwrap();
    for (seq, entry) in due.entries {
        store
            .delivered_all(sink, &[(seq, &entry.event)], true)
            .unwrap();
    }
}

fn logged_ids(store: &Store, since: DateTime<Utc>, until: DateTime<Utc>) -> Vec<String> {
    let mut ids = Vec::new();
    let each = |logged: super::Logged| {
        ids.push(logged.event.id);
        Ok(())
    };
    store.for_each_delivered(since, until, each).unwrap();
    ids
}

#[test]
fn an_event_two_sinks_took_is_one_record_naming_both_with_its_body_as_sent() {
    let (_dir, store) = store();
    let sent = event("evt_a", DateTime::from_timestamp(1_800_000_000, 0).unwrap());
    deliver(&store, "hook", &sent);
    let one = store.delivered_log_size().unwrap();
    deliver(&store, "other", &sent);
    deliver(&store, "other", &sent);
    assert_eq!(store.outbox_depth("hook") + store.outbox_depth("other"), 0);
    let size = store.delivered_log_size().unwrap();
    assert_eq!(size.events, 1);
    assert_eq!(
        size.bytes,
        one.bytes + "\0other".len() as u64,
        "a name, not a copy"
    );
    let mut seen = Vec::new();
    let far = Span::days(1);
    let each = |logged: super::Logged| {
        seen.push(logged);
        Ok(())
    };
    store
        .for_each_delivered(sent.timestamp - far, sent.timestamp + far, each)
        .unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].sinks, ["hook", "other"]);
    let body = serde_json::to_vec(&seen[0].event).unwrap();
    assert_eq!(body, serde_json::to_vec(&sent).unwrap(), "the same bytes");
}

#[test]
fn a_time_range_selects_the_events_detected_in_it_ends_included() {
    let (_dir, store) = store();
    let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    for (i, minutes) in [0, 10, 20, 30].iter().enumerate() {
        deliver(
            &store,
            "hook",
            &event(&format!("evt_{i}"), start + Span::minutes(*minutes)),
        );
    }
    let ids = logged_ids(&store, start + Span::minutes(10), start + Span::minutes(20));
    assert_eq!(ids, ["evt_1", "evt_2"]);
    assert_eq!(
        logged_ids(&store, start + Span::minutes(31), start + Span::days(9)).len(),
        0
    );
}

#[test]
fn purging_by_age_removes_the_older_events_keeps_the_newer_and_counters_match_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let store = Store::open(&path, 8).unwrap();
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    for (i, hours) in [200, 169, 167, 1].iter().enumerate() {
        deliver(
            &store,
            "hook",
            &event(&format!("evt_{i}"), now - Span::hours(*hours)),
        );
    }
    let purged = store.purge_delivered_before(now - Span::days(7)).unwrap();
    assert_eq!(purged, 2);
    let all = logged_ids(&store, now - Span::days(30), now);
    assert_eq!(all, ["evt_2", "evt_3"]);
    let size = store.delivered_log_size().unwrap();
    assert_eq!(size.events, 2);
    drop(store);
    let reopened = Store::open(&path, 8).unwrap();
    assert_eq!(
        reopened.delivered_log_size().unwrap(),
        size,
        "counted again at open"
    );
}

#[test]
fn requeued_entries_are_due_now_with_the_original_event() {
    let (_dir, store) = store();
    let sent = event("evt_r", DateTime::from_timestamp(1_800_000_000, 0).unwrap());
    deliver(&store, "hook", &sent);
    let again = OutboxEntry::new(sent.clone(), Utc::now());
    store.requeue(&[("hook".to_string(), again)]).unwrap();
    assert_eq!(store.outbox_depth("hook"), 1);
    let due = store.due("hook", Utc::now(), 10, &HashSet::new()).unwrap();
    assert_eq!(due.entries.len(), 1);
    assert_eq!(due.entries[0].1.event, sent);
}
