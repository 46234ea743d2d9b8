//! A webhook sink's `url` / `url_file`, and how its URL is shown.

use super::*;

const BASE: &str = "[api]\napi_key = \"k\"\n[[orgs]]\nid = \"org-1\"\n[[sinks]]\nname = \"hook\"\ntype = \"webhook\"\n";

fn with_url_file(contents: &str, extra: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("url");
    std::fs::write(&file, contents).unwrap();
    let path = format!("{:?}", file.display().to_string());
    (dir, format!("{BASE}url_file = {path}\n{extra}"))
}

fn errors_of(toml: &str) -> Vec<ConfigError> {
    load_str(toml)
        .expect_err("the configuration should be refused")
        .0
}

#[test]
fn a_webhook_url_file_is_read_and_trimmed() {
    let (_dir, toml) = with_url_file("\n  https://discord.com/api/webhooks/1/T0k3nT0k3n \n", "");
    let config = load_str(&toml).unwrap();
    let SinkConfig::Webhook(hook) = &config.sinks[0] else {
        panic!("a webhook sink")
    };
    let url = hook.url.as_ref().unwrap().expose();
    assert_eq!(url, "https://discord.com/api/webhooks/1/T0k3nT0k3n");
}

#[test]
fn a_webhook_with_both_url_and_url_file_is_refused_under_its_url_key() {
    let (_dir, toml) = with_url_file("https://a.example/h", "url = \"https://b.example/h\"\n");
    let errors = errors_of(&toml);
    assert_eq!(errors[0].key, "sinks[0].url", "{errors:?}");
    assert!(
        errors[0]
            .reason
            .contains("set either `sinks[0].url` or `sinks[0].url_file`, not both"),
        "{errors:?}"
    );
}

#[test]
fn a_webhook_without_url_or_url_file_is_refused_under_its_url_key() {
    let errors = errors_of(BASE);
    assert_eq!(errors[0].key, "sinks[0].url", "{errors:?}");
    assert!(errors[0].reason.contains("`url_file`"), "{errors:?}");
}

#[test]
fn a_webhook_url_file_that_is_missing_empty_or_not_a_url_is_refused_without_quoting_it() {
    let missing = format!("{BASE}url_file = \"/nonexistent/url\"\n");
    assert_eq!(errors_of(&missing)[0].key, "sinks[0].url_file");
    let (_dir, empty) = with_url_file(" \n", "");
    assert_eq!(errors_of(&empty)[0].key, "sinks[0].url_file");
    let (_dir, garbage) = with_url_file("discord.com/api/webhooks/1/T0k3nT0k3n", "");
    let errors = errors_of(&garbage);
    assert_eq!(errors[0].key, "sinks[0].url", "{errors:?}");
    assert!(!format!("{errors:?}").contains("T0k3n"), "{errors:?}");
}

#[test]
fn check_shows_a_webhook_url_as_scheme_host_and_port_only() {
    let toml = format!(
        "{BASE}url = \"https://discord.com:8443/api/webhooks/1/T0k3nT0k3n?thread_id=Q7u3ry\"\n"
    );
    let shown = load_str(&toml).unwrap().to_redacted_toml();
    assert!(
        shown.contains("url = \"https://discord.com:8443/[redacted]\""),
        "{shown}"
    );
    for leaked in ["webhooks", "T0k3n", "Q7u3ry", "thread_id"] {
        assert!(!shown.contains(leaked), "{leaked} leaked:\n{shown}");
    }
}
