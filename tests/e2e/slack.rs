//! The Slack sink against a loopback HTTP server that answers as Slack does.

use crate::support::{once, once_with, run_binary, Receiver, Reply, World};
use hyperrep_notifier::load_config_str as load_str;
use hyperrep_notifier::App;
use serde_json::{json, Value};
use std::time::Duration;

async fn slack() -> Receiver {
    let slack = Receiver::start().await;
    slack.answer_always(Reply::Body(200, "ok"));
    slack
}

fn slack_sink(url: &str, extra: &str) -> String {
    format!("[[sinks]]\nname = \"alerts\"\ntype = \"slack\"\nurl = \"{url}/services/T0/B0/SECRETTOKEN\"\n{extra}")
}

/// Checks every limit Slack documents for the parts the sink produces.
fn assert_within_slack_limits(payload: &Value) {
    assert!(
        !payload.to_string().contains("null"),
        "Slack refuses null values in blocks: {payload}"
    );
    let chars = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    assert!(chars(&payload["text"]) > 0 && chars(&payload["text"]) <= 4000);
    let blocks = payload["blocks"].as_array().expect("blocks");
    assert!(!blocks.is_empty() && blocks.len() <= 50);
    for block in blocks {
        match block["type"].as_str().unwrap() {
            "header" => assert!(chars(&block["text"]["text"]) <= 150, "{block}"),
            "section" => {
                assert!(chars(&block["text"]["text"]) <= 3000, "{block}");
                let fields = block["fields"].as_array().cloned().unwrap_or_default();
                assert!(
                    fields.len() <= 10 && fields.iter().all(|f| chars(&f["text"]) <= 2000),
                    "{block}"
                );
            }
            "context" => {
                let elements = block["elements"].as_array().unwrap();
                assert!(
                    elements.len() <= 10 && elements.iter().all(|e| chars(&e["text"]) <= 2000),
                    "{block}"
                );
            }
            other => panic!("unexpected block type {other}"),
        }
    }
}

#[tokio::test]
async fn a_message_has_text_and_blocks_within_slack_limits_even_for_a_5000_character_field() {
    let world = World::start(1, 3).await;
    let slack = slack().await;
    let toml = world.toml(&slack_sink(&slack.url, "time_zone = \"Europe/Berlin\"\nlink_template = \"https://app.example.com/c/{{ conversation_id }}\"\n"));
    once(&toml).await;
    let org = world.org(0);
    let id = world.sim.conversations(&org)[0]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    world
        .sim
        .set_field(&org, &id, "folder", json!("x".repeat(5000)));

    assert!(once(&toml).await.success());

    let payload = slack.received()[0].json();
    assert_within_slack_limits(&payload);
    let text = payload["text"].as_str().unwrap();
    assert!(text.starts_with("Org 0: Moved from"), "{text}");
    let blocks = payload["blocks"].to_string();
    assert!(
        blocks.contains("https://app.example.com/c/") && blocks.contains(&id),
        "{blocks}"
    );
    assert!(
        blocks.contains("CET") || blocks.contains("CEST"),
        "times in the configured zone: {blocks}"
    );
    assert!(blocks.contains("…"), "the long folder was cut cleanly");
}

#[tokio::test]
async fn a_429_waits_for_retry_after_and_does_not_count_as_a_failed_attempt() {
    let world = World::start(1, 3).await;
    let slack = slack().await;
    // One attempt allowed: if the 429 counted, the message would be dead-lettered. A
    // Retry-After within delivery.max_backoff is honoured as asked.
    let mut config = load_str(&world.toml(&slack_sink(&slack.url, ""))).unwrap();
    config.delivery.max_attempts = 1;
    config.delivery.max_backoff = Duration::from_secs(5);
    once_with(config.clone()).await;
    world.sim.create_conversation(&world.org(0));
    slack.script([Reply::RetryAfter(2)]);

    let report = once_with(config.clone()).await;

    assert!(report.success(), "{report:?}");
    let received = slack.received();
    assert_eq!(received.len(), 2);
    let waited = received[1].at - received[0].at;
    assert!(
        waited >= Duration::from_secs(2),
        "Retry-After: 2 not honoured: {waited:?}"
    );
    let app = App::build(config).unwrap();
    assert!(app.store.dead_letters().unwrap().is_empty());
}

#[tokio::test]
async fn a_410_no_service_dead_letters_without_retrying_and_without_showing_the_url() {
    let world = World::start(1, 3).await;
    let slack = slack().await;
    let toml = world.toml(&slack_sink(&slack.url, ""));
    once(&toml).await;
    world.sim.create_conversation(&world.org(0));
    slack.answer_always(Reply::Body(410, "no_service"));

    let report = once(&toml).await;

    assert_eq!(report.pending, 0);
    assert_eq!(slack.received().len(), 1, "no_service is never retried");
    let letters = App::build(load_str(&toml).unwrap())
        .unwrap()
        .store
        .dead_letters()
        .unwrap();
    let alerts: Vec<_> = letters.iter().filter(|l| l.sink == "alerts").collect();
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].reason.contains("no_service"),
        "{}",
        alerts[0].reason
    );
    assert!(
        !alerts[0].reason.contains("SECRETTOKEN"),
        "the webhook URL is the secret: {}",
        alerts[0].reason
    );
}

#[tokio::test]
async fn sixty_events_from_one_poll_become_one_summary_while_webhooks_get_all_sixty() {
    let world = World::start(1, 60).await;
    let slack = slack().await;
    let toml = world.toml(&format!(
        "[poll]\ninitial = \"notify\"\n{}",
        slack_sink(&slack.url, "")
    ));

    let report = once(&toml).await;

    assert!(report.success(), "{report:?}");
    assert_eq!(world.hook.received().len(), 60);
    let messages = slack.received();
    assert_eq!(messages.len(), 1, "one summary instead of a flood");
    let summary = messages[0].json();
    assert_within_slack_limits(&summary);
    let text = summary["text"].as_str().unwrap();
    assert!(
        text.starts_with("60 conversation changes in Org 0 at once: 60 new"),
        "{text}"
    );
    assert!(
        summary["blocks"].to_string().contains("and 55 more"),
        "{summary}"
    );
}

#[tokio::test]
async fn test_sink_sends_a_sample_and_reports_slacks_answer() {
    let world = World::start(1, 3).await;
    let slack = slack().await;
    let config = world.write_config(&slack_sink(&slack.url, ""));
    let sent = tokio::task::spawn_blocking({
        let config = config.clone();
        move || run_binary(&["test-sink", "alerts"], Some(&config), &[])
    })
    .await
    .unwrap();
    assert_eq!(
        sent.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert!(String::from_utf8_lossy(&sent.stdout).contains("delivered (HTTP 200 ok)"));
    assert!(slack.received()[0].json()["text"]
        .as_str()
        .unwrap()
        .starts_with("Org 0: New activity, marked unread"));

    slack.answer_always(Reply::Body(404, "no_team"));
    let refused = tokio::task::spawn_blocking(move || {
        run_binary(&["test-sink", "alerts"], Some(&config), &[])
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("HTTP 404")
            && stderr.contains("no_team")
            && !stderr.contains("SECRETTOKEN"),
        "{stderr}"
    );
}
