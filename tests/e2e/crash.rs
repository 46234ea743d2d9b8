//! The real binary killed with SIGKILL at random moments while it lists, commits and delivers,
//! restarted on the same store: every change still arrives, and every duplicate carries the id
//! of the first delivery. `HRN_CRASH_SEED` and `HRN_CRASH_ROUNDS` replay or lengthen a run.

use crate::support::{binary, run_binary, Reply, World};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The daemon, its endpoints on an ephemeral port (tests run side by side: a fixed port would make
/// a second daemon fail to start).
pub(crate) fn start_daemon(config: &std::path::Path) -> Child {
    binary()
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("HRN_SERVER__LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A small deterministic generator, so a failing run can be replayed from its seed.
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    pub(crate) fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// Changes `count` random conversations (new activity, read, or a folder move); returns their ids.
fn change_some(world: &World, rng: &mut Lcg, count: usize) -> Vec<String> {
    let mut changed = Vec::new();
    for _ in 0..count {
        let org = world.org(rng.next(2) as usize);
        let all = world.sim.conversations(&org);
        let id = all[rng.next(all.len() as u64) as usize]["conversation_id"]
            .as_str()
            .unwrap()
            .to_string();
        match rng.next(3) {
            0 => world.sim.touch(&org, &id),
            1 => world
                .sim
                .set_field(&org, &id, "is_read", json!(rng.next(2) == 0)),
            _ => world.sim.set_field(
                &org,
                &id,
                "folder",
                json!(["inbox", "archived", "done"][rng.next(3) as usize]),
            ),
        }
        // An untracked field that only grows: no two changes leave the same snapshot, so a
        // snapshot delivered under two ids can only be a re-detection that lost its id.
        world
            .sim
            .set_field(&org, &id, "sequence", json!(rng.next(u64::MAX >> 1)));
        changed.push(id);
    }
    changed
}

/// What an event must reflect: the tracked fields.
fn tracked(conversation: &Value) -> String {
    let fields = ["conversation_id", "last_activity_at", "is_read", "folder"];
    fields
        .iter()
        .map(|f| conversation[f].to_string())
        .collect::<Vec<_>>()
        .join("|")
}

/// The current snapshot of each of `ids`.
fn final_states(world: &World, ids: &BTreeSet<String>) -> BTreeMap<String, Value> {
    let mut states = BTreeMap::new();
    for org in world.sim.org_ids() {
        for conversation in world.sim.conversations(&org) {
            let id = conversation["conversation_id"]
                .as_str()
                .unwrap()
                .to_string();
            if ids.contains(&id) {
                states.insert(id, conversation);
            }
        }
    }
    states
}

/// The conversations whose final tracked state no delivered event carries yet.
fn undelivered(world: &World, expected: &BTreeMap<String, Value>) -> Vec<String> {
    let delivered: BTreeSet<String> = world
        .hook
        .events()
        .iter()
        .map(|e| tracked(&e["data"]["conversation"]))
        .collect();
    expected
        .iter()
        .filter(|(_, state)| !delivered.contains(&tracked(state)))
        .map(|(id, _)| id.clone())
        .collect()
}

pub(crate) fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_no_change_and_duplicates_keep_their_id() {
    let (seed, rounds) = (
        env_or("HRN_CRASH_SEED", 20261124u64),
        env_or("HRN_CRASH_ROUNDS", 8usize),
    );
    let mut rng = Lcg(seed);
    let world = World::start(2, 600).await;
    // The receiver takes a delivery only once it has answered: a sender killed mid-request has
    // not delivered, so an at-most-once bug would show up as a lost change.
    world
        .hook
        .answer_always(Reply::Slow(Duration::from_millis(40), 200));
    let config = world.write_config("[poll]\ninterval = \"200ms\"\n");
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

    let everything: BTreeSet<String> = world
        .sim
        .org_ids()
        .iter()
        .flat_map(|org| world.sim.conversations(org))
        .map(|c| c["conversation_id"].as_str().unwrap().to_string())
        .collect();
    let baseline_states = final_states(&world, &everything);
    let (mut changed, mut changes) = (BTreeSet::new(), 0);
    for _ in 0..rounds {
        let batch = change_some(&world, &mut rng, 300);
        changes += batch.len();
        changed.extend(batch);
        let mut daemon = start_daemon(&config);
        // Anywhere from mid-listing (2 orgs × 60 pages) to mid-delivery.
        tokio::time::sleep(Duration::from_millis(100 + rng.next(1400))).await;
        daemon.kill().unwrap();
        daemon.wait().unwrap();
    }

    // A change can set a value it already had, or be undone before any poll saw it: what must
    // arrive is the final state of every conversation that ends up different from its baseline.
    let mut expected = final_states(&world, &changed);
    expected.retain(|id, state| baseline_states.get(id).map(tracked) != Some(tracked(state)));
    let mut daemon = start_daemon(&config);
    let deadline = Instant::now() + Duration::from_secs(120);
    while !undelivered(&world, &expected).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
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

    let missing = undelivered(&world, &expected);
    assert!(
        missing.is_empty(),
        "seed {seed}: {} conversations never reached their final state: {missing:?}",
        missing.len()
    );
    let events = world.hook.events();
    let mut ids_per_change: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for event in &events {
        let change = format!("{}|{}", event["type"], event["data"]["conversation"]);
        ids_per_change
            .entry(change)
            .or_default()
            .insert(event["id"].as_str().unwrap().to_string());
    }
    for (change, ids) in &ids_per_change {
        assert_eq!(
            ids.len(),
            1,
            "seed {seed}: one change sent under several ids {ids:?}: {change}"
        );
    }
    println!(
        "crash test (seed {seed}): {changes} changes to {} conversations in 2 orgs ({} of them changed in \
         the end), {rounds} SIGKILLs, {} deliveries, {} duplicates (each with the id of the first delivery)",
        changed.len(),
        expected.len(),
        events.len(),
        events.len() - ids_per_change.len()
    );
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
