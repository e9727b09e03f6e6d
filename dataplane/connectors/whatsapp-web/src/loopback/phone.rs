//! phone: the account's phone, which links a device by scanning its QR code or by the code its
//! owner types. A QR code carries the pairing ref the server gave the device, the device's
//! identity key and its ADV secret; a typed code instead unwraps the device's ephemeral key, and
//! both sides derive the secret from two Diffie-Hellman results and the device's key bundle.
//! Either way the phone answers, through the server, with the device's identity signed by the
//! account's key and sealed with that secret, which the device checks before it signs it back.

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use whatsapp_rust::wacore::crypto::hkdf_sha256_into;
use whatsapp_rust::wacore::libsignal::crypto::aes_256_gcm_decrypt;
use whatsapp_rust::wacore::libsignal::protocol::{KeyPair, PublicKey};
use whatsapp_rust::wacore::pair_code::PairCodeUtils;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::{Jid, Node};
use whatsapp_rust::waproto::buffa::Message as _;
use whatsapp_rust::waproto::whatsapp as wa;

use super::{Device, Outbound, Shared, State};

/// WhatsApp's prefix of what an account signs about a device (ADV).
const ACCOUNT_SIGNATURE_PREFIX: [u8; 2] = [6, 0];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("not a WhatsApp Web QR code: {0}")]
    Malformed(&'static str),
    #[error("no connected device shows this code")]
    NoSuchCode,
    #[error("the device that showed this code is gone")]
    Gone,
}

/// What a device's QR code says.
struct QrCode {
    pairing_ref: String,
    identity_key: [u8; 32],
    adv_secret: Vec<u8>,
}

impl QrCode {
    /// `ref,noise key,identity key,ADV secret[,client type]`, keys and secret in base64.
    fn parse(text: &str) -> Result<QrCode, ScanError> {
        let fields: Vec<&str> = text.split(',').collect();
        let [pairing_ref, _noise, identity, secret, ..] = fields[..] else {
            return Err(ScanError::Malformed("fewer than four fields"));
        };
        let decode = |field: &str| base64::engine::general_purpose::STANDARD.decode(field);
        let identity_key = decode(identity)
            .ok()
            .and_then(|key| <[u8; 32]>::try_from(key).ok())
            .ok_or(ScanError::Malformed("the identity key is not 32 bytes of base64"))?;
        let adv_secret = decode(secret).map_err(|_| ScanError::Malformed("the ADV secret is not base64"))?;
        Ok(QrCode { pairing_ref: pairing_ref.to_owned(), identity_key, adv_secret })
    }
}

pub(super) fn scan(shared: &Shared, qr: &str, phone: &str) -> Result<Device, ScanError> {
    let code = QrCode::parse(qr)?;
    let mut state = shared.lock();
    let line = state
        .lines
        .iter()
        .find(|(_, line)| line.device.is_none() && line.refs.contains(&code.pairing_ref))
        .map(|(id, _)| *id)
        .ok_or(ScanError::NoSuchCode)?;
    link(&mut state, line, phone, &code.identity_key, &code.adv_secret)
}

/// The phone links the device on `line` as a new device of `phone`: the server sends it
/// `pair-success` with its identity as the account vouches for it, sealed with `adv_secret`.
fn link(
    state: &mut State,
    line: u64,
    phone: &str,
    identity_key: &[u8; 32],
    adv_secret: &[u8],
) -> Result<Device, ScanError> {
    let number = state.last_device.entry(phone.to_owned()).or_insert(0);
    *number += 1;
    let device = Device { phone: phone.to_owned(), device: *number };
    let account = account(state, phone);
    let identity = signed_identity(&account, identity_key, adv_secret, device.device);
    let success = pair_success(&device, identity, state.business_names.get(phone).map(String::as_str));
    let line = state.lines.get_mut(&line).ok_or(ScanError::Gone)?;
    line.pairing = Some(device.clone());
    line.out.send(Outbound::Node(success)).map_err(|_| ScanError::Gone)?;
    Ok(device)
}

/// The account's identity key, made with the account.
fn account(state: &mut State, phone: &str) -> KeyPair {
    state.accounts.entry(phone.to_owned()).or_insert_with(|| KeyPair::generate(&mut rand10::rng())).clone()
}

/// A link by code in progress on a line: what the device sent in its `companion_hello`, then
/// what the phone chose when its owner typed the code.
pub(super) struct CodeLink {
    phone: String,
    wrapped_companion_ephemeral: Vec<u8>,
    pairing_ref: Vec<u8>,
    /// The phone's ephemeral key and the device's, once the code was typed.
    hello: Option<(KeyPair, [u8; 32])>,
}

