//! Putting a compacted copy of the store in the place of the store, inside its own directory
//! (which may be a volume's mount point, so the directory itself is never renamed).
//!
//! The copy is built in `compacting/` and marked complete by the file `compacting/READY`.
//! Then every old entry of the store's directory moves into `retired/`, marked done by
//! `retired/DONE`; then every entry of `compacting/` moves up into the store's directory;
//! then the markers and the old files are removed. Each move is one `rename`, so after a crash
//! at any point [`recover`] knows from the markers which step to finish: without `READY` the
//! copy is incomplete and is removed (the old store is untouched); with it, the swap is carried
//! to its end (every entry is in exactly one of the places the steps move it between).

use std::fs;
use std::io;
use std::path::Path;

/// Where the copy is built, inside the store's directory.
pub(super) const COMPACTING: &str = "compacting";
/// Where the old files wait to be removed, inside the store's directory.
const RETIRED: &str = "retired";
/// Marks a complete copy in [`COMPACTING`].
const READY: &str = "READY";
/// Marks that every old file is in [`RETIRED`].
const DONE: &str = "DONE";
/// Held while a compaction or its recovery moves files (sled's own lock is on a file they move).
const LOCK: &str = "compact.lock";

/// Takes the compaction lock of `dir` (creating `dir` when missing); none when another process
/// holds it.
pub(super) fn lock(dir: &Path) -> io::Result<Option<fs::File>> {
    fs::create_dir_all(dir)?;
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(error)) => Err(error),
    }
}

/// Marks the copy in `dir/compacting` complete, durably: from here on it replaces the store.
pub(super) fn mark_ready(dir: &Path) -> io::Result<()> {
    let copy = dir.join(COMPACTING);
    touch(&copy.join(READY))?;
    sync_dir(&copy)
}

/// Finishes or undoes what a compaction left in `dir` (see the module docs); nothing to do for
/// a store that was not being compacted. Call with the [`lock`] held.
pub(super) fn recover(dir: &Path) -> io::Result<()> {
    let copy = dir.join(COMPACTING);
    if copy.join(READY).exists() {
        return swap(dir);
    }
    remove_dir(&copy)?;
    // Without READY, `retired/` only remains once the new store is entirely in place.
    remove_dir(&dir.join(RETIRED))
}

/// Puts the complete copy in place of the store's files, then removes the old ones.
pub(super) fn swap(dir: &Path) -> io::Result<()> {
    let (copy, retired) = (dir.join(COMPACTING), dir.join(RETIRED));
    if !retired.join(DONE).exists() {
        fs::create_dir_all(&retired)?;
        move_entries(dir, &retired, is_store_file)?;
        sync_dir(&retired)?;
        touch(&retired.join(DONE))?;
        sync_dir(&retired)?;
    }
    move_entries(&copy, dir, |name| name != READY)?;
    sync_dir(dir)?;
    fs::remove_file(copy.join(READY))?;
    sync_dir(&copy)?;
    remove_dir(&copy)?;
    remove_dir(&retired)?;
    sync_dir(dir)
}

/// Whether `name`, in the store's directory, is one of the store's own files: what sled
/// writes (`db`, `conf`, `blobs/`, `snap.*`) and the size of the last compaction. Anything else
/// there (a volume's `lost+found`) is left alone.
fn is_store_file(name: &str) -> bool {
    matches!(name, "db" | "conf" | "blobs" | super::compact::REFERENCE) || name.starts_with("snap.")
}

/// Moves the entries of `from` whose names `take` picks into `to`.
fn move_entries(from: &Path, to: &Path, take: impl Fn(&str) -> bool) -> io::Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_str().is_some_and(&take) {
            fs::rename(entry.path(), to.join(&name))?;
        }
    }
    Ok(())
}

fn remove_dir(dir: &Path) -> io::Result<()> {
    match fs::remove_dir_all(dir) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn touch(file: &Path) -> io::Result<()> {
    fs::File::create(file)?.sync_all()
}

/// Makes the renames in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}
