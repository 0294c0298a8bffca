//! UserInfo (OIDC Core §5.3), token introspection (RFC 7662) and revocation (RFC 7009).

use super::cache::UserinfoAnswer;
use super::protocol;
use super::{authenticate_client, form_params, issuer, no_store, oauth_error, ClientAuth};
use crate::error::AppError;
use crate::web::Visitor;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::{json, Map, Value};
use tl_core::account::{AccountKind, RoleGrant};
use tl_storage::{Account, AccountStatus, OidcToken, TokenKind};

/// RFC 6750 §3.1: 401 with the Bearer challenge; an error code only when a token was sent.
fn bearer_error(error: Option<&str>, status: StatusCode) -> Response {
    let challenge = match error {
        Some(e) => format!("Bearer realm=\"thanglong\", error=\"{e}\""),
        None => "Bearer realm=\"thanglong\"".to_owned(),
    };
    let mut r = match error {
        Some(e) => (status, Json(json!({"error": e}))).into_response(),
        None => status.into_response(),
    };
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(&challenge).expect("ASCII"));
    no_store(r.headers_mut());
    r
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")).map(str::trim)
}

pub async fn userinfo_get(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let token = bearer(&headers).map(str::to_owned);
    userinfo(&st, token).await
}

/// POST: the token in the header, or as `access_token` in a urlencoded body (RFC 6750 §2.2).
pub async fn userinfo_post(State(st): State<AppState>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let from_header = bearer(&headers).map(str::to_owned);
    let from_body = match (&body, headers.get(header::CONTENT_TYPE)) {
        (Ok(b), Some(_)) if !b.is_empty() => match form_params(&headers, b) {
            Ok(p) => p.get("access_token").map(str::to_owned),
            Err(_) => return bearer_error(Some("invalid_request"), StatusCode::BAD_REQUEST),
        },
        _ => None,
    };
    match (from_header, from_body) {
        (Some(_), Some(_)) => bearer_error(Some("invalid_request"), StatusCode::BAD_REQUEST),
        (a, b) => userinfo(&st, a.or(b)).await,
    }
}

/// What userinfo answers for a token: the claims, or the RFC 6750 error.
enum Answer {
    Claims(Value, chrono::DateTime<Utc>),
    Invalid,
    InsufficientScope,
}

/// Reads a token's answer from the database: a live access token of an active account, for
/// a client that is not suspended, with `openid` among its scopes.
async fn answer_for(st: &AppState, token: &str, now: chrono::DateTime<Utc>) -> Result<Answer, AppError> {
    let mut r = st.db.read().await?;
    let Some(t) = super::live_access_token(st, &mut r, token, now).await? else { return Ok(Answer::Invalid) };
    // A machine client's token (client credentials) has no person behind it.
    let Some(id) = t.account_id else { return Ok(Answer::Invalid) };
    // Disabling an account ends its tokens at once: the status is checked on every use.
    let Some(account) = r.get_account(id).await?.filter(|a| a.status == AccountStatus::Active) else {
        return Ok(Answer::Invalid);
    };
    let scopes: Vec<&str> = t.scope.split(' ').collect();
    if !scopes.contains(&"openid") {
        return Ok(Answer::InsufficientScope);
    }
    // A suspended client's tokens stop working with it.
    let Some(client) = r.get_oidc_client(&t.client_id).await?.filter(|c| c.disabled_at.is_none()) else {
        return Ok(Answer::Invalid);
    };
    let (roles, agency) = if scopes.contains(&"thanglong:officer") && account.kind == AccountKind::Officer {
        let agency = match account.agency_id {
            Some(id) => r.get_agency_by_id(id).await?.map(|a| a.electronic_id),
            None => None,
        };
        (r.roles_of(account.id).await?, agency)
    } else {
        (vec![], None)
    };
    drop(r);
    let secret = st.oidc.pairwise_secret(st.db.as_ref()).await?;
    let sub = protocol::pairwise_sub(&secret, &client.sector, account.id);
    Ok(Answer::Claims(Value::Object(claims(&scopes, &account, &roles, agency, sub)), t.expires_at))
}

