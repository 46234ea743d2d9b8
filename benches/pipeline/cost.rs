//! cost: what a steady poll costs against an honest floor and a peer, side by side. The listing
//! (10 orgs × 10,000 conversations, pages of 100) is served as fixed bytes from the `sim`
//! thread; the floor lists it with typed parsing and nothing else (`cost_floor`); the service
//! runs as its release binary in both modes (`cost_service`); the peer is a Python cron script
//! (`cost_peer`). Each service run is paired with a floor run right after it, and ratios are the
//! median of the pairs' ratios. Also: the first poll (baseline) of 100,000 conversations in one
//! org, and the store's size after it.

use crate::cost_floor::Floor;
use crate::cost_pages::{hook, serve, Hook, Served};
use crate::cost_peer::Peer;
use crate::cost_rows;
use crate::cost_service::{cron, cron_peak, store_of, write_config, Daemon};
use crate::cost_sled;
use crate::measure::{median, median_of, Row, Sample};
use crate::Bench;
use std::sync::atomic::Ordering;

/// Service runs per case (and floor runs paired with them).
const RUNS: usize = 5;
/// Peer runs per case: each takes over a second.
const PEER_RUNS: usize = 3;
/// Baselines of 100,000 conversations in one org, each on a fresh store.
const BASELINES: usize = 3;

/// A service run paired with the floor run right after it.
type Pairs = Vec<(Sample, Sample)>;

/// The two steady cases of one mode.
struct Steady {
    unchanged: Pairs,
    changed: Pairs,
}

/// `one(changes)` RUNS times on the version the store holds (0), then once on each next
/// version (0.5 % changed since the last run), each run followed by a floor run.
fn rounds(
    bench: &Bench,
    served: &Served,
    floor: &Floor,
    mut one: impl FnMut(u64) -> Sample,
) -> Steady {
    served.listing.set_version(0);
    let unchanged = (0..RUNS).map(|_| (one(0), floor.run(bench))).collect();
    let changes = served.listing.changed_per_version;
    let changed = (1..=RUNS)
        .map(|v| {
            served.listing.set_version(v);
            (one(changes), floor.run(bench))
        })
        .collect();
    Steady { unchanged, changed }
}

/// The daemon: its baseline, then polls asked for by `POST /admin/poll`.
fn daemon(bench: &Bench, served: &Served, floor: &Floor, hook: &Hook) -> (Sample, Steady) {
    served.listing.set_version(0);
    let config = write_config(bench, "cost-daemon", served, &hook.url);
    let (daemon, baseline) = Daemon::start(bench, &config, served.listing.orgs.len());
    let steady = rounds(bench, served, floor, |changes| {
        daemon.poll(bench, served, &hook.hits, changes)
    });
    daemon.stop();
    (baseline, steady)
}

/// Cron mode: a baseline by `run --once`, then more of them; each must deliver its changes.
fn cron_mode(bench: &Bench, served: &Served, floor: &Floor, hook: &Hook) -> (Sample, Steady) {
    served.listing.set_version(0);
    let config = write_config(bench, "cost-cron", served, &hook.url);
    let baseline = cron(&config);
    let steady = rounds(bench, served, floor, |changes| {
        let before = hook.hits.load(Ordering::SeqCst);
        let sample = cron(&config);
        let delivered = hook.hits.load(Ordering::SeqCst) - before;
        assert!(
            delivered >= changes,
            "run --once delivered {delivered} of {changes}"
        );
        sample
    });
    (baseline, steady)
}

/// The peer: baselined once, then PEER_RUNS unchanged and PEER_RUNS changed runs.
fn peer(bench: &Bench, served: &Served, hook: &Hook) -> Result<[Vec<Sample>; 2], String> {
    crate::cost_peer::available()?;
    served.listing.set_version(0);
    let peer = Peer::new(bench, served, &hook.url);
    let (_, first) = peer.run();
    assert_eq!(
        first.seen, served.listing.conversations,
        "the peer's baseline"
    );
    let unchanged = (0..PEER_RUNS)
        .map(|_| {
            let (sample, outcome) = peer.run();
            assert_eq!(
                outcome.changed, 0,
                "the peer saw changes in an unchanged listing"
            );
            sample
        })
        .collect();
    let changed = (1..=PEER_RUNS)
        .map(|v| {
            served.listing.set_version(v);
            let (sample, outcome) = peer.run();
            assert_eq!(outcome.changed, served.listing.changed_per_version);
            assert_eq!(outcome.pages, served.listing.pages_per_poll);
            sample
        })
        .collect();
    Ok([unchanged, changed])
}

pub fn cost(bench: &Bench) -> Vec<Row> {
    let hook = hook(bench);
    let served = serve(bench, 10, 10_000, RUNS + 1);
    let floor = Floor::new(&served);
    let warm: Vec<Sample> = (0..RUNS).map(|_| floor.run(bench)).collect();
    let daemon = daemon(bench, &served, &floor, &hook);
    let cron = cron_mode(bench, &served, &floor, &hook);
    let body = hook.mean_body(); // the service's webhooks alone
    let peer = peer(bench, &served, &hook);
    if let Err(why) = &peer {
        println!("peer: not run ({why})");
    }
    let mut rows = rows(warm, &daemon, &cron, peer.as_ref().ok());
    let cases = [
        ("daemon, 0.5% changed", &daemon.1),
        ("run --once, 0.5% changed", &cron.1),
    ];
    rows.extend(posts(bench, &served, &floor, (&hook.url, body), &cases));
    rows.extend(baseline(bench, &hook));
    rows
}

/// A mode of the service, to measure alone.
pub enum Mode {
    Daemon,
    Cron,
}

