//! Removals: after a complete listing, the stored conversations it lacked.

use super::{Listing, PollContext};
use crate::diff::{removed_event, DiffContext};
use crate::event::EventType;
use crate::store::{Commit, StoreError};
use chrono::Utc;
use std::collections::HashSet;

/// After a complete listing: the stored conversations it lacked. Those the previous complete
/// listing lacked too are gone upstream: they are announced and forgotten. The others are only
/// remembered as missing, because one listing cannot tell a removal from a glitch (a short or empty
/// page with the pagination intact). Returns (announced, still missing), or `None` when this
/// listing cannot judge removals at all: it had a record without an id (that may have been one of
/// them), or it was empty (an org does not lose every conversation at once).
pub(super) fn removals(
    ctx: &PollContext,
    listing: &Listing<'_>,
    suspected: &[String],
) -> Result<Option<(usize, Vec<String>)>, StoreError> {
    if listing.records_without_id > 0 || listing.ids_seen.is_empty() {
        tracing::warn!(
            records_without_id = listing.records_without_id,
            "not judging removals from this listing"
        );
        return Ok(None);
    }
    let org = listing.org;
    let suspected: HashSet<&str> = suspected.iter().map(String::as_str).collect();
    let (mut confirmed, mut missing) = (Vec::new(), Vec::new());
    for id in ctx.store.stored_ids(&org.id) {
        let id = id?;
        if listing.ids_seen.contains(&id) {
            continue;
        }
        if !suspected.contains(id.as_str()) {
            missing.push(id);
        } else if let Some(stored) = ctx.store.snapshot(&org.id, &id)? {
            // Only a removal being announced needs its snapshot (the event carries it).
            confirmed.push(stored);
        }
    }
    let diff_ctx = DiffContext {
        org_id: &org.id,
        org_name: org.label(),
        emit: true,
        detected_at: Utc::now(),
    };
    for batch in confirmed.chunks(100) {
        let commit = Commit {
            outbox: batch
                .iter()
                .flat_map(|s| ctx.outbox.route(removed_event(&diff_ctx, s), listing.poll))
                .collect(),
            writes: Vec::new(),
            fresh: Vec::new(),
            reminders: super::clocks::ended_for(ctx, batch),
            deletes: batch
                .iter()
                .map(|s| s.conversation.id().to_string())
                .collect(),
        };
        ctx.outbox.commit(&org.id, &commit)?;
        for _ in batch {
            ctx.metrics.event(EventType::Removed.as_str());
        }
    }
    Ok(Some((confirmed.len(), missing)))
}
