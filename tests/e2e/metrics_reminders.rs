//! The reminder and delivery-window metrics on `/metrics`: every reminder step and sink window
//! has its series from the first scrape, a sink outside its window reads 0, and a reminder sent
//! to it is counted and then waits for the window. The window is placed six hours from the real
//! now (as in `windows.rs`), so it is closed throughout.

use crate::support::{find_sample, metric, Daemon, World};
use chrono::{Duration as Span, Timelike, Utc};
use serde_json::json;

/// A `night` sink whose window is six hours away, and a reminder over unread inbox
/// conversations: step 1 after `first` to `night`, step 2 after 1 h to `hook`.
fn config(interval: &str, first: &str) -> String {
    let hour = (Utc::now() + Span::hours(6)).hour();
    format!(
        "[poll]\ninterval = \"{interval}\"\n\
         [[schedules]]\nname = \"later\"\nhours = [\"{hour:02}:00-{hour:02}:30\"]\n\
         [[sinks]]\nname = \"night\"\ntype = \"console\"\ndeliver_during = \"later\"\n\
         [[reminders]]\nname = \"unread\"\nwhen = {{ folder = [\"inbox\"], is_read = false }}\n\
         steps = [{{ after = \"{first}\", sinks = [\"night\"] }}, {{ after = \"1h\", sinks = [\"hook\"] }}]\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminder_steps_and_sink_windows_have_their_series_at_start_and_a_closed_window_reads_0() {
    let world = World::start(1, 3).await;
    let daemon = Daemon::start(&world, &config("1h", "30m")).await;
    let text = daemon.get("/metrics", None).await.1;
    let expected = [
        (
            r#"hyperrep_notifier_reminders_sent_total{reminder="unread",step="1"}"#,
            0.0,
        ),
        (
            r#"hyperrep_notifier_reminders_sent_total{reminder="unread",step="2"}"#,
            0.0,
        ),
        (r#"hyperrep_notifier_sink_in_window{sink="hook"}"#, 1.0),
        (r#"hyperrep_notifier_sink_in_window{sink="night"}"#, 0.0),
        (
            r#"hyperrep_notifier_outbox_waiting_for_window{sink="hook"}"#,
            0.0,
        ),
        (
            r#"hyperrep_notifier_outbox_waiting_for_window{sink="night"}"#,
            0.0,
        ),
    ];
    for (series, value) in expected {
        let found = find_sample(&text, series).map(|v| v.parse::<f64>());
        assert_eq!(found, Some(Ok(value)), "{series} in\n{text}");
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_for_a_sink_outside_its_window_is_counted_and_waits_for_the_window() {
    let world = World::start(1, 3).await;
    let org = world.org(0);
    let ids = world.conversation_ids(&org);
    for id in &ids {
        world.sim.set_field(&org, id, "is_read", json!(true));
    }
    let stamp = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    world.sim.set_field(&org, &ids[0], "folder", json!("inbox"));
    world.sim.set_field(&org, &ids[0], "is_read", json!(false));
    world
        .sim
        .set_field(&org, &ids[0], "last_activity_at", json!(stamp));
    // 2 s: the clock's whole-second `since` must not make step 1 overdue at first sight.
    let daemon = Daemon::start(&world, &config("200ms", "2s")).await;
    let sent = r#"hyperrep_notifier_reminders_sent_total{reminder="unread",step="1"}"#;
    let waiting = r#"hyperrep_notifier_outbox_waiting_for_window{sink="night"}"#;
    let text = daemon
        .metrics_until(|t| metric(t, sent) >= 1.0 && metric(t, waiting) >= 1.0)
        .await;
    assert_eq!(metric(&text, sent), 1.0, "one event, counted once\n{text}");
    assert_eq!(metric(&text, waiting), 1.0, "{text}");
    let step2 = r#"hyperrep_notifier_reminders_sent_total{reminder="unread",step="2"}"#;
    assert_eq!(metric(&text, step2), 0.0, "{text}");
    daemon.stop().await;
}
