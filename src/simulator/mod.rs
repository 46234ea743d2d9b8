//! A simulated HyperRep API: a real HTTP server on loopback that serves the documented
//! conversations endpoints over generated orgs, changes conversations when told (or on its own,
//! for the demo), and fails in scripted ways (fault rules). The demo, the tests and the
//! benchmarks use it; nothing in it is used when talking to the real API.

mod data;
mod fault;
mod http;
#[cfg(test)]
mod tests;

pub use data::SimRequest;
pub use fault::{Fault, FaultRule};

use anyhow::Context;
use chrono::Utc;
use rand::Rng;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Orgs to create.
    pub orgs: usize,
    /// Conversations in each.
    pub conversations_per_org: usize,
    /// Seed of every generated id and value.
    pub seed: u64,
    /// The `X-API-KEY` it accepts.
    pub api_key: String,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            orgs: 2,
            conversations_per_org: 20,
            seed: 7,
            api_key: "sim-api-key".into(),
        }
    }
}

/// The state behind the server, shared with the handle.
#[derive(Clone)]
struct Shared(Arc<Mutex<data::State>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, data::State> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running simulator; clones control the same server.
#[derive(Clone)]
pub struct Simulator {
    addr: SocketAddr,
    shared: Shared,
    stop: Arc<Mutex<Option<oneshot::Sender<()>>>>,
}

impl Simulator {
    /// Generates the orgs and serves them on `127.0.0.1` on a free port.
    pub async fn start(config: SimConfig) -> anyhow::Result<Simulator> {
        let mut state = data::State::new(config.seed, config.api_key);
        let now = Utc::now();
        for _ in 0..config.orgs {
            let org = state.add_org();
            for _ in 0..config.conversations_per_org {
                let record = state.generated(now);
                state.org_mut(&org).expect("just added").push(record);
            }
        }
        let shared = Shared(Arc::new(Mutex::new(state)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the simulator")?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = http::router(shared.clone());
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::error!(%error, "the simulator stopped");
            }
        });
        Ok(Simulator {
            addr,
            shared,
            stop: Arc::new(Mutex::new(Some(stop))),
        })
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/", self.addr)).expect("a valid URL")
    }

    /// The accepted API key.
    pub fn api_key(&self) -> String {
        self.shared.lock().api_key.clone()
    }

    /// Org ids in creation order.
    pub fn org_ids(&self) -> Vec<String> {
        self.shared
            .lock()
            .orgs
            .iter()
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// A new empty org.
    pub fn add_org(&self) -> String {
        self.shared.lock().add_org()
    }

    /// The org's conversations, in listing order.
    pub fn conversations(&self, org: &str) -> Vec<Value> {
        self.shared
            .lock()
            .org(org)
            .map(|o| o.conversations.clone())
            .unwrap_or_default()
    }

    /// A new unread inbox conversation with activity now; returns its id.
    pub fn create_conversation(&self, org: &str) -> String {
        let mut state = self.shared.lock();
        let mut record = state.generated(Utc::now());
        record["start_at"] = Value::from(data::stamp(Utc::now()));
        record["folder"] = Value::from("inbox");
        data::touch(&mut record, Utc::now());
        let id = record["conversation_id"]
            .as_str()
            .expect("generated")
            .to_string();
        state.org_mut(org).expect("a simulator org").push(record);
        id
    }

    /// Appends any JSON as a record (no id, wrong types…), for bad-data tests.
    pub fn insert_raw(&self, org: &str, record: Value) {
        self.shared
            .lock()
            .org_mut(org)
            .expect("a simulator org")
            .push(record);
    }

    /// Sets one field of one conversation. Panics on an unknown org or conversation.
    pub fn set_field(&self, org: &str, conversation_id: &str, field: &str, value: Value) {
        let mut state = self.shared.lock();
        let record = state
            .org_mut(org)
            .and_then(|o| o.get_mut(conversation_id))
            .expect("a simulator conversation");
        record[field] = value;
    }

    /// Deletes a conversation.
    pub fn remove_conversation(&self, org: &str, conversation_id: &str) {
        if let Some(org) = self.shared.lock().org_mut(org) {
            org.remove(conversation_id);
        }
    }

    /// New activity: later `last_activity_at`, unread.
    pub fn touch(&self, org: &str, conversation_id: &str) {
        let mut state = self.shared.lock();
        let record = state
            .org_mut(org)
            .and_then(|o| o.get_mut(conversation_id))
            .expect("a simulator conversation");
        data::touch(record, Utc::now());
    }

    /// Adds a fault rule (rules are tried in the order added).
    pub fn inject(&self, rule: FaultRule) {
        self.shared.lock().faults.push(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Requests received so far, faulted ones included.
    pub fn request_count(&self) -> u64 {
        self.shared.lock().requests
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<SimRequest> {
        self.shared.lock().log.clone()
    }

    /// When the first request arrived (for start-up measurements).
    pub fn first_request_at(&self) -> Option<std::time::Instant> {
        self.shared.lock().first_request
    }

    /// Every `every`, makes `changes_per_tick` realistic changes (for the demo).
    pub fn spawn_churn(
        &self,
        every: Duration,
        changes_per_tick: usize,
    ) -> tokio::task::JoinHandle<()> {
        let simulator = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                for _ in 0..changes_per_tick {
                    simulator.random_change();
                }
            }
        })
    }

    fn random_change(&self) {
        let orgs = self.org_ids();
        let (org, roll, pick) = {
            let mut state = self.shared.lock();
            let rng = state.rng();
            (
                orgs[rng.random_range(0..orgs.len())].clone(),
                rng.random_range(0..100),
                rng.random::<u64>(),
            )
        };
        let conversations = self.conversations(&org);
        let Some(target) = conversations.get(pick as usize % conversations.len().max(1)) else {
            self.create_conversation(&org);
            return;
        };
        let id = target["conversation_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        match roll {
            0..=34 => self.touch(&org, &id),
            35..=54 => self.set_field(&org, &id, "is_read", Value::Bool(true)),
            55..=74 => {
                self.create_conversation(&org);
            }
            75..=96 => {
                let folder = self.shared.lock().folder();
                self.set_field(&org, &id, "folder", Value::from(folder));
            }
            _ => self.remove_conversation(&org, &id),
        }
    }

    /// Stops serving.
    pub async fn stop(self) {
        let stop = self.stop.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
    }
}
