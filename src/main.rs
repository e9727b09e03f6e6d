//! The `chatedge` command: parses flags, builds the runtime and runs a plane (or both).
//! `chatedge up` runs the control plane and one data plane in one process with embedded
//! defaults; `chatedge dataplane` and `chatedge controlplane` run them apart.

#![deny(unsafe_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chatedge_config::{CertFingerprint, Config, Secret};
use chatedge_controlplane::credentials::Supplied;
use clap::{Args, Parser, Subcommand};
use tokio::sync::{oneshot, watch};

/// mimalloc instead of glibc malloc: allocation was ~13% of send-path CPU in `perf` profiles
/// (see docs/BENCHMARKS.md for the before/after runs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "chatedge", version, about = "Self-hosted messaging API edge for WhatsApp-style chat networks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Control plane and one data plane in one process (RocksDB under --data-dir, sim network).
    Up(Up),
    /// A data plane attached to a control plane.
    Dataplane(Dataplane),
    /// A control plane that data planes attach to.
    Controlplane(Controlplane),
}

#[derive(Args)]
struct Common {
    /// Where RocksDB and credentials live.
    #[arg(long, default_value = "./chatedge-data")]
    data_dir: PathBuf,
    /// TOML configuration (optional; unknown keys are an error naming the key).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// The TLS port (`[tls]` in the configuration file, or these flags).
#[derive(Args)]
struct TlsFlags {
    /// TLS address (HTTP/1.1 and h2; HTTP/3 on the same port number over UDP) [default:
    /// tls.listen, 127.0.0.1:8443]. Needs `[tls] cert` and `key`, or --tls-self-signed.
    #[arg(long)]
    tls_listen: Option<SocketAddr>,
    /// Turn TLS on with a certificate generated at start-up for localhost and 127.0.0.1
    /// (development only; its PEM is written to the data directory for clients to trust).
    #[arg(long)]
    tls_self_signed: bool,
}

impl TlsFlags {
    fn apply(&self, config: &mut Config) -> Result<()> {
        use chatedge_config::file::TlsConfig;
        if self.tls_self_signed {
            let listen = config.tls.as_ref().map(|t| t.listen);
            let default: SocketAddr = TlsConfig::DEFAULT_LISTEN.parse()?;
            config.tls = Some(TlsConfig::self_signed(listen.unwrap_or(default)));
        }
        if let Some(l) = self.tls_listen {
            let tls = config.tls.as_mut().context("--tls-listen needs [tls] cert and key, or --tls-self-signed")?;
            tls.listen = l;
        }
        Ok(())
    }
}

#[derive(Args)]
struct Up {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    tls: TlsFlags,
    /// Data plane address [default: dataplane.listen, 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Control plane address [default: controlplane.listen, 127.0.0.1:8081].
    #[arg(long)]
    control_listen: Option<SocketAddr>,
    /// Enables `POST /admin/clock` to move the control plane's clock (billing tests, demos) and
    /// the data plane's (campaign schedules).
    #[arg(long)]
    test_clock: bool,
}

#[derive(Args)]
struct Dataplane {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    tls: TlsFlags,
    /// Data plane address [default: dataplane.listen, 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Control plane base URL [default: dataplane.control_plane].
    #[arg(long)]
    control_plane: Option<String>,
    /// The node token printed by the control plane (or in its credentials.json), or one
    /// issued by `POST /admin/dataplanes`.
    #[arg(long, env = "CHATEDGE_NODE_TOKEN", hide_env_values = true)]
    node_token: String,
    /// The control plane's certificate fingerprint to pin (`sha256:<hex>`, printed at its start
    /// and kept in its controlplane.fingerprint) [default: dataplane.control_plane_fingerprint].
    #[arg(long, env = "CHATEDGE_CONTROL_PLANE_FINGERPRINT")]
    control_plane_fingerprint: Option<String>,
    /// Enables `POST /admin/clock` to move the campaigns' clock (scheduled runs in tests).
    #[arg(long)]
    test_clock: bool,
}

#[derive(Args)]
struct Controlplane {
    #[command(flatten)]
    common: Common,
    /// Control plane address [default: controlplane.listen, 127.0.0.1:8081].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Enables `POST /admin/clock` to move the control plane's clock (billing tests, demos).
    #[arg(long)]
    test_clock: bool,
}

/// With `RUST_BACKTRACE` set (as many deployments set it to read panics), every library error
/// built on `anyhow` — the WhatsApp Web engine's, by the dozen on each connect — captures a
/// backtrace, and logging one resolves it from the binary's debug info: measured, about 330 MB
/// more resident memory from the first sessions on (README, "Memory per WhatsApp Web session").
/// Library backtraces stay off unless `RUST_LIB_BACKTRACE` asks for them; panics still print
/// theirs under `RUST_BACKTRACE`. Runs first, before any thread exists.
fn quiet_library_backtraces() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
}

