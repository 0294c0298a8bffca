//! Administration: agencies, administrative units, procedures (each edit a new version
//! with its effective date), officer accounts with roles scoped to the agency tree, and
//! the audit log. Every change is written with its audit row in one transaction.

use crate::auth::{audit, valid_email, valid_phone};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::portal::{procedure_view, today, SearchParams};
use crate::web::{render, render_status, see_other, CsrfForm, FormErrors, Visitor};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use tl_core::account::{check_password, AccountKind, Role};
use tl_core::catalog::{AdminUnit, AdminUnitKind, Agency, AgencyLevel, I18nText};
use tl_core::catalog_doc::{check, dump_version, load_version, CatalogDocument, DocError, FORMAT};
use tl_storage::{AccountFilter, AccountStatus, NewAccount};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/agencies", get(agencies).post(create_agency))
        .route("/admin/agencies/new", get(new_agency))
        .route("/admin/agencies/{eid}", post(update_agency))
        .route("/admin/agencies/{eid}/edit", get(edit_agency))
        .route("/admin/units", get(units).post(create_unit))
        .route("/admin/units/new", get(new_unit))
        .route("/admin/units/{code}", post(update_unit))
        .route("/admin/units/{code}/edit", get(edit_unit))
        .route("/admin/procedures", get(procedures).post(create_procedure))
        .route("/admin/procedures/new", get(new_procedure))
        .route("/admin/procedures/{code}", post(update_procedure))
        .route("/admin/procedures/{code}/edit", get(edit_procedure))
        .route("/admin/accounts", get(accounts).post(create_account))
        .route("/admin/accounts/new", get(new_account))
        .route("/admin/accounts/{id}", get(account))
        .route("/admin/accounts/{id}/roles", post(grant_role))
        .route("/admin/accounts/{id}/roles/revoke", post(revoke_role))
        .route("/admin/accounts/{id}/status", post(set_status))
        .route("/admin/audit", get(audit_log))
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn parse_day(s: &str) -> Option<NaiveDate> {
    tl_core::fmt::parse_date(s)
}

/// Catalog validation errors as form errors: the last path segments name the form field.
fn doc_errors(errors: &[DocError], prefix: &str, lang: Lang) -> FormErrors {
    let mut out = FormErrors::default();
    for e in errors {
        let field = e.path.strip_prefix(prefix).unwrap_or(&e.path).trim_start_matches('/').replace('/', "_");
        out.add(lang, &field, &e.message_vi, &e.message_en);
    }
    out
}

pub async fn dashboard(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    if !v.can_edit_catalog() {
        v.require_admin()?;
    }
    let mut repo = st.db.read().await?;
    let procedures = repo.count_procedures().await?;
    let agencies = repo.list_agencies().await?.len();
    let units = repo.list_admin_units().await?.len();
    let accounts = repo.list_accounts(&AccountFilter { limit: 100_000, ..Default::default() }).await?.len();
    render(&st, &v, "admin/index.html", minijinja::context! { procedures, agencies, units, accounts })
}

// ---------- Agencies ----------

pub async fn agencies(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    v.require_admin()?;
    let mut repo = st.db.read().await?;
    let rows: Vec<_> = repo
        .list_agencies()
        .await?
        .into_iter()
        .map(|a| json!({"electronic_id": a.electronic_id, "name": a.name, "depth": a.depth(), "level": a.level.label(v.lang.code()), "valid_to": a.valid_to}))
        .collect();
    render(&st, &v, "admin/agencies.html", minijinja::context! { agencies => rows })
}

#[derive(Deserialize, Serialize, Default)]
pub struct AgencyForm {
    #[serde(default)]
    electronic_id: String,
    #[serde(default)]
    name_vi: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    admin_unit: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_to: String,
}

async fn agency_form(
    st: &AppState,
    v: &Visitor,
    form: &AgencyForm,
    editing: bool,
    errors: FormErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let mut repo = st.db.read().await?;
    let parents: Vec<_> = repo
        .list_agencies()
        .await?
        .into_iter()
        .map(|a| json!({"electronic_id": a.electronic_id, "name": a.name, "depth": a.depth()}))
        .collect();
    let units = repo.list_admin_units().await?;
    let levels: Vec<_> =
        [AgencyLevel::Province, AgencyLevel::Department, AgencyLevel::Unit, AgencyLevel::Commune, AgencyLevel::ServicePoint]
            .iter()
            .map(|l| json!({"code": l.as_str(), "label": l.label(v.lang.code())}))
            .collect();
    let mfa_required = editing && repo.agencies_requiring_second_factor().await?.contains(&form.electronic_id);
    let ctx = minijinja::context! { form => form, editing => editing, parents => parents, units => units, levels => levels, errors => errors.items, field_errors => errors.by_field(), mfa_required => mfa_required };
    render_status(st, v, "admin/agency_form.html", ctx, status)
}

