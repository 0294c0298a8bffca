//! Officers' second factor (issue #5): TOTP from any authenticator app, with single-use
//! recovery codes; agencies that require it for their officers; and every account's list of
//! its own sessions, each of which its owner can end.
//!
//! Sign-in with a second factor is two steps. The password opens a *half-way* session
//! (`SessionStage::SecondFactor`, ten minutes) that signs nobody in; the code then replaces it
//! with a full one (a new id: the session id rotates at each step). An officer whose agency
//! requires a second factor and who has none gets `SessionStage::Enrol` instead and must set
//! one up before reaching any page.

use crate::auth::{audit, open_session};
use crate::error::{AppError, AppResult};
use crate::security::{new_token, sha256_hex};
use crate::web::{render, render_status, safe_next, see_other, CsrfForm, Visitor};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use std::time::Instant;
use tl_core::totp;
use tl_storage::{Account, SessionStage};

/// Recovery codes issued at a time.
const RECOVERY_CODES: usize = 10;
/// Below this many unused codes the officer is told to make new ones.
const RECOVERY_LOW: i64 = 3;
const ISSUER: &str = "Thăng Long";

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

/// Whether `account` must sign in with a second factor: it holds a role bound by an agency
/// that requires one.
async fn required_for(st: &AppState, account_id: i64) -> AppResult<bool> {
    let mut r = st.db.read().await?;
    let requiring = r.agencies_requiring_second_factor().await?;
    if requiring.is_empty() {
        return Ok(false);
    }
    let grants = r.roles_of(account_id).await?;
    Ok(tl_core::account::second_factor_required(&grants, &requiring))
}

/// What follows a correct password: a full session, or the second-factor step, or enrolment.
pub(crate) async fn after_password(st: &AppState, v: &Visitor, account: &Account, next: &str) -> AppResult<Response> {
    let has_totp = st.db.read().await?.get_totp(account.id).await?.is_some_and(|t| t.confirmed_at.is_some());
    let (stage, to) = if has_totp {
        (SessionStage::SecondFactor, "/signin/second-factor")
    } else if required_for(st, account.id).await? {
        (SessionStage::Enrol, "/signin/enrol")
    } else {
        return crate::auth::start_session(st, v, account.id, "account.signin", next).await;
    };
    let cookies = open_session(st, v, account.id, stage, "pwd", "account.signin_password").await?;
    Ok(with_cookies(see_other(&format!("{to}?next={}", urlencode(next))), cookies))
}

