//! The OpenID Connect / OAuth 2.0 rules, free of HTTP and storage: given the parameters, the
//! client, the session and the time, they return decisions. Handlers only carry these out.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use tl_storage::OidcClient;

/// Authorization codes live about a minute (RFC 6749 §4.1.2 recommends at most ten).
/// An authorization code's lifetime unless configured (`web.oidc_code_lifetime_secs`).
pub const CODE_TTL: Duration = Duration::seconds(60);
pub const ACCESS_TOKEN_TTL: Duration = Duration::minutes(15);
pub const ID_TOKEN_TTL: Duration = Duration::minutes(15);
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(30);
/// How long a retired signing key stays in the JWKS: every ID token it signed has expired by
/// then, with a margin for app servers that cached the old key a little longer.
pub const KEY_PUBLISH_AFTER_RETIREMENT: Duration = Duration::minutes(15 + 10);

/// A new grant id (the family of a code's tokens; internal, not a secret): the time in
/// milliseconds first, so the tokens' grant index grows at its end instead of at a random page
/// for every token, then randomness against collisions.
pub fn new_grant_id() -> String {
    let ms = chrono::Utc::now().timestamp_millis().max(0);
    format!("{ms:012x}{}", &crate::security::new_token("")[..10])
}

/// A new authorization code, access or refresh token: `prefix`, the issue time (milliseconds,
/// 12 hex digits), a dot, then 32 random bytes (base64url, which has no dot). The secret is the
/// random part; the time is there for the database: see [`secret_key`].
pub fn new_secret(prefix: &str) -> String {
    let ms = chrono::Utc::now().timestamp_millis().max(0);
    crate::security::new_token(&format!("{prefix}{ms:012x}."))
}

/// The key a code or token is stored and looked up under: its issue time, a dot, and the
/// SHA-256 of the whole secret (the database never holds the secret). Keys made in time order
/// go at the end of the tables' key index, so storing a batch of tokens touches a page or two
/// instead of one random page per token (which, on a large table, is also a disk read per
/// token). A secret not in [`new_secret`]'s form (one issued before it, or garbage) is keyed
/// by its hash alone and simply not found.
pub fn secret_key(secret: &str) -> String {
    let hash = crate::security::sha256_hex(secret);
    match secret.split_once('.') {
        Some((head, _)) if head.len() >= 12 && head.is_char_boundary(head.len() - 12) => {
            let time = &head[head.len() - 12..];
            if time.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                return format!("{time}.{hash}");
            }
            hash
        }
        _ => hash,
    }
}

/// Longest value accepted for any parameter (a state, a nonce, a URI): larger is hostile.
pub const MAX_PARAM_LEN: usize = 2048;
pub const MAX_PARAMS: usize = 40;

pub const GRANT_TYPES: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];

/// A scope a person consents to, with what the relying party then receives.
pub struct ScopeInfo {
    pub name: &'static str,
    pub vi: &'static str,
    pub en: &'static str,
    pub claims: &'static [&'static str],
}

/// The scopes about a person. `thanglong:*` are ours: the personal ID number or tax code (the
/// login of citizens and businesses), and an officer's agency and roles.
pub const USER_SCOPES: &[ScopeInfo] = &[
    ScopeInfo {
        name: "openid",
        vi: "Mã định danh riêng của bạn cho ứng dụng này",
        en: "An identifier for you, specific to this application",
        claims: &["sub"],
    },
    ScopeInfo { name: "profile", vi: "Họ và tên", en: "Your full name", claims: &["name"] },
    ScopeInfo { name: "email", vi: "Địa chỉ thư điện tử", en: "Your email address", claims: &["email", "email_verified"] },
    ScopeInfo { name: "phone", vi: "Số điện thoại", en: "Your phone number", claims: &["phone_number", "phone_number_verified"] },
    ScopeInfo {
        name: "thanglong:personal_id",
        vi: "Số định danh cá nhân (công dân) hoặc mã số thuế (doanh nghiệp)",
        en: "Your personal ID number (citizens) or tax code (businesses)",
        claims: &["personal_id", "tax_code", "account_kind"],
    },
    ScopeInfo {
        name: "thanglong:officer",
        vi: "Cơ quan công tác và vai trò của cán bộ",
        en: "Your agency and roles as an officer",
        claims: &["agency", "roles"],
    },
];

