//! Helpers for fault tests: signals to the running binary without waiting for it (so a test
//! can act while it shuts down), restarts on the same data directory, the whole queue of an
//! instance as listed by `GET queue`, a seeded random source whose seed is printed (rerun a
//! failure with `CHATEDGE_TEST_SEED=<seed>`), a raw HTTP client ([`wire`]) and the ledger of
//! acknowledged, refused and unknown sends ([`ledger`]).

pub mod ledger;
pub mod wire;

use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use super::{Chatedge, Http, Instance};

/// Largest page `GET queue` serves.
const PAGE: usize = 1000;

impl Chatedge {
    /// Sends SIGTERM and returns at once; see [`wait_exit`](Self::wait_exit).
    pub fn sigterm(&self) {
        let pid = self.child.id() as i32;
        // SAFETY: kill(2) on our own child with SIGTERM has no memory-safety preconditions.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    }

    /// Waits for the process to exit, panicking after `within`.
    pub fn wait_exit(mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "chatedge did not exit within {within:?}; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// `chatedge up` on `dir` again (off the async worker threads: start-up blocks).
pub async fn restart(dir: &Path, config: &str) -> Chatedge {
    let (dir, config) = (dir.to_path_buf(), config.to_owned());
    tokio::task::spawn_blocking(move || Chatedge::up(&dir, &config)).await.unwrap()
}

/// One message as `GET queue` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub zaap_id: String,
    pub message_id: String,
    pub text: String,
}

/// Every message queued for `inst`, page after page, oldest first.
pub async fn queue_listing(http: &Http, ce: &Chatedge, inst: &Instance) -> Vec<Listed> {
    let mut all = Vec::new();
    for page in 1.. {
        let url = ce.instance_url(inst, &format!("queue?page={page}&pageSize={PAGE}"));
        let (status, v) = http.get(&url, None).await;
        assert_eq!(status, 200, "GET queue page {page}: {v}");
        let items = v.as_array().unwrap_or_else(|| panic!("GET queue answered {v}"));
        all.extend(items.iter().map(|m| Listed {
            zaap_id: m["ZaapId"].as_str().unwrap().to_owned(),
            message_id: m["MessageId"].as_str().unwrap().to_owned(),
            text: m["Message"].as_str().unwrap().to_owned(),
        }));
        if items.len() < PAGE {
            break;
        }
    }
    all
}

/// A small seeded random source (xorshift64*): tests pick kill moments from it.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `CHATEDGE_TEST_SEED` or the clock; the seed is printed for reruns.
    pub fn from_env_or_clock(test: &str) -> Rng {
        let seed = std::env::var("CHATEDGE_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        });
        eprintln!("{test}: CHATEDGE_TEST_SEED={seed}");
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `range` (inclusive).
    pub fn between(&mut self, range: std::ops::RangeInclusive<u64>) -> u64 {
        range.start() + self.next_u64() % (range.end() - range.start() + 1)
    }
}