fn main() -> Result<()> {
    quiet_library_backtraces();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // rustls warns once per connection about what clients send (an IP address as
                // SNI, as wrk does): a client could flood the log with it.
                .unwrap_or_else(|_| "info,hyper=warn,rustls=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // One crypto provider for every rustls user in the process (see shared/CRATES.md).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("edge").build()?;
    runtime.block_on(async {
        let shutdown = shutdown_on_signal()?;
        match cli.command {
            Command::Up(a) => up(a, shutdown).await,
            Command::Dataplane(a) => dataplane(a, shutdown).await,
            Command::Controlplane(a) => controlplane(a, shutdown).await,
        }
    })
}

/// A flag that turns true on SIGINT or SIGTERM: every listener stops accepting, in-flight
/// requests finish (bounded by the drain timeout), the store is flushed. A second signal
/// exits at once: every acknowledged message is already fsync'd, so nothing acknowledged is
/// lost, only the unanswered requests are cut.
fn shutdown_on_signal() -> Result<watch::Receiver<bool>> {
    use tokio::signal::unix::{signal, SignalKind};
    let (tx, rx) = watch::channel(false);
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    // Lives for the whole process.
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("shutting down: finishing in-flight requests (a second signal exits at once)");
        let _ = tx.send(true);
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::warn!("second signal: exiting now");
        exit_now(EXIT_SECOND_SIGNAL);
    });
    Ok(rx)
}

