//! The citizen portal: search, procedure pages, browsing by field and agency.

use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::web::{cookie, render, render_status, safe_next, Visitor};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use tl_core::catalog::{Channel, ServiceLevel};
use tl_core::text::{terms, MAX_QUERY_CHARS};
use tl_storage::{ProcedureDetail, ProcedureSummary, SearchPage, SearchQuery};

pub const PER_PAGE: u32 = 20;

pub fn today() -> chrono::NaiveDate {
    tl_core::time::local_date(chrono::Utc::now())
}

/// Search parameters as they come from a URL; every one is checked before use.
#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    pub q: Option<String>,
    pub field: Option<String>,
    pub agency: Option<String>,
    pub level: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

impl SearchParams {
    /// The storage query, or a user-fixable error.
    pub fn to_query(&self, max_per_page: u32) -> AppResult<SearchQuery> {
        let q = self.q.as_deref().unwrap_or("");
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(AppError::invalid(
                "query_too_long",
                format!("Từ khóa tìm kiếm quá dài: tối đa {MAX_QUERY_CHARS} ký tự."),
                format!("The search text is too long: at most {MAX_QUERY_CHARS} characters."),
            ));
        }
        let page = match nonempty(&self.page) {
            None => 1,
            Some(p) => p.parse::<u32>().ok().filter(|p| (1..=10_000).contains(p)).ok_or_else(|| {
                AppError::invalid(
                    "bad_page",
                    "Số trang phải là số nguyên từ 1 đến 10000.",
                    "The page must be a whole number from 1 to 10000.",
                )
            })?,
        };
        let per_page = match nonempty(&self.per_page) {
            None => PER_PAGE,
            Some(p) => p.parse::<u32>().ok().filter(|p| (1..=max_per_page).contains(p)).ok_or_else(|| {
                AppError::invalid(
                    "bad_per_page",
                    format!("Số kết quả mỗi trang phải từ 1 đến {max_per_page}."),
                    format!("Results per page must be from 1 to {max_per_page}."),
                )
            })?,
        };
        let level = match nonempty(&self.level) {
            None => None,
            Some(l) => Some(ServiceLevel::parse(&l).ok_or_else(|| {
                AppError::invalid(
                    "bad_level",
                    "Mức độ dịch vụ phải là full_online, partial_online hoặc offline.",
                    "The service level must be full_online, partial_online or offline.",
                )
            })?),
        };
        let field = nonempty(&self.field);
        let agency = nonempty(&self.agency);
        if field.as_ref().is_some_and(|f| f.len() > 64) || agency.as_ref().is_some_and(|a| a.len() > 35) {
            return Err(AppError::invalid("bad_filter", "Bộ lọc không hợp lệ.", "The filter is invalid."));
        }
        Ok(SearchQuery { terms: terms(q), field, agency, level, day: today(), page, per_page })
    }
}

pub fn time_limit_text(value: i64, unit: tl_core::catalog::TimeUnit, lang: Lang) -> String {
    unit.label(lang.code(), u32::try_from(value).unwrap_or(0))
}

/// Searches the in-memory index of the procedures in force today.
pub async fn search_catalog(st: &AppState, q: &SearchQuery) -> AppResult<(SearchPage, std::sync::Arc<crate::catalog::Snapshot>)> {
    let snap = st.catalog.snapshot(&st.db).await?;
    let offset = (q.page.saturating_sub(1) as usize) * q.per_page as usize;
    let hits = snap.index.search(&tl_core::search::IndexQuery {
        terms: &q.terms,
        field: q.field.as_deref(),
        agency: q.agency.as_deref(),
        level: q.level.map(|l| l.as_str()),
        offset,
        limit: q.per_page as usize,
    });
    let page = SearchPage {
        items: hits.items.into_iter().cloned().collect(),
        total: hits.total as i64,
        page: q.page.max(1),
        per_page: q.per_page,
        relaxed: hits.relaxed,
    };
    Ok((page, snap))
}

fn summary_json(p: &ProcedureSummary, lang: Lang) -> Value {
    json!({
        "code": p.code,
        "name": p.name,
        "field_code": p.field_code,
        "field_name": p.field_name,
        "level": p.level.as_str(),
        "level_label": p.level.label(lang.code()),
        "time_limit": time_limit_text(p.time_value, p.time_unit, lang),
        "agency_count": p.agency_count,
    })
}

fn page_links(page: &SearchPage) -> Value {
    let pages = (page.total.max(0) as u64).div_ceil(u64::from(page.per_page.max(1))) as u32;
    json!({"current": page.page, "pages": pages, "prev": (page.page > 1).then(|| page.page - 1), "next": (page.page < pages).then(|| page.page + 1)})
}

