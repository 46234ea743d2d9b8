//! Slack app mode against a fake of the Slack Web API: one message per conversation, edited as
//! the conversation changes until it reads as handled, with new activity and reminders replied
//! in its thread.

use crate::support::slack_api::{Answer, SlackApi, BOT_TOKEN};
use crate::support::{eventually, run_binary, World};
use hyperrep_notifier::App;
use serde_json::json;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A Slack app sink `live` on `api` that takes unread inbox conversations, plus `extra`.
pub fn app_sink(api: &SlackApi, name: &str, extra: &str) -> String {
    format!(
        "[[sinks]]\nname = \"{name}\"\ntype = \"slack\"\nbot_token = \"{BOT_TOKEN}\"\n\
         channel = \"C0123ABCD\"\napi_url = \"{}\"\n{extra}\
         [sinks.filter]\nfolder = [\"inbox\"]\nis_read = false\n",
        api.url
    )
}

/// Every conversation of org 0 read and in the inbox, baselined by `app`; their ids.
pub async fn quiet_inbox(world: &World, app: &App) -> Vec<String> {
    let org = world.org(0);
    let ids = world.conversation_ids(&org);
    for id in &ids {
        world.sim.set_field(&org, id, "is_read", json!(true));
        world.sim.set_field(&org, id, "folder", json!("inbox"));
    }
    step(app).await;
    ids
}

/// A world of one org with four conversations, an app sink `live` (with `extra`) on a fresh
/// fake, the baseline taken, and new activity on one conversation posted: its id.
async fn alerted(extra: &str) -> (World, SlackApi, App, String) {
    let world = World::start(1, 4).await;
    let api = SlackApi::start().await;
    let app = world.app(&app_sink(&api, "live", extra));
    let id = quiet_inbox(&world, &app).await[0].clone();
    world.sim.touch(&world.org(0), &id);
    step(&app).await;
    (world, api, app, id)
}

/// One poll, then every due delivery.
pub async fn step(app: &App) {
    app.poll_once(&CancellationToken::new()).await;
    app.deliver_due().await.unwrap();
}

/// Steps until `condition` holds (retries are due a little later); whether it did.
pub async fn step_until(app: &App, condition: impl Fn() -> bool) -> bool {
    eventually(Duration::from_secs(10), || async {
        step(app).await;
        condition()
    })
    .await
}

#[tokio::test]
async fn a_conversation_gets_one_message_that_is_edited_until_it_reads_as_handled() {
    let world = World::start(1, 5).await;
    let api = SlackApi::start().await;
    let app = world.app(&app_sink(&api, "live", ""));
    let id = quiet_inbox(&world, &app).await[1].clone();
    world.sim.touch(&world.org(0), &id);
    step(&app).await;
    let posted = api
        .message_of(&id)
        .expect("a message for the unread conversation");
    assert!(
        posted.status().starts_with("🔴 *Waiting*"),
        "{}",
        posted.status()
    );

    world
        .sim
        .set_field(&world.org(0), &id, "is_read", json!(true));
    step(&app).await;
    assert_eq!(
        api.top_level().len(),
        1,
        "the read change edits, it does not post"
    );
    let edited = api.message_of(&id).unwrap();
    assert_eq!((edited.ts.as_str(), edited.edits), (posted.ts.as_str(), 1));
    assert!(
        edited.status().starts_with("✅ *Handled*: read"),
        "{}",
        edited.status()
    );
    assert!(edited.text.starts_with("Handled:"), "{}", edited.text);
    let update = &api.calls("chat.update")[0];
    assert_eq!(
        update.body["metadata"]["event_payload"]["conversation_id"],
        id.as_str()
    );
}

#[tokio::test]
async fn new_activity_is_replied_in_the_thread_and_a_read_change_only_edits() {
    let (world, api, app, id) = alerted("").await;
    world.sim.touch(&world.org(0), &id);
    step(&app).await;
    let ts = api.message_of(&id).unwrap().ts;
    assert_eq!(
        api.replies(&ts).len(),
        1,
        "new activity replies in the thread"
    );
    world
        .sim
        .set_field(&world.org(0), &id, "is_read", json!(true));
    step(&app).await;
    assert_eq!(api.replies(&ts).len(), 1, "reading it adds no reply");
    assert_eq!(api.message_of(&id).unwrap().edits, 2);
    assert_eq!(api.top_level().len(), 1);
}

