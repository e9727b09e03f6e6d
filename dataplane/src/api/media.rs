//! `GET /media/{digest}.{ext}?expires=&signature=`: received media, served to whoever holds
//! the signed link a ReceivedCallback carried (no instance token, like a pre-signed object
//! URL; see [`crate::media::link`]). 403 for a link that was not signed here (or was
//! changed), 410 once it expired, 404 when the file is gone. Runs on the edge's event loop;
//! the file is read on the blocking pool a chunk at a time and streamed as the client reads.

use chatedge_serve::Resp;
use hyper::header::HeaderValue;
use hyper::StatusCode;
use serde_json::json;

use super::App;
use crate::media::link::LinkError;
use crate::media::Digest;

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
    match stream(app, &digest, content_type).await {
        Ok(res) => res,
        Err(StreamRefusal::Gone) => refusal(StatusCode::NOT_FOUND, "this media is no longer stored"),
        Err(StreamRefusal::Io(e)) => refusal(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot read the media: {e}")),
        Err(StreamRefusal::Busy) => {
            let mut res =
                refusal(StatusCode::SERVICE_UNAVAILABLE, "too much media is being moved right now; retry shortly");
            res.headers_mut().insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
            res
        }
    }
}

/// Why a stored file could not be streamed (each caller answers in its own dialect).
#[derive(Debug)]
pub enum StreamRefusal {
    /// The file is no longer stored.
    Gone,
    /// `MAX_DOWNLOADS` are streaming: retry shortly.
    Busy,
    Io(std::io::Error),
}

/// A 200 answer streaming the stored file `digest` as `content_type`, with its length.
pub async fn stream(app: &App, digest: &Digest, content_type: &str) -> Result<Resp, StreamRefusal> {
    let path = app.media.store.path(digest);
    let opened = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(path)?;
        let size = file.metadata()?.len();
        Ok::<_, std::io::Error>((file, size))
    })
    .await
    .unwrap_or_else(|e| Err(std::io::Error::other(e)));
    let (file, size) = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StreamRefusal::Gone),
        Err(e) => return Err(StreamRefusal::Io(e)),
    };
    // Streamed a chunk at a time as the client reads: a download holds at most
    // DOWNLOAD_BUFFER chunks in memory, and at most `MAX_DOWNLOADS` stream at once.
    let slot = app.media.download_slot().ok_or(StreamRefusal::Busy)?;
    let (tx, mut res) = chatedge_serve::streamed(StatusCode::OK, "application/octet-stream", DOWNLOAD_BUFFER);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        res.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    res.headers_mut().insert(hyper::header::CONTENT_LENGTH, HeaderValue::from(size));
    res.headers_mut().insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    tokio::spawn(async move {
        let _slot = slot;
        send_file(file, size, tx).await;
    });
    Ok(res)
}

/// Bytes read from disk per chunk of a download, and chunks held before waiting for the client.
const DOWNLOAD_CHUNK: usize = 64 * 1024;
const DOWNLOAD_BUFFER: usize = 4;

/// Writes `size` bytes of `file` to the answer, each read on the blocking pool; a read that
/// fails or comes up short cuts the answer (its length was promised).
async fn send_file(mut file: std::fs::File, size: u64, mut tx: chatedge_serve::StreamSender) {
    let mut left = size;
    while left > 0 {
        let want = left.min(DOWNLOAD_CHUNK as u64) as usize;
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0; want];
            let got = std::io::Read::read_exact(&mut file, &mut buf).map(|()| buf);
            (file, got)
        })
        .await;
        let chunk = match read {
            Ok((f, Ok(buf))) => {
                file = f;
                buf
            }
            Ok((_, Err(e))) => return tx.abort(chatedge_serve::StreamError(format!("media read: {e}"))),
            Err(e) => return tx.abort(chatedge_serve::StreamError(format!("media read task: {e}"))),
        };
        left -= chunk.len() as u64;
        if tx.send_data(chunk.into()).await.is_err() {
            return; // the client went away
        }
    }
}

fn refusal(status: StatusCode, message: &str) -> Resp {
    chatedge_serve::json(status, &json!({"error": status.canonical_reason().unwrap_or("error"), "message": message}))
}
