//! What a scrape shows of a fresh registry and after a little recording.

use super::*;

const CONFIG: &str = r#"
[api]
api_key = "k"
timeout = "30s"
[poll]
interval = "45s"
[[orgs]]
id = "org-a"
name = "Acme Support"
[[orgs]]
id = "org-b"
[[sinks]]
name = "out"
type = "console"
"#;

fn fresh() -> Metrics {
    Metrics::for_config(&crate::load_config_str(CONFIG).expect("a valid configuration"))
}

/// The sample lines of `text` (no comments).
fn samples(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with('#')).collect()
}

#[test]
fn a_fresh_registry_has_every_configured_org_and_sink_series_at_zero() {
    let text = fresh().encode(Format::Text);
    let zero = [
        r#"hyperrep_notifier_polls_total{org="org-a",org_name="Acme Support",outcome="complete"} 0"#,
        r#"hyperrep_notifier_polls_total{org="org-a",org_name="Acme Support",outcome="incomplete"} 0"#,
        r#"hyperrep_notifier_polls_total{org="org-b",org_name="org-b",outcome="incomplete"} 0"#,
        r#"hyperrep_notifier_last_successful_poll_timestamp_seconds{org="org-b",org_name="org-b"} 0"#,
        r#"hyperrep_notifier_deliveries_total{sink="out",outcome="delivered"} 0"#,
        r#"hyperrep_notifier_deliveries_total{sink="out",outcome="retrying"} 0"#,
        r#"hyperrep_notifier_deliveries_total{sink="out",outcome="dead_lettered"} 0"#,
        r#"hyperrep_notifier_outbox_depth{sink="out"} 0"#,
        r#"hyperrep_notifier_dead_letters{sink="out"} 0"#,
        r#"hyperrep_notifier_delivery_latency_seconds_count{sink="out"} 0"#,
        r#"hyperrep_notifier_events_total{type="conversation.created"} 0"#,
        r#"hyperrep_notifier_events_total{type="conversation.removed"} 0"#,
        r#"hyperrep_notifier_api_pages_refused_total{reason="too_large"} 0"#,
    ];
    for series in zero {
        let found = samples(&text)
            .iter()
            .any(|l| *l == series || *l == format!("{series}.0"));
        assert!(found, "{series} missing from\n{text}");
    }
}

#[test]
fn build_info_carries_the_crate_version_at_one() {
    let text = fresh().encode(Format::Text);
    let line = format!(
        "hyperrep_notifier_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    assert!(samples(&text).contains(&line.as_str()), "{text}");
    assert!(
        text.contains("# TYPE hyperrep_notifier_build_info gauge\n"),
        "{text}"
    );
}

#[test]
fn the_poll_interval_is_exported_for_alerts_to_count_intervals() {
    let text = fresh().encode(Format::Text);
    assert!(
        samples(&text).contains(&"hyperrep_notifier_poll_interval_seconds 45.0"),
        "{text}"
    );
}

#[test]
fn the_api_latency_buckets_reach_past_the_configured_timeout() {
    let text = fresh().encode(Format::Text);
    let bounds: Vec<f64> = samples(&text)
        .iter()
        .filter_map(|l| {
            l.strip_prefix("hyperrep_notifier_api_request_duration_seconds_bucket{le=\"")
        })
        .filter_map(|l| l.split('"').next()?.parse().ok())
        .filter(|b: &f64| b.is_finite())
        .collect();
    let last = bounds.iter().cloned().fold(0.0, f64::max);
    assert!(last > 30.0, "largest finite bucket {last}: {bounds:?}");
}

#[test]
fn polls_are_labelled_with_the_org_name_and_unknown_orgs_with_their_id() {
    let metrics = fresh();
    metrics.poll("org-a", true, chrono::Utc::now());
    metrics.poll("org-z", false, chrono::Utc::now());
    let text = metrics.encode(Format::Text);
    let a = r#"hyperrep_notifier_polls_total{org="org-a",org_name="Acme Support",outcome="complete"} 1"#;
    let z = r#"hyperrep_notifier_polls_total{org="org-z",org_name="org-z",outcome="incomplete"} 1"#;
    assert!(
        samples(&text).contains(&a) && samples(&text).contains(&z),
        "{text}"
    );
    let last = r#"hyperrep_notifier_last_successful_poll_timestamp_seconds{org="org-a",org_name="Acme Support"} "#;
    let at: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix(last))
        .unwrap()
        .parse()
        .unwrap();
    assert!(at > 1.7e9, "{text}");
}

