//! webhook: the CPU cost of one webhook event — building and serializing each Z-API body kind
//! (DeliveryCallback, MessageStatusCallback, ReceivedCallback), encoding and decoding the
//! `StoredEvent` kept in the outbox, and the Standard Webhooks HMAC-SHA256 signature computed
//! on every delivery attempt.
//!
//! What it protects: webhooks fan out from every sent and received message, so their per-event
//! CPU must stay far below the storage and network costs around them. Reference ceilings on
//! this machine (project notes): HMAC-SHA256 of 1 KiB ≈ 1.3M/s per core and serde_json
//! serialization of a ~700-byte webhook ≈ 1.26M/s per core; measured here in November 2026
//! (docs/BENCHMARKS.md): signing ~700 bytes ≈ 650–770k/s (openssl's bare HMAC of 1 KiB: 817k/s),
//! delivery ≈ 460–610k/s, status ≈ 290–340k/s, received ≈ 100–130k/s (build + serialize). A
//! regression is any of these falling well below its range (say by a third) — e.g. a body
//! built through an intermediate String, re-parsed before sending, or signed more than once.
//! `received_*_serialize_only` vs `received_*_serialize_to_vec` shows what the outbox's
//! `Value::to_string` (the Display path) costs against `serde_json::to_vec`.

use std::hint::black_box;

use chatedge_benches::{sample_phone, SAMPLE_TEXT};
use chatedge_config::snapshot::WebhookKind;
use chatedge_config::{EventId, InstanceId, MessageId, Phone, WebhookSecret, ZaapId};
use chatedge_dataplane::network::MessageStatus;
use chatedge_dataplane::outbox::payload::{self, Received};
use chatedge_dataplane::outbox::{sign, StoredEvent};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Size the "typical" webhook body is padded to.
const TARGET_BODY: usize = 700;

struct Facts {
    instance: InstanceId,
    phone: Phone,
    connected: Phone,
    zaap: ZaapId,
    message_id: MessageId,
    network_id: String,
    text: String,
}

impl Facts {
    fn new() -> Facts {
        let mut f = Facts {
            instance: InstanceId::generate(),
            phone: sample_phone(),
            connected: Phone::parse("5521988887777").unwrap_or_else(|e| panic!("{e}")),
            zaap: ZaapId::generate(),
            message_id: MessageId::random(),
            network_id: "3EB0C767D71D2B1C4B7A".into(),
            text: SAMPLE_TEXT.into(),
        };
        // Lengthen (or cut) the text until the ReceivedCallback body is ~TARGET_BODY bytes.
        let mut pad = SAMPLE_TEXT.chars().cycle();
        while f.received().to_string().len() < TARGET_BODY {
            f.text.extend(pad.by_ref().take(1));
        }
        f
    }

    fn received(&self) -> serde_json::Value {
        payload::received_text(&Received {
            instance: &self.instance,
            connected_phone: Some(&self.connected),
            chat: &self.phone,
            message_id: &self.network_id,
            text: &self.text,
            sender_name: Some("Maria Souza"),
            from_me: false,
            at_ms: 1_700_000_000_123,
        })
    }
}

fn sign(c: &mut Criterion) {
    let f = Facts::new();
    let secret = WebhookSecret::generate();
    let body = f.received().to_string();
    let kib = vec![b'x'; 1024];
    let webhook_id = format!("evt_{}", EventId::generate());
    let mut g = c.benchmark_group("webhook/sign");
    g.throughput(Throughput::Elements(1));
    g.bench_function(format!("received_{}B", body.len()), |b| {
        b.iter(|| {
            sign::signature(
                black_box(&secret),
                black_box(&webhook_id),
                black_box(1_700_000_000),
                black_box(body.as_bytes()),
            )
        })
    });
    g.bench_function("1KiB", |b| {
        b.iter(|| {
            sign::signature(black_box(&secret), black_box(&webhook_id), black_box(1_700_000_000), black_box(&kib))
        })
    });
    g.finish();
}

fn payloads(c: &mut Criterion) {
    let f = Facts::new();
    let mut g = c.benchmark_group("webhook/payload");
    g.throughput(Throughput::Elements(1));
    // Build the Value and serialize it, as `outbox::Events::add` does for each event.
    g.bench_function("delivery", |b| {
        b.iter(|| payload::delivery(black_box(&f.instance), &f.phone, &f.zaap, &f.message_id, None).to_string())
    });
    g.bench_function("message_status", |b| {
        b.iter(|| {
            payload::message_status(
                black_box(&f.instance),
                &f.phone,
                &f.message_id,
                MessageStatus::Received,
                1_700_000_000_456,
            )
            .to_string()
        })
    });
    let received = f.received();
    let len = received.to_string().len();
    g.bench_function(format!("received_{len}B"), |b| b.iter(|| black_box(&f).received().to_string()));
    // Serialization alone, for comparison with the serde_json ceiling: `Value::to_string`
    // (the Display path, which `outbox::Events::add` uses) …
    g.bench_function(format!("received_{len}B_serialize_only"), |b| b.iter(|| black_box(&received).to_string()));
    // The same bytes through serde_json::to_vec (io::Write) rather than Display.
    g.bench_function(format!("received_{len}B_serialize_to_vec"), |b| {
        b.iter(|| serde_json::to_vec(black_box(&received)).unwrap_or_default())
    });
    g.finish();
}

fn stored_event(c: &mut Criterion) {
    let f = Facts::new();
    // Binary since issue 9: a small header and the body bytes, no URL (looked up at delivery).
    let mut event = StoredEvent::new(
        EventId::generate(),
        f.instance,
        WebhookKind::Received,
        "ReceivedCallback".into(),
        f.received().to_string().into(),
    );
    event.created_ms = 1_700_000_000_789;
    let bytes = event.encode();
    let mut g = c.benchmark_group("webhook/stored_event");
    g.throughput(Throughput::Elements(1));
    g.bench_function(format!("encode_{}B", bytes.len()), |b| b.iter(|| black_box(&event).encode()));
    g.bench_function(format!("decode_{}B", bytes.len()), |b| {
        b.iter(|| StoredEvent::decode(black_box(&bytes)).unwrap_or_else(|e| panic!("{e}")))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = chatedge_benches::quick_criterion();
    targets = sign, payloads, stored_event
}
criterion_main!(benches);
