use super::*;

fn at(hours: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
        .unwrap()
        .to_utc()
        + chrono::Duration::hours(hours)
}

const FIVE_DAYS: Duration = Duration::from_secs(5 * 24 * 3600);

fn failed() -> Attempt {
    Attempt::Retry {
        error: "HTTP 503".into(),
        after: None,
    }
}

fn failing_since(hours: i64) -> SinkHealth {
    SinkHealth {
        failing_since: Some(at(hours)),
        disabled: None,
    }
}

#[test]
fn the_first_failure_starts_the_clock_and_later_ones_write_nothing() {
    let healthy = SinkHealth::default();
    assert_eq!(
        judge(&healthy, &failed(), at(0), FIVE_DAYS),
        Change::Failing(at(0))
    );
    assert_eq!(
        judge(&failing_since(0), &failed(), at(24), FIVE_DAYS),
        Change::Nothing
    );
}

#[test]
fn failing_for_disable_after_disables_and_saying_since_when() {
    let change = judge(&failing_since(0), &failed(), at(5 * 24), FIVE_DAYS);
    let Change::Disable(disabled) = change else {
        panic!("{change:?}");
    };
    assert_eq!(disabled.since, at(5 * 24));
    assert_eq!(
        disabled.reason,
        "every attempt failed for 5days (since 2026-11-24T10:00:00Z)"
    );
}

#[test]
fn a_success_ends_the_failures_and_a_healthy_success_writes_nothing() {
    let ok = Attempt::Delivered("HTTP 200".into());
    assert_eq!(
        judge(&failing_since(0), &ok, at(100), FIVE_DAYS),
        Change::Recovered
    );
    assert_eq!(
        judge(&SinkHealth::default(), &ok, at(100), FIVE_DAYS),
        Change::Nothing
    );
}

#[test]
fn a_410_disables_at_once_whatever_disable_after_says() {
    let gone = Attempt::Gone("HTTP 410".into());
    for after in [FIVE_DAYS, Duration::ZERO] {
        let change = judge(&SinkHealth::default(), &gone, at(0), after);
        assert!(
            matches!(&change, Change::Disable(d) if d.reason == "the endpoint answered HTTP 410"),
            "{change:?}"
        );
    }
}

#[test]
fn zero_never_disables_by_time_and_throttling_is_not_a_failure() {
    let change = judge(&failing_since(0), &failed(), at(24 * 365), Duration::ZERO);
    assert_eq!(change, Change::Nothing);
    let throttled = Attempt::Throttled {
        error: "HTTP 429".into(),
        after: Duration::from_secs(1),
    };
    let change = judge(&SinkHealth::default(), &throttled, at(0), FIVE_DAYS);
    assert_eq!(change, Change::Nothing);
}

#[test]
fn a_disabled_sink_is_not_disabled_again() {
    let disabled = SinkHealth {
        failing_since: Some(at(0)),
        disabled: Some(Disabled {
            since: at(1),
            reason: "gone".into(),
        }),
    };
    let gone = Attempt::Gone("HTTP 410".into());
    assert_eq!(judge(&disabled, &gone, at(2), FIVE_DAYS), Change::Nothing);
}
