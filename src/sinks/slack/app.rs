//! Slack app mode: one message per (sink, org, conversation), posted with the first event the
//! sink's filter takes and edited in place by every later one, with new activity and reminders
//! also replied in its thread. The message's `channel` and `ts` live in the store.
//!
//! A crash between Slack's answer to a post and the write of its `ts` must not make a second
//! message: the attempt is written (and flushed) before the post, the post carries the
//! conversation in its metadata, and a reference with an attempt but no message is first looked
//! for in the channel's history since the attempt.

use super::api::{Reply, WebApi};
use super::history::find_posted;
use super::live::{handled, live_message, metadata, reply, wants_reply};
use super::pacing::Pacer;
use crate::config::Filter;
use crate::event::{Event, EventType};
use crate::render::Renderer;
use crate::sinks::Attempt;
use crate::store::{MessageRef, PostAttempt, Posted, Store};
use chrono::Utc;
use serde_json::Value;
use std::sync::Arc;

/// A configured Slack app sink.
pub(crate) struct AppMode {
    pub(crate) sink: String,
    pub(crate) api: WebApi,
    pub(crate) channel: String,
    pub(crate) thread_replies: bool,
    pub(crate) filter: Option<Filter>,
    pub(crate) store: Store,
    pub(crate) pacer: Arc<Pacer>,
}

type Step<T> = Result<T, Attempt>;

/// What the delivery of one event did to its conversation's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Posted,
    Updated,
    Skipped,
}

impl Shown {
    fn detail(self) -> &'static str {
        match self {
            Shown::Posted => "chat.postMessage ok",
            Shown::Updated => "chat.update ok",
            Shown::Skipped => "not for this sink, and no message to update",
        }
    }
}

fn store_failed(error: crate::store::StoreError) -> Attempt {
    Attempt::Retry {
        error: format!("cannot read or write the message reference: {error}"),
        after: None,
    }
}

impl AppMode {
    /// Shows `event` in its conversation's message.
    pub(crate) async fn deliver(&self, renderer: &Renderer, event: &Event) -> Attempt {
        match self.show(renderer, event).await {
            Ok(detail) => Attempt::Delivered(detail),
            Err(attempt) => attempt,
        }
    }

    /// Posts a message that belongs to no conversation (a flood summary).
    pub(crate) async fn post_loose(&self, payload: &Value) -> Attempt {
        let mut body = payload.clone();
        body["channel"] = Value::String(self.channel.clone());
        self.pacer.turn().await;
        match self.api.call("chat.postMessage", &body).await {
            Reply::Ok(_) => Attempt::Delivered("chat.postMessage ok".into()),
            Reply::Lost(error) => Attempt::Reject(error),
            Reply::Failed(attempt) => attempt,
        }
    }

    async fn show(&self, renderer: &Renderer, event: &Event) -> Step<String> {
        let mut reference = self.load(event)?;
        if reference
            .shown_at
            .is_some_and(|shown| event.timestamp < shown)
        {
            return Ok("older than what the message shows: nothing to change".into());
        }
        let (org, conversation) = (&event.data.org_id, event.data.conversation.id());
        if reference.message.is_none() {
            let attempt = reference.attempt.as_ref();
            reference.message =
                find_posted(&self.api, &self.channel, attempt, org, conversation).await?;
        }
        if let Some(step) = event.data.reminder.as_ref().map(|r| r.step) {
            reference.reminders = reference.reminders.max(step);
        }
        let is_handled = handled(event, self.filter.as_ref());
        let payload = live_message(renderer, event, is_handled, reference.reminders)
            .map_err(Attempt::Reject)?;
        let shown = match reference.message.clone() {
            Some(posted) => self.update(&mut reference, posted, event, &payload).await?,
            None if !self.takes(event) => Shown::Skipped,
            None => self.post(&mut reference, event, &payload).await?,
        };
        reference.shown_at = Some(event.timestamp);
        self.save(event, &reference)?;
        if shown == Shown::Updated {
            self.reply(renderer, &mut reference, event).await?;
        }
        if event.kind == EventType::Removed {
            let forgotten = self.store.forget_message(&self.sink, org, conversation);
            forgotten.map_err(store_failed)?;
        }
        Ok(shown.detail().into())
    }

    /// The sink's reference for the event's conversation (a fresh one when it has none).
    fn load(&self, event: &Event) -> Step<MessageRef> {
        let (org, conversation) = (&event.data.org_id, event.data.conversation.id());
        let stored = self.store.message_ref(&self.sink, org, conversation);
        Ok(stored.map_err(store_failed)?.unwrap_or_else(|| MessageRef {
            used_at: Utc::now(),
            ..MessageRef::default()
        }))
    }

