//! The token endpoint (RFC 6749 §3.2, OIDC Core §3.1.3): authorization codes (single use, PKCE),
//! refresh tokens (rotated; a reused one revokes its whole family) and client credentials.

use super::jwt::Es256;
use super::protocol::{self, Params};
use super::protocol::{new_secret, secret_key};
use super::redeem::{Exchange, Redeemed};
use super::sealed::Sealer;
use super::{authenticate_client, form_params, issuer, no_store, oauth_error, ClientAuth};
use crate::error::AppError;
use crate::web::Visitor;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::sync::Arc;
use tl_storage::{Account, AccountStatus, AuditEntry, OidcClient, OidcToken, Repo, TokenKind};

type Outcome = Result<Response, Response>;

fn invalid_grant(why: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why)
}

fn invalid_request(why: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", why)
}

fn internal(e: impl Into<AppError>) -> Response {
    e.into().into_response()
}

pub async fn token(State(st): State<AppState>, v: Visitor, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let Ok(body) = body else { return invalid_request("the request body is too large or unreadable") };
    let p = match form_params(&headers, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (client, how) = match authenticate_client(&st, &headers, &p, v.ip).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let grant = match p.get("grant_type") {
        None => return invalid_request("grant_type is required"),
        Some(g) if !protocol::GRANT_TYPES.contains(&g) => {
            return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "this grant type is not supported")
        }
        Some(g) => g,
    };
    if !client.allows_grant(grant) {
        return oauth_error(StatusCode::BAD_REQUEST, "unauthorized_client", "this client may not use this grant type");
    }
    let out = match grant {
        "authorization_code" => code_grant(&st, &v, &client, &p).await,
        "refresh_token" => refresh_grant(&st, &v, &client, &p).await,
        _ => client_credentials(&st, &v, &client, how, &p).await,
    };
    out.unwrap_or_else(|r| r)
}

/// The audit row of a token event (no token values in it).
fn event(v: &Visitor, action: &str, client: &OidcClient, account: Option<i64>, detail: serde_json::Value) -> AuditEntry {
    AuditEntry {
        at: Utc::now(),
        actor_id: account,
        actor_label: format!("oidc:{}", client.client_id),
        action: action.into(),
        target_type: "oidc_client".into(),
        target_id: client.client_id.clone(),
        detail,
        ip: Some(v.ip.to_string()),
        request_id: Some(v.request_id.clone()).filter(|s| !s.is_empty()),
    }
}

/// Commits what a refused request must keep (a burnt code, a revoked family), then refuses.
async fn refuse_after(w: Box<dyn Repo>, resp: Response) -> Outcome {
    w.commit().await.map_err(internal)?;
    Err(resp)
}

async fn active_account(w: &mut Box<dyn Repo>, id: i64) -> Result<Option<Account>, Response> {
    let a = w.get_account(id).await.map_err(internal)?;
    Ok(a.filter(|a| a.status == AccountStatus::Active))
}

/// What signing an ID token needs, gathered before the write transaction opens (making a first
/// key or the pairwise secret writes on its own); both are cached after the first request.
struct Signer {
    key: Arc<Es256>,
    pairwise: Vec<u8>,
    sealer: Arc<Sealer>,
}

async fn signer(st: &AppState) -> Result<Signer, Response> {
    let key = st.oidc.keys.signing_key(st.db.as_ref(), &st.signing_kek).await.map_err(|e| internal(AppError::Internal(e)))?;
    let pairwise = st.oidc.pairwise_secret(st.db.as_ref()).await.map_err(internal)?;
    Ok(Signer { key, pairwise, sealer: sealer(st).await? })
}

async fn sealer(st: &AppState) -> Result<Arc<Sealer>, Response> {
    st.oidc.sealer(st.db.as_ref(), &st.signing_kek).await.map_err(internal)
}

/// A token of an issuance, living from `now` for its kind's lifetime.
fn issued_token(i: &Issue<'_>, kind: TokenKind, token_hash: String, now: DateTime<Utc>) -> OidcToken {
    let ttl = if kind == TokenKind::Access { protocol::ACCESS_TOKEN_TTL } else { protocol::REFRESH_TOKEN_TTL };
    OidcToken {
        token_hash,
        kind,
        grant_id: i.grant_id.clone(),
        client_id: i.client.client_id.clone(),
        account_id: i.account_id,
        scope: i.scope.clone(),
        auth_time: i.auth_time,
        sid: i.sid.clone(),
        created_at: now,
        expires_at: now + ttl,
        used_at: None,
        revoked_at: None,
    }
}

