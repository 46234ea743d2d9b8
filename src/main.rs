//! The `hyperrep-notifier` binary: parse the command line, hand off.

use clap::Parser;
use hyperrep_notifier::cli::{execute, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    hyperrep_notifier::install_crypto_provider();
    let cli = Cli::parse();
    // One pass (`run --once`) runs on this thread alone: its listing, its deliveries and their
    // HTTP connections then wake no other thread, which cost it more CPU than the parallelism
    // saved. The daemon keeps a worker per core, its server and sinks beside its polls.
    let mut runtime = match cli.is_one_pass() {
        true => tokio::runtime::Builder::new_current_thread(),
        false => tokio::runtime::Builder::new_multi_thread(),
    };
    match runtime.enable_all().build() {
        Ok(runtime) => runtime.block_on(execute(cli)),
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}
