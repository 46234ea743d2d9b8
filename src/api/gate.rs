//! The `Retry-After` gate: one "not before" instant shared by every request made with the API key
//! (all orgs, every poll), so that upstream's request to wait is honoured beyond the retries of
//! the one request that got it. The wait is capped by `api.max_retry_after`.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// A gate pushed later by less than this is not announced again: concurrent requests that get
/// the same `Retry-After` a few milliseconds apart are one episode, not several.
const ANNOUNCE_STEP: Duration = Duration::from_secs(1);

/// The fallback hold when the configured cap cannot be added to the clock (an absurd cap).
const FALLBACK_HOLD: Duration = Duration::from_secs(24 * 3600);

/// The shared "not before" instant; clones share it.
#[derive(Clone, Debug)]
pub(crate) struct Gate {
    not_before: Arc<Mutex<Option<Instant>>>,
    cap: Duration,
}

impl Gate {
    /// An open gate whose holds last at most `cap`.
    pub(crate) fn new(cap: Duration) -> Self {
        Gate {
            not_before: Arc::new(Mutex::new(None)),
            cap,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Instant>> {
        self.not_before
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Holds every request until `wait` (capped) from now. A hold only ever moves later.
    /// Returns the hold actually applied, from now.
    pub(crate) fn hold(&self, wait: Duration) -> Duration {
        let now = Instant::now();
        let until = not_before(now, wait, self.cap);
        let mut gate = self.lock();
        let previous = gate.filter(|t| *t > now);
        let until = previous.map_or(until, |p| p.max(until));
        *gate = Some(until);
        drop(gate);
        let announce = previous.is_none_or(|p| until.duration_since(p) >= ANNOUNCE_STEP);
        let held = until.duration_since(now);
        if announce {
            tracing::warn!(
                wait_s = held.as_secs_f64().ceil() as u64,
                asked_s = wait.as_secs(),
                "HyperRep asked to wait (Retry-After); holding every request with this API key"
            );
        }
        held
    }

    /// Whether a request may go out now.
    pub(crate) fn is_open(&self) -> bool {
        self.lock().is_none_or(|t| t <= Instant::now())
    }

    /// Waits until the gate is open (not cancellable itself: wrap it).
    pub(crate) async fn wait(&self) {
        loop {
            let until = {
                let mut gate = self.lock();
                match *gate {
                    None => return,
                    Some(t) if t <= Instant::now() => {
                        // The first request through ends the episode, so it is said once.
                        *gate = None;
                        tracing::info!("the Retry-After wait is over; requests resume");
                        return;
                    }
                    Some(t) => t,
                }
            };
            // Checked again after the sleep: another answer may have pushed the gate later.
            tokio::time::sleep_until(until).await;
        }
    }
}

/// `now + min(wait, cap)`, without overflow: an instant the clock cannot represent falls back
/// to a day ahead, and, failing that, to now.
pub(crate) fn not_before(now: Instant, wait: Duration, cap: Duration) -> Instant {
    [wait.min(cap), FALLBACK_HOLD.min(cap)]
        .into_iter()
        .find_map(|hold| now.checked_add(hold))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backoff::retry_after;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    const TEN_MINUTES: Duration = Duration::from_secs(600);

    #[test]
    fn a_wait_is_capped_and_a_huge_one_neither_overflows_nor_panics() {
        let now = Instant::now();
        let secs = Duration::from_secs;
        assert_eq!(not_before(now, secs(5), TEN_MINUTES), now + secs(5));
        assert_eq!(
            not_before(now, secs(u64::MAX), TEN_MINUTES),
            now + TEN_MINUTES
        );
        assert_eq!(
            not_before(now, Duration::MAX, TEN_MINUTES),
            now + TEN_MINUTES
        );
        let absurd_cap = not_before(now, Duration::MAX, Duration::MAX);
        assert_eq!(absurd_cap, now + FALLBACK_HOLD, "a day ahead, not a panic");
    }

    #[test]
    fn a_far_future_http_date_or_u64_max_seconds_is_held_for_the_cap() {
        let now = chrono::Utc::now();
        for text in [
            "18446744073709551615",
            "99999999999",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_static(text));
            let wait = retry_after(&headers, now).expect("a Retry-After");
            let held = Gate::new(Duration::from_secs(3)).hold(wait);
            assert!(held <= Duration::from_secs(3), "{text}: {held:?}");
            assert!(held > Duration::from_secs(2), "{text}: {held:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_retry_after_pushes_the_gate_later_and_an_earlier_one_does_not() {
        let gate = Gate::new(TEN_MINUTES);
        let started = Instant::now();
        gate.hold(Duration::from_secs(10));
        assert_eq!(gate.hold(Duration::from_secs(2)), Duration::from_secs(10));
        assert!(!gate.is_open());
        gate.wait().await;
        assert_eq!(started.elapsed(), Duration::from_secs(10));
        assert!(gate.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_notices_when_the_gate_is_pushed_later_while_it_waits() {
        let gate = Gate::new(TEN_MINUTES);
        let started = Instant::now();
        gate.hold(Duration::from_secs(1));
        let pusher = gate.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            pusher.hold(Duration::from_secs(5));
        });
        gate.wait().await;
        assert!(started.elapsed() >= Duration::from_millis(5500));
    }
}
