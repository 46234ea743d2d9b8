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
        let config = hyperrep_notifier::load_config_str(&world.toml(extra)).unwrap();
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

    /// `GET path` without a token: none when the request fails (the daemon restarting its
    /// server closes the connections it held, which a waiting loop treats as not yet).
    pub async fn try_get(&self, path: &str) -> Option<(u16, String)> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .ok()?;
        Some((response.status().as_u16(), response.text().await.ok()?))
    }

    /// `GET path` with an `Accept` header (none: `None`); the status, `Content-Type` and body.
    pub async fn get_accepting(&self, path: &str, accept: Option<&str>) -> (u16, String, String) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(accept) = accept {
            request = request.header(reqwest::header::ACCEPT, accept);
        }
        let response = request.send().await.unwrap();
        let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        let status = response.status().as_u16();
        (status, content_type, response.text().await.unwrap())
    }

    pub async fn post(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let mut request = self.http.post(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Polls `check` on the metrics text until it holds, and returns that text; panics with
    /// the last text after 15 s (a wait that ends either way would assert nothing).
    pub async fn metrics_until(&self, check: impl Fn(&str) -> bool) -> String {
        let text = std::cell::RefCell::new(String::new());
        let held = eventually(Duration::from_secs(15), || async {
            let body = self.get("/metrics", None).await.1;
            let held = check(&body);
            *text.borrow_mut() = body;
            held
        })
        .await;
        let text = text.into_inner();
        assert!(held, "the metrics never met the condition:\n{text}");
        text
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
    }
}

/// The value of the first sample in a Prometheus text named as `name_and_labels` that has (at
/// least) its labels, in any order (0 when there is none): `x_total{sink="hook"}` finds
/// `x_total{sink="hook",outcome="delivered"} 3`.
pub fn metric(text: &str, name_and_labels: &str) -> f64 {
    find_sample(text, name_and_labels)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// The value, as written, of the first sample [`metric`] would read; `None` when there is none.
pub fn find_sample<'t>(text: &'t str, name_and_labels: &str) -> Option<&'t str> {
    let (name, wanted) = split_sample(name_and_labels);
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (sample, labels) = split_sample(series);
            let has_all = wanted.iter().all(|w| labels.contains(w));
            (sample == name && has_all).then_some(value)
        })
}

/// `name{a="1",b="2"}` as `name` and its `(label, value)` pairs (values as written, escapes kept).
fn split_sample(series: &str) -> (&str, Vec<(&str, &str)>) {
    let Some((name, rest)) = series.split_once('{') else {
        return (series.trim(), Vec::new());
    };
    let mut labels = Vec::new();
    let mut rest = rest.trim_end_matches('}');
    while let Some((key, after)) = rest.split_once("=\"") {
        // The value ends at the first quote not escaped by a backslash.
        let end = after
            .char_indices()
            .find(|&(i, c)| c == '"' && !after[..i].ends_with('\\'))
            .map_or(after.len(), |(i, _)| i);
        labels.push((key.trim_start_matches(',').trim(), &after[..end]));
        rest = after.get(end + 1..).unwrap_or("");
    }
    (name, labels)
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
