//! Filing a dossier in the browser, one step per screen (phones first): start from a procedure
//! page, fill each step (the draft is saved on every step), review, submit, and follow it in
//! "Hồ sơ của tôi". Plain forms that work without JavaScript; the server validates everything.

use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::web::{render, render_status, see_other, Visitor};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use tl_core::catalog::Channel;
use tl_core::dossier::DossierStatus;
use tl_core::form::{AnswerError, FieldDef, FieldKind, FormDef, ValidationContext};
use tl_storage::{Dossier, NewDossier};

/// A posted form as ordered pairs (checkboxes repeat a name), CSRF-checked.
pub struct Pairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for Pairs {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let expected = req.extensions().get::<Visitor>().map(|v| v.csrf.clone()).unwrap_or_default();
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !ct.starts_with("application/x-www-form-urlencoded") {
            return Err(AppError::UnsupportedMediaType);
        }
        let body = Bytes::from_request(req, state).await.map_err(|_| AppError::TooLarge)?;
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
        let sent = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or("");
        if expected.is_empty() || !crate::security::same_secret(sent, &expected) {
            return Err(AppError::Csrf);
        }
        Ok(Pairs(pairs))
    }
}

impl Pairs {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    fn all(&self, k: &str) -> Vec<&str> {
        self.0.iter().filter(|(n, _)| n == k).map(|(_, v)| v.as_str()).collect()
    }
}

/// What people type, as the validator takes it: numbers without separators, dates as
/// YYYY-MM-DD. Anything that does not convert is kept as typed, so the validator can say why.
fn field_value(f: &FieldDef, name: &str, p: &Pairs) -> Option<Value> {
    let text = |k: &str| p.get(k).map(|s| s.to_owned());
    Some(match &f.kind {
        FieldKind::Number { .. } | FieldKind::Money { .. } => {
            let raw = text(name)?;
            let digits: String =
                raw.chars().filter(|c| !matches!(c, '.' | ' ' | ',' | '₫')).collect::<String>().trim_end_matches('đ').to_owned();
            match digits.parse::<i64>() {
                Ok(n) => json!(n),
                Err(_) if raw.trim().is_empty() => Value::String(String::new()),
                Err(_) => Value::String(raw),
            }
        }
        FieldKind::Date { .. } => {
            let raw = text(name)?;
            match tl_core::fmt::parse_date(&raw) {
                Some(d) => Value::String(d.to_string()),
                None => Value::String(raw),
            }
        }
        FieldKind::Checkboxes { .. } => {
            p.get(&format!("{name}.__present"))?;
            Value::Array(p.all(name).into_iter().map(|s| Value::String(s.to_owned())).collect())
        }
        FieldKind::Address => {
            let part = |k: &str| p.get(&format!("{name}.{k}")).unwrap_or("").to_owned();
            if p.get(&format!("{name}.street")).is_none() && p.get(&format!("{name}.commune")).is_none() {
                return None;
            }
            json!({"province": part("province"), "commune": part("commune"), "street": part("street")})
        }
        FieldKind::Group { fields, .. } => {
            let count: usize = p.get(&format!("{name}.__count"))?.parse().ok()?;
            let items: Vec<Value> = (0..count.min(500))
                .map(|i| {
                    let prefix = format!("{name}[{i}]");
                    let mut m = Map::new();
                    for sub in fields {
                        if let Some(v) = field_value(sub, &format!("{prefix}.{}", sub.key), p) {
                            m.insert(sub.key.clone(), v);
                        }
                    }
                    Value::Object(m)
                })
                .collect();
            Value::Array(items)
        }
        // Uploads are attached separately; a posted step never changes them.
        FieldKind::File { .. } => return None,
        _ => Value::String(text(name)?),
    })
}

fn today() -> chrono::NaiveDate {
    crate::portal::today()
}

/// Whether the applicant may change the answers and files: a draft, or a dossier the agency
/// asked to supplement.
pub fn editable(d: &Dossier) -> bool {
    matches!(d.status, DossierStatus::Draft | DossierStatus::SupplementRequested)
}

fn not_authorised() -> AppError {
    AppError::invalid(
        "not_authorised",
        "Bạn không (hoặc không còn) được ủy quyền nộp thủ tục này cho người này.",
        "You are not (or no longer) authorised to file this procedure for this person.",
    )
}

/// A dossier the visitor may change: their own, one they filed at the counter as an officer,
/// or one they file for someone who still authorises them (a business they work for: any of
/// its dossiers). A revoked or expired authorisation stops editing at once.
pub async fn load_own(st: &AppState, v: &Visitor, id: &str) -> AppResult<Dossier> {
    let me = v.require_account()?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let d = st.db.read().await?.get_dossier(id).await?.ok_or(AppError::NotFound)?;
    if d.applicant_id == me.id || (d.acted_by_id == me.id && me.kind == tl_core::account::AccountKind::Officer) {
        return Ok(d);
    }
    if d.acted_by_id == me.id || st.db.read().await?.is_member(d.applicant_id, me.id).await? {
        if crate::delegation::may_act_for(st, me, d.applicant_id, &d.procedure_code).await? {
            return Ok(d);
        }
        return Err(not_authorised());
    }
    Err(AppError::NotFound)
}

