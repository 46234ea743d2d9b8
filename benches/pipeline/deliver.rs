//! deliver: events per second to a loopback webhook receiver at concurrency 1, 8 and 32 (a
//! backlog of 4,000 events), and latency from detection to success while changes trickle in.

use crate::measure::{percentile, Row};
use crate::{change, Bench, Lcg};
use hyperrep_notifier::App;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const BACKLOG: usize = 4_000;

/// An endpoint that answers 200 at once.
fn receiver(bench: &Bench) -> String {
    bench.sim_rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(|| async { "ok" });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    })
}

pub fn deliver(bench: &Bench) -> Vec<Row> {
    let url = receiver(bench);
    let mut rows = Vec::new();
    for concurrency in [1, 8, 32] {
        let sim = bench.simulator(1, BACKLOG);
        let extra = format!(
            "[poll]\ninitial = \"notify\"\n[delivery]\nconcurrency = {concurrency}\n\
             [[sinks]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{url}\"\nsecret = \"whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD\"\n"
        );
        let app =
            App::build(bench.config(&sim, &format!("deliver-{concurrency}"), &extra)).unwrap();
        let case = format!("concurrency {concurrency}");
        let rate = bench.rt.block_on(backlog(&app));
        let target = if concurrency == 32 {
            Some(2000.0)
        } else {
            None
        };
        let row = Row::new(
            "deliver",
            &case,
            "events/s (signed, backlog of 4000)",
            rate,
            "events/s",
        );
        rows.push(match target {
            Some(t) => row.target(false, t),
            None => row,
        });
        let (p50, p99) = bench.rt.block_on(trickle(&app, &sim));
        rows.push(Row::new(
            "deliver",
            &case,
            "latency p50, detection to success",
            p50 * 1000.0,
            "ms",
        ));
        rows.push(
            Row::new(
                "deliver",
                &case,
                "latency p99, detection to success",
                p99 * 1000.0,
                "ms",
            )
            .target(true, 50.0),
        );
    }
    rows
}

/// Queues the backlog (one poll, `initial = notify`), then times the workers draining it.
async fn backlog(app: &App) -> f64 {
    let cancel = CancellationToken::new();
    app.poll_once(&cancel).await;
    assert_eq!(app.pending(), BACKLOG);
    let stop = CancellationToken::new();
    let started = Instant::now();
    let workers = app.spawn_workers(&stop).unwrap();
    while app.pending() > 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let rate = BACKLOG as f64 / started.elapsed().as_secs_f64();
    stop.cancel();
    workers.join().await;
    rate
}

/// 40 polls, each finding 25 changes, while the workers deliver: exact latencies.
async fn trickle(app: &App, sim: &hyperrep_notifier::simulator::Simulator) -> (f64, f64) {
    let (cancel, stop, mut rng) = (CancellationToken::new(), CancellationToken::new(), Lcg(3));
    let workers = app.spawn_workers(&stop).unwrap();
    app.metrics.keep_latencies();
    for _ in 0..40 {
        change(sim, 25.0 / BACKLOG as f64, &mut rng);
        app.poll_once(&cancel).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while app.pending() > 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    stop.cancel();
    workers.join().await;
    let mut latencies = app.metrics.take_latencies();
    assert!(latencies.len() >= 900, "{} latencies", latencies.len());
    (
        percentile(&mut latencies, 50.0).as_secs_f64(),
        percentile(&mut latencies, 99.0).as_secs_f64(),
    )
}
