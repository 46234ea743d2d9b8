//! A sink disabled after sustained failure: by a 410 Gone or by failing for
//! `delivery.disable_after` on the dispatcher's clock. Its entries stay queued, a `sink.disabled`
//! notice reaches `delivery.notify_sinks`, a restart keeps it disabled, and enabling it (over
//! HTTP, or with the CLI while the daemon is stopped) sends its entries in detection order.

use crate::support::{
    run_binary_off_thread as run, write_config_text, Daemon, Receiver, Reply, World,
};
use chrono::{DateTime, Duration as Span, Utc};
use hyperrep_notifier::config::Config;
use hyperrep_notifier::dispatch::Outcome;
use hyperrep_notifier::App;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "admin-token-0123456789";

/// `world`'s configuration plus a `pager` webhook told of disabled sinks (its filter takes only
/// notices: it gets no conversation event), one delivery at a time (so arrivals are in the
/// order deliveries start), and `delivery` lines added.
fn text(world: &World, pager: &Receiver, delivery: &str) -> String {
    let extra = format!(
        "[[sinks]]\nname = \"pager\"\ntype = \"webhook\"\nurl = \"{}\"\nfilter = {{ events = [\"sink.disabled\"] }}\n\
         [server]\nadmin_token = \"{TOKEN}\"\n[poll]\ninterval = \"1h\"\n",
        pager.url
    );
    let delivery = format!("[delivery]\nnotify_sinks = [\"pager\"]\nconcurrency = 1\n{delivery}");
    world.toml(&extra).replace("[delivery]\n", &delivery)
}

fn config(text: &str) -> Config {
    hyperrep_notifier::load_config_str(text).expect("a valid test configuration")
}

/// A baseline, then three changes of one conversation, each found by its own poll: three
/// entries for `hook`; their event ids in detection order.
async fn three_changes(world: &World, app: &App) -> Vec<String> {
    let org = world.org(0);
    let id = world.conversation_ids(&org)[0].clone();
    app.poll_once(&CancellationToken::new()).await;
    for folder in ["billing", "escalated", "archived"] {
        world.sim.set_field(&org, &id, "folder", json!(folder));
        app.poll_once(&CancellationToken::new()).await;
    }
    let far = Utc::now() + Span::days(1);
    let due = app.store.due("hook", far, 10, &Default::default()).unwrap();
    due.entries
        .iter()
        .map(|(_, e)| e.event.id.clone())
        .collect()
}

fn hook_status(app: &App) -> Value {
    let status = hyperrep_notifier::status::collect(&app.store, &app.config).unwrap();
    let status = serde_json::to_value(status).unwrap();
    let sinks = status["sinks"].as_array().unwrap();
    sinks.iter().find(|s| s["name"] == "hook").unwrap().clone()
}

