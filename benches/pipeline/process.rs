//! The real binary: memory (peak RSS of `run --once` over 1,000,000 stored conversations in 100
//! orgs) and start (process start to the first request upstream).

use crate::measure::{wait_peak_rss, Row};
use crate::{Bench, IDLE_SINK};
use hyperrep_notifier::diff::Stored;
use hyperrep_notifier::event::Conversation;
use hyperrep_notifier::simulator::Simulator;
use hyperrep_notifier::store::{Commit, OrgState};
use hyperrep_notifier::App;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_hyperrep-notifier");

/// Writes `config` as TOML for the binary.
fn write_config(
    bench: &Bench,
    name: &str,
    config: &hyperrep_notifier::config::Config,
) -> std::path::PathBuf {
    let path = bench.dir.path().join(format!("{name}.toml"));
    let text = config
        .to_redacted_toml()
        .replace("\"[redacted]\"", "\"bench-key\"");
    std::fs::write(&path, text).unwrap();
    path
}

pub fn memory(bench: &Bench) -> Vec<Row> {
    let sim = bench.simulator(100, 10_000);
    let config = bench.config(&sim, "memory", IDLE_SINK);
    let path = write_config(bench, "memory", &config);
    let started = Instant::now();
    {
        // The steady state: every conversation already stored, as a previous run's first
        // listing left it (packed, in runs of 10,000: `Commit::fresh`).
        let app = App::build(config).unwrap();
        for org in sim.org_ids() {
            let all: Vec<Stored> = sim
                .conversations(&org)
                .into_iter()
                .map(|c| Stored {
                    revision: 0,
                    conversation: Conversation::from_value(c).unwrap(),
                })
                .collect();
            for chunk in all.chunks(10_000) {
                app.store
                    .commit(
                        &org,
                        &Commit {
                            fresh: chunk.to_vec(),
                            ..Commit::default()
                        },
                    )
                    .unwrap();
            }
            // As a listing leaves it: the org's fingerprints stored, in buckets sized for it.
            app.store.listing_done(&org);
            app.store
                .set_org_state(
                    &org,
                    &OrgState {
                        baseline_done: true,
                        ..OrgState::default()
                    },
                )
                .unwrap();
        }
        bench.rt.block_on(app.store.flush()).unwrap();
    }
    let filled = started.elapsed();
    let run = Instant::now();
    let requests = sim.request_count();
    let peak = run_once_peak_rss(&path);
    let once_wall = run.elapsed();
    let per_poll = sim.request_count() - requests;
    let daemon = daemon_peak_rss(&path, &sim, per_poll);
    let compaction = compacting_run(&path, &bench.dir.path().join("memory"));
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let compaction_rows = [
        ("store before the compaction", mib(compaction.before), "MiB"),
        ("store after the compaction", mib(compaction.after), "MiB"),
        ("run --once compacting first, wall", compaction.wall, "s"),
        (
            "peak RSS of run --once compacting first",
            mib(compaction.peak),
            "MiB",
        ),
    ];
    let compaction_rows = compaction_rows
        .into_iter()
        .map(|(metric, value, unit)| Row::new("memory", "1M conv, 100 orgs", metric, value, unit));
    vec![
        Row::new(
            "memory",
            "1M conv, 100 orgs",
            "store filled in",
            filled.as_secs_f64(),
            "s",
        ),
        Row::new(
            "memory",
            "1M conv, 100 orgs",
            "run --once wall",
            once_wall.as_secs_f64(),
            "s",
        ),
        Row::new(
            "memory",
            "1M conv, 100 orgs",
            "peak RSS of run --once",
            mib(peak),
            "MiB",
        )
        .target(true, 100.0),
        Row::new(
            "memory",
            "1M conv, 100 orgs",
            "peak RSS of the daemon, 3 polls",
            mib(daemon),
            "MiB",
        ),
    ]
    .into_iter()
    .chain(compaction_rows)
    .collect()
}

/// The release binary's `run --once` on `config`: its peak resident memory.
fn run_once_peak_rss(config: &Path) -> u64 {
    let mut child = Command::new(BINARY)
        .args(["--config", config.to_str().unwrap(), "run", "--once"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let (status, peak) = wait_peak_rss(&mut child);
    assert!(status.success(), "run --once failed");
    peak
}

/// What `run --once` does with the store due for a compaction.
struct Compacting {
    before: u64,
    after: u64,
    wall: f64,
    peak: u64,
}

/// `run --once` on the store made due for a compaction (its recorded size set to 1 byte): the
/// compaction at its start and its poll, with the store's size before and after.
fn compacting_run(config: &Path, store: &Path) -> Compacting {
    std::fs::write(store.join("compacted"), "1").unwrap();
    let before = crate::store::dir_bytes(store);
    let run = Instant::now();
    let peak = run_once_peak_rss(config);
    let wall = run.elapsed().as_secs_f64();
    let after: u64 = std::fs::read_to_string(store.join("compacted"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(after > 1, "the store was compacted");
    Compacting {
        before,
        after,
        wall,
        peak,
    }
}

/// The daemon (`run`, polling every second) on the same store until it has made three complete
/// polls (the first learns the fingerprints, the next two use them): its peak resident memory.
fn daemon_peak_rss(path: &Path, sim: &Simulator, per_poll: u64) -> u64 {
    let until = sim.request_count() + 3 * per_poll;
    let mut child = Command::new(BINARY)
        .args(["--config", path.to_str().unwrap(), "run"])
        .env("RUST_LOG", "warn")
        .env("HRN_POLL__INTERVAL", "1s")
        .env("HRN_SERVER__LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let watcher = std::thread::spawn(move || wait_peak_rss(&mut child));
    let deadline = Instant::now() + Duration::from_secs(300);
    while sim.request_count() < until && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        sim.request_count() >= until,
        "the daemon did not make three polls"
    );
    // The last pages' commits and the flush, then a graceful stop.
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    let (status, peak) = watcher.join().unwrap();
    assert!(status.success(), "the daemon did not stop cleanly");
    peak
}

pub fn start(bench: &Bench) -> Vec<Row> {
    let mut times = Vec::new();
    for i in 0..5 {
        let sim = bench.simulator(1, 10);
        let config = bench.config(&sim, &format!("start-{i}"), IDLE_SINK);
        let path = write_config(bench, &format!("start-{i}"), &config);
        let spawned = Instant::now();
        let mut child = Command::new(BINARY)
            .args([
                "--config",
                path.to_str().unwrap(),
                "run",
                "--once",
                "--drain-timeout",
                "1s",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while sim.first_request_at().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(200));
        }
        let first = sim.first_request_at().expect("a first request");
        times.push(first.duration_since(spawned));
        child.wait().unwrap();
    }
    times.sort();
    let median = times[times.len() / 2].as_secs_f64() * 1000.0;
    vec![Row::new(
        "start",
        "run --once, 1 org",
        "process start to first request (median of 5)",
        median,
        "ms",
    )
    .target(true, 100.0)]
}
