//! Each clause of a sink filter excludes on its own: a sink whose filter has only `changes`, or
//! only `is_read`, gets exactly the events that clause lets through.

use crate::support::{once, Receiver, World};
use serde_json::{json, Value};

fn sink(name: &str, url: &str, filter: &str) -> String {
    format!("[[sinks]]\nname = \"{name}\"\ntype = \"webhook\"\nurl = \"{url}\"\n[sinks.filter]\n{filter}\n")
}

fn conversation_ids(events: &[Value]) -> Vec<String> {
    let id = |e: &Value| {
        e["data"]["conversation"]["conversation_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    events.iter().map(id).collect()
}

#[tokio::test]
async fn a_changes_clause_alone_excludes_an_update_of_another_field() {
    let world = World::start(1, 5).await;
    let folders = Receiver::start().await;
    let toml = world.toml(&sink("folders", &folders.url, "changes = [\"folder\"]"));
    let org = world.org(0);
    assert!(once(&toml).await.success(), "the baseline");
    let ids = world.conversation_ids(&org);
    world
        .sim
        .set_field(&org, &ids[0], "folder", json!("archived-for-the-test"));
    world.sim.set_field(
        &org,
        &ids[1],
        "last_activity_at",
        json!("2030-01-01T00:00:00Z"),
    );

    assert!(once(&toml).await.success());

    assert_eq!(
        world.hook.events().len(),
        2,
        "the unfiltered sink gets both updates"
    );
    assert_eq!(
        conversation_ids(&folders.events()),
        [ids[0].clone()],
        "only the folder change"
    );
}

#[tokio::test]
async fn an_is_read_clause_alone_excludes_a_conversation_in_the_other_read_state() {
    let world = World::start(1, 5).await;
    let unread = Receiver::start().await;
    let toml = world.toml(&sink("unread", &unread.url, "is_read = false"));
    let org = world.org(0);
    let ids = world.conversation_ids(&org);
    world.sim.set_field(&org, &ids[0], "is_read", json!(true));
    world.sim.set_field(&org, &ids[1], "is_read", json!(false));
    assert!(once(&toml).await.success(), "the baseline");
    for id in &ids[..2] {
        world
            .sim
            .set_field(&org, id, "last_activity_at", json!("2030-01-01T00:00:00Z"));
    }

    assert!(once(&toml).await.success());

    assert_eq!(
        world.hook.events().len(),
        2,
        "the unfiltered sink gets both updates"
    );
    assert_eq!(
        conversation_ids(&unread.events()),
        [ids[1].clone()],
        "only the unread one"
    );
}
