//! Format migrations, run when a store written by an older build is opened, and the counting of
//! queues at open. Each migration is idempotent: a crash in the middle leaves the old version
//! number, and the next open runs it again over what is already done.
//!
//! - 1 → 2: the outbox gets its due-time index (`outbox_due`); dead letters get their header
//!   (dead time and sink) in front of the JSON.
//! - 2 → 3: conversation keys `org \0 id` become `org number + id`, values lose their copy of the
//!   id (see `snapshot.rs`); the fingerprints are dropped, to be rebuilt from the snapshots.
//!   Done in batches: a key that starts with a zero byte is already new (org ids are text, no
//!   org number reaches 2^24), so a second run carries on where the first stopped.

use super::counts::Counts;
use super::dead::{encode_dead, header, DeadLetter};
use super::numbers::OrgNumbers;
use super::outbox::{header_millis, index_key, seq_of, sink_of};
use super::{corrupt, snapshot, Result};

/// Brings the trees from format `from` to the current one.
pub(super) fn migrate(
    from: u32,
    outbox: &sled::Tree,
    index: &sled::Tree,
    dead: &sled::Tree,
) -> Result<()> {
    if from < 2 {
        index_outbox(outbox, index)?;
        head_dead_letters(dead)?;
    }
    Ok(())
}

fn index_outbox(outbox: &sled::Tree, index: &sled::Tree) -> Result<()> {
    let mut batch = sled::Batch::default();
    for item in outbox.iter() {
        let (key, value) = item?;
        batch.insert(
            index_key(&sink_of(&key), header_millis(&value)?, seq_of(&key)?),
            &[],
        );
    }
    index.apply_batch(batch)?;
    Ok(())
}

fn head_dead_letters(dead: &sled::Tree) -> Result<()> {
    let mut batch = sled::Batch::default();
    for item in dead.iter() {
        let (key, value) = item?;
        // Version 1 stored the JSON alone; a value that starts as JSON has no header yet.
        if value.first() == Some(&b'{') {
            let letter: DeadLetter =
                serde_json::from_slice(&value).map_err(|e| corrupt("dead letter", e))?;
            batch.insert(key, encode_dead(&letter)?);
        }
    }
    dead.apply_batch(batch)?;
    Ok(())
}

/// Keys moved per atomic batch in the 2 → 3 migration.
const BATCH: usize = 10_000;

/// 2 → 3: see the module docs.
pub(super) fn compact_conversations(
    conversations: &sled::Tree,
    numbers: &OrgNumbers,
    prints: &sled::Tree,
) -> Result<()> {
    prints.clear()?;
    loop {
        let mut batch = sled::Batch::default();
        let mut moved = 0;
        // Version-3 keys start with a zero byte: what is left of version 2 is the rest.
        for item in conversations.range(&[1u8][..]..) {
            let (key, value) = item?;
            let (new_key, new_value) = compact_one(&key, &value, numbers)?;
            batch.remove(key);
            batch.insert(new_key, new_value);
            moved += 1;
            if moved == BATCH {
                break;
            }
        }
        if moved == 0 {
            return Ok(());
        }
        conversations.apply_batch(batch)?;
    }
}

/// One version-2 conversation (`org \0 id` → revision u64 BE + JSON) in version 3.
fn compact_one(key: &[u8], value: &[u8], numbers: &OrgNumbers) -> Result<(Vec<u8>, Vec<u8>)> {
    let split = key
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| corrupt("version 2 conversation key", "no separator"))?;
    let (org, id) = (&key[..split], &key[split + 1..]);
    let org = std::str::from_utf8(org).map_err(|e| corrupt("version 2 conversation key", e))?;
    let (revision, json) = value
        .split_at_checked(8)
        .ok_or_else(|| corrupt("version 2 snapshot", "too short"))?;
    let revision = u64::from_be_bytes(revision.try_into().expect("8 bytes"));
    let (number, _) = numbers.get_or_make(org)?;
    Ok((
        snapshot::key(number, id),
        snapshot::encode(revision, id, json),
    ))
}

/// Counts queued entries (outbox keys) and dead letters (headers) per sink: once, at open.
pub(super) fn count(outbox: &sled::Tree, dead: &sled::Tree) -> Result<Counts> {
    let counts = Counts::default();
    for key in outbox.iter().keys() {
        counts.queued(&sink_of(&key?), 1, 0);
    }
    for value in dead.iter().values() {
        counts.dead(header(&value?)?.sink, 1, 0);
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Listed, Previous, Store};

    const TEXT: &str = r#"{"conversation_id":"c1","is_read":false}"#;

    /// A version-2 conversation key and value.
    fn v2(org: &str, id: &str, revision: u64, json: &str) -> (Vec<u8>, Vec<u8>) {
        let key = [org.as_bytes(), b"\0", id.as_bytes()].concat();
        let value = [&revision.to_be_bytes()[..], json.as_bytes()].concat();
        (key, value)
    }

    #[test]
    fn format_2_conversations_are_compacted_even_when_a_first_run_stopped_halfway() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            db.insert("format_version", "2").unwrap();
            let conversations = db.open_tree("conversations").unwrap();
            let numbers = OrgNumbers::new(db.open_tree("org_ids").unwrap());
            let (key, value) = v2("org-a", "c1", 4, TEXT);
            conversations.insert(key, value).unwrap();
            let (key, value) = v2("org-b", "c2", 0, r#"{"conversation_id":"c2"}"#);
            // Moved by a first run that stopped before the rest.
            let (new_key, new_value) = compact_one(&key, &value, &numbers).unwrap();
            conversations.insert(new_key, new_value).unwrap();
            let prints = db.open_tree("fingerprints").unwrap();
            prints
                .insert("stale", "left by version 2? never trusted")
                .unwrap();
            compact_conversations(&conversations, &numbers, &prints).unwrap();
            compact_conversations(&conversations, &numbers, &prints).unwrap();
            assert_eq!(conversations.len(), 2);
            assert!(prints.is_empty());
            db.insert("format_version", "2").unwrap();
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
        assert_eq!(store.stored_ids("org-b").count(), 1);
        let same = crate::event::Conversation::from_json(TEXT).unwrap();
        let previous = store.previous("org-a", &[&same]).unwrap();
        assert!(matches!(previous[0], Previous::Same));
    }
}
