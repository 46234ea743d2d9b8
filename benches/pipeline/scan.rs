//! scan: a steady-state poll (0.5 % changed) against a bare listing of the same pages (same
//! client, same parsing, no diff, no store). store: what a poll writes for 0 %, 0.5 % and 50 %
//! changed.

use crate::measure::{measure, median, Row, Sample};
use crate::{change, Bench, Lcg, IDLE_SINK};
use hyperrep_notifier::api::ApiClient;
use hyperrep_notifier::metrics::Metrics;
use hyperrep_notifier::simulator::Simulator;
use hyperrep_notifier::App;
use tokio_util::sync::CancellationToken;

/// Every page of every org, one org after the other, parsed and dropped.
async fn bare_listing(client: &ApiClient, sim: &Simulator) -> usize {
    let (cancel, mut seen) = (CancellationToken::new(), 0);
    for org in sim.org_ids() {
        let mut cursor: Option<String> = None;
        loop {
            let page = client
                .list_page(&org, cursor.as_deref(), &cancel)
                .await
                .expect("a page");
            seen += page.conversations.len();
            match (page.has_more, page.next_cursor) {
                (true, Some(next)) => cursor = Some(next),
                _ => break,
            }
        }
    }
    seen
}

/// `cache_mb`: sled's cache when not the default (32 MiB).
pub fn scan(bench: &Bench, orgs: usize, per_org: usize, cache_mb: Option<u64>) -> Vec<Row> {
    let sim = bench.simulator(orgs, per_org);
    let name = format!("scan-{orgs}-{}", cache_mb.unwrap_or(0));
    let extra = format!("[poll]\nconcurrency = 4\n{IDLE_SINK}");
    let mut config = bench.config(&sim, &name, &extra);
    if let Some(cache_mb) = cache_mb {
        config.store.cache_mb = cache_mb;
    }
    let client = ApiClient::new(&config.api, Metrics::new()).unwrap();
    let app = App::build(config).unwrap();
    let cancel = CancellationToken::new();
    bench.rt.block_on(app.poll_once(&cancel));
    let (mut ours, mut bare, mut rng) = (Vec::new(), Vec::new(), Lcg(7));
    for _ in 0..3 {
        change(&sim, 0.005, &mut rng);
        let (reports, sample) = measure(|| bench.rt.block_on(app.poll_once(&cancel)));
        assert!(reports.iter().all(|r| r.complete), "{reports:?}");
        ours.push(sample);
        bare.push(measure(|| bench.rt.block_on(bare_listing(&client, &sim))).1);
    }
    let cache = cache_mb.map_or(String::new(), |mb| format!(", cache {mb} MiB"));
    rows(
        &format!("{} conv, {orgs} org(s){cache}", orgs * per_org),
        orgs,
        orgs * per_org,
        median(ours),
        median(bare),
    )
}

fn rows(case: &str, orgs: usize, total: usize, ours: Sample, bare: Sample) -> Vec<Row> {
    let per_second = |s: std::time::Duration| total as f64 / s.as_secs_f64();
    let mut rows = vec![
        Row::new("scan", case, "poll wall", ours.wall.as_secs_f64(), "s"),
        Row::new(
            "scan",
            case,
            "bare listing wall",
            bare.wall.as_secs_f64(),
            "s",
        ),
        Row::new(
            "scan",
            case,
            "conversations/s (wall)",
            per_second(ours.wall),
            "conv/s",
        ),
        Row::new(
            "scan",
            case,
            "conversations per CPU-second",
            per_second(ours.cpu),
            "conv/s",
        )
        .target(false, 100_000.0),
    ];
    if orgs == 1 {
        rows.push(
            Row::new(
                "scan",
                case,
                "wall / bare listing",
                ours.wall.as_secs_f64() / bare.wall.as_secs_f64(),
                "x",
            )
            .target(true, 1.3),
        );
        rows.push(
            Row::new(
                "scan",
                case,
                "CPU / bare listing",
                ours.cpu.as_secs_f64() / bare.cpu.as_secs_f64(),
                "x",
            )
            .target(true, 1.3),
        );
    } else {
        let ratio = ours.wall.as_secs_f64() / bare.wall.as_secs_f64();
        rows.push(
            Row::new(
                "scan",
                case,
                "wall (concurrency 4) / sequential bare",
                ratio,
                "x",
            )
            .target(true, 1.0),
        );
    }
    rows
}

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
        let snapshots: usize = reports.iter().map(|r| r.written).sum();
        let snapshot_row = Row::new(
            "store",
            &case,
            "conversation snapshots written",
            snapshots as f64,
            "keys",
        );
        rows.push(if changed == 0 {
            snapshot_row.target(true, 0.0)
        } else {
            snapshot_row
        });
        let writes = (after.writes - before.writes) as f64;
        rows.push(Row::new(
            "store",
            &case,
            "keys written (with outbox, org state)",
            writes,
            "keys",
        ));
        rows.push(Row::new(
            "store",
            &case,
            "bytes written",
            (after.bytes_written - before.bytes_written) as f64,
            "bytes",
        ));
        rows.push(Row::new(
            "store",
            &case,
            "point reads",
            (after.reads - before.reads) as f64,
            "reads",
        ));
        if changed > 0 {
            rows.push(Row::new(
                "store",
                &case,
                "keys written per change",
                writes / changed as f64,
                "keys",
            ));
        }
    }
    rows
}
