//! Rewriting a store that has grown well past what it holds into a new, compact one, when a
//! process that polls opens it.
//!
//! sled reuses a log segment only once at most half of it is live, and scattered updates (0.5 %
//! of the conversations a poll) leave every segment part-live, so a store written full by its
//! first listing grows by 40–90 % over a thousand polls and stays there. A copy of every tree
//! into a new store is written full again, each org's snapshots packed into one run (its level
//! 0 and runs merged, see `packs.rs`); [`swap`](super::swap) then puts it in place of the old
//! one, safely against a crash at any point. A compaction is due once the store has grown
//! by [`Compaction::growth`] over its size after the last one (kept in the file [`REFERENCE`]),
//! so it costs nothing while the store does not grow, and its cost (about that of a first
//! listing) is spread over the hundreds of polls that grew it. Before its first compaction, a
//! store's reference is its size once every org had its first listing ([`note_size`]).

use super::fold;
use super::open::open_db;
use super::packs::Runs;
use super::swap::{self, COMPACTING};
use super::{Result, StoreError};
use std::collections::BTreeSet;
use std::path::Path;

/// The file, in the store's directory, that holds the store's size after its last compaction
/// (or failed try).
pub(super) const REFERENCE: &str = "compacted";
/// sled's name for its default tree (its `DEFAULT_TREE_ID`, which it does not export).
const DEFAULT_TREE: &[u8] = b"__sled__default";
/// The default tree's key of what is added to sled's id counter (see [`super::Store::next_id`]):
/// a new store's counter starts again at 0, and ids must keep rising across a compaction.
pub(super) const ID_BASE: &[u8] = b"id_base";
/// The trees of an org's snapshots (`packs.rs`), level 0 and the runs: a compaction folds
/// them into runs instead of copying them.
pub(super) const LEVEL_0: &[u8] = b"snapshots";
pub(super) const PACKS: &[u8] = b"snapshot_packs";
/// Bytes of snapshots read from the old store before it is reopened (see [`repack`]); in
/// tests a few KiB, so that the tests' stores of a few orgs are reopened between them.
const REOPEN_BYTES: usize = match cfg!(test) {
    true => 4 * 1024,
    false => 16 * 1024 * 1024,
};
/// Keys copied per atomic batch.
const BATCH: usize = 1_000;

/// When a store is compacted as it is opened to poll.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Compaction {
    /// Below this size a store is left as it is: what a rewrite would save is not worth it.
    pub min_bytes: u64,
    /// Compacted once its size is this many times its size after the last compaction (for a
    /// store never compacted, its size once every org had its first listing: [`note_size`]).
    pub growth: f64,
}

impl Compaction {
    /// Whether a store of `size` bytes is due, `reference` being its size after its last
    /// compaction (none: not known yet, see [`note_size`]).
    pub fn due(&self, size: u64, reference: Option<u64>) -> bool {
        reference.is_some_and(|r| size >= self.min_bytes && size as f64 > r as f64 * self.growth)
    }
}

/// What a compaction did: the store's size before and after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compacted {
    /// Bytes on disk before.
    pub before: u64,
    /// Bytes on disk after.
    pub after: u64,
}

/// Compacts the store at `path` when `policy` says it is due. A copy that fails (a full
/// volume) is removed and the store kept as it is, with a warning (`after` is then `before`):
/// the process polls on, and the next try waits until the store has grown as much again.
pub fn compact_if_due(path: &Path, cache_mb: u64, policy: Compaction) -> Result<Option<Compacted>> {
    let _lock = lock(path)?;
    swap::recover(path).map_err(io_error)?;
    if !path.join("db").exists() {
        return Ok(None);
    }
    let before = dir_bytes(path).map_err(io_error)?;
    if !policy.due(before, read_reference(path)) {
        return Ok(None);
    }
    compact(path, cache_mb, before).map(Some)
}

/// Records the store's size as what the first compaction waits for it to grow past, unless a
/// size is recorded already or `ready` (asked only then) says not yet. For after the first
/// listing of every org: a store written by its first listings is as compact as a copy.
pub fn note_size(path: &Path, ready: impl FnOnce() -> bool) -> Result<()> {
    if read_reference(path).is_some() || !ready() {
        return Ok(());
    }
    write_reference(path, dir_bytes(path).map_err(io_error)?)
}

/// Whether the store at `path` is due for a compaction: a look at its files' sizes, no more.
pub fn compaction_due(path: &Path, policy: Compaction) -> bool {
    dir_bytes(path).is_ok_and(|size| policy.due(size, read_reference(path)))
}

fn compact(path: &Path, cache_mb: u64, before: u64) -> Result<Compacted> {
    // Opened first: a process refused because another one has the store open leaves no trace.
    let old = open_db(path, cache_mb)?;
    tracing::info!(bytes = before, "compacting the store");
    let started = std::time::Instant::now();
    // Recorded before the copy, so that a try is made once per growth: a process that does not
    // live through the copy (killed for its memory limit, or by a liveness probe) must not
    // start it again at every start; a copy that fails likewise waits for as much growth again.
    write_reference(path, before)?;
    if let Err(error) = copy(old, path, cache_mb) {
        tracing::warn!(%error, "cannot compact the store; going on with it as it is");
        swap::recover(path).map_err(io_error)?;
        return Ok(Compacted {
            before,
            after: before,
        });
    }
    swap::mark_ready(path).map_err(io_error)?;
    swap::swap(path).map_err(io_error)?;
    let after = dir_bytes(path).map_err(io_error)?;
    write_reference(path, after)?;
    let took_ms = started.elapsed().as_millis() as u64;
    tracing::info!(before, after, took_ms, "compacted the store");
    Ok(Compacted { before, after })
}

