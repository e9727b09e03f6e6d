//! `Shards`: the edge's handle on the shards — picks the owner of an instance and asks it.

use std::sync::Arc;

use chatedge_config::InstanceId;
use tokio::sync::{mpsc, oneshot};

use super::Command;
use crate::error::CoreError;

#[derive(Clone)]
pub struct Shards {
    senders: Arc<[mpsc::Sender<Command>]>,
    /// Each shard thread's runtime, by shard: where the edge may run HTTP connections.
    runtimes: Arc<[tokio::runtime::Handle]>,
}

impl Shards {
    pub(super) fn new(senders: Vec<mpsc::Sender<Command>>, runtimes: Vec<tokio::runtime::Handle>) -> Self {
        Shards { senders: senders.into(), runtimes: runtimes.into() }
    }

    /// Each shard thread's runtime, by shard index.
    pub fn runtimes(&self) -> &[tokio::runtime::Handle] {
        &self.runtimes
    }

    pub fn len(&self) -> usize {
        self.senders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.senders.is_empty()
    }

    fn owner(&self, id: &InstanceId) -> &mpsc::Sender<Command> {
        &self.senders[id.shard(self.senders.len())]
    }

    /// Sends the command built by `make` to the owner of `id` and waits for its reply. Waits
    /// for room when the shard's channel is full (the caller's request timeout bounds that).
    pub async fn ask<T>(
        &self,
        id: &InstanceId,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, CoreError> {
        let (tx, rx) = oneshot::channel();
        self.owner(id).send(make(tx)).await.map_err(|_| CoreError::ShuttingDown)?;
        rx.await.map_err(|_| CoreError::ShuttingDown)
    }

    /// Like [`ask`](Self::ask) for commands whose reply is itself a `Result`.
    pub async fn call<T>(
        &self,
        id: &InstanceId,
        make: impl FnOnce(oneshot::Sender<Result<T, CoreError>>) -> Command,
    ) -> Result<T, CoreError> {
        self.ask(id, make).await?
    }

    /// The instances every shard has online, shard by shard.
    pub async fn online(&self) -> Result<Vec<InstanceId>, CoreError> {
        let mut all = Vec::new();
        for s in self.senders.iter() {
            let (tx, rx) = oneshot::channel();
            s.send(Command::Online { reply: tx }).await.map_err(|_| CoreError::ShuttingDown)?;
            all.extend(rx.await.map_err(|_| CoreError::ShuttingDown)?);
        }
        Ok(all)
    }

    /// Tells every shard to leave its loop.
    pub async fn stop(&self) {
        for s in self.senders.iter() {
            let _ = s.send(Command::Stop).await;
        }
    }
}
