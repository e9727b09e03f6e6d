//! Media by id (seed 002): `POST /media/upload` (multipart/form-data: `file`, `type`?) keeps
//! a file in the media store's `uploads` under a new id for `[media] upload_retention` (the
//! seed's 7 days), its type sniffed from the bytes and checked against `type` and the kind's
//! size limit; `GET /media/{id}` describes it, `DELETE /media/{id}` forgets it; `POST
//! /messages/send-media` sends by `media_id` (or by `media_url`, as `/send-media`). Ids
//! belong to the credential's account: another account's id, an expired and an unknown one
//! answer alike. The file's name is kept with the id (cut to 255 bytes).

use bytes::{Bytes, BytesMut};
use chatedge_config::MediaId;
use chatedge_serve::{Body, Resp};
use http_body_util::BodyExt;
use hyper::http::request::Parts;
use hyper::StatusCode;
use serde_json::{json, Value};

use super::{fields, render, App, Call, Credential, ZapiniError};
use crate::media::uploads::{self, Upload};
use crate::media::{sniff, MediaKind};
use crate::queue::content::{Media, MediaSource};
use crate::queue::{Content, OutboundMessage};
use crate::store::{Batch, StoreError};

/// Longest text field of the form.
const MAX_TEXT_BYTES: usize = 1024;

fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "image",
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
        _ => "document",
    }
}

fn kind_of(mime: &str) -> MediaKind {
    match mime.split('/').next() {
        Some("image") => MediaKind::Image,
        Some("audio") => MediaKind::Audio,
        Some("video") => MediaKind::Video,
        _ => MediaKind::Document,
    }
}

fn store_error(e: StoreError) -> ZapiniError {
    ZapiniError::Core(e.into())
}

fn unknown_media() -> ZapiniError {
    ZapiniError::Account(crate::network::account::AccountError::NotFound("media".into()))
}

/// `POST /media/upload`: 201 `{success, data: {id, url, type, mime_type, size, filename,
/// expires_at}}`.
pub async fn upload(app: &App, credential: &Credential, parts: Parts, body: Body) -> Result<Resp, ZapiniError> {
    let largest = MediaKind::ALL.iter().map(|k| app.media.limit(*k)).max().unwrap_or(0) as usize;
    let _room = app
        .media
        .body_room(&parts.headers, largest, 1)
        .ok_or_else(|| ZapiniError::Unavailable("too many uploads are being stored right now; retry shortly".into()))?;
    let content_type = parts.headers.get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| ZapiniError::invalid("file", "send the file as multipart/form-data (curl -F file=@…)"))?;
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(largest as u64 + 64 * 1024));
    let mut form = multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let (mut file, mut file_name, mut declared) = (None::<Bytes>, None::<String>, None::<String>);
    let broken =
        |e: multer::Error| ZapiniError::invalid("file", format!("not a readable multipart/form-data body: {e}"));
    while let Some(mut field) = form.next_field().await.map_err(broken)? {
        match field.name().unwrap_or_default() {
            "file" => {
                file_name = field.file_name().map(str::to_owned);
                let mut bytes = BytesMut::new();
                while let Some(chunk) = field.chunk().await.map_err(broken)? {
                    bytes.extend_from_slice(&chunk);
                }
                file = Some(bytes.freeze());
            }
            "type" => {
                let text = field.text().await.map_err(broken)?;
                if text.len() > MAX_TEXT_BYTES {
                    return Err(ZapiniError::invalid("type", "the type field must be image, video, audio or document"));
                }
                declared = Some(text.trim().to_ascii_lowercase());
            }
            // Other form fields are not the seed's; they are read past.
            _ => while field.chunk().await.map_err(broken)?.is_some() {},
        }
    }
    let file = file.filter(|f| !f.is_empty()).ok_or_else(|| fields::required("file"))?;
    let mime = sniff::sniff(&file).map(str::to_owned).unwrap_or_else(|| "application/octet-stream".into());
    let kind = kind_of(&mime);
    if let Some(d) = declared.filter(|d| !d.is_empty()) {
        if !["image", "video", "audio", "document"].contains(&d.as_str()) {
            return Err(ZapiniError::invalid("type", "the type field must be image, video, audio or document"));
        }
        if d != kind_name(kind) {
            return Err(ZapiniError::invalid(
                "type",
                format!("the file is {mime}, which is sent as {}, not {d}", kind_name(kind)),
            ));
        }
    }
    let limit = app.media.limit(kind);
    if file.len() as u64 > limit {
        return Err(ZapiniError::invalid("file", format!("a {} may be at most {limit} bytes", kind_name(kind))));
    }
    let stored = app
        .media
        .put_bytes(kind, file)
        .await
        .map_err(|e| ZapiniError::Unavailable(format!("cannot store the file: {e}")))?;
    let expires_ms =
        chatedge_config::time::unix_ms().saturating_add(app.media.config.upload_retention.as_millis() as u64);
    let instance = match credential {
        Credential::Instance(i) => Some(i.id),
        Credential::Account(_) => None,
    };
    let id = MediaId::random();
    let file_name = file_name.map(|n| uploads::kept_name(&n).to_owned());
    let upload = Upload { owner: credential.tenant(), instance, file: stored, expires_ms, file_name };
    let mut batch = Batch::new();
    uploads::keep(&mut batch, &id, &upload);
    app.store.commit(batch).await.map_err(store_error)?;
    Ok(render::data(StatusCode::CREATED, Some("Media uploaded"), described(app, &id, &upload)))
}

