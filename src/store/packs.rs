//! Snapshots packed many to a value (tree `snapshot_packs`), so that writing an org's first
//! listing costs a few hundred sled keys instead of one per conversation.
//!
//! sled spends about 10 µs of CPU on every key it inserts, whatever its size: storing 100,000
//! snapshots one key each cost 12× a bare listing of them, and the same bytes in values of 64
//! snapshots cost under 1×. An org's snapshots are in two levels:
//! - level 0, the `snapshots` tree (`snapshot.rs`): one key per conversation, what every change
//!   writes; an empty value there is a tombstone (the conversation was removed);
//! - runs, here: each a sequence of packs sorted by conversation id, written at once. Key: org
//!   number (u32 BE) + run number (u32 BE) + the pack's first id; value: its entries
//!   (`id length, id, value length, value`, LEB128 lengths; the value as in level 0).
//!
//! Level 0 answers first, then the runs, newest first. A run is written by a commit of an
//! org's first listing (its conversations the store does not hold: `Commit::fresh`); by a
//! compaction (`compact.rs`), whose copy holds each org's levels merged as one run and an empty
//! level 0; and by a fold (`fold.rs`) of an org with more runs than a lookup should ask. Nothing
//! else writes or removes packs, and all of it happens under the org's fingerprint lock (or in
//! a copy no one else has open), as commits do: so no commit runs between a lookup here and
//! what it decides.

use super::snapshot::{push_number, take_number};
use super::{corrupt, Result};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// A pack holds at most this many snapshots…
const PACK_ENTRIES: usize = 64;
/// …and stops growing past this many bytes.
const PACK_BYTES: usize = 8 * 1024;

/// The first bytes of every key of run `run` of org `org`.
pub(super) fn run_prefix(org: u32, run: u32) -> [u8; 8] {
    let mut prefix = [0; 8];
    prefix[..4].copy_from_slice(&org.to_be_bytes());
    prefix[4..].copy_from_slice(&run.to_be_bytes());
    prefix
}

fn run_of(key: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(key.get(4..8)?.try_into().ok()?))
}

/// The entries of a pack, in id order: `(id, value)`.
pub(super) fn entries(pack: &[u8]) -> impl Iterator<Item = Result<(&[u8], &[u8])>> {
    let mut rest = pack;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let entry = take_slice(&mut rest).and_then(|id| Ok((id, take_slice(&mut rest)?)));
        if entry.is_err() {
            rest = &[];
        }
        Some(entry)
    })
}

fn take_slice<'a>(bytes: &mut &'a [u8]) -> Result<&'a [u8]> {
    let length = usize::try_from(take_number(bytes)?).unwrap_or(usize::MAX);
    if length > bytes.len() {
        return Err(corrupt("snapshot pack", "an entry cut short"));
    }
    let (taken, rest) = bytes.split_at(length);
    *bytes = rest;
    Ok(taken)
}

/// Cuts entries (sorted by id, each id once) into the packs of a run.
#[derive(Debug)]
pub(super) struct Packer {
    prefix: [u8; 8],
    key: Vec<u8>,
    value: Vec<u8>,
    count: usize,
}

impl Packer {
    pub(super) fn new(org: u32, run: u32) -> Packer {
        Packer {
            prefix: run_prefix(org, run),
            key: Vec::new(),
            value: Vec::new(),
            count: 0,
        }
    }

    /// Adds an entry; hands back the pack it completes, if it does.
    pub(super) fn push(&mut self, id: &[u8], value: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        if self.count == 0 {
            self.key = [&self.prefix[..], id].concat();
        }
        push_number(&mut self.value, id.len() as u64);
        self.value.extend_from_slice(id);
        push_number(&mut self.value, value.len() as u64);
        self.value.extend_from_slice(value);
        self.count += 1;
        let full = self.count == PACK_ENTRIES || self.value.len() >= PACK_BYTES;
        full.then(|| self.take())
    }

    /// The last pack, if it holds anything.
    pub(super) fn finish(mut self) -> Option<(Vec<u8>, Vec<u8>)> {
        (self.count > 0).then(|| self.take())
    }

    fn take(&mut self) -> (Vec<u8>, Vec<u8>) {
        self.count = 0;
        (
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.value),
        )
    }
}

/// The runs of each org, in memory once read: a lookup that level 0 cannot answer asks each.
#[derive(Debug)]
pub(super) struct Runs {
    pub(super) tree: sled::Tree,
    /// Per org number, its run numbers, oldest first.
    known: Mutex<HashMap<u32, Vec<u32>>>,
}

impl Runs {
    pub(super) fn new(tree: sled::Tree) -> Runs {
        Runs {
            tree,
            known: Mutex::default(),
        }
    }

    fn known(&self) -> MutexGuard<'_, HashMap<u32, Vec<u32>>> {
        // Each change is one insert or removal: a panic elsewhere cannot leave it half-changed.
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The org's runs, oldest first.
    pub(super) fn of(&self, org: u32) -> Result<Vec<u32>> {
        if let Some(runs) = self.known().get(&org) {
            return Ok(runs.clone());
        }
        let runs = self.scan(org)?;
        self.known().insert(org, runs.clone());
        Ok(runs)
    }

