//! Poll → diff → outbox → signed webhook, step by step.

use crate::support::{Receiver, World, SECRET};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use hyperrep_notifier::dispatch::Outcome;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio_util::sync::CancellationToken;

fn by_conversation<'a>(events: &'a [Value], id: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["data"]["conversation"]["conversation_id"] == id)
        .unwrap_or_else(|| panic!("no event for {id}"))
}

/// The signature as a receiver would check it, without the crate's signer.
fn expected_signature(id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = STANDARD
        .decode(SECRET.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn a_baseline_sends_nothing_then_four_changes_arrive_as_four_signed_events() {
    let world = World::start(1, 25).await;
    let org = world.org(0);
    let ids = world.conversation_ids(&org);
    world.sim.set_field(&org, &ids[1], "is_read", json!(true));
    world.sim.set_field(&org, &ids[2], "folder", json!("inbox"));
    let app = world.app("");
    let cancel = CancellationToken::new();

    let baseline = app.poll_once(&cancel).await;
    assert!(baseline[0].complete, "{baseline:?}");
    assert_eq!((baseline[0].pages, baseline[0].conversations), (3, 25));
    assert_eq!(
        baseline[0].written, 25,
        "every conversation of a baseline is stored"
    );
    assert_eq!(
        app.pending(),
        0,
        "the first listing records a baseline and sends nothing"
    );

    let created = world.sim.create_conversation(&org);
    world.sim.set_field(
        &org,
        &ids[0],
        "last_activity_at",
        json!("2030-01-01T00:00:00Z"),
    );
    world.sim.set_field(&org, &ids[1], "is_read", json!(false));
    world
        .sim
        .set_field(&org, &ids[2], "folder", json!("archived"));
    let report = app.poll_once(&cancel).await;
    assert_eq!(report[0].events, 4, "{report:?}");
    let outcomes = app.deliver_due().await.unwrap();
    assert_eq!(outcomes, vec![Outcome::Delivered; 4]);

    let received = world.hook.received();
    assert_eq!(received.len(), 4);
    for request in &received {
        let id = request.json()["id"].as_str().unwrap().to_string();
        assert_eq!(request.header("webhook-id"), id);
        let timestamp = request.header("webhook-timestamp");
        assert_eq!(
            request.header("webhook-signature"),
            expected_signature(&id, &timestamp, &request.body)
        );
        let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().unwrap();
        assert!(
            (0..60).contains(&age),
            "the timestamp is the time of sending"
        );
    }
    let events = world.hook.events();
    let new = by_conversation(&events, &created);
    assert_eq!(
        (new["type"].as_str(), new["data"]["changes"].clone()),
        (Some("conversation.created"), json!([]))
    );
    let activity = by_conversation(&events, &ids[0]);
    assert_eq!(activity["type"], "conversation.updated");
    assert_eq!(activity["data"]["changes"], json!(["last_activity_at"]));
    assert_eq!(
        activity["data"]["conversation"]["last_activity_at"],
        "2030-01-01T00:00:00Z"
    );
    let unread = by_conversation(&events, &ids[1]);
    assert_eq!(unread["data"]["changes"], json!(["is_read"]));
    assert_eq!(unread["data"]["previous"], json!({"is_read": true}));
    assert_eq!(unread["data"]["org_name"], "Org 0");
    let moved = by_conversation(&events, &ids[2]);
    assert_eq!(moved["data"]["previous"], json!({"folder": "inbox"}));
    assert_eq!(moved["data"]["conversation"]["folder"], "archived");
    assert_eq!(
        moved["data"]["conversation"]["contact_id"],
        world.sim.conversations(&org)[2]["contact_id"]
    );

    let again = app.poll_once(&cancel).await;
    assert_eq!(
        (again[0].events, again[0].written),
        (0, 0),
        "nothing changed, nothing rewritten"
    );
}

#[tokio::test]
async fn configured_headers_are_sent_and_unsigned_sinks_still_carry_the_event_id() {
    let world = World::start(1, 3).await;
    let plain = Receiver::start().await;
    let extra = format!(
        "[[sinks]]\nname = \"plain\"\ntype = \"webhook\"\nurl = \"{}\"\n\
         headers = {{ Authorization = \"Bearer t0ken\", X-Team = \"support\" }}\n",
        plain.url
    );
    let app = world.app(&extra);
    let cancel = CancellationToken::new();
    app.poll_once(&cancel).await;
    world.sim.create_conversation(&world.org(0));
    app.poll_once(&cancel).await;
    app.deliver_due().await.unwrap();
    let request = &plain.received()[0];
    assert_eq!(request.header("authorization"), "Bearer t0ken");
    assert_eq!(request.header("x-team"), "support");
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(
        request.header("webhook-id"),
        request.json()["id"].as_str().unwrap()
    );
    assert_eq!(
        request.header("webhook-signature"),
        "",
        "no secret, no signature"
    );
}

#[tokio::test]
async fn the_request_rate_ceiling_spaces_requests_across_all_orgs() {
    let world = World::start(3, 50).await;
    let toml = world
        .toml("[poll]\nconcurrency = 3\n")
        .replace("requests_per_second = 1000", "requests_per_second = 10");
    let config = hyperrep_notifier::load_config_str(&toml).unwrap();
    let app = hyperrep_notifier::App::build(config).unwrap();
    let started = std::time::Instant::now();
    let reports = app.poll_once(&CancellationToken::new()).await;
    assert!(
        reports.iter().all(|r| r.complete && r.pages == 5),
        "{reports:?}"
    );
    // 15 requests at 10/s with a burst of 10: the last five wait 100 ms each.
    let elapsed = started.elapsed();
    assert!(
        elapsed >= std::time::Duration::from_millis(450),
        "{elapsed:?}"
    );
    assert_eq!(world.sim.request_count(), 15);
}

#[tokio::test]
async fn a_filtered_sink_receives_only_the_events_its_filter_matches() {
    let world = World::start(2, 6).await;
    let unread = Receiver::start().await;
    let (org0, org1) = (world.org(0), world.org(1));
    let extra = format!(
        "[[sinks]]\nname = \"unread-inbox\"\ntype = \"webhook\"\nurl = \"{}\"\n[sinks.filter]\n\
         events = [\"conversation.updated\"]\nchanges = [\"is_read\", \"last_activity_at\"]\nfolder = [\"inbox\"]\n\
         is_read = false\norgs = [\"{org0}\"]\n",
        unread.url
    );
    let ids0 = world.conversation_ids(&org0);
    let ids1 = world.conversation_ids(&org1);
    for id in &ids0[..5] {
        world.sim.set_field(&org0, id, "folder", json!("inbox"));
        world.sim.set_field(&org0, id, "is_read", json!(true));
    }
    world
        .sim
        .set_field(&org1, &ids1[0], "folder", json!("inbox"));
    world.sim.set_field(&org1, &ids1[0], "is_read", json!(true));
    let app = world.app(&extra);
    let cancel = CancellationToken::new();
    app.poll_once(&cancel).await;

    world
        .sim
        .set_field(&org0, &ids0[0], "is_read", json!(false)); // matches
    world
        .sim
        .set_field(&org0, &ids0[1], "folder", json!("archived")); // folder no longer inbox
    world
        .sim
        .set_field(&org0, &ids0[1], "is_read", json!(false));
    world
        .sim
        .set_field(&org0, &ids0[2], "contact_id", json!("someone-else")); // untracked: no event at all
    world
        .sim
        .set_field(&org0, &ids0[3], "folder", json!("spam")); // changes only the folder
    world.sim.create_conversation(&org0); // created, not updated
    world
        .sim
        .set_field(&org1, &ids1[0], "is_read", json!(false)); // another org
    app.poll_once(&cancel).await;
    app.deliver_due().await.unwrap();

    assert_eq!(
        world.hook.received().len(),
        5,
        "the unfiltered sink gets every event"
    );
    let filtered = unread.events();
    assert_eq!(filtered.len(), 1, "{filtered:#?}");
    assert_eq!(
        filtered[0]["data"]["conversation"]["conversation_id"],
        ids0[0].as_str()
    );
}

#[tokio::test]
async fn a_restart_on_the_same_store_resends_only_what_was_in_flight_with_the_same_ids() {
    let world = World::start(1, 8).await;
    let org = world.org(0);
    let ids = world.conversation_ids(&org);
    let cancel = CancellationToken::new();
    let first_ids: Vec<String> = {
        let app = world.app("");
        app.poll_once(&cancel).await;
        world.sim.touch(&org, &ids[0]);
        world.sim.touch(&org, &ids[1]);
        world.hook.answer_always(crate::support::Reply::Status(503));
        app.poll_once(&cancel).await;
        let outcomes = app.deliver_due().await.unwrap();
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Outcome::Retrying { .. })),
            "{outcomes:?}"
        );
        world.hook.event_ids()
    };
    world.hook.answer_always(crate::support::Reply::Status(200));

    let app = world.app("");
    let report = app.poll_once(&cancel).await;
    assert_eq!(
        report[0].events, 0,
        "a restart detects nothing new: {report:?}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.pending() > 0 && std::time::Instant::now() < deadline {
        app.deliver_due().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let all: Vec<String> = world.hook.event_ids();
    assert_eq!(
        all.len(),
        4,
        "two failed attempts, then two deliveries: {all:?}"
    );
    assert_eq!(
        all[2..].iter().collect::<std::collections::BTreeSet<_>>(),
        first_ids.iter().collect()
    );
}

