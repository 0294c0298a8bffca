//! Administrators register relying parties ("ứng dụng liên kết"): `/admin/oidc/clients`.
//! Every change is audited in the transaction that makes it; a secret is shown once.

use super::clients::{self, ClientInput};
use super::protocol::{self, USER_SCOPES};
use crate::auth::audit;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::web::{render, render_status, see_other, CsrfForm, FormErrors, Visitor};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use serde_json::json;
use tl_storage::{Account, OidcClient};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/oidc/clients", get(list).post(create))
        .route("/admin/oidc/clients/new", get(new))
        .route("/admin/oidc/clients/{id}", get(edit).post(update))
        .route("/admin/oidc/clients/{id}/secret", post(new_secret))
        .route("/admin/oidc/clients/{id}/status", post(set_status))
}

type Form = Vec<(String, String)>;

fn one<'a>(f: &'a Form, name: &str) -> &'a str {
    f.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// The form as the administrator filled it in (checkbox groups repeat their name).
fn input_of(f: &Form) -> ClientInput {
    let scopes: Vec<String> = f.iter().filter(|(k, _)| k == "scope").map(|(_, v)| v.clone()).collect();
    ClientInput {
        name: one(f, "name").to_owned(),
        redirect_uris: lines(one(f, "redirect_uris")),
        post_logout_redirect_uris: lines(one(f, "post_logout_redirect_uris")),
        scopes: scopes.join(" "),
        grant_types: f.iter().filter(|(k, _)| k == "grant_type").map(|(_, v)| v.clone()).collect(),
        confidential: one(f, "client_type") != "public",
        sector: Some(one(f, "sector").to_owned()),
        service_account: one(f, "service_account").trim().to_owned(),
    }
}

/// What the form shows: the values, and which boxes are ticked.
fn form_view(input: &ClientInput, lang: Lang) -> minijinja::Value {
    let en = lang == Lang::En;
    let chosen: Vec<&str> = input.scopes.split(' ').collect();
    let scopes: Vec<minijinja::Value> = USER_SCOPES
        .iter()
        .map(|s| minijinja::context! { name => s.name, label => if en { s.en } else { s.vi }, checked => chosen.contains(&s.name) })
        .collect();
    let api_scopes: Vec<minijinja::Value> = protocol::API_SCOPES
        .iter()
        .map(|s| minijinja::context! { name => s.name, label => if en { s.en } else { s.vi }, checked => chosen.contains(&s.name) })
        .collect();
    let grants: Vec<minijinja::Value> = protocol::GRANT_TYPES
        .iter()
        .map(|g| minijinja::context! { name => g, checked => input.grant_types.iter().any(|x| x == g) })
        .collect();
    minijinja::context! {
        name => input.name,
        redirect_uris => input.redirect_uris.join("\n"),
        post_logout_redirect_uris => input.post_logout_redirect_uris.join("\n"),
        scopes,
        api_scopes,
        grants,
        confidential => input.confidential,
        sector => input.sector.clone().unwrap_or_default(),
        service_account => input.service_account,
    }
}

async fn input_from_client(st: &AppState, c: &OidcClient) -> AppResult<ClientInput> {
    let service_account = match c.service_account_id {
        Some(id) => st.db.read().await?.get_account(id).await?.map(|a| a.login).unwrap_or_default(),
        None => String::new(),
    };
    Ok(ClientInput {
        service_account,
        name: c.name.clone(),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        scopes: c.scopes.join(" "),
        grant_types: c.grant_types.clone(),
        confidential: c.is_confidential(),
        sector: Some(c.sector.clone()),
    })
}

/// The account the form's "service account" names, if any.
async fn service_account(st: &AppState, input: &ClientInput) -> AppResult<Option<Account>> {
    let login = crate::auth::normalise_login(&input.service_account);
    if login.is_empty() || login.len() > 200 {
        return Ok(None);
    }
    Ok(st.db.read().await?.find_account_by_login(&login).await?)
}

pub async fn list(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    v.require_admin()?;
    let clients = st.db.read().await?.list_oidc_clients().await?;
    render(&st, &v, "admin/oidc_clients.html", minijinja::context! { clients })
}

