//! Reading a replay request and choosing the sinks: pure, with an injected `now`.

use super::*;
use crate::render::sample_event;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn request(since: &str) -> Request {
    Request {
        since: since.to_string(),
        ..Request::default()
    }
}

const SINKS: [&str; 2] = ["hook", "other"];

#[test]
fn a_time_is_rfc_3339_or_a_duration_ago_and_anything_else_says_what_to_give() {
    let at = parse_time("2026-04-29T16:00:00+02:00", now()).unwrap();
    assert_eq!(at.to_rfc3339(), "2026-04-29T14:00:00+00:00");
    assert_eq!(
        parse_time("2h", now()).unwrap(),
        now() - chrono::Duration::hours(2)
    );
    let wrong = parse_time("yesterday", now()).unwrap_err();
    assert!(
        wrong.contains("`yesterday`") && wrong.contains("RFC 3339"),
        "{wrong}"
    );
    assert!(
        parse_time("100000000y", now()).is_err(),
        "no panic far back"
    );
}

#[test]
fn a_request_names_its_wrong_field_an_unknown_sink_a_later_since_or_an_unknown_type() {
    let read = |r: Request| Selection::read(&r, &SINKS, now()).unwrap_err();
    let sink = read(Request {
        sink: Some("hoook".into()),
        ..request("1h")
    });
    assert!(
        sink.starts_with("sink:") && sink.contains("hook, other"),
        "{sink}"
    );
    let order = read(Request {
        until: Some("2h".into()),
        ..request("1h")
    });
    assert!(order.starts_with("since:"), "{order}");
    let kind = read(Request {
        kind: Some("conversation.changed".into()),
        ..request("1h")
    });
    assert!(kind.starts_with("type:"), "{kind}");
    assert!(read(request("soon")).starts_with("since:"));
    let fine = Selection::read(&request("1h"), &SINKS, now()).unwrap();
    assert_eq!(
        (fine.since, fine.until),
        (now() - chrono::Duration::hours(1), now())
    );
}

#[test]
fn an_event_goes_again_to_the_configured_sinks_that_took_it_filtered_by_sink_org_and_type() {
    let logged = Logged {
        event: sample_event(),
        sinks: vec!["hook".into(), "gone".into(), "other".into()],
    };
    let org = logged.event.data.org_id.clone();
    let all = Selection::read(&request("1h"), &SINKS, now()).unwrap();
    assert_eq!(all.sinks_for(&logged, &SINKS), ["hook", "other"]);
    let only = Selection::read(
        &Request {
            sink: Some("other".into()),
            org: Some(org),
            kind: Some("conversation.updated".into()),
            ..request("1h")
        },
        &SINKS,
        now(),
    )
    .unwrap();
    assert_eq!(only.sinks_for(&logged, &SINKS), ["other"]);
    let created = Selection {
        kind: Some(EventType::Created),
        ..all.clone()
    };
    assert!(created.sinks_for(&logged, &SINKS).is_empty());
    let elsewhere = Selection {
        org: Some("another".into()),
        ..all
    };
    assert!(elsewhere.sinks_for(&logged, &SINKS).is_empty());
}

#[test]
fn the_summary_names_the_sink_or_each_sinks_count() {
    let mut replayed = Replayed::default();
    assert_eq!(
        replayed.summary(),
        "queued 0 events for replay (sinks: none)"
    );
    replayed.sinks.insert("hook".into(), 2);
    replayed.queued = 2;
    assert_eq!(
        replayed.summary(),
        "queued 2 events for replay (sink: hook)"
    );
    replayed.sinks.insert("other".into(), 1);
    replayed.queued = 3;
    assert_eq!(
        replayed.summary(),
        "queued 3 events for replay (sinks: hook 2, other 1)"
    );
}
