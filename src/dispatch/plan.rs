//! Which deliveries the due entries of a sink make: one per entry, one summary for a poll that
//! brought more than the sink's flood limit, or one digest per ended time window. Pure.

use crate::sinks::{Batch, Batching};
use crate::store::OutboxEntry;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// One delivery to make.
#[derive(Debug, Clone, PartialEq)]
pub enum Unit {
    /// One event.
    One(u64, Box<OutboxEntry>),
    /// Several events in one message.
    Batch(Batch, Vec<(u64, OutboxEntry)>),
}

/// The deliveries to make now, and what waits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// To deliver now, in order.
    pub units: Vec<Unit>,
    /// Entries held back (their poll is still running, or their digest window is still open).
    pub held: usize,
    /// When a held digest window ends.
    pub wake_at: Option<DateTime<Utc>>,
}

/// What flood control needs to know of a sink's entries.
pub struct Grouping<'a> {
    /// Whether a poll is still queueing entries: entries of open polls wait, so a flood is
    /// judged on the whole poll.
    pub open_poll: Box<dyn Fn(u64) -> bool + 'a>,
    /// Whether an entry queued at this time waited for the sink's window: all such entries are
    /// judged as one group when the window opens (a night's 200 alerts make one summary).
    pub waited: Box<dyn Fn(DateTime<Utc>) -> bool + 'a>,
}

impl Grouping<'_> {
    /// Every poll closed, no window.
    pub fn plain() -> Grouping<'static> {
        Grouping {
            open_poll: Box::new(|_| false),
            waited: Box::new(|_| false),
        }
    }
}

/// Plans the due entries of one sink.
pub fn plan(
    due: Vec<(u64, OutboxEntry)>,
    batching: Batching,
    grouping: &Grouping<'_>,
    now: DateTime<Utc>,
) -> Plan {
    match batching {
        Batching::Single => Plan {
            units: due
                .into_iter()
                .map(|(seq, e)| Unit::One(seq, Box::new(e)))
                .collect(),
            ..Plan::default()
        },
        Batching::Flood { max } => flood(due, max, grouping),
        Batching::Digest { window } => digest(due, window, now),
    }
}

fn flood(due: Vec<(u64, OutboxEntry)>, max: usize, grouping: &Grouping<'_>) -> Plan {
    // `None`: the entries that waited for the window, one group; `Some(poll)`: one per poll.
    let mut groups: BTreeMap<Option<u64>, Vec<(u64, OutboxEntry)>> = BTreeMap::new();
    for (seq, entry) in due {
        let group = (!(grouping.waited)(entry.enqueued_at)).then_some(entry.poll);
        groups.entry(group).or_default().push((seq, entry));
    }
    let mut out = Plan::default();
    for (group, entries) in groups {
        if group.is_some_and(|poll| (grouping.open_poll)(poll)) {
            out.held += entries.len();
        } else if entries.len() > max {
            out.units.push(Unit::Batch(Batch::Summary, entries));
        } else {
            out.units.extend(
                entries
                    .into_iter()
                    .map(|(seq, e)| Unit::One(seq, Box::new(e))),
            );
        }
    }
    out
}

fn digest(due: Vec<(u64, OutboxEntry)>, window: std::time::Duration, now: DateTime<Utc>) -> Plan {
    let width = (window.as_millis() as i64).max(1);
    let mut windows: BTreeMap<i64, Vec<(u64, OutboxEntry)>> = BTreeMap::new();
    for (seq, entry) in due {
        windows
            .entry(entry.enqueued_at.timestamp_millis().div_euclid(width))
            .or_default()
            .push((seq, entry));
    }
    let mut out = Plan::default();
    for (index, entries) in windows {
        let start = DateTime::from_timestamp_millis(index * width).unwrap_or(now);
        let end = DateTime::from_timestamp_millis((index + 1) * width).unwrap_or(now);
        if end > now {
            out.held += entries.len();
            out.wake_at = Some(out.wake_at.map_or(end, |at| at.min(end)));
        } else {
            out.units
                .push(Unit::Batch(Batch::Digest { start, end }, entries));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::sample_event;

    fn entries(poll: u64, count: usize, at: DateTime<Utc>) -> Vec<(u64, OutboxEntry)> {
        (0..count)
            .map(|i| {
                (
                    poll * 1000 + i as u64,
                    OutboxEntry {
                        poll,
                        ..OutboxEntry::new(sample_event(), at)
                    },
                )
            })
            .collect()
    }

    #[test]
    fn a_poll_over_the_flood_limit_becomes_one_summary_and_a_small_one_stays_single() {
        let now = Utc::now();
        let mut due = entries(1, 60, now);
        due.extend(entries(2, 3, now));
        let plan = plan(due, Batching::Flood { max: 10 }, &Grouping::plain(), now);
        assert_eq!(plan.units.len(), 4);
        assert!(matches!(&plan.units[0], Unit::Batch(Batch::Summary, group) if group.len() == 60));
        assert!(plan.units[1..].iter().all(|u| matches!(u, Unit::One(..))));
    }

    #[test]
    fn entries_of_a_poll_still_running_wait_for_it_to_close() {
        let now = Utc::now();
        let grouping = Grouping {
            open_poll: Box::new(|poll| poll == 5),
            ..Grouping::plain()
        };
        let plan = plan(
            entries(5, 4, now),
            Batching::Flood { max: 10 },
            &grouping,
            now,
        );
        assert_eq!((plan.units.len(), plan.held), (0, 4));
    }

    #[test]
    fn entries_that_waited_for_the_window_are_judged_as_one_group_whatever_their_polls() {
        let now = Utc::now();
        let night = now - chrono::Duration::hours(8);
        let mut due = Vec::new();
        for poll in 1..=20 {
            due.extend(entries(poll, 5, night));
        }
        due.extend(entries(30, 2, now));
        let grouping = Grouping {
            waited: Box::new(move |at| at < now - chrono::Duration::hours(1)),
            ..Grouping::plain()
        };
        let plan = plan(due, Batching::Flood { max: 10 }, &grouping, now);
        assert!(matches!(&plan.units[0], Unit::Batch(Batch::Summary, group) if group.len() == 100));
        assert_eq!(
            plan.units.len(),
            3,
            "one summary for the night, the fresh two alone"
        );
    }

    #[test]
    fn a_digest_sends_each_ended_window_once_and_waits_for_the_open_one() {
        let now = DateTime::parse_from_rfc3339("2026-11-24T10:25:00Z")
            .unwrap()
            .to_utc();
        let mut due = entries(1, 3, now - chrono::Duration::minutes(12));
        due.extend(entries(2, 2, now - chrono::Duration::minutes(1)));
        let plan = plan(
            due,
            Batching::Digest {
                window: std::time::Duration::from_secs(600),
            },
            &Grouping::plain(),
            now,
        );
        assert_eq!(plan.held, 2);
        assert_eq!(
            plan.wake_at.unwrap().to_rfc3339(),
            "2026-11-24T10:30:00+00:00"
        );
        match &plan.units[..] {
            [Unit::Batch(Batch::Digest { start, end }, group)] => {
                assert_eq!(
                    (
                        start.to_rfc3339().as_str(),
                        end.to_rfc3339().as_str(),
                        group.len()
                    ),
                    ("2026-11-24T10:10:00+00:00", "2026-11-24T10:20:00+00:00", 3)
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
