//! Wiring: the store, the client, the sinks and their workers, built from a configuration.

use crate::api::ApiClient;
use crate::config::Config;
use crate::dispatch::{dead_letter_orphans, Outbox, Outcome, Policy, Worker, Workers};
use crate::metrics::Metrics;
use crate::poller::{poll_all, OrgReport, PollContext};
use crate::schedule::Schedule;
use crate::sinks::Sink;
use crate::store::{Cursor, Store};
use anyhow::Context;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// A configured notifier, ready to poll and deliver.
pub struct App {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The open store.
    pub store: Store,
    /// What the poller needs.
    pub poll: PollContext,
    /// One per sink.
    pub workers: Vec<Worker>,
    /// The notifier's metrics.
    pub metrics: Metrics,
    /// Poked by `POST /admin/poll`: poll now instead of at the end of the interval.
    pub poll_now: Arc<Notify>,
}

impl App {
    /// Opens the store and builds the client and sinks, for a process that polls again and
    /// again: the store keeps fingerprints of what it holds (see [`Store::keep_fingerprints`]).
    /// Queued entries of sinks that are no longer configured become dead letters here.
    pub fn build(config: Config) -> anyhow::Result<App> {
        App::build_with(config, true)
    }

    /// [`App::build`] for a process that polls once (`run --once`): no fingerprints are kept,
    /// since nothing would read them again.
    pub fn build_for_one_poll(config: Config) -> anyhow::Result<App> {
        App::build_with(config, false)
    }

    fn build_with(config: Config, fingerprints: bool) -> anyhow::Result<App> {
        let metrics = Metrics::for_config(&config);
        App::assemble(config, fingerprints, metrics)
    }

    /// For a daemon that stopped to compact its store (see `run.rs`): compacts it, opens it
    /// again and builds everything anew but the metrics, whose counters carry on.
    pub(crate) fn reopened(self) -> anyhow::Result<App> {
        let (config, metrics) = (Config::clone(&self.config), self.metrics.clone());
        // Every handle on the store goes first: sled lets go of its files with the last one.
        drop(self);
        App::assemble(config, true, metrics)
    }

    /// Once every org has its baseline, records the store's size for its first compaction
    /// (see [`crate::store::note_size`]); nothing once a size is recorded.
    pub(crate) fn note_store_size(&self) {
        let baselined = || {
            let done = |org: &crate::config::OrgConfig| {
                self.store.org_state(&org.id).is_ok_and(|s| s.baseline_done)
            };
            self.config.orgs.iter().all(done)
        };
        if let Err(error) = crate::store::note_size(&self.config.store.path, baselined) {
            tracing::warn!(%error, "cannot record the store's size");
        }
    }

    fn assemble(config: Config, fingerprints: bool, metrics: Metrics) -> anyhow::Result<App> {
        let (path, cache_mb) = (&config.store.path, config.store.cache_mb);
        let opening = || format!("opening the store at {}", path.display());
        crate::store::compact_if_due(path, cache_mb, config.store.compaction())
            .with_context(opening)?;
        let store = Store::open(path, cache_mb).with_context(opening)?;
        let store = if fingerprints {
            store.keep_fingerprints()
        } else {
            store
        };
        let api = ApiClient::new(&config.api, metrics.clone())?;
        let policy = Policy::from(&config.delivery);
        let routes = config.sinks.iter().map(|s| (s.name(), s.filter().cloned()));
        let outbox = Arc::new(Outbox::new(store.clone(), routes).tracking(&message_sinks(&config)));
        let mut workers = Vec::new();
        let windows = schedules(&config);
        let pacers = crate::sinks::slack::Pacers::default();
        let notify_sinks: Arc<[String]> = config.delivery.notify_sinks.clone().into();
        for sink_config in &config.sinks {
            let sink = Arc::new(Sink::build(
                sink_config,
                &config.delivery,
                &pacers,
                Some(&store),
            )?);
            workers.push(Worker {
                hold: Arc::default(),
                window: windows
                    .get(sink_config.deliver_during().unwrap_or_default())
                    .cloned(),
                metrics: metrics.clone(),
                store: store.clone(),
                policy,
                outbox: outbox.clone(),
                notify_sinks: notify_sinks.clone(),
                sink,
            });
        }
        let names: Vec<&str> = config.sinks.iter().map(|s| s.name()).collect();
        dead_letter_orphans(&store, &names)
            .context("moving entries of removed sinks to dead letters")?;
        let poll = PollContext {
            store: store.clone(),
            api,
            outbox,
            initial: config.poll.initial,
            detect_removed: config.poll.detect_removed,
            rules: Arc::new(crate::reminders::Rules::from_config(&config, &windows)),
            concurrency: config.poll.concurrency,
            metrics: metrics.clone(),
        };
        Ok(App {
            metrics,
            poll_now: Arc::new(Notify::new()),
            config: Arc::new(config),
            store,
            poll,
            workers,
        })
    }

