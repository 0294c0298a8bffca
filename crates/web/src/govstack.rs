//! The GovStack Registration Building Block API, applicant side, served under
//! `/govstack/registration/` (`../shared/specs/govstack/registration/`): a system built for
//! GovStack lists our procedures as services, reads their e-forms as JSON Schema, uploads
//! documents and files applications, which become ordinary dossiers with legal codes.
//!
//! Mapping:
//! - service = a procedure (its version in force); `serviceId` is a UUID derived from the
//!   procedure code (stable across servers and restarts); the code itself is accepted too.
//! - e-form = a procedure version's form; `eFormId` is derived from the code and version.
//! - application file = a dossier; `fileId` is its dossier code (`H26.31-261126-0001`).
//! - `statusModel`: Mới đăng ký/tiếp nhận/đang xử lý → PENDING, bổ sung → SENDBACK, đã xử lý
//!   xong/đã trả kết quả → APPROVED (REJECTED when the decision was a refusal), không tiếp
//!   nhận/dừng/rút → REJECTED.
//! - Callers authenticate with our bearer tokens; `applicantId` must name the caller (its
//!   login: personal ID number or tax code). The spec's `Information-Mediator-Client` header
//!   (INSTANCE/CLASS/MEMBER/SUBSYSTEM) is required on application calls and kept in the audit.
//! - `formData.data`: the spec types each value as an object, so answers come back as
//!   `{"field": {"value": …}}`; both that form and plain values are accepted on the way in.
//! - Errors are the spec's `systemError`: `message` in English, `localizedMessage` in Vietnamese
//!   (or English with `Accept-Language: en`), `traceId` the request id.
//! - The operator side (tasks, an operator's update of an application, statistics) is in
//!   [`operator`].

mod operator;

use crate::api::{ApiLang, Caller};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::oidc::protocol::{GOVSTACK_APPLICATIONS, GOVSTACK_TASKS};
use crate::AppState;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tl_core::dossier::DossierStatus;
use tl_core::form::{FieldKind, FormDef, ValidationContext};
use tl_storage::{Account, Dossier, NewDossier, ProcedureDetail};

pub const BASE: &str = "/govstack/registration";

pub fn routes() -> Router<AppState> {
    Router::new().nest(
        BASE,
        Router::new()
            .route("/openapi.json", get(spec))
            .route("/services", get(services))
            .route("/services/{id}", get(service))
            .route("/services/{id}/eForms", get(eforms))
            .route("/eForms/{id}", get(eform))
            .route("/services/{id}/applications", post(apply))
            .route("/documents", post(upload_document).layer(axum::extract::DefaultBodyLimit::disable()))
            .route("/applications", get(applications))
            .route("/applications/{file_id}", get(application).put(operator::update_application))
            .route("/tasks", get(operator::tasks))
            .route("/tasks/{task_id}", get(operator::task))
            .route("/tasks/{task_id}/complete", post(operator::complete))
            .route("/data/statistics", get(operator::statistics)),
    )
}