#[tokio::test]
async fn a_snapshot_stored_in_another_encoding_is_rewritten_once_and_announces_nothing() {
    let world = World::start(1, 3).await;
    let app = world.app("");
    let cancel = CancellationToken::new();
    app.poll_once(&cancel).await;
    let org = world.org(0);
    let record = world.sim.conversations(&org)[1].clone();
    // The same content with the keys in reverse order: what another build might have stored.
    let mut keys: Vec<(String, Value)> = record.as_object().unwrap().clone().into_iter().collect();
    keys.reverse();
    let text = Value::Object(keys.into_iter().collect()).to_string();
    let conversation = hyperrep_notifier::event::Conversation::from_json(&text).unwrap();
    let stored = hyperrep_notifier::diff::Stored {
        revision: 0,
        conversation,
    };
    let commit = hyperrep_notifier::store::Commit {
        writes: vec![stored],
        ..Default::default()
    };
    app.store.commit(&org, &commit).unwrap();

    let first = app.poll_once(&cancel).await;
    assert_eq!(
        (first[0].events, first[0].written),
        (0, 1),
        "rewritten as received, nothing announced"
    );
    let second = app.poll_once(&cancel).await;
    assert_eq!(
        (second[0].events, second[0].written),
        (0, 0),
        "from then on the byte comparison holds"
    );
}
