//! The platform as an OpenID Connect provider, in-process on SQLite and PostgreSQL: what a
//! relying party and the person signing in would notice, and every hostile request refused with
//! the specification's error (never a 500).

use super::*;
use base64::Engine;
use sha2::Digest;

const ISS: &str = "http://127.0.0.1:8080";
const CB: &str = "https://thuvien.example.vn/cb";
const BYE: &str = "https://thuvien.example.vn/bye";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const CITIZEN: &str = "001303012345";
const PASSWORD: &str = "Hoa sen nở giữa hồ";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn query_of(location: &str) -> HashMap<String, String> {
    let q = location.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

fn input_value(p: &Page, id: &str) -> String {
    let marker = format!("id=\"{id}\" readonly value=\"");
    let start = p.body.find(&marker).unwrap_or_else(|| panic!("no {id} in {}", p.body)) + marker.len();
    p.body[start..start + p.body[start..].find('"').unwrap()].to_owned()
}

struct Client {
    id: String,
    secret: Option<String>,
}

impl App {
    async fn add_citizen(&self, login: &str) -> i64 {
        let mut w = self.db.begin().await.unwrap();
        let a = w
            .create_account(
                &tl_storage::NewAccount {
                    kind: tl_core::account::AccountKind::Citizen,
                    login: login.into(),
                    display_name: "Lê Thị Hoa".into(),
                    email: Some("hoa@example.vn".into()),
                    phone: None,
                    password_hash: Some(tl_web::hash_password(PASSWORD).unwrap()),
                    agency_id: None,
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        w.commit().await.unwrap();
        a.id
    }

    /// Registers a client through the admin page, as an administrator would.
    async fn register(&mut self, fields: &[(&str, &str)]) -> Client {
        let p = self.post("/admin/oidc/clients", fields).await;
        assert_eq!(p.status, StatusCode::OK, "{}: {}", self.name, p.body);
        let secret = p.body.contains("id=\"client-secret\"").then(|| input_value(&p, "client-secret"));
        Client { id: input_value(&p, "client-id"), secret }
    }

    async fn token(&mut self, basic: Option<(&str, &str)>, fields: &[(&str, &str)]) -> Page {
        let mut b = Request::post("/oidc/token").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some((id, secret)) = basic {
            b = b.header(header::AUTHORIZATION, format!("Basic {}", b64(&format!("{id}:{secret}"))));
        }
        self.send(b.body(Body::from(serde_urlencoded::to_string(fields).unwrap())).unwrap()).await
    }

    async fn back_channel(&mut self, path: &str, basic: (&str, &str), fields: &[(&str, &str)]) -> Page {
        let req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::AUTHORIZATION, format!("Basic {}", b64(&format!("{}:{}", basic.0, basic.1))))
            .body(Body::from(serde_urlencoded::to_string(fields).unwrap()))
            .unwrap();
        self.send(req).await
    }

    async fn userinfo(&mut self, token: &str) -> Page {
        self.api("/oidc/userinfo", Some(token)).await
    }

    /// Asks for a code (the person already consented): the redirect back to the client.
    async fn code(&mut self, client: &str, extra: &str) -> HashMap<String, String> {
        let p = self.get(&authorize_url(client, extra)).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}: {}", self.name, p.body);
        assert!(p.location().starts_with(CB), "{}: {}", self.name, p.location());
        query_of(p.location())
    }
}

impl App {
    /// How long until userinfo refuses the token (a change made elsewhere reaches this server's
    /// cache within its poll); fails after three seconds.
    async fn unauthorized_soon(&mut self, token: &str) -> std::time::Duration {
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(3) {
            if self.userinfo(token).await.status == StatusCode::UNAUTHORIZED {
                return start.elapsed();
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{}: the token still works", self.name);
    }

    /// Signs the citizen in and gives the library consent (openid, profile, email).
    async fn consent_to(&mut self, client: &str) {
        let p = self.get(&authorize_url(client, "")).await;
        let next = query_of(p.location())["next"].clone();
        let p = self.post("/signin", &[("login", CITIZEN), ("password", PASSWORD), ("next", &next)]).await;
        assert_eq!(p.location(), next, "{}", self.name);
        let params: Vec<(String, String)> = query_of(&next).into_iter().collect();
        let mut fields: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        fields.push(("decision", "allow"));
        let p = self.post("/oidc/consent", &fields).await;
        assert!(p.location().starts_with(CB), "{}: {}", self.name, p.location());
    }
}

fn authorize_url(client: &str, extra: &str) -> String {
    format!(
        "/oidc/authorize?response_type=code&client_id={client}&redirect_uri={}&scope=openid+profile+email&state=st-1&nonce=n-1&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
    )
}

async fn jwks_keys(app: &mut App) -> Vec<(String, p256::ecdsa::VerifyingKey)> {
    let jwks = app.get("/oidc/jwks").await.json();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kid"].as_str().unwrap().to_owned(), tl_web::oidc::jwt::verifying_key_from_jwk(k).unwrap()))
        .collect()
}

async fn admin_with_clients(app: &mut App) -> (Client, Client, Client) {
    app.add_officer("quantri", "Quản trị hệ thống 2026", "H26", &[tl_core::account::Role::Admin]).await;
    assert_eq!(app.sign_in("quantri", "Quản trị hệ thống 2026").await.status, StatusCode::SEE_OTHER);
    let page = app.get("/admin/oidc/clients/new").await;
    assert!(page.has("Đăng ký ứng dụng mới") && page.has("Địa chỉ quay lại"), "{}", app.name);
    // A bad registration is refused field by field and saves nothing.
    let bad = app
        .post(
            "/admin/oidc/clients",
            &[("name", ""), ("redirect_uris", "http://thuvien.example.vn/cb"), ("scope", "profile"), ("grant_type", "authorization_code")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", app.name);
    assert!(bad.has("Vui lòng nhập tên ứng dụng") && bad.has("phải dùng https"), "{}", app.name);
    let lib = app
        .register(&[
            ("name", "Thư viện Hà Nội"),
            ("client_type", "confidential"),
            ("redirect_uris", CB),
            ("post_logout_redirect_uris", BYE),
            ("scope", "openid"),
            ("scope", "profile"),
            ("scope", "email"),
            ("grant_type", "authorization_code"),
            ("grant_type", "refresh_token"),
        ])
        .await;
    assert!(lib.secret.as_deref().is_some_and(|s| s.starts_with("tls_")), "{}", app.name);
    let spa = app
        .register(&[
            ("name", "Đặt lịch khám bệnh"),
            ("client_type", "public"),
            ("redirect_uris", CB),
            ("scope", "openid"),
            ("scope", "profile"),
            ("scope", "email"),
            ("grant_type", "authorization_code"),
        ])
        .await;
    assert!(spa.secret.is_none());
    let machine = app
        .register(&[
            ("name", "Hệ thống họp"),
            ("client_type", "confidential"),
            ("scope", "api:catalog.read"),
            ("grant_type", "client_credentials"),
        ])
        .await;
    let list = app.get("/admin/oidc/clients").await;
    assert!(list.has("Thư viện Hà Nội") && list.has("Đặt lịch khám bệnh") && list.has("Hệ thống họp"), "{}", app.name);
    // The secret is stored hashed, never in clear, and the registration is audited.
    let mut r = app.db.read().await.unwrap();
    let stored = r.get_oidc_client(&lib.id).await.unwrap().unwrap();
    assert_eq!(stored.secret_hash.as_deref(), Some(tl_web::sha256_hex(lib.secret.as_deref().unwrap()).as_str()));
    let audit = r.list_audit(Some("oidc_client"), Some(&lib.id), 10).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "oidc.client_created"), "{}", app.name);
    drop(r);
    app.post("/signout", &[]).await;
    app.cookies.clear();
    (lib, spa, machine)
}

#[tokio::test]
async fn a_relying_party_signs_a_citizen_in_with_pkce_consent_refresh_userinfo_and_logout() {
    for mut app in apps().await {
        let n = app.name;
        let (lib, spa, machine) = admin_with_clients(&mut app).await;
        let secret = lib.secret.clone().unwrap();
        let basic = (lib.id.as_str(), secret.as_str());
        let account = app.add_citizen(CITIZEN).await;

        // Discovery and keys.
        let d = app.get("/.well-known/openid-configuration").await.json();
        assert_eq!(d["issuer"], ISS, "{n}");
        assert_eq!(d["token_endpoint"], format!("{ISS}/oidc/token"));
        assert_eq!(d["code_challenge_methods_supported"], serde_json::json!(["S256"]));
        assert_eq!(d["subject_types_supported"], serde_json::json!(["pairwise"]));
        let keys = jwks_keys(&mut app).await;
        assert_eq!(keys.len(), 1, "{n}");

        // Not signed in: to the sign-in page, which comes back to the request.
        let p = app.get(&authorize_url(&lib.id, "")).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}");
        assert!(p.location().starts_with("/signin?next=%2Foidc%2Fauthorize"), "{n}: {}", p.location());
        let next = query_of(p.location())["next"].clone();
        let p = app.post("/signin", &[("login", CITIZEN), ("password", PASSWORD), ("next", &next)]).await;
        assert_eq!(p.location(), next, "{n}");

        // The consent screen, in Vietnamese, says who asks and what they get.
        let consent = app.get(&next).await;
        assert_eq!(consent.status, StatusCode::OK, "{n}: {}", consent.body);
        assert!(consent.has("Cho phép ứng dụng truy cập thông tin") && consent.has("Thư viện Hà Nội"), "{n}");
        assert!(consent.has("Họ và tên") && consent.has("Địa chỉ thư điện tử") && consent.has("Đồng ý") && consent.has("Từ chối"), "{n}");
        let csp = consent.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("form-action 'self' https://thuvien.example.vn"), "{n}: {csp}");
        let params: Vec<(String, String)> = query_of(&next).into_iter().collect();
        let mut fields: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        // Refusing goes back with access_denied.
        fields.push(("decision", "deny"));
        let p = app.post("/oidc/consent", &fields).await;
        let q = query_of(p.location());
        assert_eq!((q["error"].as_str(), q["state"].as_str(), q["iss"].as_str()), ("access_denied", "st-1", ISS), "{n}");
        fields.pop();
        fields.push(("decision", "allow"));
        // Hidden fields are input too: a tampered redirect URI is refused on our page.
        let mut tampered = fields.clone();
        tampered.retain(|(k, _)| *k != "redirect_uri");
        tampered.push(("redirect_uri", "https://evil.example/cb"));
        let p = app.post("/oidc/consent", &tampered).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(p.location().is_empty());
        let p = app.post("/oidc/consent", &fields).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        let q = query_of(p.location());
        assert!(p.location().starts_with(CB) && q["state"] == "st-1" && q["iss"] == ISS, "{n}: {}", p.location());
        let code = q["code"].clone();

        // A wrong PKCE verifier is refused, and burns the code.
        let wrong = app
            .token(
                Some(basic),
                &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", &"a".repeat(43))],
            )
            .await;
        assert_eq!((wrong.status, wrong.json()["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{n}");
        let again = app
            .token(Some(basic), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", VERIFIER)])
            .await;
        assert_eq!(again.json()["error"], "invalid_grant", "{n}");

        // Consent is remembered: the next request comes straight back with a code.
        let q = app.code(&lib.id, "").await;
        // A redirect_uri other than the request's is refused.
        let p = app
            .token(
                Some(basic),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &q["code"]),
                    ("redirect_uri", "https://thuvien.example.vn/cb2"),
                    ("code_verifier", VERIFIER),
                ],
            )
            .await;
        assert_eq!(p.json()["error"], "invalid_grant", "{n}");

        let q = app.code(&lib.id, "").await;
        let code = q["code"].clone();
        let ok = app
            .token(Some(basic), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", VERIFIER)])
            .await;
        assert_eq!(ok.status, StatusCode::OK, "{n}: {}", ok.body);
        assert_eq!(ok.headers[header::CACHE_CONTROL], "no-store");
        let t = ok.json();
        let access = t["access_token"].as_str().unwrap().to_owned();
        let refresh = t["refresh_token"].as_str().unwrap().to_owned();
        assert_eq!((t["token_type"].as_str(), t["scope"].as_str()), (Some("Bearer"), Some("email openid profile")), "{n}");
        // The ID token: ES256 with our key, and the claims OIDC Core §2 asks for.
        let claims = tl_web::oidc::jwt::verify(t["id_token"].as_str().unwrap(), &keys).unwrap();
        assert_eq!(
            (claims["iss"].as_str(), claims["aud"].as_str(), claims["nonce"].as_str()),
            (Some(ISS), Some(lib.id.as_str()), Some("n-1"))
        );
        let at_hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&sha2::Sha256::digest(access.as_bytes())[..16]);
        assert_eq!(claims["at_hash"], at_hash, "{n}");
        let now = chrono::Utc::now().timestamp();
        assert!(
            claims["exp"].as_i64().unwrap() > now && claims["iat"].as_i64().unwrap() <= now && claims["auth_time"].as_i64().unwrap() <= now
        );
        assert!(claims["sid"].is_string());
        let sub = claims["sub"].as_str().unwrap().to_owned();
        assert!(!sub.contains(CITIZEN) && sub != account.to_string(), "{n}: the subject reveals nothing");

        // UserInfo gives what was consented to, with the same subject.
        let u = app.userinfo(&access).await;
        assert_eq!(u.status, StatusCode::OK, "{n}: {}", u.body);
        let u = u.json();
        assert_eq!(
            (u["sub"].as_str(), u["name"].as_str(), u["email"].as_str()),
            (Some(sub.as_str()), Some("Lê Thị Hoa"), Some("hoa@example.vn"))
        );
        assert!(u.get("personal_id").is_none(), "{n}: not consented");

        // The code is single use: the second exchange fails and revokes what the first gave.
        let reused = app
            .token(Some(basic), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", VERIFIER)])
            .await;
        assert_eq!(reused.json()["error"], "invalid_grant", "{n}");
        assert_eq!(app.userinfo(&access).await.status, StatusCode::UNAUTHORIZED, "{n}");
        let refused = app.token(Some(basic), &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
        assert_eq!(refused.json()["error"], "invalid_grant", "{n}");

        // An expired code is refused.
        let expired = "expired-code-for-the-test";
        let mut w = app.db.begin().await.unwrap();
        let past = chrono::Utc::now() - chrono::Duration::minutes(5);
        w.insert_oidc_codes(&[tl_storage::OidcCode {
            code_hash: tl_web::sha256_hex(expired),
            grant_id: "g-expired".into(),
            client_id: lib.id.clone(),
            account_id: account,
            redirect_uri: CB.into(),
            scope: "openid".into(),
            nonce: None,
            code_challenge: Some(CHALLENGE.into()),
            auth_time: past,
            sid: "s".into(),
            created_at: past,
            expires_at: past + chrono::Duration::seconds(60),
            used_at: None,
        }])
        .await
        .unwrap();
        w.commit().await.unwrap();
        let p = app
            .token(
                Some(basic),
                &[("grant_type", "authorization_code"), ("code", expired), ("redirect_uri", CB), ("code_verifier", VERIFIER)],
            )
            .await;
        assert_eq!(p.json()["error_description"], "the authorization code has expired", "{n}");

        // Refresh with rotation (client_secret_post this time); reusing an old refresh token
        // revokes the whole family.
        let q = app.code(&lib.id, "").await;
        let t = app
            .token(
                Some(basic),
                &[("grant_type", "authorization_code"), ("code", &q["code"]), ("redirect_uri", CB), ("code_verifier", VERIFIER)],
            )
            .await
            .json();
        let r1 = t["refresh_token"].as_str().unwrap().to_owned();
        let t2 = app
            .token(None, &[("grant_type", "refresh_token"), ("refresh_token", &r1), ("client_id", &lib.id), ("client_secret", &secret)])
            .await;
        assert_eq!(t2.status, StatusCode::OK, "{n}: {}", t2.body);
        let t2 = t2.json();
        let (a2, r2) = (t2["access_token"].as_str().unwrap().to_owned(), t2["refresh_token"].as_str().unwrap().to_owned());
        assert_ne!(r1, r2);
        let claims2 = tl_web::oidc::jwt::verify(t2["id_token"].as_str().unwrap(), &keys).unwrap();
        assert_eq!(claims2["sub"], sub.as_str(), "{n}");
        assert_eq!(app.userinfo(&a2).await.status, StatusCode::OK);
        // A refresh cannot widen the scope.
        let wider = app
            .token(Some(basic), &[("grant_type", "refresh_token"), ("refresh_token", &r2), ("scope", "openid thanglong:personal_id")])
            .await;
        assert_eq!(wider.json()["error"], "invalid_scope", "{n}");
        let old = app.token(Some(basic), &[("grant_type", "refresh_token"), ("refresh_token", &r1)]).await;
        assert_eq!(old.json()["error"], "invalid_grant", "{n}");
        assert_eq!(
            app.token(Some(basic), &[("grant_type", "refresh_token"), ("refresh_token", &r2)]).await.json()["error"],
            "invalid_grant"
        );
        assert_eq!(app.userinfo(&a2).await.status, StatusCode::UNAUTHORIZED, "{n}: the family is revoked");
        let audit = app.db.read().await.unwrap().list_audit(Some("oidc_client"), Some(&lib.id), 100).await.unwrap();
        for action in ["oidc.consent_given", "oidc.consent_denied", "oidc.token_issued", "oidc.code_reused", "oidc.refresh_reuse_detected"]
        {
            assert!(
                audit.iter().any(|a| a.action == action),
                "{n}: no {action} in {:?}",
                audit.iter().map(|a| &a.action).collect::<Vec<_>>()
            );
        }

        // Introspection (confidential clients, their own tokens) and revocation.
        let q = app.code(&lib.id, "").await;
        let t = app
            .token(
                Some(basic),
                &[("grant_type", "authorization_code"), ("code", &q["code"]), ("redirect_uri", CB), ("code_verifier", VERIFIER)],
            )
            .await
            .json();
        let a3 = t["access_token"].as_str().unwrap().to_owned();
        let i = app.back_channel("/oidc/introspect", basic, &[("token", &a3)]).await.json();
        assert_eq!(
            (i["active"].as_bool(), i["sub"].as_str(), i["client_id"].as_str()),
            (Some(true), Some(sub.as_str()), Some(lib.id.as_str())),
            "{n}"
        );
        let m_secret = machine.secret.clone().unwrap();
        let other = app.back_channel("/oidc/introspect", (machine.id.as_str(), m_secret.as_str()), &[("token", &a3)]).await.json();
        assert_eq!(other, serde_json::json!({"active": false}), "{n}: another client's token");
        let p = app.token(None, &[("grant_type", "refresh_token"), ("client_id", &spa.id), ("refresh_token", "x")]).await;
        assert_eq!(p.json()["error"], "unauthorized_client", "{n}: the public client has no refresh grant");
        let req = Request::post("/oidc/introspect")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("client_id={}&token={a3}", spa.id)))
            .unwrap();
        assert_eq!(app.send(req).await.status, StatusCode::UNAUTHORIZED, "{n}: public clients cannot introspect");
        let p = app.back_channel("/oidc/revoke", basic, &[("token", &a3), ("token_type_hint", "access_token")]).await;
        assert_eq!(p.status, StatusCode::OK, "{n}");
        assert_eq!(app.back_channel("/oidc/revoke", basic, &[("token", "unknown")]).await.status, StatusCode::OK);
        assert_eq!(app.back_channel("/oidc/introspect", basic, &[("token", &a3)]).await.json()["active"], false, "{n}");
        assert_eq!(app.userinfo(&a3).await.status, StatusCode::UNAUTHORIZED, "{n}");

        // Pairwise subjects: the public client (PKCE, no secret) sees another `sub`.
        let page = app.get(&authorize_url(&spa.id, "")).await;
        assert_eq!(page.status, StatusCode::OK, "{n}: consent for the second client");
        let spa_params: Vec<(String, String)> = query_of(&authorize_url(&spa.id, "")).into_iter().collect();
        let mut f: Vec<(&str, &str)> = spa_params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        f.push(("decision", "allow"));
        let q = query_of(app.post("/oidc/consent", &f).await.location());
        let t = app
            .token(
                None,
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", &spa.id),
                    ("code", &q["code"]),
                    ("redirect_uri", CB),
                    ("code_verifier", VERIFIER),
                ],
            )
            .await;
        assert_eq!(t.status, StatusCode::OK, "{n}: {}", t.body);
        let t = t.json();
        assert!(t.get("refresh_token").is_none());
        let spa_sub = tl_web::oidc::jwt::verify(t["id_token"].as_str().unwrap(), &keys).unwrap()["sub"].as_str().unwrap().to_owned();
        assert_ne!(spa_sub, sub, "{n}: two clients cannot correlate the person");
        let id_token = t["id_token"].as_str().unwrap().to_owned();

        // Client credentials: a machine client, within its scopes, with no person behind it.
        let mc = (machine.id.as_str(), m_secret.as_str());
        let t = app.token(Some(mc), &[("grant_type", "client_credentials")]).await;
        assert_eq!(t.status, StatusCode::OK, "{n}: {}", t.body);
        let t = t.json();
        assert_eq!(t["scope"], "api:catalog.read", "{n}");
        assert!(t.get("id_token").is_none() && t.get("refresh_token").is_none());
        let ma = t["access_token"].as_str().unwrap().to_owned();
        let i = app.back_channel("/oidc/introspect", mc, &[("token", &ma)]).await.json();
        assert_eq!((i["active"].as_bool(), i["sub"].as_str()), (Some(true), Some(machine.id.as_str())), "{n}");
        assert_eq!(app.userinfo(&ma).await.status, StatusCode::UNAUTHORIZED, "{n}");
        let t = app.token(Some(mc), &[("grant_type", "client_credentials"), ("scope", "api:catalog.read openid")]).await;
        assert_eq!(t.json()["error"], "invalid_scope", "{n}");
        let t = app.token(Some(basic), &[("grant_type", "client_credentials")]).await;
        assert_eq!(t.json()["error"], "unauthorized_client", "{n}");

        // max_age counts from the session's sign-in (auth_time): an hour allows this one; once
        // more than a second has passed, max_age=0 asks for a new sign-in.
        let p = app.get(&authorize_url(&lib.id, "&prompt=none&max_age=3600")).await;
        assert!(query_of(p.location()).contains_key("code"), "{n}: {}", p.location());
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let p = app.get(&authorize_url(&lib.id, "&prompt=none&max_age=0")).await;
        assert_eq!(query_of(p.location())["error"], "login_required", "{n}: {}", p.location());

        // RP-initiated logout: a post-logout address not registered is never redirected to.
        let bye = form_urlencoded::byte_serialize(BYE.as_bytes()).collect::<String>();
        let p = app.get(&format!("/oidc/logout?id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F")).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(p.location().is_empty());
        // The hint was issued to the public client, whose registered list is empty.
        let p = app.get(&format!("/oidc/logout?id_token_hint={id_token}&post_logout_redirect_uri={bye}")).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        // Without a hint naming this session: a confirmation page first.
        let p = app.get(&format!("/oidc/logout?client_id={}&post_logout_redirect_uri={bye}&state=bye-1", lib.id)).await;
        assert_eq!(p.status, StatusCode::OK, "{n}");
        assert!(p.has("Đăng xuất khỏi Cổng dịch vụ công?"), "{n}");
        // With the hint of this session: ended at once, back to the client with its state.
        let hint = claims_token(&mut app, &lib, basic).await;
        let p = app.get(&format!("/oidc/logout?id_token_hint={hint}&post_logout_redirect_uri={bye}&state=bye-2")).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        assert_eq!(p.location(), format!("{BYE}?state=bye-2"), "{n}");
        assert!(!app.cookies.contains_key("tl_session"), "{n}: the session cookie is cleared");
        let p = app.get(&authorize_url(&lib.id, "&prompt=none")).await;
        assert_eq!(query_of(p.location())["error"], "login_required", "{n}: the session has ended");
    }
}

/// A fresh ID token for the library client in the current session.
async fn claims_token(app: &mut App, lib: &Client, basic: (&str, &str)) -> String {
    let q = app.code(&lib.id, "").await;
    let t = app
        .token(
            Some(basic),
            &[("grant_type", "authorization_code"), ("code", &q["code"]), ("redirect_uri", CB), ("code_verifier", VERIFIER)],
        )
        .await
        .json();
    t["id_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn disabling_an_account_or_a_consent_ends_its_tokens_and_keys_rotate() {
    for mut app in apps().await {
        let n = app.name;
        let (lib, _, _) = admin_with_clients(&mut app).await;
        let secret = lib.secret.clone().unwrap();
        let basic = (lib.id.as_str(), secret.as_str());
        let account = app.add_citizen(CITIZEN).await;
        app.sign_in(CITIZEN, PASSWORD).await;
        let params: Vec<(String, String)> = query_of(&authorize_url(&lib.id, "")).into_iter().collect();
        let mut f: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        f.push(("decision", "allow"));
        let q = query_of(app.post("/oidc/consent", &f).await.location());
        let t = app
            .token(
                Some(basic),
                &[("grant_type", "authorization_code"), ("code", &q["code"]), ("redirect_uri", CB), ("code_verifier", VERIFIER)],
            )
            .await
            .json();
        let access = t["access_token"].as_str().unwrap().to_owned();
        let refresh = t["refresh_token"].as_str().unwrap().to_owned();
        assert_eq!(app.userinfo(&access).await.status, StatusCode::OK, "{n}");

        // The person sees the application and can withdraw their consent.
        let apps_page = app.get("/account/apps").await;
        assert!(apps_page.has("Ứng dụng liên kết") && apps_page.has("Thư viện Hà Nội"), "{n}");
        let q = app.code(&lib.id, "").await;
        let t = app
            .token(
                Some(basic),
                &[("grant_type", "authorization_code"), ("code", &q["code"]), ("redirect_uri", CB), ("code_verifier", VERIFIER)],
            )
            .await
            .json();
        let second = t["access_token"].as_str().unwrap().to_owned();
        let p = app.post(&format!("/account/apps/{}/revoke", lib.id), &[]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}");
        assert_eq!(app.userinfo(&second).await.status, StatusCode::UNAUTHORIZED, "{n}");
        assert_eq!(app.get(&authorize_url(&lib.id, "")).await.status, StatusCode::OK, "{n}: asked again");

        // Disabling the account stops its tokens on their next use.
        let q = query_of(app.post("/oidc/consent", &f).await.location());
        let t = app
            .token(
                Some(basic),
                &[("grant_type", "authorization_code"), ("code", &q["code"]), ("redirect_uri", CB), ("code_verifier", VERIFIER)],
            )
            .await
            .json();
        assert_eq!(app.userinfo(&access).await.status, StatusCode::UNAUTHORIZED, "{n}: revoked with the consent");
        let _ = refresh;
        let (access, refresh) = (t["access_token"].as_str().unwrap().to_owned(), t["refresh_token"].as_str().unwrap().to_owned());
        assert_eq!(app.userinfo(&access).await.status, StatusCode::OK, "{n}");
        // Disabled outside this server (straight in the database, as the CLI or another app server
        // would): the cached answer goes within the cache's poll.
        let mut w = app.db.begin().await.unwrap();
        w.set_account_status(account, tl_storage::AccountStatus::Disabled, chrono::Utc::now()).await.unwrap();
        w.commit().await.unwrap();
        let waited = app.unauthorized_soon(&access).await;
        assert!(waited < std::time::Duration::from_secs(1), "{n}: {waited:?}");
        assert_eq!(app.back_channel("/oidc/introspect", basic, &[("token", &access)]).await.json()["active"], false, "{n}");
        assert_eq!(
            app.token(Some(basic), &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await.json()["error"],
            "invalid_grant"
        );

        // Key rotation: the new key signs, the old one stays published.
        let before = jwks_keys(&mut app).await;
        let kid = tl_web::oidc::keys::rotate(app.db.as_ref(), &app.state.signing_kek, chrono::Utc::now(), "test").await.unwrap();
        app.state.oidc.keys.clear();
        let after = jwks_keys(&mut app).await;
        assert_eq!(after.len(), before.len() + 1, "{n}");
        assert!(after.iter().any(|(k, _)| *k == kid) && before.iter().all(|(k, _)| after.iter().any(|(a, _)| a == k)), "{n}");
        let published = app.db.read().await.unwrap().list_oidc_keys(chrono::Utc::now() + chrono::Duration::minutes(30)).await.unwrap();
        assert_eq!(published.len(), 1, "{n}: the retired key goes once its tokens have expired");
        // Sealed at rest: the stored private key is not the DER of a key.
        assert!(published[0].sealed_key.len() > 100 && published[0].sealed_key[0] == 1);
    }
}

#[tokio::test]
async fn hostile_requests_to_the_oidc_endpoints_get_the_specs_errors_never_a_500() {
    for mut app in apps().await {
        let n = app.name;
        let (lib, spa, _) = admin_with_clients(&mut app).await;
        let secret = lib.secret.clone().unwrap();
        let basic = (lib.id.as_str(), secret.as_str());

        // Token endpoint: content type, client authentication, grant types, sizes, repeats.
        let req = Request::post("/oidc/token").header(header::CONTENT_TYPE, "application/json").body(Body::from("{}")).unwrap();
        let p = app.send(req).await;
        assert_eq!((p.status, p.json()["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{n}");
        let p = app.token(None, &[("grant_type", "authorization_code")]).await;
        assert_eq!((p.status, p.json()["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")), "{n}");
        let p = app.token(Some((lib.id.as_str(), "tls_wrong")), &[("grant_type", "authorization_code")]).await;
        assert_eq!((p.status, p.json()["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")), "{n}");
        assert!(p.headers[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic"), "{n}");
        let p = app.token(None, &[("grant_type", "authorization_code"), ("client_id", &lib.id), ("client_secret", "nope")]).await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "{n}");
        let p = app.token(Some(basic), &[("grant_type", "authorization_code"), ("client_secret", &secret)]).await;
        assert_eq!(p.json()["error"], "invalid_request", "{n}: two authentication methods");
        let p = app.token(Some(basic), &[("grant_type", "password"), ("username", "a"), ("password", "b")]).await;
        assert_eq!((p.status, p.json()["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")), "{n}");
        let p = app.token(Some(basic), &[]).await;
        assert_eq!(p.json()["error"], "invalid_request", "{n}");
        let p = app.token(Some(basic), &[("grant_type", "authorization_code"), ("code", "x")]).await;
        assert_eq!(p.json()["error"], "invalid_request", "{n}: no redirect_uri");
        let p = app.token(Some(basic), &[("grant_type", "authorization_code"), ("code", "x"), ("redirect_uri", CB)]).await;
        assert_eq!(p.json()["error"], "invalid_grant", "{n}");
        let huge = "x".repeat(200_000);
        let p = app.token(Some(basic), &[("grant_type", "authorization_code"), ("code", &huge)]).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        let p = app.token(Some(basic), &[("grant_type", "refresh_token"), ("grant_type", "refresh_token")]).await;
        assert_eq!(p.json()["error"], "invalid_request", "{n}: repeated parameter");
        for auth in ["Basic !!!", "Basic ", "Bearer abc", "Basic Og==", &format!("Basic {}", b64(&"a".repeat(5000)))] {
            let req = Request::post("/oidc/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::AUTHORIZATION, auth)
                .body(Body::from("grant_type=client_credentials"))
                .unwrap();
            let p = app.send(req).await;
            assert!(p.status == StatusCode::BAD_REQUEST || p.status == StatusCode::UNAUTHORIZED, "{n}: {auth}: {}", p.status);
            assert!(p.json()["error"].is_string(), "{n}");
        }
        assert_eq!(app.get("/oidc/token").await.status, StatusCode::METHOD_NOT_ALLOWED, "{n}");

        // Authorization endpoint: unknown client, bad redirect: our page; the rest: redirected.
        let p =
            app.get("/oidc/authorize?client_id=nobody&redirect_uri=https%3A%2F%2Fevil.example%2F&response_type=code&scope=openid").await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(p.location().is_empty() && p.has("không được đăng ký"), "{n}");
        let wrong = authorize_url(&lib.id, "").replace("%2Fcb", "%2Fcb%2F..%2Fevil");
        let p = app.get(&wrong).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(p.location().is_empty() && p.has("không khớp"), "{n}");
        let p = app.get(&format!("{}&state={}", authorize_url(&lib.id, ""), "s".repeat(5000))).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        let p = app.get(&format!("{}&state=again", authorize_url(&lib.id, ""))).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}: repeated state");
        let p = app.get(&authorize_url(&spa.id, "").replace("S256", "plain")).await;
        assert_eq!(query_of(p.location())["error"], "invalid_request", "{n}: plain PKCE is refused");
        let no_pkce = authorize_url(&spa.id, "").replace(&format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"), "");
        let q = query_of(app.get(&no_pkce).await.location());
        assert_eq!((q["error"].as_str(), q["state"].as_str()), ("invalid_request", "st-1"), "{n}: public clients need PKCE");
        let q = query_of(app.get(&authorize_url(&lib.id, "&prompt=none")).await.location());
        assert_eq!(q["error"], "login_required", "{n}");
        let q = query_of(app.get(&authorize_url(&lib.id, "").replace("response_type=code", "response_type=id_token")).await.location());
        assert_eq!(q["error"], "unsupported_response_type", "{n}");
        let req = Request::post("/oidc/authorize").header(header::CONTENT_TYPE, "application/json").body(Body::from("{}")).unwrap();
        assert_eq!(app.send(req).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{n}");

        // Userinfo: no token, a bad one, junk in the header.
        let p = app.get("/oidc/userinfo").await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "{n}");
        assert!(p.headers[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer"), "{n}");
        let p = app.userinfo("tla_forged").await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "{n}");
        assert!(p.headers[header::WWW_AUTHENTICATE].to_str().unwrap().contains("invalid_token"), "{n}");
        assert_eq!(app.userinfo(&"x".repeat(10_000)).await.status, StatusCode::UNAUTHORIZED, "{n}");

        // Logout: forged and unsigned hints are refused on our page.
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let none = format!("{}.{}.", b(r#"{"alg":"none"}"#), b(&format!(r#"{{"iss":"{ISS}","aud":"{}"}}"#, lib.id)));
        let hs = format!("{}.{}.{}", b(r#"{"alg":"HS256"}"#), b(r#"{"iss":"x"}"#), b("sig"));
        for hint in [none.as_str(), hs.as_str(), "garbage", "a.b.c", &"e".repeat(9000)] {
            let p = app
                .get(&format!("/oidc/logout?id_token_hint={hint}&post_logout_redirect_uri=https%3A%2F%2Fthuvien.example.vn%2Fbye"))
                .await;
            assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}: {hint}");
            assert!(p.location().is_empty(), "{n}");
        }
        // Introspection and revocation need the parameters and the client.
        assert_eq!(app.back_channel("/oidc/introspect", basic, &[]).await.json()["error"], "invalid_request", "{n}");
        assert_eq!(
            app.back_channel("/oidc/revoke", (lib.id.as_str(), "bad"), &[("token", "x")]).await.status,
            StatusCode::UNAUTHORIZED,
            "{n}"
        );
    }
}

/// A code lives as long as the configuration says (`web.oidc_code_lifetime_secs`), then is
/// refused as expired.
#[tokio::test]
async fn codes_live_as_long_as_configured() {
    let mut app = apps().await.remove(0);
    let config = tl_web::WebConfig { oidc_code_lifetime: chrono::Duration::milliseconds(1500), ..app_config(&app) };
    app.state = tl_web::state(app.db.clone(), config);
    app.router = tl_web::router(app.state.clone());
    let (lib, _, _) = admin_with_clients(&mut app).await;
    let secret = lib.secret.clone().unwrap();
    app.add_citizen(CITIZEN).await;
    app.consent_to(&lib.id).await;
    let (fresh, late) = (app.code(&lib.id, "").await["code"].clone(), app.code(&lib.id, "").await["code"].clone());
    let exchange = |code: String| {
        [
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", CB.to_owned()),
            ("code_verifier", VERIFIER.to_owned()),
        ]
    };
    let p = app.token(Some((&lib.id, &secret)), &exchange(fresh).each_ref().map(|(k, v)| (*k, v.as_str()))).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    let p = app.token(Some((&lib.id, &secret)), &exchange(late).each_ref().map(|(k, v)| (*k, v.as_str()))).await;
    assert_eq!((p.status, p.json()["error_description"].as_str()), (StatusCode::BAD_REQUEST, Some("the authorization code has expired")));
}

#[tokio::test]
async fn the_token_endpoint_is_throttled_per_client_and_per_address() {
    let mut app = apps().await.remove(0);
    let config = tl_web::WebConfig { oidc_requests_per_minute: 3, ..app_config(&app) };
    app.state = tl_web::state(app.db.clone(), config);
    app.router = tl_web::router(app.state.clone());
    for i in 0..3 {
        let p = app.token(Some(("someone", "x")), &[("grant_type", "client_credentials")]).await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "{i}");
    }
    let p = app.token(Some(("someone", "x")), &[("grant_type", "client_credentials")]).await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(p.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(p.json()["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn administrators_edit_suspend_and_renew_the_secret_of_a_client() {
    for mut app in apps().await {
        let n = app.name;
        let (lib, _, _) = admin_with_clients(&mut app).await;
        let old_secret = lib.secret.clone().unwrap();
        // Only administrators reach the pages.
        assert_eq!(app.get("/admin/oidc/clients").await.status, StatusCode::UNAUTHORIZED, "{n}");
        app.sign_in("quantri", "Quản trị hệ thống 2026").await;
        let edit = app.get(&format!("/admin/oidc/clients/{}", lib.id)).await;
        assert!(edit.has("Thư viện Hà Nội") && edit.has(CB), "{n}");
        let p = app
            .post(
                &format!("/admin/oidc/clients/{}", lib.id),
                &[
                    ("name", "Thư viện Quốc gia"),
                    ("redirect_uris", &format!("{CB}\nhttps://thuvien.example.vn/cb2")),
                    ("post_logout_redirect_uris", BYE),
                    ("scope", "openid"),
                    ("grant_type", "authorization_code"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        let c = app.db.read().await.unwrap().get_oidc_client(&lib.id).await.unwrap().unwrap();
        assert_eq!((c.name.as_str(), c.redirect_uris.len(), c.scopes.len()), ("Thư viện Quốc gia", 2, 1), "{n}");
        assert!(c.is_confidential(), "{n}: the secret is kept");
        // A new secret: the old one stops working.
        let p = app.post(&format!("/admin/oidc/clients/{}/secret", lib.id), &[]).await;
        let new_secret = input_value(&p, "client-secret");
        assert_ne!(new_secret, old_secret);
        let t = app
            .token(
                Some((lib.id.as_str(), old_secret.as_str())),
                &[("grant_type", "authorization_code"), ("code", "x"), ("redirect_uri", CB)],
            )
            .await;
        assert_eq!(t.status, StatusCode::UNAUTHORIZED, "{n}");
        let t = app
            .token(
                Some((lib.id.as_str(), new_secret.as_str())),
                &[("grant_type", "authorization_code"), ("code", "x"), ("redirect_uri", CB)],
            )
            .await;
        assert_eq!(t.json()["error"], "invalid_grant", "{n}: authenticated with the new secret");
        // Suspended: its sign-in requests are refused on our page, its secret no longer works.
        let p = app.post(&format!("/admin/oidc/clients/{}/status", lib.id), &[("status", "disabled")]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}");
        assert!(app.get("/admin/oidc/clients").await.has("Cho hoạt động lại"), "{n}");
        assert_eq!(app.get(&authorize_url(&lib.id, "")).await.status, StatusCode::BAD_REQUEST, "{n}");
        let t = app.token(Some((lib.id.as_str(), new_secret.as_str())), &[("grant_type", "authorization_code")]).await;
        assert_eq!(t.status, StatusCode::UNAUTHORIZED, "{n}");
        let audit = app.db.read().await.unwrap().list_audit(Some("oidc_client"), Some(&lib.id), 20).await.unwrap();
        for action in ["oidc.client_updated", "oidc.client_secret_rotated", "oidc.client_disabled"] {
            assert!(audit.iter().any(|a| a.action == action), "{n}: {action}");
        }
        // A citizen may not register clients.
        app.post("/signout", &[]).await;
        app.add_citizen(CITIZEN).await;
        app.sign_in(CITIZEN, PASSWORD).await;
        assert_eq!(app.get("/admin/oidc/clients/new").await.status, StatusCode::FORBIDDEN, "{n}");
        let p = app.post("/admin/oidc/clients", &[("name", "x"), ("grant_type", "client_credentials"), ("api_scopes", "a")]).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{n}");
    }
}

#[tokio::test]
async fn partner_systems_call_the_json_and_govstack_apis_with_client_credentials_within_their_scopes() {
    use tl_core::account::{AccountKind, Role};
    for mut app in apps().await {
        let n = app.name;
        super::publish_text_form(&app).await;
        let pw = "Mật khẩu thử nghiệm 2026";
        // A partner organisation (the post office taking dossiers at its counters) has a business
        // account; a mother authorises it to file birth registration for her; a stranger does not.
        let partner = {
            let mut w = app.db.begin().await.unwrap();
            let a = w
                .create_account(
                    &tl_storage::NewAccount {
                        kind: AccountKind::Business,
                        login: "0100109106".into(),
                        display_name: "Bưu điện thành phố Hà Nội".into(),
                        email: None,
                        phone: None,
                        password_hash: None,
                        agency_id: None,
                    },
                    chrono::Utc::now(),
                )
                .await
                .unwrap();
            w.commit().await.unwrap();
            a.id
        };
        let (mother, mother_token) = app.citizen_account("001303033333", None, Some(pw)).await;
        app.citizen_account("001203044444", None, None).await;
        let mut mum = app.second_browser();
        mum.sign_in("001303033333", pw).await;
        let today = tl_web::portal::today();
        let fmt = |d: chrono::NaiveDate| d.format("%d/%m/%Y").to_string();
        let p = mum
            .post(
                "/account/delegation/authorisations",
                &[
                    ("grantee", "0100109106"),
                    ("procedure", "1.001193"),
                    ("valid_from", &fmt(today)),
                    ("valid_to", &fmt(today + chrono::Duration::days(30))),
                ],
            )
            .await;
        assert_eq!(p.location(), "/account/delegation?done=authorised", "{n}: {}", p.body);
        // The ward's one-stop software acts as an officer service account.
        app.add_officer("motcua.phuongbd", pw, "H26.31", &[Role::Reception]).await;

        // The administrator registers the partners' machine clients; every API scope but the
        // catalogue's acts as an account, which must be an organisation's or an officer's.
        app.add_officer("quantri", "Quản trị hệ thống 2026", "H26", &[Role::Admin]).await;
        app.sign_in("quantri", "Quản trị hệ thống 2026").await;
        let form = app.get("/admin/oidc/clients/new").await;
        assert!(form.has("govstack:applications") && form.has("Tài khoản dịch vụ"), "{n}");
        let machine = |name: &'static str, scopes: &[&'static str], account: &'static str| -> Vec<(&'static str, &'static str)> {
            let mut f =
                vec![("name", name), ("client_type", "confidential"), ("grant_type", "client_credentials"), ("service_account", account)];
            f.extend(scopes.iter().map(|s| ("scope", *s)));
            f
        };
        for (fields, says) in [
            (machine("Bưu điện", &["govstack:applications"], ""), "cần một tài khoản dịch vụ"),
            (machine("Bưu điện", &["govstack:applications"], "001303033333"), "không phải tài khoản cá nhân của công dân"),
            (machine("Bưu điện", &["govstack:applications"], "0999999999"), "Không tìm thấy tài khoản «0999999999»"),
        ] {
            let p = app.post("/admin/oidc/clients", &fields).await;
            assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}: {says}");
            assert!(p.has(says), "{n}: {says}: {}", p.body);
        }
        assert!(app.db.read().await.unwrap().list_oidc_clients().await.unwrap().is_empty(), "{n}: nothing registered");
        let post = app.register(&machine("Bưu điện — tiếp nhận hồ sơ", &["govstack:applications", "api:catalog.read"], "0100109106")).await;
        let one_stop = app.register(&machine("Phần mềm một cửa phường", &["govstack:tasks"], "motcua.phuongbd")).await;
        let reader = app.register(&machine("Cổng thông tin quận", &["api:catalog.read"], "")).await;
        assert!(app.get(&format!("/admin/oidc/clients/{}", post.id)).await.has("value=\"0100109106\""), "{n}: the edit form shows it");
        async fn issue(app: &mut App, c: &Client) -> String {
            let p = app.token(Some((&c.id, c.secret.as_deref().unwrap())), &[("grant_type", "client_credentials")]).await;
            assert_eq!(p.status, StatusCode::OK, "{}: {}", app.name, p.body);
            p.json()["access_token"].as_str().unwrap().to_owned()
        }
        let post_t = issue(&mut app, &post).await;
        let office_t = issue(&mut app, &one_stop).await;
        let reader_t = issue(&mut app, &reader).await;

        // The catalogue reads with any valid token; acting as an account needs the scope.
        assert_eq!(app.api("/api/v1/procedures?q=khai%20sinh", Some(&reader_t)).await.status, StatusCode::OK, "{n}");
        let me = app.api("/api/v1/me", Some(&reader_t)).await;
        assert_eq!(me.status, StatusCode::FORBIDDEN, "{n}");
        assert_eq!(me.json()["code"], "insufficient_scope", "{n}");
        assert!(me.json()["detail"].as_str().unwrap().contains("«api:account.read»"), "{n}: {}", me.body);
        let challenge = me.headers.get(header::WWW_AUTHENTICATE).unwrap().to_str().unwrap().to_owned();
        assert!(challenge.contains("error=\"insufficient_scope\""), "{n}: {challenge}");
        assert_eq!(app.api("/api/v1/dossiers", Some(&post_t)).await.status, StatusCode::FORBIDDEN, "{n}: no api:dossiers");
        assert_eq!(app.api("/api/v1/me", Some(&format!("{post_t}x"))).await.status, StatusCode::UNAUTHORIZED, "{n}");
        // Personal API tokens keep working.
        assert_eq!(app.api("/api/v1/me", Some(&mother_token)).await.json()["login"], "001303033333", "{n}");

        // The post office files for the mother, who authorised it; not for the stranger.
        let path = "/services/1.001193/applications";
        let submit = |applicant: &str| {
            serde_json::json!({"applicantId": applicant, "agencyId": "H26.31", "formData": {"data": {"child_name": "Lê Minh An"}}})
                .to_string()
        };
        let refused = app.govstack("POST", path, Some(&post_t), Some(submit("001203044444"))).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{n}: {}", refused.body);
        assert!(refused.json()["localizedMessage"].as_str().unwrap().contains("ủy quyền"), "{n}");
        let filed = app.govstack("POST", path, Some(&post_t), Some(submit("001303033333"))).await;
        assert_eq!(filed.status, StatusCode::OK, "{n}: {}", filed.body);
        assert_eq!(filed.json()["applicantId"], "001303033333", "{n}");
        let code = filed.json()["fileId"].as_str().unwrap().to_owned();
        let d = app.db.read().await.unwrap().get_dossier_by_code(&code).await.unwrap().unwrap();
        assert_eq!((d.applicant_id, d.acted_by_id), (mother, partner), "{n}: the dossier records both");
        let audit = app.db.read().await.unwrap().list_audit(Some("dossier"), Some(&d.id.to_string()), 10).await.unwrap();
        let a = audit.iter().find(|a| a.action == "govstack.application").unwrap();
        assert_eq!(a.detail["oauth_client"], post.id.as_str(), "{n}: the audit names the client");
        // Both the partner and the mother follow it; the partner's list names the applicant.
        let listed = app.govstack("GET", "/applications", Some(&post_t), None).await.json();
        assert_eq!(listed[0]["fileId"], code.as_str(), "{n}");
        assert_eq!(listed[0]["applicantId"], "001303033333", "{n}");
        assert_eq!(app.govstack("GET", &format!("/applications/{code}"), Some(&post_t), None).await.status, StatusCode::OK, "{n}");
        assert_eq!(app.govstack("GET", &format!("/applications/{code}"), Some(&mother_token), None).await.status, StatusCode::OK, "{n}");
        // The partner's token is not the agency's: no tasks; the ward's software sees the file.
        let tasks = app.govstack("GET", "/tasks", Some(&post_t), None).await;
        assert_eq!(tasks.status, StatusCode::FORBIDDEN, "{n}: {}", tasks.body);
        assert_eq!(tasks.json()["code"], "insufficient_scope", "{n}");
        assert_eq!(app.govstack("GET", "/tasks", Some(&office_t), None).await.status, StatusCode::OK, "{n}");
        let seen = app.govstack("GET", &format!("/applications/{code}"), Some(&office_t), None).await;
        assert_eq!(seen.json()["applicantId"], "001303033333", "{n}: {}", seen.body);
        let p = app.govstack("POST", path, Some(&office_t), Some(submit("001303033333"))).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{n}: the ward's software does not file");

        // The mother revokes: the partner's next filing for her is refused at once.
        let auth_id = app.db.read().await.unwrap().authorisations_given(mother).await.unwrap()[0].id;
        mum.post(&format!("/account/delegation/authorisations/{auth_id}/revoke"), &[]).await;
        let p = app.govstack("POST", path, Some(&post_t), Some(submit("001303033333"))).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}: {}", p.body);
        // Suspending the client, or disabling the account it acts as, ends its tokens at once.
        app.post(&format!("/admin/oidc/clients/{}/status", one_stop.id), &[("status", "disabled")]).await;
        assert_eq!(app.govstack("GET", "/tasks", Some(&office_t), None).await.status, StatusCode::UNAUTHORIZED, "{n}");
        let mut w = app.db.begin().await.unwrap();
        w.set_account_status(partner, tl_storage::AccountStatus::Disabled, chrono::Utc::now()).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(app.govstack("GET", "/applications", Some(&post_t), None).await.status, StatusCode::UNAUTHORIZED, "{n}");
    }
}

#[tokio::test]
async fn a_partner_reads_a_persons_data_only_under_its_agreement_with_consent_or_a_named_legal_basis() {
    use tl_core::account::{AccountKind, Role};
    for mut app in apps().await {
        let n = app.name;
        let pw = "Mật khẩu thử nghiệm 2026";
        let mut w = app.db.begin().await.unwrap();
        w.create_account(
            &tl_storage::NewAccount {
                kind: AccountKind::Business,
                login: "0100109106".into(),
                display_name: "Bưu điện thành phố Hà Nội".into(),
                email: None,
                phone: None,
                password_hash: None,
                agency_id: None,
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        w.commit().await.unwrap();
        let (citizen, own_token) = app.citizen_account("001303033333", Some("hoa@example.vn"), Some(pw)).await;
        app.add_officer("quantri", "Quản trị hệ thống 2026", "H26", &[Role::Admin]).await;
        app.sign_in("quantri", "Quản trị hệ thống 2026").await;
        let client = |name: &'static str| {
            vec![
                ("name", name),
                ("client_type", "confidential"),
                ("grant_type", "client_credentials"),
                ("scope", "api:personal-data.read"),
                ("service_account", "0100109106"),
            ]
        };
        let post = app.register(&client("Bưu điện — giao kết quả")).await;
        let other = app.register(&client("Ứng dụng khác")).await;
        app.post("/signout", &[]).await;
        // Two agreements made for the post office: one on consent, one on a legal obligation.
        let today = tl_web::portal::today();
        let mut w = app.db.begin().await.unwrap();
        for (id, basis) in [
            ("buu-dien-giao-ket-qua", tl_core::personal::LawfulBasis::Consent),
            ("buu-dien-nghia-vu", tl_core::personal::LawfulBasis::LegalObligation),
        ] {
            w.add_data_agreement(&tl_storage::store::DataAgreement {
                id: id.into(),
                version: 1,
                name_vi: "Bưu điện giao kết quả tận nhà".into(),
                name_en: "Results delivered home by the post".into(),
                purpose_vi: "Bưu điện dùng họ tên, số điện thoại và địa chỉ để giao kết quả.".into(),
                purpose_en: "The post uses name, phone and address to deliver results.".into(),
                controller: "Bưu điện thành phố Hà Nội".into(),
                recipient: Some(post.id.clone()),
                items: vec!["full_name".into(), "phone".into(), "documents".into()],
                lawful_basis: basis,
                months: 12,
                effective_from: today,
            })
            .await
            .unwrap();
        }
        w.commit().await.unwrap();
        async fn issue(app: &mut App, c: &Client) -> String {
            let p = app.token(Some((&c.id, c.secret.as_deref().unwrap())), &[("grant_type", "client_credentials")]).await;
            p.json()["access_token"].as_str().unwrap().to_owned()
        }
        let t = issue(&mut app, &post).await;
        let t_other = issue(&mut app, &other).await;
        let url = "/api/v1/people/001303033333/data?agreement=buu-dien-giao-ket-qua";
        // No consent yet: refused, with the reason, and the refusal is audited.
        let p = app.api(url, Some(&t)).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{n}: {}", p.body);
        assert_eq!(p.json()["code"], "consent_required", "{n}");
        assert!(p.json()["detail"].as_str().unwrap().contains("chưa đồng ý"), "{n}");
        // The citizen sees the agreement among hers and consents.
        let mut hoa = app.second_browser();
        hoa.sign_in("001303033333", pw).await;
        assert!(hoa.get("/account/consents").await.has("Bưu điện giao kết quả tận nhà"), "{n}");
        assert_eq!(
            hoa.post("/account/consents/buu-dien-giao-ket-qua", &[("decision", "grant")]).await.location(),
            "/account/consents?done=granted"
        );
        let p = app.api(url, Some(&t)).await;
        assert_eq!(p.status, StatusCode::OK, "{n}: {}", p.body);
        let body = p.json();
        assert_eq!(body["items"]["full_name"]["value"], "Lê Thị Hoa", "{n}");
        assert!(body["items"].get("email").is_none(), "{n}: only what the agreement covers");
        // Another application, a person's own token, an unknown person: refused.
        let p = app.api(url, Some(&t_other)).await;
        assert_eq!((p.status, p.json()["code"].as_str()), (StatusCode::FORBIDDEN, Some("unknown_purpose")), "{n}");
        assert_eq!(app.api(url, Some(&own_token)).await.json()["code"], "insufficient_scope", "{n}");
        assert_eq!(
            app.api("/api/v1/people/001303099999/data?agreement=buu-dien-giao-ket-qua", Some(&t)).await.status,
            StatusCode::NOT_FOUND
        );
        // She withdraws: the partner's next read is refused at once.
        hoa.post("/account/consents/buu-dien-giao-ket-qua", &[("decision", "revoke")]).await;
        let p = app.api(url, Some(&t)).await;
        assert_eq!((p.status, p.json()["code"].as_str()), (StatusCode::FORBIDDEN, Some("consent_required")), "{n}");
        // On a legal obligation the provision must be named; it is kept in the audit.
        let legal = "/api/v1/people/001303033333/data?agreement=buu-dien-nghia-vu";
        assert_eq!(app.api(legal, Some(&t)).await.json()["code"], "legal_reference_required", "{n}");
        let p = app
            .api(&format!("{legal}&legal_reference=%C4%90i%E1%BB%81u%2010%20Ngh%E1%BB%8B%20%C4%91%E1%BB%8Bnh%2045%2F2020"), Some(&t))
            .await;
        assert_eq!(p.status, StatusCode::OK, "{n}: {}", p.body);
        let audit = app.db.read().await.unwrap().list_audit(Some("account"), Some(&citizen.to_string()), 50).await.unwrap();
        let reasons: Vec<String> = audit
            .iter()
            .filter(|a| a.action == "data_sharing.refused")
            .map(|a| a.detail["reason"].as_str().unwrap_or("").to_owned())
            .collect();
        assert!(reasons.contains(&"none".to_owned()) && reasons.contains(&"revoked".to_owned()), "{n}: {reasons:?}");
        let reads: Vec<&tl_storage::AuditRow> = audit.iter().filter(|a| a.action == "data_sharing.read").collect();
        assert_eq!(reads.len(), 2, "{n}");
        assert!(reads.iter().any(|a| a.detail["legal_reference"] == "Điều 10 Nghị định 45/2020"), "{n}");
        // And the person sees the partner's reads in "Ai đã xem dữ liệu của tôi".
        app.state.access.flush().await;
        let log = hoa.get("/account/access-log").await;
        assert!(log.has("Bưu điện thành phố Hà Nội") && log.has("buu-dien-giao-ket-qua (v1)"), "{n}: {}", log.body);
    }
}

/// Exchanges arriving together share one transaction (the token endpoint's group commit) and
/// each keeps every rule of a lone exchange: many good codes all work; a code sent twice at the
/// same moment works once and the tokens it gave are revoked; a wrong verifier and an unknown
/// code are refused; each issue and the reuse are audited.
#[tokio::test]
async fn exchanges_arriving_together_keep_every_rule() {
    for mut app in apps().await {
        let n = app.name;
        let (lib, _, _) = admin_with_clients(&mut app).await;
        let secret = lib.secret.clone().unwrap();
        app.add_citizen(CITIZEN).await;
        app.consent_to(&lib.id).await;
        let mut codes = Vec::new();
        for _ in 0..40 {
            codes.push(app.code(&lib.id, "").await["code"].clone());
        }
        let twice = codes[0].clone();
        let wrong_verifier = codes.pop().unwrap();
        let mut sends: Vec<(String, String)> = codes.iter().map(|c| (c.clone(), VERIFIER.to_owned())).collect();
        sends.push((twice.clone(), VERIFIER.to_owned()));
        sends.push((wrong_verifier, "b".repeat(43)));
        sends.push(("khong-ton-tai".into(), VERIFIER.to_owned()));
        let mut set = tokio::task::JoinSet::new();
        for (i, (code, verifier)) in sends.into_iter().enumerate() {
            let mut b = app.second_browser();
            let (id, secret) = (lib.id.clone(), secret.clone());
            set.spawn(async move {
                let p = b
                    .token(
                        Some((&id, &secret)),
                        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", &verifier)],
                    )
                    .await;
                (i, code, p)
            });
        }
        let mut answers = set.join_all().await;
        answers.sort_by_key(|(i, _, _)| *i);
        let keys = jwks_keys(&mut app).await;
        let mut issued = Vec::new();
        for (i, code, p) in &answers {
            let t = p.json();
            match *i {
                0..=38 if *code != twice => {
                    assert_eq!(p.status, StatusCode::OK, "{n}: {i}: {}", p.body);
                    let claims = tl_web::oidc::jwt::verify(t["id_token"].as_str().unwrap(), &keys).unwrap();
                    assert_eq!((claims["aud"].as_str(), claims["nonce"].as_str()), (Some(lib.id.as_str()), Some("n-1")), "{n}");
                    issued.push(t["access_token"].as_str().unwrap().to_owned());
                }
                0..=39 => {}
                _ => assert_eq!((p.status, t["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{n}: {i}"),
            }
        }
        // The code sent twice: one answer gave tokens, the other was refused; the tokens are dead.
        let pair: Vec<&Page> = answers.iter().filter(|(_, c, _)| *c == twice).map(|(_, _, p)| p).collect();
        assert_eq!(pair.len(), 2, "{n}");
        let winner = pair.iter().find(|p| p.status == StatusCode::OK).expect("one use of the code worked");
        assert!(pair.iter().any(|p| p.json()["error"] == "invalid_grant"), "{n}");
        let stolen = winner.json()["access_token"].as_str().unwrap().to_owned();
        assert_eq!(app.userinfo(&stolen).await.status, StatusCode::UNAUTHORIZED, "{n}: the reused code's tokens live");
        assert_eq!(issued.len(), 38, "{n}");
        for t in &issued {
            let u = app.userinfo(t).await;
            assert_eq!((u.status, u.json()["name"].as_str()), (StatusCode::OK, Some("Lê Thị Hoa")), "{n}");
        }
        let audit = app.db.read().await.unwrap().list_audit(Some("oidc_client"), Some(&lib.id), 500).await.unwrap();
        assert_eq!(audit.iter().filter(|a| a.action == "oidc.token_issued").count(), 39, "{n}");
        let reused: Vec<_> = audit.iter().filter(|a| a.action == "oidc.code_reused").collect();
        assert_eq!(reused.len(), 1, "{n}");
        assert_eq!(reused[0].detail["revoked_tokens"], 1, "{n}: the stored refresh token (the access token is sealed)");
    }
}

/// Userinfo answers from memory, and never after a change: a change made through this server
/// (revocation at the revocation endpoint) counts at once; one made elsewhere (another server,
/// the CLI — here straight in the database) within the cache's poll; a token that expires is
/// refused when it expires.
#[tokio::test]
async fn userinfo_from_memory_follows_every_change() {
    for mut app in apps().await {
        let n = app.name;
        let (lib, _, _) = admin_with_clients(&mut app).await;
        let secret = lib.secret.clone().unwrap();
        let basic = (lib.id.as_str(), secret.as_str());
        let account = app.add_citizen(CITIZEN).await;
        app.consent_to(&lib.id).await;
        let mut tokens = Vec::new();
        for _ in 0..3 {
            let q = app.code(&lib.id, "").await;
            let t = app
                .token(
                    Some(basic),
                    &[("grant_type", "authorization_code"), ("code", &q["code"]), ("redirect_uri", CB), ("code_verifier", VERIFIER)],
                )
                .await
                .json();
            tokens.push(t["access_token"].as_str().unwrap().to_owned());
        }
        // Let the cache follow the database, then fill it.
        tokio::time::sleep(tl_web::oidc::cache::POLL * 2).await;
        for t in &tokens {
            for _ in 0..3 {
                let u = app.userinfo(t).await;
                assert_eq!((u.status, u.json()["name"].as_str()), (StatusCode::OK, Some("Lê Thị Hoa")), "{n}");
                assert_eq!(u.headers[header::CACHE_CONTROL], "no-store", "{n}");
                assert_eq!(u.headers[header::CONTENT_TYPE], "application/json", "{n}");
            }
        }
        // Revoked through this server: refused on the very next request.
        let p = app.back_channel("/oidc/revoke", basic, &[("token", &tokens[0])]).await;
        assert_eq!(p.status, StatusCode::OK, "{n}");
        assert_eq!(app.userinfo(&tokens[0]).await.status, StatusCode::UNAUTHORIZED, "{n}");
        assert_eq!(app.userinfo(&tokens[1]).await.status, StatusCode::OK, "{n}: the others still work");
        // Revoked elsewhere: refused within the poll.
        let mut w = app.db.begin().await.unwrap();
        let key = tl_storage::revocation::token(&tl_web::oidc::protocol::secret_key(&tokens[1]));
        w.revoke_oidc_access(&key, chrono::Utc::now()).await.unwrap();
        w.commit().await.unwrap();
        let waited = app.unauthorized_soon(&tokens[1]).await;
        assert!(waited < std::time::Duration::from_secs(1), "{n}: {waited:?}");
        assert_eq!(app.userinfo(&tokens[2]).await.status, StatusCode::OK, "{n}");
        // An expired token, stored as access tokens were before they were sealed (such tokens
        // keep working until they expire): refused from memory too once it has.
        let mut w = app.db.begin().await.unwrap();
        let now = chrono::Utc::now();
        let short = tl_storage::OidcToken {
            token_hash: tl_web::sha256_hex("tla_short-lived"),
            kind: tl_storage::TokenKind::Access,
            grant_id: "g-short".into(),
            client_id: lib.id.clone(),
            account_id: Some(account),
            scope: "openid profile".into(),
            auth_time: Some(now),
            sid: None,
            created_at: now,
            expires_at: now + chrono::Duration::milliseconds(600),
            used_at: None,
            revoked_at: None,
        };
        w.insert_oidc_token(&short).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(app.userinfo("tla_short-lived").await.status, StatusCode::OK, "{n}");
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        assert_eq!(app.userinfo("tla_short-lived").await.status, StatusCode::UNAUTHORIZED, "{n}: expired");
    }
}

#[tokio::test]
async fn machine_endpoints_set_no_cookies_and_pages_still_get_their_csrf_cookie() {
    for mut app in apps().await {
        let n = app.name;
        let set_cookies =
            |p: &Page| p.headers.get_all(header::SET_COOKIE).iter().map(|c| c.to_str().unwrap().to_owned()).collect::<Vec<_>>();
        // A program calling the token, discovery or key endpoints gets no browser cookie.
        let p = app.token(Some(("nobody", "wrong")), &[("grant_type", "authorization_code"), ("code", "x")]).await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "{n}: {}", p.body);
        assert!(set_cookies(&p).is_empty(), "{n}: {:?}", set_cookies(&p));
        for path in ["/.well-known/openid-configuration", "/oidc/jwks"] {
            let p = app.get(path).await;
            assert_eq!(p.status, StatusCode::OK, "{n} {path}");
            assert!(set_cookies(&p).is_empty(), "{n} {path}: {:?}", set_cookies(&p));
        }
        // A page still hands out the CSRF token its forms need.
        let p = app.get("/").await;
        assert!(set_cookies(&p).iter().any(|c| c.starts_with("tl_csrf=")), "{n}: {:?}", set_cookies(&p));
    }
}