pub async fn new_agency(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    v.require_admin()?;
    let form = AgencyForm { level: "commune".into(), valid_from: today().to_string(), ..Default::default() };
    agency_form(&st, &v, &form, false, FormErrors::default(), StatusCode::OK).await
}

pub async fn edit_agency(State(st): State<AppState>, v: Visitor, Path(eid): Path<String>) -> AppResult<Response> {
    v.require_admin()?;
    let a = st.db.read().await?.get_agency(&eid).await?.ok_or(AppError::NotFound)?;
    let form = AgencyForm {
        electronic_id: a.electronic_id,
        name_vi: a.name.vi,
        name_en: a.name.en.unwrap_or_default(),
        level: a.level.as_str().into(),
        parent: a.parent_electronic_id.unwrap_or_default(),
        admin_unit: a.admin_unit.unwrap_or_default(),
        address: a.address.unwrap_or_default(),
        phone: a.phone.unwrap_or_default(),
        email: a.email.unwrap_or_default(),
        valid_from: a.valid_from.to_string(),
        valid_to: a.valid_to.map(|d| d.to_string()).unwrap_or_default(),
    };
    agency_form(&st, &v, &form, true, FormErrors::default(), StatusCode::OK).await
}

async fn save_agency(st: &AppState, v: &Visitor, f: AgencyForm, editing: bool) -> AppResult<Response> {
    let lang = v.lang;
    let mut errors = FormErrors::default();
    let level = AgencyLevel::parse(&f.level);
    if level.is_none() {
        errors.add(lang, "level", "Vui lòng chọn cấp của cơ quan.", "Choose the agency's level.");
    }
    let valid_from = parse_day(&f.valid_from);
    if valid_from.is_none() {
        errors.add(lang, "valid_from", "Vui lòng nhập ngày bắt đầu hiệu lực (ngày/tháng/năm).", "Enter the start date (dd/mm/yyyy).");
    }
    let valid_to = if f.valid_to.trim().is_empty() {
        None
    } else {
        let d = parse_day(&f.valid_to);
        if d.is_none() {
            errors.add(lang, "valid_to", "Ngày hết hiệu lực không hợp lệ.", "The end date is not valid.");
        }
        d
    };
    if opt(&f.email).is_some_and(|e| !valid_email(&e)) {
        errors.add(lang, "email", "Địa chỉ thư điện tử không hợp lệ.", "The email address is not valid.");
    }
    let eid = f.electronic_id.trim().to_owned();
    let mut repo = st.db.read().await?;
    let known = repo.catalog_known().await?;
    if !editing && known.agencies.contains(&eid) {
        errors.add(
            lang,
            "electronic_id",
            "Mã định danh này đã được dùng cho một cơ quan khác.",
            "This electronic ID is already used by another agency.",
        );
    }
    drop(repo);
    let agency = Agency {
        electronic_id: eid.clone(),
        name: I18nText { vi: f.name_vi.trim().into(), en: opt(&f.name_en) },
        level: level.unwrap_or(AgencyLevel::Unit),
        parent: opt(&f.parent),
        admin_unit: opt(&f.admin_unit),
        address: opt(&f.address),
        phone: opt(&f.phone),
        email: opt(&f.email),
        valid_from: valid_from.unwrap_or_else(today),
        valid_to,
    };
    if errors.is_empty() {
        let mut known = known;
        known.agencies.remove(&eid);
        let doc = CatalogDocument { format: FORMAT.into(), agencies: vec![agency.clone()], ..Default::default() };
        errors = doc_errors(&check(&doc, &known), "/agencies/0", lang);
        if let Some(p) = &agency.parent {
            if p == &eid || p.starts_with(&format!("{eid}.")) {
                errors.add(
                    lang,
                    "parent",
                    "Cơ quan cấp trên không thể là chính nó hoặc cơ quan cấp dưới của nó.",
                    "The parent cannot be the agency itself or one below it.",
                );
            }
        }
    }
    if !errors.is_empty() {
        return agency_form(st, v, &f, editing, errors, StatusCode::BAD_REQUEST).await;
    }
    let mut w = st.db.begin().await?;
    let id = w.upsert_agency(&agency).await?;
    let action = if editing { "agency.update" } else { "agency.create" };
    w.append_audit(&audit(v, None, action, "agency", &eid, serde_json::to_value(&agency).unwrap_or_default())).await?;
    w.commit().await?;
    st.catalog.invalidate();
    let _ = id;
    Ok(see_other("/admin/agencies"))
}

