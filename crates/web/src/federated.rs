//! Sign-in with an upstream OpenID Connect provider — above all the national identity provider
//! (VNeID) — the platform being the relying party: the authorization code flow (OIDC Core §3.1)
//! with `state`, `nonce` and PKCE S256 (RFC 7636), the ID token's signature, `iss`, `aud`,
//! `exp` and `nonce` checked by the `openidconnect` crate, then the verified person linked to
//! an account by the rules of [`tl_core::federation`].
//!
//! What must survive the trip to the provider (state, nonce, PKCE verifier, where to go after)
//! travels in a short-lived cookie sealed with AES-256-GCM: bound to this browser, unreadable
//! and unforgeable by anyone else, and cleared on the callback so it is used once.

use crate::error::{AppError, AppResult};
use crate::web::{cookie, read_cookie, render_status, safe_next, Visitor};
use crate::AppState;
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce as AesNonce};
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use chrono::{Datelike, Utc};
use hmac::{Hmac, Mac};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenClaims, IdTokenFields, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, StandardErrorResponse, StandardTokenResponse, SubjectIdentifier,
    TokenResponse,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;
use std::time::{Duration, Instant};
use tl_core::account::AccountKind;
use tl_core::federation::{decide, person_from_claims, AccountFacts, ClaimError, ClaimNames, LinkDecision, LinkRefusal, VerifiedPerson};
use tl_storage::{AccountStatus, FederatedLink, NewAccount, Repo, StoreError};

/// The flow cookie. Its path covers only the provider routes, so it is not sent elsewhere.
const FLOW_COOKIE: &str = "tl_federated";
const FLOW_PATH: &str = "/signin/with/";
/// How long a person may take at the provider (typing a code, scanning a QR code).
const FLOW_LIFETIME_SECS: i64 = 600;
/// Provider metadata and keys are fetched again after this long (key rotation).
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// A signature that fails with cached keys fetches them again, at most this often.
const KEY_REFRESH_MIN: Duration = Duration::from_secs(60);

/// A secret from the environment: never printed, never logged.
#[derive(Clone)]
pub struct SecretString(pub String);

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

/// How the platform authenticates at the token endpoint (OIDC Core §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenAuth {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
}

/// One upstream identity provider, as configured (validated by the binary at start).
#[derive(Debug, Clone)]
pub struct IdentityProvider {
    /// Short name in URLs and in the stored links (e.g. `vneid`).
    pub id: String,
    /// Completes "Đăng nhập bằng …" / "Sign in with …".
    pub name_vi: String,
    pub name_en: String,
    pub issuer: String,
    pub client_id: String,
    /// None: a public client, PKCE alone proves the code is ours.
    pub client_secret: Option<SecretString>,
    pub token_auth: TokenAuth,
    /// Always includes `openid`.
    pub scopes: Vec<String>,
    pub claims: ClaimNames,
    /// Also ask the userinfo endpoint (OIDC Core §5.3) for claims the ID token lacks.
    pub userinfo: bool,
    pub enabled: bool,
}

/// Every claim the token carries beyond the standard ones (the personal ID number among
/// them), kept as JSON: which one matters is configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ExtraClaims {
    #[serde(flatten)]
    all: Map<String, Value>,
}
impl AdditionalClaims for ExtraClaims {}

/// Discovery metadata beyond the core: whether responses name their issuer (RFC 9207 §3).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct IssMetadata {
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}
impl openidconnect::AdditionalProviderMetadata for IssMetadata {}

type RpProviderMetadata = openidconnect::ProviderMetadata<
    IssMetadata,
    CoreAuthDisplay,
    openidconnect::core::CoreClientAuthMethod,
    openidconnect::core::CoreClaimName,
    openidconnect::core::CoreClaimType,
    openidconnect::core::CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    openidconnect::core::CoreResponseMode,
    openidconnect::core::CoreResponseType,
    openidconnect::core::CoreSubjectIdentifierType,
>;

type IdFields =
    IdTokenFields<ExtraClaims, EmptyExtraTokenFields, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;
