//! `sinks enable NAME`: enables a disabled sink in the store while the daemon is stopped (the
//! running daemon does the same on `POST /admin/sinks/{name}/enable`).

use crate::config::Config;
use std::process::ExitCode;

/// `sinks enable NAME`: exit 2 for a sink that is not configured, 0 when it was not disabled.
pub async fn enable(config: Config, name: String) -> ExitCode {
    if !config.sinks.iter().any(|s| s.name() == name) {
        let known: Vec<&str> = config.sinks.iter().map(|s| s.name()).collect();
        eprintln!(
            "error: no sink named `{name}` is configured (sinks: {})",
            known.join(", ")
        );
        return ExitCode::from(2);
    }
    let store = match super::offline::open(&config) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let enabled = crate::dispatch::enable(&store, &name, chrono::Utc::now());
    let flushed = store.flush().await;
    match (enabled, flushed) {
        (Ok(Some(queued)), Ok(())) => {
            println!("sink `{name}` enabled: its {queued} queued entries go out, in order, at the next start");
            ExitCode::SUCCESS
        }
        (Ok(None), Ok(())) => {
            println!("sink `{name}` is not disabled: nothing to do");
            ExitCode::SUCCESS
        }
        (Err(error), _) => super::report(Err(error.into())),
        (_, Err(error)) => super::report(Err(error.into())),
    }
}
