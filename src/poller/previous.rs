//! What each record of a page differs from: a snapshot an earlier page of the listing staged,
//! else the stored one. Records are compared by their text as received (borrowed from the page),
//! so an unchanged one (nearly all of them) is never parsed beyond the page's quick look; only
//! the records that differ become [`Conversation`]s.

use super::{Listing, PollContext};
use crate::api::Record;
use crate::diff::Stored;
use crate::event::Conversation;
use crate::store::{Previous, StoreError};

/// The records of a page that differ at all, with what each differs from (`None`: new); and the
/// snapshots to store again with the same content in the encoding received.
#[derive(Default)]
pub(super) struct Differing {
    pub(super) changed: Vec<Conversation>,
    pub(super) previous: Vec<Option<Stored>>,
    pub(super) reencoded: Vec<Stored>,
}

/// What the listing knows of a record before the store is asked.
enum Known<'s> {
    /// An earlier page staged it: `None` when exactly this, else what was staged.
    Staged(Option<&'s Stored>),
    /// Not stored: its org is new to the store and no page of this listing had it.
    New,
    /// The store knows.
    Unknown,
}

/// See [`Differing`].
pub(super) fn previous_of(
    ctx: &PollContext,
    listing: &Listing<'_>,
    page: &[Record<'_>],
) -> Result<Differing, StoreError> {
    let staged = &listing.staged;
    let in_stage: Vec<Known<'_>> = page
        .iter()
        .map(|r| match (staged.previous(r), listing.new_org) {
            (Some(staged), _) => Known::Staged(staged),
            // An org new to the store holds only what this listing staged: nothing to read.
            (None, true) if !listing.ids_seen.contains(r.id) => Known::New,
            (None, _) => Known::Unknown,
        })
        .collect();
    let unstaged: Vec<&Record<'_>> = page
        .iter()
        .zip(&in_stage)
        .filter_map(|(r, s)| matches!(s, Known::Unknown).then_some(r))
        .collect();
    let mut stored = ctx.store.previous(&listing.org.id, &unstaged)?.into_iter();
    let mut out = Differing::default();
    for (record, staged) in page.iter().zip(in_stage) {
        // `from_store`: only a stored snapshot can be the same content in another encoding.
        let (before, from_store) = match staged {
            Known::Staged(None) => continue,
            Known::Staged(Some(staged)) => (Some(staged.clone()), false),
            Known::New => (None, false),
            Known::Unknown => match stored.next().expect("one answer per unstaged conversation") {
                Previous::Same => continue,
                Previous::Absent => (None, false),
                Previous::Differs(encoded) => (Some(encoded.decode()?), true),
            },
        };
        let conversation = record.conversation();
        let same = |s: &&Stored| from_store && s.conversation == conversation;
        if let Some(stored) = before.as_ref().filter(same) {
            // Same content, other encoding (another build, or upstream reformatted): store it
            // as received once, so the byte comparison holds from now on.
            out.reencoded.push(Stored {
                conversation,
                revision: stored.revision,
            });
            continue;
        }
        out.previous.push(before);
        out.changed.push(conversation);
    }
    Ok(out)
}
