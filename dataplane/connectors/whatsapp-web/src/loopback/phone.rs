//! phone: the account's phone, which links a device by scanning its QR code. The code carries the
//! pairing ref the server gave the device, the device's identity key and its ADV secret; the phone
//! answers, through the server, with the device's identity signed by the account's key and sealed
//! with that secret, which the device checks before it signs it back.

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use whatsapp_rust::wacore::libsignal::protocol::KeyPair;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::{Jid, Node};
use whatsapp_rust::waproto::buffa::Message as _;
use whatsapp_rust::waproto::whatsapp as wa;

use super::{Device, Outbound, Shared};

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
    let line_id = state
        .lines
        .iter()
        .find(|(_, line)| line.device.is_none() && line.refs.contains(&code.pairing_ref))
        .map(|(id, _)| *id)
        .ok_or(ScanError::NoSuchCode)?;
    let number = state.last_device.entry(phone.to_owned()).or_insert(0);
    *number += 1;
    let device = Device { phone: phone.to_owned(), device: *number };
    let account =
        state.accounts.entry(phone.to_owned()).or_insert_with(|| KeyPair::generate(&mut rand10::rng())).clone();
    let identity = signed_identity(&account, &code, device.device);
    let line = state.lines.get_mut(&line_id).ok_or(ScanError::Gone)?;
    line.pairing = Some(device.clone());
    line.out.send(Outbound::Node(pair_success(&device, identity))).map_err(|_| ScanError::Gone)?;
    Ok(device)
}

/// The device's identity as the phone vouches for it: signed by the account's key over the
/// device's identity key, sealed with the QR code's secret.
fn signed_identity(account: &KeyPair, code: &QrCode, key_index: u32) -> Vec<u8> {
    let details = wa::ADVDeviceIdentity {
        raw_id: Some(key_index),
        timestamp: Some(std::time::SystemTime::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_secs())),
        key_index: Some(key_index),
        account_type: Some(wa::ADVEncryptionType::E2EE),
        device_type: Some(wa::ADVEncryptionType::E2EE),
    }
    .encode_to_vec();
    let signed_over = [&ACCOUNT_SIGNATURE_PREFIX[..], &details, &code.identity_key].concat();
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
    let hmac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&code.adv_secret)
        .map(|mac| mac.chain_update(&signed).finalize().into_bytes().to_vec())
        .unwrap_or_default();
    wa::ADVSignedDeviceIdentityHMAC {
        details: Some(signed),
        hmac: Some(hmac),
        account_type: Some(wa::ADVEncryptionType::E2EE),
    }
    .encode_to_vec()
}

fn pair_success(device: &Device, identity: Vec<u8>) -> Node {
    let jid: Option<Jid> = device.jid().parse().ok();
    let lid: Option<Jid> = device.lid().parse().ok();
    let mut about = NodeBuilder::new("device");
    if let (Some(jid), Some(lid)) = (jid, lid) {
        about = about.attr("jid", jid).attr("lid", lid);
    }
    NodeBuilder::new("iq")
        .attr("from", super::line::SERVER)
        .attr("type", "set")
        .attr("id", format!("pair-{}", device.device))
        .attr("xmlns", "md")
        .children([NodeBuilder::new("pair-success")
            .children([
                NodeBuilder::new("device-identity")
                    .attr("key-index", device.device.to_string())
                    .bytes(identity)
                    .build(),
                about.build(),
                NodeBuilder::new("platform").attr("name", "android").build(),
            ])
            .build()])
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
