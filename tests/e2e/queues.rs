//! Queues and dead letters through the real binary: what `run --once` says about entries it gave
//! up on, offline commands on a store that is missing or held by another process, and retrying or
//! purging dead letters of one sink.

use crate::support::{run_binary_off_thread as run, DaemonProcess, Receiver, Reply, World};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A second webhook sink `other`, posting to `receiver`.
pub fn other_sink(receiver: &Receiver) -> String {
    format!(
        "[[sinks]]\nname = \"other\"\ntype = \"webhook\"\nurl = \"{}\"\n",
        receiver.url
    )
}

/// A baseline `run --once` on `config` (exit 0), then new activity on `count` conversations of
/// org 0.
pub async fn baseline_then_touch(world: &World, config: &Path, count: usize) {
    let baseline = run(&["run", "--once"], config).await;
    assert_eq!(baseline.status.code(), Some(0), "{}", stderr(&baseline));
    let org = world.org(0);
    for id in world.conversation_ids(&org).iter().take(count) {
        world.sim.touch(&org, id);
    }
}

/// `dead-letters list --json`: the sink of each dead letter, in list order.
async fn dead_letter_sinks(config: &Path) -> Vec<String> {
    let listed = run(&["dead-letters", "list", "--json"], config).await;
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    let letters: Vec<Value> = serde_json::from_slice(&listed.stdout).expect("a JSON array");
    letters
        .iter()
        .map(|l| l["sink"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_exits_1_naming_the_sink_when_this_run_made_dead_letters_and_0_when_all_arrived() {
    let world = World::start(1, 4).await;
    let config = world.write_config("");
    baseline_then_touch(&world, &config, 2).await;
    world.hook.answer_always(Reply::Status(400));

    let refused = run(&["run", "--once"], &config).await;
    let message = stderr(&refused);
    assert_eq!(refused.status.code(), Some(1), "{message}");
    assert!(
        message.contains("sink hook: 2 deliveries became dead letters in this run"),
        "{message}"
    );

    world.hook.answer_always(Reply::Status(200));
    let org = world.org(0);
    world.sim.touch(&org, &world.conversation_ids(&org)[3]);
    let delivered = run(&["run", "--once"], &config).await;
    assert_eq!(
        delivered.status.code(),
        Some(0),
        "the two older dead letters do not fail a run that delivered everything it found: {}",
        stderr(&delivered)
    );
    assert_eq!(
        world.hook.received().len(),
        3,
        "2 refused, then 1 delivered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_commands_on_a_store_path_that_does_not_exist_exit_1_and_create_nothing() {
    let world = World::start(1, 1).await;
    let config = world.write_config("");
    let store = world.store_path();
    for command in [
        &["status"][..],
        &["dead-letters", "list"],
        &["dead-letters", "purge"],
    ] {
        let out = run(command, &config).await;
        let message = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {message}");
        assert!(
            message.contains(&store.display().to_string()) && message.contains("store.path"),
            "{command:?}: {message}"
        );
        assert!(!store.exists(), "{command:?} created {}", store.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_a_store_another_process_holds_exits_1_and_says_what_to_do() {
    let world = World::start(1, 2).await;
    let port = crate::support::free_port();
    let config = world.write_config(&format!("[server]\nlisten = \"127.0.0.1:{port}\"\n"));
    let first = DaemonProcess::start(&config, port).await;

    let second = run(&["run", "--once"], &config).await;
    let message = stderr(&second);
    assert_eq!(second.status.code(), Some(1), "{message}");
    assert!(
        message.contains("in use by another hyperrep-notifier process")
            && message.contains("stop that one first")
            && message.contains("its own store.path"),
        "{message}"
    );
    assert!(
        !message.contains("could not acquire lock"),
        "not sled's raw error: {message}"
    );
    drop(first);
}

/// Two webhook sinks that both refuse, each with 2 dead letters from one `run --once`; the
/// configuration.
async fn two_dead_letters_in_each_of_two_sinks(world: &World, other: &Receiver) -> PathBuf {
    let config = world.write_config(&other_sink(other));
    baseline_then_touch(world, &config, 2).await;
    world.hook.answer_always(Reply::Status(400));
    other.answer_always(Reply::Status(400));
    let message = stderr(&run(&["run", "--once"], &config).await);
    assert!(
        message.contains("sink hook: 2 ") && message.contains("sink other: 2 "),
        "{message}"
    );
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_purge_removes_only_the_named_sinks_and_none_younger_than_older_than() {
    let world = World::start(1, 3).await;
    let other = Receiver::start().await;
    let config = two_dead_letters_in_each_of_two_sinks(&world, &other).await;

    let purged = run(&["dead-letters", "purge", "--older-than", "7d"], &config).await;
    assert_eq!(purged.status.code(), Some(0), "{}", stderr(&purged));
    assert!(stdout(&purged).contains("purged 0 dead letters"));
    assert_eq!(dead_letter_sinks(&config).await.len(), 4, "fresh ones stay");

    let purged = run(&["dead-letters", "purge", "--sink", "other"], &config).await;
    assert_eq!(purged.status.code(), Some(0), "{}", stderr(&purged));
    assert!(stdout(&purged).contains("purged 2 dead letters"));
    assert_eq!(dead_letter_sinks(&config).await, ["hook", "hook"]);

    let typo = run(&["dead-letters", "purge", "--sink", "hok"], &config).await;
    assert_eq!(typo.status.code(), Some(2), "a typo is not '0 purged'");
    assert!(
        stderr(&typo).contains("--sink hok: no such sink (known: hook, other)"),
        "{}",
        stderr(&typo)
    );
    assert_eq!(dead_letter_sinks(&config).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_retry_all_of_one_sink_requeues_only_its_and_the_next_run_delivers_them() {
    let world = World::start(1, 3).await;
    let other = Receiver::start().await;
    let config = two_dead_letters_in_each_of_two_sinks(&world, &other).await;

    let retried = run(
        &["dead-letters", "retry", "--all", "--sink", "hook"],
        &config,
    )
    .await;
    assert_eq!(retried.status.code(), Some(0), "{}", stderr(&retried));
    assert!(stdout(&retried).contains("re-queued 2 dead letters"));
    assert_eq!(dead_letter_sinks(&config).await, ["other", "other"]);
    let status = stdout(&run(&["status"], &config).await);
    assert!(
        status.contains("hook: 2 queued, 0 dead letters")
            && status.contains("other: 0 queued, 2 dead letters"),
        "{status}"
    );

    world.hook.answer_always(Reply::Status(200));
    let delivered = run(&["run", "--once"], &config).await;
    assert_eq!(delivered.status.code(), Some(0), "{}", stderr(&delivered));
    assert_eq!(
        world.hook.received().len(),
        4,
        "2 refused, then those 2 delivered"
    );
    assert_eq!(other.received().len(), 2, "other's were not retried");
}
