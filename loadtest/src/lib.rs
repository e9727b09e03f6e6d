//! chatedge-loadtest: load scenarios against chatedge over its public HTTP APIs only, with
//! HDR histograms, coordinated-omission correction, an optional baseline ratio and text, JSON
//! and HTML reports. [`run`] builds the runtime and dispatches a parsed command line.
//! Everything runs on one multi-threaded tokio runtime (two workers on a 2-core machine),
//! except the baseline endpoint, which runs in its own child process.

#![forbid(unsafe_code)]

pub mod backlog;
pub mod baseline;
pub mod cli;
pub mod client;
pub mod commits;
pub mod credentials;
pub mod ledger;
pub mod load;
pub mod media;
pub mod progress;
pub mod provision;
pub mod report;
pub mod rounds;
pub mod rss;
pub mod scenario;
pub mod scrape;
pub mod server;
pub mod signature;
pub mod sink;
pub mod stats;

use anyhow::Result;

use cli::{Cli, Command};

/// Runs one command to completion.
pub fn run(cli: Cli) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("loadtest").build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Send(a) => scenario::send::run(a).await,
            Command::Webhooks(a) => scenario::webhooks::run(a).await,
            Command::Pairing(a) => scenario::pairing::run(a).await,
            Command::Mixed(a) => scenario::mixed::run(a).await,
            Command::Chaos(a) => scenario::chaos::run(a).await,
            Command::Media(a) => scenario::media::run(a).await,
            Command::MediaBurst(a) => scenario::media_burst::run(a).await,
            Command::BaselineServer(a) => baseline::serve(&a).await,
        }
    })
}
