//! Fingerprints on disk (tree `fingerprints`), so that a process starts with what the last one
//! knew: `run --once` on an unchanged store, and the first poll after a restart, read only what
//! changed instead of every snapshot.
//!
//! Per org, the pairs (id hash, fingerprint) of its stored snapshots, in buckets by id hash
//! (`org \0 bucket` (u32 BE) → pairs of u64 LE), and a marker (`org \0` → the bucket bits) that
//! says the buckets are complete. Every commit updates the buckets of what it writes or deletes
//! in its own transaction, so they never disagree with the snapshots. An org without a marker
//! (a store migrated from format 2, or an org stored before) is rebuilt from one scan of its
//! snapshots, once, and marked. Buckets are sized for about 16 pairs at that time, so a commit
//! rewrites a few hundred bytes per change; an org that grows afterwards gets fuller buckets.
//!
//! The hashes are seeded with a value kept in the store (`fingerprint_seed` in the default
//! tree), chosen at random when it is created: fingerprints must be the same from one process
//! to the next, and still cannot be made to collide without the store in hand.

use super::fingerprints::Set;
use super::{pair_key, prefix, Result};
use std::collections::BTreeMap;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Pairs per bucket aimed at when an org's buckets are built.
const PER_BUCKET: usize = 16;

/// Reads the store's seed, choosing one for a store that has none.
pub(super) fn seed(db: &sled::Db) -> Result<u64> {
    let fresh = rand::random::<u64>().to_be_bytes();
    let kept = db.compare_and_swap("fingerprint_seed", None::<&[u8]>, Some(&fresh[..]))?;
    let bytes = match kept {
        Ok(()) => fresh.to_vec(),
        Err(current) => current.current.map(|v| v.to_vec()).unwrap_or_default(),
    };
    let bytes: [u8; 8] = bytes
        .try_into()
        .map_err(|_| super::corrupt("fingerprint seed", "not 8 bytes"))?;
    Ok(u64::from_be_bytes(bytes))
}

/// The hash of a conversation id: which bucket its pair is in, and which pair is its.
pub(super) fn id_hash(seed: u64, id: &[u8]) -> u64 {
    xxh3_64_with_seed(id, seed ^ 0x9e37_79b9_7f4a_7c15)
}

fn bucket_key(org: &str, bits: u8, hash: u64) -> Vec<u8> {
    let bucket = if bits == 0 {
        0
    } else {
        hash >> (64 - u32::from(bits))
    };
    pair_key(org, &(bucket as u32).to_be_bytes())
}

fn decode(value: &[u8]) -> impl Iterator<Item = (u64, u64)> + '_ {
    value.chunks_exact(16).map(|pair| {
        let (hash, print) = pair.split_at(8);
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
        (word(hash), word(print))
    })
}

fn encode(pairs: impl Iterator<Item = (u64, u64)>) -> Vec<u8> {
    let mut value = Vec::new();
    for (hash, print) in pairs {
        value.extend_from_slice(&hash.to_le_bytes());
        value.extend_from_slice(&print.to_le_bytes());
    }
    value
}

/// The org's fingerprints as stored, when its buckets are complete (marked).
pub(super) fn load(tree: &sled::Tree, org: &str) -> Result<Option<Set>> {
    let marker = prefix(org);
    if tree.get(&marker)?.is_none() {
        return Ok(None);
    }
    let mut set = Set::default();
    for item in tree.scan_prefix(&marker) {
        let (key, value) = item?;
        if key.len() > marker.len() {
            set.extend(decode(&value).map(|(_, print)| print));
        }
    }
    Ok(Some(set))
}

/// Builds the org's buckets from its stored snapshots, `(id, fingerprint)`, and marks them
/// complete, in one atomic batch; returns the fingerprints.
pub(super) fn rebuild(
    tree: &sled::Tree,
    org: &str,
    seed: u64,
    snapshots: impl Iterator<Item = Result<(sled::IVec, u64)>>,
) -> Result<Set> {
    let pairs: Vec<(u64, u64)> = snapshots
        .map(|item| item.map(|(id, print)| (id_hash(seed, &id), print)))
        .collect::<Result<_>>()?;
    let bits = (pairs.len() / PER_BUCKET)
        .max(1)
        .next_power_of_two()
        .trailing_zeros() as u8;
    let mut buckets: BTreeMap<Vec<u8>, Vec<(u64, u64)>> = BTreeMap::new();
    for &(hash, print) in &pairs {
        buckets
            .entry(bucket_key(org, bits, hash))
            .or_default()
            .push((hash, print));
    }
    let mut batch = sled::Batch::default();
    for (key, _) in tree.scan_prefix(prefix(org)).flatten() {
        batch.remove(key);
    }
    for (key, pairs) in buckets {
        batch.insert(key, encode(pairs.into_iter()));
    }
    batch.insert(prefix(org), &[bits]);
    tree.apply_batch(batch)?;
    Ok(pairs.into_iter().map(|(_, print)| print).collect())
}

/// Whether the org's buckets should be (re)built for `count` fingerprints: none yet while it
/// has some, or four times fuller than they were sized for.
pub(super) fn needs_sizing(tree: &sled::Tree, org: &str, count: usize) -> Result<bool> {
    Ok(match tree.get(prefix(org))? {
        None => count > 0,
        Some(marker) => {
            let bits = u32::from(marker.first().copied().unwrap_or(0).min(32));
            count > (PER_BUCKET * 4) << bits
        }
    })
}

/// A commit's changes to one org's fingerprints: `(id hash, Some(new print))` for a write,
/// `(id hash, None)` for a delete.
pub(super) type Changes = Vec<(u64, Option<u64>)>;

/// Applies `changes` to the org's buckets inside a commit's transaction; nothing when the org's
/// buckets are not complete (they will be rebuilt from the snapshots).
pub(super) fn apply(
    tx: &sled::transaction::TransactionalTree,
    org: &str,
    changes: &Changes,
) -> sled::transaction::ConflictableTransactionResult<(), ()> {
    if changes.is_empty() {
        return Ok(());
    }
    let Some(marker) = tx.get(prefix(org))? else {
        return Ok(());
    };
    let bits = marker.first().copied().unwrap_or(0).min(32);
    let mut buckets: BTreeMap<Vec<u8>, Vec<(u64, Option<u64>)>> = BTreeMap::new();
    for &(hash, print) in changes {
        buckets
            .entry(bucket_key(org, bits, hash))
            .or_default()
            .push((hash, print));
    }
    for (key, changes) in buckets {
        let old = tx.get(&key)?.map(|v| v.to_vec()).unwrap_or_default();
        let mut pairs: Vec<(u64, u64)> = decode(&old).collect();
        for (hash, print) in changes {
            // A colliding id loses its pair too: that costs it one read, never a wrong answer.
            pairs.retain(|(h, _)| *h != hash);
            pairs.extend(print.map(|p| (hash, p)));
        }
        tx.insert(key, encode(pairs.into_iter()))?;
    }
    Ok(())
}
