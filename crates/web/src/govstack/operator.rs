//! The operator side of the GovStack Registration API: officers' systems read their work
//! list as tasks, take the decisions of the back office through them, and anyone reads the
//! decision statistics (`GovStack_Registration_BB_API_statistics.json`).
//!
//! Mapping onto the back office (`crate::workflow`):
//! - task = a dossier (hồ sơ) waiting, after reception, at a step of its procedure's process
//!   (statuses tiếp nhận / đang xử lý / đã xử lý xong), for the officers holding the step's role
//!   at the step's agency or above. One task per step entry: `taskId` is
//!   `<dossier code>:<control sheet row id>` — the Form 06 row opened when the dossier entered
//!   the step — so it stays the same while the dossier waits there (also across a supplement
//!   pause) and each new step is a new task. `mainTaskId` is the dossier code, as in the
//!   applicant's list. Reception itself (Form 01/02/03) is not a task: it has its own desk.
//! - `name`/`taskName` = the step's name; `roleId` = `<role>@<agency electronic ID>`
//!   (`specialist@H26.31`); `created` = when the dossier entered the step. Steps go to a role,
//!   never to a person, so there is no `assigneeId`, and the `assigneeId` filter accepts only
//!   the caller's own login. Tasks come most urgent first (the step's due moment); `sortBy` and
//!   `sortOrder` are not supported beyond that.
//! - Our additions to a task (the schemas allow further properties): `dueDate` (the step's due
//!   moment) and `revision` (the dossier revision the task was read at). In `GET /tasks/{id}`,
//!   `formVariables` says what completing takes — `decision` with the step's options (id, label,
//!   kind, next step), `revision`, `note`, `missing`, `reasons` — and `data` holds the
//!   application's answers as `{"field": {"value": …}}`.
//! - `POST /tasks/{id}/complete` takes `additionalData`:
//!   `{"data": {"decision": {"value": "propose"}, "revision": {"value": 7}, "note": {"value": "…"},
//!   "missing": {"value": ["…"]}, "reasons": {"value": ["…"]}}}` (plain values are accepted too).
//!   The decision is taken exactly as in the back office (role at the step's agency, revision,
//!   the control sheet row closed, the audit record naming the officer and the request). A task
//!   whose step was already left, or a revision that moved, answers 409; `missing` is required
//!   by a supplement request, `reasons` by a refusal. `variables.outcome` and `variables.next`
//!   say what happened and which task follows.
//! - `PUT /applications/{fileId}` (the operator's form data on an application) takes the
//!   decision of the step the application waits at: `formData.data` as in a completion;
//!   `applicantId` must name the application's applicant (login or account id). It answers the
//!   updated `applicationFileResponse`.
//! - `GET /applications/{fileId}` (tagged Applicant and Operator) also serves officers with a
//!   handling role at the dossier's agency or above; `applicantId` is then the applicant's login.
//! - `GET /data/statistics` counts officers' decisions (dossier events) over a period, in
//!   Vietnam's local dates: `approved` = approvals, `rejected` = refusals (after review, and
//!   Form 03 at reception), `sentBack` = supplement requests (Form 02, at reception or during
//!   processing), `processed` = the three together. `registrationName` names a service (the
//!   procedure code, the serviceId or the exact name), `operator` an officer's login (only for
//!   officers' tokens), `role` a role key (`reception`, `specialist`, `leader`: decisions by
//!   officers holding it). `startDate` defaults to 1 January of `endDate`'s year, `endDate` to
//!   today; `timeframe` splits the period into days, weeks (Monday to Sunday), months or years,
//!   one item each (at most 400), else one item covers the whole period.
//! - Every error is the spec's `systemError`; a caller that is not an officer gets 403, a task
//!   or application outside the caller's roles 404.

