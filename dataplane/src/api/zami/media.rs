//! Zami's media by id: `POST /zami/v1/media` stores the raw body (its type sniffed from the
//! bytes and checked against the declared `Content-Type`, which must be one seed 000 allows)
//! and answers its id; `GET /zami/v1/media/{id}` streams the account's uploaded or received
//! media back with its type. Ids live in the media store's `uploads` for `[media]
//! upload_retention`; another account's id, an expired one and an unknown one answer alike.

use chatedge_config::{MediaId, Tenant};
use chatedge_serve::{Body, Resp};
use hyper::header::CONTENT_TYPE;
use hyper::{Request, StatusCode};
use serde_json::json;

use super::{App, ZamiError};
use crate::media::uploads::{self, Upload};
use crate::media::{sniff, MediaError, MediaKind};
use crate::store::{Batch, StoreError};

/// The types seed 000 allows an upload to declare, and the kind each is sent as.
const ALLOWED: &[(&str, MediaKind)] = &[
    ("image/jpeg", MediaKind::Image),
    ("image/png", MediaKind::Image),
    ("audio/ogg", MediaKind::Audio),
    ("video/mp4", MediaKind::Video),
];

/// The kind media of `mime` is sent as (received media may be of any type: what is neither
/// image, audio nor video goes as a document).
pub fn kind_of(mime: &str) -> MediaKind {
    match essence(mime).split('/').next() {
        Some("image") => MediaKind::Image,
        Some("audio") => MediaKind::Audio,
        Some("video") => MediaKind::Video,
        _ => MediaKind::Document,
    }
}

/// A MIME type without its parameters, lower case.
fn essence(mime: &str) -> String {
    mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

pub async fn upload(app: &App, account: &Tenant, req: Request<Body>) -> Result<Resp, ZamiError> {
    let declared = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(essence).unwrap_or_default();
    let Some(&(declared, kind)) = ALLOWED.iter().find(|(m, _)| *m == declared) else {
        let allowed: Vec<&str> = ALLOWED.iter().map(|(m, _)| *m).collect();
        let message = format!("Content-Type must be one of {} (the media's type)", allowed.join(", "));
        return Err(ZamiError::invalid("Content-Type", message));
    };
    let limit = app.media.limit(kind) as usize;
    let _room = app.media.body_room(req.headers(), limit, 1).ok_or(ZamiError::Busy)?;
    let (parts, body) = req.into_parts();
    let bytes = chatedge_serve::read_body(&parts.headers, body, limit).await.map_err(ZamiError::Body)?;
    // Checked before anything is written, so a refused upload leaves nothing behind.
    let found = sniff::sniff(&bytes).map(essence);
    if found.as_deref() != Some(declared) {
        let found = found.unwrap_or_else(|| "of no type this server recognises".into());
        return Err(ZamiError::invalid("Content-Type", format!("the media is {found}, not the declared {declared}")));
    }
    let file = app.media.put_bytes(kind, bytes).await.map_err(ZamiError::Media)?;
    app.metrics.media_uploads.with_label_values(&[kind.as_str(), "stored"]).inc();
    app.metrics.media_upload_bytes.inc_by(file.size);
    let expires_ms =
        chatedge_config::time::unix_ms().saturating_add(app.media.config.upload_retention.as_millis() as u64);
    let id = MediaId::random();
    let upload = Upload { owner: account.id, instance: None, file, expires_ms, file_name: None };
    let mut batch = Batch::new();
    uploads::keep(&mut batch, &id, &upload);
    app.store.commit(batch).await.map_err(|e| ZamiError::Core(e.into()))?;
    let answer = json!({
        "success": true,
        "id": id.to_string(),
        "error": null,
        "mimetype": upload.file.mime,
        "size": upload.file.size,
        "expires_at": expires_ms / 1000,
    });
    Ok(chatedge_serve::json(StatusCode::CREATED, &answer))
}

pub async fn download(app: &App, account: &Tenant, id: &str) -> Result<Resp, ZamiError> {
    let id = MediaId::parse(id).map_err(|_| ZamiError::UnknownMedia)?;
    let upload = owned(app, account, id).await?.ok_or(ZamiError::UnknownMedia)?;
    crate::api::media::stream(app, &upload.file.digest, &upload.file.mime).await.map_err(|e| match e {
        crate::api::media::StreamRefusal::Gone => ZamiError::UnknownMedia,
        crate::api::media::StreamRefusal::Busy => ZamiError::Busy,
        crate::api::media::StreamRefusal::Io(e) => ZamiError::Media(MediaError::Io(e.to_string())),
    })
}

/// The upload `id` if it is the account's and has not expired.
pub async fn owned(app: &App, account: &Tenant, id: MediaId) -> Result<Option<Upload>, ZamiError> {
    let store = app.store.clone();
    let now = chatedge_config::time::unix_ms();
    let found = tokio::task::spawn_blocking(move || uploads::find(&store, &id, now))
        .await
        .map_err(|e| ZamiError::Core(StoreError::Rocks(format!("read task: {e}")).into()))?
        .map_err(|e| ZamiError::Core(e.into()))?;
    Ok(found.filter(|u| u.owner == account.id))
}
