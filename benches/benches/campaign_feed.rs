//! campaign_feed: how fast a campaign run moves its recipients into the instance's durable
//! queue — the feeder reading the audience after its cursor, checking the suppression list and
//! the recipients' variables, building one personalised message each, and the shard writing
//! messages, recipient rows, message-id index entries and the cursor in one batch per
//! `[campaigns] feed_batch` (issue 14: at least 50,000 recipients/s on a 1,000,000-recipient
//! campaign). The instance stays disconnected (its queue limit raised) so nothing leaves: this
//! is the enqueue rate alone, with the queue window out of the way. One iteration is one run
//! of a new campaign over the same audience of `CHATEDGE_BENCH_RECIPIENTS` numbers (default
//! 100,000; the figure: 1,000,000) with a `{group.field}` variable per recipient.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use chatedge_benches::{fleet, TempStore};
use chatedge_config::Config;
use chatedge_dataplane::campaigns::definitions::{NewCampaign, RunRequest};
use chatedge_dataplane::campaigns::Campaigns;
use chatedge_dataplane::network::sim::SimNetwork;
use chatedge_dataplane::network::Connector;
use chatedge_dataplane::shard::{self, ShardDeps};
use chatedge_dataplane::store::Batch;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn recipients() -> u64 {
    std::env::var("CHATEDGE_BENCH_RECIPIENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000)
}

fn campaign_feed(c: &mut Criterion) {
    let n = recipients();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let _in_runtime = rt.enter(); // the sim starts its redelivery sweep on the runtime
    let temp = TempStore::open(chatedge_benches::default_max_batch());
    let store = temp.store.clone();
    let fleet = fleet(1);
    let instance = fleet.credentials[0].0;
    let config = Arc::new(ArcSwap::from_pointee(fleet.snapshot));
    let mut defaults = Config::default();
    defaults.queue.max_waiting_disconnected = u64::MAX / 2;
    defaults.campaigns.queue_window = u64::MAX / 2;
    defaults.campaigns.feed_batch = 2_000;
    let media_dir = temp.path().join("media");
    let media = chatedge_dataplane::media::Media::open(&media_dir, defaults.media.clone(), Arc::default()).unwrap();
    let (notifier, _inbox) = chatedge_dataplane::outbox::dispatcher::channel();
    let deps = ShardDeps {
        store: store.clone(),
        config: config.clone(),
        notifier,
        metrics: temp.metrics.clone(),
        pacing: defaults.pacing,
        queue: defaults.queue,
        session: defaults.session,
        store_limits: defaults.store,
        media: media.clone(),
        opt_out_keywords: defaults.campaigns.opt_out_keywords.clone(),
        clock: std::sync::Arc::new(chatedge_dataplane::campaigns::Clock::system()),
        accounts: std::sync::Arc::default(),
        pin_to_cores: false,
    };
    let (tx, rx) = tokio::sync::mpsc::channel(shard::EVENT_CAPACITY);
    let sim = SimNetwork::new(defaults.sim.clone(), media, store.clone(), vec![tx]);
    let connectors: Vec<Box<dyn Connector + Send>> = vec![Box::new(sim.connector(0))];
    let recovered = shard::recovery::load(&store, 1).unwrap();
    let (shards, _threads) = shard::start(deps, connectors, vec![rx], recovered).unwrap();
    let uploads = temp.path().join("uploads");
    std::fs::create_dir_all(&uploads).unwrap();
    let campaigns = Campaigns::new(
        store.clone(),
        shards,
        config,
        defaults.campaigns.clone(),
        temp.metrics.clone(),
        std::sync::Arc::new(chatedge_dataplane::campaigns::Clock::system()),
        uploads,
    )
    .unwrap();

    // The audience and one variable per number, written directly in batches of 10,000.
    let mut audience = campaigns.audience_to_fill(&instance, "crowd", None, None).unwrap();
    let mut group = campaigns.group_to_fill(&instance, "people", None, None, &["first_name".to_owned()]).unwrap();
    let mut start = 0;
    while start < n {
        let end = (start + 10_000).min(n);
        let phones: Vec<String> = (start..end).map(|i| format!("55119{:08}", i * 3 + 1)).collect();
        let values: Vec<_> = phones
            .iter()
            .map(|p| {
                let mut m = serde_json::Map::new();
                m.insert("first_name".into(), serde_json::Value::from(format!("Name{p}")));
                (p.clone(), m)
            })
            .collect();
        let mut batch = Batch::new();
        campaigns.add_members(&instance, &mut audience, &phones, &mut batch).unwrap();
        campaigns.add_values(&instance, &mut group, &values, &mut batch).unwrap();
        temp.commit_all([batch]);
        start = end;
    }

    let new = NewCampaign {
        title: "bench".into(),
        message: "Olá {people.first_name}! Seu pedido foi confirmado e sai para entrega amanhã.".into(),
        img_url: None,
        buttons: Vec::new(),
        variables: vec![("people".into(), "first_name".into())],
        template_type: "MARKETING".into(),
        language_code: "pt_BR".into(),
        template_name: None,
        max_per_second: None,
    };
    let mut g = c.benchmark_group("campaign_feed");
    g.throughput(Throughput::Elements(n));
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(1));
    g.measurement_time(Duration::from_secs(1));
    g.bench_function(format!("enqueue_{n}_recipients"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let run = RunRequest { audiences: vec!["crowd".into()], time_to_run_ms: None };
                let started = Instant::now();
                let created = rt.block_on(campaigns.create(instance, new.clone(), Some(run))).unwrap();
                loop {
                    let c = campaigns.campaign(&instance, &created.id).unwrap().unwrap();
                    if c.state() == "done" {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                total += started.elapsed();
                let (counters, _) = campaigns.results(&instance, &created).unwrap();
                let _ = counters;
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, campaign_feed);
criterion_main!(benches);
