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
    let mut event = crate::render::sample_event();
    if let Some(org) = config.orgs.first() {
        event.data.org_name = org.label().to_string();
        event.data.org_id = org.id.clone();
    }
    if let crate::config::SinkConfig::Slack(slack) = sink_config {
        if slack.is_app() {
            let timeout = config.delivery.timeout;
            return match crate::sinks::slack::probe_app(slack, timeout, &event).await {
                Ok(steps) => steps
                    .into_iter()
                    .fold(
                        ExitCode::SUCCESS,
                        |code, (step, attempt)| match print_attempt(
                            &format!("sink `{name}`, {step}"),
                            attempt,
                        ) {
                            ExitCode::SUCCESS => code,
                            failed => failed,
                        },
                    ),
                Err(error) => super::report(Err(error)),
            };
        }
    }
    let built = crate::sinks::Sink::build(sink_config, &config.delivery, &Default::default(), None);
    match built {
        Ok(sink) => print_attempt(&format!("sink `{name}`"), sink.deliver(&event).await),
        Err(error) => super::report(Err(error)),
    }
}

/// Prints what an attempt came to, as `test-sink` reports it.
fn print_attempt(label: &str, attempt: crate::sinks::Attempt) -> ExitCode {
    match attempt {
        crate::sinks::Attempt::Delivered(detail) => {
            println!("{label}: delivered ({detail})");
            ExitCode::SUCCESS
        }
        crate::sinks::Attempt::Retry { error, .. }
        | crate::sinks::Attempt::Throttled { error, .. } => {
            eprintln!("{label}: failed, a real event would be retried: {error}");
            ExitCode::FAILURE
        }
        crate::sinks::Attempt::Reject(error) => {
            eprintln!("{label}: refused, a real event would go to dead letters: {error}");
            ExitCode::FAILURE
        }
        crate::sinks::Attempt::Gone(error) => {
            eprintln!("{label}: gone, a real event would disable the sink: {error}");
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
