//! The only module that knows sled: conversation state, per-org state, the outbox and dead
//! letters, and the atomic commit that ties state and outbox together.
//!
//! Trees and keys:
//! - `snapshots`: org number (u32 BE) + conversation → revision, snapshot JSON tokenized, less
//!   its id (see `snapshot.rs`; formats 1–3 kept them in `conversations`); empty: removed
//! - `snapshot_packs`: org number + run number (u32 BE each) + first id → many snapshots, as
//!   an org's first listing and a compaction write them (see `packs.rs`, `fold.rs`)
//! - `org_ids`: `org` → its number (u32 BE, see `numbers.rs`)
//! - `orgs`: `org` → [`OrgState`] JSON (written when its outcome changes, see `orgs.rs`)
//! - `outbox`: `sink \0 seq` (u64 BE) → next attempt (i64 BE, ms) + [`OutboxEntry`] JSON
//! - `outbox_due`: `sink \0 next attempt (u64 BE, ms) seq` → nothing: the due-time index
//! - `dead_letters`: `seq` (u64 BE) → dead time, sink + [`DeadLetter`] JSON
//! - `delivered`: `detected (u64 BE, ms) event id` → sinks + event JSON: the delivered-events
//!   log that `replay` reads (see `delivered.rs`)
//! - `reminders`, `reminders_due`: reminder clocks and when each is next due (see `reminders.rs`)
//! - `messages`: Slack app mode's message per (org, conversation, sink) (see `messages.rs`)
//! - `sink_state`: `sink` → [`SinkHealth`] JSON: failing since, disabled (see `sinks.rs`)
//! - `fingerprints`: `org \0 b` → (id hash, fingerprint) pairs; `org \0 j seq` → what a commit
//!   changed in them (see `prints.rs`)
//! - default tree: `format_version`, `poll` (covers every poll number an entry carries),
//!   `id_base` (added to sled's id counter since the last compaction, see `compact.rs`)
//! - beside sled's files: `compacted`, the store's size after its last compaction
//!
//! Queue sizes per sink and the delivered log's size are counters ([`SinkCounts`], [`LogSize`]),
//! counted once at open.

mod commit;
mod compact;
mod counts;
mod dead;
mod delivered;
mod due;
mod fingerprints;
mod fold;
mod fresh;
mod messages;
mod migrate;
mod migrate_snapshots;
mod numbers;
mod open;
mod orgs;
mod outbox;
mod packs;
mod prints;
mod reminders;
mod sinks;
mod snapshot;
mod state;
mod swap;
mod tokens;
mod tx;

pub use commit::Commit;
pub use compact::{compact_if_due, compaction_due, note_size, Compacted, Compaction};
pub use counts::SinkCounts;
pub use dead::{DeadFilter, DeadLetter};
pub use delivered::{LogSize, Logged};
pub use due::{Cursor, Due};
pub use fingerprints::Fingerprints;
pub use messages::{MessageRef, PostAttempt, Posted};
pub use orgs::OrgState;
pub use outbox::OutboxEntry;
pub use reminders::{DueReminder, ReminderWrite};
pub use sinks::{Disabled, SinkHealth};
pub use state::{Encoded, Listed, Previous};

use open::{check_version, open_db};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The on-disk format this build reads and writes (older ones are migrated at open).
pub const FORMAT_VERSION: u32 = 5;

/// What can go wrong with the store; callers branch on `Locked` and `Version`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process has the store open.
    #[error(
        "the store at {path} is in use by another hyperrep-notifier process: stop that one \
         first, or give this one its own store.path (one process per store; in Kubernetes, \
         one replica per volume)"
    )]
    Locked { path: PathBuf },
    /// Written by a build with another on-disk format.
    #[error(
        "the store at {path} has format version {found}; this build reads version {FORMAT_VERSION}"
    )]
    Version { path: PathBuf, found: String },
    /// sled failed (I/O, corruption).
    #[error("store error: {0}")]
    Sled(#[from] sled::Error),
    /// A record this build cannot read.
    #[error("unreadable store record: {0}")]
    Corrupt(String),
}