    /// Whether the event earns a new message: the sink's filter takes it (reminders name their
    /// sinks: always; a removal never starts a message).
    fn takes(&self, event: &Event) -> bool {
        match event.kind {
            EventType::Reminder => true,
            EventType::Removed => false,
            _ => self.filter.as_ref().is_none_or(|f| f.matches(event)),
        }
    }

    fn save(&self, event: &Event, reference: &MessageRef) -> Step<()> {
        let mut reference = reference.clone();
        reference.used_at = Utc::now();
        let (org, conversation) = (&event.data.org_id, event.data.conversation.id());
        self.store
            .put_message_ref(&self.sink, org, conversation, &reference)
            .map_err(store_failed)
    }

    /// Edits the message; one that is gone or too old to edit is replaced by a new post.
    async fn update(
        &self,
        reference: &mut MessageRef,
        posted: Posted,
        event: &Event,
        payload: &Value,
    ) -> Step<Shown> {
        let mut body = payload.clone();
        body["channel"] = Value::String(posted.channel.clone());
        body["ts"] = Value::String(posted.ts.clone());
        body["metadata"] = metadata(event);
        match self.api.call("chat.update", &body).await {
            Reply::Ok(_) => Ok(Shown::Updated),
            Reply::Lost(why) => {
                tracing::info!(%why, "the conversation's message cannot be edited; posting a new one");
                reference.message = None;
                self.post(reference, event, payload).await
            }
            Reply::Failed(attempt) => Err(attempt),
        }
    }

    /// Posts the conversation's message, recording the attempt first (see the module docs).
    async fn post(
        &self,
        reference: &mut MessageRef,
        event: &Event,
        payload: &Value,
    ) -> Step<Shown> {
        reference.attempt = Some(PostAttempt {
            at: Utc::now(),
            event: event.id.clone(),
        });
        self.save(event, reference)?;
        self.store.flush().await.map_err(store_failed)?;
        let mut body = payload.clone();
        body["channel"] = Value::String(self.channel.clone());
        body["metadata"] = metadata(event);
        self.pacer.turn().await;
        let answer = match self.api.call("chat.postMessage", &body).await {
            Reply::Ok(answer) => answer,
            Reply::Lost(error) => {
                return Err(self.not_posted(reference, event, Attempt::Reject(error)))
            }
            Reply::Failed(attempt) => return Err(self.not_posted(reference, event, attempt)),
        };
        let (Some(channel), Some(ts)) = (answer["channel"].as_str(), answer["ts"].as_str()) else {
            return Err(Attempt::Retry {
                error: "chat.postMessage: ok without `channel` and `ts`".into(),
                after: None,
            });
        };
        reference.message = Some(Posted {
            channel: channel.to_string(),
            ts: ts.to_string(),
        });
        reference.attempt = None;
        Ok(Shown::Posted)
    }

    /// A post that failed: when Slack answered (a refusal or a rate limit), it made no message,
    /// so the attempt is dropped and the next try need not search the history; after a timeout or
    /// an outage it may have, so the attempt stays.
    fn not_posted(&self, reference: &mut MessageRef, event: &Event, attempt: Attempt) -> Attempt {
        if matches!(attempt, Attempt::Reject(_) | Attempt::Throttled { .. }) {
            reference.attempt = None;
            if let Err(error) = self.save(event, reference) {
                return error;
            }
        }
        attempt
    }

    /// Replies in the message's thread when the event is new activity or a reminder, once.
    async fn reply(
        &self,
        renderer: &Renderer,
        reference: &mut MessageRef,
        event: &Event,
    ) -> Step<()> {
        let Some(posted) = reference.message.clone() else {
            return Ok(());
        };
        if !self.thread_replies
            || !wants_reply(event)
            || reference.replied.as_ref() == Some(&event.id)
        {
            return Ok(());
        }
        let mut body = reply(renderer, event).map_err(Attempt::Reject)?;
        body["channel"] = Value::String(posted.channel);
        body["thread_ts"] = Value::String(posted.ts);
        self.pacer.turn().await;
        match self.api.call("chat.postMessage", &body).await {
            Reply::Ok(_) => {
                reference.replied = Some(event.id.clone());
                self.save(event, reference)
            }
            Reply::Lost(error) => Err(Attempt::Reject(error)),
            Reply::Failed(attempt) => Err(attempt),
        }
    }
}
