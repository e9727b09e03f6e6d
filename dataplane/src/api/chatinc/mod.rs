//! chatinc: the Chat Inc campaign dialect (seed 003; issue 14) under `/v1/…`. The API key is
//! the sending instance's token (`Authorization: <token>` or `Bearer <token>`); the instance's
//! account rules (IP allowlist, Client-Token) apply as on Z-API routes, and routes that start
//! sending also need an account allowed to send. Paths, field names and answer shapes are
//! seed 003's; pause, resume, cancel and the three deletes are chatedge's own. Handlers parse (`fields`), call
//! the campaigns room and shape the answer; errors map to HTTP once (`error`).

mod error;
mod fields;
mod upload;

use std::sync::Arc;

use chatedge_config::{InstanceConfig, InstanceId, Snapshot};
use chatedge_serve::{Body, Resp};
use hyper::header::HeaderValue;
use hyper::{HeaderMap, Method, Request, StatusCode};
use serde_json::{json, Value};

use super::App;
use crate::auth;
use crate::campaigns::import::{ImportReport, Target};
use crate::campaigns::model::{valid_id, Campaign, Counters, RunState, ALL, MAX_ID_CHARS};
use crate::campaigns::{export, CampaignError, Campaigns};
pub use error::ChatIncError;
pub use upload::prepare as prepare_uploads;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    CreateAudience,
    AudienceFromFile,
    Audiences,
    AudienceContacts,
    CreateGroup,
    GroupFromFile,
    Groups,
    CreateCampaign,
    RunCampaign,
    Campaigns,
    CampaignRows,
    Pause,
    Resume,
    Cancel,
    DeleteAudience,
    DeleteGroup,
    DeleteCampaign,
}

struct Route {
    path: &'static str,
    methods: &'static str,
    label: &'static str,
    op: Op,
}

static ROUTES: &[Route] = &[
    Route { path: "create/audience", methods: "POST", label: "chatinc.create-audience", op: Op::CreateAudience },
    Route {
        path: "create/audience/from/file",
        methods: "POST",
        label: "chatinc.create-audience-from-file",
        op: Op::AudienceFromFile,
    },
    Route { path: "retrieve/audiences", methods: "GET, POST", label: "chatinc.retrieve-audiences", op: Op::Audiences },
    Route {
        path: "retrieve/audience/contacts",
        methods: "POST",
        label: "chatinc.retrieve-audience-contacts",
        op: Op::AudienceContacts,
    },
    Route {
        path: "create/variable/group",
        methods: "POST",
        label: "chatinc.create-variable-group",
        op: Op::CreateGroup,
    },
    Route {
        path: "create/variable/group/from/file",
        methods: "POST",
        label: "chatinc.create-variable-group-from-file",
        op: Op::GroupFromFile,
    },
    Route {
        path: "retrieve/variable/groups",
        methods: "GET, POST",
        label: "chatinc.retrieve-variable-groups",
        op: Op::Groups,
    },
    Route { path: "create/campaign", methods: "POST", label: "chatinc.create-campaign", op: Op::CreateCampaign },
    Route { path: "run/campaign", methods: "POST", label: "chatinc.run-campaign", op: Op::RunCampaign },
    Route { path: "retrieve/campaigns", methods: "GET, POST", label: "chatinc.retrieve-campaigns", op: Op::Campaigns },
    Route { path: "retrieve/campaign", methods: "POST", label: "chatinc.retrieve-campaign", op: Op::CampaignRows },
    Route { path: "pause/campaign", methods: "POST", label: "chatinc.pause-campaign", op: Op::Pause },
    Route { path: "resume/campaign", methods: "POST", label: "chatinc.resume-campaign", op: Op::Resume },
    Route { path: "cancel/campaign", methods: "POST", label: "chatinc.cancel-campaign", op: Op::Cancel },
    Route { path: "delete/audience", methods: "POST", label: "chatinc.delete-audience", op: Op::DeleteAudience },
    Route {
        path: "delete/variable/group",
        methods: "POST",
        label: "chatinc.delete-variable-group",
        op: Op::DeleteGroup,
    },
    Route { path: "delete/campaign", methods: "POST", label: "chatinc.delete-campaign", op: Op::DeleteCampaign },
];