fn json_answer(body: Bytes) -> Response {
    let mut r = ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response();
    no_store(r.headers_mut());
    r
}

/// Answers from memory when this token's answer is cached and nothing changed since
/// ([`super::cache`]); from the database otherwise, caching what it finds.
async fn userinfo(st: &AppState, token: Option<String>) -> Response {
    let Some(token) = token else { return bearer_error(None, StatusCode::UNAUTHORIZED) };
    if token.len() > super::sealed::MAX_TOKEN_LEN {
        return bearer_error(Some("invalid_token"), StatusCode::UNAUTHORIZED);
    }
    let hash = super::protocol::secret_key(&token);
    let now = Utc::now();
    if let Some(a) = st.oidc.cache.userinfo(&hash, now) {
        return json_answer(a.body);
    }
    let generation = st.oidc.cache.generation();
    match answer_for(st, &token, now).await {
        Ok(Answer::Claims(claims, expires_at)) => {
            let body = Bytes::from(serde_json::to_vec(&claims).expect("claims serialise"));
            if let Some(g) = generation {
                st.oidc.cache.put_userinfo(g, hash, UserinfoAnswer { body: body.clone(), expires_at });
            }
            json_answer(body)
        }
        Ok(Answer::Invalid) => bearer_error(Some("invalid_token"), StatusCode::UNAUTHORIZED),
        Ok(Answer::InsufficientScope) => bearer_error(Some("insufficient_scope"), StatusCode::FORBIDDEN),
        Err(e) => e.into_response(),
    }
}

/// The claims a person's consent to `scopes` releases (OIDC Core §5.4; ours documented in the
/// README): nothing beyond what each scope names.
pub fn claims(scopes: &[&str], a: &Account, roles: &[RoleGrant], agency: Option<String>, sub: String) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("sub".into(), json!(sub));
    if scopes.contains(&"profile") {
        m.insert("name".into(), json!(a.display_name));
    }
    if scopes.contains(&"email") {
        if let Some(e) = &a.email {
            // Addresses are typed in by the person and not yet confirmed by mail.
            m.insert("email".into(), json!(e));
            m.insert("email_verified".into(), json!(false));
        }
    }
    if scopes.contains(&"phone") {
        if let Some(p) = &a.phone {
            m.insert("phone_number".into(), json!(p));
            m.insert("phone_number_verified".into(), json!(false));
        }
    }
    if scopes.contains(&"thanglong:personal_id") {
        match a.kind {
            AccountKind::Citizen => {
                m.insert("personal_id".into(), json!(a.login));
            }
            AccountKind::Business => {
                m.insert("tax_code".into(), json!(a.login));
            }
            _ => {}
        }
        m.insert("account_kind".into(), json!(a.kind.as_str()));
    }
    if scopes.contains(&"thanglong:officer") && a.kind == AccountKind::Officer {
        if let Some(ag) = agency {
            m.insert("agency".into(), json!(ag));
        }
        let r: Vec<String> = roles.iter().map(|g| format!("{}@{}", g.role.as_str(), g.agency)).collect();
        m.insert("roles".into(), json!(r));
    }
    m
}

