//! Thăng Long's web layer: the citizen portal, the administration pages, the JSON API, and
//! operations endpoints, all on one axum router. Pages are rendered on the server and every
//! action is a plain form POST that redirects, so everything works without JavaScript.

pub mod access;
pub mod admin;
pub mod api;
pub mod auth;
pub mod calendar;
pub mod catalog;
pub mod counter;
pub mod datastore;
pub mod delegation;
pub mod dossiers;
pub mod error;
pub mod federated;
pub mod filing;
pub mod forms;
pub mod govstack;
pub mod i18n;
pub mod mail;
mod metrics;
pub(crate) mod middleware;
pub mod office;
pub mod oidc;
pub mod ops;
pub mod portal;
pub mod process_admin;
pub mod receipt;
pub mod results;
pub mod second_factor;
pub mod security;
pub mod templates;
pub mod uploads;
mod web;
pub mod workflow;

pub use error::{AppError, AppResult};
pub use security::{hash_password, new_token, sha256_hex};
pub use web::Visitor;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use tl_storage::Database;

/// Settings of the web layer (typed and validated by the binary at start).
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark cookies `Secure` (true behind HTTPS; false for plain-HTTP local demos).
    pub secure_cookies: bool,
    /// A session ends after this long without a request.
    pub session_idle: chrono::Duration,
    /// A session ends this long after sign-in, however active.
    pub session_max: chrono::Duration,
    /// Largest request body accepted (forms and JSON).
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_proxy: bool,
    /// Failed sign-ins in a row before an account is locked for `lockout`.
    pub max_failed_logins: i64,
    pub lockout: chrono::Duration,
    /// Sign-in attempts allowed per client address per `login_window`.
    pub login_attempts_per_ip: usize,
    pub login_window: Duration,
    /// Public dossier lookups allowed per client address per minute.
    pub lookups_per_minute: usize,
    /// Largest upload, and the most one dossier may hold.
    pub max_file_bytes: usize,
    pub max_dossier_bytes: usize,
    /// Uploads that no filed dossier holds are removed after this long.
    pub upload_retention: chrono::Duration,
    /// Where uploaded bytes are kept.
    pub files_dir: std::path::PathBuf,
    /// Keep uploads in an S3-compatible store (temporary files stay in `files_dir`).
    pub s3: Option<tl_storage::blob::S3Config>,
    /// Where citizens reach the platform (printed in QR codes and mails), without a trailing slash.
    pub public_url: String,
    /// Seals the signing keys at rest. None: a random key for this process only (demos and
    /// tests; keys sealed with it cannot be opened after a restart, so a new test CA is made).
    pub signing_kek: Option<SecretKey>,
    /// Sends the notification mails; None keeps them in the outbox.
    pub smtp: Option<tl_mail::SmtpConfig>,
    /// Token, introspection and revocation requests allowed per client address and per
    /// client per minute.
    pub oidc_requests_per_minute: usize,
    /// How long an authorization code may wait for its exchange (default 60 s; RFC 6749 §4.1.2
    /// recommends at most 10 minutes).
    pub oidc_code_lifetime: chrono::Duration,
    /// Upstream OpenID Connect providers citizens may sign in with (the national VNeID).
    pub identity_providers: Vec<federated::IdentityProvider>,
    /// How often the access log's writer commits what has queued: a crash loses at most the
    /// reads of this last interval (see `tl_storage::access`).
    pub access_flush: Duration,
}

/// A 32-byte secret that never shows in logs.
#[derive(Clone)]
pub struct SecretKey(pub [u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session_idle: chrono::Duration::hours(2),
            session_max: chrono::Duration::hours(12),
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            trust_proxy: false,
            max_failed_logins: 5,
            lockout: chrono::Duration::minutes(15),
            login_attempts_per_ip: 20,
            login_window: Duration::from_secs(300),
            lookups_per_minute: 30,
            max_file_bytes: 20 * 1024 * 1024,
            max_dossier_bytes: 100 * 1024 * 1024,
            upload_retention: chrono::Duration::days(7),
            files_dir: std::env::temp_dir().join("thanglong-files"),
            s3: None,
            public_url: "http://127.0.0.1:8080".into(),
            signing_kek: None,
            smtp: None,
            oidc_requests_per_minute: 600,
            oidc_code_lifetime: oidc::protocol::CODE_TTL,
            identity_providers: Vec::new(),
            access_flush: tl_storage::access::FLUSH_INTERVAL,
        }
    }
}

