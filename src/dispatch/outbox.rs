//! The hand-off between the poller and the dispatcher. The poller gives the [`Outbox`] its
//! events and commits; the outbox decides which sinks get an entry (their filters), commits the
//! entries with the state that produced them, wakes the workers of the sinks it queued for, and
//! knows which polls are still queueing (flood summaries wait for a poll to end).

use crate::config::Filter;
use crate::event::Event;
use crate::store::{Commit, OutboxEntry, Store, StoreError};
use chrono::Utc;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// A sink as the outbox sees it: which events it wants, and how to wake its worker.
struct Route {
    sink: String,
    filter: Option<Filter>,
    /// Keeps one message per conversation (Slack app mode): once its filter took an event of a
    /// conversation, it gets every later event of it, whatever the filter says, so that the
    /// message can show the conversation as it is now.
    tracks: bool,
    wake: Arc<Notify>,
}

/// See the module docs. Shared (`Arc`) by the poller, the workers and the endpoints.
pub struct Outbox {
    store: Store,
    routes: Vec<Route>,
    by_name: HashMap<String, usize>,
    open: Mutex<BTreeSet<u64>>,
}

/// A poll that is still queueing entries; it closes when dropped (also when a listing is
/// cancelled or panics), which releases its entries to sinks that judge floods per poll.
pub struct OpenPoll {
    outbox: Arc<Outbox>,
    number: u64,
}

impl OpenPoll {
    /// The poll's number (entries carry it).
    pub fn number(&self) -> u64 {
        self.number
    }
}

impl Drop for OpenPoll {
    fn drop(&mut self) {
        self.outbox.open_set().remove(&self.number);
        self.outbox.wake_all();
    }
}

impl Outbox {
    /// An outbox over `store` for these sinks, each with its filter (`None` takes everything).
    pub fn new<'a>(
        store: Store,
        sinks: impl IntoIterator<Item = (&'a str, Option<Filter>)>,
    ) -> Self {
        let routes: Vec<Route> = sinks
            .into_iter()
            .map(|(sink, filter)| Route {
                sink: sink.to_string(),
                filter,
                tracks: false,
                wake: Arc::new(Notify::new()),
            })
            .collect();
        let by_name = routes
            .iter()
            .enumerate()
            .map(|(i, r)| (r.sink.clone(), i))
            .collect();
        Outbox {
            store,
            routes,
            by_name,
            open: Mutex::new(BTreeSet::new()),
        }
    }

    /// Marks `sinks` as keeping one message per conversation (see [`Route::tracks`]).
    pub fn tracking(mut self, sinks: &[&str]) -> Self {
        for route in &mut self.routes {
            route.tracks |= sinks.contains(&route.sink.as_str());
        }
        self
    }

    /// Numbers a new poll (kept across restarts) and marks it open until the guard is dropped.
    pub fn open_poll(self: &Arc<Self>) -> Result<OpenPoll, StoreError> {
        let number = self.store.next_poll()?;
        self.open_set().insert(number);
        Ok(OpenPoll {
            outbox: self.clone(),
            number,
        })
    }

    /// Whether poll `number` is still queueing. Polls of an earlier process are closed.
    pub fn is_open(&self, number: u64) -> bool {
        self.open_set().contains(&number)
    }

    fn open_set(&self) -> MutexGuard<'_, BTreeSet<u64>> {
        // The set stays consistent whatever panicked while it was held: it is one insert or remove.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One entry per sink whose filter takes the event, carrying `poll`.
    pub fn route(&self, event: Event, poll: u64) -> Vec<(String, OutboxEntry)> {
        let taking = self.routes.iter().filter(|r| {
            let matches = r.filter.as_ref().is_none_or(|f| f.matches(&event));
            if r.tracks {
                self.tracked(r, &event, matches)
            } else {
                matches
            }
        });
        entries(&event, taking.map(|r| r.sink.as_str()), poll)
    }

