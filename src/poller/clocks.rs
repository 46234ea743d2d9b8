//! Reminder clocks in a listing. A conversation the listing found new or changed may enter, stay
//! in or leave a reminder's state: evaluated with the change and committed with it. After a
//! complete listing, the clocks of the org that are due send their steps, for conversations that
//! listing showed (and whose stored snapshot, which it confirmed, is still in the state).
//! Unchanged conversations cost nothing here: their clocks wait in the store's due-time index.

use super::{Listing, PollContext};
use crate::diff::{DiffContext, Stored};
use crate::event::Conversation;
use crate::reminders::{
    evaluate, next_due, reminder_event, Evaluation, Reminder, ReminderState, Seen,
};
use crate::store::{ReminderWrite, StoreError};
use chrono::{DateTime, Utc};

/// Evaluates every reminder for a conversation this listing found new (`known = false`: it has
/// no clock yet) or changed.
pub(super) fn on_change(
    ctx: &PollContext,
    listing: &mut Listing<'_>,
    conversation: &Conversation,
    known: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for reminder in ctx.rules.iter() {
        let previous = match listing
            .staged
            .staged_clock(conversation.id(), reminder.name())
        {
            Some(state) => state,
            None if known => {
                ctx.store
                    .reminder_state(&listing.org.id, conversation.id(), reminder.name())?
            }
            None => None,
        };
        let first_sight = !listing.emit;
        advance(
            ctx,
            listing,
            reminder,
            previous,
            conversation,
            first_sight,
            now,
        );
    }
    Ok(())
}

/// After a complete listing: the steps of the org's clocks that are due.
pub(super) fn due(
    ctx: &PollContext,
    listing: &mut Listing<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let org = listing.org;
    for due in ctx.store.due_reminders(&org.id, now)? {
        if !listing.ids_seen.contains(&due.conversation) {
            continue; // not shown by this listing: no reminder for what may be gone
        }
        let previous = ctx
            .store
            .reminder_state(&org.id, &due.conversation, &due.reminder)?;
        let Some(reminder) = ctx.rules.get(&due.reminder) else {
            // The reminder left the configuration: its clocks end.
            listing
                .staged
                .clock(ended(&due.conversation, &due.reminder));
            continue;
        };
        if let Some(stored) = ctx.store.snapshot(&org.id, &due.conversation)? {
            advance(
                ctx,
                listing,
                reminder,
                previous,
                &stored.conversation,
                false,
                now,
            );
        }
    }
    Ok(())
}

/// The clocks of removed conversations end.
pub(super) fn ended_for(ctx: &PollContext, removed: &[Stored]) -> Vec<ReminderWrite> {
    let ids = removed.iter().map(|s| s.conversation.id());
    ids.flat_map(|id| ctx.rules.iter().map(move |r| ended(id, r.name())))
        .collect()
}

fn ended(conversation: &str, reminder: &str) -> ReminderWrite {
    ReminderWrite {
        conversation: conversation.to_string(),
        reminder: reminder.to_string(),
        state: None,
        due: None,
    }
}

/// Evaluates one clock, stages its new state, and queues the steps due now to their sinks.
fn advance(
    ctx: &PollContext,
    listing: &mut Listing<'_>,
    reminder: &Reminder,
    previous: Option<ReminderState>,
    conversation: &Conversation,
    first_sight: bool,
    now: DateTime<Utc>,
) {
    let seen = Seen {
        org_id: &listing.org.id,
        conversation: Some(conversation),
        detected_at: now,
        first_sight,
    };
    let age = |since, at| ctx.rules.age(reminder, since, at);
    let Evaluation { state, due } = evaluate(reminder, previous.as_ref(), &seen, &age);
    if state != previous {
        listing.staged.clock(ReminderWrite {
            conversation: conversation.id().to_string(),
            reminder: reminder.name().to_string(),
            due: state
                .as_ref()
                .and_then(|s| next_due(reminder, s))
                .map(|n| n.earliest),
            state,
        });
    }
    let (Some(state), false) = (state, due.is_empty()) else {
        return;
    };
    let diff = DiffContext {
        org_id: &listing.org.id,
        org_name: listing.org.label(),
        emit: true,
        detected_at: now,
    };
    for step in &due {
        let event = reminder_event(&diff, reminder, &state, step, conversation);
        let sinks = reminder.step(step.step).map_or(&[][..], |s| &s.sinks[..]);
        let entries = ctx.outbox.route_to(event, sinks, listing.poll);
        let staged = &mut listing.staged;
        staged.queue_reminder(reminder.name(), step.step, entries);
    }
}
