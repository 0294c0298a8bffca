//! Accounts in the browser: sign up (citizens by personal ID number, businesses by tax
//! code), sign in, sign out, the account page and personal API tokens.

use crate::error::{AppError, AppResult};
use crate::security::{new_token, sha256_hex, verify_password};
use crate::web::{cookie, render, render_status, safe_next, see_other, CsrfForm, FormErrors, Visitor};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use chrono::{Datelike, Utc};
use serde::Deserialize;
use std::time::Instant;
use tl_core::account::{check_password, AccountKind};
use tl_core::ids::{PersonalId, TaxCode};
use tl_storage::{AuditEntry, NewAccount, NewApiToken, NewSession, SessionStage};

pub const TOKEN_PREFIX: &str = "tl_";

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
    welcome: Option<String>,
}

pub async fn signin_page(State(st): State<AppState>, v: Visitor, Query(q): Query<NextQuery>) -> AppResult<Response> {
    render(&st, &v, "signin.html", minijinja::context! { next => q.next, form => minijinja::context!{} })
}

#[derive(Deserialize)]
pub struct SigninForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// Normalises what people type as a login: trims spaces; personal IDs and tax codes as digits.
pub(crate) fn normalise_login(s: &str) -> String {
    let t = s.trim();
    if t.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-' || c == '.') && t.chars().any(|c| c.is_ascii_digit()) {
        // "001 203 012 345" → "001203012345"; keep the branch dash of a 13-digit tax code.
        let digits: String = t.chars().filter(char::is_ascii_digit).collect();
        if digits.len() == 13 {
            return format!("{}-{}", &digits[..10], &digits[10..]);
        }
        return digits;
    }
    t.to_lowercase()
}

pub async fn signin(State(st): State<AppState>, v: Visitor, CsrfForm(f): CsrfForm<SigninForm>) -> AppResult<Response> {
    let lang = v.lang;
    let login = normalise_login(&f.login);
    let fail = |errors: FormErrors, status: StatusCode| {
        let ctx = minijinja::context! { next => f.next, form => minijinja::context!{ login => f.login }, errors => errors.items, field_errors => errors.by_field() };
        render_status(&st, &v, "signin.html", ctx, status)
    };
    let mut errors = FormErrors::default();
    if login.is_empty() {
        errors.add(
            lang,
            "login",
            "Vui lòng nhập số định danh cá nhân, mã số thuế hoặc tên đăng nhập.",
            "Enter your personal ID number, tax code or user name.",
        );
    }
    if f.password.is_empty() {
        errors.add(lang, "password", "Vui lòng nhập mật khẩu.", "Enter your password.");
    }
    if !errors.is_empty() {
        return fail(errors, StatusCode::BAD_REQUEST);
    }
    if let Err(wait) = st.throttle.hit(v.ip, Instant::now()) {
        return Err(AppError::TooManyRequests { retry_after_secs: wait });
    }
    let now = Utc::now();
    let account = {
        let mut repo = st.db.read().await?;
        repo.find_account_by_login(&login).await?
    };
    if let Some(a) = &account {
        if let Some(until) = a.locked_until.filter(|u| *u > now) {
            let mins = (until - now).num_minutes().max(1);
            errors.add(
                lang,
                "login",
                &format!("Tài khoản tạm thời bị khóa do đăng nhập sai nhiều lần. Vui lòng thử lại sau {mins} phút."),
                &format!("This account is temporarily locked after too many failed sign-ins. Try again in {mins} minute(s)."),
            );
            return fail(errors, StatusCode::TOO_MANY_REQUESTS);
        }
    }
    // Argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let password = f.password.clone();
    let hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let ok =
        tokio::task::spawn_blocking(move || verify_password(&password, hash.as_deref())).await.map_err(|e| AppError::Internal(e.into()))?;
    let Some(account) = account.clone().filter(|_| ok) else {
        if let Some(a) = &account {
            let mut w = st.db.begin().await?;
            let lock = (a.failed_logins + 1 >= st.config.max_failed_logins).then(|| now + st.config.lockout);
            w.record_login_failure(a.id, lock).await?;
            w.append_audit(&audit(
                &v,
                Some(a.id),
                "account.signin_failed",
                "account",
                &a.id.to_string(),
                serde_json::json!({"locked": lock.is_some()}),
            ))
            .await?;
            w.commit().await?;
        }
        errors.add(
            lang,
            "login",
            "Thông tin đăng nhập không đúng. Vui lòng kiểm tra lại.",
            "The sign-in details are not correct. Please check them.",
        );
        return fail(errors, StatusCode::BAD_REQUEST);
    };
    if account.status != tl_storage::AccountStatus::Active {
        errors.add(
            lang,
            "login",
            "Tài khoản này đã bị vô hiệu hóa. Vui lòng liên hệ quản trị viên.",
            "This account has been disabled. Please contact the administrator.",
        );
        return fail(errors, StatusCode::FORBIDDEN);
    }
    // Officers with a second factor (or whose agency requires one) are not signed in yet.
    crate::second_factor::after_password(&st, &v, &account, &safe_next(f.next.as_deref(), "/account")).await
}