/// Roles whose holders handle dossiers and may read them (answers and files) at the agencies
/// their grants cover. Administrators and monitors manage and watch; they do not read dossiers.
pub const HANDLING_ROLES: [tl_core::account::Role; 3] =
    [tl_core::account::Role::Reception, tl_core::account::Role::Specialist, tl_core::account::Role::Leader];

/// Whether `v` is an officer entitled to read `d`: a handling role at its agency or above,
/// and the dossier filed (drafts are the applicant's own).
pub fn entitled_officer(v: &Visitor, d: &Dossier) -> bool {
    d.status != DossierStatus::Draft
        && v.account.as_ref().is_some_and(|a| a.kind == tl_core::account::AccountKind::Officer)
        && v.roles.iter().any(|g| HANDLING_ROLES.contains(&g.role) && g.covers(&d.agency_electronic_id))
}

/// A dossier the visitor may read: their own (applicant or the one who acted), or one an
/// entitled officer handles. Anything else is "not found", the same as a dossier that does
/// not exist.
pub async fn load_visible(st: &AppState, v: &Visitor, id: &str) -> AppResult<Dossier> {
    let me = v.require_account()?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let d = st.db.read().await?.get_dossier(id).await?.ok_or(AppError::NotFound)?;
    if d.applicant_id == me.id
        || d.acted_by_id == me.id
        || entitled_officer(v, &d)
        || partner_officer(st, v, &d).await?
        || st.db.read().await?.is_member(d.applicant_id, me.id).await?
    {
        Ok(d)
    } else {
        Err(AppError::NotFound)
    }
}

/// Whether `v` is an officer of a partner agency (liên thông) the dossier was handed to: a
/// handling role covering the agency of one of its steps.
async fn partner_officer(st: &AppState, v: &Visitor, d: &Dossier) -> AppResult<bool> {
    let officer = v.account.as_ref().is_some_and(|a| a.kind == tl_core::account::AccountKind::Officer);
    if !officer || d.status == DossierStatus::Draft || !v.roles.iter().any(|g| HANDLING_ROLES.contains(&g.role)) {
        return Ok(false);
    }
    let steps = st.db.read().await?.list_handoffs(d.id).await?;
    if steps.iter().all(|h| h.agency_id == d.agency_id) {
        return Ok(false);
    }
    let agencies = st.db.read().await?.list_agencies().await?;
    Ok(steps
        .iter()
        .filter_map(|h| agencies.iter().find(|a| a.id == h.agency_id))
        .any(|a| v.roles.iter().any(|g| HANDLING_ROLES.contains(&g.role) && g.covers(&a.electronic_id))))
}

pub async fn form_of(st: &AppState, d: &Dossier) -> AppResult<(tl_storage::ProcedureDetail, FormDef)> {
    let p = st.db.read().await?.get_procedure(&d.procedure_code, today(), Some(d.version_no)).await?.ok_or(AppError::NotFound)?;
    let f = p.version.form.clone().ok_or(AppError::NotFound)?;
    Ok((p, f))
}

fn sign_in_first(next: &str) -> Response {
    see_other(&format!("/signin?next={}", next.replace('?', "%3F").replace('&', "%26")))
}

