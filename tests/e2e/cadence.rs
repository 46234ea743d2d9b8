//! Each org on its own schedule: a slow org delays nobody, a failing org backs off and comes back.

use crate::support::{metric, Daemon, World};
use hyperrep_notifier::simulator::{Fault, FaultRule};
use std::time::{Duration, Instant};

fn polls(org: &str, outcome: &str) -> String {
    format!("hyperrep_notifier_polls_total{{org=\"{org}\",outcome=\"{outcome}\"}}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_org_does_not_delay_another_orgs_alert() {
    let world = World::start(2, 5).await;
    let (slow, quick) = (world.org(0), world.org(1));
    world
        .sim
        .inject(FaultRule::always(Fault::Delay(Duration::from_secs(8))).for_org(&slow));
    let daemon = Daemon::start(&world, "[poll]\ninterval = \"200ms\"\n").await;
    let baselined = polls(&quick, "complete");
    daemon.metrics_until(|t| metric(t, &baselined) >= 1.0).await;

    let id = world.conversation_ids(&quick)[0].clone();
    world.sim.touch(&quick, &id);
    let touched = Instant::now();
    let got = world.hook.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(
        got.len(),
        1,
        "the quick org's change arrives while the slow org still lists"
    );
    assert_eq!(got[0].json()["data"]["conversation"]["conversation_id"], id);
    assert!(
        touched.elapsed() < Duration::from_secs(6),
        "it did not wait for the slow org"
    );
    let (_, text) = daemon.get("/metrics", None).await;
    assert_eq!(
        metric(&text, &polls(&slow, "complete")),
        0.0,
        "the slow listing is still in flight"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_org_backs_off_then_returns_to_its_rhythm_after_one_success() {
    let world = World::start(1, 5).await;
    world.sim.inject(FaultRule::always(Fault::Status(401)));
    let extra = "[poll]\ninterval = \"100ms\"\nmax_failure_delay = \"800ms\"\n";
    let daemon = Daemon::start(&world, extra).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let failing = world.sim.request_count();
    // Polls at 0, 0.2, 0.6, 1.4 s: four or so; every 100 ms would be twenty.
    assert!(
        (2..=8).contains(&failing),
        "{failing} requests in 2 s while failing"
    );

    world.sim.clear_faults();
    let complete = polls(&world.org(0), "complete");
    daemon.metrics_until(|t| metric(t, &complete) >= 1.0).await;
    let recovered = world.sim.request_count();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let since = world.sim.request_count() - recovered;
    // Every 100 ms: about twelve; still backing off (800 ms): one or two.
    assert!(since >= 5, "{since} polls in 1.2 s after the first success");
    daemon.stop().await;
}
