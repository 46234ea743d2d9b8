//! Pages are committed in groups: what that must never cost a user.

use crate::support::World;
use hyperrep_notifier::simulator::{Fault, FaultRule};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_change_found_before_a_slow_page_is_delivered_while_that_page_is_awaited() {
    let world = World::start(1, 20).await;
    let app = world.app("");
    let cancel = CancellationToken::new();
    app.poll_once(&cancel).await;
    let org = world.org(0);
    let first = world.conversation_ids(&org).remove(0);
    world.sim.touch(&org, &first);
    world.sim.inject(FaultRule {
        org: None,
        page: Some(1),
        times: 1,
        fault: Fault::Delay(Duration::from_millis(1500)),
    });
    let stop = CancellationToken::new();
    let workers = app.spawn_workers(&stop).unwrap();
    let poll = app.poll_once(&cancel);
    tokio::pin!(poll);
    let delivered = tokio::select! {
        received = world.hook.wait_for(1, Duration::from_secs(10)) => received,
        reports = &mut poll => panic!("the poll ended before the change was delivered: {reports:?}"),
    };
    assert_eq!(
        delivered.len(),
        1,
        "delivered while page 1 was still awaited"
    );
    assert_eq!(
        delivered[0].json()["data"]["conversation"]["conversation_id"],
        first.as_str()
    );
    let reports = poll.await;
    assert!(reports[0].complete, "{reports:?}");
    assert_eq!(reports[0].events, 1);
    stop.cancel();
    workers.join().await;
}
