//! One poll of one org: list every page in order, diff each page against the store, and commit
//! the new state with its outbox entries in atomic steps of one or more pages. [`poll_page`] is
//! the unit of work; [`poll_org`] is the listing around it; [`poll_all`] lists orgs side by side.
//!
//! A page that cannot be had or understood ends the listing and changes nothing; the pages before
//! it are committed (what they showed was real). `conversation.removed` needs a complete listing.

mod cadence;
mod clocks;
mod ids;
mod page;
mod previous;
mod removals;
mod staged;

pub use cadence::{due_orgs, next_wake, poll_on_cadence, Cadence, Slot};
pub use page::{poll_page, Listing, OrgReport, PageOutcome};

use crate::api::ApiClient;
use crate::config::{InitialMode, OrgConfig};
use crate::dispatch::Outbox;
use crate::metrics::Metrics;
use crate::store::{OrgState, Store};
use chrono::Utc;
use futures::StreamExt;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// What polling needs.
#[derive(Clone)]
pub struct PollContext {
    /// State (read here; written through the outbox's commits).
    pub store: Store,
    /// The HyperRep client.
    pub api: ApiClient,
    /// Where events and state changes go.
    pub outbox: Arc<Outbox>,
    /// What a first listing does.
    pub initial: InitialMode,
    /// Whether complete listings report removals.
    pub detect_removed: bool,
    /// The reminders and their clocks.
    pub rules: Arc<crate::reminders::Rules>,
    /// Orgs listed at once.
    pub concurrency: usize,
    /// Where polls, pages and events are counted.
    pub metrics: Metrics,
}

/// Lists every page of `org`, then records the outcome in the org's state.
pub async fn poll_org(ctx: &PollContext, org: &OrgConfig, cancel: &CancellationToken) -> OrgReport {
    let span = tracing::info_span!("poll", org = %org.id);
    async {
        let opened = ctx.outbox.open_poll();
        let state = ctx.store.org_state(&org.id);
        let report = match (opened, state) {
            (Ok(poll), Ok(state)) => list_org(ctx, org, poll.number(), state, cancel).await,
            (Err(error), _) | (_, Err(error)) => OrgReport {
                org_id: org.id.clone(),
                error: Some(format!("cannot read the store: {error}")),
                ..OrgReport::default()
            },
        };
        if cancel.is_cancelled() && !report.complete {
            // A graceful stop, not a problem worth a warning per org.
            tracing::info!(pages = report.pages, "poll stopped by shutdown");
        } else {
            log_report(&report);
        }
        report
    }
    .instrument(span)
    .await
}

async fn list_org(
    ctx: &PollContext,
    org: &OrgConfig,
    poll: u64,
    mut state: OrgState,
    cancel: &CancellationToken,
) -> OrgReport {
    let emit = state.baseline_done || ctx.initial == InitialMode::Notify;
    let mut listing = Listing::new(org, poll, emit);
    // A failed read only costs the shortcut: the store is then asked about every record.
    if matches!(ctx.store.knows_org(&org.id), Ok(false)) {
        listing = listing.of_new_org();
    }
    let outcome = loop {
        match poll_page(ctx, &mut listing, cancel).await {
            PageOutcome::More => continue,
            other => break other,
        }
    };
    if outcome == PageOutcome::Complete && !ctx.rules.is_empty() {
        if let Err(error) = send_due_reminders(ctx, &mut listing) {
            listing.report.error = Some(format!("cannot send the reminders due: {error}"));
        }
    }
    let mut report = listing.report.clone();
    report.complete = outcome == PageOutcome::Complete;
    if report.complete && ctx.detect_removed && state.baseline_done {
        match removals::removals(ctx, &listing, &state.missing) {
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
    ctx.store.listing_done(&org.id);
    if let Err(error) = ctx.store.set_org_state(&org.id, &state) {
        report
            .error
            .get_or_insert(format!("cannot record the org state: {error}"));
    }
    report
}

/// The reminder steps due after a complete listing, committed like a page.
fn send_due_reminders(
    ctx: &PollContext,
    listing: &mut Listing<'_>,
) -> Result<(), crate::store::StoreError> {
    clocks::due(ctx, listing, Utc::now())?;
    page::commit_staged(ctx, listing)
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