/// Creates a fresh session (the old one, if any, is deleted: the id rotates at sign-in), a
/// fresh CSRF token, and redirects to `next`.
pub(crate) async fn start_session(st: &AppState, v: &Visitor, account_id: i64, action: &str, next: &str) -> AppResult<Response> {
    let cookies = open_session(st, v, account_id, SessionStage::Full, "pwd", action).await?;
    let mut resp = see_other(next);
    for c in cookies {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(resp)
}

/// Opens a session at `stage` in place of the visitor's current one and returns the cookies
/// to set (session and a fresh CSRF token). Only a full sign-in resets the failure counter; a
/// half-way one lasts ten minutes.
pub(crate) async fn open_session(
    st: &AppState,
    v: &Visitor,
    account_id: i64,
    stage: SessionStage,
    amr: &str,
    action: &str,
) -> AppResult<[axum::http::HeaderValue; 2]> {
    let now = Utc::now();
    let sid = new_token("");
    let mut w = st.db.begin().await?;
    if let Some(old) = &v.session_hash {
        w.delete_session(old).await?;
    }
    let full = stage == SessionStage::Full;
    w.create_session(&NewSession {
        id_hash: sha256_hex(&sid),
        account_id,
        created_at: now,
        expires_at: now + if full { st.config.session_idle } else { chrono::Duration::minutes(10) },
        ip: Some(v.ip.to_string()),
        user_agent: v.user_agent.clone(),
        stage,
        amr: amr.into(),
    })
    .await?;
    if full {
        w.record_login_success(account_id, now).await?;
    }
    w.append_audit(&audit(
        v,
        Some(account_id),
        action,
        "account",
        &account_id.to_string(),
        serde_json::json!({"stage": stage.as_str(), "amr": amr}),
    ))
    .await?;
    w.commit().await?;
    let secure = st.config.secure_cookies;
    Ok([cookie("tl_session", &sid, None, secure, "Lax"), cookie("tl_csrf", &new_token(""), None, secure, "Lax")])
}

pub fn audit(v: &Visitor, actor: Option<i64>, action: &str, target_type: &str, target_id: &str, detail: serde_json::Value) -> AuditEntry {
    AuditEntry {
        at: Utc::now(),
        actor_id: actor.or(v.account.as_ref().map(|a| a.id)),
        actor_label: v.account.as_ref().map_or_else(|| "anonymous".into(), |a| a.login.clone()),
        action: action.into(),
        target_type: target_type.into(),
        target_id: target_id.into(),
        detail,
        ip: Some(v.ip.to_string()),
        request_id: Some(v.request_id.clone()).filter(|s| !s.is_empty()),
    }
}

pub async fn signout(
    State(st): State<AppState>,
    v: Visitor,
    CsrfForm(_): CsrfForm<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    if let Some(h) = &v.session_hash {
        let mut w = st.db.begin().await?;
        w.delete_session(h).await?;
        w.append_audit(&audit(
            &v,
            None,
            "account.signout",
            "account",
            &v.account.as_ref().map_or(0, |a| a.id).to_string(),
            serde_json::json!({}),
        ))
        .await?;
        w.commit().await?;
    }
    let secure = st.config.secure_cookies;
    let mut resp = see_other("/");
    resp.headers_mut().append(header::SET_COOKIE, cookie("tl_session", "", Some(0), secure, "Lax"));
    resp.headers_mut().append(header::SET_COOKIE, cookie("tl_csrf", &new_token(""), None, secure, "Lax"));
    Ok(resp)
}

pub async fn signup_page(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    render(&st, &v, "signup.html", minijinja::context! { form => minijinja::context!{ kind => "citizen" } })
}

#[derive(Deserialize, serde::Serialize, Default)]
pub struct SignupForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    personal_id: String,
    #[serde(default)]
    tax_code: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default, skip_serializing)]
    password: String,
    #[serde(default, skip_serializing)]
    password2: String,
}

pub use tl_core::contact::{valid_email, valid_phone};

