//! Registering relying parties: what the admin page and `thanglong oidc client add` share.
//! Secrets are shown once and stored as SHA-256 (they are 256-bit random, so a fast hash is
//! enough: there is nothing to guess).

use super::protocol::{api_scope, check_redirect_uri, is_user_scope, parse_scope, API_SCOPES, GRANT_TYPES};
use crate::security::{new_token, sha256_hex};
use chrono::{DateTime, Utc};
use tl_core::account::AccountKind;
use tl_storage::{Account, AccountStatus, OidcClient};

/// What an administrator fills in.
#[derive(Debug, Clone, Default)]
pub struct ClientInput {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: String,
    pub grant_types: Vec<String>,
    pub confidential: bool,
    /// Clients of one organisation may share a sector, and so a person's `sub`.
    pub sector: Option<String>,
    /// The login (tax code, officer login) of the account a machine client acts as.
    pub service_account: String,
}

/// A problem with one field, in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub vi: String,
    pub en: String,
}

fn problem(field: &'static str, vi: impl Into<String>, en: impl Into<String>) -> FieldProblem {
    FieldProblem { field, vi: vi.into(), en: en.into() }
}

fn uri_problem(field: &'static str, uri: &str, why: &str) -> FieldProblem {
    let (vi, en) = match why {
        "fragment" => ("không được có phần #", "must not have a # fragment"),
        "http_not_local" => {
            ("phải dùng https (http chỉ cho máy cục bộ 127.0.0.1/localhost)", "must use https (http only for 127.0.0.1/localhost)")
        }
        "userinfo" => ("không được chứa tên người dùng hay mật khẩu", "must not contain a user name or password"),
        "too_long" => ("quá dài", "is too long"),
        _ => ("không phải địa chỉ tuyệt đối http(s) hợp lệ", "is not a valid absolute http(s) address"),
    };
    problem(field, format!("Địa chỉ «{uri}» {vi}."), format!("The address “{uri}” {en}."))
}

