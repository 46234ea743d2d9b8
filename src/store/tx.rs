//! Atomic steps over several trees, and the store's health: the first write that failed for
//! an I/O reason (a full disk, a failing volume). sled keeps such an error for the life of the
//! process, so a store that failed once stays failed until the process restarts; the daemon
//! watches [`Store::failed`] and exits, and `/readyz` names the store as the reason.

use super::{Result, Store, StoreError};
use std::sync::OnceLock;
use tokio_util::sync::CancellationToken;

/// See the module docs.
#[derive(Debug, Default)]
pub(super) struct Health {
    failure: OnceLock<String>,
    failed: CancellationToken,
}

impl Store {
    /// Runs a write and records its failure when it is the disk's (not a record's).
    pub(super) fn watch<T>(&self, work: impl FnOnce() -> Result<T>) -> Result<T> {
        let result = work();
        if let Err(StoreError::Sled(error)) = &result {
            if matches!(error, sled::Error::Io(_) | sled::Error::Corruption { .. }) {
                let _ = self.health.failure.set(error.to_string());
                self.health.failed.cancel();
            }
        }
        result
    }

    /// Why the store can no longer be written, once a write failed for an I/O reason.
    pub fn failure(&self) -> Option<String> {
        self.health.failure.get().cloned()
    }

    /// Fires when a write fails for an I/O reason.
    pub fn failed(&self) -> CancellationToken {
        self.health.failed.clone()
    }
}

type Tx<'a> = &'a sled::transaction::TransactionalTree;
type TxResult<T> = sled::transaction::ConflictableTransactionResult<T, ()>;

pub(super) fn tx_error(error: sled::transaction::TransactionError<()>) -> StoreError {
    match error {
        sled::transaction::TransactionError::Storage(e) => StoreError::Sled(e),
        sled::transaction::TransactionError::Abort(()) => {
            StoreError::Corrupt("transaction aborted".into())
        }
    }
}

impl Store {
    /// Runs `work` on the outbox, its index and the dead letters as one atomic step.
    pub(super) fn transact3<T>(&self, work: impl Fn(Tx, Tx, Tx) -> TxResult<T>) -> Result<T> {
        use sled::Transactional;
        (&self.outbox, &self.outbox_due, &self.dead)
            .transaction(|(a, b, c)| work(a, b, c))
            .map_err(tx_error)
    }

    /// Runs `work` on the conversations, the outbox and its index, the reminder clocks and
    /// their index, the default tree (the poll counter), the fingerprints and the snapshot
    /// packs, as one atomic step.
    pub(super) fn transact_with_conversations(
        &self,
        work: impl Fn([Tx; 8]) -> TxResult<()>,
    ) -> Result<()> {
        use sled::Transactional;
        let trees = (&self.conversations, &self.outbox, &self.outbox_due);
        let more = (
            &self.reminders,
            &self.reminders_due,
            &*self.db,
            &self.prints,
            &self.runs.tree,
        );
        let all = (
            trees.0, trees.1, trees.2, more.0, more.1, more.2, more.3, more.4,
        );
        all.transaction(|(a, b, c, d, e, f, g, h)| work([a, b, c, d, e, f, g, h]))
            .map_err(tx_error)
    }
}
