//! One page of a listing: fetch it, diff it against what earlier pages staged and what the store
//! holds, stage its changes, and commit what is staged when it is due or the listing ends.

use super::ids::IdSet;
use super::previous::{previous_of, Differing};
use super::staged::Staged;
use super::PollContext;
use crate::api::{ApiError, Page, Record};
use crate::config::OrgConfig;
use crate::diff::{diff_page, DiffContext};
use crate::event::RecordError;
use crate::store::StoreError;
use chrono::Utc;
use std::collections::HashSet;
use tokio_util::sync::CancellationToken;

/// What one poll of one org did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgReport {
    /// The org id.
    pub org_id: String,
    /// Pages committed.
    pub pages: usize,
    /// Usable conversations seen.
    pub conversations: usize,
    /// Snapshots written (new or changed conversations only).
    pub written: usize,
    /// Events queued.
    pub events: usize,
    /// Records skipped as unusable.
    pub skipped: usize,
    /// Whether the listing reached its last page.
    pub complete: bool,
    /// Why it did not, when it did not.
    pub error: Option<String>,
}

/// A listing in progress.
pub struct Listing<'a> {
    pub(super) org: &'a OrgConfig,
    pub(super) poll: u64,
    cursor: Option<String>,
    cursors_seen: HashSet<String>,
    /// The ids the listing saw: kept when removal detection or reminders need them, and while
    /// listing an org new to the store (`new_org`).
    pub(super) ids_seen: IdSet,
    /// Whether the store held nothing of the org as the listing began: then only an id in
    /// `ids_seen` can be stored, and no other is looked up (a first listing of 100,000
    /// conversations would otherwise read the store 100,000 times for nothing).
    pub(super) new_org: bool,
    pub(super) emit: bool,
    pub(super) records_without_id: usize,
    pub(super) staged: Staged,
    /// The running totals of what is committed.
    pub report: OrgReport,
}

impl<'a> Listing<'a> {
    /// A listing of `org` from its first page, for poll number `poll`; `emit` is false while
    /// recording a baseline.
    pub fn new(org: &'a OrgConfig, poll: u64, emit: bool) -> Self {
        let report = OrgReport {
            org_id: org.id.clone(),
            ..OrgReport::default()
        };
        Listing {
            org,
            poll,
            cursor: None,
            cursors_seen: HashSet::new(),
            ids_seen: IdSet::default(),
            new_org: false,
            emit,
            records_without_id: 0,
            staged: Staged::default(),
            report,
        }
    }

    /// Tells the listing that the store holds nothing of its org yet (see `new_org`).
    pub fn of_new_org(mut self) -> Self {
        self.new_org = true;
        self
    }
}

/// Where a listing stands after a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageOutcome {
    /// There is a next page.
    More,
    /// That was the last page; everything the listing found is committed.
    Complete,
    /// The listing cannot go on; nothing from the failed page was recorded, and what the pages
    /// before it found is committed.
    Incomplete(String),
}

/// Fetches and diffs the listing's next page, stages its changes, and commits what is staged
/// when enough has gathered or the listing ends here.
pub async fn poll_page(
    ctx: &PollContext,
    listing: &mut Listing<'_>,
    cancel: &CancellationToken,
) -> PageOutcome {
    let unrecorded =
        |error: StoreError| PageOutcome::Incomplete(format!("cannot record the pages: {error}"));
    let outcome = match fetch_committing_due(ctx, listing, cancel).await {
        Err(error) => return unrecorded(error),
        Ok(Err(error)) => PageOutcome::Incomplete(error.to_string()),
        Ok(Ok(page)) => match stage_page(ctx, listing, &page) {
            Ok(()) => next_cursor(listing, page.has_more, page.next_cursor),
            Err(error) => PageOutcome::Incomplete(format!("cannot read the store: {error}")),
        },
    };
    if outcome == PageOutcome::More && !listing.staged.is_due() {
        return outcome;
    }
    match commit_staged(ctx, listing) {
        Ok(()) => outcome,
        Err(error) => unrecorded(error),
    }
}

/// Fetches the next page. What is staged is committed when its deadline passes during the wait,
/// so a slow page does not hold back the changes found before it.
async fn fetch_committing_due(
    ctx: &PollContext,
    listing: &mut Listing<'_>,
    cancel: &CancellationToken,
) -> Result<Result<Page, ApiError>, StoreError> {
    // Taken, not cloned: the page's outcome sets the next one, and a failed listing needs none.
    let (org, cursor) = (listing.org, listing.cursor.take());
    let fetch = ctx.api.list_page(&org.id, cursor.as_deref(), cancel);
    tokio::pin!(fetch);
    loop {
        let Some(deadline) = listing.staged.deadline() else {
            return Ok(fetch.await);
        };
        tokio::select! {
            page = &mut fetch => return Ok(page),
            _ = tokio::time::sleep_until(deadline) => commit_staged(ctx, listing)?,
        }
    }
}

