//! The console sink: one line per event on stdout, readable or JSON.

use super::Attempt;
use crate::config::{ConsoleFormat, ConsoleSinkConfig};
use crate::event::Event;
use std::io::Write;

/// Prints events.
pub struct ConsoleSink {
    name: String,
    format: ConsoleFormat,
}

impl ConsoleSink {
    /// Builds the sink.
    pub fn new(config: &ConsoleSinkConfig) -> Self {
        ConsoleSink {
            name: config.name.clone(),
            format: config.format,
        }
    }

    /// The sink's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Writes the event's line; fails only when stdout does.
    pub fn deliver(&self, event: &Event) -> Attempt {
        let line = match self.format {
            ConsoleFormat::Text => text_line(event),
            ConsoleFormat::Json => serde_json::to_string(event).unwrap_or_default(),
        };
        let mut out = std::io::stdout().lock();
        match writeln!(out, "{line}").and_then(|_| out.flush()) {
            Ok(()) => Attempt::Delivered("printed".into()),
            Err(e) => Attempt::Retry {
                error: format!("cannot write to stdout: {e}"),
                after: None,
            },
        }
    }
}

/// `2026-04-29 18:00:05 +02:00  New activity, marked unread  Acme Support  conversation gAAAA…  folder inbox  ● unread  [evt_…]`:
/// the detection time in the machine's time zone (`TZ`), as a person at that terminal reads it.
pub fn text_line(event: &Event) -> String {
    let local = event.timestamp.with_timezone(&chrono::Local);
    if let Some(notice) = &event.notice {
        let at = local.format("%Y-%m-%d %H:%M:%S %:z");
        return format!("{at}  {}  [{}]", notice.line(), event.id);
    }
    let conversation = &event.data.conversation;
    let what = crate::render::describe(event);
    let read = match conversation.is_read() {
        Some(true) => "✓ read",
        Some(false) => "● unread",
        None => "? read state unknown",
    };
    format!(
        "{}  {:<40}  {}  conversation {}  folder {}  {}  [{}]",
        local.format("%Y-%m-%d %H:%M:%S %:z"),
        what,
        event.data.org_name,
        conversation.id(),
        conversation.folder().unwrap_or("-"),
        read,
        event.id
    )
}
