//! Sink filters and reminder conditions applied to events: which events a sink takes.

use super::{Conversation, Event, EventType};
use crate::config::Filter;

impl Filter {
    /// Whether the event passes: fields combine with AND, list values with OR.
    pub fn matches(&self, event: &Event) -> bool {
        let events_ok = self
            .events
            .as_ref()
            .is_none_or(|kinds| kinds.contains(&event.kind));
        let changes_ok = event.kind != EventType::Updated
            || self
                .changes
                .as_ref()
                .is_none_or(|wanted| event.data.changes.iter().any(|c| wanted.contains(c)));
        let state_ok = self.matches_state(&event.data.org_id, &event.data.conversation);
        events_ok && changes_ok && state_ok
    }

    /// Whether a conversation of `org_id` passes the state fields (`folder`, `is_read`, `orgs`):
    /// what a sink filter asks of the conversation itself, and all a reminder's `when` asks. A
    /// missing value matches no list and no read state.
    pub fn matches_state(&self, org_id: &str, conversation: &Conversation) -> bool {
        let folder_ok = self.folder.as_ref().is_none_or(|folders| {
            conversation
                .folder()
                .is_some_and(|f| folders.iter().any(|w| w == f))
        });
        let read_ok = self
            .is_read
            .is_none_or(|wanted| conversation.is_read() == Some(wanted));
        let org_ok = self
            .orgs
            .as_ref()
            .is_none_or(|orgs| orgs.iter().any(|o| o == org_id));
        folder_ok && read_ok && org_ok
    }
}
