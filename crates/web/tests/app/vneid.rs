//! Sign-in with the national identity provider (VNeID): the linking rules on both databases,
//! and the whole relying-party flow against a real OpenID Connect provider — the `oidc-provider`
//! stand-in of the browser tests (tests/browser/tests/lib/vneid-standin.mjs) — through the
//! production code path (discovery, PKCE, state, nonce, ID token signature, userinfo).

use super::{App, Page, SEED};
use axum::http::StatusCode;
use std::collections::HashMap;
use tl_core::account::AccountKind;
use tl_core::catalog_doc::{load, Format, Known};
use tl_core::federation::{person_from_claims, ClaimNames, LinkRefusal};
use tl_storage::testing::fresh_databases;
use tl_storage::NewAccount;
use tl_web::federated::{link_in, IdentityProvider, SecretString, TokenAuth};

const CALLBACK: &str = "http://127.0.0.1:8080/signin/with/vneid/callback";

fn claims(sub: &str, cccd: &str, name: &str) -> serde_json::Map<String, serde_json::Value> {
    serde_json::json!({"sub": sub, "cccd": cccd, "name": name, "phone_number": "+84912000111"}).as_object().unwrap().clone()
}

fn names() -> ClaimNames {
    ClaimNames { personal_id: "cccd".into(), ..ClaimNames::default() }
}

#[tokio::test]
async fn vneid_links_by_subject_then_by_verified_personal_id_or_creates_a_citizen() {
    for (n, db) in fresh_databases().await {
        let now = chrono::Utc::now();
        let mut w = db.begin().await.unwrap();
        // A citizen who signed up with a password, and one made at the counter (no password).
        let signed_up = w
            .create_account(
                &NewAccount {
                    kind: AccountKind::Citizen,
                    login: "001303012345".into(),
                    display_name: "Lê Thị Hoa".into(),
                    email: None,
                    phone: None,
                    password_hash: Some(tl_web::hash_password("Hoa sen nở giữa hồ").unwrap()),
                    agency_id: None,
                },
                now,
            )
            .await
            .unwrap();
        let at_counter = w
            .create_account(
                &NewAccount {
                    kind: AccountKind::Citizen,
                    login: "036088001122".into(),
                    display_name: "Lê Văn Hùng".into(),
                    email: None,
                    phone: None,
                    password_hash: None,
                    agency_id: None,
                },
                now,
            )
            .await
            .unwrap();

        // First sign-in of an existing account: linked by the verified number, not duplicated.
        let hoa = person_from_claims(&claims("sub-hoa", "001303012345", "Lê Thị Hoa"), &names(), 2026).unwrap();
        let r = link_in(w.as_mut(), "vneid", &hoa, serde_json::json!({}), now).await.unwrap();
        assert_eq!(r, Ok((signed_up.id, "account.federated_link")), "{n}");
        // The same subject again: found by (provider, sub).
        let r = link_in(w.as_mut(), "vneid", &hoa, serde_json::json!({}), now).await.unwrap();
        assert_eq!(r, Ok((signed_up.id, "account.federated_signin")), "{n}");
        // The counter's account is claimed the same way.
        let hung = person_from_claims(&claims("sub-hung", "036088001122", "Lê Văn Hùng"), &names(), 2026).unwrap();
        let r = link_in(w.as_mut(), "vneid", &hung, serde_json::json!({}), now).await.unwrap();
        assert_eq!(r, Ok((at_counter.id, "account.federated_link")), "{n}");

        // Nobody yet: a citizen account without a password, with the verified name and phone.
        let mai = person_from_claims(&claims("sub-mai", "079198001234", "Trần Thị Mai"), &names(), 2026).unwrap();
        let (id, action) = link_in(w.as_mut(), "vneid", &mai, serde_json::json!({"name": "Trần Thị Mai"}), now).await.unwrap().unwrap();
        assert_eq!(action, "account.federated_signup", "{n}");
        let a = w.get_account(id).await.unwrap().unwrap();
        assert_eq!((a.kind, a.login.as_str(), a.display_name.as_str()), (AccountKind::Citizen, "079198001234", "Trần Thị Mai"), "{n}");
        assert_eq!((a.password_hash.as_deref(), a.phone.as_deref()), (None, Some("0912000111")), "{n}");
        let r = link_in(w.as_mut(), "vneid", &mai, serde_json::json!({}), now).await.unwrap();
        assert_eq!(r, Ok((id, "account.federated_signin")), "{n}");
        // The account records who verified it and when (the 766 index reads this).
        let links = w.list_federated(id).await.unwrap();
        assert_eq!((links.len(), links[0].provider.as_str(), links[0].subject.as_str()), (1, "vneid", "sub-mai"), "{n}");

        // A disabled account stays closed; an officer's account is never taken over; a subject
        // linked to another number is refused.
        w.set_account_status(at_counter.id, tl_storage::AccountStatus::Disabled, now).await.unwrap();
        assert_eq!(link_in(w.as_mut(), "vneid", &hung, serde_json::json!({}), now).await.unwrap(), Err(LinkRefusal::Disabled), "{n}");
        let officer_like = person_from_claims(&claims("sub-x", "001099000001", "Ai Đó"), &names(), 2026).unwrap();
        w.create_account(
            &NewAccount {
                kind: AccountKind::Officer,
                login: "001099000001".into(),
                display_name: "Cán bộ".into(),
                email: None,
                phone: None,
                password_hash: None,
                agency_id: None,
            },
            now,
        )
        .await
        .unwrap();
        assert_eq!(
            link_in(w.as_mut(), "vneid", &officer_like, serde_json::json!({}), now).await.unwrap(),
            Err(LinkRefusal::NotCitizen),
            "{n}"
        );
        let moved = person_from_claims(&claims("sub-hoa", "079198001234", "Lê Thị Hoa"), &names(), 2026).unwrap();
        assert_eq!(link_in(w.as_mut(), "vneid", &moved, serde_json::json!({}), now).await.unwrap(), Err(LinkRefusal::Mismatch), "{n}");
        // Another provider's subject of the same name is another identity.
        let r = link_in(w.as_mut(), "other-idp", &hoa, serde_json::json!({}), now).await.unwrap();
        assert_eq!(r, Ok((signed_up.id, "account.federated_link")), "{n}");
        // An invalid number never reaches the database.
        assert!(person_from_claims(&claims("sub-bad", "003095001234", "Phạm Văn Sai"), &names(), 2026).is_err(), "{n}");
        w.commit().await.unwrap();
    }
}