fn write_reference(path: &Path, size: u64) -> Result<()> {
    std::fs::write(path.join(REFERENCE), size.to_string()).map_err(io_error)
}

/// Finishes or undoes a compaction cut short, before sled opens the store at `path`.
pub(super) fn recover(path: &Path) -> Result<()> {
    let _lock = lock(path)?;
    swap::recover(path).map_err(io_error)
}

/// Holds the compaction lock of the store at `path` (see `swap.rs`).
fn lock(path: &Path) -> Result<std::fs::File> {
    swap::lock(path)
        .map_err(io_error)?
        .ok_or_else(|| StoreError::Locked {
            path: path.to_path_buf(),
        })
}

/// Copies every tree of `old`, the store at `path`, into a new store in `path/compacting`, and
/// carries the id counter over.
fn copy(old: sled::Db, path: &Path, cache_mb: u64) -> Result<()> {
    let new = open_db(&path.join(COMPACTING), cache_mb)?;
    for name in old.tree_names() {
        // Through the `Db` itself: a second handle on the default tree would not see its root move.
        match &*name {
            DEFAULT_TREE => copy_tree(&old, &new)?,
            LEVEL_0 | PACKS => {} // folded below
            _ => copy_tree(&old.open_tree(&name)?, &new.open_tree(&name)?)?,
        }
    }
    let old = repack(old, path, cache_mb, &new.open_tree(PACKS)?)?;
    let base = id_base(&old)?.saturating_add(old.generate_id()?);
    new.insert(ID_BASE, &base.to_be_bytes())?;
    new.flush()?;
    Ok(())
}

/// Writes every org's snapshots, its level 0 and its runs merged (`fold.rs`), as one run
/// numbered 0 in `to`: the copy's level 0 is empty, a lookup asks one run, and the store holds
/// each conversation once, about 64 to a sled key. Returns `old`, reopened on the way.
///
/// sled keeps what it reads in memory beyond its cache's size while the store is open: reading
/// 1,000,000 conversations (130 MB packed) held about 130 MiB. So the old store, which the
/// compaction lock keeps every other process from, is closed and opened again between orgs
/// every [`REOPEN_BYTES`] read (one org is read whole).
fn repack(mut old: sled::Db, path: &Path, cache_mb: u64, to: &sled::Tree) -> Result<sled::Db> {
    let orgs = {
        let mut orgs = org_numbers(&old.open_tree(LEVEL_0)?)?;
        orgs.extend(org_numbers(&old.open_tree(PACKS)?)?);
        orgs
    };
    let mut read = 0;
    for org in orgs {
        if read >= REOPEN_BYTES {
            drop(old);
            (old, read) = (open_db(path, cache_mb)?, 0);
        }
        let (level0, runs) = (old.open_tree(LEVEL_0)?, Runs::new(old.open_tree(PACKS)?));
        let counted = fold::merged(&level0, &runs, org).inspect(|pair| {
            read += pair
                .as_ref()
                .map_or(0, |(id, value)| id.len() + value.len());
        });
        fold::write_run(counted, to, org, 0)?;
    }
    Ok(old)
}

/// The org numbers the keys of `tree` start with (one seek per org).
fn org_numbers(tree: &sled::Tree) -> Result<BTreeSet<u32>> {
    let mut orgs = BTreeSet::new();
    let mut from = Some(0u32);
    while let Some(start) = from {
        let Some(key) = tree
            .range(start.to_be_bytes()..)
            .keys()
            .next()
            .transpose()?
        else {
            break;
        };
        let Some(org) = key.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
            return Err(super::corrupt("snapshot key", "shorter than an org number"));
        };
        let org = u32::from_be_bytes(org);
        orgs.insert(org);
        from = org.checked_add(1);
    }
    Ok(orgs)
}

fn copy_tree(from: &sled::Tree, to: &sled::Tree) -> Result<()> {
    let mut batch = sled::Batch::default();
    let mut held = 0;
    for pair in from.iter() {
        let (key, value) = pair?;
        batch.insert(key, value);
        held += 1;
        if held == BATCH {
            to.apply_batch(std::mem::take(&mut batch))?;
            held = 0;
        }
    }
    to.apply_batch(batch)?;
    Ok(())
}

/// What is added to sled's id counter in this store (0 until its first compaction).
pub(super) fn id_base(db: &sled::Db) -> Result<u64> {
    match db.get(ID_BASE)? {
        None => Ok(0),
        Some(bytes) => <[u8; 8]>::try_from(&*bytes)
            .map(u64::from_be_bytes)
            .map_err(|_| StoreError::Corrupt("id_base is not 8 bytes".into())),
    }
}

/// The size after the last compaction; none when unknown (never compacted, or unreadable).
fn read_reference(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path.join(REFERENCE)).ok()?;
    text.trim().parse().ok()
}

/// Bytes of every file under `dir`.
pub(super) fn dir_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        // sled removes files of its own in the background: one gone since the listing is 0.
        let meta = match entry.metadata() {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            meta => meta?,
        };
        total += match meta.is_dir() {
            true => dir_bytes(&entry.path())?,
            false => meta.len(),
        };
    }
    Ok(total)
}

fn io_error(error: std::io::Error) -> StoreError {
    StoreError::Sled(sled::Error::Io(error))
}

#[cfg(test)]
#[path = "compact_tests.rs"]
mod tests;
