//! Sink URLs as secrets, per-URL Slack pacing and bounded answer bodies, through what a user
//! meets: the real binary's output and logs, and loopback receivers.

use crate::support::{run_binary, Receiver, Reply, World};
use hyperrep_notifier::dispatch::Outcome;
use hyperrep_notifier::load_config_str as load_str;
use hyperrep_notifier::App;
use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// The secret parts of the webhook URLs below (Discord-style: the path is the token).
const PATH_TOKEN: &str = "PathT0kenAbCdEf0123456789";
const QUERY_TOKEN: &str = "Qu3ryT0ken9876543210";

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs the binary off the async runtime (the receivers live on it).
async fn run(args: &[&str], config: &std::path::Path, env: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let config = config.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_binary(&args, Some(&config), &env)
    })
    .await
    .unwrap()
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn assert_no_token(what: &str, shown: &str) {
    for token in [PATH_TOKEN, QUERY_TOKEN] {
        assert!(!shown.contains(token), "{what} shows {token}:\n{shown}");
    }
}

/// Two webhook sinks whose URLs hold both tokens, one attempt each: `refused` (its URL in a
/// `url_file`) on a receiver that answers 404 quoting the path, as Express does, and
/// `unreachable` on a closed port. Returns the configuration file and how `check` should show
/// the two URLs.
fn hooks_with_tokens(world: &World, refusing: &Receiver) -> (PathBuf, [String; 2]) {
    let hook_path = format!("/hook/api/webhooks/123/{PATH_TOKEN}?token={QUERY_TOKEN}");
    let echo: &'static str = format!("Cannot POST {hook_path}").leak();
    refusing.answer_always(Reply::Body(404, echo));
    let origin = refusing.url.trim_end_matches("/hook").to_string();
    let url_file = world.dir.path().join("refused_url");
    std::fs::write(&url_file, format!("  {origin}{hook_path}\n")).unwrap();
    let port = closed_port();
    let extra = format!(
        "[[sinks]]\nname = \"refused\"\ntype = \"webhook\"\nurl_file = {:?}\n\
         [[sinks]]\nname = \"unreachable\"\ntype = \"webhook\"\n\
         url = \"http://127.0.0.1:{port}/api/webhooks/456/{PATH_TOKEN}?token={QUERY_TOKEN}\"\n",
        url_file.display().to_string()
    );
    let config = world.dir.path().join("notifier.toml");
    let toml = world
        .toml(&extra)
        .replace("max_attempts = 5", "max_attempts = 1");
    std::fs::write(&config, toml).unwrap();
    let shown = [origin, format!("http://127.0.0.1:{port}")];
    (config, shown.map(|o| format!("url = \"{o}/[redacted]\"")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_in_a_webhook_url_shows_in_neither_check_nor_debug_logs_nor_dead_letters() {
    let world = World::start(1, 3).await;
    let refusing = Receiver::start().await;
    let (config, shown_urls) = hooks_with_tokens(&world, &refusing);

    let check = run(&["check"], &config, &[]).await;
    let debug = [("RUST_LOG", "debug")];
    let baseline = run(&["run", "--once"], &config, &debug).await;
    world.sim.create_conversation(&world.org(0));
    let failing = run(&["run", "--once"], &config, &debug).await;
    let listed = text(&run(&["dead-letters", "list"], &config, &[]).await);
    let json = run(&["dead-letters", "list", "--json"], &config, &[]).await;

    assert!(check.status.success(), "{}", text(&check));
    for url in &shown_urls {
        assert!(text(&check).contains(url), "{}", text(&check));
    }
    assert_eq!(
        refusing.received().len(),
        1,
        "the URL from url_file was used"
    );
    let logs = text(&failing);
    assert!(
        logs.contains("DEBUG") && logs.contains("delivery given up"),
        "{logs}"
    );
    let refused = listed
        .lines()
        .find(|l| l.contains("sink refused"))
        .unwrap_or_default();
    assert!(refused.contains("HTTP 404: Cannot POST"), "{listed}");
    let unreachable = listed
        .lines()
        .find(|l| l.contains("sink unreachable"))
        .unwrap_or_default();
    assert!(unreachable.contains("Connect"), "{listed}");
    assert_no_token("check", &text(&check));
    assert_no_token("the first run's logs", &text(&baseline));
    assert_no_token("the failing run's logs", &logs);
    assert_no_token("dead-letters list", &listed);
    assert_no_token("dead-letters list --json", &text(&json));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_url_file_named_in_the_environment_is_read_and_used() {
    let world = World::start(1, 3).await;
    let url_file = world.dir.path().join("hook_url");
    std::fs::write(&url_file, format!("{}\n", world.hook.url)).unwrap();
    // The file's own sink points nowhere: only the environment's can deliver.
    let config = world.dir.path().join("notifier.toml");
    let nowhere = format!("http://127.0.0.1:{}/hook", closed_port());
    std::fs::write(&config, world.toml("").replace(&world.hook.url, &nowhere)).unwrap();
    let sinks = format!(
        "[{{name=\"hook\", type=\"webhook\", url_file={:?}}}]",
        url_file.display().to_string()
    );
    let env = [("HRN_SINKS", sinks.as_str())];

    let check = run(&["check"], &config, &env).await;
    assert!(run(&["run", "--once"], &config, &env)
        .await
        .status
        .success());
    world.sim.create_conversation(&world.org(0));
    let delivered = run(&["run", "--once"], &config, &env).await;

    assert!(check.status.success(), "{}", text(&check));
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("url_file = "),
        "{}",
        text(&check)
    );
    assert!(delivered.status.success(), "{}", text(&delivered));
    assert_eq!(
        world.hook.events().len(),
        1,
        "delivered to the URL from the file"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_slack_sinks_on_one_url_share_its_pace_of_one_message_a_second() {
    let world = World::start(1, 3).await;
    let slack = Receiver::start().await;
    slack.answer_always(Reply::Body(200, "ok"));
    let sink = |name: &str| {
        format!(
            "[[sinks]]\nname = \"{name}\"\ntype = \"slack\"\nurl = \"{}/services/T0/B0/SHARED\"\n",
            slack.url
        )
    };
    let app = world.app(&format!("{}{}", sink("alerts"), sink("leads")));
    polled_once_then_new_conversations(&world, &app, 2).await;

    // The two sinks' workers run side by side, as in the daemon.
    let stop = CancellationToken::new();
    let _workers = app.spawn_workers(&stop).unwrap();
    slack.wait_for(4, Duration::from_secs(30)).await;
    stop.cancel();

    let mut arrivals: Vec<_> = slack.received().iter().map(|r| r.at).collect();
    assert_eq!(arrivals.len(), 4, "two messages for each of the two sinks");
    arrivals.sort();
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(900),
            "two messages to one URL {gap:?} apart"
        );
    }
}

/// A baseline poll, then `count` new conversations and a poll that queues them.
async fn polled_once_then_new_conversations(world: &World, app: &App, count: usize) {
    let cancel = CancellationToken::new();
    app.poll_once(&cancel).await;
    for _ in 0..count {
        world.sim.create_conversation(&world.org(0));
    }
    app.poll_once(&cancel).await;
}

/// An HTTP endpoint that answers every request 500 with a body that never ends, and counts the
/// body bytes it managed to send.
async fn endless_500() -> (String, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let _ = socket.read(&mut [0; 8192]).await;
                let head = "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\n\
                            transfer-encoding: chunked\r\n\r\n";
                let piece = 64 * 1024;
                let chunk = format!("{piece:x}\r\n{}\r\n", "x".repeat(piece));
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                // Until the client hangs up (or 16 GiB, so a reader that never stops cannot
                // keep the test machine busy for ever).
                while counter.load(Ordering::Relaxed) < 16 << 30
                    && socket.write_all(chunk.as_bytes()).await.is_ok()
                {
                    counter.fetch_add(piece as u64, Ordering::Relaxed);
                }
            });
        }
    });
    (url, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_500_body_is_cut_short_and_the_entries_are_dead_lettered_with_a_snippet() {
    let world = World::start(1, 3).await;
    let (url, sent) = endless_500().await;
    let extra = format!(
        "[[sinks]]\nname = \"endless-hook\"\ntype = \"webhook\"\nurl = \"{url}/hook\"\n\
         [[sinks]]\nname = \"endless-slack\"\ntype = \"slack\"\nurl = \"{url}/services/T0/B0/X\"\n"
    );
    // One attempt, and time enough that a sink reading the whole body would be seen doing it.
    let toml = world
        .toml(&extra)
        .replace("max_attempts = 5", "max_attempts = 1")
        .replace(
            "timeout = \"2s\"\nmax_attempts",
            "timeout = \"5s\"\nmax_attempts",
        );
    let app = App::build(load_str(&toml).unwrap()).unwrap();
    polled_once_then_new_conversations(&world, &app, 1).await;

    let outcomes = app.deliver_due().await.unwrap();

    let dead = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::DeadLettered { .. }));
    assert_eq!(dead.count(), 2, "{outcomes:?}");
    let letters = app.store.dead_letters().unwrap();
    for sink in ["endless-hook", "endless-slack"] {
        let letter = letters.iter().find(|l| l.sink == sink);
        let reason = letter.map(|l| l.reason.as_str()).unwrap_or_default();
        assert!(
            reason.contains("HTTP 500") && reason.contains("xxxxxxxx"),
            "{sink}: classified on the start of the body: {reason}"
        );
    }
    let sent = sent.load(Ordering::Relaxed);
    assert!(
        sent < 256 << 20,
        "{} MiB were read of an endless body",
        sent >> 20
    );
}
