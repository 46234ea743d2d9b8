//! store: what a steady-state poll of 20,000 conversations writes and reads for 0 %, 0.5 % and
//! 50 % changed.

use crate::measure::Row;
use crate::{change, Bench, Lcg, IDLE_SINK};
use hyperrep_notifier::{store, App};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

pub fn store(bench: &Bench) -> Vec<Row> {
    let sim = bench.simulator(1, 20_000);
    let app = App::build(bench.config(&sim, "store", IDLE_SINK)).unwrap();
    let cancel = CancellationToken::new();
    bench.rt.block_on(app.poll_once(&cancel));
    let (mut rows, mut rng) = (Vec::new(), Lcg(11));
    for (label, fraction) in [
        ("0% changed", 0.0),
        ("0.5% changed", 0.005),
        ("50% changed", 0.5),
    ] {
        let changed = change(&sim, fraction, &mut rng);
        let before = app.store.stats();
        let reports = bench.rt.block_on(app.poll_once(&cancel));
        let after = app.store.stats();
        let case = format!("20000 conv, {label}");
        let row = |metric: &str, value: u64, unit: &str| {
            Row::new("store", &case, metric, value as f64, unit)
        };
        let snapshots: usize = reports.iter().map(|r| r.written).sum();
        let snapshot_row = row("conversation snapshots written", snapshots as u64, "keys");
        rows.push(if changed == 0 {
            snapshot_row.target(true, 0.0)
        } else {
            snapshot_row
        });
        let writes = after.writes - before.writes;
        let bytes = after.bytes_written - before.bytes_written;
        rows.push(row("keys written (with outbox, org state)", writes, "keys"));
        rows.push(row("bytes written", bytes, "bytes"));
        let commits = after.commits - before.commits;
        rows.push(row("atomic commits", commits, "commits"));
        rows.push(row("point reads", after.reads - before.reads, "reads"));
        if changed > 0 {
            let per_change = writes as f64 / changed as f64;
            rows.push(Row::new(
                "store",
                &case,
                "keys written per change",
                per_change,
                "keys",
            ));
        }
    }
    rows
}

/// Polls with 0.5 % changed after the baseline (issue 14: at most 10 % growth over 1,000);
/// `HRN_BENCH_SIZE_POLLS` asks for more, to see where the size levels off.
const SIZE_POLLS: usize = 1_000;
/// After how many polls the size is read (those up to the number of polls asked for).
const SIZE_READINGS: [usize; 5] = [200, 500, 1_000, 2_000, 5_000];

fn size_polls() -> usize {
    std::env::var("HRN_BENCH_SIZE_POLLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(SIZE_POLLS)
}

/// The store's size: after a baseline of 100,000 conversations in 10 orgs, against the JSON it
/// holds, and after [`SIZE_READINGS`] polls with 0.5 % changed (outbox aside: see below),
/// compacted as the daemon compacts it: its size noted after the baseline, and after each poll
/// the store reopened (compacting it) once it is due, as the daemon restarts for it.
pub fn size(bench: &Bench) -> Vec<Row> {
    let sim = bench.simulator(10, 10_000);
    // The sink takes no created or updated event: the outbox, which a real sink drains, stays
    // empty, so what grows is the snapshots alone.
    let sink = format!("{IDLE_SINK}[sinks.filter]\nevents = [\"conversation.removed\"]\n");
    let config = bench.config(&sim, "size", &sink);
    let policy = config.store.compaction();
    let mut app = App::build(config.clone()).unwrap();
    let cancel = CancellationToken::new();
    bench.rt.block_on(app.poll_once(&cancel));
    let json: usize = sim
        .org_ids()
        .iter()
        .flat_map(|org| sim.conversations(org))
        .map(|c| serde_json::to_string(&c).unwrap().len())
        .sum();
    let path = bench.dir.path().join("size");
    let baseline = dir_bytes(&path);
    store::note_size(&path, || true).unwrap();
    let mut rng = Lcg(13);
    let (mut readings, mut every, mut pauses) = (Vec::new(), Vec::new(), Vec::new());
    for poll in 1..=size_polls() {
        change(&sim, 0.005, &mut rng);
        bench.rt.block_on(app.poll_once(&cancel));
        if store::compaction_due(&path, policy) {
            drop(app);
            let started = Instant::now();
            app = App::build(config.clone()).unwrap();
            pauses.push(started.elapsed().as_secs_f64());
        }
        if SIZE_READINGS.contains(&poll) {
            readings.push((poll, dir_bytes(&path)));
        }
        if poll % 10 == 0 {
            every.push(dir_bytes(&path));
        }
    }
    let growth = |size: u64| (size as f64 / baseline as f64 - 1.0) * 100.0;
    // sled's file grows and shrinks by segments as it reuses and truncates them, so one
    // reading moves a lot between runs: also the largest of all (every 10th poll), which is
    // what the disk must hold, and the median of the last 10.
    let largest = every.iter().copied().max().unwrap_or(baseline);
    let mut last: Vec<u64> = every.iter().rev().take(10).copied().collect();
    last.sort();
    let late_median = last.get(last.len() / 2).copied().unwrap_or(baseline);
    let polls = size_polls();
    let case = "100000 conv, 10 orgs";
    let row = |metric: &str, value: f64, unit: &str| Row::new("store", case, metric, value, unit);
    vec![
        row("JSON held", json as f64, "bytes"),
        row("store after the baseline", baseline as f64, "bytes"),
        row(
            "store bytes per conversation",
            baseline as f64 / 100_000.0,
            "bytes",
        ),
        row("store / JSON", baseline as f64 / json as f64, "x").target(true, 2.0),
    ]
    .into_iter()
    .chain(readings.into_iter().flat_map(|(polls, size)| {
        let growth = row(
            &format!("growth over {polls} polls, 0.5% changed"),
            growth(size),
            "%",
        );
        let held = row(
            &format!("store / JSON after {polls} polls"),
            size as f64 / json as f64,
            "x",
        );
        match polls {
            SIZE_POLLS => [growth.target(true, 10.0), held.target(true, 2.0)],
            _ => [growth, held],
        }
    }))
    .chain([
        row(
            &format!("largest growth over {polls} polls (every 10th)"),
            growth(largest),
            "%",
        )
        .target(true, 10.0),
        row(
            &format!("median growth of the last 10 readings (to {polls})"),
            growth(late_median),
            "%",
        ),
        row(
            &format!("compactions over {polls} polls"),
            pauses.len() as f64,
            "compactions",
        ),
        row(
            "compaction (the store reopened), longest",
            pauses.iter().copied().fold(0.0, f64::max),
            "s",
        ),
    ])
    .collect()
}

pub fn dir_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        // sled removes files of its own in the background (and a compaction its directories).
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        total += if meta.is_dir() {
            dir_bytes(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}
