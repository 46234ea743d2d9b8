//! The `hyperrep-notifier` binary: parse the command line, hand off.

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    hyperrep_notifier::install_crypto_provider();
    hyperrep_notifier::cli::execute(hyperrep_notifier::cli::Cli::parse()).await
}
