//! `run --once`: one complete poll of every org, then delivery until the outbox is empty or
//! the drain has passed.

use crate::app::App;
use crate::config::Config;
use crate::poller::OrgReport;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What `run --once` did.
#[derive(Debug, Clone)]
pub struct OnceReport {
    /// One per org.
    pub orgs: Vec<OrgReport>,
    /// Entries still queued after the drain (they wait for the next run).
    pub pending: usize,
    /// Entries that became dead letters during this run, per sink.
    pub dead_lettered: BTreeMap<String, u64>,
    /// Sinks disabled after sustained failure: their entries are in `pending` and were not
    /// waited for.
    pub disabled: Vec<String>,
}

impl OnceReport {
    /// Every org listed completely, nothing left undelivered, nothing given up.
    pub fn success(&self) -> bool {
        self.pending == 0
            && self.dead_lettered.is_empty()
            && self.orgs.iter().all(|o| o.complete && o.error.is_none())
    }
}

/// Waits until the outbox of every sink that is not disabled is empty (a disabled sink's
/// entries wait for an operator, not for this drain), `deadline` or `shutdown`. Woken by each
/// change of the queue counts, so that `run --once` ends as soon as its last delivery is
/// recorded; looked at every 50 ms as well, for a sink disabled meanwhile.
async fn drain_outbox(app: &App, deadline: Instant, shutdown: &CancellationToken) {
    loop {
        let changed = app.store.counts_changed();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let now = Instant::now();
        if app.deliverable() == 0 || now >= deadline || shutdown.is_cancelled() {
            return;
        }
        let look = (now + Duration::from_millis(50)).min(deadline);
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = changed => {}
            _ = tokio::time::sleep_until(look.into()) => {}
        }
    }
}

/// One complete poll of every org, then delivery until the outbox is empty or `drain` has
/// passed. No HTTP endpoints: this is for cron and CI.
pub async fn run_once(
    config: Config,
    shutdown: CancellationToken,
    drain: Duration,
) -> anyhow::Result<OnceReport> {
    let app = App::build_for_one_poll(config)?;
    app.sweep_dead_letters()?;
    app.sweep_delivered()?;
    let dead_before = dead_letters_per_sink(&app);
    let stop_delivery = CancellationToken::new();
    let workers = app.spawn_workers(&stop_delivery)?;
    let orgs = app.poll_once(&shutdown).await;
    drain_outbox(&app, Instant::now() + drain, &shutdown).await;
    app.note_store_size();
    app.finish(workers, &stop_delivery).await?;
    let dead_lettered = dead_letters_per_sink(&app)
        .into_iter()
        .filter_map(|(sink, dead)| {
            let new = dead.saturating_sub(dead_before.get(&sink).copied().unwrap_or(0));
            (new > 0).then_some((sink, new))
        })
        .collect();
    Ok(OnceReport {
        orgs,
        pending: app.pending(),
        dead_lettered,
        disabled: app
            .workers
            .iter()
            .filter(|w| w.is_disabled())
            .map(|w| w.sink.name().to_string())
            .collect(),
    })
}

fn dead_letters_per_sink(app: &App) -> BTreeMap<String, u64> {
    let sinks = app.store.sinks_with_entries().into_iter();
    sinks.map(|(sink, counts)| (sink, counts.dead)).collect()
}
