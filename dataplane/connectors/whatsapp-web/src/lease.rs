//! The instance lease: at most one live client per instance. Before a client is opened the line
//! takes the lease (owner token + expiry) in the instance's store; it renews it while the client
//! lives and gives it back after the client shut down. A second line for the same instance (a
//! restart request while the old client is still flushing) waits until the lease is free or
//! expired, so two clients never share a session (two would replace each other on the server,
//! 409, and may corrupt Signal state).

use chatedge_connector::{KvError, KvStore};

const KEY: &[u8] = b"lease";

/// Who holds a lease: a random token per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner(pub u64);

impl Owner {
    pub fn random() -> Owner {
        Owner(rand::random())
    }
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

/// Takes (or renews) the lease for `owner` until `now_ms + ttl_ms`, unless someone else holds an
/// unexpired one.
pub async fn acquire(kv: &dyn KvStore, owner: Owner, now_ms: u64, ttl_ms: u64) -> Result<Lease, LeaseError> {
    if let Some(held) = current(kv)? {
        if held.owner != owner && held.expires_ms > now_ms {
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
        let (a, b) = (Owner(1), Owner(2));
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
}
