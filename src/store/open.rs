//! Opening the sled database: its lock, and the format version it was written in.

use super::{Result, StoreError, FORMAT_VERSION};
use std::path::Path;

/// Opens sled, waiting up to a second for a lock that is being let go: a store closed a moment
/// ago (the same process reopening it, or a process that is still exiting) keeps its file lock
/// until sled's threads have finished. A store held by a live process is still refused.
pub(super) fn open_db(path: &Path, cache_mb: u64) -> Result<sled::Db> {
    let mut tries = 0;
    loop {
        let opened = sled::Config::new()
            .path(path)
            .cache_capacity(cache_mb.saturating_mul(1024 * 1024))
            .open()
            .map_err(|e| classify_open_error(e, path));
        match opened {
            Err(StoreError::Locked { .. }) if tries < 20 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

fn classify_open_error(error: sled::Error, path: &Path) -> StoreError {
    let locked =
        matches!(&error, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"));
    if locked {
        StoreError::Locked {
            path: path.to_path_buf(),
        }
    } else {
        StoreError::Sled(error)
    }
}

/// The store's format version (the current one for a new store); a newer one than this build
/// reads is an error.
pub(super) fn check_version(db: &sled::Db, path: &Path) -> Result<u32> {
    let Some(found) = db.get("format_version")? else {
        db.insert("format_version", FORMAT_VERSION.to_string().as_bytes())?;
        return Ok(FORMAT_VERSION);
    };
    match std::str::from_utf8(&found)
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
    {
        Some(version) if (1..=FORMAT_VERSION).contains(&version) => Ok(version),
        _ => Err(StoreError::Version {
            path: path.to_path_buf(),
            found: String::from_utf8_lossy(&found).into_owned(),
        }),
    }
}
