use super::*;
use crate::config::{SlackSinkConfig, SlackTemplates};
use crate::event::{EventType, Field};
use reqwest::header::HeaderValue;

fn config(templates: SlackTemplates) -> SlackSinkConfig {
    let toml = "name = \"s\"\nurl = \"https://hooks.slack.com/services/T/B/X\"\n";
    let mut config: SlackSinkConfig = toml::from_str(toml).unwrap();
    config.templates = templates;
    config
}

fn event_with(
    changes: Vec<Field>,
    previous: serde_json::Value,
    is_read: bool,
    folder: &str,
) -> Event {
    let mut event = crate::render::sample_in(is_read, folder);
    event.data.changes = changes;
    event.data.previous = previous.as_object().unwrap().clone();
    event
}

#[test]
fn events_are_described_in_a_support_leads_words() {
    let describe = crate::render::describe;
    let mut created = sample_event();
    created.kind = EventType::Created;
    assert_eq!(describe(&created), "New unread conversation");
    let activity = event_with(vec![Field::LastActivityAt], json!({}), true, "inbox");
    assert_eq!(describe(&activity), "New activity");
    let unread = event_with(
        vec![Field::IsRead],
        json!({"is_read": true}),
        false,
        "inbox",
    );
    assert_eq!(describe(&unread), "Marked unread");
    let moved = event_with(
        vec![Field::Folder],
        json!({"folder": "inbox"}),
        true,
        "archived",
    );
    assert_eq!(describe(&moved), "Moved from inbox to archived");
}

#[test]
fn slack_answers_are_classified_as_the_spec_table_says() {
    let headers = HeaderMap::new();
    let class = |code: u16, body: &str| {
        classify(
            StatusCode::from_u16(code).unwrap(),
            &headers,
            body,
            "https://hooks.slack.com/[redacted]",
        )
    };
    assert_eq!(class(200, "ok"), Attempt::Delivered("HTTP 200 ok".into()));
    for (code, body) in [
        (400, "invalid_payload"),
        (400, "invalid_blocks"),
        (403, "action_prohibited"),
        (404, "no_team"),
        (410, "channel_is_archived"),
        (200, "no_service"),
        (500, "no_service"),
    ] {
        assert!(
            matches!(class(code, body), Attempt::Reject(_)),
            "{code} {body}"
        );
    }
    for code in [500, 502, 503, 504] {
        assert!(
            matches!(class(code, "oops"), Attempt::Retry { .. }),
            "{code}"
        );
    }
    let mut limited = HeaderMap::new();
    limited.insert("retry-after", HeaderValue::from_static("7"));
    let throttled = classify(StatusCode::TOO_MANY_REQUESTS, &limited, "rate_limited", "u");
    assert!(
        matches!(throttled, Attempt::Throttled { after, .. } if after == Duration::from_secs(7))
    );
}

#[test]
fn the_default_message_has_a_header_fields_and_a_context_within_limits() {
    let renderer = renderer(&config(SlackTemplates::default())).unwrap();
    let payload = message(&renderer, &sample_event()).unwrap();
    assert!(payload["text"]
        .as_str()
        .unwrap()
        .starts_with("Sample Org: New activity, marked unread"));
    let types: Vec<&str> = payload["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["header", "section", "context"]);
    assert_eq!(payload["blocks"][1]["fields"].as_array().unwrap().len(), 4);
    assert!(
        !payload.to_string().contains("null"),
        "no block gains empty keys: {payload}"
    );
    assert_eq!(
        fit(payload.clone()),
        payload,
        "a message within limits is left as it is"
    );
}

#[test]
fn a_custom_template_that_overflows_is_cut_to_slacks_counts() {
    let blocks = r#"[{% for i in range(60) %}{"type": "section", "text": {"type": "mrkdwn", "text": {{ ("x" * 4000) | tojson }}}}{% if not loop.last %},{% endif %}{% endfor %}]"#;
    let templates = SlackTemplates {
        text: Some("{{ 'y' * 9000 }}".into()),
        blocks: Some(blocks.into()),
    };
    let payload = message(&renderer(&config(templates)).unwrap(), &sample_event()).unwrap();
    assert_eq!(payload["blocks"].as_array().unwrap().len(), limits::BLOCKS);
    assert_eq!(
        payload["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        limits::SECTION
    );
    assert_eq!(
        payload["text"].as_str().unwrap().chars().count(),
        limits::TEXT
    );
}

#[test]
fn a_broken_template_is_reported_with_its_name() {
    let broken = SlackTemplates {
        text: Some("{{ org ".into()),
        blocks: None,
    };
    let error = check(&config(broken)).unwrap_err();
    assert!(error.contains("template `text`"), "{error}");
    let not_a_list = SlackTemplates {
        text: None,
        blocks: Some("{\"type\": \"divider\"}".into()),
    };
    assert!(check(&config(not_a_list))
        .unwrap_err()
        .contains("JSON array"));
}

#[test]
fn mrkdwn_control_characters_from_upstream_are_escaped() {
    let renderer = renderer(&config(SlackTemplates::default())).unwrap();
    let event = event_with(
        vec![Field::Folder],
        json!({"folder": "inbox"}),
        true,
        "<!channel> & co",
    );
    let payload = message(&renderer, &event).unwrap();
    let field = payload["blocks"][1]["fields"][0]["text"].as_str().unwrap();
    assert_eq!(field, "*Folder*\n&lt;!channel&gt; &amp; co");
}

#[test]
fn a_summary_counts_reminders_that_waited_together_in_words() {
    let renderer = renderer(&config(SlackTemplates::default())).unwrap();
    let mut reminder = sample_event();
    reminder.kind = crate::event::EventType::Reminder;
    let events = vec![reminder.clone(), reminder, sample_event()];
    let view = renderer.batch_view(&events, 5, None).unwrap();
    assert_eq!(view.tally, "1 updated, 2 still waiting (reminders)");
}