pub async fn new(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    v.require_admin()?;
    let input = ClientInput {
        scopes: "openid profile".into(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        confidential: true,
        ..Default::default()
    };
    render(&st, &v, "admin/oidc_client_form.html", minijinja::context! { form => form_view(&input, v.lang), client => () })
}

fn problems_to_errors(problems: &[clients::FieldProblem], lang: Lang) -> FormErrors {
    let mut e = FormErrors::default();
    for p in problems {
        e.add(lang, p.field, &p.vi, &p.en);
    }
    e
}

pub async fn create(State(st): State<AppState>, v: Visitor, CsrfForm(f): CsrfForm<Form>) -> AppResult<Response> {
    v.require_admin()?;
    let input = input_of(&f);
    let now = Utc::now();
    let account = service_account(&st, &input).await?;
    let (client, secret) = match clients::build(&input, None, account.as_ref(), now) {
        Ok(x) => x,
        Err(problems) => {
            let errors = problems_to_errors(&problems, v.lang);
            let ctx = minijinja::context! { form => form_view(&input, v.lang), client => (), errors => errors.items, field_errors => errors.by_field() };
            return render_status(&st, &v, "admin/oidc_client_form.html", ctx, StatusCode::BAD_REQUEST);
        }
    };
    let mut w = st.db.begin().await?;
    w.create_oidc_client(&client).await?;
    w.append_audit(&audit(&v, None, "oidc.client_created", "oidc_client", &client.client_id, client_detail(&client))).await?;
    w.commit().await?;
    render(&st, &v, "admin/oidc_client_secret.html", minijinja::context! { client, secret, created => true })
}

fn client_detail(c: &OidcClient) -> serde_json::Value {
    json!({
        "name": c.name,
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "scopes": c.scopes,
        "grant_types": c.grant_types,
        "confidential": c.is_confidential(),
        "sector": c.sector,
        "service_account_id": c.service_account_id,
    })
}

async fn load(st: &AppState, id: &str) -> AppResult<OidcClient> {
    if id.len() > 100 {
        return Err(AppError::NotFound);
    }
    st.db.read().await?.get_oidc_client(id).await?.ok_or(AppError::NotFound)
}

pub async fn edit(State(st): State<AppState>, v: Visitor, Path(id): Path<String>) -> AppResult<Response> {
    v.require_admin()?;
    let client = load(&st, &id).await?;
    let form = form_view(&input_from_client(&st, &client).await?, v.lang);
    render(&st, &v, "admin/oidc_client_form.html", minijinja::context! { form, client })
}

pub async fn update(State(st): State<AppState>, v: Visitor, Path(id): Path<String>, CsrfForm(f): CsrfForm<Form>) -> AppResult<Response> {
    v.require_admin()?;
    let old = load(&st, &id).await?;
    let mut input = input_of(&f);
    // The kind of client is fixed at registration: a public client has no secret to keep.
    input.confidential = old.is_confidential();
    let now = Utc::now();
    let account = service_account(&st, &input).await?;
    let mut client = match clients::build(&input, Some(&old.client_id), account.as_ref(), now) {
        Ok((c, _)) => c,
        Err(problems) => {
            let errors = problems_to_errors(&problems, v.lang);
            let ctx = minijinja::context! { form => form_view(&input, v.lang), client => old, errors => errors.items, field_errors => errors.by_field() };
            return render_status(&st, &v, "admin/oidc_client_form.html", ctx, StatusCode::BAD_REQUEST);
        }
    };
    client.secret_hash = old.secret_hash.clone();
    client.created_at = old.created_at;
    client.disabled_at = old.disabled_at;
    let mut w = st.db.begin().await?;
    w.update_oidc_client(&client).await?;
    w.append_audit(&audit(&v, None, "oidc.client_updated", "oidc_client", &client.client_id, client_detail(&client))).await?;
    w.commit().await?;
    st.oidc.cache.invalidate();
    Ok(see_other("/admin/oidc/clients"))
}

pub async fn new_secret(
    State(st): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Form>,
) -> AppResult<Response> {
    v.require_admin()?;
    let mut client = load(&st, &id).await?;
    if !client.is_confidential() {
        return Err(AppError::invalid("public_client", "Ứng dụng công khai không có khóa bí mật.", "A public client has no secret."));
    }
    let (secret, hash) = clients::new_secret();
    client.secret_hash = Some(hash);
    client.updated_at = Utc::now();
    let mut w = st.db.begin().await?;
    w.update_oidc_client(&client).await?;
    w.append_audit(&audit(&v, None, "oidc.client_secret_rotated", "oidc_client", &client.client_id, json!({}))).await?;
    w.commit().await?;
    st.oidc.cache.invalidate();
    render(&st, &v, "admin/oidc_client_secret.html", minijinja::context! { client, secret, created => false })
}

pub async fn set_status(
    State(st): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<Form>,
) -> AppResult<Response> {
    v.require_admin()?;
    let mut client = load(&st, &id).await?;
    let now = Utc::now();
    client.disabled_at = match one(&f, "status") {
        "disabled" => Some(now),
        "active" => None,
        _ => return Err(AppError::invalid("bad_status", "Trạng thái không hợp lệ.", "Unknown status.")),
    };
    client.updated_at = now;
    let mut w = st.db.begin().await?;
    w.update_oidc_client(&client).await?;
    let action = if client.disabled_at.is_some() { "oidc.client_disabled" } else { "oidc.client_enabled" };
    w.append_audit(&audit(&v, None, action, "oidc_client", &client.client_id, json!({}))).await?;
    w.commit().await?;
    st.oidc.cache.invalidate();
    Ok(see_other("/admin/oidc/clients"))
}
