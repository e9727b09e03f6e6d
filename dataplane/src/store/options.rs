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
//! - **Memtable insert hints** where keys arrive in order under a fixed-length prefix (queue rows
//!   by instance and sequence, each recipient's phone-index rows, outbox rows, a day's send
//!   count written again and again, message-index rows by time-ordered id): the memtable keeps,
//!   per prefix, where the last key went, and the next insert starts its skip-list search there
//!   instead of from the top. The committer's inserts were over half of its CPU without them
//!   (docs/BENCHMARKS.md). RocksDB uses hints only for single-writer inserts, which is what the
//!   one committer thread does. The rocksdb crate has no setter for this option; it is set
//!   through RocksDB's options-string parser.

use rocksdb::{BlockBasedOptions, Cache, DBCompressionType, Options};

use chatedge_config::InstanceId;

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
    let mut opts = with_insert_hint(insert_hint_prefix(cf));
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
        // Message-id index entries expire: a compaction filter drops them, and periodic
        // compaction reaches files that see no more writes.
        Cf::Campaigns => {
            table.set_bloom_filter(BLOOM_BITS_PER_KEY, false);
            opts.set_compaction_filter("campaign_message_index_expired", |_level, key, value| {
                match crate::campaigns::model::droppable(key, value, chatedge_config::time::unix_ms()) {
                    true => rocksdb::compaction_filter::Decision::Remove,
                    false => rocksdb::compaction_filter::Decision::Keep,
                }
            });
            opts.set_periodic_compaction_seconds(86_400);
        }
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

/// The hint prefix of the `queue_index` family: the instance, the tag and 17 bytes more. For a
/// phone-index key of a 13-digit number that is the phone, its end and the seq's top three
/// bytes (which change every 2^40 messages); longer ids share a hint with ids that begin alike
/// (correct, only less of a shortcut); keys shorter than this (9-digit phones or less, and the
/// 33-byte zaapId keys, which ascend anyway) are inserted without one. Each prefix's hint costs
/// a few hundred bytes of the memtable's own arena, so many recipients make it flush sooner
/// rather than grow.
const PHONE_INDEX_HINT: usize = InstanceId::LEN + 1 + 17;
// A zaapId key as long as the hint prefix would get a hint of its own: one per message.
const _: () = assert!(super::keys::ZAAP_INDEX_KEY_LEN < PHONE_INDEX_HINT);

/// The length of the key prefix under which a family's keys arrive in order, if they do.
fn insert_hint_prefix(cf: Cf) -> Option<usize> {
    match cf {
        // `instance ‖ seq`.
        Cf::Queue => Some(InstanceId::LEN),
        // `instance ‖ 'p' ‖ phone ‖ 0 ‖ seq`: each recipient's keys arrive in order, but the
        // recipients of successive messages are anyone, and these random inserts were the
        // committer's dearest (docs/BENCHMARKS.md). See [`PHONE_INDEX_HINT`].
        Cf::QueueIndex => Some(PHONE_INDEX_HINT),
        // `instance ‖ queue ‖ seq`.
        Cf::Outbox => Some(InstanceId::LEN + 1),
        // `instance ‖ day` (‖ 'r'): the same key again and again.
        Cf::DailySends => Some(InstanceId::LEN + 4),
        // `messageId ‖ 0 ‖ instance`: our message ids are time-ordered, so one hint for all.
        Cf::MessageIndex => Some(0),
        _ => None,
    }
}

/// Default options, with memtable insert hints under a fixed prefix of `prefix` bytes.
fn with_insert_hint(prefix: Option<usize>) -> Options {
    let mut opts = Options::default();
    let Some(len) = prefix else { return opts };
    // A fixed string naming a built-in transform: it cannot fail to parse, but if a RocksDB
    // upgrade ever refused it, the store would still be correct without the hint.
    let option = format!("memtable_insert_with_hint_prefix_extractor=rocksdb.FixedPrefix.{len}");
    match opts.get_options_from_string(option) {
        Ok(hinted) => hinted,
        Err(e) => {
            tracing::warn!(error = %e, "RocksDB refused the memtable insert hint; inserting without it");
            opts
        }
    }
}

