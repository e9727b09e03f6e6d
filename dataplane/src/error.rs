//! `CoreError`: why the core refused or failed a command. Dialects map it to their own HTTP
//! error shape in one function each; this type knows only who failed and whether retrying can
//! help.

use crate::store::StoreError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum CoreError {
    #[error("the queue already holds {limit} messages{}", if *.connected { "" } else { " while the instance is disconnected" })]
    QueueFull { limit: u64, connected: bool },
    #[error("the instance is already connected")]
    AlreadyConnected,
    #[error("the instance is reconnecting with its saved session; try again in a moment")]
    Reconnecting,
    #[error("pairing timed out: no QR code was scanned; ask for a new one")]
    PairingExpired,
    #[error("no message with this zaapId (or to this phone) is waiting in the queue")]
    NotInQueue,
    #[error("the message is on its way to the network and can no longer be removed")]
    InFlight,
    #[error("the instance is not connected")]
    NotConnected,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the data plane is shutting down")]
    ShuttingDown,
    #[error("the operation did not finish in time")]
    Timeout,
    #[error("the instance no longer exists")]
    UnknownInstance,
    #[error("too many writes are waiting for the disk on this instance's shard; retry shortly")]
    StoreBusy,
    #[error("the store cannot write ({0}); nothing was stored, retry once it recovers")]
    StoreFailing(String),
    #[error("this instance reached its daily quota of {limit} messages; it resets at 00:00 UTC")]
    DailyQuota { limit: u64, retry_after_s: u32 },
    #[error("this instance reached its daily limit of {limit} messages; it resets at 00:00 UTC")]
    DailyLimit { limit: u64, retry_after_s: u32 },
}

/// Who is at fault, which decides the HTTP status family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// The request cannot succeed as sent or in the current state (4xx).
    Client,
    /// chatedge could not do it now; retrying later may work (503).
    Unavailable,
}

impl CoreError {
    /// Seconds after which a retry may succeed, for `Retry-After`.
    pub fn retry_after_s(&self) -> Option<u32> {
        match self {
            CoreError::StoreBusy => Some(1),
            CoreError::StoreFailing(_) => Some(5),
            CoreError::ShuttingDown | CoreError::Timeout | CoreError::Store(_) => Some(1),
            CoreError::DailyQuota { retry_after_s, .. } | CoreError::DailyLimit { retry_after_s, .. } => {
                Some(*retry_after_s)
            }
            _ => None,
        }
    }

    pub fn blame(&self) -> Blame {
        match self {
            CoreError::QueueFull { .. }
            | CoreError::AlreadyConnected
            | CoreError::Reconnecting
            | CoreError::PairingExpired
            | CoreError::NotInQueue
            | CoreError::InFlight
            | CoreError::NotConnected
            | CoreError::UnknownInstance
            | CoreError::DailyQuota { .. }
            | CoreError::DailyLimit { .. } => Blame::Client,
            CoreError::Store(_)
            | CoreError::ShuttingDown
            | CoreError::Timeout
            | CoreError::StoreBusy
            | CoreError::StoreFailing(_) => Blame::Unavailable,
        }
    }
}