fn find(rest: &[&str]) -> Option<&'static Route> {
    let path = rest.join("/");
    ROUTES.iter().find(|r| r.path == path)
}

/// Serves one request under `/v1/`.
pub async fn handle(app: &App, req: Request<Body>, rest: &[&str]) -> (&'static str, Resp) {
    let Some(route) = find(rest) else {
        return ("chatinc.unknown", ChatIncError::RouteNotFound.into_response());
    };
    match dispatch(app, req, route).await {
        Ok(res) => (route.label, res),
        Err(e) => {
            app.metrics.refusals.with_label_values(&[e.reason()]).inc();
            (route.label, e.into_response())
        }
    }
}

/// The instance whose API key `headers` carry, if any: one lookup in the snapshot's token
/// index (not a pass over every instance), then a constant-time check of its hash. The edge's
/// rate limiter asks too, to count the call against the instance's buckets.
pub fn instance_for_key(snapshot: &Snapshot, headers: &HeaderMap) -> Option<Arc<InstanceConfig>> {
    auth::api_key(headers).and_then(|t| snapshot.instance_by_token(t)).cloned()
}

async fn dispatch(app: &App, req: Request<Body>, route: &'static Route) -> Result<Resp, ChatIncError> {
    let method = req.method().clone();
    if !route.methods.split(", ").any(|m| m == method.as_str()) {
        return Err(ChatIncError::MethodNotAllowed { allowed: route.methods });
    }
    let snapshot = app.config.load();
    let instance = match req.extensions().get::<auth::Authenticated>() {
        Some(a) if a.version == snapshot.version => a.instance.clone(),
        _ => instance_for_key(&snapshot, req.headers()).ok_or(ChatIncError::Unauthorized)?,
    };
    auth::account(&snapshot, &instance, req.headers(), req.extensions().get::<auth::Origin>())
        .map_err(ChatIncError::Refused)?;
    if matches!(route.op, Op::CreateCampaign | Op::RunCampaign | Op::Resume) {
        auth::may_send(snapshot.tenants.get(&instance.tenant).map(|t| &**t)).map_err(ChatIncError::Refused)?;
    }
    drop(snapshot);
    if !instance.active {
        return Err(ChatIncError::Inactive);
    }
    let c = &app.campaigns;
    let id = instance.id;
    let query = req.uri().query().map(str::to_owned);
    let (parts, body) = req.into_parts();
    if matches!(route.op, Op::AudienceFromFile | Op::GroupFromFile) {
        let upload = upload::read(&parts.headers, body, &c.upload_dir, c.settings.max_upload_bytes).await?;
        return from_file(c, id, route.op, upload).await;
    }
    let body =
        chatedge_serve::read_body(&parts.headers, body, app.limits.max_body_bytes).await.map_err(ChatIncError::Body)?;
    match route.op {
        Op::CreateAudience => {
            let r = fields::audience(&body)?;
            let _lock = c.lock(&id).await;
            let mut audience = c.audience_to_fill(&id, &r.id, r.name, r.description)?;
            let mut batch = crate::store::Batch::new();
            let added = c.add_members(&id, &mut audience, &r.phones, &mut batch).map_err(CampaignError::from)?;
            c.store.commit(batch).await.map_err(CampaignError::from)?;
            ok(json!({"status": "success", "audience": audience, "added": added}))
        }
        Op::Audiences => {
            let audiences = c.audiences(&id).map_err(CampaignError::from)?;
            ok(json!({"status": "success", "audiences": audiences}))
        }
        Op::AudienceContacts => {
            let (aud, after, limit) = fields::page(&body, "id")?;
            let numbers = match aud.as_str() {
                ALL => c.next_recipients(&id, &[ALL.to_owned()], after.as_deref(), limit),
                _ => {
                    if c.audience(&id, &aud).map_err(CampaignError::from)?.is_none() {
                        return Err(CampaignError::NotFound { what: "audience", id: aud }.into());
                    }
                    c.audience_numbers(&id, &aud, after.as_deref(), limit)
                }
            }
            .map_err(CampaignError::from)?;
            let next = (numbers.len() == limit).then(|| numbers.last().cloned()).flatten();
            let contacts: Vec<Value> = numbers.iter().map(|n| json!({"number": n})).collect();
            ok(json!({"status": "success", "id": aud, "contacts": contacts, "next": next}))
        }
        Op::CreateGroup => {
            let r = fields::group(&body)?;
            let _lock = c.lock(&id).await;
            let mut group = c.group_to_fill(&id, &r.id, r.name, r.description, &r.fields)?;
            let mut batch = crate::store::Batch::new();
            let added = c.add_values(&id, &mut group, &r.values, &mut batch).map_err(CampaignError::from)?;
            c.store.commit(batch).await.map_err(CampaignError::from)?;
            ok(json!({"status": "success", "variableGroup": group, "added": added}))
        }
        Op::Groups => {
            // Seed 003: an array of {name, fields}; input groups are listed too.
            let groups = c.groups(&id).map_err(CampaignError::from)?;
            let list: Vec<Value> = groups
                .iter()
                .map(|g| json!({"id": g.id, "name": g.name, "description": g.description, "fields": g.fields, "numbers": g.numbers, "inputGroup": g.input}))
                .collect();
            ok(Value::Array(list))
        }
        Op::CreateCampaign => {
            let (new, run) = fields::campaign(&body)?;
            let campaign = c.create(id, new, run).await?;
            let view = view(c, &id, &campaign)?;
            ok(json!({"status": "success", "campaignId": campaign.id, "campaign": view}))
        }
        Op::RunCampaign => {
            let (cid, run) = fields::run(&body)?;
            let campaign = c.run(id, &cid, run).await?;
            let view = view(c, &id, &campaign)?;
            ok(json!({"status": "success", "campaignId": campaign.id, "campaign": view}))
        }
        Op::Campaigns => {
            let active = fields::active(query.as_deref(), &body)?;
            let mut list = Vec::new();
            for campaign in c.campaigns(&id)? {
                if active && !campaign.latest().is_some_and(|r| r.state.active()) {
                    continue;
                }
                // Seed 003's shape: one {status, campaigns: {…}} object per campaign.
                list.push(json!({"status": "success", "campaigns": view(c, &id, &campaign)?}));
            }
            ok(Value::Array(list))
        }
        Op::CampaignRows => rows(c, &id, fields::rows(&body)?).await,
        Op::Pause | Op::Resume | Op::Cancel => {
            let cid = fields::campaign_id(&body)?;
            let to = match route.op {
                Op::Pause => RunState::Paused,
                Op::Resume => RunState::Running,
                _ => RunState::Cancelled,
            };
            let campaign = c.control(id, &cid, to).await?;
            let view = view(c, &id, &campaign)?;
            ok(json!({"status": "success", "campaignId": campaign.id, "campaign": view}))
        }
        Op::DeleteAudience => {
            let aud = fields::catalog_id(&body, false)?;
            c.delete_audience(id, &aud).await?;
            ok(json!({"status": "success", "id": aud, "deleted": true}))
        }
        Op::DeleteGroup => {
            let group = fields::catalog_id(&body, true)?;
            c.delete_group(id, &group).await?;
            ok(json!({"status": "success", "id": group, "deleted": true}))
        }
        Op::DeleteCampaign => {
            let cid = fields::campaign_id(&body)?;
            c.delete_campaign(id, &cid).await?;
            ok(json!({"status": "success", "campaignId": cid, "deleted": true}))
        }
        Op::AudienceFromFile | Op::GroupFromFile => Err(ChatIncError::RouteNotFound),
    }
}