/// The stand-in provider (node + oidc-provider from tests/browser), stopped on drop.
struct StandIn {
    issuer: String,
    child: std::process::Child,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// None (skipped with a message) without node or `npm ci` in tests/browser, except in CI.
async fn stand_in() -> Option<StandIn> {
    let browser = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    let script = browser.join("tests/lib/vneid-standin.mjs");
    let required = std::env::var_os("CI").is_some();
    if !browser.join("node_modules/oidc-provider").is_dir() {
        assert!(!required, "CI needs `npm ci` in tests/browser for the VNeID stand-in");
        eprintln!("skipping the VNeID stand-in test: run `npm ci` in tests/browser first");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let child = match std::process::Command::new("node")
        .arg(&script)
        .args(["--port", &port.to_string(), "--redirect-uri", CALLBACK])
        .current_dir(&browser)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            assert!(!required, "CI needs node for the VNeID stand-in: {e}");
            eprintln!("skipping the VNeID stand-in test: node cannot start ({e})");
            return None;
        }
    };
    let s = StandIn { issuer: format!("http://127.0.0.1:{port}"), child };
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(format!("{}/.well-known/openid-configuration", s.issuer)).send().await.is_ok_and(|r| r.status().is_success()) {
            return Some(s);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the VNeID stand-in did not start at {}", s.issuer);
}

fn provider(issuer: &str) -> IdentityProvider {
    IdentityProvider {
        id: "vneid".into(),
        name_vi: "tài khoản định danh điện tử VNeID".into(),
        name_en: "the VNeID electronic identity account".into(),
        issuer: issuer.into(),
        client_id: "thanglong".into(),
        client_secret: Some(SecretString("standin-secret".into())),
        token_auth: TokenAuth::ClientSecretBasic,
        scopes: vec!["openid".into(), "profile".into(), "phone".into(), "email".into()],
        claims: names(),
        userinfo: true,
        enabled: true,
    }
}

async fn apps_with(providers: Vec<IdentityProvider>) -> Vec<App> {
    let mut out = vec![];
    for (name, db) in fresh_databases().await {
        let doc = load(SEED, Format::Yaml, &Known::default()).expect("seed is valid");
        let mut w = db.begin().await.unwrap();
        tl_storage::apply_catalog(w.as_mut(), &doc, None, chrono::Utc::now()).await.unwrap();
        w.commit().await.unwrap();
        let config = tl_web::WebConfig { login_attempts_per_ip: 1000, identity_providers: providers.clone(), ..Default::default() };
        let files_dir = config.files_dir.clone();
        let state = tl_web::state(db.clone(), config);
        let router = tl_web::router(state.clone());
        out.push(App { state, router, db, files_dir, cookies: HashMap::new(), name });
    }
    out
}

/// A person at the provider: follows its redirects with its own cookies, signs in and consents
/// (or declines), and returns our callback URL with the provider's answer.
async fn at_the_provider(authorize: &str, cccd: &str, consent: bool) -> String {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut jar: HashMap<String, String> = HashMap::new();
    let mut url = authorize.to_owned();
    let mut form: Option<Vec<(&str, String)>> = None;
    for _ in 0..20 {
        if url.starts_with(CALLBACK) {
            return url;
        }
        let cookie = jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let req = match form.take() {
            Some(f) => http.post(&url).form(&f),
            None => http.get(&url),
        };
        let resp = req.header("cookie", cookie).send().await.unwrap();
        for c in resp.headers().get_all("set-cookie") {
            let kv = c.to_str().unwrap().split(';').next().unwrap();
            if let Some((k, v)) = kv.split_once('=') {
                jar.insert(k.into(), v.into());
            }
        }
        let base = reqwest::Url::parse(&url).unwrap();
        if let Some(loc) = resp.headers().get("location") {
            url = base.join(loc.to_str().unwrap()).unwrap().to_string();
            continue;
        }
        let page = resp.text().await.unwrap();
        // The stand-in's own pages: its login form, then its consent form.
        let action = |name: &str| {
            let i = page.find(&format!("/{name}\"")).unwrap_or_else(|| panic!("no {name} form in {page}"));
            let start = page[..i].rfind('"').unwrap() + 1;
            base.join(&page[start..i + name.len() + 1]).unwrap().to_string()
        };
        if page.contains("name=\"password\"") {
            url = action("login");
            form = Some(vec![("username", cccd.to_owned()), ("password", "VNeID demo 2026".to_owned())]);
        } else {
            url = action(if consent { "confirm" } else { "abort" });
            form = Some(vec![]);
        }
    }
    panic!("the provider never sent the browser back");
}

/// The path and query of our callback, to send to the in-process app.
fn local(url: &str) -> String {
    url.strip_prefix("http://127.0.0.1:8080").unwrap().to_owned()
}

async fn start(app: &mut App) -> Page {
    start_to(app, "%2Fdossiers").await
}

async fn start_to(app: &mut App, next: &str) -> Page {
    let p = app.get(&format!("/signin/with/vneid?next={next}")).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}: {}", app.name, p.body);
    let loc = p.location();
    // The authorization request carries PKCE S256, a state and a nonce (OIDC Core §3.1.2.1).
    for part in ["code_challenge_method=S256", "code_challenge=", "state=", "nonce=", "client_id=thanglong", "scope=openid"] {
        assert!(loc.contains(part), "{}: {part} missing from {loc}", app.name);
    }
    p
}

