//! Fingerprints on disk (tree `fingerprints`), so that a process starts with what the last one
//! knew: `run --once` on an unchanged store, and the first poll after a restart, read only what
//! changed instead of every snapshot.
//!
//! Per org, a base and a journal:
//! - `org \0 b` → the (id hash, fingerprint) pairs of every stored snapshot, as of when the base
//!   was written; its presence says the org's fingerprints are complete;
//! - `org \0 j` + sequence (u64 BE) → what one commit changed: (id hash, 1 + fingerprint) pairs,
//!   0 for a deletion. Written in the commit's own transaction, so base + journal never disagree
//!   with the snapshots.
//!
//! Loading is the base with the journal replayed. After a listing, a journal grown past a quarter
//! of the base (and 64 KiB) is folded into a new base. A journal, not buckets rewritten in
//! place: 500 scattered changes a poll rewrote most pages of a small tree, and sled reclaims such
//! rewrites slowly (the store grew 58 % in 200 polls; with the journal, appends at the end of
//! the tree, see the README). An org without a base (a store migrated from format 2, or a new
//! org after its first listing) is built from one scan of its snapshots.
//!
//! The hashes are seeded with a value kept in the store (`fingerprint_seed` in the default
//! tree), chosen at random when it is created: fingerprints must be the same from one process
//! to the next, and still cannot be made to collide without the store in hand.

use super::fingerprints::{Pairs, Set};
use super::{pair_key, Result, Store};
use xxhash_rust::xxh3::xxh3_64_with_seed;

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

pub(super) fn base_key(org: &str) -> Vec<u8> {
    pair_key(org, b"b")
}

fn journal_prefix(org: &str) -> Vec<u8> {
    pair_key(org, b"j")
}

fn word(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().expect("8 bytes"))
}

fn pairs(value: &[u8]) -> impl Iterator<Item = (u64, u64)> + '_ {
    value
        .chunks_exact(16)
        .map(|pair| (word(&pair[..8]), word(&pair[8..])))
}

fn encode(pairs: impl Iterator<Item = (u64, u64)>) -> Vec<u8> {
    let mut value = Vec::new();
    for (hash, print) in pairs {
        value.extend_from_slice(&hash.to_le_bytes());
        value.extend_from_slice(&print.to_le_bytes());
    }
    value
}

/// The org's pairs (id hash → fingerprint), base and journal, when its base exists; and the
/// journal's size in bytes.
fn read(tree: &sled::Tree, org: &str) -> Result<Option<(Pairs, usize)>> {
    let Some(base) = tree.get(base_key(org))? else {
        return Ok(None);
    };
    let mut map: Pairs = pairs(&base).collect();
    let mut journal = 0;
    for item in tree.scan_prefix(journal_prefix(org)) {
        let (_, value) = item?;
        journal += value.len();
        for (hash, print) in pairs(&value) {
            match print.checked_sub(1) {
                Some(print) => map.insert(hash, print),
                None => map.remove(&hash),
            };
        }
    }
    Ok(Some((map, journal)))
}

/// The org's fingerprints as stored, when it has a base.
pub(super) fn load(tree: &sled::Tree, org: &str) -> Result<Option<Set>> {
    Ok(read(tree, org)?.map(|(map, _)| map.into_values().collect()))
}

/// Writes `pairs` as the org's base, dropping its journal, in one atomic batch.
fn write_base(tree: &sled::Tree, org: &str, pairs: &Pairs) -> Result<()> {
    let mut batch = sled::Batch::default();
    for key in tree.scan_prefix(journal_prefix(org)).keys() {
        batch.remove(key?);
    }
    batch.insert(base_key(org), encode(pairs.iter().map(|(h, p)| (*h, *p))));
    tree.apply_batch(batch)?;
    Ok(())
}

/// Writes `pairs` as the org's first base: what its first listing stored (see
/// [`OrgPrints::follow_base`](super::fingerprints::OrgPrints::follow_base)), or its snapshots
/// scanned; returns the fingerprints.
pub(super) fn write_first(tree: &sled::Tree, org: &str, pairs: Pairs) -> Result<Set> {
    write_base(tree, org, &pairs)?;
    Ok(pairs.into_values().collect())
}

/// Builds the org's base from its stored snapshots, `(id, fingerprint)`; returns the
/// fingerprints.
pub(super) fn rebuild(
    tree: &sled::Tree,
    org: &str,
    seed: u64,
    snapshots: impl Iterator<Item = Result<(sled::IVec, u64)>>,
) -> Result<Set> {
    let map: Pairs = snapshots
        .map(|item| item.map(|(id, print)| (id_hash(seed, &id), print)))
        .collect::<Result<_>>()?;
    write_first(tree, org, map)
}