fn ok(v: Value) -> Result<Resp, ChatIncError> {
    Ok(chatedge_serve::json(StatusCode::OK, &v))
}

/// A form field holding an id.
fn form_id(upload: &upload::Upload, name: &str, group: bool) -> Result<Option<String>, ChatIncError> {
    match upload.text(name) {
        None => Ok(None),
        Some(v) if v.chars().count() <= MAX_ID_CHARS && valid_id(v, group) && v != ALL => Ok(Some(v.to_owned())),
        Some(_) => Err(ChatIncError::invalid(
            name,
            "must be 1 to 64 characters without control characters (and for a group no '.', '{' or '}')",
        )),
    }
}

/// The `…/from/file` routes: the CSV is read on the blocking pool under the catalog lock.
async fn from_file(
    c: &Arc<Campaigns>,
    id: chatedge_config::InstanceId,
    op: Op,
    upload: upload::Upload,
) -> Result<Resp, ChatIncError> {
    let group = op == Op::GroupFromFile;
    let target_id = form_id(&upload, "id", group)?.ok_or_else(|| ChatIncError::invalid("id", "is required"))?;
    let name = upload.text("name").map(|n| n.chars().take(crate::campaigns::model::MAX_NAME_CHARS).collect::<String>());
    let description = upload.text("description").map(str::to_owned);
    let audience_id = match group {
        true => form_id(&upload, "audienceId", false)?,
        false => None,
    };
    let Some(file) = upload.file else { return Err(ChatIncError::invalid("file", "is required: the CSV file")) };
    let lock = c.lock(&id).await;
    let target = match group {
        false => Target::Audience(c.audience_to_fill(&id, &target_id, name, description)?),
        true => {
            let audience = audience_id.map(|a| c.audience_to_fill(&id, &a, None, None)).transpose()?;
            Target::Group(c.group_to_fill(&id, &target_id, name, description, &[])?, audience)
        }
    };
    let me = c.clone();
    let imported = tokio::task::spawn_blocking(move || {
        let f =
            std::fs::File::open(&file.path).map_err(|e| CampaignError::Unavailable(format!("upload spool: {e}")))?;
        let result = me.import(&id, target, std::io::BufReader::new(f));
        drop(file);
        result
    })
    .await
    .map_err(|e| CampaignError::Unavailable(format!("import task: {e}")))?;
    drop(lock);
    let (target, report): (Target, ImportReport) = imported?;
    let mut body = serde_json::to_value(&report).unwrap_or_default();
    body["status"] = json!("success");
    match target {
        Target::Audience(a) => body["audience"] = json!(a),
        Target::Group(g, a) => {
            body["variableGroup"] = json!(g);
            if let Some(a) = a {
                body["audience"] = json!(a);
            }
        }
    }
    ok(body)
}