#[tokio::test]
async fn vneid_sign_in_against_a_real_openid_provider() {
    let Some(idp) = stand_in().await else { return };
    for mut app in apps_with(vec![provider(&idp.issuer)]).await {
        let n = app.name;
        let signin = app.get("/signin").await;
        assert!(signin.has("Đăng nhập bằng tài khoản định danh điện tử VNeID"), "{n}");
        assert!(app.get("/signup").await.has("Đăng nhập bằng tài khoản định danh điện tử VNeID"), "{n}");

        // First time: an account is created from the verified claims (the ID token carries
        // only `sub` here; the rest comes from userinfo).
        let p = start(&mut app).await;
        let flow_cookie = app.cookies["tl_federated"].clone();
        let back = at_the_provider(p.location(), "079198001234", true).await;
        let done = app.get(&local(&back)).await;
        assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, "/dossiers"), "{n}: {}", done.body);
        let account = app.get("/account").await;
        assert!(account.has("Trần Thị Mai") && account.has("079198001234"), "{n}");
        assert!(account.has("Đã xác thực qua tài khoản định danh điện tử VNeID"), "{n}");
        // The callback again (the back button, or someone who saw the URL): refused, clearly.
        let again = app.get(&local(&back)).await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(again.has("Phiên đăng nhập không hợp lệ hoặc đã hết hạn"), "{n}");
        // Even with a copy of the sign-in cookie: refused here, without asking VNeID again
        // (which would answer that its code was used: another page).
        app.cookies.insert("tl_federated".into(), flow_cookie);
        let replayed = app.get(&local(&back)).await;
        assert_eq!(replayed.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(replayed.has("Phiên đăng nhập không hợp lệ hoặc đã hết hạn"), "{n}: {}", replayed.body);
        assert!(replayed.has("federated_no_flow"), "{n}: the provider was asked again: {}", replayed.body);

        // Second time, another browser: the same account, found by subject.
        let mut other = app.second_browser();
        // (Asked to go to another site afterwards: it goes to the account page instead.)
        let p = start_to(&mut other, "https%3A%2F%2Fevil.example%2F").await;
        let back = at_the_provider(p.location(), "079198001234", true).await;
        let done = other.get(&local(&back)).await;
        assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, "/account"), "{n}");
        let mut r = app.db.read().await.unwrap();
        let accounts =
            r.list_accounts(&tl_storage::AccountFilter { text: Some("Trần Thị Mai".into()), ..Default::default() }).await.unwrap();
        assert_eq!(accounts.len(), 1, "{n}: one account, not two");
        drop(r);

        // A tampered state: refused, nobody signed in.
        let mut third = app.second_browser();
        let p = start(&mut third).await;
        let back = at_the_provider(p.location(), "036088001122", true).await;
        let tampered = back.replacen("state=", "state=x", 1);
        let refused = third.get(&local(&tampered)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(!third.cookies.contains_key("tl_session"), "{n}");

        // A response naming another issuer (RFC 9207 mix-up): refused before the code is used.
        let p = start(&mut third).await;
        let back = at_the_provider(p.location(), "036088001122", true).await;
        assert!(back.contains("iss=http"), "{n}: the stand-in names its issuer: {back}");
        let mixed = third.get(&local(&back.replacen("iss=http", "iss=https", 1))).await;
        assert_eq!(mixed.status, StatusCode::BAD_GATEWAY, "{n}");
        assert!(!third.cookies.contains_key("tl_session"), "{n}");

        // Declined at the provider: a clear page, not an error.
        let p = start(&mut third).await;
        let back = at_the_provider(p.location(), "036088001122", false).await;
        let cancelled = third.get(&local(&back)).await;
        assert_eq!(cancelled.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(cancelled.has("Bạn đã hủy đăng nhập"), "{n}");

        // A personal ID number that fails our checks: refused with the reason, no account.
        let p = start(&mut third).await;
        let back = at_the_provider(p.location(), "003095001234", true).await;
        let bad = third.get(&local(&back)).await;
        assert_eq!(bad.status, StatusCode::FORBIDDEN, "{n}");
        assert!(bad.has("Ba chữ số đầu của số định danh cá nhân không phải mã tỉnh hợp lệ"), "{n}: {}", bad.body);
        let mut r = app.db.read().await.unwrap();
        assert!(r.find_account_by_login("003095001234").await.unwrap().is_none(), "{n}");
        // Every outcome is in the audit log.
        let audit = r.list_audit(None, None, 200).await.unwrap();
        let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
        for a in ["account.federated_signup", "account.federated_signin", "account.signin_federated", "account.federated_failed"] {
            assert!(actions.contains(&a), "{n}: {a} not in {actions:?}");
        }
        let failures: Vec<String> = audit
            .iter()
            .filter(|a| a.action == "account.federated_failed")
            .map(|a| a.detail["code"].as_str().unwrap_or("").to_owned())
            .collect();
        for code in [
            "federated_no_flow",
            "federated_state_mismatch",
            "federated_bad_answer",
            "federated_cancelled",
            "federated_personal_id_invalid",
        ] {
            assert!(failures.iter().any(|c| c == code), "{n}: {code} not in {failures:?}");
        }
    }
}

