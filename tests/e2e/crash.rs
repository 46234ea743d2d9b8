//! The real binary killed with SIGKILL while it lists and delivers, restarted on the same store:
//! every change still arrives, and every duplicate carries the id of the first delivery.

use crate::support::{binary, run_binary, Reply, World};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn start_daemon(config: &std::path::Path) -> Child {
    binary()
        .arg("--config")
        .arg(config)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn touch_some(world: &World, skip: usize, count: usize) -> Vec<String> {
    let mut touched = Vec::new();
    for org in world.sim.org_ids() {
        for conversation in world.sim.conversations(&org).iter().skip(skip).take(count) {
            let id = conversation["conversation_id"]
                .as_str()
                .unwrap()
                .to_string();
            world.sim.touch(&org, &id);
            touched.push(id);
        }
    }
    touched
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_listing_and_delivering_loses_nothing() {
    let world = World::start(2, 60).await;
    // Slower than sled's 500 ms flush interval, so kills land on deliveries whose store writes
    // are already on disk: an at-most-once bug would lose entries here.
    world
        .hook
        .answer_always(Reply::Slow(Duration::from_millis(700), 200));
    let config = world.write_config("[poll]\ninterval = \"300ms\"\n");
    let baseline = tokio::task::spawn_blocking({
        let config = config.clone();
        move || run_binary(&["run", "--once"], Some(&config), &[])
    })
    .await
    .unwrap();
    assert_eq!(
        baseline.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&baseline.stderr)
    );

    let mut expected: BTreeSet<String> = BTreeSet::new();
    let mut kills = 0;
    for round in 0..4 {
        expected.extend(touch_some(&world, round * 12, 12));
        let before = world.hook.received().len();
        let mut daemon = start_daemon(&config);
        // Kill at a different moment each round: right away (listing), then mid-delivery.
        if round > 0 {
            world
                .hook
                .wait_for(before + 2 * round, Duration::from_secs(20))
                .await;
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
        daemon.kill().unwrap();
        daemon.wait().unwrap();
        kills += 1;
    }

    let mut daemon = start_daemon(&config);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !delivered(&world).is_superset(&expected) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stopped = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(daemon.id().to_string())
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = tokio::task::spawn_blocking(move || daemon.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM is a graceful stop");

    let missing: Vec<_> = expected.difference(&delivered(&world)).cloned().collect();
    assert!(
        missing.is_empty(),
        "lost changes after {kills} kills: {missing:?}"
    );
    let mut ids_per_conversation: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for event in world.hook.events() {
        let conversation = event["data"]["conversation"]["conversation_id"]
            .as_str()
            .unwrap()
            .to_string();
        ids_per_conversation
            .entry(conversation)
            .or_default()
            .insert(event["id"].as_str().unwrap().to_string());
    }
    for (conversation, ids) in &ids_per_conversation {
        assert_eq!(
            ids.len(),
            1,
            "conversation {conversation} changed once but was sent under {ids:?}"
        );
    }
    let total = world.hook.received().len();
    println!(
        "{kills} kills, {} changes, {total} deliveries, {} duplicates",
        expected.len(),
        total - expected.len()
    );
}

fn delivered(world: &World) -> BTreeSet<String> {
    world
        .hook
        .events()
        .iter()
        .map(|e| {
            e["data"]["conversation"]["conversation_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_on_the_same_store_is_refused_with_a_clear_message() {
    let world = World::start(1, 3).await;
    let config = world.write_config("[poll]\ninterval = \"1s\"\n");
    let mut daemon = start_daemon(&config);
    let deadline = Instant::now() + Duration::from_secs(10);
    while world.sim.request_count() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second =
        tokio::task::spawn_blocking(move || run_binary(&["run", "--once"], Some(&config), &[]))
            .await
            .unwrap();
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("in use by another hyperrep-notifier process"),
        "{stderr}"
    );
}
