//! Disabling a sink after sustained failure (see README "Disabled sinks"): what an attempt's
//! outcome does to the sink's health ([`judge`], pure), recording it, and the `sink.disabled`
//! notice queued to `delivery.notify_sinks` in the same step as the disabling; enabling it.

use super::{Outcome, Worker};
use crate::event::SinkNotice;
use crate::sinks::Attempt;
use crate::store::{Disabled, OutboxEntry, SinkHealth, Store, StoreError};
use chrono::{DateTime, SubsecRound, Utc};
use std::time::Duration;

/// What an attempt's outcome changes in the sink's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// Nothing to write (the usual case: no write per attempt).
    Nothing,
    /// The first failure after a success (or ever): failures are counted from here.
    Failing(DateTime<Utc>),
    /// The first success after failures.
    Recovered,
    /// Disable the sink.
    Disable(Disabled),
}

/// What `attempt` at `now` does to a sink in `health`, for `delivery.disable_after` (`0`: never
/// by time). Throttling is neither failure nor success: the sink answered, and asked to wait.
pub(crate) fn judge(
    health: &SinkHealth,
    attempt: &Attempt,
    now: DateTime<Utc>,
    disable_after: Duration,
) -> Change {
    let gone = match attempt {
        Attempt::Delivered(_) if health.failing_since.is_some() => return Change::Recovered,
        Attempt::Delivered(_) | Attempt::Throttled { .. } => return Change::Nothing,
        _ if health.disabled.is_some() => return Change::Nothing,
        Attempt::Gone(detail) => Some(detail),
        Attempt::Retry { .. } | Attempt::Reject(_) => None,
    };
    let since = health.failing_since.unwrap_or(now);
    let failing_for = (now - since).to_std().unwrap_or_default();
    let reason = match gone {
        Some(detail) => format!("the endpoint answered {detail}"),
        None if !disable_after.is_zero() && failing_for >= disable_after => format!(
            "every attempt failed for {} (since {})",
            humantime::format_duration(disable_after),
            since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        None if health.failing_since.is_none() => return Change::Failing(now),
        None => return Change::Nothing,
    };
    Change::Disable(Disabled {
        since: now.trunc_subsecs(0),
        reason,
    })
}

/// Records what `attempt` at `now` changes in the worker's sink's health; on disabling, queues
/// the notice in the same step and wakes the sinks it goes to.
pub(super) fn record(
    worker: &Worker,
    attempt: &Attempt,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let name = worker.sink.name();
    let health = worker.store.sink_health(name);
    match judge(&health, attempt, now, worker.policy.disable_after) {
        Change::Nothing => Ok(()),
        Change::Failing(at) => worker.store.sink_failing(name, at),
        Change::Recovered => worker.store.sink_recovered(name),
        Change::Disable(disabled) => disable(worker, disabled),
    }
}

fn disable(worker: &Worker, disabled: Disabled) -> Result<(), StoreError> {
    let name = worker.sink.name();
    let queued = worker.store.outbox_depth(name) as u64;
    let notice = SinkNotice {
        sink: name.to_string(),
        reason: disabled.reason.clone(),
        since: disabled.since,
        queued,
    };
    // Not to the disabled sink itself: the notice would wait behind the very block it reports.
    let to: Vec<String> = worker
        .notify_sinks
        .iter()
        .filter(|s| s.as_str() != name)
        .cloned()
        .collect();
    let entries = worker.outbox.route_to(notice.into_event(), &to, 0);
    if !worker.store.disable_sink(name, &disabled, &entries)? {
        return Ok(());
    }
    for (sink, _) in &entries {
        worker.outbox.wake(sink);
    }
    tracing::warn!(sink = name, reason = %disabled.reason, queued, notified = ?to,
        "sink disabled: its entries are kept, and nothing is sent to it until `hyperrep-notifier sinks enable {name}` (or POST /admin/sinks/{name}/enable)");
    Ok(())
}

/// Enables `sink` again (the CLI, with the store offline, and the admin endpoint, which then
/// wakes its worker): its entries are due at `now`, in the order they were detected. How many
/// are queued, or `None` when it was not disabled.
pub fn enable(store: &Store, sink: &str, now: DateTime<Utc>) -> Result<Option<usize>, StoreError> {
    let Some((disabled, queued)) = store.enable_sink(sink, now)? else {
        return Ok(None);
    };
    let since = disabled
        .since
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    tracing::info!(sink, queued, disabled_since = %since, "sink enabled: its entries are sent again, in order");
    Ok(Some(queued))
}

/// Keeps `entries` of a disabled sink queued after a failed attempt (counted in `attempts`),
/// due at `now` so that enabling the sink sends them at once, in their order.
pub(super) fn park(
    worker: &Worker,
    mut entries: Vec<(u64, OutboxEntry)>,
    attempts: u32,
    error: String,
    now: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    for (seq, entry) in &mut entries {
        entry.attempts = attempts;
        entry.next_attempt_at = now;
        entry.last_error = Some(error.clone());
        worker.store.reschedule(worker.sink.name(), *seq, entry)?;
    }
    worker
        .metrics
        .delivery(worker.sink.name(), "retrying", entries.len(), None);
    Ok(Outcome::Parked)
}

#[cfg(test)]
mod tests;
