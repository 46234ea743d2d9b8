//! The command line: what each subcommand does and which exit code it ends with
//! (0 success, 1 runtime failure, 2 bad configuration or usage).

mod offline;
mod probe;
mod replay;

pub use replay::ReplayArgs;
mod sinks;

use crate::config::{self, Config, ConfigSource};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Where the configuration is looked for when none is named: the working directory's, then the
/// system's (the container image's). Neither has to exist: the environment may hold it all.
const DEFAULT_CONFIGS: [&str; 2] = [
    "config/notifier.toml",
    "/etc/hyperrep-notifier/notifier.toml",
];

/// Watches the HyperRep conversations API and turns changes into notifications.
#[derive(Debug, Parser)]
#[command(name = "hyperrep-notifier", version)]
pub struct Cli {
    /// Configuration file [default: config/notifier.toml, else /etc/hyperrep-notifier/notifier.toml;
    /// neither has to exist when the environment holds the configuration]
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
    /// Orgs, stored conversations, last poll outcome, queued entries and dead letters per sink.
    Status {
        /// Print JSON (the same as `GET /status`).
        #[arg(long)]
        json: bool,
    },
    /// Inspect and re-queue what could not be delivered.
    #[command(subcommand)]
    DeadLetters(DeadLetterCommand),
    /// Queue delivered events again (original ids and bodies) from the delivered-events log.
    Replay(ReplayArgs),
    /// Operate on sinks (the daemon stopped; while it runs, use its admin endpoints).
    #[command(subcommand)]
    Sinks(SinksCommand),
    /// Exit 0 when the running notifier answers `GET /healthz` on `server.listen` (for container
    /// health checks; the image has no curl).
    Healthcheck,
    /// The whole pipeline against a built-in simulated HyperRep API, events on the console.
    Demo(crate::demo::DemoArgs),
}

/// `dead-letters` subcommands.
#[derive(Debug, Subcommand)]
pub enum DeadLetterCommand {
    /// List every dead letter.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Put dead letters back in their sink's queue (the next start delivers them).
    Retry {
        /// The dead letter's id (from `list`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<u64>,
        /// Every dead letter (of `--sink` only, when given).
        #[arg(long)]
        all: bool,
        /// With --all: only this sink's dead letters.
        #[arg(long, requires = "all")]
        sink: Option<String>,
    },
    /// Delete dead letters: all of them, or those of `--sink`, or those older than `--older-than`.
    Purge {
        /// Only this sink's dead letters.
        #[arg(long)]
        sink: Option<String>,
        /// Only those given up longer ago than this (e.g. `7d`).
        #[arg(long, value_parser = humantime::parse_duration)]
        older_than: Option<Duration>,
    },
}

/// `sinks` subcommands.
#[derive(Debug, Subcommand)]
pub enum SinksCommand {
    /// Enable a sink disabled after sustained failure: its queued entries go out, in order, at
    /// the next start.
    Enable {
        /// The sink's `name`.
        name: String,
    },
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
    let source = match cli.config {
        Some(path) => ConfigSource {
            path,
            explicit: true,
        },
        None => {
            let found = DEFAULT_CONFIGS
                .iter()
                .map(PathBuf::from)
                .find(|p| p.exists());
            ConfigSource {
                path: found.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIGS[0])),
                explicit: false,
            }
        }
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
        Command::TestSink { name } => with_config(&source, |c| probe::test_sink(c, &name)).await,
        Command::Healthcheck => with_config(&source, probe::healthcheck).await,
        Command::Status { json } => with_config(&source, |c| offline::status(c, json)).await,
        Command::DeadLetters(command) => {
            with_config(&source, |c| offline::dead_letters(c, command)).await
        }
        Command::Replay(args) => with_config(&source, |c| replay::replay(c, args)).await,
        Command::Sinks(SinksCommand::Enable { name }) => {
            with_config(&source, |c| sinks::enable(c, name)).await
        }
        Command::Demo(args) => {
            // The terminal is for the events: technical lines only when something is wrong.
            crate::logging::init_at(config::LogFormat::Text, "warn");
            report(crate::demo::run(args, shutdown_on_signal()).await)
        }
    }
}

async fn with_config<F, Fut>(source: &ConfigSource, command: F) -> ExitCode
where
    F: FnOnce(Config) -> Fut,
    Fut: std::future::Future<Output = ExitCode>,
{
    match load(source) {
        Ok(config) => command(config).await,
        Err(code) => code,
    }
}

/// The configuration, with logging started and its warnings logged.
fn load(source: &ConfigSource) -> Result<Config, ExitCode> {
    let config = load_quietly(source)?;
    for warning in config::warnings(&config) {
        tracing::warn!(key = %warning.key, "{}", warning.reason);
    }
    Ok(config)
}

fn load_quietly(source: &ConfigSource) -> Result<Config, ExitCode> {
    let config = crate::load_config(source).map_err(|errors| {
        eprintln!("{errors}");
        ExitCode::from(2)
    })?;
    crate::logging::init(config.log.format);
    Ok(config)
}

/// Valid or not, and the warnings as plain lines on stderr (stdout is the configuration).
fn check(source: &ConfigSource) -> ExitCode {
    match load_quietly(source) {
        Ok(config) => {
            for warning in config::warnings(&config) {
                eprintln!("warning: {warning}");
            }
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
            for sink in &once.disabled {
                eprintln!(
                    "sink {sink} is disabled after sustained failure: its entries wait for \
                     `hyperrep-notifier sinks enable {sink}`"
                );
            }
            for (sink, count) in &once.dead_lettered {
                eprintln!(
                    "sink {sink}: {count} deliveries became dead letters in this run \
                     (see `hyperrep-notifier dead-letters list`)"
                );
            }
            ExitCode::FAILURE
        }
        Err(error) => report(Err(error)),
    }
}

pub(crate) fn report(result: anyhow::Result<()>) -> ExitCode {
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
