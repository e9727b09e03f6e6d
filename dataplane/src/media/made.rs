//! made: files made what a network takes, on the media service — a sticker made WhatsApp's
//! 512×512 WebP with its author ([`super::sticker`]), an SVG picture drawn as a PNG
//! ([`super::svg`]), a GIF or WebP picture made a JPEG for a network that takes only JPEG and
//! PNG ([`super::picture`]), a still sticker made lossy within a network's size
//! ([`super::sticker::lossy`]) — fetched by URL when a message leaves, or from bytes already in
//! hand; the result stored (or handed back whole) and counted. The conversions themselves are
//! those modules' pure functions, run here on the blocking pool; deciding which network needs
//! which is the connectors' job.

use std::sync::Arc;

use bytes::Bytes;

use super::{picture, sticker, svg, Media, MediaError, MediaKind, StoredMedia};

impl Media {
    /// The sticker at `url`, fetched, made a sticker WhatsApp takes (as
    /// [`Media::put_sticker_base64`] does) and stored: what a send-sticker by URL hands every
    /// network when it leaves (the Cloud API uploads it rather than passing a link Meta would
    /// refuse as PNG or fetch without its author). Nothing refers to the file, so the sweep
    /// deletes it after `[media] orphan_grace_ms`; a retry stores the same bytes again.
    pub async fn fetch_sticker(self: &Arc<Self>, url: &str, author: Option<&str>) -> Result<StoredMedia, String> {
        let (file, _) = self.fetch_whole(url, MediaKind::Sticker).await.map_err(|e| e.to_string())?;
        let (media, author) = (self.clone(), author.map(str::to_owned));
        let made = tokio::task::spawn_blocking(move || media.store_sticker(&file, author.as_deref(), "sent")).await;
        made_or_reason(made, "sticker")
    }

    /// The file at `url` as a network sends it: fetched whole (bounded by `kind`'s limit and
    /// type-checked like every fetch) and, when it is an SVG picture, drawn as a PNG
    /// ([`svg`]); with its type. For networks that take a file whole (WhatsApp Web) and for
    /// photos; a sticker goes through [`Media::fetch_sticker`].
    pub async fn fetch_to_send(self: &Arc<Self>, url: &str, kind: MediaKind) -> Result<(Vec<u8>, String), String> {
        let (file, fetched) = self.fetch_whole(url, kind).await.map_err(|e| e.to_string())?;
        match kind == MediaKind::Image && fetched.mime == svg::MIME {
            true => Ok((self.draw(file, "sent").await?, "image/png".to_owned())),
            false => Ok((file, fetched.mime.to_owned())),
        }
    }

    /// The picture at `url` as a network that takes only JPEG and PNG pictures of at most
    /// `limit` bytes sends it, stored: fetched ([`Media::fetch_to_send`]: an SVG drawn as a
    /// PNG), made a JPEG when it is a GIF or WebP or over `limit` ([`picture`]). For a network
    /// that is given links to other pictures (the Cloud API, whose servers would fetch and
    /// refuse these). Nothing refers to the file; the sweep deletes it after `[media]
    /// orphan_grace_ms`.
    pub async fn fetch_stored_picture(self: &Arc<Self>, url: &str, limit: u64) -> Result<StoredMedia, String> {
        let (file, mime) = self.fetch_to_send(url, MediaKind::Image).await?;
        self.convert(file, mime, limit).await
    }

    /// A stored picture as a network that takes only JPEG and PNG pictures of at most `limit`
    /// bytes sends it: itself, or (a GIF or WebP, or a picture over `limit`) a JPEG of it,
    /// stored ([`picture`]).
    pub async fn jpeg_or_png(self: &Arc<Self>, file: &StoredMedia, limit: u64) -> Result<StoredMedia, String> {
        if !picture::needs_jpeg(&file.mime, file.size, limit) {
            return Ok(file.clone());
        }
        let bytes = self.read_stored(file.digest).await;
        let bytes = bytes.map_err(|e| format!("the stored media file cannot be read: {e}"))?;
        self.convert(bytes, file.mime.clone(), limit).await
    }

    /// [`Media::store_jpeg_or_png`] off the event loop ([`Media::converting`]).
    async fn convert<B>(self: &Arc<Self>, file: B, mime: String, limit: u64) -> Result<StoredMedia, String>
    where
        B: AsRef<[u8]> + Send + 'static,
    {
        self.converting("image", move |media| media.store_jpeg_or_png(file.as_ref(), &mime, limit)).await
    }

    /// Still sticker `file` (a stored sticker's bytes) as a lossy WebP of at most `limit`
    /// bytes, stored, with its bytes: for a network whose limit the lossless sticker is over
    /// (the Cloud API's 100 KB). What was stored stays as it was. A sticker that cannot be made
    /// to fit is [`Compressed::Refused`] (the same file always is); `Err` is a failure to try
    /// (the store, the task). Off the event loop ([`Media::converting`]); counted in
    /// `chatedge_dp_sticker_compressions_total`.
    pub async fn sticker_within(self: &Arc<Self>, file: Bytes, limit: u64) -> Result<Compressed, String> {
        self.converting("sticker", move |media| {
            let counted = |outcome, quality| {
                media.metrics.sticker_compressions.with_label_values(&[outcome, quality]).inc();
            };
            match sticker::lossy::within(&file, usize::try_from(limit).unwrap_or(usize::MAX)) {
                Ok((made, quality)) => {
                    let stored = media.store.put_bytes(MediaKind::Sticker, &made, media.limit(MediaKind::Sticker))?;
                    counted("made", quality);
                    Ok(Compressed::Made(stored, Bytes::from(made)))
                }
                Err(e) => {
                    counted("refused", "none");
                    Ok(Compressed::Refused(format!("the sticker {e}")))
                }
            }
        })
        .await
    }