/// Only one mode's steady polls against the floor (`cost-daemon`, `cost-cron`): what to
/// profile when they are the figures that miss.
pub fn one_mode(bench: &Bench, mode: Mode) -> Vec<Row> {
    let hook = hook(bench);
    let served = serve(bench, 10, 10_000, RUNS + 1);
    let floor = Floor::new(&served);
    let (name, (_, steady)) = match mode {
        Mode::Daemon => ("daemon", daemon(bench, &served, &floor, &hook)),
        Mode::Cron => ("run --once", cron_mode(bench, &served, &floor, &hook)),
    };
    let floors = steady.unchanged.iter().chain(&steady.changed).map(|p| p.1);
    let mut rows = cost_rows::floor(&median(floors.collect()));
    rows.extend(cost_rows::mode(
        &format!("{name}, 0 changed"),
        &steady.unchanged,
        None,
    ));
    let changed = format!("{name}, 0.5% changed");
    rows.extend(cost_rows::mode(&changed, &steady.changed, None));
    let hook = (hook.url.as_str(), hook.mean_body());
    rows.extend(posts(bench, &served, &floor, hook, &[(&changed, &steady)]));
    rows
}

/// The rows of the floor with a POST per change to `hook` (its URL, and the mean size of the
/// service's webhooks), against the changed `cases`.
fn posts(
    bench: &Bench,
    served: &Served,
    floor: &Floor,
    (url, body): (&str, usize),
    cases: &[(&str, &Steady)],
) -> Vec<Row> {
    let changes = served.listing.changed_per_version;
    let reference = floor.with_posts(bench, RUNS, url, changes, body);
    let cases: Vec<(&str, &[(Sample, Sample)])> = cases
        .iter()
        .map(|(name, steady)| (*name, steady.changed.as_slice()))
        .collect();
    cost_rows::with_posts(&reference, changes, &cases)
}

/// Only the first poll of 100,000 conversations in one org (`cost-baseline`): what to profile
/// when the baseline is the figure that misses.
pub fn first_poll(bench: &Bench) -> Vec<Row> {
    baseline(bench, &hook(bench))
}

/// The rows of the 10 orgs: the floor (every floor run), both modes in both cases, their
/// baselines, and the peer when it ran.
fn rows(
    mut floors: Vec<Sample>,
    (daemon_baseline, daemon): &(Sample, Steady),
    (cron_baseline, cron): &(Sample, Steady),
    peer: Option<&[Vec<Sample>; 2]>,
) -> Vec<Row> {
    for steady in [daemon, cron] {
        for pairs in [&steady.unchanged, &steady.changed] {
            floors.extend(pairs.iter().map(|p| p.1));
        }
    }
    let floor = median(floors);
    let mut rows = cost_rows::floor(&floor);
    for (mode, steady) in [("daemon", daemon), ("run --once", cron)] {
        let cases = [
            ("0 changed", &steady.unchanged),
            ("0.5% changed", &steady.changed),
        ];
        for (kind, (what, pairs)) in cases.into_iter().enumerate() {
            let peer = peer.map(|p| p[kind].as_slice());
            rows.extend(cost_rows::mode(&format!("{mode}, {what}"), pairs, peer));
        }
    }
    rows.extend(cost_rows::first_polls(
        &floor,
        daemon_baseline,
        cron_baseline,
    ));
    if let Some([unchanged, changed]) = peer {
        rows.extend(cost_rows::peer(unchanged, changed));
    }
    rows
}

/// The first poll of 100,000 conversations in one org by `run --once` on a fresh store,
/// paired with the floor listing the same pages; and the store's size after it.
fn baseline(bench: &Bench, hook: &Hook) -> Vec<Row> {
    let served = serve(bench, 1, 100_000, 1);
    let floor = Floor::new(&served);
    let (mut pairs, mut store_bytes, mut peak) = (Vec::new(), Vec::new(), 0);
    for i in 0..BASELINES {
        let config = write_config(bench, &format!("cost-baseline-{i}"), &served, &hook.url);
        let (ours, rss) = cron_peak(&config);
        peak = peak.max(rss);
        pairs.push((ours, floor.run(bench)));
        let store = store_of(&config);
        store_bytes.push(disk_usage(&store));
        std::fs::remove_dir_all(&store).unwrap();
    }
    store_bytes.sort();
    let listing = &served.listing;
    let store = store_bytes[store_bytes.len() / 2];
    let mut rows = cost_rows::baseline(&pairs, store, listing.conversations, listing.json_bytes);
    rows.push(cost_rows::baseline_peak(peak));
    // Values as format 3 kept them (the record without its id, two bytes of revision and the
    // id's place) and as format 4 does (tokenized: about 92 bytes, see `store/tokens.rs`).
    let untokenized =
        (listing.json_bytes / listing.conversations) as usize - cost_sled::ID_BYTES + 2;
    let floor = median(pairs.iter().map(|p| p.1).collect());
    for value in [untokenized, cost_sled::TOKENIZED_BYTES] {
        let (sled, bytes) = cost_sled::sled_alone(bench, listing.conversations as usize, value);
        rows.extend(cost_rows::sled_alone(&floor, &sled, bytes, value, listing));
    }
    rows
}

/// What `du` says a directory takes on disk: the blocks of every file under it, in bytes.
pub fn disk_usage(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = entry.metadata().unwrap();
        total += meta.blocks() * 512;
        if meta.is_dir() {
            total += disk_usage(&entry.path());
        }
    }
    total
}

/// The median of pairs' ratios, by `of`.
pub fn ratio(pairs: &[(Sample, Sample)], of: fn(&Sample) -> f64) -> f64 {
    median_of(pairs.iter().map(|(ours, floor)| of(ours) / of(floor)))
}
