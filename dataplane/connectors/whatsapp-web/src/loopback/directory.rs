//! directory: what WhatsApp's server tells a device about other people's devices — which
//! devices a number has (usync) and each device's Signal keys (its pre-key bundle) — so the
//! engine can encrypt a message to them. Every number has one device, its phone; its keys are
//! made the first time a device asks and kept for the server's life.

use rand10::RngExt as _;
use whatsapp_rust::wacore::libsignal::protocol::{IdentityKey, IdentityKeyPair, KeyPair};
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::{Jid, Node};

use super::{Shared, State};

/// A device's published keys.
pub(super) struct Bundle {
    registration: u32,
    identity: KeyPair,
    signed: KeyPair,
    signature: Vec<u8>,
    one_time: KeyPair,
}

impl Bundle {
    fn new() -> Bundle {
        let mut rng = rand10::rng();
        let identity = KeyPair::generate(&mut rng);
        let signed = KeyPair::generate(&mut rng);
        // Signal's signed pre-key: the identity key signs the key's type-tagged form.
        let signature = identity
            .private_key
            .calculate_signature(&signed.public_key.serialize(), &mut rng)
            .map(|s| s.to_vec())
            .unwrap_or_default();
        Bundle {
            registration: rng.random_range(1..16_380),
            identity,
            signed,
            signature,
            one_time: KeyPair::generate(&mut rng),
        }
    }
}

/// The users a usync asks about, each with its phone as its only device.
pub(super) fn devices(request: &Node) -> Node {
    let users = users(request.get_optional_child("usync").and_then(|u| u.get_optional_child("list"))).map(|jid| {
        let device = NodeBuilder::new("device").attr("id", "0").build();
        let list = NodeBuilder::new("device-list").children([device]).build();
        NodeBuilder::new("user")
            .attr("jid", jid)
            .children([NodeBuilder::new("devices").children([list]).build()])
            .build()
    });
    NodeBuilder::new("usync").children([NodeBuilder::new("list").children(users).build()]).build()
}

/// The pre-key bundles a device asks for.
pub(super) fn bundles(shared: &Shared, request: &Node) -> Node {
    let mut state = shared.lock();
    let users: Vec<Node> = users(request.get_optional_child("key"))
        .map(|jid| {
            let bundle = state.bundles.entry(jid.to_string()).or_insert_with(Bundle::new);
            let bytes = |tag: &'static str, content: Vec<u8>| NodeBuilder::new(tag).bytes(content).build();
            let key_id = |id: u32| id.to_be_bytes()[1..].to_vec();
            NodeBuilder::new("user")
                .attr("jid", jid)
                .children([
                    bytes("registration", bundle.registration.to_be_bytes().to_vec()),
                    bytes("type", vec![5]),
                    bytes("identity", bundle.identity.public_key.public_key_bytes().to_vec()),
                    NodeBuilder::new("skey")
                        .children([
                            bytes("id", key_id(1)),
                            bytes("value", bundle.signed.public_key.public_key_bytes().to_vec()),
                            bytes("signature", bundle.signature.clone()),
                        ])
                        .build(),
                    NodeBuilder::new("key")
                        .children([
                            bytes("id", key_id(1)),
                            bytes("value", bundle.one_time.public_key.public_key_bytes().to_vec()),
                        ])
                        .build(),
                ])
                .build()
        })
        .collect();
    NodeBuilder::new("list").children(users).build()
}

fn users(list: Option<&Node>) -> impl Iterator<Item = Jid> + '_ {
    list.and_then(Node::children)
        .unwrap_or_default()
        .iter()
        .filter(|user| user.tag == "user")
        .filter_map(|user| user.attrs().optional_jid("jid"))
}

/// A number's phone's identity and registration id, as its bundle publishes them.
pub(super) fn identity_of(state: &mut State, jid: &str) -> (IdentityKeyPair, u32) {
    let bundle = state.bundles.entry(jid.to_owned()).or_insert_with(Bundle::new);
    let identity =
        IdentityKeyPair::new(IdentityKey::new(bundle.identity.public_key), bundle.identity.private_key.clone());
    (identity, bundle.registration)
}