pub async fn index(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    let snap = st.catalog.snapshot(&st.db).await?;
    let total = snap.index.len();
    let full_online = snap.index.level_count(ServiceLevel::FullOnline.as_str());
    render(&st, &v, "index.html", minijinja::context! { fields => snap.fields, total => total, full_online => full_online })
}

pub async fn search(State(st): State<AppState>, v: Visitor, Query(params): Query<SearchParams>) -> AppResult<Response> {
    let snap = st.catalog.snapshot(&st.db).await?;
    let fields = &snap.fields;
    let agency = match nonempty(&params.agency) {
        Some(eid) if eid.len() <= 35 => st.db.read().await?.get_agency(&eid).await?,
        _ => None,
    };
    let form = json!({
        "q": params.q.clone().unwrap_or_default(),
        "field": nonempty(&params.field),
        "agency": nonempty(&params.agency),
        "level": nonempty(&params.level),
    });
    let query = match params.to_query(PER_PAGE) {
        Ok(q) => q,
        Err(e @ AppError::Invalid { .. }) => {
            let msg = e.detail(v.lang);
            let ctx = minijinja::context! { form => form, fields => fields, error => msg, agency => agency };
            return render_status(&st, &v, "search.html", ctx, StatusCode::BAD_REQUEST);
        }
        Err(e) => return Err(e),
    };
    let (page, _) = search_catalog(&st, &query).await?;
    let items: Vec<Value> = page.items.iter().map(|p| summary_json(p, v.lang)).collect();
    let ctx = minijinja::context! {
        form => form,
        fields => fields,
        agency => agency,
        items => items,
        total => page.total,
        relaxed => page.relaxed,
        searched => !query.terms.is_empty(),
        pages => page_links(&page),
        levels => [ServiceLevel::FullOnline, ServiceLevel::PartialOnline].iter().map(|l| json!({"code": l.as_str(), "label": l.label(v.lang.code())})).collect::<Vec<_>>(),
    };
    render(&st, &v, "search.html", ctx)
}

#[derive(Deserialize)]
pub struct VersionParam {
    version: Option<String>,
}

/// Everything a procedure page shows, in the visitor's language.
pub fn procedure_view(d: &ProcedureDetail, lang: Lang) -> Value {
    let l = lang.code();
    let v = &d.version;
    let time_limits: Vec<Value> = v
        .time_limits
        .iter()
        .map(|t| {
            json!({
                "channel": t.channel.map(|c| c.label(l)),
                "text": t.unit.label(l, t.value),
                "cutoff": t.cutoff,
                "note": t.note,
            })
        })
        .collect();
    let fees: Vec<Value> = v
        .fees
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "amount": tl_core::fee::describe(f, l),
                "online": tl_core::fee::describe_online(f, l),
                "condition": f.condition,
                "reductions": f.reductions.iter().map(|r| json!({"who": r.who, "amount": tl_core::fmt::vnd(r.amount)})).collect::<Vec<_>>(),
                "legal_basis": f.legal_basis,
            })
        })
        .collect();
    let components: Vec<Value> = v
        .components
        .iter()
        .map(|c| json!({"name": c.name, "form": c.form.label(l), "copies": c.copies, "required": c.required, "template": c.template, "note": c.note}))
        .collect();
    let online_fee = v
        .fees
        .iter()
        .all(|f| tl_core::fee::amount(f, Channel::Online, tl_core::fee::FeeInput { pages: 1, copies: 1, ..Default::default() }) == Some(0));
    json!({
        "code": d.code,
        "version_no": d.version_no,
        "effective_from": v.effective_from,
        "effective_to": d.effective_to,
        "name": v.name,
        "field_code": v.field,
        "field_name": d.field_name,
        "level": v.level.as_str(),
        "level_label": v.level.label(l),
        "level_code": v.level.vendor_code(),
        "authority": v.authority,
        "applicants": v.applicants.iter().map(|a| a.label(l)).collect::<Vec<_>>(),
        "agencies": d.agencies,
        "time_limits": time_limits,
        "fees": fees,
        "free_online": !v.fees.is_empty() && online_fee,
        "components": components,
        "legal_basis": v.legal_basis,
        "result": v.result,
        "result_delivery": v.result_delivery.iter().map(|r| r.label(l)).collect::<Vec<_>>(),
        "result_note": v.result_note,
        "steps": v.steps,
        "conditions": v.conditions,
        "versions": d.versions,
        "online_form": v.form.is_some(),
    })
}