type RpTokenResponse = StandardTokenResponse<IdFields, CoreTokenType>;
type RpClient = openidconnect::Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    RpTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Only asymmetric signatures: an HMAC-signed ID token (OIDC Core §10.1 allows it with the
/// client secret as key) would let anyone holding the secret mint identities.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 8] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
];

struct Cached {
    metadata: RpProviderMetadata,
    fetched: Instant,
}

struct Upstream {
    cfg: IdentityProvider,
    cache: tokio::sync::Mutex<Option<Cached>>,
}

/// The enabled providers, their cached discovery documents, and the HTTP client.
pub struct Federation {
    http: reqwest::Client,
    upstreams: Vec<Upstream>,
    /// Seals the flow cookie; derived from the platform's key-encryption key.
    cookie_key: [u8; 32],
    public_url: String,
    /// The states of flows whose callback this process has seen, until the flow would expire:
    /// the browser's cookie is cleared after one callback, but someone holding a copy of it
    /// could replay the callback and make us call the provider's token endpoint again each time.
    used_states: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

/// For templates: the buttons on /signin and /signup.
#[derive(Debug, Serialize)]
pub struct ProviderButton {
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
}

impl Federation {
    pub fn new(providers: &[IdentityProvider], kek: &[u8; 32], public_url: &str) -> Self {
        let http = reqwest::Client::builder()
            // The openidconnect crate's advice: never follow redirects (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .expect("the HTTP client builds");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(kek).expect("HMAC takes any key");
        mac.update(b"thanglong/web/federated-flow-cookie/v1");
        Self {
            http,
            upstreams: providers.iter().filter(|p| p.enabled).map(|p| Upstream { cfg: p.clone(), cache: Default::default() }).collect(),
            cookie_key: mac.finalize().into_bytes().into(),
            public_url: public_url.trim_end_matches('/').to_owned(),
            used_states: Default::default(),
        }
    }

    /// True the first time this process sees a flow's callback (the state is then kept until the
    /// flow's expiry); false for a replay.
    fn first_use(&self, state: &str, expires: i64) -> bool {
        let now = Utc::now().timestamp();
        let mut used = self.used_states.lock().unwrap_or_else(|p| p.into_inner());
        used.retain(|_, until| *until > now);
        used.insert(state.to_owned(), expires).is_none()
    }

    pub fn buttons(&self) -> Vec<ProviderButton> {
        self.upstreams
            .iter()
            .map(|u| ProviderButton { id: u.cfg.id.clone(), name_vi: u.cfg.name_vi.clone(), name_en: u.cfg.name_en.clone() })
            .collect()
    }

    /// The display name of a provider (also of one no longer enabled: its id).
    pub fn display_name(&self, id: &str, lang: &str) -> String {
        self.upstreams
            .iter()
            .find(|u| u.cfg.id == id)
            .map_or_else(|| id.to_owned(), |u| if lang == "en" { u.cfg.name_en.clone() } else { u.cfg.name_vi.clone() })
    }

    fn upstream(&self, id: &str) -> Option<&Upstream> {
        self.upstreams.iter().find(|u| u.cfg.id == id)
    }

    fn redirect_uri(&self, id: &str) -> String {
        format!("{}{FLOW_PATH}{id}/callback", self.public_url)
    }

    /// The provider's discovery document and keys (OpenID Connect Discovery 1.0 §4), cached.
    /// `force` fetches them again (the keys may have rotated), unless fetched very recently.
    async fn metadata(&self, up: &Upstream, force: bool) -> Result<RpProviderMetadata, FederatedError> {
        let mut cache = up.cache.lock().await;
        if let Some(c) = cache.as_ref() {
            let age = c.fetched.elapsed();
            if age < METADATA_TTL && !(force && age >= KEY_REFRESH_MIN) {
                return Ok(c.metadata.clone());
            }
        }
        let issuer = IssuerUrl::new(up.cfg.issuer.clone()).map_err(|e| FederatedError::Unreachable(format!("issuer URL: {e}")))?;
        // The crate checks that the document names the same issuer (Discovery §4.3).
        match RpProviderMetadata::discover_async(issuer, &self.http).await {
            Ok(m) => {
                *cache = Some(Cached { metadata: m.clone(), fetched: Instant::now() });
                Ok(m)
            }
            Err(e) => {
                let why = error_chain(&e);
                tracing::warn!(provider = %up.cfg.id, error = %why, "identity provider discovery failed");
                // A provider briefly down must not stop people who could still sign in:
                // keep serving the last document we had.
                match cache.as_ref() {
                    Some(c) if !force => Ok(c.metadata.clone()),
                    _ => Err(FederatedError::Unreachable(why)),
                }
            }
        }
    }

