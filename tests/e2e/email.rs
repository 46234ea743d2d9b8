//! The email sink against a real SMTP server on loopback.

use crate::smtp::SmtpServer;
use crate::support::{baseline_then_touch, once, World};
use hyperrep_notifier::load_config_str as load_str;
use hyperrep_notifier::App;

fn email_sink(smtp: &SmtpServer, extra: &str) -> String {
    format!(
        "[[sinks]]\nname = \"leads\"\ntype = \"email\"\nsmtp_url = \"{}\"\n\
         from = \"HyperRep Notifier <notifier@example.com>\"\n\
         to = [\"Support Lead <lead@example.com>\", \"second@example.com\"]\ncc = [\"audit@example.com\"]\n{extra}",
        smtp.url
    )
}

#[tokio::test]
async fn each_event_becomes_one_email_with_subject_recipients_and_both_parts() {
    let world = World::start(1, 5).await;
    let smtp = SmtpServer::start();
    let toml = world.toml(&email_sink(&smtp, ""));
    let ids = baseline_then_touch(&world, &toml, 2).await;

    assert!(once(&toml).await.success());

    let mails = smtp.mails();
    assert_eq!(mails.len(), 2);
    for mail in &mails {
        assert_eq!(mail.from, "notifier@example.com");
        let mut to = mail.to.clone();
        to.sort();
        assert_eq!(
            to,
            [
                "audit@example.com",
                "lead@example.com",
                "second@example.com"
            ]
        );
        assert!(
            mail.data.contains("Subject: [Org 0] New activity"),
            "{}",
            mail.data
        );
        assert!(mail.data.contains("multipart/alternative"), "{}", mail.data);
        assert!(
            mail.data.contains("Content-Type: text/plain")
                && mail.data.contains("Content-Type: text/html"),
            "{}",
            mail.data
        );
        assert!(mail.data.contains("Cc: audit@example.com"), "{}", mail.data);
    }
    for id in &ids {
        assert!(
            mails.iter().any(|m| m.data.contains(id.as_str())),
            "no email mentions {id}"
        );
    }
}

#[tokio::test]
async fn a_451_reply_is_retried_and_the_email_arrives() {
    let world = World::start(1, 5).await;
    let smtp = SmtpServer::start();
    let toml = world.toml(&email_sink(&smtp, ""));
    baseline_then_touch(&world, &toml, 1).await;
    smtp.script([451]);

    assert!(once(&toml).await.success());

    assert_eq!(smtp.attempts(), 2);
    assert_eq!(smtp.mails().len(), 1);
    assert!(App::build(load_str(&toml).unwrap())
        .unwrap()
        .store
        .dead_letters()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_550_reply_dead_letters_the_email_without_retrying() {
    let world = World::start(1, 5).await;
    let smtp = SmtpServer::start();
    let toml = world.toml(&email_sink(&smtp, ""));
    baseline_then_touch(&world, &toml, 1).await;
    smtp.always(550);

    let report = once(&toml).await;

    assert_eq!(report.pending, 0);
    assert_eq!(smtp.attempts(), 1);
    let letters = App::build(load_str(&toml).unwrap())
        .unwrap()
        .store
        .dead_letters()
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert!(letters[0].reason.contains("550"), "{}", letters[0].reason);
}

#[tokio::test]
async fn a_digest_sends_one_email_per_window_listing_every_event() {
    let world = World::start(1, 8).await;
    let smtp = SmtpServer::start();
    let toml = world.toml(&email_sink(&smtp, "digest = \"2s\"\n"));
    let ids = baseline_then_touch(&world, &toml, 3).await;

    assert!(once(&toml).await.success());

    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "one digest for the window");
    assert!(
        mails[0]
            .data
            .contains("Subject: [Org 0] 3 conversation changes from"),
        "{}",
        mails[0].data
    );
    for id in &ids {
        assert!(mails[0].data.contains(id.as_str()), "the digest lists {id}");
    }
}

#[tokio::test]
async fn sixty_events_from_one_poll_become_one_summary_email() {
    let world = World::start(1, 60).await;
    let smtp = SmtpServer::start();
    let toml = world.toml(&format!(
        "[poll]\ninitial = \"notify\"\n{}",
        email_sink(&smtp, "")
    ));

    assert!(once(&toml).await.success());

    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0]
            .data
            .contains("Subject: [Org 0] 60 conversation changes"),
        "{}",
        mails[0].data
    );
    assert!(mails[0].data.contains("and 50 more"), "{}", mails[0].data);
}

#[tokio::test]
async fn test_sink_mails_a_sample_and_reports_the_smtp_reply() {
    let world = World::start(1, 3).await;
    let smtp = SmtpServer::start();
    let config = world.write_config(&email_sink(&smtp, ""));
    let run = |config: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || {
            crate::support::run_binary(&["test-sink", "leads"], Some(&config), &[])
        })
    };
    let sent = run(config.clone()).await.unwrap();
    assert_eq!(
        sent.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert!(String::from_utf8_lossy(&sent.stdout).contains("delivered (SMTP 250 OK)"));
    assert!(smtp.mails()[0]
        .data
        .contains("Subject: [Org 0] New activity, marked unread"));

    smtp.always(550);
    let refused = run(config).await.unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("550") && stderr.contains("dead letters"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_smtp_server_that_greets_then_hangs_costs_one_bounded_attempt() {
    let world = World::start(1, 3).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut stream in listener.incoming().take(3).flatten() {
            use std::io::Write;
            let _ = stream.write_all(b"220 hung.example ESMTP\r\n");
            held.push(stream); // never reads, never answers again
        }
        std::thread::sleep(std::time::Duration::from_secs(30));
    });
    let sink = format!(
        "[[sinks]]\nname = \"hung\"\ntype = \"email\"\nsmtp_url = \"smtp://{address}\"\nfrom = \"n@example.com\"\nto = [\"l@example.com\"]\n"
    );
    let app = world.app(&sink);
    let cancel = tokio_util::sync::CancellationToken::new();
    app.poll_once(&cancel).await;
    world.sim.create_conversation(&world.org(0));
    app.poll_once(&cancel).await;

    let started = std::time::Instant::now();
    let outcomes = app.deliver_due().await.unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the attempt was bounded: {:?}",
        started.elapsed()
    );
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, hyperrep_notifier::dispatch::Outcome::Retrying { .. })),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&hyperrep_notifier::dispatch::Outcome::Delivered),
        "the webhook sink is not held up"
    );
}
