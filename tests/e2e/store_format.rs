//! Stores an older build left (formats 2 and 3): moved to format 4 (snapshots tokenized, in
//! their own tree) at the first open, and from there to format 5 (which adds the packed
//! levels: a format-4 store is a format-5 one without packs), and everything they knew is
//! still known.

use crate::support::{once, open_sled, World};

/// What a build of format 3 kept for a conversation: org number (u32 BE) + id → revision
/// (LEB128, here below 128), where the id was cut out (plus one), the text less its id.
fn format_3(number: u32, id: &str, revision: u8, json: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let key = [&number.to_be_bytes()[..], id.as_bytes()].concat();
    let quoted = format!("\"{id}\"");
    let at = json
        .windows(quoted.len())
        .position(|w| w == quoted.as_bytes())
        .expect("the id between quotes")
        + 1;
    assert!(at + 1 < 0x80, "one byte");
    let mut value = vec![revision, at as u8 + 1];
    value.extend_from_slice(&json[..at]);
    value.extend_from_slice(&json[at + id.len()..]);
    (key, value)
}

/// Writes what a build of `format` left after a baseline of the world's org (each record's key
/// and value as `stored` makes them from its id and JSON), then runs `run --once` twice: the
/// first finds nothing new, the second finds the one conversation touched in between as
/// updated, not created.
async fn an_old_store_is_still_known(
    world: &World,
    format: &str,
    before: impl FnOnce(&sled::Db),
    stored: impl Fn(&str, &[u8]) -> (Vec<u8>, Vec<u8>),
) {
    let org = world.org(0);
    {
        // One handle for everything written: sled's file lock goes only when its background
        // threads let go of a dropped handle, so an open right after a drop can be refused.
        let db = open_sled(&world.store_path());
        before(&db);
        db.insert("format_version", format).unwrap();
        let conversations = db.open_tree("conversations").unwrap();
        for record in world.sim.conversations(&org) {
            let id = record["conversation_id"].as_str().unwrap();
            let (key, value) = stored(id, &serde_json::to_vec(&record).unwrap());
            conversations.insert(key, value).unwrap();
        }
        let state = serde_json::json!({"baseline_done": true, "last_complete_at": null,
            "last_poll_at": null, "last_error": null});
        db.open_tree("orgs")
            .unwrap()
            .insert(org.as_bytes(), state.to_string().as_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let toml = world.toml("");
    let report = once(&toml).await;
    assert!(report.success(), "{report:?}");
    assert_eq!(
        report.orgs[0].events, 0,
        "nothing new: every snapshot was moved"
    );
    let touched = world.conversation_ids(&org).remove(3);
    world.sim.touch(&org, &touched);
    let report = once(&toml).await;
    assert_eq!(report.orgs[0].events, 1);
    let events = world.hook.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "conversation.updated", "known, not new");
    assert_eq!(
        events[0]["data"]["conversation"]["conversation_id"],
        touched.as_str()
    );
    let db = open_sled(&world.store_path());
    assert_eq!(
        db.get("format_version").unwrap().as_deref(),
        Some(&b"5"[..])
    );
}

#[tokio::test]
async fn a_store_of_format_3_is_moved_to_the_current_format_and_its_conversations_are_still_known()
{
    let world = World::start(1, 5).await;
    let org = world.org(0);
    let number = |db: &sled::Db| {
        let numbers = db.open_tree("org_ids").unwrap();
        numbers.insert(org.as_bytes(), &1u32.to_be_bytes()).unwrap();
    };
    an_old_store_is_still_known(&world, "3", number, |id, json| format_3(1, id, 2, json)).await;
}

#[tokio::test]
async fn a_store_of_format_2_is_moved_to_the_current_format_and_its_conversations_are_still_known()
{
    let world = World::start(1, 5).await;
    let org = world.org(0);
    // Format 2: `org \0 id` → revision (u64 BE) + JSON.
    an_old_store_is_still_known(
        &world,
        "2",
        |_| {},
        |id, json| {
            let key = [org.as_bytes(), b"\0", id.as_bytes()].concat();
            (key, [&2u64.to_be_bytes()[..], json].concat())
        },
    )
    .await;
}
