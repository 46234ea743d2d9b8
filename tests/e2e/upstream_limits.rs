//! Upstream asking for more than a request's worth: a `Retry-After` that outlives the retries
//! (honoured by every org, across polls, up to `api.max_retry_after`), a page over
//! `api.max_page_bytes`, and a record whose id is too long to be one.

use crate::support::World;
use hyperrep_notifier::load_config_str as load_str;
use hyperrep_notifier::metrics::Format;
use hyperrep_notifier::simulator::{Fault, FaultRule, SimRequest};
use hyperrep_notifier::App;
use serde_json::json;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// An app on `world` with `api` lines added to its `[api]` section.
fn app_with(world: &World, api: &str, extra: &str) -> App {
    let toml = world.toml(extra).replace(
        "timeout = \"2s\"\n[store]",
        &format!("timeout = \"2s\"\n{api}\n[store]"),
    );
    App::build(load_str(&toml).expect("a valid test configuration")).expect("the app builds")
}

/// The one request that got a fault.
fn faulted(log: &[SimRequest]) -> SimRequest {
    let hits: Vec<&SimRequest> = log.iter().filter(|r| r.fault.is_some()).collect();
    assert_eq!(hits.len(), 1, "one faulted request: {log:?}");
    hits[0].clone()
}

#[tokio::test]
async fn a_retry_after_holds_every_org_until_it_ends_even_after_the_retries_are_spent() {
    let world = World::start(2, 5).await;
    let app = app_with(&world, "max_retries = 0", "");
    let cancel = CancellationToken::new();
    assert!(app.poll_once(&cancel).await.iter().all(|r| r.complete));
    let (limited, other) = (world.org(0), world.org(1));
    let rate_limited = Fault::RateLimited {
        retry_after: Some(2),
    };
    world
        .sim
        .inject(FaultRule::once(rate_limited).for_org(&limited));
    let first = app.poll_once(&cancel).await;
    let failed = first.iter().find(|r| r.org_id == limited).unwrap();
    assert!(
        failed.error.as_deref().unwrap_or_default().contains("429"),
        "{first:?}"
    );

    let seen = world.sim.requests().len();
    let second = app.poll_once(&cancel).await;
    assert!(second.iter().all(|r| r.complete), "{second:?}");
    let log = world.sim.requests();
    let ends = faulted(&log).at + Duration::from_secs(2);
    let later = &log[seen..];
    assert!(later.iter().any(|r| r.org == other), "{later:?}");
    for request in later {
        assert!(
            request.at >= ends,
            "org {} was asked {:?} before the Retry-After ended",
            request.org,
            ends - request.at
        );
    }
}

#[tokio::test]
async fn a_retry_after_far_beyond_the_cap_is_waited_only_for_the_cap() {
    let world = World::start(1, 5).await;
    let app = app_with(&world, "max_retries = 1\nmax_retry_after = \"1s\"", "");
    let cancel = CancellationToken::new();
    assert!(app.poll_once(&cancel).await[0].complete);
    for asked in [99_999_999_999, u64::MAX] {
        world.sim.inject(FaultRule::once(Fault::RateLimited {
            retry_after: Some(asked),
        }));
        let seen = world.sim.requests().len();
        let report = tokio::time::timeout(Duration::from_secs(30), app.poll_once(&cancel))
            .await
            .unwrap_or_else(|_| panic!("Retry-After: {asked} was not capped"));
        assert!(report[0].complete, "{report:?}");
        let log = world.sim.requests();
        let limited = faulted(&log[seen..]);
        let retry = log[seen..].iter().find(|r| r.fault.is_none()).unwrap();
        assert!(
            retry.at >= limited.at + Duration::from_secs(1),
            "the capped wait is still honoured"
        );
    }
}