/// Ends the process at once with `code`, without running `atexit` handlers or C++ static
/// destructors: `std::process::exit` runs them while RocksDB's background threads still work,
/// and that can crash the process on its way out (seen as a death by signal instead of the
/// exit code). Nothing acknowledged depends on them: every acknowledged write is fsync'd.
#[allow(unsafe_code)]
fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` takes any status and never returns; it touches no Rust state.
    unsafe { libc::_exit(code) }
}

/// Exit status after a second signal cut the drain short (128 + SIGTERM, as a shell reports).
const EXIT_SECOND_SIGNAL: i32 = 143;

fn load_config(common: &Common) -> Result<Config> {
    Ok(Config::load(common.config.as_deref())?)
}

/// Tokens chosen by the operator through the environment; a set but unusable one is an error.
fn supplied_tokens() -> Result<Supplied> {
    let env = |name: &str| -> Result<Option<Secret>> {
        match std::env::var(name) {
            Err(_) => Ok(None),
            Ok(v) => Secret::from_operator(&v)
                .map(Some)
                .with_context(|| format!("{name} must be at least 16 characters with no spaces")),
        }
    };
    Ok(Supplied {
        admin: env("CHATEDGE_ADMIN_TOKEN")?,
        integrator: env("CHATEDGE_INTEGRATOR_TOKEN")?,
        node: env("CHATEDGE_NODE_TOKEN")?,
    })
}

/// A started control plane, as a data plane in the same process reaches it.
struct LocalControlPlane {
    /// Its base URL (https:// when it serves TLS).
    url: String,
    node_token: Secret,
    fingerprint: Option<CertFingerprint>,
    task: tokio::task::JoinHandle<Result<()>>,
}

/// Starts the control plane and prints its credentials (first start), address and certificate.
async fn start_controlplane(
    config: Config,
    data_dir: &Path,
    credentials_file: PathBuf,
    test_clock: bool,
    shutdown: watch::Receiver<bool>,
) -> Result<LocalControlPlane> {
    let opts = chatedge_controlplane::Options {
        data_dir: data_dir.to_path_buf(),
        credentials_file: credentials_file.clone(),
        supplied: supplied_tokens()?,
        test_clock,
    };
    let (ready_tx, ready_rx) = oneshot::channel();
    let task = tokio::spawn(async move { Ok(chatedge_controlplane::run(config, opts, shutdown, ready_tx).await?) });
    let Ok(started) = ready_rx.await else {
        task.await??;
        anyhow::bail!("control plane stopped before it started");
    };
    let c = &started.bootstrap.credentials;
    if started.bootstrap.fresh {
        println!("chatedge: credentials (shown once; kept in {} with mode 0600):", credentials_file.display());
        println!("  admin token:      {}", c.admin_token.expose());
        println!("  integrator token: {}", c.integrator_token.expose());
        println!("  node token:       {}", c.node_token.expose());
    }
    let scheme = if started.tls.is_some() { "https" } else { "http" };
    println!("chatedge: control plane listening on {scheme}://{}", started.addr);
    if let Some(tls) = &started.tls {
        println!("chatedge: control plane certificate {} fingerprint {}", tls.cert_file.display(), tls.fingerprint);
    }
    // A wildcard address is reached on loopback from this machine.
    let mut reach = started.addr;
    if reach.ip().is_unspecified() {
        reach.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok(LocalControlPlane {
        url: format!("{scheme}://{reach}"),
        node_token: c.node_token.clone(),
        fingerprint: started.tls.map(|t| t.fingerprint),
        task,
    })
}

/// How a data plane reaches its control plane.
struct Link {
    control_plane: String,
    node_token: Secret,
    fingerprint: Option<CertFingerprint>,
}

async fn start_dataplane(
    config: Config,
    data_dir: PathBuf,
    link: Link,
    test_clock: bool,
    shutdown: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<Result<()>>> {
    let opts = chatedge_dataplane::Options {
        data_dir,
        control_plane: link.control_plane,
        node_token: link.node_token,
        control_plane_fingerprint: link.fingerprint,
        test_clock,
    };
    let (ready_tx, ready_rx) = oneshot::channel();
    let task = tokio::spawn(async move { Ok(chatedge_dataplane::run(config, opts, shutdown, ready_tx).await?) });
    let Ok(bound) = ready_rx.await else {
        task.await??;
        anyhow::bail!("data plane stopped before it started");
    };
    println!("chatedge: data plane listening on http://{}", bound.http);
    if let Some(tls) = bound.tls {
        let h3 = if bound.http3 { format!(" (HTTP/3 on UDP {})", tls.port()) } else { String::new() };
        println!("chatedge: data plane TLS listening on https://{tls}{h3}");
    }
    if let Some(file) = &bound.self_signed_cert {
        println!("chatedge: self-signed certificate in {}", file.display());
    }
    if let Some(m) = bound.metrics {
        println!("chatedge: metrics listening on http://{m}");
    }
    Ok(task)
}

async fn up(a: Up, shutdown: watch::Receiver<bool>) -> Result<()> {
    let mut config = load_config(&a.common)?;
    if let Some(l) = a.listen {
        config.dataplane.listen = l;
    }
    if let Some(l) = a.control_listen {
        config.controlplane.listen = l;
    }
    a.tls.apply(&mut config)?;
    let dir = &a.common.data_dir;
    for d in [dir.clone(), dir.join("controlplane"), dir.join("dataplane")] {
        create_private_dir(&d)?;
    }
    let cp = start_controlplane(
        config.clone(),
        &dir.join("controlplane"),
        dir.join("credentials.json"),
        a.test_clock,
        shutdown.clone(),
    )
    .await?;
    // The data plane pins the certificate its own control plane serves: zero configuration.
    let link = Link { control_plane: cp.url, node_token: cp.node_token, fingerprint: cp.fingerprint };
    let dp = start_dataplane(config, dir.join("dataplane"), link, a.test_clock, shutdown).await?;
    dp.await??;
    cp.task.await??;
    Ok(())
}

async fn dataplane(a: Dataplane, shutdown: watch::Receiver<bool>) -> Result<()> {
    let mut config = load_config(&a.common)?;
    if let Some(l) = a.listen {
        config.dataplane.listen = l;
    }
    a.tls.apply(&mut config)?;
    let control_plane = a.control_plane.unwrap_or_else(|| config.dataplane.control_plane.clone());
    let node_token = Secret::from_operator(&a.node_token).context("--node-token must be at least 16 characters")?;
    let fingerprint = match a.control_plane_fingerprint.as_deref() {
        Some(text) => Some(CertFingerprint::parse(text).context("--control-plane-fingerprint")?),
        None => config.dataplane.control_plane_fingerprint,
    };
    create_private_dir(&a.common.data_dir)?;
    let link = Link { control_plane, node_token, fingerprint };
    start_dataplane(config, a.common.data_dir, link, a.test_clock, shutdown).await?.await?
}

async fn controlplane(a: Controlplane, shutdown: watch::Receiver<bool>) -> Result<()> {
    let mut config = load_config(&a.common)?;
    if let Some(l) = a.listen {
        config.controlplane.listen = l;
    }
    let dir = &a.common.data_dir;
    for d in [dir.clone(), dir.join("store")] {
        create_private_dir(&d)?;
    }
    let cp =
        start_controlplane(config, &dir.join("store"), dir.join("credentials.json"), a.test_clock, shutdown).await?;
    cp.task.await?
}

/// Creates `dir` (and missing parents) readable by this user only: it holds message bodies,
/// session credentials and tokens. An existing directory keeps the mode its operator gave it.
fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}
