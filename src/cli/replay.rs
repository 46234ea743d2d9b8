//! `replay`: delivered events queued again from the delivered-events log, on a stopped notifier
//! (a running one answers `POST /admin/replay`). The next start delivers them.

use crate::config::Config;
use crate::replay::{Request, Selection};
use clap::Args;
use std::process::ExitCode;

/// Options of `replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Events detected at or after TIME: RFC 3339 or a duration ago (`2h`, `7d`).
    #[arg(long, value_name = "TIME")]
    pub since: String,
    /// Events detected at or before TIME [default: now].
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only to this sink [default: every configured sink that took the event].
    #[arg(long, value_name = "NAME")]
    pub sink: Option<String>,
    /// Only this org's events.
    #[arg(long, value_name = "ID")]
    pub org: Option<String>,
    /// Only events of this type (`conversation.created`, `conversation.updated`, …).
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
}

impl ReplayArgs {
    fn request(self) -> Request {
        Request {
            since: self.since,
            until: self.until,
            sink: self.sink,
            org: self.org,
            kind: self.kind,
        }
    }
}

/// Reads the selection (exit 2 when it is wrong, before the store is touched), queues, flushes.
pub(super) async fn replay(config: Config, args: ReplayArgs) -> ExitCode {
    let configured: Vec<&str> = config.sinks.iter().map(|s| s.name()).collect();
    let now = chrono::Utc::now();
    let selection = match Selection::read(&args.request(), &configured, now) {
        Ok(selection) => selection,
        Err(reason) => {
            eprintln!("error: --{reason}");
            return ExitCode::from(2);
        }
    };
    let store = match super::offline::open(&config) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let replayed = crate::replay::replay(&store, &selection, &configured, now);
    let flushed = store.flush().await;
    let result = replayed.and_then(|replayed| flushed.map(|()| replayed));
    match result {
        Ok(replayed) => {
            println!(
                "{}; they are delivered when the notifier runs",
                replayed.summary()
            );
            ExitCode::SUCCESS
        }
        Err(error) => super::report(Err(error.into())),
    }
}