use super::{application_doc, eform_id, file_status, mediator_client, procedure_of, resolve, service_id};
use crate::api::{ApiLang, Caller};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::oidc::protocol::GOVSTACK_TASKS;
use crate::workflow::{self, Actor, DecisionInput, InboxParams};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tl_core::account::{AccountKind, Role};
use tl_core::dossier::{DossierCode, DossierStatus};
use tl_storage::{AgencyRow, Dossier, Handoff, ProcedureDetail};

/// The statuses in which a dossier waits for an officer's decision.
const WAITING: [DossierStatus; 3] = [DossierStatus::Accepted, DossierStatus::Processing, DossierStatus::Processed];

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers.get(&crate::middleware::REQUEST_ID).and_then(|v| v.to_str().ok()).filter(|r| !r.is_empty()).map(str::to_owned)
}

/// The caller as a back-office actor: an officer's token, with the officer's role grants.
async fn officer(st: &AppState, c: Caller, headers: &HeaderMap) -> AppResult<Actor> {
    let account = c.account_for(GOVSTACK_TASKS)?;
    if account.kind != AccountKind::Officer {
        return Err(AppError::Forbidden);
    }
    let roles = st.db.read().await?.roles_of(account.id).await?;
    Ok(Actor { account, roles, ip: None, request_id: request_id(headers) })
}

fn task_id(code: &str, row: i64) -> String {
    format!("{code}:{row}")
}

fn parse_task_id(id: &str) -> Option<(&str, i64)> {
    let (code, row) = id.rsplit_once(':')?;
    DossierCode::parse(code)?;
    Some((code, row.parse().ok().filter(|r| *r > 0)?))
}

fn role_id(role: Role, agency: &str) -> String {
    format!("{}@{agency}", role.as_str())
}

/// Whether `who` holds `role` at `agency_id` (or above).
fn holds(who: &Actor, role: Role, agency_id: i64, agencies: &[AgencyRow]) -> bool {
    agencies.iter().find(|a| a.id == agency_id).is_some_and(|a| who.roles.iter().any(|g| g.role == role && g.covers(&a.electronic_id)))
}

fn agency_eid(agencies: &[AgencyRow], id: Option<i64>) -> String {
    id.and_then(|id| agencies.iter().find(|a| a.id == id)).map(|a| a.electronic_id.clone()).unwrap_or_default()
}

/// The control sheet row of the step `d` waits at.
fn open_row(d: &Dossier, sheet: &[Handoff]) -> Option<i64> {
    let step = d.flow.step_id.as_deref()?;
    sheet.iter().rev().find(|h| h.ended_at.is_none() && h.step_id == step).map(|h| h.id)
}

fn answers_of(d: &Dossier) -> Map<String, Value> {
    d.answers.as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), json!({"value": v}))).collect()).unwrap_or_default()
}

