//! Upstream failures in the middle of a listing: no spurious events, nothing recorded from what
//! was not seen, and the real changes delivered once upstream recovers.

use crate::support::World;
use hyperrep_notifier::simulator::{Fault, FaultRule};
use hyperrep_notifier::App;
use serde_json::json;
use tokio_util::sync::CancellationToken;

const REMOVALS: &str = "[poll]\ndetect_removed = true\n";

/// 35 conversations in pages of 10: pages 0..=3. A baseline, then one change on page 0 and one
/// on page 3.
pub(crate) async fn world_with_changes_on_first_and_last_page() -> (World, App, Vec<String>) {
    let world = World::start(1, 35).await;
    let app = world.app(REMOVALS);
    let baseline = app.poll_once(&CancellationToken::new()).await;
    assert!(baseline[0].complete, "{baseline:?}");
    let org = world.org(0);
    let ids: Vec<String> = world
        .sim
        .conversations(&org)
        .iter()
        .map(|c| c["conversation_id"].as_str().unwrap().to_string())
        .collect();
    world
        .sim
        .set_field(&org, &ids[1], "folder", json!("escalated"));
    world
        .sim
        .set_field(&org, &ids[33], "folder", json!("escalated"));
    (world, app, ids)
}

/// Polls through `fault` on page 2, then without it; returns the events delivered.
async fn poll_through(fault: Fault) -> (Vec<serde_json::Value>, Vec<String>) {
    let (world, app, ids) = world_with_changes_on_first_and_last_page().await;
    let cancel = CancellationToken::new();
    world.sim.inject(FaultRule {
        org: None,
        page: Some(2),
        times: usize::MAX,
        fault,
    });
    let failed = app.poll_once(&cancel).await;
    assert!(
        !failed[0].complete && failed[0].error.is_some(),
        "{failed:?}"
    );
    assert_eq!(failed[0].pages, 2, "pages before the fault are committed");
    assert_eq!(
        failed[0].events, 1,
        "only the change on a page that was seen: {failed:?}"
    );

    world.sim.clear_faults();
    let recovered = app.poll_once(&cancel).await;
    assert!(recovered[0].complete, "{recovered:?}");
    assert_eq!(
        recovered[0].events, 1,
        "the change on the page not seen before: {recovered:?}"
    );
    app.deliver_due().await.unwrap();
    (world.hook.events(), ids)
}

pub(crate) fn assert_exactly_the_two_changes(events: &[serde_json::Value], ids: &[String]) {
    let got: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["data"]["conversation"]["conversation_id"]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("conversation.updated", ids[1].as_str()),
            ("conversation.updated", ids[33].as_str())
        ]
    );
    assert!(events
        .iter()
        .all(|e| e["data"]["previous"] != json!({"folder": "escalated"})));
}

#[tokio::test]
async fn a_5xx_in_the_middle_of_a_listing_announces_nothing_false_and_loses_nothing() {
    let (events, ids) = poll_through(Fault::Status(503)).await;
    assert_exactly_the_two_changes(&events, &ids);
}

#[tokio::test]
async fn a_malformed_page_in_the_middle_of_a_listing_changes_nothing() {
    let (events, ids) = poll_through(Fault::MalformedJson).await;
    assert_exactly_the_two_changes(&events, &ids);
}

#[tokio::test]
async fn a_truncated_page_changes_nothing() {
    let (events, ids) = poll_through(Fault::TruncatedBody).await;
    assert_exactly_the_two_changes(&events, &ids);
}

#[tokio::test]
async fn a_page_of_the_wrong_shape_changes_nothing() {
    let (events, ids) = poll_through(Fault::WrongTypes).await;
    assert_exactly_the_two_changes(&events, &ids);
}

