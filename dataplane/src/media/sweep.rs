//! The media sweep (thread `media-sweep`): every `[media] sweep_interval_ms` it collects the
//! digests that queued messages (`media_ref`) and unexpired received media (`media_hold`) still
//! need, deletes expired holds, and deletes every stored file outside that set once it is older
//! than `[media] orphan_grace_ms` — the grace covers an upload whose message is not committed
//! yet (a writer that finds its bytes already stored renews the file's time under the store's
//! claim lock, so the sweep never deletes a file a new message is about to refer to). Leftover
//! temporary files of interrupted uploads go the same way. It never runs on an event loop and
//! writes only through the committer.

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use rocksdb::IteratorMode;

use super::{Digest, MediaStore};
use crate::metrics::Metrics;
use crate::store::{keys, Batch, Cf, Completion, Store};

/// What one pass found and did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub files: u64,
    pub bytes: u64,
    pub deleted: u64,
    pub holds_expired: u64,
    /// The store could not be read: nothing was deleted.
    pub aborted: bool,
}

/// Expired hold keys deleted per batch.
const EXPIRED_PER_BATCH: usize = 4096;

/// The digests still needed: of queued messages and of unexpired holds (expired holds are
/// deleted on the way). `None` if the store could not be read whole.
fn live_set(store: &Store, now_ms: u64, report: &mut SweepReport) -> Option<HashSet<Digest>> {
    let mut live: HashSet<Digest> = HashSet::new();
    for item in store.db().iterator_cf(store.cf(Cf::MediaRef), IteratorMode::Start) {
        let (_, value) = item.ok()?;
        live.extend(keys::parse_media_ref_value(&value));
    }
    let mut expired = Batch::new();
    for item in store.db().iterator_cf(store.cf(Cf::MediaHold), IteratorMode::Start) {
        let (key, _) = item.ok()?;
        match keys::parse_media_hold(&key) {
            Some((at, _)) if at <= now_ms => {
                expired.delete(Cf::MediaHold, key.to_vec());
                report.holds_expired += 1;
                if expired.ops().len() >= EXPIRED_PER_BATCH {
                    store.submit(std::mem::take(&mut expired), Completion::none());
                }
            }
            Some((_, digest)) => {
                live.insert(digest);
            }
            None => {}
        }
    }
    if !expired.is_empty() {
        store.submit(expired, Completion::none());
    }
    Some(live)
}

/// One pass. `now` is the wall clock (tests pass their own).
pub fn sweep_once(store: &Store, media: &MediaStore, grace: Duration, now: SystemTime) -> SweepReport {
    let mut report = SweepReport::default();
    let now_ms = now.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    // A read error would leave `live` short and delete files still needed: skip the pass.
    let Some(live) = live_set(store, now_ms, &mut report) else {
        report.aborted = true;
        return report;
    };
    let old = |path: &Path| {
        fs::metadata(path)
            .and_then(|m| m.modified())
            .map(|t| now.duration_since(t).is_ok_and(|age| age >= grace))
            .unwrap_or(false)
    };
    for entry in walk(media.files_dir()) {
        let path = entry.path();
        let name = entry.file_name();
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        let digest = name.to_str().and_then(Digest::parse_hex);
        let keep = digest.is_some_and(|d| live.contains(&d)) || {
            let _claims = media.claims();
            !(old(&path) && fs::remove_file(&path).is_ok())
        };
        if keep {
            report.files += 1;
            report.bytes += size;
        } else {
            report.deleted += 1;
        }
    }
    for entry in fs::read_dir(media.tmp_dir()).into_iter().flatten().flatten() {
        if old(&entry.path()) {
            let _ = fs::remove_file(entry.path());
        }
    }
    report
}

/// Every file two levels down (`files/<2 hex>/<digest>`).
fn walk(dir: &Path) -> impl Iterator<Item = fs::DirEntry> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .flat_map(|sub| fs::read_dir(sub.path()).into_iter().flatten().flatten())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
}