    fn client(&self, up: &Upstream, metadata: RpProviderMetadata) -> Result<RpClient, FederatedError> {
        let redirect =
            RedirectUrl::new(self.redirect_uri(&up.cfg.id)).map_err(|e| FederatedError::Unreachable(format!("redirect URI: {e}")))?;
        let client = RpClient::from_provider_metadata(
            metadata,
            ClientId::new(up.cfg.client_id.clone()),
            up.cfg.client_secret.as_ref().map(|s| ClientSecret::new(s.0.clone())),
        )
        .set_redirect_uri(redirect)
        .set_auth_type(match up.cfg.token_auth {
            TokenAuth::ClientSecretBasic => AuthType::BasicAuth,
            TokenAuth::ClientSecretPost => AuthType::RequestBody,
        });
        Ok(client)
    }

    fn seal(&self, flow: &Flow) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let cipher = Aes256Gcm::new((&self.cookie_key).into());
        let msg = serde_json::to_vec(flow).expect("a flow serialises");
        let sealed =
            cipher.encrypt(AesNonce::from_slice(&nonce), Payload { msg: &msg, aad: FLOW_COOKIE.as_bytes() }).expect("AES-GCM encrypts");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([&nonce[..], &sealed].concat())
    }

    fn open(&self, value: &str) -> Option<Flow> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(value).ok()?;
        if bytes.len() < 12 + 16 {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(12);
        let cipher = Aes256Gcm::new((&self.cookie_key).into());
        let msg = cipher.decrypt(AesNonce::from_slice(nonce), Payload { msg: sealed, aad: FLOW_COOKIE.as_bytes() }).ok()?;
        serde_json::from_slice(&msg).ok()
    }
}

