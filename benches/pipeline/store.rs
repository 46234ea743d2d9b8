//! store: what a steady-state poll of 20,000 conversations writes and reads for 0 %, 0.5 % and
//! 50 % changed.

use crate::measure::Row;
use crate::{change, Bench, Lcg, IDLE_SINK};
use hyperrep_notifier::App;
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
