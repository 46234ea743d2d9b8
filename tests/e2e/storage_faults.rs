//! The store failing under the binary: a clear message and exit code 1, never a panic.

use crate::support::{open_sled, run_binary, World};

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_store_path_is_reported_with_its_path() {
    let world = World::start(1, 2).await;
    let blocker = world.dir.path().join("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let store = blocker.join("store");
    let config = world.write_config("").to_str().unwrap().to_string();
    let toml = std::fs::read_to_string(&config).unwrap().replace(
        world.store_path().to_str().unwrap(),
        store.to_str().unwrap(),
    );
    std::fs::write(&config, toml).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        run_binary(&["run", "--once"], Some(config.as_ref()), &[])
    })
    .await
    .unwrap();
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(
        message.contains("opening the store at") && message.contains("a-file/store"),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_written_in_another_format_version_is_refused_with_a_clear_message() {
    let world = World::start(1, 2).await;
    {
        let db = open_sled(&world.store_path());
        db.insert("format_version", "0").unwrap();
        db.flush().unwrap();
    }
    let config = world.write_config("");
    let out = tokio::task::spawn_blocking(move || run_binary(&["status"], Some(&config), &[]))
        .await
        .unwrap();
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(
        message.contains(&format!(
            "format version 0; this build reads version {}",
            hyperrep_notifier::store::FORMAT_VERSION
        )),
        "{message}"
    );
}

/// What a build of format 1 left: an entry queued for `hook` (due-time header + JSON) and a dead
/// letter (JSON alone).
fn write_format_1_store(path: &std::path::Path) -> String {
    use hyperrep_notifier::store::{DeadLetter, OutboxEntry};
    let db = open_sled(path);
    db.insert("format_version", "1").unwrap();
    let event = hyperrep_notifier::render::sample_event();
    let entry = OutboxEntry::new(event.clone(), chrono::Utc::now());
    let mut value = entry
        .next_attempt_at
        .timestamp_millis()
        .to_be_bytes()
        .to_vec();
    value.extend(serde_json::to_vec(&entry).unwrap());
    let key = [&b"hook\0"[..], &7u64.to_be_bytes()].concat();
    db.open_tree("outbox").unwrap().insert(key, value).unwrap();
    let letter = DeadLetter {
        id: 3,
        sink: "hook".into(),
        entry,
        dead_at: chrono::Utc::now(),
        reason: "HTTP 400 (before the upgrade)".into(),
    };
    let dead = db.open_tree("dead_letters").unwrap();
    dead.insert(3u64.to_be_bytes(), serde_json::to_vec(&letter).unwrap())
        .unwrap();
    db.flush().unwrap();
    event.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_of_format_1_is_migrated_and_delivers_what_it_had_queued() {
    let world = World::start(1, 2).await;
    let queued = write_format_1_store(&world.store_path());
    let config = world.write_config("");
    let run = config.clone();
    let out = tokio::task::spawn_blocking(move || run_binary(&["run", "--once"], Some(&run), &[]))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ids: Vec<String> = world.hook.event_ids();
    assert_eq!(
        ids,
        [queued],
        "the entry queued before the upgrade is delivered"
    );
    let list = tokio::task::spawn_blocking(move || {
        run_binary(&["dead-letters", "list"], Some(&config), &[])
    })
    .await
    .unwrap();
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed.contains("HTTP 400 (before the upgrade)"),
        "{listed}{}",
        stderr(&list)
    );
}
