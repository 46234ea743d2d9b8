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
fn a_commit_writes_state_and_outbox_together_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), 8).unwrap();
        let c = conv("c1", false);
        let entry = OutboxEntry::new(event_for(&c), Utc::now());
        let commit = Commit {
            writes: vec![Stored {
                revision: 0,
                conversation: c,
            }],
            fresh: vec![],
            deletes: vec![],
            outbox: vec![("hook".into(), entry)],
            reminders: vec![],
        };
        store.commit("o", &commit).unwrap();
        futures::executor::block_on(store.flush()).unwrap();
    }
    let store = Store::open(dir.path(), 8).unwrap();
    let previous = store
        .previous(
            "o",
            &[&conv("c1", false), &conv("c1", true), &conv("c2", false)],
        )
        .unwrap();
    assert!(
        matches!(previous[0], Previous::Same),
        "the fast path sees an unchanged snapshot"
    );
    let Previous::Differs(stored) = &previous[1] else {
        panic!("a changed conversation differs: {previous:?}");
    };
    assert_eq!(stored.decode().unwrap().conversation, conv("c1", false));
    assert!(matches!(previous[2], Previous::Absent));
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
        .commit(
            "o",
            &Commit {
                outbox,
                ..Commit::default()
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
        .commit(
            "o",
            &Commit {
                outbox: vec![("hook".into(), entry)],
                ..Commit::default()
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
    assert_eq!(
        store.retry_dead_letter(id).unwrap().as_deref(),
        Some("hook")
    );
    assert_eq!(store.retry_dead_letter(id).unwrap(), None);
    assert_eq!(store.outbox_depth("hook"), 1);
    assert!(store.dead_letters().unwrap().is_empty());
    assert_eq!(store.purge_dead_letters(&Default::default()).unwrap(), 0);
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
        error.to_string().contains(&format!(
            "format version 99; this build reads version {FORMAT_VERSION}"
        )),
        "{error}"
    );
}

pub(super) mod fingerprints {
    use super::*;

    fn stored(c: &Conversation) -> Stored {
        Stored {
            revision: 0,
            conversation: c.clone(),
        }
    }

    fn write(store: &Store, conversations: &[Conversation]) {
        let commit = Commit {
            writes: conversations.iter().map(stored).collect(),
            ..Commit::default()
        };
        store.commit("o", &commit).unwrap();
    }

    /// What a lookup answered, as a word (shared with `packs_tests.rs`).
    pub(in crate::store) fn kind(previous: &Previous) -> &'static str {
        match previous {
            Previous::Same => "same",
            Previous::Differs(_) => "differs",
            Previous::Absent => "absent",
        }
    }

    #[test]
    fn an_unchanged_conversation_is_answered_without_a_store_read_once_learned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 8).unwrap().keep_fingerprints();
        write(&store, &[conv("c1", false), conv("c2", false)]);
        let reads = store.stats().reads;
        let (c1, c2) = (conv("c1", false), conv("c2", false));
        let page = [&c1, &c2];
        let previous = store.previous("o", &page).unwrap();
        assert!(previous.iter().all(|p| matches!(p, Previous::Same)));
        assert_eq!(store.stats().reads, reads, "written snapshots are known");
        assert_eq!(store.fingerprint_count(), 2);

        store.forget_fingerprints();
        store.previous("o", &page).unwrap();
        assert_eq!(
            store.stats().reads,
            reads,
            "forgotten: loaded from the store, not read"
        );
        assert_eq!(store.fingerprint_count(), 2);
        drop(store);
        let store = Store::open(dir.path(), 8).unwrap();
        let previous = store.previous("o", &page).unwrap();
        assert!(previous.iter().all(|p| matches!(p, Previous::Same)));
        assert_eq!(store.stats().reads, 0, "reopened: known from the store");
    }

    #[test]
    fn fingerprints_missing_from_the_store_are_rebuilt_from_the_snapshots_never_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 8).unwrap();
        write(&store, &[conv("c1", false), conv("c2", false)]);
        store.prints.clear().unwrap();
        store.forget_fingerprints();
        let page = [&conv("c1", false), &conv("c2", true)];
        let previous = store.previous("o", &page).unwrap();
        assert_eq!(
            [kind(&previous[0]), kind(&previous[1])],
            ["same", "differs"]
        );
        assert_eq!(store.stats().reads, 1, "only the changed one is read");
        let base = super::prints::base_key("o");
        assert!(store.prints.get(base).unwrap().is_some(), "stored again");
    }

    #[test]
    fn a_conversation_that_changes_back_is_still_seen_as_changed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 8).unwrap().keep_fingerprints();
        write(&store, &[conv("c1", false)]);
        write(&store, &[conv("c1", true)]);
        let previous = store.previous("o", &[&conv("c1", false)]).unwrap();
        assert_eq!(
            kind(&previous[0]),
            "differs",
            "the old text is no longer stored"
        );
        store
            .commit(
                "o",
                &Commit {
                    deletes: vec!["c1".into()],
                    ..Commit::default()
                },
            )
            .unwrap();
        let previous = store.previous("o", &[&conv("c1", true)]).unwrap();
        assert_eq!(kind(&previous[0]), "absent", "deleted");
        assert_eq!(store.fingerprint_count(), 0);
    }

    #[test]
    fn a_conversation_written_twice_in_one_commit_keeps_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 8).unwrap().keep_fingerprints();
        write(&store, &[conv("c1", false), conv("c1", true)]);
        let previous = store
            .previous("o", &[&conv("c1", false), &conv("c1", true)])
            .unwrap();
        assert_eq!(kind(&previous[0]), "differs");
        assert_eq!(kind(&previous[1]), "same");
        assert_eq!(store.fingerprint_count(), 1);
    }
}