/// A task as `userTaskResponse` (`full`: `dataUserTaskResponse`).
fn task_doc(d: &Dossier, p: &ProcedureDetail, row: i64, agencies: &[AgencyRow], lang: Lang, full: bool) -> Value {
    let l = lang.code();
    let code = d.code.clone().unwrap_or_default();
    let process = p.version.process();
    let step = d.flow.step_id.as_deref().and_then(|s| process.step(s));
    let step_name = step.map_or_else(|| d.flow.step_id.clone().unwrap_or_default(), |s| s.name.get(l).to_owned());
    let service_name = p.version.name.get(l);
    let role = d.flow.step_role.map(|r| role_id(r, &agency_eid(agencies, d.flow.step_agency_id)));
    let description = if lang == Lang::En {
        format!("Application {code} ({service_name}): {}", d.status.label(l))
    } else {
        format!("Hồ sơ {code} ({service_name}): {}", d.status.label(l))
    };
    let mut v = json!({
        "taskId": task_id(&code, row),
        "roleId": role,
        "created": d.flow.step_started_at,
        "description": description,
        "serviceId": service_id(&p.code),
        "serviceName": service_name,
        "fileId": code,
        "eFormId": eform_id(&p.code, d.version_no),
        "status": file_status(d, lang),
        "dueDate": d.flow.step_due_at,
        "revision": d.revision,
    });
    if full {
        let options: Vec<Value> = step
            .map(|s| {
                s.decisions.iter().map(|x| json!({"id": x.id, "label": x.label.get(l), "kind": x.kind.as_str(), "to": x.to})).collect()
            })
            .unwrap_or_default();
        v["taskName"] = json!(step_name);
        v["formVariables"] = json!({
            "decision": {"type": "string", "required": true, "options": options},
            "revision": {"type": "integer", "required": true, "value": d.revision},
            "note": {"type": "string", "required": false},
            "missing": {"type": "array", "required": false, "description": "Everything the applicant must add, all at once (supplement)"},
            "reasons": {"type": "array", "required": false, "description": "Reasons for a refusal"},
        });
        v["data"] = Value::Object(answers_of(d));
    } else {
        v["mainTaskId"] = json!(code);
        v["name"] = json!(step_name);
    }
    v
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TasksQuery {
    main_task_id: Option<String>,
    file_id: Option<String>,
    assignee_id: Option<String>,
    first_result: Option<i64>,
    max_result: Option<i64>,
}

/// GET /tasks — the caller's work list (the back-office inbox), most urgent first.
pub(super) async fn tasks(
    State(st): State<AppState>,
    c: Caller,
    ApiLang(lang): ApiLang,
    headers: HeaderMap,
    Query(q): Query<TasksQuery>,
) -> AppResult<Json<Vec<Value>>> {
    let who = officer(&st, c, &headers).await?;
    if q.assignee_id.as_deref().is_some_and(|a| a != who.account.login && a != who.account.id.to_string()) {
        return Ok(Json(vec![]));
    }
    let agencies = st.db.read().await?.list_agencies().await?;
    let grants = workflow::grants_of(&who.roles, &agencies);
    if grants.is_empty() {
        return Err(AppError::Forbidden);
    }
    // Both filters name the dossier code (mainTaskId is the file's main task).
    let wanted: Vec<&str> = [q.main_task_id.as_deref(), q.file_id.as_deref()].into_iter().flatten().collect();
    if wanted.iter().any(|w| DossierCode::parse(w).is_none() || *w != wanted[0]) {
        return Ok(Json(vec![]));
    }
    let cal = st.calendar.get(&st).await?;
    let mut query = workflow::inbox_query(&cal, grants, &InboxParams::default(), Utc::now());
    query.statuses = WAITING.to_vec();
    query.search = wanted.first().map(|w| w.to_lowercase());
    query.offset = q.first_result.unwrap_or(0).clamp(0, 1_000_000);
    query.limit = q.max_result.unwrap_or(100).clamp(0, 200);
    let rows = st.db.read().await?.list_inbox(&query).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let d = r.dossier;
        if wanted.first().is_some_and(|w| d.code.as_deref() != Some(*w)) {
            continue;
        }
        let sheet = st.db.read().await?.list_handoffs(d.id).await?;
        let Some(row) = open_row(&d, &sheet) else { continue };
        let p = procedure_of(&st, &d).await?;
        out.push(task_doc(&d, &p, row, &agencies, lang, false));
    }
    Ok(Json(out))
}

/// The dossier and control sheet row a task names, if the caller may see that row's step
/// (unknown and not-yours answer the same 404).
async fn find_task(st: &AppState, who: &Actor, id: &str, agencies: &[AgencyRow]) -> AppResult<(Dossier, Handoff)> {
    let (code, row) = parse_task_id(id).ok_or(AppError::NotFound)?;
    let d = st.db.read().await?.get_dossier_by_code(code).await?.ok_or(AppError::NotFound)?;
    let sheet = st.db.read().await?.list_handoffs(d.id).await?;
    let h = sheet.into_iter().find(|h| h.id == row && h.step_id != "reception").ok_or(AppError::NotFound)?;
    if !holds(who, h.role, h.agency_id, agencies) {
        return Err(AppError::NotFound);
    }
    Ok((d, h))
}

