//! The JSON API under `/api/v1`, described by the OpenAPI 3.1 document at `/api/openapi.json`.
//! The catalog is public; a bearer token (a personal API token) identifies the caller where
//! one is needed, and a token that is sent must be valid. Errors are RFC 9457 problem+json.

use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::portal::{today, SearchParams};
use crate::security::sha256_hex;
use crate::AppState;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tl_storage::Account;
use utoipa::{IntoParams, OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/procedures", get(list_procedures))
        .route("/api/v1/procedures/{code}", get(get_procedure))
        .route("/api/v1/procedures/{code}/versions", get(list_versions))
        .route("/api/v1/fields", get(list_fields))
        .route("/api/v1/agencies", get(list_agencies))
        .route("/api/v1/admin-units", get(list_admin_units))
        .route("/api/v1/me", get(me))
        .route("/api/v1/procedures/{code}/form", get(crate::dossiers::form))
        .route("/api/v1/dossiers", get(crate::dossiers::list).post(crate::dossiers::create))
        .route("/api/v1/dossiers/{id}", get(crate::dossiers::get).put(crate::dossiers::update).delete(crate::dossiers::delete))
        .route("/api/v1/dossiers/{id}/submit", axum::routing::post(crate::dossiers::submit))
        .route(
            "/api/v1/dossiers/{id}/files",
            axum::routing::post(crate::uploads::upload_api).layer(axum::extract::DefaultBodyLimit::disable()),
        )
}

/// The routes the OpenAPI document must describe (checked by a test against the router).
pub const DOCUMENTED: &[&str] = &[
    "/api/v1/procedures",
    "/api/v1/procedures/{code}",
    "/api/v1/procedures/{code}/versions",
    "/api/v1/fields",
    "/api/v1/agencies",
    "/api/v1/admin-units",
    "/api/v1/me",
    "/api/v1/people/{personal_id}/data",
    "/api/v1/procedures/{code}/form",
    "/api/v1/dossiers",
    "/api/v1/dossiers/{id}",
    "/api/v1/dossiers/{id}/submit",
    "/api/v1/dossiers/{id}/files",
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Thăng Long API",
        version = "1",
        description = "Public API of the Thăng Long digital-government platform: the procedure catalog \
            (thủ tục hành chính), agencies and administrative units. Errors are RFC 9457 problem+json \
            with a stable `code`. Send `Authorization: Bearer <token>` where a caller must be identified: \
            a personal API token (`tl_…`, everything its account may do), or an OAuth access token \
            (`tla_…`) from `/oidc/token` — a partner system's client-credentials token acts as the \
            client's service account within its scopes (`api:account.read` for /me, `api:dossiers` \
            for dossiers and uploads); a missing scope answers 403 `insufficient_scope`. Answers are \
            in Vietnamese unless `Accept-Language: en`.",
        license(name = "AGPL-3.0-or-later")
    ),
    paths(
        list_procedures, get_procedure, list_versions, list_fields, list_agencies, list_admin_units, me,
        crate::dossiers::form, crate::dossiers::create, crate::dossiers::update, crate::dossiers::submit,
        crate::dossiers::list, crate::dossiers::get, crate::dossiers::delete, crate::uploads::upload_api,
        crate::datastore::shared_data
    ),
    components(schemas(
        Problem, ProcedurePage, ProcedureItem, ProcedureDoc, VersionItem, FieldItem, AgencyItem, AdminUnitItem, MeDoc, Text,
        crate::dossiers::DossierDoc, crate::dossiers::EventDoc, crate::dossiers::CreateDossier, crate::dossiers::UpdateDossier,
        crate::dossiers::SubmitDossier, crate::dossiers::InvalidAnswers, crate::dossiers::AnswerErrorDoc, crate::dossiers::ProvenanceDoc
    )),
    modifiers(&BearerScheme),
    tags(
        (name = "catalog", description = "Procedures, fields, agencies, administrative units"),
        (name = "dossiers", description = "Filing dossiers (hồ sơ): drafts, submission, tracking"),
        (name = "account", description = "The caller")
    )
)]
struct ApiDoc;

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().expect("OpenAPI document serialises")
}