/// What the callback must find again: one sign-in attempt.
#[derive(Serialize, Deserialize)]
struct Flow {
    provider: String,
    state: String,
    nonce: String,
    pkce_verifier: String,
    next: String,
    /// Unix seconds.
    expires: i64,
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// Why a sign-in through a provider failed. Each has a stable code for the audit log, a
/// status, and words for the person in both languages; none is a 500.
#[derive(Debug, thiserror::Error)]
pub enum FederatedError {
    /// The person cancelled or declined at the provider (RFC 6749 §4.1.2.1 `access_denied`).
    #[error("cancelled at the provider")]
    Cancelled,
    /// The provider answered the authorization request with another error.
    #[error("the provider refused the request: {0}")]
    ProviderRefused(String),
    /// No flow cookie, or one that does not open, has expired or names another provider:
    /// an old tab, a replayed callback, or a callback this browser never started.
    #[error("no sign-in in progress")]
    NoFlow,
    /// `state` does not match (RFC 6749 §10.12: cross-site request forgery).
    #[error("state mismatch")]
    StateMismatch,
    /// The token endpoint refused the code (`invalid_grant`: used, expired, PKCE mismatch).
    #[error("the code was refused: {0}")]
    CodeRefused(String),
    #[error("the provider cannot be reached: {0}")]
    Unreachable(String),
    /// The provider's answer is malformed, or its ID token fails verification.
    #[error("the provider's answer is not acceptable: {0}")]
    BadAnswer(String),
    #[error("the claims do not vouch for a person: {0}")]
    Claims(ClaimError),
    #[error("linking refused: {0}")]
    Refused(LinkRefusal),
}

impl FederatedError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Cancelled => "federated_cancelled",
            Self::ProviderRefused(_) => "federated_provider_refused",
            Self::NoFlow => "federated_no_flow",
            Self::StateMismatch => "federated_state_mismatch",
            Self::CodeRefused(_) => "federated_code_refused",
            Self::Unreachable(_) => "federated_unreachable",
            Self::BadAnswer(_) => "federated_bad_answer",
            Self::Claims(e) => e.code(),
            Self::Refused(r) => r.code(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Cancelled | Self::NoFlow | Self::StateMismatch | Self::CodeRefused(_) => StatusCode::BAD_REQUEST,
            Self::Claims(_) | Self::Refused(_) => StatusCode::FORBIDDEN,
            Self::ProviderRefused(_) | Self::Unreachable(_) | Self::BadAnswer(_) => StatusCode::BAD_GATEWAY,
        }
    }

    fn title(&self, en: bool) -> &'static str {
        match (self, en) {
            (Self::Cancelled, false) => "Bạn đã hủy đăng nhập",
            (Self::Cancelled, true) => "You cancelled the sign-in",
            (Self::NoFlow | Self::StateMismatch | Self::CodeRefused(_), false) => "Phiên đăng nhập không hợp lệ hoặc đã hết hạn",
            (Self::NoFlow | Self::StateMismatch | Self::CodeRefused(_), true) => "The sign-in is not valid or has expired",
            (Self::ProviderRefused(_) | Self::Unreachable(_) | Self::BadAnswer(_), false) => "Chưa kết nối được với hệ thống định danh",
            (Self::ProviderRefused(_) | Self::Unreachable(_) | Self::BadAnswer(_), true) => "The identity provider could not be used",
            (Self::Claims(_) | Self::Refused(_), false) => "Không thể đăng nhập bằng tài khoản định danh này",
            (Self::Claims(_) | Self::Refused(_), true) => "You cannot sign in with this identity",
        }
    }

    fn detail(&self, en: bool) -> String {
        match (self, en) {
            (Self::Cancelled, false) => "Bạn đã hủy hoặc không đồng ý tại hệ thống định danh nên chưa đăng nhập. Bạn có thể thử lại hoặc đăng nhập bằng mật khẩu.".into(),
            (Self::Cancelled, true) => "You cancelled or declined at the identity provider, so you are not signed in. You can try again or sign in with your password.".into(),
            (Self::NoFlow | Self::StateMismatch | Self::CodeRefused(_), false) => "Để bảo đảm an toàn, yêu cầu đăng nhập này không được chấp nhận (có thể do đã dùng, đã quá 10 phút hoặc không bắt đầu từ trình duyệt này). Không có thay đổi nào được thực hiện. Vui lòng bắt đầu đăng nhập lại.".into(),
            (Self::NoFlow | Self::StateMismatch | Self::CodeRefused(_), true) => "For your safety this sign-in was not accepted (it may have been used already, be over 10 minutes old, or not have started in this browser). Nothing was changed. Please start signing in again.".into(),
            (Self::ProviderRefused(_) | Self::Unreachable(_) | Self::BadAnswer(_), false) => "Hệ thống định danh không phản hồi hoặc trả lời không hợp lệ. Vui lòng thử lại sau ít phút, hoặc đăng nhập bằng mật khẩu.".into(),
            (Self::ProviderRefused(_) | Self::Unreachable(_) | Self::BadAnswer(_), true) => "The identity provider did not answer, or its answer was not valid. Please try again in a few minutes, or sign in with your password.".into(),
            (Self::Claims(e), en) => e.message(if en { "en" } else { "vi" }),
            (Self::Refused(r), en) => r.message(if en { "en" } else { "vi" }).into(),
        }
    }
}

#[derive(Deserialize, Default)]
pub struct StartQuery {
    next: Option<String>,
}

