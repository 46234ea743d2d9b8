//! Rotating a webhook signing secret, as a receiver meets it: the real daemon signs every
//! delivery with each configured secret, and an independent Standard Webhooks verifier (the
//! `standardwebhooks` crate) that knows only one of them accepts it; one that knows neither
//! refuses it. Plus the configuration mistakes `check` refuses.

use crate::support::{assert_check_refuses, metric, run_binary, Daemon, World, SECRET};
use axum::http::HeaderMap;
use standardwebhooks::Webhook;
use std::time::Duration;

/// The secret being rotated in, listed first as the README says.
const NEW: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The secret being rotated out (the one every other test signs with).
const OLD: &str = SECRET;
/// A valid secret that the sink was never given.
const UNRELATED: &str = "whsec_dW5yZWxhdGVkLXNpZ25pbmcta2V5LTAxMjM0NTY=";

/// `world`'s configuration with its webhook signing with `NEW` and `OLD` instead of `OLD` alone.
fn rotating(world: &World, extra: &str) -> String {
    let listed = format!("secrets = [\"{NEW}\", \"{OLD}\"]");
    world
        .toml(extra)
        .replace(&format!("secret = \"{SECRET}\""), &listed)
}

/// Whether a verifier that knows only `secret` accepts the delivery.
fn accepts(secret: &str, (body, headers): (&[u8], &HeaderMap)) -> bool {
    let verifier = Webhook::new(secret).expect("a valid secret");
    verifier.verify(body, headers).is_ok()
}

/// Both secrets signed the delivery (its body and headers): either key alone verifies it, a
/// key never configured does not.
fn assert_verified_by_each_key_alone(delivery: (&[u8], &HeaderMap)) {
    let signatures = delivery.1["webhook-signature"].to_str().unwrap();
    assert_eq!(
        signatures
            .split(' ')
            .filter(|s| s.starts_with("v1,"))
            .count(),
        2,
        "one signature per secret: {signatures}"
    );
    assert!(
        accepts(OLD, delivery),
        "a receiver still on the old key refused it"
    );
    assert!(
        accepts(NEW, delivery),
        "a receiver already on the new key refused it"
    );
    assert!(
        !accepts(UNRELATED, delivery),
        "a key never configured was accepted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_a_rotation_a_receiver_knowing_either_secret_accepts_and_a_stranger_refuses() {
    let world = World::start(1, 2).await;
    let toml = rotating(&world, "[poll]\ninterval = \"200ms\"\n");
    let config = hyperrep_notifier::load_config_str(&toml).unwrap();
    let daemon = Daemon::start_with(config).await;
    let complete = "hyperrep_notifier_polls_total{outcome=\"complete\"}";
    daemon.metrics_until(|t| metric(t, complete) >= 1.0).await;

    world.sim.create_conversation(&world.org(0));
    let received = world.hook.wait_for(1, Duration::from_secs(20)).await;
    daemon.stop().await;

    assert_eq!(received.len(), 1, "one new conversation, one delivery");
    assert_eq!(received[0].json()["type"], "conversation.created");
    assert_verified_by_each_key_alone((&received[0].body, &received[0].headers));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_set_in_the_environment_and_in_files_sign_the_binarys_deliveries() {
    let world = World::start(1, 2).await;
    let old_file = world.dir.path().join("old_secret");
    std::fs::write(&old_file, format!("{OLD}\n")).unwrap();
    // The file's sink points at the receiver unsigned; the environment's replaces it.
    let unsigned = world
        .toml("")
        .replace(&format!("secret = \"{SECRET}\"\n"), "");
    let config = world.dir.path().join("notifier.toml");
    std::fs::write(&config, unsigned).unwrap();
    let sinks = format!(
        "[{{name=\"hook\", type=\"webhook\", url=\"{}\", secrets=[\"{NEW}\"], secrets_files=[{:?}]}}]",
        world.hook.url,
        old_file.display().to_string()
    );
    let run = |args: &'static [&'static str]| {
        let (config, sinks) = (config.clone(), sinks.clone());
        tokio::task::spawn_blocking(move || {
            run_binary(args, Some(&config), &[("HRN_SINKS", sinks.as_str())])
        })
    };

    let check = run(&["check"]).await.unwrap();
    assert!(run(&["run", "--once"]).await.unwrap().status.success());
    world.sim.create_conversation(&world.org(0));
    let delivered = run(&["run", "--once"]).await.unwrap();

    let shown = String::from_utf8_lossy(&check.stdout).to_string();
    assert!(check.status.success(), "{shown}");
    assert!(shown.contains("secrets_files = ["), "{shown}");
    assert!(
        !shown.contains("MfKQ9r8") && !shown.contains("C2FVsBQ"),
        "{shown}"
    );
    assert!(delivered.status.success(), "{delivered:?}");
    let received = world.hook.received();
    assert_eq!(received.len(), 1, "one new conversation, one delivery");
    assert_verified_by_each_key_alone((&received[0].body, &received[0].headers));
}

#[test]
fn secret_beside_secrets_or_a_bad_listed_secret_is_refused_by_name_without_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let base = "[api]\napi_key = \"k\"\n[store]\npath = \"STORE\"\n[[orgs]]\nid = \"org-1\"\n\
                [[sinks]]\nname = \"console\"\ntype = \"console\"\n\
                [[sinks]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"https://h.example/x\"\n";
    let cases = [
        (
            format!("{base}secret = \"{NEW}\"\nsecrets = [\"{OLD}\"]\n"),
            "sinks[1].secrets",
        ),
        (
            format!("{base}secrets = [\"{NEW}\", \"whsec_SECRET-not-base64!\"]\n"),
            "sinks[1].secrets[1]",
        ),
    ];
    assert_check_refuses(dir.path(), &cases);
}

#[test]
fn the_readme_shows_the_example_receiver_exactly_as_shipped() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |name: &str| std::fs::read_to_string(root.join(name)).unwrap();
    let (readme, example) = (read("README.md"), read("examples/receiver.py"));
    assert!(
        readme.contains(&format!("```python\n{example}```\n")),
        "README's receiver differs from examples/receiver.py"
    );
}