pub async fn create_agency(State(st): State<AppState>, v: Visitor, CsrfForm(f): CsrfForm<AgencyForm>) -> AppResult<Response> {
    v.require_admin()?;
    save_agency(&st, &v, f, false).await
}

pub async fn update_agency(
    State(st): State<AppState>,
    v: Visitor,
    Path(eid): Path<String>,
    CsrfForm(mut f): CsrfForm<AgencyForm>,
) -> AppResult<Response> {
    v.require_admin()?;
    st.db.read().await?.get_agency(&eid).await?.ok_or(AppError::NotFound)?;
    f.electronic_id = eid;
    save_agency(&st, &v, f, true).await
}

// ---------- Administrative units ----------

pub async fn units(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    v.require_admin()?;
    let today = today();
    let rows: Vec<_> = st
        .db
        .read()
        .await?
        .list_admin_units()
        .await?
        .into_iter()
        .map(|u| json!({"code": u.code, "name": u.name, "kind": u.kind.label(v.lang.code()), "parent": u.parent, "valid_from": u.valid_from, "valid_to": u.valid_to, "successors": u.successors, "current": u.is_valid_on(today)}))
        .collect();
    render(&st, &v, "admin/units.html", minijinja::context! { units => rows })
}

#[derive(Deserialize, Serialize, Default)]
pub struct UnitForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name_vi: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_to: String,
    #[serde(default)]
    successors: String,
}

async fn unit_form(
    st: &AppState,
    v: &Visitor,
    form: &UnitForm,
    editing: bool,
    errors: FormErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let units = st.db.read().await?.list_admin_units().await?;
    let kinds: Vec<_> = [
        AdminUnitKind::Municipality,
        AdminUnitKind::Province,
        AdminUnitKind::Ward,
        AdminUnitKind::Commune,
        AdminUnitKind::SpecialZone,
        AdminUnitKind::District,
    ]
    .iter()
    .map(|k| json!({"code": k.as_str(), "label": k.label(v.lang.code())}))
    .collect();
    let ctx = minijinja::context! { form => form, editing => editing, units => units, kinds => kinds, errors => errors.items, field_errors => errors.by_field() };
    render_status(st, v, "admin/unit_form.html", ctx, status)
}

pub async fn new_unit(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    v.require_admin()?;
    let form = UnitForm { kind: "ward".into(), parent: "01".into(), valid_from: today().to_string(), ..Default::default() };
    unit_form(&st, &v, &form, false, FormErrors::default(), StatusCode::OK).await
}

pub async fn edit_unit(State(st): State<AppState>, v: Visitor, Path(code): Path<String>) -> AppResult<Response> {
    v.require_admin()?;
    let u = st.db.read().await?.list_admin_units().await?.into_iter().find(|u| u.code == code).ok_or(AppError::NotFound)?;
    let form = UnitForm {
        code: u.code,
        name_vi: u.name.vi,
        name_en: u.name.en.unwrap_or_default(),
        kind: u.kind.as_str().into(),
        parent: u.parent.unwrap_or_default(),
        valid_from: u.valid_from.to_string(),
        valid_to: u.valid_to.map(|d| d.to_string()).unwrap_or_default(),
        successors: u.successors.join(", "),
    };
    unit_form(&st, &v, &form, true, FormErrors::default(), StatusCode::OK).await
}