    /// One poll of every org (each its own poll: its entries are released to sinks that judge
    /// floods per poll when its listing ends), then a flush.
    pub async fn poll_once(&self, cancel: &CancellationToken) -> Vec<OrgReport> {
        let reports = poll_all(&self.poll, &self.config.orgs, cancel).await;
        if let Err(error) = self.store.flush().await {
            tracing::error!(%error, "cannot flush the store");
        }
        reports
    }

    /// Starts one delivery worker per sink, on the delivery thread (see [`Workers`]); they stop
    /// starting attempts when `stop` fires.
    pub fn spawn_workers(&self, stop: &CancellationToken) -> anyhow::Result<Workers> {
        Workers::start(self.workers.clone(), stop).context("cannot start the delivery thread")
    }

    /// One attempt for every delivery due now, sink by sink, grouped as each sink groups: the
    /// dispatcher's work as one step, for tests and tools that want no background tasks.
    pub async fn deliver_due(&self) -> anyhow::Result<Vec<Outcome>> {
        self.deliver_due_at(chrono::Utc::now()).await
    }

    /// [`App::deliver_due`] as if it were `now` (delivery windows and ages are judged at `now`):
    /// for tests that need a clock of their own.
    pub async fn deliver_due_at(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<Outcome>> {
        let mut outcomes = Vec::new();
        for worker in &self.workers {
            if worker.paused_until(now).is_some() {
                continue;
            }
            let (plan, _, _) =
                worker.plan_due(now, usize::MAX, &Default::default(), &mut Cursor::default())?;
            for unit in plan.units {
                outcomes.push(crate::dispatch::deliver(worker, unit, now).await?);
            }
        }
        Ok(outcomes)
    }

    /// Removes the dead letters older than `delivery.keep_dead_letters`; returns how many.
    pub fn sweep_dead_letters(&self) -> anyhow::Result<usize> {
        let keep = self.config.delivery.keep_dead_letters;
        Ok(crate::dispatch::sweep_dead_letters(
            &self.store,
            keep,
            chrono::Utc::now(),
        )?)
    }

    /// Forgets the Slack messages of conversations that no event touched for their sink's
    /// `keep_messages` before `now` (a later event posts a new message); how many.
    pub fn forget_old_messages(&self, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<usize> {
        let cutoffs: Vec<(&str, chrono::DateTime<chrono::Utc>)> = self
            .config
            .sinks
            .iter()
            .filter_map(|s| Some((s.name(), crate::backoff::ago(now, s.keep_messages()?)?)))
            .collect();
        if cutoffs.is_empty() {
            return Ok(0);
        }
        Ok(self.store.forget_old_messages(&cutoffs)?)
    }

    /// Removes the delivered events older than `delivery.keep_delivered`; returns how many.
    pub fn sweep_delivered(&self) -> anyhow::Result<usize> {
        let keep = self.config.delivery.keep_delivered;
        let now = chrono::Utc::now();
        Ok(crate::dispatch::sweep_delivered(&self.store, keep, now)?)
    }

    /// Entries waiting in every sink's outbox.
    pub fn pending(&self) -> usize {
        self.poll.outbox.pending()
    }

    /// Entries waiting for sinks that are not disabled: what a drain can still deliver.
    pub fn deliverable(&self) -> usize {
        let open = self.workers.iter().filter(|w| !w.is_disabled());
        open.map(|w| self.store.outbox_depth(w.sink.name())).sum()
    }

    /// What the HTTP endpoints need.
    pub fn server_state(&self) -> Arc<crate::server::ServerState> {
        Arc::new(crate::server::ServerState {
            store: self.store.clone(),
            metrics: self.metrics.clone(),
            config: self.config.clone(),
            poll_now: self.poll_now.clone(),
            outbox: self.poll.outbox.clone(),
        })
    }

    /// Waits for the workers' attempts in flight (up to `server.shutdown_timeout`), then
    /// flushes the store; an error when the flush failed (what was not flushed is found again
    /// by the next poll, but the exit code must say it).
    pub(crate) async fn finish(
        &self,
        workers: Workers,
        stop: &CancellationToken,
    ) -> anyhow::Result<()> {
        stop.cancel();
        let grace = self.config.server.shutdown_timeout;
        if !workers.join_within(grace).await {
            tracing::warn!(
                "deliveries still in flight at shutdown; they will be retried on the next start"
            );
        }
        // The org states' times are kept in memory between changes of outcome: written now.
        self.store
            .save_poll_times()
            .context("cannot record the orgs' poll times on the way out")?;
        self.store
            .flush()
            .await
            .context("cannot flush the store on the way out")
    }
}

/// The configured schedules by name, for the sinks that deliver during one.
pub(crate) fn schedules(config: &Config) -> HashMap<String, Arc<Schedule>> {
    let built = config
        .schedules
        .iter()
        .map(|s| (s.name.clone(), Arc::new(Schedule::from_config(s))));
    built.collect()
}

/// The sinks that keep one message per conversation (Slack app mode).
fn message_sinks(config: &Config) -> Vec<&str> {
    config
        .sinks
        .iter()
        .filter(|s| s.keep_messages().is_some())
        .map(|s| s.name())
        .collect()
}