/// Starts a draft from the procedure page (the hidden key makes a double click harmless).
pub async fn start(State(st): State<AppState>, v: Visitor, Path(code): Path<String>, p: Pairs) -> AppResult<Response> {
    let Some(me) = v.account.clone() else { return Ok(sign_in_first(&format!("/procedures/{code}"))) };
    let snap = st.catalog.snapshot(&st.db).await?;
    let proc = snap.procedure(&st.db, &code, None).await?.ok_or(AppError::NotFound)?;
    if proc.version.form.is_none() {
        return Err(AppError::invalid(
            "not_online",
            "Thủ tục này chưa có biểu mẫu nộp trực tuyến.",
            "This procedure cannot be filed online yet.",
        ));
    }
    let agency = p.get("agency").unwrap_or("");
    let agency = proc.agencies.iter().find(|a| a.electronic_id == agency).ok_or_else(|| {
        AppError::invalid("wrong_agency", "Vui lòng chọn cơ quan tiếp nhận hồ sơ.", "Choose the agency that will receive the dossier.")
    })?;
    let key = p.get("idem").filter(|k| (8..=100).contains(&k.len())).map(str::to_owned);
    // Filing for a business the visitor works for, or a person who authorised them.
    let applicant_id = match p.get("for").filter(|s| !s.is_empty()) {
        None => me.id,
        Some(s) => {
            let principal: i64 = s.parse().map_err(|_| not_authorised())?;
            if principal != me.id && !crate::delegation::may_act_for(&st, &me, principal, &proc.code).await? {
                return Err(not_authorised());
            }
            principal
        }
    };
    let new = NewDossier {
        procedure_code: proc.code.clone(),
        version_no: proc.version_no,
        agency_id: agency.id,
        applicant_id,
        acted_by_id: me.id,
        channel: Channel::Online,
        answers: json!({}),
        idempotency_key: key,
        now: Utc::now(),
    };
    let picks = crate::datastore::picks_of(&p)?;
    // A new draft of one's own is pre-filled from one's data store, when consented.
    let plan = match (applicant_id == me.id, proc.version.form.as_ref()) {
        (true, Some(form)) => match crate::datastore::plan_prefill(&st, &me, form, &picks, new.now).await {
            Ok(plan) => plan,
            Err(e) => {
                // A pre-fill request for someone else's data: nothing is started, and it is logged.
                let mut a = st.db.begin().await?;
                let picked: Vec<String> = picks.iter().map(|(k, v)| format!("{k}={v}")).collect();
                a.append_audit(&crate::auth::audit(&v, None, "store.prefill_refused", "procedure", &proc.code, json!({"picks": picked})))
                    .await?;
                a.commit().await?;
                return Err(e);
            }
        },
        _ => None,
    };
    let mut w = st.db.begin().await?;
    let d = w.create_dossier(&new).await?;
    // A retried start finds its draft already made and leaves it alone.
    if let Some(plan) = plan.filter(|_| d.status == DossierStatus::Draft && d.answers.as_object().is_none_or(|m| m.is_empty())) {
        let answers = crate::datastore::apply_prefill(&mut *w, plan, &me, &d, new.now).await?;
        w.update_draft(d.id, d.revision, &answers, new.now).await?;
    }
    w.commit().await?;
    Ok(see_other(&format!("/dossiers/{}/edit?step=0", d.id)))
}

#[derive(Deserialize)]
pub struct StepQuery {
    step: Option<usize>,
}

pub fn step_errors(errors: &[AnswerError], form: &FormDef, step: usize, lang: Lang) -> Vec<Value> {
    let keys: Vec<&str> = form.steps.get(step).map(|s| s.fields.iter().map(|f| f.key.as_str()).collect()).unwrap_or_default();
    errors
        .iter()
        .filter(|e| keys.iter().any(|k| e.path == *k || e.path.starts_with(&format!("{k}.")) || e.path.starts_with(&format!("{k}["))))
        .map(|e| json!({"field": e.path.replace(['[', ']', '.'], "_"), "path": e.path, "message": if lang == Lang::En { &e.message_en } else { &e.message_vi }}))
        .collect()
}

fn step_view(form: &FormDef, lang: Lang) -> Value {
    // "Answer only if you chose “Có” for “Có thông tin người cha”": shown beside a field whose
    // condition is on the same step (without JavaScript both are on screen; with it, the
    // field appears only when it applies).
    fn condition_hint(form: &FormDef, c: &tl_core::form::Condition, lang: Lang) -> String {
        let l = lang.code();
        let on = form.fields().find(|f| f.key == c.field);
        let label = on.map_or_else(|| c.field.clone(), |f| f.label.get(l).to_owned());
        let value = match (on.map(|f| &f.kind), &c.equals) {
            (Some(FieldKind::Select { options } | FieldKind::Radio { options }), Value::String(s)) => {
                options.iter().find(|o| &o.value == s).map_or_else(|| s.clone(), |o| o.label.get(l).to_owned())
            }
            (_, Value::Bool(true)) if lang == Lang::En => "yes".into(),
            (_, Value::Bool(true)) => "có".into(),
            (_, Value::Bool(false)) if lang == Lang::En => "no".into(),
            (_, Value::Bool(false)) => "không".into(),
            (_, Value::String(s)) => s.clone(),
            (_, other) => other.to_string(),
        };
        if lang == Lang::En {
            format!("Answer only if “{label}” is “{value}”.")
        } else {
            format!("Chỉ trả lời nếu “{label}” là “{value}”.")
        }
    }
    // Labels resolved to the page language once, for the recursive field macro.
    fn field(form: &FormDef, f: &FieldDef, lang: Lang) -> Value {
        let l = lang.code();
        let kind = serde_json::to_value(&f.kind).unwrap_or_default();
        let mut v = json!({
            "key": f.key, "label": f.label.get(l), "help": f.help.as_ref().map(|h| h.get(l)),
            "required": f.required, "kind": kind["kind"], "spec": kind,
            "show_if": f.show_if.as_ref().map(|c| json!({
                "field": c.field, "equals": c.equals,
                "value": match &c.equals { Value::String(s) => s.clone(), other => other.to_string() },
                "hint": condition_hint(form, c, lang),
            })),
        });
        if let FieldKind::Select { options } | FieldKind::Radio { options } | FieldKind::Checkboxes { options, .. } = &f.kind {
            v["options"] = options.iter().map(|o| json!({"value": o.value, "label": o.label.get(l)})).collect();
        }
        if let FieldKind::Group { fields, .. } = &f.kind {
            v["fields"] = fields.iter().map(|g| field(form, g, lang)).collect();
        }
        v
    }
    Value::Array(form.steps.iter().map(|s| json!({"key": s.key, "title": s.title.get(lang.code()), "fields": s.fields.iter().map(|f| field(form, f, lang)).collect::<Vec<_>>()})).collect())
}

