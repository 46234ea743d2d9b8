//! What lets the daemon stop to compact its store and start again: its sockets, kept open
//! across the restart, and the look at the store's size that asks for it.

use crate::app::App;
use crate::store::compaction_due;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The daemon's listening sockets, open for its whole life: each start serves a duplicate of
/// them, so connections made while the store is compacted wait in the accept queue instead of
/// being refused (a liveness probe sees a slow answer, not a dead process).
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
