//! How RocksDB is tuned, family by family, and why. Used once, when the store opens.
//!
//! - **Block cache**: one LRU cache of data blocks shared by every family
//!   (`[store] block_cache_bytes`). Index and filter blocks stay where RocksDB keeps them by
//!   default, in each open table's memory (about 1.25 bytes of filter per key, plus the index):
//!   charged to the cache (`cache_index_and_filter_blocks`), a table's whole index and filter
//!   were evicted and read back again and again, and a zaapId point read with 1,000,000
//!   messages queued took ~0.7 ms instead of ~6 µs (benches/benches/queue_huge.rs,
//!   `zaap_index_get`, same machine, side by side).
//! - **Bloom filters** (10 bits per key, ~1% false positives) where reads are point lookups by
//!   whole key: a miss is answered from the filter without reading a data block. Families read
//!   only by range scans get none: a whole-key filter is never consulted by an iterator.
//! - **Compression**: none. The rocksdb crate is built without any compression library
//!   (workspace Cargo.toml: `default-features = false`, `bindgen-runtime` only), and adding one
//!   (lz4 for outbox/dead-letter would be the natural pick) recompiles RocksDB's C++ for ~20
//!   minutes; values are small JSON documents, so the saving would be modest.
//! - **Deletion-triggered compaction** where every record is deleted soon after it is written
//!   (queue, its index, outbox): an SST file in which a sliding window of keys is mostly
//!   tombstones is marked for compaction, so RocksDB's background compactions (which never
//!   stall writes the way a level-0 slowdown does) drop consumed heads by themselves; the
//!   manual compactions that `Store::compact_later` asks for are the non-exclusive kind.

use rocksdb::{BlockBasedOptions, Cache, DBCompressionType, Options};

use super::Cf;

/// Bloom filter bits per key: ~1% false positives (RocksDB's usual setting).
const BLOOM_BITS_PER_KEY: f64 = 10.0;
/// Deletion-triggered compaction: a file is marked when any window of this many consecutive
/// entries holds at least `DELETION_TRIGGER` deletions (or the file's deletion ratio exceeds
/// `DELETION_RATIO`). Queue and outbox files are nearly all tombstones once consumed.
const DELETION_WINDOW: usize = 4096;
const DELETION_TRIGGER: usize = 2048;
const DELETION_RATIO: f64 = 0.5;

/// Database-wide options.
pub fn db() -> Options {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    // Keep the WAL bounded so restart replay stays short.
    opts.set_max_total_wal_size(256 * 1024 * 1024);
    opts
}