/// Puts each field's provenance (pre-filled from the data store, reused document) beside it.
fn annotate(steps: &mut Value, notes: &HashMap<String, Value>) {
    if notes.is_empty() {
        return;
    }
    for s in steps.as_array_mut().into_iter().flatten() {
        for f in s.get_mut("fields").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(n) = f["key"].as_str().and_then(|k| notes.get(k)) {
                f["prefill"] = n.clone();
            }
        }
    }
}

async fn units_json(st: &AppState) -> AppResult<Value> {
    let day = today();
    let units = st.db.read().await?.list_admin_units().await?;
    Ok(units
        .into_iter()
        .filter(|u| u.is_valid_on(day))
        .map(|u| json!({"code": u.code, "name": u.name.vi, "parent": u.parent, "top": u.parent.is_none()}))
        .collect())
}

#[allow(clippy::too_many_arguments)]
pub async fn render_step(
    st: &AppState,
    v: &Visitor,
    d: &Dossier,
    p: &tl_storage::ProcedureDetail,
    form: &FormDef,
    step: usize,
    errors: Vec<Value>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut steps = step_view(form, v.lang);
    // A field shown only for an answer given on an earlier step: the server knows that answer,
    // so it leaves the field out when it does not apply (no JavaScript needed).
    let here: Vec<&str> = form.steps[step].fields.iter().map(|f| f.key.as_str()).collect();
    if let Some(Value::Array(fields)) = steps.get_mut(step).and_then(|s| s.get_mut("fields")) {
        fields.retain(|f| match f.get("show_if").filter(|c| !c.is_null()) {
            Some(c) => {
                let on = c["field"].as_str().unwrap_or("");
                here.contains(&on) || d.answers.get(on) == Some(&c["equals"])
            }
            None => true,
        });
    }
    annotate(&mut steps, &crate::datastore::notes(st, d, v.lang).await?);
    crate::datastore::offer_reuse(st, d, &mut steps[step], v.lang).await?;
    let emap: HashMap<String, String> =
        errors.iter().filter_map(|e| Some((e["path"].as_str()?.to_owned(), e["message"].as_str()?.to_owned()))).collect();
    let files = file_meta(st, d).await?;
    let ctx = minijinja::context! {
        d => d, proc_name => p.version.name.get(v.lang.code()), steps => steps, step => step, last => step + 1 == form.steps.len(),
        answers => d.answers, errors => errors, emap => emap, units => units_json(st).await?, files => files,
        max_mb => st.config.max_file_bytes >> 20,
        has_files => form.steps[step].fields.iter().any(|f| matches!(f.kind, tl_core::form::FieldKind::File { .. })),
    };
    render_status(st, v, "filing/step.html", ctx, status)
}

pub async fn edit(State(st): State<AppState>, v: Visitor, Path(id): Path<String>, Query(q): Query<StepQuery>) -> AppResult<Response> {
    if v.account.is_none() {
        return Ok(sign_in_first(&format!("/dossiers/{id}/edit")));
    }
    let d = load_own(&st, &v, &id).await?;
    if !editable(&d) {
        return Ok(see_other(&format!("/dossiers/{}", d.id)));
    }
    let (p, form) = form_of(&st, &d).await?;
    let step = match q.step {
        Some(n) => n.min(form.steps.len().saturating_sub(1)),
        // Coming back to a draft: the first step that still needs an answer.
        None => match form.validate(&d.answers, &ValidationContext { today: today(), admin_units: None }) {
            Ok(_) => return Ok(see_other(&format!("/dossiers/{}/review", d.id))),
            Err(errors) => (0..form.steps.len()).find(|&i| !step_errors(&errors, &form, i, v.lang).is_empty()).unwrap_or(0),
        },
    };
    render_step(&st, &v, &d, &p, &form, step, vec![], StatusCode::OK).await
}