async fn save_unit(st: &AppState, v: &Visitor, f: UnitForm, editing: bool) -> AppResult<Response> {
    let lang = v.lang;
    let mut errors = FormErrors::default();
    let kind = AdminUnitKind::parse(&f.kind);
    if kind.is_none() {
        errors.add(lang, "kind", "Vui lòng chọn loại đơn vị.", "Choose the kind of unit.");
    }
    let valid_from = parse_day(&f.valid_from);
    if valid_from.is_none() {
        errors.add(lang, "valid_from", "Vui lòng nhập ngày bắt đầu hiệu lực (ngày/tháng/năm).", "Enter the start date (dd/mm/yyyy).");
    }
    let valid_to = match f.valid_to.trim() {
        "" => None,
        s => {
            let d = parse_day(s);
            if d.is_none() {
                errors.add(lang, "valid_to", "Ngày hết hiệu lực không hợp lệ.", "The end date is not valid.");
            }
            d
        }
    };
    let code = f.code.trim().to_owned();
    let mut repo = st.db.read().await?;
    let mut known = repo.catalog_known().await?;
    drop(repo);
    if !editing && known.admin_units.contains_key(&code) {
        errors.add(lang, "code", "Mã đơn vị hành chính này đã tồn tại.", "This administrative unit code already exists.");
    }
    let unit = AdminUnit {
        code: code.clone(),
        name: I18nText { vi: f.name_vi.trim().into(), en: opt(&f.name_en) },
        kind: kind.unwrap_or(AdminUnitKind::Ward),
        parent: opt(&f.parent),
        valid_from: valid_from.unwrap_or_else(today),
        valid_to,
        successors: f.successors.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
    };
    if errors.is_empty() {
        known.admin_units.remove(&code);
        let doc = CatalogDocument { format: FORMAT.into(), admin_units: vec![unit.clone()], ..Default::default() };
        errors = doc_errors(&check(&doc, &known), "/admin_units/0", lang);
    }
    if !errors.is_empty() {
        return unit_form(st, v, &f, editing, errors, StatusCode::BAD_REQUEST).await;
    }
    let mut w = st.db.begin().await?;
    w.upsert_admin_unit(&unit).await?;
    let action = if editing { "admin_unit.update" } else { "admin_unit.create" };
    w.append_audit(&audit(v, None, action, "admin_unit", &code, serde_json::to_value(&unit).unwrap_or_default())).await?;
    w.commit().await?;
    st.catalog.invalidate();
    Ok(see_other("/admin/units"))
}

pub async fn create_unit(State(st): State<AppState>, v: Visitor, CsrfForm(f): CsrfForm<UnitForm>) -> AppResult<Response> {
    v.require_admin()?;
    save_unit(&st, &v, f, false).await
}

pub async fn update_unit(
    State(st): State<AppState>,
    v: Visitor,
    Path(code): Path<String>,
    CsrfForm(mut f): CsrfForm<UnitForm>,
) -> AppResult<Response> {
    v.require_admin()?;
    f.code = code;
    save_unit(&st, &v, f, true).await
}

// ---------- Procedures ----------

fn require_catalog(v: &Visitor) -> AppResult<()> {
    v.require_account()?;
    if v.can_edit_catalog() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

pub async fn procedures(State(st): State<AppState>, v: Visitor, Query(p): Query<SearchParams>) -> AppResult<Response> {
    require_catalog(&v)?;
    let q = p.to_query(100)?;
    let page = st.db.read().await?.search_procedures(&q).await?;
    let items: Vec<_> = page
        .items
        .iter()
        .map(|i| json!({"code": i.code, "name": i.name, "version_no": i.version_no, "effective_from": i.effective_from, "level": i.level.label(v.lang.code()), "field": i.field_name}))
        .collect();
    let pages = (page.total.max(0) as u64).div_ceil(u64::from(page.per_page)) as u32;
    render(&st, &v, "admin/procedures.html", minijinja::context! { items, total => page.total, q => p.q, page => page.page, pages })
}

#[derive(Deserialize, Serialize, Default)]
pub struct ProcedureForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    effective_from: String,
    #[serde(default)]
    body: String,
    /// "preview" renders the page below the editor without saving.
    #[serde(default)]
    action: String,
}

const NEW_VERSION_TEMPLATE: &str = "name:\n  vi: \"\"\n  en: \"\"\nfield: ho-tich\nlevel: full_online\nagencies:\n  - H26\napplicants:\n  - citizen\ntime_limits:\n  - value: 3\n    unit: working_days\nfees:\n  - name:\n      vi: Lệ phí\n    kind: charge\n    basis: exempt\ncomponents:\n  - key: to-khai\n    name:\n      vi: Tờ khai\n    form: declaration\nlegal_basis: []\nresult:\n  vi: \"\"\nresult_delivery:\n  - online\n";

