//! Typed configuration: a TOML file, then environment variables, then flags; validated at start.

use crate::Common;
use anyhow::{bail, Context};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    log_format: Option<LogFormat>,
    #[serde(default)]
    web: WebFile,
    /// An S3-compatible object store for uploaded files instead of the data directory.
    files: Option<FilesFile>,
    /// Where citizens reach the platform (QR codes and mails link there), e.g. https://dichvucong.hanoi.gov.vn
    public_url: Option<String>,
    #[serde(default)]
    signing: SigningFile,
    /// The SMTP server notification mails go through (kept in the outbox without one).
    smtp: Option<tl_mail::SmtpConfig>,
    /// Upstream OpenID Connect providers citizens may sign in with (the national VNeID).
    #[serde(default)]
    identity_providers: Vec<ProviderFile>,
}

/// One `[[identity_providers]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderFile {
    id: String,
    #[serde(default = "yes")]
    enabled: bool,
    /// Completes "Đăng nhập bằng …".
    name_vi: String,
    name_en: Option<String>,
    issuer: String,
    client_id: String,
    /// The environment variable holding the client secret (never the secret itself here).
    client_secret_env: Option<String>,
    #[serde(default)]
    token_endpoint_auth: tl_web::federated::TokenAuth,
    #[serde(default = "default_scopes")]
    scopes: Vec<String>,
    #[serde(default = "yes")]
    userinfo: bool,
    #[serde(default)]
    claims: tl_core::federation::ClaimNames,
}

fn yes() -> bool {
    true
}

fn default_scopes() -> Vec<String> {
    ["openid", "profile", "phone", "email"].map(String::from).to_vec()
}

