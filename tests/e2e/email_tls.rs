//! Email through corporate relays: `smtp_url` typos are refused at load, never taken for plain
//! text, and `check` shows the TLS mode.

use crate::support::run_binary;

/// An email sink `name` to `url`, with `extra` lines (say, a `ca_file`).
fn email_sink(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[[sinks]]\nname = \"{name}\"\ntype = \"email\"\nsmtp_url = \"{url}\"\n\
         from = \"HyperRep Notifier <notifier@example.com>\"\nto = [\"lead@example.com\"]\n{extra}"
    )
}

const CONFIG: &str = r#"
[api]
base_url = "http://127.0.0.1:9"
api_key = "api-key-SECRET1"
[[orgs]]
id = "org-1"
name = "Acme"
[store]
path = "STORE"
"#;

/// Runs `args` of the real binary on `CONFIG` plus `sinks`.
fn run_on(dir: &std::path::Path, sinks: &str, args: &[&str]) -> std::process::Output {
    let path = dir.join("notifier.toml");
    let store = dir.join("store").display().to_string();
    std::fs::write(&path, format!("{}{sinks}", CONFIG.replace("STORE", &store))).unwrap();
    run_binary(args, Some(&path), &[])
}

#[test]
fn a_typo_in_the_tls_part_of_smtp_url_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "smtp://user:pw-SECRET@mail.example.com:587?tsl=required",
        "smtp://user:pw-SECRET@mail.example.com:587?TLS=required",
        "smtp://user:pw-SECRET@mail.example.com:587?tls=requierd",
    ] {
        for command in [&["check"][..], &["run", "--once"][..]] {
            let out = run_on(dir.path(), &email_sink("mail", url, ""), command);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{url} via {command:?}: {stderr}"
            );
            assert!(stderr.contains("`sinks[0].smtp_url`"), "{url}: {stderr}");
            assert!(stderr.contains("tls=required"), "shows the forms: {stderr}");
            assert!(!stderr.contains("SECRET"), "a secret leaked: {stderr}");
        }
    }
}

#[test]
fn check_shows_the_tls_mode_of_smtp_url_and_hides_only_its_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let url = "smtp://notifier:pw-SECRET@mail.example.com:587?tls=required";
    let out = run_on(dir.path(), &email_sink("mail", url, ""), &["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("mail.example.com:587?tls=required"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("SECRET") && !stdout.contains("notifier:"),
        "{stdout}"
    );
}
