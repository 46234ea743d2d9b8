//! Migrations of the snapshots from formats 2 and 3 (see `migrate_snapshots.rs`).

use super::*;
use crate::store::{Listed, Previous, Store, FORMAT_VERSION};

const TEXT: &str = r#"{"conversation_id":"c1","is_read":false}"#;

/// A version-2 conversation key and value.
fn v2(org: &str, id: &str, revision: u64, json: &str) -> (Vec<u8>, Vec<u8>) {
    let key = [org.as_bytes(), b"\0", id.as_bytes()].concat();
    let value = [&revision.to_be_bytes()[..], json.as_bytes()].concat();
    (key, value)
}

/// A version-3 conversation key and value: the id cut out of the text where it is first
/// between quotes (revisions below 128: one byte).
fn v3(org: u32, id: &str, revision: u8, json: &str) -> (Vec<u8>, Vec<u8>) {
    let key = snapshot::key(org, id.as_bytes());
    let quoted = format!("\"{id}\"");
    let value = match json.find(&quoted) {
        Some(at) if at + 1 < 0x80 => {
            let rest = [&json[..at + 1], &json[at + 1 + id.len()..]].concat();
            [&[revision, at as u8 + 2][..], rest.as_bytes()].concat()
        }
        _ => [&[revision, 0][..], json.as_bytes()].concat(),
    };
    (key, value)
}

/// Records as upstream sends them, and one that names its id only after an escape.
fn records() -> Vec<(String, String)> {
    let mut records: Vec<(String, String)> = (0..5)
        .map(|i| {
            let id = format!("gAAAAAB-conversation-{i}");
            let json = format!(
                r#"{{"conversation_id":"{id}","start_at":"2026-04-29T14:00:00Z","last_activity_at":"2026-04-29T16:0{i}:00Z","folder":"inbox","is_read":{},"contact_id":"gAAAAAB-contact"}}"#,
                i % 2 == 0
            );
            (id, json)
        })
        .collect();
    records.push((
        "c\"9".into(),
        r#"{"conversation_id":"c\"9","folder":null}"#.into(),
    ));
    records
}

/// A store a build of format 3 left: org `org-a` numbered 1, [`records`] at revision 3.
fn write_format_3(path: &std::path::Path) -> sled::Db {
    let db = sled::open(path).unwrap();
    db.insert("format_version", "3").unwrap();
    db.open_tree("org_ids")
        .unwrap()
        .insert("org-a", &1u32.to_be_bytes())
        .unwrap();
    let old = db.open_tree(OLD_TREE).unwrap();
    for (id, json) in records() {
        let (key, value) = v3(1, &id, 3, &json);
        old.insert(key, value).unwrap();
    }
    db
}

/// Every record of [`records`] is there, byte for byte, and is what a listing finds the same.
fn assert_all_there(store: &Store) {
    let records = records();
    assert_eq!(store.count_stored("org-a"), records.len());
    for (id, json) in &records {
        let stored = store.snapshot("org-a", id).unwrap().expect("kept");
        assert_eq!(stored.revision, 3);
        assert_eq!(
            &*stored.conversation.text(),
            json.as_bytes(),
            "byte for byte"
        );
        let same = crate::event::Conversation::from_json(json).unwrap();
        let previous = store.previous("org-a", &[&same]).unwrap();
        assert!(matches!(previous[0], Previous::Same), "{id}");
    }
    assert!(!store
        .db
        .tree_names()
        .iter()
        .any(|t| &**t == OLD_TREE.as_bytes()));
    let version = store.db.get("format_version").unwrap().unwrap();
    assert_eq!(&*version, FORMAT_VERSION.to_string().as_bytes());
}

#[test]
fn a_format_3_store_is_moved_to_format_4_and_reads_back_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let db = write_format_3(dir.path());
    db.flush().unwrap();
    drop(db);
    let store = Store::open(dir.path(), 4).unwrap();
    assert_all_there(&store);
    let value = store.conversations.iter().values().next().unwrap().unwrap();
    assert!(value.len() < 80, "tokenized: {} bytes", value.len());
}

#[test]
fn a_migration_from_format_3_stopped_halfway_carries_on_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = write_format_3(dir.path());
        let (old, new) = (
            db.open_tree(OLD_TREE).unwrap(),
            db.open_tree("snapshots").unwrap(),
        );
        let numbers = OrgNumbers::new(db.open_tree("org_ids").unwrap());
        // A first run's first atomic step, then the crash.
        assert_eq!(move_batch(&old, &new, &numbers, 2).unwrap(), 2);
        assert_eq!((old.len(), new.len()), (records().len() - 2, 2));
        db.flush().unwrap();
    }
    let store = Store::open(dir.path(), 4).unwrap();
    assert_all_there(&store);
    drop(store);
    let store = Store::open(dir.path(), 4).unwrap();
    assert_all_there(&store);
}

#[test]
fn format_2_conversations_are_compacted_even_when_a_first_run_stopped_halfway() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.insert("format_version", "2").unwrap();
        let conversations = db.open_tree(OLD_TREE).unwrap();
        let numbers = OrgNumbers::new(db.open_tree("org_ids").unwrap());
        let (key, value) = v2("org-a", "c1", 4, TEXT);
        conversations.insert(key, value).unwrap();
        // Moved to format 3 by a build of format 3 that stopped before the rest.
        let (number, _) = numbers.get_or_make("org-b").unwrap();
        let (key, value) = v3(number, "c2", 0, r#"{"conversation_id":"c2"}"#);
        conversations.insert(key, value).unwrap();
        let prints = db.open_tree("fingerprints").unwrap();
        prints
            .insert("stale", "left by version 2? never trusted")
            .unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(dir.path(), 4).unwrap();
    let stored = store.snapshot("org-a", "c1").unwrap().unwrap();
    assert_eq!(stored.revision, 4);
    assert_eq!(
        &*stored.conversation.text(),
        TEXT.as_bytes(),
        "byte for byte"
    );
    let other = store.snapshot("org-b", "c2").unwrap().unwrap();
    assert_eq!(&*other.conversation.text(), br#"{"conversation_id":"c2"}"#);
    assert_eq!(store.stored_ids("org-b").count(), 1);
    assert!(store.prints.get("stale").unwrap().is_none());
    let same = crate::event::Conversation::from_json(TEXT).unwrap();
    let previous = store.previous("org-a", &[&same]).unwrap();
    assert!(matches!(previous[0], Previous::Same));
}

#[test]
fn a_format_3_value_whose_id_place_is_past_its_end_is_refused() {
    assert!(read_3(b"c1", &[3, 9, b'{', b'}']).is_err());
    assert_eq!(
        read_3(b"c1", &[3, 0, b'{', b'}']).unwrap(),
        (3, b"{}".to_vec())
    );
    assert_eq!(
        read_3(b"c1", &[3, 2, b'"', b'"']).unwrap(),
        (3, b"\"c1\"".to_vec())
    );
}