/// GET /tasks/{taskId} — a task still waiting for a decision.
pub(super) async fn task(
    State(st): State<AppState>,
    c: Caller,
    ApiLang(lang): ApiLang,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let client = c.client_id().map(str::to_owned);
    let who = officer(&st, c, &headers).await?;
    let agencies = st.db.read().await?.list_agencies().await?;
    let (d, h) = find_task(&st, &who, &id, &agencies).await?;
    if h.ended_at.is_some() || !WAITING.contains(&d.status) || !workflow::may_act(&who, &d, &agencies) {
        return Err(AppError::NotFound);
    }
    // The task carries the applicant's answers.
    let reader = crate::access::Reader::of_api(&who.account, who.roles.clone(), client.as_deref(), &headers);
    crate::access::dossier_read(&st, &reader, &d, "govstack.task", Some(&id)).await;
    let p = procedure_of(&st, &d).await?;
    Ok(Json(task_doc(&d, &p, h.id, &agencies, lang, true)))
}

fn bad_data(en: &str, vi: &str) -> AppError {
    AppError::invalid("bad_task_data", vi.to_owned(), en.to_owned())
}

/// The decision a completion (or an operator's application update) carries in its `data`.
struct Completion {
    decision: String,
    revision: i64,
    input: DecisionInput,
}

fn plain(v: Value) -> Value {
    match v {
        Value::Object(mut o) if o.len() == 1 && o.contains_key("value") => o.remove("value").expect("checked"),
        other => other,
    }
}

fn text_list(v: Option<Value>, key: &str) -> AppResult<Vec<String>> {
    let items: Vec<String> = match v {
        None | Some(Value::Null) => vec![],
        Some(Value::String(s)) => s.lines().map(str::to_owned).collect(),
        Some(Value::Array(a)) => a
            .into_iter()
            .map(|x| match x {
                Value::String(s) => Ok(s),
                _ => Err(bad_data(&format!("`{key}` must be a list of texts."), &format!("`{key}` phải là danh sách các dòng chữ."))),
            })
            .collect::<AppResult<_>>()?,
        Some(_) => return Err(bad_data(&format!("`{key}` must be a list of texts."), &format!("`{key}` phải là danh sách các dòng chữ."))),
    };
    Ok(items
        .iter()
        .map(|l| l.trim().trim_start_matches(['-', '•', '*']).trim().chars().take(1000).collect::<String>())
        .filter(|l| !l.is_empty())
        .take(50)
        .collect())
}

fn completion(data: Option<Value>) -> AppResult<Completion> {
    let Some(Value::Object(mut m)) = data else {
        return Err(bad_data(
            "`data` must be an object naming at least `decision` and `revision`.",
            "`data` phải là một đối tượng có ít nhất `decision` và `revision`.",
        ));
    };
    let decision = match m.remove("decision").map(plain) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 64 => s,
        _ => {
            return Err(bad_data(
                "`data.decision` must name one of the task's decisions (formVariables.decision.options).",
                "`data.decision` phải là một trong các quyết định của nhiệm vụ (formVariables.decision.options).",
            ))
        }
    };
    let revision = match m.remove("revision").map(plain) {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        bad_data(
            "`data.revision` must be the revision the task was read at (an integer).",
            "`data.revision` phải là số phiên bản hồ sơ khi đọc nhiệm vụ (số nguyên).",
        )
    })?;
    let note = match m.remove("note").map(plain) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().chars().take(2000).collect::<String>()).filter(|s| !s.is_empty()),
        Some(_) => return Err(bad_data("`data.note` must be a text.", "`data.note` phải là chuỗi ký tự.")),
    };
    let missing = text_list(m.remove("missing").map(plain), "missing")?;
    let reasons = text_list(m.remove("reasons").map(plain), "reasons")?;
    Ok(Completion { decision, revision, input: DecisionInput { note, missing, reasons } })
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8], schema: &str) -> AppResult<T> {
    serde_json::from_slice(body).map_err(|e| {
        AppError::invalid(
            "malformed_json",
            format!("Dữ liệu không đúng định dạng {schema}: {e}"),
            format!("The body is not a valid {schema}: {e}"),
        )
    })
}

