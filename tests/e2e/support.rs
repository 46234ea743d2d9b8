//! What the end-to-end tests start for themselves, all on loopback: the HyperRep simulator, a
//! webhook receiver that records what it gets and answers as scripted, and notifier instances
//! (in-process `App`s, or the real binary).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hyperrep_notifier::simulator::{SimConfig, Simulator};
use hyperrep_notifier::App;
use serde_json::Value;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the webhook body is JSON")
    }
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    Slow(Duration, u16),
    Redirect(String),
    RetryAfter(u64),
    Body(u16, &'static str),
}

#[derive(Default)]
struct ReceiverState {
    received: Vec<Received>,
    script: VecDeque<Reply>,
    default: Option<Reply>,
}

/// A webhook endpoint on loopback.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, state }
    }

    /// The next answers, in order; after them, the default (200 unless set).
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }

    pub fn answer_always(&self, reply: Reply) {
        self.state.lock().unwrap().default = Some(reply);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Event bodies of every request, in arrival order.
    pub fn events(&self) -> Vec<Value> {
        self.received().iter().map(Received::json).collect()
    }

    /// Waits (bounded) until at least `count` requests arrived.
    pub async fn wait_for(&self, count: usize, limit: Duration) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        while self.received().len() < count && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.received()
    }
}

async fn receive(
    State(state): State<Arc<Mutex<ReceiverState>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let reply = {
        let mut state = state.lock().unwrap();
        state
            .script
            .pop_front()
            .or_else(|| state.default.clone())
            .unwrap_or(Reply::Status(200))
    };
    let received = Received {
        headers,
        body: body.to_vec(),
        at: Instant::now(),
    };
    if let Reply::Slow(wait, _) = &reply {
        // A slow receiver takes the request only once it has answered: a sender that dies (or
        // gives up) before the answer has not delivered. Dropped with the connection otherwise.
        tokio::time::sleep(*wait).await;
    }
    state.lock().unwrap().received.push(received);
    match reply {
        Reply::Status(code) | Reply::Slow(_, code) => {
            (StatusCode::from_u16(code).unwrap(), "answer").into_response()
        }
        Reply::Redirect(to) => (StatusCode::TEMPORARY_REDIRECT, [("location", to)]).into_response(),
        Reply::RetryAfter(seconds) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", seconds.to_string())],
        )
            .into_response(),
        Reply::Body(code, body) => (StatusCode::from_u16(code).unwrap(), body).into_response(),
    }
}

/// A simulator, a receiver and a store directory, with a configuration that joins them.
pub struct World {
    pub sim: Simulator,
    pub hook: Receiver,
    pub dir: TempDir,
}

pub const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