/// After a listing (the org's commits are held off): whether the org needs a base built from
/// its snapshots (none yet, `count` fingerprints known); a journal grown large is folded into
/// its base here.
pub(super) fn maintain(tree: &sled::Tree, org: &str, count: usize) -> Result<bool> {
    let Some(base) = tree.get(base_key(org))? else {
        return Ok(count > 0);
    };
    let mut journal = 0;
    for value in tree.scan_prefix(journal_prefix(org)).values() {
        journal += value?.len();
    }
    if journal > (base.len() / 4).max(64 * 1024) {
        if let Some((map, _)) = read(tree, org)? {
            write_base(tree, org, &map)?;
        }
    }
    Ok(false)
}

/// A commit's changes to one org's fingerprints: `(id hash, Some(new print))` for a write,
/// `(id hash, None)` for a delete.
pub(super) type Changes = Vec<(u64, Option<u64>)>;

/// Appends `changes` to the org's journal as entry `seq`, inside a commit's transaction;
/// nothing when the org has no base yet (it will be built after its listing).
pub(super) fn apply(
    tx: &sled::transaction::TransactionalTree,
    org: &str,
    seq: u64,
    changes: &Changes,
) -> sled::transaction::ConflictableTransactionResult<(), ()> {
    if changes.is_empty() || tx.get(base_key(org))?.is_none() {
        return Ok(());
    }
    let entries = changes
        .iter()
        .map(|&(hash, print)| (hash, print.map_or(0, |p| p.wrapping_add(1))));
    let mut key = journal_prefix(org);
    key.extend_from_slice(&seq.to_be_bytes());
    tx.insert(key, encode(entries))?;
    Ok(())
}

impl Store {
    /// The fingerprint changes of a commit's writes and deletions (see `prints.rs`).
    pub(super) fn print_changes(
        &self,
        writes: &[(Vec<u8>, Vec<u8>)],
        prints: Vec<u64>,
        deletes: &[Vec<u8>],
    ) -> Changes {
        let seed = self.fingerprints.seed();
        let id = |key: &[u8]| id_hash(seed, super::snapshot::id_of(key));
        let written = (writes.iter().zip(prints)).map(|((key, _), print)| (id(key), Some(print)));
        let deleted = deletes.iter().map(|key| (id(key), None));
        written.chain(deleted).collect()
    }

    /// The org's fingerprints as stored; built from its snapshots (and stored) when they are
    /// not complete yet.
    pub(super) fn stored_prints(&self, org: &str) -> Result<Set> {
        if let Some(set) = load(&self.prints, org)? {
            return Ok(set);
        }
        if self.org_snapshots(org).next().is_none() {
            // Nothing stored yet: the buckets are sized after the first listing.
            return Ok(Set::default());
        }
        self.stored_prints_rebuilt(org)
    }

    /// The org's first base: from what its first listing stored when that is known in full,
    /// else from its snapshots.
    pub(super) fn first_prints(&self, org: &str, first: Option<Pairs>) -> Result<Set> {
        match first {
            Some(pairs) => self.watch(|| write_first(&self.prints, org, pairs)),
            None => self.stored_prints_rebuilt(org),
        }
    }

    /// The org's fingerprints, built from its snapshots and stored.
    pub(super) fn stored_prints_rebuilt(&self, org: &str) -> Result<Set> {
        let snapshots = self.org_snapshots(org).map(|item| {
            let (id, value) = item?;
            let print = self.fingerprints.of(&super::state::text_of(&id, &value));
            Ok((sled::IVec::from(id), print))
        });
        let seed = self.fingerprints.seed();
        self.watch(|| rebuild(&self.prints, org, seed, snapshots))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::Stored;
    use crate::event::Conversation;
    use crate::store::Commit;

    fn write(store: &Store, ids: &[(&str, bool)], deletes: &[&str]) {
        let stored = |(id, read): &(&str, bool)| Stored {
            revision: 0,
            conversation: Conversation::from_value(
                serde_json::json!({"conversation_id": id, "is_read": read}),
            )
            .unwrap(),
        };
        let commit = Commit {
            writes: ids.iter().map(stored).collect(),
            deletes: deletes.iter().map(|d| d.to_string()).collect(),
            ..Commit::default()
        };
        store.commit("o", &commit).unwrap();
    }

    #[test]
    fn a_first_listing_stores_the_fingerprints_a_scan_of_its_snapshots_would() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 8).unwrap();
        write(&store, &[("c1", false), ("c2", false), ("c3", false)], &[]);
        write(&store, &[("c2", true)], &["c3"]);
        store.listing_done("o");
        let first = load(&store.prints, "o")
            .unwrap()
            .expect("a base, after the listing");
        let scanned = store.stored_prints_rebuilt("o").unwrap();
        assert_eq!(first, scanned);
        assert_eq!(first.len(), 2, "c1 and c2 as they are now; c3 is gone");
    }

    #[test]
    fn an_org_stored_before_this_process_gets_its_base_from_a_scan() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 8).unwrap();
        write(&store, &[("c1", false)], &[]);
        drop(store);
        let store = Store::open(dir.path(), 8).unwrap();
        write(&store, &[("c2", false)], &[]);
        store.listing_done("o");
        let base = load(&store.prints, "o").unwrap().expect("a base");
        assert_eq!(
            base.len(),
            2,
            "c1 comes from the scan: the listing never wrote it"
        );
    }
}
