//! The platform as the province's OpenID Connect provider (OpenID Connect Core 1.0, Discovery
//! 1.0, RP-Initiated Logout 1.0; OAuth 2.0 RFC 6749 with PKCE RFC 7636, revocation RFC 7009,
//! introspection RFC 7662, issuer identification RFC 9207).
//!
//! `protocol` holds the rules (pure), `jwt` the ES256 tokens, `keys` the sealed signing keys;
//! the other modules are thin handlers, one per endpoint group.

// Handlers answer refusals with a finished response (`Result<_, Response>`): built once per
// request, so boxing them buys nothing.
#![allow(clippy::result_large_err)]

pub mod admin;
mod authorize;
pub mod cache;
pub mod clients;
pub mod jwt;
pub mod keys;
mod logout;
pub mod presign;
pub mod protocol;
pub mod redeem;
mod resource;
pub mod sealed;
mod token;

/// Access tokens we issue start with this, so the APIs can tell them from personal API tokens.
pub const ACCESS_TOKEN_PREFIX: &str = "tla_";

use crate::error::{AppError, AppResult};
use crate::security::Throttle;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::sync::Mutex;
use std::time::Duration;

/// What the provider keeps in memory: the signing-key cache, the token-endpoint throttles, the
/// pairwise-subject secret, the client and userinfo cache, and the code-exchange group committer.
pub struct OidcState {
    pub keys: keys::KeyCache,
    pub cache: std::sync::Arc<cache::Cache>,
    pub redeemer: redeem::Redeemer,
    /// Token, introspection and revocation requests per client address, and per client.
    pub per_ip: Throttle,
    pub per_client: Throttle<String>,
    pairwise: Mutex<Option<Vec<u8>>>,
    sealer: Mutex<Option<std::sync::Arc<sealed::Sealer>>>,
}

impl OidcState {
    /// Starts the cache follower and the group committer on the current Tokio runtime.
    pub fn new(db: std::sync::Arc<dyn tl_storage::Database>, requests_per_minute: usize) -> Self {
        let cache = cache::Cache::start(db.clone());
        Self {
            keys: keys::KeyCache::default(),
            redeemer: redeem::Redeemer::start(db, cache.clone()),
            cache,
            per_ip: Throttle::new(requests_per_minute, Duration::from_secs(60)),
            per_client: Throttle::new(requests_per_minute, Duration::from_secs(60)),
            pairwise: Mutex::new(None),
            sealer: Mutex::new(None),
        }
    }

    /// The server secret behind pairwise subjects: random, made once, kept in the settings
    /// table so every app server (and every restart) gives a person the same `sub`.
    pub async fn pairwise_secret(&self, db: &dyn tl_storage::Database) -> AppResult<Vec<u8>> {
        if let Some(s) = self.pairwise.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(s);
        }
        const KEY: &str = "oidc.pairwise_secret";
        let stored = db.read().await?.get_setting(KEY).await?;
        let hex_secret = match stored {
            Some(s) => s,
            None => {
                let mut w = db.begin().await?;
                if w.get_setting(KEY).await?.is_none() {
                    w.set_setting(KEY, &hex::encode(rand::random::<[u8; 32]>())).await?;
                }
                w.commit().await?;
                // Read back what was stored: another server may have written first.
                db.read().await?.get_setting(KEY).await?.ok_or_else(|| AppError::Internal(anyhow::anyhow!("pairwise secret missing")))?
            }
        };
        let secret = hex::decode(hex_secret.trim()).map_err(|e| AppError::Internal(anyhow::anyhow!("pairwise secret: {e}")))?;
        *self.pairwise.lock().unwrap_or_else(|e| e.into_inner()) = Some(secret.clone());
        Ok(secret)
    }

    /// The seal of access tokens ([`sealed`]): from the key-encryption key and the pairwise
    /// secret, made once.
    pub async fn sealer(&self, db: &dyn tl_storage::Database, kek: &[u8; 32]) -> AppResult<std::sync::Arc<sealed::Sealer>> {
        if let Some(s) = self.sealer.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(s);
        }
        let s = std::sync::Arc::new(sealed::Sealer::new(kek, &self.pairwise_secret(db).await?));
        *self.sealer.lock().unwrap_or_else(|e| e.into_inner()) = Some(s.clone());
        Ok(s)
    }
}

