//! The daemon as tests start it: in-process ([`Daemon`]) or as the real binary
//! ([`DaemonProcess`]), each on its own port.

use super::{binary, eventually, World};
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

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

/// The value of the first sample in a Prometheus text that starts with `name_and_labels`
/// (0 when there is none).
pub fn metric(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name_and_labels))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
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
        wait_healthy(&format!("http://127.0.0.1:{port}/healthz")).await;
        daemon
    }
}

/// Waits until `GET url` answers 2xx; panics after 15 s.
pub async fn wait_healthy(url: &str) {
    let up = eventually(Duration::from_secs(15), || async {
        reqwest::get(url)
            .await
            .is_ok_and(|r| r.status().is_success())
    });
    assert!(up.await, "{url} never answered");
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
