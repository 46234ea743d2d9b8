//! The command line: what each subcommand does and which exit code it ends with
//! (0 success, 1 runtime failure, 2 bad configuration or usage).

use crate::config::{self, Config, ConfigSource};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const DEFAULT_CONFIG: &str = "config/notifier.toml";

/// Watches the HyperRep conversations API and turns changes into notifications.
#[derive(Debug, Parser)]
#[command(name = "hyperrep-notifier", version)]
pub struct Cli {
    /// Configuration file [default: config/notifier.toml; a missing default is fine when the
    /// environment holds the configuration]
    #[arg(long, global = true, env = "HRN_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// What to do; `run` when absent.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Poll and deliver until SIGTERM or SIGINT (the default).
    Run(RunArgs),
    /// Validate the configuration and print it, secrets redacted.
    Check,
    /// Send one realistic sample event to sink NAME now and report its answer.
    TestSink {
        /// The sink's `name`.
        name: String,
    },
    /// The whole pipeline against a built-in simulated HyperRep API, events on the console.
    Demo(crate::demo::DemoArgs),
}

/// Options of `run`.
#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// One complete poll of every org, deliver what it found, then exit (for cron and CI).
    #[arg(long)]
    pub once: bool,
    /// With --once: how long to wait for deliveries before exiting.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,
}

/// Runs the parsed command line.
pub async fn execute(cli: Cli) -> ExitCode {
    let source = ConfigSource {
        explicit: cli.config.is_some(),
        path: cli.config.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG)),
    };
    match cli.command.unwrap_or(Command::Run(RunArgs {
        drain_timeout: Duration::from_secs(60),
        once: false,
    })) {
        Command::Check => check(&source),
        Command::Run(args) => match load(&source) {
            Ok(config) => run(config, args).await,
            Err(code) => code,
        },
        Command::TestSink { name } => match load(&source) {
            Ok(config) => test_sink(&config, &name).await,
            Err(code) => code,
        },
        Command::Demo(args) => report(crate::demo::run(args, shutdown_on_signal()).await),
    }
}

fn load(source: &ConfigSource) -> Result<Config, ExitCode> {
    config::load(source).map_err(|errors| {
        eprintln!("{errors}");
        ExitCode::from(2)
    })
}

fn check(source: &ConfigSource) -> ExitCode {
    match load(source) {
        Ok(config) => {
            println!("# configuration is valid (secrets are shown as [redacted])");
            print!("{}", config.to_redacted_toml());
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

async fn run(config: Config, args: RunArgs) -> ExitCode {
    let shutdown = shutdown_on_signal();
    if !args.once {
        return report(crate::run(config, shutdown).await);
    }
    match crate::run_once(config, shutdown, args.drain_timeout).await {
        Ok(once) if once.success() => ExitCode::SUCCESS,
        Ok(once) => {
            for org in once.orgs.iter().filter(|o| o.error.is_some()) {
                eprintln!(
                    "org {}: {}",
                    org.org_id,
                    org.error.as_deref().unwrap_or_default()
                );
            }
            if once.pending > 0 {
                eprintln!(
                    "{} deliveries are still queued; the next run sends them",
                    once.pending
                );
            }
            ExitCode::FAILURE
        }
        Err(error) => report(Err(error)),
    }
}

async fn test_sink(config: &Config, name: &str) -> ExitCode {
    let Some(sink_config) = config.sinks.iter().find(|s| s.name() == name) else {
        let names: Vec<&str> = config.sinks.iter().map(|s| s.name()).collect();
        eprintln!(
            "no sink is named `{name}` (configured: {})",
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    let sink = match crate::sinks::Sink::build(sink_config, &config.delivery) {
        Ok(sink) => sink,
        Err(error) => return report(Err(error)),
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
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A token cancelled by the first SIGINT or SIGTERM.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let interrupt = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("installing the SIGTERM handler");
            tokio::select! { _ = interrupt => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = interrupt.await;
        tracing::info!("shutdown signal received");
        cancel.cancel();
    });
    token
}