#[derive(Deserialize)]
struct AdditionalData {
    #[serde(default)]
    data: Option<Value>,
}

fn already_done() -> AppError {
    AppError::Conflict(
        "nhiệm vụ đã được hoàn thành, hồ sơ đã chuyển bước / the task was already completed, the dossier has moved on".into(),
    )
}

/// POST /tasks/{taskId}/complete — takes the task's decision.
pub(super) async fn complete(
    State(st): State<AppState>,
    c: Caller,
    ApiLang(lang): ApiLang,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> AppResult<Json<Value>> {
    let who = officer(&st, c, &headers).await?;
    let b: AdditionalData = parse_body(&body, "additionalData")?;
    let done_with = completion(b.data)?;
    let agencies = st.db.read().await?.list_agencies().await?;
    let (d, h) = find_task(&st, &who, &id, &agencies).await?;
    if h.ended_at.is_some() {
        return Err(already_done());
    }
    let done = workflow::apply_decision(&st, &who, &d, done_with.revision, &done_with.decision, &done_with.input).await?;
    let p = procedure_of(&st, &done).await?;
    Ok(Json(completed_doc(&st, &id, &done, &p, &done_with.decision, &agencies, lang).await?))
}

async fn completed_doc(
    st: &AppState,
    task: &str,
    done: &Dossier,
    p: &ProcedureDetail,
    decision: &str,
    agencies: &[AgencyRow],
    lang: Lang,
) -> AppResult<Value> {
    let code = done.code.clone().unwrap_or_default();
    let mut variables = json!({
        "outcome": {"data": {
            "decision": {"value": decision},
            "status": {"value": done.status.as_str()},
            "revision": {"value": done.revision},
        }},
    });
    let sheet = st.db.read().await?.list_handoffs(done.id).await?;
    if let (Some(row), Some(role)) = (open_row(done, &sheet), done.flow.step_role) {
        if done.status != DossierStatus::SupplementRequested {
            variables["next"] = json!({"data": {
                "taskId": {"value": task_id(&code, row)},
                "step": {"value": done.flow.step_id},
                "roleId": {"value": role_id(role, &agency_eid(agencies, done.flow.step_agency_id))},
            }});
        }
    }
    Ok(json!({
        "taskId": task,
        "fileId": code,
        "serviceId": service_id(&p.code),
        "status": file_status(done, lang),
        "variables": variables,
    }))
}

/// The applicant of `d` when `me` is an officer with a handling role at its agency or above
/// (an operator reading an application file); None otherwise.
pub(super) async fn applicant_for_officer(st: &AppState, me: &tl_storage::Account, d: &Dossier) -> AppResult<Option<tl_storage::Account>> {
    if me.kind != AccountKind::Officer {
        return Ok(None);
    }
    let mut r = st.db.read().await?;
    let roles = r.roles_of(me.id).await?;
    if !roles.iter().any(|g| crate::filing::HANDLING_ROLES.contains(&g.role) && g.covers(&d.agency_electronic_id)) {
        return Ok(None);
    }
    Ok(r.get_account(d.applicant_id).await?)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperatorUpdate {
    applicant_id: String,
    #[serde(default)]
    form_data: Option<OperatorFormData>,
}

#[derive(Deserialize)]
struct OperatorFormData {
    #[serde(default)]
    data: Option<Value>,
}

/// PUT /applications/{fileId} — the operator's form data: the decision of the step the
/// application waits at.
pub(super) async fn update_application(
    State(st): State<AppState>,
    c: Caller,
    ApiLang(lang): ApiLang,
    headers: HeaderMap,
    Path(file_id): Path<String>,
    body: axum::body::Bytes,
) -> AppResult<Json<Value>> {
    mediator_client(&headers)?;
    let who = officer(&st, c, &headers).await?;
    let b: OperatorUpdate = parse_body(&body, "applicationFileSubmit")?;
    let done_with = completion(b.form_data.and_then(|f| f.data))?;
    if DossierCode::parse(&file_id).is_none() {
        return Err(AppError::NotFound);
    }
    let d = st.db.read().await?.get_dossier_by_code(&file_id).await?.ok_or(AppError::NotFound)?;
    let agencies = st.db.read().await?.list_agencies().await?;
    let applicant = applicant_for_officer(&st, &who.account, &d).await?.ok_or(AppError::NotFound)?;
    if !workflow::may_act(&who, &d, &agencies) {
        return Err(AppError::Forbidden);
    }
    if b.applicant_id != applicant.login && b.applicant_id != applicant.id.to_string() {
        return Err(AppError::invalid(
            "applicant_mismatch",
            "applicantId không phải người nộp của hồ sơ này.",
            "applicantId does not name this application's applicant.",
        ));
    }
    let done = workflow::apply_decision(&st, &who, &d, done_with.revision, &done_with.decision, &done_with.input).await?;
    let p = procedure_of(&st, &done).await?;
    Ok(Json(application_doc(&done, &p, &applicant, lang)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StatisticsQuery {
    start_date: Option<String>,
    end_date: Option<String>,
    registration_name: Option<String>,
    operator: Option<String>,
    role: Option<String>,
    timeframe: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Timeframe {
    Day,
    Week,
    Month,
    Year,
}

/// The last day of the bucket starting at `day`.
fn bucket_end(day: NaiveDate, tf: Option<Timeframe>, last: NaiveDate) -> NaiveDate {
    let end = match tf {
        None => last,
        Some(Timeframe::Day) => day,
        Some(Timeframe::Week) => day + Duration::days(6 - i64::from(day.weekday().num_days_from_monday())),
        Some(Timeframe::Month) => {
            let (y, m) = if day.month() == 12 { (day.year() + 1, 1) } else { (day.year(), day.month() + 1) };
            NaiveDate::from_ymd_opt(y, m, 1).expect("first of a month") - Duration::days(1)
        }
        Some(Timeframe::Year) => NaiveDate::from_ymd_opt(day.year(), 12, 31).expect("31 December"),
    };
    end.min(last)
}

const MAX_BUCKETS: usize = 400;

/// GET /data/statistics — officers' decisions counted over a period.
pub(super) async fn statistics(
    State(st): State<AppState>,
    c: Caller,
    headers: HeaderMap,
    Query(q): Query<StatisticsQuery>,
) -> AppResult<Json<Vec<Value>>> {
    mediator_client(&headers)?;
    let date = |s: &Option<String>, name: &str| -> AppResult<Option<NaiveDate>> {
        match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map(Some).map_err(|_| {
                AppError::invalid(
                    "bad_date",
                    format!("{name} phải là ngày dạng YYYY-MM-DD."),
                    format!("{name} must be a date, YYYY-MM-DD."),
                )
            }),
        }
    };
    let end = date(&q.end_date, "endDate")?.unwrap_or_else(crate::portal::today);
    let start = date(&q.start_date, "startDate")?.unwrap_or_else(|| NaiveDate::from_ymd_opt(end.year(), 1, 1).unwrap_or(end));
    if start > end {
        return Err(AppError::invalid("bad_period", "startDate phải trước hoặc bằng endDate.", "startDate must not be after endDate."));
    }
    let tf = match q.timeframe.as_deref() {
        None | Some("") => None,
        Some("day") => Some(Timeframe::Day),
        Some("week") => Some(Timeframe::Week),
        Some("month") => Some(Timeframe::Month),
        Some("year") => Some(Timeframe::Year),
        Some(_) => {
            return Err(AppError::invalid(
                "bad_timeframe",
                "timeframe phải là day, week, month hoặc year.",
                "timeframe must be day, week, month or year.",
            ))
        }
    };
    let procedure = match q.registration_name.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(name) => Some(match resolve(&st, name).await {
            Ok(p) => p.code,
            Err(AppError::NotFound) => {
                let snap = st.catalog.snapshot(&st.db).await?;
                let folded = tl_core::text::fold(name);
                let found =
                    snap.index.docs().find(|d| tl_core::text::fold(d.payload.name.get("vi")) == folded).map(|d| d.payload.code.clone());
                found.ok_or(AppError::NotFound)?
            }
            Err(e) => return Err(e),
        }),
    };
    let operator = match q.operator.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(login) => {
            // How one officer works is for the back office, not for anyone.
            if !c.account_for(GOVSTACK_TASKS)?.kind.eq(&AccountKind::Officer) {
                return Err(AppError::Forbidden);
            }
            let a = st.db.read().await?.find_account_by_login(login).await?.filter(|a| a.kind == AccountKind::Officer);
            Some(a.ok_or(AppError::NotFound)?.id)
        }
    };
    let role = match q.role.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(r) => Some(Role::parse(r).filter(|r| crate::filing::HANDLING_ROLES.contains(r)).ok_or_else(|| {
            AppError::invalid(
                "bad_role",
                "role phải là reception, specialist hoặc leader.",
                "role must be reception, specialist or leader.",
            )
        })?),
    };
    let mut buckets = vec![];
    let mut day = start;
    while day <= end {
        if buckets.len() == MAX_BUCKETS {
            return Err(AppError::invalid(
                "too_many_periods",
                format!("Khoảng thời gian quá dài cho timeframe này (tối đa {MAX_BUCKETS} kỳ)."),
                format!("The period is too long for this timeframe (at most {MAX_BUCKETS} items)."),
            ));
        }
        let last = bucket_end(day, tf, end);
        buckets.push((day, last));
        day = last + Duration::days(1);
    }
    let midnight = |d: NaiveDate| workflow::utc(d.and_hms_opt(0, 0, 0).expect("midnight"));
    let mut out = vec![];
    for (first, last) in buckets {
        let counts = st
            .db
            .read()
            .await?
            .count_dossier_events(midnight(first), midnight(last + Duration::days(1)), procedure.as_deref(), operator, role)
            .await?;
        let n = |kinds: &[&str]| counts.iter().filter(|(k, _)| kinds.contains(&k.as_str())).map(|(_, n)| n).sum::<i64>();
        let (approved, rejected, sent_back) = (n(&["decision.approve"]), n(&["decision.refuse", "refused"]), n(&["supplement_requested"]));
        let mut references = json!({
            "startDate": first.format("%Y-%m-%d").to_string(),
            "endDate": last.format("%Y-%m-%d").to_string(),
            "timeframeDay": tf == Some(Timeframe::Day),
            "timeframeWeek": tf == Some(Timeframe::Week),
            "timeframeMonth": tf == Some(Timeframe::Month),
            "timeframeYear": tf == Some(Timeframe::Year),
        });
        if let Some(r) = &procedure {
            references["registrationName"] = json!(r);
        }
        if let Some(o) = &q.operator {
            references["operator"] = json!(o.trim());
        }
        if let Some(r) = role {
            references["role"] = json!(r.as_str());
        }
        out.push(json!({
            "processed": approved + rejected + sent_back,
            "approved": approved,
            "sentBack": sent_back,
            "rejected": rejected,
            "references": references,
        }));
    }
    Ok(Json(out))
}
