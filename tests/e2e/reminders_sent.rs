//! Reminders sent: a conversation left unread gets its steps in order, each once, to the step's
//! sinks only; reading it before a step cancels the step; first sight sends no overdue step.
//! Steps of one or two seconds, polled by hand.

use crate::support::{Receiver, World};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A `pager` sink that change events never reach (its filter takes removals only), and a
/// reminder over unread inbox conversations with steps `first` → hook, `second` → hook + pager.
fn reminder_config(pager: &Receiver, first: &str, second: &str) -> String {
    format!(
        "[[sinks]]\nname = \"pager\"\ntype = \"webhook\"\nurl = \"{}\"\n\
         [sinks.filter]\nevents = [\"conversation.removed\"]\n\
         [[reminders]]\nname = \"unread-inbox\"\nwhen = {{ folder = [\"inbox\"], is_read = false }}\n\
         steps = [{{ after = \"{first}\", sinks = [\"hook\"] }}, {{ after = \"{second}\", sinks = [\"hook\", \"pager\"] }}]\n",
        pager.url
    )
}

/// Every conversation of org 0 read, so that only the one a test picks can be in the state.
fn all_read(world: &World) -> Vec<String> {
    let org = world.org(0);
    let ids = world.conversation_ids(&org);
    for id in &ids {
        world.sim.set_field(&org, id, "is_read", json!(true));
    }
    ids
}

fn unread_in_inbox(world: &World, id: &str, last_activity: chrono::DateTime<chrono::Utc>) {
    let org = world.org(0);
    let stamp = last_activity.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    world.sim.set_field(&org, id, "folder", json!("inbox"));
    world.sim.set_field(&org, id, "is_read", json!(false));
    world
        .sim
        .set_field(&org, id, "last_activity_at", json!(stamp));
}

fn reminders(events: &[Value]) -> Vec<(u64, String)> {
    events
        .iter()
        .filter(|e| e["type"] == "conversation.reminder")
        .map(|e| {
            let step = e["data"]["reminder"]["step"].as_u64().unwrap();
            (
                step,
                e["data"]["conversation"]["conversation_id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

async fn poll_and_deliver(app: &hyperrep_notifier::App) {
    app.poll_once(&CancellationToken::new()).await;
    app.deliver_due().await.unwrap();
}

#[tokio::test]
async fn an_unread_conversation_is_reminded_step_by_step_and_escalated_to_more_sinks() {
    let world = World::start(1, 5).await;
    let pager = Receiver::start().await;
    // `since` has whole seconds: the clock may have started up to 1 s before the activity.
    let app = world.app(&reminder_config(&pager, "1s", "3s"));
    let id = all_read(&world)[2].clone();
    poll_and_deliver(&app).await;
    unread_in_inbox(&world, &id, chrono::Utc::now());
    poll_and_deliver(&app).await;
    assert!(reminders(&world.hook.events()).is_empty(), "not before 1 s");
    let status = hyperrep_notifier::status::collect(&app.store, &app.config).unwrap();
    let clock = &status.reminders[0];
    assert_eq!(
        (clock.name.as_str(), clock.in_state),
        ("unread-inbox", 1),
        "status shows it"
    );
    assert!(clock
        .next_step_due
        .is_some_and(|at| at <= chrono::Utc::now() + chrono::Duration::seconds(2)));

    tokio::time::sleep(Duration::from_millis(1200)).await;
    poll_and_deliver(&app).await;
    assert_eq!(reminders(&world.hook.events()), [(1, id.clone())]);
    assert!(pager.events().is_empty(), "step 1 goes to the hook only");

    tokio::time::sleep(Duration::from_millis(2000)).await;
    poll_and_deliver(&app).await;
    poll_and_deliver(&app).await;
    assert_eq!(
        reminders(&world.hook.events()),
        [(1, id.clone()), (2, id.clone())]
    );
    assert_eq!(
        reminders(&pager.events()),
        [(2, id.clone())],
        "the escalation reaches the pager"
    );
    let step2 = &pager.events()[0];
    assert_eq!(step2["data"]["reminder"]["steps"], 2);
    assert_eq!(step2["data"]["reminder"]["after"], "3s");
    assert_eq!(step2["data"]["changes"], json!([]));
    let hook_step2 = world
        .hook
        .events()
        .into_iter()
        .rfind(|e| e["type"] == "conversation.reminder")
        .unwrap();
    assert_eq!(
        hook_step2["id"], step2["id"],
        "one event, one id, for both sinks"
    );
}

#[tokio::test]
async fn reading_the_conversation_before_a_step_cancels_it() {
    let world = World::start(1, 5).await;
    let pager = Receiver::start().await;
    let app = world.app(&reminder_config(&pager, "1s", "2s"));
    let id = all_read(&world)[1].clone();
    poll_and_deliver(&app).await;
    unread_in_inbox(&world, &id, chrono::Utc::now());
    poll_and_deliver(&app).await;
    world
        .sim
        .set_field(&world.org(0), &id, "is_read", json!(true));
    poll_and_deliver(&app).await;

    tokio::time::sleep(Duration::from_millis(2300)).await;
    poll_and_deliver(&app).await;

    assert!(
        reminders(&world.hook.events()).is_empty(),
        "read in time: no reminder"
    );
    assert!(pager.events().is_empty());
}

#[tokio::test]
async fn first_sight_sends_no_overdue_step_but_the_later_ones() {
    let world = World::start(1, 5).await;
    let pager = Receiver::start().await;
    let app = world.app(&reminder_config(&pager, "1s", "4s"));
    let id = all_read(&world)[0].clone();
    // Unread for 2 s already when the notifier first sees the org: step 1 is overdue.
    unread_in_inbox(
        &world,
        &id,
        chrono::Utc::now() - chrono::Duration::seconds(2),
    );
    poll_and_deliver(&app).await;
    assert!(
        world.hook.events().is_empty(),
        "a baseline sends nothing, not even a reminder"
    );

    tokio::time::sleep(Duration::from_millis(2600)).await;
    poll_and_deliver(&app).await;

    assert_eq!(
        reminders(&world.hook.events()),
        [(2, id.clone())],
        "step 2 only"
    );
    assert_eq!(reminders(&pager.events()), [(2, id)]);
}

#[tokio::test]
async fn with_a_clock_only_the_time_inside_its_windows_counts() {
    let world = World::start(1, 5).await;
    let pager = Receiver::start().await;
    // Support hours six hours from now: closed for the whole test.
    let hour = chrono::Timelike::hour(&(chrono::Utc::now() + chrono::Duration::hours(6)));
    let config = reminder_config(&pager, "1s", "3s").replace(
        "[[reminders]]\n",
        &format!("[[schedules]]\nname = \"later\"\nhours = [\"{hour:02}:00-{hour:02}:30\"]\n[[reminders]]\nclock = \"later\"\n"),
    );
    let app = world.app(&config);
    let id = all_read(&world)[3].clone();
    poll_and_deliver(&app).await;
    unread_in_inbox(&world, &id, chrono::Utc::now());
    poll_and_deliver(&app).await;

    tokio::time::sleep(Duration::from_millis(1500)).await;
    poll_and_deliver(&app).await;
    poll_and_deliver(&app).await;

    assert!(
        reminders(&world.hook.events()).is_empty(),
        "closed hours do not count"
    );
    let status = hyperrep_notifier::status::collect(&app.store, &app.config).unwrap();
    assert_eq!(status.reminders[0].in_state, 1, "the clock still runs");
}