struct ProcedureFormView<'a> {
    form: &'a ProcedureForm,
    editing: bool,
    errors: Vec<DocError>,
    preview: Option<serde_json::Value>,
    versions: Vec<tl_storage::VersionRow>,
}

async fn procedure_form(st: &AppState, v: &Visitor, view: ProcedureFormView<'_>, status: StatusCode) -> AppResult<Response> {
    let mut repo = st.db.read().await?;
    let fields = repo.list_fields(today()).await?;
    let lang = v.lang.code();
    let errors: Vec<_> = view.errors.iter().map(|e| json!({"line": e.line, "path": e.path, "message": e.message(lang)})).collect();
    let ctx = minijinja::context! {
        form => view.form, editing => view.editing, errors => errors, preview => view.preview, versions => view.versions, fields => fields, today => today().to_string(),
    };
    render_status(st, v, "admin/procedure_form.html", ctx, status)
}

pub async fn new_procedure(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    require_catalog(&v)?;
    let form = ProcedureForm { effective_from: today().to_string(), body: NEW_VERSION_TEMPLATE.into(), ..Default::default() };
    procedure_form(
        &st,
        &v,
        ProcedureFormView { form: &form, editing: false, errors: vec![], preview: None, versions: vec![] },
        StatusCode::OK,
    )
    .await
}

pub async fn edit_procedure(State(st): State<AppState>, v: Visitor, Path(code): Path<String>) -> AppResult<Response> {
    require_catalog(&v)?;
    let mut repo = st.db.read().await?;
    let versions = repo.list_procedure_versions(&code).await?;
    let latest = versions.last().ok_or(AppError::NotFound)?;
    let d = repo.get_procedure(&code, today(), Some(latest.version_no)).await?.ok_or(AppError::NotFound)?;
    let tomorrow = today().succ_opt().unwrap_or_else(today);
    let form = ProcedureForm {
        code: code.clone(),
        effective_from: tomorrow.max(latest.effective_from.succ_opt().unwrap_or(tomorrow)).to_string(),
        body: dump_version(&d.version),
        action: String::new(),
    };
    procedure_form(&st, &v, ProcedureFormView { form: &form, editing: true, errors: vec![], preview: None, versions }, StatusCode::OK).await
}

