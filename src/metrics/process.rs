//! The standard `process_*` metrics (CPU seconds, memory, file descriptors, start time), read
//! from `/proc/self` at each scrape, under the names every Prometheus client library uses so
//! that existing dashboards and alerts apply. Where `/proc` cannot be read (not Linux), they
//! are left out rather than reported as 0.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// `/proc/self/stat` counts CPU time and the start time in clock ticks of USER_HZ, which Linux
/// fixes at 100 for user space on every architecture (procfs readers such as Prometheus' own
/// Go client rely on the same constant), so no `sysconf` call is needed.
const TICKS_PER_SECOND: f64 = 100.0;

/// Reads the process metrics on each scrape.
#[derive(Debug, Default)]
pub struct ProcessCollector;

/// One reading of the process metrics.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Reading {
    pub cpu_seconds: f64,
    pub start_time_seconds: Option<f64>,
    pub resident_bytes: Option<f64>,
    pub virtual_bytes: Option<f64>,
    pub open_fds: Option<f64>,
    pub max_fds: Option<f64>,
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(r) = read() else { return Ok(()) };
        let cpu = ConstCounter::new(r.cpu_seconds);
        let help = "Total user and system CPU time spent in seconds.";
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            help,
            None,
            cpu.metric_type(),
        )?)?;
        for (name, help, value) in gauges(&r) {
            if let Some(value) = value {
                let gauge = ConstGauge::new(value);
                gauge.encode(encoder.encode_descriptor(
                    name,
                    help,
                    None,
                    gauge.metric_type(),
                )?)?;
            }
        }
        Ok(())
    }
}

/// The gauges of a reading: name, help, value (`None`: not read).
fn gauges(r: &Reading) -> [(&'static str, &'static str, Option<f64>); 5] {
    [
        (
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            r.start_time_seconds,
        ),
        (
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            r.resident_bytes,
        ),
        (
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            r.virtual_bytes,
        ),
        (
            "process_open_fds",
            "Number of open file descriptors.",
            r.open_fds,
        ),
        (
            "process_max_fds",
            "Maximum number of open file descriptors.",
            r.max_fds,
        ),
    ]
}

/// The process metrics now, `None` without a readable `/proc/self/stat`.
fn read() -> Option<Reading> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let boot = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| boot_time(&s));
    let mut reading = parse_stat(&stat, boot)?;
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        reading.resident_bytes = status_kib(&status, "VmRSS:").map(|k| k * 1024.0);
        reading.virtual_bytes = status_kib(&status, "VmSize:").map(|k| k * 1024.0);
    }
    reading.open_fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as f64);
    reading.max_fds = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| max_open_files(&l));
    Some(reading)
}

/// CPU seconds and start time from `/proc/self/stat`; `boot` is the boot time (Unix seconds).
pub(crate) fn parse_stat(stat: &str, boot: Option<f64>) -> Option<Reading> {
    // The command name (field 2) is in parentheses and may hold spaces and parentheses itself:
    // the fields that follow start after the last `)`, with the state (field 3) first.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<f64>().ok();
    let cpu_ticks = field(14)? + field(15)?;
    Some(Reading {
        cpu_seconds: cpu_ticks / TICKS_PER_SECOND,
        start_time_seconds: boot.zip(field(22)).map(|(b, t)| b + t / TICKS_PER_SECOND),
        ..Reading::default()
    })
}

/// `btime` of `/proc/stat`: when the machine booted (Unix seconds).
pub(crate) fn boot_time(proc_stat: &str) -> Option<f64> {
    proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// A `kB` line of `/proc/self/status` (`VmRSS:   1234 kB`).
pub(crate) fn status_kib(status: &str, key: &str) -> Option<f64> {
    let line = status.lines().find_map(|l| l.strip_prefix(key))?;
    line.split_whitespace().next()?.parse().ok()
}

/// The soft limit of `Max open files` in `/proc/self/limits`.
pub(crate) fn max_open_files(limits: &str) -> Option<f64> {
    let line = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (tokio (worker) 1) S 1 4242 4242 0 -1 4194560 2000 0 0 0 \
                        250 150 0 0 20 0 9 0 360000 123456789 2345 18446744073709551615";

    #[test]
    fn cpu_seconds_and_start_time_are_read_past_a_command_name_with_spaces_and_parentheses() {
        let reading = parse_stat(STAT, Some(1_700_000_000.0)).unwrap();
        assert_eq!(reading.cpu_seconds, 4.0);
        assert_eq!(reading.start_time_seconds, Some(1_700_003_600.0));
    }

    #[test]
    fn memory_boot_time_and_the_fd_limit_are_read_from_their_proc_files() {
        let status = "Name:\tx\nVmSize:\t  20480 kB\nVmRSS:\t    1024 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(1024.0));
        assert_eq!(status_kib(status, "VmSize:"), Some(20480.0));
        assert_eq!(
            boot_time("cpu 1 2 3\nbtime 1700000000\n"),
            Some(1_700_000_000.0)
        );
        let limits = "Limit Soft Limit Hard Limit Units\nMax open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024.0));
    }

    #[test]
    fn this_process_reads_as_running_with_memory_and_descriptors() {
        let reading = read().expect("/proc is readable on Linux");
        assert!(
            reading.resident_bytes.unwrap() > 1024.0 * 1024.0,
            "{reading:?}"
        );
        assert!(reading.open_fds.unwrap() >= 3.0, "{reading:?}");
        assert!(
            reading.max_fds.unwrap() >= reading.open_fds.unwrap(),
            "{reading:?}"
        );
        let now = chrono::Utc::now().timestamp() as f64;
        let started = reading.start_time_seconds.unwrap();
        assert!(
            started <= now + 1.0 && started > now - 86_400.0,
            "{reading:?}"
        );
    }
}
