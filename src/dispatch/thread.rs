//! The thread the workers deliver on. Listings and deliveries each run on a thread of their
//! own, each a single-threaded tokio runtime: a poll with changes lists on one core while its
//! webhooks go out on the other, and neither wakes a thread per page or per request (a
//! work-stealing runtime did: about 30 % more CPU for the same poll, measured). The two meet
//! only in the store and at the outbox's wake-ups, which are thread-safe.

use super::{run_worker, Worker};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The workers of every sink, running on their thread until [`Workers::join`] (after their
/// stop token fired) or until dropped (which abandons the attempts in flight, as dropping a
/// task does: they are retried at the next start).
pub struct Workers {
    ended: Option<oneshot::Receiver<()>>,
    abandon: CancellationToken,
}

impl Workers {
    /// Starts `workers` on a thread of their own; they stop starting attempts when `stop`
    /// fires. An error when the thread or its runtime cannot be made (out of threads).
    pub fn start(workers: Vec<Worker>, stop: &CancellationToken) -> std::io::Result<Workers> {
        let (done, ended) = oneshot::channel();
        let (started, start) = std::sync::mpsc::channel();
        let abandon = CancellationToken::new();
        let (stop, give_up) = (stop.clone(), abandon.clone());
        std::thread::Builder::new()
            .name("deliver".into())
            .spawn(move || {
                // Made here, so that it is dropped here too (never inside the caller's runtime).
                let built = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                let runtime = match built {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = started.send(Err(error));
                        return;
                    }
                };
                let _ = started.send(Ok(()));
                runtime.block_on(deliver_until(workers, stop, give_up));
                drop(runtime); // its tasks go before the end is told
                let _ = done.send(());
            })?;
        let gone = || std::io::Error::other("the delivery thread ended as it started");
        start.recv().map_err(|_| gone())??;
        Ok(Workers {
            ended: Some(ended),
            abandon,
        })
    }

    /// Waits until every worker has ended (after its stop token fired, each lets its attempts
    /// in flight finish and records what they took).
    pub async fn join(mut self) {
        if let Some(ended) = self.ended.take() {
            let _ = ended.await; // an error: the thread panicked, which ends it too
        }
    }

    /// [`Workers::join`], for at most `grace`: then the attempts still in flight are abandoned
    /// and the thread's end awaited. Whether every worker ended within `grace`.
    pub async fn join_within(mut self, grace: Duration) -> bool {
        let Some(mut ended) = self.ended.take() else {
            return true;
        };
        if tokio::time::timeout(grace, &mut ended).await.is_ok() {
            return true;
        }
        self.abandon.cancel();
        let _ = ended.await;
        false
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.abandon.cancel();
    }
}

/// Every worker until each has ended, or until `abandon` (the attempts in flight are dropped).
async fn deliver_until(workers: Vec<Worker>, stop: CancellationToken, abandon: CancellationToken) {
    let mut set = JoinSet::new();
    for worker in workers {
        set.spawn(run_worker(worker, stop.clone()));
    }
    tokio::select! {
        _ = async { while set.join_next().await.is_some() {} } => {}
        _ = abandon.cancelled() => set.abort_all(),
    }
}
