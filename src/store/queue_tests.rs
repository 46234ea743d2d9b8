//! The outbox index and the queue counters: finding due work costs what is due, a crash between
//! the index and the entry loses nothing and sends nothing twice, counters match the trees.

use super::*;
use crate::render::sample_event;
use chrono::{Duration as Span, Utc};
use std::collections::HashSet;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s"), 8).unwrap();
    (dir, store)
}

fn queue(store: &Store, sink: &str, due_in: &[i64]) {
    let now = Utc::now();
    let outbox = due_in
        .iter()
        .map(|seconds| {
            let entry = OutboxEntry {
                next_attempt_at: now + Span::seconds(*seconds),
                ..OutboxEntry::new(sample_event(), now)
            };
            (sink.to_string(), entry)
        })
        .collect();
    let commit = Commit {
        outbox,
        ..Commit::default()
    };
    store.commit("o", &commit).unwrap();
}

#[test]
fn finding_due_work_reads_only_what_is_due_however_much_waits() {
    let (_dir, store) = store();
    queue(&store, "hook", &vec![3600; 5000]);
    queue(&store, "hook", &[-5, -1, 0, 60]);
    queue(&store, "other", &[-5]);
    let before = store.stats().reads;
    let due = store.due("hook", Utc::now(), 100, &HashSet::new()).unwrap();
    assert_eq!(due.entries.len(), 3);
    assert_eq!(
        store.stats().reads - before,
        3,
        "one read per due entry, none for the 5,001 waiting"
    );
    let next = due.next_at.unwrap() - Utc::now();
    assert!(
        next > Span::seconds(50) && next <= Span::seconds(60),
        "{next}"
    );
    assert_eq!(store.outbox_depth("hook"), 5004);
}

#[test]
fn a_rescheduled_entry_is_found_once_at_its_new_time() {
    let (_dir, store) = store();
    queue(&store, "hook", &[0]);
    let (seq, mut entry) = store
        .due("hook", Utc::now(), 10, &HashSet::new())
        .unwrap()
        .entries
        .remove(0);
    entry.next_attempt_at = Utc::now() + Span::seconds(30);
    store.reschedule("hook", seq, &entry).unwrap();
    assert!(store
        .due("hook", Utc::now(), 10, &HashSet::new())
        .unwrap()
        .entries
        .is_empty());
    let later = store
        .due("hook", Utc::now() + Span::seconds(31), 10, &HashSet::new())
        .unwrap();
    assert_eq!(
        later.entries.len(),
        1,
        "one entry, not one per index key it ever had"
    );
    assert_eq!(store.outbox_due.len(), 1, "the old index key is gone");
}

#[test]
fn an_index_key_left_by_a_crash_is_dropped_and_sends_nothing() {
    let (_dir, store) = store();
    queue(&store, "hook", &[0]);
    let (seq, entry) = store
        .due("hook", Utc::now(), 10, &HashSet::new())
        .unwrap()
        .entries
        .remove(0);
    // A crash between the two writes of a reschedule: a second index key at another time.
    let stale = outbox::index_key("hook", 1, seq);
    store.outbox_due.insert(stale.as_slice(), &[]).unwrap();
    let due = store.due("hook", Utc::now(), 10, &HashSet::new()).unwrap();
    assert_eq!(due.entries.len(), 1);
    assert!(store.outbox_due.get(&stale).unwrap().is_none());
    // A crash between a delivery's two removals: an index key without its entry.
    store
        .outbox
        .remove(pair_key("hook", &seq.to_be_bytes()))
        .unwrap();
    assert!(store
        .due("hook", Utc::now(), 10, &HashSet::new())
        .unwrap()
        .entries
        .is_empty());
    assert!(store.outbox_due.is_empty());
    drop(entry);
}

#[test]
fn counters_match_a_count_of_the_trees_after_every_kind_of_change() {
    let (_dir, store) = store();
    queue(&store, "a", &[0, 0, 0, 0]);
    queue(&store, "b", &[0, 0]);
    let mut due = store
        .due("a", Utc::now(), 10, &HashSet::new())
        .unwrap()
        .entries
        .into_iter();
    let (first, entry) = due.next().unwrap();
    store
        .delivered_all("a", &[(first, &entry.event)], false)
        .unwrap();
    store
        .delivered_all("a", &[(first, &entry.event)], false)
        .unwrap();
    let (second, entry) = due.next().unwrap();
    store.dead_letter("a", second, entry, "HTTP 400").unwrap();
    let (third, entry) = due.next().unwrap();
    store.dead_letter("a", third, entry, "HTTP 400").unwrap();
    assert_eq!(
        store.retry_dead_letter(second).unwrap().as_deref(),
        Some("a")
    );
    let only_a = DeadFilter {
        sink: Some("a".into()),
        ..DeadFilter::default()
    };
    assert_eq!(store.purge_dead_letters(&only_a).unwrap(), 1);
    let counted = migrate::count(&store.outbox, &store.dead).unwrap();
    for sink in ["a", "b"] {
        assert_eq!(store.sink_counts(sink), counted.get(sink), "{sink}");
    }
    assert_eq!(store.sink_counts("a"), SinkCounts { queued: 2, dead: 0 });
}

