//! backlog: a webhook sink's backlog after an outage. `/metrics` latency with 100,000 entries
//! queued (the daemon running, every entry attempted once against a receiver answering 503 and
//! parked by a long backoff) against an empty outbox; then the drain time of 10,000 and of
//! 100,000 entries queued fresh, once the receiver answers 200.

use crate::daemon::{scrape, until, Daemon};
use crate::measure::{notifier_cpu, percentile, Row};
use crate::Bench;
use hyperrep_notifier::config::Config;
use hyperrep_notifier::simulator::Simulator;
use hyperrep_notifier::store::{Commit, OutboxEntry};
use hyperrep_notifier::App;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIG: usize = 100_000;
const SMALL: usize = 10_000;
/// Entries per commit while building a backlog.
const BATCH: usize = 1_000;
/// Scrapes measured per case.
const SCRAPES: usize = 200;
const SINK: &str = "hook";

/// A loopback webhook endpoint: 503 until `accept` is set, then 200; `hits` counts requests.
struct Receiver {
    url: String,
    accept: Arc<AtomicBool>,
    hits: Arc<AtomicU64>,
}

fn receiver(bench: &Bench) -> Receiver {
    let (accept, hits) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let (a, h) = (accept.clone(), hits.clone());
    let url = bench.sim_rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(move || {
            h.fetch_add(1, Ordering::Relaxed);
            let ok = a.load(Ordering::Relaxed);
            async move {
                if ok {
                    axum::http::StatusCode::OK
                } else {
                    axum::http::StatusCode::SERVICE_UNAVAILABLE
                }
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    });
    Receiver { url, accept, hits }
}

/// One signed webhook sink at concurrency 32 (as `deliver`'s target case), retries after
/// `backoff` (initial and maximum), and polls far apart: the tiny org adds no entries.
fn config(bench: &Bench, sim: &Simulator, store: &str, url: &str, backoff: &str) -> Config {
    let extra = format!(
        "[poll]\ninterval = \"1h\"\n\
         [delivery]\nconcurrency = 32\nmax_attempts = 1000\n\
         initial_backoff = \"{backoff}\"\nmax_backoff = \"{backoff}\"\n\
         [[sinks]]\nname = \"{SINK}\"\ntype = \"webhook\"\nurl = \"{url}\"\nsecret = \"whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD\"\n"
    );
    bench.config(sim, store, &extra)
}

/// Queues `count` fresh entries (distinct event ids, due now) for the sink through the public
/// store API, `BATCH` per atomic commit: producing them by polls would take far longer and
/// measure the poller, not the queue.
fn fill(app: &App, org: &str, count: usize) -> Duration {
    let started = Instant::now();
    let template = hyperrep_notifier::render::sample_event();
    for first in (0..count).step_by(BATCH) {
        let now = chrono::Utc::now();
        let outbox = (first..count.min(first + BATCH))
            .map(|i| {
                let mut event = template.clone();
                event.id = format!("evt_backlog{i:08}");
                (SINK.to_string(), OutboxEntry::new(event, now))
            })
            .collect();
        let commit = Commit {
            outbox,
            ..Commit::default()
        };
        app.store.commit(org, &commit).unwrap();
    }
    assert_eq!(app.store.outbox_depth(SINK), count);
    started.elapsed()
}

/// The depth `/metrics` reports for the sink.
fn reported_depth(body: &str) -> Option<usize> {
    let line = format!("hyperrep_notifier_outbox_depth{{sink=\"{SINK}\"}} ");
    body.lines()
        .find_map(|l| l.strip_prefix(line.as_str()))
        .and_then(|v| v.trim().parse().ok())
}

/// Timed scrapes of `/metrics` and the size of the last answer.
struct Scraped {
    times: Vec<Duration>,
    bytes: usize,
}

async fn scrape_metrics(bench: &Bench, daemon: &Daemon, depth: usize) -> Scraped {
    let (times, body) = scrape(bench, &daemon.metrics_url, SCRAPES).await;
    assert_eq!(reported_depth(&body), Some(depth), "/metrics: {body}");
    let bytes = body.len();
    Scraped { times, bytes }
}

/// Queues `BIG` entries, starts the daemon with the receiver refusing, lets it attempt every
/// entry once (each answered 503 and rescheduled up to 100 days out, so nothing is due again),
/// then scrapes `/metrics` with all of them still queued. Also returns how long building the
/// backlog and the failed pass took.
fn parked(bench: &Bench, sim: &Simulator, receiver: &Receiver) -> (Duration, Duration, Scraped) {
    let config = config(bench, sim, "backlog-parked", &receiver.url, "100days");
    let app = App::build(config).unwrap();
    let filled = fill(&app, &sim.org_ids()[0], BIG);
    let hits = receiver.hits.clone();
    bench.rt.block_on(async {
        let (started, daemon) = (Instant::now(), Daemon::start(app).await);
        let (store, none) = (daemon.store.clone(), HashSet::new());
        until("the failed pass", Duration::from_secs(180), || {
            let due = store.due(SINK, chrono::Utc::now(), 1, &none).unwrap();
            hits.load(Ordering::Relaxed) >= BIG as u64 && due.entries.is_empty()
        })
        .await;
        let pass = started.elapsed();
        // sled writes the pass's 100,000 rescheduled entries out on its own threads; the
        // scrapes should not share the second core with that, or they measure the disk.
        daemon.store.flush().await.unwrap();
        let scraped = scrape_metrics(bench, &daemon, BIG).await;
        assert_eq!(daemon.store.outbox_depth(SINK), BIG, "nothing may drain");
        daemon.stop().await;
        (filled, pass, scraped)
    })
}

/// The same scrapes with nothing queued.
fn empty(bench: &Bench, sim: &Simulator, receiver: &Receiver) -> Scraped {
    let config = config(bench, sim, "backlog-empty", &receiver.url, "100days");
    let app = App::build(config).unwrap();
    bench.rt.block_on(async {
        let daemon = Daemon::start(app).await;
        let scraped = scrape_metrics(bench, &daemon, 0).await;
        daemon.stop().await;
        scraped
    })
}

/// Queues `count` fresh entries, starts the daemon with the receiver accepting, and times it
/// until the counter reads zero (not the stop and its final flush after it): wall and the
/// notifier's CPU, in seconds.
fn drain(bench: &Bench, sim: &Simulator, receiver: &Receiver, count: usize) -> (f64, f64) {
    let store = format!("backlog-drain-{count}");
    let app = App::build(config(bench, sim, &store, &receiver.url, "1s")).unwrap();
    fill(&app, &sim.org_ids()[0], count);
    bench.rt.block_on(async {
        let (cpu, started) = (notifier_cpu(), Instant::now());
        let daemon = Daemon::start(app).await;
        let store = daemon.store.clone();
        let drained = || store.outbox_depth(SINK) == 0;
        until("the drain", Duration::from_secs(300), drained).await;
        let took = (started.elapsed(), notifier_cpu().saturating_sub(cpu));
        daemon.stop().await;
        (took.0.as_secs_f64(), took.1.as_secs_f64())
    })
}

fn row(case: &str, metric: &str, value: f64, unit: &str) -> Row {
    Row::new("backlog", case, metric, value, unit)
}

pub fn backlog(bench: &Bench) -> Vec<Row> {
    println!(
        "backlog: entries committed straight into the outbox, {BATCH} per commit; the {BIG} \
         scraped were each attempted once (503) and rescheduled, the drained ones are fresh"
    );
    let sim = bench.simulator(1, 10);
    let receiver = receiver(bench);
    let mut rows = metrics_rows(bench, &sim, &receiver);
    // The outage ends.
    receiver.accept.store(true, Ordering::Relaxed);
    let small = drain(bench, &sim, &receiver, SMALL);
    let big = drain(bench, &sim, &receiver, BIG);
    for (count, (wall, cpu)) in [(SMALL, small), (BIG, big)] {
        let case = format!("drain {count} fresh, 200");
        rows.push(row(&case, "drain time (until depth 0)", wall, "s"));
        rows.push(row(&case, "entries/s", count as f64 / wall, "entries/s"));
        let per_entry = cpu / count as f64 * 1e6;
        rows.push(row(&case, "notifier CPU per entry", per_entry, "µs"));
    }
    let case = format!("drain {BIG} vs {SMALL}");
    // Linear is 10; a queue whose every step walked what is queued would approach 100.
    let ratio = row(&case, "drain time ratio (linear: 10)", big.0 / small.0, "×");
    rows.push(ratio.target(true, 15.0));
    rows
}

fn metrics_rows(bench: &Bench, sim: &Simulator, receiver: &Receiver) -> Vec<Row> {
    let mut idle = empty(bench, sim, receiver);
    let (filled, pass, mut queued) = parked(bench, sim, receiver);
    let case = format!("{BIG} parked after 503");
    let mut rows = vec![
        row(
            &case,
            "backlog built (1000 per commit)",
            filled.as_secs_f64(),
            "s",
        ),
        row(
            &case,
            "failed pass",
            BIG as f64 / pass.as_secs_f64(),
            "attempts/s",
        ),
    ];
    for (case, scraped) in [("empty outbox", &mut idle), (case.as_str(), &mut queued)] {
        for p in [50.0, 99.0] {
            let ms = percentile(&mut scraped.times, p).as_secs_f64() * 1000.0;
            rows.push(row(
                case,
                &format!("/metrics p{p} ({SCRAPES} scrapes)"),
                ms,
                "ms",
            ));
        }
        rows.push(row(
            case,
            "/metrics answer size",
            scraped.bytes as f64,
            "bytes",
        ));
    }
    let p50 = |s: &mut Scraped| percentile(&mut s.times, 50.0).as_secs_f64();
    let ratio = p50(&mut queued) / p50(&mut idle);
    // The counters make a scrape independent of the queue; a scan of it would be 100× or more.
    // The bound is loose because the two are scraped one after the other and loopback latency
    // on this shared machine alone moves 4× between phases (0.02 or 0.08 ms, queued or not).
    let case = format!("{BIG} parked vs empty");
    rows.push(row(&case, "/metrics p50 ratio", ratio, "×").target(true, 10.0));
    rows
}