/// Saves the step (always: nothing typed is lost), then goes where the button said.
/// The draft's answers with a posted step merged in, and the upload the action removes, if any.
pub fn merge_step(form: &FormDef, step: usize, d: &Dossier, p: &Pairs, action: &str) -> (Value, Option<String>) {
    let mut answers = d.answers.as_object().cloned().unwrap_or_default();
    for f in &form.steps[step].fields {
        match field_value(f, &f.key, p) {
            Some(val) => {
                answers.insert(f.key.clone(), val);
            }
            None if !matches!(f.kind, FieldKind::File { .. }) => {
                answers.remove(&f.key);
            }
            None => {}
        }
    }
    // Add or remove a row of a repeatable group (a round trip: no JavaScript needed).
    if let Some(group) = action.strip_prefix("add:") {
        if let Some(Value::Array(items)) = answers.get_mut(group) {
            items.push(json!({}));
        } else {
            answers.insert(group.to_owned(), json!([{}]));
        }
    } else if let Some(rest) = action.strip_prefix("remove:") {
        if let Some((group, i)) = rest.rsplit_once(':') {
            if let (Some(Value::Array(items)), Ok(i)) = (answers.get_mut(group), i.parse::<usize>()) {
                if i < items.len() {
                    items.remove(i);
                }
            }
        }
    }
    // Remove an upload from the answers; its row and bytes go once the save has committed.
    let mut removed = None;
    if let Some(fid) = action.strip_prefix("remove_file:") {
        for f in form.fields() {
            if let (FieldKind::File { .. }, Some(Value::Array(ids))) = (&f.kind, answers.get_mut(&f.key)) {
                let before = ids.len();
                ids.retain(|x| x.as_str() != Some(fid));
                if ids.len() != before {
                    removed = Some(fid.to_owned());
                }
            }
        }
    }
    (Value::Object(answers), removed)
}

/// Saves a step. Steps with upload fields post as multipart (so a file chosen before pressing
/// "Tiếp tục" is uploaded, not lost); the others as a plain form.
pub async fn save_step(
    State(st): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Query(q): Query<StepQuery>,
    req: axum::extract::Request,
) -> AppResult<Response> {
    let multipart =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|c| c.starts_with("multipart/form-data"));
    if multipart {
        let mp = axum::extract::Multipart::from_request(req, &st).await.map_err(|_| AppError::UnsupportedMediaType)?;
        return crate::uploads::upload_form(State(st), v, Path(id), Query(crate::uploads::StepQuery { step: q.step }), mp).await;
    }
    let p = Pairs::from_request(req, &st).await?;
    let d = load_own(&st, &v, &id).await?;
    if !editable(&d) {
        return Ok(see_other(&format!("/dossiers/{}", d.id)));
    }
    let (proc, form) = form_of(&st, &d).await?;
    let step = q.step.unwrap_or(0).min(form.steps.len().saturating_sub(1));
    let revision: i64 = p
        .get("revision")
        .and_then(|r| r.parse().ok())
        .ok_or_else(|| AppError::invalid("bad_revision", "Biểu mẫu thiếu số phiên bản.", "The form has no revision."))?;
    let action = p.get("action").unwrap_or("next").to_owned();
    let (mut answers, removed) = merge_step(&form, step, &d, &p, &action);
    let mut w = st.db.begin().await?;
    // "Dùng lại giấy tờ trong Kho dữ liệu": a stored document instead of an upload.
    if let Some(rest) = action.strip_prefix("reuse:") {
        let applicant = w.get_account(d.applicant_id).await?.ok_or(AppError::NotFound)?;
        if let Err(e) = crate::datastore::reuse(&mut *w, &applicant, &d, &form, rest, &mut answers, Utc::now()).await {
            drop(w);
            if matches!(&e, AppError::Invalid { code: "bad_reuse", .. }) {
                // A forged reuse reference: refused, and logged.
                let mut a = st.db.begin().await?;
                let detail = json!({"reference": rest.chars().take(100).collect::<String>()});
                a.append_audit(&crate::auth::audit(&v, None, "store.reuse_refused", "dossier", &d.id.to_string(), detail)).await?;
                a.commit().await?;
            }
            return Err(e);
        }
    }
    let d =
        match w.update_draft(d.id, revision, &answers, Utc::now()).await {
            Ok(d) => d,
            Err(tl_storage::StoreError::Conflict(_)) => return Err(AppError::Conflict(
                "hồ sơ đã được lưu từ một cửa sổ khác; vui lòng tải lại trang / the dossier was saved from another window; reload the page"
                    .into(),
            )),
            Err(e) => return Err(e.into()),
        };
    w.commit().await?;
    if let Some(fid) = removed {
        crate::uploads::forget(&st, &fid, d.id).await?;
    }
    after_save(&st, &v, &d, &proc, &form, step, &action).await
}

