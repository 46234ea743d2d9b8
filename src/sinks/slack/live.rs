//! What app mode shows: one message per conversation that reads as the conversation is now
//! (waiting or handled, reminders sent), the thread replies for new activity and reminders, and
//! the metadata that lets a message be found again after a crash.

use super::{fit, message};
use crate::config::Filter;
use crate::event::{Event, EventType, Field};
use crate::render::Renderer;
use serde_json::{json, Value};

/// The metadata `event_type` of the messages this notifier posts.
pub(crate) const METADATA_TYPE: &str = "hyperrep_conversation";

/// Whether the conversation no longer needs anyone: read, out of the folders the sink watches,
/// or gone.
pub(crate) fn handled(event: &Event, filter: Option<&Filter>) -> bool {
    let conversation = &event.data.conversation;
    let left_folders = filter
        .and_then(|f| f.folder.as_ref())
        .is_some_and(|folders| {
            !conversation
                .folder()
                .is_some_and(|f| folders.iter().any(|x| x == f))
        });
    event.kind == EventType::Removed || conversation.is_read() == Some(true) || left_folders
}

/// The first line of the message: the state at a glance.
fn status_line(event: &Event, handled: bool, reminders: u32) -> String {
    let conversation = &event.data.conversation;
    let mut line = if event.kind == EventType::Removed {
        "✅ *Handled*: removed from HyperRep".to_string()
    } else if handled {
        let how = if conversation.is_read() == Some(true) {
            "read".to_string()
        } else {
            format!("moved to {}", conversation.folder().unwrap_or("no folder"))
        };
        format!("✅ *Handled*: {how}")
    } else {
        "🔴 *Waiting*: unread".to_string()
    };
    if let Some(reminder) = &event.data.reminder {
        let after = humantime::format_duration(reminder.after);
        line.push_str(&format!(
            " · ⏰ still unread after {after} (step {} of {})",
            reminder.step, reminder.steps
        ));
    } else if reminders > 0 {
        line.push_str(&format!(" · ⏰ {reminders} reminder(s) sent"));
    }
    let at = event.timestamp.format("%Y-%m-%d %H:%M UTC");
    line.push_str(&format!(" · updated {at}"));
    line
}

/// The message for `event`: the sink's templates, with the state line on top and the text
/// saying when it is handled.
pub(crate) fn live_message(
    renderer: &Renderer,
    event: &Event,
    handled: bool,
    reminders: u32,
) -> Result<Value, String> {
    let mut payload = message(renderer, event)?;
    let status = json!({"type": "context", "elements": [
        {"type": "mrkdwn", "text": status_line(event, handled, reminders)}
    ]});
    if let Some(blocks) = payload.get_mut("blocks").and_then(Value::as_array_mut) {
        blocks.insert(0, status);
    }
    if handled {
        let text = payload["text"].as_str().unwrap_or_default().to_string();
        payload["text"] = Value::String(format!("Handled: {text}"));
    }
    Ok(fit(payload))
}

/// Whether the event also goes as a thread reply: new activity and reminders (a change of the
/// read state or the folder only updates the message).
pub(crate) fn wants_reply(event: &Event) -> bool {
    event.kind == EventType::Reminder
        || (event.kind == EventType::Updated && event.data.changes.contains(&Field::LastActivityAt))
}

/// A thread reply: the event in the sink's `text` template.
pub(crate) fn reply(renderer: &Renderer, event: &Event) -> Result<Value, String> {
    let view = renderer.view(event)?;
    let text = renderer.render_with("text", &view)?;
    Ok(fit(json!({ "text": text.trim() })))
}

/// The metadata of a conversation's message (`chat.postMessage`'s `metadata`).
pub(crate) fn metadata(event: &Event) -> Value {
    json!({
        "event_type": METADATA_TYPE,
        "event_payload": {
            "org_id": event.data.org_id,
            "conversation_id": event.data.conversation.id(),
            "event_id": event.id,
        }
    })
}

/// Whether a message of `conversations.history` is this notifier's message for the conversation.
pub(crate) fn is_message_of(message: &Value, org: &str, conversation: &str) -> bool {
    let Some(metadata) = message.get("metadata") else {
        return false;
    };
    let payload = &metadata["event_payload"];
    metadata["event_type"] == METADATA_TYPE
        && payload["org_id"] == org
        && payload["conversation_id"] == conversation
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::sample_event;

    use crate::render::sample_in as with_state;

    #[test]
    fn read_or_moved_out_of_the_watched_folders_reads_as_handled() {
        let inbox = Filter {
            folder: Some(vec!["inbox".into()]),
            ..Filter::default()
        };
        assert!(!handled(&with_state(false, "inbox"), Some(&inbox)));
        assert!(handled(&with_state(true, "inbox"), Some(&inbox)));
        assert!(handled(&with_state(false, "archive"), Some(&inbox)));
        assert!(!handled(&with_state(false, "archive"), None));
        let line = status_line(&with_state(false, "archive"), true, 0);
        assert!(line.starts_with("✅ *Handled*: moved to archive"), "{line}");
    }

    #[test]
    fn the_metadata_finds_the_conversation_again_and_no_other() {
        let event = sample_event();
        let message = json!({"ts": "1.2", "metadata": metadata(&event)});
        let conversation = event.data.conversation.id();
        assert!(is_message_of(&message, &event.data.org_id, conversation));
        assert!(!is_message_of(&message, &event.data.org_id, "another"));
        assert!(!is_message_of(
            &json!({"ts": "1.2"}),
            &event.data.org_id,
            conversation
        ));
    }
}
