//! What `hyperrep-notifier status` and `GET /status` report, and what `/readyz` decides: read from
//! the store and the configuration, nothing else.

use crate::config::Config;
use crate::store::{Disabled, LogSize, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

mod text;

/// The whole status.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// One per configured org.
    pub orgs: Vec<OrgStatus>,
    /// One per configured sink, plus any sink that still has entries but is no longer configured.
    pub sinks: Vec<SinkStatus>,
    /// One per configured reminder.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reminders: Vec<ReminderStatus>,
    /// The delivered-events log that `replay` reads.
    pub delivered_log: DeliveredLog,
}

/// The delivered-events log's size (counters: no scan) and how long it keeps events.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveredLog {
    /// Events and their approximate bytes.
    #[serde(flatten)]
    pub size: LogSize,
    /// `delivery.keep_delivered`.
    pub keep: String,
}

/// One reminder.
#[derive(Debug, Clone, Serialize)]
pub struct ReminderStatus {
    /// Its name.
    pub name: String,
    /// Conversations in its state (a clock runs for each).
    pub in_state: usize,
    /// The earliest time a step is due (with a `clock`, at the earliest: closed hours add to it).
    pub next_step_due: Option<DateTime<Utc>>,
}

/// One org.
#[derive(Debug, Clone, Serialize)]
pub struct OrgStatus {
    /// Org id.
    pub id: String,
    /// Configured name.
    pub name: String,
    /// Conversations in the store.
    pub conversations: usize,
    /// Whether the first complete listing is recorded.
    pub baseline_done: bool,
    /// End of the last poll.
    pub last_poll_at: Option<DateTime<Utc>>,
    /// End of the last complete listing.
    pub last_complete_at: Option<DateTime<Utc>>,
    /// Why the last poll did not complete.
    pub last_error: Option<String>,
}

/// One sink.
#[derive(Debug, Clone, Serialize)]
pub struct SinkStatus {
    /// Sink name.
    pub name: String,
    /// Still in the configuration.
    pub configured: bool,
    /// Entries waiting.
    pub outbox: usize,
    /// Dead letters.
    pub dead_letters: usize,
    /// Its delivery window, when it has one (`deliver_during`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowStatus>,
    /// Since when and why it is disabled (nothing is attempted until it is enabled); `null`
    /// while it is not.
    pub disabled: Option<Disabled>,
}

/// Where a sink stands in its delivery windows.
#[derive(Debug, Clone, Serialize)]
pub struct WindowStatus {
    /// The schedule's name.
    pub schedule: String,
    /// Whether the sink may deliver now.
    pub open: bool,
    /// When the current window closes (while open) or the next one opens (while closed);
    /// `None` when it never will.
    pub until: Option<DateTime<Utc>>,
}

/// Reads the status.
pub fn collect(store: &Store, config: &Config) -> Result<Status, StoreError> {
    let mut orgs = Vec::new();
    for org in &config.orgs {
        let state = store.org_state(&org.id)?;
        orgs.push(OrgStatus {
            id: org.id.clone(),
            name: org.label().to_string(),
            conversations: store.count_stored(&org.id),
            baseline_done: state.baseline_done,
            last_poll_at: state.last_poll_at,
            last_complete_at: state.last_complete_at,
            last_error: state.last_error,
        });
    }
    let overview = store.reminder_overview()?;
    let reminders = config
        .reminders
        .iter()
        .map(|r| {
            let (in_state, next_step_due) = overview.get(&r.name).copied().unwrap_or_default();
            let name = r.name.clone();
            ReminderStatus {
                name,
                in_state,
                next_step_due,
            }
        })
        .collect();
    Ok(Status {
        orgs,
        sinks: sinks(store, config)?,
        reminders,
        delivered_log: DeliveredLog {
            size: store.delivered_log_size()?,
            keep: humantime::format_duration(config.delivery.keep_delivered).to_string(),
        },
    })
}

/// Queued entries and dead letters per sink: what `/metrics` needs, without counting the
/// stored conversations (a scan of the whole store, fine for `status`, not for every scrape).
pub fn sinks(store: &Store, config: &Config) -> Result<Vec<SinkStatus>, StoreError> {
    let mut sinks: BTreeMap<String, SinkStatus> = BTreeMap::new();
    let mut entry = |name: &str, configured: bool| {
        let blank = SinkStatus {
            name: name.to_string(),
            configured,
            outbox: 0,
            dead_letters: 0,
            window: None,
            disabled: None,
        };
        sinks.entry(name.to_string()).or_insert(blank);
    };
    for sink in &config.sinks {
        entry(sink.name(), true);
    }
    for name in store.sinks_with_entries().keys() {
        entry(name, false);
    }
    for sink in sinks.values_mut() {
        let counts = store.sink_counts(&sink.name);
        sink.outbox = counts.queued as usize;
        sink.dead_letters = counts.dead as usize;
        sink.disabled = store.sink_health(&sink.name).disabled;
    }
    let windows = crate::app::schedules(config);
    let now = Utc::now();
    for sink_config in &config.sinks {
        let Some(name) = sink_config.deliver_during() else {
            continue;
        };
        let (Some(schedule), Some(status)) = (windows.get(name), sinks.get_mut(sink_config.name()))
        else {
            continue;
        };
        let open = schedule.is_open(now);
        let until = if open {
            schedule.next_closing(now)
        } else {
            schedule.next_opening(now)
        };
        let schedule = name.to_string();
        status.window = Some(WindowStatus {
            schedule,
            open,
            until,
        });
    }
    Ok(sinks.into_values().collect())
}

/// Ready when every org has completed a listing within three poll intervals; otherwise the
/// reasons.
pub fn readiness(store: &Store, config: &Config, now: DateTime<Utc>) -> Result<(), Vec<String>> {
    let window = chrono::Duration::from_std(config.poll.interval.saturating_mul(3))
        .unwrap_or(chrono::Duration::MAX);
    if let Some(failure) = store.failure() {
        // The orgs' states would only repeat it: the store is what needs a person.
        return Err(vec![format!("the store cannot be written: {failure}")]);
    }
    let mut reasons = Vec::new();
    for org in &config.orgs {
        match store.org_state(&org.id) {
            Err(error) => reasons.push(format!("org {}: cannot read its state: {error}", org.id)),
            Ok(state) => match state.last_complete_at {
                None => reasons.push(format!("org {} has not completed a poll yet", org.id)),
                Some(at) if now - at > window => {
                    let error = state
                        .last_error
                        .map(|e| format!(" (last error: {e})"))
                        .unwrap_or_default();
                    reasons.push(format!(
                        "org {}: no complete poll since {}{error}",
                        org.id,
                        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ));
                }
                Some(_) => {}
            },
        }
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}
