//! Commands that reach out: `test-sink` (one sample event to a sink) and `healthcheck` (ask the
//! running notifier's `/healthz`).

use crate::config::Config;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

/// Sends a sample event to the sink named `name` and prints its answer.
pub async fn test_sink(config: Config, name: &str) -> ExitCode {
    let Some(sink_config) = config.sinks.iter().find(|s| s.name() == name) else {
        let names: Vec<&str> = config.sinks.iter().map(|s| s.name()).collect();
        eprintln!(
            "no sink is named `{name}` (configured: {})",
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    let sink = match crate::sinks::Sink::build(sink_config, &config.delivery, &Default::default()) {
        Ok(sink) => sink,
        Err(error) => return super::report(Err(error)),
    };
    let mut event = crate::render::sample_event();
    if let Some(org) = config.orgs.first() {
        event.data.org_name = org.label().to_string();
        event.data.org_id = org.id.clone();
    }
    match sink.deliver(&event).await {
        crate::sinks::Attempt::Delivered(detail) => {
            println!("sink `{name}`: delivered ({detail})");
            ExitCode::SUCCESS
        }
        crate::sinks::Attempt::Retry { error, .. }
        | crate::sinks::Attempt::Throttled { error, .. } => {
            eprintln!("sink `{name}`: failed, a real event would be retried: {error}");
            ExitCode::FAILURE
        }
        crate::sinks::Attempt::Reject(error) => {
            eprintln!("sink `{name}`: refused, a real event would go to dead letters: {error}");
            ExitCode::FAILURE
        }
        crate::sinks::Attempt::Gone(error) => {
            eprintln!("sink `{name}`: gone, a real event would disable the sink: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `GET /healthz` on `server.listen` (an unspecified address means this host).
pub async fn healthcheck(config: Config) -> ExitCode {
    let mut address: SocketAddr = config.server.listen;
    if address.ip().is_unspecified() {
        address.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
    {
        Ok(client) => client,
        Err(error) => return super::report(Err(error.into())),
    };
    match client.get(format!("http://{address}/healthz")).send().await {
        Ok(response) if response.status().is_success() => {
            println!(
                "healthy: http://{address}/healthz answered {}",
                response.status()
            );
            ExitCode::SUCCESS
        }
        Ok(response) => {
            eprintln!(
                "unhealthy: http://{address}/healthz answered {}",
                response.status()
            );
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!(
                "unhealthy: no answer from http://{address}/healthz: {}",
                crate::sinks::error_chain(&error.without_url())
            );
            ExitCode::FAILURE
        }
    }
}
