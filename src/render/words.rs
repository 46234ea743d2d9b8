//! Events in words a support lead reads at a glance, and times as people read them.

use crate::event::{Event, EventType, Field};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::Value;

/// "New unread conversation", "New activity, marked unread", "Moved from inbox to archived"…
pub fn describe(event: &Event) -> String {
    let conversation = &event.data.conversation;
    match event.kind {
        EventType::Created if conversation.is_read() == Some(false) => {
            "New unread conversation".into()
        }
        EventType::Created => "New conversation".into(),
        EventType::Removed => "Conversation removed".into(),
        EventType::Reminder => reminder(event),
        EventType::SinkDisabled => match &event.notice {
            Some(notice) => capitalise(&notice.line()),
            None => "A sink was disabled".into(),
        },
        EventType::Updated => {
            let parts: Vec<String> = event
                .data
                .changes
                .iter()
                .map(|f| change(event, *f))
                .collect();
            capitalise(&parts.join(", "))
        }
    }
}

/// "Still unread after 1h: step 2 of 3 (unread-inbox)", or "Still in billing after 4h: …" for
/// a rule on folders alone: what nobody did, in the words of the conversation's state.
fn reminder(event: &Event) -> String {
    let Some(r) = &event.data.reminder else {
        return "Reminder".into();
    };
    let conversation = &event.data.conversation;
    let state = match (conversation.is_read(), conversation.folder()) {
        (Some(false), _) => "unread".to_string(),
        (_, Some(folder)) => format!("in {folder}"),
        _ => "waiting".to_string(),
    };
    let after = humantime::format_duration(r.after);
    format!(
        "Still {state} after {after}: step {} of {} ({})",
        r.step, r.steps, r.name
    )
}

fn change(event: &Event, field: Field) -> String {
    let conversation = &event.data.conversation;
    match field {
        Field::LastActivityAt => "new activity".into(),
        Field::IsRead => match conversation.is_read() {
            Some(false) => "marked unread".into(),
            Some(true) => "marked read".into(),
            None => "read state unknown".into(),
        },
        Field::Folder => {
            let before = event
                .data
                .previous
                .get("folder")
                .and_then(Value::as_str)
                .unwrap_or("no folder");
            format!(
                "moved from {before} to {}",
                conversation.folder().unwrap_or("no folder")
            )
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A time three ways, for templates: `iso`, `local` (in the sink's time zone) and `relative`.
#[derive(Debug, Clone, Serialize)]
pub struct TimeView {
    /// RFC 3339 as upstream sent it (empty when unknown).
    pub iso: String,
    /// e.g. `Wed 29 Apr 2026, 18:00 CEST` ("unknown" when unknown).
    pub local: String,
    /// e.g. `5 minutes ago` ("unknown" when unknown).
    pub relative: String,
}

impl TimeView {
    /// Reads an RFC 3339 string; anything else shows as unknown.
    pub fn parse(text: Option<&str>, zone: Tz, now: DateTime<Utc>) -> TimeView {
        match text.and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
            Some(at) => TimeView::of(at.to_utc(), zone, now),
            None => TimeView {
                iso: text.unwrap_or_default().into(),
                local: "unknown".into(),
                relative: "unknown".into(),
            },
        }
    }

    /// A known time.
    pub fn of(at: DateTime<Utc>, zone: Tz, now: DateTime<Utc>) -> TimeView {
        TimeView {
            iso: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            local: at
                .with_timezone(&zone)
                .format("%a %d %b %Y, %H:%M %Z")
                .to_string(),
            relative: relative(at, now),
        }
    }
}

/// `just now`, `5 minutes ago`, `in 2 hours`, `3 days ago`.
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - at).num_seconds();
    let (amount, unit) = match seconds.abs() {
        s if s < 60 => return "just now".into(),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s => (s / 86_400, "day"),
    };
    let plural = if amount == 1 { "" } else { "s" };
    if seconds >= 0 {
        format!("{amount} {unit}{plural} ago")
    } else {
        format!("in {amount} {unit}{plural}")
    }
}

/// Escapes the three characters Slack's mrkdwn treats as control characters.
pub fn mrkdwn(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now = Utc::now();
        assert_eq!(
            relative(now - chrono::Duration::seconds(20), now),
            "just now"
        );
        assert_eq!(
            relative(now - chrono::Duration::minutes(1), now),
            "1 minute ago"
        );
        assert_eq!(
            relative(now - chrono::Duration::minutes(125), now),
            "2 hours ago"
        );
        assert_eq!(relative(now + chrono::Duration::days(3), now), "in 3 days");
    }

    #[test]
    fn local_times_use_the_configured_zone() {
        let at = DateTime::parse_from_rfc3339("2026-04-29T16:00:00Z")
            .unwrap()
            .to_utc();
        let view = TimeView::of(at, chrono_tz::Europe::Berlin, at);
        assert_eq!(view.local, "Wed 29 Apr 2026, 18:00 CEST");
        assert_eq!(
            TimeView::parse(Some("garbage"), Tz::UTC, at).local,
            "unknown"
        );
    }
}
