//! Layers every request passes through: request id + logs + metrics, security headers,
//! the visitor (language, CSRF token, session), and error rendering.

use crate::error::AppError;
use crate::i18n::Lang;
use crate::security::{new_token, sha256_hex};
use crate::web::{cookie, read_cookie, Visitor};
use crate::AppState;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What an [`AppError`] leaves on its response for [`errors`] to render.
#[derive(Clone)]
pub struct ErrorInfo {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: [&'static str; 2],
    pub detail: [String; 2],
    pub retry_after: Option<u64>,
    /// The cause chain of a 500, logged with the request id; never shown.
    pub cause: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let info = ErrorInfo {
            status: self.status(),
            code: self.code(),
            title: [self.title(Lang::Vi), self.title(Lang::En)],
            detail: [self.detail(Lang::Vi), self.detail(Lang::En)],
            retry_after: match &self {
                AppError::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
                AppError::Unavailable(_) => Some(30),
                _ => None,
            },
            cause: match &self {
                AppError::Internal(e) => Some(format!("{e:#}")),
                AppError::Unavailable(m) => Some(m.clone()),
                _ => None,
            },
        };
        let mut r = info.status.into_response();
        if let AppError::InsufficientScope(scope) = &self {
            let challenge = format!("Bearer realm=\"thanglong\", error=\"insufficient_scope\", scope=\"{scope}\"");
            r.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, HeaderValue::from_str(&challenge).expect("ASCII scope"));
        }
        r.extensions_mut().insert(info);
        r
    }
}

fn valid_request_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Request id, structured log line and metrics for every request.
pub async fn observe(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let rid = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|s| valid_request_id(s))
        .map_or_else(|| new_token("")[..16].to_owned(), str::to_owned);
    let rid_value = HeaderValue::from_str(&rid).expect("checked id");
    req.headers_mut().insert(REQUEST_ID, rid_value.clone());
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
    let method = req.method().clone();
    let span = tracing::info_span!("request", id = %rid, method = %method, path = %req.uri().path());
    let mut resp = next.run(req).instrument(span.clone()).await;
    let elapsed = start.elapsed();
    let status = resp.status().as_u16();
    st.metrics.record(method.as_str(), &route, status, elapsed);
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, ms = elapsed.as_secs_f64() * 1000.0, "request failed");
        } else {
            tracing::info!(status, ms = elapsed.as_secs_f64() * 1000.0, "request");
        }
    });
    resp.headers_mut().insert(REQUEST_ID, rid_value);
    resp
}

/// Strict CSP (no inline script or style, nothing from other origins) and friends.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    // A page may widen `form-action` for its own form (the OIDC consent page's redirect).
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
            ),
        );
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    );
    h.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

fn client_ip(req: &Request, trust_proxy: bool) -> IpAddr {
    if trust_proxy {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|s| s.trim().parse().ok());
        if let Some(ip) = forwarded {
            return ip;
        }
    }
    req.extensions().get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip())
}

/// Endpoints called by programs, not browsers: the JSON and GovStack APIs, OAuth/OIDC's
/// token, userinfo, introspection, revocation and key endpoints, and discovery.
fn is_machine_path(path: &str) -> bool {
    const EXACT: [&str; 5] = ["/oidc/token", "/oidc/userinfo", "/oidc/introspect", "/oidc/revoke", "/oidc/jwks"];
    path.starts_with("/api/") || path.starts_with("/govstack/") || path.starts_with("/.well-known/") || EXACT.contains(&path)
}