/// Where a saved step leads: the same step (rows added or removed), back, out, or — after
/// checking this step's answers — on to the next step or the review.
pub async fn after_save(
    st: &AppState,
    v: &Visitor,
    d: &Dossier,
    proc: &tl_storage::ProcedureDetail,
    form: &FormDef,
    step: usize,
    action: &str,
) -> AppResult<Response> {
    if action.starts_with("add:") || action.starts_with("remove:") || action.starts_with("remove_file:") || action.starts_with("reuse:") {
        return Ok(see_other(&format!("/dossiers/{}/edit?step={step}", d.id)));
    }
    match action {
        "save_exit" => Ok(see_other("/dossiers?saved=1")),
        "back" => Ok(see_other(&format!("/dossiers/{}/edit?step={}", d.id, step.saturating_sub(1)))),
        _ => {
            let ctx = ValidationContext { today: today(), admin_units: None };
            let errors = match form.validate(&d.answers, &ctx) {
                Ok(_) => vec![],
                Err(e) => step_errors(&e, form, step, v.lang),
            };
            if !errors.is_empty() {
                return render_step(st, v, d, proc, form, step, errors, StatusCode::BAD_REQUEST).await;
            }
            if step + 1 < form.steps.len() {
                Ok(see_other(&format!("/dossiers/{}/edit?step={}", d.id, step + 1)))
            } else {
                Ok(see_other(&format!("/dossiers/{}/review", d.id)))
            }
        }
    }
}

