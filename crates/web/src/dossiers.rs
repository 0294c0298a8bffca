//! Filing dossiers: the JSON API (drafts, submission with a dossier code, my dossiers, events)
//! and the public lookup by dossier code ("Tra cứu hồ sơ").

use crate::api::{ApiLang, Caller, Problem};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::web::{render, render_status, Visitor};
use crate::AppState;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Instant;
use tl_core::catalog::Channel;
use tl_core::dossier::{DossierCode, DossierStatus};
use tl_core::form::ValidationContext;
use tl_storage::filer::Filing;
use tl_storage::{Account, Dossier, NewDossier};
use utoipa::ToSchema;

/// A JSON body: content type checked, size bounded by the router, unknown fields refused, and
/// every parse error a 400 problem that says where.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|c| c.starts_with("application/json"));
        if !json {
            return Err(AppError::UnsupportedMediaType);
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|_| AppError::TooLarge)?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut de).map(JsonBody).map_err(|e| {
            let at = e.path().to_string();
            let inner = e.into_inner();
            AppError::invalid(
                "malformed_json",
                format!("Dữ liệu JSON không hợp lệ tại `{at}` (dòng {}, cột {}): {inner}", inner.line(), inner.column()),
                format!("Invalid JSON at `{at}` (line {}, column {}): {inner}", inner.line(), inner.column()),
            )
        })
    }
}

fn require(c: Caller) -> AppResult<Account> {
    c.account_for(crate::oidc::protocol::API_DOSSIERS)
}

/// The caller's own dossier; someone else's looks exactly like a missing one.
async fn own(st: &AppState, me: &Account, id: &str) -> AppResult<Dossier> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let d = st.db.read().await?.get_dossier(id).await?.ok_or(AppError::NotFound)?;
    if d.applicant_id != me.id && d.acted_by_id != me.id {
        return Err(AppError::NotFound);
    }
    Ok(d)
}

#[derive(Serialize, ToSchema)]
pub struct DossierDoc {
    id: i64,
    /// The legal dossier code once filed, e.g. `H26.31-261126-0001`.
    code: Option<String>,
    procedure: String,
    version: i64,
    agency: String,
    /// `draft`, `submitted`, `accepted`, …
    status: String,
    /// The national portal's status code (1–10); none for a draft.
    status_code: Option<u8>,
    status_label: String,
    /// `online`, `in_person` or `post`.
    channel: String,
    #[schema(value_type = Object)]
    answers: serde_json::Value,
    /// Send it back with each change: a stale revision is refused with 409.
    revision: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    submitted_at: Option<DateTime<Utc>>,
    events: Option<Vec<EventDoc>>,
    /// Answers and components taken from the applicant's data store (one dossier's read only):
    /// the "reused" flag the national portal and the 766 index count.
    #[serde(skip_serializing_if = "Option::is_none")]
    from_data_store: Option<Vec<ProvenanceDoc>>,
}

#[derive(Serialize, ToSchema)]
pub struct ProvenanceDoc {
    field: String,
    /// `prefilled` (kept), `changed`, or none while a draft.
    origin: Option<String>,
    /// `self_declared`, `dossier` (verified at acceptance) or `result` (stated on a result).
    source: String,
    /// A stored document reused instead of an upload.
    reused_document: bool,
}

#[derive(Serialize, ToSchema)]
pub struct EventDoc {
    at: DateTime<Utc>,
    kind: String,
    status: String,
}

