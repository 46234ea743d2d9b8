//! What a poll costs the store: a poll that finds nothing new writes nothing, in `poll_once` and
//! in a running daemon, while the times it shows still move and are kept across a stop.

use crate::support::{eventually, metric, once, Daemon, World};
use hyperrep_notifier::store::Store;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// Every file under `dir` with its size and modification time.
fn files(dir: &Path) -> BTreeMap<String, (u64, SystemTime)> {
    let mut found = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                todo.push(entry.path());
            } else {
                let name = entry.path().display().to_string();
                found.insert(name, (meta.len(), meta.modified().unwrap()));
            }
        }
    }
    found
}

/// Longer than sled's own background flush (every 500 ms): anything it would write is written
/// by then. A wait for something *not* to happen can only be a wait.
const QUIET: Duration = Duration::from_millis(1200);

#[tokio::test]
async fn a_poll_that_finds_nothing_new_writes_nothing_to_the_store() {
    let world = World::start(2, 150).await;
    let app = world.app("");
    let cancel = CancellationToken::new();
    app.poll_once(&cancel).await;
    app.poll_once(&cancel).await;
    tokio::time::sleep(QUIET).await;
    let (stats, on_disk) = (app.store.stats(), files(&world.store_path()));
    for _ in 0..3 {
        let reports = app.poll_once(&cancel).await;
        assert!(
            reports.iter().all(|r| r.complete && r.events == 0),
            "{reports:?}"
        );
    }
    tokio::time::sleep(QUIET).await;
    let after = app.store.stats();
    assert_eq!(
        (after.writes, after.commits, after.bytes_written),
        (stats.writes, stats.commits, stats.bytes_written),
        "no key written, no commit"
    );
    assert_eq!(files(&world.store_path()), on_disk, "no file changed");
}

#[tokio::test]
async fn an_idle_daemon_leaves_its_store_files_untouched_and_shows_its_polls_moving() {
    let world = World::start(2, 150).await;
    let daemon = Daemon::start(&world, "[poll]\ninterval = \"100ms\"\n").await;
    let polls = |text: &str| metric(text, "hyperrep_notifier_polls_total{outcome=\"complete\"}");
    daemon.metrics_until(|text| polls(text) >= 4.0).await;
    // Once, after the baselines: the store's size, for its first compaction (see README).
    let noted = eventually(Duration::from_secs(10), || async {
        world.store_path().join("compacted").exists()
    });
    assert!(
        noted.await,
        "the store's size is noted once the baselines are done"
    );
    let status = || async { daemon.get("/status", None).await.1 };
    // Read first: a read can make sled tidy the pages it reads (its own writes, not a poll's).
    let before = status().await;
    tokio::time::sleep(QUIET).await;
    let on_disk = files(&world.store_path());
    let seen = polls(&daemon.metrics_until(|_| true).await);
    daemon
        .metrics_until(|text| polls(text) >= seen + 10.0)
        .await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(files(&world.store_path()), on_disk, "no file changed");
    assert_ne!(status().await, before, "the last poll times still move");
    daemon.stop().await;
}

#[tokio::test]
async fn the_last_poll_time_is_kept_after_a_stop_though_nothing_changed() {
    let world = World::start(1, 20).await;
    let toml = world.toml("");
    assert!(once(&toml).await.success());
    let between = chrono::Utc::now();
    assert!(once(&toml).await.success());
    let store = Store::open(&world.store_path(), 4).unwrap();
    let state = store.org_state(&world.org(0)).unwrap();
    assert!(state.baseline_done);
    assert!(
        state.last_poll_at.is_some_and(|at| at > between),
        "{state:?} after {between}"
    );
    assert!(state.last_complete_at.is_some_and(|at| at > between));
}

#[tokio::test]
async fn a_one_off_run_on_a_store_reads_only_the_conversations_that_changed() {
    let world = World::start(2, 60).await;
    let toml = world.toml("");
    assert!(once(&toml).await.success(), "the baseline");
    let org = world.org(1);
    for id in world.conversation_ids(&org).iter().take(3) {
        world.sim.touch(&org, id);
    }
    let config = hyperrep_notifier::config::load_str(&toml).unwrap();
    let app = hyperrep_notifier::App::build_for_one_poll(config).unwrap();
    let reports = app.poll_once(&CancellationToken::new()).await;
    assert_eq!(
        reports.iter().map(|r| r.events).sum::<usize>(),
        3,
        "{reports:?}"
    );
    assert_eq!(
        app.store.stats().reads,
        3,
        "one read per change, none for the other 117"
    );
    assert_eq!(
        app.store.fingerprint_count(),
        0,
        "let go after each listing"
    );
}