impl World {
    pub async fn start(orgs: usize, conversations: usize) -> World {
        hyperrep_notifier::install_crypto_provider();
        let sim = Simulator::start(SimConfig {
            orgs,
            conversations_per_org: conversations,
            ..SimConfig::default()
        })
        .await
        .unwrap();
        World {
            sim,
            hook: Receiver::start().await,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn org(&self, i: usize) -> String {
        self.sim.org_ids()[i].clone()
    }

    /// The ids of `org`'s conversations, in listing order.
    pub fn conversation_ids(&self, org: &str) -> Vec<String> {
        self.sim
            .conversations(org)
            .iter()
            .map(|c| c["conversation_id"].as_str().unwrap().to_string())
            .collect()
    }

    /// A configuration with every org, one signed webhook sink `hook`, fast retries, and `extra`
    /// appended (more sinks, or sections such as `[poll]`).
    pub fn toml(&self, extra: &str) -> String {
        let orgs: String = self
            .sim
            .org_ids()
            .iter()
            .enumerate()
            .map(|(i, id)| format!("[[orgs]]\nid = \"{id}\"\nname = \"Org {i}\"\n"))
            .collect();
        format!(
            "[api]\nbase_url = \"{}\"\napi_key = \"{}\"\npage_size = 10\ninitial_backoff = \"10ms\"\nmax_backoff = \"50ms\"\n\
             requests_per_second = 1000\ntimeout = \"2s\"\n\
             [store]\npath = {:?}\ncache_mb = 4\n\
             [delivery]\ninitial_backoff = \"10ms\"\nmax_backoff = \"100ms\"\ntimeout = \"2s\"\nmax_attempts = 5\n\
             {orgs}[[sinks]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n{extra}",
            self.sim.base_url(), self.sim.api_key(), self.store_path().display().to_string(), self.hook.url,
        )
    }

    pub fn app(&self, extra: &str) -> App {
        let config = hyperrep_notifier::config::load_str(&self.toml(extra))
            .expect("a valid test configuration");
        App::build(config).expect("the app builds")
    }

    pub fn write_config(&self, extra: &str) -> PathBuf {
        let path = self.dir.path().join("notifier.toml");
        std::fs::write(&path, self.toml(extra)).unwrap();
        path
    }
}

/// The daemon (`run`) in-process on an ephemeral port, with an HTTP client for its endpoints.
pub struct Daemon {
    pub base: String,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Daemon {
    /// The daemon on `world.toml(extra)`.
    pub async fn start(world: &World, extra: &str) -> Daemon {
        let config = hyperrep_notifier::config::load_str(&world.toml(extra)).unwrap();
        Daemon::start_with(config).await
    }

    /// The daemon on `config`.
    pub async fn start_with(config: hyperrep_notifier::config::Config) -> Daemon {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(hyperrep_notifier::run_on(
            config,
            listener,
            shutdown.clone(),
        ));
        Daemon {
            base,
            http: reqwest::Client::new(),
            shutdown,
            task,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    pub async fn post(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let mut request = self.http.post(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Polls `check` on the metrics text until it holds (bounded).
    pub async fn metrics_until(&self, check: impl Fn(&str) -> bool) -> String {
        let text = std::cell::RefCell::new(String::new());
        eventually(Duration::from_secs(15), || async {
            let body = self.get("/metrics", None).await.1;
            let held = check(&body);
            *text.borrow_mut() = body;
            held
        })
        .await;
        text.into_inner()
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
    }
}

/// Checks `condition` every 20 ms until it holds or `limit` passes; returns whether it held.
/// The one way tests wait for something to happen (never a bare sleep before an assertion).
pub async fn eventually<F, Fut>(limit: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if condition().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The real binary, as a user runs it.
pub fn binary() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hyperrep-notifier"));
    command.env_remove("HRN_CONFIG").env("RUST_LOG", "warn");
    command
}

pub fn run_binary(
    args: &[&str],
    config: Option<&Path>,
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut command = binary();
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    command.args(args).envs(env.iter().copied());
    command.output().expect("the binary runs")
}

/// `run --once` in-process on `toml`, draining for up to 15 s.
pub async fn once(toml: &str) -> hyperrep_notifier::OnceReport {
    once_with(hyperrep_notifier::config::load_str(toml).expect("a valid test configuration")).await
}

/// `run --once` in-process on `config`, draining for up to 15 s.
pub async fn once_with(config: hyperrep_notifier::config::Config) -> hyperrep_notifier::OnceReport {
    hyperrep_notifier::run_once(
        config,
        tokio_util::sync::CancellationToken::new(),
        Duration::from_secs(15),
    )
    .await
    .expect("run --once runs")
}

/// A baseline run on `toml`, then new activity on the first `count` conversations of org 0;
/// returns their ids.
pub async fn baseline_then_touch(world: &World, toml: &str, count: usize) -> Vec<String> {
    let report = once(toml).await;
    assert!(report.success(), "{report:?}");
    let org = world.org(0);
    let mut ids = world.conversation_ids(&org);
    ids.truncate(count);
    for id in &ids {
        world.sim.touch(&org, id);
    }
    ids
}

/// `run_binary` on `config` off the async threads (the simulator and receivers run on them).
pub async fn run_binary_off_thread(args: &[&str], config: &Path) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let config = config.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_binary(&args, Some(&config), &[])
    })
    .await
    .unwrap()
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The daemon binary (`run`) as a separate process; killed when dropped.
pub struct DaemonProcess(std::process::Child);

impl DaemonProcess {
    /// `run` on `config` (which listens on `port`), once `/healthz` answers (bounded: panics
    /// after 15 s).
    pub async fn start(config: &Path, port: u16) -> DaemonProcess {
        let child = binary()
            .arg("--config")
            .arg(config)
            .arg("run")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the binary starts");
        let daemon = DaemonProcess(child);
        let url = format!("http://127.0.0.1:{port}/healthz");
        let up = eventually(Duration::from_secs(15), || async {
            reqwest::get(&url)
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
        assert!(up, "{url} never answered");
        daemon
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
