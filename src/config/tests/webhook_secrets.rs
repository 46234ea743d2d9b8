//! A webhook sink's signing secrets for rotation: `secrets`, `secrets_files`, their order, and
//! how a bad one is named without being shown.

use super::*;

const BASE: &str = "[api]\napi_key = \"k\"\n[[orgs]]\nid = \"org-1\"\n[[sinks]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"https://h.example/x\"\n";
const NEW: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OLD: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

fn hook(config: &Config) -> &WebhookSinkConfig {
    let SinkConfig::Webhook(hook) = &config.sinks[0] else {
        panic!("a webhook sink")
    };
    hook
}

/// The signing secrets of `toml`'s webhook, as (key, value), in signing order.
fn secrets_of(toml: &str) -> Vec<(String, String)> {
    let config = load_str(toml).unwrap();
    let secrets = hook(&config).signing_secrets();
    secrets
        .into_iter()
        .map(|(key, secret)| (key, secret.expose().to_string()))
        .collect()
}

fn keys_of(toml: &str) -> Vec<String> {
    let errors = load_str(toml).expect_err("the configuration should be refused");
    errors.0.into_iter().map(|e| e.key).collect()
}

#[test]
fn secrets_and_secrets_files_are_signed_with_in_the_order_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("third");
    std::fs::write(&file, format!("  {OLD}\n")).unwrap();
    let path = format!("{:?}", file.display().to_string());
    let toml = format!("{BASE}secrets = [\"{NEW}\", \"{OLD}\"]\nsecrets_files = [{path}]\n");
    let expected = [
        ("secrets[0]", NEW),
        ("secrets[1]", OLD),
        ("secrets_files[0]", OLD),
    ];
    let expected: Vec<(String, String)> = (expected.iter())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(secrets_of(&toml), expected);
}

#[test]
fn a_single_secret_comes_before_the_secrets_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old");
    std::fs::write(&file, OLD).unwrap();
    let path = format!("{:?}", file.display().to_string());
    let toml = format!("{BASE}secret = \"{NEW}\"\nsecrets_files = [{path}]\n");
    let keys: Vec<String> = secrets_of(&toml).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["secret", "secrets_files[0]"]);
}

#[test]
fn secret_beside_secrets_is_refused_under_secrets() {
    let toml = format!("{BASE}secret = \"{NEW}\"\nsecrets = [\"{OLD}\"]\n");
    assert_eq!(keys_of(&toml), ["sinks[0].secrets"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s");
    std::fs::write(&file, NEW).unwrap();
    let path = format!("{:?}", file.display().to_string());
    let toml = format!("{BASE}secret_file = {path}\nsecrets = [\"{OLD}\"]\n");
    assert_eq!(keys_of(&toml), ["sinks[0].secrets"]);
}

#[test]
fn a_bad_secret_is_named_by_its_place_in_the_list_and_never_quoted() {
    let toml = format!("{BASE}secrets = [\"{NEW}\", \"whsec_sup3r-s3cret!\"]\n");
    let errors = load_str(&toml).unwrap_err();
    assert_eq!(errors.0.len(), 1, "{errors}");
    assert_eq!(errors.0[0].key, "sinks[0].secrets[1]");
    assert!(!errors.to_string().contains("sup3r"), "{errors}");
}

#[test]
fn a_missing_empty_or_bad_secrets_file_is_named_by_its_place_in_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let (empty, bad) = (dir.path().join("empty"), dir.path().join("bad"));
    std::fs::write(&empty, "\n").unwrap();
    std::fs::write(&bad, "whsec_sup3r-s3cret!").unwrap();
    let files = [dir.path().join("missing"), empty, bad];
    let paths: Vec<String> = (files.iter())
        .map(|f| format!("{:?}", f.display().to_string()))
        .collect();
    let toml = format!("{BASE}secrets_files = [{}]\n", paths.join(", "));
    let errors = load_str(&toml).unwrap_err();
    let keys: Vec<&str> = errors.0.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "sinks[0].secrets_files[0]",
            "sinks[0].secrets_files[1]",
            "sinks[0].secrets_files[2]"
        ]
    );
    assert!(!errors.to_string().contains("sup3r"), "{errors}");
}

#[test]
fn the_effective_configuration_shows_every_secret_redacted() {
    let toml = format!("{BASE}secrets = [\"{NEW}\", \"{OLD}\"]\n");
    let shown = load_str(&toml).unwrap().to_redacted_toml();
    assert!(
        shown.contains("secrets = [\n    \"[redacted]\",\n    \"[redacted]\",\n]"),
        "{shown}"
    );
    for secret in ["MfKQ9r8GKYqrTwjUPD8IL", "C2FVsBQIhrscChlQIMV"] {
        assert!(!shown.contains(secret), "{secret} leaked:\n{shown}");
    }
}
