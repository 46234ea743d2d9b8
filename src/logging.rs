//! Log set-up: readable lines or JSON on stderr; the level comes from `RUST_LOG` (default `info`,
//! or the caller's: the demo keeps its terminal for events and shows warnings only).

use crate::config::LogFormat;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Starts logging once, at `info` unless `RUST_LOG` says otherwise; `HRN_LOG_FORMAT=json|text`
/// wins over the configured format.
pub fn init(configured: LogFormat) {
    init_at(configured, "info");
}

/// [`init`] with another default level.
pub fn init_at(configured: LogFormat, default_level: &str) {
    let format = match std::env::var("HRN_LOG_FORMAT").map(|f| f.to_ascii_lowercase()) {
        Ok(f) if f == "json" => LogFormat::Json,
        Ok(f) if f == "text" => LogFormat::Text,
        _ => configured,
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).try_init(),
    };
}
