//! Removals: announced only after two complete listings without the conversation, never from a
//! listing that cannot judge them, and at the cost of the stored ids, not every stored snapshot.

use crate::support::World;
use crate::upstream_faults::{
    assert_exactly_the_two_changes, world_with_changes_on_first_and_last_page,
};
use hyperrep_notifier::simulator::{Fault, FaultRule};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const REMOVALS: &str = "[poll]\ndetect_removed = true\n";

#[tokio::test]
async fn judging_removals_reads_one_snapshot_per_removal_not_one_per_stored_conversation() {
    let world = World::start(1, 300).await;
    let app = world.app("[poll]\ndetect_removed = true\n");
    let cancel = CancellationToken::new();
    app.poll_once(&cancel).await;
    app.poll_once(&cancel).await; // fingerprints learned: unchanged pages read nothing
    let org = world.org(0);
    let gone = world.conversation_ids(&org)[7].clone();
    world.sim.remove_conversation(&org, &gone);
    app.poll_once(&cancel).await; // missing once: remembered, nothing read
    let before = app.store.stats().reads;

    let report = app.poll_once(&cancel).await;

    assert_eq!(
        report[0].events, 1,
        "the second listing without it confirms the removal"
    );
    let reads = app.store.stats().reads - before;
    assert!(
        reads <= 2,
        "{reads} store reads for 299 stored conversations and one removal"
    );
    app.deliver_due().await.unwrap();
    let removed = &world.hook.events()[0];
    assert_eq!(removed["type"], "conversation.removed");
    assert_eq!(
        removed["data"]["conversation"]["conversation_id"],
        gone.as_str()
    );
}

#[tokio::test]
async fn a_conversation_gone_from_two_complete_listings_is_announced_as_removed_once() {
    let world = World::start(1, 12).await;
    let app = world.app(REMOVALS);
    let cancel = CancellationToken::new();
    app.poll_once(&cancel).await;
    let org = world.org(0);
    let gone = world.sim.conversations(&org)[4]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    world.sim.remove_conversation(&org, &gone);
    assert_eq!(
        app.poll_once(&cancel).await[0].events,
        0,
        "one listing without it is not proof"
    );
    assert_eq!(
        app.poll_once(&cancel).await[0].events,
        1,
        "the second confirms it"
    );
    assert_eq!(app.poll_once(&cancel).await[0].events, 0, "announced once");
    app.deliver_due().await.unwrap();
    let events = world.hook.events();
    assert_eq!(events[0]["type"], "conversation.removed");
    assert_eq!(
        events[0]["data"]["conversation"]["conversation_id"],
        gone.as_str()
    );
}

#[tokio::test]
async fn an_empty_page_in_the_middle_is_not_taken_for_removals() {
    let (world, app, ids) = world_with_changes_on_first_and_last_page().await;
    world.sim.inject(FaultRule {
        org: None,
        page: Some(1),
        times: 1,
        fault: Fault::EmptyPage,
    });
    let glitch = app.poll_once(&CancellationToken::new()).await;
    assert!(
        glitch[0].complete,
        "with the pagination intact, the listing looks complete"
    );
    assert_eq!(glitch[0].events, 2, "only the two real changes: {glitch:?}");
    let next = app.poll_once(&CancellationToken::new()).await;
    assert_eq!(
        next[0].events, 0,
        "the page is back: nothing was removed: {next:?}"
    );
    app.deliver_due().await.unwrap();
    assert_exactly_the_two_changes(&world.hook.events(), &ids);
}

#[tokio::test]
async fn a_complete_but_empty_listing_is_not_taken_as_every_conversation_removed() {
    let world = World::start(1, 12).await;
    let app = world.app(REMOVALS);
    app.poll_once(&CancellationToken::new()).await;
    let org = world.org(0);
    let all: Vec<String> = world
        .sim
        .conversations(&org)
        .iter()
        .map(|c| c["conversation_id"].as_str().unwrap().to_string())
        .collect();
    all.iter()
        .for_each(|id| world.sim.remove_conversation(&org, id));
    let report = app.poll_once(&CancellationToken::new()).await;
    assert!(report[0].complete);
    assert_eq!(report[0].events, 0, "no mass removal from an empty listing");
}

#[tokio::test]
async fn records_without_an_id_are_skipped_and_suspend_removals_for_that_listing() {
    let (world, app, ids) = world_with_changes_on_first_and_last_page().await;
    let org = world.org(0);
    world.sim.insert_raw(
        &org,
        json!({"start_at": "2026-04-29T14:00:00Z", "folder": "inbox"}),
    );
    world
        .sim
        .insert_raw(&org, json!({"conversation_id": ids[5], "is_read": "maybe"}));
    world.sim.remove_conversation(&org, &ids[7]);
    let report = app.poll_once(&CancellationToken::new()).await;
    assert!(report[0].complete, "{report:?}");
    assert_eq!(report[0].skipped, 2);
    assert_eq!(
        report[0].events, 2,
        "the two real changes, and no removal while an id was unreadable"
    );
    app.deliver_due().await.unwrap();
    assert_exactly_the_two_changes(&world.hook.events(), &ids);
}