async fn openapi(State(st): State<AppState>) -> Response {
    let mut r = st.openapi_json.clone().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// An RFC 9457 problem document.
#[derive(Serialize, ToSchema)]
pub struct Problem {
    #[schema(example = "https://thanglong.gov.vn/problems/not_found")]
    r#type: String,
    title: String,
    status: u16,
    detail: String,
    /// Stable machine-readable code.
    #[schema(example = "not_found")]
    code: String,
    instance: String,
    request_id: String,
}

/// Text in Vietnamese, with English when available.
#[derive(Serialize, ToSchema)]
pub struct Text {
    vi: String,
    en: Option<String>,
}

impl From<&tl_core::catalog::I18nText> for Text {
    fn from(t: &tl_core::catalog::I18nText) -> Self {
        Self { vi: t.vi.clone(), en: t.en.clone() }
    }
}

/// How an API caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// No bearer token: what anyone may read.
    Anonymous,
    /// A personal API token (`tl_…`): everything its account may do.
    Personal,
    /// An access token from our OpenID provider (`tla_…`): a partner system's client-credentials
    /// token acting as the client's service account, or a person's token given to an
    /// application; limited to its scopes either way.
    OAuth { client_id: String, scopes: Vec<String> },
}

/// The caller, when it sent a valid bearer token, and what the token allows.
pub struct Caller(pub Option<Account>, pub Access);

impl Caller {
    /// Whether the token allows `scope` (a personal token allows everything its account may do).
    pub fn allows(&self, scope: &str) -> bool {
        match &self.1 {
            Access::Anonymous => false,
            Access::Personal => true,
            Access::OAuth { scopes, .. } => scopes.iter().any(|s| s == scope),
        }
    }

    /// The account acting, when the token allows `scope`: 401 without a token, 403
    /// `insufficient_scope` when the token lacks it (or names no account to act as).
    pub fn account_for(self, scope: &'static str) -> AppResult<Account> {
        match self.1 {
            Access::Anonymous => Err(AppError::Unauthenticated),
            _ if !self.allows(scope) => Err(AppError::InsufficientScope(scope)),
            _ => self.0.ok_or(AppError::InsufficientScope(scope)),
        }
    }

    /// The OAuth client calling, for the audit trail.
    pub fn client_id(&self) -> Option<&str> {
        match &self.1 {
            Access::OAuth { client_id, .. } => Some(client_id),
            _ => None,
        }
    }
}

/// A live account, or the token names no one who may act any more.
fn active(a: Option<Account>) -> AppResult<Account> {
    a.filter(|a| a.status == tl_storage::AccountStatus::Active).ok_or(AppError::Unauthenticated)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let Some(h) = parts.headers.get(header::AUTHORIZATION) else { return Ok(Caller(None, Access::Anonymous)) };
        let token = h
            .to_str()
            .ok()
            .and_then(|s| s.strip_prefix("Bearer ").or_else(|| s.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| t.len() <= crate::oidc::sealed::MAX_TOKEN_LEN)
            .ok_or(AppError::Unauthenticated)?;
        let now = Utc::now();
        if token.starts_with(crate::oidc::ACCESS_TOKEN_PREFIX) {
            let mut repo = st.db.read().await?;
            let t = crate::oidc::live_access_token(st, &mut repo, token, now).await?.ok_or(AppError::Unauthenticated)?;
            // A suspended client's tokens stop working with it.
            let client = repo.get_oidc_client(&t.client_id).await?.filter(|c| c.disabled_at.is_none()).ok_or(AppError::Unauthenticated)?;
            // A person's token acts as that person; a machine client's as its service account.
            // Either account, once disabled, ends the token at once.
            let account = match t.account_id.or(client.service_account_id) {
                Some(id) => Some(active(repo.get_account(id).await?)?),
                None => None,
            };
            let scopes = t.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
            return Ok(Caller(account, Access::OAuth { client_id: client.client_id, scopes }));
        }
        if !token.starts_with(crate::auth::TOKEN_PREFIX) {
            return Err(AppError::Unauthenticated);
        }
        let mut repo = st.db.read().await?;
        let (tok, account) = repo.find_api_token(&sha256_hex(token), now).await?.ok_or(AppError::Unauthenticated)?;
        drop(repo);
        let account = active(Some(account))?;
        if tok.last_used_at.is_none_or(|t| now - t > chrono::Duration::minutes(1)) {
            let mut w = st.db.begin().await?;
            w.touch_api_token(tok.id, now).await?;
            w.commit().await?;
        }
        Ok(Caller(Some(account), Access::Personal))
    }
}

