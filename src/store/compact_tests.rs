//! Compaction on real stores on disk: what it keeps, when it is due, and a crash at every step.

use super::*;
use crate::store::swap::{self, COMPACTING};
use crate::store::{snapshot, Store};
use std::collections::BTreeMap;
use std::fs;

type Contents = BTreeMap<Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>>;

/// Compacts whatever its size, once a size is recorded: see [`grown`].
const ALWAYS: Compaction = Compaction {
    min_bytes: 0,
    growth: 1.0,
};

/// Records a size of 0 after the last compaction: any store has grown past it.
fn grown(path: &Path) {
    write_reference(path, 0).unwrap();
}

fn id(i: u32) -> Vec<u8> {
    format!("conv-{i:05}").into_bytes()
}

/// A store whose every key was rewritten many times, as polls rewrite scattered
/// conversations: org 1's first listing packed as a run, then level-0 writes to 3 orgs over
/// it, and removals of some of what the run holds; an outbox, the default tree, the id counter.
fn bloated(path: &Path) {
    let db = open_db(path, 8).unwrap();
    let (snapshots, packs) = (db.open_tree(LEVEL_0).unwrap(), db.open_tree(PACKS).unwrap());
    let mut packer = crate::store::packs::Packer::new(1, 0);
    for i in 0..600u32 {
        let value = format!("run {}", "y".repeat(100 + (i % 30) as usize));
        let pack = packer.push(&id(i), value.as_bytes());
        pack.into_iter()
            .for_each(|(k, v)| drop(packs.insert(k, v).unwrap()));
    }
    packer.finish().map(|(k, v)| packs.insert(k, v).unwrap());
    let outbox = db.open_tree("outbox").unwrap();
    for round in 0..6u32 {
        for i in 0..2_000u32 {
            let value = format!("{round:04}{}", "x".repeat(150 + (i % 50) as usize));
            let key = crate::store::snapshot::key(1 + i % 3, &id(i));
            snapshots.insert(key, value.as_bytes()).unwrap();
        }
        outbox.insert(round.to_be_bytes(), &b"entry"[..]).unwrap();
        db.flush().unwrap();
    }
    for i in (0..600).step_by(7) {
        let tombstone = crate::store::snapshot::key(1, &id(i));
        snapshots.insert(tombstone, &[][..]).unwrap();
    }
    db.insert("format_version", &b"4"[..]).unwrap();
    for _ in 0..100 {
        db.generate_id().unwrap();
    }
    db.flush().unwrap();
    drop((db, snapshots, packs, outbox));
    // What opening a `Store` adds (its trees, the fingerprint seed) is there from the start.
    drop(Store::open(path, 8).unwrap());
}

/// The name [`contents`] gives every org's snapshots, all levels merged (how they are held,
/// level 0 or runs, is not content: a compaction folds them).
const SNAPSHOTS: &[u8] = b"(every org's snapshots)";

/// Every tree's pairs, the id base aside (the one key a compaction adds), the snapshots as
/// what the store answers for them.
fn contents(path: &Path) -> Contents {
    let db = open_db(path, 8).unwrap();
    let mut all = Contents::new();
    for name in db.tree_names() {
        let tree = match &*name {
            DEFAULT_TREE => (*db).clone(),
            LEVEL_0 | PACKS => continue,
            _ => db.open_tree(&name).unwrap(),
        };
        let pairs = tree
            .iter()
            .map(std::result::Result::unwrap)
            .filter(|(k, _)| &**k != ID_BASE)
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        all.insert(name.to_vec(), pairs);
    }
    let level0 = db.open_tree(LEVEL_0).unwrap();
    let runs = Runs::new(db.open_tree(PACKS).unwrap());
    let mut orgs = org_numbers(&level0).unwrap();
    orgs.extend(org_numbers(&runs.tree).unwrap());
    let snapshots = orgs.into_iter().flat_map(|org| {
        fold::merged(&level0, &runs, org).map(move |pair| {
            let (id, value) = pair.unwrap();
            (crate::store::snapshot::key(org, &id), value)
        })
    });
    all.insert(SNAPSHOTS.to_vec(), snapshots.collect());
    all
}

#[test]
fn a_compacted_store_holds_every_key_of_every_tree_on_less_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    bloated(&path);
    let before = contents(&path);
    let snapshot = |org, i| {
        before[SNAPSHOTS]
            .iter()
            .find(|(k, _)| *k == snapshot::key(org, &id(i)))
    };
    assert!(
        snapshot(1, 1).is_some_and(|(_, v)| v.starts_with(b"run")),
        "the run answers"
    );
    assert!(
        snapshot(1, 3).is_some_and(|(_, v)| v.starts_with(b"0005")),
        "level 0 first"
    );
    assert!(snapshot(1, 7).is_none(), "removed");
    grown(&path);
    let done = compact_if_due(&path, 8, ALWAYS).unwrap().unwrap();
    assert!(done.after < done.before, "{done:?}");
    let reference = fs::metadata(path.join(REFERENCE)).unwrap().len();
    assert_eq!(dir_bytes(&path).unwrap(), done.after + reference);
    assert!(
        contents(&path) == before,
        "a key differs after the compaction"
    );
    let db = open_db(&path, 8).unwrap();
    assert_eq!(db.open_tree(LEVEL_0).unwrap().len(), 0, "level 0 folded");
    let packs = db.open_tree(PACKS).unwrap();
    let run = |key: &[u8]| u32::from_be_bytes(key[4..8].try_into().unwrap());
    assert!(
        packs.iter().keys().all(|key| run(&key.unwrap()) == 0),
        "one run an org"
    );
    drop((packs, db));
    assert!(!path.join(COMPACTING).exists() && !path.join("retired").exists());
}