/// The live access token `token` stands for: sealed by this provider, unexpired, and not
/// revoked — neither its grant, nor itself, nor (since it was issued) the person's consent to
/// its client. The account's and the client's status are the caller's to check.
pub async fn live_access_token(
    st: &AppState,
    r: &mut Box<dyn tl_storage::Repo>,
    token: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<Option<tl_storage::OidcToken>> {
    let sealer = st.oidc.sealer(st.db.as_ref(), &st.signing_kek).await?;
    let Some(t) = sealer.open(token) else {
        // Not sealed: an access token stored before they were sealed (until it expires).
        let stored = r.find_oidc_token(&protocol::secret_key(token)).await?;
        return Ok(stored.filter(|t| t.kind == tl_storage::TokenKind::Access && t.is_live(now)));
    };
    if t.expires_at <= now {
        return Ok(None);
    }
    use tl_storage::revocation;
    let consent = t.account_id.map(|a| revocation::consent(a, &t.client_id));
    let mut keys = vec![revocation::grant(&t.grant_id), revocation::token(&t.token_hash)];
    keys.extend(consent.clone());
    let revoked = r.oidc_revocations(&keys).await?.into_iter().any(|(k, at)| Some(&k) != consent.as_ref() || at >= t.created_at);
    Ok((!revoked).then_some(t))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oidc/jwks", get(jwks))
        .route("/oidc/authorize", get(authorize::get).post(authorize::post))
        .route("/oidc/consent", post(authorize::consent))
        .route("/oidc/token", post(token::token))
        .route("/oidc/userinfo", get(resource::userinfo_get).post(resource::userinfo_post))
        .route("/oidc/introspect", post(resource::introspect))
        .route("/oidc/revoke", post(resource::revoke))
        .route("/oidc/logout", get(logout::get).post(logout::post))
        .route("/oidc/logout/confirm", post(logout::confirm))
        .route("/account/apps", get(authorize::my_apps))
        .route("/account/apps/{client_id}/revoke", post(authorize::revoke_app))
        .merge(admin::routes())
}

/// Removes codes and tokens that expired more than a day ago.
pub async fn purge(st: &AppState) -> AppResult<u64> {
    let mut w = st.db.begin().await?;
    let n = w.purge_oidc(chrono::Utc::now() - chrono::Duration::days(1)).await?;
    w.commit().await?;
    Ok(n)
}

pub fn issuer(st: &AppState) -> &str {
    &st.config.public_url
}

/// OpenID Connect Discovery 1.0 §3.
pub async fn discovery(State(st): State<AppState>) -> Response {
    let iss = issuer(&st);
    let mut claims: Vec<&str> = vec!["iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "azp"];
    for s in protocol::USER_SCOPES {
        claims.extend_from_slice(s.claims);
    }
    let scopes: Vec<&str> = protocol::USER_SCOPES.iter().map(|s| s.name).chain(protocol::API_SCOPES.iter().map(|s| s.name)).collect();
    let body = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oidc/authorize"),
        "token_endpoint": format!("{iss}/oidc/token"),
        "userinfo_endpoint": format!("{iss}/oidc/userinfo"),
        "jwks_uri": format!("{iss}/oidc/jwks"),
        "end_session_endpoint": format!("{iss}/oidc/logout"),
        "revocation_endpoint": format!("{iss}/oidc/revoke"),
        "introspection_endpoint": format!("{iss}/oidc/introspect"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": protocol::GRANT_TYPES,
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": claims,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "ui_locales_supported": ["vi", "en"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": format!("{iss}/"),
    });
    public_json(body)
}

/// The JSON Web Key Set: the active key and the retired keys whose tokens may still be alive.
pub async fn jwks(State(st): State<AppState>) -> AppResult<Response> {
    // Make sure there is a key to publish before any token is signed.
    st.oidc.keys.signing_key(st.db.as_ref(), &st.signing_kek).await?;
    let keys = keys::published(st.db.as_ref(), chrono::Utc::now()).await?;
    let keys: Vec<serde_json::Value> = keys.into_iter().map(|(_, _, jwk)| jwk).collect();
    Ok(public_json(json!({ "keys": keys })))
}

/// Cacheable public metadata (a few minutes: a rotation shows up soon).
fn public_json(body: serde_json::Value) -> Response {
    let mut r = Json(body).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    r.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    r
}

/// An OAuth error response (RFC 6749 §5.2): JSON, never cached.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut r = (status, Json(json!({"error": error, "error_description": description}))).into_response();
    no_store(r.headers_mut());
    r
}

