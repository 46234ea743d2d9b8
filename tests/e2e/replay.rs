//! Replaying delivered events: the `replay` command on a stopped notifier and `POST /admin/replay`
//! on a running one queue logged events again, selected by time, sink, org and type, and the
//! receivers get the same `webhook-id` and the same body bytes; the log keeps events for
//! `delivery.keep_delivered` and no longer; a wrong TIME or sink is a usage error.

use crate::queues::other_sink;
use crate::support::{
    eventually, once_with, run_binary_off_thread as run, Daemon, Receiver, World,
};
use hyperrep_notifier::dispatch::sweep_delivered;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const TOKEN: &str = "admin-token-0123456789";
const WAIT: Duration = Duration::from_secs(20);

/// Every conversation notified on first sight, both sinks, the admin token, no timed polls.
fn extra(other: &Receiver) -> String {
    format!(
        "{}[server]\nadmin_token = \"{TOKEN}\"\n[poll]\ninitial = \"notify\"\ninterval = \"1h\"\n",
        other_sink(other)
    )
}

/// The event id of each request and its body bytes, by event id and type.
fn bodies(receiver: &Receiver) -> BTreeMap<String, (String, Vec<u8>)> {
    let received = receiver.received();
    received
        .iter()
        .map(|r| {
            let kind = r.json()["type"].as_str().unwrap().to_string();
            (r.header("webhook-id"), (kind, r.body.clone()))
        })
        .collect()
}

/// 2 orgs × 3 conversations created, then 2 conversations of each org updated: 10 events, each
/// delivered to `hook` and to `other` by the daemon. Returns the daemon, still running.
async fn deliver_created_and_updated(world: &World, other: &Receiver) -> Daemon {
    let app = Daemon::start(world, &extra(other)).await;
    assert_eq!(world.hook.wait_for(6, WAIT).await.len(), 6, "created");
    for org in [world.org(0), world.org(1)] {
        for id in world.conversation_ids(&org).iter().take(2) {
            world.sim.touch(&org, id);
        }
    }
    let (code, body) = app.post("/admin/poll", Some(TOKEN)).await;
    assert_eq!(code, 202, "{body}");
    assert_eq!(world.hook.wait_for(10, WAIT).await.len(), 10, "updated");
    assert_eq!(other.wait_for(10, WAIT).await.len(), 10);
    app
}