    /// `work` on the blocking pool, at most [`super::MAX_CONVERSIONS`] at once (the permit is
    /// held by the blocking task, so a caller that gives up frees nothing early); its error
    /// names `what` was being made.
    async fn converting<T: Send + 'static>(
        self: &Arc<Self>,
        what: &str,
        work: impl FnOnce(&Media) -> Result<T, MediaError> + Send + 'static,
    ) -> Result<T, String> {
        let permit = self.conversions.clone().acquire_owned().await.map_err(|e| e.to_string())?;
        let media = self.clone();
        let made = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&media)
        });
        made_or_reason(made.await, what)
    }

    /// Stores `file`, a picture of type `mime`, made a JPEG first when it is a GIF or WebP or
    /// over `limit` bytes; conversions counted in `chatedge_dp_picture_conversions_total`.
    /// Blocking.
    fn store_jpeg_or_png(&self, file: &[u8], mime: &str, limit: u64) -> Result<StoredMedia, MediaError> {
        let size = file.len() as u64;
        if !picture::needs_jpeg(mime, size, limit) {
            return self.store.put_bytes(MediaKind::Image, file, self.limit(MediaKind::Image));
        }
        let why = if picture::needs_jpeg(mime, 0, limit) { "format" } else { "size" };
        let made = picture::as_jpeg_within(file, mime, limit);
        let outcome = if made.is_ok() { "made" } else { "refused" };
        self.metrics.picture_conversions.with_label_values(&[why, outcome]).inc();
        self.store.put_bytes(MediaKind::Image, &made?, self.limit(MediaKind::Image))
    }

    /// `file` as a picture WhatsApp takes: an SVG drawn as a PNG, anything else as it is (for
    /// photos given as bytes). Off the event loop.
    pub async fn as_photo(self: &Arc<Self>, file: Vec<u8>) -> Result<Vec<u8>, String> {
        match svg::is_svg(&file) {
            true => self.draw(file, "accepted").await,
            false => Ok(file),
        }
    }

    /// An SVG picture drawn as a PNG ([`svg::PICTURE`] on white), off the event loop; counted
    /// in `chatedge_dp_svg_drawings_total`.
    async fn draw(self: &Arc<Self>, file: Vec<u8>, when: &'static str) -> Result<Vec<u8>, String> {
        let media = self.clone();
        let drawn = tokio::task::spawn_blocking(move || media.draw_picture(&file, when).map_err(MediaError::from));
        made_or_reason(drawn.await, "picture")
    }

    /// Blocking [`Media::draw`].
    fn draw_picture(&self, file: &[u8], when: &'static str) -> Result<Vec<u8>, svg::SvgError> {
        let drawn = svg::render_png(file, svg::PICTURE, svg::Ground::White);
        let outcome = if drawn.is_ok() { "drawn" } else { "refused" };
        self.metrics.svg_drawings.with_label_values(&[when, outcome]).inc();
        drawn
    }

    /// Stores `file`, an SVG of `kind`, as WhatsApp takes it: an image drawn as a PNG, a
    /// sticker made one ([`Media::store_sticker`]). Blocking.
    pub(super) fn store_drawn(
        &self,
        kind: MediaKind,
        file: &[u8],
        when: &'static str,
    ) -> Result<StoredMedia, MediaError> {
        match kind {
            MediaKind::Sticker => self.store_sticker(file, None, when),
            _ => {
                let png = self.draw_picture(file, when)?;
                self.store.put_bytes(kind, &png, self.limit(kind))
            }
        }
    }

    /// Stores `file` made a sticker ([`sticker::as_sticker`]); a rewrite is counted in
    /// `chatedge_dp_sticker_rewrites_total`. Blocking.
    pub(super) fn store_sticker(
        &self,
        file: &[u8],
        author: Option<&str>,
        when: &'static str,
    ) -> Result<StoredMedia, MediaError> {
        let made = sticker::as_sticker(file, author);
        let rewritten = !matches!(made, Ok(std::borrow::Cow::Borrowed(_)));
        let result = made
            .map_err(MediaError::from)
            .and_then(|sticker| self.store.put_bytes(MediaKind::Sticker, &sticker, self.limit(MediaKind::Sticker)));
        if rewritten {
            let outcome = if result.is_ok() { "written" } else { "refused" };
            self.metrics.sticker_rewrites.with_label_values(&[when, outcome]).inc();
        }
        result
    }
}

/// A still sticker made within a size ([`Media::sticker_within`]).
pub enum Compressed {
    /// Stored, with its bytes.
    Made(StoredMedia, Bytes),
    /// Why it cannot be made to fit.
    Refused(String),
}

/// Whether an SVG of `kind` is drawn before it is sent (images and stickers; a document stays
/// the file it is).
pub(super) fn drawable(kind: MediaKind) -> bool {
    matches!(kind, MediaKind::Image | MediaKind::Sticker)
}

/// A blocking task's file (stored, or drawn), or the reason it could not be made, naming `what`.
fn made_or_reason<T>(made: Result<Result<T, MediaError>, tokio::task::JoinError>, what: &str) -> Result<T, String> {
    match made {
        Ok(Ok(stored)) => Ok(stored),
        Ok(Err(e @ (MediaError::Sticker(_) | MediaError::Svg(_) | MediaError::Picture(_)))) => {
            Err(format!("the {what} {e}"))
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("{what} task failed: {e}")),
    }
}
