//! The dispatcher against a real webhook endpoint that fails in the ways endpoints fail.

use crate::support::{eventually, Daemon, Receiver, Reply, World};
use hyperrep_notifier::load_config_str as load_str;
use hyperrep_notifier::{run_once, App};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

async fn baseline_then_touch(world: &World, count: usize) -> BTreeSet<String> {
    crate::support::baseline_then_touch(world, &world.toml(""), count)
        .await
        .into_iter()
        .collect()
}

fn delivered_conversations(hook: &Receiver) -> Vec<String> {
    hook.events()
        .iter()
        .map(|e| {
            e["data"]["conversation"]["conversation_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn a_webhook_answering_503_for_a_while_gets_everything_once_it_recovers() {
    let world = World::start(1, 12).await;
    let touched = baseline_then_touch(&world, 6).await;
    world
        .hook
        .script(std::iter::repeat_n(Reply::Status(503), 10));

    // Enough attempts that no entry can use them all up on the ten refusals.
    let config = load_str(
        &world
            .toml("")
            .replace("max_attempts = 5", "max_attempts = 20"),
    )
    .unwrap();
    let report = run_once(config, CancellationToken::new(), Duration::from_secs(20))
        .await
        .unwrap();

    assert!(report.success(), "{report:?}");
    let received = world.hook.received();
    assert_eq!(received.len(), 16, "10 refused attempts, then 6 deliveries");
    let delivered: BTreeSet<String> = delivered_conversations(&world.hook)[10..]
        .iter()
        .cloned()
        .collect();
    assert_eq!(delivered, touched);
    let ids: BTreeSet<String> = world
        .hook
        .events()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 6, "retries carry the same event id");
}

#[tokio::test]
async fn a_webhook_answering_400_dead_letters_the_entry_without_retrying() {
    let world = World::start(1, 5).await;
    baseline_then_touch(&world, 1).await;
    world.hook.answer_always(Reply::Status(400));

    let report = run_once(
        load_str(&world.toml("")).unwrap(),
        CancellationToken::new(),
        Duration::from_secs(5),
    )
    .await
    .unwrap();

    assert_eq!(report.pending, 0, "nothing is left waiting");
    assert_eq!(world.hook.received().len(), 1, "a 400 is never retried");
    let app = world.app("");
    let letters = app.store.dead_letters().unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].sink, "hook");
    assert!(
        letters[0].reason.contains("HTTP 400"),
        "{}",
        letters[0].reason
    );
    assert_eq!(letters[0].entry.attempts, 1);
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_dead_letters_the_entry() {
    let world = World::start(1, 5).await;
    let elsewhere = Receiver::start().await;
    baseline_then_touch(&world, 1).await;
    world
        .hook
        .answer_always(Reply::Redirect(elsewhere.url.clone()));

    run_once(
        load_str(&world.toml("")).unwrap(),
        CancellationToken::new(),
        Duration::from_secs(5),
    )
    .await
    .unwrap();

    assert!(
        elsewhere.received().is_empty(),
        "the event must not follow a redirect to another host"
    );
    let letters = App::build(load_str(&world.toml("")).unwrap())
        .unwrap()
        .store
        .dead_letters()
        .unwrap();
    assert!(
        letters[0].reason.contains("HTTP 307"),
        "{}",
        letters[0].reason
    );
}

#[tokio::test]
async fn an_endpoint_that_never_recovers_is_dead_lettered_after_max_attempts() {
    let world = World::start(1, 5).await;
    baseline_then_touch(&world, 1).await;
    world.hook.answer_always(Reply::Status(500));

    let report = run_once(
        load_str(&world.toml("")).unwrap(),
        CancellationToken::new(),
        Duration::from_secs(10),
    )
    .await
    .unwrap();

    assert_eq!(report.pending, 0);
    assert_eq!(
        world.hook.received().len(),
        5,
        "max_attempts = 5 in the test configuration"
    );
    let letters = world.app("").store.dead_letters().unwrap();
    assert!(
        letters[0].reason.contains("gave up after 5 attempts"),
        "{}",
        letters[0].reason
    );
}

#[tokio::test]
async fn entries_of_a_sink_removed_from_the_configuration_are_kept_as_dead_letters() {
    let world = World::start(1, 5).await;
    baseline_then_touch(&world, 2).await;
    world.hook.answer_always(Reply::Status(503));
    let app = world.app("");
    app.poll_once(&CancellationToken::new()).await;
    assert_eq!(app.pending(), 2);
    drop(app);

    let other = Receiver::start().await;
    let without_hook = world
        .toml("")
        .replace(&world.hook.url, &other.url)
        .replace("name = \"hook\"", "name = \"other\"");
    let app = App::build(load_str(&without_hook).unwrap()).unwrap();

    let letters = app.store.dead_letters().unwrap();
    assert_eq!(letters.len(), 2);
    assert!(letters
        .iter()
        .all(|l| l.sink == "hook" && l.reason.contains("no longer in the configuration")));
}

#[tokio::test]
async fn a_429_from_a_webhook_waits_for_its_retry_after() {
    let world = World::start(1, 5).await;
    baseline_then_touch(&world, 1).await;
    world.hook.script([Reply::RetryAfter(1)]);
    // Honoured as asked: it is within delivery.max_backoff.
    let mut config = load_str(&world.toml("")).unwrap();
    config.delivery.max_backoff = Duration::from_secs(5);

    let report = run_once(config, CancellationToken::new(), Duration::from_secs(10))
        .await
        .unwrap();

    assert!(report.success(), "{report:?}");
    let received = world.hook.received();
    assert_eq!(received.len(), 2);
    let waited = received[1].at - received[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 was not honoured: {waited:?}"
    );
    assert_eq!(received[0].json()["id"], received[1].json()["id"]);
}

#[tokio::test]
async fn after_a_sinks_retry_after_nothing_is_sent_to_it_before_that_time() {
    let world = World::start(1, 5).await;
    baseline_then_touch(&world, 3).await;
    world.hook.script([Reply::RetryAfter(1)]);
    let mut config = load_str(&world.toml("")).unwrap();
    config.delivery.max_backoff = Duration::from_secs(5);
    config.delivery.concurrency = 1;

    let report = run_once(config, CancellationToken::new(), Duration::from_secs(10))
        .await
        .unwrap();

    assert!(report.success(), "{report:?}");
    let received = world.hook.received();
    assert_eq!(received.len(), 4, "one refused, then the three");
    for later in &received[1..] {
        let waited = later.at - received[0].at;
        assert!(
            waited >= Duration::from_millis(950),
            "sent {waited:?} after the 429"
        );
    }
}

/// A daemon stopped while a webhook hangs ends within `server.shutdown_timeout` (the attempt
/// is abandoned, not waited for), and the restart delivers that change, under the same id.
#[tokio::test]
async fn a_stop_while_a_webhook_hangs_ends_within_the_shutdown_timeout_and_the_restart_delivers_it()
{
    let world = World::start(1, 5).await;
    baseline_then_touch(&world, 1).await;
    world
        .hook
        .script([Reply::Slow(Duration::from_secs(30), 200)]);
    // Far shorter than the attempt would take: delivery.timeout is 2 s.
    let extra = "[server]\nshutdown_timeout = \"300ms\"\n";
    let daemon = Daemon::start(&world, extra).await;
    let in_flight = eventually(Duration::from_secs(10), || async {
        world.hook.arrived() == 1
    });
    assert!(in_flight.await, "the webhook was never attempted");
    let stopping = std::time::Instant::now();
    daemon.stop().await;
    let took = stopping.elapsed();
    assert!(took < Duration::from_secs(1), "the stop took {took:?}");
    assert!(
        world.hook.received().is_empty(),
        "nothing was delivered before the stop"
    );

    let report = crate::support::once(&world.toml(extra)).await;
    assert!(report.success(), "{report:?}");
    let delivered = world.hook.received();
    assert_eq!(delivered.len(), 1, "delivered once, after the restart");
    assert_eq!(delivered[0].json()["type"], "conversation.updated");
}
