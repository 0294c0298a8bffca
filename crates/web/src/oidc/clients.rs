//! Registering relying parties: what the admin page and `thanglong oidc client add` share.
//! Secrets are shown once and stored as SHA-256 (they are 256-bit random, so a fast hash is
//! enough: there is nothing to guess).

use super::protocol::{check_redirect_uri, is_user_scope, parse_scope, GRANT_TYPES};
use crate::security::{new_token, sha256_hex};
use chrono::{DateTime, Utc};
use tl_storage::OidcClient;

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
pub fn build(input: &ClientInput, client_id: Option<&str>, now: DateTime<Utc>) -> Result<(OidcClient, Option<String>), Vec<FieldProblem>> {
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
    if grants.iter().any(|g| g == "client_credentials") && !scopes.iter().any(|s| !is_user_scope(s)) && !code_flow {
        problems.push(problem(
            "scopes",
            "Ứng dụng máy (client_credentials) cần ít nhất một phạm vi API, ví dụ «api:catalog.read».",
            "A machine client (client_credentials) needs at least one API scope, e.g. “api:catalog.read”.",
        ));
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
        let (c, secret) = build(&ok, None, now).unwrap();
        assert_eq!(c.redirect_uris.len(), 1);
        assert_eq!(c.secret_hash, Some(sha256_hex(secret.as_deref().unwrap())));
        assert_eq!(c.sector, c.client_id);
        let public = ClientInput { confidential: false, ..ok.clone() };
        assert!(build(&public, None, now).unwrap().1.is_none());
        let bad = ClientInput {
            redirect_uris: vec!["http://evil.example/cb".into()],
            scopes: "profile".into(),
            grant_types: vec!["client_credentials".into(), "implicit".into()],
            confidential: false,
            name: String::new(),
            ..Default::default()
        };
        let problems: Vec<&str> = build(&bad, None, now).unwrap_err().iter().map(|p| p.field).collect();
        assert_eq!(problems, ["name", "grant_types", "confidential", "redirect_uris", "scopes"]);
    }
}
