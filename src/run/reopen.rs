//! What lets the daemon stop to compact its store and start again: its sockets, kept open
//! across the restart, the look at the store's size that asks for it, and the restart itself.

use crate::app::App;
use crate::server::{hold, Endpoints};
use crate::store::compaction_due;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The daemon's listening sockets, open for its whole life: each start, and the answers while
/// the store is compacted, serve a duplicate of them, so a connection made between the two
/// waits in the accept queue instead of being refused.
pub(super) struct Sockets {
    public: std::net::TcpListener,
    admin: Option<std::net::TcpListener>,
}

impl Sockets {
    pub(super) fn keep(
        public: TcpListener,
        admin: Option<TcpListener>,
    ) -> std::io::Result<Sockets> {
        Ok(Sockets {
            public: public.into_std()?,
            admin: admin.map(TcpListener::into_std).transpose()?,
        })
    }

    pub(super) fn addresses(&self) -> std::io::Result<(SocketAddr, Option<SocketAddr>)> {
        let admin = self.admin.as_ref().map(|a| a.local_addr()).transpose()?;
        Ok((self.public.local_addr()?, admin))
    }

    /// Listeners for one start (duplicates of the sockets).
    pub(super) fn listeners(&self) -> std::io::Result<(TcpListener, Option<TcpListener>)> {
        let dup = |socket: &std::net::TcpListener| TcpListener::from_std(socket.try_clone()?);
        Ok((
            dup(&self.public)?,
            self.admin.as_ref().map(dup).transpose()?,
        ))
    }
}

/// Every poll interval (at least a second), whether the store has grown enough to be
/// compacted (a look at its files' sizes); if so, `due` is set and `stop` fired. Until every
/// org has its baseline nothing is due: the size to grow past is recorded after them.
pub(super) async fn watch_store(app: &App, stop: &CancellationToken, due: &AtomicBool) {
    let every = app.config.poll.interval.max(Duration::from_secs(1));
    let store = &app.config.store;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        app.note_store_size();
        if compaction_due(&store.path, store.compaction()) {
            tracing::info!("the store is due for a compaction");
            due.store(true, Ordering::Relaxed);
            stop.cancel();
            return;
        }
    }
}

/// `app` started again on its store, compacted meanwhile (see [`App::reopened`]), off the async
/// threads: the sockets meanwhile answer that the daemon is alive and not ready (see
/// `server/holding.rs`), so that a liveness probe does not take a long compaction for a hang.
pub(super) async fn reopen_holding(sockets: &Sockets, app: App) -> anyhow::Result<App> {
    let stop = CancellationToken::new();
    let metrics = app.metrics.clone();
    let held = |listener, endpoints| {
        tokio::spawn(hold(listener, endpoints, metrics.clone(), stop.clone()))
    };
    let (public, admin) = sockets.listeners()?;
    let held = match admin {
        None => vec![held(public, Endpoints::All)],
        Some(admin) => vec![
            held(public, Endpoints::Public),
            held(admin, Endpoints::Admin),
        ],
    };
    let reopened = tokio::task::spawn_blocking(move || app.reopened()).await;
    stop.cancel();
    for server in held {
        if let Ok(Err(error)) = server.await {
            tracing::warn!(%error, "answering while compacting failed");
        }
    }
    reopened?
}
