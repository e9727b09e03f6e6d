//! The `chatedge-loadtest` binary: parses the command line and calls [`chatedge_loadtest::run`].

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

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
