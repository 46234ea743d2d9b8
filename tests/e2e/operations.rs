//! What an operator meets: the HTTP endpoints and admin token, metrics that move, readiness.

use crate::support::{metric, Daemon, Reply, World};
use hyperrep_notifier::simulator::{Fault, FaultRule};
use serde_json::Value;

const TOKEN: &str = "admin-token-0123456789";

fn admin(extra: &str) -> String {
    format!("[server]\nadmin_token = \"{TOKEN}\"\n[poll]\ninterval = \"1h\"\n{extra}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_status_and_metrics_answer_as_events_flow() {
    let world = World::start(2, 5).await;
    let (org0, org1) = (world.org(0), world.org(1));
    world.sim.inject(FaultRule {
        org: Some(org1.clone()),
        page: None,
        times: usize::MAX,
        fault: Fault::Status(401),
    });
    let app = Daemon::start(&world, &admin("")).await;

    assert_eq!(app.get("/healthz", None).await.0, 200);
    // Each org on its own schedule: wait for both, the failing one and the one that completes.
    let failed = format!("hyperrep_notifier_polls_total{{org=\"{org1}\",outcome=\"incomplete\"}}");
    let listed = format!("hyperrep_notifier_polls_total{{org=\"{org0}\",outcome=\"complete\"}}");
    app.metrics_until(|t| metric(t, &failed) >= 1.0 && metric(t, &listed) >= 1.0)
        .await;
    let (code, body) = app.get("/readyz", None).await;
    assert_eq!(code, 503, "{body}");
    assert!(
        body.contains(&org1) && !body.contains(&format!("org {org0}")),
        "the reason names the org: {body}"
    );

    world.sim.clear_faults();
    world.sim.create_conversation(&org0);
    assert_eq!(app.post("/admin/poll", Some(TOKEN)).await.0, 202);
    let delivered = "hyperrep_notifier_deliveries_total{sink=\"hook\",outcome=\"delivered\"}";
    let text = app.metrics_until(|t| metric(t, delivered) >= 1.0).await;
    assert_eq!(metric(&text, delivered), 1.0, "{text}");
    assert_eq!(
        metric(
            &text,
            "hyperrep_notifier_events_total{type=\"conversation.created\"}"
        ),
        1.0
    );
    assert!(
        metric(
            &text,
            &format!("hyperrep_notifier_last_successful_poll_timestamp_seconds{{org=\"{org1}\"}}")
        ) > 1.7e9
    );
    assert!(
        metric(
            &text,
            "hyperrep_notifier_api_requests_total{status=\"401\"}"
        ) >= 1.0
    );
    assert!(
        metric(
            &text,
            "hyperrep_notifier_api_requests_total{status=\"200\"}"
        ) >= 3.0
    );
    assert!(
        text.contains("hyperrep_notifier_delivery_latency_seconds_count{sink=\"hook\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("hyperrep_notifier_outbox_depth{sink=\"hook\"} 0"),
        "{text}"
    );
    assert_eq!(app.get("/readyz", None).await.0, 200);

    let (code, body) = app.get("/status", None).await;
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(code, 200);
    assert_eq!(status["orgs"][0]["conversations"], 6);
    assert_eq!(status["sinks"][0]["name"], "hook");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_endpoints_need_the_right_token_and_are_off_without_one() {
    let world = World::start(1, 2).await;
    let app = Daemon::start(&world, &admin("")).await;
    for (token, expected) in [
        (None, 401),
        (Some("wrong-token-0123456789"), 401),
        (Some(TOKEN), 200),
    ] {
        assert_eq!(
            app.get("/admin/dead-letters", token).await.0,
            expected,
            "{token:?}"
        );
    }
    let response = app
        .http
        .post(format!("{}/admin/poll", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    app.stop().await;

    let world = World::start(1, 2).await;
    let off = Daemon::start(&world, "[poll]\ninterval = \"1h\"\n").await;
    let (code, body) = off.get("/admin/dead-letters", Some(TOKEN)).await;
    assert_eq!(code, 403);
    assert!(body.contains("admin endpoints are off"), "{body}");
    off.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_can_be_listed_and_retried_over_http() {
    let world = World::start(1, 3).await;
    world.hook.answer_always(Reply::Status(400));
    let app = Daemon::start(&world, &admin("")).await;
    // The series exists at 0 from the start: wait for its value, not its name.
    let polled = format!(
        "hyperrep_notifier_polls_total{{org=\"{}\",outcome=\"complete\"}}",
        world.org(0)
    );
    app.metrics_until(|t| metric(t, &polled) >= 1.0).await;
    world.sim.create_conversation(&world.org(0));
    app.post("/admin/poll", Some(TOKEN)).await;
    let dead = "hyperrep_notifier_deliveries_total{sink=\"hook\",outcome=\"dead_lettered\"}";
    // The counter moves at the attempt, the gauge once the attempt is recorded (see "Recording
    // deliveries"): wait for both.
    let gauge = "hyperrep_notifier_dead_letters{sink=\"hook\"}";
    let text = app
        .metrics_until(|t| metric(t, dead) >= 1.0 && metric(t, gauge) >= 1.0)
        .await;
    assert!(
        text.contains("hyperrep_notifier_dead_letters{sink=\"hook\"} 1"),
        "{text}"
    );

    let (_, body) = app.get("/admin/dead-letters", Some(TOKEN)).await;
    let letters: Value = serde_json::from_str(&body).unwrap();
    let id = letters[0]["id"].as_u64().unwrap();
    world.hook.answer_always(Reply::Status(200));
    assert_eq!(
        app.post(&format!("/admin/dead-letters/{id}/retry"), Some(TOKEN))
            .await
            .0,
        200
    );
    assert_eq!(
        app.post("/admin/dead-letters/999999/retry", Some(TOKEN))
            .await
            .0,
        404
    );
    let delivered = "hyperrep_notifier_deliveries_total{sink=\"hook\",outcome=\"delivered\"}";
    app.metrics_until(|t| metric(t, delivered) >= 1.0).await;
    assert_eq!(
        world.hook.received().len(),
        2,
        "refused once, delivered after the retry"
    );
    assert_eq!(app.get("/admin/dead-letters", Some(TOKEN)).await.1, "[]");
    app.stop().await;
}
