//! shutdown: how a listener learns it must stop, and how it waits for the connections it
//! owns. It owns no connection itself and never closes one: each connection's driver
//! (`conn.rs`) watches the same flag and closes gracefully. Runs on the planes' runtime.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

/// Resolves once `shutdown` is true (or its sender is gone).
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// The connection tasks of one listener: spawned here, reaped as they end, and at shutdown
/// given `drain` to finish their in-flight requests before the rest are aborted.
pub(crate) struct Connections {
    tasks: JoinSet<()>,
}

impl Connections {
    pub(crate) fn new() -> Self {
        Connections { tasks: JoinSet::new() }
    }

    /// Spawns one connection's task. Its owner is this set: it ends with the connection, or is
    /// aborted by [`Connections::drain`] (or when the set is dropped).
    pub(crate) fn spawn(&mut self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.reap();
        self.tasks.spawn(task);
    }

    /// Like [`Connections::spawn`], with the task running on `runtime`.
    pub(crate) fn spawn_on(
        &mut self,
        task: impl std::future::Future<Output = ()> + Send + 'static,
        runtime: &tokio::runtime::Handle,
    ) {
        self.reap();
        self.tasks.spawn_on(task, runtime);
    }

    /// Forgets finished tasks, so the set stays bounded by the open connections.
    fn reap(&mut self) {
        while self.tasks.try_join_next().is_some() {}
    }

    /// Waits up to `drain` for every connection to close (each closes gracefully on the same
    /// shutdown flag), then aborts the rest.
    pub(crate) async fn drain(mut self, drain: Duration) {
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(drain, all).await.is_err() {
            tracing::warn!(left = self.tasks.len(), "connections did not finish within the drain timeout");
            self.tasks.shutdown().await;
        }
    }
}
