//! RP-Initiated Logout 1.0: the relying party sends the person here to end their platform
//! session, then back to one of its registered post-logout addresses.

use super::authorize::allow_form_target;
use super::protocol::{self, Params};
use super::{issuer, jwt, keys};
use crate::auth::audit;
use crate::error::{AppError, AppResult};
use crate::web::{cookie, render, see_other, CsrfForm, Visitor};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use chrono::Utc;

fn bad(code: &'static str, vi: &str, en: &str) -> AppError {
    AppError::invalid(code, vi, en)
}

/// A checked logout request: where to go afterwards, and whether the hint names this session.
struct Logout {
    target: Option<String>,
    client_id: Option<String>,
    hint_matches_session: bool,
}

async fn check(st: &AppState, v: &Visitor, p: &Params) -> AppResult<Logout> {
    let mut hint_client: Option<String> = None;
    let mut hint_sid: Option<String> = None;
    if let Some(hint) = p.get("id_token_hint") {
        let published = keys::published(st.db.as_ref(), Utc::now()).await?;
        let keys: Vec<_> = published.into_iter().map(|(kid, k, _)| (kid, k)).collect();
        // An expired ID token is still a good hint (RP-Initiated Logout §2): only the
        // signature and the issuer are checked.
        let claims = jwt::verify(hint, &keys)
            .map_err(|_| bad("invalid_id_token_hint", "Mã nhận diện (id_token_hint) không hợp lệ.", "The id_token_hint is not valid."))?;
        if claims.get("iss").and_then(|v| v.as_str()) != Some(issuer(st)) {
            return Err(bad(
                "invalid_id_token_hint",
                "Mã nhận diện (id_token_hint) không do Cổng cấp.",
                "The id_token_hint was not issued here.",
            ));
        }
        hint_client = match claims.get("aud") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Array(a)) => a.first().and_then(|x| x.as_str()).map(str::to_owned),
            _ => None,
        };
        hint_sid = claims.get("sid").and_then(|v| v.as_str()).map(str::to_owned);
    }
    let client_id = match (hint_client, p.get("client_id")) {
        (Some(h), Some(c)) if h != c => {
            return Err(bad("client_mismatch", "Mã ứng dụng không khớp với id_token_hint.", "client_id does not match the id_token_hint."))
        }
        (Some(h), _) => Some(h),
        (None, c) => c.map(str::to_owned),
    };
    let target = match p.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let client = match &client_id {
                Some(id) if id.len() <= 100 => st.db.read().await?.get_oidc_client(id).await?,
                _ => None,
            };
            // Matched exactly against the client's registered addresses; otherwise no redirect.
            if !client.is_some_and(|c| c.disabled_at.is_none() && protocol::redirect_uri_registered(&c.post_logout_redirect_uris, uri)) {
                return Err(bad(
                    "post_logout_redirect_uri_mismatch",
                    "Địa chỉ quay lại sau khi đăng xuất không được đăng ký cho ứng dụng này. Để bảo vệ bạn, chúng tôi không chuyển tiếp.",
                    "The post-logout address is not registered for this application. To protect you, we do not redirect.",
                ));
            }
            // RP-Initiated Logout §3: state goes back; RFC 9207's iss does not apply here.
            let mut u = url::Url::parse(uri).map_err(|_| AppError::NotFound)?;
            if let Some(s) = p.get("state") {
                u.query_pairs_mut().append_pair("state", s);
            }
            Some(u.to_string())
        }
    };
    let current_sid = v.session_hash.as_deref().map(protocol::sid_for);
    Ok(Logout { target, client_id, hint_matches_session: hint_sid.is_some() && hint_sid == current_sid })
}

pub async fn get(State(st): State<AppState>, v: Visitor, RawQuery(q): RawQuery) -> AppResult<Response> {
    let p = Params::parse(q.unwrap_or_default().as_bytes()).map_err(|e| bad("invalid_logout_request", &e.describe(), &e.describe()))?;
    logout(&st, &v, &p).await
}

pub async fn post(State(st): State<AppState>, v: Visitor, headers: HeaderMap, body: Bytes) -> AppResult<Response> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(AppError::UnsupportedMediaType);
    }
    let p = Params::parse(&body).map_err(|e| bad("invalid_logout_request", &e.describe(), &e.describe()))?;
    logout(&st, &v, &p).await
}

async fn logout(st: &AppState, v: &Visitor, p: &Params) -> AppResult<Response> {
    let l = check(st, v, p).await?;
    if v.account.is_none() {
        // Nothing to end: straight back (or to the signed-out page).
        return Ok(done(st, v, l.target.as_deref(), false));
    }
    if l.hint_matches_session {
        // The relying party proved which session it means: end it without asking.
        end_session(st, v, l.client_id.as_deref()).await?;
        return Ok(done(st, v, l.target.as_deref(), true));
    }
    // Otherwise ask: a logout link elsewhere must not sign people out silently.
    let hidden: Vec<(String, String)> = p.pairs().to_vec();
    let mut resp = render(st, v, "oidc/logout.html", minijinja::context! { hidden })?;
    if let Some(t) = &l.target {
        allow_form_target(&mut resp, t);
    }
    Ok(resp)
}

pub async fn confirm(State(st): State<AppState>, v: Visitor, CsrfForm(form): CsrfForm<Vec<(String, String)>>) -> AppResult<Response> {
    let pairs: Vec<(String, String)> = form.into_iter().filter(|(k, _)| k != "csrf").collect();
    let p = Params::parse(serde_urlencoded::to_string(&pairs).unwrap_or_default().as_bytes())
        .map_err(|e| bad("invalid_logout_request", &e.describe(), &e.describe()))?;
    let l = check(&st, &v, &p).await?;
    let ended = v.account.is_some();
    if ended {
        end_session(&st, &v, l.client_id.as_deref()).await?;
    }
    Ok(done(&st, &v, l.target.as_deref(), ended))
}

async fn end_session(st: &AppState, v: &Visitor, client_id: Option<&str>) -> AppResult<()> {
    let Some(h) = &v.session_hash else { return Ok(()) };
    let account = v.account.as_ref().map_or(0, |a| a.id);
    let mut w = st.db.begin().await?;
    w.delete_session(h).await?;
    w.append_audit(&audit(v, None, "oidc.logout", "account", &account.to_string(), serde_json::json!({"client": client_id}))).await?;
    w.commit().await?;
    Ok(())
}

fn done(st: &AppState, v: &Visitor, target: Option<&str>, clear: bool) -> Response {
    let mut resp = match target {
        Some(t) => see_other(t),
        None => match render(st, v, "oidc/logged_out.html", minijinja::context! {}) {
            Ok(r) => r,
            Err(e) => axum::response::IntoResponse::into_response(e),
        },
    };
    if clear {
        resp.headers_mut().append(header::SET_COOKIE, cookie("tl_session", "", Some(0), st.config.secure_cookies, "Lax"));
    }
    resp
}