/// What a partner system's token may do on the JSON API (`/api/v1`) and the GovStack API.
pub struct ApiScope {
    pub name: &'static str,
    pub vi: &'static str,
    pub en: &'static str,
    /// Whether the scope acts as an account (the client's service account) rather than reading
    /// what anyone may read.
    pub needs_account: bool,
}

pub const API_CATALOG_READ: &str = "api:catalog.read";
pub const API_ACCOUNT_READ: &str = "api:account.read";
pub const API_DOSSIERS: &str = "api:dossiers";
pub const API_PERSONAL_DATA: &str = "api:personal-data.read";
pub const GOVSTACK_APPLICATIONS: &str = "govstack:applications";
pub const GOVSTACK_TASKS: &str = "govstack:tasks";

pub const API_SCOPES: &[ApiScope] = &[
    ApiScope {
        name: API_CATALOG_READ,
        vi: "Đọc danh mục thủ tục, lĩnh vực, cơ quan và đơn vị hành chính (dữ liệu công khai)",
        en: "Read the catalogue of procedures, fields, agencies and administrative units (public data)",
        needs_account: false,
    },
    ApiScope {
        name: API_ACCOUNT_READ,
        vi: "Đọc thông tin tài khoản dịch vụ của ứng dụng (/api/v1/me)",
        en: "Read the application's service account (/api/v1/me)",
        needs_account: true,
    },
    ApiScope {
        name: API_DOSSIERS,
        vi: "Tạo, nộp, đọc và xóa hồ sơ của tài khoản dịch vụ qua API JSON (/api/v1/dossiers)",
        en: "Create, file, read and delete the service account's dossiers through the JSON API (/api/v1/dossiers)",
        needs_account: true,
    },
    ApiScope {
        name: API_PERSONAL_DATA,
        vi: "Đọc dữ liệu cá nhân của người dân theo một thỏa thuận chia sẻ dành cho ứng dụng này, khi họ đồng ý (hoặc trên cơ sở pháp lý ghi trong yêu cầu)",
        en: "Read a person's data under a sharing agreement made for this application, with their consent (or on a legal basis named in the request)",
        needs_account: true,
    },
    ApiScope {
        name: GOVSTACK_APPLICATIONS,
        vi: "Nộp và theo dõi hồ sơ qua GovStack, nhân danh tài khoản dịch vụ hoặc người đã ủy quyền cho tài khoản đó",
        en: "File and follow applications through GovStack, as the service account or someone who authorised it",
        needs_account: true,
    },
    ApiScope {
        name: GOVSTACK_TASKS,
        vi: "Xử lý hồ sơ qua GovStack (phía cơ quan), trong phạm vi vai trò của tài khoản dịch vụ",
        en: "Work on applications through GovStack (agency side), within the service account's roles",
        needs_account: true,
    },
];

pub fn api_scope(name: &str) -> Option<&'static ApiScope> {
    API_SCOPES.iter().find(|s| s.name == name)
}

pub fn scope_info(name: &str) -> Option<&'static ScopeInfo> {
    USER_SCOPES.iter().find(|s| s.name == name)
}

pub fn is_user_scope(name: &str) -> bool {
    scope_info(name).is_some()
}

/// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
fn valid_scope_token(s: &str) -> bool {
    !s.is_empty() && s.len() <= 100 && s.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Parses a space-separated scope into a sorted list without duplicates.
pub fn parse_scope(s: &str) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in s.split(' ').filter(|t| !t.is_empty()) {
        if !valid_scope_token(t) {
            return None;
        }
        out.push(t.to_owned());
    }
    out.sort();
    out.dedup();
    Some(out)
}

pub fn join_scope(scopes: &[String]) -> String {
    scopes.join(" ")
}

