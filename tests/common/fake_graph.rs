//! A fake Meta Graph API (WhatsApp Cloud API) on 127.0.0.1, written from Meta's published
//! Cloud API reference: `GET /{phone-number-id}` (the number's display_phone_number,
//! verified_name, quality_rating…), `POST /{phone-number-id}/messages` (answering
//! `{"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid.…"}]}`,
//! or `{"success": true}` for a read receipt / typing indicator), `POST /{phone-number-id}/media`
//! (multipart `messaging_product`, `type`, `file` → `{"id"}`; an image must be a JPEG or PNG of
//! at most 5 MB, as Meta's media table says), `GET /{media-id}` (url, mime_type,
//! sha256, file_size) and the download URL it names, `GET /{waba-id}/message_templates`
//! (cursor paging: `paging.cursors.after`, `paging.next` only when there is more),
//! `GET|POST /{phone-number-id}/whatsapp_business_profile`. Every request needs
//! `Authorization: Bearer <token>` (else 401, code 190, as Meta answers an invalid token).
//! Errors come in Meta's envelope (`{"error": {"message", "type", "code", "error_data":
//! {"messaging_product", "details"}, "fbtrace_id"}}`); tests script them with
//! [`FakeGraph::fail_next`] and [`FakeGraph::limit_pair`] (131056 for one recipient), and can
//! hold the answers to sends ([`FakeGraph::hold_sends`]). A template send is accepted only for
//! an APPROVED template of the account (else 132001); the template listing honours Meta's
//! `status` and `name` filters.
//! Every request is recorded for assertions. Opt-in ([`FakeGraph::notify_statuses_to`]), it
//! sends Meta's signed `sent` and `delivered` status notifications of each answered send back
//! to chatedge's webhook.

#![allow(dead_code)] // each test binary uses a different part of it

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The API version the fake serves under (the path's first segment).
pub const VERSION: &str = "v23.0";
/// The app secret of the fake's Meta app (it signs the fake's webhook notifications).
pub const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct GraphRequest {
    pub method: String,
    /// Without the version prefix, e.g. `/106540352242922/messages`.
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The JSON body (Null when it is not JSON, e.g. a multipart upload).
    pub json: Value,
    pub raw: Bytes,
}

/// An error answer to script, in Meta's terms.
#[derive(Debug, Clone)]
pub struct GraphFailure {
    pub status: u16,
    pub code: i64,
    pub message: String,
    pub details: String,
}

impl GraphFailure {
    /// `(#131047) Re-engagement message`: outside the 24-hour customer service window.
    pub fn outside_window() -> Self {
        GraphFailure {
            status: 400,
            code: 131047,
            message: "(#131047) Re-engagement message".into(),
            details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number.".into(),
        }
    }

    /// `(#130429) Rate limit hit`: Cloud API throughput reached.
    pub fn rate_limited() -> Self {
        GraphFailure {
            status: 400,
            code: 130429,
            message: "(#130429) Rate limit hit".into(),
            details: "Message failed to send because there were too many messages sent from this phone number in a short period of time".into(),
        }
    }

    /// A 500 from Meta's side (`(#131000) Something went wrong`).
    pub fn server_error() -> Self {
        GraphFailure {
            status: 500,
            code: 131000,
            message: "(#131000) Something went wrong".into(),
            details: "Message failed to send due to an unknown error.".into(),
        }
    }

    /// `(#131056) (Business Account, Consumer Account) pair rate limit hit`.
    pub fn pair_rate_limited() -> Self {
        GraphFailure {
            status: 400,
            code: 131056,
            message: "(#131056) (Business Account, Consumer Account) pair rate limit hit".into(),
            details: "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.".into(),
        }
    }
}

/// Which requests a scripted failure applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Sends,
    Uploads,
    Everything,
}

