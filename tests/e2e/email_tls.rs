//! Email (and webhooks) through corporate relays: a private CA, trusted through `ca_file` or the
//! system store (`SSL_CERT_FILE`), never silently; `smtp_url` typos refused at load; and the
//! MIME structure of what is sent, read back with a real parser.

use crate::smtp::SmtpServer;
use crate::support::pki::Pki;
use crate::support::tls_front::tls_front;
use crate::support::{baseline_then_touch, binary, once, run_binary, World};
use hyperrep_notifier::load_config_str as load_str;
use hyperrep_notifier::store::DeadLetter;
use hyperrep_notifier::App;
use std::net::SocketAddr;

/// An email sink `name` to `url`, with `extra` lines (say, a `ca_file`).
fn email_sink(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[[sinks]]\nname = \"{name}\"\ntype = \"email\"\nsmtp_url = \"{url}\"\n\
         from = \"HyperRep Notifier <notifier@example.com>\"\nto = [\"lead@example.com\"]\n{extra}"
    )
}

fn ca_file(pki: &Pki) -> String {
    format!("ca_file = {:?}\n", pki.ca_pem.display().to_string())
}

fn dead_letters(toml: &str, sink: &str) -> Vec<DeadLetter> {
    let app = App::build(load_str(toml).unwrap()).unwrap();
    let letters = app.store.dead_letters().unwrap();
    letters.into_iter().filter(|l| l.sink == sink).collect()
}

fn address(url: &str) -> SocketAddr {
    let rest = url.split("://").nth(1).unwrap();
    rest.split('/').next().unwrap().parse().unwrap()
}

/// One sink without `ca_file` and one with it, to the relay at `url` behind `pki`, after one new
/// event: the first must dead-letter the event at once saying why, the second must deliver it.
async fn refused_without_ca_file_delivered_with_it(
    world: &World,
    smtp: &SmtpServer,
    url: &str,
    pki: &Pki,
) {
    let sinks = format!(
        "{}{}",
        email_sink("untrusting", url, ""),
        email_sink("trusting", url, &ca_file(pki))
    );
    let toml = world.toml(&sinks);
    baseline_then_touch(world, &toml, 1).await;

    let report = once(&toml).await;

    assert_eq!(report.pending, 0, "{report:?}");
    assert_eq!(smtp.mails().len(), 1, "the sink with ca_file delivers");
    let letters = dead_letters(&toml, "untrusting");
    assert_eq!(letters.len(), 1, "{letters:?}");
    let reason = &letters[0].reason;
    assert!(reason.contains("certificate was not trusted"), "{reason}");
    assert!(reason.contains("will not fix itself"), "{reason}");
    assert!(reason.contains("ca_file"), "says what to do: {reason}");
    assert_eq!(
        letters[0].entry.attempts, 1,
        "a refused certificate is not retried"
    );
    assert!(dead_letters(&toml, "trusting").is_empty());
}

#[tokio::test]
async fn starttls_to_a_relay_behind_a_private_ca_needs_ca_file_and_says_so_without_it() {
    let world = World::start(1, 3).await;
    let pki = Pki::new("Example Corp Internal CA");
    let smtp = SmtpServer::starttls(&pki);
    let url = format!("{}?tls=required", smtp.url);
    refused_without_ca_file_delivered_with_it(&world, &smtp, &url, &pki).await;
}

#[tokio::test]
async fn smtps_to_a_relay_behind_a_private_ca_needs_ca_file_and_says_so_without_it() {
    let world = World::start(1, 3).await;
    let pki = Pki::new("Example Corp Internal CA");
    let smtp = SmtpServer::start();
    let url = format!("smtps://{}", tls_front(&pki, address(&smtp.url)));
    refused_without_ca_file_delivered_with_it(&world, &smtp, &url, &pki).await;
}

