//! Dead letters over the admin endpoints of a running daemon: pages with a `Link` to the next,
//! a filter by sink, re-queueing one sink's, and 400 for a query it cannot read.

use crate::queues::{baseline_then_touch, other_sink};
use crate::support::{run_binary_off_thread as run, Daemon, Receiver, Reply, World};
use serde_json::Value;
use std::time::Duration;

const TOKEN: &str = "admin-token-0123456789";

/// `GET path` with the admin token: status, the `Link` header (if any), the body as JSON.
async fn get(app: &Daemon, path: &str) -> (u16, Option<String>, Value) {
    let response = app
        .http
        .get(format!("{}{path}", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let link = response
        .headers()
        .get("link")
        .map(|v| v.to_str().unwrap().to_string());
    let body = response.text().await.unwrap();
    let json = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (status, link, json)
}

/// The target of `<…>; rel="next"`.
fn next_of(link: &str) -> String {
    assert!(link.contains("rel=\"next\""), "{link}");
    let start = link.find('<').expect("a <target>") + 1;
    link[start..link.find('>').expect("a <target>")].to_string()
}

fn ids_and_sinks(page: &Value) -> Vec<(u64, String)> {
    let letters = page.as_array().expect("a JSON array");
    letters
        .iter()
        .map(|l| {
            (
                l["id"].as_u64().unwrap(),
                l["sink"].as_str().unwrap().into(),
            )
        })
        .collect()
}

/// Follows the `Link`s from `first` (at most 10 pages); every dead letter seen, in order.
async fn every_page(app: &Daemon, first: &str) -> Vec<(u64, String)> {
    let (mut seen, mut path) = (Vec::new(), Some(first.to_string()));
    for _ in 0..10 {
        let Some(current) = path.take() else { break };
        let (code, link, page) = get(app, &current).await;
        assert_eq!(code, 200, "{current}: {page}");
        seen.extend(ids_and_sinks(&page));
        path = link.as_deref().map(next_of);
    }
    assert!(path.is_none(), "more than 10 pages");
    seen
}

/// A daemon with the admin token and sinks `hook` and `other`, each holding 3 dead letters made
/// by an earlier `run --once` of the binary.
async fn daemon_with_dead_letters(world: &World, other: &Receiver) -> Daemon {
    let extra = format!(
        "{}[server]\nadmin_token = \"{TOKEN}\"\n[poll]\ninterval = \"1h\"\n",
        other_sink(other)
    );
    let config = world.write_config(&extra);
    baseline_then_touch(world, &config, 3).await;
    world.hook.answer_always(Reply::Status(400));
    other.answer_always(Reply::Status(400));
    let refused = run(&["run", "--once"], &config).await;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    Daemon::start(world, &extra).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_come_in_linked_pages_filter_by_sink_and_retry_one_sinks_over_http() {
    let world = World::start(1, 3).await;
    let other = Receiver::start().await;
    let app = daemon_with_dead_letters(&world, &other).await;

    let (code, link, page) = get(&app, "/admin/dead-letters?limit=2").await;
    assert_eq!((code, ids_and_sinks(&page).len()), (200, 2), "{page}");
    assert!(link.is_some_and(|l| l.contains("rel=\"next\"")));
    let all = every_page(&app, "/admin/dead-letters?limit=2").await;
    assert_eq!(all.len(), 6, "every dead letter once: {all:?}");
    assert!(
        all.windows(2).all(|w| w[0].0 < w[1].0),
        "in order, no page overlaps the one before: {all:?}"
    );

    let others = every_page(&app, "/admin/dead-letters?sink=other&limit=2").await;
    assert_eq!(others.len(), 3, "{others:?}");
    assert!(others.iter().all(|(_, sink)| sink == "other"), "{others:?}");

    world.hook.answer_always(Reply::Status(200));
    let (code, body) = app
        .post("/admin/dead-letters/retry?sink=hook", Some(TOKEN))
        .await;
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((code, answer["retried"].as_u64()), (200, Some(3)), "{body}");
    let redelivered = world.hook.wait_for(6, Duration::from_secs(15)).await;
    assert_eq!(redelivered.len(), 6, "3 refused, then the same 3 delivered");
    let left = every_page(&app, "/admin/dead-letters").await;
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left.iter().all(|(_, sink)| sink == "other"), "{left:?}");
    assert_eq!(other.received().len(), 3, "other's were not retried");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_query_the_daemon_cannot_read_answers_400() {
    let world = World::start(1, 1).await;
    let admin = format!("[server]\nadmin_token = \"{TOKEN}\"\n[poll]\ninterval = \"1h\"\n");
    let app = Daemon::start(&world, &admin).await;
    for query in ["limit=abc", "after=-1", "limit=2&colour=red"] {
        let (code, _, body) = get(&app, &format!("/admin/dead-letters?{query}")).await;
        assert_eq!(code, 400, "?{query}: {body}");
    }
    let (code, body) = app
        .post("/admin/dead-letters/retry?sink=hook&all=yes", Some(TOKEN))
        .await;
    assert_eq!(code, 400, "{body}");
    let (code, _) = app.get("/admin/dead-letters?limit=abc", None).await;
    assert_eq!(
        code, 401,
        "without the token, nothing about the query is answered"
    );
    app.stop().await;
}
