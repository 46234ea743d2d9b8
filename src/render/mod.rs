//! Messages for people: the context a template sees, the minijinja environment with its helpers,
//! the built-in templates, and the check that renders every configured template at start-up, so
//! a broken template stops the start instead of failing at 3 a.m.

pub mod defaults;
pub mod words;

use crate::config::MessageStyle;
use crate::event::{Conversation, Event, EventData, EventType, Field};
use chrono::{DateTime, Utc};
use minijinja::Environment;
use serde::Serialize;
use serde_json::{json, Value};
pub use words::{describe, TimeView};

/// What a single-event template sees.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    /// The whole event envelope.
    pub event: Event,
    /// The org's name.
    pub org: String,
    /// What happened, in words.
    pub what: String,
    /// The conversation id.
    pub conversation_id: String,
    /// The folder, or `no folder`.
    pub folder: String,
    /// `unread`, `read` or `read state unknown`.
    pub read: String,
    /// When the conversation started.
    pub started: TimeView,
    /// Its last activity.
    pub last_activity: TimeView,
    /// When the change was detected.
    pub detected: TimeView,
    /// The rendered `link_template`, when configured.
    pub link: Option<String>,
}

/// What a summary or digest template sees.
#[derive(Debug, Clone, Serialize)]
pub struct BatchView {
    /// How many events.
    pub count: usize,
    /// e.g. `40 new, 20 updated`.
    pub tally: String,
    /// The org names involved, comma-separated.
    pub orgs: String,
    /// The events listed.
    pub shown: Vec<EventView>,
    /// Events not listed.
    pub more: usize,
    /// The digest window, for digests.
    pub window: Option<Window>,
}

/// A digest window.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    /// Its start.
    pub start: TimeView,
    /// Its end.
    pub end: TimeView,
}

/// A sink's compiled templates and presentation settings.
pub struct Renderer {
    env: Environment<'static>,
    style: MessageStyle,
}

impl Renderer {
    /// Compiles `templates` (name, configured source, built-in source) plus the batch templates
    /// and the link template. The error names the template.
    pub fn new(
        style: MessageStyle,
        templates: &[(&'static str, Option<&str>, &'static str)],
    ) -> Result<Renderer, String> {
        let mut env = Environment::new();
        env.add_filter("mrkdwn", |text: String| words::mrkdwn(&text));
        let builtins = [
            ("batch_subject", defaults::BATCH_SUBJECT),
            ("batch_text", defaults::BATCH_TEXT),
            ("batch.html", defaults::BATCH_HTML),
        ];
        let configured = templates
            .iter()
            .map(|(name, custom, builtin)| (*name, custom.unwrap_or(builtin)));
        let link = style
            .link_template
            .as_deref()
            .map(|source| ("link", source));
        for (name, source) in builtins.into_iter().chain(configured).chain(link) {
            env.add_template_owned(name, source.to_string())
                .map_err(|e| template_error(name, &e))?;
        }
        Ok(Renderer { env, style })
    }

    /// The context of one event.
    pub fn view(&self, event: &Event) -> Result<EventView, String> {
        let now = Utc::now();
        let conversation = &event.data.conversation;
        let zone = self.style.time_zone;
        let text = |field: Field| conversation.field(field).and_then(Value::as_str);
        let mut view = EventView {
            event: event.clone(),
            org: event.data.org_name.clone(),
            what: describe(event),
            conversation_id: conversation.id().to_string(),
            folder: conversation.folder().unwrap_or("no folder").to_string(),
            read: match conversation.is_read() {
                Some(true) => "read".into(),
                Some(false) => "unread".into(),
                None => "read state unknown".into(),
            },
            started: TimeView::parse(
                conversation.get("start_at").and_then(Value::as_str),
                zone,
                now,
            ),
            last_activity: TimeView::parse(text(Field::LastActivityAt), zone, now),
            detected: TimeView::of(event.timestamp, zone, now),
            link: None,
        };
        if self.style.link_template.is_some() {
            view.link = Some(self.render_with("link", &view)?.trim().to_string());
        }
        Ok(view)
    }

