//! Fingerprints of the stored snapshots, in memory: the steady-state fast path. They are also
//! kept on disk (`prints.rs`), from which an org's set is loaded when first needed.
//!
//! A fingerprint is a 64-bit hash (XXH3, seeded per process) of a snapshot's JSON text as stored.
//! A received record whose fingerprint is in its org's set is exactly what the store holds, so
//! it costs no store read. The set is a cache of the store, never a source of truth: it starts
//! as stored (or empty), learns a fingerprint when a read finds the stored text equal to the
//! received one, and follows every commit (the replaced and deleted snapshots' fingerprints leave it, the written
//! ones join it). Anything not in it is read from the store as before, so a cold or incomplete
//! set costs speed, never correctness.
//!
//! Each org's set has its own lock, held across a page's reads and learning and across a commit's
//! update, so what it holds always matches what the store holds.

use foldhash::fast::RandomState;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A set of fingerprints.
pub type Set = HashSet<u64, RandomState>;

/// Every org's fingerprints.
#[derive(Debug)]
pub struct Fingerprints {
    seed: u64,
    orgs: Mutex<HashMap<String, Arc<OrgPrints>>>,
}

impl Fingerprints {
    /// An empty set with a fresh seed (so a record cannot be crafted to collide on purpose).
    pub fn new() -> Fingerprints {
        Fingerprints::with_seed(rand::random())
    }

    /// An empty set hashing with `seed` (the store's: fingerprints on disk use it too).
    pub fn with_seed(seed: u64) -> Fingerprints {
        Fingerprints {
            seed,
            orgs: Mutex::default(),
        }
    }

    /// The seed the hashes use.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The fingerprint of a snapshot's JSON text.
    pub fn of(&self, json: &[u8]) -> u64 {
        xxhash_rust::xxh3::xxh3_64_with_seed(json, self.seed)
    }

    /// The org's set; the caller holds [`OrgPrints::lock`] while it reads or writes the store.
    pub fn org(&self, org: &str) -> Arc<OrgPrints> {
        let mut orgs = self.orgs.lock().unwrap_or_else(PoisonError::into_inner);
        match orgs.get(org) {
            Some(prints) => prints.clone(),
            None => orgs.entry(org.to_string()).or_default().clone(),
        }
    }

    /// Follows a commit in the org's set `known` (locked across the commit): the fingerprints of
    /// the snapshots it replaced or deleted leave, those of the ones it wrote join. After a
    /// failed commit, what the store holds is not certain: the set is emptied and learned again
    /// from reads.
    pub fn follow(
        &self,
        known: &mut Set,
        committed: bool,
        replaced: impl IntoIterator<Item = u64>,
        written: impl IntoIterator<Item = u64>,
    ) {
        if !committed {
            // The caller forgets the org's set (what the store holds is not certain).
            known.clear();
            return;
        }
        for old in replaced {
            known.remove(&old);
        }
        for new in written {
            known.insert(new);
        }
    }

    /// How many fingerprints are held, over every org.
    pub fn len(&self) -> usize {
        self.every_org()
            .iter()
            .map(|prints| prints.lock().len())
            .sum()
    }

    /// Forgets every org's fingerprints.
    pub fn clear(&self) {
        for prints in self.every_org() {
            prints.forget(&mut prints.lock());
        }
    }

    fn every_org(&self) -> Vec<Arc<OrgPrints>> {
        let orgs = self.orgs.lock().unwrap_or_else(PoisonError::into_inner);
        orgs.values().cloned().collect()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for Fingerprints {
    fn default() -> Self {
        Fingerprints::new()
    }
}

/// (id hash, fingerprint) pairs. Their keys are hashes already: a fast hasher is enough (the
/// standard one was a few per cent of a first listing's CPU).
pub type Pairs = HashMap<u64, u64, foldhash::fast::RandomState>;

/// One org's fingerprints, and whether they were loaded from the store (see `prints.rs`);
/// until they are, the set holds only what was learned from reads and commits. While an org
/// new to the store is listed for the first time, also every (id hash, fingerprint) pair it
/// stored: its base on disk is then written from them, not from a scan of every snapshot.
#[derive(Debug, Default)]
pub struct OrgPrints(Mutex<Set>, AtomicBool, Mutex<Option<Pairs>>);

impl OrgPrints {
    /// The set, locked. If a thread panicked while holding it, the set may no longer match the
    /// store (a commit landed, its update did not): it is emptied, so it is loaded again.
    pub fn lock(&self) -> MutexGuard<'_, Set> {
        self.0.lock().unwrap_or_else(|poisoned| {
            self.0.clear_poison();
            let mut set = poisoned.into_inner();
            self.forget(&mut set);
            set
        })
    }

    /// Whether the set holds every stored snapshot's fingerprint (loaded, then followed).
    pub fn is_loaded(&self) -> bool {
        self.1.load(Ordering::SeqCst)
    }

    /// Takes the fingerprints loaded from the store (`set` is this org's, locked).
    pub fn loaded(&self, set: &mut Set, from_store: Set) {
        *set = from_store;
        self.1.store(true, Ordering::SeqCst);
    }

    /// Empties the set (`set` is this org's, locked): it is loaded again when next needed.
    pub fn forget(&self, set: &mut Set) {
        set.clear();
        self.1.store(false, Ordering::SeqCst);
        *self.first_base() = None;
    }

    fn first_base(&self) -> MutexGuard<'_, Option<Pairs>> {
        self.2.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Follows a commit's `(id hash, Some(print))` writes and `(id hash, None)` deletions in
    /// the pairs of a first listing: they start with the commit that gave the org its number
    /// (`new_org`: nothing of it was stored before), and are dropped for good by a failed
    /// commit (what the store holds is then not certain; the base is built by a scan).
    pub fn follow_base(&self, new_org: bool, committed: bool, changes: &[(u64, Option<u64>)]) {
        let mut base = self.first_base();
        if !committed {
            *base = None;
            return;
        }
        if new_org {
            *base = Some(Pairs::default());
        }
        let Some(pairs) = base.as_mut() else {
            return;
        };
        for &(hash, print) in changes {
            match print {
                Some(print) => pairs.insert(hash, print),
                None => pairs.remove(&hash),
            };
        }
    }

    /// Takes the pairs of a first listing, when they were followed from its start.
    pub fn take_base(&self) -> Option<Pairs> {
        self.first_base().take()
    }
}
