//! What `check` tells a user beyond "valid" or "invalid": the values actually in force, the key
//! they probably meant, the format a value should have, and warnings that do not stop the start.

use crate::support::{run_binary, write_config_text};

const BASE: &str = "[api]\napi_key = \"api-key-SECRET1\"\n[[orgs]]\nid = \"org-1\"\n";
const CONSOLE: &str = "[[sinks]]\nname = \"out\"\ntype = \"console\"\n";

fn check(text: &str, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = run_binary(&["check"], Some(&write_config_text(dir.path(), text)), env);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.code(),
        stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_shows_the_log_format_that_hrn_log_format_puts_in_force() {
    let text = format!("{BASE}{CONSOLE}[log]\nformat = \"text\"\n");
    let (code, stdout, stderr) = check(&text, &[("HRN_LOG_FORMAT", "json")]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("[log]\nformat = \"json\""), "{stdout}");

    let (code, _, stderr) = check(&text, &[("HRN_LOG_FORMAT", "yaml")]);
    assert_eq!(code, Some(2), "a wrong value is not ignored: {stderr}");
    assert!(
        stderr.contains("`log.format`") && stderr.contains("HRN_LOG_FORMAT"),
        "{stderr}"
    );
}

#[test]
fn a_mistyped_key_is_refused_with_the_key_it_probably_meant() {
    let text = format!("{BASE}{CONSOLE}[poll]\nintervall = \"5m\"\n");
    let (code, _, stderr) = check(&text, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`poll.intervall`"), "{stderr}");
    assert!(stderr.contains("did you mean `interval`?"), "{stderr}");

    let text = format!("{BASE}[[sinks]]\nname = \"out\"\ntype = \"console\"\nfromat = \"json\"\n");
    let (code, _, stderr) = check(&text, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`sinks[0].fromat`"), "{stderr}");
    assert!(stderr.contains("did you mean `format`?"), "{stderr}");

    let text = format!("{BASE}{CONSOLE}[poll]\nxyz = 1\n");
    let (_, _, stderr) = check(&text, &[]);
    assert!(
        !stderr.contains("did you mean"),
        "no far-fetched guess: {stderr}"
    );
}

#[test]
fn a_bad_duration_is_refused_with_an_example_of_the_accepted_format() {
    for value in ["\"often\"", "60"] {
        let text = format!("{BASE}{CONSOLE}[poll]\ninterval = {value}\n");
        let (code, _, stderr) = check(&text, &[]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains("`poll.interval`: invalid duration"),
            "{stderr}"
        );
        assert!(
            stderr.contains("such as `60s`, `5m` or `1h30m`"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("often"),
            "the value is not quoted: {stderr}"
        );
    }
}

#[test]
fn a_slack_hook_in_a_webhook_sink_passes_check_with_a_warning_and_its_token_hidden() {
    let hook = "https://hooks.slack.com/services/T0SECRET/B0SECRET/tokenSECRETxyz";
    let text = format!("{BASE}[[sinks]]\nname = \"team\"\ntype = \"webhook\"\nurl = \"{hook}\"\n");
    let (code, stdout, stderr) = check(&text, &[]);
    assert_eq!(code, Some(0), "a warning, not an error: {stderr}");
    assert!(stderr.contains("warning: `sinks[0].url`"), "{stderr}");
    assert!(stderr.contains("use `type = \"slack\"`"), "{stderr}");
    assert!(
        stdout.contains("url = \"https://hooks.slack.com/[redacted]\""),
        "{stdout}"
    );
    assert!(
        !stdout.contains("SECRET") && !stderr.contains("SECRET"),
        "{stdout}{stderr}"
    );
}