/// The access token of an issuance: sealed, not stored ([`super::sealed`]).
fn access_token(sealer: &Sealer, i: &Issue<'_>, now: DateTime<Utc>) -> String {
    sealer.seal(&issued_token(i, TokenKind::Access, String::new(), now))
}

/// Everything one issuance records and returns.
struct Issue<'a> {
    client: &'a OidcClient,
    /// The person the tokens are for; None for a machine client.
    account_id: Option<i64>,
    grant_id: String,
    scope: String,
    auth_time: Option<DateTime<Utc>>,
    sid: Option<String>,
    nonce: Option<String>,
    refresh: bool,
}

/// Makes the tokens of an issuance, stores the refresh token in `w`, and returns the answer (to
/// send once `w` is committed).
async fn issue(st: &AppState, w: &mut Box<dyn Repo>, sealer: &Sealer, signer: Option<&Signer>, i: Issue<'_>) -> Result<Response, Response> {
    let now = Utc::now();
    let access = access_token(sealer, &i, now);
    let refresh = if i.refresh {
        let refresh = new_secret("tlr_");
        let t = issued_token(&i, TokenKind::Refresh, secret_key(&refresh), now);
        w.insert_oidc_token(&t).await.map_err(internal)?;
        Some(refresh)
    } else {
        None
    };
    Ok(answer(token_body(st, signer, &i, &access, refresh.as_deref(), now)))
}

/// The token response (RFC 6749 §5.1), with an ID token when `openid` was granted to a person.
#[derive(serde::Serialize)]
struct TokenBody<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

/// An ID token's claims (OIDC Core §2 and §3.1.3.6).
#[derive(serde::Serialize)]
struct IdClaims<'a> {
    iss: &'a str,
    sub: String,
    aud: &'a str,
    azp: &'a str,
    iat: i64,
    exp: i64,
    at_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
}

fn token_body<'a>(
    st: &AppState,
    signer: Option<&Signer>,
    i: &Issue<'_>,
    access: &'a str,
    refresh: Option<&'a str>,
    now: DateTime<Utc>,
) -> TokenBody<'a> {
    let id_token = match (signer, i.account_id) {
        (Some(s), Some(account_id)) if i.scope.split(' ').any(|x| x == "openid") => Some(s.key.sign(&IdClaims {
            iss: issuer(st),
            sub: protocol::pairwise_sub(&s.pairwise, &i.client.sector, account_id),
            aud: &i.client.client_id,
            azp: &i.client.client_id,
            iat: now.timestamp(),
            exp: (now + protocol::ID_TOKEN_TTL).timestamp(),
            at_hash: protocol::at_hash(access),
            auth_time: i.auth_time.map(|t| t.timestamp()),
            nonce: i.nonce.as_deref(),
            sid: i.sid.as_deref(),
        })),
        _ => None,
    };
    TokenBody {
        access_token: access,
        token_type: "Bearer",
        expires_in: protocol::ACCESS_TOKEN_TTL.num_seconds(),
        scope: i.scope.clone(),
        refresh_token: refresh,
        id_token,
    }
}

fn answer(body: TokenBody<'_>) -> Response {
    let mut r = Json(body).into_response();
    no_store(r.headers_mut());
    r
}

/// The authorization code grant, through the group committer ([`super::redeem`]): the refresh
/// token is made here and stored with the batch's; once the batch is committed, the access
/// token is sealed and the ID token signed here, on this request's core, and both handed out.
async fn code_grant(st: &AppState, v: &Visitor, client: &OidcClient, p: &Params) -> Outcome {
    let (Some(code), Some(redirect_uri)) = (p.get("code"), p.get("redirect_uri")) else {
        return Err(invalid_request("code and redirect_uri are required"));
    };
    let signer = signer(st).await?;
    let refresh = client.allows_grant("refresh_token").then(|| new_secret("tlr_"));
    let x = Exchange {
        code_hash: secret_key(code),
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        code_verifier: p.get("code_verifier").map(str::to_owned),
        refresh_hash: refresh.as_deref().map(secret_key),
        ip: v.ip.to_string(),
        request_id: Some(v.request_id.clone()).filter(|s| !s.is_empty()),
    };
    let (c, at) = match st.oidc.redeemer.redeem(x).await.map_err(internal)? {
        Redeemed::Refused(why) => return Err(invalid_grant(why)),
        Redeemed::Issued { code, at } => (code, at),
    };
    let i = Issue {
        client,
        account_id: Some(c.account_id),
        grant_id: c.grant_id,
        scope: c.scope,
        auth_time: Some(c.auth_time),
        sid: Some(c.sid),
        nonce: c.nonce,
        refresh: refresh.is_some(),
    };
    let access = access_token(&signer.sealer, &i, at);
    Ok(answer(token_body(st, Some(&signer), &i, &access, refresh.as_deref(), at)))
}

