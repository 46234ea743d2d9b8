//! Retry schedules as data: exponential backoff with full jitter, and `Retry-After` parsing.
//! Shared by the HyperRep client and the dispatcher, so both back off the same way. Also [`ago`],
//! the one way retention and time arguments turn a span into the instant it reaches back to.

use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::Duration;

/// The instant `span` before `now`; `None` when that is before any time chrono can hold (a
/// retention of centuries reaches back to nothing).
pub fn ago(now: DateTime<Utc>, span: Duration) -> Option<DateTime<Utc>> {
    chrono::Duration::from_std(span)
        .ok()
        .and_then(|span| now.checked_sub_signed(span))
}

/// Exponential backoff from `initial` doubling up to `max`, with full jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first wait.
    pub initial: Duration,
    /// The ceiling of every wait.
    pub max: Duration,
}

impl Backoff {
    /// The ceiling for the wait after `failures` failed attempts (1 = after the first failure).
    pub fn ceiling(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(32);
        self.initial
            .saturating_mul(1u32 << doublings.min(31))
            .min(self.max)
    }

    /// A wait drawn uniformly from zero to the ceiling ("full jitter"), so that many clients that
    /// failed together do not retry together.
    pub fn delay(&self, failures: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(failures);
        let millis = ceiling.as_millis().min(u64::MAX as u128) as u64;
        Duration::from_millis(rng.random_range(0..=millis))
    }
}

/// The `Retry-After` header as a wait: delta-seconds or an HTTP date (past dates are zero).
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = DateTime::parse_from_rfc2822(text).ok()?.with_timezone(&Utc);
    Some((when - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn the_ceiling_doubles_from_initial_and_stops_at_max() {
        let backoff = Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(600),
        };
        let ceilings: Vec<u64> = (1..=12).map(|n| backoff.ceiling(n).as_secs()).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);
        assert_eq!(backoff.ceiling(1000), Duration::from_secs(600));
    }

    #[test]
    fn jittered_delays_stay_within_the_ceiling_and_vary() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
        };
        let mut rng = rand::rng();
        let delays: Vec<Duration> = (0..200).map(|_| backoff.delay(4, &mut rng)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(800)));
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 10, "full jitter spreads the retries");
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
            .unwrap()
            .to_utc();
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Tue, 24 Nov 2026 10:00:30 GMT"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(30)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }
}
