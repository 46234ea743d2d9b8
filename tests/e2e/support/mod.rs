//! What the end-to-end tests start for themselves, all on loopback: the HyperRep simulator, a
//! webhook receiver that records what it gets and answers as scripted ([`receiver`]), and
//! notifier instances (in-process `App`s, daemons, or the real binary: [`daemon`]).

mod daemon;
pub mod pki;
mod receiver;
pub mod slack_api;
pub mod tls_front;

pub use daemon::{find_sample, free_port, metric, wait_healthy, Daemon, DaemonProcess};
pub use receiver::{Receiver, Reply};

use hyperrep_notifier::simulator::{SimConfig, Simulator};
use hyperrep_notifier::App;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tempfile::TempDir;

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
        let config = hyperrep_notifier::load_config_str(&self.toml(extra))
            .expect("a valid test configuration");
        App::build(config).expect("the app builds")
    }

    pub fn write_config(&self, extra: &str) -> PathBuf {
        let path = self.dir.path().join("notifier.toml");
        std::fs::write(&path, self.toml(extra)).unwrap();
        path
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

/// Writes `text` as `notifier.toml` in `dir`, `STORE` standing for a store path inside `dir`.
pub fn write_config_text(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("notifier.toml");
    let store = dir.join("store").display().to_string();
    std::fs::write(&path, text.replace("STORE", &store)).unwrap();
    path
}

/// `check` refuses each configuration text with exit code 2, naming its key, and shows no
/// secret (the texts mark theirs with `SECRET`).
pub fn assert_check_refuses(dir: &Path, cases: &[(String, &str)]) {
    for (text, key) in cases {
        let out = run_binary(&["check"], Some(&write_config_text(dir, text)), &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {stderr}");
        assert!(
            stderr.contains(&format!("`{key}`")),
            "{key} not named: {stderr}"
        );
        assert!(!stderr.contains("SECRET"), "a secret leaked: {stderr}");
    }
}

/// The real binary, as a user runs it.
pub fn binary() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hyperrep-notifier"));
    command.env_remove("HRN_CONFIG").env("RUST_LOG", "warn");
    // The crash tests' knobs share the `HRN_` prefix of configuration overrides: passed on, the
    // binary would refuse them as unknown keys, so a replay with a seed could never start it.
    for knob in ["HRN_CRASH_SEED", "HRN_CRASH_ROUNDS"] {
        command.env_remove(knob);
    }
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
    once_with(hyperrep_notifier::load_config_str(toml).expect("a valid test configuration")).await
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

/// Opens the sled store at `path` outside the notifier, waiting up to 5 s for a lock that an
/// in-process run just let go of (sled's threads hold it a moment after the store is dropped).
pub fn open_sled(path: &std::path::Path) -> sled::Db {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match sled::open(path) {
            Err(error)
                if error.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            opened => return opened.unwrap(),
        }
    }
}
