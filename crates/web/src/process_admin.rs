//! Administration of a procedure's declarative process (quy trình nội bộ): the page shows the
//! process of the version in force (and of future versions) as a table, and an editor takes
//! the process as YAML — the same shape as `process:` in the catalog file — checks it without
//! saving, or saves it as a NEW procedure version from a chosen date. Versions are never
//! changed: dossiers keep the version they were received under.
//!
//! Who: administrators for every procedure; catalog editors for the procedures whose competent
//! agencies all lie in their agency subtree (the same rule as the version editor).

use crate::auth::audit;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::portal::today;
use crate::web::{render_status, see_other, CsrfForm, Visitor};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use tl_core::account::Role;
use tl_core::catalog::{Channel, Procedure, ProcedureVersion};
use tl_core::catalog_doc::{check, dump_process, load_process, CatalogDocument, DocError, FORMAT, MAX_PROCESS_BYTES};
use tl_core::process::{Allowance, DecisionKind};
use tl_storage::{ProcedureDetail, VersionRow};

#[derive(Deserialize, Serialize, Default)]
pub struct ProcessForm {
    /// dd/mm/yyyy (ISO accepted too).
    #[serde(default)]
    effective_from: String,
    /// The process as YAML or JSON.
    #[serde(default)]
    body: String,
    /// "check" validates and shows the result without saving; "save" adds a version.
    #[serde(default)]
    action: String,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    /// Set after a save: the number of the version just added (anything else is ignored).
    saved: Option<String>,
}

/// The signed-in visitor may edit the catalog somewhere; else 403 (sign-in first if anonymous).
fn require_catalog(v: &Visitor) -> AppResult<()> {
    v.require_account()?;
    if v.can_edit_catalog() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Least privilege: every competent agency of the version must lie under the visitor's grants.
fn require_agencies(v: &Visitor, version: &ProcedureVersion) -> AppResult<()> {
    if version.agencies.iter().all(|a| v.has_role_at(Role::CatalogEditor, a)) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The version of `versions` (oldest first) that is in force on `day`.
fn in_force(versions: &[VersionRow], day: NaiveDate) -> Option<&VersionRow> {
    versions.iter().filter(|x| x.effective_from <= day).max_by_key(|x| x.effective_from)
}

/// The process of one version as rows for the table.
fn process_view(version: &ProcedureVersion, names: &HashMap<String, tl_core::catalog::I18nText>, lang: Lang) -> Value {
    let code = lang.code();
    let en = lang == Lang::En;
    let p = version.process();
    let limit = version.time_limit_for(Channel::InPerson);
    let step_name = |id: &str| p.step(id).map(|s| json!(s.name)).unwrap_or_else(|| json!({"vi": id}));
    let steps: Vec<Value> = p
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let agency = s.agency.as_ref().map(|a| json!({"id": a, "name": names.get(a).map(|n| json!(n)).unwrap_or(json!({"vi": a}))}));
            let decisions: Vec<Value> = s
                .decisions
                .iter()
                .map(|d| {
                    let leads = match (d.kind, d.to.as_deref()) {
                        (DecisionKind::Supplement, _) => json!({"kind": "pause"}),
                        (DecisionKind::Return, _) => json!({"kind": "end"}),
                        (_, Some(t)) => json!({"kind": "step", "id": t, "name": step_name(t)}),
                        (_, None) => json!({"kind": "result"}),
                    };
                    json!({"id": d.id, "label": d.label, "kind": d.kind.as_str(), "kind_label": d.kind.label(code), "leads": leads})
                })
                .collect();
            json!({
                "no": i + 1, "id": s.id, "name": s.name, "role": s.role.label(code), "agency": agency,
                "budget": s.budget.label(code), "decisions": decisions,
            })
        })
        .collect();
    let total = p.total_minutes();
    let hours = |m: i64| {
        let (h, mm) = (m / 60, m % 60);
        match (en, mm) {
            (true, 0) => format!("{h} working hours"),
            (true, _) => format!("{h} working hours {mm} min"),
            (false, 0) => format!("{h} giờ làm việc"),
            (false, _) => format!("{h} giờ {mm} phút làm việc"),
        }
    };
    let allowance = limit.map(|l| match (Allowance::of(l), en) {
        (Allowance::Exactly(m), true) => format!("exactly {}", hours(m)),
        (Allowance::Exactly(m), false) => format!("đúng {}", hours(m)),
        (Allowance::AtMost(m), true) => format!("at most {}", hours(m)),
        (Allowance::AtMost(m), false) => format!("tối đa {}", hours(m)),
    });
    let partners: Vec<Value> =
        p.partner_agencies().into_iter().map(|a| names.get(a).map(|n| json!(n)).unwrap_or(json!({"vi": a}))).collect();
    json!({
        "explicit": version.process.is_some(),
        "steps": steps,
        "total": hours(total),
        "limit": limit.map(|l| l.unit.label(code, l.value)),
        "allowance": allowance,
        "fits": p.fits(limit),
        "partners": partners,
    })
}

