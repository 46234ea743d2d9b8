//! `cargo bench --bench pipeline [-- scan scan-reminders store store-size deliver backlog memory start
//! cost]`:
//! the pipeline over the simulator on loopback, with the notifier on one core (a current-thread
//! runtime on the main thread) and the simulator and receivers on another thread named `sim`,
//! whose CPU time is not counted. Prints a table and writes `target/bench-results.json`.

mod backlog;
mod cost;
mod cost_floor;
mod cost_pages;
mod cost_peer;
mod cost_rows;
mod cost_service;
mod cost_sled;
mod daemon;
mod deliver;
mod measure;
mod process;
mod reminders;
mod scan;
mod store;

use hyperrep_notifier::config::{load_str, Config};
use hyperrep_notifier::simulator::{SimConfig, Simulator};
use measure::Row;
use tokio::runtime::Runtime;

/// The two runtimes and a scratch directory.
pub struct Bench {
    /// The notifier's: one thread, the caller's.
    pub rt: Runtime,
    /// The simulator's and receivers'.
    pub sim_rt: Runtime,
    pub dir: tempfile::TempDir,
}

impl Bench {
    fn new() -> Bench {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sim_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sim")
            .enable_all()
            .build()
            .unwrap();
        Bench {
            rt,
            sim_rt,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A simulator of `orgs` × `per_org` conversations.
    pub fn simulator(&self, orgs: usize, per_org: usize) -> Simulator {
        let config = SimConfig {
            orgs,
            conversations_per_org: per_org,
            seed: 1,
            api_key: "bench-key".into(),
        };
        self.sim_rt.block_on(Simulator::start(config)).unwrap()
    }

    /// A configuration for `sim` with pages of 100, no rate ceiling in the way, a fresh store
    /// named `store`, and `extra` (which must bring the sinks).
    pub fn config(&self, sim: &Simulator, store: &str, extra: &str) -> Config {
        let orgs: String = sim
            .org_ids()
            .iter()
            .map(|id| format!("[[orgs]]\nid = \"{id}\"\n"))
            .collect();
        let toml = format!(
            "[api]\nbase_url = \"{}\"\napi_key = \"bench-key\"\npage_size = 100\nrequests_per_second = 1000000\ntimeout = \"60s\"\n\
             [store]\npath = {:?}\n{orgs}{extra}",
            sim.base_url(),
            self.dir.path().join(store).display().to_string()
        );
        load_str(&toml).unwrap()
    }
}

/// A sink that is never called (no workers run): scan and store benchmarks need one.
pub const IDLE_SINK: &str =
    "[[sinks]]\nname = \"idle\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\n";

/// A small deterministic generator.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % below as u64) as usize
    }
}

/// New activity on `fraction` of every org's conversations.
pub fn change(sim: &Simulator, fraction: f64, rng: &mut Lcg) -> usize {
    let mut changed = 0;
    for org in sim.org_ids() {
        let all = sim.conversations(&org);
        let count = (all.len() as f64 * fraction).round() as usize;
        for _ in 0..count {
            sim.touch(
                &org,
                all[rng.next(all.len())]["conversation_id"]
                    .as_str()
                    .unwrap(),
            );
        }
        changed += count;
    }
    changed
}

fn main() {
    hyperrep_notifier::install_crypto_provider();
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    let bench = Bench::new();
    let mut rows: Vec<Row> = Vec::new();
    if run("scan") {
        rows.extend(scan::scan(&bench, 1, 100_000, scan::Prints::Warm));
        rows.extend(scan::scan(&bench, 100, 1_000, scan::Prints::Warm));
        rows.extend(scan::scan(&bench, 1, 100_000, scan::Prints::Cold));
    }
    if run("scan-reminders") {
        rows.extend(reminders::scan_reminders(&bench));
    }
    if run("store") {
        rows.extend(store::store(&bench));
    }
    if run("store-size") {
        rows.extend(store::size(&bench));
    }
    if run("deliver") {
        rows.extend(deliver::deliver(&bench));
    }
    if run("backlog") {
        rows.extend(backlog::backlog(&bench));
    }
    if run("memory") {
        rows.extend(process::memory(&bench));
    }
    if run("start") {
        rows.extend(process::start(&bench));
    }
    if run("cost") {
        rows.extend(cost::cost(&bench));
    }
    // Part of `cost`: only when named.
    if wanted.iter().any(|w| w == "cost-baseline") {
        rows.extend(cost::first_poll(&bench));
    }
    if wanted.iter().any(|w| w == "cost-daemon") {
        rows.extend(cost::one_mode(&bench, cost::Mode::Daemon));
    }
    if wanted.iter().any(|w| w == "cost-cron") {
        rows.extend(cost::one_mode(&bench, cost::Mode::Cron));
    }
    measure::report(&rows);
}