/// A name-based UUID (RFC 9562 version 8: SHA-256 of a namespaced name), so a procedure's
/// serviceId is the same on every server and after every restart.
pub fn uuid_of(kind: &str, name: &str) -> String {
    let h = Sha256::digest(format!("thanglong:{kind}:{name}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &x[..8], &x[8..12], &x[12..16], &x[16..20], &x[20..])
}

fn service_id(code: &str) -> String {
    uuid_of("procedure", code)
}

fn eform_id(code: &str, version_no: i64) -> String {
    uuid_of("form", &format!("{code}@{version_no}"))
}

/// The official specification, for clients that generate code from it.
async fn spec() -> Response {
    let mut r = include_str!("../assets/govstack/registration-openapi.json").into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The procedure code a serviceId names (the derived UUID, or the code itself).
async fn resolve(st: &AppState, id: &str) -> AppResult<ProcedureDetail> {
    let snap = st.catalog.snapshot(&st.db).await?;
    let code = if tl_core::ids::check_procedure_code(id).is_ok() {
        Some(id.to_owned())
    } else {
        let id = id.to_ascii_lowercase();
        snap.index.docs().map(|d| &d.payload.code).find(|c| service_id(c) == id).cloned()
    };
    let code = code.ok_or(AppError::NotFound)?;
    Ok(snap.procedure(&st.db, &code, None).await?.ok_or(AppError::NotFound)?.as_ref().clone())
}

fn service_doc(p: &ProcedureDetail, lang: Lang) -> Value {
    let l = lang.code();
    let v = &p.version;
    let mut body = vec![
        json!({"code": "procedureCode", "value": p.code}),
        json!({"code": "field", "value": p.field_name.get(l)}),
        json!({"code": "serviceLevel", "value": v.level.label(l)}),
        json!({"code": "result", "value": v.result.get(l)}),
        json!({"code": "agencies", "value": p.agencies.iter().map(|a| a.electronic_id.as_str()).collect::<Vec<_>>().join(",")}),
        json!({"code": "effectiveFrom", "value": v.effective_from.format("%d/%m/%Y").to_string()}),
        json!({"code": "portalUrl", "value": format!("/procedures/{}", p.code)}),
    ];
    if let Some(t) = v.time_limits.first() {
        body.push(json!({"code": "timeLimit", "value": t.unit.label(l, t.value)}));
    }
    if let Some(f) = &v.form {
        body.push(json!({"code": "eFormId", "value": eform_id(&p.code, p.version_no)}));
        let files: Vec<String> = f.fields().filter(|f| matches!(f.kind, FieldKind::File { .. })).map(|f| f.key.clone()).collect();
        if !files.is_empty() {
            body.push(json!({"code": "documentFields", "value": files.join(",")}));
        }
    }
    json!({
        "id": service_id(&p.code),
        "name": v.name.get(l),
        "version": p.version_no.to_string(),
        "type": "Public",
        "isExecutable": v.form.is_some(),
        "isClosed": false,
        "description": v.result.get(l),
        "serviceBody": body,
    })
}

#[derive(Deserialize)]
struct ServicesQuery {
    name: Option<String>,
}

async fn services(State(st): State<AppState>, ApiLang(lang): ApiLang, Query(q): Query<ServicesQuery>) -> AppResult<Json<Vec<Value>>> {
    let snap = st.catalog.snapshot(&st.db).await?;
    let wanted = q.name.as_deref().map(tl_core::text::fold).filter(|s| !s.is_empty());
    let mut out = vec![];
    for d in snap.index.docs() {
        if wanted.as_ref().is_some_and(|w| !d.name.contains(w.as_str())) {
            continue;
        }
        if let Some(p) = snap.procedure(&st.db, &d.payload.code, None).await? {
            out.push(service_doc(&p, lang));
        }
    }
    Ok(Json(out))
}

async fn service(State(st): State<AppState>, ApiLang(lang): ApiLang, Path(id): Path<String>) -> AppResult<Json<Value>> {
    Ok(Json(service_doc(&resolve(&st, &id).await?, lang)))
}

fn eform_item(p: &ProcedureDetail, version_no: i64, name: &str, lang: Lang) -> Value {
    json!({
        "eFormId": eform_id(&p.code, version_no),
        "name": name,
        "description": if lang == Lang::En { format!("Application form of procedure {}", p.code) } else { format!("Biểu mẫu nộp hồ sơ thủ tục {}", p.code) },
        "version": version_no.to_string(),
        "latest": version_no == p.version_no,
    })
}

async fn eforms(State(st): State<AppState>, ApiLang(lang): ApiLang, Path(id): Path<String>) -> AppResult<Json<Vec<Value>>> {
    let p = resolve(&st, &id).await?;
    Ok(Json(match &p.version.form {
        Some(_) => vec![eform_item(&p, p.version_no, p.version.name.get(lang.code()), lang)],
        None => vec![],
    }))
}

/// An e-form of the version in force (earlier versions' forms are not offered for new filings).
async fn eform(State(st): State<AppState>, ApiLang(lang): ApiLang, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let snap = st.catalog.snapshot(&st.db).await?;
    let id = id.to_ascii_lowercase();
    for d in snap.index.docs() {
        if eform_id(&d.payload.code, d.payload.version_no) == id {
            let p = snap.procedure(&st.db, &d.payload.code, None).await?.ok_or(AppError::NotFound)?;
            let form = p.version.form.as_ref().ok_or(AppError::NotFound)?;
            let mut v = eform_item(&p, p.version_no, p.version.name.get(lang.code()), lang);
            v["schema"] = form.json_schema();
            return Ok(Json(v));
        }
    }
    Err(AppError::NotFound)
}

/// `INSTANCE/CLASS/MEMBER/SUBSYSTEM`, as the Information Mediator sets it.
fn mediator_client(headers: &HeaderMap) -> AppResult<String> {
    let bad = || {
        AppError::invalid(
            "information_mediator_client",
            "Thiếu hoặc sai tiêu đề Information-Mediator-Client (dạng INSTANCE/CLASS/MEMBER/SUBSYSTEM).",
            "The Information-Mediator-Client header is missing or malformed (INSTANCE/CLASS/MEMBER/SUBSYSTEM).",
        )
    };
    let v = headers.get("information-mediator-client").and_then(|v| v.to_str().ok()).ok_or_else(bad)?;
    let parts: Vec<&str> = v.split('/').collect();
    let ok = parts.len() == 4
        && v.len() <= 200
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)));
    if ok {
        Ok(v.to_owned())
    } else {
        Err(bad())
    }
}

