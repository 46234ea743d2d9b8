//! Slack app mode when things go wrong: each class of the Web API's answers, the pace per
//! channel, a SIGKILL between Slack's answer to a post and the write of its `ts`, secrets in
//! debug logs, reminders, and configuration mistakes.

use crate::slack_app::{app_sink, quiet_inbox, step, step_until};
use crate::support::slack_api::{Answer, SlackApi, BOT_TOKEN};
use crate::support::{
    assert_check_refuses, eventually, free_port, run_binary, Daemon, DaemonProcess, World,
};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn refusals_are_dead_letters_and_rate_limits_and_outages_are_retried() {
    let world = World::start(1, 4).await;
    let api = SlackApi::start().await;
    let app = world.app(&app_sink(&api, "live", ""));
    let ids = quiet_inbox(&world, &app).await;
    api.script("chat.postMessage", [Answer::Error("channel_not_found")]);
    world.sim.touch(&world.org(0), &ids[0]);
    step(&app).await;
    assert_eq!(
        app.store.sink_counts("live").dead,
        1,
        "channel_not_found is not retried"
    );
    assert_eq!(api.calls("chat.postMessage").len(), 1);

    let transient = [
        Answer::Error("ratelimited"),
        Answer::RateLimited(1),
        Answer::Error("internal_error"),
        Answer::Status(503),
    ];
    api.script("chat.postMessage", transient);
    world.sim.touch(&world.org(0), &ids[1]);
    assert!(step_until(&app, || api.message_of(&ids[1]).is_some()).await);
    assert_eq!(api.calls("chat.postMessage").len(), 1 + 5);
    assert_eq!(app.store.sink_counts("live").dead, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_to_one_channel_are_about_a_second_apart_across_sinks() {
    let world = World::start(1, 4).await;
    let api = SlackApi::start().await;
    let org = world.org(0);
    let ids = all_read_in_inbox(&world);
    let sinks = format!("{}{}", app_sink(&api, "one", ""), app_sink(&api, "two", ""));
    let daemon = Daemon::start(&world, &format!("{sinks}[poll]\ninterval = \"200ms\"\n")).await;
    let requests = world.sim.request_count();
    assert!(
        eventually(Duration::from_secs(5), || async {
            world.sim.request_count() > requests
        })
        .await
    );
    for id in &ids[..2] {
        world.sim.touch(&org, id);
    }
    let all = || async { api.calls("chat.postMessage").len() >= 4 };
    assert!(eventually(Duration::from_secs(10), all).await);
    daemon.stop().await;
    let posts = api.calls("chat.postMessage");
    assert_eq!(
        posts.len(),
        4,
        "two conversations, two sinks, both workers at once"
    );
    for pair in posts.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(900), "posts {gap:?} apart");
    }
}

/// Every conversation of org 0 read and in the inbox (before a daemon baselines them).
fn all_read_in_inbox(world: &World) -> Vec<String> {
    let org = world.org(0);
    let ids = world.conversation_ids(&org);
    for id in &ids {
        world.sim.set_field(&org, id, "is_read", json!(true));
        world.sim.set_field(&org, id, "folder", json!("inbox"));
    }
    ids
}

