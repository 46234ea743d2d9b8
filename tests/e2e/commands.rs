//! The real binary as an operator and a container runtime use it: offline status and
//! dead-letter tools, the lock message, SIGTERM, healthcheck, environment-only configuration.

use crate::support::{binary, free_port, run_binary, wait_healthy, Reply, World};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

async fn blocking(args: Vec<String>, config: std::path::PathBuf) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_binary(&args, Some(&config), &[])
    })
    .await
    .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn spawn(config: &std::path::Path, env: &[(&str, &str)]) -> Child {
    binary()
        .arg("--config")
        .arg(config)
        .arg("run")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn sigterm(child: &Child) {
    assert!(std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_dead_letter_commands_work_on_a_stopped_store_before_and_after_a_retry() {
    let world = World::start(1, 3).await;
    let config = world.write_config("");
    assert!(blocking(args(&["run", "--once"]), config.clone())
        .await
        .status
        .success());
    world.sim.create_conversation(&world.org(0));
    world.hook.answer_always(Reply::Status(422));
    blocking(args(&["run", "--once"]), config.clone()).await;

    let status = text(&blocking(args(&["status"]), config.clone()).await);
    assert!(
        status.contains("4 conversations stored")
            && status.contains("hook: 0 queued, 1 dead letters"),
        "{status}"
    );
    let listed = blocking(args(&["dead-letters", "list"]), config.clone()).await;
    let line = text(&listed);
    assert!(
        line.contains("HTTP 422") && line.contains("conversation.created"),
        "{line}"
    );
    let id = line.split_whitespace().next().unwrap().to_string();

    let retried = blocking(args(&["dead-letters", "retry", &id]), config.clone()).await;
    assert!(retried.status.success(), "{}", text(&retried));
    let status = text(&blocking(args(&["status"]), config.clone()).await);
    assert!(
        status.contains("hook: 1 queued, 0 dead letters"),
        "{status}"
    );
    world.hook.answer_always(Reply::Status(200));
    assert!(blocking(args(&["run", "--once"]), config.clone())
        .await
        .status
        .success());
    assert!(text(&blocking(args(&["status"]), config.clone()).await)
        .contains("hook: 0 queued, 0 dead letters"));
    assert_eq!(world.hook.received().len(), 2);

    let missing = blocking(args(&["dead-letters", "retry", "424242"]), config.clone()).await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&blocking(args(&["dead-letters", "purge"]), config).await)
            .contains("purged 0 dead letters")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_a_daemon_holds_the_store_the_offline_commands_point_to_its_endpoints() {
    let world = World::start(1, 2).await;
    let port = free_port();
    let config = world.write_config(&format!("[server]\nlisten = \"127.0.0.1:{port}\"\n"));
    let mut daemon = spawn(&config, &[]);
    wait_healthy(&format!("http://127.0.0.1:{port}/healthz")).await;
    for command in [args(&["status"]), args(&["dead-letters", "list"])] {
        let out = blocking(command, config.clone()).await;
        let message = text(&out);
        assert_eq!(out.status.code(), Some(1), "{message}");
        assert!(
            message.contains("in use by a running hyperrep-notifier"),
            "{message}"
        );
        assert!(
            message.contains(&format!("GET http://127.0.0.1:{port}/status")),
            "{message}"
        );
        assert!(
            !message.contains("could not acquire lock"),
            "not sled's raw error: {message}"
        );
    }
    daemon.kill().unwrap();
    daemon.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_delivery_exits_0_and_the_restart_delivers_the_rest() {
    let world = World::start(1, 20).await;
    let port = free_port();
    let config = world.write_config(&format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n[poll]\ninterval = \"300ms\"\n"
    ));
    assert!(blocking(args(&["run", "--once"]), config.clone())
        .await
        .status
        .success());
    let org = world.org(0);
    let touched: Vec<String> = world
        .sim
        .conversations(&org)
        .iter()
        .map(|c| c["conversation_id"].as_str().unwrap().to_string())
        .collect();
    touched.iter().for_each(|id| world.sim.touch(&org, id));
    world
        .hook
        .answer_always(Reply::Slow(Duration::from_millis(600), 200));

    let mut daemon = spawn(&config, &[]);
    world.hook.wait_for(3, Duration::from_secs(20)).await;
    sigterm(&daemon);
    let status = tokio::task::spawn_blocking(move || daemon.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0), "a graceful stop exits 0");
    let before_restart = world.hook.received().len();
    assert!(
        before_restart < 20,
        "the stop came mid-delivery ({before_restart} of 20)"
    );

    world.hook.answer_always(Reply::Status(200));
    let mut daemon = spawn(&config, &[]);
    let delivered = world.hook.wait_for(20, Duration::from_secs(30)).await;
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let mut got: Vec<String> = delivered
        .iter()
        .map(|r| {
            r.json()["data"]["conversation"]["conversation_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 20, "every change arrived after the restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_as_the_image_runs_it_and_healthcheck_reports_it() {
    let world = World::start(1, 2).await;
    let port = free_port();
    let store = world.dir.path().join("data");
    let orgs = format!("[{{id=\"{}\", name=\"Acme\"}}]", world.org(0));
    let sinks = format!(
        "[{{name=\"hook\", type=\"webhook\", url=\"{}\"}}]",
        world.hook.url
    );
    let (base, key, listen) = (
        world.sim.base_url().to_string(),
        world.sim.api_key(),
        format!("0.0.0.0:{port}"),
    );
    let env = [
        ("HRN_API__BASE_URL", base.as_str()),
        ("HRN_API__API_KEY", key.as_str()),
        ("HRN_ORGS", orgs.as_str()),
        ("HRN_SINKS", sinks.as_str()),
        ("HRN_STORE__PATH", store.to_str().unwrap()),
        ("HRN_SERVER__LISTEN", listen.as_str()),
        ("HRN_LOG_FORMAT", "json"),
        ("RUST_LOG", "info"),
    ];
    let health = |env: Vec<(String, String)>| {
        tokio::task::spawn_blocking(move || {
            binary()
                .arg("healthcheck")
                .env_remove("HRN_CONFIG")
                .envs(env)
                .output()
                .unwrap()
        })
    };
    let owned: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let down = health(owned.clone()).await.unwrap();
    assert_eq!(
        down.status.code(),
        Some(1),
        "nothing listens yet: {}",
        text(&down)
    );

    let daemon = binary()
        .arg("run")
        .env_remove("HRN_CONFIG")
        .envs(env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_healthy(&format!("http://127.0.0.1:{port}/readyz")).await;
    let up = health(owned).await.unwrap();
    assert_eq!(up.status.code(), Some(0), "{}", text(&up));
    assert!(
        store.join("db").exists() || store.join("conf").exists(),
        "the store lives under HRN_STORE__PATH"
    );
    sigterm(&daemon);
    let output = tokio::task::spawn_blocking(move || daemon.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let logs = String::from_utf8_lossy(&output.stderr);
    let first: serde_json::Value =
        serde_json::from_str(logs.lines().next().unwrap()).expect("JSON log lines");
    assert!(first["fields"]["message"].is_string(), "{first}");
    assert!(!logs.contains(&key), "the API key is never logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_prints_changes_and_a_reminder_in_words_in_local_time_without_log_lines() {
    let mut command = binary();
    // As a user starts it: no RUST_LOG, in a time zone of their own.
    command.env_remove("RUST_LOG").env("TZ", "Asia/Kolkata");
    command.args(["demo", "--for", "14s", "--interval", "300ms"]);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let events: Vec<&str> = stdout.lines().filter(|l| l.contains("[evt_")).collect();
    assert!(
        !events.is_empty(),
        "the demo shows changes within 6 s: {stdout}"
    );
    for line in &events {
        assert!(
            line.contains("● unread") || line.contains("✓ read"),
            "{line}"
        );
        assert!(line.contains("+05:30"), "times in the local zone: {line}");
    }
    let technical: Vec<&str> = stderr.lines().filter(|l| l.contains(" INFO ")).collect();
    assert!(
        technical.is_empty(),
        "no INFO lines among the events: {technical:?}"
    );
}
