//! The server's memory, as Linux reports it in `/proc/<pid>/status`: `VmRSS` (resident now)
//! and `VmHWM` (the most it was resident since it started; the kernel keeps it, so no peak is
//! missed between two samples). [`Sampler`] reads it every few milliseconds on its own OS
//! thread (so a busy tokio runtime cannot delay the samples), keeps the highest `VmRSS` of the
//! current window in an atomic, and stops when asked. It only reads `/proc`; it never signals
//! or otherwise touches the server process.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum RssError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{0} has no `{1}` line in kB")]
    Missing(String, &'static str),
}

/// One reading, in KiB (the kernel's "kB").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

fn field(status: &str, name: &'static str) -> Option<u64> {
    let line = status.lines().find(|l| l.split(':').next() == Some(name))?;
    let mut words = line.split_once(':')?.1.split_whitespace();
    let value = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(value)
}

/// Reads `VmRSS` and `VmHWM` from the text of a `/proc/<pid>/status` file.
pub fn parse_status(status: &str) -> Result<Memory, RssError> {
    let name = status.lines().next().unwrap_or_default().to_owned();
    let rss_kib = field(status, "VmRSS").ok_or_else(|| RssError::Missing(name.clone(), "VmRSS"))?;
    let hwm_kib = field(status, "VmHWM").ok_or(RssError::Missing(name, "VmHWM"))?;
    Ok(Memory { rss_kib, hwm_kib })
}

/// The process's memory now.
pub fn read(pid: u32) -> Result<Memory, RssError> {
    let path = PathBuf::from(format!("/proc/{pid}/status"));
    let text = std::fs::read_to_string(&path).map_err(|source| RssError::Read { path, source })?;
    parse_status(&text)
}

struct Shared {
    stop: AtomicBool,
    /// Highest `VmRSS` since the window began.
    window_peak_kib: AtomicU64,
    /// Highest `VmRSS` since the sampler started.
    peak_kib: AtomicU64,
    samples: AtomicU64,
    failures: AtomicU64,
}

/// A thread sampling one process's memory until [`Sampler::stop`].
pub struct Sampler {
    pid: u32,
    every: Duration,
    first: Memory,
    shared: Arc<Shared>,
    /// Joined by `stop`; the thread ends when `shared.stop` is set (it is unparked for it).
    thread: Option<JoinHandle<()>>,
}

/// What a sampler saw over its whole life.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Summary {
    pub pid: u32,
    pub every_ms: f64,
    pub samples: u64,
    pub failures: u64,
    /// When the sampler started.
    pub start: Memory,
    /// When it stopped (`None` when the process was gone).
    pub end: Option<Memory>,
    /// Highest `VmRSS` sampled.
    pub peak_sampled_rss_kib: u64,
}

impl Sampler {
    /// Reads once (so a wrong pid fails here), then samples every `every`.
    pub fn start(pid: u32, every: Duration) -> Result<Sampler, RssError> {
        let first = read(pid)?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            window_peak_kib: AtomicU64::new(first.rss_kib),
            peak_kib: AtomicU64::new(first.rss_kib),
            samples: AtomicU64::new(1),
            failures: AtomicU64::new(0),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("rss-sampler".into())
            .spawn(move || sample(pid, every, &s))
            .map_err(|source| RssError::Read { path: format!("/proc/{pid}/status").into(), source })?;
        Ok(Sampler { pid, every, first, shared, thread: Some(thread) })
    }

    /// Highest `VmRSS` since the last call (or the start), and begins a new window at the
    /// current reading.
    pub fn take_window_peak(&self) -> u64 {
        let now = read(self.pid).map(|m| m.rss_kib).unwrap_or(0);
        self.shared.peak_kib.fetch_max(now, Ordering::Relaxed);
        self.shared.window_peak_kib.swap(now, Ordering::Relaxed).max(now)
    }

    pub fn stop(mut self) -> Summary {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
        let end = read(self.pid).ok();
        let s = &self.shared;
        Summary {
            pid: self.pid,
            every_ms: self.every.as_secs_f64() * 1000.0,
            samples: s.samples.load(Ordering::Relaxed),
            failures: s.failures.load(Ordering::Relaxed),
            start: self.first,
            end,
            peak_sampled_rss_kib: s.peak_kib.load(Ordering::Relaxed).max(end.map_or(0, |m| m.rss_kib)),
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

fn sample(pid: u32, every: Duration, s: &Shared) {
    while !s.stop.load(Ordering::Relaxed) {
        std::thread::park_timeout(every);
        match read(pid) {
            Ok(m) => {
                s.window_peak_kib.fetch_max(m.rss_kib, Ordering::Relaxed);
                s.peak_kib.fetch_max(m.rss_kib, Ordering::Relaxed);
                s.samples.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                s.failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// KiB as MiB, for reports.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tchatedge\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\n\
        VmPeak:\t 2345678 kB\nVmSize:\t 2211000 kB\nVmLck:\t       0 kB\nVmHWM:\t  812340 kB\n\
        VmRSS:\t  401200 kB\nRssAnon:\t  380000 kB\nThreads:\t12\n";

    #[test]
    fn status_text_gives_resident_and_high_water_mark() {
        assert_eq!(parse_status(STATUS).unwrap(), Memory { rss_kib: 401_200, hwm_kib: 812_340 });
    }

    #[test]
    fn a_status_without_memory_lines_is_an_error_naming_the_line() {
        // A kernel thread or a zombie has no Vm* lines.
        let err = parse_status("Name:\tkworker/0:1\nState:\tI (idle)\n").unwrap_err();
        assert!(err.to_string().contains("VmRSS"), "{err}");
        assert!(parse_status("Name:\tx\nVmRSS:\t12 MB\nVmHWM:\t12 kB\n").is_err(), "only kB is understood");
        assert!(parse_status("Name:\tx\nVmRSSx:\t12 kB\nVmHWM:\t12 kB\n").is_err(), "names match whole");
    }

    #[test]
    fn this_process_can_be_sampled() {
        let me = std::process::id();
        let sampler = Sampler::start(me, Duration::from_millis(1)).unwrap();
        let grown = std::hint::black_box(vec![1u8; 32 << 20]);
        while sampler.shared.samples.load(Ordering::Relaxed) < 3 {
            std::thread::yield_now();
        }
        let peak = sampler.take_window_peak();
        let summary = sampler.stop();
        assert!(peak >= 32 * 1024, "32 MiB touched, peak {peak} KiB");
        assert!(summary.peak_sampled_rss_kib >= peak && summary.samples >= 3);
        assert!(summary.end.is_some_and(|m| m.hwm_kib >= m.rss_kib));
        drop(grown);
    }

    #[test]
    fn a_missing_process_fails_at_start() {
        assert!(matches!(Sampler::start(u32::MAX, Duration::from_millis(5)), Err(RssError::Read { .. })));
    }
}
