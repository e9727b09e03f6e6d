//! The chatedge process under test: `chatedge up` on one data directory and two fixed
//! loopback ports (picked once, so every restart serves the same URLs), started, killed with
//! SIGKILL, restarted and finally stopped with SIGTERM. It owns the child process and the
//! thread that reads its stdout (the "… listening on http://ADDR" lines the binary prints once
//! each plane serves); stderr is appended to `chatedge.log` in the data directory. Nothing
//! here talks HTTP. Runs on the scenario's tokio runtime, plus one plain thread per start
//! reading stdout; the child is killed if its [`Process`] is dropped.

use std::io::BufRead;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::sync::mpsc;

/// What the binary prints once the control plane serves.
const CONTROL_PLANE_MARKER: &str = "control plane listening on ";
/// What the binary prints once the data plane serves.
const DATA_PLANE_MARKER: &str = "data plane listening on ";
/// Longest wait for both listening lines after a start.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for an exit after SIGTERM before falling back to SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Config for the soak: no pacing, a fast sim, loopback webhooks with quick retries (the
/// tests' FAST config), and queues deep enough that a restart's disconnected window never
/// refuses sends.
pub const CONFIG: &str = "\
[pacing]
min_delay_ms = 0
max_delay_ms = 0
[webhooks]
allow_insecure_loopback = true
initial_backoff_ms = 50
max_backoff_ms = 500
[network.sim]
ack_delay_ms = 1
received_delay_ms = 5
read_delay_ms = 10
[queue]
max_waiting_disconnected = 10000000
max_waiting_connected = 10000000
";

/// How to start chatedge.
#[derive(Debug, Clone)]
pub struct Launch {
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    pub config: PathBuf,
    pub data_plane: SocketAddr,
    pub control_plane: SocketAddr,
}

impl Launch {
    /// Writes the config into `data_dir` and picks two free loopback ports.
    pub fn prepare(binary: &Path, data_dir: &Path, extra_config: &str) -> Result<Launch> {
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
        let config = data_dir.join("chaos.toml");
        std::fs::write(&config, format!("{CONFIG}{extra_config}"))
            .with_context(|| format!("writing {}", config.display()))?;
        Ok(Launch {
            binary: binary.to_path_buf(),
            data_dir: data_dir.to_path_buf(),
            config,
            data_plane: free_port()?,
            control_plane: free_port()?,
        })
    }

    pub fn data_plane_url(&self) -> String {
        format!("http://{}", self.data_plane)
    }

    pub fn control_plane_url(&self) -> String {
        format!("http://{}", self.control_plane)
    }

    pub fn credentials(&self) -> PathBuf {
        self.data_dir.join("credentials.json")
    }
}

/// A loopback port free right now (the listener is closed at once; chatedge binds it next).
fn free_port() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("picking a free loopback port")?;
    Ok(listener.local_addr()?)
}

/// A running chatedge; killed and reaped if dropped.
pub struct Process {
    child: Child,
    /// From spawn until both planes printed their listening line.
    pub time_to_listen: Duration,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the child's stdout on a plain thread (tokio's process support is not compiled into
/// this workspace) and hands lines over until the receiver is gone, then keeps draining so the
/// child never blocks on a full pipe. Ends at the child's exit (end of file).
fn forward_lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(64);
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.as_ref().is_some_and(|t| t.blocking_send(line).is_err()) {
                tx = None;
            }
        }
    });
    rx
}

impl Process {
    /// Spawns `chatedge up` and waits (bounded) until both planes listen.
    pub async fn start(launch: &Launch) -> Result<Process> {
        let log_path = launch.data_dir.join("chatedge.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let started = Instant::now();
        let mut child = Command::new(&launch.binary)
            .arg("up")
            .arg("--data-dir")
            .arg(&launch.data_dir)
            .arg("--config")
            .arg(&launch.config)
            .arg("--listen")
            .arg(launch.data_plane.to_string())
            .arg("--control-listen")
            .arg(launch.control_plane.to_string())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("starting {}", launch.binary.display()))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            bail!("chatedge stdout not captured");
        };
        // From here on, dropping `process` kills the child.
        let mut process = Process { child, time_to_listen: Duration::ZERO };
        let mut lines = forward_lines(stdout);
        let wait = async {
            let (mut control, mut data) = (false, false);
            while !(control && data) {
                let Some(line) = lines.recv().await else {
                    bail!("chatedge exited before it listened (see {})", log_path.display());
                };
                control |= line.contains(CONTROL_PLANE_MARKER);
                data |= line.contains(DATA_PLANE_MARKER);
            }
            Ok(())
        };
        match tokio::time::timeout(START_TIMEOUT, wait).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => bail!("chatedge did not listen within {START_TIMEOUT:?} (see {})", log_path.display()),
        }
        process.time_to_listen = started.elapsed();
        Ok(process)
    }

    /// SIGKILL, and reap the child.
    pub async fn kill_9(mut self) -> Result<()> {
        self.child.kill().context("kill -9 chatedge")?;
        wait_exit(&mut self.child, STOP_TIMEOUT).await?;
        Ok(())
    }

    /// Whether the child is still running (has not exited on its own).
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM (through kill(1): this crate forbids unsafe code) and wait for the exit,
    /// bounded; after [`STOP_TIMEOUT`] it is killed. Returns the exit status (`None` when it
    /// had to be killed) and the wait.
    pub async fn terminate(mut self) -> Result<(Option<ExitStatus>, Duration)> {
        let t0 = Instant::now();
        let pid = self.child.id().to_string();
        let sent = tokio::task::spawn_blocking(move || Command::new("kill").arg("-TERM").arg(pid).status())
            .await?
            .context("running kill -TERM")?;
        if !sent.success() {
            bail!("kill -TERM failed: {sent}");
        }
        let status = wait_exit(&mut self.child, STOP_TIMEOUT).await?;
        Ok((status, t0.elapsed()))
    }
}

/// Polls for the child's exit for at most `limit`; `None` when it did not exit in time.
async fn wait_exit(child: &mut Child, limit: Duration) -> Result<Option<ExitStatus>> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().context("waiting for chatedge")? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
