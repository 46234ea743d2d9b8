//! `[server]`: the HTTP endpoints, and what makes an admin token a real one.

use super::ConfigError;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// `[server]`: the HTTP endpoints.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address of /healthz, /readyz, /metrics, /status, and of /admin/* unless `admin_listen`
    /// is set (`0.0.0.0:9464` in containers).
    pub listen: SocketAddr,
    /// A separate address for /admin/*, so that the port that monitoring and probes reach (often
    /// exposed cluster-wide) does not also offer retries and polls; when set, `listen` answers
    /// 404 for /admin/*. Absent: the admin endpoints are on `listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_listen: Option<SocketAddr>,
    /// Bearer token for the admin endpoints; without one (or `admin_token_file`) they are off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<Secret>,
    /// A file holding the admin token (a Docker/Kubernetes secret), so it stays out of the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token_file: Option<PathBuf>,
    /// How long a stop (SIGTERM, SIGINT) waits for deliveries in flight before exiting.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            admin_listen: None,
            admin_token: None,
            admin_token_file: None,
            shutdown_timeout: Duration::from_secs(20),
        }
    }
}

/// The shortest admin token accepted, and the fewest distinct characters in it: a guessable
/// token guards re-queuing every dead letter.
const MIN_TOKEN_LEN: usize = 16;
const MIN_DISTINCT: usize = 8;

/// Placeholders shipped as examples (deploy/kubernetes.yaml, config/example.toml, the README):
/// copied unchanged, they would be a token that anyone who has read the repository knows.
/// Compared without case; a token containing any of them is refused.
const PLACEHOLDERS: &[&str] = &["replace-with", "change-me", "changeme"];

pub(super) fn check(server: &ServerConfig, errors: &mut Vec<ConfigError>) {
    if let Some(token) = &server.admin_token {
        if let Err(reason) = token_problem(token.expose()) {
            let from = match server.admin_token_file {
                Some(_) => " (read from server.admin_token_file)",
                None => "",
            };
            let reason = format!("{reason}{from}; generate one, e.g. `openssl rand -hex 32`");
            errors.push(ConfigError::new("server.admin_token", reason));
        }
    }
    if let Some(admin) = server.admin_listen {
        if admin == server.listen && admin.port() != 0 {
            let reason = "must differ from server.listen (the admin endpoints leave it)";
            errors.push(ConfigError::new("server.admin_listen", reason));
        }
        if server.admin_token.is_none() {
            let reason = "set server.admin_token_file (or admin_token) too: without a token \
                          the admin endpoints are off";
            errors.push(ConfigError::new("server.admin_listen", reason));
        }
    }
}

/// Why `token` is not a real admin token, without quoting it.
fn token_problem(token: &str) -> Result<(), String> {
    let lower = token.to_lowercase();
    if PLACEHOLDERS.iter().any(|p| lower.contains(p)) {
        return Err("is a placeholder from the shipped examples, not a real token".into());
    }
    if token.chars().count() < MIN_TOKEN_LEN {
        return Err(format!(
            "must be at least {MIN_TOKEN_LEN} characters (it guards retries and polls over HTTP)"
        ));
    }
    if token.chars().collect::<HashSet<_>>().len() < MIN_DISTINCT {
        return Err(format!(
            "must have at least {MIN_DISTINCT} different characters (a repeated pattern is guessable)"
        ));
    }
    Ok(())
}
