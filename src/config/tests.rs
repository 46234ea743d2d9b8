use super::*;
// With the sinks' checks, as the binary loads it.
use crate::load_config_str as load_str;

const MINIMAL: &str = r#"
[api]
api_key = "key-123"
[[orgs]]
id = "org-1"
[[sinks]]
name = "hook"
type = "webhook"
url = "https://example.com/hook?token=tok-456"
secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
headers = { Authorization = "Bearer bearer-789" }
"#;

fn keys_of(toml: &str) -> Vec<String> {
    load_str(toml)
        .expect_err("the configuration should be refused")
        .0
        .into_iter()
        .map(|e| e.key)
        .collect()
}

#[test]
fn a_minimal_configuration_loads_with_the_documented_defaults() {
    let config = load_str(MINIMAL).unwrap();
    assert_eq!(config.api.base_url.as_str(), "https://api.hyperrep.ai/");
    assert_eq!(config.api.page_size, 100);
    assert_eq!(config.poll.interval, std::time::Duration::from_secs(60));
    assert_eq!(config.poll.initial, InitialMode::Baseline);
    assert_eq!(config.delivery.max_attempts, 12);
    assert_eq!(config.store.path, std::path::PathBuf::from("data"));
}

#[test]
fn the_example_configuration_is_valid_once_it_is_given_an_api_key() {
    let example = include_str!("../../config/example.toml");
    let keys = keys_of(example);
    assert_eq!(keys, ["api.api_key"], "only the key is missing");
    let example = example.replacen("[api]\n", "[api]\napi_key = \"k\"\n", 1);
    let config = load_str(&example).unwrap();
    assert_eq!(config.sinks.len(), 4);
    assert_eq!(
        config.schedules.len(),
        1,
        "the example holds a delivery window"
    );
    assert!(config.sinks[0].filter().is_some());
}

#[test]
fn each_broken_value_is_reported_under_its_key_path() {
    let rest = "[[orgs]]\nid = \"org-1\"\n[[sinks]]\nname = \"out\"\ntype = \"console\"\n";
    let cases = [
        ("[api]\napi_key = \"k\"\npag_size = 5", "api.pag_size"),
        ("[api]\napi_key = \"k\"\npage_size = 0", "api.page_size"),
        ("[api]\napi_key = \"k\"\npage_size = 101", "api.page_size"),
        (
            "[api]\napi_key = \"k\"\nbase_url = \"not a url\"",
            "api.base_url",
        ),
        ("[api]\napi_key = \"k\"\ntimeout = 15", "api.timeout"),
        (
            "[api]\napi_key = \"k\"\n[poll]\ninterval = \"soon\"",
            "poll.interval",
        ),
        (
            "[api]\napi_key = \"k\"\n[poll]\ninitial = \"everything\"",
            "poll.initial",
        ),
        (
            "[api]\napi_key = \"k\"\n[delivery]\nmax_attempts = 0",
            "delivery.max_attempts",
        ),
        ("[api]\napi_key = \"k\"\n[stor]\npath = \"x\"", "stor"),
    ];
    for (section, key) in cases {
        let keys = keys_of(&format!("{section}\n{rest}"));
        assert!(keys.contains(&key.to_string()), "{section} → {keys:?}");
    }
}

#[test]
fn sink_and_filter_mistakes_name_the_sink_entry() {
    let base = "[api]\napi_key = \"k\"\n[[orgs]]\nid = \"org-1\"\n";
    let cases = [
        ("[[sinks]]\nname = \"a\"\ntype = \"webhook\"\nurl = \"ftp://x\"", "sinks[0].url"),
        ("[[sinks]]\nname = \"a\"\ntype = \"webhook\"\nurl = \"https://x\"\nsecret = \"whsec_!!\"", "sinks[0].secret"),
        ("[[sinks]]\nname = \"a\"\ntype = \"console\"\n[[sinks]]\nname = \"a\"\ntype = \"console\"", "sinks[1].name"),
        ("[[sinks]]\nname = \"a\"\ntype = \"console\"\n[sinks.filter]\norgs = [\"nope\"]", "sinks[0].filter.orgs"),
        ("[[sinks]]\nname = \"a\"\ntype = \"console\"\n[sinks.filter]\nevents = []", "sinks[0].filter.events"),
        ("[[sinks]]\nname = \"a\"\ntype = \"pager\"", "sinks[0].type"),
    ];
    for (sinks, key) in cases {
        let keys = keys_of(&format!("{base}{sinks}"));
        assert!(
            keys.iter().any(|k| k.starts_with(key)),
            "{sinks} → {keys:?}"
        );
    }
}

#[test]
fn an_unknown_event_type_in_a_filter_is_refused() {
    let toml = format!("{MINIMAL}\n[sinks.filter]\nevents = [\"conversation.deleted\"]\n");
    let errors = load_str(&toml).unwrap_err();
    let text = errors.to_string();
    assert!(text.contains("`sinks[0].filter.events[0]`"), "{text}");
    assert!(text.contains("conversation.deleted"), "{text}");
}

