//! The two ways to run: the daemon ([`run`], [`run_on`], [`run_on_with_admin`]) and one poll with a bounded drain
//! ([`run_once`]).

mod once;
mod reopen;

pub use once::{run_once, OnceReport};

use crate::app::App;
use crate::config::Config;
use crate::poller::{poll_on_cadence, Cadence};
use anyhow::Context;
use futures::future::Either;
use reopen::{reopen_holding, watch_store, Sockets};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The daemon on `server.listen` (and `server.admin_listen`): see [`run_on`].
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let address = config.server.listen;
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on server.listen = {address}"))?;
    run_on(config, listener, shutdown).await
}

/// The daemon: serve the endpoints on `listener` (and the admin endpoints on
/// `server.admin_listen` when it is set), poll every org on its cadence (or when
/// `POST /admin/poll` asks), deliver continuously; see [`supervise`] for how it stops.
pub async fn run_on(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let admin = match config.server.admin_listen {
        Some(address) => Some(
            TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on server.admin_listen = {address}"))?,
        ),
        None => None,
    };
    run_on_with_admin(config, listener, admin, shutdown).await
}

/// [`run_on`] with the admin listener given: with `Some`, `/admin/*` is served there only and
/// `listener` answers 404 for it; with `None`, `listener` serves everything.
///
/// When the store has grown past `store.compact_growth_percent` (looked at every poll interval),
/// the daemon stops as it would on a signal, compacts the store, and starts again on the same
/// sockets, which meanwhile answer that it is alive and not ready; the metrics carry on.
pub async fn run_on_with_admin(
    config: Config,
    listener: TcpListener,
    admin: Option<TcpListener>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut app = App::build(config)?;
    let sockets = Sockets::keep(listener, admin)?;
    let (address, admin_address) = sockets.addresses()?;
    tracing::info!(orgs = app.config.orgs.len(), sinks = app.workers.len(), %address, admin = ?admin_address, "hyperrep-notifier started");
    loop {
        let stop = shutdown.child_token();
        let (listener, admin) = sockets.listeners()?;
        let server = serve_all(&app, listener, admin, &stop);
        let Some(stopped) = supervise_until_due(app, server, stop).await? else {
            return Ok(());
        };
        if shutdown.is_cancelled() {
            return Ok(());
        }
        tracing::info!("restarting to compact the store");
        app = reopen_holding(&sockets, stopped).await?;
    }
}

/// The HTTP servers as one task, which ends as soon as either server ends: [`supervise`] then
/// stops the daemon, whose health or admin endpoints would otherwise be gone unnoticed. On a
/// requested stop, it ends once both have finished their graceful stop.
fn serve_all(
    app: &App,
    listener: TcpListener,
    admin: Option<TcpListener>,
    stop: &CancellationToken,
) -> JoinHandle<std::io::Result<()>> {
    use crate::server::{serve, serve_endpoints, Endpoints};
    let state = app.server_state();
    let Some(admin) = admin else {
        return tokio::spawn(serve(listener, state, stop.clone()));
    };
    let public = tokio::spawn(serve_endpoints(
        listener,
        state.clone(),
        Endpoints::Public,
        stop.clone(),
    ));
    let admin = tokio::spawn(serve_endpoints(
        admin,
        state,
        Endpoints::Admin,
        stop.clone(),
    ));
    tokio::spawn(first_to_end(public, admin, stop.clone()))
}

type Served = JoinHandle<std::io::Result<()>>;

/// Ends when either server ends, with its outcome; on a requested stop, once both have ended.
async fn first_to_end(one: Served, two: Served, stop: CancellationToken) -> std::io::Result<()> {
    let (ended, other) = match futures::future::select(one, two).await {
        Either::Left((ended, other)) | Either::Right((ended, other)) => (ended, other),
    };
    ended.map_err(std::io::Error::other)??;
    if stop.is_cancelled() {
        other.await.map_err(std::io::Error::other)??;
    }
    Ok(())
}

/// Runs the poll loop, the workers and the housekeeping beside `server` until `stop` fires (a
/// signal), then lets deliveries in flight finish (up to `server.shutdown_timeout`) and flushes
/// the store. An error, so that the process exits 1 and its orchestrator restarts it, when the
/// HTTP server ended by itself (a daemon without `/healthz` must not go on polling), when the
/// store failed to write (sled keeps such an error until the process restarts), or when the
/// final flush failed.
pub async fn supervise(
    app: App,
    server: JoinHandle<std::io::Result<()>>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    run_until_stopped(&app, server, stop, None).await
}

