//! A commit's part in the packed levels (see `packs.rs`): the snapshots of an org's first
//! listing written as a run of their own, and, once a commit lands, the org's runs and what its
//! level-0 writes hide in them.

use super::commit::{KeyValue, Keys};
use super::packs::Packer;
use super::prints::{id_hash, Changes};
use super::{snapshot, Store};
use crate::diff::Stored;
use foldhash::fast::RandomState;
use std::collections::HashMap;

impl Store {
    /// The packs of run `run` holding `fresh` (the last snapshot of a conversation listed twice
    /// wins), and their fingerprint changes.
    pub(super) fn encode_fresh(
        &self,
        org: u32,
        run: u32,
        fresh: &[Stored],
    ) -> (Vec<KeyValue>, Changes) {
        let mut last: HashMap<&str, &Stored, RandomState> =
            HashMap::with_capacity_and_hasher(fresh.len(), RandomState::default());
        for stored in fresh {
            last.insert(stored.conversation.id(), stored);
        }
        let mut sorted: Vec<(&str, &Stored)> = last.into_iter().collect();
        sorted.sort_unstable_by_key(|(id, _)| *id);
        let seed = self.fingerprints.seed();
        let (mut packer, mut packs) = (Packer::new(org, run), Vec::new());
        let mut prints = Vec::with_capacity(sorted.len());
        for (id, stored) in sorted {
            let text = stored.conversation.to_bytes();
            let value = snapshot::encode(stored.revision, id.as_bytes(), &text);
            packs.extend(packer.push(id.as_bytes(), &value));
            prints.push((
                id_hash(seed, id.as_bytes()),
                Some(self.fingerprints.of(&text)),
            ));
        }
        packs.extend(packer.finish());
        (packs, prints)
    }

    /// After a commit landed: its run is one of the org's, and the packed snapshots that the
    /// level-0 writes and deletions of `hidden` now hide are added to `replaced`. Whether that
    /// is certain: when a run cannot be read, the org's fingerprints in memory must be let go.
    pub(super) fn follow_runs(
        &self,
        keys: &Keys,
        hidden: Vec<Vec<u8>>,
        replaced: &mut Vec<(Vec<u8>, sled::IVec)>,
    ) -> bool {
        if let Some(run) = keys.run {
            let mut runs = keys.runs.clone();
            runs.push(run);
            self.runs.set(keys.number, runs);
        }
        if keys.runs.is_empty() {
            return true;
        }
        for id in hidden {
            match self.runs.find(keys.number, &id) {
                Ok(Some(value)) => replaced.push((id, value.into())),
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "cannot read the org's packed snapshots");
                    return false;
                }
            }
        }
        true
    }
}
