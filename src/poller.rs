//! One poll of one org: list every page in order, diff each page against the store, and commit
//! each page's new state with its outbox entries in one atomic step. [`poll_page`] is the unit
//! of work; [`poll_org`] is the listing around it; [`poll_all`] lists orgs side by side.
//!
//! A page that cannot be had or understood ends the listing and changes nothing; the pages before
//! it stay committed (what they showed was real). `conversation.removed` needs a complete listing.

use crate::api::ApiClient;
use crate::config::{Filter, InitialMode, OrgConfig};
use crate::diff::{diff_page, removed_event, DiffContext, Stored};
use crate::event::{Conversation, Event, RecordError};
use crate::metrics::Metrics;
use crate::store::{OrgState, OutboxEntry, PageCommit, Store, StoreError};
use chrono::Utc;
use futures::StreamExt;
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// A sink as the poller sees it: which events it wants, and how to wake its worker.
#[derive(Clone)]
pub struct Route {
    /// The sink's name.
    pub sink: String,
    /// Its filter; `None` takes everything.
    pub filter: Option<Filter>,
    /// Wakes its dispatcher worker.
    pub wake: Arc<Notify>,
}

/// What polling needs.
#[derive(Clone)]
pub struct PollContext {
    /// State and outbox.
    pub store: Store,
    /// The HyperRep client.
    pub api: ApiClient,
    /// Every sink.
    pub routes: Vec<Route>,
    /// What a first listing does.
    pub initial: InitialMode,
    /// Whether complete listings report removals.
    pub detect_removed: bool,
    /// Orgs listed at once.
    pub concurrency: usize,
    /// The number of the poll in progress; outbox entries carry it.
    pub poll: Arc<AtomicU64>,
    /// Where polls, pages and events are counted.
    pub metrics: Metrics,
}

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
    org: &'a OrgConfig,
    cursor: Option<String>,
    cursors_seen: HashSet<String>,
    ids_seen: HashSet<u64>,
    emit: bool,
    records_without_id: usize,
    /// The running totals.
    pub report: OrgReport,
}

impl<'a> Listing<'a> {
    /// A listing of `org` from its first page; `emit` is false while recording a baseline.
    pub fn new(org: &'a OrgConfig, emit: bool) -> Self {
        let report = OrgReport {
            org_id: org.id.clone(),
            ..OrgReport::default()
        };
        Listing {
            org,
            cursor: None,
            cursors_seen: HashSet::new(),
            ids_seen: HashSet::new(),
            emit,
            records_without_id: 0,
            report,
        }
    }
}

/// Where a listing stands after a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageOutcome {
    /// There is a next page.
    More,
    /// That was the last page.
    Complete,
    /// The listing cannot go on; nothing from the failed page was recorded.
    Incomplete(String),
}

/// Fetches, diffs and commits the listing's next page.
pub async fn poll_page(
    ctx: &PollContext,
    listing: &mut Listing<'_>,
    cancel: &CancellationToken,
) -> PageOutcome {
    let org = listing.org;
    let page = match ctx
        .api
        .list_page(&org.id, listing.cursor.as_deref(), cancel)
        .await
    {
        Ok(page) => page,
        Err(error) => return PageOutcome::Incomplete(error.to_string()),
    };
    for error in &page.skipped {
        tracing::warn!(%error, "skipped an unusable conversation record");
        match error {
            RecordError::WrongType { id, .. } => {
                ctx.detect_removed && listing.ids_seen.insert(hash_id(id))
            }
            _ => {
                listing.records_without_id += 1;
                false
            }
        };
    }
    let ids: Vec<&str> = page.conversations.iter().map(|c| c.id()).collect();
    let committed = commit(ctx, listing, &page.conversations, &ids);
    let (events, commit) = match committed {
        Ok(done) => done,
        Err(error) => return PageOutcome::Incomplete(format!("cannot record the page: {error}")),
    };
    wake(&ctx.routes, &commit);
    ctx.metrics
        .page(&org.id, page.conversations.len(), page.skipped.len());
    if ctx.detect_removed {
        // Only removal detection needs every id of the listing; without it, memory stays per page.
        listing.ids_seen.extend(ids.iter().map(|id| hash_id(id)));
    }
    listing.report.pages += 1;
    listing.report.conversations += page.conversations.len();
    listing.report.skipped += page.skipped.len();
    listing.report.events += events;
    listing.report.written += commit.writes.len();
    next_cursor(listing, page.has_more, page.next_cursor)
}

