//! `hyperrep-notifier status` as a person reads it.

use super::{SinkStatus, Status, WindowStatus};
use chrono::{DateTime, Utc};

impl Status {
    /// The status as a person reads it.
    pub fn to_text(&self) -> String {
        let mut out = String::from("orgs:\n");
        let when = |t: &Option<DateTime<Utc>>| {
            t.map_or("never".to_string(), |t| {
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            })
        };
        for org in &self.orgs {
            out.push_str(&format!(
                "  {} ({}): {} conversations stored, last poll {}, last complete listing {}{}\n",
                org.name,
                org.id,
                org.conversations,
                when(&org.last_poll_at),
                when(&org.last_complete_at),
                org.last_error
                    .as_ref()
                    .map(|e| format!(", last error: {e}"))
                    .unwrap_or_default()
            ));
        }
        if !self.reminders.is_empty() {
            out.push_str("reminders:\n");
        }
        for reminder in &self.reminders {
            out.push_str(&format!(
                "  {}: {} in the state, next step due {}\n",
                reminder.name,
                reminder.in_state,
                when(&reminder.next_step_due)
            ));
        }
        out.push_str("sinks:\n");
        for sink in &self.sinks {
            let gone = if sink.configured {
                ""
            } else {
                " (no longer configured)"
            };
            out.push_str(&format!(
                "  {}{gone}: {} queued, {} dead letters{}{}\n",
                sink.name,
                sink.outbox,
                sink.dead_letters,
                window_text(sink.window.as_ref()),
                disabled_text(sink)
            ));
        }
        let log = &self.delivered_log;
        out.push_str(&format!(
            "delivered log: {} events, about {} KiB, kept {}\n",
            log.size.events,
            log.size.bytes.div_ceil(1024),
            log.keep
        ));
        out
    }
}

/// `, DISABLED since … (reason); enable with `hyperrep-notifier sinks enable NAME``.
fn disabled_text(sink: &SinkStatus) -> String {
    let Some(disabled) = &sink.disabled else {
        return String::new();
    };
    let since = disabled
        .since
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    format!(
        ", DISABLED since {since} ({}); enable with `hyperrep-notifier sinks enable {}`",
        disabled.reason, sink.name
    )
}

/// `, in its window (support-hours) until …` / `, outside its window (support-hours); opens …`.
fn window_text(window: Option<&WindowStatus>) -> String {
    let Some(window) = window else {
        return String::new();
    };
    let at = |t: &Option<DateTime<Utc>>| {
        t.map_or("never".to_string(), |t| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
    };
    match window.open {
        true => format!(
            ", in its window ({}) until {}",
            window.schedule,
            at(&window.until)
        ),
        false => format!(
            ", outside its window ({}); opens {}",
            window.schedule,
            at(&window.until)
        ),
    }
}