#[tokio::test]
async fn reminders_edit_the_message_and_reply_in_its_thread() {
    let world = World::start(1, 4).await;
    let api = SlackApi::start().await;
    let reminder = "[[reminders]]\nname = \"unread-inbox\"\n\
        when = { folder = [\"inbox\"], is_read = false }\nsteps = [{ after = \"1s\", sinks = [\"live\"] }]\n";
    let app = world.app(&format!("{}{reminder}", app_sink(&api, "live", "")));
    let id = quiet_inbox(&world, &app).await[2].clone();
    world.sim.touch(&world.org(0), &id);
    step(&app).await;
    let ts = api.message_of(&id).unwrap().ts;
    assert!(
        step_until(&app, || !api.replies(&ts).is_empty()).await,
        "no reminder reply"
    );
    let message = api.message_of(&id).unwrap();
    assert_eq!(
        message.ts, ts,
        "the reminder edits the message, it does not post another"
    );
    assert!(
        message
            .status()
            .contains("still unread after 1s (step 1 of 1)"),
        "{}",
        message.status()
    );
    assert!(
        api.replies(&ts)[0].text.contains("Still unread"),
        "{}",
        api.replies(&ts)[0].text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_between_slacks_answer_and_its_record_leaves_one_message() {
    let world = World::start(1, 4).await;
    let api = SlackApi::start().await;
    let port = free_port();
    let extra = format!(
        "{}[poll]\ninterval = \"200ms\"\n[server]\nlisten = \"127.0.0.1:{port}\"\n",
        app_sink(&api, "live", "")
    );
    let config = world.write_config(&extra);
    let org = world.org(0);
    let ids = all_read_in_inbox(&world);
    let daemon = DaemonProcess::start(&config, port).await;
    let requests = world.sim.request_count();
    assert!(
        eventually(Duration::from_secs(5), || async {
            world.sim.request_count() > requests
        })
        .await
    );
    // Slack makes the message but its answer never arrives: the daemon dies waiting for it.
    api.script("chat.postMessage", [Answer::Hang]);
    world.sim.touch(&org, &ids[0]);
    assert!(
        eventually(Duration::from_secs(5), || async {
            api.message_of(&ids[0]).is_some()
        })
        .await
    );
    drop(daemon); // SIGKILL

    let _daemon = DaemonProcess::start(&config, port).await;
    let edited = || async { api.message_of(&ids[0]).is_some_and(|m| m.edits >= 1) };
    assert!(
        eventually(Duration::from_secs(10), edited).await,
        "the message was not found again"
    );
    assert!(!api.calls("conversations.history").is_empty());
    world.sim.set_field(&org, &ids[0], "is_read", json!(true));
    let handled = || async {
        api.message_of(&ids[0])
            .is_some_and(|m| m.status().contains("Handled"))
    };
    assert!(eventually(Duration::from_secs(10), handled).await);
    assert_eq!(
        api.top_level().len(),
        1,
        "one message for the conversation, crash or not"
    );
}

#[tokio::test]
async fn the_bot_token_appears_in_no_log_line_at_debug_level() {
    let world = World::start(1, 3).await;
    let api = SlackApi::start().await;
    let org = world.org(0);
    for id in all_read_in_inbox(&world) {
        world.sim.set_field(&org, &id, "is_read", json!(false));
    }
    let config = world.write_config(&format!(
        "{}[poll]\ninitial = \"notify\"\n",
        app_sink(&api, "live", "")
    ));
    let shown = config.clone();
    let run = move || {
        crate::support::binary()
            .env("RUST_LOG", "trace")
            .arg("--config")
            .arg(&config)
            .args(["run", "--once"])
            .output()
            .unwrap()
    };
    let out = tokio::task::spawn_blocking(run).await.unwrap();
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        logs.contains("chat.postMessage"),
        "the deliveries were logged: {logs}"
    );
    assert!(
        !logs.contains(BOT_TOKEN) && !logs.contains("FakeBotToken"),
        "the token leaked"
    );
    let checked = tokio::task::spawn_blocking(move || run_binary(&["check"], Some(&shown), &[]));
    let checked = checked.await.unwrap();
    let stdout = String::from_utf8_lossy(&checked.stdout);
    assert!(
        stdout.contains("C0123ABCD") && stdout.contains("bot_token"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("FakeBotToken"),
        "check shows the token: {stdout}"
    );
}

#[tokio::test]
async fn check_names_the_key_of_every_slack_app_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let base = "[api]\napi_key = \"k\"\n[store]\npath = \"STORE\"\n[[orgs]]\nid = \"o\"\n[[sinks]]\nname = \"s\"\ntype = \"slack\"\n";
    let token = "bot_token = \"xoxb-SECRET\"\n";
    let cases = [
        (format!("{base}url = \"https://hooks.slack.com/services/SECRET\"\n{token}channel = \"C0123ABCD\"\n"), "sinks[0].bot_token"),
        (format!("{base}{token}"), "sinks[0].channel"),
        (format!("{base}{token}channel = \"#support\"\n"), "sinks[0].channel"),
        (format!("{base}bot_token = \"SECRET\"\nchannel = \"C0123ABCD\"\n"), "sinks[0].bot_token"),
        (format!("{base}url = \"https://hooks.slack.com/services/SECRET\"\nchannel = \"C0123ABCD\"\n"), "sinks[0].channel"),
        (format!("{base}{token}channel = \"C0123ABCD\"\napi_url = \"ftp://x\"\n"), "sinks[0].api_url"),
        (format!("{base}{token}channel = \"C0123ABCD\"\nkeep_messages = \"1s\"\n"), "sinks[0].keep_messages"),
        (format!("{base}bot_token_file = \"/nonexistent/token\"\nchannel = \"C0123ABCD\"\n"), "sinks[0].bot_token_file"),
    ];
    assert_check_refuses(dir.path(), &cases);
}