fn with_cookies(mut resp: Response, cookies: [HeaderValue; 2]) -> Response {
    for c in cookies {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The half-way sign-in at `stage`, or a redirect to the sign-in page.
fn pending(v: &Visitor, stage: SessionStage) -> Result<&Account, Response> {
    match &v.pending {
        Some((a, s)) if *s == stage => Ok(a),
        _ => Err(see_other("/signin")),
    }
}

fn seal(st: &AppState, secret: &[u8]) -> Vec<u8> {
    tl_sign::seal_key(secret, &st.signing_kek)
}

/// The secret of a stored TOTP record. A secret sealed under another key (the key-encryption
/// key changed) cannot be opened: the officer has to set the factor up again.
fn open(st: &AppState, sealed: &[u8]) -> AppResult<Vec<u8>> {
    tl_sign::open_key(sealed, &st.signing_kek).map(|k| k.to_vec()).map_err(|_| {
        AppError::invalid(
            "totp_unreadable",
            "Không đọc được khóa xác thực hai lớp đã lưu (khóa mã hóa của hệ thống đã thay đổi). Vui lòng liên hệ quản trị viên để đặt lại.",
            "The stored second-factor key cannot be read (the system's encryption key changed). Ask an administrator to reset it.",
        )
    })
}

/// The QR code of `text` as an inline SVG (no script, no style: fine under our CSP).
fn qr_svg(text: &str, label: &str) -> String {
    use qrcodegen::{QrCode, QrCodeEcc};
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).expect("an otpauth URI fits a QR code");
    let border = 4;
    let size = qr.size() + 2 * border;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    let label = label.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;");
    format!(
        "<svg class=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"220\" height=\"220\" role=\"img\" aria-label=\"{label}\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    )
}

/// The secret in groups of four, for typing into an app by hand.
fn grouped(secret: &[u8]) -> String {
    totp::base32(secret).as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

/// A new unconfirmed secret for `account` (or the unconfirmed one it has), for the set-up page.
async fn setup_secret(st: &AppState, account: &Account) -> AppResult<Vec<u8>> {
    if let Some(t) = st.db.read().await?.get_totp(account.id).await? {
        if t.confirmed_at.is_none() {
            if let Ok(secret) = open(st, &t.secret_sealed) {
                return Ok(secret);
            }
        } else {
            return Err(AppError::invalid(
                "totp_exists",
                "Tài khoản đã có xác thực hai lớp. Hãy gỡ nó trước khi cài đặt lại.",
                "This account already has a second factor. Remove it before setting it up again.",
            ));
        }
    }
    let secret: [u8; totp::SECRET_LEN] = rand::random();
    let mut w = st.db.begin().await?;
    if !w.put_totp(account.id, &seal(st, &secret), Utc::now()).await? {
        return Err(AppError::Conflict("totp".into()));
    }
    w.commit().await?;
    Ok(secret.to_vec())
}

fn setup_context(v: &Visitor, account: &Account, secret: &[u8], action: &str, next: Option<&str>) -> minijinja::Value {
    let uri = totp::otpauth_uri(ISSUER, &account.login, secret);
    let label = if v.lang == crate::i18n::Lang::En {
        "QR code to scan with your authenticator app"
    } else {
        "Mã QR để quét bằng ứng dụng xác thực"
    };
    minijinja::context! {
        qr => minijinja::Value::from_safe_string(qr_svg(&uri, label)),
        secret => grouped(secret),
        login => account.login,
        action => action,
        next => next,
    }
}

/// Checks a typed code — six digits from the app, or a recovery code — for a confirmed factor,
/// and spends it. Ok(amr) on success.
async fn check_code(st: &AppState, account_id: i64, typed: &str) -> AppResult<Result<&'static str, &'static [&'static str; 2]>> {
    const WRONG: [&str; 2] = [
        "Mã không đúng. Vui lòng nhập mã 6 chữ số đang hiện trên ứng dụng xác thực, hoặc một mã khôi phục chưa dùng.",
        "The code is not correct. Enter the 6-digit code your authenticator app shows, or an unused recovery code.",
    ];
    let Some(t) = st.db.read().await?.get_totp(account_id).await?.filter(|t| t.confirmed_at.is_some()) else {
        return Ok(Err(&WRONG));
    };
    if totp::parse_code(typed).is_some() {
        let secret = open(st, &t.secret_sealed)?;
        return Ok(match totp::verify(&secret, typed, Utc::now().timestamp(), t.last_step) {
            Ok(step) => {
                let mut w = st.db.begin().await?;
                // The same code sent twice at once: the second finds the step taken.
                let fresh = w.use_totp_step(account_id, step).await?;
                w.commit().await?;
                if fresh {
                    Ok("otp")
                } else {
                    Err(&REPLAYED)
                }
            }
            Err(totp::TotpError::Replayed) => Err(&REPLAYED),
            Err(_) => Err(&WRONG),
        });
    }
    if let Some(code) = totp::normalise_recovery_code(typed) {
        let mut w = st.db.begin().await?;
        let used = w.use_recovery_code(account_id, &sha256_hex(&code), Utc::now()).await?;
        w.commit().await?;
        return Ok(if used { Ok("mfa") } else { Err(&WRONG) });
    }
    Ok(Err(&WRONG))
}

const REPLAYED: [&str; 2] = [
    "Mã này vừa được dùng. Vui lòng chờ mã tiếp theo trên ứng dụng rồi nhập lại.",
    "That code has just been used. Wait for the next code in your app and enter it.",
];

fn pick(v: &Visitor, m: &[&str; 2]) -> String {
    if v.lang == crate::i18n::Lang::En {
        m[1].to_owned()
    } else {
        m[0].to_owned()
    }
}

/// New recovery codes for the account (the old ones stop working); the codes are returned to
/// be shown once, only their hashes are kept.
async fn new_recovery_codes(w: &mut dyn tl_storage::Repo, account_id: i64) -> AppResult<Vec<String>> {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| totp::recovery_code(rand::random())).collect();
    let hashes: Vec<String> =
        codes.iter().map(|c| sha256_hex(&totp::normalise_recovery_code(c).expect("our own codes read back"))).collect();
    w.replace_recovery_codes(account_id, &hashes, Utc::now()).await?;
    Ok(codes)
}

// --- Sign-in, step two ---------------------------------------------------------------------

pub async fn challenge_page(State(st): State<AppState>, v: Visitor, Query(q): Query<NextQuery>) -> AppResult<Response> {
    let account = match pending(&v, SessionStage::SecondFactor) {
        Ok(a) => a,
        Err(r) => return Ok(r),
    };
    render(&st, &v, "second_factor.html", minijinja::context! { name => account.display_name, next => q.next })
}

pub async fn challenge(State(st): State<AppState>, v: Visitor, CsrfForm(f): CsrfForm<CodeForm>) -> AppResult<Response> {
    let account = match pending(&v, SessionStage::SecondFactor) {
        Ok(a) => a.clone(),
        Err(r) => return Ok(r),
    };
    let fail = |msg: String, status: StatusCode| {
        let errors = vec![minijinja::context! { field => "code", message => msg }];
        render_status(
            &st,
            &v,
            "second_factor.html",
            minijinja::context! { name => account.display_name, next => f.next, errors => errors, field_errors => minijinja::context!{ code => msg } },
            status,
        )
    };
    if let Err(wait) = st.throttle.hit(v.ip, Instant::now()) {
        return Err(AppError::TooManyRequests { retry_after_secs: wait });
    }
    let now = Utc::now();
    let fresh = st.db.read().await?.get_account(account.id).await?.ok_or(AppError::Unauthenticated)?;
    if let Some(until) = fresh.locked_until.filter(|u| *u > now) {
        let mins = (until - now).num_minutes().max(1);
        let (vi, en) = (
            format!("Tài khoản tạm thời bị khóa do nhập sai nhiều lần. Vui lòng thử lại sau {mins} phút."),
            format!("This account is temporarily locked after too many wrong codes. Try again in {mins} minute(s)."),
        );
        let msg = pick(&v, &[vi.as_str(), en.as_str()]);
        return fail(msg, StatusCode::TOO_MANY_REQUESTS);
    }
    if f.code.trim().is_empty() {
        return fail(pick(&v, &["Vui lòng nhập mã xác thực.", "Enter the code."]), StatusCode::BAD_REQUEST);
    }
    if f.code.len() > 64 {
        return fail(pick(&v, &["Mã quá dài.", "The code is too long."]), StatusCode::BAD_REQUEST);
    }
    match check_code(&st, account.id, &f.code).await? {
        Ok(method) => {
            let left = st.db.read().await?.recovery_codes_left(account.id).await?;
            let amr = format!("pwd {method}");
            let cookies = open_session(&st, &v, account.id, SessionStage::Full, &amr, "account.signin").await?;
            let next = safe_next(f.next.as_deref(), "/account");
            let to = if method == "mfa" && left < RECOVERY_LOW { "/account/security?codes_low=1".to_owned() } else { next };
            Ok(with_cookies(see_other(&to), cookies))
        }
        Err(msg) => {
            let mut w = st.db.begin().await?;
            let lock = (fresh.failed_logins + 1 >= st.config.max_failed_logins).then(|| now + st.config.lockout);
            w.record_login_failure(account.id, lock).await?;
            w.append_audit(&audit(
                &v,
                Some(account.id),
                "account.second_factor_failed",
                "account",
                &account.id.to_string(),
                serde_json::json!({"locked": lock.is_some()}),
            ))
            .await?;
            w.commit().await?;
            fail(pick(&v, msg), StatusCode::BAD_REQUEST)
        }
    }
}

// --- Enrolment: during sign-in (required by the agency) or from the security page ----------

pub async fn enrol_page(State(st): State<AppState>, v: Visitor, Query(q): Query<NextQuery>) -> AppResult<Response> {
    let account = match pending(&v, SessionStage::Enrol) {
        Ok(a) => a.clone(),
        Err(r) => return Ok(r),
    };
    let secret = setup_secret(&st, &account).await?;
    let ctx = setup_context(&v, &account, &secret, "/signin/enrol", q.next.as_deref());
    render(&st, &v, "totp_setup.html", minijinja::context! { required => true, ..ctx })
}

pub async fn enrol(State(st): State<AppState>, v: Visitor, CsrfForm(f): CsrfForm<CodeForm>) -> AppResult<Response> {
    let account = match pending(&v, SessionStage::Enrol) {
        Ok(a) => a.clone(),
        Err(r) => return Ok(r),
    };
    if let Err(wait) = st.throttle.hit(v.ip, Instant::now()) {
        return Err(AppError::TooManyRequests { retry_after_secs: wait });
    }
    match confirm(&st, &v, &account, &f.code).await? {
        Ok(codes) => {
            let cookies = open_session(&st, &v, account.id, SessionStage::Full, "pwd otp", "account.signin").await?;
            let next = safe_next(f.next.as_deref(), "/account");
            let resp = render(&st, &v, "recovery_codes.html", minijinja::context! { codes => codes, next => next, fresh_setup => true })?;
            Ok(with_cookies(resp, cookies))
        }
        Err(msg) => {
            let secret = setup_secret(&st, &account).await?;
            let ctx = setup_context(&v, &account, &secret, "/signin/enrol", f.next.as_deref());
            let errors = vec![minijinja::context! { field => "code", message => msg.clone() }];
            render_status(
                &st,
                &v,
                "totp_setup.html",
                minijinja::context! { required => true, errors => errors, field_errors => minijinja::context!{ code => msg }, ..ctx },
                StatusCode::BAD_REQUEST,
            )
        }
    }
}

/// Confirms the unconfirmed secret with a first code; Ok(recovery codes) or Err(message).
async fn confirm(st: &AppState, v: &Visitor, account: &Account, typed: &str) -> AppResult<Result<Vec<String>, String>> {
    let Some(t) = st.db.read().await?.get_totp(account.id).await?.filter(|t| t.confirmed_at.is_none()) else {
        return Ok(Err(pick(v, &["Hãy tải lại trang để lấy mã QR mới.", "Reload the page for a new QR code."])));
    };
    let secret = open(st, &t.secret_sealed)?;
    let step = match totp::verify(&secret, typed, Utc::now().timestamp(), None) {
        Ok(step) => step,
        Err(e) => return Ok(Err(e.message(v.lang.code()).to_owned())),
    };
    let mut w = st.db.begin().await?;
    if !w.confirm_totp(account.id, step, Utc::now()).await? {
        return Err(AppError::Conflict("totp".into()));
    }
    let codes = new_recovery_codes(w.as_mut(), account.id).await?;
    w.append_audit(&audit(v, Some(account.id), "account.totp_enabled", "account", &account.id.to_string(), serde_json::json!({}))).await?;
    w.commit().await?;
    Ok(Ok(codes))
}

// --- The account's security page -----------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct SecurityQuery {
    codes_low: Option<String>,
    done: Option<String>,
}

pub async fn security_page(State(st): State<AppState>, v: Visitor, Query(q): Query<SecurityQuery>) -> AppResult<Response> {
    let Some(account) = v.account.clone() else {
        return Ok(see_other("/signin?next=%2Faccount%2Fsecurity"));
    };
    security_view(&st, &v, &account, q, None, StatusCode::OK).await
}

async fn security_view(
    st: &AppState,
    v: &Visitor,
    account: &Account,
    q: SecurityQuery,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let now = Utc::now();
    let mut r = st.db.read().await?;
    let totp = r.get_totp(account.id).await?.filter(|t| t.confirmed_at.is_some());
    let left = r.recovery_codes_left(account.id).await?;
    let sessions: Vec<_> = r
        .list_sessions(account.id, now)
        .await?
        .into_iter()
        .map(|s| {
            minijinja::context! {
                handle => s.id_hash,
                current => v.session_hash.as_deref() == Some(s.id_hash.as_str()),
                device => describe_agent(s.user_agent.as_deref(), v.lang),
                ip => s.ip,
                created_at => s.created_at,
                last_seen_at => s.last_seen_at,
                two_step => s.amr.split(' ').any(|m| m == "otp" || m == "mfa"),
            }
        })
        .collect();
    drop(r);
    let required = required_for(st, account.id).await?;
    let officer = !v.roles.is_empty();
    let errors: Vec<_> = error.iter().map(|m| minijinja::context! { field => "code", message => m }).collect();
    let ctx = minijinja::context! {
        totp_on => totp.is_some(),
        totp_since => totp.as_ref().and_then(|t| t.confirmed_at),
        codes_left => left,
        codes_low => q.codes_low.is_some() || (totp.is_some() && left < RECOVERY_LOW),
        done => q.done,
        required => required,
        officer => officer,
        sessions => sessions,
        errors => errors,
        field_errors => minijinja::context!{ code => error },
    };
    render_status(st, v, "security.html", ctx, status)
}

/// "Chrome on Android" from a User-Agent header: enough for an owner to tell sessions apart.
fn describe_agent(ua: Option<&str>, lang: crate::i18n::Lang) -> String {
    let en = lang == crate::i18n::Lang::En;
    let Some(ua) = ua else {
        return if en { "Unknown browser".into() } else { "Trình duyệt không rõ".into() };
    };
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("CocCoc") || ua.contains("coc_coc") {
        "Cốc Cốc"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.contains("curl/") || ua.contains("python") || ua.contains("node") {
        if en {
            "A program"
        } else {
            "Chương trình"
        }
    } else if en {
        "A browser"
    } else {
        "Trình duyệt"
    };
    let os = if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("Linux") {
        "Linux"
    } else {
        ""
    };
    match (os.is_empty(), en) {
        (true, _) => browser.to_owned(),
        (false, true) => format!("{browser} on {os}"),
        (false, false) => format!("{browser} trên {os}"),
    }
}

pub async fn setup_page(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    let Some(account) = v.account.clone() else {
        return Ok(see_other("/signin?next=%2Faccount%2Fsecurity%2Ftotp"));
    };
    let secret = setup_secret(&st, &account).await?;
    let ctx = setup_context(&v, &account, &secret, "/account/security/totp", None);
    render(&st, &v, "totp_setup.html", minijinja::context! { required => false, ..ctx })
}

pub async fn setup(State(st): State<AppState>, v: Visitor, CsrfForm(f): CsrfForm<CodeForm>) -> AppResult<Response> {
    let account = v.require_account()?.clone();
    if let Err(wait) = st.throttle.hit(v.ip, Instant::now()) {
        return Err(AppError::TooManyRequests { retry_after_secs: wait });
    }
    match confirm(&st, &v, &account, &f.code).await? {
        Ok(codes) => {
            render(&st, &v, "recovery_codes.html", minijinja::context! { codes => codes, next => "/account/security", fresh_setup => true })
        }
        Err(msg) => {
            let secret = setup_secret(&st, &account).await?;
            let ctx = setup_context(&v, &account, &secret, "/account/security/totp", None);
            let errors = vec![minijinja::context! { field => "code", message => msg.clone() }];
            render_status(
                &st,
                &v,
                "totp_setup.html",
                minijinja::context! { required => false, errors => errors, field_errors => minijinja::context!{ code => msg }, ..ctx },
                StatusCode::BAD_REQUEST,
            )
        }
    }
}

/// Removing the factor or making new recovery codes needs a current code: a session left open
/// on a shared computer is not enough.
async fn with_current_code(st: &AppState, v: &Visitor, account: &Account, typed: &str) -> AppResult<Option<Response>> {
    if let Err(wait) = st.throttle.hit(v.ip, Instant::now()) {
        return Err(AppError::TooManyRequests { retry_after_secs: wait });
    }
    match check_code(st, account.id, typed).await? {
        Ok(_) => Ok(None),
        Err(msg) => {
            let mut w = st.db.begin().await?;
            w.append_audit(&audit(v, None, "account.second_factor_failed", "account", &account.id.to_string(), serde_json::json!({})))
                .await?;
            w.commit().await?;
            Ok(Some(security_view(st, v, account, SecurityQuery::default(), Some(pick(v, msg)), StatusCode::BAD_REQUEST).await?))
        }
    }
}

pub async fn remove(State(st): State<AppState>, v: Visitor, CsrfForm(f): CsrfForm<CodeForm>) -> AppResult<Response> {
    let account = v.require_account()?.clone();
    if required_for(&st, account.id).await? {
        return Err(AppError::invalid(
            "second_factor_required",
            "Cơ quan của bạn yêu cầu xác thực hai lớp: không thể gỡ. Nếu mất điện thoại, hãy dùng mã khôi phục hoặc liên hệ quản trị viên.",
            "Your agency requires a second factor: it cannot be removed. If you lost your phone, use a recovery code or ask an administrator.",
        ));
    }
    if let Some(refused) = with_current_code(&st, &v, &account, &f.code).await? {
        return Ok(refused);
    }
    let mut w = st.db.begin().await?;
    w.delete_totp(account.id).await?;
    w.append_audit(&audit(&v, None, "account.totp_disabled", "account", &account.id.to_string(), serde_json::json!({}))).await?;
    w.commit().await?;
    Ok(see_other("/account/security?done=removed"))
}

pub async fn regenerate(State(st): State<AppState>, v: Visitor, CsrfForm(f): CsrfForm<CodeForm>) -> AppResult<Response> {
    let account = v.require_account()?.clone();
    if let Some(refused) = with_current_code(&st, &v, &account, &f.code).await? {
        return Ok(refused);
    }
    let mut w = st.db.begin().await?;
    let codes = new_recovery_codes(w.as_mut(), account.id).await?;
    w.append_audit(&audit(&v, None, "account.recovery_codes", "account", &account.id.to_string(), serde_json::json!({}))).await?;
    w.commit().await?;
    render(&st, &v, "recovery_codes.html", minijinja::context! { codes => codes, next => "/account/security", fresh_setup => false })
}

// --- Sessions ------------------------------------------------------------------------------

pub async fn end_session(
    State(st): State<AppState>,
    v: Visitor,
    Path(handle): Path<String>,
    CsrfForm(_): CsrfForm<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    let account = v.require_account()?;
    if handle.len() != 64 || !handle.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    let mut w = st.db.begin().await?;
    if !w.delete_session_of(account.id, &handle).await? {
        return Err(AppError::NotFound);
    }
    w.append_audit(&audit(
        &v,
        None,
        "account.session_end",
        "account",
        &account.id.to_string(),
        serde_json::json!({"session": &handle[..12]}),
    ))
    .await?;
    w.commit().await?;
    if v.session_hash.as_deref() == Some(handle.as_str()) {
        // Ending the session in use signs out here.
        let secure = st.config.secure_cookies;
        let mut resp = see_other("/");
        resp.headers_mut().append(header::SET_COOKIE, crate::web::cookie("tl_session", "", Some(0), secure, "Lax"));
        resp.headers_mut().append(header::SET_COOKIE, crate::web::cookie("tl_csrf", &new_token(""), None, secure, "Lax"));
        return Ok(resp);
    }
    Ok(see_other("/account/security?done=session"))
}

pub async fn end_other_sessions(
    State(st): State<AppState>,
    v: Visitor,
    CsrfForm(_): CsrfForm<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    let account = v.require_account()?;
    let keep = v.session_hash.clone().ok_or(AppError::Unauthenticated)?;
    let mut w = st.db.begin().await?;
    let n = w.delete_other_sessions(account.id, &keep).await?;
    w.append_audit(&audit(&v, None, "account.sessions_end_others", "account", &account.id.to_string(), serde_json::json!({"ended": n})))
        .await?;
    w.commit().await?;
    Ok(see_other("/account/security?done=others"))
}

// --- Administration ------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct RequireForm {
    #[serde(default)]
    required: String,
}

/// An administrator requires (or stops requiring) a second factor for an agency's subtree.
/// Turning it on signs out the officers bound by it who have none, so the rule holds at once:
/// they set one up at their next sign-in.
pub async fn require_for_agency(
    State(st): State<AppState>,
    v: Visitor,
    Path(eid): Path<String>,
    CsrfForm(f): CsrfForm<RequireForm>,
) -> AppResult<Response> {
    let me = v.require_admin()?;
    let required = match f.required.as_str() {
        "1" | "on" | "true" => true,
        "" | "0" | "off" | "false" => false,
        _ => return Err(AppError::invalid("bad_value", "Giá trị không hợp lệ.", "Unknown value.")),
    };
    let mut w = st.db.begin().await?;
    let agency = w.get_agency(&eid).await?.ok_or(AppError::NotFound)?;
    w.set_second_factor_required(agency.id, required, Some(me.id), Utc::now()).await?;
    let mut ended = 0;
    if required {
        // The same reach as `second_factor_required`: any grant in the subtree, a
        // dossier-handling grant above it.
        use tl_core::account::{Role, RoleGrant};
        let grant = |eid: &str| RoleGrant { role: Role::Admin, agency: eid.to_owned() };
        let all = w.list_agencies().await?;
        let inside: Vec<i64> = all.iter().filter(|a| grant(&agency.electronic_id).covers(&a.electronic_id)).map(|a| a.id).collect();
        let above: Vec<i64> = all
            .iter()
            .filter(|a| a.electronic_id != agency.electronic_id && grant(&a.electronic_id).covers(&agency.electronic_id))
            .map(|a| a.id)
            .collect();
        ended = w.end_sessions_without_second_factor(&inside, None).await?;
        ended += w.end_sessions_without_second_factor(&above, Some(&[Role::Reception, Role::Specialist, Role::Leader])).await?;
    }
    w.append_audit(&audit(
        &v,
        None,
        "agency.second_factor",
        "agency",
        &agency.electronic_id,
        serde_json::json!({"required": required, "sessions_ended": ended}),
    ))
    .await?;
    w.commit().await?;
    Ok(see_other(&format!("/admin/agencies/{}/edit?saved=1", agency.electronic_id)))
}

/// An officer who lost their phone and their recovery codes: an administrator removes the
/// factor (and ends the officer's sessions); the officer sets a new one up at next sign-in.
pub async fn reset_for_account(
    State(st): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    v.require_admin()?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let mut w = st.db.begin().await?;
    w.get_account(id).await?.ok_or(AppError::NotFound)?;
    let removed = w.delete_totp(id).await?;
    let ended = w.delete_sessions_of(id).await?;
    w.append_audit(&audit(
        &v,
        None,
        "account.second_factor_reset",
        "account",
        &id.to_string(),
        serde_json::json!({"removed": removed, "sessions_ended": ended}),
    ))
    .await?;
    w.commit().await?;
    Ok(see_other(&format!("/admin/accounts/{id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_told_apart_by_browser_and_system() {
        use crate::i18n::Lang;
        let android = "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36";
        assert_eq!(describe_agent(Some(android), Lang::Vi), "Chrome trên Android");
        assert_eq!(describe_agent(Some(android), Lang::En), "Chrome on Android");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_agent(Some(iphone), Lang::Vi), "Safari trên iOS");
        assert_eq!(describe_agent(None, Lang::Vi), "Trình duyệt không rõ");
    }

    #[test]
    fn the_qr_code_is_an_accessible_svg() {
        let svg = qr_svg("otpauth://totp/x:y?secret=AAAA", "Mã QR <x>");
        assert!(svg.starts_with("<svg") && svg.contains("role=\"img\"") && svg.contains("aria-label=\"Mã QR &lt;x>\""));
        assert_eq!(grouped(b"12345678901234567890"), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
    }
}