fn status_model(s: DossierStatus, lang: Lang) -> Value {
    let code = match s {
        DossierStatus::Draft
        | DossierStatus::Submitted
        | DossierStatus::Accepted
        | DossierStatus::Processing
        | DossierStatus::PaymentRequested
        | DossierStatus::WithdrawalRequested => "PENDING",
        DossierStatus::SupplementRequested => "SENDBACK",
        DossierStatus::Processed | DossierStatus::ResultReturned => "APPROVED",
        DossierStatus::NotAccepted | DossierStatus::Stopped => "REJECTED",
    };
    json!({"code": code, "title": s.label(lang.code())})
}

/// A file's status: its dossier status, except that a refusal after review (decided, the
/// written reasons on their way back) is REJECTED, not APPROVED.
fn file_status(d: &Dossier, lang: Lang) -> Value {
    let mut v = status_model(d.status, lang);
    if d.flow.outcome.as_deref() == Some("refused") {
        v["code"] = json!("REJECTED");
    }
    v
}

fn ended(s: DossierStatus) -> bool {
    matches!(s, DossierStatus::ResultReturned | DossierStatus::NotAccepted | DossierStatus::Stopped)
}

fn document_url(file_id: &str) -> String {
    format!("{BASE}/documents/{file_id}")
}

fn file_ids(d: &Dossier, form: &FormDef) -> Vec<String> {
    form.fields()
        .filter(|f| matches!(f.kind, FieldKind::File { .. }))
        .flat_map(|f| d.answers.get(&f.key).and_then(Value::as_array).cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn application_doc(d: &Dossier, p: &ProcedureDetail, me: &Account, lang: Lang) -> Value {
    let form = p.version.form.as_ref();
    // The spec types every formData.data value as an object: each answer is `{"value": …}`.
    let answers: Map<String, Value> =
        d.answers.as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), json!({"value": v}))).collect()).unwrap_or_default();
    json!({
        "fileId": d.code.clone().unwrap_or_else(|| d.id.to_string()),
        "applicantId": me.login,
        "registered": d.submitted_at,
        "serviceId": service_id(&p.code),
        "serviceName": p.version.name.get(lang.code()),
        "status": file_status(d, lang),
        "ended": ended(d.status),
        "applicationData": {
            "applicantId": me.login,
            "created": d.created_at,
            "formData": {"eFormId": eform_id(&p.code, d.version_no), "data": answers},
            "documentUrls": form.map(|f| file_ids(d, f)).unwrap_or_default().iter().map(|f| document_url(f)).collect::<Vec<_>>(),
        },
    })
}

/// The procedure version a dossier was filed under.
async fn procedure_of(st: &AppState, d: &Dossier) -> AppResult<ProcedureDetail> {
    let snap = st.catalog.snapshot(&st.db).await?;
    Ok(snap.procedure(&st.db, &d.procedure_code, Some(d.version_no)).await?.ok_or(AppError::NotFound)?.as_ref().clone())
}