/// The button: sends the browser to the provider's authorization endpoint (OIDC Core §3.1.2.1).
/// A plain link, not a form: the pages' CSP says `form-action 'self'`, which browsers apply to
/// a form's redirects too, and starting a sign-in changes nothing (the state, bound to this
/// browser's cookie, is what stops a forged callback, RFC 6749 §10.12).
pub async fn start(
    State(st): State<AppState>,
    v: Visitor,
    Path(provider): Path<String>,
    Query(f): Query<StartQuery>,
) -> AppResult<Response> {
    let fed = &st.federation;
    let up = fed.upstream(&provider).ok_or(AppError::NotFound)?;
    if let Err(wait) = st.throttle.hit(v.ip, Instant::now()) {
        return Err(AppError::TooManyRequests { retry_after_secs: wait });
    }
    let metadata = match fed.metadata(up, false).await {
        Ok(m) => m,
        Err(e) => return failure(&st, &v, &provider, e).await,
    };
    let client = match fed.client(up, metadata) {
        Ok(c) => c,
        Err(e) => return failure(&st, &v, &provider, e).await,
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
    for s in up.cfg.scopes.iter().filter(|s| *s != "openid") {
        req = req.add_scope(Scope::new(s.clone()));
    }
    let (url, state, nonce) = req.set_pkce_challenge(challenge).url();
    let flow = Flow {
        provider: provider.clone(),
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        next: safe_next(f.next.as_deref(), "/account"),
        expires: Utc::now().timestamp() + FLOW_LIFETIME_SECS,
    };
    let mut resp = crate::web::see_other(url.as_str());
    resp.headers_mut().append(header::SET_COOKIE, flow_cookie(&fed.seal(&flow), Some(FLOW_LIFETIME_SECS), st.config.secure_cookies));
    Ok(resp)
}

fn flow_cookie(value: &str, max_age: Option<i64>, secure: bool) -> axum::http::HeaderValue {
    // The callback is a top-level GET from the provider's site: SameSite=Lax cookies come along.
    let c = cookie(FLOW_COOKIE, value, max_age, secure, "Lax");
    let s = c.to_str().expect("ASCII").replacen("Path=/;", &format!("Path={FLOW_PATH};"), 1);
    axum::http::HeaderValue::from_str(&s).expect("ASCII")
}

#[derive(Deserialize, Default)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    /// RFC 9207: the issuer of the response, against mix-up attacks.
    iss: Option<String>,
}

/// The redirect back from the provider (OIDC Core §3.1.2.5–§3.1.3.7).
pub async fn callback(
    State(st): State<AppState>,
    v: Visitor,
    Path(provider): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    if st.federation.upstream(&provider).is_none() {
        return Err(AppError::NotFound);
    }
    // Whatever arrives here is parsed leniently: a malformed answer is a refused sign-in
    // (no state, so no match), shown on our page rather than as a bare extractor error.
    let q: CallbackQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let flow = read_cookie(&headers, FLOW_COOKIE)
        .and_then(|c| st.federation.open(c))
        .filter(|f| f.provider == provider && f.expires > Utc::now().timestamp())
        // One callback per flow, even with a copy of the cookie.
        .filter(|f| st.federation.first_use(&f.state, f.expires));
    let outcome = match flow {
        None => Err(FederatedError::NoFlow),
        Some(flow) => verify(&st, &provider, &flow, &q).await.map(|person| (person, flow.next)),
    };
    let mut resp = match outcome {
        Ok(((person, claims), next)) => match link(&st, &v, &provider, &person, claims).await? {
            Ok(account_id) => {
                // Only citizens' accounts are reached this way (officers sign in with their
                // second factor); "fed": authenticated by a federated provider.
                let cookies =
                    crate::auth::open_session(&st, &v, account_id, tl_storage::SessionStage::Full, "fed", "account.signin_federated")
                        .await?;
                let mut resp = crate::web::see_other(&next);
                for c in cookies {
                    resp.headers_mut().append(header::SET_COOKIE, c);
                }
                resp
            }
            Err(e) => failure(&st, &v, &provider, e).await?,
        },
        Err(e) => failure(&st, &v, &provider, e).await?,
    };
    // Used once, whatever happened: a replayed callback finds no flow.
    resp.headers_mut().append(header::SET_COOKIE, flow_cookie("", Some(0), st.config.secure_cookies));
    Ok(resp)
}