async fn save_procedure(st: &AppState, v: &Visitor, f: ProcedureForm, editing: bool) -> AppResult<Response> {
    let mut errors: Vec<DocError> = Vec::new();
    let problem = |path: &str, vi: &str, en: &str| DocError {
        line: 0,
        path: path.into(),
        code: "form",
        message_vi: vi.into(),
        message_en: en.into(),
    };
    let code = f.code.trim().to_owned();
    if tl_core::ids::check_procedure_code(&code).is_err() {
        errors.push(problem("code", "Mã thủ tục phải có dạng 1.001193.", "The procedure code must look like 1.001193."));
    }
    let mut repo = st.db.read().await?;
    let known = repo.catalog_known().await?;
    let versions = repo.list_procedure_versions(&code).await?;
    drop(repo);
    if !editing && !versions.is_empty() {
        errors.push(problem(
            "code",
            "Mã thủ tục này đã tồn tại: hãy sửa thủ tục đó để tạo phiên bản mới.",
            "This procedure code exists: edit that procedure to publish a new version.",
        ));
    }
    let day = parse_day(&f.effective_from);
    match day {
        None => errors.push(problem(
            "effective_from",
            "Vui lòng nhập ngày hiệu lực (ngày/tháng/năm).",
            "Enter the effective date (dd/mm/yyyy).",
        )),
        // History is not rewritten: a new version takes effect today or later.
        Some(d) if d < today() => errors.push(problem(
            "effective_from",
            "Ngày hiệu lực không được trước hôm nay: các phiên bản đã có hiệu lực không được sửa.",
            "The effective date cannot be before today: versions already in force are never changed.",
        )),
        Some(d) if versions.iter().any(|x| x.effective_from == d) => errors.push(problem(
            "effective_from",
            "Đã có một phiên bản với ngày hiệu lực này. Hãy chọn ngày khác.",
            "A version with this effective date exists. Choose another date.",
        )),
        _ => {}
    }
    let version = match day.map(|d| load_version(&f.body, d, &known)) {
        Some(Ok(ver)) => Some(ver),
        Some(Err(e)) => {
            errors.extend(e);
            None
        }
        None => None,
    };
    if let Some(ver) = &version {
        // Least privilege: a catalog editor may publish only for agencies under its grants.
        let outside: Vec<_> = ver.agencies.iter().filter(|a| !v.has_role_at(Role::CatalogEditor, a)).cloned().collect();
        if !outside.is_empty() {
            errors.push(problem(
                "body",
                &format!("Bạn không có quyền quản lý danh mục của: {}.", outside.join(", ")),
                &format!("You may not manage the catalog of: {}.", outside.join(", ")),
            ));
        }
    }
    let versions_view = versions.clone();
    if !errors.is_empty() || f.action == "preview" {
        let preview = match (&version, errors.is_empty()) {
            (Some(ver), true) => {
                let mut agencies = vec![];
                let mut repo = st.db.read().await?;
                for eid in &ver.agencies {
                    if let Some(a) = repo.get_agency(eid).await? {
                        agencies.push(a);
                    }
                }
                let field_name =
                    repo.list_fields(today()).await?.into_iter().find(|x| x.code == ver.field).map(|x| x.name).unwrap_or_default();
                let detail = tl_storage::ProcedureDetail {
                    code: code.clone(),
                    version_no: versions.len() as i64 + 1,
                    effective_to: None,
                    version: ver.clone(),
                    field_name,
                    agencies,
                    versions: vec![],
                };
                Some(procedure_view(&detail, v.lang))
            }
            _ => None,
        };
        let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
        return procedure_form(st, v, ProcedureFormView { form: &f, editing, errors, preview, versions: versions_view }, status).await;
    }
    let ver = version.expect("validated");
    let mut w = st.db.begin().await?;
    let actor = v.account.as_ref().map(|a| a.id);
    let no = w.add_procedure_version(&code, &ver, actor, Utc::now()).await?;
    w.append_audit(&audit(v, None, "procedure.version", "procedure", &code, json!({"version": no, "effective_from": ver.effective_from})))
        .await?;
    w.commit().await?;
    st.catalog.invalidate();
    Ok(see_other(&format!("/procedures/{code}?version={no}")))
}

pub async fn create_procedure(State(st): State<AppState>, v: Visitor, CsrfForm(f): CsrfForm<ProcedureForm>) -> AppResult<Response> {
    require_catalog(&v)?;
    save_procedure(&st, &v, f, false).await
}

pub async fn update_procedure(
    State(st): State<AppState>,
    v: Visitor,
    Path(code): Path<String>,
    CsrfForm(mut f): CsrfForm<ProcedureForm>,
) -> AppResult<Response> {
    require_catalog(&v)?;
    if st.db.read().await?.list_procedure_versions(&code).await?.is_empty() {
        return Err(AppError::NotFound);
    }
    f.code = code;
    save_procedure(&st, &v, f, true).await
}

// ---------- Accounts ----------

#[derive(Deserialize)]
pub struct AccountQuery {
    q: Option<String>,
    kind: Option<String>,
}

pub async fn accounts(State(st): State<AppState>, v: Visitor, Query(q): Query<AccountQuery>) -> AppResult<Response> {
    v.require_admin()?;
    let filter = AccountFilter {
        kind: q.kind.as_deref().and_then(AccountKind::parse),
        text: q.q.as_deref().map(str::trim).filter(|s| !s.is_empty() && s.len() <= 100).map(str::to_owned),
        limit: 200,
    };
    let rows: Vec<_> = st
        .db
        .read()
        .await?
        .list_accounts(&filter)
        .await?
        .into_iter()
        .map(|a| json!({"id": a.id, "login": a.login, "name": a.display_name, "kind": a.kind.label(v.lang.code()), "status": a.status.as_str(), "last_login_at": a.last_login_at}))
        .collect();
    render(&st, &v, "admin/accounts.html", minijinja::context! { accounts => rows, q => q.q, kind => q.kind })
}

#[derive(Deserialize, Serialize, Default)]
pub struct OfficerForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    agency: String,
    #[serde(default, skip_serializing)]
    password: String,
    /// One checkbox per role: `role_reception=on`…
    #[serde(flatten)]
    roles: HashMap<String, String>,
}

