//! Measuring: wall time, the notifier's CPU time (the process minus the simulator's threads),
//! peak memory of child processes, percentiles, and the report (a table and JSON).

use serde::Serialize;
use std::time::{Duration, Instant};

/// Wall and CPU time of one measured piece of work.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub wall: Duration,
    pub cpu: Duration,
}

fn rusage(who: libc::c_int) -> libc::rusage {
    // SAFETY: getrusage writes into the zeroed struct we own.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage
    }
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

/// CPU time of every thread whose name starts with `prefix` (nanoseconds from schedstat).
fn threads_cpu(prefix: &str) -> Duration {
    let mut total = Duration::ZERO;
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        let nanos: u64 = stat
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        total += Duration::from_nanos(nanos);
    }
    total
}

/// CPU time of this process except the simulator's and receivers' threads (named `sim`).
pub fn notifier_cpu() -> Duration {
    let usage = rusage(libc::RUSAGE_SELF);
    (timeval(usage.ru_utime) + timeval(usage.ru_stime)).saturating_sub(threads_cpu("sim"))
}

/// Runs `work`, measuring its wall time and the notifier's CPU time.
pub fn measure<T>(work: impl FnOnce() -> T) -> (T, Sample) {
    let (cpu, wall) = (notifier_cpu(), Instant::now());
    let out = work();
    (
        out,
        Sample {
            wall: wall.elapsed(),
            cpu: notifier_cpu().saturating_sub(cpu),
        },
    )
}

/// The `VmHWM` (peak resident memory of its own address space) of the running process `pid`,
/// in bytes; 0 once it is gone.
fn high_water(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status.lines().find(|l| l.starts_with("VmHWM:"));
    let kb: u64 = hwm
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    kb * 1024
}

/// Waits for `child`, returning its peak resident memory in bytes: the `VmHWM` of its own
/// address space, read from /proc while it runs. (`ru_maxrss` would report the parent's size:
/// Linux folds the spawning address space's high-water mark into the child's on exec, and this
/// benchmark's parent holds the simulated conversations.)
pub fn wait_peak_rss(child: &mut std::process::Child) -> (std::process::ExitStatus, u64) {
    let mut peak = 0;
    loop {
        peak = peak.max(high_water(child.id()));
        if let Some(status) = child.try_wait().unwrap() {
            return (status, peak);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `command` to its end: whether it succeeded, its wall time from spawn to exit, and its
/// CPU time (user + system, every thread, from `wait4`).
pub fn run_child(command: &mut std::process::Command) -> (bool, Sample) {
    let (ok, sample, _) = run_child_peak(command);
    (ok, sample)
}

/// [`run_child`], and the child's peak resident memory in bytes (its `VmHWM` while it runs, as
/// [`wait_peak_rss`] reads it: not `ru_maxrss`, which holds this process's own size). The
/// memory is read on a thread of its own, so that the wall time ends when the child does.
pub fn run_child_peak(command: &mut std::process::Command) -> (bool, Sample, u64) {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let started = Instant::now();
    // The child is reaped by `wait4` below, never by `Child` (dropping it does not wait).
    let pid = command.spawn().unwrap().id();
    let (done, peak) = (AtomicBool::new(false), AtomicU64::new(0));
    let mut status: libc::c_int = 0;
    // SAFETY: a plain C struct, all zeros is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let wall = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                peak.fetch_max(high_water(pid), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        // SAFETY: waiting for our own child, into a status and a rusage we own.
        let waited = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
        let wall = started.elapsed();
        done.store(true, Ordering::SeqCst);
        assert_eq!(waited, pid as libc::pid_t, "wait4 failed");
        wall
    });
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let cpu = timeval(usage.ru_utime) + timeval(usage.ru_stime);
    (ok, Sample { wall, cpu }, peak.into_inner())
}

/// The median of samples by wall time.
pub fn median(mut samples: Vec<Sample>) -> Sample {
    samples.sort_by_key(|s| s.wall);
    samples[samples.len() / 2]
}

/// The median of plain values (ratios).
pub fn median_of(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The `p`-th percentile (0..=100) of `values`.
pub fn percentile(values: &mut [Duration], p: f64) -> Duration {
    values.sort();
    let rank = ((p / 100.0) * (values.len().saturating_sub(1)) as f64).round() as usize;
    values.get(rank).copied().unwrap_or_default()
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub bench: String,
    pub case: String,
    pub metric: String,
    pub value: f64,
    pub unit: String,
    /// The target, as text (e.g. `<= 1.3`), when there is one.
    pub target: Option<String>,
    /// Whether the value meets it.
    pub met: Option<bool>,
}

impl Row {
    pub fn new(bench: &str, case: &str, metric: &str, value: f64, unit: &str) -> Row {
        Row {
            bench: bench.into(),
            case: case.into(),
            metric: metric.into(),
            value,
            unit: unit.into(),
            target: None,
            met: None,
        }
    }

    /// Attaches a target: `at_most` or at least `limit`.
    pub fn target(mut self, at_most: bool, limit: f64) -> Row {
        self.met = Some(if at_most {
            self.value <= limit
        } else {
            self.value >= limit
        });
        self.target = Some(format!("{} {limit}", if at_most { "<=" } else { ">=" }));
        self
    }
}

/// Prints the table and writes `target/bench-results.json`.
pub fn report(rows: &[Row]) {
    println!(
        "\n{:<8} {:<28} {:<34} {:>14} {:<10} {:<12} met",
        "bench", "case", "metric", "value", "unit", "target"
    );
    for r in rows {
        let met = r.met.map_or("", |m| if m { "yes" } else { "NO" });
        println!(
            "{:<8} {:<28} {:<34} {:>14.3} {:<10} {:<12} {met}",
            r.bench,
            r.case,
            r.metric,
            r.value,
            r.unit,
            r.target.as_deref().unwrap_or("")
        );
    }
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target").into());
    let path = std::path::Path::new(&target_dir).join("bench-results.json");
    let json = serde_json::json!({ "machine": machine(), "rows": rows });
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    println!("\nwritten to {}", path.display());
}

fn machine() -> serde_json::Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_string();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    serde_json::json!({ "cpu": model, "cores": cores, "date": chrono::Utc::now().to_rfc3339() })
}