#[derive(Default)]
struct State {
    requests: Vec<GraphRequest>,
    failures: VecDeque<(Scope, GraphFailure)>,
    /// media id → (mime, bytes)
    media: HashMap<String, (String, Bytes)>,
    templates: Vec<Value>,
    /// biz_opaque_callback_data → the wamid answered.
    answered: HashMap<String, String>,
    /// Recipient → sends to it still to be answered 131056 (pair rate limit).
    pair_limits: HashMap<String, usize>,
    /// biz_opaque_callback_data → the wamid chosen when the send arrived.
    assigned: HashMap<String, String>,
    /// Where the fake posts its own status notifications, signed with the app secret.
    webhook: Option<String>,
}

#[derive(Clone)]
pub struct FakeGraph {
    /// `http://127.0.0.1:port/v23.0`: what `[network.cloud_api] graph_base_url` points at.
    pub base_url: String,
    pub root: String,
    pub token: String,
    pub phone_number_id: String,
    pub waba_id: String,
    /// The number the phone number id stands for, as Meta formats it.
    pub display_phone_number: String,
    state: Arc<Mutex<State>>,
    next: Arc<AtomicU64>,
    /// While true, message sends wait (see [`FakeGraph::hold_sends`]).
    hold: Arc<tokio::sync::watch::Sender<bool>>,
}