#[tokio::test]
async fn a_cursor_loop_ends_the_listing_as_incomplete_without_removals() {
    let (world, app, ids) = world_with_changes_on_first_and_last_page().await;
    world.sim.inject(FaultRule {
        org: None,
        page: Some(1),
        times: usize::MAX,
        fault: Fault::CursorLoop,
    });
    let report = app.poll_once(&CancellationToken::new()).await;
    assert!(!report[0].complete);
    assert!(
        report[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("cursor"),
        "{report:?}"
    );
    world.sim.clear_faults();
    app.poll_once(&CancellationToken::new()).await;
    app.deliver_due().await.unwrap();
    assert_exactly_the_two_changes(&world.hook.events(), &ids);
}

#[tokio::test]
async fn has_more_without_a_cursor_ends_the_listing_as_incomplete_without_removals() {
    let (events, ids) = poll_through_page_one(Fault::HasMoreWithoutCursor).await;
    assert_exactly_the_two_changes(&events, &ids);
}

async fn poll_through_page_one(fault: Fault) -> (Vec<serde_json::Value>, Vec<String>) {
    let (world, app, ids) = world_with_changes_on_first_and_last_page().await;
    world.sim.inject(FaultRule {
        org: None,
        page: Some(1),
        times: usize::MAX,
        fault,
    });
    let report = app.poll_once(&CancellationToken::new()).await;
    assert!(!report[0].complete, "{report:?}");
    world.sim.clear_faults();
    app.poll_once(&CancellationToken::new()).await;
    app.deliver_due().await.unwrap();
    (world.hook.events(), ids)
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_within_the_same_poll() {
    let (world, app, ids) = world_with_changes_on_first_and_last_page().await;
    world.sim.inject(FaultRule {
        org: None,
        page: Some(2),
        times: 1,
        fault: Fault::RateLimited {
            retry_after: Some(1),
        },
    });
    let started = std::time::Instant::now();
    let report = app.poll_once(&CancellationToken::new()).await;
    assert!(report[0].complete, "{report:?}");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    app.deliver_due().await.unwrap();
    assert_exactly_the_two_changes(&world.hook.events(), &ids);
}

#[tokio::test]
async fn one_org_answering_401_does_not_stop_the_others() {
    let world = World::start(2, 5).await;
    let app = world.app("");
    let cancel = CancellationToken::new();
    app.poll_once(&cancel).await;
    let (bad, good) = (world.org(0), world.org(1));
    world.sim.inject(FaultRule {
        org: Some(bad.clone()),
        page: None,
        times: usize::MAX,
        fault: Fault::Status(401),
    });
    let id = world.sim.create_conversation(&good);
    world.sim.create_conversation(&bad);

    let reports = app.poll_once(&cancel).await;
    let report = |org: &str| reports.iter().find(|r| r.org_id == org).unwrap().clone();
    assert!(
        report(&bad)
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("401"),
        "{reports:?}"
    );
    assert!(report(&good).complete, "{reports:?}");
    app.deliver_due().await.unwrap();
    let events = world.hook.events();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["data"]["conversation"]["conversation_id"],
        id.as_str()
    );
}

#[tokio::test]
async fn a_connection_reset_mid_listing_changes_nothing() {
    let (events, ids) = poll_through(Fault::ConnectionReset).await;
    assert_exactly_the_two_changes(&events, &ids);
}

#[tokio::test]
async fn an_upstream_slower_than_the_timeout_changes_nothing() {
    let world = World::start(1, 35).await;
    let toml = world.toml("").replace(
        "timeout = \"2s\"\n[store]",
        "timeout = \"200ms\"\nmax_retries = 1\n[store]",
    );
    let config = hyperrep_notifier::load_config_str(&toml).unwrap();
    assert_eq!(config.api.timeout, std::time::Duration::from_millis(200));
    let app = App::build(config).unwrap();
    app.poll_once(&CancellationToken::new()).await;
    let org = world.org(0);
    let id = world.sim.conversations(&org)[33]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    world.sim.touch(&org, &id);
    world.sim.inject(FaultRule {
        org: None,
        page: Some(3),
        times: usize::MAX,
        fault: Fault::Delay(std::time::Duration::from_millis(600)),
    });
    let slow = app.poll_once(&CancellationToken::new()).await;
    assert!(
        slow[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("timeout"),
        "{slow:?}"
    );
    assert_eq!(slow[0].events, 0);
    world.sim.clear_faults();
    assert_eq!(app.poll_once(&CancellationToken::new()).await[0].events, 1);
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off_and_the_listing_completes() {
    let (world, app, ids) = world_with_changes_on_first_and_last_page().await;
    world.sim.inject(FaultRule {
        org: None,
        page: Some(2),
        times: 2,
        fault: Fault::RateLimited { retry_after: None },
    });
    let report = app.poll_once(&CancellationToken::new()).await;
    assert!(report[0].complete, "{report:?}");
    app.deliver_due().await.unwrap();
    assert_exactly_the_two_changes(&world.hook.events(), &ids);
}

#[tokio::test]
async fn an_empty_first_page_followed_by_a_full_listing_announces_nothing_false() {
    let (world, app, ids) = world_with_changes_on_first_and_last_page().await;
    world.sim.inject(FaultRule {
        org: None,
        page: Some(0),
        times: 1,
        fault: Fault::EmptyPage,
    });
    let first = app.poll_once(&CancellationToken::new()).await;
    assert_eq!(first[0].events, 1, "the change on page 3 only: {first:?}");
    let full = app.poll_once(&CancellationToken::new()).await;
    assert_eq!(
        full[0].events, 1,
        "the change on page 0, and no removals: {full:?}"
    );
    app.deliver_due().await.unwrap();
    let mut events = world.hook.events();
    events.sort_by_key(|e| (e["data"]["conversation"]["conversation_id"] != ids[1].as_str()) as u8);
    assert_exactly_the_two_changes(&events, &ids);
}

#[tokio::test]
async fn a_record_listed_on_two_pages_is_announced_once() {
    let (world, app, ids) = world_with_changes_on_first_and_last_page().await;
    let org = world.org(0);
    let copy = world.sim.conversations(&org)[1].clone();
    world.sim.insert_raw(&org, copy);
    let report = app.poll_once(&CancellationToken::new()).await;
    assert_eq!(report[0].events, 2, "{report:?}");
    app.deliver_due().await.unwrap();
    assert_exactly_the_two_changes(&world.hook.events(), &ids);
}
