//! scan: a steady-state poll (0.5 % changed) against a bare listing of the same pages (same
//! client, same parsing, no diff, no store), measured in pairs, one right after the other.

use crate::measure::{measure, median, median_of, Row, Sample};
use crate::{change, Bench, Lcg, IDLE_SINK};
use hyperrep_notifier::api::ApiClient;
use hyperrep_notifier::metrics::Metrics;
use hyperrep_notifier::simulator::Simulator;
use hyperrep_notifier::App;
use tokio_util::sync::CancellationToken;

/// Pairs measured per case; the figures are medians (ratios: the median of the pairs' ratios,
/// so a slow moment of the machine weighs on both sides of one pair only).
pub const PAIRS: usize = 11;

/// Every page of every org, one org after the other, parsed and dropped.
pub async fn bare_listing(client: &ApiClient, sim: &Simulator) -> usize {
    let (cancel, mut seen) = (CancellationToken::new(), 0);
    for org in sim.org_ids() {
        let mut cursor: Option<String> = None;
        loop {
            let page = client
                .list_page(&org, cursor.as_deref(), &cancel)
                .await
                .expect("a page");
            seen += page.len();
            match (page.has_more, page.next_cursor) {
                (true, Some(next)) => cursor = Some(next),
                _ => break,
            }
        }
    }
    seen
}

/// How a poll finds the fingerprints of what the store holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Prints {
    /// The steady state of a running daemon: learned by the polls before.
    Warm,
    /// The first poll after a start, and every `run --once`: each conversation is read.
    Cold,
}

/// Polls of `orgs` x `per_org` conversations, 0.5 % changed before each, paired with bare
/// listings of the same pages.
pub fn scan(bench: &Bench, orgs: usize, per_org: usize, prints: Prints) -> Vec<Row> {
    let sim = bench.simulator(orgs, per_org);
    let cold = prints == Prints::Cold;
    let name = format!("scan-{orgs}-{}", if cold { "cold" } else { "warm" });
    let extra = format!("[poll]\nconcurrency = 4\n{IDLE_SINK}");
    let config = bench.config(&sim, &name, &extra);
    let client = ApiClient::new(&config.api, Metrics::new()).unwrap();
    let app = App::build(config).unwrap();
    let cancel = CancellationToken::new();
    bench.rt.block_on(app.poll_once(&cancel));
    let (mut pairs, mut rng) = (Vec::new(), Lcg(7));
    for _ in 0..PAIRS {
        change(&sim, 0.005, &mut rng);
        if cold {
            app.store.forget_fingerprints();
        }
        let (reports, ours) = measure(|| bench.rt.block_on(app.poll_once(&cancel)));
        assert!(reports.iter().all(|r| r.complete), "{reports:?}");
        let (_, bare) = measure(|| bench.rt.block_on(bare_listing(&client, &sim)));
        pairs.push((ours, bare));
    }
    let first = if cold { ", first poll" } else { "" };
    let case = format!("{} conv, {orgs} org(s){first}", orgs * per_org);
    Figures {
        case,
        orgs,
        total: orgs * per_org,
        targeted: !cold,
    }
    .rows(&pairs)
}

/// What the rows of one case are about.
struct Figures {
    case: String,
    orgs: usize,
    total: usize,
    /// Whether the targets apply (the steady state) or the figures only inform.
    targeted: bool,
}

impl Figures {
    fn row(&self, metric: &str, value: f64, unit: &str, target: Option<(bool, f64)>) -> Row {
        let row = Row::new("scan", &self.case, metric, value, unit);
        match target {
            Some((at_most, limit)) if self.targeted => row.target(at_most, limit),
            _ => row,
        }
    }

    fn rows(&self, pairs: &[(Sample, Sample)]) -> Vec<Row> {
        let ours = median(pairs.iter().map(|p| p.0).collect());
        let bare = median(pairs.iter().map(|p| p.1).collect());
        let cpu = median_of(
            pairs
                .iter()
                .map(|(o, b)| o.cpu.as_secs_f64() / b.cpu.as_secs_f64()),
        );
        let wall = median_of(
            pairs
                .iter()
                .map(|(o, b)| o.wall.as_secs_f64() / b.wall.as_secs_f64()),
        );
        let per_second = |s: std::time::Duration| self.total as f64 / s.as_secs_f64();
        let mut rows = vec![
            self.row("poll wall", ours.wall.as_secs_f64(), "s", None),
            self.row("bare listing wall", bare.wall.as_secs_f64(), "s", None),
            self.row(
                "conversations/s (wall)",
                per_second(ours.wall),
                "conv/s",
                None,
            ),
            self.row(
                "conversations per CPU-second",
                per_second(ours.cpu),
                "conv/s",
                Some((false, 100_000.0)),
            ),
        ];
        if self.orgs == 1 {
            rows.push(self.row("wall / bare listing", wall, "x", Some((true, 1.3))));
            rows.push(self.row("CPU / bare listing", cpu, "x", Some((true, 1.3))));
        } else {
            let metric = "wall (concurrency 4) / sequential bare";
            rows.push(self.row(metric, wall, "x", Some((true, 1.0))));
        }
        rows
    }
}