/// Diffs a page against what is staged and stored, and stages what changed.
fn stage_page(ctx: &PollContext, listing: &mut Listing<'_>, page: &Page) -> Result<(), StoreError> {
    let records: Vec<Record<'_>> = page.records().collect();
    let differing = previous_of(ctx, listing, &records)?;
    note_skipped(ctx, listing, &page.skipped);
    let org = listing.org;
    let diff_ctx = DiffContext {
        org_id: &org.id,
        org_name: org.label(),
        emit: listing.emit,
        detected_at: Utc::now(),
    };
    let Differing {
        changed,
        previous,
        reencoded,
        ..
    } = differing;
    let changes = diff_page(&diff_ctx, &changed, &previous);
    // Re-encodings first: if a page lists a conversation twice, its diffed write comes last and
    // wins. A conversation of a new org that no earlier page listed is not stored at all.
    for stored in reencoded {
        listing.staged.write(stored, false);
    }
    for stored in changes.writes {
        let fresh = listing.new_org && !listing.ids_seen.contains(stored.conversation.id());
        listing.staged.write(stored, fresh);
    }
    for (conversation, before) in changed.iter().zip(&previous) {
        super::clocks::on_change(
            ctx,
            listing,
            conversation,
            before.is_some(),
            diff_ctx.detected_at,
        )?;
    }
    for event in changes.events {
        let kind = event.kind;
        listing
            .staged
            .queue(kind, ctx.outbox.route(event, listing.poll));
    }
    let (usable, skipped) = (records.len(), page.skipped.len());
    ctx.metrics.page(&org.id, usable, skipped);
    note_ids(ctx, listing, &records);
    let staged = &mut listing.staged;
    staged.pages += 1;
    staged.conversations += usable;
    staged.skipped += skipped;
    Ok(())
}

/// Remembers the ids of a page's usable records, where the listing needs them.
fn note_ids(ctx: &PollContext, listing: &mut Listing<'_>, records: &[Record<'_>]) {
    // Only removal detection, reminders (sent only for what the listing showed) and a first
    // listing need every id of the listing; otherwise memory stays per page.
    if ctx.detect_removed || !ctx.rules.is_empty() || listing.new_org {
        for record in records {
            listing.ids_seen.insert(record.id);
        }
    }
}

fn note_skipped(ctx: &PollContext, listing: &mut Listing<'_>, skipped: &[RecordError]) {
    for error in skipped {
        tracing::warn!(%error, "skipped an unusable conversation record");
        match error {
            // The id is known, so the conversation was seen: it is not a removal.
            RecordError::WrongType { id, .. } if ctx.detect_removed => {
                listing.ids_seen.insert(id);
            }
            RecordError::WrongType { .. } => {}
            _ => listing.records_without_id += 1,
        }
    }
}

/// Commits what is staged in one atomic step, wakes the sinks it queued for, and adds it to the
/// report. On failure nothing of it is recorded (the next poll finds it again).
pub(super) fn commit_staged(
    ctx: &PollContext,
    listing: &mut Listing<'_>,
) -> Result<(), StoreError> {
    let (pages, conversations, skipped) = (
        listing.staged.pages,
        listing.staged.conversations,
        listing.staged.skipped,
    );
    let (commit, sent) = listing.staged.take();
    ctx.outbox.commit(&listing.org.id, &commit)?;
    for kind in &sent.kinds {
        ctx.metrics.event(kind.as_str());
    }
    for (reminder, step) in &sent.reminders {
        ctx.metrics.reminder_sent(reminder, *step);
    }
    let report = &mut listing.report;
    report.pages += pages;
    report.conversations += conversations;
    report.skipped += skipped;
    report.events += sent.kinds.len();
    report.written += commit.writes.len() + commit.fresh.len();
    Ok(())
}

fn next_cursor(listing: &mut Listing<'_>, has_more: bool, next: Option<String>) -> PageOutcome {
    if !has_more {
        return PageOutcome::Complete;
    }
    let Some(next) = next else {
        return PageOutcome::Incomplete("upstream said has_more but gave no next_cursor".into());
    };
    if !listing.cursors_seen.insert(next.clone()) {
        return PageOutcome::Incomplete("upstream repeated a cursor (a pagination loop)".into());
    }
    listing.cursor = Some(next);
    PageOutcome::More
}