/// An upload as the seed describes it; `url` is a signed link valid until the id expires.
fn described(app: &App, id: &MediaId, u: &Upload) -> Value {
    let now_s = chatedge_config::time::unix_ms() / 1000;
    let ext = crate::media::extension(&u.file.mime);
    let url = app.media.links.link(&u.file.digest, ext, (u.expires_ms / 1000).saturating_sub(now_s).max(1));
    json!({
        "id": id.to_string(),
        "url": url,
        "type": kind_name(kind_of(&u.file.mime)),
        "mime_type": u.file.mime,
        "size": u.file.size,
        "filename": u.file_name,
        "expires_at": render::time(u.expires_ms),
    })
}

/// The upload `id` of the credential's account, if it has not expired.
pub(super) async fn owned(app: &App, credential: &Credential, id: &str) -> Result<(MediaId, Upload), ZapiniError> {
    let id = MediaId::parse(id).map_err(|_| unknown_media())?;
    let store = app.store.clone();
    let now = chatedge_config::time::unix_ms();
    let found = tokio::task::spawn_blocking(move || uploads::find(&store, &id, now))
        .await
        .map_err(|e| store_error(StoreError::Rocks(format!("read task: {e}"))))?
        .map_err(store_error)?;
    let upload = found.filter(|u| u.owner == credential.tenant()).ok_or_else(unknown_media)?;
    Ok((id, upload))
}

/// `GET /media/{id}`.
pub async fn get(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let (id, upload) = owned(call.app, &call.credential, call.id.as_deref().unwrap_or("")).await?;
    Ok(render::data(StatusCode::OK, None, described(call.app, &id, &upload)))
}

/// `DELETE /media/{id}`: the id is forgotten (the file goes once nothing else holds it).
pub async fn delete(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let (id, upload) = owned(call.app, &call.credential, call.id.as_deref().unwrap_or("")).await?;
    let mut batch = Batch::new();
    uploads::forget(&mut batch, &id, &upload);
    call.app.store.commit(batch).await.map_err(store_error)?;
    Ok(render::data(StatusCode::OK, Some("Media deleted"), json!({"id": id.to_string()})))
}

/// `POST /messages/send-media {instance_id, recipient, media_id | media_url, media_type,
/// caption?, filename?}`.
pub async fn send(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let o = fields::object(&call.body)?;
    let Some(media_id) = fields::string(&o, "media_id", 64)? else {
        // By URL: the same as `/send-media`.
        return super::messages::send_media(call).await;
    };
    let send = fields::send_stored(&call.body)?;
    let instance = call.sender(send.instance_id.as_deref())?;
    let (_, upload) = owned(call.app, &call.credential, &media_id).await.map_err(|_| {
        ZapiniError::invalid("media_id", "the media_id field names no media of this account (unknown or expired)")
    })?;
    let kind = kind_of(&upload.file.mime);
    if let Some(declared) = send.kind.filter(|k| *k != kind) {
        return Err(ZapiniError::invalid(
            "media_type",
            format!(
                "the media is {}, which is sent as {}, not {}",
                upload.file.mime,
                kind_name(kind),
                kind_name(declared)
            ),
        ));
    }
    // Its hold may expire before the message commits: renewing the file's time lets the
    // sweep's grace cover the gap (the message's own reference keeps it after that).
    let renewed = {
        let (media, digest) = (call.app.media.clone(), upload.file.digest);
        tokio::task::spawn_blocking(move || media.store.renew(&digest)).await.unwrap_or(false)
    };
    if !renewed {
        return Err(ZapiniError::invalid("media_id", "the media_id field names media that is gone"));
    }
    let extension = match kind {
        MediaKind::Document => Some(crate::media::extension(&upload.file.mime).to_owned()),
        _ => None,
    };
    let media = Media {
        kind,
        source: MediaSource::Stored(upload.file),
        caption: send.caption,
        file_name: send.file_name,
        extension,
        view_once: false,
        sticker_author: None,
    };
    let mut message = OutboundMessage::new(instance.id, send.recipient, Content::Media(Box::new(media)));
    message.reply_to = send.reply_to;
    super::messages::accept(call, &instance, message, "zapini.messages-send-media", "Media queued for sending").await
}