#[tokio::test]
async fn a_private_ca_in_ssl_cert_file_is_trusted_by_the_real_binary() {
    let world = World::start(1, 3).await;
    let pki = Pki::new("Example Corp Internal CA");
    let smtp = SmtpServer::starttls(&pki);
    let sink = email_sink("leads", &format!("{}?tls=required", smtp.url), "");
    let config = world.write_config(&sink);
    let ca = pki.ca_pem.clone();
    let (with_env, without) = tokio::task::spawn_blocking(move || {
        let run = |env: Option<&std::path::Path>| {
            let mut command = binary();
            command
                .env_remove("SSL_CERT_FILE")
                .env_remove("SSL_CERT_DIR");
            if let Some(ca) = env {
                command.env("SSL_CERT_FILE", ca);
            }
            command
                .arg("--config")
                .arg(&config)
                .args(["test-sink", "leads"]);
            command.output().unwrap()
        };
        (run(Some(&ca)), run(None))
    })
    .await
    .unwrap();

    let stderr = String::from_utf8_lossy(&with_env.stderr);
    assert_eq!(with_env.status.code(), Some(0), "{stderr}");
    assert!(String::from_utf8_lossy(&with_env.stdout).contains("delivered (SMTP 250"));
    assert_eq!(smtp.mails().len(), 1);
    let stderr = String::from_utf8_lossy(&without.stderr);
    assert_eq!(without.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not trusted"), "{stderr}");
}

#[tokio::test]
async fn a_webhook_behind_a_private_ca_is_reached_with_ca_file_and_dead_lettered_in_words_without()
{
    let world = World::start(1, 3).await;
    let pki = Pki::new("Example Corp Internal CA");
    let front = tls_front(&pki, address(&world.hook.url));
    let sink = format!(
        "[[sinks]]\nname = \"internal\"\ntype = \"webhook\"\nurl = \"https://{front}/hook\"\n{}\
         [[sinks]]\nname = \"untrusting\"\ntype = \"webhook\"\nurl = \"https://{front}/hook\"\n",
        ca_file(&pki)
    );
    let toml = world.toml(&sink);
    baseline_then_touch(&world, &toml, 1).await;

    let report = once(&toml).await;
    assert_eq!(
        report.dead_lettered.get("untrusting"),
        Some(&1),
        "{report:?}"
    );
    assert_eq!(report.pending, 0);

    let ids = world.hook.event_ids();
    assert_eq!(
        ids.len(),
        2,
        "one from `hook`, one through TLS from `internal`"
    );
    assert_eq!(ids[0], ids[1]);
    let app = App::build(load_str(&toml).unwrap()).unwrap();
    let letters = app.store.dead_letters().unwrap();
    assert_eq!(
        letters.len(),
        1,
        "the sink without ca_file: one attempt, then a dead letter"
    );
    assert_eq!(letters[0].entry.attempts, 1, "{}", letters[0].reason);
    let reason = &letters[0].reason;
    assert!(reason.contains("certificate was not trusted"), "{reason}");
    assert!(reason.contains("will not fix itself"), "{reason}");
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

#[test]
fn a_ca_file_that_is_missing_or_holds_no_certificate_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("key-only.pem");
    std::fs::write(
        &not_pem,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let not_pem = format!("ca_file = {:?}\n", not_pem.display().to_string());
    let missing = "ca_file = \"/nonexistent/corporate-ca.pem\"\n";
    let webhook = |name: &str, extra: &str| {
        format!("[[sinks]]\nname = \"{name}\"\ntype = \"webhook\"\nurl = \"https://h.example/\"\n{extra}")
    };
    let url = "smtp://mail.example.com?tls=required";
    for (sinks, key) in [
        (email_sink("mail", url, missing), "`sinks[0].ca_file`"),
        (email_sink("mail", url, &not_pem), "`sinks[0].ca_file`"),
        (
            format!("{}{}", webhook("a", ""), webhook("b", missing)),
            "`sinks[1].ca_file`",
        ),
        (webhook("a", &not_pem), "`sinks[0].ca_file`"),
    ] {
        let out = run_on(dir.path(), &sinks, &["check"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{sinks}: {stderr}");
        assert!(stderr.contains(key), "{key} not named: {stderr}");
    }
}

#[tokio::test]
async fn each_email_is_multipart_alternative_with_its_own_message_id_and_auto_submitted() {
    use mail_parser::{HeaderValue, MessageParser, MimeHeaders};
    let world = World::start(1, 5).await;
    let smtp = SmtpServer::start();
    let toml = world.toml(&email_sink("leads", &smtp.url, ""));
    let ids = baseline_then_touch(&world, &toml, 2).await;

    assert!(once(&toml).await.success());

    let mut message_ids = std::collections::HashSet::new();
    for mail in smtp.mails() {
        let message = MessageParser::default()
            .parse(&mail.raw)
            .expect("a parsable message");
        let kind = message.content_type().expect("a Content-Type");
        assert_eq!(
            (kind.ctype(), kind.subtype()),
            ("multipart", Some("alternative"))
        );
        assert_eq!(
            (message.text_body_count(), message.html_body_count()),
            (1, 1)
        );
        let text = message.body_text(0).unwrap();
        assert!(ids.iter().any(|id| text.contains(id.as_str())), "{text}");
        assert!(message.body_html(0).unwrap().contains("</"), "an HTML part");
        let auto = message
            .header("Auto-Submitted")
            .and_then(HeaderValue::as_text);
        assert_eq!(auto, Some("auto-generated"));
        let raw_id = message
            .header_raw("Message-ID")
            .expect("a Message-ID")
            .trim();
        let id = message.message_id().expect("a well-formed Message-ID");
        assert_eq!(raw_id, format!("<{id}>"), "one <left@right> id");
        assert!(id.ends_with("@example.com") && !id.contains(' '), "{id}");
        message_ids.insert(id.to_string());
    }
    assert_eq!(message_ids.len(), 2, "one Message-ID per message");
}