    /// Reads the org's run numbers from the tree: one seek per run.
    fn scan(&self, org: u32) -> Result<Vec<u32>> {
        let mut runs = Vec::new();
        let mut from = Some(0u32);
        while let Some(start) = from {
            let first = self.tree.range(run_prefix(org, start)..).keys().next();
            let Some(key) = first.transpose()? else { break };
            match (key.starts_with(&org.to_be_bytes()), run_of(&key)) {
                (true, Some(run)) => {
                    runs.push(run);
                    from = run.checked_add(1);
                }
                _ => break,
            }
        }
        Ok(runs)
    }

    /// The number for a new run of the org: above every run it has.
    pub(super) fn next(&self, org: u32) -> Result<u32> {
        let last = self.of(org)?.last().copied();
        match last {
            None => Ok(0),
            Some(last) => last
                .checked_add(1)
                .ok_or_else(|| corrupt("snapshot packs", "no run number left")),
        }
    }

    /// The org's runs are now `runs` (after a commit or a fold that landed).
    pub(super) fn set(&self, org: u32, runs: Vec<u32>) {
        self.known().insert(org, runs);
    }

    /// What the tree holds of the org is not certain (a write failed): read it again next time.
    pub(super) fn forget(&self, org: u32) {
        self.known().remove(&org);
    }

    /// The packed value of conversation `id` of the org: from its newest run that has it.
    pub(super) fn find(&self, org: u32, id: &[u8]) -> Result<Option<Vec<u8>>> {
        for run in self.of(org)?.into_iter().rev() {
            if let Some(value) = self.find_in(org, run, id)? {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    /// The pack that would hold `id` is the last one whose first id is not above it.
    fn find_in(&self, org: u32, run: u32, id: &[u8]) -> Result<Option<Vec<u8>>> {
        let prefix = run_prefix(org, run);
        let until = [&prefix[..], id].concat();
        let Some((key, pack)) = self
            .tree
            .range(&prefix[..]..=&until[..])
            .next_back()
            .transpose()?
        else {
            return Ok(None);
        };
        if !key.starts_with(&prefix) {
            return Ok(None);
        }
        for entry in entries(&pack) {
            let (entry_id, value) = entry?;
            if entry_id == id {
                return Ok(Some(value.to_vec()));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run_of_ids(runs: &Runs, org: u32, ids: &[String]) -> u32 {
        let run = runs.next(org).unwrap();
        let mut packer = Packer::new(org, run);
        let mut packs: Vec<_> = ids
            .iter()
            .filter_map(|id| packer.push(id.as_bytes(), format!("v{id}@{run}").as_bytes()))
            .collect();
        packs.extend(packer.finish());
        for (key, value) in packs {
            runs.tree.insert(key, value).unwrap();
        }
        let mut all = runs.of(org).unwrap();
        all.push(run);
        runs.set(org, all);
        run
    }

    #[test]
    fn a_lookup_takes_the_newest_run_that_has_the_conversation() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let runs = Runs::new(db.open_tree("p").unwrap());
        let ids = |r: std::ops::Range<u32>| r.map(|i| format!("c{i:04}")).collect::<Vec<_>>();
        run_of_ids(&runs, 7, &ids(0..200));
        run_of_ids(&runs, 7, &ids(100..101));
        run_of_ids(&runs, 8, &ids(0..5));
        assert_eq!(runs.of(7).unwrap(), [0, 1]);
        let find = |org, id: &str| {
            runs.find(org, id.as_bytes())
                .unwrap()
                .map(String::from_utf8)
        };
        assert_eq!(find(7, "c0100"), Some(Ok("vc0100@1".into())));
        assert_eq!(find(7, "c0199"), Some(Ok("vc0199@0".into())));
        assert_eq!(find(7, "c0000"), Some(Ok("vc0000@0".into())));
        assert_eq!(find(7, "c0200"), None);
        assert_eq!(find(7, "b"), None);
        assert_eq!(find(9, "c0000"), None);
        runs.forget(7);
        assert_eq!(runs.of(7).unwrap(), [0, 1], "read again from the tree");
        assert_eq!(runs.next(8).unwrap(), 1);
    }

    proptest! {
        #[test]
        fn every_entry_packed_comes_back_and_nothing_else(
            entries_in in proptest::collection::btree_map("[a-z0-9]{0,12}", proptest::collection::vec(any::<u8>(), 0..300), 0..300)
        ) {
            let mut packer = Packer::new(1, 2);
            let mut packs: Vec<_> = entries_in
                .iter()
                .filter_map(|(id, value)| packer.push(id.as_bytes(), value))
                .collect();
            packs.extend(packer.finish());
            let mut back = Vec::new();
            for (key, pack) in &packs {
                prop_assert!(key.starts_with(&run_prefix(1, 2)));
                let first = entries(pack).next().unwrap().unwrap().0;
                prop_assert_eq!(&key[8..], first, "a pack's key names its first id");
                for entry in entries(pack) {
                    let (id, value) = entry.unwrap();
                    back.push((String::from_utf8(id.to_vec()).unwrap(), value.to_vec()));
                }
            }
            prop_assert_eq!(back, entries_in.into_iter().collect::<Vec<_>>());
        }

        #[test]
        fn any_bytes_as_a_pack_read_or_fail_without_panicking(
            pack in proptest::collection::vec(any::<u8>(), 0..64)
        ) {
            let _ = entries(&pack).count();
        }
    }
}
