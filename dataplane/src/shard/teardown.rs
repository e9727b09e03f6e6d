//! Teardown of an instance removed from the configuration (deleted by the integrator, expired
//! trial): its connection is closed with a logout, and its queue (`queue` family, the whole
//! `instance ‖ seq` span), its saved session (`sessions`) and its removal marker (`config`, set
//! by `sync::persist` in the batch that removed the instance) are deleted in one batch. Runs on
//! the owning shard's thread; the delete goes through the committer like every write.
//!
//! Durability: the marker is durable no later than the configuration without the instance, so
//! a crash at any point before the teardown batch leaves the marker behind, and start-up
//! ([`Shard::finish_teardowns`]) tears the instance down again before its session could resume
//! or its queue could send. A marker whose instance the persisted configuration still holds was
//! written by a large update that crashed before it took effect; it is dropped, nothing else.
//!
//! Webhook events of the instance are not searched for here (the outbox is keyed by due time,
//! so finding them means a scan): the dispatcher checks the live configuration before every
//! attempt and never delivers an event of an instance that is no longer configured. The
//! teardown is therefore one durable step — the configuration change — and everything it
//! implies follows from it.

use std::collections::HashSet;

use chatedge_config::InstanceId;

use super::recovery::ShardRecovery;
use super::{Shard, Then};
use crate::error::CoreError;
use crate::outbox::Events;
use crate::store::{keys, Batch, Cf};
use crate::sync::persist;

impl Shard {
    /// Closes `id`'s session on the network, forgets it here and deletes what it kept on disk;
    /// `then` runs once that is durable. `when` labels the teardown metric.
    pub(super) fn teardown(&mut self, id: InstanceId, then: Then, when: &'static str) {
        self.connector.close(id, true);
        self.daily.forget(&id);
        if let Some(mut s) = self.sessions.remove(&id) {
            s.answer_qr_waiters(|| Err(CoreError::NotConnected));
            if let Some(at) = s.wake_at {
                self.timers.remove(&(at, id));
            }
        }
        let mut batch = Batch::new();
        // Sequence numbers start at 0 and never reach u64::MAX: this span is the whole queue.
        let (queue_from, queue_to) = (keys::queue(&id, 0), keys::queue(&id, u64::MAX));
        batch.delete_range(Cf::Queue, queue_from, queue_to);
        batch.delete_range(Cf::MediaRef, queue_from, queue_to);
        // Its zaapId and phone indexes too: a queue recreated under the same id starts at seq 0
        // again, and stale entries would point at its new messages.
        let (index_from, index_to) = keys::index_span(&id);
        batch.delete_range(Cf::QueueIndex, index_from.clone(), index_to.clone());
        self.deps.store.compact_later(Cf::Queue, queue_from.to_vec(), queue_to.to_vec());
        self.deps.store.compact_later(Cf::QueueIndex, index_from, index_to);
        batch.delete(Cf::Sessions, keys::session(&id));
        let (world_from, world_to) = crate::network::sim::world::table::instance_span(&id);
        batch.delete_range(Cf::SimWorld, world_from, world_to);
        let (cloud_from, cloud_to) = crate::network::cloud_api::ids::instance_span(&id);
        batch.delete_range(Cf::CloudMessages, cloud_from, cloud_to);
        batch.delete(Cf::Config, persist::teardown_marker(&id));
        let (campaigns_from, campaigns_to) = crate::campaigns::keys::instance_span(&id);
        batch.delete_range(Cf::Campaigns, campaigns_from, campaigns_to);
        // Its dead letters and delivered-event history (both keyed by instance first).
        crate::outbox::dead_letter::forget_instance(&mut batch, &id);
        crate::outbox::history::forget_instance(&mut batch, &id);
        self.deps.metrics.instance_teardowns.with_label_values(&[when]).inc();
        tracing::info!(instance = %id, when, "instance removed from the configuration: torn down");
        self.commit(id, batch, Events::new(), then);
    }