/// Checks one provider; the client secret is read from the environment through `env`.
fn identity_provider(p: ProviderFile, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<tl_web::federated::IdentityProvider> {
    let id = p.id.trim().to_owned();
    if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        bail!("identity_providers: id `{id}` must be 1–32 lowercase letters, digits or dashes (it appears in URLs)");
    }
    let ctx = |what: &str| format!("identity_providers `{id}`: {what}");
    let url = p.issuer.trim().trim_end_matches('/').to_owned();
    let host = url.split("://").nth(1).unwrap_or("").split(['/', ':']).next().unwrap_or("");
    // OpenID Connect Discovery §3 wants https; plain http only for a stand-in on this machine.
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    if !(url.starts_with("https://") || (url.starts_with("http://") && loopback)) || host.is_empty() {
        bail!("{} (got `{url}`)", ctx("issuer must be an https:// URL (http:// only on 127.0.0.1 or localhost)"));
    }
    if p.client_id.trim().is_empty() {
        bail!("{}", ctx("client_id is empty"));
    }
    let client_secret = match &p.client_secret_env {
        None => None,
        Some(var) => Some(tl_web::federated::SecretString(
            env(var).with_context(|| ctx(&format!("the client secret is read from the environment variable {var}, which is not set")))?,
        )),
    };
    if !p.scopes.iter().any(|s| s == "openid") {
        bail!("{}", ctx("scopes must include \"openid\""));
    }
    if p.scopes.iter().any(|s| s.is_empty() || s.contains(char::is_whitespace)) {
        bail!("{}", ctx("scopes must be single words"));
    }
    if p.claims.personal_id.trim().is_empty() || p.claims.name.trim().is_empty() {
        bail!("{}", ctx("claims.personal_id and claims.name must name a claim"));
    }
    if p.name_vi.trim().is_empty() {
        bail!("{}", ctx("name_vi is empty"));
    }
    Ok(tl_web::federated::IdentityProvider {
        name_en: p.name_en.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| p.name_vi.clone()),
        id,
        name_vi: p.name_vi,
        issuer: url,
        client_id: p.client_id.trim().to_owned(),
        client_secret,
        token_auth: p.token_endpoint_auth,
        scopes: p.scopes,
        claims: p.claims,
        userinfo: p.userinfo,
        enabled: p.enabled,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SigningFile {
    /// 64 hex digits sealing the signing keys at rest; better given as THANGLONG_SIGNING_KEK.
    key_encryption_key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilesFile {
    s3_endpoint: Option<String>,
    s3_bucket: String,
    #[serde(default)]
    s3_region: Option<String>,
    s3_access_key_id: Option<String>,
    /// Better given as THANGLONG_S3_SECRET_ACCESS_KEY than written in the file.
    s3_secret_access_key: Option<String>,
    #[serde(default)]
    s3_allow_http: bool,
    #[serde(default)]
    s3_prefix: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebFile {
    secure_cookies: Option<bool>,
    trust_proxy: Option<bool>,
    session_idle_minutes: Option<i64>,
    session_max_hours: Option<i64>,
    max_body_kib: Option<usize>,
    request_timeout_secs: Option<u64>,
    max_failed_logins: Option<i64>,
    lockout_minutes: Option<i64>,
    login_attempts_per_ip: Option<usize>,
    oidc_requests_per_minute: Option<usize>,
    oidc_code_lifetime_secs: Option<i64>,
    max_file_mib: Option<usize>,
    max_dossier_mib: Option<usize>,
    upload_retention_days: Option<i64>,
    /// How often the access log's writer commits (a crash loses at most this interval's reads).
    access_log_flush_ms: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub web: tl_web::WebConfig,
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn range<T: PartialOrd + std::fmt::Display + Copy>(name: &str, v: T, lo: T, hi: T) -> anyhow::Result<T> {
    if v < lo || v > hi {
        bail!("configuration `{name}` = {v} is out of range ({lo}–{hi})");
    }
    Ok(v)
}

impl Config {
    pub fn load(common: &Common, listen: Option<&str>) -> anyhow::Result<Self> {
        let file: FileConfig = match &common.config {
            Some(p) => {
                let text = std::fs::read_to_string(p).with_context(|| format!("cannot read the configuration {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("invalid configuration {}", p.display()))?
            }
            None => FileConfig::default(),
        };
        let data_dir = common.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("data"));
        let database_url = common
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("thanglong.db").display()));
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            bail!("the database URL must start with sqlite:// or postgres:// (got `{}`)", redact(&database_url));
        }
        let listen = listen.map(str::to_owned).or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".into());
        if listen.parse::<std::net::SocketAddr>().is_err() && !listen.contains(':') {
            bail!("--listen must be an address like 127.0.0.1:8080 (got `{listen}`)");
        }
        let w = file.web;
        let mut web = tl_web::WebConfig::default();
        if let Some(v) = w.secure_cookies {
            web.secure_cookies = v;
        }
        if let Some(v) = w.trust_proxy {
            web.trust_proxy = v;
        }
        if let Some(v) = w.session_idle_minutes {
            web.session_idle = chrono::Duration::minutes(range("web.session_idle_minutes", v, 5, 24 * 60)?);
        }
        if let Some(v) = w.session_max_hours {
            web.session_max = chrono::Duration::hours(range("web.session_max_hours", v, 1, 24 * 30)?);
        }
        if let Some(v) = w.max_body_kib {
            web.max_body_bytes = range("web.max_body_kib", v, 16, 64 * 1024)? * 1024;
        }
        if let Some(v) = w.request_timeout_secs {
            web.request_timeout = Duration::from_secs(range("web.request_timeout_secs", v, 1, 600)?);
        }
        if let Some(v) = w.max_failed_logins {
            web.max_failed_logins = range("web.max_failed_logins", v, 1, 100)?;
        }
        if let Some(v) = w.lockout_minutes {
            web.lockout = chrono::Duration::minutes(range("web.lockout_minutes", v, 1, 24 * 60)?);
        }
        if let Some(v) = w.max_file_mib {
            web.max_file_bytes = range("web.max_file_mib", v, 1, 1024)? << 20;
        }
        if let Some(v) = w.max_dossier_mib {
            web.max_dossier_bytes = range("web.max_dossier_mib", v, 1, 10 * 1024)? << 20;
        }
        if let Some(v) = w.upload_retention_days {
            web.upload_retention = chrono::Duration::days(range("web.upload_retention_days", v, 1, 3650)?);
        }
        if let Some(v) = w.access_log_flush_ms {
            web.access_flush = Duration::from_millis(range("web.access_log_flush_ms", v, 1, 10_000)?);
        }
        if let Some(v) = w.oidc_requests_per_minute {
            web.oidc_requests_per_minute = range("web.oidc_requests_per_minute", v, 1, 1_000_000)?;
        }
        if let Some(v) = w.oidc_code_lifetime_secs {
            web.oidc_code_lifetime = chrono::Duration::seconds(range("web.oidc_code_lifetime_secs", v, 10, 600)?);
        }
        if let Some(v) = w.login_attempts_per_ip {
            web.login_attempts_per_ip = range("web.login_attempts_per_ip", v, 1, 100_000)?;
        }
        web.files_dir = data_dir.join("files");
        if let Some(f) = file.files {
            let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
            let secret = env("THANGLONG_S3_SECRET_ACCESS_KEY")
                .or(f.s3_secret_access_key)
                .context("files.s3_bucket is set: give the secret key in THANGLONG_S3_SECRET_ACCESS_KEY (or files.s3_secret_access_key)")?;
            let key_id = env("THANGLONG_S3_ACCESS_KEY_ID")
                .or(f.s3_access_key_id)
                .context("files.s3_bucket is set: give the access key ID in files.s3_access_key_id or THANGLONG_S3_ACCESS_KEY_ID")?;
            if f.s3_bucket.is_empty() || f.s3_bucket.len() > 63 {
                bail!("files.s3_bucket must be a bucket name (1–63 characters)");
            }
            if let Some(e) = &f.s3_endpoint {
                if !(e.starts_with("https://") || (f.s3_allow_http && e.starts_with("http://"))) {
                    bail!("files.s3_endpoint must be an https:// URL (http:// only with files.s3_allow_http = true)");
                }
            }
            web.s3 = Some(tl_storage::blob::S3Config {
                endpoint: f.s3_endpoint,
                bucket: f.s3_bucket,
                region: f.s3_region.unwrap_or_else(|| "us-east-1".into()),
                access_key_id: key_id,
                secret_access_key: secret,
                allow_http: f.s3_allow_http,
                prefix: f.s3_prefix,
            });
        }
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let public_url = env("THANGLONG_PUBLIC_URL").or(file.public_url).unwrap_or_else(|| format!("http://{listen}"));
        if !(public_url.starts_with("https://") || public_url.starts_with("http://")) || public_url.len() > 200 {
            bail!("public_url must be an http(s):// URL (got `{public_url}`)");
        }
        web.public_url = public_url.trim_end_matches('/').to_owned();
        if let Some(k) = env("THANGLONG_SIGNING_KEK").or(file.signing.key_encryption_key) {
            let bytes = hex::decode(k.trim()).ok().and_then(|b| <[u8; 32]>::try_from(b).ok());
            web.signing_kek = Some(tl_web::SecretKey(bytes.context("the signing key-encryption key must be 64 hex digits (32 bytes)")?));
        }
        if let Some(mut smtp) = file.smtp {
            if let Some(p) = env("THANGLONG_SMTP_PASSWORD") {
                smtp.password = Some(p);
            }
            tl_mail::Mailer::new(&smtp).map_err(|e| anyhow::anyhow!("smtp: {e}"))?;
            web.smtp = Some(smtp);
        }
        for p in file.identity_providers {
            let p = identity_provider(p, &env)?;
            if web.identity_providers.iter().any(|q| q.id == p.id) {
                bail!("identity_providers: the id `{}` is used twice", p.id);
            }
            web.identity_providers.push(p);
        }
        Ok(Self { listen, database_url, data_dir, log_format: common.log_format.or(file.log_format).unwrap_or_default(), web })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(toml_text: &str, env: &[(&str, &str)]) -> anyhow::Result<tl_web::federated::IdentityProvider> {
        let f: FileConfig = toml::from_str(toml_text)?;
        let p = f.identity_providers.into_iter().next().expect("one provider");
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        identity_provider(p, &|k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn identity_providers_are_validated_and_secrets_come_from_the_environment() {
        let vneid = r#"
            [[identity_providers]]
            id = "vneid"
            name_vi = "tài khoản định danh điện tử VNeID"
            name_en = "your VNeID electronic identity account"
            issuer = "https://sso.example.gov.vn/"
            client_id = "thanglong"
            client_secret_env = "THANGLONG_VNEID_CLIENT_SECRET"
            scopes = ["openid", "profile", "phone"]
            [identity_providers.claims]
            personal_id = "cccd"
        "#;
        let p = provider(vneid, &[("THANGLONG_VNEID_CLIENT_SECRET", "s3cret-value")]).unwrap();
        assert_eq!((p.id.as_str(), p.issuer.as_str(), p.claims.personal_id.as_str()), ("vneid", "https://sso.example.gov.vn", "cccd"));
        assert_eq!(p.claims.birth_date, "birthdate", "unnamed claims keep the standard names");
        assert!(p.enabled && p.userinfo);
        assert!(!format!("{p:?}").contains("s3cret-value"), "the secret never prints");
        let err = provider(vneid, &[]).unwrap_err().to_string();
        assert!(err.contains("THANGLONG_VNEID_CLIENT_SECRET") && err.contains("not set"), "{err}");
        for (bad, says) in [
            (vneid.replace("https://sso.example.gov.vn/", "http://sso.example.gov.vn"), "https://"),
            (vneid.replace(r#"id = "vneid""#, r#"id = "VNeID!""#), "lowercase"),
            (vneid.replace(r#"["openid", "profile", "phone"]"#, r#"["profile"]"#), "openid"),
            (vneid.replace(r#"personal_id = "cccd""#, r#"personal_id = """#), "personal_id"),
        ] {
            let err = provider(&bad, &[("THANGLONG_VNEID_CLIENT_SECRET", "x")]).unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
        }
        // A stand-in on this machine may speak plain HTTP.
        let local = vneid.replace("https://sso.example.gov.vn/", "http://127.0.0.1:4000");
        assert!(provider(&local, &[("THANGLONG_VNEID_CLIENT_SECRET", "x")]).is_ok());
        // Unknown keys are refused, so a typo does not silently disable something.
        assert!(provider(&format!("{vneid}\nclaim_typo = 1"), &[]).is_err());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