/// `hook` answers 410 to its first delivery: disabled, its three entries kept, the notice
/// delivered to `pager`. Returns the entries' event ids in detection order.
async fn disabled_by_410(world: &World, pager: &Receiver, text: &str) -> Vec<String> {
    world
        .hook
        .answer_always(Reply::Body(410, "this endpoint was removed"));
    let app = App::build(config(text)).unwrap();
    let ids = three_changes(world, &app).await;
    assert_eq!(ids.len(), 3);
    // The notice is queued by the pass that disables the sink; that pass may already send it
    // (pager's worker looks again once it is queued), or the next one does.
    let mut outcomes = app.deliver_due().await.unwrap();
    if !outcomes.contains(&Outcome::Delivered) {
        outcomes.extend(app.deliver_due().await.unwrap());
    }
    use Outcome::{Delivered, Parked};
    assert_eq!(
        outcomes,
        [Parked, Parked, Parked, Delivered],
        "hook's three kept, then the notice delivered to pager"
    );
    assert_eq!(pager.events().len(), 1, "{:?}", pager.events());
    assert_eq!(
        world.hook.received().len(),
        1,
        "nothing more is sent to a sink once it answered 410"
    );
    let hook = hook_status(&app);
    assert_eq!(hook["outbox"], 3, "its entries stay queued: {hook}");
    assert_eq!(hook["dead_letters"], 0, "none is given up: {hook}");
    let reason = hook["disabled"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("HTTP 410"), "{hook}");
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_answering_410_is_disabled_stays_so_across_a_restart_and_enabling_sends_all_in_order(
) {
    let world = World::start(1, 1).await;
    let pager = Receiver::start().await;
    let text = text(&world, &pager, "");
    let ids = disabled_by_410(&world, &pager, &text).await;

    let notices = pager.events();
    assert_eq!(notices.len(), 1, "{notices:?}");
    let notice = &notices[0];
    assert_eq!(notice["type"], "sink.disabled");
    assert!(
        notice["id"].as_str().unwrap().starts_with("evt_"),
        "{notice}"
    );
    assert_eq!(notice["data"]["sink"], "hook");
    assert_eq!(notice["data"]["queued"], 3);
    assert!(
        notice["data"]["reason"].as_str().unwrap().contains("410"),
        "{notice}"
    );
    let since = notice["data"]["since"].as_str().unwrap();
    assert!(DateTime::parse_from_rfc3339(since).is_ok(), "{notice}");
    assert_eq!(notice["timestamp"], since);

    let daemon = Daemon::start_with(config(&text)).await;
    let metrics = daemon
        .metrics_until(|m| m.contains("hyperrep_notifier_sink_disabled{sink=\"hook\"} 1"))
        .await;
    assert!(
        metrics.contains("hyperrep_notifier_sink_disabled{sink=\"pager\"} 0"),
        "{metrics}"
    );
    let (code, body) = daemon.get("/status", None).await;
    let status: Value = serde_json::from_str(&body).unwrap();
    let hook = &status["sinks"].as_array().unwrap()[0];
    assert_eq!(
        (code, &hook["name"], &hook["outbox"]),
        (200, &json!("hook"), &json!(3))
    );
    assert_eq!(
        hook["disabled"]["since"], since,
        "still disabled after the restart"
    );
    assert_eq!(
        world.hook.received().len(),
        1,
        "the restart sent it nothing"
    );
    assert_eq!(pager.events().len(), 1, "nor the notice again");

    world.hook.answer_always(Reply::Status(200));
    let (code, _) = daemon.post("/admin/sinks/hook/enable", None).await;
    assert_eq!(code, 401, "enabling takes the admin token");
    let (code, _) = daemon.post("/admin/sinks/nosuch/enable", Some(TOKEN)).await;
    assert_eq!(code, 404);
    let (code, body) = daemon.post("/admin/sinks/hook/enable", Some(TOKEN)).await;
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        answer,
        json!({"sink": "hook", "enabled": true, "was_disabled": true, "queued": 3})
    );
    let received = world.hook.wait_for(4, Duration::from_secs(15)).await;
    let sent: Vec<String> = received[1..]
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().into())
        .collect();
    assert_eq!(sent, ids, "all three, in the order they were detected");
    daemon
        .metrics_until(|m| m.contains("hyperrep_notifier_sink_disabled{sink=\"hook\"} 0"))
        .await;
    let (_, body) = daemon.get("/status", None).await;
    assert!(body.contains("\"disabled\":null"), "{body}");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_enables_a_disabled_sink_while_the_daemon_is_stopped() {
    let world = World::start(1, 1).await;
    let pager = Receiver::start().await;
    let text = text(&world, &pager, "");
    let path = write_config_text(world.dir.path(), &text);
    let unknown = run(&["sinks", "enable", "nosuch"], &path).await;
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nosuch"));
    let ids = disabled_by_410(&world, &pager, &text).await;

    let status = run(&["status"], &path).await;
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(shown.contains("DISABLED since"), "{shown}");
    assert!(shown.contains("sinks enable hook"), "{shown}");
    let enabled = run(&["sinks", "enable", "hook"], &path).await;
    let said = String::from_utf8_lossy(&enabled.stdout);
    assert_eq!(enabled.status.code(), Some(0), "{enabled:?}");
    assert!(said.contains("enabled") && said.contains('3'), "{said}");
    let again = run(&["sinks", "enable", "hook"], &path).await;
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stdout).contains("not disabled"));

    world.hook.answer_always(Reply::Status(200));
    let report = crate::support::once(&text).await;
    assert!(report.success(), "{report:?}");
    let received = world.hook.received();
    let sent: Vec<String> = received[1..]
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().into())
        .collect();
    assert_eq!(sent, ids, "the next start sends them, in detection order");
}