/// Whether a remembered consent covers every scope now asked for.
pub fn consent_covers(granted: &str, requested: &[String]) -> bool {
    let granted: Vec<&str> = granted.split(' ').collect();
    requested.iter().all(|r| granted.contains(&r.as_str()))
}

/// Redirect URIs are compared as exact strings (OAuth 2.0 Security BCP, RFC 9700 §2.1): no
/// prefix, no pattern, no normalisation.
pub fn redirect_uri_registered(registered: &[String], given: &str) -> bool {
    registered.iter().any(|r| r == given)
}

/// What a redirect URI must be at registration: absolute, no fragment (RFC 6749 §3.1.2), HTTPS
/// or plain HTTP to the machine itself only (RFC 8252 §7.3).
pub fn check_redirect_uri(s: &str) -> Result<(), &'static str> {
    if s.len() > 500 {
        return Err("too_long");
    }
    let u = url::Url::parse(s).map_err(|_| "not_absolute")?;
    if u.fragment().is_some() {
        return Err("fragment");
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("userinfo");
    }
    match u.scheme() {
        "https" if u.host().is_some() => Ok(()),
        "http" if matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) => Ok(()),
        "http" => Err("http_not_local"),
        _ => Err("scheme"),
    }
}

/// RFC 7636 §4.1: 43–128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
pub fn valid_code_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// An S256 challenge is the base64url of a SHA-256: exactly 43 characters.
pub fn valid_code_challenge(c: &str) -> bool {
    c.len() == 43 && c.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// RFC 7636 §4.6 with S256, compared in constant time.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    if !valid_code_verifier(verifier) {
        return false;
    }
    let computed = B64.encode(Sha256::digest(verifier.as_bytes()));
    crate::security::same_secret(&computed, challenge)
}