#[test]
fn ids_keep_rising_across_compactions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let mut last = None;
    for _ in 0..3 {
        let store = Store::open(&path, 8).unwrap();
        let ids: Vec<u64> = (0..5).map(|_| store.next_id().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        assert!(
            last.is_none_or(|last| ids[0] > last),
            "{ids:?} after {last:?}"
        );
        last = ids.last().copied();
        drop(store);
        grown(&path);
        compact_if_due(&path, 8, ALWAYS).unwrap().unwrap();
    }
    let store = Store::open(&path, 8).unwrap();
    assert!(store.next_id().unwrap() > last.unwrap());
}

#[test]
fn a_store_is_compacted_again_only_once_it_has_grown_past_its_last_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    bloated(&path);
    let policy = Compaction {
        min_bytes: 1,
        growth: 1.10,
    };
    grown(&path);
    let first = compact_if_due(&path, 8, policy).unwrap().unwrap();
    assert_eq!(read_reference(&path), Some(first.after));
    assert_eq!(compact_if_due(&path, 8, policy).unwrap(), None);
    bloated(&path);
    assert!(compact_if_due(&path, 8, policy).unwrap().is_some());
}

#[test]
fn the_policy_waits_for_a_recorded_size_the_minimum_size_and_the_growth() {
    // The configuration's defaults: 8 MiB, 10 %.
    let policy = Compaction {
        min_bytes: 8 * 1024 * 1024,
        growth: 1.10,
    };
    assert!(!policy.due(u64::MAX, None), "nothing recorded: not due");
    assert!(!policy.due(policy.min_bytes - 1, Some(0)));
    assert!(policy.due(policy.min_bytes, Some(0)));
    let reference = policy.min_bytes * 2;
    assert!(!policy.due(reference * 11 / 10, Some(reference)));
    assert!(policy.due(reference * 11 / 10 + 1, Some(reference)));
    assert!(!policy.due(policy.min_bytes - 1, Some(1)));
}

#[test]
fn a_missing_store_is_not_compacted_and_opens_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    assert_eq!(compact_if_due(&path, 8, ALWAYS).unwrap(), None);
    assert!(Store::open(&path, 8).is_ok());
}

#[test]
fn a_second_process_compacting_the_same_store_is_told_it_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    bloated(&path);
    grown(&path);
    let held = swap::lock(&path).unwrap().unwrap();
    let refused = compact_if_due(&path, 8, ALWAYS).unwrap_err();
    assert!(matches!(refused, StoreError::Locked { .. }), "{refused}");
    assert!(matches!(
        Store::open(&path, 8),
        Err(StoreError::Locked { .. })
    ));
    drop(held);
    assert!(compact_if_due(&path, 8, ALWAYS).unwrap().is_some());
}

#[test]
fn a_store_another_process_has_open_is_not_compacted_and_its_recorded_size_stays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    bloated(&path);
    grown(&path);
    let running = open_db(&path, 8).unwrap();
    let refused = compact_if_due(&path, 8, ALWAYS).unwrap_err();
    assert!(matches!(refused, StoreError::Locked { .. }), "{refused}");
    assert_eq!(read_reference(&path), Some(0), "as it was");
    assert!(!path.join(COMPACTING).exists());
    drop(running);
}

#[test]
fn files_that_are_not_the_stores_are_left_where_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    bloated(&path);
    fs::create_dir(path.join("lost+found")).unwrap();
    fs::write(path.join("lost+found").join("inode"), b"kept").unwrap();
    grown(&path);
    compact_if_due(&path, 8, ALWAYS).unwrap().unwrap();
    assert_eq!(
        fs::read(path.join("lost+found").join("inode")).unwrap(),
        b"kept"
    );
}

#[test]
fn the_first_size_noted_is_kept_until_a_compaction_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    bloated(&path);
    note_size(&path, || true).unwrap();
    let noted = read_reference(&path).unwrap();
    assert_eq!(
        noted,
        dir_bytes(&path).unwrap() - noted.to_string().len() as u64
    );
    let tenth = Compaction {
        min_bytes: 0,
        growth: 1.10,
    };
    assert_eq!(
        compact_if_due(&path, 8, tenth).unwrap(),
        None,
        "not grown since"
    );
    bloated(&path);
    note_size(&path, || true).unwrap();
    assert_eq!(read_reference(&path), Some(noted));
    grown(&path);
    let done = compact_if_due(&path, 8, ALWAYS).unwrap().unwrap();
    assert_eq!(read_reference(&path), Some(done.after));
}

#[path = "compact_crash_tests.rs"]
mod crash;
