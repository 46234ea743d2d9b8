//! hyperrep-notifier watches the HyperRep conversations API and turns changes into notifications.
//!
//! ```text
//! poller ──► differ (state in sled) ──► outbox (sled, durable) ──► sinks (webhook, console)
//! ```
//!
//! - [`config`]: figment layering (TOML, `HRN_SECTION__KEY`, `*_file` secrets), validation, redaction.
//! - [`api`]: the HyperRep client: pagination, retries, rate ceiling, typed errors.
//! - [`poller`]: one poll of one org; each page is diffed ([`diff`], pure) and committed with its
//!   outbox entries in one atomic [`store`] step.
//! - [`reminders`]: the pure core of reminders (state + now → steps due), tested with injected time.
//! - [`dispatch`]: outbox → [`sinks`], with backoff ([`backoff`]) and dead letters.
//! - [`schedule`]: delivery windows, pure: window + instant → open, next opening, open time.
//! - [`replay`]: delivered events queued again from the delivered-events log.
//! - [`app`]: wires them; [`run`] is the daemon, [`run_once`] one poll and a bounded drain.
//! - [`simulator`]: a HyperRep-compatible server on loopback, for the demo, tests and benchmarks.

pub mod api;
pub mod app;
pub mod backoff;
pub mod cli;
pub mod config;
pub mod demo;
pub mod diff;
pub mod dispatch;
pub mod event;
pub mod logging;
pub mod metrics;
pub mod poller;
pub mod reminders;
pub mod render;
pub mod replay;
pub mod run;
pub mod schedule;
pub mod secret;
pub mod server;
pub mod simulator;
pub mod sinks;
pub mod status;
pub mod store;
mod tls;

pub use app::App;

/// Loads the configuration from `source` with every check: the configuration's own rules and
/// each sink's (see [`sinks::check`]). What the binary and `check` use.
pub fn load_config(source: &config::ConfigSource) -> Result<config::Config, config::ConfigErrors> {
    config::load_with(source, sinks::check)
}

/// [`load_config`] from TOML text alone (no environment): for tests and tools.
pub fn load_config_str(toml: &str) -> Result<config::Config, config::ConfigErrors> {
    config::load_str_with(toml, sinks::check)
}
pub use run::{run, run_on, run_on_with_admin, run_once, supervise, OnceReport};

/// Installs the process-wide TLS crypto provider (ring). Both reqwest and (later) lettre use
/// rustls; with exactly one provider installed first, neither can pick an ambiguous default.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
