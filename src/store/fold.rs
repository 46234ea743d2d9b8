//! An org's snapshots as one view over its levels (see `packs.rs`), in id order; and the fold,
//! which writes that view as one new run and removes what it replaces.

use super::packs::{self, Packer};
use super::{snapshot, Result, Store, StoreError};
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// An org has at most this many runs after a listing: each is one more place a lookup asks
/// (about 3 µs each). A first listing writes a run per 10,000 conversations, so orgs of up to
/// 160,000 are not rewritten right after it (which would double what the store file holds).
pub(super) const MAX_RUNS: usize = 16;

/// Packs written per atomic batch by a fold (about 2 MB).
const FOLD_BATCH: usize = 256;

type Entry = (Vec<u8>, Vec<u8>);

/// One level of an org's snapshots, in id order.
enum Source {
    Level0(sled::Iter),
    Run {
        packs: sled::Iter,
        entries: std::vec::IntoIter<Entry>,
    },
}

impl Iterator for Source {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        let (packs, entries) = match self {
            Source::Level0(keys) => {
                return Some(
                    keys.next()?
                        .map_err(StoreError::from)
                        .map(|(key, value)| (snapshot::id_of(&key).to_vec(), value.to_vec())),
                )
            }
            Source::Run { packs, entries } => (packs, entries),
        };
        loop {
            if let Some(entry) = entries.next() {
                return Some(Ok(entry));
            }
            let pack = match packs.next()? {
                Ok((_, pack)) => pack,
                Err(error) => return Some(Err(error.into())),
            };
            let list = packs::entries(&pack)
                .map(|entry| entry.map(|(id, value)| (id.to_vec(), value.to_vec())))
                .collect::<Result<Vec<_>>>();
            match list {
                Ok(list) => *entries = list.into_iter(),
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

/// The next entry of a source: ordered by id, then by the source's rank (0 answers first).
struct Head {
    id: Vec<u8>,
    rank: usize,
    value: Vec<u8>,
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        (&self.id, self.rank).cmp(&(&other.id, other.rank))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

/// An org's snapshots, every level merged: `(id, value)`, each conversation once and as the
/// first level that has it says, in id order; removed ones (tombstones) left out. After an
/// error it ends.
pub(super) struct Merged {
    sources: Vec<Source>,
    heads: BinaryHeap<Reverse<Head>>,
    failed: Option<StoreError>,
}

impl Merged {
    fn new(sources: Vec<Source>) -> Merged {
        let mut merged = Merged {
            heads: BinaryHeap::with_capacity(sources.len()),
            sources,
            failed: None,
        };
        (0..merged.sources.len()).for_each(|rank| merged.advance(rank));
        merged
    }

    fn failed(error: StoreError) -> Merged {
        Merged {
            sources: Vec::new(),
            heads: BinaryHeap::new(),
            failed: Some(error),
        }
    }

    fn advance(&mut self, rank: usize) {
        match self.sources[rank].next() {
            Some(Ok((id, value))) => self.heads.push(Reverse(Head { id, rank, value })),
            Some(Err(error)) => self.failed = self.failed.take().or(Some(error)),
            None => {}
        }
    }
}

impl Iterator for Merged {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(error) = self.failed.take() {
                self.heads.clear();
                self.sources.clear();
                return Some(Err(error));
            }
            let Reverse(head) = self.heads.pop()?;
            self.advance(head.rank);
            // The same conversation in lower levels: what they say is older.
            while self
                .heads
                .peek()
                .is_some_and(|Reverse(next)| next.id == head.id)
            {
                let rank = self.heads.pop().map_or(0, |Reverse(next)| next.rank);
                self.advance(rank);
            }
            if !head.value.is_empty() && self.failed.is_none() {
                return Some(Ok((head.id, head.value)));
            }
        }
    }
}

/// The snapshots of org number `org` in `level0` and its runs, every level merged.
pub(super) fn merged(level0: &sled::Tree, runs: &packs::Runs, org: u32) -> Merged {
    let numbers = match runs.of(org) {
        Ok(numbers) => numbers,
        Err(error) => return Merged::failed(error),
    };
    let level0 = Source::Level0(level0.scan_prefix(org.to_be_bytes()));
    let runs = numbers.into_iter().rev().map(|run| Source::Run {
        packs: runs.tree.scan_prefix(packs::run_prefix(org, run)),
        entries: Vec::new().into_iter(),
    });
    Merged::new(std::iter::once(level0).chain(runs).collect())
}

impl Store {
    /// Every stored snapshot of `org` (none for an org without a number), see [`Merged`].
    pub(super) fn org_snapshots(&self, org: &str) -> Merged {
        match self.numbers.get(org) {
            Ok(Some(number)) => self.snapshots_of(number),
            Ok(None) => Merged::new(Vec::new()),
            Err(error) => Merged::failed(error),
        }
    }

    fn snapshots_of(&self, org: u32) -> Merged {
        merged(&self.conversations, &self.runs, org)
    }

    /// Folds the org's levels after its listing when it has more runs than a lookup should
    /// ask (a first listing of over 160,000 conversations). Level 0 is otherwise folded into
    /// the runs only by a compaction (`compact.rs`): a fold here rewrites the org, and sled keeps
    /// the space of what it replaced, so folding as level 0 grew made the store grow fivefold
    /// over a thousand polls, where a compaction's copy is written full.
    pub(super) fn fold_if_due(&self, org: &str) -> Result<()> {
        let Some(number) = self.numbers.get(org)? else {
            return Ok(());
        };
        if self.runs.of(number)?.len() > MAX_RUNS {
            self.watch(|| self.fold_snapshots(number))?;
        }
        Ok(())
    }

    /// Writes the org's snapshots, every level merged, as one new run, then removes the runs
    /// and the level-0 keys it replaces. The caller holds the org's fingerprint lock: no commit
    /// runs meanwhile. A crash part way loses nothing: the new run is the newest, each of its
    /// entries is what the levels say, and the old runs go (in one batch) before level 0, whose
    /// tombstones hide what they still hold until then.
    pub(super) fn fold_snapshots(&self, org: u32) -> Result<()> {
        let old = self.runs.of(org)?;
        let run = self.runs.next(org)?;
        let written = write_run(self.snapshots_of(org), &self.runs.tree, org, run);
        let wrote_any = match written {
            Ok(wrote_any) => wrote_any,
            Err(error) => {
                self.runs.forget(org);
                return Err(error);
            }
        };
        let mut runs = old.clone();
        runs.extend(wrote_any.then_some(run));
        self.runs.set(org, runs);
        let mut batch = sled::Batch::default();
        for run in &old {
            for key in self
                .runs
                .tree
                .scan_prefix(packs::run_prefix(org, *run))
                .keys()
            {
                batch.remove(key?);
            }
        }
        self.runs.tree.apply_batch(batch)?;
        self.runs
            .set(org, if wrote_any { vec![run] } else { Vec::new() });
        let mut level0 = sled::Batch::default();
        for key in self.conversations.scan_prefix(org.to_be_bytes()).keys() {
            level0.remove(key?);
        }
        self.conversations.apply_batch(level0)?;
        Ok(())
    }
}

/// Writes `snapshots` (in id order) into `to` as run `run` of org `org`, in batches; whether
/// the run holds anything.
pub(super) fn write_run(
    snapshots: impl Iterator<Item = Result<Entry>>,
    to: &sled::Tree,
    org: u32,
    run: u32,
) -> Result<bool> {
    let mut packer = Packer::new(org, run);
    let (mut batch, mut in_batch, mut wrote_any) = (sled::Batch::default(), 0, false);
    for item in snapshots {
        let (id, value) = item?;
        let Some((key, pack)) = packer.push(&id, &value) else {
            continue;
        };
        batch.insert(key, pack);
        (in_batch, wrote_any) = (in_batch + 1, true);
        if in_batch == FOLD_BATCH {
            to.apply_batch(std::mem::take(&mut batch))?;
            in_batch = 0;
        }
    }
    if let Some((key, pack)) = packer.finish() {
        batch.insert(key, pack);
        wrote_any = true;
    }
    to.apply_batch(batch)?;
    Ok(wrote_any)
}