#[test]
fn missing_orgs_sinks_and_key_are_each_reported() {
    let keys = keys_of("");
    for key in ["api.api_key", "orgs", "sinks"] {
        assert!(keys.contains(&key.to_string()), "{keys:?}");
    }
}

#[test]
fn a_key_given_twice_or_from_a_missing_file_is_refused() {
    let both = MINIMAL.replace(
        "api_key = \"key-123\"",
        "api_key = \"k\"\napi_key_file = \"/nonexistent\"",
    );
    assert!(keys_of(&both).contains(&"api.api_key".to_string()));
    let missing = MINIMAL.replace(
        "api_key = \"key-123\"",
        "api_key_file = \"/nonexistent/key\"",
    );
    assert!(keys_of(&missing).contains(&"api.api_key_file".to_string()));
}

#[test]
fn a_secret_file_is_read_and_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("key");
    std::fs::write(&file, "from-file\n").unwrap();
    let toml = MINIMAL.replace(
        "api_key = \"key-123\"",
        &format!("api_key_file = {:?}", file.display().to_string()),
    );
    let config = load_str(&toml).unwrap();
    assert_eq!(config.api.api_key.unwrap().expose(), "from-file");
}

#[test]
fn the_effective_configuration_never_shows_a_secret() {
    let shown = load_str(MINIMAL).unwrap().to_redacted_toml();
    for secret in ["key-123", "tok-456", "bearer-789", "C2FVsBQIhrscChlQIMV"] {
        assert!(!shown.contains(secret), "{secret} leaked:\n{shown}");
    }
    assert!(shown.contains("example.com"), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
}

#[test]
fn errors_never_quote_a_secret_value() {
    let toml = MINIMAL.replace(
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "whsec_sup3r-s3cret!",
    );
    let text = load_str(&toml).unwrap_err().to_string();
    assert!(text.contains("sinks[0].secret"), "{text}");
    assert!(!text.contains("sup3r"), "{text}");
}

#[test]
fn a_refused_value_is_never_quoted_back() {
    let toml = MINIMAL.replace(
        "https://example.com/hook?token=tok-456",
        "hooks.example.com/T0/B0/tok-SECRET",
    );
    let text = load_str(&toml).unwrap_err().to_string();
    assert!(text.contains("`sinks[0].url`"), "{text}");
    assert!(!text.contains("SECRET"), "{text}");
    let typed = MINIMAL.replace(
        "headers = { Authorization = \"Bearer bearer-789\" }",
        "headers = \"Bearer SECRET\"",
    );
    let text = load_str(&typed).unwrap_err().to_string();
    assert!(
        text.contains("`sinks[0].headers`") && !text.contains("SECRET"),
        "{text}"
    );
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn line() -> impl Strategy<Value = String> {
        let sections = prop_oneof![
            Just("[api]"),
            Just("[poll]"),
            Just("[store]"),
            Just("[delivery]"),
            Just("[server]"),
            Just("[log]"),
            Just("[[orgs]]"),
            Just("[[sinks]]"),
            Just("[sinks.filter]"),
            Just("[sinks.templates]"),
        ];
        let known = prop::sample::select(vec![
            "api_key",
            "base_url",
            "page_size",
            "interval",
            "initial",
            "id",
            "name",
            "type",
            "url",
            "secret",
            "events",
            "orgs",
            "text",
            "smtp_url",
            "to",
            "from",
            "digest",
            "listen",
            "timeout",
        ]);
        let keys = prop_oneof![known.prop_map(str::to_string), "[a-z_]{1,8}"];
        let values = prop_oneof![
            Just("\"webhook\"".to_string()),
            Just("\"slack\"".to_string()),
            Just("\"email\"".to_string()),
            Just("\"console\"".to_string()),
            Just("\"10s\"".to_string()),
            Just("\"https://x.example/h\"".to_string()),
            Just("[\"conversation.created\"]".to_string()),
            Just("\"{{ org \"".to_string()),
            Just("\"a@b.c\"".to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<bool>().prop_map(|b| b.to_string()),
            "\"[ -~]{0,12}\"".prop_map(|s| s.replace('\\', "")),
        ];
        prop_oneof![
            sections.prop_map(str::to_string),
            (keys, values).prop_map(|(k, v)| format!("{k} = {v}")),
            "[ -~]{0,30}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn any_configuration_text_loads_or_fails_with_named_keys_never_a_panic(lines in prop::collection::vec(line(), 0..30)) {
            if let Err(errors) = load_str(&lines.join("\n")) {
                prop_assert!(!errors.0.is_empty());
                for error in &errors.0 {
                    prop_assert!(!error.reason.is_empty());
                }
            }
        }
    }
}

mod admin_listen;
mod reminders;
mod schedules;
mod webhook_secrets;
mod webhook_url;