pub async fn procedure(
    State(st): State<AppState>,
    v: Visitor,
    Path(code): Path<String>,
    Query(p): Query<VersionParam>,
) -> AppResult<Response> {
    if tl_core::ids::check_procedure_code(&code).is_err() {
        return Err(AppError::NotFound);
    }
    let version_no = match p.version.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(s.parse::<i64>().ok().filter(|n| (1..=100_000).contains(n)).ok_or(AppError::NotFound)?),
    };
    let snap = st.catalog.snapshot(&st.db).await?;
    let detail = snap.procedure(&st.db, &code, version_no).await?.ok_or(AppError::NotFound)?;
    let day = snap.day;
    let current =
        detail.versions.iter().find(|x| x.effective_from <= day && x.effective_to.is_none_or(|to| to > day)).map(|x| x.version_no);
    let view = procedure_view(&detail, v.lang);
    // Whom the visitor may file this procedure for, beside themselves (businesses they work
    // for, people who authorised them).
    let principals: Vec<_> = match &v.account {
        Some(me) if me.kind != tl_core::account::AccountKind::Officer => crate::delegation::principals(&st, me, &code)
            .await?
            .into_iter()
            .map(|(id, name)| minijinja::context! { id => id, name => name })
            .collect(),
        _ => vec![],
    };
    // Pre-filling from the visitor's data store: whom to fill each role from, or consent to ask.
    let prefill = match (&v.account, detail.version.form.as_ref()) {
        (Some(me), Some(form)) => crate::datastore::start_options(&st, me, form, v.lang).await?,
        _ => serde_json::Value::Null,
    };
    render(
        &st,
        &v,
        "procedure.html",
        minijinja::context! { p => view, current_version => current, is_current => current == Some(detail.version_no), idem => crate::security::new_token(""), principals => principals, prefill => prefill },
    )
}

pub async fn fields(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    let mut repo = st.db.read().await?;
    let fields = repo.list_fields(today()).await?;
    render(&st, &v, "fields.html", minijinja::context! { fields => fields })
}

pub async fn agencies(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    let mut repo = st.db.read().await?;
    let list = repo.list_agencies().await?;
    let rows: Vec<Value> = list
        .iter()
        .map(|a| json!({"electronic_id": a.electronic_id, "name": a.name, "depth": a.depth(), "level": a.level.label(v.lang.code())}))
        .collect();
    render(&st, &v, "agencies.html", minijinja::context! { agencies => rows })
}

pub async fn agency(
    State(st): State<AppState>,
    v: Visitor,
    Path(eid): Path<String>,
    Query(params): Query<SearchParams>,
) -> AppResult<Response> {
    if tl_core::ids::AgencyId::parse(&eid).is_err() {
        return Err(AppError::NotFound);
    }
    let mut repo = st.db.read().await?;
    let a = repo.get_agency(&eid).await?.ok_or(AppError::NotFound)?;
    let parent = match a.parent_id {
        Some(id) => repo.get_agency_by_id(id).await?,
        None => None,
    };
    let children: Vec<Value> = repo
        .list_agencies()
        .await?
        .into_iter()
        .filter(|c| c.parent_id == Some(a.id))
        .map(|c| json!({"electronic_id": c.electronic_id, "name": c.name}))
        .collect();
    drop(repo);
    let mut query = params.to_query(PER_PAGE)?;
    query.agency = Some(eid.clone());
    let (page, _) = search_catalog(&st, &query).await?;
    let items: Vec<Value> = page.items.iter().map(|p| summary_json(p, v.lang)).collect();
    let ctx = minijinja::context! {
        agency => a, level_label => a.level.label(v.lang.code()), parent => parent, children => children,
        items => items, total => page.total, pages => page_links(&page),
    };
    render(&st, &v, "agency.html", ctx)
}

#[derive(Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

/// Switches the interface language (a preference cookie) and goes back where the visitor was.
pub async fn switch_lang(State(st): State<AppState>, Path(lang): Path<String>, Query(p): Query<NextParam>) -> AppResult<Response> {
    let lang = Lang::parse(&lang).ok_or(AppError::NotFound)?;
    let next = safe_next(p.next.as_deref(), "/");
    let mut resp = Redirect::to(&next).into_response();
    resp.headers_mut().append(header::SET_COOKIE, cookie("tl_lang", lang.code(), Some(365 * 24 * 3600), st.config.secure_cookies, "Lax"));
    Ok(resp)
}

pub const CSS: &str = include_str!("../static/app.css");

pub async fn static_file(Path(path): Path<String>) -> AppResult<Response> {
    let (body, ctype): (&'static [u8], &str) = match path.as_str() {
        "app.css" => (CSS.as_bytes(), "text/css; charset=utf-8"),
        "favicon.svg" => (include_bytes!("../static/favicon.svg"), "image/svg+xml"),
        "conditional.js" => (include_bytes!("../static/conditional.js"), "text/javascript; charset=utf-8"),
        _ => return Err(AppError::NotFound),
    };
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_str(ctype).expect("ascii"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    Ok(r)
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}