/// The applicant side's caller: a person's or business's token, or a partner system's
/// client-credentials token with `govstack:applications` acting as its service account.
fn caller(c: Caller) -> AppResult<Account> {
    c.account_for(GOVSTACK_APPLICATIONS)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApplicationSubmit {
    #[serde(default)]
    application_name: Option<String>,
    applicant_id: String,
    #[serde(default)]
    form_data: Option<FormData>,
    #[serde(default)]
    document_urls: Vec<String>,
    /// Our extension: the receiving agency's electronic ID when the procedure has several.
    #[serde(default)]
    agency_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FormData {
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    e_form_id: Option<String>,
}

/// Files an application: the answers and uploaded documents become a dossier, validated like
/// any other and filed at once (status 1, a legal code) in one transaction.
async fn apply(
    State(st): State<AppState>,
    c: Caller,
    ApiLang(lang): ApiLang,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let client = mediator_client(&headers)?;
    let oauth_client = c.client_id().map(str::to_owned);
    let me = caller(c)?;
    let p = resolve(&st, &id).await?;
    let b: ApplicationSubmit = serde_json::from_slice(&body).map_err(|e| {
        AppError::invalid(
            "malformed_json",
            format!("Dữ liệu không đúng định dạng applicationFileSubmit: {e}"),
            format!("The body is not a valid applicationFileSubmit: {e}"),
        )
    })?;
    // The applicant: the caller, or someone the caller may file this procedure for (the business
    // it works for, a person who authorised it — a partner organisation's service account too).
    let applicant = if b.applicant_id == me.login || b.applicant_id == me.id.to_string() {
        me.clone()
    } else {
        let mismatch = || {
            AppError::invalid(
                "applicant_mismatch",
                "applicantId phải là tài khoản đang gọi, hoặc người (doanh nghiệp) đã ủy quyền cho tài khoản này nộp thủ tục này và ủy quyền còn hiệu lực.",
                "applicantId must be the calling account, or a person (business) who authorised this account to file this procedure, with the authorisation still in force.",
            )
        };
        let login = crate::auth::normalise_login(&b.applicant_id);
        let found = if login.is_empty() || login.len() > 100 { None } else { st.db.read().await?.find_account_by_login(&login).await? };
        let principal = found.ok_or_else(mismatch)?;
        if !crate::delegation::may_act_for(&st, &me, principal.id, &p.code).await? {
            return Err(mismatch());
        }
        principal
    };
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).filter(|k| !k.is_empty() && k.len() <= 200).map(str::to_owned);
    if let Some(k) = &key {
        // A retry (a timeout, a double send): the application the key already made.
        if let Some(d) = st.db.read().await?.find_dossier_by_key(applicant.id, k).await?.filter(|d| d.status != DossierStatus::Draft) {
            return Ok(Json(application_doc(&d, &procedure_of(&st, &d).await?, &applicant, lang)).into_response());
        }
    }
    let form = p.version.form.clone().ok_or_else(|| {
        AppError::invalid("not_online", "Thủ tục này chưa có biểu mẫu nộp trực tuyến.", "This procedure cannot be filed online yet.")
    })?;
    let fd = b.form_data.unwrap_or(FormData { data: None, e_form_id: None });
    if let Some(e) = fd.e_form_id.as_deref() {
        if e.to_ascii_lowercase() != eform_id(&p.code, p.version_no) {
            return Err(AppError::invalid(
                "eform_not_current",
                "eFormId không phải biểu mẫu đang áp dụng của dịch vụ này; hãy đọc lại /services/{id}/eForms.",
                "eFormId is not this service's form in force; read /services/{id}/eForms again.",
            ));
        }
    }
    let mut answers = match fd.data {
        None | Some(Value::Null) => Map::new(),
        // Plain answers, or the spec's object-typed values `{"value": …}`.
        Some(Value::Object(m)) => m
            .into_iter()
            .map(|(k, v)| match v {
                Value::Object(mut o) if o.len() == 1 && o.contains_key("value") => (k, o.remove("value").expect("checked")),
                other => (k, other),
            })
            .collect(),
        Some(_) => {
            return Err(AppError::invalid(
                "data_not_object",
                "formData.data phải là một đối tượng JSON.",
                "formData.data must be a JSON object.",
            ))
        }
    };
    let agency = match (b.agency_id.as_deref(), p.agencies.as_slice()) {
        (Some(a), list) => list.iter().find(|x| x.electronic_id == a),
        (None, [only]) => Some(only),
        (None, _) => None,
    }
    .ok_or_else(|| {
        let ids = p.agencies.iter().map(|a| a.electronic_id.as_str()).collect::<Vec<_>>().join(", ");
        AppError::invalid(
            "agency_required",
            format!("Chọn cơ quan tiếp nhận bằng trường agencyId, một trong: {ids}."),
            format!("Name the receiving agency in agencyId, one of: {ids}."),
        )
    })?
    .clone();

    // Documents: each URL must be one of the caller's uploads that no dossier holds yet; it
    // goes to the upload field named at upload time, or the form's only field taking its type.
    let mut r = st.db.read().await?;
    let mut bindings = vec![];
    for url in &b.document_urls {
        let fid = url.rsplit('/').next().unwrap_or("");
        let unknown = || {
            AppError::invalid(
                "unknown_document",
                format!("Không tìm thấy tài liệu {url} (hoặc tài liệu đã thuộc hồ sơ khác)."),
                format!("Document {url} does not exist (or already belongs to another application)."),
            )
        };
        let f = r.get_file(fid).await?.filter(|f| f.owner_id == me.id && f.dossier_id.is_none()).ok_or_else(unknown)?;
        let takes = |kind: &FieldKind| matches!(kind, FieldKind::File { accept, .. } if accept.iter().any(|a| a == &f.content_type));
        let candidates: Vec<_> = form.fields().filter(|x| takes(&x.kind) && (f.field.is_empty() || x.key == f.field)).collect();
        let [field] = candidates.as_slice() else {
            return Err(AppError::invalid(
                "document_field",
                format!("Không xác định được tài liệu {url} thuộc mục nào; khi tải lên hãy ghi tên mục vào additionalMetadata."),
                format!("Cannot tell which item document {url} is for; name the form field in additionalMetadata when uploading."),
            ));
        };
        let FieldKind::File { component, .. } = &field.kind else { unreachable!("filtered on file fields") };
        let ids = answers.entry(field.key.clone()).or_insert_with(|| Value::Array(vec![]));
        match ids.as_array_mut() {
            Some(list) => list.push(Value::String(f.id.clone())),
            None => *ids = Value::Array(vec![Value::String(f.id.clone())]),
        }
        bindings.push((f.id.clone(), field.key.clone(), component.clone()));
    }
    drop(r);
    let answers = Value::Object(answers);
    if let Err(errors) = form.validate(&answers, &ValidationContext { today: crate::portal::today(), admin_units: None }) {
        let l = usize::from(lang == Lang::En);
        let list: Vec<Value> = errors
            .into_iter()
            .map(|e| json!({"field": e.path, "code": e.code, "message": e.message_en, "localizedMessage": if l == 1 { e.message_en.clone() } else { e.message_vi }}))
            .collect();
        let body = json!({
            "traceId": headers.get(&crate::middleware::REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or(""),
            "code": "invalid_answers",
            "message": "Some answers break the e-form.",
            "localizedMessage": if l == 1 { "Some answers break the e-form." } else { "Một số thông tin trong biểu mẫu cần sửa." },
            "status": 422,
            "errors": list,
        });
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
    }
    let now = Utc::now();
    let new = NewDossier {
        procedure_code: p.code.clone(),
        version_no: p.version_no,
        agency_id: agency.id,
        applicant_id: applicant.id,
        acted_by_id: me.id,
        channel: tl_core::catalog::Channel::Online,
        answers,
        idempotency_key: key,
        now,
    };
    let mut w = st.db.begin().await?;
    let draft = w.create_dossier(&new).await?;
    let d = if draft.status == DossierStatus::Draft {
        for (fid, field, component) in &bindings {
            if !w.bind_file(fid, me.id, draft.id, field, component).await? {
                return Err(AppError::Conflict("tài liệu vừa được dùng cho hồ sơ khác / a document was just used elsewhere".into()));
            }
        }
        w.submit_dossier(draft.id, draft.revision, crate::portal::today(), now).await?
    } else {
        draft // a retry that raced the first request: the application it made
    };
    w.append_audit(&tl_storage::AuditEntry {
        at: now,
        actor_id: Some(me.id),
        actor_label: me.login.clone(),
        action: "govstack.application".into(),
        target_type: "dossier".into(),
        target_id: d.id.to_string(),
        detail: json!({"client": client, "oauth_client": oauth_client, "service": p.code, "code": d.code, "name": b.application_name,
            "applicant": applicant.login}),
        ip: None,
        request_id: headers.get(&crate::middleware::REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned),
    })
    .await?;
    w.commit().await?;
    Ok(Json(application_doc(&d, &p, &applicant, lang)).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UploadQuery {
    /// Our use of the spec's free metadata: the e-form's upload field the document is for.
    additional_metadata: Option<String>,
}

/// Takes one document (multipart part `file`), checked like every upload: content sniffed,
/// size limited, hashed. It waits, bound to no dossier, until an application names its URL;
/// unclaimed documents are removed after the upload retention.
async fn upload_document(
    State(st): State<AppState>,
    c: Caller,
    Query(q): Query<UploadQuery>,
    mut multipart: Multipart,
) -> AppResult<Response> {
    let me = caller(c)?;
    let field = q.additional_metadata.unwrap_or_default();
    if field.len() > 64 || !field.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(AppError::invalid(
            "bad_metadata",
            "additionalMetadata phải là tên một mục của biểu mẫu.",
            "additionalMetadata must be a form field's key.",
        ));
    }
    let malformed = |_| AppError::invalid("malformed_multipart", "Dữ liệu multipart không hợp lệ.", "The multipart body is malformed.");
    let mut stored = None;
    while let Some(part) = multipart.next_field().await.map_err(malformed)? {
        if part.name() != Some("file") {
            continue;
        }
        if stored.is_some() {
            return Err(AppError::invalid("one_file", "Mỗi lần gửi một tài liệu.", "Send one document per request."));
        }
        let declared = part.content_type().map(|s| s.split(';').next().unwrap_or("").trim().to_owned());
        let name: String = part.file_name().unwrap_or("tai-lieu").chars().filter(|c| !c.is_control()).take(200).collect();
        let id = crate::new_token("")[..22].to_owned();
        let accept = ["application/pdf".to_owned(), "image/jpeg".to_owned(), "image/png".to_owned()];
        let room = st.config.max_dossier_bytes as u64;
        let s = crate::uploads::stream_in(&st, &id, room, declared.as_deref(), &accept, part).await?;
        let f = tl_storage::StoredFile {
            id: id.clone(),
            owner_id: me.id,
            dossier_id: None,
            field: field.clone(),
            component: String::new(),
            name,
            content_type: s.content_type.to_owned(),
            size: s.size as i64,
            sha256: s.sha256,
            storage_key: id,
            created_at: Utc::now(),
            digitised: false,
        };
        st.blobs.commit(s.file, &s.temp, &f.storage_key).await.map_err(|e| AppError::Internal(e.into()))?;
        let mut w = st.db.begin().await?;
        w.insert_file(&f).await?;
        w.commit().await?;
        stored = Some(f);
    }
    let f = stored.ok_or_else(|| AppError::invalid("no_file", "Không có tệp trong phần `file`.", "No file in the `file` part."))?;
    Ok(Json(json!({"code": 200, "type": f.content_type, "message": format!("sha256:{}", f.sha256), "url": document_url(&f.id)}))
        .into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    service_id: Option<String>,
    applicant_id: Option<String>,
    first_result: Option<usize>,
    max_result: Option<usize>,
    sort_by: Option<String>,
    sort_order: Option<String>,
}

/// The caller's application files (an operator's view comes with the back office).
async fn applications(
    State(st): State<AppState>,
    c: Caller,
    ApiLang(lang): ApiLang,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<Vec<Value>>> {
    mediator_client(&headers)?;
    let client = c.client_id().map(str::to_owned);
    let me = caller(c)?;
    let reader = crate::access::Reader::of_api(&me, vec![], client.as_deref(), &headers);
    let wanted = match q.service_id.as_deref() {
        Some(s) => Some(resolve(&st, s).await?.code),
        None => None,
    };
    // The caller's own applications and those it filed for others (delegation).
    let mut r = st.db.read().await?;
    let mut rows: Vec<Dossier> = r.list_dossiers_of(me.id, 1000).await?;
    rows.extend(r.list_dossiers_acted_by(me.id, 1000).await?);
    let mut logins: std::collections::HashMap<i64, String> = std::collections::HashMap::from([(me.id, me.login.clone())]);
    for d in &rows {
        if let std::collections::hash_map::Entry::Vacant(e) = logins.entry(d.applicant_id) {
            e.insert(r.get_account(d.applicant_id).await?.map(|a| a.login).unwrap_or_default());
        }
    }
    drop(r);
    let login_of = |d: &Dossier| logins.get(&d.applicant_id).cloned().unwrap_or_default();
    let named = |d: &Dossier| q.applicant_id.as_deref().is_none_or(|a| a == login_of(d) || a == d.applicant_id.to_string());
    let mut rows: Vec<Dossier> = rows
        .into_iter()
        .filter(|d| d.status != DossierStatus::Draft && wanted.as_ref().is_none_or(|w| &d.procedure_code == w) && named(d))
        .collect();
    let desc = q.sort_order.as_deref() == Some("desc");
    match q.sort_by.as_deref() {
        Some("name" | "nameCaseInsensitive" | "description") => rows.sort_by(|a, b| a.procedure_code.cmp(&b.procedure_code)),
        Some("id") => rows.sort_by(|a, b| a.code.cmp(&b.code)),
        _ => rows.sort_by_key(|d| d.created_at),
    }
    if desc {
        rows.reverse();
    }
    let first = q.first_result.unwrap_or(0);
    let max = q.max_result.unwrap_or(100).min(1000);
    let mut out = vec![];
    for d in rows.into_iter().skip(first).take(max) {
        // Listed for the partner that filed it: the person's ID number and the dossier.
        crate::access::dossier_read(&st, &reader, &d, "govstack.applications", None).await;
        let p = procedure_of(&st, &d).await?;
        let form = p.version.form.as_ref();
        out.push(json!({
            "fileId": d.code,
            "mainTaskId": d.code,
            "taskTitle": p.version.name.get(lang.code()),
            "status": file_status(&d, lang),
            "applicantId": login_of(&d),
            "created": d.created_at,
            "registered": d.submitted_at,
            "description": d.status.label(lang.code()),
            "serviceName": p.version.name.get(lang.code()),
            "serviceId": service_id(&p.code),
            "eformId": eform_id(&p.code, d.version_no),
            "documentUrls": form.map(|f| file_ids(&d, f)).unwrap_or_default().iter().map(|f| document_url(f)).collect::<Vec<_>>(),
            "additionalMeta": {"data": {"agency": {"electronicId": d.agency_electronic_id}, "channel": {"value": d.channel}}},
        }));
    }
    Ok(Json(out))
}

/// One application file by its dossier code, for its applicant or an officer entitled to it;
/// unknown and not-yours answer the same 404.
async fn application(
    State(st): State<AppState>,
    c: Caller,
    ApiLang(lang): ApiLang,
    headers: HeaderMap,
    Path(file_id): Path<String>,
) -> AppResult<Json<Value>> {
    mediator_client(&headers)?;
    let (as_applicant, as_operator) = (c.allows(GOVSTACK_APPLICATIONS), c.allows(GOVSTACK_TASKS));
    let client = c.client_id().map(str::to_owned);
    let me = c.account_for(if as_applicant || !as_operator { GOVSTACK_APPLICATIONS } else { GOVSTACK_TASKS })?;
    if tl_core::dossier::DossierCode::parse(&file_id).is_none() {
        return Err(AppError::NotFound);
    }
    let d = st.db.read().await?.get_dossier_by_code(&file_id).await?.ok_or(AppError::NotFound)?;
    let applicant = if as_applicant && d.applicant_id == me.id {
        me.clone()
    } else if as_applicant
        && (d.acted_by_id == me.id || crate::delegation::may_act_for(&st, &me, d.applicant_id, &d.procedure_code).await?)
    {
        // Filed for someone else (a business the caller works for, a person who authorised it).
        st.db.read().await?.get_account(d.applicant_id).await?.ok_or(AppError::NotFound)?
    } else if as_operator {
        // An operator's view: officers entitled to the dossier's agency.
        operator::applicant_for_officer(&st, &me, &d).await?.ok_or(AppError::NotFound)?
    } else {
        return Err(AppError::NotFound);
    };
    let p = procedure_of(&st, &d).await?;
    let reader = crate::access::Reader::of_api(&me, vec![], client.as_deref(), &headers);
    crate::access::dossier_read(&st, &reader, &d, "govstack.application", None).await;
    Ok(Json(application_doc(&d, &p, &applicant, lang)))
}