#[tokio::test]
async fn a_sink_failing_for_disable_after_on_the_dispatchers_clock_is_disabled_and_a_success_restarts_the_count(
) {
    let world = World::start(1, 1).await;
    let pager = Receiver::start().await;
    let text = text(&world, &pager, "disable_after = \"1h\"\n")
        .replace("max_attempts = 5", "max_attempts = 50");
    let app = App::build(config(&text)).unwrap();
    three_changes(&world, &app).await;
    let t0 = Utc::now();
    let at = |minutes: i64| t0 + Span::minutes(minutes);
    let disabled = |app: &App| hook_status(app)["disabled"].clone();

    let answers = [503, 503, 503, 200].map(Reply::Status);
    world.hook.script(answers);
    world.hook.answer_always(Reply::Status(503));
    app.deliver_due_at(at(0)).await.unwrap();
    app.deliver_due_at(at(30)).await.unwrap();
    let received = world.hook.received().len();
    assert_eq!(
        received, 6,
        "three failures, then one delivered and two failures"
    );
    app.deliver_due_at(at(80)).await.unwrap();
    assert_eq!(
        disabled(&app),
        Value::Null,
        "failing since 30 minutes in, not since the start: the 200 ended the failures"
    );
    assert!(pager.events().is_empty());

    let outcomes = app.deliver_due_at(at(95)).await.unwrap();
    let reason = disabled(&app)["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(reason.contains("every attempt failed for 1h"), "{reason}");
    assert_eq!(
        outcomes[..2],
        [Outcome::Parked, Outcome::Parked],
        "{outcomes:?}"
    );
    assert_eq!(
        world.hook.received().len(),
        9,
        "the entry after the disabling was not sent"
    );
    let hook = hook_status(&app);
    assert_eq!(
        (hook["outbox"].as_u64(), hook["dead_letters"].as_u64()),
        (Some(2), Some(0)),
        "{hook}"
    );
    let before = world.hook.received().len();
    app.deliver_due_at(at(200)).await.unwrap();
    assert_eq!(
        world.hook.received().len(),
        before,
        "a disabled sink is not attempted"
    );
    assert_eq!(pager.events()[0]["data"]["reason"], reason.as_str());
}

const CHECKED: &str = r#"
[api]
base_url = "http://127.0.0.1:9"
api_key = "api-key-SECRET1"
[[orgs]]
id = "org-1"
[store]
path = "STORE"
[delivery]
disable_after = "2days"
notify_sinks = ["out"]
[[sinks]]
name = "out"
type = "console"
"#;

#[test]
fn check_shows_disable_after_and_notify_sinks_and_refuses_a_notify_sink_that_is_not_configured() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config_text(dir.path(), CHECKED);
    let out = crate::support::run_binary(&["check"], Some(&path), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(stdout.contains("disable_after = \"2days\""), "{stdout}");
    assert!(stdout.contains("notify_sinks = [\"out\"]"), "{stdout}");
    let cases = [
        (
            CHECKED.replace("[\"out\"]", "[\"pager\"]"),
            "delivery.notify_sinks[0]",
        ),
        (
            CHECKED.replace("[\"out\"]", "[\"out\", \"out\"]"),
            "delivery.notify_sinks[1]",
        ),
        (
            CHECKED.replace("\"2days\"", "\"soon\""),
            "delivery.disable_after",
        ),
    ];
    crate::support::assert_check_refuses(dir.path(), &cases);
}
