//! The rows of `cost`, with the targets of issue 14: a steady poll's wall ≤ 1.0× the floor's
//! and CPU ≤ 1.3×, ≥ 10× faster than the peer; a baseline ≤ 3× the floor; a store ≤ 2× the
//! JSON it holds. Targets are reported (met or not), never asserted.

use crate::cost::ratio;
use crate::measure::{median, Row, Sample};

fn wall(s: &Sample) -> f64 {
    s.wall.as_secs_f64()
}

fn cpu(s: &Sample) -> f64 {
    s.cpu.as_secs_f64()
}

fn row(case: &str, metric: &str, value: f64, unit: &str) -> Row {
    Row::new("cost", case, metric, value, unit)
}

/// The floor: every page of the 10 orgs, sequential, typed parsing only.
pub fn floor(floor: &Sample) -> Vec<Row> {
    let case = "floor, 10 orgs x 10,000";
    vec![
        row(case, "wall (median)", wall(floor), "s"),
        row(case, "CPU (median)", cpu(floor), "s"),
    ]
}

/// One steady case of one mode: its figures, against the floor and (when it ran) the peer.
pub fn mode(case: &str, pairs: &[(Sample, Sample)], peer: Option<&[Sample]>) -> Vec<Row> {
    let ours = median(pairs.iter().map(|p| p.0).collect());
    let mut rows = vec![
        row(case, "wall (median)", wall(&ours), "s"),
        row(case, "CPU (median)", cpu(&ours), "s"),
        row(case, "wall / floor", ratio(pairs, wall), "x").target(true, 1.0),
        row(case, "CPU / floor", ratio(pairs, cpu), "x").target(true, 1.3),
    ];
    if let Some(peer) = peer {
        let peer = median(peer.to_vec());
        let faster = wall(&peer) / wall(&ours);
        rows.push(row(case, "peer wall / ours", faster, "x").target(false, 10.0));
    }
    rows
}

/// The floor with a POST per change after it, and the changed cases against it: informative
/// (the targets are against the floor), it tells what a poll's changes must cost at least.
pub fn with_posts(
    reference: &[Sample],
    changes: u64,
    cases: &[(&str, &[(Sample, Sample)])],
) -> Vec<Row> {
    let reference = median(reference.to_vec());
    let case = format!("floor + {changes} webhook POSTs");
    let mut rows = vec![
        row(&case, "wall (median)", wall(&reference), "s"),
        row(&case, "CPU (median)", cpu(&reference), "s"),
    ];
    for (name, pairs) in cases {
        let ours = median(pairs.iter().map(|p| p.0).collect());
        rows.push(row(
            name,
            "wall / (floor + POSTs)",
            wall(&ours) / wall(&reference),
            "x",
        ));
        rows.push(row(
            name,
            "CPU / (floor + POSTs)",
            cpu(&ours) / cpu(&reference),
            "x",
        ));
    }
    rows
}

/// The first polls of the 10 orgs (100,000 conversations) in both modes, process start
/// included: informative, the baseline target is the 1-org case's.
pub fn first_polls(floor: &Sample, daemon: &Sample, cron: &Sample) -> Vec<Row> {
    let mut rows = Vec::new();
    for (case, first) in [("daemon, baseline", daemon), ("run --once, baseline", cron)] {
        rows.push(row(case, "wall (start to complete)", wall(first), "s"));
        rows.push(row(case, "CPU", cpu(first), "s"));
        rows.push(row(case, "wall / floor", wall(first) / wall(floor), "x"));
        rows.push(row(case, "CPU / floor", cpu(first) / cpu(floor), "x"));
    }
    rows
}

/// The peer's own figures.
pub fn peer(unchanged: &[Sample], changed: &[Sample]) -> Vec<Row> {
    let mut rows = Vec::new();
    for (case, samples) in [
        ("peer, 0 changed", unchanged),
        ("peer, 0.5% changed", changed),
    ] {
        let peer = median(samples.to_vec());
        rows.push(row(case, "wall (median)", wall(&peer), "s"));
        rows.push(row(case, "CPU (median)", cpu(&peer), "s"));
    }
    rows
}

/// The 1-org baseline against the floor, and the store after it.
/// The largest peak resident memory of the baselines' processes.
pub fn baseline_peak(peak: u64) -> Row {
    let case = "baseline, 1 org x 100,000";
    row(
        case,
        "peak RSS of run --once",
        peak as f64 / (1024.0 * 1024.0),
        "MiB",
    )
    .target(true, 100.0)
}

pub fn baseline(pairs: &[(Sample, Sample)], store: u64, conversations: u64, json: u64) -> Vec<Row> {
    let case = "baseline, 1 org x 100,000";
    let ours = median(pairs.iter().map(|p| p.0).collect());
    let floor = median(pairs.iter().map(|p| p.1).collect());
    let store_case = "store after that baseline";
    vec![
        row(case, "run --once wall", wall(&ours), "s"),
        row(case, "run --once CPU", cpu(&ours), "s"),
        row(case, "floor wall", wall(&floor), "s"),
        row(case, "wall / floor", ratio(pairs, wall), "x").target(true, 3.0),
        row(case, "CPU / floor", ratio(pairs, cpu), "x").target(true, 3.0),
        row(store_case, "bytes on disk (du)", store as f64, "B"),
        row(
            store_case,
            "bytes per conversation",
            store as f64 / conversations as f64,
            "B",
        ),
        row(
            store_case,
            "JSON bytes per conversation",
            json as f64 / conversations as f64,
            "B",
        ),
        row(
            store_case,
            "store / JSON it holds",
            store as f64 / json as f64,
            "x",
        )
        .target(true, 2.0),
    ]
}

/// sled alone storing as many keys and values of the same sizes (see `cost_sled`): the floor
/// of a store with a key per conversation, against the listing floor and the JSON.
pub fn sled_alone(
    floor: &Sample,
    sled: &Sample,
    bytes: u64,
    value: usize,
    listing: &crate::cost_pages::Listing,
) -> Vec<Row> {
    let case = format!("sled alone, 100,000 x {value} B");
    let case = case.as_str();
    vec![
        row(case, "wall", wall(sled), "s"),
        row(case, "CPU", cpu(sled), "s"),
        row(case, "wall / listing floor", wall(sled) / wall(floor), "x"),
        row(case, "CPU / listing floor", cpu(sled) / cpu(floor), "x"),
        row(case, "bytes on disk (du)", bytes as f64, "B"),
        row(
            case,
            "bytes / JSON",
            bytes as f64 / listing.json_bytes as f64,
            "x",
        ),
    ]
}
