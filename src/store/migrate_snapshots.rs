//! Migrating the snapshots of formats 1–3 (tree `conversations`) to format 4 (tree
//! `snapshots`, see `snapshot.rs`), at open.
//!
//! - Formats 1 and 2: key `org \0 id`, value revision (u64 BE) + the JSON text.
//! - Format 3: key org number (u32 BE) + id, value revision (LEB128), where the id was cut out
//!   of the text (LEB128, plus one; 0: not cut), then the text without that copy of the id.
//!
//! A format-3 key starts with a zero byte (org ids are text, no org number reaches 2^24), so each
//! record says which it is: a store a build of format 3 left halfway through its own 2 → 3
//! migration is read as well. Records move in batches, each one atomic step that removes the
//! old keys and writes the new ones: a record is in one tree or the other, never in both and
//! never read in the wrong format, so a crash in the middle leaves the old version number and
//! the next open moves what is left. The emptied tree is dropped at the end.
//!
//! Fingerprints (`prints.rs`) hash the text and the id, which the move keeps byte for byte: a
//! format-3 store keeps them. Those of formats 1 and 2 were never trusted and are dropped, to
//! be rebuilt from the snapshots.

use super::numbers::OrgNumbers;
use super::tx::tx_error;
use super::{corrupt, snapshot, Result};

/// The tree of formats 1–3.
const OLD_TREE: &str = "conversations";

/// Records moved per atomic step (a sled transaction holds them in memory).
const BATCH: usize = 1_000;

/// Moves every record of the old tree into `snapshots`, in format 4 (see the module docs).
pub(super) fn move_snapshots(
    from: u32,
    db: &sled::Db,
    snapshots: &sled::Tree,
    numbers: &OrgNumbers,
    prints: &sled::Tree,
) -> Result<()> {
    if from < 3 {
        prints.clear()?;
    }
    let old = db.open_tree(OLD_TREE)?;
    while move_batch(&old, snapshots, numbers, BATCH)? > 0 {}
    db.drop_tree(OLD_TREE)?;
    Ok(())
}

/// Moves up to `batch` records in one atomic step; how many it moved.
fn move_batch(
    old: &sled::Tree,
    snapshots: &sled::Tree,
    numbers: &OrgNumbers,
    batch: usize,
) -> Result<usize> {
    let mut moves = Vec::with_capacity(batch);
    for item in old.iter().take(batch) {
        let (key, value) = item?;
        let (new_key, new_value) = format_4(&key, &value, numbers)?;
        moves.push((key, new_key, new_value));
    }
    use sled::Transactional;
    (old, snapshots)
        .transaction(|(old, snapshots)| {
            for (key, new_key, new_value) in &moves {
                old.remove(key)?;
                snapshots.insert(new_key.as_slice(), new_value.as_slice())?;
            }
            Ok(())
        })
        .map_err(tx_error)?;
    Ok(moves.len())
}

/// A record of format 1–3 as a format-4 key and value.
fn format_4(key: &[u8], value: &[u8], numbers: &OrgNumbers) -> Result<(Vec<u8>, Vec<u8>)> {
    let (key, revision, text) = match key.first() {
        Some(0) => {
            let (revision, text) = read_3(snapshot::id_of(key), value)?;
            (key.to_vec(), revision, text)
        }
        _ => read_2(key, value, numbers)?,
    };
    let value = snapshot::encode(revision, snapshot::id_of(&key), &text);
    Ok((key, value))
}

/// A format-3 value: its revision and its text.
fn read_3(id: &[u8], value: &[u8]) -> Result<(u64, Vec<u8>)> {
    let mut bytes = value;
    let revision = snapshot::take_number(&mut bytes)?;
    let cut = snapshot::take_number(&mut bytes)?;
    let Some(at) = cut.checked_sub(1) else {
        return Ok((revision, bytes.to_vec()));
    };
    let at = usize::try_from(at)
        .ok()
        .filter(|&at| at <= bytes.len())
        .ok_or_else(|| corrupt("format 3 snapshot", "the id's place is past the end"))?;
    Ok((revision, [&bytes[..at], id, &bytes[at..]].concat()))
}

/// A format-1 or -2 record: its format-4 key, its revision and its text.
fn read_2(key: &[u8], value: &[u8], numbers: &OrgNumbers) -> Result<(Vec<u8>, u64, Vec<u8>)> {
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
    Ok((snapshot::key(number, id), revision, json.to_vec()))
}

#[cfg(test)]
#[path = "migrate_snapshots_tests.rs"]
mod tests;