/// Checks the input and builds the client; the secret (confidential clients) is returned once.
/// `service_account` is the account `input.service_account` names, looked up by the caller.
pub fn build(
    input: &ClientInput,
    client_id: Option<&str>,
    service_account: Option<&Account>,
    now: DateTime<Utc>,
) -> Result<(OidcClient, Option<String>), Vec<FieldProblem>> {
    let mut problems = vec![];
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        problems.push(problem(
            "name",
            "Vui lòng nhập tên ứng dụng (tối đa 200 ký tự).",
            "Enter the application's name (at most 200 characters).",
        ));
    }
    let grants: Vec<String> = input.grant_types.iter().map(|g| g.trim().to_owned()).filter(|g| !g.is_empty()).collect();
    if grants.is_empty() {
        problems.push(problem("grant_types", "Vui lòng chọn ít nhất một kiểu cấp quyền.", "Choose at least one grant type."));
    }
    for g in &grants {
        if !GRANT_TYPES.contains(&g.as_str()) {
            problems.push(problem(
                "grant_types",
                format!("Kiểu cấp quyền «{g}» không được hỗ trợ."),
                format!("The grant type “{g}” is not supported."),
            ));
        }
    }
    if grants.iter().any(|g| g == "client_credentials") && !input.confidential {
        problems.push(problem(
            "confidential",
            "Kiểu client_credentials chỉ dành cho ứng dụng bảo mật (có khóa bí mật).",
            "client_credentials is only for confidential clients (with a secret).",
        ));
    }
    let code_flow = grants.iter().any(|g| g == "authorization_code");
    let redirect_uris: Vec<String> = input.redirect_uris.iter().map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()).collect();
    if code_flow && redirect_uris.is_empty() {
        problems.push(problem("redirect_uris", "Vui lòng nhập ít nhất một địa chỉ quay lại.", "Enter at least one redirect URI."));
    }
    for u in &redirect_uris {
        if let Err(why) = check_redirect_uri(u) {
            problems.push(uri_problem("redirect_uris", u, why));
        }
    }
    let logout_uris: Vec<String> = input.post_logout_redirect_uris.iter().map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()).collect();
    for u in &logout_uris {
        if let Err(why) = check_redirect_uri(u) {
            problems.push(uri_problem("post_logout_redirect_uris", u, why));
        }
    }
    let scopes = match parse_scope(&input.scopes.replace(['\n', '\r', ','], " ")) {
        Some(s) => s,
        None => {
            problems.push(problem("scopes", "Phạm vi chứa ký tự không hợp lệ.", "The scopes contain invalid characters."));
            vec![]
        }
    };
    if code_flow && !scopes.iter().any(|s| s == "openid") {
        problems.push(problem(
            "scopes",
            "Ứng dụng đăng nhập người dùng cần phạm vi «openid».",
            "Applications that sign people in need the “openid” scope.",
        ));
    }
    let machine = grants.iter().any(|g| g == "client_credentials");
    if machine && !scopes.iter().any(|s| !is_user_scope(s)) && !code_flow {
        problems.push(problem(
            "scopes",
            "Ứng dụng máy (client_credentials) cần ít nhất một phạm vi API, ví dụ «api:catalog.read».",
            "A machine client (client_credentials) needs at least one API scope, e.g. “api:catalog.read”.",
        ));
    }
    let known: Vec<&str> = API_SCOPES.iter().map(|s| s.name).collect();
    for s in scopes.iter().filter(|s| !is_user_scope(s)) {
        match api_scope(s) {
            None => problems.push(problem(
                "api_scopes",
                format!("Phạm vi «{s}» không tồn tại; các phạm vi API: {}.", known.join(", ")),
                format!("There is no scope “{s}”; the API scopes are: {}.", known.join(", ")),
            )),
            Some(_) if !machine => problems.push(problem(
                "api_scopes",
                format!("Phạm vi API «{s}» chỉ dành cho ứng dụng máy (kiểu cấp quyền client_credentials)."),
                format!("The API scope “{s}” is only for machine clients (the client_credentials grant)."),
            )),
            Some(_) => {}
        }
    }
    let typed = input.service_account.trim();
    let service_account_id = match (typed.is_empty(), service_account) {
        (true, _) => None,
        (false, None) => {
            problems.push(problem(
                "service_account",
                format!("Không tìm thấy tài khoản «{typed}»."),
                format!("There is no account “{typed}”."),
            ));
            None
        }
        (false, Some(a)) if a.kind == AccountKind::Citizen => {
            problems.push(problem(
                "service_account",
                "Tài khoản dịch vụ phải là tài khoản tổ chức, doanh nghiệp hoặc cán bộ, không phải tài khoản cá nhân của công dân.",
                "The service account must be an organisation's, a business's or an officer's account, not a citizen's own.",
            ));
            None
        }
        (false, Some(a)) if a.status != AccountStatus::Active => {
            problems.push(problem(
                "service_account",
                format!("Tài khoản «{typed}» đang bị khóa."),
                format!("The account “{typed}” is disabled."),
            ));
            None
        }
        (false, Some(a)) => Some(a.id),
    };
    if service_account_id.is_some() && !machine {
        problems.push(problem(
            "service_account",
            "Chỉ ứng dụng máy (client_credentials) mới hoạt động nhân danh một tài khoản dịch vụ.",
            "Only machine clients (client_credentials) act as a service account.",
        ));
    }
    if typed.is_empty() && machine {
        if let Some(s) = scopes.iter().filter_map(|s| api_scope(s)).find(|s| s.needs_account) {
            problems.push(problem(
                "service_account",
                format!("Phạm vi «{}» cần một tài khoản dịch vụ để ứng dụng hoạt động nhân danh.", s.name),
                format!("The scope “{}” needs a service account for the application to act as.", s.name),
            ));
        }
    }
    let sector = input.sector.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    if sector.as_ref().is_some_and(|s| s.len() > 200) {
        problems.push(problem("sector", "Mã nhóm định danh quá dài.", "The sector identifier is too long."));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let client_id = client_id.map_or_else(|| new_token("")[..22].to_owned(), str::to_owned);
    let secret = input.confidential.then(|| new_token("tls_"));
    Ok((
        OidcClient {
            sector: sector.unwrap_or_else(|| client_id.clone()),
            client_id,
            name: name.to_owned(),
            secret_hash: secret.as_deref().map(sha256_hex),
            service_account_id,
            redirect_uris,
            post_logout_redirect_uris: logout_uris,
            scopes,
            grant_types: grants,
            created_at: now,
            updated_at: now,
            disabled_at: None,
        },
        secret,
    ))
}