/// A device's step in linking by code (`<link_code_companion_reg stage=…>`); answers the IQ
/// result's children.
pub(super) fn code_stage(shared: &Shared, line: u64, reg: &Node) -> Result<Vec<Node>, ScanError> {
    let mut attrs = reg.attrs();
    let stage = attrs.optional_string("stage").map(|s| s.into_owned()).unwrap_or_default();
    let phone = attrs.optional_jid("jid").map(|jid| jid.user.to_string()).unwrap_or_default();
    let bytes = |tag: &str| super::line::bytes_of(reg.get_optional_child(tag));
    let mut state = shared.lock();
    match stage.as_str() {
        "companion_hello" => {
            let wrapped = bytes("link_code_pairing_wrapped_companion_ephemeral_pub")
                .ok_or(ScanError::Malformed("no wrapped key"))?;
            let pairing_ref = super::line::pairing_ref().into_bytes();
            let link =
                CodeLink { phone, wrapped_companion_ephemeral: wrapped, pairing_ref: pairing_ref.clone(), hello: None };
            state.lines.get_mut(&line).ok_or(ScanError::Gone)?.code = Some(link);
            let answer = NodeBuilder::new("link_code_pairing_ref").bytes(pairing_ref).build();
            Ok(vec![NodeBuilder::new("link_code_companion_reg").children([answer]).build()])
        }
        "companion_finish" => {
            let pending = state.lines.get_mut(&line).and_then(|l| l.code.take()).ok_or(ScanError::NoSuchCode)?;
            let (primary_ephemeral, companion_ephemeral) = pending.hello.ok_or(ScanError::NoSuchCode)?;
            let bundle = bytes("link_code_pairing_wrapped_key_bundle").ok_or(ScanError::Malformed("no key bundle"))?;
            let companion_identity = bytes("companion_identity_public")
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or(ScanError::Malformed("no companion identity"))?;
            let account = account(&mut state, &pending.phone);
            let adv_secret =
                code_adv_secret(&primary_ephemeral, &companion_ephemeral, &account, &companion_identity, &bundle)
                    .ok_or(ScanError::Malformed("the key bundle does not open"))?;
            // Its pair-success follows the answer to this IQ on the line.
            link(&mut state, line, &pending.phone, &companion_identity, &adv_secret)?;
            Ok(Vec::new())
        }
        _ => Ok(Vec::new()),
    }
}

/// The owner of `phone` types `code` into the phone: the phone answers the device waiting for
/// that number (`primary_hello`) with its own ephemeral key, wrapped with the code.
pub(super) fn enter_code(shared: &Shared, phone: &str, code: &str) -> Result<(), ScanError> {
    let mut state = shared.lock();
    let account = account(&mut state, phone);
    let line = state
        .lines
        .values_mut()
        .find(|line| line.code.as_ref().is_some_and(|c| c.phone == phone))
        .ok_or(ScanError::NoSuchCode)?;
    let link = line.code.as_mut().ok_or(ScanError::NoSuchCode)?;
    let companion_ephemeral = PairCodeUtils::decrypt_primary_ephemeral_pub(&link.wrapped_companion_ephemeral, code)
        .map_err(|_| ScanError::Malformed("the device's wrapped key"))?;
    let primary_ephemeral = KeyPair::generate(&mut rand10::rng());
    let ephemeral_public = <[u8; 32]>::try_from(primary_ephemeral.public_key.public_key_bytes())
        .map_err(|_| ScanError::Malformed("key"))?;
    let wrapped = PairCodeUtils::encrypt_ephemeral_pub(&ephemeral_public, code);
    let hello = NodeBuilder::new("link_code_companion_reg")
        .attr("stage", "primary_hello")
        .children([
            NodeBuilder::new("link_code_pairing_wrapped_primary_ephemeral_pub").bytes(wrapped.to_vec()).build(),
            NodeBuilder::new("primary_identity_pub").bytes(account.public_key.public_key_bytes().to_vec()).build(),
            NodeBuilder::new("link_code_pairing_ref").bytes(link.pairing_ref.clone()).build(),
        ])
        .build();
    let notification = NodeBuilder::new("notification")
        .attr("from", super::line::SERVER)
        .attr("type", "link_code_companion_reg")
        .attr("id", "link-code")
        .attr("t", super::line::now().to_string())
        .children([hello])
        .build();
    link.hello = Some((primary_ephemeral, companion_ephemeral));
    line.out.send(Outbound::Node(notification)).map_err(|_| ScanError::Gone)
}

