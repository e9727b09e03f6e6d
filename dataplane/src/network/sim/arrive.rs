//! A message reaching the sim's recipient: its media — the file of a media message, the images
//! and videos of buttons, lists and carousels, a link preview's picture — is read back from the
//! media store (or fetched from its URL) and hashed — the witness's SHA-256 is of the bytes the
//! network got; a sticker sent by URL is made one WhatsApp takes first, as on every network,
//! and its author is read from its file; an SVG picture by URL arrives drawn as PNG — and the
//! result is recorded on the recipient's phone.
//! A file that is part of the message and cannot be read or fetched refuses the message with
//! the reason, which becomes its DeliveryCallback error; a link preview's picture that cannot
//! be fetched is left out, as WhatsApp sends the link without a thumbnail.

use std::io::Read;

use sha2::Digest as _;

use super::witness::{self, ArrivedMedia};
use super::SimNetwork;
use crate::media::MediaKind;
use crate::queue::content::{Card, MediaSource};
use crate::queue::{Content, OutboundMessage};

/// Delivers `message` to its recipients' phones (the number, or a group's members), or says
/// why it cannot.
pub async fn arrive(
    net: &SimNetwork,
    message: &OutboundMessage,
    recipients: Vec<chatedge_config::Phone>,
) -> Result<(), String> {
    let mut media = Vec::new();
    match &message.content {
        Content::Media(m) => {
            let made = match m.sticker_to_fetch() {
                Some((url, author)) => Some(MediaSource::Stored(net.media.fetch_sticker(url, author).await?)),
                None => None,
            };
            media.push(read_media(net, m.kind, made.as_ref().unwrap_or(&m.source)).await?);
        }
        Content::Interactive(i) => {
            for (kind, source) in i.media() {
                media.push(read_media(net, kind, source).await?);
            }
        }
        Content::Card(card) => {
            if let Card::Link { preview, .. } = card.as_ref() {
                if let Some(url) = &preview.image {
                    let source = MediaSource::Url { url: url.clone() };
                    media.extend(read_media(net, MediaKind::Image, &source).await.ok());
                }
            }
        }
        Content::Text { .. } | Content::Action(_) | Content::Template(_) => {}
    }
    let shard = message.instance.shard(net.witnesses.len());
    witness::lock(&net.witnesses[shard]).record(message, media, recipients, chatedge_config::time::unix_ms());
    Ok(())
}

async fn read_media(net: &SimNetwork, kind: MediaKind, source: &MediaSource) -> Result<ArrivedMedia, String> {
    match source {
        // Every sticker is stored by then (sent as base64, or fetched and made one above).
        MediaSource::Stored(stored) if kind == MediaKind::Sticker => read_sticker(net, stored).await,
        MediaSource::Stored(stored) => {
            let (digest, mime) = (stored.digest, stored.mime.clone());
            let store = net.media.clone();
            let hashed = tokio::task::spawn_blocking(move || -> std::io::Result<(u64, String)> {
                let mut file = store.store.open_file(&digest)?;
                let mut hasher = sha2::Sha256::new();
                let mut buf = vec![0u8; 256 * 1024];
                let mut size = 0u64;
                loop {
                    let n = file.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    size += n as u64;
                    hasher.update(&buf[..n]);
                }
                Ok((size, crate::media::Digest(hasher.finalize().into()).hex()))
            })
            .await
            .map_err(|e| format!("media read failed: {e}"))?
            .map_err(|e| format!("the stored media file cannot be read: {e}"))?;
            Ok(ArrivedMedia { mime, size: hashed.0, sha256: hashed.1, sticker_author: None })
        }
        // A picture is fetched whole (at most `[media] max_image_bytes`): it may be an SVG,
        // which arrives drawn as PNG, as on every network.
        MediaSource::Url { url } if kind == MediaKind::Image => {
            let (file, mime) = net.media.fetch_to_send(url, kind).await?;
            let sha256 = crate::media::Digest::of(&file).hex();
            Ok(ArrivedMedia { mime, size: file.len() as u64, sha256, sticker_author: None })
        }
        MediaSource::Url { url } => {
            let fetched = net.media.fetch(url, kind, |_| Ok(())).await.map_err(|e| e.to_string())?;
            let sha256 = crate::media::Digest(fetched.sha256).hex();
            Ok(ArrivedMedia { mime: fetched.mime.to_owned(), size: fetched.size, sha256, sticker_author: None })
        }
    }
}

/// A stored sticker, read whole (it is at most `[media] max_sticker_bytes`) so the phone shows
/// the author its file carries, as WhatsApp reads it.
async fn read_sticker(net: &SimNetwork, stored: &crate::media::StoredMedia) -> Result<ArrivedMedia, String> {
    let file = net.media.read_stored(stored.digest).await;
    let file = file.map_err(|e| format!("the stored media file cannot be read: {e}"))?;
    let mime = stored.mime.clone();
    let read = tokio::task::spawn_blocking(move || {
        let sha256 = crate::media::Digest::of(&file).hex();
        ArrivedMedia { mime, size: file.len() as u64, sha256, sticker_author: crate::media::sticker::author_of(&file) }
    });
    read.await.map_err(|e| format!("media read failed: {e}"))
}
