//! `hyperrep-notifier demo`: the whole pipeline with nothing to set up. A simulated HyperRep API
//! on loopback changes a few conversations every few seconds; the notifier polls it, keeps state
//! in a temporary store, and prints every event with the console sink.

use crate::config::Config;
use crate::simulator::{SimConfig, Simulator};
use clap::Args;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Options of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long = "for", value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Time between polls.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub interval: Duration,
}

/// Runs the demo until `shutdown` fires or `--for` has passed.
pub async fn run(args: DemoArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let simulator = Simulator::start(SimConfig {
        orgs: 2,
        conversations_per_org: 12,
        ..SimConfig::default()
    })
    .await?;
    let store = tempfile::tempdir()?;
    let config = demo_config(&simulator, store.path(), args.interval)?;
    eprintln!(
        "demo: simulated HyperRep API at {} with {} orgs; store in {} (deleted on exit).\n\
         demo: the first poll records a baseline; then conversations change every few seconds and\n\
         demo: each change is printed below by the console sink; a conversation left unread gets\n\
         demo: a reminder after 8 s and another after 30 s. Ctrl-C stops.",
        simulator.base_url(),
        simulator.org_ids().len(),
        store.path().display()
    );
    let churn = simulator.spawn_churn(Duration::from_secs(3), 2);
    if let Some(duration) = args.duration {
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(duration).await;
            stop.cancel();
        });
    }
    let result = crate::run(config, shutdown).await;
    churn.abort();
    simulator.stop().await;
    result
}

fn demo_config(
    simulator: &Simulator,
    store: &std::path::Path,
    interval: Duration,
) -> anyhow::Result<Config> {
    let orgs: String = simulator
        .org_ids()
        .iter()
        .enumerate()
        .map(|(i, id)| format!("[[orgs]]\nid = \"{id}\"\nname = \"Demo Org {}\"\n", i + 1))
        .collect();
    let toml = format!(
        "[api]\nbase_url = \"{}\"\napi_key = \"{}\"\npage_size = 5\n\
         [poll]\ninterval = \"{}\"\n[store]\npath = {:?}\ncache_mb = 8\n[server]\nlisten = \"127.0.0.1:0\"\n{orgs}\
         [[sinks]]\nname = \"console\"\ntype = \"console\"\n\
         [[reminders]]\nname = \"still-unread\"\nwhen = {{ is_read = false }}\n\
         steps = [{{ after = \"8s\", sinks = [\"console\"] }}, {{ after = \"30s\", sinks = [\"console\"] }}]\n",
        simulator.base_url(),
        simulator.api_key(),
        humantime::format_duration(interval),
        store.display().to_string(),
    );
    crate::load_config_str(&toml).map_err(|e| anyhow::anyhow!("{e}"))
}
