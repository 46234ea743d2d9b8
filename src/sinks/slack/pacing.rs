//! Slack's pace, about one message a second, is a limit per incoming-webhook URL and per channel
//! of the Web API: every sink that posts to one URL or channel takes its turns from one
//! [`Pacer`], handed out by [`Pacers`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;
use url::Url;

/// The shortest time between the starts of two messages to one webhook URL.
pub(crate) const PACE: Duration = Duration::from_secs(1);

/// One [`Pacer`] per webhook URL, shared by the sinks built with the same `Pacers`.
#[derive(Clone, Default)]
pub struct Pacers(Arc<Mutex<HashMap<String, Arc<Pacer>>>>);

impl Pacers {
    /// The pacer of `url`, created at its first use.
    pub(crate) fn for_url(&self, url: &Url) -> Arc<Pacer> {
        self.for_key(url.as_str().to_string())
    }

    /// The pacer of a channel of the Web API at `api`: app mode's limit (posts and thread
    /// replies) is about one message a second per channel, whichever sink or token posts.
    pub(crate) fn for_channel(&self, api: &Url, channel: &str) -> Arc<Pacer> {
        self.for_key(format!("{api} {channel}"))
    }

    fn for_key(&self, key: String) -> Arc<Pacer> {
        let mut pacers = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let pacer = pacers
            .entry(key)
            .or_insert_with(|| Arc::new(Pacer::new(PACE)));
        pacer.clone()
    }
}

// The keys are webhook URLs, which are secrets: `Debug` says how many, never which.
impl std::fmt::Debug for Pacers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.0.lock().unwrap_or_else(PoisonError::into_inner).len();
        write!(f, "Pacers({count} URLs)")
    }
}

/// Turns for one URL, `pace` apart.
pub(crate) struct Pacer {
    next: Mutex<Option<Instant>>,
    pace: Duration,
}

impl Pacer {
    pub(crate) fn new(pace: Duration) -> Self {
        Pacer {
            next: Mutex::new(None),
            pace,
        }
    }

    /// Waits for the caller's turn. Turns are reserved, not held: the wait is for the turns
    /// already taken, never for another sink's request to finish (a slow answer to one sink must
    /// not use up another's attempt time), and a cancelled wait only leaves a gap.
    pub(crate) async fn turn(&self) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let at = next.map_or(now, |next| next.max(now));
            *next = Some(at + self.pace);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinks_on_one_url_share_a_pacer_and_other_urls_get_their_own() {
        let pacers = Pacers::default();
        let url = |s: &str| Url::parse(s).unwrap();
        let a = pacers.for_url(&url("https://hooks.slack.com/services/T/B/one"));
        let again = pacers
            .clone()
            .for_url(&url("https://hooks.slack.com/services/T/B/one"));
        let other = pacers.for_url(&url("https://hooks.slack.com/services/T/B/two"));
        assert!(Arc::ptr_eq(&a, &again));
        assert!(!Arc::ptr_eq(&a, &other));
        assert!(!format!("{pacers:?}").contains("one"), "{pacers:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn turns_taken_at_once_by_three_senders_are_a_pace_apart() {
        let pacer = Arc::new(Pacer::new(Duration::from_secs(1)));
        let start = Instant::now();
        let turns = (0..3).map(|_| {
            let pacer = pacer.clone();
            tokio::spawn(async move {
                pacer.turn().await;
                Instant::now()
            })
        });
        let mut at: Vec<Instant> = Vec::new();
        for turn in turns.collect::<Vec<_>>() {
            at.push(turn.await.unwrap());
        }
        at.sort();
        assert_eq!(at[0], start, "the first turn does not wait");
        assert!(at[1] - at[0] >= Duration::from_secs(1) && at[2] - at[1] >= Duration::from_secs(1));
    }
}