    /// Renders template `name` for one event.
    pub fn render(&self, name: &str, event: &Event) -> Result<String, String> {
        self.render_with(name, &self.view(event)?)
    }

    /// The context of several events; `shown` lists at most `limit` of them.
    pub fn batch_view(
        &self,
        events: &[Event],
        limit: usize,
        window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> Result<BatchView, String> {
        let count = |kind| events.iter().filter(|e| e.kind == kind).count();
        let tally: Vec<String> = [
            (EventType::Created, "new"),
            (EventType::Updated, "updated"),
            (EventType::Removed, "removed"),
            (EventType::Reminder, "still waiting (reminders)"),
        ]
        .into_iter()
        .filter(|(kind, _)| count(*kind) > 0)
        .map(|(kind, word)| format!("{} {word}", count(kind)))
        .collect();
        let mut orgs: Vec<&str> = events.iter().map(|e| e.data.org_name.as_str()).collect();
        orgs.dedup();
        orgs.sort_unstable();
        orgs.dedup();
        let shown = events
            .iter()
            .take(limit)
            .map(|e| self.view(e))
            .collect::<Result<Vec<_>, _>>()?;
        let (zone, now) = (self.style.time_zone, Utc::now());
        let window = window.map(|(start, end)| Window {
            start: TimeView::of(start, zone, now),
            end: TimeView::of(end, zone, now),
        });
        Ok(BatchView {
            count: events.len(),
            tally: tally.join(", "),
            orgs: orgs.join(", "),
            more: events.len() - shown.len(),
            shown,
            window,
        })
    }

    /// Renders template `name` with any context.
    pub fn render_with(&self, name: &str, context: &impl Serialize) -> Result<String, String> {
        let template = self
            .env
            .get_template(name)
            .map_err(|e| template_error(name, &e))?;
        template
            .render(minijinja::value::Serde(context))
            .map_err(|e| template_error(name, &e))
    }
}

fn template_error(name: &str, error: &minijinja::Error) -> String {
    let mut text = format!("template `{name}`: {error}");
    if let Some(detail) = error.detail() {
        if !text.contains(detail) {
            text.push_str(&format!(" ({detail})"));
        }
    }
    text
}

/// A realistic event for `check` and `test-sink`.
/// [`sample_event`] with the conversation's read state and folder set (for tests of sinks).
#[cfg(test)]
pub(crate) fn sample_in(is_read: bool, folder: &str) -> Event {
    let mut event = sample_event();
    let mut raw = serde_json::to_value(&event.data.conversation).unwrap_or_default();
    raw["is_read"] = json!(is_read);
    raw["folder"] = json!(folder);
    if let Ok(conversation) = Conversation::from_value(raw) {
        event.data.conversation = conversation;
    }
    event
}

pub fn sample_event() -> Event {
    let now = Utc::now();
    let conversation = Conversation::from_value(json!({
        "conversation_id": "gAAAAABsampleConversationId8kP3xLs7dV2mTr5cN9hY1uJ4",
        "start_at": (now - chrono::Duration::hours(3)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "last_activity_at": (now - chrono::Duration::minutes(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "folder": "inbox", "is_read": false,
        "contact_id": "gAAAAABsampleContactId4pQ8xLm2sV7kRt1cN5hY9uJ3dF6"
    }))
    .expect("a valid sample");
    let mut previous = serde_json::Map::new();
    previous.insert("last_activity_at".into(), json!((now - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
    previous.insert("is_read".into(), json!(true));
    Event {
        id: "evt_sample0000000000000000000000000".into(),
        kind: EventType::Updated,
        timestamp: now,
        data: EventData {
            org_id: "gAAAAABsampleOrganizationId7mN4qP2xLs9dV5kTr8cY1hJ6uW3".into(),
            org_name: "Sample Org".into(),
            changes: vec![Field::LastActivityAt, Field::IsRead],
            previous,
            reminder: None,
            conversation,
        },
        notice: None,
    }
}
