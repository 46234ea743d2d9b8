//! The store failing under the binary: a clear message and exit code 1, never a panic.

use crate::support::{run_binary, World};

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
        let db = sled::open(world.store_path()).unwrap();
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
        message.contains("format version 0; this build reads version 1"),
        "{message}"
    );
}
