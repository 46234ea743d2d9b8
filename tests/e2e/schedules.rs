//! `[[schedules]]` through the real binary: `check` refuses a broken schedule or an unknown
//! `deliver_during` with exit code 2 naming the key, and shows a good one as it was written.

use crate::support::{assert_check_refuses, run_binary, write_config_text};

const GOOD: &str = r#"
[api]
base_url = "http://127.0.0.1:9"
api_key = "api-key-SECRET1"
[[orgs]]
id = "org-1"
[store]
path = "STORE"
[[schedules]]
name = "support-hours"
timezone = "Europe/Berlin"
days = ["mon", "tue", "wed", "thu", "fri"]
hours = ["08:00-12:30", "13:30-18:00"]
except = ["2026-12-24", "2026-12-25"]
[[sinks]]
name = "out"
type = "console"
deliver_during = "support-hours"
"#;

fn check(dir: &std::path::Path, text: &str) -> std::process::Output {
    run_binary(&["check"], Some(&write_config_text(dir, text)), &[])
}

#[test]
fn check_shows_a_valid_schedule_as_it_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = check(dir.path(), GOOD);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("timezone = \"Europe/Berlin\""), "{stdout}");
    assert!(stdout.contains("\"13:30-18:00\""), "{stdout}");
    assert!(stdout.contains("\"2026-12-25\""), "{stdout}");
}

#[test]
fn broken_schedules_and_unknown_deliver_during_each_exit_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            GOOD.replace("Europe/Berlin", "Europe/Berln"),
            "schedules[0].timezone",
        ),
        (
            GOOD.replace("\"13:30-18:00\"", "\"25:00-26:00\""),
            "schedules[0].hours[1]",
        ),
        (
            GOOD.replace("\"08:00-12:30\"", "\"12:00-08:00\""),
            "schedules[0].hours[0]",
        ),
        (
            GOOD.replace("\"wed\"", "\"wednes\""),
            "schedules[0].days[2]",
        ),
        (
            GOOD.replace("2026-12-25", "2026-12-32"),
            "schedules[0].except[1]",
        ),
        (
            GOOD.replace(
                "deliver_during = \"support-hours\"",
                "deliver_during = \"office\"",
            ),
            "sinks[0].deliver_during",
        ),
    ];
    let cases: Vec<(String, &str)> = cases.into_iter().collect();
    assert_check_refuses(dir.path(), &cases);
}

#[test]
fn a_mistyped_time_zone_names_the_accepted_form_and_the_likely_zone() {
    let dir = tempfile::tempdir().unwrap();
    let out = check(dir.path(), &GOOD.replace("Europe/Berlin", "Europe/Berln"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("IANA name"), "{stderr}");
    assert!(stderr.contains("did you mean `Europe/Berlin`?"), "{stderr}");
}
