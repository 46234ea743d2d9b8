//! The two ways to run: the daemon ([`run`], [`run_on`]) and one poll with a bounded drain
//! ([`run_once`]).

use crate::app::App;
use crate::config::Config;
use crate::poller::{poll_on_cadence, Cadence, OrgReport};
use anyhow::Context;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The daemon on `server.listen`: see [`run_on`].
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let address = config.server.listen;
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on server.listen = {address}"))?;
    run_on(config, listener, shutdown).await
}

/// The daemon: serve the endpoints on `listener`, poll every `poll.interval` (or when
/// `POST /admin/poll` asks), deliver continuously; when `shutdown` fires, stop polling, let
/// deliveries in flight finish (up to `server.shutdown_timeout`), flush the store, return.
pub async fn run_on(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let app = App::build(config)?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(crate::server::serve(
        listener,
        app.server_state(),
        shutdown.clone(),
    ));
    let stop_delivery = CancellationToken::new();
    let workers = app.spawn_workers(&stop_delivery);
    tracing::info!(orgs = app.config.orgs.len(), sinks = app.workers.len(), %address, "hyperrep-notifier started");
    let cadence = Cadence {
        interval: app.config.poll.interval,
        max_failure_delay: app.config.poll.max_failure_delay,
    };
    poll_on_cadence(
        &app.poll,
        &app.config.orgs,
        cadence,
        &app.poll_now,
        &shutdown,
    )
    .await;
    tracing::info!("stopping: finishing deliveries in flight");
    app.finish(workers, &stop_delivery).await;
    match server.await {
        Ok(Err(error)) => tracing::error!(%error, "the HTTP server failed"),
        Err(error) => tracing::error!(%error, "the HTTP server task failed"),
        Ok(Ok(())) => {}
    }
    tracing::info!("stopped");
    Ok(())
}

/// What `run --once` did.
#[derive(Debug, Clone)]
pub struct OnceReport {
    /// One per org.
    pub orgs: Vec<OrgReport>,
    /// Entries still queued after the drain (they wait for the next run).
    pub pending: usize,
}

impl OnceReport {
    /// Every org listed completely and nothing left undelivered.
    pub fn success(&self) -> bool {
        self.pending == 0 && self.orgs.iter().all(|o| o.complete && o.error.is_none())
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
    let stop_delivery = CancellationToken::new();
    let workers = app.spawn_workers(&stop_delivery);
    let orgs = app.poll_once(&shutdown).await;
    let deadline = Instant::now() + drain;
    while app.pending() > 0 && Instant::now() < deadline && !shutdown.is_cancelled() {
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    app.finish(workers, &stop_delivery).await;
    Ok(OnceReport {
        orgs,
        pending: app.pending(),
    })
}
