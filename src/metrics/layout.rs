//! What the configuration tells the metrics before anything happens: which orgs and sinks
//! there are (their series exist at 0 from the start, so `rate()`, `increase()` and alerts work
//! before the first failure), the orgs' readable names, and the timeouts that bound the
//! histograms' buckets.

use crate::config::Config;
use std::time::Duration;

/// The orgs, sinks and durations the metrics are laid out for.
#[derive(Clone, Debug)]
pub struct Layout {
    /// `(id, name)` of every org; the name is the configured one, or the id.
    pub orgs: Vec<(String, String)>,
    /// Every sink's name.
    pub sinks: Vec<String>,
    /// The sinks outside their delivery window when the layout was made: their window gauge
    /// starts at 0 (the others at 1), until a scrape reads the windows again.
    pub closed: Vec<String>,
    /// `(name, number of steps)` of every reminder.
    pub reminders: Vec<(String, u32)>,
    /// `api.timeout`: the API latency buckets reach past it.
    pub api_timeout: Duration,
    /// `poll.interval`, exported so that alerts can say "3 intervals" without a copy of it.
    pub poll_interval: Duration,
}

impl Default for Layout {
    /// No orgs or sinks, and the configuration's default durations.
    fn default() -> Self {
        Layout {
            orgs: Vec::new(),
            sinks: Vec::new(),
            closed: Vec::new(),
            reminders: Vec::new(),
            api_timeout: Duration::from_secs(15),
            poll_interval: Duration::from_secs(60),
        }
    }
}

impl From<&Config> for Layout {
    fn from(config: &Config) -> Self {
        Layout {
            orgs: config
                .orgs
                .iter()
                .map(|o| (o.id.clone(), o.label().to_string()))
                .collect(),
            sinks: config.sinks.iter().map(|s| s.name().to_string()).collect(),
            closed: closed_sinks(config, chrono::Utc::now()),
            reminders: config
                .reminders
                .iter()
                .map(|r| {
                    (
                        r.name.clone(),
                        u32::try_from(r.steps.len()).unwrap_or(u32::MAX),
                    )
                })
                .collect(),
            api_timeout: config.api.timeout,
            poll_interval: config.poll.interval,
        }
    }
}

/// The sinks whose `deliver_during` schedule is closed at `now`. A schedule the configuration
/// lacks is left to `check` to refuse: such a sink counts as open here, as it has no window.
fn closed_sinks(config: &Config, now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    let schedules = crate::app::schedules(config);
    let closed = config.sinks.iter().filter(|sink| {
        sink.deliver_during()
            .and_then(|name| schedules.get(name))
            .is_some_and(|schedule| !schedule.is_open(now))
    });
    closed.map(|sink| sink.name().to_string()).collect()
}

/// Upper bounds of the API latency buckets: doubling from 5 ms up to the first bound beyond
/// `timeout`. A request cut off by the timeout takes a little longer than it, so it still lands
/// in a finite bucket, and the slowest answers are told apart from the timed-out ones.
pub fn api_buckets(timeout: Duration) -> Vec<f64> {
    let timeout = timeout.as_secs_f64();
    let mut buckets = vec![0.005];
    while let Some(&last) = buckets.last().filter(|&&b| b <= timeout) {
        buckets.push(last * 2.0);
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_buckets_end_past_the_timeout_for_short_and_long_timeouts() {
        for secs in [0.001, 2.0, 15.0, 30.0, 120.0] {
            let buckets = api_buckets(Duration::from_secs_f64(secs));
            let last = *buckets.last().unwrap();
            assert!(
                last > secs && last <= 2.0 * secs.max(0.005),
                "{secs}: {buckets:?}"
            );
        }
    }
}