/// Builds the [`Visitor`]: language cookie, CSRF cookie (created on first visit), and the
/// server-side session if the session cookie names a live one.
pub async fn visitor(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let lang = read_cookie(headers, "tl_lang").and_then(Lang::parse).unwrap_or_default();
    let existing_csrf =
        read_cookie(headers, "tl_csrf").filter(|c| c.len() == 43 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    // Machine endpoints (bearer tokens, client credentials) have no forms: no CSRF cookie for
    // them (an empty token matches no form).
    let (csrf, new_csrf) = match existing_csrf {
        Some(c) => (c.to_owned(), false),
        None if is_machine_path(req.uri().path()) => (String::new(), false),
        None => (new_token(""), true),
    };
    let session_cookie = read_cookie(headers, "tl_session").map(str::to_owned);
    let request_id = headers.get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let ip = client_ip(&req, st.config.trust_proxy);
    let mut v = Visitor {
        lang,
        csrf,
        account: None,
        roles: vec![],
        session_hash: None,
        session_started: None,
        pending: None,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(200).collect())
            .filter(|s: &String| !s.is_empty()),
        ip,
        request_id,
        path: req.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned(),
    };
    let mut clear_session = false;
    if let Some(sid) = session_cookie {
        match load_session(&st, &sid).await {
            Ok(Some((hash, account, roles, stage, started))) => {
                v.session_hash = Some(hash);
                v.session_started = Some(started);
                if stage == tl_storage::SessionStage::Full {
                    v.account = Some(account);
                    v.roles = roles;
                } else {
                    v.pending = Some((account, stage));
                }
            }
            Ok(None) => clear_session = true,
            Err(e) => return e.into_response(),
        }
    }
    let secure = st.config.secure_cookies;
    let csrf_cookie = new_csrf.then(|| cookie("tl_csrf", &v.csrf, None, secure, "Lax"));
    req.extensions_mut().insert(v.clone());
    let mut resp = next.run(req).await;
    if resp.status().is_client_error() || resp.status().is_server_error() {
        // The error page shows the same header as every page (signed in, their menu).
        resp.extensions_mut().insert(v);
    }
    if let Some(c) = csrf_cookie {
        // A handler that rotated the token (sign-in) has set its own.
        let already = resp.headers().get_all(header::SET_COOKIE).iter().any(|h| h.as_bytes().starts_with(b"tl_csrf="));
        if !already {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    if clear_session {
        resp.headers_mut().append(header::SET_COOKIE, cookie("tl_session", "", Some(0), secure, "Lax"));
    }
    resp
}

/// The session's hash, its account and roles, its stage, and when it began.
type LoadedSession = (String, tl_storage::Account, Vec<tl_core::account::RoleGrant>, tl_storage::SessionStage, chrono::DateTime<Utc>);

async fn load_session(st: &AppState, sid: &str) -> Result<Option<LoadedSession>, AppError> {
    if sid.len() > 128 {
        return Ok(None);
    }
    let hash = sha256_hex(sid);
    let now = Utc::now();
    let mut repo = st.db.read().await?;
    let Some((session, account)) = repo.get_session(&hash, now).await? else { return Ok(None) };
    if session.created_at + st.config.session_max <= now {
        drop(repo);
        let mut w = st.db.begin().await?;
        w.delete_session(&hash).await?;
        w.commit().await?;
        return Ok(None);
    }
    let roles = repo.roles_of(account.id).await?;
    drop(repo);
    // Slide the idle timeout, but write at most every five minutes.
    if now - session.last_seen_at > chrono::Duration::minutes(5) {
        let mut w = st.db.begin().await?;
        w.touch_session(&hash, now, now + st.config.session_idle).await?;
        w.commit().await?;
    }
    Ok(Some((hash, account, roles, session.stage, session.created_at)))
}

/// Turns error responses into an HTML page in the visitor's language, or RFC 9457
/// problem+json under `/api/`. Logs the cause of server errors with the request id.
pub async fn errors(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let api = path.starts_with("/api/") || path.starts_with("/govstack/");
    // Pages follow the language cookie; API clients say what they want in Accept-Language.
    let lang = if api {
        let en = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).is_some_and(|s| s.trim_start().starts_with("en"));
        if en {
            Lang::En
        } else {
            Lang::Vi
        }
    } else {
        read_cookie(req.headers(), "tl_lang").and_then(Lang::parse).unwrap_or_default()
    };
    let request_id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let resp = next.run(req).await;
    let status = resp.status();
    let info = match resp.extensions().get::<ErrorInfo>() {
        Some(i) => i.clone(),
        None if status.is_client_error() || status.is_server_error() => {
            // Responses from extractors and layers (413, 405, 408…) that carry no ErrorInfo.
            let is_html = resp.headers().get(header::CONTENT_TYPE).is_some_and(|c| c.as_bytes().starts_with(b"text/html"));
            let is_problem =
                resp.headers().get(header::CONTENT_TYPE).is_some_and(|c| c.as_bytes().starts_with(b"application/problem+json"));
            // GovStack answers carry their own systemError bodies (with the answer errors).
            let is_govstack_json = path.starts_with("/govstack/")
                && resp.headers().get(header::CONTENT_TYPE).is_some_and(|c| c.as_bytes().starts_with(b"application/json"));
            // OAuth/OIDC errors are the specification's JSON (RFC 6749 §5.2, RFC 6750 §3).
            let is_oidc = path.starts_with("/oidc/") && !is_html;
            if is_html || is_problem || is_govstack_json || is_oidc {
                return resp;
            }
            let e = match status {
                StatusCode::NOT_FOUND => AppError::NotFound,
                StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge,
                StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType,
                StatusCode::METHOD_NOT_ALLOWED => AppError::invalid(
                    "method_not_allowed",
                    "Phương thức HTTP này không được hỗ trợ cho địa chỉ này.",
                    "This HTTP method is not allowed here.",
                ),
                StatusCode::SERVICE_UNAVAILABLE | StatusCode::REQUEST_TIMEOUT => AppError::Unavailable("timeout".into()),
                s if s.is_client_error() => AppError::invalid("bad_request", "Yêu cầu không hợp lệ.", "The request is invalid."),
                _ => AppError::Internal(anyhow::anyhow!("unlabelled {status}")),
            };
            let mut r = e.into_response();
            *r.status_mut() = status;
            match r.extensions_mut().remove::<ErrorInfo>() {
                Some(mut i) => {
                    i.status = status;
                    i
                }
                None => return resp,
            }
        }
        None => return resp,
    };
    if let Some(cause) = &info.cause {
        tracing::error!(request_id = %request_id, status = info.status.as_u16(), cause = %cause, "server error");
    }
    let i = usize::from(lang == Lang::En);
    let mut out = if path.starts_with("/govstack/") {
        // The GovStack specification's `systemError`: message in English, localizedMessage in
        // the caller's language (Vietnamese unless it asked for English).
        let body = serde_json::json!({
            "traceId": request_id,
            "code": info.code,
            "message": info.detail[1],
            "localizedMessage": info.detail[i],
            "status": info.status.as_u16(),
        });
        let mut r = (info.status, body.to_string()).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    } else if api {
        let body = serde_json::json!({
            "type": format!("https://thanglong.gov.vn/problems/{}", info.code),
            "title": info.title[i],
            "status": info.status.as_u16(),
            "detail": info.detail[i],
            "code": info.code,
            "instance": path,
            "request_id": request_id,
        });
        let mut r = (info.status, body.to_string()).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        r
    } else {
        let html = render_error_page(&st, lang, &info, &request_id, i, resp.extensions().get::<crate::web::Visitor>());
        (info.status, Html(html)).into_response()
    };
    if let Some(s) = info.retry_after {
        out.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    // Keep the RFC 6750 challenge of a token without the scope a call needs.
    if let Some(c) = resp.headers().get(header::WWW_AUTHENTICATE) {
        out.headers_mut().insert(header::WWW_AUTHENTICATE, c.clone());
    }
    // Keep cookies set by inner layers (a fresh CSRF token, a cleared session).
    for c in resp.headers().get_all(header::SET_COOKIE) {
        out.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    out
}

fn render_error_page(
    st: &AppState,
    lang: Lang,
    info: &ErrorInfo,
    request_id: &str,
    i: usize,
    visitor: Option<&crate::web::Visitor>,
) -> String {
    let base = visitor.map(|v| v.context()).unwrap_or_default();
    let ctx = minijinja::context! {
        lang => lang.code(),
        status => info.status.as_u16(),
        code => info.code,
        title => info.title[i],
        detail => info.detail[i],
        request_id => request_id,
        show_request_id => info.status.is_server_error(),
        signed_in => visitor.is_some_and(|v| v.account.is_some()),
        path => "/",
        ..base
    };
    st.env
        .get_template("error.html")
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|e| format!("<!doctype html><html lang=\"vi\"><title>Lỗi</title><h1>{}</h1><p>{e}</p></html>", info.title[i]))
}

/// A panic never shows its message: a bilingual page with status 500 (logged by the panic hook).
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    let body = "<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\"><title>Đã có lỗi xảy ra</title>\
        <h1>Đã có lỗi xảy ra</h1><p>Vui lòng thử lại sau.</p><p lang=\"en\">Something went wrong. Please try again later.</p></html>";
    (StatusCode::INTERNAL_SERVER_ERROR, Html(body)).into_response()
}