/// The secret a device linked by code seals its identity with: both Diffie-Hellman results and
/// the random bytes of the key bundle it sent, encrypted under the ephemeral one.
fn code_adv_secret(
    primary_ephemeral: &KeyPair,
    companion_ephemeral: &[u8; 32],
    account: &KeyPair,
    companion_identity: &[u8; 32],
    bundle: &[u8],
) -> Option<[u8; 32]> {
    let agree = |ours: &KeyPair, theirs: &[u8; 32]| {
        PublicKey::from_djb_public_key_bytes(theirs).ok().and_then(|key| ours.calculate_agreement(&key).ok())
    };
    let ephemeral_shared = agree(primary_ephemeral, companion_ephemeral)?;
    let identity_shared = agree(account, companion_identity)?;
    let (salt, rest) = bundle.split_at_checked(32)?;
    let (iv, sealed) = rest.split_at_checked(12)?;
    let mut key = [0u8; 32];
    hkdf_sha256_into(&ephemeral_shared, Some(salt), b"link_code_pairing_key_bundle_encryption_key", &mut key).ok()?;
    let mut opened = Vec::new();
    aes_256_gcm_decrypt(&key, iv.try_into().ok()?, b"", sealed, &mut opened).ok()?;
    let random = opened.get(64..96)?;
    let mut secret = [0u8; 32];
    let material = [&ephemeral_shared[..], &identity_shared[..], random].concat();
    hkdf_sha256_into(&material, None, b"adv_secret", &mut secret).ok()?;
    Some(secret)
}

/// The device's identity as the phone vouches for it: signed by the account's key over the
/// device's identity key, sealed with the QR code's secret.
fn signed_identity(account: &KeyPair, identity_key: &[u8; 32], adv_secret: &[u8], key_index: u32) -> Vec<u8> {
    let details = wa::ADVDeviceIdentity {
        raw_id: Some(key_index),
        timestamp: Some(std::time::SystemTime::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_secs())),
        key_index: Some(key_index),
        account_type: Some(wa::ADVEncryptionType::E2EE),
        device_type: Some(wa::ADVEncryptionType::E2EE),
    }
    .encode_to_vec();
    let signed_over = [&ACCOUNT_SIGNATURE_PREFIX[..], &details, identity_key].concat();
    let signature = account
        .private_key
        .calculate_signature(&signed_over, &mut rand10::rng())
        .map(|s| s.to_vec())
        .unwrap_or_default();
    let signed = wa::ADVSignedDeviceIdentity {
        details: Some(details),
        account_signature_key: Some(account.public_key.public_key_bytes().to_vec()),
        account_signature: Some(signature),
        device_signature: None,
    }
    .encode_to_vec();
    let hmac = hmac::Hmac::<sha2::Sha256>::new_from_slice(adv_secret)
        .map(|mac| mac.chain_update(&signed).finalize().into_bytes().to_vec())
        .unwrap_or_default();
    wa::ADVSignedDeviceIdentityHMAC {
        details: Some(signed),
        hmac: Some(hmac),
        account_type: Some(wa::ADVEncryptionType::E2EE),
    }
    .encode_to_vec()
}

/// `pair-success` for `device`; a business account's name comes with it (`business`).
fn pair_success(device: &Device, identity: Vec<u8>, business: Option<&str>) -> Node {
    let jid: Option<Jid> = device.jid().parse().ok();
    let lid: Option<Jid> = device.lid().parse().ok();
    let mut about = NodeBuilder::new("device");
    if let (Some(jid), Some(lid)) = (jid, lid) {
        about = about.attr("jid", jid).attr("lid", lid);
    }
    let mut children = vec![
        NodeBuilder::new("device-identity").attr("key-index", device.device.to_string()).bytes(identity).build(),
        about.build(),
        NodeBuilder::new("platform").attr("name", if business.is_some() { "smba" } else { "android" }).build(),
    ];
    if let Some(name) = business {
        children.push(NodeBuilder::new("biz").attr("name", name.to_owned()).build());
    }
    NodeBuilder::new("iq")
        .attr("from", super::line::SERVER)
        .attr("type", "set")
        .attr("id", format!("pair-{}", device.device))
        .attr("xmlns", "md")
        .children([NodeBuilder::new("pair-success").children(children).build()])
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_qr_code_is_read_for_its_ref_identity_key_and_secret_and_refused_by_name_when_malformed() {
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let secret = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
        let code = QrCode::parse(&format!("2@abc,{key},{key},{secret},1")).unwrap();
        assert_eq!(
            (code.pairing_ref.as_str(), code.identity_key, code.adv_secret),
            ("2@abc", [7u8; 32], vec![9u8; 32])
        );
        assert_eq!(QrCode::parse("2@abc,x").err(), Some(ScanError::Malformed("fewer than four fields")));
        assert!(QrCode::parse(&format!("2@abc,{key},AAAA,{secret}")).is_err(), "a short identity key");
    }
}