/// OIDC Core §8.1: a pairwise subject, HMAC-SHA256 of the client's sector and the account under
/// a server secret, so two sectors cannot correlate a person and the value reveals nothing.
pub fn pairwise_sub(secret: &[u8], sector: &str, account_id: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(sector.as_bytes());
    mac.update(&[0]);
    mac.update(account_id.to_string().as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

/// OIDC Core §3.1.3.6: the left half of the SHA-256 of the access token, base64url.
pub fn at_hash(access_token: &str) -> String {
    let d = Sha256::digest(access_token.as_bytes());
    B64.encode(&d[..16])
}

/// The session id given to relying parties (OIDC Front-/Back-Channel `sid`): derived from the
/// stored session hash so it cannot be turned back into the session cookie.
pub fn sid_for(session_hash: &str) -> String {
    let d = Sha256::digest(format!("thanglong/oidc/sid/{session_hash}").as_bytes());
    B64.encode(&d[..16])
}

/// Request parameters, urlencoded. Repeated parameters are an error (RFC 6749 §3.1, §3.2).
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamError {
    Repeated(String),
    TooLong(String),
    TooMany,
}

impl ParamError {
    pub fn describe(&self) -> String {
        match self {
            Self::Repeated(n) => format!("parameter `{n}` is repeated"),
            Self::TooLong(n) => format!("parameter `{n}` is too long"),
            Self::TooMany => "too many parameters".into(),
        }
    }
}

impl Params {
    pub fn parse(bytes: &[u8]) -> Result<Self, ParamError> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in form_urlencoded::parse(bytes) {
            if out.len() >= MAX_PARAMS {
                return Err(ParamError::TooMany);
            }
            if k.len() > 100 || v.len() > MAX_PARAM_LEN {
                return Err(ParamError::TooLong(k.chars().take(40).collect()));
            }
            // Empty values count as absent (RFC 6749 §3.1).
            if v.is_empty() {
                continue;
            }
            if out.iter().any(|(n, _)| *n == k) {
                return Err(ParamError::Repeated(k.into_owned()));
            }
            out.push((k.into_owned(), v.into_owned()));
        }
        Ok(Self(out))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    pub fn without(&self, names: &[&str]) -> Self {
        Self(self.0.iter().filter(|(k, _)| !names.contains(&k.as_str())).cloned().collect())
    }

    pub fn to_query(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.0 {
            s.append_pair(k, v);
        }
        s.finish()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A checked authorization request (OIDC Core §3.1.2.1).
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
}

/// Why an authorization request fails, and how the user learns of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Shown on our own page and never redirected: the client or the redirect URI cannot be
    /// trusted (RFC 6749 §4.1.2.1).
    Page { code: &'static str, vi: String, en: String },
    /// Sent back to the client's redirect URI with `error`, `error_description` and `state`.
    Redirect { redirect_uri: String, state: Option<String>, error: &'static str, description: String },
}

/// Checks an authorization request against its client. `client` is the registered client named
/// by `client_id`, if there is one (and it is enabled).
pub fn check_authorize(p: &Params, client: Option<&OidcClient>) -> Result<AuthorizeRequest, AuthorizeError> {
    let page = |code, vi: &str, en: &str| AuthorizeError::Page { code, vi: vi.into(), en: en.into() };
    let Some(client_id) = p.get("client_id") else {
        return Err(page("missing_client_id", "Yêu cầu đăng nhập thiếu mã ứng dụng (client_id).", "The sign-in request has no client_id."));
    };
    let Some(client) = client.filter(|c| c.client_id == client_id && c.disabled_at.is_none()) else {
        return Err(page(
            "unknown_client",
            "Ứng dụng yêu cầu đăng nhập không được đăng ký với Cổng dịch vụ công, hoặc đã bị tạm dừng.",
            "The application asking you to sign in is not registered with the portal, or has been suspended.",
        ));
    };
    let Some(redirect_uri) = p.get("redirect_uri") else {
        return Err(page(
            "missing_redirect_uri",
            "Yêu cầu đăng nhập thiếu địa chỉ quay lại (redirect_uri).",
            "The sign-in request has no redirect_uri.",
        ));
    };
    if !redirect_uri_registered(&client.redirect_uris, redirect_uri) {
        return Err(page(
            "redirect_uri_mismatch",
            "Địa chỉ quay lại (redirect_uri) không khớp với địa chỉ đã đăng ký của ứng dụng. Để bảo vệ bạn, chúng tôi không chuyển tiếp.",
            "The redirect_uri does not match the application's registered addresses. To protect you, we do not redirect.",
        ));
    }
    let state = p.get("state").map(str::to_owned);
    let fail = |error, description: &str| {
        Err(AuthorizeError::Redirect {
            redirect_uri: redirect_uri.to_owned(),
            state: state.clone(),
            error,
            description: description.into(),
        })
    };
    if p.get("request").is_some() {
        return fail("request_not_supported", "request objects are not supported");
    }
    if p.get("request_uri").is_some() {
        return fail("request_uri_not_supported", "request_uri is not supported");
    }
    match p.get("response_type") {
        None => return fail("invalid_request", "response_type is required"),
        Some("code") => {}
        Some(_) => return fail("unsupported_response_type", "only response_type=code is supported"),
    }
    if p.get("response_mode").is_some_and(|m| m != "query") {
        return fail("invalid_request", "only response_mode=query is supported");
    }
    if !client.allows_grant("authorization_code") {
        return fail("unauthorized_client", "this client may not use the authorization code flow");
    }
    let Some(scopes) = p.get("scope").and_then(parse_scope) else {
        return fail("invalid_scope", "scope is missing or malformed");
    };
    if !scopes.iter().any(|s| s == "openid") {
        return fail("invalid_scope", "the openid scope is required");
    }
    if let Some(s) = scopes.iter().find(|s| !is_user_scope(s) || !client.scopes.contains(s)) {
        let _ = s;
        return fail("invalid_scope", "a requested scope is unknown or not allowed for this client");
    }
    let code_challenge = p.get("code_challenge").map(str::to_owned);
    match (p.get("code_challenge_method"), &code_challenge) {
        (Some(m), _) if m != "S256" => return fail("invalid_request", "code_challenge_method must be S256 (plain is refused)"),
        (Some(_), None) => return fail("invalid_request", "code_challenge is missing"),
        (None, Some(_)) => return fail("invalid_request", "code_challenge_method=S256 is required with code_challenge"),
        _ => {}
    }
    if let Some(c) = &code_challenge {
        if !valid_code_challenge(c) {
            return fail("invalid_request", "code_challenge is not an S256 challenge");
        }
    } else if !client.is_confidential() {
        // RFC 9700 §2.1.1: public clients must use PKCE.
        return fail("invalid_request", "PKCE (code_challenge with S256) is required for this client");
    }
    let mut prompt = Prompt::default();
    if let Some(pr) = p.get("prompt") {
        for v in pr.split(' ').filter(|v| !v.is_empty()) {
            match v {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => {}
                _ => return fail("invalid_request", "unknown prompt value"),
            }
        }
        // OIDC Core §3.1.2.1: none with any other value is an error.
        if prompt.none && (prompt.login || prompt.consent) {
            return fail("invalid_request", "prompt=none cannot be combined with other values");
        }
    }
    let max_age = match p.get("max_age") {
        None => None,
        Some(m) => match m.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => return fail("invalid_request", "max_age must be a non-negative integer"),
        },
    };
    Ok(AuthorizeRequest {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state,
        nonce: p.get("nonce").map(str::to_owned),
        code_challenge,
        prompt,
        max_age,
    })
}

/// Whether the person must sign in (again) before the request can go on (OIDC Core §3.1.2.1
/// `prompt=login`, `max_age`).
pub fn must_authenticate(req: &AuthorizeRequest, auth_time: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    let Some(at) = auth_time else { return true };
    if req.prompt.login {
        // A sign-in within the last minute satisfies prompt=login: it is the one just asked for.
        return now - at > Duration::seconds(60);
    }
    req.max_age.is_some_and(|m| (now - at).num_seconds() > m)
}

/// The redirect back to the client: `error`/`code`, `state` and `iss` (RFC 9207) as query
/// parameters added to the registered URI.
pub fn client_redirect(redirect_uri: &str, issuer: &str, pairs: &[(&str, &str)], state: Option<&str>) -> String {
    let mut u = url::Url::parse(redirect_uri).expect("registered redirect URIs are absolute");
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", issuer);
    }
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_keyed_in_issue_order_without_being_stored() {
        let a = new_secret("tla_");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_secret("tla_");
        assert!(a.starts_with("tla_") && a.len() == 4 + 12 + 1 + 43, "{a}");
        let (ka, kb) = (secret_key(&a), secret_key(&b));
        assert!(ka < kb, "later secrets sort later: {ka} {kb}");
        assert_ne!(secret_key(&new_secret("tla_")), secret_key(&new_secret("tla_")));
        let random = a.split_once('.').unwrap().1;
        assert!(!ka.contains(random) && ka.ends_with(&crate::security::sha256_hex(&a)), "{ka}");
        assert_eq!(secret_key(&a), ka, "the same secret finds the same row");
        // Codes have no prefix.
        let code = new_secret("");
        assert_eq!(secret_key(&code).split_once('.').unwrap().0, &code[..12]);
        // Older secrets (no time) and garbage: the hash alone; never a panic.
        for odd in ["tla_old-random-token", "tla_.x", "tla_zzzzzzzzzzzz.x", ".", "", "ééééééééééééé.x", "tla_aaaaaaaaaaé.x"] {
            assert_eq!(secret_key(odd), crate::security::sha256_hex(odd), "{odd}");
        }
    }

    fn client(public: bool) -> OidcClient {
        let now = Utc::now();
        OidcClient {
            client_id: "lib".into(),
            name: "Thư viện".into(),
            secret_hash: (!public).then(|| "h".into()),
            redirect_uris: vec!["https://thuvien.example.vn/cb".into()],
            post_logout_redirect_uris: vec![],
            scopes: vec!["openid".into(), "profile".into(), "email".into()],
            grant_types: vec!["authorization_code".into()],
            sector: "lib".into(),
            created_at: now,
            updated_at: now,
            disabled_at: None,
            service_account_id: None,
        }
    }

    fn params(q: &str) -> Params {
        Params::parse(q.as_bytes()).unwrap()
    }

    const CH: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    #[test]
    fn pkce_s256_matches_the_rfc_example_only() {
        // RFC 7636 Appendix B.
        assert!(pkce_matches(VERIFIER, CH));
        assert!(!pkce_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK", CH));
        assert!(!pkce_matches("short", CH));
        assert!(!pkce_matches(&"a".repeat(129), CH));
        assert!(valid_code_challenge(CH) && !valid_code_challenge("abc") && !valid_code_challenge(&format!("{}=", &CH[..42])));
    }

    #[test]
    fn pairwise_subjects_differ_per_sector_and_are_stable() {
        let a = pairwise_sub(b"secret", "library", 7);
        assert_eq!(a, pairwise_sub(b"secret", "library", 7));
        assert_ne!(a, pairwise_sub(b"secret", "hospital", 7));
        assert_ne!(a, pairwise_sub(b"secret", "library", 8));
        assert_ne!(a, pairwise_sub(b"other", "library", 7));
        // No way to split sector and id differently to collide ("lib"+"1"+"7" vs "lib1"+"7").
        assert_ne!(pairwise_sub(b"s", "lib1", 7), pairwise_sub(b"s", "lib", 17));
        assert_eq!(a.len(), 43);
    }

    #[test]
    fn redirect_uris_match_exactly_and_are_checked_at_registration() {
        let reg = vec!["https://a.vn/cb".to_string()];
        assert!(redirect_uri_registered(&reg, "https://a.vn/cb"));
        for bad in ["https://a.vn/cb/", "https://a.vn/cb?x=1", "https://A.vn/cb", "https://a.vn/c", "https://a.vn/cb#", "http://a.vn/cb"] {
            assert!(!redirect_uri_registered(&reg, bad), "{bad}");
        }
        assert!(check_redirect_uri("https://a.vn/cb?x=1").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:9000/cb").is_ok());
        assert_eq!(check_redirect_uri("http://a.vn/cb"), Err("http_not_local"));
        assert_eq!(check_redirect_uri("https://a.vn/cb#x"), Err("fragment"));
        assert_eq!(check_redirect_uri("/cb"), Err("not_absolute"));
        assert_eq!(check_redirect_uri("javascript:alert(1)"), Err("scheme"));
        assert_eq!(check_redirect_uri("https://u:p@a.vn/"), Err("userinfo"));
    }

    #[test]
    fn lifetimes_are_short_for_codes_and_keys_outlive_their_tokens() {
        assert!(CODE_TTL <= Duration::minutes(1));
        let (a, b) = (new_grant_id(), new_grant_id());
        assert!(a.len() == 22 && a != b && a[..8] <= b[..8], "{a} {b}");
        assert!(ACCESS_TOKEN_TTL <= Duration::hours(1) && ID_TOKEN_TTL <= Duration::hours(1));
        assert!(KEY_PUBLISH_AFTER_RETIREMENT > ID_TOKEN_TTL);
        assert!(REFRESH_TOKEN_TTL > ACCESS_TOKEN_TTL);
    }

    #[test]
    fn authorization_requests_are_checked_in_the_specs_order() {
        let c = client(true);
        let ok = format!(
            "client_id=lib&redirect_uri=https%3A%2F%2Fthuvien.example.vn%2Fcb&response_type=code&scope=openid+profile&state=s1&nonce=n&code_challenge={CH}&code_challenge_method=S256"
        );
        let r = check_authorize(&params(&ok), Some(&c)).unwrap();
        assert_eq!(r.scopes, ["openid", "profile"]);
        assert_eq!((r.state.as_deref(), r.nonce.as_deref()), (Some("s1"), Some("n")));
        // Unknown client, missing or wrong redirect URI: our page, never a redirect.
        assert!(matches!(check_authorize(&params(&ok), None), Err(AuthorizeError::Page { code: "unknown_client", .. })));
        let wrong = ok.replace("%2Fcb", "%2Fevil");
        assert!(matches!(check_authorize(&params(&wrong), Some(&c)), Err(AuthorizeError::Page { code: "redirect_uri_mismatch", .. })));
        let mut disabled = c.clone();
        disabled.disabled_at = Some(Utc::now());
        assert!(matches!(check_authorize(&params(&ok), Some(&disabled)), Err(AuthorizeError::Page { .. })));
        // Everything else goes back to the client with the state.
        let err = |q: &str| match check_authorize(&params(q), Some(&c)) {
            Err(AuthorizeError::Redirect { error, state, .. }) => (error, state),
            other => panic!("{q}: {other:?}"),
        };
        assert_eq!(err(&ok.replace("response_type=code", "response_type=token")), ("unsupported_response_type", Some("s1".into())));
        assert_eq!(err(&ok.replace("scope=openid+profile", "scope=profile")).0, "invalid_scope");
        assert_eq!(err(&ok.replace("scope=openid+profile", "scope=openid+thanglong%3Aofficer")).0, "invalid_scope");
        assert_eq!(err(&ok.replace("S256", "plain")).0, "invalid_request");
        assert_eq!(err(&ok.replace(&format!("&code_challenge={CH}&code_challenge_method=S256"), "")).0, "invalid_request");
        assert_eq!(err(&format!("{ok}&prompt=none+login")).0, "invalid_request");
        assert_eq!(err(&format!("{ok}&max_age=-1")).0, "invalid_request");
        assert_eq!(err(&format!("{ok}&request=eyJ")).0, "request_not_supported");
        // A confidential client may go without PKCE.
        let conf = client(false);
        let no_pkce = ok.replace(&format!("&code_challenge={CH}&code_challenge_method=S256"), "");
        assert!(check_authorize(&params(&no_pkce), Some(&conf)).unwrap().code_challenge.is_none());
    }

    #[test]
    fn parameters_are_bounded_and_never_repeated() {
        assert_eq!(Params::parse(b"a=1&a=2").unwrap_err(), ParamError::Repeated("a".into()));
        assert!(matches!(Params::parse(format!("a={}", "x".repeat(3000)).as_bytes()), Err(ParamError::TooLong(_))));
        assert_eq!(Params::parse(b"a=&a=2").unwrap().get("a"), Some("2"));
        let many: Vec<String> = (0..50).map(|i| format!("p{i}=1")).collect();
        assert_eq!(Params::parse(many.join("&").as_bytes()).unwrap_err(), ParamError::TooMany);
    }

    #[test]
    fn prompt_login_and_max_age_ask_for_a_fresh_sign_in() {
        let c = client(false);
        let base = "client_id=lib&redirect_uri=https%3A%2F%2Fthuvien.example.vn%2Fcb&response_type=code&scope=openid";
        let now = Utc::now();
        let req = |extra: &str| check_authorize(&params(&format!("{base}{extra}")), Some(&c)).unwrap();
        assert!(must_authenticate(&req(""), None, now));
        assert!(!must_authenticate(&req(""), Some(now - Duration::days(1)), now));
        assert!(must_authenticate(&req("&max_age=60"), Some(now - Duration::seconds(61)), now));
        assert!(!must_authenticate(&req("&max_age=60"), Some(now - Duration::seconds(30)), now));
        assert!(must_authenticate(&req("&prompt=login"), Some(now - Duration::minutes(5)), now));
        assert!(!must_authenticate(&req("&prompt=login"), Some(now - Duration::seconds(5)), now));
    }

    #[test]
    fn scopes_parse_sorted_and_consent_covers_subsets() {
        assert_eq!(parse_scope("profile openid  openid").unwrap(), ["openid", "profile"]);
        assert!(parse_scope("open\"id").is_none());
        assert!(consent_covers("email openid profile", &["openid".into(), "email".into()]));
        assert!(!consent_covers("openid", &["openid".into(), "email".into()]));
        assert_eq!(at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNnnhsC8qeiuMmnK3pqLq").len(), 22);
    }

    #[test]
    fn redirects_carry_state_and_issuer() {
        let u = client_redirect("https://a.vn/cb?x=1", "https://dvc.vn", &[("code", "c d")], Some("s&1"));
        assert_eq!(u, "https://a.vn/cb?x=1&code=c+d&state=s%261&iss=https%3A%2F%2Fdvc.vn");
    }
}