#[test]
fn dead_letters_come_in_pages_and_filters_pick_by_sink_and_age() {
    let (_dir, store) = store();
    queue(&store, "a", &[0, 0, 0]);
    queue(&store, "b", &[0]);
    for sink in ["a", "b"] {
        for (seq, entry) in store
            .due(sink, Utc::now(), 10, &HashSet::new())
            .unwrap()
            .entries
        {
            store.dead_letter(sink, seq, entry, "gone").unwrap();
        }
    }
    let all = DeadFilter::default();
    let first = store.dead_letters_page(None, 2, &all).unwrap();
    let rest = store
        .dead_letters_page(Some(first[1].id), 10, &all)
        .unwrap();
    assert_eq!((first.len(), rest.len()), (2, 2));
    assert!(first[1].id < rest[0].id);
    assert!(store
        .dead_letters_page(Some(u64::MAX), 10, &all)
        .unwrap()
        .is_empty());
    let old = DeadFilter {
        dead_before: Some(Utc::now() - Span::days(7)),
        ..DeadFilter::default()
    };
    assert_eq!(
        store.purge_dead_letters(&old).unwrap(),
        0,
        "none is a week old"
    );
    let b = DeadFilter {
        sink: Some("b".into()),
        ..DeadFilter::default()
    };
    assert_eq!(store.retry_dead_letters(&b).unwrap(), 1);
    assert_eq!(store.sink_counts("b"), SinkCounts { queued: 1, dead: 0 });
}

#[test]
fn a_format_1_store_gets_its_index_and_dead_letter_headers() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new()
        .temporary(true)
        .path(dir.path().join("v1"))
        .open()
        .unwrap();
    let (outbox, index, dead) = (
        db.open_tree("outbox").unwrap(),
        db.open_tree("i").unwrap(),
        db.open_tree("d").unwrap(),
    );
    let entry = OutboxEntry::new(sample_event(), Utc::now());
    outbox
        .insert(
            pair_key("hook", &7u64.to_be_bytes()),
            outbox::encode_entry(&entry).unwrap(),
        )
        .unwrap();
    let letter = DeadLetter {
        id: 3,
        sink: "hook".into(),
        entry,
        dead_at: Utc::now(),
        reason: "HTTP 400".into(),
    };
    dead.insert(3u64.to_be_bytes(), serde_json::to_vec(&letter).unwrap())
        .unwrap();
    for _ in 0..2 {
        // Twice: a migration interrupted and run again does the same.
        migrate::migrate(1, &outbox, &index, &dead).unwrap();
    }
    assert_eq!(index.len(), 1);
    let counts = migrate::count(&outbox, &dead).unwrap();
    assert_eq!(counts.get("hook"), SinkCounts { queued: 1, dead: 1 });
    let value = dead.get(3u64.to_be_bytes()).unwrap().unwrap();
    assert_eq!(dead::header(&value).unwrap().sink, "hook");
}

#[test]
fn a_look_from_a_cursor_takes_what_follows_it_and_comes_back_for_what_was_left_before_it() {
    let (_dir, store) = store();
    queue(&store, "hook", &[-5, -4, -3, -2, -1]);
    let (now, mut cursor) = (Utc::now(), Cursor::default());
    let mut look = |busy: &[u64]| -> Vec<u64> {
        let busy: HashSet<u64> = busy.iter().copied().collect();
        let due = store.due_from("hook", now, 2, &busy, &mut cursor).unwrap();
        due.entries.iter().map(|(seq, _)| *seq).collect()
    };
    let first = look(&[]);
    assert_eq!(first.len(), 2);
    let second = look(&first);
    assert_eq!(second.len(), 2);
    assert!(second.iter().all(|s| !first.contains(s)), "{second:?}");
    // The first entry's attempt ended without a delivery and kept its key (a parked attempt):
    // what follows the cursor does not fill the room, so the look comes back for it.
    let busy: Vec<u64> = first[1..].iter().chain(&second).copied().collect();
    let third = look(&busy);
    assert_eq!(third.len(), 2, "{third:?}");
    assert!(third.contains(&first[0]), "{third:?}");
    let all: Vec<u64> = first
        .iter()
        .chain(&second)
        .chain(&third[1..])
        .copied()
        .collect();
    assert!(
        look(&all).is_empty(),
        "nothing is left that is not in flight"
    );
}