async fn render_review(
    st: &AppState,
    v: &Visitor,
    d: &Dossier,
    proc: &tl_storage::ProcedureDetail,
    form: &FormDef,
    errors: &[AnswerError],
    status: StatusCode,
) -> AppResult<Response> {
    // Each problem links to the step that holds the field.
    let mut steps = step_view(form, v.lang);
    annotate(&mut steps, &crate::datastore::notes(st, d, v.lang).await?);
    let errs: Vec<Value> = errors
        .iter()
        .map(|e| {
            let top = e.path.split(['.', '[']).next().unwrap_or("");
            let step = form.steps.iter().position(|s| s.fields.iter().any(|f| f.key == top)).unwrap_or(0);
            json!({"step": step, "message": if v.lang == Lang::En { &e.message_en } else { &e.message_vi }})
        })
        .collect();
    let agency = proc.agencies.iter().find(|a| a.id == d.agency_id).map(|a| a.name.get(v.lang.code()).to_owned());
    let files = file_meta(st, d).await?;
    // Completing a supplement: what was asked stays in sight.
    let missing: Vec<Value> = if d.status == DossierStatus::SupplementRequested {
        let events = st.db.read().await?.list_dossier_events(d.id).await?;
        events
            .iter()
            .rev()
            .find(|e| e.kind == "supplement_requested")
            .and_then(|e| e.detail.get("missing"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    } else {
        vec![]
    };
    let ctx = minijinja::context! { d => d, proc_name => proc.version.name.get(v.lang.code()), steps => steps, answers => d.answers, review_errors => errs, agency => agency, units => units_json(st).await?, files => files,
    supplement => d.status == DossierStatus::SupplementRequested, missing => missing };
    render_status(st, v, "filing/review.html", ctx, status)
}

/// What the pages show of a dossier's files: name, size, whether scanned at the counter.
async fn file_meta(st: &AppState, d: &Dossier) -> AppResult<HashMap<String, Value>> {
    Ok(st
        .db
        .read()
        .await?
        .list_dossier_files(d.id)
        .await?
        .into_iter()
        .map(|f| {
            (f.id.clone(), json!({"id": f.id, "name": f.name, "size": f.size, "kb": (f.size + 1023) / 1024, "digitised": f.digitised}))
        })
        .collect())
}

pub async fn review(State(st): State<AppState>, v: Visitor, Path(id): Path<String>) -> AppResult<Response> {
    if v.account.is_none() {
        return Ok(sign_in_first(&format!("/dossiers/{id}/review")));
    }
    let d = load_own(&st, &v, &id).await?;
    if !editable(&d) {
        return Ok(see_other(&format!("/dossiers/{}", d.id)));
    }
    let (proc, form) = form_of(&st, &d).await?;
    render_review(&st, &v, &d, &proc, &form, &[], StatusCode::OK).await
}

pub async fn submit(State(st): State<AppState>, v: Visitor, Path(id): Path<String>, p: Pairs) -> AppResult<Response> {
    let d = load_own(&st, &v, &id).await?;
    if editable(&d) {
        let (proc, form) = form_of(&st, &d).await?;
        let mut errors = form.validate(&d.answers, &ValidationContext { today: today(), admin_units: None }).err().unwrap_or_default();
        errors.extend(crate::uploads::check_attachments(&st, &d, &form).await?);
        if !errors.is_empty() {
            return render_review(&st, &v, &d, &proc, &form, &errors, StatusCode::BAD_REQUEST).await;
        }
    }
    let revision: i64 = p.get("revision").and_then(|r| r.parse().ok()).unwrap_or(d.revision);
    if d.status == DossierStatus::SupplementRequested {
        let done = crate::workflow::supplemented(&st, &v, &d, revision, vec![]).await?;
        return Ok(see_other(&format!("/dossiers/{}?supplemented=1", done.id)));
    }
    crate::datastore::freeze_origins(&st, &d).await?;
    let filing = tl_storage::filer::Filing::Draft { id: d.id, revision, day: today(), now: Utc::now() };
    let filed = st.filer.file(filing).await.map_err(|e| match e {
        tl_storage::StoreError::Conflict(_) => {
            AppError::Conflict("hồ sơ đã thay đổi; vui lòng kiểm tra lại / the dossier has changed; please review it again".into())
        }
        other => other.into(),
    })?;
    Ok(see_other(&format!("/dossiers/{}?filed=1", filed.id)))
}

pub async fn delete(State(st): State<AppState>, v: Visitor, Path(id): Path<String>, _p: Pairs) -> AppResult<Response> {
    let d = load_own(&st, &v, &id).await?;
    let mut w = st.db.begin().await?;
    if !w.delete_draft(d.id).await? {
        return Err(AppError::Conflict("chỉ xóa được hồ sơ nháp / only drafts can be deleted".into()));
    }
    w.commit().await?;
    Ok(see_other("/dossiers?deleted=1"))
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    acted: Option<String>,
    saved: Option<String>,
    deleted: Option<String>,
    filed: Option<String>,
    supplemented: Option<String>,
}

/// "Hồ sơ của tôi": drafts and filed dossiers, newest first.
pub async fn mine(State(st): State<AppState>, v: Visitor, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let Some(me) = v.account.clone() else { return Ok(sign_in_first("/dossiers")) };
    let rows = st.db.read().await?.list_dossiers_of(me.id, 200).await?;
    // Dossiers filed for others (a business, a person who authorised the visitor).
    let for_others = if me.kind == tl_core::account::AccountKind::Officer {
        vec![]
    } else {
        st.db.read().await?.list_dossiers_acted_by(me.id, 200).await?
    };
    let snap = st.catalog.snapshot(&st.db).await?;
    let names: HashMap<&str, String> =
        snap.index.docs().map(|d| (d.payload.code.as_str(), d.payload.name.get(v.lang.code()).to_owned())).collect();
    let items: Vec<Value> = rows
        .iter()
        .map(|d| json!({"id": d.id, "code": d.code, "draft": d.status == DossierStatus::Draft, "status": d.status.label(v.lang.code()), "procedure": names.get(d.procedure_code.as_str()).cloned().unwrap_or_else(|| d.procedure_code.clone()), "updated_at": d.updated_at}))
        .collect();
    let mut applicants: HashMap<i64, String> = HashMap::new();
    for d in &for_others {
        if let std::collections::hash_map::Entry::Vacant(slot) = applicants.entry(d.applicant_id) {
            let name = st.db.read().await?.get_account(d.applicant_id).await?.map(|a| a.display_name).unwrap_or_default();
            slot.insert(name);
        }
    }
    let acted_for: Vec<Value> = for_others
        .iter()
        .map(|d| json!({"id": d.id, "code": d.code, "draft": d.status == DossierStatus::Draft, "status": d.status.label(v.lang.code()), "procedure": names.get(d.procedure_code.as_str()).cloned().unwrap_or_else(|| d.procedure_code.clone()), "updated_at": d.updated_at, "applicant": applicants.get(&d.applicant_id)}))
        .collect();
    let results = st.db.read().await?.list_results_of_applicant(me.id, 50).await?;
    let lang = v.lang.code();
    let notices: Vec<Value> = st
        .db
        .read()
        .await?
        .list_notifications(me.id, 10)
        .await?
        .into_iter()
        .map(|n| {
            let en = lang == "en";
            json!({"title": if en { n.title_en } else { n.title_vi }, "link": n.link, "at": n.created_at, "unread": n.read_at.is_none()})
        })
        .collect();
    render(
        &st,
        &v,
        "filing/mine.html",
        minijinja::context! { items => items, acted_for => acted_for, saved => q.saved.is_some(), deleted => q.deleted.is_some(), results => results, notices => notices },
    )
}

/// One dossier: the acknowledgement after filing, its status and every event.
pub async fn show(State(st): State<AppState>, v: Visitor, Path(id): Path<String>, Query(q): Query<ListQuery>) -> AppResult<Response> {
    if v.account.is_none() {
        return Ok(sign_in_first(&format!("/dossiers/{id}")));
    }
    let d = load_visible(&st, &v, &id).await?;
    crate::access::visitor_read(&st, &v, &d, "dossier.view", None).await;
    render_show(&st, &v, &d, &q, None).await
}

/// The dossier page again with the problem of the action just refused (400), so the officer
/// keeps their place and sees what to fix next to the forms.
pub async fn show_with_error(st: &AppState, v: &Visitor, d: &Dossier, e: AppError) -> AppResult<Response> {
    match e {
        AppError::Invalid { code, vi, en } => {
            let message = if v.lang == Lang::En { en } else { vi };
            render_show(st, v, d, &ListQuery::default(), Some(json!({"code": code, "message": message}))).await
        }
        other => Err(other),
    }
}

async fn render_show(st: &AppState, v: &Visitor, d: &Dossier, q: &ListQuery, action_error: Option<Value>) -> AppResult<Response> {
    let st = st.clone();
    let v = v.clone();
    let d = d.clone();
    let (proc, form) = form_of(&st, &d).await?;
    let history = st.db.read().await?.list_dossier_events(d.id).await?;
    let events: Vec<Value> = history.iter().map(|e| json!({"at": e.at, "kind": e.kind, "status": e.status.label(v.lang.code())})).collect();
    let limit = proc.version.time_limit_for(d.channel).map(|t| t.unit.label(v.lang.code(), t.value));
    let agency = proc.agencies.iter().find(|a| a.id == d.agency_id).map(|a| a.name.get(v.lang.code()).to_owned());
    let files = file_meta(&st, &d).await?;
    let me = v.require_account()?;
    // What the reception decided, for everyone who may read the dossier (the citizen sees the
    // full list of what to add).
    let last_decision = history
        .iter()
        .rev()
        .find(|e| {
            matches!(e.kind.as_str(), "received" | "supplement_requested" | "refused" | "decision.refuse" | "delayed" | "supplemented")
        })
        .filter(|e| e.kind != "supplemented")
        .map(|e| {
            let kind = if e.kind == "decision.refuse" { "refused" } else { e.kind.as_str() };
            json!({"kind": kind, "at": e.at, "missing": e.detail.get("missing"), "reasons": e.detail.get("reasons"),
                   "reason": e.detail.get("reason"), "due_at": e.detail.get("due_at")})
        });
    let flow = crate::workflow::page_view(&st, &v, &d, &proc).await?;
    let results = st.db.read().await?.list_results_of(d.id).await?;
    let papers: Vec<Value> = crate::forms::available(&history, !flow.handoffs.is_empty())
        .into_iter()
        .map(|(n, title)| json!({"number": n, "title": title}))
        .collect();
    let can_receive = crate::office::can_receive(&v, &d);
    let reception_left = if can_receive {
        let cal = st.calendar.for_agency(&st, d.agency_id).await?;
        crate::office::reception_left(&cal, &d, Utc::now())
    } else {
        None
    };
    let officer = me.kind == tl_core::account::AccountKind::Officer;
    // Filed by someone for someone else: both are on the record (and on the page).
    let on_behalf = if d.acted_by_id != d.applicant_id {
        let mut r = st.db.read().await?;
        let applicant = r.get_account(d.applicant_id).await?.map(|a| a.display_name);
        let actor = r.get_account(d.acted_by_id).await?.map(|a| a.display_name);
        Some(json!({"applicant": applicant, "acted_by": actor}))
    } else {
        None
    };
    // Each answer with where it came from (pre-filled, reused, typed).
    let mut steps = step_view(&form, v.lang);
    annotate(&mut steps, &crate::datastore::notes(&st, &d, v.lang).await?);
    let ctx = minijinja::context! {
        clock => flow.clock, step => flow.step, can_act => flow.can_act, decisions => flow.decisions, can_delay => flow.can_delay,
        can_supplement => flow.can_supplement, supplement_until => d.flow.supplement_due_at, handoffs => flow.handoffs,
        can_withdraw => flow.can_withdraw, results => results, papers => papers,
        can_revoke => v.roles.iter().any(|g| g.role == tl_core::account::Role::Leader && g.covers(&d.agency_electronic_id)) && me.kind == tl_core::account::AccountKind::Officer,
        can_receive => can_receive, reception_left => reception_left.map(|m| json!({"minutes": m, "h": m.abs() / 60, "m": m.abs() % 60, "late": m < 0})),
        last_decision => last_decision, acted => q.acted.is_some(), supplemented_now => q.supplemented.is_some(),
        files => files, officer_view => officer && d.applicant_id != me.id && d.acted_by_id != me.id, counter => officer && d.acted_by_id == me.id && d.applicant_id != me.id,
        on_behalf => on_behalf,
        channel => d.channel.label(v.lang.code()),
        d => d, status => d.status.label(v.lang.code()), draft => d.status == DossierStatus::Draft, proc_name => proc.version.name.get(v.lang.code()),
        steps => steps, answers => d.answers, events => events, filed_now => q.filed.is_some(), time_limit => limit, agency => agency,
        units => units_json(&st).await?, action_error => action_error.clone(),
    };
    let status = if action_error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    render_status(&st, &v, "filing/show.html", ctx, status)
}