#[tokio::test]
async fn without_thread_replies_new_activity_only_edits_the_message() {
    let (world, api, app, id) = alerted("thread_replies = false\n").await;
    world.sim.touch(&world.org(0), &id);
    step(&app).await;
    let message = api.message_of(&id).unwrap();
    assert_eq!((message.edits, api.replies(&message.ts).len()), (1, 0));
}

#[tokio::test]
async fn a_message_slack_will_not_edit_is_replaced_by_a_new_one_that_later_changes_edit() {
    let (world, api, app, id) = alerted("").await;
    let first = api.message_of(&id).unwrap();
    api.script("chat.update", [Answer::Error("edit_window_closed")]);
    world.sim.touch(&world.org(0), &id);
    step(&app).await;
    let second = api.message_of(&id).unwrap();
    assert_ne!(second.ts, first.ts, "a new message was posted");
    world
        .sim
        .set_field(&world.org(0), &id, "is_read", json!(true));
    step(&app).await;
    let top = api.top_level();
    assert_eq!(top.len(), 2);
    assert_eq!(
        (top[0].edits, top[1].edits),
        (0, 1),
        "the new message is the one edited"
    );
    assert!(top[1].status().starts_with("✅ *Handled*"));
}

#[tokio::test]
async fn a_removed_conversation_reads_as_removed_and_its_message_is_forgotten() {
    let world = World::start(1, 4).await;
    let api = SlackApi::start().await;
    let app = world.app(&format!(
        "{}[poll]\ndetect_removed = true\n",
        app_sink(&api, "live", "")
    ));
    let id = quiet_inbox(&world, &app).await[0].clone();
    world.sim.touch(&world.org(0), &id);
    step(&app).await;
    world.sim.remove_conversation(&world.org(0), &id);
    // Two complete listings without it: one could be a glitch.
    step(&app).await;
    step(&app).await;
    let message = api.message_of(&id).unwrap();
    assert!(
        message.status().contains("removed from HyperRep"),
        "{}",
        message.status()
    );
    assert_eq!(app.store.message_count(), 0);
}

#[tokio::test]
async fn a_message_unused_for_keep_messages_is_forgotten_and_the_next_alert_posts_anew() {
    let (world, api, app, id) = alerted("keep_messages = \"1d\"\n").await;
    let tomorrow = chrono::Utc::now() + chrono::Duration::hours(25);
    assert_eq!(app.forget_old_messages(tomorrow).unwrap(), 1);
    world.sim.touch(&world.org(0), &id);
    step(&app).await;
    assert_eq!(api.top_level().len(), 2);
}

#[tokio::test]
async fn test_sink_posts_a_sample_message_and_then_edits_it() {
    let world = World::start(1, 2).await;
    let api = SlackApi::start().await;
    let config = world.write_config(&app_sink(&api, "live", ""));
    let out =
        tokio::task::spawn_blocking(move || run_binary(&["test-sink", "live"], Some(&config), &[]))
            .await
            .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("post: delivered (chat.postMessage ok"),
        "{stdout}"
    );
    assert!(
        stdout.contains("update: delivered (chat.update ok"),
        "{stdout}"
    );
    let top = api.top_level();
    assert_eq!((top.len(), top[0].edits), (1, 1));
    assert!(!stdout.contains(BOT_TOKEN));
}

#[tokio::test]
async fn a_disabled_sink_notice_is_a_message_of_its_own_not_a_conversations() {
    let world = World::start(1, 4).await;
    let api = SlackApi::start().await;
    let text = world.toml(&app_sink(&api, "live", ""));
    let mut config = hyperrep_notifier::load_config_str(&text).unwrap();
    config.delivery.notify_sinks = vec!["live".into()];
    let app = App::build(config).unwrap();
    let id = quiet_inbox(&world, &app).await[0].clone();
    world.hook.answer_always(crate::support::Reply::Status(410));
    world.sim.touch(&world.org(0), &id);
    let noticed = || api.top_level().iter().any(|m| m.text.contains("disabled"));
    assert!(step_until(&app, noticed).await, "no notice in the channel");
    let notice = api
        .top_level()
        .into_iter()
        .find(|m| m.text.contains("disabled"))
        .unwrap();
    assert!(
        notice.metadata.is_null(),
        "a notice belongs to no conversation"
    );
    assert!(
        api.message_of(&id).is_some(),
        "the conversation keeps its own message"
    );
    assert_eq!(app.store.message_count(), 1);
}
