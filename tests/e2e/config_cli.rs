//! The real binary refusing bad configurations: exit code 2 and a message naming the key; and
//! `check` showing the effective configuration without a single secret.

use crate::support::{run_binary, write_config_text};
use std::path::Path;

const GOOD: &str = r#"
[api]
base_url = "http://127.0.0.1:9"
api_key = "api-key-SECRET1"
[[orgs]]
id = "org-1"
name = "Acme"
[store]
path = "STORE"
[[sinks]]
name = "hook"
type = "webhook"
url = "https://example.com/hook?token=url-token-SECRET2"
secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
headers = { Authorization = "Bearer header-SECRET3" }
"#;

#[test]
fn a_dozen_broken_configurations_each_exit_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(String, &str)> = vec![
        (GOOD.replace("base_url", "base_ur1"), "api.base_ur1"),
        (
            GOOD.replace("http://127.0.0.1:9", "127.0.0.1:9"),
            "api.base_url",
        ),
        (
            GOOD.replace("[[orgs]]", "[poll]\ninterval = \"often\"\n[[orgs]]"),
            "poll.interval",
        ),
        (
            GOOD.replace("[[orgs]]", "page_size = 500\n[[orgs]]"),
            "api.page_size",
        ),
        (
            GOOD.replace("[[orgs]]\nid = \"org-1\"\nname = \"Acme\"", ""),
            "orgs",
        ),
        (
            GOOD.replace("type = \"webhook\"", "type = \"carrier-pigeon\""),
            "sinks[0].type",
        ),
        (
            GOOD.replace("https://example.com/hook", "mailto:x@example.com"),
            "sinks[0].url",
        ),
        (
            format!("{GOOD}[sinks.filter]\nevents = [\"conversation.archived\"]\n"),
            "sinks[0].filter.events",
        ),
        (
            format!("{GOOD}[sinks.filter]\norgs = [\"org-2\"]\n"),
            "sinks[0].filter.orgs",
        ),
        (
            format!("{GOOD}[[sinks]]\nname = \"hook\"\ntype = \"console\"\n"),
            "sinks[1].name",
        ),
        (
            GOOD.replace("api_key = \"api-key-SECRET1\"", ""),
            "api.api_key",
        ),
        (
            format!("{GOOD}[delivery]\nmax_attempts = -1\n"),
            "delivery.max_attempts",
        ),
        (
            format!("{GOOD}[delivery]\ninitial_backoff = \"1m\"\nmax_backoff = \"1s\"\n"),
            "delivery.max_backoff",
        ),
        (
            GOOD.replace("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "whsec_###"),
            "sinks[0].secret",
        ),
    ];
    for (text, key) in cases {
        let path = write_config_text(dir.path(), &text);
        for command in [&["check"][..], &["run", "--once"][..]] {
            let out = run_binary(command, Some(&path), &[]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{key} via {command:?}: {stderr}"
            );
            assert!(
                stderr.contains(&format!("`{key}")),
                "{key} not named: {stderr}"
            );
            assert!(!stderr.contains("SECRET"), "a secret leaked: {stderr}");
        }
    }
}

#[test]
fn check_prints_the_effective_configuration_without_any_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config_text(dir.path(), GOOD);
    let out = run_binary(&["check"], Some(&path), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("page_size = 100"),
        "defaults are shown: {stdout}"
    );
    assert!(stdout.contains("example.com"), "{stdout}");
    assert!(
        !stdout.contains("SECRET") && !stdout.contains("C2FVsBQ"),
        "a secret leaked: {stdout}"
    );
}

#[test]
fn environment_variables_override_the_file_and_are_named_when_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config_text(dir.path(), GOOD);
    let out = run_binary(
        &["check"],
        Some(&path),
        &[
            ("HRN_POLL__INTERVAL", "5m"),
            ("HRN_API__API_KEY", "env-SECRET4"),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("interval = \"5m\""), "{stdout}");
    assert!(!stdout.contains("SECRET"), "{stdout}");

    let out = run_binary(&["check"], Some(&path), &[("HRN_API__PAGE_SIZE", "0")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("`api.page_size`"), "{stderr}");

    let out = run_binary(&["check"], Some(&path), &[("HRN_API_KEY", "typo-SECRET5")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a misspelt variable must not be ignored: {stderr}"
    );
    assert!(
        stderr.contains("api_key") && stderr.contains("HRN_API_KEY"),
        "{stderr}"
    );
    assert!(!stderr.contains("SECRET"), "{stderr}");
}

#[test]
fn a_named_configuration_file_that_does_not_exist_exits_2() {
    let out = run_binary(
        &["check"],
        Some(Path::new("/nonexistent/notifier.toml")),
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[test]
fn bad_usage_exits_2() {
    let out = run_binary(&["frobnicate"], None, &[]);
    assert_eq!(out.status.code(), Some(2));
}
