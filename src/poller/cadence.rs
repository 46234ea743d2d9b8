//! Each org on its own schedule: an org is polled `poll.interval` after the start of its own last
//! poll (at once when that poll overran), so a slow or rate-limited org delays nobody else. An org
//! whose polls keep failing waits `interval × 2^failures`, capped at `poll.max_failure_delay`,
//! and is back to its rhythm after one success. `poll.concurrency` bounds the listings in flight.
//!
//! [`Cadence`] and [`due_orgs`] are the pure core (durations and instants in, decisions out);
//! [`poll_on_cadence`] is the loop around them.

use super::{poll_org, OrgReport, PollContext};
use crate::config::OrgConfig;
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The schedule rules, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    /// From the start of one poll of an org to the start of its next.
    pub interval: Duration,
    /// The longest wait after failed polls.
    pub max_failure_delay: Duration,
}

impl Cadence {
    /// The wait from the start of a poll to the next, after `failures` consecutive failed polls
    /// (0: the last one succeeded).
    pub fn delay(&self, failures: u32) -> Duration {
        if failures == 0 {
            return self.interval;
        }
        let factor = 1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX);
        self.interval
            .saturating_mul(factor)
            .min(self.max_failure_delay.max(self.interval))
    }
}

/// Where one org stands in the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// When it is due.
    pub next: Instant,
    /// Consecutive failed polls.
    pub failures: u32,
    /// A listing is in flight.
    pub running: bool,
}

impl Slot {
    /// Due at once: the first poll after a start.
    pub fn new(now: Instant) -> Slot {
        Slot {
            next: now,
            failures: 0,
            running: false,
        }
    }

    /// Records the end of a listing that started at `started`.
    pub fn finished(&mut self, cadence: &Cadence, started: Instant, failed: bool) {
        self.running = false;
        self.failures = if failed { self.failures + 1 } else { 0 };
        self.next = later(started, cadence.delay(self.failures));
    }
}

/// `at + wait`, or a century later for a wait beyond what an instant can hold (a configured
/// interval of a billion years must not panic).
fn later(at: Instant, wait: Duration) -> Instant {
    at.checked_add(wait)
        .or_else(|| at.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(at)
}

/// The idle orgs due at `now`, most overdue first, at most `room` of them.
pub fn due_orgs(slots: &[Slot], now: Instant, room: usize) -> Vec<usize> {
    let mut due: Vec<usize> = (0..slots.len())
        .filter(|&i| !slots[i].running && slots[i].next <= now)
        .collect();
    due.sort_by_key(|&i| slots[i].next);
    due.truncate(room);
    due
}

/// When the earliest idle org is due (`None`: every org is listing).
pub fn next_wake(slots: &[Slot]) -> Option<Instant> {
    slots.iter().filter(|s| !s.running).map(|s| s.next).min()
}

/// A listing failed when it did not complete; a stop by shutdown is not a failure.
fn failed(report: &OrgReport, cancel: &CancellationToken) -> bool {
    !cancel.is_cancelled() && (!report.complete || report.error.is_some())
}

/// Polls every org on its own cadence until `cancel`; `poll_now` makes every idle org due at once
/// (`POST /admin/poll`). Listings in flight at shutdown stop at their next page.
pub async fn poll_on_cadence(
    ctx: &PollContext,
    orgs: &[OrgConfig],
    cadence: Cadence,
    poll_now: &Notify,
    cancel: &CancellationToken,
) {
    let mut slots = vec![Slot::new(Instant::now()); orgs.len()];
    let mut running = FuturesUnordered::new();
    let room = ctx.concurrency.max(1);
    while !cancel.is_cancelled() {
        for i in due_orgs(&slots, Instant::now(), room - running.len()) {
            slots[i].running = true;
            running.push(async move {
                let started = Instant::now();
                (i, started, poll_org(ctx, &orgs[i], cancel).await)
            });
        }
        let wake_at = next_wake(&slots).filter(|_| running.len() < room);
        tokio::select! {
            _ = cancel.cancelled() => break,
            Some((i, started, report)) = running.next(), if !running.is_empty() => {
                let slot: &mut Slot = &mut slots[i];
                slot.finished(&cadence, started, failed(&report, cancel));
                if slot.failures > 0 {
                    let wait = cadence.delay(slot.failures);
                    tracing::info!(org = %orgs[i].id, failures = slot.failures,
                        next_in_s = wait.as_secs_f64(), "org failed again; waiting longer");
                }
                if let Err(error) = ctx.store.flush().await {
                    tracing::error!(%error, "cannot flush the store");
                }
            }
            _ = poll_now.notified() => {
                tracing::info!("poll requested");
                let now = Instant::now();
                slots.iter_mut().filter(|s| !s.running).for_each(|s| s.next = now);
            }
            _ = tokio::time::sleep_until(wake_at.unwrap_or_else(Instant::now)), if wake_at.is_some() => {}
        }
    }
    while running.next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CADENCE: Cadence = Cadence {
        interval: Duration::from_secs(60),
        max_failure_delay: Duration::from_secs(600),
    };

    #[test]
    fn failures_double_the_wait_up_to_the_cap_and_one_success_restores_the_rhythm() {
        let waits: Vec<u64> = (0..7).map(|f| CADENCE.delay(f).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 600, 600, 600]);
        let start = Instant::now();
        let mut slot = Slot::new(start);
        for _ in 0..5 {
            slot.finished(&CADENCE, start, true);
        }
        assert_eq!(slot.next - start, Duration::from_secs(600));
        slot.finished(&CADENCE, start, false);
        assert_eq!((slot.failures, slot.next - start), (0, CADENCE.interval));
    }

    #[test]
    fn the_next_poll_counts_from_the_start_of_the_last_so_an_overrun_is_due_at_once() {
        let start = Instant::now();
        let mut slot = Slot::new(start);
        slot.running = true;
        // The listing took longer than the interval: the org is due as soon as it ends.
        let ended = start + Duration::from_secs(90);
        slot.finished(&CADENCE, start, false);
        assert_eq!(due_orgs(&[slot], ended, 4), [0]);
    }

    #[test]
    fn a_busy_org_is_never_started_twice_and_the_most_overdue_go_first() {
        let now = Instant::now();
        let mut slots = vec![Slot::new(now); 4];
        slots[0].running = true;
        slots[1].next = now - Duration::from_secs(5);
        slots[3].next = now + Duration::from_secs(5);
        assert_eq!(due_orgs(&slots, now, 10), [1, 2]);
        assert_eq!(due_orgs(&slots, now, 1), [1]);
        assert_eq!(next_wake(&slots), Some(now - Duration::from_secs(5)));
    }

    #[test]
    fn an_interval_too_long_for_an_instant_does_not_panic() {
        let huge = Cadence {
            interval: Duration::MAX,
            max_failure_delay: Duration::MAX,
        };
        let start = Instant::now();
        let mut slot = Slot::new(start);
        slot.finished(&huge, start, true);
        assert!(slot.next > start);
    }

    proptest! {
        #[test]
        fn the_wait_is_never_shorter_than_the_interval_nor_longer_than_the_cap(
            interval in 1u64..100_000, cap in 0u64..1_000_000, failures in 0u32..200
        ) {
            let cadence = Cadence {
                interval: Duration::from_millis(interval),
                max_failure_delay: Duration::from_millis(cap),
            };
            let wait = cadence.delay(failures);
            prop_assert!(wait >= cadence.interval);
            prop_assert!(wait <= cadence.interval.max(cadence.max_failure_delay));
        }
    }
}
