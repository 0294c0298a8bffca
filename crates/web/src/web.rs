//! What every page handler needs: who is asking (the visitor), rendering, forms with CSRF
//! checks, redirects.

use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::security::same_secret;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tl_core::account::{Role, RoleGrant};
use tl_storage::Account;

/// Who is making the request: language, CSRF token, and the signed-in account if any.
#[derive(Clone, Debug)]
pub struct Visitor {
    pub lang: Lang,
    pub csrf: String,
    pub account: Option<Account>,
    pub roles: Vec<RoleGrant>,
    pub session_hash: Option<String>,
    /// When the session began — its sign-in, OpenID Connect's `auth_time`.
    pub session_started: Option<chrono::DateTime<chrono::Utc>>,
    /// A sign-in half-way through (password checked, second factor awaited or to be set up):
    /// not signed in for any page but the second-factor ones.
    pub pending: Option<(Account, tl_storage::SessionStage)>,
    /// The browser's User-Agent (shortened), kept with new sessions so their owner can tell them apart.
    pub user_agent: Option<String>,
    pub ip: std::net::IpAddr,
    pub request_id: String,
    pub path: String,
}

impl Visitor {
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|g| g.role == Role::Admin)
    }

    /// Whether the account holds `role` at `agency` or above it in the tree.
    pub fn has_role_at(&self, role: Role, agency: &str) -> bool {
        self.roles.iter().any(|g| (g.role == role || g.role == Role::Admin) && g.covers(agency))
    }

    pub fn require_account(&self) -> AppResult<&Account> {
        self.account.as_ref().ok_or(AppError::Unauthenticated)
    }

    pub fn require_admin(&self) -> AppResult<&Account> {
        let a = self.require_account()?;
        if self.is_admin() {
            Ok(a)
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// May edit the catalog entries of some agency (admin, or catalog editor anywhere).
    pub fn can_edit_catalog(&self) -> bool {
        self.roles.iter().any(|g| matches!(g.role, Role::Admin | Role::CatalogEditor))
    }

    pub fn actor_label(&self) -> String {
        self.account.as_ref().map_or_else(|| "anonymous".into(), |a| a.login.clone())
    }

    pub(crate) fn context(&self) -> minijinja::Value {
        minijinja::context! {
            lang => self.lang.code(),
            csrf => self.csrf,
            path => self.path,
            request_id => self.request_id,
            signed_in => self.account.is_some(),
            account_name => self.account.as_ref().map(|a| a.display_name.clone()),
            account_kind => self.account.as_ref().map(|a| a.kind.as_str()),
            is_admin => self.is_admin(),
            can_edit_catalog => self.can_edit_catalog(),
            is_reception => self.roles.iter().any(|g| g.role == tl_core::account::Role::Reception),
            is_handler => self.roles.iter().any(|g| crate::filing::HANDLING_ROLES.contains(&g.role)),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Visitor>().cloned().ok_or_else(|| AppError::Internal(anyhow::anyhow!("visitor middleware missing")))
    }
}

/// Renders `template` with the visitor's context merged into `ctx`.
pub fn render(state: &AppState, v: &Visitor, template: &str, ctx: minijinja::Value) -> AppResult<Response> {
    render_status(state, v, template, ctx, StatusCode::OK)
}

pub fn render_status(state: &AppState, v: &Visitor, template: &str, ctx: minijinja::Value, status: StatusCode) -> AppResult<Response> {
    let tmpl = state.env.get_template(template).map_err(|e| AppError::Internal(e.into()))?;
    let html = tmpl
        .render(minijinja::context! { ..v.context(), ..ctx })
        .map_err(|e| AppError::Internal(anyhow::anyhow!("rendering {template}: {e:#}")))?;
    Ok((status, Html(html)).into_response())
}

/// Redirect after a successful POST (303, so the browser follows with GET).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A local path safe to redirect to after sign-in (no other host, no scheme tricks).
pub fn safe_next(next: Option<&str>, fallback: &str) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") && !n.contains(['\r', '\n']) => n.to_owned(),
        _ => fallback.into(),
    }
}

/// A urlencoded form whose `csrf` field must match the visitor's CSRF cookie.
pub struct CsrfForm<T>(pub T);

#[derive(serde::Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CsrfForm<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let visitor = req.extensions().get::<Visitor>().cloned();
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        if !ct.starts_with("application/x-www-form-urlencoded") {
            return Err(AppError::UnsupportedMediaType);
        }
        let body = Bytes::from_request(req, state).await.map_err(|_| AppError::TooLarge)?;
        let token: CsrfOnly = serde_urlencoded::from_bytes(&body).unwrap_or(CsrfOnly { csrf: String::new() });
        let expected = visitor.map(|v| v.csrf).unwrap_or_default();
        if expected.is_empty() || !same_secret(&token.csrf, &expected) {
            return Err(AppError::Csrf);
        }
        serde_urlencoded::from_bytes(&body)
            .map(CsrfForm)
            .map_err(|e| AppError::invalid("malformed_form", format!("Biểu mẫu không hợp lệ: {e}"), format!("The form is malformed: {e}")))
    }
}

/// Field-level validation errors for a form, shown in a summary at the top and beside each field.
#[derive(Debug, Default, Serialize)]
pub struct FormErrors {
    pub items: Vec<FormError>,
}

#[derive(Debug, Serialize)]
pub struct FormError {
    pub field: String,
    pub message: String,
}

impl FormErrors {
    pub fn add(&mut self, lang: Lang, field: &str, vi: &str, en: &str) {
        let message = if lang == Lang::En { en } else { vi };
        self.items.push(FormError { field: field.into(), message: message.into() });
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// Messages by field name, for the template.
    pub fn by_field(&self) -> std::collections::BTreeMap<String, String> {
        let mut m = std::collections::BTreeMap::new();
        for e in &self.items {
            m.entry(e.field.clone()).or_insert_with(|| e.message.clone());
        }
        m
    }
}

pub fn cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool, same_site: &str) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
    if let Some(s) = max_age {
        c.push_str(&format!("; Max-Age={s}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie is ASCII")
}

pub fn read_cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}