fn api_lang(parts_lang: Option<&HeaderValue>) -> Lang {
    match parts_lang.and_then(|v| v.to_str().ok()) {
        Some(s) if s.trim_start().starts_with("en") => Lang::En,
        _ => Lang::Vi,
    }
}

/// Language of API answers (labels): `Accept-Language: en`, else Vietnamese.
pub struct ApiLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for ApiLang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ApiLang(api_lang(parts.headers.get(header::ACCEPT_LANGUAGE))))
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchApiParams {
    /// Search text; case, diacritics and đ/Đ are ignored (at most 200 characters).
    q: Option<String>,
    /// Field (lĩnh vực) code, e.g. `ho-tich`.
    field: Option<String>,
    /// Agency electronic ID; its sub-agencies are included, e.g. `H26`.
    agency: Option<String>,
    /// `full_online` (toàn trình), `partial_online` (một phần) or `offline`.
    level: Option<String>,
    /// Page number from 1.
    page: Option<String>,
    /// Results per page, 1–100 (default 20).
    per_page: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProcedurePage {
    items: Vec<ProcedureItem>,
    total: i64,
    page: u32,
    per_page: u32,
    /// True when no procedure has every word and results match any word instead.
    relaxed: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ProcedureItem {
    #[schema(example = "1.001193")]
    code: String,
    name: Text,
    version: i64,
    effective_from: NaiveDate,
    field: String,
    field_name: Text,
    /// `full_online`, `partial_online` or `offline`.
    level: String,
    /// Vendor / national portal code: 4 toàn trình, 3 một phần, 2 not online.
    level_code: u8,
    level_label: String,
    time_limit: String,
    agency_count: i64,
}

/// Search the procedures in force today.
#[utoipa::path(get, path = "/api/v1/procedures", tag = "catalog", params(SearchApiParams),
    responses((status = 200, description = "A page of procedures", body = ProcedurePage),
              (status = 400, description = "Malformed parameters", body = Problem, content_type = "application/problem+json"),
              (status = 401, description = "A bearer token was sent and is not valid", body = Problem, content_type = "application/problem+json")))]
