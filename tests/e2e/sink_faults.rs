//! Webhook endpoints failing the ways networks fail: each attempt is classified, retried or
//! dead-lettered, and no error shows a URL's token.

use crate::support::{Reply, World};
use hyperrep_notifier::dispatch::Outcome;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A baseline, then one new conversation: one entry for every sink.
async fn one_event(world: &World, extra: &str) -> hyperrep_notifier::App {
    let app = world.app(extra);
    app.poll_once(&CancellationToken::new()).await;
    world.sim.create_conversation(&world.org(0));
    app.poll_once(&CancellationToken::new()).await;
    app
}

fn last_error(app: &hyperrep_notifier::App, sink: &str) -> String {
    let far = chrono::Utc::now() + chrono::Duration::days(1);
    let due = app.store.due(sink, far, 10, &Default::default()).unwrap();
    due.entries[0].1.last_error.clone().unwrap_or_default()
}

fn sink(name: &str, url: &str) -> String {
    format!("[[sinks]]\nname = \"{name}\"\ntype = \"webhook\"\nurl = \"{url}\"\n")
}

#[tokio::test]
async fn a_webhook_slower_than_the_timeout_is_retried_and_delivered_once_it_answers() {
    let world = World::start(1, 2).await;
    world
        .hook
        .script([Reply::Slow(Duration::from_secs(4), 200)]);
    let app = one_event(&world, "").await;

    assert!(matches!(
        app.deliver_due().await.unwrap()[..],
        [Outcome::Retrying { .. }]
    ));
    assert!(
        last_error(&app, "hook").contains("timed out")
            || last_error(&app, "hook").contains("timeout"),
        "{}",
        last_error(&app, "hook")
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(app.deliver_due().await.unwrap(), vec![Outcome::Delivered]);
    assert_eq!(
        world.hook.received().len(),
        1,
        "the timed-out attempt was never accepted"
    );
}

#[tokio::test]
async fn a_connection_reset_is_retried_and_shows_no_token() {
    let world = World::start(1, 2).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(5) {
            drop(stream); // accept, then close without a word
        }
    });
    let app = one_event(
        &world,
        &sink("reset", &format!("http://{address}/hook?token=SECRET7")),
    )
    .await;

    let outcomes = app.deliver_due().await.unwrap();
    assert!(
        outcomes.contains(&Outcome::Delivered),
        "the healthy sink is not held up: {outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Retrying { .. })),
        "{outcomes:?}"
    );
    let error = last_error(&app, "reset");
    assert!(!error.is_empty() && !error.contains("SECRET7"), "{error}");
}

#[tokio::test]
async fn a_tls_failure_is_retried_and_dead_lettered_after_max_attempts() {
    let world = World::start(1, 2).await;
    // https:// to a server that speaks plain HTTP: the TLS handshake fails.
    let url = world.hook.url.replace("http://", "https://");
    let app = one_event(&world, &sink("tls", &format!("{url}?token=SECRET8"))).await;

    let first = app.deliver_due().await.unwrap();
    assert!(
        first.iter().any(|o| matches!(o, Outcome::Retrying { .. })),
        "{first:?}"
    );
    assert!(!last_error(&app, "tls").contains("SECRET8"));
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(120)).await;
        app.deliver_due().await.unwrap();
    }
    let letters = app.store.dead_letters().unwrap();
    assert_eq!(letters.len(), 1, "five failed attempts, then a dead letter");
    assert_eq!(
        (letters[0].sink.as_str(), letters[0].entry.attempts),
        ("tls", 5)
    );
    assert!(
        !letters[0].reason.contains("SECRET8"),
        "{}",
        letters[0].reason
    );
}

#[tokio::test]
async fn a_retry_after_of_centuries_or_past_u64_waits_only_max_backoff_and_counts() {
    for seconds in [u64::MAX, 99_999_999_999] {
        let world = World::start(1, 2).await;
        world.hook.answer_always(Reply::RetryAfter(seconds));
        let app = one_event(&world, "").await;
        let before = chrono::Utc::now();
        let outcomes = app.deliver_due().await.unwrap();
        let Outcome::Retrying { attempts, next_at } = outcomes[0] else {
            panic!("Retry-After {seconds}: {outcomes:?}");
        };
        assert_eq!(attempts, 1, "the capped wait counts as an attempt");
        // delivery.max_backoff is 100ms in the test configuration.
        assert!(
            next_at <= before + chrono::Duration::seconds(1),
            "{next_at}"
        );
        let mut dead = false;
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(120)).await;
            let outcomes = app.deliver_due().await.unwrap();
            dead |= matches!(outcomes[..], [Outcome::DeadLettered { .. }]);
        }
        assert!(
            dead,
            "after max_attempts (5) it is a dead letter, not parked"
        );
        assert_eq!(world.hook.received().len(), 5);
    }
}

#[tokio::test]
async fn a_delivery_that_panics_is_counted_as_a_failed_attempt_and_retried_later() {
    let world = World::start(1, 2).await;
    let app = one_event(&world, "").await;
    let far = chrono::Utc::now() + chrono::Duration::days(1);
    let due = app.store.due("hook", far, 1, &Default::default()).unwrap();
    let seq = due.entries[0].0;
    let worker = &app.workers[0];

    let panicked = hyperrep_notifier::dispatch::guarded(worker, &[seq], async {
        panic!("a bug in a sink");
    })
    .await;

    let Outcome::Retrying { attempts, .. } = panicked.unwrap() else {
        panic!("the entry is rescheduled");
    };
    assert_eq!(attempts, 1);
    assert!(last_error(&app, "hook").contains("panicked: a bug in a sink"));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(app.deliver_due().await.unwrap(), vec![Outcome::Delivered]);
    assert_eq!(
        world.hook.received().len(),
        1,
        "delivered once the bug is not hit"
    );
}
