//! Compaction cut short by a crash at each of its steps: the next open finds the whole store.

use super::*;

/// Where a crash stops a compaction; what the next open must make of it.
#[derive(Debug, Clone, Copy)]
enum Crash {
    /// The copy written, not marked complete.
    BeforeReady,
    /// Marked complete, nothing moved.
    AfterReady,
    /// Some old files moved aside.
    RetiringOld,
    /// Every old file aside, some new files in place.
    BringingIn,
    /// Everything in place, the markers and old files not yet removed.
    CleaningUp,
}

fn crash_at(path: &Path, crash: Crash) {
    copy(open_db(path, 8).unwrap(), path, 8).unwrap();
    let (copy_dir, retired) = (path.join(COMPACTING), path.join("retired"));
    let rename = |from: &Path, to: &Path, name: &str| fs::rename(from.join(name), to.join(name));
    if let Crash::BeforeReady = crash {
        return;
    }
    swap::mark_ready(path).unwrap();
    if let Crash::AfterReady = crash {
        return;
    }
    fs::create_dir(&retired).unwrap();
    rename(path, &retired, "db").unwrap();
    if let Crash::RetiringOld = crash {
        return;
    }
    for name in ["conf", "blobs"] {
        rename(path, &retired, name).unwrap();
    }
    for entry in fs::read_dir(path).unwrap().map(std::result::Result::unwrap) {
        let name = entry.file_name().into_string().unwrap();
        if name.starts_with("snap.") {
            rename(path, &retired, &name).unwrap();
        }
    }
    fs::File::create(retired.join("DONE")).unwrap();
    rename(&copy_dir, path, "db").unwrap();
    if let Crash::BringingIn = crash {
        return;
    }
    for entry in fs::read_dir(&copy_dir)
        .unwrap()
        .map(std::result::Result::unwrap)
    {
        if entry.file_name() != "READY" {
            fs::rename(entry.path(), path.join(entry.file_name())).unwrap();
        }
    }
    fs::remove_file(copy_dir.join("READY")).unwrap();
}

#[test]
fn a_compaction_cut_short_at_any_step_leaves_the_whole_store_at_the_next_open() {
    let crashes = [
        Crash::BeforeReady,
        Crash::AfterReady,
        Crash::RetiringOld,
        Crash::BringingIn,
        Crash::CleaningUp,
    ];
    std::thread::scope(|scope| {
        for crash in crashes {
            scope.spawn(move || recovers_from(crash));
        }
    });
}

fn inode(file: &Path) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&fs::metadata(file).unwrap())
}

/// The store is whole after `crash`, and it is the copy once that was marked complete.
fn recovers_from(crash: Crash) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    bloated(&path);
    let (before, old_db) = (contents(&path), inode(&path.join("db")));
    crash_at(&path, crash);
    drop(Store::open(&path, 8).unwrap());
    assert!(
        contents(&path) == before,
        "a key differs after a crash {crash:?}"
    );
    let copied = inode(&path.join("db")) != old_db;
    assert_eq!(copied, !matches!(crash, Crash::BeforeReady), "{crash:?}");
    assert!(!path.join(COMPACTING).exists(), "{crash:?}");
    assert!(!path.join("retired").exists(), "{crash:?}");
}