/// The running sweep; stopped at drop.
pub struct Sweeper {
    stop: Arc<(Mutex<bool>, std::sync::Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Sweeper {
    pub fn start(
        store: Arc<Store>,
        media: Arc<super::Media>,
        grace: Duration,
        every: Duration,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Sweeper> {
        let stop = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let flag = stop.clone();
        let thread = std::thread::Builder::new().name("media-sweep".into()).spawn(move || loop {
            let r = sweep_once(&store, &media.store, grace, SystemTime::now());
            metrics.media_files.set(r.files as i64);
            metrics.media_bytes.set(r.bytes as i64);
            metrics.media_deleted.inc_by(r.deleted);
            metrics.media_holds_expired.inc_by(r.holds_expired);
            if r.aborted {
                metrics.media_sweeps_aborted.inc();
            }
            let (lock, cv) = &*flag;
            let stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
            let (stopped, _) = cv.wait_timeout_while(stopped, every, |s| !*s).unwrap_or_else(|p| p.into_inner());
            if *stopped {
                return;
            }
        })?;
        Ok(Sweeper { stop, thread: Some(thread) })
    }

    pub fn stop(&mut self) {
        let (lock, cv) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::MediaKind;

    fn setup() -> (tempfile::TempDir, Arc<Store>, MediaStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), 64, Arc::default()).unwrap();
        let media = MediaStore::open(&dir.path().join("media")).unwrap();
        (dir, store, media)
    }

    fn file(media: &MediaStore, n: u8) -> Digest {
        let mut bytes = b"%PDF-1.4\n".to_vec();
        bytes.extend(std::iter::repeat_n(n, 100));
        media.put_bytes(MediaKind::Document, &bytes, 1 << 20).unwrap().digest
    }

    async fn commit(store: &Store, b: Batch) {
        store.commit(b).await.unwrap();
    }

    #[tokio::test]
    async fn a_file_lives_while_a_message_or_an_unexpired_hold_needs_it() {
        let (_dir, store, media) = setup();
        let (queued, held, expired, orphan) = (file(&media, 1), file(&media, 2), file(&media, 3), file(&media, 4));
        let mut b = Batch::new();
        let instance = chatedge_config::InstanceId::generate();
        b.put(Cf::MediaRef, keys::queue(&instance, 7).to_vec(), keys::media_ref_value(&[queued]));
        let now = SystemTime::now();
        let now_ms = now.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as u64;
        b.put(Cf::MediaHold, keys::media_hold(now_ms + 3 * 3_600_000, &held).to_vec(), Vec::new());
        b.put(Cf::MediaHold, keys::media_hold(now_ms - 1, &expired).to_vec(), Vec::new());
        commit(&store, b).await;

        let young = sweep_once(&store, &media, Duration::from_secs(3600), now);
        assert_eq!((young.files, young.deleted), (4, 0), "within the grace nothing goes");
        let later = now + Duration::from_secs(7200);
        let r = sweep_once(&store, &media, Duration::from_secs(3600), later);
        assert_eq!(r.deleted, 2, "{r:?}");
        assert!(media.contains(&queued) && media.contains(&held));
        assert!(!media.contains(&expired) && !media.contains(&orphan));

        let mut b = Batch::new();
        b.delete(Cf::MediaRef, keys::queue(&instance, 7).to_vec());
        commit(&store, b).await;
        sweep_once(&store, &media, Duration::from_secs(3600), later);
        assert!(!media.contains(&queued), "gone once its message left");
    }

    #[test]
    fn a_file_stored_again_is_not_swept_before_its_new_message_commits() {
        let (_dir, store, media) = setup();
        let d = file(&media, 9);
        let old = SystemTime::now() - Duration::from_secs(7200);
        fs::File::options().write(true).open(media.path(&d)).unwrap().set_modified(old).unwrap();
        assert_eq!(file(&media, 9), d, "a new upload of the same bytes renews the file");
        let r = sweep_once(&store, &media, Duration::from_secs(3600), SystemTime::now());
        assert_eq!(r.deleted, 0);
        assert!(media.contains(&d));
    }
}