/// Everything between the callback and a verified person: state, code exchange with the PKCE
/// verifier, ID token verification, optionally userinfo.
async fn verify(st: &AppState, provider: &str, flow: &Flow, q: &CallbackQuery) -> Result<(VerifiedPerson, Value), FederatedError> {
    let fed = &st.federation;
    let up = fed.upstream(provider).ok_or(FederatedError::NoFlow)?;
    // The state is checked before anything else the callback says, errors included.
    let state_ok = q.state.as_deref().is_some_and(|s| crate::security::same_secret(s, &flow.state));
    if !state_ok {
        return Err(FederatedError::StateMismatch);
    }
    let metadata = fed.metadata(up, false).await?;
    // RFC 9207 §2.4: a response naming another issuer is not ours to redeem (mix-up attack);
    // when the provider promises the parameter, it must be there.
    let promised = metadata.additional_metadata().authorization_response_iss_parameter_supported;
    match q.iss.as_deref() {
        Some(iss) if iss.trim_end_matches('/') != metadata.issuer().as_str().trim_end_matches('/') => {
            return Err(FederatedError::BadAnswer(format!(
                "the response names another issuer: {}",
                iss.chars().take(200).collect::<String>()
            )))
        }
        None if promised => return Err(FederatedError::BadAnswer("the response does not name its issuer (RFC 9207)".into())),
        _ => {}
    }
    if let Some(err) = q.error.as_deref() {
        return Err(match err {
            "access_denied" | "consent_required" | "login_required" | "interaction_required" => FederatedError::Cancelled,
            other => FederatedError::ProviderRefused(other.chars().take(64).collect()),
        });
    }
    let code = q.code.as_deref().filter(|c| !c.is_empty() && c.len() <= 2048).ok_or(FederatedError::StateMismatch)?;
    let mut client = fed.client(up, metadata)?;
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| FederatedError::BadAnswer(format!("no token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
        .request_async(&fed.http)
        .await
        .map_err(|e| match &e {
            RequestTokenError::ServerResponse(r) if *r.error() == CoreErrorResponseType::InvalidGrant => {
                FederatedError::CodeRefused(error_chain(&e))
            }
            RequestTokenError::Request(_) => FederatedError::Unreachable(error_chain(&e)),
            _ => FederatedError::BadAnswer(error_chain(&e)),
        })?;
    let id_token = token.id_token().ok_or_else(|| FederatedError::BadAnswer("the token response has no ID token".into()))?;
    let nonce = Nonce::new(flow.nonce.clone());
    let claims = match verify_id_token(&client, id_token, &nonce, &token) {
        // Keys rotate (OIDC Core §10.1.1): an unknown key means fetching them again, once.
        Err(Some(openidconnect::ClaimsVerificationError::SignatureVerification(_))) => {
            let fresh = fed.client(up, fed.metadata(up, true).await?)?;
            let c = verify_id_token(&fresh, id_token, &nonce, &token);
            client = fresh;
            c
        }
        other => other,
    }
    .map_err(|e| {
        FederatedError::BadAnswer(
            e.map_or_else(|| "at_hash does not match the access token".into(), |e| format!("ID token: {}", error_chain(&e))),
        )
    })?;
    let mut all = claims_json(&claims);
    if up.cfg.userinfo {
        if let Ok(req) = client.user_info(token.access_token().clone(), Some(SubjectIdentifier::new(claims.subject().to_string()))) {
            // The crate checks that userinfo's `sub` is the ID token's (OIDC Core §5.3.2).
            let info: openidconnect::UserInfoClaims<ExtraClaims, CoreGenderClaim> =
                req.request_async(&fed.http).await.map_err(|e| match &e {
                    openidconnect::UserInfoError::Request(_) => FederatedError::Unreachable(error_chain(&e)),
                    _ => FederatedError::BadAnswer(format!("userinfo: {}", error_chain(&e))),
                })?;
            if let Ok(Value::Object(m)) = serde_json::to_value(&info) {
                for (k, v) in m {
                    all.entry(k).or_insert(v);
                }
            }
        }
    }
    let year = tl_core::time::local_date(Utc::now()).year();
    let person = person_from_claims(&all, &up.cfg.claims, year).map_err(FederatedError::Claims)?;
    Ok((person, Value::Object(all)))
}

/// The ID token's claims once verified (OIDC Core §3.1.3.7): signature with the provider's
/// published keys, `iss` the configured issuer, `aud` (and `azp`) our client, `exp`/`iat` in
/// time, `nonce` ours; and §3.1.3.8: `at_hash`, when present, matches the access token.
/// None as the error: the `at_hash` did not match.
fn verify_id_token(
    client: &RpClient,
    id_token: &openidconnect::IdToken<ExtraClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>,
    nonce: &Nonce,
    token: &RpTokenResponse,
) -> Result<IdTokenClaims<ExtraClaims, CoreGenderClaim>, Option<openidconnect::ClaimsVerificationError>> {
    let verifier = client.id_token_verifier().set_allowed_algs(ALLOWED_ALGS);
    let claims = id_token.claims(&verifier, nonce).map_err(Some)?;
    if let Some(expected) = claims.access_token_hash() {
        let other = |e: openidconnect::SignatureVerificationError| Some(openidconnect::ClaimsVerificationError::SignatureVerification(e));
        let alg = id_token.signing_alg().map_err(other)?;
        let key = id_token.signing_key(&verifier).map_err(other)?;
        let actual = AccessTokenHash::from_token(token.access_token(), alg, key)
            .map_err(|e| Some(openidconnect::ClaimsVerificationError::Other(e.to_string())))?;
        if actual != *expected {
            return Err(None);
        }
    }
    Ok(claims.clone())
}

fn claims_json(c: &IdTokenClaims<ExtraClaims, CoreGenderClaim>) -> Map<String, Value> {
    match serde_json::to_value(c) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// Finds, links or creates the account in one transaction with its audit record. The inner
/// error is a refusal the person sees; the outer one a storage failure.
async fn link(
    st: &AppState,
    v: &Visitor,
    provider: &str,
    person: &VerifiedPerson,
    claims: Value,
) -> AppResult<Result<i64, FederatedError>> {
    let mut w = st.db.begin().await?;
    let now = Utc::now();
    match link_in(w.as_mut(), provider, person, claims, now).await? {
        Ok((account_id, action)) => {
            let detail = serde_json::json!({"provider": provider, "subject": person.subject});
            w.append_audit(&crate::auth::audit(v, Some(account_id), action, "account", &account_id.to_string(), detail)).await?;
            w.commit().await?;
            Ok(Ok(account_id))
        }
        Err(r) => Ok(Err(FederatedError::Refused(r))),
    }
}

/// The linking rule against the database: (provider, subject) first, then the verified
/// personal ID number, else a new citizen account without a password. Returns the account
/// and the audit action that says which.
pub async fn link_in(
    w: &mut dyn Repo,
    provider: &str,
    person: &VerifiedPerson,
    claims: Value,
    now: chrono::DateTime<Utc>,
) -> Result<Result<(i64, &'static str), LinkRefusal>, StoreError> {
    let facts = |a: &tl_storage::Account| AccountFacts {
        id: a.id,
        kind: a.kind,
        login: a.login.clone(),
        active: a.status == AccountStatus::Active,
    };
    let by_subject = w.find_federated(provider, &person.subject).await?.map(|a| facts(&a));
    let by_id = w.find_account_by_login(person.personal_id.as_str()).await?.map(|a| facts(&a));
    let (account_id, action) = match decide(by_subject.as_ref(), by_id.as_ref(), person) {
        LinkDecision::Refuse(r) => return Ok(Err(r)),
        LinkDecision::SignIn(id) => (id, "account.federated_signin"),
        LinkDecision::Link(id) => (id, "account.federated_link"),
        LinkDecision::Create => {
            let a = w
                .create_account(
                    &NewAccount {
                        kind: AccountKind::Citizen,
                        login: person.personal_id.as_str().to_owned(),
                        display_name: person.name.clone(),
                        email: person.email.clone(),
                        phone: person.phone.clone(),
                        // Signs in through the provider; a password can be set later.
                        password_hash: None,
                        agency_id: None,
                    },
                    now,
                )
                .await?;
            (a.id, "account.federated_signup")
        }
    };
    w.link_federated(&FederatedLink {
        provider: provider.to_owned(),
        subject: person.subject.clone(),
        account_id,
        verified_at: now,
        claims,
    })
    .await?;
    Ok(Ok((account_id, action)))
}

/// The failure page, with an audit record (in its own transaction: nothing else changed).
async fn failure(st: &AppState, v: &Visitor, provider: &str, e: FederatedError) -> AppResult<Response> {
    let status = e.status();
    if status.is_server_error() {
        tracing::warn!(provider, code = e.code(), error = %e, "sign-in through an identity provider failed");
    } else {
        tracing::info!(provider, code = e.code(), error = %e, "sign-in through an identity provider refused");
    }
    let mut w = st.db.begin().await?;
    let detail = serde_json::json!({"provider": provider, "code": e.code(), "reason": e.to_string().chars().take(500).collect::<String>()});
    w.append_audit(&crate::auth::audit(v, None, "account.federated_failed", "identity_provider", provider, detail)).await?;
    w.commit().await?;
    let en = v.lang == crate::i18n::Lang::En;
    let ctx = minijinja::context! {
        title => e.title(en),
        detail => e.detail(en),
        code => e.code(),
        status => status.as_u16(),
        provider => provider,
        provider_name => st.federation.display_name(provider, v.lang.code()),
    };
    render_status(st, v, "federated_error.html", ctx, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fed() -> Federation {
        let p = IdentityProvider {
            id: "vneid".into(),
            name_vi: "tài khoản định danh điện tử VNeID".into(),
            name_en: "the VNeID electronic identity account".into(),
            issuer: "https://idp.example.vn".into(),
            client_id: "thanglong".into(),
            client_secret: Some(SecretString("s3cret".into())),
            token_auth: TokenAuth::default(),
            scopes: vec!["openid".into()],
            claims: ClaimNames::default(),
            userinfo: true,
            enabled: true,
        };
        Federation::new(&[p], &[9; 32], "https://dvc.example.vn/")
    }

    #[test]
    fn flow_cookie_opens_only_untouched_and_under_its_key() {
        let f = fed();
        let flow = Flow {
            provider: "vneid".into(),
            state: "st".into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            next: "/account".into(),
            expires: 1,
        };
        let sealed = f.seal(&flow);
        assert!(!sealed.contains("st") || sealed.len() > 40, "sealed, not plain");
        assert_eq!(f.open(&sealed).unwrap().pkce_verifier, "v");
        // One character changed, truncated, or sealed under another key: refused.
        let mut bytes = sealed.clone().into_bytes();
        bytes[20] = if bytes[20] == b'A' { b'B' } else { b'A' };
        assert!(f.open(&String::from_utf8(bytes).unwrap()).is_none());
        assert!(f.open(&sealed[..sealed.len() - 4]).is_none());
        assert!(f.open("").is_none());
        let other = Federation::new(&[], &[8; 32], "https://dvc.example.vn");
        assert!(other.open(&sealed).is_none());
        assert_eq!(f.redirect_uri("vneid"), "https://dvc.example.vn/signin/with/vneid/callback");
    }

    #[test]
    fn secrets_do_not_print() {
        let f = fed();
        let dbg = format!("{:?}", f.upstreams[0].cfg);
        assert!(!dbg.contains("s3cret") && dbg.contains("redacted"), "{dbg}");
    }

    #[test]
    fn every_failure_is_a_4xx_or_502_with_words_in_both_languages() {
        let all = [
            FederatedError::Cancelled,
            FederatedError::ProviderRefused("x".into()),
            FederatedError::NoFlow,
            FederatedError::StateMismatch,
            FederatedError::CodeRefused("x".into()),
            FederatedError::Unreachable("x".into()),
            FederatedError::BadAnswer("x".into()),
            FederatedError::Claims(ClaimError::MissingPersonalId),
            FederatedError::Refused(LinkRefusal::Disabled),
        ];
        for e in all {
            let s = e.status();
            assert!(s.is_client_error() || s == StatusCode::BAD_GATEWAY, "{e}");
            assert!(!e.title(false).is_empty() && !e.detail(false).is_empty() && e.detail(false) != e.detail(true), "{e}");
        }
    }
}
