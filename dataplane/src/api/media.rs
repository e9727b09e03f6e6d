//! `GET /media/{digest}.{ext}?expires=&signature=`: received media, served to whoever holds
//! the signed link a ReceivedCallback carried (no instance token, like a pre-signed object
//! URL; see [`crate::media::link`]). 403 for a link that was not signed here (or was
//! changed), 410 once it expired, 404 when the file is gone. Runs on the edge's event loop;
//! the file is read on the blocking pool.

use chatedge_serve::Resp;
use hyper::StatusCode;
use serde_json::json;

use super::App;
use crate::media::link::LinkError;

/// Answers a request for `/media/{name}` with its query string.
pub async fn serve(app: &App, name: &str, query: &str) -> Resp {
    let (mut expires, mut signature) = (None, None);
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "expires" => expires = v.parse::<u64>().ok(),
            "signature" => signature = Some(v.into_owned()),
            _ => {}
        }
    }
    let (Some(expires), Some(signature)) = (expires, signature) else {
        return refusal(StatusCode::FORBIDDEN, "expires and signature are required");
    };
    let now_s = chatedge_config::time::unix_ms() / 1000;
    let digest = match app.media.links.verify(name, expires, &signature, now_s) {
        Ok(d) => d,
        Err(e @ LinkError::BadSignature) => return refusal(StatusCode::FORBIDDEN, &e.to_string()),
        Err(e @ LinkError::Expired) => return refusal(StatusCode::GONE, &e.to_string()),
    };
    let content_type = crate::media::mime_of(name.rsplit_once('.').map(|(_, ext)| ext).unwrap_or(""));
    let media = app.media.clone();
    let path = media.store.path(&digest);
    let meta_path = path.clone();
    let size = match tokio::task::spawn_blocking(move || std::fs::metadata(meta_path))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return refusal(StatusCode::NOT_FOUND, "this media is no longer stored");
        }
        Err(e) => return refusal(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot read the media: {e}")),
    };
    // The answer's body is a `Full<Bytes>`, so the whole file is read into memory (received
    // media is at most `[media] max_*_bytes`); it takes room in the same budget as uploads,
    // so many downloads at once cannot exhaust memory. Streaming needs a streaming body type.
    let Some(_room) = app.media.upload_room(size) else {
        let mut res =
            refusal(StatusCode::SERVICE_UNAVAILABLE, "too much media is being moved right now; retry shortly");
        res.headers_mut().insert(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from_static("1"));
        return res;
    };
    let read = tokio::task::spawn_blocking(move || std::fs::read(path)).await;
    match read {
        Ok(Ok(bytes)) => {
            let mut res = chatedge_serve::bytes(StatusCode::OK, content_type, bytes);
            res.headers_mut().insert("x-content-type-options", hyper::header::HeaderValue::from_static("nosniff"));
            res
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            refusal(StatusCode::NOT_FOUND, "this media is no longer stored")
        }
        Ok(Err(e)) => refusal(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot read the media: {e}")),
        Err(e) => refusal(StatusCode::INTERNAL_SERVER_ERROR, &format!("media read task failed: {e}")),
    }
}

fn refusal(status: StatusCode, message: &str) -> Resp {
    chatedge_serve::json(status, &json!({"error": status.canonical_reason().unwrap_or("error"), "message": message}))
}
