//! The store against a model: whatever mix of first-listing runs, level-0 writes, removals,
//! folds, listings' ends and restarts (with fingerprints kept or not), it answers as the plain
//! contents say it should, from memory or from disk.

use super::tests::fingerprints::kind;
use super::*;
use crate::diff::Stored;
use crate::event::Conversation;
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;

fn variant(id: u8, version: u8) -> Conversation {
    Conversation::from_value(json!({"conversation_id": format!("c{id}"), "v": version})).unwrap()
}

fn stored(id: u8, version: u8) -> Stored {
    Stored {
        revision: u64::from(version),
        conversation: variant(id, version),
    }
}

fn commit_fresh(store: &Store, fresh: Vec<Stored>) {
    let commit = Commit {
        fresh,
        ..Commit::default()
    };
    store.commit("o", &commit).unwrap();
}

/// What a test does to the store.
#[derive(Debug, Clone)]
enum Op {
    /// Level-0 writes, as a listing's changes are.
    Write(u8, u8),
    /// A first listing's run: of these ids, those the store never held nor removed (what the
    /// poller marks fresh: an org new to the store, a conversation no earlier page listed).
    Fresh(Vec<u8>, u8),
    Delete(u8),
    Fold,
    ListingDone,
    /// A new process; `true`: one that keeps fingerprints between listings (the daemon).
    Restart(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..6, 0u8..3).prop_map(|(id, v)| Op::Write(id, v)),
        3 => (proptest::collection::vec(0u8..6, 1..5), 0u8..3).prop_map(|(ids, v)| Op::Fresh(ids, v)),
        2 => (0u8..6).prop_map(Op::Delete),
        1 => Just(Op::Fold),
        1 => Just(Op::ListingDone),
        1 => any::<bool>().prop_map(Op::Restart),
    ]
}

/// What the store should hold (id → version), and every id it ever held or removed.
#[derive(Default)]
struct Model {
    now: BTreeMap<u8, u8>,
    ever: std::collections::BTreeSet<u8>,
}

/// Applies `op` to the store and to the model; a restart is the caller's.
fn apply(store: &Store, Model { now: model, ever }: &mut Model, op: Op) {
    let commit = match op {
        Op::Write(id, version) => {
            ever.insert(id);
            model.insert(id, version);
            Commit {
                writes: vec![stored(id, version)],
                ..Commit::default()
            }
        }
        Op::Fresh(ids, version) => {
            let absent: Vec<u8> = ids.into_iter().filter(|id| ever.insert(*id)).collect();
            model.extend(absent.iter().map(|id| (*id, version)));
            let fresh = absent.iter().map(|id| stored(*id, version)).collect();
            Commit {
                fresh,
                ..Commit::default()
            }
        }
        Op::Delete(id) => {
            ever.insert(id);
            model.remove(&id);
            Commit {
                deletes: vec![format!("c{id}")],
                ..Commit::default()
            }
        }
        Op::Fold => {
            if let Some(number) = store.numbers.get("o").unwrap() {
                store.fold_snapshots(number).unwrap();
            }
            return;
        }
        Op::ListingDone => return store.listing_done("o"),
        Op::Restart(_) => return,
    };
    store.commit("o", &commit).unwrap();
}

fn check(store: &Store, model: &BTreeMap<u8, u8>) -> std::result::Result<(), TestCaseError> {
    let page: Vec<Conversation> = (0..6)
        .flat_map(|id| (0..3).map(move |v| variant(id, v)))
        .collect();
    let answers = store
        .previous("o", &page.iter().collect::<Vec<_>>())
        .unwrap();
    for (i, answer) in answers.iter().enumerate() {
        let (id, version) = ((i / 3) as u8, (i % 3) as u8);
        let expected = match model.get(&id) {
            Some(v) if *v == version => "same",
            Some(_) => "differs",
            None => "absent",
        };
        prop_assert_eq!(kind(answer), expected, "c{} v{}", id, version);
    }
    for id in 0..6u8 {
        let snapshot = store.snapshot("o", &format!("c{id}")).unwrap();
        prop_assert_eq!(snapshot, model.get(&id).map(|v| stored(id, *v)));
    }
    let ids: Vec<String> = store.stored_ids("o").map(|id| id.unwrap()).collect();
    let expected: Vec<String> = model.keys().map(|id| format!("c{id}")).collect();
    prop_assert_eq!(ids, expected, "in id order, each once");
    prop_assert_eq!(store.count_stored("o"), model.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn the_levels_together_answer_as_the_contents_say(ops in proptest::collection::vec(op(), 1..25)) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path(), 8).unwrap().keep_fingerprints();
        let mut model = Model::default();
        for op in ops {
            if let Op::Restart(keep) = op {
                // A new process: what it knows comes from the store.
                drop(store);
                store = Store::open(dir.path(), 8).unwrap();
                if keep {
                    store = store.keep_fingerprints();
                }
            }
            apply(&store, &mut model, op);
            check(&store, &model.now)?;
        }
    }
}

#[test]
fn a_conversation_changed_back_to_its_packed_text_is_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 8).unwrap().keep_fingerprints();
    commit_fresh(&store, vec![stored(1, 0)]);
    // The listing is over: its fingerprints, v0 among them, are what the store answers from.
    store.listing_done("o");
    let changed = Commit {
        writes: vec![stored(1, 1)],
        ..Commit::default()
    };
    store.commit("o", &changed).unwrap();
    let back = variant(1, 0);
    let answer = store.previous("o", &[&back]).unwrap();
    assert_eq!(
        kind(&answer[0]),
        "differs",
        "v1 is stored, not the packed v0"
    );
}

#[test]
fn a_first_listing_of_many_runs_is_folded_into_one_when_it_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 8).unwrap();
    let runs = super::fold::MAX_RUNS as u8 + 1;
    for batch in 0..runs {
        commit_fresh(&store, (0..20).map(|i| stored_named(batch, i)).collect());
    }
    let number = store.numbers.get("o").unwrap().unwrap();
    assert_eq!(store.runs.of(number).unwrap().len(), usize::from(runs));
    store.listing_done("o");
    assert_eq!(store.runs.of(number).unwrap().len(), 1, "folded");
    assert_eq!(store.count_stored("o"), usize::from(runs) * 20);
    drop(store);
    let store = Store::open(dir.path(), 8).unwrap();
    assert_eq!(
        store.count_stored("o"),
        usize::from(runs) * 20,
        "as stored, after a restart"
    );
    let named = stored_named(3, 7);
    let answer = store.previous("o", &[&named.conversation]).unwrap();
    assert_eq!(kind(&answer[0]), "same");
}

fn stored_named(batch: u8, i: u8) -> Stored {
    let id = format!("b{batch:02}-{i:02}");
    Stored {
        revision: 0,
        conversation: Conversation::from_value(json!({"conversation_id": id})).unwrap(),
    }
}