async fn refresh_grant(st: &AppState, v: &Visitor, client: &OidcClient, p: &Params) -> Outcome {
    let Some(rt) = p.get("refresh_token") else { return Err(invalid_request("refresh_token is required")) };
    let signer = signer(st).await?;
    let now = Utc::now();
    let hash = secret_key(rt);
    let mut w = st.db.begin().await.map_err(internal)?;
    let Some(t) = w.find_oidc_token(&hash).await.map_err(internal)?.filter(|t| t.kind == TokenKind::Refresh) else {
        return Err(invalid_grant("the refresh token is not valid"));
    };
    if t.client_id != client.client_id {
        return Err(invalid_grant("the refresh token was issued to another client"));
    }
    // Rotation: a refresh token works once. A second use means it leaked (or the client is
    // confused): the whole family is revoked (RFC 9700 §4.14.2).
    if t.used_at.is_some() || t.revoked_at.is_some() || !w.use_oidc_refresh_token(&hash, now).await.map_err(internal)? {
        let n = w.revoke_oidc_grant(&t.grant_id, now).await.map_err(internal)?;
        if t.revoked_at.is_none() {
            w.append_audit(&event(v, "oidc.refresh_reuse_detected", client, t.account_id, json!({"revoked_tokens": n})))
                .await
                .map_err(internal)?;
        }
        let refused = refuse_after(w, invalid_grant("the refresh token was already used; its tokens are revoked")).await;
        st.oidc.cache.invalidate();
        return refused;
    }
    if t.expires_at <= now {
        return refuse_after(w, invalid_grant("the refresh token has expired")).await;
    }
    let Some(account) = (match t.account_id {
        Some(id) => active_account(&mut w, id).await?,
        None => None,
    }) else {
        w.revoke_oidc_grant(&t.grant_id, now).await.map_err(internal)?;
        let refused = refuse_after(w, invalid_grant("the account is not active")).await;
        st.oidc.cache.invalidate();
        return refused;
    };
    let scope = match p.get("scope") {
        None => t.scope.clone(),
        Some(s) => {
            let asked = protocol::parse_scope(s).ok_or_else(|| oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", "malformed scope"))?;
            if !protocol::consent_covers(&t.scope, &asked) {
                return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", "a refresh cannot widen the scope"));
            }
            protocol::join_scope(&asked)
        }
    };
    let body = issue(
        st,
        &mut w,
        &signer.sealer,
        Some(&signer),
        Issue {
            client,
            account_id: Some(account.id),
            grant_id: t.grant_id.clone(),
            scope: scope.clone(),
            auth_time: t.auth_time,
            sid: t.sid.clone(),
            nonce: None,
            refresh: true,
        },
    )
    .await?;
    w.append_audit(&event(v, "oidc.token_issued", client, Some(account.id), json!({"grant_type": "refresh_token", "scope": scope})))
        .await
        .map_err(internal)?;
    w.commit().await.map_err(internal)?;
    Ok(body)
}

/// RFC 6749 §4.4: a machine client acting for itself, confidential only, within its scopes.
async fn client_credentials(st: &AppState, v: &Visitor, client: &OidcClient, how: ClientAuth, p: &Params) -> Outcome {
    if how == ClientAuth::None || !client.is_confidential() {
        return Err(oauth_error(StatusCode::BAD_REQUEST, "unauthorized_client", "client credentials need a confidential client"));
    }
    let allowed: Vec<String> = client.scopes.iter().filter(|s| !protocol::is_user_scope(s)).cloned().collect();
    let scopes = match p.get("scope") {
        None => allowed,
        Some(s) => {
            let asked = protocol::parse_scope(s).ok_or_else(|| oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", "malformed scope"))?;
            if asked.iter().any(|a| !allowed.contains(a)) {
                return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", "a requested scope is not allowed for this client"));
            }
            asked
        }
    };
    let scope = protocol::join_scope(&scopes);
    let sealer = sealer(st).await?;
    let mut w = st.db.begin().await.map_err(internal)?;
    let body = issue(
        st,
        &mut w,
        &sealer,
        None,
        Issue {
            client,
            account_id: None,
            grant_id: protocol::new_grant_id(),
            scope: scope.clone(),
            auth_time: None,
            sid: None,
            nonce: None,
            refresh: false,
        },
    )
    .await?;
    w.append_audit(&event(v, "oidc.token_issued", client, None, json!({"grant_type": "client_credentials", "scope": scope})))
        .await
        .map_err(internal)?;
    w.commit().await.map_err(internal)?;
    Ok(body)
}
