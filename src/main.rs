//! The `hyperrep-notifier` binary: parse the command line, hand off.

use clap::Parser;
use hyperrep_notifier::cli::{execute, Cli};
use std::process::ExitCode;

/// mimalloc, not the system allocator: a poll frees and allocates a page body (tens of KB)
/// between thousands of small allocations, and glibc's malloc spent about a quarter of a
/// poll's CPU consolidating and searching its bins for them (profiled; see the README's
/// Performance section). Its C code builds with the C compiler Rust links with (as ring's does).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Listings, their HTTP connections and the server run on this one thread and interleave at
/// their awaits; deliveries run on a thread of their own (`dispatch::Workers`), sled writes on
/// its own threads. A poll wakes no other thread per page and a delivery none per request: a
/// work-stealing runtime did, and on the 2-core machines this runs on that cost more CPU than
/// running in parallel saved (see the README's Performance section).
fn main() -> ExitCode {
    hyperrep_notifier::install_crypto_provider();
    let cli = Cli::parse();
    let mut runtime = tokio::runtime::Builder::new_current_thread();
    match runtime.enable_all().build() {
        Ok(runtime) => runtime.block_on(execute(cli)),
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}