/// Options of one family; `cache` is the block cache every family shares.
pub fn family(cf: Cf, cache: &Cache) -> Options {
    let mut opts = Options::default();
    opts.set_compression_type(DBCompressionType::None);
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    match cf {
        // Read by bounded range scans from an in-memory cursor (refill, page, recovery): no
        // point lookups, so no filter. Every message is deleted once sent: tombstones are
        // reclaimed by deletion-triggered compaction plus manual compactions of consumed spans.
        Cf::Queue => deletion_compaction(&mut opts),
        // Point lookups by zaapId (`DELETE queue/{zaapId}`, most of them for ids that are not
        // queued any more): a filter answers misses. Entries die with their messages.
        Cf::QueueIndex => {
            table.set_bloom_filter(BLOOM_BITS_PER_KEY, false);
            deletion_compaction(&mut opts);
        }
        // The dispatcher reads each queue's head in order and deletes it once delivered:
        // deletion-triggered compaction for the tombstones of delivered events.
        Cf::Outbox => {
            table.set_bloom_filter(BLOOM_BITS_PER_KEY, false);
            deletion_compaction(&mut opts);
        }
        // Written once, never read on a hot path, pruned by retention with one range delete:
        // nothing to filter, and range tombstones are dropped by the manual compaction that
        // follows each prune.
        Cf::DeadLetter => {}
        // Written once per delivered event, read only by range scans (replay) and pruned by
        // retention with per-instance range deletes: like the dead letters, nothing to filter.
        Cf::WebhookHistory => {}
        // Point reads by instance id (status, pairing, config apply) on small families that
        // fit in the cache: a filter keeps misses (unknown instances) off the data blocks.
        Cf::Sessions | Cf::Config => table.set_bloom_filter(BLOOM_BITS_PER_KEY, false),
        // A handful of node-level keys read once at start-up.
        Cf::Meta => {}
        // Scanned whole by the media sweep, never read by key; each key dies with its message
        // (or when its hold expires).
        Cf::MediaRef | Cf::MediaHold => deletion_compaction(&mut opts),
        // Read by prefix scan once per instance (the sim loads an instance's account state
        // on first use), written by single rows; small and cold.
        Cf::SimWorld => {}
        // One small row per failing or disabled endpoint of an instance, read whole at start.
        Cf::WebhookEndpoints => {}
        // Point reads by (instance, id) when a send or a status needs the other id: a filter
        // keeps lookups of ids never recorded (first sends) off the data blocks.
        Cf::CloudMessages => table.set_bloom_filter(BLOOM_BITS_PER_KEY, false),
        // Point reads by (instance, key) for sends that carry an Idempotency-Key, almost all
        // of them new keys: a filter answers those. Records expire after a day: a compaction
        // filter drops them on RocksDB's threads, and periodic compaction makes sure files
        // that see no more writes are compacted (and so filtered) too.
        Cf::Idempotency => {
            table.set_bloom_filter(BLOOM_BITS_PER_KEY, false);
            opts.set_compaction_filter("idempotency_ttl", |_level, _key, value| {
                match crate::idempotency::droppable(value, chatedge_config::time::unix_ms()) {
                    true => rocksdb::compaction_filter::Decision::Remove,
                    false => rocksdb::compaction_filter::Decision::Keep,
                }
            });
            opts.set_periodic_compaction_seconds(crate::idempotency::TTL.as_secs() / 4);
        }
        // One point read per instance and day, one row per instance and day: a filter, and a
        // compaction filter that drops the days before yesterday.
        Cf::DailySends => {
            table.set_bloom_filter(BLOOM_BITS_PER_KEY, false);
            opts.set_compaction_filter("daily_sends_old_days", |_level, key, _value| {
                match crate::shard::daily_quota::droppable(key, chatedge_config::time::unix_ms()) {
                    true => rocksdb::compaction_filter::Decision::Remove,
                    false => rocksdb::compaction_filter::Decision::Keep,
                }
            });
            opts.set_periodic_compaction_seconds(86_400 / 4);
        }
        // Point reads on every send outcome, status and incoming message of an instance (the
        // message-id index, the suppression list, variable values), most of them misses for
        // messages no campaign sent: a filter answers those. Range reads for members and rows.
        Cf::Campaigns => table.set_bloom_filter(BLOOM_BITS_PER_KEY, false),
        // The WhatsApp Web engine's Signal state: point reads by (instance, table, row) on
        // every message sent or received, misses included (a first contact has no session).
        Cf::WhatsappWeb => table.set_bloom_filter(BLOOM_BITS_PER_KEY, false),
        // Point reads by media id on each send by id and download, some of them for ids that
        // do not exist: a filter. Records expire: a compaction filter drops them, and periodic
        // compaction reaches files that see no more writes.
        Cf::Uploads => {
            table.set_bloom_filter(BLOOM_BITS_PER_KEY, false);
            opts.set_compaction_filter(
                "uploads_expired",
                |_level, _key, value| match crate::media::uploads::droppable(value, chatedge_config::time::unix_ms()) {
                    true => rocksdb::compaction_filter::Decision::Remove,
                    false => rocksdb::compaction_filter::Decision::Keep,
                },
            );
            opts.set_periodic_compaction_seconds(86_400);
        }
        // One row per message sent or received, read by id only when a route names a message
        // by id: a prefix-capable filter would not pay; rows expire like uploads.
        Cf::MessageIndex => {
            opts.set_compaction_filter("message_index_expired", |_level, _key, value| {
                match crate::message_index::droppable(value, chatedge_config::time::unix_ms()) {
                    true => rocksdb::compaction_filter::Decision::Remove,
                    false => rocksdb::compaction_filter::Decision::Keep,
                }
            });
            opts.set_periodic_compaction_seconds(86_400);
        }
    }
    opts.set_block_based_table_factory(&table);
    opts
}

fn deletion_compaction(opts: &mut Options) {
    opts.add_compact_on_deletion_collector_factory(DELETION_WINDOW, DELETION_TRIGGER, DELETION_RATIO);
}
