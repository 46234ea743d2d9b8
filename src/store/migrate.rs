//! Format migrations, run when a store written by an older build is opened, and the counting of
//! queues at open. Each migration is idempotent: a crash in the middle leaves the old version
//! number, and the next open runs it again over what is already done.
//!
//! - 1 → 2: the outbox gets its due-time index (`outbox_due`); dead letters get their header
//!   (dead time and sink) in front of the JSON.
//! - 2 → 3 → 4: the snapshots move to the tree `snapshots` in format 4, from either format in
//!   one step (see `migrate_snapshots.rs`).

use super::counts::Counts;
use super::dead::{encode_dead, header, DeadLetter};
use super::outbox::{header_millis, index_key, seq_of, sink_of};
use super::{corrupt, Result};

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
