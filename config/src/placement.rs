//! placement: what every data plane must know about the others so that any node can serve any
//! instance (issue 10 §5) — which node owns each instance it does not hold ([`Placement`]),
//! where each node can be reached and how it proves it is one ([`Peer`], [`PeerKey`]), and
//! which instances a node refused to take ([`Quarantined`]). Pushed by the control plane,
//! reported back in acknowledgements; no instance secret is ever part of it. Pure data: no I/O.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::{InstanceId, NodeId};
use crate::token::{Secret, TokenHash};

/// An instance owned by another node: its id and owner only, never its token or secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    pub instance: InstanceId,
    pub node: NodeId,
}

/// A data plane as the others see it: the base URL they forward requests to, and the hash of
/// the key it presents when it forwards one (so the owner can tell a node from a client).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Peer {
    pub node: NodeId,
    /// `http(s)://host:port`, no path (see [`crate::link::check_advertise_url`]).
    pub url: String,
    pub key_hash: TokenHash,
}

/// An instance a data plane refused to take (its configuration failed this node's
/// validation): held out of service, reported to the control plane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quarantined {
    pub instance: InstanceId,
    /// Every problem found, each naming its field.
    pub reason: String,
}

/// Headers of the stream request by which a data plane advertises itself.
pub const ADVERTISE_URL_HEADER: &str = "x-chatedge-advertise-url";
pub const ADVERTISE_KEY_HASH_HEADER: &str = "x-chatedge-peer-key-hash";

/// The key a node presents to other nodes when it forwards a request to them. Derived from the
/// node token (SHA-256 of a fixed label and the token), so it is stable across restarts and
/// needs no storage, yet reveals nothing of the token: a node that receives it cannot present
/// it to the control plane.
#[derive(Clone)]
pub struct PeerKey(String);

impl PeerKey {
    pub fn derive(node_token: &Secret) -> PeerKey {
        let digest = Sha256::digest(format!("chatedge peer key v1:{}", node_token.expose()).as_bytes());
        // 64 hex digits: printable, so it travels in a header.
        PeerKey(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the control plane stores and pushes.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.0.as_bytes())
    }
}

impl std::fmt::Debug for PeerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PeerKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_key_is_stable_per_token_and_reveals_neither_token_nor_another_nodes_key() {
        let (a, b) = (Secret::generate(24), Secret::generate(24));
        assert_eq!(PeerKey::derive(&a).expose(), PeerKey::derive(&a).expose(), "same token, same key");
        assert_ne!(PeerKey::derive(&a).expose(), PeerKey::derive(&b).expose());
        assert!(!PeerKey::derive(&a).expose().contains(a.expose()));
        assert!(PeerKey::derive(&a).hash().matches(PeerKey::derive(&a).expose().as_bytes()));
        assert!(!PeerKey::derive(&a).hash().matches(a.expose().as_bytes()), "the key is not the node token");
    }
}
