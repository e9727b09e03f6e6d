//! The `chatedge-loadtest` binary: parses the command line and calls [`chatedge_loadtest::run`].

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

/// The allocator chatedge runs on (`src/main.rs`), so that the baseline server this binary
/// runs for `--compare-baseline` differs from chatedge only in the handler, not in how it
/// allocates (under glibc's malloc it served 1–5 % fewer requests a second, docs/BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = chatedge_loadtest::cli::Cli::parse();
    match chatedge_loadtest::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chatedge-loadtest: {e:#}");
            ExitCode::FAILURE
        }
    }
}