struct Screen<'a> {
    code: &'a str,
    form: &'a ProcessForm,
    errors: Vec<DocError>,
    /// The edited process, checked and valid (after "Kiểm tra").
    checked: Option<Value>,
    saved: Option<i64>,
}

async fn screen(st: &AppState, v: &Visitor, s: Screen<'_>, status: StatusCode) -> AppResult<Response> {
    let today = today();
    let mut repo = st.db.read().await?;
    let versions = repo.list_procedure_versions(s.code).await?;
    let current_no = in_force(&versions, today).map(|x| x.version_no);
    let names: HashMap<String, tl_core::catalog::I18nText> =
        repo.list_agencies().await?.into_iter().map(|a| (a.electronic_id, a.name)).collect();
    let mut shown = vec![];
    for row in versions.iter().filter(|x| Some(x.version_no) == current_no || x.effective_from > today) {
        let Some(d) = repo.get_procedure(s.code, today, Some(row.version_no)).await? else { continue };
        shown.push(json!({
            "version_no": row.version_no, "effective_from": row.effective_from, "effective_to": row.effective_to,
            "current": Some(row.version_no) == current_no, "name": d.version.name,
            "process": process_view(&d.version, &names, v.lang),
        }));
    }
    drop(repo);
    let lang = v.lang.code();
    let errors: Vec<Value> = s
        .errors
        .iter()
        .map(|e| {
            let field = if e.path == "effective_from" { "effective_from" } else { "body" };
            json!({"field": field, "line": e.line, "message": e.message(lang)})
        })
        .collect();
    let ctx = minijinja::context! {
        code => s.code, form => s.form, errors => errors, shown => shown, checked => s.checked, saved => s.saved,
        versions => versions, max_kb => MAX_PROCESS_BYTES >> 10,
    };
    render_status(st, v, "admin/process.html", ctx, status)
}

/// GET /admin/procedures/{code}/process
pub async fn show(State(st): State<AppState>, v: Visitor, Path(code): Path<String>, Query(q): Query<ShowQuery>) -> AppResult<Response> {
    require_catalog(&v)?;
    let today = today();
    let mut repo = st.db.read().await?;
    let versions = repo.list_procedure_versions(&code).await?;
    let latest = versions.last().ok_or(AppError::NotFound)?;
    let current = repo.get_procedure(&code, today, None).await?;
    let newest = repo.get_procedure(&code, today, Some(latest.version_no)).await?.ok_or(AppError::NotFound)?;
    drop(repo);
    require_agencies(&v, current.as_ref().map_or(&newest.version, |d| &d.version))?;
    require_agencies(&v, &newest.version)?;
    // The editor starts from the newest version (future if any), dated the day after it at the
    // earliest: that is the version the new one would copy.
    let tomorrow = today.succ_opt().unwrap_or(today);
    let day = tomorrow.max(latest.effective_from.succ_opt().unwrap_or(tomorrow));
    let form =
        ProcessForm { effective_from: tl_core::fmt::date(day), body: dump_process(&newest.version.process()), action: String::new() };
    screen(
        &st,
        &v,
        Screen { code: &code, form: &form, errors: vec![], checked: None, saved: q.saved.and_then(|s| s.parse().ok()) },
        StatusCode::OK,
    )
    .await
}

fn problem(path: &str, vi: impl Into<String>, en: impl Into<String>) -> DocError {
    DocError { line: 0, path: path.into(), code: "form", message_vi: vi.into(), message_en: en.into() }
}