fn results(c: &Counters) -> Value {
    json!({
        "Sent": c.sent,
        "Delivered": c.delivered,
        "Read": c.read,
        "SendErrors": c.send_errors,
        "DeliveryErrors": c.delivery_errors,
        "NumbersNotOnWhatsApp": c.not_on_whatsapp,
        "OptedOut": c.opted_out,
        "ButtonPresses": c.button_presses,
        "Queued": c.queued,
        "deliveryRate": c.delivery_rate(),
        "readRate": c.read_rate(),
    })
}

/// A campaign in seed 003's shape (`campaignId`, `locale`, `templateId`, `totalSent`, …)
/// with its runs and results.
fn view(c: &Campaigns, instance: &chatedge_config::InstanceId, campaign: &Campaign) -> Result<Value, ChatIncError> {
    let (total, per_run) = c.results(instance, campaign)?;
    let runs: Vec<Value> = campaign
        .runs
        .iter()
        .zip(per_run.iter())
        .map(|(r, counters)| {
            let held = match r.state == RunState::Running {
                true => c.held(*instance, &campaign.id),
                false => None,
            };
            json!({
                "run": r.number,
                "audiences": r.audiences,
                "state": r.state.as_str(),
                "held": held.map(|a| json!({"by": a.by.as_str(), "limit": a.limit, "until": a.resets_ms})),
                "timeToRun": r.time_to_run_ms.map(|t| t / 1000),
                "startedAt": r.started_ms,
                "finishedAt": r.finished_ms,
                "results": results(counters),
            })
        })
        .collect();
    let variables: Vec<String> = campaign.variables.iter().map(|(g, f)| format!("{g}.{f}")).collect();
    Ok(json!({
        "campaignId": campaign.id,
        "title": campaign.title,
        "message": campaign.message,
        "imgUrl": campaign.img_url,
        "buttons": campaign.buttons,
        "variables": variables,
        "locale": campaign.language_code,
        "templateType": campaign.template_type,
        "templateId": campaign.template_name.clone().unwrap_or_else(|| campaign.id.clone()),
        "whatsAppTemplatesStatus": if campaign.template_name.is_some() { "AS_APPROVED_ON_NETWORK" } else { "NOT_REQUIRED" },
        "maxPerSecond": campaign.max_per_second,
        "state": campaign.state(),
        "createdAt": campaign.created_ms,
        "runs": runs,
        "totalSent": total.sent,
        "totalDelivered": total.delivered,
        "totalRead": total.read,
        "results": results(&total),
    }))
}