/// The ids of the `conversation.updated` events of `org` that `receiver` got.
fn updated_ids_of(receiver: &Receiver, org: &str) -> Vec<String> {
    let events = receiver.events();
    let of_org = events
        .iter()
        .filter(|e| e["type"] == "conversation.updated" && e["data"]["org_id"] == org);
    of_org
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_by_time_sink_org_and_type_sends_exactly_those_again_with_identical_ids_and_bodies()
{
    let world = World::start(2, 3).await;
    let other = Receiver::start().await;
    let config = world.write_config(&extra(&other));
    deliver_created_and_updated(&world, &other)
        .await
        .stop()
        .await;
    let (org, first) = (world.org(0), bodies(&world.hook));
    let wanted = updated_ids_of(&world.hook, &org);
    assert_eq!(wanted.len(), 2);

    let args = [
        "replay",
        "--since",
        "1h",
        "--sink",
        "hook",
        "--org",
        &org,
        "--type",
        "conversation.updated",
    ];
    let replayed = run(&args, &config).await;
    let said = String::from_utf8_lossy(&replayed.stdout);
    assert_eq!(replayed.status.code(), Some(0), "{replayed:?}");
    assert!(
        said.contains("queued 2 events for replay (sink: hook)"),
        "{said}"
    );

    let app = Daemon::start(&world, &extra(&other)).await;
    let received = world.hook.wait_for(12, WAIT).await;
    let again = &received[10..];
    let mut again_ids: Vec<String> = again.iter().map(|r| r.header("webhook-id")).collect();
    again_ids.sort();
    let mut wanted_sorted = wanted.clone();
    wanted_sorted.sort();
    assert_eq!(again_ids, wanted_sorted, "exactly org 0's updates");
    for request in again {
        let id = request.header("webhook-id");
        assert_eq!(request.body, first[&id].1, "{id}: the same body bytes");
    }
    let drained = eventually(WAIT, || async {
        let status: Value = serde_json::from_str(&app.get("/status", None).await.1).unwrap();
        status["sinks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["outbox"] == 0)
    });
    assert!(drained.await, "every queue drained");
    assert_eq!(
        other.received().len(),
        10,
        "nothing again for the other sink"
    );
    assert_eq!(world.hook.received().len(), 12, "nothing else again");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_endpoint_replays_on_a_running_daemon_and_refuses_a_body_it_cannot_use() {
    let world = World::start(2, 3).await;
    let other = Receiver::start().await;
    let app = deliver_created_and_updated(&world, &other).await;
    let post = |body: Value, token: Option<&'static str>| {
        let mut request = app
            .http
            .post(format!("{}/admin/replay", app.base))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.unwrap();
            let code = response.status().as_u16();
            (code, response.json::<Value>().await.unwrap())
        }
    };
    let (code, _) = post(json!({ "since": "1h" }), None).await;
    assert_eq!(code, 401, "the token is required");
    for wrong in [
        json!({ "since": "soon" }),
        json!({ "since": "1h", "sink": "nope" }),
        json!({ "since": "1h", "type": "conversation.changed" }),
        json!({ "since": "1h", "colour": "red" }),
    ] {
        let (code, answer) = post(wrong.clone(), Some(TOKEN)).await;
        assert_eq!(code, 400, "{wrong}: {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()));
    }

    let org = world.org(1);
    let body = json!({ "since": "2h", "until": "0s", "org": org, "type": "conversation.created" });
    let (code, answer) = post(body, Some(TOKEN)).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["queued"], 6, "3 created × 2 sinks: {answer}");
    let hook = world.hook.wait_for(13, WAIT).await;
    let again: Vec<String> = hook[10..].iter().map(|r| r.header("webhook-id")).collect();
    let first = bodies(&world.hook);
    for id in &again {
        assert_eq!(first[id].0, "conversation.created");
    }
    assert_eq!(other.wait_for(13, WAIT).await.len(), 13);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_the_log_and_the_log_keeps_events_for_keep_delivered_and_no_longer() {
    let world = World::start(1, 2).await;
    let other = Receiver::start().await;
    let config = world.write_config(&extra(&other));
    let app = Daemon::start(&world, &extra(&other)).await;
    assert_eq!(world.hook.wait_for(2, WAIT).await.len(), 2);
    assert_eq!(other.wait_for(2, WAIT).await.len(), 2);
    app.stop().await;

    let shown = run(&["status", "--json"], &config).await;
    let status: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(
        status["delivered_log"]["events"], 2,
        "one per event: {status}"
    );
    assert!(status["delivered_log"]["bytes"].as_u64().unwrap() > 0);
    let text = run(&["status"], &config).await;
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("delivered log: 2 events"), "{text}");

    let app = world.app(&extra(&other));
    let keep = Duration::from_secs(7 * 86_400);
    let (now, day) = (chrono::Utc::now(), chrono::Duration::days(1));
    assert_eq!(sweep_delivered(&app.store, keep, now + day * 6).unwrap(), 0);
    assert_eq!(
        app.store.delivered_log_size().unwrap().events,
        2,
        "kept within 7 days"
    );
    assert_eq!(sweep_delivered(&app.store, keep, now + day * 8).unwrap(), 2);
    assert_eq!(
        app.store.delivered_log_size().unwrap().events,
        0,
        "gone after 7 days"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_with_a_time_or_sink_it_cannot_use_exits_2_saying_why() {
    let world = World::start(1, 1).await;
    let config = world.write_config("");
    for (args, says) in [
        (vec!["replay", "--since", "yesterday"], "--since"),
        (
            vec!["replay", "--since", "1h", "--until", "noon"],
            "--until",
        ),
        (vec!["replay", "--since", "1h", "--sink", "nope"], "--sink"),
        (
            vec!["replay", "--since", "1h", "--type", "created"],
            "--type",
        ),
    ] {
        let out = run(&args, &config).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_keep_delivered_0s_nothing_is_logged_and_a_replay_queues_nothing() {
    let world = World::start(1, 2).await;
    let toml = world.toml("[poll]\ninitial = \"notify\"\n");
    let mut config = hyperrep_notifier::load_config_str(&toml).unwrap();
    config.delivery.keep_delivered = Duration::ZERO;
    assert!(once_with(config).await.success());
    assert_eq!(world.hook.received().len(), 2);

    let path = world.write_config("[poll]\ninitial = \"notify\"\n");
    let replayed = run(&["replay", "--since", "1d"], &path).await;
    let said = String::from_utf8_lossy(&replayed.stdout);
    assert!(said.contains("queued 0 events for replay"), "{said}");
}
