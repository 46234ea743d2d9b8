//! The daemon in-process, as `run_on` wires it (endpoints, poll loop, workers), on the bench
//! thread, with a handle on its store; and a `/metrics` scraper on the `sim` thread.

use crate::Bench;
use hyperrep_notifier::store::Store;
use hyperrep_notifier::App;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Scrapes made before the measured ones, so that connecting is not measured.
const WARMUP: usize = 5;

/// A running daemon. Start it inside `bench.rt.block_on`: it runs while that thread awaits.
pub struct Daemon {
    /// Its store (clones share the queue counters).
    pub store: Store,
    pub metrics_url: String,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Daemon {
    pub async fn start(app: App) -> Daemon {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_url = format!("http://{}/metrics", listener.local_addr().unwrap());
        let (store, stop) = (app.store.clone(), CancellationToken::new());
        let serve = hyperrep_notifier::server::serve(listener, app.server_state(), stop.clone());
        let server = tokio::spawn(serve);
        let task = tokio::spawn(hyperrep_notifier::supervise(app, server, stop.clone()));
        Daemon {
            store,
            metrics_url,
            stop,
            task,
        }
    }

    /// Stops it as a signal would, and checks that it stopped cleanly.
    pub async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap().unwrap();
    }
}

/// Waits until `done`, letting the daemon run; panics after `limit`.
pub async fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// `count` timed `GET`s of `url` one after the other from the `sim` thread (so the client's
/// work is not the notifier's), each bounded by 5 s; and the last body.
pub async fn scrape(bench: &Bench, url: &str, count: usize) -> (Vec<Duration>, String) {
    let url = url.to_string();
    let scraper = bench.sim_rt.spawn(async move {
        let client = reqwest::Client::new();
        let (mut times, mut body) = (Vec::with_capacity(count), String::new());
        for i in 0..WARMUP + count {
            let started = Instant::now();
            let request = client.get(&url).timeout(Duration::from_secs(5));
            let response = request.send().await.unwrap();
            assert!(response.status().is_success(), "{}", response.status());
            body = response.text().await.unwrap();
            if i >= WARMUP {
                times.push(started.elapsed());
            }
        }
        (times, body)
    });
    scraper.await.unwrap()
}