fn deletion_compaction(opts: &mut Options) {
    opts.add_compact_on_deletion_collector_factory(DELETION_WINDOW, DELETION_TRIGGER, DELETION_RATIO);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::metrics::Metrics;
    use crate::store::Store;

    /// The `[CFOptions "name"]` sections of the newest OPTIONS file RocksDB wrote in `dir`.
    fn written_options(dir: &std::path::Path) -> String {
        let newest = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("OPTIONS-"))
            .max()
            .unwrap();
        std::fs::read_to_string(newest).unwrap()
    }

    fn section(options: &str, cf: Cf) -> &str {
        let head = format!("[CFOptions \"{}\"]", cf.name());
        let from = options.find(&head).unwrap_or_else(|| panic!("no section {head}")) + head.len();
        let rest = &options[from..];
        &rest[..rest.find("\n[").unwrap_or(rest.len())]
    }

    #[test]
    fn every_family_opens_with_the_insert_hint_its_keys_call_for() {
        let dir = tempfile::tempdir().unwrap();
        let _store = Store::open(dir.path(), 64, Arc::new(Metrics::new())).unwrap();
        let options = written_options(dir.path());
        for cf in Cf::ALL.iter() {
            let expected = match insert_hint_prefix(*cf) {
                Some(len) => format!("memtable_insert_with_hint_prefix_extractor=rocksdb.FixedPrefix.{len}"),
                None => "memtable_insert_with_hint_prefix_extractor=nullptr".to_string(),
            };
            assert!(section(&options, *cf).contains(&expected), "{}: expected {expected}", cf.name());
        }
        assert_eq!(insert_hint_prefix(Cf::Queue), Some(InstanceId::LEN));
        assert_eq!(insert_hint_prefix(Cf::QueueIndex), Some(PHONE_INDEX_HINT));
    }

    #[tokio::test]
    async fn a_compaction_drops_expired_campaign_index_entries_and_keeps_the_results() {
        use crate::campaigns::{keys, MessageRef};
        use chatedge_config::MessageId;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 64, Arc::new(Metrics::new())).unwrap();
        let instance = InstanceId::random();
        let now = chatedge_config::time::unix_ms();
        let entry = |expires_ms| {
            let at = MessageRef { campaign: "c_1".into(), run: 1, phone: "5511".into(), expires_ms };
            serde_json::to_vec(&at).unwrap()
        };
        let (old, live, unmarked) = (MessageId::random(), MessageId::random(), MessageId::random());
        let row = keys::recipient(&instance, "c_1", 1, "5511");
        let mut batch = crate::store::Batch::new();
        batch.put(Cf::Campaigns, keys::message(&instance, &old), entry(Some(now - 1)));
        batch.put(Cf::Campaigns, keys::message(&instance, &live), entry(Some(now + 3_600_000)));
        batch.put(Cf::Campaigns, keys::message(&instance, &unmarked), entry(None));
        batch.put(Cf::Campaigns, row.clone(), b"{}".to_vec());
        store.commit(batch).await.unwrap();
        let mut compact = rocksdb::CompactOptions::default();
        compact.set_bottommost_level_compaction(rocksdb::BottommostLevelCompaction::Force);
        store.db().compact_range_cf_opt(store.cf(Cf::Campaigns), None::<&[u8]>, None::<&[u8]>, &compact);
        let get = |k: &[u8]| store.db().get_cf(store.cf(Cf::Campaigns), k).unwrap();
        assert_eq!(get(&keys::message(&instance, &old)), None, "expired: dropped");
        assert!(get(&keys::message(&instance, &live)).is_some());
        assert!(get(&keys::message(&instance, &unmarked)).is_some(), "no expiry: kept");
        assert!(get(&row).is_some(), "a recipient row is results: kept");
        store.close();
    }
}