/// `POST /v1/retrieve/campaign`: one row per recipient, JSON or CSV. CSV without `limit` or
/// `after` is the whole run in one answer (seed 003), streamed when it is longer than a
/// chunk; otherwise a page, and a full page carries `X-Next-After` (the last number) to
/// continue from.
async fn rows(c: &Arc<Campaigns>, instance: &InstanceId, req: fields::RowsRequest) -> Result<Resp, ChatIncError> {
    let campaign = c
        .campaign(instance, &req.id)?
        .ok_or_else(|| CampaignError::NotFound { what: "campaign", id: req.id.clone() })?;
    let run = match req.run {
        Some(n) if campaign.runs.iter().any(|r| r.number == n) => n,
        Some(n) => return Err(ChatIncError::invalid("run", format!("campaign {} has no run {n}", req.id))),
        None => campaign.latest().map(|r| r.number).unwrap_or(1),
    };
    let source = export::RunRows { instance: *instance, campaign: req.id, run };
    let whole_run = req.format == fields::Format::Csv && req.limit.is_none() && req.after.is_none();
    if whole_run {
        // Taken before the first read, so a busy node refuses without reading.
        let permit = c.export_streams.clone().try_acquire_owned().map_err(|_| {
            c.metrics.campaign_exports.with_label_values(&["busy"]).inc();
            CampaignError::Unavailable("too many campaign exports are streaming on this node; retry shortly".into())
        })?;
        let first = source.read(c, None, export::STREAM_CHUNK).await?;
        if first.more {
            return Ok(export::stream_csv(c.clone(), source, first, permit)?);
        }
        c.metrics.campaign_exports.with_label_values(&["whole"]).inc();
        c.metrics.campaign_export_rows.inc_by(first.rows.len() as u64);
        return Ok(chatedge_serve::bytes(StatusCode::OK, export::CSV_TYPE, export::csv(&first.rows)?));
    }
    let page = source.read(c, req.after, req.limit.unwrap_or(export::PAGE)).await?;
    c.metrics.campaign_exports.with_label_values(&["page"]).inc();
    c.metrics.campaign_export_rows.inc_by(page.rows.len() as u64);
    let mut res = match req.format {
        fields::Format::Json => chatedge_serve::json(StatusCode::OK, &page.rows),
        fields::Format::Csv => chatedge_serve::bytes(StatusCode::OK, export::CSV_TYPE, export::csv(&page.rows)?),
    };
    if let Some(last) = page.rows.last().filter(|_| page.more) {
        if let Ok(v) = HeaderValue::from_str(&last.number) {
            res.headers_mut().insert("x-next-after", v);
        }
    }
    Ok(res)
}