/// `invalid_client` is a 401 with the scheme the client tried (RFC 6749 §5.2).
pub fn invalid_client(basic: bool) -> Response {
    let mut r = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed");
    if basic {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"thanglong\", charset=\"UTF-8\""));
    }
    r
}

pub fn no_store(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A body posted to a back-channel endpoint: urlencoded only (RFC 6749 §3.2), bounded, every
/// parameter at most once.
pub fn form_params(headers: &HeaderMap, body: &[u8]) -> Result<protocol::Params, Response> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
        return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "the body must be application/x-www-form-urlencoded"));
    }
    if body.len() > 16 * 1024 {
        return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "the request is too large"));
    }
    protocol::Params::parse(body).map_err(|e| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &e.describe()))
}

/// A registered client, from memory when nothing changed since it was read ([`cache`]).
pub async fn client(st: &AppState, client_id: &str) -> AppResult<Option<tl_storage::OidcClient>> {
    if let Some(c) = st.oidc.cache.client(client_id) {
        return Ok(Some(c));
    }
    let generation = st.oidc.cache.generation();
    let found = st.db.read().await?.get_oidc_client(client_id).await?;
    if let (Some(g), Some(c)) = (generation, &found) {
        st.oidc.cache.put_client(g, c.clone());
    }
    Ok(found)
}

/// How a client proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    Basic,
    Post,
    /// A public client naming itself.
    None,
}

/// Client authentication for the token, introspection and revocation endpoints: HTTP Basic or
/// the body (RFC 6749 §2.3.1), never both; public clients only name themselves.
pub async fn authenticate_client(
    st: &AppState,
    headers: &HeaderMap,
    p: &protocol::Params,
    ip: std::net::IpAddr,
) -> Result<(tl_storage::OidcClient, ClientAuth), Response> {
    let now = std::time::Instant::now();
    if let Err(wait) = st.oidc.per_ip.hit(ip, now) {
        return Err(too_many(wait));
    }
    let mut basic: Option<(String, String)> = None;
    if let Some(h) = headers.get(header::AUTHORIZATION) {
        let h = h.to_str().unwrap_or("");
        let Some(b64) = h.strip_prefix("Basic ").or_else(|| h.strip_prefix("basic ")) else {
            return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "only HTTP Basic client authentication is accepted here"));
        };
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok().and_then(|b| String::from_utf8(b).ok());
        let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return Err(invalid_client(true));
        };
        // The id and secret are form-urlencoded inside Basic (RFC 6749 §2.3.1).
        let dec = |s: &str| form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default();
        basic = Some((dec(id), dec(secret)));
    }
    let (client_id, secret, how) = match (&basic, p.get("client_id"), p.get("client_secret")) {
        (Some(_), _, Some(_)) => {
            return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "use one client authentication method only"));
        }
        (Some((id, _)), Some(body_id), None) if body_id != id => {
            return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "client_id does not match the Authorization header"));
        }
        (Some((id, s)), _, None) => (id.clone(), Some(s.clone()), ClientAuth::Basic),
        (None, Some(id), Some(s)) => (id.to_owned(), Some(s.to_owned()), ClientAuth::Post),
        (None, Some(id), None) => (id.to_owned(), None, ClientAuth::None),
        (None, None, _) => return Err(invalid_client(false)),
    };
    if client_id.len() > 100 {
        return Err(invalid_client(how == ClientAuth::Basic));
    }
    if let Err(wait) = st.oidc.per_client.hit(client_id.clone(), now) {
        return Err(too_many(wait));
    }
    let client = match client(st, &client_id).await {
        Ok(c) => c,
        Err(e) => return Err(e.into_response()),
    };
    let Some(client) = client.filter(|c| c.disabled_at.is_none()) else {
        return Err(invalid_client(how == ClientAuth::Basic));
    };
    match (&client.secret_hash, secret) {
        (Some(hash), Some(s)) if crate::security::same_secret(&crate::security::sha256_hex(&s), hash) => Ok((client, how)),
        (None, None) => Ok((client, how)),
        _ => Err(invalid_client(how == ClientAuth::Basic)),
    }
}

fn too_many(wait: u64) -> Response {
    let mut r = oauth_error(StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable", "too many requests; try again later");
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
    r
}