/// POST /admin/procedures/{code}/process — check, or save as a new version.
pub async fn update(
    State(st): State<AppState>,
    v: Visitor,
    Path(code): Path<String>,
    CsrfForm(f): CsrfForm<ProcessForm>,
) -> AppResult<Response> {
    require_catalog(&v)?;
    let today = today();
    let mut repo = st.db.read().await?;
    let versions = repo.list_procedure_versions(&code).await?;
    let latest = versions.last().ok_or(AppError::NotFound)?;
    let newest = repo.get_procedure(&code, today, Some(latest.version_no)).await?.ok_or(AppError::NotFound)?;
    let current = repo.get_procedure(&code, today, None).await?;
    let known = repo.catalog_known().await?;
    drop(repo);
    require_agencies(&v, current.as_ref().map_or(&newest.version, |d| &d.version))?;
    require_agencies(&v, &newest.version)?;

    let mut errors = vec![];
    let day = tl_core::fmt::parse_date(&f.effective_from);
    match day {
        None => errors.push(problem(
            "effective_from",
            "Vui lòng nhập ngày hiệu lực dạng ngày/tháng/năm, ví dụ 01/01/2027.",
            "Enter the effective date as dd/mm/yyyy, for example 01/01/2027.",
        )),
        // History is not rewritten: a new version takes effect today or later.
        Some(d) if d < today => errors.push(problem(
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
    // The new version copies the one that would be in force on its date (the newest one when
    // the date is not valid yet, so the process is still checked against a time limit).
    let base: ProcedureDetail = match day.and_then(|d| in_force(&versions, d)) {
        Some(row) if row.version_no != newest.version_no => {
            st.db.read().await?.get_procedure(&code, today, Some(row.version_no)).await?.ok_or(AppError::NotFound)?
        }
        _ => newest,
    };
    require_agencies(&v, &base.version)?;
    let process = if f.body.len() > MAX_PROCESS_BYTES {
        errors.push(problem(
            "body",
            format!("Nội dung quy trình quá lớn (tối đa {} KB).", MAX_PROCESS_BYTES >> 10),
            format!("The process text is too large (at most {} KB).", MAX_PROCESS_BYTES >> 10),
        ));
        None
    } else {
        match load_process(&f.body, &base.version, &known) {
            Ok(p) => Some(p),
            Err(e) => {
                errors.extend(e);
                None
            }
        }
    };
    let version = match (&process, day) {
        (Some(p), Some(d)) => {
            let mut ver = base.version.clone();
            ver.effective_from = d;
            ver.process = Some(p.clone());
            // The whole version again, against the catalog as it is now.
            let doc = CatalogDocument {
                format: FORMAT.into(),
                procedures: vec![Procedure { code: code.clone(), versions: vec![ver.clone()] }],
                ..Default::default()
            };
            errors.extend(check(&doc, &known));
            Some(ver)
        }
        _ => None,
    };
    // Keep the text as typed, but never echo more than the limit back into the page.
    let shown_form = if f.body.len() > MAX_PROCESS_BYTES {
        ProcessForm { body: String::new(), effective_from: f.effective_from.clone(), action: f.action.clone() }
    } else {
        ProcessForm { body: f.body.clone(), effective_from: f.effective_from.clone(), action: f.action.clone() }
    };
    if !errors.is_empty() {
        let s = Screen { code: &code, form: &shown_form, errors, checked: None, saved: None };
        return screen(&st, &v, s, StatusCode::BAD_REQUEST).await;
    }
    let version = version.expect("validated: a process and a date");
    if f.action != "save" {
        let names: HashMap<String, tl_core::catalog::I18nText> =
            st.db.read().await?.list_agencies().await?.into_iter().map(|a| (a.electronic_id, a.name)).collect();
        let checked = process_view(&version, &names, v.lang);
        let s = Screen { code: &code, form: &shown_form, errors: vec![], checked: Some(checked), saved: None };
        return screen(&st, &v, s, StatusCode::OK).await;
    }
    let steps = version.process.as_ref().map_or(0, |p| p.steps.len());
    let mut w = st.db.begin().await?;
    let no = w.add_procedure_version(&code, &version, v.account.as_ref().map(|a| a.id), Utc::now()).await?;
    w.append_audit(&audit(
        &v,
        None,
        "procedure.process",
        "procedure",
        &code,
        json!({"version": no, "based_on": base.version_no, "effective_from": version.effective_from, "steps": steps}),
    ))
    .await?;
    w.commit().await?;
    st.catalog.invalidate();
    Ok(see_other(&format!("/admin/procedures/{code}/process?saved={no}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(no: i64, d: &str) -> VersionRow {
        VersionRow {
            version_no: no,
            effective_from: d.parse().unwrap(),
            effective_to: None,
            name: Default::default(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn the_version_in_force_on_a_day() {
        let rows = [row(1, "2025-07-01"), row(2, "2026-01-01"), row(3, "2027-01-01")];
        let on = |d: &str| in_force(&rows, d.parse().unwrap()).map(|r| r.version_no);
        assert_eq!(on("2025-06-30"), None);
        assert_eq!(on("2025-07-01"), Some(1));
        assert_eq!(on("2026-12-31"), Some(2));
        assert_eq!(on("2030-01-01"), Some(3));
    }
}