/// `POST /admin/clock {"nowMs"}` on the data plane (admin token; only with `--test-clock`):
/// moves the campaigns' clock, so scheduled runs come due in tests.
pub async fn clock(app: &App, req: Request<Body>) -> Resp {
    let answer = |status: StatusCode, v: Value| chatedge_serve::json(status, &v);
    if !app.campaigns.clock.is_test() {
        return answer(
            StatusCode::NOT_FOUND,
            json!({"error": "Route not found", "message": "start with --test-clock"}),
        );
    }
    if req.method() != Method::POST {
        return answer(StatusCode::METHOD_NOT_ALLOWED, json!({"error": "Method not allowed", "message": "use POST"}));
    }
    if !auth::admin(&app.config.load(), req.headers()) {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "Unauthorized", "message": "the admin token is required"}),
        );
    }
    let (parts, body) = req.into_parts();
    let body = match chatedge_serve::read_body(&parts.headers, body, 4096).await {
        Ok(b) => b,
        Err(_) => return answer(StatusCode::BAD_REQUEST, json!({"error": "Bad body", "message": "nowMs is required"})),
    };
    let now = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v.get("nowMs").and_then(Value::as_u64));
    let Some(now) = now else {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "Invalid nowMs", "message": "nowMs (Unix ms) is required"}),
        );
    };
    match app.campaigns.set_clock(now).await {
        Ok(()) => answer(StatusCode::OK, json!({"nowMs": now})),
        Err(e) => answer(StatusCode::CONFLICT, json!({"error": "Clock refused", "message": e.to_string()})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::api_key;
    use hyper::header::AUTHORIZATION;

    #[test]
    fn every_seed_path_is_routed_with_its_methods() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            ("create/audience", Some(("chatinc.create-audience", "POST"))),
            ("create/audience/from/file", Some(("chatinc.create-audience-from-file", "POST"))),
            ("retrieve/audiences", Some(("chatinc.retrieve-audiences", "GET, POST"))),
            ("retrieve/audience/contacts", Some(("chatinc.retrieve-audience-contacts", "POST"))),
            ("create/variable/group", Some(("chatinc.create-variable-group", "POST"))),
            ("create/variable/group/from/file", Some(("chatinc.create-variable-group-from-file", "POST"))),
            ("retrieve/variable/groups", Some(("chatinc.retrieve-variable-groups", "GET, POST"))),
            ("create/campaign", Some(("chatinc.create-campaign", "POST"))),
            ("run/campaign", Some(("chatinc.run-campaign", "POST"))),
            ("retrieve/campaigns", Some(("chatinc.retrieve-campaigns", "GET, POST"))),
            ("retrieve/campaign", Some(("chatinc.retrieve-campaign", "POST"))),
            ("pause/campaign", Some(("chatinc.pause-campaign", "POST"))),
            ("cancel/campaign/x", None),
        ];
        for (path, want) in cases {
            let rest: Vec<&str> = path.split('/').collect();
            assert_eq!(find(&rest).map(|r| (r.label, r.methods)), *want, "{path}");
        }
    }

    #[test]
    fn the_api_key_is_the_bare_token_or_a_bearer_token() {
        let cases = [("tok123", Some("tok123")), ("Bearer tok123", Some("tok123")), ("Basic x y", None), ("", None)];
        for (header, want) in cases {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, HeaderValue::from_str(header).unwrap());
            assert_eq!(api_key(&h), want, "{header:?}");
        }
    }
}