/// RFC 7662, for confidential clients about their own tokens: anything else is `active: false`.
pub async fn introspect(State(st): State<AppState>, v: Visitor, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let Ok(body) = body else { return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "unreadable body") };
    let p = match form_params(&headers, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (client, how) = match authenticate_client(&st, &headers, &p, v.ip).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if how == ClientAuth::None {
        return super::invalid_client(false);
    }
    let Some(token) = p.get("token") else { return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "token is required") };
    let inactive = || {
        let mut r = Json(json!({"active": false})).into_response();
        no_store(r.headers_mut());
        r
    };
    let now = Utc::now();
    let found: Result<Option<(OidcToken, Option<Account>)>, AppError> = async {
        let mut r = st.db.read().await?;
        let found = if token.starts_with(super::ACCESS_TOKEN_PREFIX) {
            super::live_access_token(&st, &mut r, token, now).await?
        } else {
            r.find_oidc_token(&super::protocol::secret_key(token)).await?
        };
        let Some(t) = found else { return Ok(None) };
        let account = match t.account_id {
            Some(id) => Some(r.get_account(id).await?),
            None => None,
        };
        Ok(match account {
            Some(Some(a)) if a.status == AccountStatus::Active => Some((t, Some(a))),
            Some(_) => None,
            None => Some((t, None)),
        })
    }
    .await;
    let (t, account) = match found {
        Ok(Some(x)) if x.0.is_live(now) && x.0.client_id == client.client_id => x,
        Ok(_) => return inactive(),
        Err(e) => return e.into_response(),
    };
    let mut out = json!({
        "active": true,
        "scope": t.scope,
        "client_id": t.client_id,
        "token_type": if t.kind == TokenKind::Access { "Bearer" } else { "refresh_token" },
        "exp": t.expires_at.timestamp(),
        "iat": t.created_at.timestamp(),
        "iss": issuer(&st),
        "aud": t.client_id,
    });
    if let Some(a) = account {
        match st.oidc.pairwise_secret(st.db.as_ref()).await {
            Ok(secret) => out["sub"] = json!(protocol::pairwise_sub(&secret, &client.sector, a.id)),
            Err(e) => return e.into_response(),
        }
    } else {
        out["sub"] = json!(client.client_id);
    }
    let mut r = Json(out).into_response();
    no_store(r.headers_mut());
    r
}

/// RFC 7009: the client's own tokens only; a refresh token takes its family with it. The answer
/// is 200 whether or not the token existed (§2.2).
pub async fn revoke(State(st): State<AppState>, v: Visitor, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let Ok(body) = body else { return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "unreadable body") };
    let p = match form_params(&headers, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (client, _) = match authenticate_client(&st, &headers, &p, v.ip).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(token) = p.get("token") else { return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "token is required") };
    let now = Utc::now();
    let done: Result<(), AppError> = async {
        let hash = super::protocol::secret_key(token);
        // Access tokens are sealed, not stored: what the token says is read before the
        // transaction (the seal may need the database on a first use).
        let sealed = if token.starts_with(super::ACCESS_TOKEN_PREFIX) {
            st.oidc.sealer(st.db.as_ref(), &st.signing_kek).await?.open(token).filter(|t| t.expires_at > now)
        } else {
            None
        };
        let is_sealed = sealed.is_some();
        let mut w = st.db.begin().await?;
        let found = match sealed {
            Some(t) => Some(t),
            None => w.find_oidc_token(&hash).await?,
        }
        .filter(|t| t.client_id == client.client_id);
        let revoked = found.is_some();
        if let Some(t) = found {
            let n = match t.kind {
                TokenKind::Refresh => w.revoke_oidc_grant(&t.grant_id, now).await?,
                // A sealed access token: revoked by its own revocation row.
                TokenKind::Access if is_sealed => {
                    w.revoke_oidc_access(&tl_storage::revocation::token(&hash), now).await?;
                    1
                }
                TokenKind::Access => u64::from(w.revoke_oidc_token(&hash, now).await?),
            };
            w.append_audit(&tl_storage::AuditEntry {
                at: now,
                actor_id: t.account_id,
                actor_label: format!("oidc:{}", client.client_id),
                action: "oidc.token_revoked".into(),
                target_type: "oidc_client".into(),
                target_id: client.client_id.clone(),
                detail: json!({"kind": t.kind.as_str(), "revoked_tokens": n}),
                ip: Some(v.ip.to_string()),
                request_id: Some(v.request_id.clone()).filter(|s| !s.is_empty()),
            })
            .await?;
        }
        w.commit().await?;
        if revoked {
            st.oidc.cache.invalidate();
        }
        Ok(())
    }
    .await;
    match done {
        Ok(()) => {
            let mut r = StatusCode::OK.into_response();
            no_store(r.headers_mut());
            r
        }
        Err(e) => e.into_response(),
    }
}
