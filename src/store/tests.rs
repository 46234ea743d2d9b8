use super::*;
use crate::diff::{diff_page, DiffContext, Stored};
use crate::event::Conversation;
use chrono::Utc;
use serde_json::json;
use std::collections::HashSet;

fn conv(id: &str, read: bool) -> Conversation {
    Conversation::from_value(json!({"conversation_id": id, "is_read": read, "folder": "inbox"}))
        .unwrap()
}

fn event_for(c: &Conversation) -> crate::event::Event {
    let ctx = DiffContext {
        org_id: "o",
        org_name: "O",
        emit: true,
        detected_at: Utc::now(),
    };
    diff_page(&ctx, std::slice::from_ref(c), &[None])
        .events
        .remove(0)
}

#[test]
fn a_page_commit_writes_state_and_outbox_together_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), 8).unwrap();
        let c = conv("c1", false);
        let entry = OutboxEntry::new(event_for(&c), Utc::now());
        let commit = PageCommit {
            writes: vec![Stored {
                revision: 0,
                conversation: c,
            }],
            deletes: vec![],
            outbox: vec![("hook".into(), entry)],
        };
        store.commit_page("o", &commit).unwrap();
        futures::executor::block_on(store.flush()).unwrap();
    }
    let store = Store::open(dir.path(), 8).unwrap();
    let previous = store.previous("o", &["c1", "c2"]).unwrap();
    let stored = previous[0].as_ref().unwrap();
    assert_eq!(stored.decode().unwrap().conversation.id(), "c1");
    assert!(
        stored.same_as(&conv("c1", false)),
        "the fast path sees an unchanged snapshot"
    );
    assert!(!stored.same_as(&conv("c1", true)));
    assert!(previous[1].is_none());
    assert_eq!(store.outbox_depth("hook"), 1);
    assert_eq!(store.count_stored("o"), 1);
    assert_eq!(store.count_stored("other"), 0);
}

#[test]
fn due_entries_respect_their_time_the_limit_and_busy_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 8).unwrap();
    let now = Utc::now();
    let mut outbox = Vec::new();
    for (i, delay) in [0i64, 0, 0, 60].iter().enumerate() {
        let mut entry = OutboxEntry::new(event_for(&conv(&format!("c{i}"), false)), now);
        entry.next_attempt_at = now + chrono::Duration::seconds(*delay);
        outbox.push(("hook".to_string(), entry));
    }
    store
        .commit_page(
            "o",
            &PageCommit {
                outbox,
                ..PageCommit::default()
            },
        )
        .unwrap();
    let all = store.due("hook", now, 10, &HashSet::new()).unwrap();
    assert_eq!(all.entries.len(), 3);
    assert_eq!(
        all.next_at.map(|t| t.timestamp_millis()),
        Some((now + chrono::Duration::seconds(60)).timestamp_millis())
    );
    let busy: HashSet<u64> = [all.entries[0].0].into();
    let rest = store.due("hook", now, 1, &busy).unwrap();
    assert_eq!(rest.entries.len(), 1);
    assert_ne!(rest.entries[0].0, all.entries[0].0);
    assert!(store
        .due("other", now, 10, &HashSet::new())
        .unwrap()
        .entries
        .is_empty());
}

#[test]
fn a_dead_letter_can_be_listed_retried_and_purged() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 8).unwrap();
    let entry = OutboxEntry::new(event_for(&conv("c1", false)), Utc::now());
    store
        .commit_page(
            "o",
            &PageCommit {
                outbox: vec![("hook".into(), entry)],
                ..PageCommit::default()
            },
        )
        .unwrap();
    let (seq, entry) = store
        .due("hook", Utc::now(), 1, &HashSet::new())
        .unwrap()
        .entries
        .remove(0);
    let id = store.dead_letter("hook", seq, entry, "HTTP 400").unwrap();
    assert_eq!(store.outbox_depth("hook"), 0);
    let letters = store.dead_letters().unwrap();
    assert_eq!((letters.len(), letters[0].reason.as_str()), (1, "HTTP 400"));
    assert!(store.retry_dead_letter(id).unwrap());
    assert!(!store.retry_dead_letter(id).unwrap());
    assert_eq!(store.outbox_depth("hook"), 1);
    assert!(store.dead_letters().unwrap().is_empty());
    assert_eq!(store.purge_dead_letters().unwrap(), 0);
}

#[test]
fn a_store_from_another_format_version_is_refused_with_a_clear_message() {
    // The version check on an open database: reopening a sled database in the same process right
    // after dropping it races with sled's shutdown (the end-to-end test covers a real reopen).
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new()
        .temporary(true)
        .path(dir.path().join("db"))
        .open()
        .unwrap();
    check_version(&db, dir.path()).unwrap();
    check_version(&db, dir.path()).expect("the version it wrote is its own");
    db.insert("format_version", "99").unwrap();
    let error = check_version(&db, dir.path()).unwrap_err();
    assert!(matches!(error, StoreError::Version { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("format version 99; this build reads version 1"),
        "{error}"
    );
}
