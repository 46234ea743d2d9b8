//! What removal detection costs: stored ids, not every stored snapshot.

use crate::support::World;
use tokio_util::sync::CancellationToken;

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
