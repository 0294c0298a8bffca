//! The authorization endpoint (OIDC Core §3.1.2) with the consent screen, and the person's
//! own list of applications they allowed (consent withdrawn there).

use super::issuer;
use super::protocol::{self, client_redirect, AuthorizeError, AuthorizeRequest, Params};
use crate::auth::audit;
use crate::error::{AppError, AppResult};
use crate::web::{render, see_other, CsrfForm, Visitor};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use chrono::{DateTime, Utc};
use tl_storage::{Account, OidcClient, OidcCode};

fn bad_params(e: &protocol::ParamError) -> AppError {
    AppError::invalid(
        "invalid_authorization_request",
        format!("Yêu cầu đăng nhập không hợp lệ: {}.", e.describe()),
        format!("The sign-in request is invalid: {}.", e.describe()),
    )
}

pub async fn get(State(st): State<AppState>, v: Visitor, headers: HeaderMap, RawQuery(q): RawQuery) -> AppResult<Response> {
    let p = Params::parse(q.unwrap_or_default().as_bytes()).map_err(|e| bad_params(&e))?;
    authorize(&st, &v, &headers, p).await
}

/// OIDC Core §3.1.2.1: the request may also come as a form POST from the relying party (a
/// cross-site POST by design, so no CSRF token: nothing is granted without the consent form).
pub async fn post(State(st): State<AppState>, v: Visitor, headers: HeaderMap, body: Bytes) -> AppResult<Response> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(AppError::UnsupportedMediaType);
    }
    let p = Params::parse(&body).map_err(|e| bad_params(&e))?;
    authorize(&st, &v, &headers, p).await
}

async fn load_client(st: &AppState, p: &Params) -> AppResult<Option<OidcClient>> {
    match p.get("client_id") {
        Some(id) if id.len() <= 100 => super::client(st, id).await,
        _ => Ok(None),
    }
}

fn error_redirect(st: &AppState, redirect_uri: &str, state: Option<&str>, error: &str, description: &str) -> Response {
    see_other(&client_redirect(redirect_uri, issuer(st), &[("error", error), ("error_description", description)], state))
}

fn checked(st: &AppState, p: &Params, client: Option<&OidcClient>) -> Result<AuthorizeRequest, AppResult<Response>> {
    match protocol::check_authorize(p, client) {
        Ok(r) => Ok(r),
        Err(AuthorizeError::Page { code, vi, en }) => Err(Err(AppError::invalid(code, vi, en))),
        Err(AuthorizeError::Redirect { redirect_uri, state, error, description }) => {
            Err(Ok(error_redirect(st, &redirect_uri, state.as_deref(), error, &description)))
        }
    }
}

async fn authorize(st: &AppState, v: &Visitor, headers: &HeaderMap, p: Params) -> AppResult<Response> {
    let client = load_client(st, &p).await?;
    let req = match checked(st, &p, client.as_ref()) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let client = client.expect("checked requests have a client");
    let now = Utc::now();
    // When the session began (read with it by the visitor middleware).
    let at = v.session_started;
    let state = req.state.as_deref();
    if protocol::must_authenticate(&req, at, now) || v.account.is_none() {
        if req.prompt.none {
            return Ok(error_redirect(st, &req.redirect_uri, state, "login_required", "the user is not signed in"));
        }
        let next = format!("/oidc/authorize?{}", p.to_query());
        let q = form_urlencoded::Serializer::new(String::new()).append_pair("next", &next).finish();
        return Ok(see_other(&format!("/signin?{q}")));
    }
    let account = v.account.as_ref().expect("signed in");
    let consent = st.db.read().await?.get_oidc_consent(account.id, &client.client_id).await?;
    if !req.prompt.consent && consent.as_ref().is_some_and(|c| protocol::consent_covers(&c.scopes, &req.scopes)) {
        let to = issue_code(st, v, &req, account, at.unwrap_or(now)).await?;
        // A navigation that began on our own pages (the sign-in form) goes on through a page:
        // browsers apply the sign-in page's `form-action 'self'` to the whole redirect chain.
        let from_our_form = headers.get("sec-fetch-site").is_some_and(|s| s == "same-origin");
        return Ok(if from_our_form { continue_page(st, v, &to)? } else { see_other(&to) });
    }
    if req.prompt.none {
        return Ok(error_redirect(st, &req.redirect_uri, state, "consent_required", "the user has not consented"));
    }
    consent_page(st, v, &client, &req, &p, account)
}

/// The consent screen: who asks, what they would receive, allow or refuse.
fn consent_page(
    st: &AppState,
    v: &Visitor,
    client: &OidcClient,
    req: &AuthorizeRequest,
    p: &Params,
    account: &Account,
) -> AppResult<Response> {
    let en = v.lang == crate::i18n::Lang::En;
    let items: Vec<minijinja::Value> = req
        .scopes
        .iter()
        .filter_map(|s| protocol::scope_info(s))
        .map(|s| minijinja::context! { name => s.name, text => if en { s.en } else { s.vi }, other => if en { s.vi } else { s.en } })
        .collect();
    let host = url::Url::parse(&req.redirect_uri).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
    let hidden: Vec<(String, String)> = p.pairs().to_vec();
    let mut resp = render(
        st,
        v,
        "oidc/consent.html",
        minijinja::context! { client_name => client.name, client_host => host, items, hidden, account_name => account.display_name },
    )?;
    allow_form_target(&mut resp, &req.redirect_uri);
    Ok(resp)
}