fn roles_json(lang: Lang) -> Vec<serde_json::Value> {
    Role::ALL.iter().map(|r| json!({"code": r.as_str(), "label": r.label(lang.code())})).collect()
}

async fn account_form(st: &AppState, v: &Visitor, form: &OfficerForm, errors: FormErrors, status: StatusCode) -> AppResult<Response> {
    let agencies: Vec<_> = st
        .db
        .read()
        .await?
        .list_agencies()
        .await?
        .into_iter()
        .map(|a| json!({"electronic_id": a.electronic_id, "name": a.name, "depth": a.depth()}))
        .collect();
    let ctx = minijinja::context! { form => form, agencies => agencies, roles => roles_json(v.lang), errors => errors.items, field_errors => errors.by_field() };
    render_status(st, v, "admin/account_form.html", ctx, status)
}

pub async fn new_account(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    v.require_admin()?;
    account_form(&st, &v, &OfficerForm::default(), FormErrors::default(), StatusCode::OK).await
}

pub async fn create_account(State(st): State<AppState>, v: Visitor, CsrfForm(f): CsrfForm<OfficerForm>) -> AppResult<Response> {
    v.require_admin()?;
    let lang = v.lang;
    let mut errors = FormErrors::default();
    let login = f.login.trim().to_lowercase();
    if let Err(e) = tl_core::ids::check_username(&login) {
        errors.add(lang, "login", e.message("vi"), e.message("en"));
    }
    if f.display_name.trim().is_empty() {
        errors.add(lang, "display_name", "Vui lòng nhập họ và tên.", "Enter the full name.");
    }
    if opt(&f.email).is_some_and(|e| !valid_email(&e)) {
        errors.add(lang, "email", "Địa chỉ thư điện tử không hợp lệ.", "The email address is not valid.");
    }
    if opt(&f.phone).is_some_and(|p| !valid_phone(&p)) {
        errors.add(
            lang,
            "phone",
            "Số điện thoại phải gồm 10 chữ số, bắt đầu bằng 0.",
            "The phone number must have 10 digits and start with 0.",
        );
    }
    if let Err(e) = check_password(&f.password, &login) {
        errors.add(lang, "password", e.message("vi"), e.message("en"));
    }
    let roles: Vec<Role> = Role::ALL.into_iter().filter(|r| f.roles.contains_key(&format!("role_{}", r.as_str()))).collect();
    let mut repo = st.db.read().await?;
    let agency = repo.get_agency(f.agency.trim()).await?;
    if agency.is_none() {
        errors.add(lang, "agency", "Vui lòng chọn cơ quan của cán bộ.", "Choose the officer's agency.");
    }
    if repo.find_account_by_login(&login).await?.is_some() {
        errors.add(lang, "login", "Tên đăng nhập này đã được dùng.", "This user name is taken.");
    }
    drop(repo);
    if !errors.is_empty() {
        return account_form(&st, &v, &f, errors, StatusCode::BAD_REQUEST).await;
    }
    let agency = agency.expect("checked");
    let hash = crate::security::hash_password_async(&f.password).await?;
    let now = Utc::now();
    let mut w = st.db.begin().await?;
    let a = w
        .create_account(
            &NewAccount {
                kind: AccountKind::Officer,
                login: login.clone(),
                display_name: f.display_name.trim().into(),
                email: opt(&f.email),
                phone: opt(&f.phone),
                password_hash: Some(hash),
                agency_id: Some(agency.id),
            },
            now,
        )
        .await?;
    let actor = v.account.as_ref().map(|x| x.id);
    for r in &roles {
        w.grant_role(a.id, *r, agency.id, actor, now).await?;
    }
    let role_names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
    w.append_audit(&audit(
        &v,
        None,
        "account.create",
        "account",
        &a.id.to_string(),
        json!({"login": login, "agency": agency.electronic_id, "roles": role_names}),
    ))
    .await?;
    w.commit().await?;
    Ok(see_other(&format!("/admin/accounts/{}", a.id)))
}