#[test]
fn the_text_format_has_help_and_type_for_every_family_and_no_openmetrics_lines() {
    let text = fresh().encode(Format::Text);
    assert!(
        !text.contains("# EOF") && !text.contains("# UNIT"),
        "{text}"
    );
    let typed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    for family in &typed {
        assert!(
            text.contains(&format!("# HELP {family} ")),
            "no HELP for {family}"
        );
    }
    for sample in samples(&text) {
        let name = sample.split(['{', ' ']).next().unwrap();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| typed.contains(f)))
            .unwrap_or(name);
        assert!(typed.contains(&family), "{name} has no TYPE in\n{text}");
    }
    assert!(
        text.contains("# TYPE hyperrep_notifier_polls_total counter\n"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE process_cpu_seconds_total counter\n"),
        "{text}"
    );
}

#[test]
fn openmetrics_keeps_its_own_counter_names_and_ends_with_eof() {
    let text = fresh().encode(Format::OpenMetrics);
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        text.contains("# TYPE hyperrep_notifier_polls counter\n"),
        "{text}"
    );
}

/// A reminder of two steps, and sinks without a window, always in theirs (`day`) and outside
/// theirs (`night`: half an hour a day, six hours from now).
fn with_reminder_and_windows() -> Metrics {
    use chrono::Timelike;
    let hour = (chrono::Utc::now() + chrono::Duration::hours(6)).hour();
    let config = format!(
        "{CONFIG}[[sinks]]\nname = \"day\"\ntype = \"console\"\ndeliver_during = \"always\"\n\
         [[sinks]]\nname = \"night\"\ntype = \"console\"\ndeliver_during = \"later\"\n\
         [[schedules]]\nname = \"always\"\n\
         [[schedules]]\nname = \"later\"\nhours = [\"{hour:02}:00-{hour:02}:30\"]\n\
         [[reminders]]\nname = \"unread\"\nwhen = {{ is_read = false }}\n\
         steps = [{{ after = \"15m\", sinks = [\"out\"] }}, {{ after = \"1h\", sinks = [\"day\"] }}]\n"
    );
    Metrics::for_config(&crate::load_config_str(&config).expect("a valid configuration"))
}

fn has(text: &str, series: &str) -> bool {
    samples(text).contains(&series)
}

#[test]
fn every_reminder_step_and_sink_window_has_its_series_from_the_start() {
    let text = with_reminder_and_windows().encode(Format::Text);
    let expected = [
        r#"hyperrep_notifier_reminders_sent_total{reminder="unread",step="1"} 0"#,
        r#"hyperrep_notifier_reminders_sent_total{reminder="unread",step="2"} 0"#,
        r#"hyperrep_notifier_sink_in_window{sink="out"} 1"#,
        r#"hyperrep_notifier_sink_in_window{sink="day"} 1"#,
        r#"hyperrep_notifier_sink_in_window{sink="night"} 0"#,
        r#"hyperrep_notifier_outbox_waiting_for_window{sink="out"} 0"#,
        r#"hyperrep_notifier_outbox_waiting_for_window{sink="night"} 0"#,
    ];
    for series in expected {
        assert!(has(&text, series), "{series} missing from\n{text}");
    }
    assert!(
        !text.contains(r#"step="3""#),
        "only configured steps: {text}"
    );
}

#[test]
fn a_reminder_sent_is_counted_under_its_reminder_and_step_only() {
    let metrics = with_reminder_and_windows();
    metrics.reminder_sent("unread", 2);
    metrics.reminder_sent("unread", 2);
    let text = metrics.encode(Format::Text);
    let step = |n: u32, v: u32| {
        format!("hyperrep_notifier_reminders_sent_total{{reminder=\"unread\",step=\"{n}\"}} {v}")
    };
    assert!(has(&text, &step(2, 2)) && has(&text, &step(1, 0)), "{text}");
}

#[test]
fn the_outbox_waits_for_the_window_only_while_the_sink_is_outside_it() {
    let metrics = with_reminder_and_windows();
    metrics.window("night", false, 3);
    let text = metrics.encode(Format::Text);
    assert!(
        has(&text, r#"hyperrep_notifier_sink_in_window{sink="night"} 0"#)
            && has(
                &text,
                r#"hyperrep_notifier_outbox_waiting_for_window{sink="night"} 3"#
            ),
        "{text}"
    );
    metrics.window("night", true, 3);
    let text = metrics.encode(Format::Text);
    assert!(
        has(&text, r#"hyperrep_notifier_sink_in_window{sink="night"} 1"#)
            && has(
                &text,
                r#"hyperrep_notifier_outbox_waiting_for_window{sink="night"} 0"#
            ),
        "in its window, its entries wait for their turn only: {text}"
    );
}