/// The page's own CSP, letting its form's redirect reach the client (CSP3 `form-action`
/// applies to redirects after a form submission).
pub(super) fn allow_form_target(resp: &mut Response, target: &str) {
    let Some(origin) = url::Url::parse(target).ok().map(|u| u.origin().ascii_serialization()).filter(|o| o != "null") else { return };
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
         connect-src 'self'; form-action 'self' {origin}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    );
    if let Ok(h) = HeaderValue::from_str(&csp) {
        resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, h);
    }
}

/// "Returning to the application…": a link, followed at once by a meta refresh (no script).
fn continue_page(st: &AppState, v: &Visitor, to: &str) -> AppResult<Response> {
    render(st, v, "oidc/continue.html", minijinja::context! { target => to })
}

async fn issue_code(st: &AppState, v: &Visitor, req: &AuthorizeRequest, account: &Account, auth_time: DateTime<Utc>) -> AppResult<String> {
    let now = Utc::now();
    let code = protocol::new_secret("");
    let grant_id = protocol::new_grant_id();
    let sid = protocol::sid_for(v.session_hash.as_deref().unwrap_or_default());
    // Stored through the group committer: durable before the code is handed out.
    st.oidc
        .redeemer
        .issue(OidcCode {
            code_hash: protocol::secret_key(&code),
            grant_id,
            client_id: req.client_id.clone(),
            account_id: account.id,
            redirect_uri: req.redirect_uri.clone(),
            scope: protocol::join_scope(&req.scopes),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.clone(),
            auth_time,
            sid,
            created_at: now,
            expires_at: now + st.config.oidc_code_lifetime,
            used_at: None,
        })
        .await?;
    Ok(client_redirect(&req.redirect_uri, issuer(st), &[("code", &code)], req.state.as_deref()))
}

/// The consent form: every authorization parameter again (checked again: hidden fields are
/// input like any other), the CSRF token and the decision.
pub async fn consent(State(st): State<AppState>, v: Visitor, CsrfForm(form): CsrfForm<Vec<(String, String)>>) -> AppResult<Response> {
    let decision = form.iter().find(|(k, _)| k == "decision").map(|(_, v)| v.clone()).unwrap_or_default();
    let pairs: Vec<(String, String)> = form.into_iter().filter(|(k, _)| k != "csrf" && k != "decision").collect();
    let p = Params::parse(serde_urlencoded::to_string(&pairs).unwrap_or_default().as_bytes()).map_err(|e| bad_params(&e))?;
    let client = load_client(&st, &p).await?;
    let req = match checked(&st, &p, client.as_ref()) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let Some(account) = v.account.clone() else {
        let next = format!("/oidc/authorize?{}", p.to_query());
        let q = form_urlencoded::Serializer::new(String::new()).append_pair("next", &next).finish();
        return Ok(see_other(&format!("/signin?{q}")));
    };
    let now = Utc::now();
    let scope = protocol::join_scope(&req.scopes);
    if decision != "allow" {
        let mut w = st.db.begin().await?;
        w.append_audit(&audit(&v, None, "oidc.consent_denied", "oidc_client", &req.client_id, serde_json::json!({"scope": scope}))).await?;
        w.commit().await?;
        let mut resp = error_redirect(&st, &req.redirect_uri, req.state.as_deref(), "access_denied", "the user refused");
        allow_form_target(&mut resp, &req.redirect_uri);
        return Ok(resp);
    }
    // Remember the union of what was allowed before and now.
    let mut w = st.db.begin().await?;
    let mut all = req.scopes.clone();
    if let Some(c) = w.get_oidc_consent(account.id, &req.client_id).await? {
        all.extend(c.scopes.split(' ').filter(|s| !s.is_empty()).map(str::to_owned));
    }
    all.sort();
    all.dedup();
    w.set_oidc_consent(account.id, &req.client_id, &protocol::join_scope(&all), now).await?;
    w.append_audit(&audit(&v, None, "oidc.consent_given", "oidc_client", &req.client_id, serde_json::json!({"scope": scope}))).await?;
    w.commit().await?;
    let at = v.session_started.unwrap_or(now);
    let to = issue_code(&st, &v, &req, &account, at).await?;
    Ok(see_other(&to))
}

/// "Ứng dụng đã liên kết": the applications the person allowed, each revocable.
pub async fn my_apps(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    let account = v.require_account()?;
    let consents = st.db.read().await?.list_oidc_consents(account.id).await?;
    let en = v.lang == crate::i18n::Lang::En;
    let apps: Vec<minijinja::Value> = consents
        .iter()
        .map(|c| {
            let scopes: Vec<&str> = c.scopes.split(' ').filter_map(protocol::scope_info).map(|s| if en { s.en } else { s.vi }).collect();
            minijinja::context! { client_id => c.client_id, name => c.client_name, granted_at => c.granted_at, scopes }
        })
        .collect();
    render(&st, &v, "oidc/apps.html", minijinja::context! { apps })
}

pub async fn revoke_app(
    State(st): State<AppState>,
    v: Visitor,
    Path(client_id): Path<String>,
    CsrfForm(_): CsrfForm<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    let account = v.require_account()?;
    let mut w = st.db.begin().await?;
    if !w.revoke_oidc_consent(account.id, &client_id, Utc::now()).await? {
        return Err(AppError::NotFound);
    }
    w.append_audit(&audit(&v, None, "oidc.consent_revoked", "oidc_client", &client_id, serde_json::json!({}))).await?;
    w.commit().await?;
    st.oidc.cache.invalidate();
    Ok(see_other("/account/apps"))
}