async fn list_procedures(
    State(st): State<AppState>,
    _c: Caller,
    ApiLang(lang): ApiLang,
    Query(p): Query<SearchApiParams>,
) -> AppResult<Json<ProcedurePage>> {
    let params = SearchParams { q: p.q, field: p.field, agency: p.agency, level: p.level, page: p.page, per_page: p.per_page };
    let q = params.to_query(100)?;
    let (page, _) = crate::portal::search_catalog(&st, &q).await?;
    Ok(Json(ProcedurePage {
        items: page
            .items
            .iter()
            .map(|i| ProcedureItem {
                code: i.code.clone(),
                name: (&i.name).into(),
                version: i.version_no,
                effective_from: i.effective_from,
                field: i.field_code.clone(),
                field_name: (&i.field_name).into(),
                level: i.level.as_str().into(),
                level_code: i.level.vendor_code(),
                level_label: i.level.label(lang.code()).into(),
                time_limit: crate::portal::time_limit_text(i.time_value, i.time_unit, lang),
                agency_count: i.agency_count,
            })
            .collect(),
        total: page.total,
        page: page.page,
        per_page: page.per_page,
        relaxed: page.relaxed,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProcedureParams {
    /// A version number; default: the version in force on `date`.
    version: Option<String>,
    /// The day (YYYY-MM-DD) whose version is wanted; default: today in Vietnam.
    date: Option<String>,
}

/// One version of a procedure with everything a citizen needs before filing.
#[derive(Serialize, ToSchema)]
pub struct ProcedureDoc {
    code: String,
    version: i64,
    effective_from: NaiveDate,
    effective_to: Option<NaiveDate>,
    name: Text,
    field: String,
    field_name: Text,
    level: String,
    level_code: u8,
    agencies: Vec<AgencyItem>,
    authority: Option<Text>,
    applicants: Vec<String>,
    /// Time limits by channel: `{channel?, value, unit, cutoff?, note?}`.
    #[schema(value_type = Vec<Object>)]
    time_limits: serde_json::Value,
    /// Fee rules: `{name, kind, basis, amount?, unit?, tiers?, cap?, basis_points?, online?, reductions?}`; amounts in VND.
    #[schema(value_type = Vec<Object>)]
    fees: serde_json::Value,
    /// Dossier components (thành phần hồ sơ): `{key, name, form, copies, required, template?}`.
    #[schema(value_type = Vec<Object>)]
    components: serde_json::Value,
    /// Legal basis: `{number, title, issued?}`.
    #[schema(value_type = Vec<Object>)]
    legal_basis: serde_json::Value,
    result: Text,
    result_delivery: Vec<String>,
    result_note: Option<Text>,
    steps: Option<Text>,
    conditions: Option<Text>,
    versions: Vec<VersionItem>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionItem {
    version: i64,
    effective_from: NaiveDate,
    effective_to: Option<NaiveDate>,
    name: Text,
}

fn code_ok(code: &str) -> AppResult<()> {
    tl_core::ids::check_procedure_code(code).map_err(|e| AppError::invalid(e.code(), e.message("vi"), e.message("en")))
}

/// A procedure as in force today (or on `date`, or a given `version`).
#[utoipa::path(get, path = "/api/v1/procedures/{code}", tag = "catalog",
    params(("code" = String, Path, description = "National procedure code, e.g. 1.001193"), ProcedureParams),
    responses((status = 200, body = ProcedureDoc),
              (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such procedure or version", body = Problem, content_type = "application/problem+json")))]
async fn get_procedure(
    State(st): State<AppState>,
    _c: Caller,
    Path(code): Path<String>,
    Query(p): Query<ProcedureParams>,
) -> AppResult<Json<ProcedureDoc>> {
    code_ok(&code)?;
    let version = match p.version.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(s.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            AppError::invalid("bad_version", "Số phiên bản phải là số nguyên dương.", "The version must be a positive whole number.")
        })?),
    };
    let day = match p.date.as_deref().filter(|s| !s.is_empty()) {
        None => today(),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| AppError::invalid("bad_date", "Ngày phải có dạng YYYY-MM-DD.", "The date must be YYYY-MM-DD."))?,
    };
    let snap = st.catalog.snapshot(&st.db).await?;
    let d = if day == snap.day {
        snap.procedure(&st.db, &code, version).await?.ok_or(AppError::NotFound)?
    } else {
        std::sync::Arc::new(st.db.read().await?.get_procedure(&code, day, version).await?.ok_or(AppError::NotFound)?)
    };
    let v = &d.version;
    Ok(Json(ProcedureDoc {
        code: d.code.clone(),
        version: d.version_no,
        effective_from: v.effective_from,
        effective_to: d.effective_to,
        name: (&v.name).into(),
        field: v.field.clone(),
        field_name: (&d.field_name).into(),
        level: v.level.as_str().into(),
        level_code: v.level.vendor_code(),
        agencies: d.agencies.iter().map(agency_item).collect(),
        authority: v.authority.as_ref().map(Into::into),
        applicants: v
            .applicants
            .iter()
            .map(|a| serde_json::to_value(a).ok().and_then(|x| x.as_str().map(str::to_owned)).unwrap_or_default())
            .collect(),
        time_limits: serde_json::to_value(&v.time_limits).map_err(|e| AppError::Internal(e.into()))?,
        fees: serde_json::to_value(&v.fees).map_err(|e| AppError::Internal(e.into()))?,
        components: serde_json::to_value(&v.components).map_err(|e| AppError::Internal(e.into()))?,
        legal_basis: serde_json::to_value(&v.legal_basis).map_err(|e| AppError::Internal(e.into()))?,
        result: (&v.result).into(),
        result_delivery: v
            .result_delivery
            .iter()
            .map(|r| serde_json::to_value(r).ok().and_then(|x| x.as_str().map(str::to_owned)).unwrap_or_default())
            .collect(),
        result_note: v.result_note.as_ref().map(Into::into),
        steps: v.steps.as_ref().map(Into::into),
        conditions: v.conditions.as_ref().map(Into::into),
        versions: d.versions.iter().map(version_item).collect(),
    }))
}

fn version_item(v: &tl_storage::VersionRow) -> VersionItem {
    VersionItem { version: v.version_no, effective_from: v.effective_from, effective_to: v.effective_to, name: (&v.name).into() }
}

/// Every version of a procedure, oldest first.
#[utoipa::path(get, path = "/api/v1/procedures/{code}/versions", tag = "catalog",
    params(("code" = String, Path, description = "National procedure code")),
    responses((status = 200, body = Vec<VersionItem>), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn list_versions(State(st): State<AppState>, _c: Caller, Path(code): Path<String>) -> AppResult<Json<Vec<VersionItem>>> {
    code_ok(&code)?;
    let mut repo = st.db.read().await?;
    let rows = repo.list_procedure_versions(&code).await?;
    if rows.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(Json(rows.iter().map(version_item).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct FieldItem {
    code: String,
    name: Text,
    /// Procedures in force today in this field.
    procedure_count: i64,
}

/// Fields (lĩnh vực) with the number of procedures in force in each.
#[utoipa::path(get, path = "/api/v1/fields", tag = "catalog", responses((status = 200, body = Vec<FieldItem>)))]
async fn list_fields(State(st): State<AppState>, _c: Caller) -> AppResult<Json<Vec<FieldItem>>> {
    let snap = st.catalog.snapshot(&st.db).await?;
    let rows = &snap.fields;
    Ok(Json(rows.iter().map(|f| FieldItem { code: f.code.clone(), name: (&f.name).into(), procedure_count: f.procedure_count }).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct AgencyItem {
    /// Electronic ID per Decision 20/2020/QĐ-TTg.
    #[schema(example = "H26.50")]
    electronic_id: String,
    name: Text,
    /// `province`, `department`, `unit`, `commune` or `service_point`.
    level: String,
    parent: Option<String>,
    admin_unit: Option<String>,
    address: Option<String>,
    phone: Option<String>,
    email: Option<String>,
}

fn agency_item(a: &tl_storage::AgencyRow) -> AgencyItem {
    AgencyItem {
        electronic_id: a.electronic_id.clone(),
        name: (&a.name).into(),
        level: a.level.as_str().into(),
        parent: a.parent_electronic_id.clone(),
        admin_unit: a.admin_unit.clone(),
        address: a.address.clone(),
        phone: a.phone.clone(),
        email: a.email.clone(),
    }
}

/// The agency tree, parents before children.
#[utoipa::path(get, path = "/api/v1/agencies", tag = "catalog", responses((status = 200, body = Vec<AgencyItem>)))]
async fn list_agencies(State(st): State<AppState>, _c: Caller) -> AppResult<Json<Vec<AgencyItem>>> {
    let mut repo = st.db.read().await?;
    Ok(Json(repo.list_agencies().await?.iter().map(agency_item).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct AdminUnitItem {
    /// GSO code: 2 digits (province), 5 digits (commune level).
    code: String,
    name: Text,
    /// `municipality`, `province`, `ward`, `commune`, `special_zone` or `district` (abolished).
    kind: String,
    parent: Option<String>,
    valid_from: NaiveDate,
    valid_to: Option<NaiveDate>,
    /// Units that replaced this one when it ended.
    successors: Vec<String>,
}

/// Administrative units with their validity (units merge and split; none is deleted).
#[utoipa::path(get, path = "/api/v1/admin-units", tag = "catalog", responses((status = 200, body = Vec<AdminUnitItem>)))]
async fn list_admin_units(State(st): State<AppState>, _c: Caller) -> AppResult<Json<Vec<AdminUnitItem>>> {
    let mut repo = st.db.read().await?;
    Ok(Json(
        repo.list_admin_units()
            .await?
            .into_iter()
            .map(|u| AdminUnitItem {
                code: u.code,
                name: (&u.name).into(),
                kind: u.kind.as_str().into(),
                parent: u.parent,
                valid_from: u.valid_from,
                valid_to: u.valid_to,
                successors: u.successors,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct MeDoc {
    id: i64,
    /// `citizen`, `business` or `officer`.
    kind: String,
    login: String,
    display_name: String,
    roles: Vec<String>,
}

/// The account the bearer token belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = MeDoc), (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn me(State(st): State<AppState>, c: Caller) -> AppResult<Json<MeDoc>> {
    let a = c.account_for(crate::oidc::protocol::API_ACCOUNT_READ)?;
    let mut repo = st.db.read().await?;
    let roles = repo.roles_of(a.id).await?.into_iter().map(|g| format!("{}@{}", g.role.as_str(), g.agency)).collect();
    Ok(Json(MeDoc { id: a.id, kind: a.kind.as_str().into(), login: a.login, display_name: a.display_name, roles }))
}
