//! The `mailcensus` binary: parse the command line and hand it to the library.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: the scan allocates many small, short-lived buffers (DNS messages, records, futures) from
/// several threads; glibc's allocator spent about a fifth of the scanner's CPU on them.
/// (`--features system-alloc` keeps the system allocator, for heap profilers such as heaptrack.)
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    mailcensus::cli::install_panic_hook();
    // Arguments need not be UTF-8 (paths): kept lossily for run.json; clap reports a bad one clearly.
    let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let cli = mailcensus::cli::Cli::parse();
    cli.init_logging();
    mailcensus::cli::run(cli, args)
}
