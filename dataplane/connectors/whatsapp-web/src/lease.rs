//! The instance lease: at most one live client per instance. Before a client is opened the line
//! takes the lease (owner token + expiry) in the instance's store; it renews it while the client
//! lives and gives it back after the client shut down. A second line for the same instance (a
//! restart request while the old client is still flushing) waits until the lease is free or
//! expired, so two clients never share a session (two would replace each other on the server,
//! 409, and may corrupt Signal state). A lease taken by an earlier process is free at once: the
//! store is opened by one process at a time (RocksDB's lock), so that process has ended and its
//! client with it — a restart, graceful or after `kill -9`, reconnects without waiting out the
//! lease.

use chatedge_connector::{KvError, KvStore};

const KEY: &[u8] = b"lease";

/// Who holds a lease: a random token per line, whose high half names the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner(pub u64);

impl Owner {
    pub fn random() -> Owner {
        Owner(u64::from(process_share()) << 32 | u64::from(rand::random::<u32>()))
    }

    /// Whether this process's lines took the lease.
    fn of_this_process(self) -> bool {
        (self.0 >> 32) as u32 == process_share()
    }
}

/// This process's half of every owner token, drawn once.
fn process_share() -> u32 {
    static SHARE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *SHARE.get_or_init(|| rand::random::<u32>().max(1))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub owner: Owner,
    pub expires_ms: u64,
}

impl Lease {
    fn encode(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.owner.0.to_be_bytes());
        b[8..].copy_from_slice(&self.expires_ms.to_be_bytes());
        b
    }

    fn decode(b: &[u8]) -> Option<Lease> {
        let owner = u64::from_be_bytes(b.get(..8)?.try_into().ok()?);
        let expires_ms = u64::from_be_bytes(b.get(8..16)?.try_into().ok()?);
        Some(Lease { owner: Owner(owner), expires_ms })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    #[error("another client holds the session until {expires_ms} ms")]
    Held { expires_ms: u64 },
    #[error(transparent)]
    Store(#[from] KvError),
}

/// The lease as stored (a corrupt record counts as none: it can only be ours, half written).
pub fn current(kv: &dyn KvStore) -> Result<Option<Lease>, KvError> {
    Ok(kv.get(KEY)?.as_deref().and_then(Lease::decode))
}

/// Takes (or renews) the lease for `owner` until `now_ms + ttl_ms`, unless another line of this
/// process holds an unexpired one.
pub async fn acquire(kv: &dyn KvStore, owner: Owner, now_ms: u64, ttl_ms: u64) -> Result<Lease, LeaseError> {
    if let Some(held) = current(kv)? {
        if held.owner != owner && held.expires_ms > now_ms && held.owner.of_this_process() {
            return Err(LeaseError::Held { expires_ms: held.expires_ms });
        }
    }
    let lease = Lease { owner, expires_ms: now_ms.saturating_add(ttl_ms) };
    kv.put(KEY, &lease.encode()).await?;
    Ok(lease)
}

/// Gives the lease back if `owner` holds it.
pub async fn release(kv: &dyn KvStore, owner: Owner) -> Result<(), KvError> {
    match current(kv)? {
        Some(held) if held.owner == owner => kv.delete(KEY).await,
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use chatedge_connector::MemKv;

    use super::*;

    #[tokio::test]
    async fn a_held_lease_refuses_another_owner_until_it_expires_or_is_released() {
        let kv = MemKv::new();
        let (a, b) = (Owner::random(), Owner::random());
        acquire(&kv, a, 1_000, 30_000).await.unwrap();
        assert_eq!(acquire(&kv, b, 2_000, 30_000).await, Err(LeaseError::Held { expires_ms: 31_000 }));
        assert_eq!(acquire(&kv, a, 20_000, 30_000).await.unwrap().expires_ms, 50_000, "the holder renews");
        assert!(acquire(&kv, b, 50_001, 30_000).await.is_ok(), "an expired lease is taken over");
        release(&kv, a).await.unwrap();
        assert_eq!(current(&kv).unwrap().map(|l| l.owner), Some(b), "only the holder releases");
        release(&kv, b).await.unwrap();
        assert_eq!(current(&kv).unwrap(), None);
        assert!(acquire(&kv, a, 50_002, 30_000).await.is_ok(), "a released lease is free at once");
    }

    #[tokio::test]
    async fn a_lease_an_earlier_process_took_is_free_at_once() {
        let kv = MemKv::new();
        let earlier = Owner(u64::from(process_share().wrapping_add(1).max(1)) << 32 | 7);
        acquire(&kv, earlier, 1_000, 30_000).await.unwrap();
        let ours = Owner::random();
        assert_eq!(acquire(&kv, ours, 2_000, 30_000).await.map(|l| l.owner), Ok(ours), "its process has ended");
        assert_eq!(
            acquire(&kv, Owner::random(), 3_000, 30_000).await,
            Err(LeaseError::Held { expires_ms: 32_000 }),
            "another line of this process waits"
        );
    }
}
