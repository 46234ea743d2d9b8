//! `[[schedules]]`: parsed at load into typed values, refused naming the key, referenced by
//! every sink's `deliver_during`.

use super::*;
use crate::schedule::{HourRange, Schedule};

const BASE: &str = "[api]\napi_key = \"k\"\n[[orgs]]\nid = \"org-1\"\n\
                    [[sinks]]\nname = \"out\"\ntype = \"console\"\n";

fn with_schedule(body: &str) -> String {
    format!("{BASE}[[schedules]]\nname = \"support-hours\"\n{body}\n")
}

fn reasons_of(toml: &str) -> Vec<String> {
    let errors = load_str(toml).expect_err("the configuration should be refused");
    errors.0.into_iter().map(|e| e.to_string()).collect()
}

#[test]
fn a_schedule_loads_into_typed_values_and_absent_keys_mean_every_day_all_day_in_utc() {
    let body = "timezone = \"Europe/Berlin\"\ndays = [\"mon\", \"fri\"]\n\
                hours = [\"08:00-12:30\", \"13:30-18:00\"]\nexcept = [\"2026-12-24\"]";
    let config = load_str(&with_schedule(body)).unwrap();
    let schedule = config.schedule("support-hours").expect("configured");
    assert_eq!(schedule.timezone, chrono_tz::Europe::Berlin);
    assert_eq!(schedule.days, [chrono::Weekday::Mon, chrono::Weekday::Fri]);
    assert_eq!(
        schedule.hours[1],
        "13:30-18:00".parse::<HourRange>().unwrap()
    );
    assert_eq!(schedule.except[0].to_string(), "2026-12-24");

    let config = load_str(&with_schedule("")).unwrap();
    let bare = &config.schedules[0];
    assert_eq!(bare.timezone, chrono_tz::Tz::UTC);
    assert_eq!(bare.days.len(), 7);
    assert_eq!(bare.hours, [HourRange::whole_day()]);
    let always = Schedule::from_config(bare);
    let now = chrono::DateTime::from_timestamp(1_777_000_000, 0).unwrap();
    assert!(always.is_open(now));
}

#[test]
fn the_effective_configuration_shows_schedules_in_the_form_they_are_written() {
    let body = "timezone = \"Europe/Berlin\"\ndays = [\"Mon\"]\nhours = [\"8:00-12:30\"]";
    let shown = load_str(&with_schedule(body)).unwrap().to_redacted_toml();
    assert!(shown.contains("timezone = \"Europe/Berlin\""), "{shown}");
    assert!(shown.contains("days = [\"mon\"]"), "{shown}");
    assert!(shown.contains("hours = [\"08:00-12:30\"]"), "{shown}");
}

#[test]
fn each_broken_schedule_value_is_refused_under_its_own_key() {
    let cases = [
        ("timezone = \"Europe/Berln\"", "schedules[0].timezone"),
        ("days = [\"mon\", \"funday\"]", "schedules[0].days[1]"),
        (
            "hours = [\"08:00-12:00\", \"25:00-26:00\"]",
            "schedules[0].hours[1]",
        ),
        ("hours = [\"12:00-08:00\"]", "schedules[0].hours[0]"),
        (
            "hours = [\"08:00-12:00\", \"11:00-13:00\"]",
            "schedules[0].hours[1]",
        ),
        ("except = [\"2026-13-01\"]", "schedules[0].except[0]"),
        ("days = []", "schedules[0].days"),
        ("hours = []", "schedules[0].hours"),
        (
            "timezone = \"UTC\"\nhour = [\"08:00-12:00\"]",
            "schedules[0].hour",
        ),
    ];
    for (body, key) in cases {
        let keys = keys_of(&with_schedule(body));
        assert_eq!(keys, [key], "{body}");
    }
}

#[test]
fn a_mistyped_time_zone_is_explained_and_the_likely_one_suggested() {
    let reasons = reasons_of(&with_schedule("timezone = \"Europe/Berln\""));
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    let reason = &reasons[0];
    assert!(reason.contains("unknown time zone"), "{reason}");
    assert!(reason.contains("did you mean `Europe/Berlin`?"), "{reason}");
    assert!(
        !reason.contains("value hidden"),
        "nothing scrubbed away: {reason}"
    );
}

#[test]
fn a_range_across_midnight_is_refused_with_the_two_ranges_to_write_instead() {
    let reasons = reasons_of(&with_schedule("hours = [\"22:00-06:00\"]"));
    assert!(
        reasons[0].contains("`22:00-24:00` and `00:00-06:00`"),
        "{reasons:?}"
    );
}

#[test]
fn schedule_names_are_unique_and_deliver_during_must_name_one() {
    let twice = format!(
        "{}[[schedules]]\nname = \"support-hours\"\n",
        with_schedule("")
    );
    assert_eq!(keys_of(&twice), ["schedules[1].name"]);
    let sink = BASE.replace(
        "type = \"console\"\n",
        "type = \"console\"\ndeliver_during = \"suport-hours\"\n",
    );
    let unknown = format!("{sink}[[schedules]]\nname = \"support-hours\"\n");
    assert_eq!(keys_of(&unknown), ["sinks[0].deliver_during"]);
    let known = unknown.replace("suport-hours", "support-hours");
    assert_eq!(
        load_str(&known).unwrap().sinks[0].deliver_during(),
        Some("support-hours")
    );
}