    /// Finishes teardowns a crash interrupted, before any recovered session resumes: the
    /// instances are taken out of `r` and torn down again.
    pub(super) fn finish_teardowns(&mut self, mut r: ShardRecovery) -> ShardRecovery {
        if r.teardowns.is_empty() {
            return r;
        }
        let config = self.deps.config.load_full();
        let mut gone = HashSet::new();
        for id in std::mem::take(&mut r.teardowns) {
            if config.instances.contains_key(&id) {
                let mut stale = Batch::new();
                stale.delete(Cf::Config, persist::teardown_marker(&id));
                self.commit(id, stale, Events::new(), Then::Nothing);
            } else {
                gone.insert(id);
            }
        }
        r.queues.retain(|(id, _)| !gone.contains(id));
        r.sessions.retain(|(id, _)| !gone.contains(id));
        for id in gone {
            self.teardown(id, Then::Nothing, "at_start");
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use arc_swap::ArcSwap;
    use chatedge_config::{Config, ConfigUpdate, InstanceConfig, InstanceId, Phone, Secret, Snapshot, TenantId};
    use tokio::sync::mpsc;

    use crate::metrics::Metrics;
    use crate::network::sim::SimNetwork;
    use crate::network::{Connector, Credentials};
    use crate::outbox::dispatcher;
    use crate::session::SessionRecord;
    use crate::shard::{self, recovery, ShardDeps};
    use crate::store::{keys, Batch, Cf, Store};
    use crate::sync::persist;

    fn queue_len(store: &Store, id: &InstanceId) -> usize {
        store
            .db()
            .prefix_iterator_cf(store.cf(Cf::Queue), id.as_bytes())
            .map_while(Result::ok)
            .filter(|(k, _)| k.starts_with(id.as_bytes()))
            .count()
    }

    fn index_entries(store: &Store, id: &InstanceId) -> usize {
        let (from, to) = keys::index_span(id);
        let mut opts = rocksdb::ReadOptions::default();
        opts.set_iterate_upper_bound(to);
        let mode = rocksdb::IteratorMode::From(&from, rocksdb::Direction::Forward);
        store.db().iterator_cf_opt(store.cf(Cf::QueueIndex), opts, mode).map_while(Result::ok).count()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_teardown_cut_short_by_a_crash_is_finished_at_start_before_the_session_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Arc::new(Metrics::new());
        let store = Store::open(dir.path(), 64, metrics.clone()).unwrap();
        let kept = InstanceConfig::new_trial(TenantId::generate(), Secret::generate(16).hash(), "k".into(), 1, 1);
        let gone = InstanceId::generate();
        // What a crash between removing `gone` from the config and tearing it down leaves behind:
        // its marker, its queue and its saved session; plus a stale marker for a kept instance
        // (a large update that crashed before taking effect).
        let mut b = Batch::new();
        for id in [gone, kept.id] {
            for seq in 0..3 {
                b.put(Cf::Queue, keys::queue(&id, seq), b"queued".to_vec());
                let (zaap, phone) = (chatedge_config::ZaapId::generate(), Phone::parse("5511988887777").unwrap());
                b.put(Cf::QueueIndex, keys::zaap_index(&id, &zaap), keys::zaap_index_value(seq, &phone));
                b.put(Cf::QueueIndex, keys::phone_index(&id, &phone, seq), zaap.as_bytes().to_vec());
            }
            b.put(Cf::Config, persist::teardown_marker(&id), Vec::new());
        }
        let phone = Phone::parse("5511999990001").unwrap();
        let credentials = Credentials("sim:5511999990001:AB".into());
        b.put(Cf::Sessions, keys::session(&gone), SessionRecord { phone, credentials, paired_ms: 1 }.encode());
        store.commit(b).await.unwrap();

        let update = ConfigUpdate { reset: true, version: 1, instances: vec![kept.clone()], ..Default::default() };
        let config = Arc::new(ArcSwap::from_pointee(Snapshot::default().apply(&update, Default::default()).unwrap()));
        let defaults = Config::default();
        let (notifier, _inbox) = dispatcher::channel();
        let deps = ShardDeps {
            store: store.clone(),
            config,
            notifier,
            metrics: metrics.clone(),
            pacing: defaults.pacing,
            queue: defaults.queue,
            session: defaults.session,
            store_limits: defaults.store,
            media: crate::media::Media::temporary(),
            opt_out_keywords: defaults.campaigns.opt_out_keywords.clone(),
            clock: std::sync::Arc::new(crate::campaigns::Clock::system()),
            accounts: std::sync::Arc::default(),
            pin_to_cores: false,
        };
        let (tx, rx) = mpsc::channel(shard::EVENT_CAPACITY);
        let sim = SimNetwork::new(defaults.sim.clone(), deps.media.clone(), store.clone(), vec![tx]);
        let connectors: Vec<Box<dyn Connector + Send>> = vec![Box::new(sim.connector(0))];
        let recovered = recovery::load(&store, 1).unwrap();
        assert_eq!(recovered[0].teardowns.len(), 2);
        let (shards, threads) = shard::start(deps, connectors, vec![rx], recovered).unwrap();

        let mut waited = 0;
        while !persist::pending_teardowns(&store).unwrap().is_empty() {
            assert!(waited < 500, "the markers are cleared");
            waited += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(queue_len(&store, &gone), 0, "the removed instance's queue is gone");
        assert_eq!(index_entries(&store, &gone), 0, "and its queue indexes");
        assert_eq!(index_entries(&store, &kept.id), 6);
        assert!(store.db().get_cf(store.cf(Cf::Sessions), keys::session(&gone)).unwrap().is_none());
        assert_eq!(queue_len(&store, &kept.id), 3, "a stale marker tears nothing down");
        let status = shards.ask(&gone, |reply| shard::Command::Status { instance: gone, reply }).await.unwrap();
        assert!(!status.connected && status.phone.is_none(), "the removed session did not resume: {status:?}");
        assert_eq!(metrics.instance_teardowns.with_label_values(&["at_start"]).get(), 1);

        shards.stop().await;
        tokio::task::spawn_blocking(move || threads.into_iter().for_each(|t| t.join().unwrap())).await.unwrap();
        store.close();
    }
}