fn doc(d: &Dossier, lang: Lang, events: Option<Vec<tl_storage::DossierEvent>>) -> DossierDoc {
    DossierDoc {
        id: d.id,
        code: d.code.clone(),
        procedure: d.procedure_code.clone(),
        version: d.version_no,
        agency: d.agency_electronic_id.clone(),
        status: d.status.as_str().into(),
        status_code: d.status.npsp_code(),
        status_label: d.status.label(lang.code()).into(),
        channel: serde_json::to_value(d.channel).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        answers: d.answers.clone(),
        revision: d.revision,
        created_at: d.created_at,
        updated_at: d.updated_at,
        submitted_at: d.submitted_at,
        events: events.map(|ev| ev.into_iter().map(|e| EventDoc { at: e.at, kind: e.kind, status: e.status.as_str().into() }).collect()),
        from_data_store: None,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDossier {
    /// Procedure code, e.g. `1.001193`.
    procedure: String,
    /// Electronic ID of the receiving agency (one of the procedure's agencies).
    agency: String,
    /// Answers so far (may be incomplete: a draft).
    #[serde(default)]
    #[schema(value_type = Object)]
    answers: serde_json::Value,
    /// File at once: the answers are validated and the dossier gets its code in the same
    /// transaction (for complete filings with no uploads).
    #[serde(default)]
    submit: bool,
}

fn idempotency_key(h: &HeaderMap) -> AppResult<Option<String>> {
    match h.get("idempotency-key").map(|v| v.to_str()) {
        None => Ok(None),
        Some(Ok(k)) if (1..=100).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(k.to_owned())),
        Some(_) => Err(AppError::invalid(
            "bad_idempotency_key",
            "Idempotency-Key phải gồm 1–100 ký tự ASCII in được.",
            "Idempotency-Key must be 1–100 printable ASCII characters.",
        )),
    }
}

/// Starts a draft dossier. The same `Idempotency-Key` twice gives the same draft.
#[utoipa::path(post, path = "/api/v1/dossiers", tag = "dossiers", security(("bearer" = [])), request_body = CreateDossier,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first result")),
    responses((status = 201, body = DossierDoc), (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 401, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(st): State<AppState>,
    c: Caller,
    ApiLang(lang): ApiLang,
    headers: HeaderMap,
    JsonBody(b): JsonBody<CreateDossier>,
) -> AppResult<Response> {
    let me = require(c)?;
    let key = idempotency_key(&headers)?;
    tl_core::ids::check_procedure_code(&b.procedure).map_err(AppError::from)?;
    let snap = st.catalog.snapshot(&st.db).await?;
    let p = snap.procedure(&st.db, &b.procedure, None).await?.ok_or(AppError::NotFound)?;
    if p.version.form.is_none() {
        return Err(AppError::invalid(
            "not_online",
            "Thủ tục này chưa có biểu mẫu nộp trực tuyến.",
            "This procedure cannot be filed online yet.",
        ));
    }
    let agency = p.agencies.iter().find(|a| a.electronic_id == b.agency).ok_or_else(|| {
        AppError::invalid(
            "wrong_agency",
            "Cơ quan đã chọn không tiếp nhận thủ tục này.",
            "The chosen agency does not handle this procedure.",
        )
    })?;
    if !b.answers.is_object() && !b.answers.is_null() {
        return Err(AppError::invalid("answers_not_object", "`answers` phải là một đối tượng JSON.", "`answers` must be a JSON object."));
    }
    let new = NewDossier {
        procedure_code: p.code.clone(),
        version_no: p.version_no,
        agency_id: agency.id,
        applicant_id: me.id,
        acted_by_id: me.id,
        channel: Channel::Online,
        answers: if b.answers.is_null() { serde_json::json!({}) } else { b.answers },
        idempotency_key: key.clone(),
        // Microseconds: what PostgreSQL keeps, so a stored dossier compares equal to this one.
        now: chrono::SubsecRound::trunc_subsecs(Utc::now(), 6),
    };
    if b.submit {
        if let Err(errors) = p
            .version
            .form
            .as_ref()
            .expect("checked")
            .validate(&new.answers, &ValidationContext { today: crate::portal::today(), admin_units: None })
        {
            return Ok(invalid_answers(errors, lang));
        }
    }
    if b.submit {
        if p.version
            .form
            .as_ref()
            .expect("checked")
            .fields()
            .any(|f| matches!(f.kind, tl_core::form::FieldKind::File { .. }) && new.answers.get(&f.key).is_some())
        {
            return Err(AppError::invalid(
                "upload_first",
                "Hồ sơ có tệp đính kèm: tạo bản nháp, tải tệp lên rồi mới nộp.",
                "A dossier with attachments is filed in steps: create a draft, upload, then submit.",
            ));
        }
        let agency_eid = tl_core::ids::AgencyId::parse(&agency.electronic_id)
            .map_err(|_| AppError::Internal(anyhow::anyhow!("bad agency electronic ID in the catalog")))?;
        let filing = Filing::New(tl_storage::NewFiling { dossier: new.clone(), agency: agency_eid, day: crate::portal::today() });
        let d = match st.filer.file(filing.clone()).await {
            // Two requests with one key raced: once the other one committed, its dossier is the answer.
            Err(tl_storage::StoreError::Conflict(_)) if key.is_some() => st.filer.file(filing).await?,
            other => other?,
        };
        let status = if d.created_at == new.now { StatusCode::CREATED } else { StatusCode::OK };
        return Ok((status, Json(doc(&d, lang, None))).into_response());
    }
    let mut w = st.db.begin().await?;
    let d = match w.create_dossier(&new).await {
        Ok(d) => d,
        // Two requests with one key raced: the other one's draft is the answer.
        Err(tl_storage::StoreError::Conflict(_)) if key.is_some() => {
            drop(w);
            let mut w = st.db.begin().await?;
            let d = w.create_dossier(&new).await?;
            w.commit().await?;
            return Ok((StatusCode::OK, Json(doc(&d, lang, None))).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(doc(&d, lang, None))).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDossier {
    /// The revision the change was made on.
    revision: i64,
    #[schema(value_type = Object)]
    answers: serde_json::Value,
}

/// Saves a draft's answers (they may be incomplete until submission).
#[utoipa::path(put, path = "/api/v1/dossiers/{id}", tag = "dossiers", security(("bearer" = [])), request_body = UpdateDossier,
    params(("id" = i64, Path)),
    responses((status = 200, body = DossierDoc), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Changed meanwhile, or no longer a draft", body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(st): State<AppState>,
    c: Caller,
    ApiLang(lang): ApiLang,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateDossier>,
) -> AppResult<Json<DossierDoc>> {
    let me = require(c)?;
    let d = own(&st, &me, &id).await?;
    if !b.answers.is_object() {
        return Err(AppError::invalid("answers_not_object", "`answers` phải là một đối tượng JSON.", "`answers` must be a JSON object."));
    }
    let mut w = st.db.begin().await?;
    let d = w.update_draft(d.id, b.revision, &b.answers, Utc::now()).await.map_err(changed)?;
    w.commit().await?;
    Ok(Json(doc(&d, lang, None)))
}

fn changed(e: tl_storage::StoreError) -> AppError {
    match e {
        tl_storage::StoreError::Conflict(_) => {
            AppError::Conflict("hồ sơ đã thay đổi hoặc đã được nộp / the dossier has changed or was already filed".into())
        }
        other => other.into(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitDossier {
    revision: i64,
}

/// Answers that break the form: 422 with every problem, each with its field path.
#[derive(Serialize, ToSchema)]
pub struct InvalidAnswers {
    r#type: String,
    title: String,
    status: u16,
    code: String,
    errors: Vec<AnswerErrorDoc>,
}

#[derive(Serialize, ToSchema)]
pub struct AnswerErrorDoc {
    /// e.g. `members[1].name`
    field: String,
    code: String,
    message: String,
}

fn invalid_answers(errors: Vec<tl_core::form::AnswerError>, lang: Lang) -> Response {
    let body = InvalidAnswers {
        r#type: "https://thanglong.gov.vn/problems/invalid_answers".into(),
        title: if lang == Lang::En { "Some answers need fixing".into() } else { "Một số thông tin cần sửa".into() },
        status: 422,
        code: "invalid_answers".into(),
        errors: errors
            .into_iter()
            .map(|e| AnswerErrorDoc {
                field: e.path,
                code: e.code.into(),
                message: if lang == Lang::En { e.message_en } else { e.message_vi },
            })
            .collect(),
    };
    let mut r = (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/problem+json"));
    r
}

/// Files a draft: validates every answer, gives it a dossier code and status 1 (Mới đăng ký).
/// Submitting an already filed dossier again returns it unchanged.
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/submit", tag = "dossiers", security(("bearer" = [])), request_body = SubmitDossier,
    params(("id" = i64, Path)),
    responses((status = 200, body = DossierDoc), (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 422, description = "Answers break the form", body = InvalidAnswers, content_type = "application/problem+json")))]
pub async fn submit(
    State(st): State<AppState>,
    c: Caller,
    ApiLang(lang): ApiLang,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<SubmitDossier>,
) -> AppResult<Response> {
    let me = require(c)?;
    let d = own(&st, &me, &id).await?;
    if d.status == DossierStatus::Draft {
        let p = st
            .db
            .read()
            .await?
            .get_procedure(&d.procedure_code, crate::portal::today(), Some(d.version_no))
            .await?
            .ok_or(AppError::NotFound)?;
        let form = p.version.form.as_ref().ok_or_else(|| {
            AppError::invalid("not_online", "Thủ tục này chưa có biểu mẫu nộp trực tuyến.", "This procedure cannot be filed online yet.")
        })?;
        let ctx = ValidationContext { today: crate::portal::today(), admin_units: None };
        let mut all = form.validate(&d.answers, &ctx).err().unwrap_or_default();
        all.extend(crate::uploads::check_attachments(&st, &d, form).await?);
        if !all.is_empty() {
            return Ok(invalid_answers(all, lang));
        }
    }
    let filing = Filing::Draft { id: d.id, revision: b.revision, day: crate::portal::today(), now: Utc::now() };
    let filed = st.filer.file(filing).await.map_err(changed)?;
    Ok(Json(doc(&filed, lang, None)).into_response())
}

/// The caller's dossiers, newest first.
#[utoipa::path(get, path = "/api/v1/dossiers", tag = "dossiers", security(("bearer" = [])), responses((status = 200, body = Vec<DossierDoc>), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn list(State(st): State<AppState>, c: Caller, ApiLang(lang): ApiLang) -> AppResult<Json<Vec<DossierDoc>>> {
    let me = require(c)?;
    let rows = st.db.read().await?.list_dossiers_of(me.id, 200).await?;
    Ok(Json(rows.iter().map(|d| doc(d, lang, None)).collect()))
}

/// One of the caller's dossiers with its events.
#[utoipa::path(get, path = "/api/v1/dossiers/{id}", tag = "dossiers", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = DossierDoc), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(st): State<AppState>,
    c: Caller,
    ApiLang(lang): ApiLang,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Json<DossierDoc>> {
    let client = c.client_id().map(str::to_owned);
    let me = require(c)?;
    let d = own(&st, &me, &id).await?;
    // Read by whoever filed it for the applicant: a partner system, an officer at the counter.
    let reader = crate::access::Reader::of_api(&me, vec![], client.as_deref(), &headers);
    crate::access::dossier_read(&st, &reader, &d, "api.dossier", None).await;
    let mut r = st.db.read().await?;
    let events = r.list_dossier_events(d.id).await?;
    let provenance = r.list_provenance(d.id).await?;
    drop(r);
    let mut out = doc(&d, lang, Some(events));
    out.from_data_store = Some(
        provenance
            .into_iter()
            .map(|p| ProvenanceDoc {
                field: p.field,
                origin: p.origin.map(|o| o.as_str().to_owned()),
                source: p.source.as_str().to_owned(),
                reused_document: p.document_id.is_some(),
            })
            .collect(),
    );
    Ok(Json(out))
}

/// Deletes a draft (a filed dossier cannot be deleted: withdraw it instead).
#[utoipa::path(delete, path = "/api/v1/dossiers/{id}", tag = "dossiers", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn delete(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<StatusCode> {
    let me = require(c)?;
    let d = own(&st, &me, &id).await?;
    let mut w = st.db.begin().await?;
    if !w.delete_draft(d.id).await? {
        return Err(AppError::Conflict("chỉ xóa được hồ sơ nháp / only drafts can be deleted".into()));
    }
    w.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The form of a procedure: its steps and fields, and the JSON Schema of valid answers.
#[utoipa::path(get, path = "/api/v1/procedures/{code}/form", tag = "catalog", params(("code" = String, Path)),
    responses((status = 200, description = "`{definition, json_schema}`", body = Object), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn form(State(st): State<AppState>, Path(code): Path<String>) -> AppResult<Json<serde_json::Value>> {
    tl_core::ids::check_procedure_code(&code).map_err(AppError::from)?;
    let snap = st.catalog.snapshot(&st.db).await?;
    let p = snap.procedure(&st.db, &code, None).await?.ok_or(AppError::NotFound)?;
    let f = p.version.form.as_ref().ok_or(AppError::NotFound)?;
    Ok(Json(serde_json::json!({"procedure": p.code, "version": p.version_no, "definition": f, "json_schema": f.json_schema()})))
}

#[derive(Deserialize)]
pub struct LookupQuery {
    code: Option<String>,
}

/// Public lookup by dossier code: status and dates only, never personal data. An unknown code
/// and a code in the wrong format get the same answer, and lookups are rate limited per address.
pub async fn lookup(State(st): State<AppState>, v: Visitor, Query(q): Query<LookupQuery>) -> AppResult<Response> {
    let code = q.code.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let Some(code) = code else {
        return render(&st, &v, "lookup.html", minijinja::context! {});
    };
    if let Err(wait) = st.lookups.hit(v.ip, Instant::now()) {
        return Err(AppError::TooManyRequests { retry_after_secs: wait });
    }
    let found = match DossierCode::parse(code) {
        Some(c) => st.db.read().await?.get_dossier_by_code(&c.to_string()).await?,
        None => None,
    };
    let Some(d) = found else {
        let ctx = minijinja::context! { code => code, not_found => true };
        return render_status(&st, &v, "lookup.html", ctx, StatusCode::NOT_FOUND);
    };
    let events: Vec<_> = st
        .db
        .read()
        .await?
        .list_dossier_events(d.id)
        .await?
        .into_iter()
        .filter(|e| e.status != DossierStatus::Draft)
        .map(|e| minijinja::context! { at => e.at, status => e.status.label(v.lang.code()) })
        .collect();
    let ctx = minijinja::context! {
        code => d.code, status => d.status.label(v.lang.code()), status_code => d.status.npsp_code(),
        procedure => d.procedure_code, submitted_at => d.submitted_at, events => events,
    };
    render(&st, &v, "lookup.html", ctx)
}

impl IntoResponse for InvalidAnswers {
    fn into_response(self) -> Response {
        (StatusCode::UNPROCESSABLE_ENTITY, Json(self)).into_response()
    }
}