pub async fn signup(State(st): State<AppState>, v: Visitor, CsrfForm(f): CsrfForm<SignupForm>) -> AppResult<Response> {
    let lang = v.lang;
    let mut errors = FormErrors::default();
    let now = Utc::now();
    let kind = match f.kind.as_str() {
        "business" => AccountKind::Business,
        "citizen" => AccountKind::Citizen,
        _ => {
            errors.add(lang, "kind", "Vui lòng chọn loại tài khoản.", "Choose the kind of account.");
            AccountKind::Citizen
        }
    };
    let name = f.full_name.trim();
    let mut login = String::new();
    match kind {
        AccountKind::Citizen => {
            match PersonalId::parse(&normalise_login(&f.personal_id), tl_core::time::local_date(now).year()) {
                Ok(id) => {
                    login = id.as_str().to_owned();
                    match tl_core::fmt::parse_date(&f.birth_date) {
                        Some(d) if d > tl_core::time::local_date(now) => errors.add(
                            lang,
                            "birth_date",
                            "Ngày sinh không được ở tương lai.",
                            "The date of birth cannot be in the future.",
                        ),
                        Some(d) => {
                            if let Err(e) = id.check_against(d, None) {
                                errors.add(lang, "personal_id", e.message("vi"), e.message("en"));
                            }
                        }
                        None => errors.add(
                            lang,
                            "birth_date",
                            "Vui lòng nhập ngày sinh theo dạng ngày/tháng/năm, ví dụ 05/09/1990.",
                            "Enter your date of birth as dd/mm/yyyy, for example 05/09/1990.",
                        ),
                    }
                }
                Err(e) if f.personal_id.trim().is_empty() => {
                    let _ = e;
                    errors.add(
                        lang,
                        "personal_id",
                        "Vui lòng nhập số định danh cá nhân (12 chữ số trên thẻ căn cước).",
                        "Enter your personal ID number (the 12 digits on your ID card).",
                    );
                }
                Err(e) => errors.add(lang, "personal_id", e.message("vi"), e.message("en")),
            }
            if name.is_empty() {
                errors.add(lang, "full_name", "Vui lòng nhập họ và tên.", "Enter your full name.");
            }
        }
        _ => {
            match TaxCode::parse(&normalise_login(&f.tax_code)) {
                Ok(t) => login = t.as_str().to_owned(),
                Err(_) if f.tax_code.trim().is_empty() => {
                    errors.add(lang, "tax_code", "Vui lòng nhập mã số thuế của doanh nghiệp.", "Enter the business's tax code.")
                }
                Err(e) => errors.add(lang, "tax_code", e.message("vi"), e.message("en")),
            }
            if name.is_empty() {
                errors.add(lang, "full_name", "Vui lòng nhập tên doanh nghiệp.", "Enter the business name.");
            }
        }
    }
    if name.chars().count() > 200 {
        errors.add(lang, "full_name", "Tên dài tối đa 200 ký tự.", "The name can be at most 200 characters.");
    }
    let email = f.email.trim();
    if !email.is_empty() && !valid_email(email) {
        errors.add(
            lang,
            "email",
            "Địa chỉ thư điện tử không hợp lệ, ví dụ: ten@example.vn.",
            "The email address is not valid, for example: name@example.vn.",
        );
    }
    let phone = f.phone.trim();
    if !phone.is_empty() && !valid_phone(phone) {
        errors.add(
            lang,
            "phone",
            "Số điện thoại phải gồm 10 chữ số, bắt đầu bằng 0.",
            "The phone number must have 10 digits and start with 0.",
        );
    }
    if let Err(e) = check_password(&f.password, &login) {
        errors.add(lang, "password", e.message("vi"), e.message("en"));
    } else if f.password != f.password2 {
        errors.add(lang, "password2", "Mật khẩu nhập lại không khớp.", "The passwords do not match.");
    }
    if errors.is_empty() {
        let mut repo = st.db.read().await?;
        if repo.find_account_by_login(&login).await?.is_some() {
            let (field, vi, en) = if kind == AccountKind::Citizen {
                (
                    "personal_id",
                    "Số định danh này đã có tài khoản. Vui lòng đăng nhập.",
                    "An account already exists for this ID number. Please sign in.",
                )
            } else {
                (
                    "tax_code",
                    "Mã số thuế này đã có tài khoản. Vui lòng đăng nhập.",
                    "An account already exists for this tax code. Please sign in.",
                )
            };
            errors.add(lang, field, vi, en);
        }
    }
    if !errors.is_empty() {
        let ctx = minijinja::context! { form => &f, errors => errors.items, field_errors => errors.by_field() };
        return render_status(&st, &v, "signup.html", ctx, StatusCode::BAD_REQUEST);
    }
    let hash = crate::security::hash_password_async(&f.password).await?;
    let new = NewAccount {
        kind,
        login: login.clone(),
        display_name: name.to_owned(),
        email: Some(email.to_owned()).filter(|s| !s.is_empty()),
        phone: Some(phone.to_owned()).filter(|s| !s.is_empty()),
        password_hash: Some(hash),
        agency_id: None,
    };
    let mut w = st.db.begin().await?;
    let account = match w.create_account(&new, now).await {
        Ok(a) => a,
        // Two sign-ups for the same ID at once: the second finds it taken.
        Err(tl_storage::StoreError::Conflict(_)) => {
            return Err(AppError::invalid(
                "account_exists",
                "Tài khoản đã tồn tại. Vui lòng đăng nhập.",
                "The account already exists. Please sign in.",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    w.append_audit(&audit(
        &v,
        Some(account.id),
        "account.signup",
        "account",
        &account.id.to_string(),
        serde_json::json!({"kind": kind.as_str()}),
    ))
    .await?;
    w.commit().await?;
    start_session(&st, &v, account.id, "account.signin", "/account?welcome=1").await
}

pub async fn account_page(State(st): State<AppState>, v: Visitor, Query(q): Query<NextQuery>) -> AppResult<Response> {
    let Some(account) = v.account.clone() else {
        return Ok(see_other(&format!("/signin?next={}", urlencode("/account"))));
    };
    account_view(&st, &v, &account, q.welcome.is_some(), None).await
}

async fn account_view(
    st: &AppState,
    v: &Visitor,
    account: &tl_storage::Account,
    welcome: bool,
    new_token: Option<String>,
) -> AppResult<Response> {
    let mut repo = st.db.read().await?;
    let tokens = repo.list_api_tokens(account.id).await?;
    let agency = match account.agency_id {
        Some(id) => repo.get_agency_by_id(id).await?,
        None => None,
    };
    let roles: Vec<_> = v.roles.iter().map(|g| minijinja::context! { role => g.role.label(v.lang.code()), agency => g.agency }).collect();
    let identities: Vec<_> = repo
        .list_federated(account.id)
        .await?
        .into_iter()
        .map(|f| minijinja::context! { provider => st.federation.display_name(&f.provider, v.lang.code()), verified_at => f.verified_at })
        .collect();
    let ctx = minijinja::context! {
        account => account,
        kind_label => account.kind.label(v.lang.code()),
        agency => agency,
        roles => roles,
        identities => identities,
        tokens => tokens,
        welcome => welcome,
        new_token => new_token,
    };
    render(st, v, "account.html", ctx)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    days: String,
}

/// Issues a personal API token; it is shown once, only its hash is kept.
pub async fn create_token(State(st): State<AppState>, v: Visitor, CsrfForm(f): CsrfForm<TokenForm>) -> AppResult<Response> {
    let account = v.require_account()?.clone();
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::invalid(
            "token_name",
            "Vui lòng đặt tên cho mã truy cập (tối đa 100 ký tự).",
            "Give the token a name (at most 100 characters).",
        ));
    }
    let days: i64 = match f.days.trim() {
        "" => 90,
        d => d.parse().ok().filter(|d| (1..=365).contains(d)).ok_or_else(|| {
            AppError::invalid("token_days", "Thời hạn phải từ 1 đến 365 ngày.", "The lifetime must be from 1 to 365 days.")
        })?,
    };
    let (token, id) = issue_token(&st, &v, account.id, name, days).await?;
    let _ = id;
    account_view(&st, &v, &account, false, Some(token)).await
}

pub async fn issue_token(st: &AppState, v: &Visitor, account_id: i64, name: &str, days: i64) -> AppResult<(String, i64)> {
    let now = Utc::now();
    let token = new_token(TOKEN_PREFIX);
    let mut w = st.db.begin().await?;
    let id = w
        .create_api_token(&NewApiToken {
            account_id,
            name: name.into(),
            token_hash: sha256_hex(&token),
            prefix: token[..10].to_owned(),
            created_at: now,
            expires_at: Some(now + chrono::Duration::days(days)),
        })
        .await?;
    w.append_audit(&audit(v, None, "token.create", "api_token", &id.to_string(), serde_json::json!({"name": name, "days": days}))).await?;
    w.commit().await?;
    Ok((token, id))
}

pub async fn revoke_token(
    State(st): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    let account = v.require_account()?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let mut w = st.db.begin().await?;
    if !w.revoke_api_token(account.id, id, Utc::now()).await? {
        return Err(AppError::NotFound);
    }
    w.append_audit(&audit(&v, None, "token.revoke", "api_token", &id.to_string(), serde_json::json!({}))).await?;
    w.commit().await?;
    Ok(see_other("/account"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins() {
        assert_eq!(normalise_login(" 001 203 012 345 "), "001203012345");
        assert_eq!(normalise_login("0100109106001"), "0100109106-001");
        assert_eq!(normalise_login("Admin"), "admin");
    }
}