    /// One entry for each of `sinks` that is configured, whatever their filters say (a reminder
    /// step names its sinks), carrying `poll`.
    pub fn route_to(
        &self,
        event: Event,
        sinks: &[String],
        poll: u64,
    ) -> Vec<(String, OutboxEntry)> {
        let named = sinks.iter().filter(|s| match self.by_name.get(s.as_str()) {
            Some(i) if self.routes[*i].tracks => self.tracked(&self.routes[*i], &event, true),
            Some(_) => true,
            None => false,
        });
        entries(&event, named.map(String::as_str), poll)
    }

    /// Whether a tracking sink takes the event: its filter does (and the conversation is
    /// tracked from now on), or the conversation is tracked already. Written before the commit
    /// that queues the entry: a commit that then fails leaves a reference without a message,
    /// which only means later events of that conversation are queued and then skipped. When the
    /// store cannot be read, the filter decides. A notice (about a sink) belongs to no conversation.
    fn tracked(&self, route: &Route, event: &Event, matches: bool) -> bool {
        if event.notice.is_some() {
            return matches;
        }
        let (org, conversation) = (&event.data.org_id, event.data.conversation.id());
        let known = if matches {
            self.store.track_message(&route.sink, org, conversation)
        } else {
            self.store.tracks_message(&route.sink, org, conversation)
        };
        known.map(|known| known || matches).unwrap_or_else(|error| {
            tracing::warn!(sink = route.sink, %error, "cannot read the message references");
            matches
        })
    }

    /// Commits state and entries in one atomic step, then wakes the sinks that got entries.
    pub fn commit(&self, org: &str, commit: &Commit) -> Result<(), StoreError> {
        self.store.commit(org, commit)?;
        for route in &self.routes {
            if commit.outbox.iter().any(|(sink, _)| *sink == route.sink) {
                route.wake.notify_one();
            }
        }
        Ok(())
    }

    /// What wakes `sink`'s worker (a fresh, unconnected one for an unknown sink).
    pub fn wake_handle(&self, sink: &str) -> Arc<Notify> {
        self.by_name
            .get(sink)
            .map(|i| self.routes[*i].wake.clone())
            .unwrap_or_default()
    }

    /// Wakes `sink`'s worker (an entry was re-queued, the sink was enabled, …).
    pub fn wake(&self, sink: &str) {
        if let Some(i) = self.by_name.get(sink) {
            self.routes[*i].wake.notify_one();
        }
    }

    /// Wakes every worker.
    pub fn wake_all(&self) {
        for route in &self.routes {
            route.wake.notify_one();
        }
    }

    /// Entries waiting for the configured sinks (from counters, not a scan).
    pub fn pending(&self) -> usize {
        self.routes
            .iter()
            .map(|r| self.store.outbox_depth(&r.sink))
            .sum()
    }
}

/// The event's entry for each of `sinks`, queued now by poll `poll`.
fn entries<'a>(
    event: &Event,
    sinks: impl Iterator<Item = &'a str>,
    poll: u64,
) -> Vec<(String, OutboxEntry)> {
    let now = Utc::now();
    sinks
        .map(|sink| {
            let entry = OutboxEntry {
                poll,
                ..OutboxEntry::new(event.clone(), now)
            };
            (sink.to_string(), entry)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox() -> (tempfile::TempDir, Arc<Outbox>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s"), 4).unwrap();
        (
            dir,
            Arc::new(Outbox::new(store, [("a", None), ("b", None)])),
        )
    }

    #[test]
    fn a_poll_is_open_until_its_guard_is_dropped_and_numbers_grow() {
        let (_dir, outbox) = outbox();
        let first = outbox.open_poll().unwrap();
        let second = outbox.open_poll().unwrap();
        assert!(second.number() > first.number());
        let number = first.number();
        assert!(outbox.is_open(number));
        drop(first);
        assert!(!outbox.is_open(number));
        assert!(
            outbox.is_open(second.number()),
            "closing one poll leaves the other open"
        );
    }

    #[tokio::test]
    async fn closing_a_poll_wakes_every_worker() {
        let (_dir, outbox) = outbox();
        let (a, b) = (outbox.wake_handle("a"), outbox.wake_handle("b"));
        drop(outbox.open_poll().unwrap());
        let woken = tokio::time::timeout(std::time::Duration::from_secs(1), async {
            a.notified().await;
            b.notified().await;
        });
        assert!(woken.await.is_ok());
    }
}
