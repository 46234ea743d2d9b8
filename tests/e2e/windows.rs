//! Delivery windows defer, never drop: outside its window a sink's entries wait (not attempted,
//! not counted, not expired) and go out when it opens, a night's worth as one summary. The
//! dispatcher's clock is injected (`App::deliver_due_at`); the window is placed six hours from the
//! real now, so the entries are always queued outside it.

use crate::support::{Receiver, Reply, World};
use chrono::{DateTime, Duration as Span, Timelike, Utc};
use hyperrep_notifier::dispatch::Outcome;
use hyperrep_notifier::load_config_str as load_str;
use hyperrep_notifier::App;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A 30-minute window every day (UTC) starting on the hour six hours from now, and the first
/// instant 10 minutes into it.
fn window_six_hours_away() -> (String, DateTime<Utc>) {
    let start = Utc::now() + Span::hours(6);
    let hour = start.hour();
    let schedule =
        format!("[[schedules]]\nname = \"later\"\nhours = [\"{hour:02}:00-{hour:02}:30\"]\n");
    let first = start.with_minute(10).unwrap().with_second(0).unwrap();
    (schedule, first)
}

/// The world's app with `sink_section` appended; delivery.max_age of 2 h.
fn app_with(world: &World, extra: &str) -> App {
    let mut config = load_str(&world.toml(extra)).unwrap();
    config.delivery.max_age = Duration::from_secs(2 * 3600);
    App::build(config).unwrap()
}

/// New activity on conversations `range` of org 0, then a poll.
async fn touch_and_poll(world: &World, app: &App, range: std::ops::Range<usize>) {
    let org = world.org(0);
    for id in &world.conversation_ids(&org)[range] {
        world.sim.touch(&org, id);
    }
    app.poll_once(&CancellationToken::new()).await;
}

#[tokio::test]
async fn outside_its_window_a_sink_waits_uncounted_and_unexpired_then_delivers_when_it_opens() {
    let world = World::start(1, 5).await;
    let (schedule, opens) = window_six_hours_away();
    // The first line after the world's `hook` sink belongs to it.
    let app = app_with(&world, &format!("deliver_during = \"later\"\n{schedule}"));
    app.poll_once(&CancellationToken::new()).await;
    touch_and_poll(&world, &app, 0..3).await;

    let closed = app
        .deliver_due_at(Utc::now() + Span::hours(1))
        .await
        .unwrap();
    assert!(
        closed.is_empty(),
        "nothing is attempted outside the window: {closed:?}"
    );
    assert!(world.hook.received().is_empty());
    let far = Utc::now() + Span::days(10);
    let queued = app.store.due("hook", far, 10, &Default::default()).unwrap();
    assert!(
        queued.entries.iter().all(|(_, e)| e.attempts == 0),
        "waiting is not failing"
    );

    // Two days of waiting (54 h of wall time, 70 min inside windows) against max_age = 2 h.
    let later = opens + Span::days(2);
    let outcomes = app.deliver_due_at(later).await.unwrap();
    assert_eq!(
        outcomes,
        vec![Outcome::Delivered; 3],
        "delivered, not expired"
    );
    assert_eq!(world.hook.received().len(), 3);
    assert!(app.store.dead_letters().unwrap().is_empty());
}

#[tokio::test]
async fn a_window_opening_on_many_waiting_entries_sends_one_summary_not_one_each() {
    let world = World::start(1, 30).await;
    let slack = Receiver::start().await;
    slack.answer_always(Reply::Body(200, "ok"));
    let (schedule, opens) = window_six_hours_away();
    let sink = format!(
        "[[sinks]]\nname = \"chat\"\ntype = \"slack\"\nurl = \"{}/services/T/B/X\"\n\
         deliver_during = \"later\"\nmax_messages_per_poll = 10\n{schedule}",
        slack.url
    );
    let app = app_with(&world, &sink);
    app.poll_once(&CancellationToken::new()).await;
    for round in 0..3 {
        // Three polls of 8: each alone is under the flood limit of 10.
        touch_and_poll(&world, &app, round * 8..round * 8 + 8).await;
    }
    assert!(
        app.deliver_due_at(Utc::now() + Span::hours(1))
            .await
            .unwrap()
            .len()
            >= 8
    );

    let outcomes = app.deliver_due_at(opens).await.unwrap();

    assert_eq!(
        outcomes,
        vec![Outcome::Delivered],
        "one summary for the 24 that waited"
    );
    let summary = slack.events();
    assert_eq!(summary.len(), 1);
    assert!(summary[0].to_string().contains("24"), "{}", summary[0]);
}
