//! Faults injected into the committer right before a group write — test builds only; in other
//! builds [`Faults`] is empty and its check compiles to nothing. Unit tests use it to stall the
//! committer (so a requester can give up while its batch waits) and to make writes fail (so
//! health and retries can be observed) without a real broken disk; the end-to-end full-disk
//! test uses a real filesystem instead.

#[cfg(test)]
pub use imp::Faults;

#[cfg(not(test))]
#[derive(Clone, Default)]
pub struct Faults;

#[cfg(not(test))]
impl Faults {
    #[inline(always)]
    pub fn wait_if_stalled(&self) {}

    #[inline(always)]
    pub fn injected_failure(&self) -> Result<(), super::StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod imp {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Mutex, MutexGuard};

    use crate::store::StoreError;

    #[derive(Clone, Default)]
    pub struct Faults(Arc<State>);

    #[derive(Default)]
    struct State {
        fail_next: AtomicU32,
        /// Held by a test to stall the committer before its next write.
        hold: Mutex<()>,
    }

    impl Faults {
        /// The next `n` group writes fail as a full disk would.
        pub fn fail_next(&self, n: u32) {
            self.0.fail_next.store(n, Ordering::SeqCst);
        }

        /// Stalls every group write until the guard is dropped.
        pub fn stall(&self) -> MutexGuard<'_, ()> {
            self.0.hold.lock().unwrap_or_else(|p| p.into_inner())
        }

        /// Blocks while a test holds the stall guard.
        pub fn wait_if_stalled(&self) {
            drop(self.0.hold.lock().unwrap_or_else(|p| p.into_inner()));
        }

        pub fn injected_failure(&self) -> Result<(), StoreError> {
            let left = self.0.fail_next.load(Ordering::SeqCst);
            if left > 0 {
                self.0.fail_next.store(left - 1, Ordering::SeqCst);
                return Err(StoreError::Rocks("IO error: No space left on device (injected)".into()));
            }
            Ok(())
        }
    }
}