#[tokio::test]
async fn vneid_unreachable_is_a_502_and_unknown_providers_404() {
    // Nothing listens on this port: discovery fails.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    for mut app in apps_with(vec![provider(&format!("http://127.0.0.1:{port}"))]).await {
        let n = app.name;
        let p = app.get("/signin/with/vneid").await;
        assert_eq!(p.status, StatusCode::BAD_GATEWAY, "{n}");
        assert!(p.has("Chưa kết nối được với hệ thống định danh"), "{n}");
        assert_eq!(app.get("/signin/with/nope").await.status, StatusCode::NOT_FOUND, "{n}");
        assert_eq!(app.get("/signin/with/nope/callback?code=x&state=y").await.status, StatusCode::NOT_FOUND, "{n}");
        // Without the sign-in cookie, a callback is refused whatever it carries.
        let p = app.get("/signin/with/vneid/callback?code=x&state=y").await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(p.has("Phiên đăng nhập không hợp lệ hoặc đã hết hạn"), "{n}");
        // A malformed answer is the same clear page, not an extractor error.
        let p = app.get("/signin/with/vneid/callback?state=a&state=b&code=%FF").await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(p.has("Phiên đăng nhập không hợp lệ hoặc đã hết hạn"), "{n}");
    }
    // No provider configured: no button.
    for mut app in apps_with(vec![]).await {
        assert!(!app.get("/signin").await.has("VNeID"), "{}", app.name);
    }
}
