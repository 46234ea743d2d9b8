//! The service in `cost`, as a user runs it: the release binary as a real process. The daemon
//! (`run`, admin on, polls only when `POST /admin/poll` asks) with its CPU read from /proc, and
//! cron mode (`run --once`, a fresh process each time) with its CPU from `wait4`.

use crate::cost_pages::Served;
use crate::measure::{run_child_peak, Sample};
use crate::Bench;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_hyperrep-notifier");
const ADMIN_TOKEN: &str = "bench-admin-token";
/// Longest any one poll (or the baseline) may take before the bench gives up.
const LIMIT: Duration = Duration::from_secs(60);

/// Writes the configuration of one service (its own store and listen address) as a user would:
/// pages of 100, no rate ceiling in the way, polls only when asked, one webhook sink.
pub fn write_config(bench: &Bench, name: &str, served: &Served, hook: &str) -> PathBuf {
    let orgs: String = served
        .listing
        .orgs
        .iter()
        .map(|id| format!("[[orgs]]\nid = \"{id}\"\n"))
        .collect();
    let store = bench.dir.path().join(format!("{name}-store"));
    let listen = free_port();
    let text = format!(
        "[api]\nbase_url = \"{}\"\napi_key = \"bench-key\"\npage_size = 100\n\
         requests_per_second = 1000000\ntimeout = \"60s\"\n\
         [poll]\ninterval = \"1h\"\n[store]\npath = {:?}\n\
         [server]\nlisten = \"{listen}\"\nadmin_token = \"{ADMIN_TOKEN}\"\n{orgs}\
         [[sinks]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{hook}\"\n",
        served.base_url,
        store.display().to_string()
    );
    let path = bench.dir.path().join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// A loopback address nobody listens on (a moment ago).
fn free_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// The store directory a configuration names.
pub fn store_of(config: &Path) -> PathBuf {
    let text = std::fs::read_to_string(config).unwrap();
    let line = text.lines().find(|l| l.starts_with("path = ")).unwrap();
    PathBuf::from(line["path = ".len()..].trim_matches('"'))
}

fn binary(config: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(["--config", config.to_str().unwrap()])
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// One `run --once`: a fresh process, its wall and CPU time.
pub fn cron(config: &Path) -> Sample {
    cron_peak(config).0
}

/// [`cron`], and the process's peak resident memory in bytes.
pub fn cron_peak(config: &Path) -> (Sample, u64) {
    let (ok, sample, peak) = run_child_peak(&mut binary(config, &["run", "--once"]));
    assert!(ok, "run --once failed");
    (sample, peak)
}

/// A daemon's CPU time so far: per thread (nanoseconds, from schedstat), and the process's
/// total in clock ticks (which keeps the threads that have ended).
#[derive(Default)]
struct Cpu {
    threads: HashMap<String, u64>,
    ticks: u64,
}

fn read_cpu(pid: u32) -> Cpu {
    let mut threads = HashMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        let nanos = stat.split_whitespace().next().and_then(|n| n.parse().ok());
        threads.insert(
            task.file_name().to_string_lossy().into(),
            nanos.unwrap_or(0),
        );
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // After the command name in parentheses: utime and stime are the 12th and 13th fields.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<u64> = after
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    Cpu {
        threads,
        ticks: fields[11] + fields[12],
    }
}

/// CPU time between two readings: exact from the threads when none of them ended, else from
/// the process's ticks.
fn cpu_between(before: &Cpu, after: &Cpu) -> Duration {
    if before.threads.keys().all(|t| after.threads.contains_key(t)) {
        let nanos = after
            .threads
            .iter()
            .map(|(t, n)| n.saturating_sub(before.threads.get(t).copied().unwrap_or(0)))
            .sum();
        return Duration::from_nanos(nanos);
    }
    ticks(after.ticks.saturating_sub(before.ticks))
}

/// Clock ticks as time.
fn ticks(ticks: u64) -> Duration {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_secs_f64(ticks as f64 / hz as f64)
}

/// Where a daemon stood before a poll: its polls (complete, incomplete), webhooks received,
/// pages served.
struct Before {
    polls: (u64, u64),
    hits: u64,
    pages: u64,
}

/// The daemon, a child process, and a client for its endpoints (on the `sim` thread).
pub struct Daemon {
    child: Child,
    base: String,
    orgs: u64,
    client: reqwest::Client,
}

impl Daemon {
    /// Starts `run` and waits for its first poll (the baseline) of every org: its wall time,
    /// and its CPU time (the whole process from its start, the baseline and the start-up).
    pub fn start(bench: &Bench, config: &Path, orgs: usize) -> (Daemon, Sample) {
        let text = std::fs::read_to_string(config).unwrap();
        let listen = text.lines().find(|l| l.starts_with("listen = ")).unwrap();
        let base = format!("http://{}", listen["listen = ".len()..].trim_matches('"'));
        let started = Instant::now();
        let child = binary(config, &["run"]).spawn().unwrap();
        let daemon = Daemon {
            child,
            base,
            orgs: orgs as u64,
            client: reqwest::Client::new(),
        };
        let mut polls = 0;
        while polls < daemon.orgs {
            assert!(
                started.elapsed() < LIMIT,
                "the daemon's baseline took too long"
            );
            std::thread::sleep(Duration::from_millis(10));
            polls = daemon.completed(bench).map_or(0, |p| p.0);
        }
        let wall = started.elapsed();
        // What the baseline set off (its last flush, sled's writes) is its cost too.
        let cpu = ticks(daemon.settle(&Cpu::default()).ticks);
        (daemon, Sample { wall, cpu })
    }

    /// Waits until the daemon is idle again (less than 1 ms of CPU in 50 ms): its CPU then.
    fn settle(&self, from: &Cpu) -> Cpu {
        let mut last = read_cpu(self.child.id());
        for _ in 0..200 {
            std::thread::sleep(Duration::from_millis(50));
            let now = read_cpu(self.child.id());
            if cpu_between(&last, &now) < Duration::from_millis(1) {
                return now;
            }
            last = now;
        }
        panic!(
            "the daemon did not go idle ({:?} since the start)",
            cpu_between(from, &last)
        )
    }

    /// Polls of orgs so far (`hyperrep_notifier_polls_total`), complete and incomplete, or
    /// nothing while the endpoint does not answer yet.
    fn completed(&self, bench: &Bench) -> Option<(u64, u64)> {
        let text = self.metrics(bench)?;
        let sum = |outcome: &str| {
            let outcome = format!("outcome=\"{outcome}\"");
            let lines = text.lines().filter(|l| {
                l.starts_with("hyperrep_notifier_polls_total{") && l.contains(&outcome)
            });
            let values = lines.filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok());
            values.sum::<f64>() as u64
        };
        Some((sum("complete"), sum("incomplete")))
    }

    /// The text of `/metrics`, unless it does not answer.
    fn metrics(&self, bench: &Bench) -> Option<String> {
        let url = format!("{}/metrics", self.base);
        bench.sim_rt.block_on(async {
            let response = self.client.get(&url).send().await.ok()?;
            response.text().await.ok()
        })
    }

    /// What explains a poll that did not finish: its events, deliveries and outbox.
    fn explain(&self, bench: &Bench) -> String {
        let text = self.metrics(bench).unwrap_or_default();
        let lines = text.lines().filter(|l| {
            !l.starts_with('#')
                && ["_events_total", "_deliveries_total", "_outbox"]
                    .iter()
                    .any(|m| l.contains(m))
        });
        lines.collect::<Vec<_>>().join("\n")
    }

    /// One poll asked for by `POST /admin/poll`, until every org's listing is complete and
    /// `changes` more webhooks have reached `hits`: its wall time, and the process's CPU time
    /// until it is idle again (what the poll set off, like the store's flush, is its cost).
    pub fn poll(&self, bench: &Bench, served: &Served, hits: &AtomicU64, changes: u64) -> Sample {
        let before = Before {
            polls: self.completed(bench).unwrap(),
            hits: hits.load(Ordering::SeqCst),
            pages: served.listing.requests(),
        };
        let (cpu, started) = (read_cpu(self.child.id()), Instant::now());
        let url = format!("{}/admin/poll", self.base);
        let asked = bench
            .sim_rt
            .block_on(self.client.post(url).bearer_auth(ADMIN_TOKEN).send());
        assert!(
            asked.unwrap().status().is_success(),
            "POST /admin/poll refused"
        );
        self.wait_done(bench, served, hits, &before, changes, started);
        let wall = started.elapsed();
        let cpu = cpu_between(&cpu, &self.settle(&cpu));
        Sample { wall, cpu }
    }

    /// Waits until the poll is listed, delivered and complete; panics, saying how far it got,
    /// when it is not within `LIMIT`.
    fn wait_done(
        &self,
        bench: &Bench,
        served: &Served,
        hits: &AtomicU64,
        before: &Before,
        changes: u64,
        started: Instant,
    ) {
        // Watch from outside first (no scrape while the daemon lists), then scrape closely.
        let pages = || served.listing.requests() - before.pages;
        let delivered = || hits.load(Ordering::SeqCst) - before.hits;
        let listed = || pages() >= served.listing.pages_per_poll && delivered() >= changes;
        while !listed() && started.elapsed() < LIMIT {
            std::thread::sleep(Duration::from_millis(1));
        }
        let (polls, mut now) = (before.polls, self.completed(bench).unwrap());
        while now.0 < polls.0 + self.orgs && now.1 == polls.1 && started.elapsed() < LIMIT {
            std::thread::sleep(Duration::from_millis(2));
            now = self.completed(bench).unwrap();
        }
        assert!(
            listed() && now.0 == polls.0 + self.orgs && now.1 == polls.1,
            "the poll did not complete: polls {polls:?} -> {now:?}, {} pages, {} webhooks\n{}",
            pages(),
            delivered(),
            self.explain(bench)
        );
    }

    /// Stops it as a signal would, and checks that it stopped cleanly.
    pub fn stop(mut self) {
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert!(
            self.child.wait().unwrap().success(),
            "the daemon did not stop cleanly"
        );
    }
}