/// [`supervise`], which also stops the daemon once its store is due for a compaction, and then
/// gives the app back (its deliveries finished, its store flushed) for [`App::reopened`].
async fn supervise_until_due(
    app: App,
    server: JoinHandle<std::io::Result<()>>,
    stop: CancellationToken,
) -> anyhow::Result<Option<App>> {
    let due = AtomicBool::new(false);
    run_until_stopped(&app, server, stop, Some(&due)).await?;
    Ok(due.load(Ordering::Relaxed).then_some(app))
}

/// See [`supervise`]; with `due`, the store's size is watched as well (see `reopen.rs`).
async fn run_until_stopped(
    app: &App,
    mut server: JoinHandle<std::io::Result<()>>,
    stop: CancellationToken,
    due: Option<&AtomicBool>,
) -> anyhow::Result<()> {
    let stop_delivery = CancellationToken::new();
    let workers = app.spawn_workers(&stop_delivery)?;
    let watch = async {
        if let Some(due) = due {
            watch_store(app, &stop, due).await;
        }
    };
    let work = async { tokio::join!(poll(app, &stop), tidy(app, &stop), watch) };
    tokio::pin!(work);
    let failed = app.store.failed();
    // Which of the three ended: the work (on `stop`), the server, or the store.
    let (trouble, work_done, server_done) = tokio::select! {
        _ = &mut work => (None, true, false),
        ended = &mut server => (server_trouble(ended, &stop), false, true),
        _ = failed.cancelled() => (Some(anyhow::anyhow!(
            "the store cannot be written ({}); exiting so that a restart can reopen it",
            app.store.failure().unwrap_or_default()
        )), false, false),
    };
    if let Some(error) = &trouble {
        tracing::error!(%error, "stopping");
    }
    stop.cancel();
    if !work_done {
        work.await;
    }
    tracing::info!("stopping: finishing deliveries in flight");
    let finished = app.finish(workers, &stop_delivery).await;
    if !server_done {
        if let Ok(Err(error)) = server.await {
            tracing::error!(%error, "the HTTP server failed");
        }
    }
    tracing::info!("stopped");
    trouble.map_or(finished, Err)
}

/// What the HTTP server's end means: nothing on a requested stop, else the reason to exit.
fn server_trouble(
    ended: Result<std::io::Result<()>, tokio::task::JoinError>,
    stop: &CancellationToken,
) -> Option<anyhow::Error> {
    let why = match ended {
        Ok(Ok(())) if stop.is_cancelled() => return None,
        Ok(Ok(())) => "it stopped".to_string(),
        Ok(Err(error)) => error.to_string(),
        Err(error) => error.to_string(),
    };
    Some(anyhow::anyhow!(
        "the HTTP server ended ({why}); exiting so that it is restarted"
    ))
}

async fn poll(app: &App, stop: &CancellationToken) {
    let cadence = Cadence {
        interval: app.config.poll.interval,
        max_failure_delay: app.config.poll.max_failure_delay,
    };
    poll_on_cadence(&app.poll, &app.config.orgs, cadence, &app.poll_now, stop).await;
}

/// At start and hourly: dead letters older than `delivery.keep_dead_letters` and delivered
/// events older than `delivery.keep_delivered` are removed, and Slack messages unused for their
/// sink's `keep_messages` are forgotten.
async fn tidy(app: &App, stop: &CancellationToken) {
    loop {
        if let Err(error) = app.sweep_dead_letters() {
            tracing::error!(%error, "cannot remove old dead letters");
        }
        if let Err(error) = app.forget_old_messages(chrono::Utc::now()) {
            tracing::error!(%error, "cannot forget old Slack message references");
        }
        if let Err(error) = app.sweep_delivered() {
            tracing::error!(%error, "cannot remove old delivered events");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_servers_task_ends_as_soon_as_the_admin_server_ends_by_itself() {
        let stop = CancellationToken::new();
        let cancelled = stop.clone();
        let public = tokio::spawn(async move {
            cancelled.cancelled().await;
            Ok(())
        });
        let admin = tokio::spawn(async { Err(std::io::Error::other("accept failed")) });
        let ended = first_to_end(public, admin, stop.clone()).await;
        assert!(ended.is_err(), "the admin server's failure is the outcome");
        let trouble = server_trouble(Ok(ended), &stop).expect("a reason to exit 1");
        assert!(trouble.to_string().contains("accept failed"), "{trouble}");
    }
}
