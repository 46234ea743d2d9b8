//! scan-reminders: issue 12's target. The steady-state poll of `scan` (100,000 conversations in
//! one org, 0.5 % changed) with a `[[reminders]]` rule that 5,000 of them are in, against the same
//! poll without reminders, in the same process and over the same simulator, so both see the same
//! pages and changes and the machine's drift (±15 % CPU between runs) weighs on both alike.

use crate::measure::{measure, median, median_of, Row, Sample};
use crate::scan::{bare_listing, PAIRS};
use crate::{change, Bench, Lcg, IDLE_SINK};
use hyperrep_notifier::api::ApiClient;
use hyperrep_notifier::metrics::Metrics;
use hyperrep_notifier::simulator::Simulator;
use hyperrep_notifier::App;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const TOTAL: usize = 100_000;
/// Conversations in the reminder's state: every 20th one, spread over the pages.
const IN_STATE: usize = 5_000;
/// Steps far later than any generated conversation's age (at most 30 days), so none is due
/// during the benchmark and no event is queued: this measures the clocks' cost, not sending.
const REMINDER: &str = "[[reminders]]\nname = \"unread-inbox\"\n\
    when = { folder = [\"inbox\"], is_read = false }\n\
    steps = [{ after = \"90d\", sinks = [\"idle\"] }, { after = \"120d\", sinks = [\"idle\"] }]\n";

type Pair = ((Sample, Sample), usize);

/// One round: the poll with reminders and the one without, each paired with a bare listing.
struct Round {
    plain: (Sample, Sample),
    reminders: (Sample, Sample),
}

/// Puts exactly [`IN_STATE`] conversations unread in the inbox and the rest read in the archive.
/// New activity (`touch`) makes a conversation unread but leaves its folder, so the count holds
/// through the changes between polls.
fn shape(sim: &Simulator) {
    let org = &sim.org_ids()[0];
    for (i, record) in sim.conversations(org).iter().enumerate() {
        let id = record["conversation_id"].as_str().expect("an id");
        let inbox = i % (TOTAL / IN_STATE) == 0;
        let folder = if inbox { "inbox" } else { "archived" };
        sim.set_field(org, id, "folder", Value::from(folder));
        sim.set_field(org, id, "is_read", Value::from(!inbox));
    }
}

/// An app over `sim` with `extra` configuration, after its baseline poll.
fn baselined(bench: &Bench, sim: &Simulator, store: &str, extra: &str) -> App {
    let extra = format!("[poll]\nconcurrency = 4\n{IDLE_SINK}{extra}");
    let app = App::build(bench.config(sim, store, &extra)).unwrap();
    let reports = bench.rt.block_on(app.poll_once(&CancellationToken::new()));
    assert!(reports.iter().all(|r| r.complete), "{reports:?}");
    app
}

/// One poll of `app`, then a bare listing right after it; and the events the poll queued.
fn pair(bench: &Bench, app: &App, client: &ApiClient, sim: &Simulator) -> Pair {
    let cancel = CancellationToken::new();
    let (reports, ours) = measure(|| bench.rt.block_on(app.poll_once(&cancel)));
    assert!(reports.iter().all(|r| r.complete), "{reports:?}");
    let events = reports.iter().map(|r| r.events).sum();
    let (_, bare) = measure(|| bench.rt.block_on(bare_listing(client, sim)));
    ((ours, bare), events)
}

/// Rounds of 0.5 % changed, then both polls, in alternating order so neither is always first.
pub fn scan_reminders(bench: &Bench) -> Vec<Row> {
    let sim = bench.simulator(1, TOTAL);
    shape(&sim);
    let plain = baselined(bench, &sim, "scan-plain", "");
    let reminding = baselined(bench, &sim, "scan-reminders", REMINDER);
    let clocks = reminding.store.reminder_overview().unwrap();
    let running = clocks.get("unread-inbox").map(|(count, _)| *count);
    assert_eq!(running, Some(IN_STATE), "{clocks:?}");
    let client = ApiClient::new(&plain.config.api, Metrics::new()).unwrap();
    let (mut rounds, mut rng) = (Vec::new(), Lcg(7));
    for i in 0..PAIRS {
        change(&sim, 0.005, &mut rng);
        let poll = |app: &App| pair(bench, app, &client, &sim);
        let (without, with) = if i % 2 == 0 {
            let first = poll(&plain);
            (first, poll(&reminding))
        } else {
            let first = poll(&reminding);
            (poll(&plain), first)
        };
        // The same changes, and no step due: the same update events, no reminder among them.
        assert_eq!(without.1, with.1, "events without and with reminders");
        rounds.push(Round {
            plain: without.0,
            reminders: with.0,
        });
    }
    let clocks = reminding.store.reminder_overview().unwrap();
    let running = clocks.get("unread-inbox").map(|(count, _)| *count);
    assert_eq!(running, Some(IN_STATE), "{clocks:?}");
    rows(&rounds)
}

fn ratio(rounds: &[Round], of: impl Fn(&Round) -> (Sample, Sample), cpu: bool) -> f64 {
    let time = |s: Sample| if cpu { s.cpu } else { s.wall }.as_secs_f64();
    median_of(rounds.iter().map(|r| {
        let (top, bottom) = of(r);
        time(top) / time(bottom)
    }))
}

fn rows(rounds: &[Round]) -> Vec<Row> {
    let case = format!("{TOTAL} conv, {IN_STATE} reminding");
    let row = |metric: &str, value: f64, unit: &str| Row::new("scan", &case, metric, value, unit);
    let poll = median(rounds.iter().map(|r| r.reminders.0).collect());
    let per_cpu_second = TOTAL as f64 / poll.cpu.as_secs_f64();
    let vs_plain = |cpu| ratio(rounds, |r| (r.reminders.0, r.plain.0), cpu);
    vec![
        row("poll wall", poll.wall.as_secs_f64(), "s"),
        row("conversations per CPU-second", per_cpu_second, "conv/s").target(false, 100_000.0),
        row(
            "wall / bare listing",
            ratio(rounds, |r| r.reminders, false),
            "x",
        )
        .target(true, 1.3),
        row(
            "CPU / bare listing",
            ratio(rounds, |r| r.reminders, true),
            "x",
        )
        .target(true, 1.3),
        row(
            "no reminders: CPU / bare",
            ratio(rounds, |r| r.plain, true),
            "x",
        ),
        row("wall / scan without reminders", vs_plain(false), "x"),
        row("CPU / scan without reminders", vs_plain(true), "x").target(true, 1.3),
    ]
}
