//! A store that has grown past its last compaction is rewritten into a compact copy: by
//! `run --once` as it starts, by the daemon between polls (which then starts again on the same
//! port). Nothing stored is lost and nothing is sent twice.

use crate::support::{eventually, metric, once_with, open_sled, Daemon, World};
use hyperrep_notifier::config::Config;
use std::path::Path;
use std::time::Duration;

/// `world`'s configuration with `extra`, compacting any store (no minimum size).
fn compacting(world: &World, extra: &str) -> Config {
    let mut config = hyperrep_notifier::load_config_str(&world.toml(extra)).unwrap();
    config.store.compact_min_mb = 0;
    config
}

/// The store's size after its last compaction, once there was one.
fn compacted_size(store: &Path) -> Option<u64> {
    std::fs::read_to_string(store.join("compacted"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[tokio::test]
async fn run_once_compacts_the_store_at_its_start_and_keeps_what_it_knew() {
    let world = World::start(2, 30).await;
    let store = world.store_path();
    let baseline = once_with(compacting(&world, "")).await;
    assert!(baseline.success(), "{baseline:?}");
    let noted = compacted_size(&store).expect("the size after the baselines is recorded");
    assert!(noted > 0);
    let org = world.org(1);
    let touched = world.conversation_ids(&org)[3].clone();
    world.sim.touch(&org, &touched);
    // Grown (by this record) far past its last compaction.
    record_compacted_size(&store, 1);
    let report = once_with(compacting(&world, "")).await;
    assert!(report.success(), "{report:?}");
    let compacted = compacted_size(&store).unwrap();
    assert!(compacted > 1, "compacted at the start: {compacted}");
    let sent = world.hook.wait_for(1, Duration::from_secs(10)).await;
    let ids: Vec<_> = sent
        .iter()
        .map(|r| r.json()["data"]["conversation"]["conversation_id"].clone())
        .collect();
    assert_eq!(
        ids,
        [touched.as_str()],
        "only the change, none of the 59 others"
    );
    let again = once_with(compacting(&world, "")).await;
    assert_eq!(again.orgs.iter().map(|o| o.events).sum::<usize>(), 0);
}

/// Sets the store's size after its last compaction, as a compaction would record it.
fn record_compacted_size(store: &Path, size: u64) {
    std::fs::create_dir_all(store).unwrap();
    std::fs::write(store.join("compacted"), size.to_string()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_compacts_its_grown_store_between_polls_and_goes_on_where_it_was() {
    let world = World::start(2, 30).await;
    let store = world.store_path();
    // Not due until the test says so: a store "compacted" at a size it will never reach.
    record_compacted_size(&store, u64::MAX / 2);
    let daemon = Daemon::start_with(compacting(&world, "[poll]\ninterval = \"100ms\"\n")).await;
    let events = |text: &str| {
        metric(
            text,
            "hyperrep_notifier_events_total{type=\"conversation.updated\"}",
        )
    };
    let org = world.org(0);
    let ids = world.conversation_ids(&org);
    // Any org's complete polls: the family has a series per outcome from the start, at 0.
    let polled =
        |text: &str| metric(text, "hyperrep_notifier_polls_total{outcome=\"complete\"}") >= 2.0;
    daemon.metrics_until(polled).await;
    world.sim.touch(&org, &ids[7]);
    daemon.metrics_until(|text| events(text) == 1.0).await;
    world.hook.wait_for(1, Duration::from_secs(15)).await;
    // Grown (by this record) far past its last compaction: due at the next look.
    record_compacted_size(&store, 1);
    let compacted = eventually(Duration::from_secs(15), || async {
        compacted_size(&store).is_some_and(|size| size > 1)
    });
    assert!(compacted.await, "the daemon compacted its store");
    world.sim.touch(&org, &ids[8]);
    let sent = world.hook.wait_for(2, Duration::from_secs(15)).await;
    let conversation = |i: usize| sent[i].json()["data"]["conversation"]["conversation_id"].clone();
    assert_eq!(
        [conversation(0), conversation(1)],
        [ids[7].as_str(), ids[8].as_str()]
    );
    let text = daemon.metrics_until(|text| events(text) >= 2.0).await;
    assert_eq!(
        events(&text),
        2.0,
        "the same port answers, its counters carry on"
    );
    assert_eq!(
        world.hook.arrived(),
        2,
        "two changes, two events: nothing sent twice"
    );
    assert!(!store.join("compacting").exists() && !store.join("retired").exists());
    daemon.stop().await;
}

/// Writes 16 MB that a compaction copies (a tree of its own, 2,000 values of 8 KiB) into the
/// store at `store`: a copy that takes long enough to be cut short.
fn padded(store: &Path) {
    let db = open_sled(store);
    let padding = db.open_tree("padding").unwrap();
    let mut batch = sled::Batch::default();
    for i in 0..2_000u32 {
        batch.insert(&i.to_be_bytes(), vec![(i % 251) as u8; 8 * 1024]);
    }
    padding.apply_batch(batch).unwrap();
    db.flush().unwrap();
}

fn inode(file: &Path) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(file).unwrap())
}

/// A process killed in the middle of its compaction (over its memory limit, by a liveness
/// probe) is not followed by a process that starts the same copy again, and again: the next
/// start recovers the store as it was and polls, and the try is made again only once the
/// store has grown as much again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compaction_killed_midway_is_not_tried_again_at_the_next_start() {
    let world = World::start(1, 5).await;
    let store = world.store_path();
    padded(&store);
    assert!(once_with(compacting(&world, "")).await.success());
    record_compacted_size(&store, 1);
    let config = world.write_config("");
    let mut child = crate::support::binary()
        .arg("--config")
        .arg(&config)
        .args(["run", "--once"])
        .env("HRN_STORE__COMPACT_MIN_MB", "0")
        .spawn()
        .unwrap();
    let copying = eventually(Duration::from_secs(20), || async {
        store.join("compacting").join("db").exists()
    });
    assert!(copying.await, "the compaction started");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !store.join("retired").exists(),
        "killed while copying, before the swap"
    );
    let tried = compacted_size(&store).unwrap();
    assert!(
        tried > 16_000_000,
        "the try is recorded with the size: {tried}"
    );
    let db = inode(&store.join("db"));
    let report = once_with(compacting(&world, "")).await;
    assert!(report.success(), "{report:?}");
    assert!(
        !store.join("compacting").exists(),
        "the cut copy is removed"
    );
    assert_eq!(compacted_size(&store), Some(tried), "not tried again");
    assert_eq!(inode(&store.join("db")), db, "the same store");
}

/// While the daemon compacts a store big enough to take a while, its endpoints answer: alive
/// to a liveness probe, not ready (and why) to a readiness probe; then it is ready again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_compacting_its_store_answers_that_it_is_alive_and_not_ready() {
    let world = World::start(1, 5).await;
    let store = world.store_path();
    padded(&store);
    record_compacted_size(&store, u64::MAX / 2);
    let daemon = Daemon::start_with(compacting(&world, "[poll]\ninterval = \"100ms\"\n")).await;
    let ready = || async {
        daemon
            .try_get("/readyz")
            .await
            .is_some_and(|(s, _)| s == 200)
    };
    assert!(eventually(Duration::from_secs(15), ready).await);
    record_compacted_size(&store, 1);
    let holding = eventually(Duration::from_secs(15), || async {
        let answer = daemon.try_get("/readyz").await;
        answer.is_some_and(|(status, body)| status == 503 && body.contains("compacting the store"))
    });
    assert!(holding.await, "not ready while compacting, and why");
    let (status, body) = daemon.get("/healthz", None).await;
    assert_eq!((status, body.as_str()), (200, "ok"), "alive");
    let compacted = eventually(Duration::from_secs(15), || async {
        compacted_size(&store).is_some_and(|size| size > 1)
    });
    assert!(compacted.await);
    assert!(
        eventually(Duration::from_secs(15), ready).await,
        "ready again"
    );
    daemon.stop().await;
}