/// A fresh secret for an existing confidential client.
pub fn new_secret() -> (String, String) {
    let s = new_token("tls_");
    let h = sha256_hex(&s);
    (s, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_checked_before_they_are_registered() {
        let now = Utc::now();
        let ok = ClientInput {
            name: "Thư viện Hà Nội".into(),
            redirect_uris: vec!["https://thuvien.example.vn/cb".into(), " ".into()],
            scopes: "openid profile".into(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            confidential: true,
            ..Default::default()
        };
        let (c, secret) = build(&ok, None, None, now).unwrap();
        assert_eq!(c.redirect_uris.len(), 1);
        assert_eq!(c.secret_hash, Some(sha256_hex(secret.as_deref().unwrap())));
        assert_eq!(c.sector, c.client_id);
        let public = ClientInput { confidential: false, ..ok.clone() };
        assert!(build(&public, None, None, now).unwrap().1.is_none());
        let bad = ClientInput {
            redirect_uris: vec!["http://evil.example/cb".into()],
            scopes: "profile".into(),
            grant_types: vec!["client_credentials".into(), "implicit".into()],
            confidential: false,
            name: String::new(),
            ..Default::default()
        };
        let problems: Vec<&str> = build(&bad, None, None, now).unwrap_err().iter().map(|p| p.field).collect();
        assert_eq!(problems, ["name", "grant_types", "confidential", "redirect_uris", "scopes"]);
    }

    fn account(kind: AccountKind, status: AccountStatus) -> Account {
        Account {
            id: 7,
            kind,
            login: "0101234567".into(),
            display_name: "Bưu điện Hà Nội".into(),
            email: None,
            phone: None,
            password_hash: None,
            agency_id: None,
            status,
            failed_logins: 0,
            locked_until: None,
            created_at: Utc::now(),
            last_login_at: None,
        }
    }

    #[test]
    fn machine_clients_act_as_an_organisation_or_officer_account_within_known_api_scopes() {
        let now = Utc::now();
        let partner = ClientInput {
            name: "Bưu điện Hà Nội".into(),
            scopes: "govstack:applications api:catalog.read".into(),
            grant_types: vec!["client_credentials".into()],
            confidential: true,
            service_account: "0101234567".into(),
            ..Default::default()
        };
        let business = account(AccountKind::Business, AccountStatus::Active);
        let (c, _) = build(&partner, None, Some(&business), now).unwrap();
        assert_eq!(c.service_account_id, Some(7));
        assert_eq!(c.scopes, ["api:catalog.read", "govstack:applications"]);
        let fields = |input: &ClientInput, a: Option<&Account>| -> Vec<&'static str> {
            build(input, None, a, now).err().unwrap_or_default().iter().map(|p| p.field).collect()
        };
        // An unknown name, a citizen's own account, a disabled one: refused.
        assert_eq!(fields(&partner, None), ["service_account"]);
        assert_eq!(fields(&partner, Some(&account(AccountKind::Citizen, AccountStatus::Active))), ["service_account"]);
        assert_eq!(fields(&partner, Some(&account(AccountKind::Business, AccountStatus::Disabled))), ["service_account"]);
        // Scopes acting as someone need the account; reading the catalogue does not.
        let anonymous = ClientInput { service_account: String::new(), ..partner.clone() };
        assert_eq!(fields(&anonymous, None), ["service_account"]);
        let reader = ClientInput { scopes: "api:catalog.read".into(), ..anonymous.clone() };
        assert!(build(&reader, None, None, now).unwrap().0.service_account_id.is_none());
        // Made-up scopes, and API scopes on a client that signs people in, are refused.
        let made_up = ClientInput { scopes: "api:meetings".into(), ..reader.clone() };
        assert_eq!(fields(&made_up, None), ["api_scopes"]);
        let web = ClientInput {
            scopes: "openid govstack:tasks".into(),
            redirect_uris: vec!["https://thuvien.example.vn/cb".into()],
            grant_types: vec!["authorization_code".into()],
            service_account: String::new(),
            ..partner.clone()
        };
        assert_eq!(fields(&web, None), ["api_scopes"]);
    }
}