pub struct AppInner {
    pub db: Arc<dyn Database>,
    pub config: WebConfig,
    pub env: minijinja::Environment<'static>,
    pub metrics: metrics::Metrics,
    pub throttle: security::Throttle,
    pub openapi_json: String,
    pub catalog: catalog::CatalogIndex,
    /// Public dossier lookups per client address (against enumeration of codes).
    pub lookups: security::Throttle,
    pub blobs: tl_storage::blob::BlobStore,
    /// Every filing goes through the group committer: acknowledged after a durable commit
    /// shared with the filings that arrived at the same time.
    pub filer: tl_storage::filer::Filer,
    /// The working calendar deadlines are computed on.
    pub calendar: office::CalendarCache,
    /// Seals signing keys at rest (see `WebConfig::signing_kek`).
    pub signing_kek: [u8; 32],
    /// The OpenID Connect provider's keys cache and throttles.
    pub oidc: oidc::OidcState,
    /// Sign-in with upstream identity providers.
    pub federation: federated::Federation,
    /// Reads of people's data by others, queued and written in batches (see [`access`]).
    pub access: tl_storage::access::AccessLog,
}

pub type AppState = Arc<AppInner>;

pub fn state(db: Arc<dyn Database>, config: WebConfig) -> AppState {
    let throttle = security::Throttle::new(config.login_attempts_per_ip, config.login_window);
    let signing_kek = config.signing_kek.as_ref().map_or_else(
        || {
            tracing::warn!("no signing key-encryption key configured: using a random one for this process");
            rand::random()
        },
        |k| k.0,
    );
    let federation = federated::Federation::new(&config.identity_providers, &signing_kek, &config.public_url);
    let mut env = templates::environment();
    // The sign-in buttons appear on several pages (and on their re-renders with errors).
    env.add_global("identity_providers", minijinja::Value::from_serialize(federation.buttons()));
    Arc::new(AppInner {
        filer: tl_storage::filer::Filer::start(db.clone()),
        access: tl_storage::access::AccessLog::start(db.clone(), config.access_flush),
        calendar: office::CalendarCache::default(),
        signing_kek,
        oidc: oidc::OidcState::new(db.clone(), config.oidc_requests_per_minute),
        federation,
        db,
        config: config.clone(),
        env,
        metrics: metrics::Metrics::default(),
        throttle,
        openapi_json: api::openapi_json(),
        catalog: catalog::CatalogIndex::default(),
        lookups: security::Throttle::new(config.lookups_per_minute, Duration::from_secs(60)),
        blobs: match &config.s3 {
            Some(s3) => tl_storage::blob::BlobStore::s3(&config.files_dir, s3),
            None => tl_storage::blob::BlobStore::filesystem(&config.files_dir),
        }
        .expect("the file store can be set up"),
    })
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let pages = Router::new()
        .route("/", get(portal::index))
        .route("/procedures", get(portal::search))
        .route("/procedures/{code}", get(portal::procedure))
        .route("/fields", get(portal::fields))
        .route("/agencies", get(portal::agencies))
        .route("/agencies/{eid}", get(portal::agency))
        .route("/lang/{lang}", get(portal::switch_lang))
        .route("/lookup", get(dossiers::lookup))
        .route("/procedures/{code}/file", post(filing::start))
        .route("/dossiers", get(filing::mine))
        .route("/counter", get(counter::show).post(counter::create))
        .route("/admin/calendar", get(calendar::show).post(calendar::update))
        .route("/admin/procedures/{code}/process", get(process_admin::show).post(process_admin::update))
        .route("/office", get(office::queue))
        .route("/dossiers/{id}/reception", post(office::receive))
        .route("/office/inbox", get(workflow::inbox))
        .route("/results/{file}", get(results::download))
        .route("/results/{id}/revoke", post(results::revoke))
        .route("/dossiers/{id}/forms/{file}", get(forms::form))
        .route("/office/register", get(forms::register))
        .route("/verify", get(results::verify_form).post(results::verify_upload).layer(DefaultBodyLimit::max(20 * 1024 * 1024 + 64 * 1024)))
        .route("/verify/{id}", get(results::verify_issued))
        .route("/dossiers/{id}/decide", post(workflow::decide))
        .route("/dossiers/{id}/delay", post(workflow::delay))
        .route("/dossiers/{id}/withdraw", post(workflow::withdraw))
        .route("/dossiers/{id}/stop", post(workflow::stop))
        .route("/dossiers/{id}", get(filing::show))
        .route("/dossiers/{id}/receipt.pdf", get(receipt::pdf))
        .route(
            "/dossiers/{id}/edit",
            get(filing::edit).post(filing::save_step).layer(DefaultBodyLimit::max(state.config.max_file_bytes + 64 * 1024)),
        )
        .route("/dossiers/{id}/review", get(filing::review))
        .route("/dossiers/{id}/submit", post(filing::submit))
        .route("/dossiers/{id}/delete", post(filing::delete))
        .route("/dossiers/{id}/files", post(uploads::upload_form).layer(DefaultBodyLimit::max(state.config.max_file_bytes + 64 * 1024)))
        .route("/files/{fid}", get(uploads::view))
        .route("/signin", get(auth::signin_page).post(auth::signin))
        .route("/signup", get(auth::signup_page).post(auth::signup))
        .route("/signout", post(auth::signout))
        .route("/signin/with/{provider}", get(federated::start))
        .route("/signin/with/{provider}/callback", get(federated::callback))
        .route("/account", get(auth::account_page))
        .route("/account/tokens", post(auth::create_token))
        .route("/account/tokens/{id}/revoke", post(auth::revoke_token))
        .route("/signin/second-factor", get(second_factor::challenge_page).post(second_factor::challenge))
        .route("/signin/enrol", get(second_factor::enrol_page).post(second_factor::enrol))
        .route("/account/security", get(second_factor::security_page))
        .route("/account/security/totp", get(second_factor::setup_page).post(second_factor::setup))
        .route("/account/security/totp/remove", post(second_factor::remove))
        .route("/account/security/recovery-codes", post(second_factor::regenerate))
        .route("/account/sessions/{handle}/end", post(second_factor::end_session))
        .route("/account/sessions/end-others", post(second_factor::end_other_sessions))
        .route("/account/access-log", get(access::page))
        .route("/api/v1/people/{personal_id}/data", get(datastore::shared_data))
        .route("/account/data", get(datastore::page))
        .route("/account/data/items", post(datastore::add_item))
        .route("/account/data/items/{id}", post(datastore::correct_item))
        .route("/account/data/items/{id}/delete", post(datastore::delete_item))
        .route("/account/data/documents/{id}/delete", post(datastore::delete_document))
        .route("/account/consents", get(datastore::consents))
        .route("/account/consents/{agreement}", post(datastore::decide))
        .route("/account/delegation", get(delegation::page))
        .route("/account/delegation/members", post(delegation::add_member))
        .route("/account/delegation/members/{id}/remove", post(delegation::remove_member))
        .route("/account/delegation/authorisations", post(delegation::authorise))
        .route("/account/delegation/authorisations/{id}/revoke", post(delegation::revoke))
        .route("/admin/agencies/{eid}/second-factor", post(second_factor::require_for_agency))
        .route("/admin/accounts/{id}/second-factor/reset", post(second_factor::reset_for_account))
        .merge(admin::routes())
        .route("/static/{*path}", get(portal::static_file));
    let api = api::routes();
    let ops = Router::new().route("/healthz", get(ops::healthz)).route("/readyz", get(ops::readyz)).route("/metrics", get(ops::metrics));
    Router::new()
        .merge(pages)
        .merge(api)
        .merge(govstack::routes())
        .merge(oidc::routes())
        .merge(ops)
        .fallback(portal::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::visitor))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::errors))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            state.config.request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::observe))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(middleware::panic_response))
        .with_state(state)
}

/// Serves `router` on `listener` until ctrl-c / SIGTERM, then drains in-flight requests.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).with_graceful_shutdown(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
