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
            "atomic commits",
            (after.commits - before.commits) as f64,
            "commits",
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