pub async fn account(State(st): State<AppState>, v: Visitor, Path(id): Path<String>) -> AppResult<Response> {
    v.require_admin()?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let mut repo = st.db.read().await?;
    let a = repo.get_account(id).await?.ok_or(AppError::NotFound)?;
    // The page shows the person's contacts and history: an administrator's read of their data.
    if let Some(reader) = crate::access::Reader::of_visitor(&v) {
        crate::access::record(&st, &reader, a.id, "account.view", &a.login, "quản trị tài khoản / account administration", None).await;
    }
    let grants: Vec<_> = repo
        .roles_of(id)
        .await?
        .into_iter()
        .map(|g| json!({"role": g.role.as_str(), "role_label": g.role.label(v.lang.code()), "agency": g.agency}))
        .collect();
    let agency = match a.agency_id {
        Some(x) => repo.get_agency_by_id(x).await?,
        None => None,
    };
    let agencies: Vec<_> = repo
        .list_agencies()
        .await?
        .into_iter()
        .map(|x| json!({"electronic_id": x.electronic_id, "name": x.name, "depth": x.depth()}))
        .collect();
    let history = repo.list_audit(Some("account"), Some(&id.to_string()), 50).await?;
    let totp_on = repo.get_totp(id).await?.is_some_and(|t| t.confirmed_at.is_some());
    let ctx = minijinja::context! { totp_on => totp_on, a => a, kind_label => a.kind.label(v.lang.code()), agency => agency, grants => grants, agencies => agencies, roles => roles_json(v.lang), history => history };
    render(&st, &v, "admin/account.html", ctx)
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    agency: String,
}

async fn change_role(st: &AppState, v: &Visitor, id: &str, f: RoleForm, grant: bool) -> AppResult<Response> {
    v.require_admin()?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let role = Role::parse(&f.role).ok_or_else(|| AppError::invalid("bad_role", "Vai trò không hợp lệ.", "Unknown role."))?;
    let mut w = st.db.begin().await?;
    w.get_account(id).await?.ok_or(AppError::NotFound)?;
    let agency =
        w.get_agency(f.agency.trim()).await?.ok_or_else(|| AppError::invalid("bad_agency", "Cơ quan không tồn tại.", "Unknown agency."))?;
    if grant {
        w.grant_role(id, role, agency.id, v.account.as_ref().map(|a| a.id), Utc::now()).await?;
    } else {
        w.revoke_role(id, role, agency.id).await?;
    }
    let action = if grant { "account.role_grant" } else { "account.role_revoke" };
    w.append_audit(&audit(v, None, action, "account", &id.to_string(), json!({"role": role.as_str(), "agency": agency.electronic_id})))
        .await?;
    w.commit().await?;
    st.oidc.cache.invalidate();
    Ok(see_other(&format!("/admin/accounts/{id}")))
}

pub async fn grant_role(
    State(st): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<RoleForm>,
) -> AppResult<Response> {
    change_role(&st, &v, &id, f, true).await
}

pub async fn revoke_role(
    State(st): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<RoleForm>,
) -> AppResult<Response> {
    change_role(&st, &v, &id, f, false).await
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
}

/// Disabling an account ends its sessions at once; its API tokens stop working with it.
pub async fn set_status(
    State(st): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<StatusForm>,
) -> AppResult<Response> {
    let me = v.require_admin()?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let status = match f.status.as_str() {
        "active" => AccountStatus::Active,
        "disabled" => AccountStatus::Disabled,
        _ => return Err(AppError::invalid("bad_status", "Trạng thái không hợp lệ.", "Unknown status.")),
    };
    if id == me.id && status == AccountStatus::Disabled {
        return Err(AppError::invalid(
            "self_disable",
            "Bạn không thể tự vô hiệu hóa tài khoản của mình.",
            "You cannot disable your own account.",
        ));
    }
    let mut w = st.db.begin().await?;
    w.set_account_status(id, status, Utc::now()).await?;
    let ended = if status == AccountStatus::Disabled { w.delete_sessions_of(id).await? } else { 0 };
    w.append_audit(&audit(
        &v,
        None,
        "account.status",
        "account",
        &id.to_string(),
        json!({"status": status.as_str(), "sessions_ended": ended}),
    ))
    .await?;
    w.commit().await?;
    st.oidc.cache.invalidate();
    Ok(see_other(&format!("/admin/accounts/{id}")))
}

pub async fn audit_log(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    v.require_admin()?;
    let rows = st.db.read().await?.list_audit(None, None, 200).await?;
    render(&st, &v, "admin/audit.html", minijinja::context! { rows => rows })
}