#[tokio::test]
async fn shutdown_ends_a_retry_after_wait_at_once() {
    let world = World::start(1, 5).await;
    let app = app_with(&world, "max_retries = 0", "");
    let cancel = CancellationToken::new();
    world.sim.inject(FaultRule::once(Fault::RateLimited {
        retry_after: Some(600),
    }));
    app.poll_once(&cancel).await;
    let stop = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.cancel();
    });
    let report = tokio::time::timeout(Duration::from_secs(30), app.poll_once(&cancel))
        .await
        .expect("the wait ends with the shutdown");
    assert!(!report[0].complete, "{report:?}");
    assert_eq!(
        world.sim.request_count(),
        1,
        "nothing asked during the wait"
    );
}

#[tokio::test]
async fn a_page_over_max_page_bytes_makes_the_listing_incomplete_and_changes_nothing() {
    let world = World::start(1, 35).await;
    let app = app_with(&world, "max_page_bytes = 65536", "");
    let cancel = CancellationToken::new();
    assert!(app.poll_once(&cancel).await[0].complete);
    let org = world.org(0);
    let ids = world.conversation_ids(&org);
    for id in [&ids[1], &ids[33]] {
        world.sim.set_field(&org, id, "folder", json!("escalated"));
    }
    let huge = Fault::HugePage { bytes: 4 << 20 };
    world.sim.inject(FaultRule::always(huge).on_page(2));
    let seen = world.sim.requests().len();
    let refused = app.poll_once(&cancel).await;
    let error = refused[0].error.clone().unwrap_or_default();
    assert!(
        error.contains("api.max_page_bytes") && error.contains("65536"),
        "{refused:?}"
    );
    assert_eq!((refused[0].pages, refused[0].events), (2, 1), "{refused:?}");
    faulted(&world.sim.requests()[seen..]); // exactly one: not retried
    let metrics = app.server_state().metrics.encode(Format::Text);
    assert!(
        metrics.contains("api_pages_refused_total{reason=\"too_large\"} 1"),
        "{metrics}"
    );

    world.sim.clear_faults();
    let recovered = app.poll_once(&cancel).await;
    assert!(recovered[0].complete, "{recovered:?}");
    assert_eq!(recovered[0].events, 1, "the change not seen before");
    app.deliver_due().await.unwrap();
    let changed: Vec<_> = world
        .hook
        .events()
        .iter()
        .map(|e| {
            (
                e["type"].clone(),
                e["data"]["conversation"]["conversation_id"].clone(),
            )
        })
        .collect();
    let updated = |id: &String| (json!("conversation.updated"), json!(id));
    assert_eq!(changed, [updated(&ids[1]), updated(&ids[33])]);
}

#[tokio::test]
async fn a_record_with_a_2_kib_id_is_skipped_and_counted_and_the_rest_is_announced() {
    let world = World::start(1, 12).await;
    let app = world.app("");
    let cancel = CancellationToken::new();
    assert!(app.poll_once(&cancel).await[0].complete);
    let org = world.org(0);
    let long = "c".repeat(2048);
    world
        .sim
        .insert_raw(&org, json!({"conversation_id": long, "folder": "inbox"}));
    let fresh = world.sim.create_conversation(&org);
    let report = app.poll_once(&cancel).await;
    assert!(report[0].complete, "{report:?}");
    assert_eq!((report[0].skipped, report[0].events), (1, 1), "{report:?}");
    app.deliver_due().await.unwrap();
    let events = world.hook.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["conversation"]["conversation_id"], fresh);
}

#[test]
fn the_limits_have_their_defaults_and_a_tiny_page_limit_is_refused_by_name() {
    let base = "[api]\napi_key = \"k\"\n[[orgs]]\nid = \"o\"\n[[sinks]]\nname = \"s\"\ntype = \"console\"\n";
    let config = load_str(base).unwrap();
    assert_eq!(config.api.max_retry_after, Duration::from_secs(600));
    assert_eq!(config.api.max_page_bytes, 8 * 1024 * 1024);
    let tiny = base.replace("api_key = \"k\"", "api_key = \"k\"\nmax_page_bytes = 1000");
    let error = load_str(&tiny).unwrap_err().to_string();
    assert!(error.contains("api.max_page_bytes"), "{error}");
}