/// Diffs the conversations that differ from what is stored and commits them with their outbox
/// entries; returns how many events that made, and the commit.
fn commit(
    ctx: &PollContext,
    listing: &Listing<'_>,
    page: &[Conversation],
    ids: &[&str],
) -> Result<(usize, PageCommit), StoreError> {
    let org = listing.org;
    let (mut changed, mut previous, mut reencoded) = (Vec::new(), Vec::new(), Vec::new());
    for (conversation, stored) in page.iter().zip(ctx.store.previous(&org.id, ids)?) {
        match stored {
            Some(stored) if stored.same_as(conversation) => continue,
            Some(stored) => {
                let stored = stored.decode()?;
                if stored.conversation == *conversation {
                    // Same content, other encoding (another build, or upstream reformatted):
                    // store it as received once, so the byte comparison holds from now on.
                    reencoded.push(Stored {
                        conversation: conversation.clone(),
                        ..stored
                    });
                    continue;
                }
                previous.push(Some(stored));
            }
            None => previous.push(None),
        }
        changed.push(conversation.clone());
    }
    let diff_ctx = DiffContext {
        org_id: &org.id,
        org_name: org.label(),
        emit: listing.emit,
        detected_at: Utc::now(),
    };
    let changes = diff_page(&diff_ctx, &changed, &previous);
    let mut writes = changes.writes;
    writes.extend(reencoded);
    let commit = PageCommit {
        outbox: route(ctx, &changes.events),
        writes,
        deletes: Vec::new(),
    };
    ctx.store.commit_page(&org.id, &commit)?;
    Ok((changes.events.len(), commit))
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

/// One outbox entry per (event, sink whose filter takes it).
fn route(ctx: &PollContext, events: &[Event]) -> Vec<(String, OutboxEntry)> {
    let (routes, poll) = (&ctx.routes, ctx.poll.load(Ordering::SeqCst));
    let now = Utc::now();
    let mut entries = Vec::new();
    for event in events {
        ctx.metrics.event(event.kind.as_str());
        for route in routes
            .iter()
            .filter(|r| r.filter.as_ref().is_none_or(|f| f.matches(event)))
        {
            let entry = OutboxEntry {
                poll,
                ..OutboxEntry::new(event.clone(), now)
            };
            entries.push((route.sink.clone(), entry));
        }
    }
    entries
}

fn wake(routes: &[Route], commit: &PageCommit) {
    for route in routes {
        if commit.outbox.iter().any(|(sink, _)| *sink == route.sink) {
            route.wake.notify_one();
        }
    }
}

fn hash_id(id: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    id.hash(&mut hasher);
    hasher.finish()
}

/// Lists every page of `org`, then records the outcome in the org's state.
pub async fn poll_org(ctx: &PollContext, org: &OrgConfig, cancel: &CancellationToken) -> OrgReport {
    let span = tracing::info_span!("poll", org = %org.id);
    async {
        let report = match ctx.store.org_state(&org.id) {
            Ok(state) => list_org(ctx, org, state, cancel).await,
            Err(error) => OrgReport {
                org_id: org.id.clone(),
                error: Some(error.to_string()),
                ..OrgReport::default()
            },
        };
        log_report(&report);
        report
    }
    .instrument(span)
    .await
}

async fn list_org(
    ctx: &PollContext,
    org: &OrgConfig,
    mut state: OrgState,
    cancel: &CancellationToken,
) -> OrgReport {
    let emit = state.baseline_done || ctx.initial == InitialMode::Notify;
    let mut listing = Listing::new(org, emit);
    let outcome = loop {
        match poll_page(ctx, &mut listing, cancel).await {
            PageOutcome::More => continue,
            other => break other,
        }
    };
    let mut report = listing.report.clone();
    report.complete = outcome == PageOutcome::Complete;
    if report.complete && ctx.detect_removed && state.baseline_done {
        match removals(ctx, &listing, &state.missing) {
            Ok(Some((removed, missing))) => {
                report.events += removed;
                state.missing = missing;
            }
            Ok(None) => {}
            Err(error) => report.error = Some(format!("cannot record removals: {error}")),
        }
    }
    if let PageOutcome::Incomplete(reason) = &outcome {
        report.error = Some(reason.clone());
    }
    let now = Utc::now();
    ctx.metrics.poll(&org.id, report.complete, now);
    state.last_poll_at = Some(now);
    state.last_error = report.error.clone();
    if report.complete {
        state.baseline_done = true;
        state.last_complete_at = Some(now);
    }
    if let Err(error) = ctx.store.set_org_state(&org.id, &state) {
        report
            .error
            .get_or_insert(format!("cannot record the org state: {error}"));
    }
    report
}

/// After a complete listing: the stored conversations it lacked. Those the previous complete
/// listing lacked too are gone upstream: they are announced and forgotten. The others are only
/// remembered as missing, because one listing cannot tell a removal from a glitch (a short or empty
/// page with the pagination intact). Returns (announced, still missing), or `None` when this
/// listing cannot judge removals at all: it had a record without an id (that may have been one of
/// them), or it was empty (an org does not lose every conversation at once).
fn removals(
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
    for stored in ctx.store.stored(&org.id) {
        let stored = stored?;
        if listing
            .ids_seen
            .contains(&hash_id(stored.conversation.id()))
        {
            continue;
        }
        if suspected.contains(stored.conversation.id()) {
            confirmed.push(stored);
        } else {
            missing.push(stored.conversation.id().to_string());
        }
    }
    let diff_ctx = DiffContext {
        org_id: &org.id,
        org_name: org.label(),
        emit: true,
        detected_at: Utc::now(),
    };
    for batch in confirmed.chunks(100) {
        let events: Vec<Event> = batch.iter().map(|s| removed_event(&diff_ctx, s)).collect();
        let deletes = batch
            .iter()
            .map(|s| s.conversation.id().to_string())
            .collect();
        let commit = PageCommit {
            outbox: route(ctx, &events),
            writes: Vec::new(),
            deletes,
        };
        ctx.store.commit_page(&org.id, &commit)?;
        wake(&ctx.routes, &commit);
    }
    Ok(Some((confirmed.len(), missing)))
}

fn log_report(report: &OrgReport) {
    let OrgReport {
        pages,
        conversations,
        events,
        skipped,
        complete,
        ..
    } = report;
    match &report.error {
        Some(error) => {
            tracing::warn!(%error, pages, conversations, events, skipped, "poll incomplete")
        }
        None if *events > 0 => tracing::info!(
            pages,
            conversations,
            events,
            skipped,
            complete,
            "poll found changes"
        ),
        None => tracing::debug!(pages, conversations, skipped, "poll found no changes"),
    }
}

/// Polls every org, `ctx.concurrency` at a time; one org's failure does not touch the others.
pub async fn poll_all(
    ctx: &PollContext,
    orgs: &[OrgConfig],
    cancel: &CancellationToken,
) -> Vec<OrgReport> {
    // The futures are collected first: a stream whose type names a closure over borrowed orgs
    // needs a higher-ranked lifetime that a spawned daemon cannot prove.
    let polls: Vec<_> = orgs.iter().map(|org| poll_org(ctx, org, cancel)).collect();
    futures::stream::iter(polls)
        .buffer_unordered(ctx.concurrency.max(1))
        .collect()
        .await
}