impl FakeGraph {
    pub async fn start() -> FakeGraph {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let root = format!("http://{}", listener.local_addr().unwrap());
        let fake = FakeGraph {
            base_url: format!("{root}/{VERSION}"),
            root,
            token: "EAAJB9tokenTEST0123456789abcdef".into(),
            phone_number_id: "106540352242922".into(),
            waba_id: "102290129340398".into(),
            display_phone_number: "+55 11 95555-0100".into(),
            state: Arc::default(),
            next: Arc::new(AtomicU64::new(1)),
            hold: Arc::new(tokio::sync::watch::channel(false).0),
        };
        let f = fake.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let f = f.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let f = f.clone();
                        async move { Ok::<_, Infallible>(f.answer(req).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        fake
    }

    /// The digits of the number (what chatedge shows as the instance's phone).
    pub fn phone_digits(&self) -> String {
        self.display_phone_number.chars().filter(char::is_ascii_digit).collect()
    }

    /// The `cloudApi` object of an on-demand create for this fake's number.
    pub fn credentials(&self) -> Value {
        json!({
            "phoneNumberId": self.phone_number_id,
            "businessAccountId": self.waba_id,
            "accessToken": self.token,
            "appSecret": APP_SECRET,
        })
    }

    /// The `[network.cloud_api]` section pointing chatedge here, fast backoffs for tests.
    pub fn config(&self) -> String {
        format!(
            "[network.cloud_api]\ngraph_base_url = \"{}\"\nrate_limit_initial_backoff_ms = 50\nrate_limit_max_backoff_ms = 400\nrequest_timeout_ms = 60000\n",
            self.base_url
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<GraphRequest> {
        self.lock().requests.clone()
    }

    /// The bodies of message sends so far (`POST /{id}/messages`, read receipts excluded).
    pub fn sends(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/messages") && r.json.get("status").is_none())
            .map(|r| r.json)
            .collect()
    }

    /// Media uploads so far.
    pub fn uploads(&self) -> Vec<GraphRequest> {
        self.requests().into_iter().filter(|r| r.method == "POST" && r.path.ends_with("/media")).collect()
    }

    /// The bytes and type of an uploaded media id.
    pub fn uploaded(&self, media_id: &str) -> Option<(String, Bytes)> {
        self.lock().media.get(media_id).cloned()
    }

    /// The wamid answered to the send that carried `biz_opaque_callback_data`.
    pub fn wamid_of(&self, callback_data: &str) -> Option<String> {
        self.lock().answered.get(callback_data).cloned()
    }

    /// The next `n` requests in `scope` are answered with `failure`.
    pub fn fail_next(&self, scope: Scope, n: usize, failure: GraphFailure) {
        let mut s = self.lock();
        for _ in 0..n {
            s.failures.push_back((scope, failure.clone()));
        }
    }

    /// While on, message sends are recorded and their wamid chosen ([`FakeGraph::assigned`])
    /// but not answered (the connection stays open); turning it off answers them.
    pub fn hold_sends(&self, on: bool) {
        self.hold.send_replace(on);
    }

    /// The wamid chosen for the send that carried `biz_opaque_callback_data`, answered or held.
    pub fn assigned(&self, callback_data: &str) -> Option<String> {
        self.lock().assigned.get(callback_data).cloned()
    }

    /// The account's templates, as `GET /{waba}/message_templates` lists them; a template send
    /// is accepted only for an APPROVED one of them (else 132001, as Meta answers).
    pub fn set_templates(&self, templates: Vec<Value>) {
        self.lock().templates = templates;
    }

    /// From now on, every answered send is followed by Meta's `sent` and `delivered` status
    /// notifications, signed with the app secret, posted to `webhook_url` (chatedge's
    /// `webhookUrl` of the instance) and retried until answered 200, as Meta's webhook does.
    pub fn notify_statuses_to(&self, webhook_url: &str) {
        self.lock().webhook = Some(webhook_url.to_owned());
    }

    /// This fake's number as Meta's webhook sender describes it.
    pub fn cloud_number(&self) -> crate::common::cloud_notify::CloudNumber {
        crate::common::cloud_notify::CloudNumber {
            phone_number_id: self.phone_number_id.clone(),
            business_account_id: self.waba_id.clone(),
            display_phone_number: self.phone_digits(),
            access_token: self.token.clone(),
            app_secret: APP_SECRET.to_owned(),
        }
    }

    /// Forgets every scripted failure not yet answered.
    pub fn clear_failures(&self) {
        self.lock().failures.clear();
    }

    /// The next `n` sends to `to` are answered 131056 (pair rate limit); others are not.
    pub fn limit_pair(&self, to: &str, n: usize) {
        self.lock().pair_limits.insert(to.to_owned(), n);
    }

    async fn answer(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let method = req.method().to_string();
        let full_path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or_default().to_owned();
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (authorization, content_type) = (header("authorization"), header("content-type"));
        let raw = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let json = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        let path = full_path.strip_prefix(&format!("/{VERSION}")).unwrap_or(&full_path).to_owned();
        let r = GraphRequest { method, path, query, authorization, content_type, json, raw };
        self.lock().requests.push(r.clone());
        if r.authorization.as_deref() != Some(&format!("Bearer {}", self.token)) {
            return error(401, 190, "Invalid OAuth access token - Cannot parse access token", "", "OAuthException");
        }
        let segments: Vec<&str> = r.path.trim_matches('/').split('/').collect();
        let scope = match (r.method.as_str(), segments.as_slice()) {
            ("POST", [_, "messages"]) => Scope::Sends,
            ("POST", [_, "media"]) => Scope::Uploads,
            _ => Scope::Everything,
        };
        let failure = {
            let mut s = self.lock();
            let at = s.failures.iter().position(|(sc, _)| *sc == scope || *sc == Scope::Everything);
            at.and_then(|i| s.failures.remove(i)).map(|(_, f)| f)
        };
        if let Some(f) = failure {
            return error(f.status, f.code, &f.message, &f.details, "OAuthException");
        }
        match (r.method.as_str(), segments.as_slice()) {
            ("GET", ["download", id]) => self.download(id),
            ("GET", [id]) if *id == self.phone_number_id => self.number(),
            ("GET", [id]) => self.media_info(id),
            ("POST", [id, "messages"]) if *id == self.phone_number_id => self.message(&r).await,
            ("POST", [id, "media"]) if *id == self.phone_number_id => self.upload(&r),
            ("GET", [id, "message_templates"]) if *id == self.waba_id => self.templates(&r.query),
            ("POST", [id, "whatsapp_business_profile"]) if *id == self.phone_number_id => ok(json!({"success": true})),
            ("GET", [id, "whatsapp_business_profile"]) if *id == self.phone_number_id => ok(json!({"data": [{
                "about": "Hi", "messaging_product": "whatsapp",
                "profile_picture_url": format!("{}/pictures/profile.jpg", self.root)}]})),
            _ => error(
                400,
                100,
                "Unsupported get request. Object does not exist or cannot be loaded",
                "",
                "GraphMethodException",
            ),
        }
    }

    fn number(&self) -> Response<Full<Bytes>> {
        ok(json!({
            "verified_name": "Chatedge Test Shop",
            "code_verification_status": "VERIFIED",
            "display_phone_number": self.display_phone_number,
            "quality_rating": "GREEN",
            "platform_type": "CLOUD_API",
            "throughput": {"level": "STANDARD"},
            "id": self.phone_number_id,
        }))
    }

    async fn message(&self, r: &GraphRequest) -> Response<Full<Bytes>> {
        let b = &r.json;
        if b["messaging_product"] != "whatsapp" {
            return invalid("messaging_product must be whatsapp");
        }
        if b.get("status").is_some() {
            // Read receipt (and typing indicator): `{"status": "read", "message_id"}`.
            return match (b["status"].as_str(), b["message_id"].as_str()) {
                (Some("read"), Some(id)) if id.starts_with("wamid.") => ok(json!({"success": true})),
                _ => invalid("status must be read with the message_id of a received message"),
            };
        }
        if let Err(why) = check_message(b) {
            return invalid(&why);
        }
        let to = b["to"].as_str().unwrap_or_default();
        {
            let mut s = self.lock();
            if let Some(n) = s.pair_limits.get_mut(to).filter(|n| **n > 0) {
                *n -= 1;
                let f = GraphFailure::pair_rate_limited();
                return error(f.status, f.code, &f.message, &f.details, "OAuthException");
            }
            if b["type"] == "template" {
                let (name, code) = (&b["template"]["name"], &b["template"]["language"]["code"]);
                let approved = s
                    .templates
                    .iter()
                    .any(|t| t["name"] == *name && t["language"] == *code && t["status"] == "APPROVED");
                if !approved {
                    let details = format!(
                        "template name ({}) does not exist in {}",
                        name.as_str().unwrap_or_default(),
                        code.as_str().unwrap_or_default()
                    );
                    return error(
                        404,
                        132001,
                        "(#132001) Template name does not exist in the translation",
                        &details,
                        "OAuthException",
                    );
                }
            }
        }
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let wamid = format!("wamid.HBgN{to}FQIAERgS{n:016X}");
        let data = b["biz_opaque_callback_data"].as_str();
        if let Some(data) = data {
            self.lock().assigned.insert(data.to_owned(), wamid.clone());
        }
        // Held: not answered until released (or the caller's connection goes away).
        let mut hold = self.hold.subscribe();
        let _ = hold.wait_for(|on| !*on).await;
        let webhook = {
            let mut s = self.lock();
            if let Some(data) = data {
                s.answered.insert(data.to_owned(), wamid.clone());
            }
            s.webhook.clone()
        };
        if let Some(url) = webhook {
            let (number, to, data) = (self.cloud_number(), to.to_owned(), data.map(str::to_owned));
            let wamid = wamid.clone();
            tokio::spawn(async move {
                for status in ["sent", "delivered"] {
                    let n = number.status(&wamid, status, &to, data.as_deref());
                    for _ in 0..50 {
                        let (code, _) = crate::common::cloud_notify::notify(&url, APP_SECRET, &n).await;
                        if code == 200 {
                            break;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                }
            });
        }
        ok(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": wamid}],
        }))
    }

    fn upload(&self, r: &GraphRequest) -> Response<Full<Bytes>> {
        let Some(boundary) = r.content_type.as_deref().and_then(|ct| ct.split("boundary=").nth(1)) else {
            return invalid("media upload must be multipart/form-data");
        };
        let parts = multipart(&r.raw, boundary.trim_matches('"'));
        let field = |name: &str| parts.iter().find(|p| p.0 == name);
        if field("messaging_product").map(|p| p.2.as_ref()) != Some(b"whatsapp".as_slice()) {
            return invalid("Param messaging_product is required and must be whatsapp");
        }
        let Some((_, file_type, bytes)) = field("file") else { return invalid("Param file is required") };
        let mime =
            field("type").map(|p| String::from_utf8_lossy(&p.2).into_owned()).unwrap_or_else(|| file_type.clone());
        // Meta's media table: an image is a JPEG or PNG of at most 5 MB.
        if mime.starts_with("image/") && mime != "image/webp" {
            if !matches!(mime.as_str(), "image/jpeg" | "image/png") {
                return invalid(&format!("Param file must be a JPEG or PNG image, not {mime}"));
            }
            if bytes.len() > 5_000_000 {
                return invalid(&format!("the image is {} bytes; images are at most 5 MB", bytes.len()));
            }
        }
        // A sticker is a WebP of at most 100 KB, or 500 KB when animated (its VP8X flags say).
        if mime == "image/webp" {
            let animated =
                bytes.get(12..16) == Some(b"VP8X".as_slice()) && bytes.get(20).is_some_and(|f| f & 0x02 != 0);
            let limit = if animated { 500_000 } else { 100_000 };
            if bytes.len() > limit {
                return invalid(&format!("the sticker is {} bytes; stickers are at most {limit} bytes", bytes.len()));
            }
        }
        let id = format!("{}", 1_000_000_000_000 + self.next.fetch_add(1, Ordering::SeqCst));
        self.lock().media.insert(id.clone(), (mime, bytes.clone()));
        ok(json!({"id": id}))
    }

    fn media_info(&self, id: &str) -> Response<Full<Bytes>> {
        let Some((mime, bytes)) = self.uploaded(id) else {
            return error(
                400,
                100,
                "Unsupported get request. Object with ID does not exist",
                "",
                "GraphMethodException",
            );
        };
        let sha = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect::<String>();
        ok(json!({
            "messaging_product": "whatsapp",
            "url": format!("{}/download/{id}", self.base_url),
            "mime_type": mime,
            "sha256": sha,
            "file_size": bytes.len(),
            "id": id,
        }))
    }

    fn download(&self, id: &str) -> Response<Full<Bytes>> {
        match self.uploaded(id) {
            Some((mime, bytes)) => Response::builder().header("content-type", mime).body(Full::new(bytes)).unwrap(),
            None => Response::builder().status(404).body(Full::new(Bytes::new())).unwrap(),
        }
    }

    fn templates(&self, query: &str) -> Response<Full<Bytes>> {
        let q: HashMap<String, String> = form_pairs(query);
        let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(25).max(1);
        // Cursors are opaque to callers; here the base64-free form "c<offset>".
        let start = q.get("after").and_then(|a| a.strip_prefix('c')).and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
        // Meta's filters: `status` (exact) and `name` (here: exact).
        let all: Vec<Value> = self
            .lock()
            .templates
            .iter()
            .filter(|t| q.get("status").is_none_or(|s| t["status"] == s.as_str()))
            .filter(|t| q.get("name").is_none_or(|n| t["name"] == n.as_str()))
            .cloned()
            .collect();
        let page: Vec<Value> = all.iter().skip(start).take(limit).cloned().collect();
        let end = start + page.len();
        let mut paging = json!({"cursors": {"before": format!("c{start}"), "after": format!("c{end}")}});
        if end < all.len() {
            paging["next"] =
                json!(format!("{}/{}/message_templates?limit={limit}&after=c{end}", self.base_url, self.waba_id));
        }
        ok(json!({"data": page, "paging": paging}))
    }
}

/// What the reference requires of a message body; the first problem, as Meta words it.
fn check_message(b: &Value) -> Result<(), String> {
    let to = b["to"].as_str().unwrap_or_default();
    if to.is_empty() {
        return Err("The parameter to is required.".into());
    }
    let kind = b["type"].as_str().unwrap_or("text");
    let object = &b[kind];
    if !object.is_object() && !object.is_array() {
        return Err(format!("Param {kind} is required for type {kind}"));
    }
    match kind {
        "text" if object["body"].as_str().is_none_or(str::is_empty) => Err("Param text['body'] is required".into()),
        "image" | "video" | "audio" | "document" | "sticker"
            if object.get("id").is_none() && object.get("link").is_none() =>
        {
            Err(format!("Param {kind} must have either id or link"))
        }
        "interactive" => check_interactive(object),
        "template" if object["name"].as_str().is_none() || object["language"]["code"].as_str().is_none() => {
            Err("Param template['name'] and template['language']['code'] are required".into())
        }
        "reaction" if object["message_id"].as_str().is_none() => Err("Param reaction['message_id'] is required".into()),
        "text" | "image" | "video" | "audio" | "document" | "sticker" | "location" | "contacts" | "reaction"
        | "template" => Ok(()),
        other => Err(format!("Param type '{other}' is not a valid message type")),
    }
}

fn check_interactive(i: &Value) -> Result<(), String> {
    match i["type"].as_str() {
        Some("button") => {
            let n = i["action"]["buttons"].as_array().map(Vec::len).unwrap_or(0);
            if !(1..=3).contains(&n) {
                return Err("Param interactive['action']['buttons'] must have between 1 and 3 elements".into());
            }
            Ok(())
        }
        Some("list") => {
            let rows: usize = i["action"]["sections"]
                .as_array()
                .map(|s| s.iter().map(|sec| sec["rows"].as_array().map(Vec::len).unwrap_or(0)).sum())
                .unwrap_or(0);
            if !(1..=10).contains(&rows) {
                return Err("Param interactive['action']['sections'] must have between 1 and 10 rows in total".into());
            }
            Ok(())
        }
        Some("cta_url") => Ok(()),
        _ => Err("Param interactive['type'] is not valid".into()),
    }
}

fn invalid(details: &str) -> Response<Full<Bytes>> {
    error(400, 100, "(#100) Invalid parameter", details, "OAuthException")
}

fn ok(v: Value) -> Response<Full<Bytes>> {
    Response::builder().header("content-type", "application/json").body(Full::new(Bytes::from(v.to_string()))).unwrap()
}

fn error(status: u16, code: i64, message: &str, details: &str, kind: &str) -> Response<Full<Bytes>> {
    let mut e = json!({"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGhIjKlMnOpQrStUvW"});
    if !details.is_empty() {
        e["error_data"] = json!({"messaging_product": "whatsapp", "details": details});
    }
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(json!({"error": e}).to_string())))
        .unwrap()
}

/// The parts of a multipart/form-data body as (name, content type, bytes).
fn multipart(body: &[u8], boundary: &str) -> Vec<(String, String, Bytes)> {
    let delimiter = format!("--{boundary}");
    let text = body;
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let Some(head_end) = find(rest, b"\r\n\r\n") else { break };
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let after = &rest[head_end + 4..];
        let Some(end) = find(after, format!("\r\n{delimiter}").as_bytes()) else { break };
        let name = head.split("name=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or_default().to_owned();
        let ctype = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Type: ").or_else(|| l.strip_prefix("content-type: ")))
            .unwrap_or_default()
            .trim()
            .to_owned();
        parts.push((name, ctype, Bytes::copy_from_slice(&after[..end])));
        rest = &after[end + 2..];
    }
    parts
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn form_pairs(query: &str) -> HashMap<String, String> {
    query.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_owned(), percent_decode(v))).collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