/// Store results.
pub type Result<T> = std::result::Result<T, StoreError>;

/// How much work the store did (for benchmarks and metrics): operations and bytes written.
#[derive(Debug, Default)]
pub struct Counters {
    commits: AtomicU64,
    reads: AtomicU64,
    writes: AtomicU64,
    removes: AtomicU64,
    bytes_written: AtomicU64,
}

/// A reading of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreStats {
    /// Atomic commits (each is a sled transaction: its own log writes).
    pub commits: u64,
    /// Point reads (`get`).
    pub reads: u64,
    /// Keys written.
    pub writes: u64,
    /// Keys removed.
    pub removes: u64,
    /// Bytes of keys and values written.
    pub bytes_written: u64,
}

impl Counters {
    fn committed(&self) {
        self.commits.fetch_add(1, Ordering::Relaxed);
    }
    fn read(&self, n: usize) {
        self.reads.fetch_add(n as u64, Ordering::Relaxed);
    }
    fn wrote(&self, keys: usize, bytes: usize) {
        self.writes.fetch_add(keys as u64, Ordering::Relaxed);
        self.bytes_written
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }
    fn removed(&self, n: usize) {
        self.removes.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// The open store; cheap to clone (sled handles are shared).
#[derive(Clone)]
pub struct Store {
    counters: Arc<Counters>,
    db: sled::Db,
    conversations: sled::Tree,
    /// The packed levels of the snapshots (see `packs.rs`).
    runs: Arc<packs::Runs>,
    orgs: sled::Tree,
    outbox: sled::Tree,
    outbox_due: sled::Tree,
    dead: sled::Tree,
    delivered: sled::Tree,
    reminders: sled::Tree,
    reminders_due: sled::Tree,
    messages: sled::Tree,
    sink_state: sled::Tree,
    /// The `sink_state` tree in memory: the dispatcher reads it before every attempt.
    sink_health: Arc<sinks::HealthCache>,
    counts: Arc<counts::Counts>,
    log: Arc<delivered::LazyCounts>,
    health: Arc<tx::Health>,
    /// Org states and the poll counter, written only when they matter (see `orgs.rs`).
    polls: Arc<orgs::Polls>,
    /// The fingerprints of the stored snapshots (see `fingerprints.rs` and `prints.rs`).
    fingerprints: Arc<Fingerprints>,
    /// Their tree.
    prints: sled::Tree,
    /// The orgs' short numbers.
    numbers: Arc<numbers::OrgNumbers>,
    /// Whether an org's set is kept after its listing (see [`Store::keep_fingerprints`]).
    keep_prints: bool,
    /// Added to sled's id counter, which starts again in a compacted store (see `compact.rs`).
    id_base: u64,
}

impl Store {
    /// Opens (creating when missing) the store at `path` with a bounded page cache.
    pub fn open(path: &Path, cache_mb: u64) -> Result<Store> {
        // A compaction cut short is finished (or undone) before sled sees the directory.
        compact::recover(path)?;
        let db = open_db(path, cache_mb)?;
        let (outbox, outbox_due) = (db.open_tree("outbox")?, db.open_tree("outbox_due")?);
        let dead = db.open_tree("dead_letters")?;
        let conversations = db.open_tree(compact::LEVEL_0)?;
        let numbers = numbers::OrgNumbers::new(db.open_tree("org_ids")?);
        let prints = db.open_tree("fingerprints")?;
        let found = check_version(&db, path)?;
        if found < FORMAT_VERSION {
            tracing::info!(
                from = found,
                to = FORMAT_VERSION,
                "migrating the store format"
            );
            migrate::migrate(found, &outbox, &outbox_due, &dead)?;
            migrate_snapshots::move_snapshots(found, &db, &conversations, &numbers, &prints)?;
            db.insert("format_version", FORMAT_VERSION.to_string().as_bytes())?;
            db.flush()?;
        }
        let delivered = db.open_tree("delivered")?;
        let sink_state = db.open_tree("sink_state")?;
        Ok(Store {
            counters: Arc::default(),
            sink_health: Arc::new(sinks::HealthCache::load(&sink_state)?),
            sink_state,
            conversations,
            runs: Arc::new(packs::Runs::new(db.open_tree(compact::PACKS)?)),
            orgs: db.open_tree("orgs")?,
            counts: Arc::new(migrate::count(&outbox, &dead)?),
            log: Arc::default(),
            delivered,
            health: Arc::default(),
            polls: Arc::new(orgs::Polls::open(&db)?),
            outbox,
            outbox_due,
            dead,
            reminders: db.open_tree("reminders")?,
            reminders_due: db.open_tree("reminders_due")?,
            messages: db.open_tree("messages")?,
            fingerprints: Arc::new(Fingerprints::with_seed(prints::seed(&db)?)),
            prints,
            numbers: Arc::new(numbers),
            keep_prints: false,
            id_base: compact::id_base(&db)?,
            db,
        })
    }

    /// Keeps each org's fingerprints in memory after its listing, for the next one: worth it
    /// for a process that polls again and again (about 16 to 21 bytes per stored conversation).
    /// Without it (`run --once`), an org's set is loaded from the store for its listing and let
    /// go after it, so memory holds the orgs being listed, not all of them. Call before the
    /// store is cloned: clones share the fingerprints they were made with.
    pub fn keep_fingerprints(mut self) -> Store {
        self.keep_prints = true;
        self
    }

    /// How many fingerprints are held in memory.
    pub fn fingerprint_count(&self) -> usize {
        self.fingerprints.len()
    }

    /// Drops every fingerprint held in memory, as a restart would: the next poll loads each
    /// org's set from the store again (benchmarks measure that first poll this way).
    pub fn forget_fingerprints(&self) {
        self.fingerprints.clear();
    }

    /// The listing of `org` is over: its fingerprints are let go unless they are kept, and its
    /// snapshot levels folded when they are due (see `fold.rs`).
    pub fn listing_done(&self, org: &str) {
        let prints = self.fingerprints.org(org);
        let mut known = prints.lock();
        // The org's stored fingerprints are built after its first listing, and their journal
        // folded into the base when it has grown (see `prints.rs`).
        let first = prints.take_base();
        match prints::maintain(&self.prints, org, known.len()) {
            Ok(true) => match self.first_prints(org, first) {
                Ok(set) => prints.loaded(&mut known, set),
                Err(error) => tracing::warn!(%error, "cannot store the org's fingerprints"),
            },
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "cannot read the org's fingerprints"),
        }
        // Under the lock: no commit of the org runs while its levels are rewritten.
        if let Err(error) = self.fold_if_due(org) {
            tracing::warn!(%error, "cannot fold the org's snapshots");
        }
        if !self.keep_prints {
            prints.forget(&mut known);
        }
    }

    /// What the store has done since it was opened.
    pub fn stats(&self) -> StoreStats {
        let c = &self.counters;
        StoreStats {
            commits: c.commits.load(Ordering::Relaxed),
            reads: c.reads.load(Ordering::Relaxed),
            writes: c.writes.load(Ordering::Relaxed),
            removes: c.removes.load(Ordering::Relaxed),
            bytes_written: c.bytes_written.load(Ordering::Relaxed),
        }
    }

    /// A new id, above every id this store gave before (sled's counter, carried over
    /// compactions): outbox sequence numbers and fingerprint journal places.
    fn next_id(&self) -> Result<u64> {
        Ok(self.id_base.saturating_add(self.db.generate_id()?))
    }

    /// Makes everything written so far durable.
    pub async fn flush(&self) -> Result<()> {
        let flushed = self.db.flush_async().await.map_err(StoreError::from);
        self.watch(|| flushed.map(drop))
    }
}

/// `a \0 b`: keys that group by their first part under a prefix scan.
fn pair_key(first: &str, second: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(first.len() + 1 + second.len());
    key.extend_from_slice(first.as_bytes());
    key.push(0);
    key.extend_from_slice(second);
    key
}

/// `a \0`: the prefix of every [`pair_key`] starting with `first`.
fn prefix(first: &str) -> Vec<u8> {
    pair_key(first, b"")
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {error}"))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod queue_tests;

#[cfg(test)]
mod packs_tests;
