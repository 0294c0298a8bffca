//! The application in-process, against real SQLite and PostgreSQL: what a user or an API
//! client would notice. One test binary for the crate (link time matters on 2 cores).

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use std::collections::HashMap;
use std::sync::Arc;
use tl_core::catalog_doc::{load, Format, Known};
use tl_storage::testing::fresh_databases;
use tl_storage::Database;
use tower::ServiceExt;

const SEED: &str = include_str!("../../thanglong/seed/catalog.yaml");

struct App {
    state: tl_web::AppState,
    router: Router,
    db: Arc<dyn Database>,
    files_dir: std::path::PathBuf,
    cookies: HashMap<String, String>,
    name: &'static str,
}

struct Page {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    /// Whether the page shows `s` as a reader sees it (HTML entities decoded).
    fn has(&self, s: &str) -> bool {
        let text = self
            .body
            .replace("&#x2f;", "/")
            .replace("&#x27;", "'")
            .replace("&#x60;", "`")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        text.contains(s)
    }
}

async fn apps() -> Vec<App> {
    let mut out = vec![];
    for (name, db) in fresh_databases().await {
        let doc = load(SEED, Format::Yaml, &Known::default()).expect("seed is valid");
        let mut w = db.begin().await.unwrap();
        tl_storage::apply_catalog(w.as_mut(), &doc, None, chrono::Utc::now()).await.unwrap();
        w.commit().await.unwrap();
        let files_dir = std::env::temp_dir().join(format!("tl-files-{}-{}", std::process::id(), tl_web::new_token("")[..8].to_owned()));
        let config = tl_web::WebConfig { login_attempts_per_ip: 1000, max_file_bytes: 256 * 1024, files_dir, ..Default::default() };
        let files_dir = config.files_dir.clone();
        let state = tl_web::state(db.clone(), config);
        let router = tl_web::router(state.clone());
        out.push(App { state, router, db, files_dir, cookies: HashMap::new(), name });
    }
    out
}

impl App {
    async fn send(&mut self, req: Request<Body>) -> Page {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        for c in headers.get_all(header::SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (kv, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.into(), v.into());
            }
        }
        let bytes = axum::body::to_bytes(resp.into_body(), 10 << 20).await.unwrap();
        Page { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn get_bytes(&mut self, path: &str) -> Vec<u8> {
        let req = Request::get(path).header(header::COOKIE, self.cookie_header()).body(Body::empty()).unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        axum::body::to_bytes(resp.into_body(), 10 << 20).await.unwrap().to_vec()
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = Request::get(path).header(header::COOKIE, self.cookie_header()).body(Body::empty()).unwrap();
        self.send(req).await
    }

    async fn api(&mut self, path: &str, token: Option<&str>) -> Page {
        let mut b = Request::get(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }

    /// Posts a form with the visitor's CSRF token (fetching a page first to get one).
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        if !self.cookies.contains_key("tl_csrf") {
            self.get("/").await;
        }
        let csrf = self.cookies["tl_csrf"].clone();
        let mut all: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        all.extend_from_slice(fields);
        self.post_raw(path, &serde_urlencoded::to_string(&all).unwrap()).await
    }

    async fn post_raw(&mut self, path: &str, body: &str) -> Page {
        let req = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap();
        self.send(req).await
    }

    async fn sign_in(&mut self, login: &str, password: &str) -> Page {
        self.post("/signin", &[("login", login), ("password", password)]).await
    }

    async fn add_officer(&self, login: &str, password: &str, agency: &str, roles: &[tl_core::account::Role]) -> i64 {
        let now = chrono::Utc::now();
        let mut w = self.db.begin().await.unwrap();
        let ag = w.get_agency(agency).await.unwrap().unwrap();
        let a = w
            .create_account(
                &tl_storage::NewAccount {
                    kind: tl_core::account::AccountKind::Officer,
                    login: login.into(),
                    display_name: format!("Cán bộ {login}"),
                    email: None,
                    phone: None,
                    password_hash: Some(tl_web::hash_password(password).unwrap()),
                    agency_id: Some(ag.id),
                },
                now,
            )
            .await
            .unwrap();
        for r in roles {
            w.grant_role(a.id, *r, ag.id, None, now).await.unwrap();
        }
        w.commit().await.unwrap();
        a.id
    }
}

fn titles(p: &Page) -> Vec<String> {
    p.body
        .split("class=\"result-title\"><a href=\"")
        .skip(1)
        .map(|s| {
            let s = &s[s.find('>').unwrap() + 1..];
            s[..s.find('<').unwrap()].to_owned()
        })
        .collect()
}

#[tokio::test]
async fn citizens_find_procedures_by_vietnamese_search_and_browse() {
    for mut app in apps().await {
        let n = app.name;
        let home = app.get("/").await;
        assert_eq!(home.status, StatusCode::OK, "{n}");
        assert!(home.has("<html lang=\"vi\">") && home.has("Thực hiện thủ tục hành chính trực tuyến"), "{n}");
        for (q, first) in [
            ("dang+ky+khai+sinh", "Đăng ký khai sinh"),
            ("khai+sinh", "Đăng ký khai sinh"),
            ("%C4%90%C4%82NG+K%C3%9D+K%E1%BA%BET+H%C3%94N", "Đăng ký kết hôn"),
            ("giay+phep+xay+dung", "Cấp giấy phép xây dựng mới"),
        ] {
            let p = app.get(&format!("/procedures?q={q}")).await;
            assert_eq!(p.status, StatusCode::OK, "{n} {q}");
            let t = titles(&p);
            assert!(t.first().is_some_and(|x| x.starts_with(first)), "{n} {q}: {t:?}");
        }
        // Browse by field and by agency.
        let p = app.get("/procedures?field=ho-tich").await;
        let t = titles(&p);
        assert!(t.len() >= 5 && t.iter().all(|x| !x.contains("xây dựng")), "{n}: {t:?}");
        let p = app.get("/agencies/H26.31").await;
        assert!(p.has("Ủy ban nhân dân phường Ba Đình") && titles(&p).iter().any(|x| x == "Đăng ký khai sinh"), "{n}");
        let p = app.get("/fields").await;
        assert!(p.has("Hộ tịch"), "{n}");
        // Hostile and oversized search text: a clear message, never a 500.
        let long = "a".repeat(250);
        let p = app.get(&format!("/procedures?q={long}")).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(p.has("Từ khóa tìm kiếm quá dài"), "{n}");
        for q in ["%22", "%27+OR+1%3D1+--", "%E5%87%BA%E7%94%9F", "NEAR%28a%29", "%00"] {
            assert_eq!(app.get(&format!("/procedures?q={q}")).await.status, StatusCode::OK, "{n} {q}");
        }
        assert_eq!(app.get("/procedures?page=abc").await.status, StatusCode::BAD_REQUEST, "{n}");
        assert_eq!(app.get("/procedures?page=0").await.status, StatusCode::BAD_REQUEST, "{n}");
    }
}

#[tokio::test]
async fn procedure_page_shows_what_a_citizen_needs_in_both_languages() {
    for mut app in apps().await {
        let n = app.name;
        let p = app.get("/procedures/2.000815").await;
        assert_eq!(p.status, StatusCode::OK, "{n}");
        // Certified copy: per-page fee with the 200.000 ₫ cap, same-day limit with the 15:00 cut-off.
        assert!(p.has("2.000 ₫/trang") && p.has("tối đa 200.000 ₫/bản"), "{n}");
        assert!(p.has("Trong ngày làm việc") && p.has("15:00"), "{n}");
        assert!(p.has("Thành phần hồ sơ") && p.has("Căn cứ pháp lý"), "{n}");
        // Residence registration has two versions; the 2026 one is free online.
        let p = app.get("/procedures/1.004222").await;
        assert!(p.has("Miễn khi nộp trực tuyến") && p.has("Các phiên bản"), "{n}");
        let old = app.get("/procedures/1.004222?version=1").await;
        assert!(old.has("10.000 ₫ khi nộp trực tuyến") && old.has("không còn (hoặc chưa) hiệu lực"), "{n}");
        // English on a switch; the switch returns to the same page.
        let sw = app.get("/lang/en?next=/procedures/1.004222").await;
        assert_eq!((sw.status, sw.location()), (StatusCode::SEE_OTHER, "/procedures/1.004222"), "{n}");
        let en = app.get("/procedures/1.004222").await;
        assert!(en.has("<html lang=\"en\">") && en.has("Permanent residence registration") && en.has("Free when filed online"), "{n}");
        // The switch never redirects off-site.
        let sw = app.get("/lang/en?next=//evil.example/x").await;
        assert_eq!(sw.location(), "/", "{n}");
        // Unknown and malformed codes: a 404 page in the visitor's language.
        let p = app.get("/procedures/9.999999").await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{n}");
        assert!(p.has("Page not found"), "{n}");
        app.get("/lang/vi?next=/").await;
        let p = app.get("/procedures/%3Cscript%3E").await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{n}");
        assert!(p.has("Không tìm thấy trang") && !p.body.contains("<script>"), "{n}");
    }
}

#[tokio::test]
async fn sign_up_sign_in_sign_out_with_csrf_throttling_and_session_rotation() {
    for mut app in apps().await {
        let n = app.name;
        // Malformed ID and mismatched birth year: clear messages, nothing created.
        let p = app
            .post(
                "/signup",
                &[
                    ("kind", "citizen"),
                    ("personal_id", "00120301234"),
                    ("full_name", "Lê Thị Hoa"),
                    ("birth_date", "01/02/2003"),
                    ("password", "Hoa sen nở giữa hồ"),
                    ("password2", "Hoa sen nở giữa hồ"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(p.has("Số định danh cá nhân phải gồm đúng 12 chữ số") && p.has("href=\"#personal_id\""), "{n}");
        let p = app
            .post(
                "/signup",
                &[
                    ("kind", "citizen"),
                    ("personal_id", "001303012345"),
                    ("full_name", "Lê Thị Hoa"),
                    ("birth_date", "01/02/1999"),
                    ("password", "Hoa sen nở giữa hồ"),
                    ("password2", "Hoa sen nở giữa hồ"),
                ],
            )
            .await;
        assert!(p.has("không khớp với ngày sinh"), "{n}");
        let p = app
            .post(
                "/signup",
                &[
                    ("kind", "business"),
                    ("tax_code", "0100109107"),
                    ("full_name", "Công ty A"),
                    ("password", "Hoa sen nở giữa hồ"),
                    ("password2", "Hoa sen nở giữa hồ"),
                ],
            )
            .await;
        assert!(p.has("sai chữ số kiểm tra"), "{n}");

        // Without the CSRF token: refused, nothing changes.
        let p = app.post_raw("/signup", "kind=citizen&personal_id=001303012345&full_name=X&birth_date=01/02/2003&password=Hoa+sen+n%E1%BB%9F+gi%E1%BB%AFa+h%E1%BB%93&password2=Hoa+sen+n%E1%BB%9F+gi%E1%BB%AFa+h%E1%BB%93").await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{n}");
        assert!(p.has("Biểu mẫu đã hết hạn"), "{n}");

        let p = app
            .post(
                "/signup",
                &[
                    ("kind", "citizen"),
                    ("personal_id", "001 303 012 345"),
                    ("full_name", "Lê Thị Hoa"),
                    ("birth_date", "01/02/2003"),
                    ("email", "hoa@example.vn"),
                    ("password", "Hoa sen nở giữa hồ"),
                    ("password2", "Hoa sen nở giữa hồ"),
                ],
            )
            .await;
        assert_eq!((p.status, p.location()), (StatusCode::SEE_OTHER, "/account?welcome=1"), "{n}: {}", p.body);
        let session1 = app.cookies["tl_session"].clone();
        let acc = app.get("/account?welcome=1").await;
        assert!(acc.has("Lê Thị Hoa") && acc.has("001303012345") && acc.has("Tài khoản của bạn đã được tạo"), "{n}");
        let s = acc.headers.get_all(header::SET_COOKIE).iter().count();
        assert_eq!(s, 0, "{n}: no cookie churn on ordinary pages");

        // Sign out ends the session; the old cookie no longer works.
        let p = app.post("/signout", &[]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}");
        app.cookies.insert("tl_session".into(), session1.clone());
        let p = app.get("/account").await;
        assert_eq!(p.location(), "/signin?next=/account", "{n}");

        // Sign in rotates the session id.
        let p = app.sign_in("001303012345", "Hoa sen nở giữa hồ").await;
        assert_eq!((p.status, p.location()), (StatusCode::SEE_OTHER, "/account"), "{n}");
        assert_ne!(app.cookies["tl_session"], session1, "{n}");
        let cookie = p
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|c| c.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("tl_session="))
            .unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{n}: {cookie}");
        app.post("/signout", &[]).await;

        // Wrong passwords lock the account; then even the right one waits.
        for _ in 0..5 {
            let p = app.sign_in("001303012345", "sai mật khẩu rồi").await;
            assert!(p.has("Thông tin đăng nhập không đúng") || p.has("tạm thời bị khóa"), "{n}");
        }
        let p = app.sign_in("001303012345", "Hoa sen nở giữa hồ").await;
        assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS, "{n}");
        assert!(p.has("tạm thời bị khóa"), "{n}");
        // An unknown login gets the same answer as a wrong password.
        let p = app.sign_in("001203999999", "Hoa sen nở giữa hồ").await;
        assert!(p.has("Thông tin đăng nhập không đúng"), "{n}");
        // The audit trail saw it all.
        let mut r = app.db.read().await.unwrap();
        let actions: Vec<String> = r.list_audit(Some("account"), None, 100).await.unwrap().into_iter().map(|a| a.action).collect();
        assert!(
            actions.contains(&"account.signup".to_string()) && actions.iter().filter(|a| *a == "account.signin_failed").count() >= 5,
            "{n}: {actions:?}"
        );
    }
}

#[tokio::test]
async fn administrators_manage_agencies_units_procedures_and_officers_with_least_privilege() {
    use tl_core::account::Role;
    for mut app in apps().await {
        let n = app.name;
        app.add_officer("quantri", "Quản trị viên thử nghiệm", "H26", &[Role::Admin]).await;
        app.add_officer("motcua", "Một cửa thử nghiệm 1", "H26.31", &[Role::Reception]).await;

        // An officer without the admin role cannot open the admin pages.
        app.sign_in("motcua", "Một cửa thử nghiệm 1").await;
        assert_eq!(app.get("/admin/agencies").await.status, StatusCode::FORBIDDEN, "{n}");
        let p = app
            .post(
                "/admin/agencies",
                &[("electronic_id", "H26.99"), ("name_vi", "X"), ("level", "commune"), ("parent", "H26"), ("valid_from", "2026-01-01")],
            )
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{n}");
        app.post("/signout", &[]).await;
        // Anonymous: asked to sign in.
        assert_eq!(app.get("/admin/agencies").await.status, StatusCode::UNAUTHORIZED, "{n}");

        app.sign_in("quantri", "Quản trị viên thử nghiệm").await;
        // A malformed electronic ID and one that does not extend its parent: refused with reasons.
        let p = app
            .post(
                "/admin/agencies",
                &[
                    ("electronic_id", "h26.99"),
                    ("name_vi", "UBND phường Mới"),
                    ("level", "commune"),
                    ("parent", "H26"),
                    ("valid_from", "01/01/2026"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(p.has("Mã định danh điện tử của cơ quan phải gồm"), "{n}");
        let p = app
            .post(
                "/admin/agencies",
                &[
                    ("electronic_id", "H27.99"),
                    ("name_vi", "UBND phường Mới"),
                    ("level", "commune"),
                    ("parent", "H26"),
                    ("valid_from", "01/01/2026"),
                ],
            )
            .await;
        assert!(p.has("phải bắt đầu bằng mã cơ quan cấp trên"), "{n}");
        let p = app
            .post(
                "/admin/agencies",
                &[
                    ("electronic_id", "H26.99"),
                    ("name_vi", "UBND phường Mới"),
                    ("level", "commune"),
                    ("parent", "H26"),
                    ("admin_unit", "00004"),
                    ("valid_from", "01/01/2026"),
                ],
            )
            .await;
        assert_eq!((p.status, p.location()), (StatusCode::SEE_OTHER, "/admin/agencies"), "{n}: {}", p.body);
        assert!(app.get("/agencies").await.has("UBND phường Mới"), "{n}");

        // Administrative units keep history.
        let p = app
            .post(
                "/admin/units",
                &[
                    ("code", "00009"),
                    ("name_vi", "Phường Thử"),
                    ("kind", "ward"),
                    ("parent", "01"),
                    ("valid_from", "2025-07-01"),
                    ("valid_to", "2025-06-01"),
                ],
            )
            .await;
        assert!(p.has("Ngày hết hiệu lực phải sau ngày bắt đầu hiệu lực"), "{n}");
        let p = app
            .post(
                "/admin/units",
                &[("code", "00009"), ("name_vi", "Phường Thử"), ("kind", "ward"), ("parent", "01"), ("valid_from", "2025-07-01")],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);

        // A procedure edit is a new version from its effective date; the old one stays readable.
        let form = app.get("/admin/procedures/1.001193/edit").await;
        assert_eq!(form.status, StatusCode::OK, "{n}");
        let body_start = form.body.find("spellcheck=\"false\" aria-describedby=\"body-hint\">").unwrap();
        let text = &form.body[body_start..];
        let text = &text[text.find('>').unwrap() + 1..text.find("</textarea>").unwrap()];
        let text = text
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#x2f;", "/")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
        let edited = text.replacen("Đăng ký khai sinh", "Đăng ký khai sinh (mẫu mới)", 1);
        let past = app.post("/admin/procedures/1.001193", &[("effective_from", "2020-01-01"), ("body", &edited), ("action", "save")]).await;
        assert!(past.has("không được trước hôm nay"), "{n}");
        let broken = edited.replacen("field: ho-tich", "field: khong-co", 1);
        let p = app.post("/admin/procedures/1.001193", &[("effective_from", "2099-01-01"), ("body", &broken), ("action", "save")]).await;
        assert!(p.has("Lĩnh vực `khong-co` không tồn tại") && p.has("Dòng"), "{n}");
        let preview =
            app.post("/admin/procedures/1.001193", &[("effective_from", "2099-01-01"), ("body", &edited), ("action", "preview")]).await;
        assert!(preview.has("Xem trước (chưa lưu)") && preview.has("Đăng ký khai sinh (mẫu mới)"), "{n}");
        let p = app.post("/admin/procedures/1.001193", &[("effective_from", "2099-01-01"), ("body", &edited), ("action", "save")]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        let now = app.get("/procedures/1.001193").await;
        assert!(now.has("Đăng ký khai sinh") && !now.has("(mẫu mới)"), "{n}: the new version is not in force before 2099");
        let future = app.get(p.location()).await;
        assert!(future.has("(mẫu mới)") && future.has("01/01/2099"), "{n}");

        // Officers: created with roles at an agency; disabling ends their sessions.
        let p = app
            .post(
                "/admin/accounts",
                &[("login", "Bad Name"), ("display_name", "X"), ("agency", "H26.31"), ("password", "Mật khẩu đủ dài 123")],
            )
            .await;
        assert!(p.has("Tên đăng nhập phải dài 3–32 ký tự"), "{n}");
        let p = app
            .post(
                "/admin/accounts",
                &[
                    ("login", "chuyenvien.badinh"),
                    ("display_name", "Phạm Văn Chung"),
                    ("agency", "H26.31"),
                    ("role_specialist", "on"),
                    ("password", "Mật khẩu đủ dài 123"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        let detail = app.get(p.location()).await;
        assert!(detail.has("Chuyên viên") && detail.has("H26.31"), "{n}");
        let admin_cookies = app.cookies.clone();
        app.cookies.clear();
        app.sign_in("chuyenvien.badinh", "Mật khẩu đủ dài 123").await;
        assert_eq!(app.get("/account").await.status, StatusCode::OK, "{n}");
        let officer_cookies = std::mem::replace(&mut app.cookies, admin_cookies);
        let id = p.location().rsplit('/').next().unwrap().to_owned();
        let p = app.post(&format!("/admin/accounts/{id}/status"), &[("status", "disabled")]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}");
        app.cookies = officer_cookies;
        let p = app.get("/account").await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: the disabled officer is signed out at once");
        let p = app.sign_in("chuyenvien.badinh", "Mật khẩu đủ dài 123").await;
        assert!(p.has("đã bị vô hiệu hóa"), "{n}");
    }
}

#[tokio::test]
async fn json_api_with_tokens_problem_details_and_an_openapi_document_for_every_route() {
    for mut app in apps().await {
        let n = app.name;
        let p = app.api("/api/v1/procedures?q=dang%20ky%20khai%20sinh&per_page=5", None).await;
        assert_eq!(p.status, StatusCode::OK, "{n}");
        let j = p.json();
        assert_eq!(j["items"][0]["code"], "1.001193", "{n}");
        assert_eq!(j["items"][0]["level_code"], 4, "{n}");
        assert!(j["total"].as_i64().unwrap() >= 3, "{n}");
        let p = app.api("/api/v1/procedures?field=xay-dung&page=1", None).await;
        assert!(p.json()["items"].as_array().unwrap().iter().all(|i| i["field"] == "xay-dung"), "{n}");
        let p = app.api("/api/v1/procedures/1.004222?date=2025-12-31", None).await;
        assert_eq!(p.json()["version"], 1, "{n}");
        assert_eq!(p.json()["fees"][0]["online"]["amount"], 10000, "{n}");

        // Errors: problem+json with a stable code, in Vietnamese unless asked otherwise.
        for (path, status, code) in [
            ("/api/v1/procedures/9.999999", 404, "not_found"),
            ("/api/v1/procedures/bad", 400, "procedure_code_format"),
            ("/api/v1/procedures?page=-1", 400, "bad_page"),
            ("/api/v1/procedures?per_page=1000", 400, "bad_per_page"),
            ("/api/v1/procedures?level=level5", 400, "bad_level"),
            ("/api/v1/procedures/1.001193?date=31-12-2025", 400, "bad_date"),
            ("/api/v1/nope", 404, "not_found"),
        ] {
            let p = app.api(path, None).await;
            assert_eq!(p.status.as_u16(), status, "{n} {path}: {}", p.body);
            assert_eq!(p.headers[header::CONTENT_TYPE], "application/problem+json", "{n} {path}");
            assert_eq!(p.json()["code"], code, "{n} {path}");
        }
        let req = Request::get("/api/v1/procedures/9.999999").header(header::ACCEPT_LANGUAGE, "en-US").body(Body::empty()).unwrap();
        let p = app.send(req).await;
        assert_eq!(p.json()["title"], "Page not found", "{n}");

        // Tokens: only the hash is stored; a bad or revoked token is refused even on public routes.
        let p = app.api("/api/v1/me", None).await;
        assert_eq!((p.status, p.json()["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")), "{n}");
        app.add_officer("api.user", "Mật khẩu cho API 2026", "H26", &[tl_core::account::Role::Monitor]).await;
        app.sign_in("api.user", "Mật khẩu cho API 2026").await;
        let page = app.post("/account/tokens", &[("name", "tích hợp"), ("days", "30")]).await;
        assert_eq!(page.status, StatusCode::OK, "{n}");
        let start = page.body.find("value=\"tl_").unwrap() + 7;
        let token = page.body[start..start + 46].to_owned();
        let p = app.api("/api/v1/me", Some(&token)).await;
        assert_eq!(p.status, StatusCode::OK, "{n}: {}", p.body);
        assert_eq!(p.json()["login"], "api.user", "{n}");
        assert_eq!(p.json()["roles"][0], "monitor@H26", "{n}");
        let mut r = app.db.read().await.unwrap();
        let stored = r.find_api_token(&tl_web::sha256_hex(&token), chrono::Utc::now()).await.unwrap().unwrap().0;
        drop(r);
        assert!(!format!("{stored:?}").contains(&token), "{n}");
        let p = app.api("/api/v1/procedures", Some("tl_not-a-real-token-at-all-000000000000000000000")).await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "{n}");
        app.post(&format!("/account/tokens/{}/revoke", stored.id), &[]).await;
        assert_eq!(app.api("/api/v1/me", Some(&token)).await.status, StatusCode::UNAUTHORIZED, "{n}");

        // The OpenAPI 3.1 document describes every route, and every described route exists.
        let doc = app.api("/api/openapi.json", None).await.json();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{n}");
        let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
        for route in tl_web::api::DOCUMENTED {
            assert!(paths.iter().any(|p| p == route), "{n}: {route} is not documented");
        }
        for p in &paths {
            assert!(tl_web::api::DOCUMENTED.contains(&p.as_str()), "{n}: {p} is documented but not checked");
            // A routed path answers an unsupported method with 405; an unknown path with 404.
            let concrete = p.replace("{code}", "1.001193").replace("{id}", "1");
            let status = app.send(Request::builder().method("PATCH").uri(&concrete).body(Body::empty()).unwrap()).await.status;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{n}: {p} is documented but not routed");
        }
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object(), "{n}");
    }
}

#[tokio::test]
async fn bad_requests_get_clear_4xx_and_operations_endpoints_work() {
    for mut app in apps().await {
        let n = app.name;
        // Oversized form body: 413, with a message.
        app.get("/").await;
        let big = format!("csrf={}&login={}", app.cookies["tl_csrf"], "x".repeat(2 * 1024 * 1024));
        let p = app.post_raw("/signin", &big).await;
        assert_eq!(p.status, StatusCode::PAYLOAD_TOO_LARGE, "{n}");
        assert!(p.has("Dữ liệu gửi lên quá lớn"), "{n}");
        // Wrong content type: 415.
        let req = Request::post("/signin")
            .header(header::COOKIE, app.cookie_header())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        assert_eq!(app.send(req).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{n}");
        // Wrong method: 405.
        let req = Request::delete("/procedures").body(Body::empty()).unwrap();
        assert_eq!(app.send(req).await.status, StatusCode::METHOD_NOT_ALLOWED, "{n}");

        let p = app.get("/procedures?q=khai+sinh").await;
        let csp = p.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{n}");
        assert!(p.headers.contains_key("x-request-id"), "{n}");

        assert_eq!(app.get("/healthz").await.body, "ok\n", "{n}");
        let r = app.get("/readyz").await;
        assert_eq!((r.status, r.json()["database"].as_str()), (StatusCode::OK, Some(n)), "{n}");
        let m = app.get("/metrics").await;
        assert!(m.has("thanglong_http_requests_total{method=\"GET\",route=\"/procedures\",status=\"200\"}"), "{n}");
        assert!(m.has("thanglong_database_up 1"), "{n}");

        // The database disappears: what needs it answers 503 with a calm message and readiness
        // fails; catalog search keeps working from today's in-memory index, even past its
        // freshness window.
        app.db.close().await;
        let p = app.get("/procedures/1.001193").await;
        assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE, "{n}: {}", p.body);
        assert!(p.has("Hệ thống tạm thời gián đoạn") && p.headers.contains_key(header::RETRY_AFTER), "{n}");
        let p = app.api("/api/v1/procedures/1.001193", None).await;
        assert_eq!((p.status, p.json()["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("service_unavailable")), "{n}");
        let p = app.post("/signin", &[("login", "admin"), ("password", "không quan trọng")]).await;
        assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE, "{n}");
        assert_eq!(app.get("/readyz").await.status, StatusCode::SERVICE_UNAVAILABLE, "{n}");
        tokio::time::sleep(tl_web::catalog::MAX_STALENESS).await;
        let p = app.get("/procedures?q=khai+sinh").await;
        assert_eq!(p.status, StatusCode::OK, "{n}");
        assert_eq!(titles(&p).first().map(String::as_str), Some("Đăng ký khai sinh"), "{n}");
    }
}

#[tokio::test]
async fn search_follows_catalog_writes_made_elsewhere_and_agrees_with_the_database_engine() {
    for mut app in apps().await {
        let n = app.name;
        // The in-memory engine and the database's full-text engine agree on the issue's queries.
        for q in ["dang ky khai sinh", "khai sinh", "ĐĂNG KÝ KẾT HÔN", "giay phep xay dung", "thuong tru", "chung thuc"] {
            let terms = tl_core::text::terms(q);
            let query = tl_storage::SearchQuery { terms, day: tl_web::portal::today(), page: 1, per_page: 5, ..Default::default() };
            let db_top: Vec<String> =
                app.db.read().await.unwrap().search_procedures(&query).await.unwrap().items.into_iter().map(|i| i.code).collect();
            let api = app.api(&format!("/api/v1/procedures?per_page=5&q={}", q.replace(' ', "%20")), None).await.json();
            let mem_top: Vec<String> = api["items"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap().to_owned()).collect();
            assert_eq!(mem_top.first(), db_top.first(), "{n} {q}: memory {mem_top:?} vs database {db_top:?}");
            assert_eq!(
                api["total"].as_i64().unwrap(),
                app.db.read().await.unwrap().search_procedures(&query).await.unwrap().total,
                "{n} {q}"
            );
        }
        // Another app server (or the CLI) publishes a version: this server sees it within a second.
        let before = app.get("/procedures?q=khai+tu").await;
        assert!(!before.has("(bản mới)"), "{n}");
        let mut r = app.db.read().await.unwrap();
        let d = r.get_procedure("1.000656", tl_web::portal::today(), None).await.unwrap().unwrap();
        drop(r);
        let mut v = d.version.clone();
        v.effective_from = tl_web::portal::today();
        v.name.vi = format!("{} (bản mới)", v.name.vi);
        let mut w = app.db.begin().await.unwrap();
        if d.version.effective_from == v.effective_from {
            panic!("seed version already effective today");
        }
        w.add_procedure_version("1.000656", &v, None, chrono::Utc::now()).await.unwrap();
        w.commit().await.unwrap();
        tokio::time::sleep(tl_web::catalog::MAX_STALENESS + std::time::Duration::from_millis(200)).await;
        let after = app.get("/procedures?q=khai+tu").await;
        assert!(after.has("(bản mới)"), "{n}: {:?}", titles(&after));
    }
}

impl App {
    /// A citizen with a personal API token; returns (account id, token).
    async fn citizen_with_token(&self, login: &str) -> (i64, String) {
        self.citizen_account(login, None, None).await
    }

    /// A citizen ("Lê Thị Hoa") with an API token, and optionally a mail address and password.
    async fn citizen_account(&self, login: &str, email: Option<&str>, password: Option<&str>) -> (i64, String) {
        let now = chrono::Utc::now();
        let mut w = self.db.begin().await.unwrap();
        let a = w
            .create_account(
                &tl_storage::NewAccount {
                    kind: tl_core::account::AccountKind::Citizen,
                    login: login.into(),
                    display_name: "Lê Thị Hoa".into(),
                    email: email.map(str::to_owned),
                    phone: None,
                    password_hash: password.map(|p| tl_web::hash_password(p).unwrap()),
                    agency_id: None,
                },
                now,
            )
            .await
            .unwrap();
        let token = tl_web::new_token("tl_");
        w.create_api_token(&tl_storage::NewApiToken {
            account_id: a.id,
            name: "test".into(),
            token_hash: tl_web::sha256_hex(&token),
            prefix: token[..10].into(),
            created_at: now,
            expires_at: None,
        })
        .await
        .unwrap();
        w.commit().await.unwrap();
        (a.id, token)
    }

    async fn json(&mut self, method: &str, path: &str, token: &str, body: &str, key: Option<&str>) -> Page {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(k) = key {
            b = b.header("idempotency-key", k);
        }
        self.send(b.body(Body::from(body.to_owned())).unwrap()).await
    }
}

#[tokio::test]
async fn citizens_file_dossiers_through_the_api_and_anyone_can_track_status_by_code() {
    for mut app in apps().await {
        let n = app.name;
        // Birth registration gets a (small) online form from today.
        let form: tl_core::form::FormDef = serde_json::from_value(serde_json::json!({"steps": [{
            "key": "child", "title": {"vi": "Người được khai sinh"},
            "fields": [
                {"key": "child_name", "label": {"vi": "Họ và tên", "en": "Full name"}, "required": true, "type": {"kind": "text", "max_length": 100}},
                {"key": "birth_date", "label": {"vi": "Ngày sinh", "en": "Date of birth"}, "required": true, "type": {"kind": "date", "not_future": true}},
                {"key": "father_known", "label": {"vi": "Có thông tin người cha"}, "required": true, "type": {"kind": "radio", "options": [{"value": "yes", "label": {"vi": "Có"}}, {"value": "no", "label": {"vi": "Không"}}]}},
                {"key": "father_name", "label": {"vi": "Họ tên cha", "en": "Father's name"}, "required_if": {"field": "father_known", "equals": "yes"}, "type": {"kind": "text"}}
            ]}]}))
        .unwrap();
        let today = tl_web::portal::today();
        let mut r = app.db.read().await.unwrap();
        let current = r.get_procedure("1.001193", today, None).await.unwrap().unwrap();
        drop(r);
        if current.version.effective_from != today {
            let mut v = current.version.clone();
            v.effective_from = today;
            v.form = Some(form);
            let mut w = app.db.begin().await.unwrap();
            w.add_procedure_version("1.001193", &v, None, chrono::Utc::now()).await.unwrap();
            w.commit().await.unwrap();
            app.db.read().await.unwrap();
        }
        tokio::time::sleep(tl_web::catalog::MAX_STALENESS).await;
        let (_, token) = app.citizen_with_token("001303012345").await;
        let (_, other) = app.citizen_with_token("001303099999").await;

        let schema = app.api("/api/v1/procedures/1.001193/form", None).await;
        assert_eq!(schema.status, StatusCode::OK, "{n}: {}", schema.body);
        assert_eq!(schema.json()["json_schema"]["additionalProperties"], false, "{n}");

        // Anonymous, wrong content type, malformed JSON, unknown fields, wrong agency: clear 4xx.
        let body = r#"{"procedure": "1.001193", "agency": "H26.31", "answers": {"child_name": "Lê Minh An"}}"#;
        assert_eq!(
            app.send(Request::post("/api/v1/dossiers").header(header::CONTENT_TYPE, "application/json").body(Body::from(body)).unwrap())
                .await
                .status,
            StatusCode::UNAUTHORIZED,
            "{n}"
        );
        let p = app
            .send(
                Request::post("/api/v1/dossiers")
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(header::CONTENT_TYPE, "text/plain")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(p.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{n}");
        let p = app.json("POST", "/api/v1/dossiers", &token, "{\"procedure\": ", None).await;
        assert_eq!((p.status, p.json()["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_json")), "{n}");
        let p = app.json("POST", "/api/v1/dossiers", &token, r#"{"procedure": "1.001193", "agency": "H26.31", "extra": 1}"#, None).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(p.json()["detail"].as_str().unwrap().contains("extra"), "{n}: {}", p.body);
        let p = app.json("POST", "/api/v1/dossiers", &token, r#"{"procedure": "1.001193", "agency": "H26.12"}"#, None).await;
        assert_eq!(p.json()["code"], "wrong_agency", "{n}");

        // A draft; the same Idempotency-Key again gives the same draft.
        let p = app.json("POST", "/api/v1/dossiers", &token, body, Some("k-1")).await;
        assert_eq!(p.status, StatusCode::CREATED, "{n}: {}", p.body);
        let draft = p.json();
        let id = draft["id"].as_i64().unwrap();
        assert_eq!((draft["status"].as_str(), draft["code"].is_null()), (Some("draft"), true), "{n}");
        let again = app.json("POST", "/api/v1/dossiers", &token, body, Some("k-1")).await;
        assert_eq!(again.json()["id"].as_i64(), Some(id), "{n}");

        // Submitting incomplete answers: 422 listing every problem by field.
        let p = app.json("POST", &format!("/api/v1/dossiers/{id}/submit"), &token, r#"{"revision": 1}"#, None).await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{n}: {}", p.body);
        let fields: Vec<String> = p.json()["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect();
        assert_eq!(fields, ["birth_date", "father_known"], "{n}");
        assert!(p.json()["errors"][0]["message"].as_str().unwrap().contains("Vui lòng nhập ngày sinh"), "{n}");

        // Save the rest; a stale revision is refused.
        let answers = r#"{"revision": 1, "answers": {"child_name": "Lê Minh An", "birth_date": "2026-11-20", "father_known": "yes"}}"#;
        let p = app.json("PUT", &format!("/api/v1/dossiers/{id}"), &token, answers, None).await;
        assert_eq!((p.status, p.json()["revision"].as_i64()), (StatusCode::OK, Some(2)), "{n}: {}", p.body);
        let p = app.json("PUT", &format!("/api/v1/dossiers/{id}"), &token, answers, None).await;
        assert_eq!(p.status, StatusCode::CONFLICT, "{n}");
        // The father's name is required once the father is known.
        let p = app.json("POST", &format!("/api/v1/dossiers/{id}/submit"), &token, r#"{"revision": 2}"#, None).await;
        assert_eq!(p.json()["errors"][0]["field"], "father_name", "{n}");
        let p = app
            .json("PUT", &format!("/api/v1/dossiers/{id}"), &token, r#"{"revision": 2, "answers": {"child_name": "Lê Minh An", "birth_date": "2026-11-20", "father_known": "yes", "father_name": "Lê Văn Bình"}}"#, None)
            .await;
        assert_eq!(p.status, StatusCode::OK, "{n}");

        // Filed: a legal code and status 1; a retry returns the same filing.
        let p = app.json("POST", &format!("/api/v1/dossiers/{id}/submit"), &token, r#"{"revision": 3}"#, None).await;
        assert_eq!(p.status, StatusCode::OK, "{n}: {}", p.body);
        let filed = p.json();
        let code = filed["code"].as_str().unwrap().to_owned();
        let parsed = tl_core::dossier::DossierCode::parse(&code).unwrap();
        assert_eq!((parsed.agency.as_str(), parsed.day, parsed.serial), ("H26.31", today, 1), "{n}: {code}");
        assert_eq!((filed["status_code"].as_i64(), filed["status_label"].as_str()), (Some(1), Some("Mới đăng ký")), "{n}");
        let retry = app.json("POST", &format!("/api/v1/dossiers/{id}/submit"), &token, r#"{"revision": 3}"#, None).await;
        assert_eq!(retry.json()["code"].as_str(), Some(code.as_str()), "{n}");
        let p = app.json("DELETE", &format!("/api/v1/dossiers/{id}"), &token, "", None).await;
        assert_eq!(p.status, StatusCode::CONFLICT, "{n}: a filed dossier is never deleted");

        // My dossiers and their events; someone else sees nothing.
        let mine = app.api("/api/v1/dossiers", Some(&token)).await.json();
        assert_eq!(mine.as_array().unwrap().len(), 1, "{n}");
        assert_eq!(mine[0]["code"].as_str(), Some(code.as_str()), "{n}");
        let one = app.api(&format!("/api/v1/dossiers/{id}"), Some(&token)).await.json();
        let kinds: Vec<&str> = one["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["created", "submitted"], "{n}");
        assert_eq!(app.api(&format!("/api/v1/dossiers/{id}"), Some(&other)).await.status, StatusCode::NOT_FOUND, "{n}");
        assert_eq!(app.api("/api/v1/dossiers", Some(&other)).await.json().as_array().unwrap().len(), 0, "{n}");

        // Public lookup: status and dates only, and the same answer for unknown and malformed codes.
        let p = app.get(&format!("/lookup?code={}", code.to_lowercase())).await;
        assert_eq!(p.status, StatusCode::OK, "{n}");
        assert!(p.has("Mới đăng ký") && p.has(&code) && !p.has("Lê Minh An") && !p.has("Lê Văn Bình"), "{n}");
        let unknown = app.get("/lookup?code=H26.31-000101-9999").await;
        let malformed = app.get("/lookup?code=%3Cb%3Exx").await;
        assert_eq!((unknown.status, malformed.status), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND), "{n}");
        assert!(unknown.has("Không tìm thấy hồ sơ với mã này") && malformed.has("Không tìm thấy hồ sơ với mã này"), "{n}");
        // Create and file in one request (complete answers, no uploads); incomplete ones: 422, nothing kept.
        let full = r#"{"procedure": "1.001193", "agency": "H26.31", "submit": true, "answers": {"child_name": "Lê Minh Bảo", "birth_date": "2026-11-01", "father_known": "no"}}"#;
        let p = app.json("POST", "/api/v1/dossiers", &token, full, Some("one-shot")).await;
        assert_eq!((p.status, p.json()["status_code"].as_i64()), (StatusCode::CREATED, Some(1)), "{n}: {}", p.body);
        let second = p.json()["code"].as_str().unwrap().to_owned();
        assert_eq!(tl_core::dossier::DossierCode::parse(&second).unwrap().serial, 2, "{n}");
        let again = app.json("POST", "/api/v1/dossiers", &token, full, Some("one-shot")).await;
        assert_eq!(again.json()["code"].as_str(), Some(second.as_str()), "{n}: a retry files nothing new");
        let before = app.api("/api/v1/dossiers", Some(&token)).await.json().as_array().unwrap().len();
        let p = app
            .json(
                "POST",
                "/api/v1/dossiers",
                &token,
                r#"{"procedure": "1.001193", "agency": "H26.31", "submit": true, "answers": {"child_name": "X"}}"#,
                None,
            )
            .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{n}");
        assert_eq!(app.api("/api/v1/dossiers", Some(&token)).await.json().as_array().unwrap().len(), before, "{n}");
        // A second draft can be deleted.
        let p = app.json("POST", "/api/v1/dossiers", &token, body, None).await;
        let id2 = p.json()["id"].as_i64().unwrap();
        assert_eq!(app.json("DELETE", &format!("/api/v1/dossiers/{id2}"), &token, "", None).await.status, StatusCode::NO_CONTENT, "{n}");
    }
}

#[tokio::test]
async fn dossier_lookups_are_rate_limited() {
    for mut app in apps().await {
        let mut last = StatusCode::OK;
        for i in 0..40 {
            last = app.get(&format!("/lookup?code=H26.31-261126-{i:04}")).await.status;
        }
        assert_eq!(last, StatusCode::TOO_MANY_REQUESTS, "{}", app.name);
    }
}

#[tokio::test]
async fn a_citizen_files_step_by_step_in_the_browser_and_never_loses_a_draft() {
    for mut app in apps().await {
        let n = app.name;
        let form: tl_core::form::FormDef = serde_json::from_value(serde_json::json!({"steps": [
        {"key": "child", "title": {"vi": "Người được khai sinh"}, "fields": [
            {"key": "child_name", "label": {"vi": "Họ và tên"}, "required": true, "type": {"kind": "text", "max_length": 100}},
            {"key": "birth_date", "label": {"vi": "Ngày sinh"}, "required": true, "type": {"kind": "date", "not_future": true}},
            {"key": "siblings", "label": {"vi": "Anh chị em"}, "type": {"kind": "group", "max_items": 3, "fields": [
                {"key": "name", "label": {"vi": "Tên"}, "required": true, "type": {"kind": "text"}}]}}
        ]},
        {"key": "contact", "title": {"vi": "Liên hệ"}, "fields": [
            {"key": "phone", "label": {"vi": "Số điện thoại"}, "required": true, "type": {"kind": "phone"}},
            {"key": "address", "label": {"vi": "Nơi cư trú"}, "required": true, "type": {"kind": "address"}}
        ]}]}))
        .unwrap();
        let today = tl_web::portal::today();
        let mut r = app.db.read().await.unwrap();
        let current = r.get_procedure("1.001193", today, None).await.unwrap().unwrap();
        drop(r);
        let mut v = current.version.clone();
        v.effective_from = today;
        v.form = Some(form);
        if current.version.effective_from != today {
            let mut w = app.db.begin().await.unwrap();
            w.add_procedure_version("1.001193", &v, None, chrono::Utc::now()).await.unwrap();
            w.commit().await.unwrap();
        }
        tokio::time::sleep(tl_web::catalog::MAX_STALENESS).await;
        app.add_officer("nguoi.nop", "Mật khẩu người nộp 2026", "H26", &[]).await;

        // Anonymous: the button leads to sign-in first.
        let page = app.get("/procedures/1.001193").await;
        assert!(page.has("Bắt đầu nộp hồ sơ"), "{n}");
        let p = app.post("/procedures/1.001193/file", &[("agency", "H26.31"), ("idem", "idem-key-123")]).await;
        assert_eq!(p.location(), "/signin?next=/procedures/1.001193", "{n}");
        app.sign_in("nguoi.nop", "Mật khẩu người nộp 2026").await;
        let p = app.post("/procedures/1.001193/file", &[("agency", "H26.31"), ("idem", "idem-key-123")]).await;
        let step0 = p.location().to_owned();
        assert!(step0.ends_with("/edit?step=0"), "{n}: {}", p.location());
        // A double click makes no second draft.
        let p = app.post("/procedures/1.001193/file", &[("agency", "H26.31"), ("idem", "idem-key-123")]).await;
        assert_eq!(p.location(), step0, "{n}");
        let id = step0.split('/').nth(2).unwrap().to_owned();

        let form_page = app.get(&step0).await;
        assert!(
            form_page.has("Bước 1 / 2") && form_page.has("Người được khai sinh") && form_page.has("name=\"revision\" value=\"1\""),
            "{n}"
        );
        // Missing and wrong answers: saved anyway, and a summary links to each field.
        let p = app
            .post(
                &format!("/dossiers/{id}/edit?step=0"),
                &[
                    ("revision", "1"),
                    ("child_name", "Lê Minh An"),
                    ("birth_date", "31/02/2026"),
                    ("siblings.__count", "0"),
                    ("action", "next"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}: {}", p.body);
        assert!(p.has("href=\"#birth_date\"") && p.has("Ngày phải có dạng ngày/tháng/năm"), "{n}");
        assert!(p.has("value=\"Lê Minh An\""), "{n}: what was typed stays");
        // Add a sibling row without JavaScript, then save and leave.
        let p = app
            .post(
                &format!("/dossiers/{id}/edit?step=0"),
                &[
                    ("revision", "2"),
                    ("child_name", "Lê Minh An"),
                    ("birth_date", "20/11/2026"),
                    ("siblings.__count", "0"),
                    ("action", "add:siblings"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        let p = app
            .post(
                &format!("/dossiers/{id}/edit?step=0"),
                &[
                    ("revision", "3"),
                    ("child_name", "Lê Minh An"),
                    ("birth_date", "20/11/2026"),
                    ("siblings.__count", "1"),
                    ("siblings[0].name", "Lê Minh Châu"),
                    ("action", "save_exit"),
                ],
            )
            .await;
        assert_eq!(p.location(), "/dossiers?saved=1", "{n}");
        let mine = app.get("/dossiers?saved=1").await;
        assert!(mine.has("Đã lưu hồ sơ nháp") && mine.has("Bản nháp") && mine.has("Tiếp tục điền"), "{n}");
        // Coming back: everything typed is there.
        let back = app.get(&step0).await;
        assert!(back.has("value=\"Lê Minh Châu\"") && back.has("value=\"20/11/2026\""), "{n}");
        let p = app
            .post(
                &format!("/dossiers/{id}/edit?step=0"),
                &[
                    ("revision", "4"),
                    ("child_name", "Lê Minh An"),
                    ("birth_date", "20/11/2026"),
                    ("siblings.__count", "1"),
                    ("siblings[0].name", "Lê Minh Châu"),
                    ("action", "next"),
                ],
            )
            .await;
        assert_eq!(p.location(), format!("/dossiers/{id}/edit?step=1"), "{n}: {}", p.body);
        let step1 = app.get(p.location()).await;
        assert!(step1.has("Phường Ba Đình") && step1.has("Xã/phường"), "{n}: the commune picker lists real units");
        let p = app
            .post(
                &format!("/dossiers/{id}/edit?step=1"),
                &[
                    ("revision", "5"),
                    ("phone", "0912 345 678"),
                    ("address.province", "01"),
                    ("address.commune", "00004"),
                    ("address.street", "12 Phan Đình Phùng"),
                    ("action", "next"),
                ],
            )
            .await;
        assert_eq!(p.location(), format!("/dossiers/{id}/review"), "{n}: {}", p.body);
        let review = app.get(p.location()).await;
        assert!(
            review.has("Kiểm tra thông tin trước khi nộp")
                && review.has("20/11/2026")
                && review.has("Lê Minh Châu")
                && review.has("Ủy ban nhân dân phường Ba Đình"),
            "{n}"
        );
        // A stale revision (another window) is refused without losing anything.
        let p = app.post(&format!("/dossiers/{id}/edit?step=1"), &[("revision", "1"), ("phone", "0900000000"), ("action", "next")]).await;
        assert_eq!(p.status, StatusCode::CONFLICT, "{n}");

        let p = app.post(&format!("/dossiers/{id}/submit"), &[("revision", "6")]).await;
        assert_eq!(p.location(), format!("/dossiers/{id}?filed=1"), "{n}: {}", p.body);
        let receipt = app.get(p.location()).await;
        assert!(receipt.has("Đã nộp hồ sơ thành công") && receipt.has("Mới đăng ký"), "{n}");
        let code = format!("H26.31-{}-0001", today.format("%y%m%d"));
        assert!(receipt.has(&code), "{n}: {code}");
        assert!(receipt.has(&format!("/dossiers/{id}/receipt.pdf")), "{n}: the acknowledgement links its PDF");
        let pdf = app.get(&format!("/dossiers/{id}/receipt.pdf")).await;
        assert_eq!(pdf.status, StatusCode::OK, "{n}");
        assert_eq!(pdf.headers[header::CONTENT_TYPE], "application/pdf", "{n}");
        let text = pdf_text(&app.get_bytes(&format!("/dossiers/{id}/receipt.pdf")).await);
        if let Some(text) = text {
            for want in [
                "GIẤY XÁC NHẬN NỘP HỒ SƠ",
                code.as_str(),
                "Đăng ký khai sinh",
                "Mới đăng ký",
                "Trực tuyến",
                "Cán bộ nguoi.nop",
                "Ủy ban nhân dân phường Ba Đình",
            ] {
                assert!(text.contains(want), "{n}: {want:?} not in the PDF:\n{text}");
            }
        }
        // Filed: editing now leads to the dossier page; it appears in My dossiers with its code.
        assert_eq!(app.get(&step0).await.location(), format!("/dossiers/{id}"), "{n}");
        assert!(app.get("/dossiers").await.has(&code), "{n}");
        // Someone else cannot see it.
        app.post("/signout", &[]).await;
        app.add_officer("nguoi.khac", "Mật khẩu người khác 2026", "H26", &[]).await;
        app.sign_in("nguoi.khac", "Mật khẩu người khác 2026").await;
        assert_eq!(app.get(&format!("/dossiers/{id}")).await.status, StatusCode::NOT_FOUND, "{n}");
        assert_eq!(app.get(&format!("/dossiers/{id}/receipt.pdf")).await.status, StatusCode::NOT_FOUND, "{n}");
    }
}

/// The text of a PDF as `pdftotext` (poppler-utils) reads it, whitespace collapsed; None (with
/// a message) where poppler is not installed, outside CI.
fn pdf_text(bytes: &[u8]) -> Option<String> {
    let path = std::env::temp_dir().join(format!("tl-receipt-{}-{}.pdf", std::process::id(), tl_web::new_token("")[..8].to_owned()));
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("pdftotext").arg(&path).arg("-").output();
    let _ = std::fs::remove_file(&path);
    match out {
        Ok(o) if o.status.success() => Some(String::from_utf8_lossy(&o.stdout).split_whitespace().collect::<Vec<_>>().join(" ")),
        other if std::env::var_os("CI").is_some() => panic!("pdftotext is needed in CI (poppler-utils): {other:?}"),
        _ => {
            eprintln!("SKIP PDF text check: pdftotext (poppler-utils) is not installed");
            None
        }
    }
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];

impl App {
    async fn upload_api(&mut self, token: &str, id: i64, field: &str, revision: i64, ctype: &str, bytes: Vec<u8>) -> Page {
        let req = Request::post(format!("/api/v1/dossiers/{id}/files?field={field}&revision={revision}&name=giay-chung-sinh.pdf"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, ctype)
            .body(Body::from(bytes))
            .unwrap();
        self.send(req).await
    }

    async fn upload_form(&mut self, id: &str, field: &str, revision: i64, name: &str, ctype: &str, bytes: &[u8]) -> Page {
        let csrf = self.cookies["tl_csrf"].clone();
        self.upload_form_with(&csrf, id, field, revision, name, ctype, bytes).await
    }

    /// The whole step posted with its main button ("Tiếp tục" = next) while a file is chosen.
    async fn step_with_file(&mut self, id: &str, revision: i64, action: &str, name: &str, bytes: &[u8]) -> Page {
        let b = "----tlboundaryStep";
        let csrf = self.cookies["tl_csrf"].clone();
        let mut body = Vec::new();
        for (k, v) in [("csrf", csrf.as_str()), ("revision", &revision.to_string()), ("child_name", "Lê Minh An"), ("action", action)] {
            body.extend_from_slice(format!("--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes());
        }
        body.extend_from_slice(
            format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"file:cert\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
        let req = Request::post(format!("/dossiers/{id}/edit?step=0"))
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={b}"))
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn upload_form_with(&mut self, csrf: &str, id: &str, field: &str, revision: i64, name: &str, ctype: &str, bytes: &[u8]) -> Page {
        let b = "----tlboundary7MA4YWxk";
        let mut body = Vec::new();
        // The whole step form, as the browser sends it when "Tải lên" is pressed.
        let action = format!("upload:{field}");
        for (k, v) in [("csrf", csrf), ("revision", &revision.to_string()), ("child_name", "Lê Minh An"), ("action", &action)] {
            body.extend_from_slice(format!("--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes());
        }
        body.extend_from_slice(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"file:{field}\"; filename=\"{name}\"\r\nContent-Type: {ctype}\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
        let req = Request::post(format!("/dossiers/{id}/files?step=0"))
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={b}"))
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }
}

async fn publish_upload_form(app: &App) {
    let form: tl_core::form::FormDef = serde_json::from_value(serde_json::json!({"steps": [{"key": "docs", "title": {"vi": "Giấy tờ"}, "fields": [
        {"key": "child_name", "label": {"vi": "Họ và tên"}, "required": true, "type": {"kind": "text"}},
        {"key": "cert", "label": {"vi": "Giấy chứng sinh"}, "required": true, "type": {"kind": "file", "component": "giay-chung-sinh", "max_files": 2}}
    ]}]}))
    .unwrap();
    let today = tl_web::portal::today();
    let mut r = app.db.read().await.unwrap();
    let current = r.get_procedure("1.001193", today, None).await.unwrap().unwrap();
    drop(r);
    assert!(current.version.components.iter().any(|c| c.key == "giay-chung-sinh"), "the seed has the component");
    if current.version.effective_from != today {
        let mut v = current.version.clone();
        v.effective_from = today;
        v.form = Some(form);
        let mut w = app.db.begin().await.unwrap();
        w.add_procedure_version("1.001193", &v, None, chrono::Utc::now()).await.unwrap();
        w.commit().await.unwrap();
    }
    tokio::time::sleep(tl_web::catalog::MAX_STALENESS).await;
}

#[tokio::test]
async fn attachments_are_checked_by_content_bounded_and_kept_private() {
    for mut app in apps().await {
        let n = app.name;
        publish_upload_form(&app).await;
        let (_, token) = app.citizen_with_token("001303012345").await;
        let (_, other) = app.citizen_with_token("001303099999").await;
        let p = app
            .json(
                "POST",
                "/api/v1/dossiers",
                &token,
                r#"{"procedure": "1.001193", "agency": "H26.31", "answers": {"child_name": "Lê Minh An"}}"#,
                None,
            )
            .await;
        let id = p.json()["id"].as_i64().unwrap();

        // The content decides: PNG bytes sent as a PDF, text sent as a PDF, empty, too large.
        let p = app.upload_api(&token, id, "cert", 1, "application/pdf", PNG.to_vec()).await;
        assert_eq!((p.status, p.json()["code"].as_str()), (StatusCode::BAD_REQUEST, Some("wrong_file_type")), "{n}: {}", p.body);
        let p = app.upload_api(&token, id, "cert", 1, "application/pdf", b"hello, not a pdf".to_vec()).await;
        assert_eq!(p.json()["code"], "wrong_file_type", "{n}");
        let p = app.upload_api(&token, id, "cert", 1, "application/pdf", vec![]).await;
        assert_eq!(p.json()["code"], "empty_file", "{n}");
        let mut big = PDF.to_vec();
        big.resize(300 * 1024, b' ');
        let p = app.upload_api(&token, id, "cert", 1, "application/pdf", big).await;
        assert_eq!((p.status, p.json()["code"].as_str()), (StatusCode::BAD_REQUEST, Some("file_too_large")), "{n}");
        let p = app.upload_api(&token, id, "nope", 1, "application/pdf", PDF.to_vec()).await;
        assert_eq!(p.json()["code"], "unknown_file_field", "{n}");
        let p = app.upload_api(&other, id, "cert", 1, "application/pdf", PDF.to_vec()).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{n}: someone else's dossier");
        // Nothing above changed the draft; submitting now says the certificate is missing.
        let p = app.json("POST", &format!("/api/v1/dossiers/{id}/submit"), &token, r#"{"revision": 1}"#, None).await;
        assert_eq!(p.json()["errors"][0]["field"], "cert", "{n}: {}", p.body);

        let p = app.upload_api(&token, id, "cert", 1, "application/pdf", PDF.to_vec()).await;
        assert_eq!(p.status, StatusCode::CREATED, "{n}: {}", p.body);
        let f = p.json();
        assert_eq!(f["sha256"].as_str().unwrap(), hex_sha256(PDF), "{n}");
        // A stale revision after the upload: refused.
        let p = app.upload_api(&token, id, "cert", 1, "image/png", PNG.to_vec()).await;
        assert_eq!(p.status, StatusCode::CONFLICT, "{n}");
        let p = app.json("POST", &format!("/api/v1/dossiers/{id}/submit"), &token, r#"{"revision": 2}"#, None).await;
        assert_eq!(p.status, StatusCode::OK, "{n}: {}", p.body);
        assert!(p.json()["code"].as_str().is_some(), "{n}");
        // Filed: no more uploads.
        let p = app.upload_api(&token, id, "cert", 3, "application/pdf", PDF.to_vec()).await;
        assert_eq!(p.status, StatusCode::CONFLICT, "{n}");
    }
}

fn hex_sha256(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

#[tokio::test]
async fn citizens_upload_in_the_browser_view_their_files_and_stale_uploads_are_cleaned_up() {
    for mut app in apps().await {
        let n = app.name;
        publish_upload_form(&app).await;
        app.add_officer("nguoi.nop", "Mật khẩu người nộp 2026", "H26", &[]).await;
        app.sign_in("nguoi.nop", "Mật khẩu người nộp 2026").await;
        let p = app.post("/procedures/1.001193/file", &[("agency", "H26.31"), ("idem", "idem-key-999")]).await;
        let id = p.location().split('/').nth(2).unwrap().to_owned();
        let step = app.get(&format!("/dossiers/{id}/edit?step=0")).await;
        assert!(step.has("enctype=\"multipart/form-data\"") && step.has("type=\"file\"") && step.has("Tải lên"), "{n}");
        // A file chosen and "Tiếp tục" pressed (no "Tải lên"): uploaded too, and on to the review
        // (in a second draft, so the rest of this test keeps its revisions).
        let p = app.post("/procedures/1.001193/file", &[("agency", "H26.31"), ("idem", "idem-key-998")]).await;
        let id2 = p.location().split('/').nth(2).unwrap().to_owned();
        let p = app.step_with_file(&id2, 1, "next", "chon-roi-tiep-tuc.pdf", PDF).await;
        assert_eq!((p.status, p.location()), (StatusCode::SEE_OTHER, format!("/dossiers/{id2}/review").as_str()), "{n}: {}", p.body);
        assert!(app.get(&format!("/dossiers/{id2}/review")).await.has("chon-roi-tiep-tuc.pdf"), "{n}: the review lists the file");
        let files = app.db.read().await.unwrap().list_dossier_files(id2.parse().unwrap()).await.unwrap();
        assert_eq!(files.len(), 1, "{n}");
        // Removing it through the (multipart) step form works the same.
        let p = app.step_with_file(&id2, 2, &format!("remove_file:{}", files[0].id), "", b"").await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        assert!(app.db.read().await.unwrap().list_dossier_files(id2.parse().unwrap()).await.unwrap().is_empty(), "{n}");

        let p = app.upload_form(&id, "cert", 1, "Giấy chứng sinh.pdf", "application/pdf", PDF).await;
        assert_eq!((p.status, p.location()), (StatusCode::SEE_OTHER, format!("/dossiers/{id}/edit?step=0").as_str()), "{n}: {}", p.body);
        let step = app.get(&format!("/dossiers/{id}/edit?step=0")).await;
        assert!(step.has("Giấy chứng sinh.pdf"), "{n}");
        let href = step.body.split("href=\"/files/").nth(1).unwrap();
        let fid = href[..href.find('"').unwrap()].to_owned();
        let file = app.get(&format!("/files/{fid}")).await;
        assert_eq!((file.status, file.headers[header::CONTENT_TYPE].to_str().unwrap()), (StatusCode::OK, "application/pdf"), "{n}");
        assert_eq!(file.body.as_bytes(), PDF, "{n}");
        // A lying file through the browser: the step comes back with the reason beside the field,
        // and what was typed is kept.
        let p = app.upload_form(&id, "cert", 2, "anh.pdf", "application/pdf", PNG).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(
            p.has("Nội dung tệp không phải PDF, JPEG, PNG") && p.has("href=\"#cert\"") && p.has("value=\"Lê Minh An\""),
            "{n}: {}",
            p.body
        );
        // A form token that is not the visitor's: refused.
        let p = app.upload_form_with(&"x".repeat(43), &id, "cert", 3, "b.pdf", "application/pdf", PDF).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{n}");

        // Another account cannot read it.
        let mine = app.cookies.clone();
        app.cookies.clear();
        app.add_officer("nguoi.khac", "Mật khẩu người khác 2026", "H26", &[]).await;
        app.sign_in("nguoi.khac", "Mật khẩu người khác 2026").await;
        assert_eq!(app.get(&format!("/files/{fid}")).await.status, StatusCode::NOT_FOUND, "{n}");
        app.cookies = mine;

        // Remove it; then an upload to a draft that is never filed is cleaned up after the retention.
        let remove = format!("remove_file:{fid}");
        let p =
            app.post(&format!("/dossiers/{id}/edit?step=0"), &[("revision", "3"), ("child_name", "Lê Minh An"), ("action", &remove)]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        let step = app.get(&format!("/dossiers/{id}/edit?step=0")).await;
        assert!(!step.has("Giấy chứng sinh.pdf") && step.has("value=\"Lê Minh An\""), "{n}");
        assert_eq!(app.get(&format!("/files/{fid}")).await.status, StatusCode::NOT_FOUND, "{n}: its bytes are gone");
        let p = app.upload_form(&id, "cert", 4, "lan2.pdf", "application/pdf", PDF).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}");
        let state =
            tl_web::state(app.db.clone(), tl_web::WebConfig { upload_retention: chrono::Duration::seconds(-1), ..app_config(&app) });
        let removed = tl_web::uploads::cleanup(&state).await.unwrap();
        assert_eq!(removed, 1, "{n}");
        let step = app.get(&format!("/dossiers/{id}/edit?step=0")).await;
        assert!(!step.has("lan2.pdf"), "{n}: the draft no longer refers to it");
    }
}

/// A configuration sharing the test app's file store.
fn app_config(app: &App) -> tl_web::WebConfig {
    tl_web::WebConfig { files_dir: app.files_dir.clone(), ..Default::default() }
}

/// Validates `value` against a schema of the GovStack specification (its components).
fn govstack_conforms(schema_name: &str, value: &serde_json::Value) {
    let spec: serde_json::Value = serde_json::from_str(include_str!("../assets/govstack/registration-openapi.json")).unwrap();
    let root = serde_json::json!({"$ref": format!("#/components/schemas/{schema_name}"), "components": spec["components"]});
    let v = jsonschema::draft4::new(&root).expect("the spec's schema compiles");
    let errors: Vec<String> = v.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{schema_name}: {errors:?}\n{value:#}");
}

impl App {
    async fn govstack(&mut self, method: &str, path: &str, token: Option<&str>, body: Option<String>) -> Page {
        let mut b = Request::builder().method(method).uri(format!("/govstack/registration{path}"));
        if let Some(t) = token {
            b = b
                .header(header::AUTHORIZATION, format!("Bearer {t}"))
                .header("information-mediator-client", "eGovStack/GOV/90000009/digitalregistries");
        }
        if body.is_some() {
            b = b.header(header::CONTENT_TYPE, "application/json");
        }
        self.send(b.body(body.map(Body::from).unwrap_or_else(Body::empty)).unwrap()).await
    }

    async fn govstack_document(&mut self, token: &str, field: &str, ctype: &str, bytes: &[u8]) -> Page {
        let b = "----gsboundary";
        let mut body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"giay-chung-sinh.pdf\"\r\nContent-Type: {ctype}\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
        let req = Request::post(format!("/govstack/registration/documents?additionalMetadata={field}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={b}"))
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }
}

#[tokio::test]
async fn a_govstack_client_lists_services_reads_eforms_uploads_and_files_applications() {
    for mut app in apps().await {
        let n = app.name;
        publish_upload_form(&app).await;
        let (_, token) = app.citizen_with_token("001303012345").await;
        let (_, other) = app.citizen_with_token("001303099999").await;

        // Services: every one conforms to the spec; the birth registration is findable by name.
        let list = app.govstack("GET", "/services", None, None).await;
        assert_eq!(list.status, StatusCode::OK, "{n}: {}", list.body);
        let services = list.json();
        assert!(services.as_array().unwrap().len() >= 20, "{n}");
        for s in services.as_array().unwrap() {
            govstack_conforms("service", s);
        }
        let found = app.govstack("GET", "/services?name=khai%20sinh", None, None).await.json();
        let birth = found
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["serviceBody"].as_array().unwrap().iter().any(|p| p["code"] == "procedureCode" && p["value"] == "1.001193"))
            .unwrap_or_else(|| panic!("{n}: birth registration by name: {found}"))
            .clone();
        assert_eq!(birth["name"], "Đăng ký khai sinh", "{n}");
        let sid = birth["id"].as_str().unwrap().to_owned();
        assert_eq!(sid.len(), 36, "{n}: a UUID");
        assert_eq!(app.govstack("GET", &format!("/services/{sid}"), None, None).await.json()["id"], sid.as_str(), "{n}");
        assert_eq!(app.govstack("GET", "/services/1.001193", None, None).await.json()["id"], sid.as_str(), "{n}: the code works too");
        let missing = app.govstack("GET", "/services/00000000-0000-8000-8000-000000000000", None, None).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{n}");
        govstack_conforms("systemError", &missing.json());
        assert!(missing.json()["localizedMessage"].as_str().unwrap().contains("không tồn tại"), "{n}: {}", missing.body);

        // E-forms: the form in force, as JSON Schema.
        let forms = app.govstack("GET", &format!("/services/{sid}/eForms"), None, None).await.json();
        let item = &forms.as_array().unwrap()[0];
        govstack_conforms("EFormListItem", item);
        assert_eq!(item["latest"], true, "{n}");
        let fid = item["eFormId"].as_str().unwrap().to_owned();
        let form = app.govstack("GET", &format!("/eForms/{fid}"), None, None).await.json();
        govstack_conforms("EForm", &form);
        assert!(form["schema"]["properties"]["child_name"].is_object() && form["schema"]["properties"]["cert"].is_object(), "{n}: {form}");

        // Documents: checked by content like every upload; anonymous callers are refused.
        let pdf = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
        let lie = app.govstack_document(&token, "cert", "application/pdf", b"MZ\x90\x00 not a pdf").await;
        assert_eq!(lie.status, StatusCode::BAD_REQUEST, "{n}: {}", lie.body);
        assert_eq!(lie.json()["code"], "wrong_file_type", "{n}");
        let anon = app
            .send(
                Request::post("/govstack/registration/documents")
                    .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
                    .body(Body::from("--x--\r\n"))
                    .unwrap(),
            )
            .await;
        assert_eq!(anon.status, StatusCode::UNAUTHORIZED, "{n}");
        let up = app.govstack_document(&token, "cert", "application/pdf", &pdf).await;
        assert_eq!(up.status, StatusCode::OK, "{n}: {}", up.body);
        govstack_conforms("uploadResponse", &up.json());
        let url = up.json()["url"].as_str().unwrap().to_owned();

        // Applications: the mediator header, the applicant, the answers are all checked.
        let submit = |applicant: &str, data: serde_json::Value, docs: &[&str]| {
            serde_json::json!({"applicationName": "Khai sinh cho con", "applicantId": applicant, "agencyId": "H26.31",
                "formData": {"eFormId": fid, "data": data}, "documentUrls": docs})
            .to_string()
        };
        let path = format!("/services/{sid}/applications");
        let good = submit("001303012345", serde_json::json!({"child_name": "Lê Minh An"}), &[&url]);
        let no_header = app
            .send(
                Request::post(format!("/govstack/registration{path}"))
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(good.clone()))
                    .unwrap(),
            )
            .await;
        assert_eq!(no_header.status, StatusCode::BAD_REQUEST, "{n}: {}", no_header.body);
        assert!(no_header.json()["localizedMessage"].as_str().unwrap().contains("Information-Mediator-Client"), "{n}");
        let someone_else =
            app.govstack("POST", &path, Some(&token), Some(submit("001303099999", serde_json::json!({"child_name": "X"}), &[]))).await;
        assert_eq!(someone_else.status, StatusCode::BAD_REQUEST, "{n}: {}", someone_else.body);
        let invalid =
            app.govstack("POST", &path, Some(&token), Some(submit("001303012345", serde_json::json!({"child_name": ""}), &[]))).await;
        assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY, "{n}: {}", invalid.body);
        let invalid = invalid.json();
        let fields: Vec<&str> = invalid["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&"child_name") && fields.contains(&"cert"), "{n}: {fields:?}");
        let malformed = app.govstack("POST", &path, Some(&token), Some("{\"applicantId\": 5".into())).await;
        assert_eq!(malformed.status, StatusCode::BAD_REQUEST, "{n}: {}", malformed.body);
        assert_eq!(app.db.read().await.unwrap().list_dossiers_of(1, 10).await.unwrap().len(), 0, "{n}: refusals changed nothing");

        let filed = app
            .send(
                Request::post(format!("/govstack/registration{path}"))
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header("information-mediator-client", "eGovStack/GOV/90000009/digitalregistries")
                    .header("idempotency-key", "gs-1")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(good.clone()))
                    .unwrap(),
            )
            .await;
        assert_eq!(filed.status, StatusCode::OK, "{n}: {}", filed.body);
        let doc = filed.json();
        govstack_conforms("applicationFileResponse", &doc);
        let code = doc["fileId"].as_str().unwrap().to_owned();
        assert!(code.starts_with("H26.31-"), "{n}: {code}");
        assert_eq!(doc["status"]["code"], "PENDING", "{n}");
        assert_eq!(doc["status"]["title"], "Mới đăng ký", "{n}");
        assert_eq!(doc["applicationData"]["documentUrls"], serde_json::json!([url]), "{n}");
        // A retry with the same key is the same application; the document cannot be reused.
        let again = app
            .send(
                Request::post(format!("/govstack/registration{path}"))
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header("information-mediator-client", "eGovStack/GOV/90000009/digitalregistries")
                    .header("idempotency-key", "gs-1")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(good.clone()))
                    .unwrap(),
            )
            .await;
        assert_eq!(again.json()["fileId"], code.as_str(), "{n}");
        let reuse = app.govstack("POST", &path, Some(&token), Some(good.clone())).await;
        assert_eq!(reuse.status, StatusCode::BAD_REQUEST, "{n}: {}", reuse.body);
        assert_eq!(reuse.json()["code"], "unknown_document", "{n}");

        // The dossier is an ordinary one: the citizen's API and pages see it with its file.
        let mine = app.api("/api/v1/dossiers", Some(&token)).await.json();
        assert_eq!(mine.as_array().unwrap().len(), 1, "{n}: {mine}");
        assert_eq!(mine[0]["code"], code.as_str(), "{n}");

        // Listing and reading: own applications only; another citizen gets 404 for the code.
        let listed = app.govstack("GET", "/applications?maxResult=10", Some(&token), None).await;
        assert_eq!(listed.status, StatusCode::OK, "{n}: {}", listed.body);
        let listed = listed.json();
        assert_eq!(listed.as_array().unwrap().len(), 1, "{n}");
        govstack_conforms("applicantApplicationFileListResponse", &listed[0]);
        assert_eq!(listed[0]["fileId"], code.as_str(), "{n}");
        assert_eq!(app.govstack("GET", "/applications?firstResult=1", Some(&token), None).await.json(), serde_json::json!([]), "{n}");
        assert_eq!(app.govstack("GET", "/applications", Some(&other), None).await.json(), serde_json::json!([]), "{n}");
        let one = app.govstack("GET", &format!("/applications/{code}"), Some(&token), None).await;
        assert_eq!(one.status, StatusCode::OK, "{n}");
        govstack_conforms("applicationFileResponse", &one.json());
        assert_eq!(app.govstack("GET", &format!("/applications/{code}"), Some(&other), None).await.status, StatusCode::NOT_FOUND, "{n}");
        assert_eq!(app.govstack("GET", "/applications/H26.31-010101-9999", Some(&token), None).await.status, StatusCode::NOT_FOUND, "{n}");
        let spec = app.govstack("GET", "/openapi.json", None, None).await;
        assert_eq!(spec.json()["info"]["title"], "Registration Building Block API", "{n}");
    }
}

#[tokio::test]
async fn a_counter_officer_files_for_a_person_and_only_entitled_people_see_the_dossier() {
    use tl_core::account::Role;
    for mut app in apps().await {
        let n = app.name;
        publish_upload_form(&app).await;
        app.add_officer("motcua.badinh", "Một cửa Ba Đình 2026", "H26.31", &[Role::Reception]).await;
        app.add_officer("motcua.khac", "Một cửa nơi khác 2026", "H26.50", &[Role::Reception]).await;
        app.add_officer("chuyenvien.tp", "Chuyên viên thành phố 2026", "H26", &[Role::Specialist]).await;
        app.add_officer("giamsat.badinh", "Giám sát Ba Đình 2026", "H26.31", &[Role::Monitor]).await;
        app.add_officer("quantri", "Quản trị hệ thống 2026", "H26", &[Role::Admin]).await;

        // Citizens do not get the counter.
        let (_, _) = app.citizen_with_token("001303099999").await;
        app.sign_in("motcua.badinh", "Một cửa Ba Đình 2026").await;
        let counter = app.get("/counter").await;
        assert_eq!(counter.status, StatusCode::OK, "{n}: {}", counter.body);
        assert!(counter.has("Tiếp nhận hồ sơ tại bộ phận một cửa") && counter.has("value=\"1.001193@H26.31\""), "{n}");
        assert!(!counter.has("@H26.50\""), "{n}: only the officer's own agencies are offered");

        // Bad input: each error named, nothing created.
        let p =
            app.post("/counter", &[("procedure", "1.001193@H26.50"), ("personal_id", "123"), ("full_name", " "), ("phone", "12")]).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        for msg in ["Vui lòng chọn thủ tục", "12 chữ số", "Vui lòng nhập họ và tên", "Số điện thoại không hợp lệ"]
        {
            assert!(p.has(msg), "{n}: {msg}");
        }
        assert!(app.db.read().await.unwrap().find_account_by_login("001303012345").await.unwrap().is_none(), "{n}");

        let p = app
            .post(
                "/counter",
                &[
                    ("procedure", "1.001193@H26.31"),
                    ("personal_id", "001303012345"),
                    ("full_name", "Trần  Văn Bình"),
                    ("phone", "0912345678"),
                    ("idem", "c1"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        let id = p.location().split('/').nth(2).unwrap().to_owned();
        let person = app.db.read().await.unwrap().find_account_by_login("001303012345").await.unwrap().expect("the person's account");
        assert_eq!(person.display_name, "Trần Văn Bình", "{n}");
        // The officer fills the same form and scans the paper birth certificate.
        let p = app.upload_form(&id, "cert", 1, "giay-chung-sinh-scan.pdf", "application/pdf", PDF).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        let files = app.db.read().await.unwrap().list_dossier_files(id.parse().unwrap()).await.unwrap();
        assert!(files.len() == 1 && files[0].digitised, "{n}: the scan is marked digitised");
        let fid = files[0].id.clone();
        let p = app.post(&format!("/dossiers/{id}/submit"), &[("revision", "2")]).await;
        assert_eq!(p.location(), format!("/dossiers/{id}?filed=1"), "{n}: {}", p.body);
        let d = app.db.read().await.unwrap().get_dossier(id.parse().unwrap()).await.unwrap().unwrap();
        assert_eq!(
            (d.channel, d.applicant_id, d.status),
            (tl_core::catalog::Channel::InPerson, person.id, tl_core::dossier::DossierStatus::Submitted),
            "{n}"
        );
        assert!(d.code.as_deref().unwrap().starts_with("H26.31-"), "{n}");
        let page = app.get(&format!("/dossiers/{id}")).await;
        assert!(page.has("Trực tiếp") && page.has("bản số hóa") && page.has("giay-chung-sinh-scan.pdf"), "{n}");
        assert!(app.get("/counter").await.has(d.code.as_deref().unwrap()), "{n}: listed under the officer's counter dossiers");

        // Who else may read it: officers handling the agency (or above it), and the applicant.
        let paths = [format!("/dossiers/{id}"), format!("/files/{fid}"), format!("/dossiers/{id}/receipt.pdf")];
        for (login, password, allowed) in [
            ("motcua.khac", "Một cửa nơi khác 2026", false),
            ("chuyenvien.tp", "Chuyên viên thành phố 2026", true),
            ("giamsat.badinh", "Giám sát Ba Đình 2026", false),
            ("quantri", "Quản trị hệ thống 2026", false),
        ] {
            app.post("/signout", &[]).await;
            app.sign_in(login, password).await;
            for path in &paths {
                let want = if allowed { StatusCode::OK } else { StatusCode::NOT_FOUND };
                assert_eq!(app.get(path).await.status, want, "{n}: {login} {path}");
            }
            // Reading is not editing: nobody but the one who acted changes the dossier.
            assert_ne!(app.get(&format!("/dossiers/{id}/edit")).await.status, StatusCode::OK, "{n}: {login}");
        }
        app.post("/signout", &[]).await;
        let mut w = app.db.begin().await.unwrap();
        w.set_password_hash(person.id, &tl_web::hash_password("Mật khẩu của Bình 2026").unwrap(), chrono::Utc::now()).await.unwrap();
        w.commit().await.unwrap();
        app.sign_in("001303012345", "Mật khẩu của Bình 2026").await;
        assert!(app.get("/dossiers").await.has(d.code.as_deref().unwrap()), "{n}: the person finds it in My dossiers");
        for path in &paths {
            assert_eq!(app.get(path).await.status, StatusCode::OK, "{n}: applicant {path}");
        }
        // Citizens do not get the counter: refused, on a page that still shows who is signed in.
        let refused = app.get("/counter").await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{n}");
        assert!(
            refused.has("Bạn không có quyền truy cập") && refused.has("Trần Văn Bình") && refused.has("action=\"/signout\""),
            "{n}: {}",
            refused.body
        );
        app.post("/signout", &[]).await;
    }
}

#[tokio::test]
async fn with_s3_configured_uploads_live_in_the_bucket_and_are_served_from_it() {
    let Some(s3) = tl_storage::testing::s3_stand_in() else { return };
    let (db, _) = tl_storage::testing::fresh_sqlite().await;
    let doc = load(SEED, Format::Yaml, &Known::default()).unwrap();
    let mut w = db.begin().await.unwrap();
    tl_storage::apply_catalog(w.as_mut(), &doc, None, chrono::Utc::now()).await.unwrap();
    w.commit().await.unwrap();
    let files_dir = std::env::temp_dir().join(format!("tl-s3-files-{}", std::process::id()));
    let config =
        tl_web::WebConfig { login_attempts_per_ip: 1000, files_dir: files_dir.clone(), s3: Some(s3.config.clone()), ..Default::default() };
    let state = tl_web::state(db.clone(), config);
    let router = tl_web::router(state.clone());
    let mut app = App { state, router, db, files_dir: files_dir.clone(), cookies: HashMap::new(), name: "sqlite+s3" };
    let ready = app.get("/readyz").await;
    assert_eq!(ready.json()["files"], "s3", "{}", ready.body);
    publish_upload_form(&app).await;
    let (_, token) = app.citizen_with_token("001303012345").await;
    let p = app
        .json(
            "POST",
            "/api/v1/dossiers",
            &token,
            r#"{"procedure": "1.001193", "agency": "H26.31", "answers": {"child_name": "Lê Minh An"}}"#,
            None,
        )
        .await;
    let id = p.json()["id"].as_i64().unwrap();
    let p = app.upload_api(&token, id, "cert", 1, "application/pdf", PDF.to_vec()).await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    let fid = p.json()["id"].as_str().unwrap().to_owned();
    // The bytes are in the bucket, not on local disk (only the empty temporary folder is).
    let store = tl_storage::blob::BlobStore::s3(files_dir.join("check"), &s3.config).unwrap();
    let key = app.db.read().await.unwrap().get_file(&fid).await.unwrap().unwrap().storage_key;
    assert_eq!(store.read(&key).await.unwrap(), PDF);
    let on_disk: Vec<_> = walk(&files_dir).into_iter().filter(|p| !p.starts_with(files_dir.join("check"))).collect();
    assert!(on_disk.is_empty(), "nothing but temporary folders on disk: {on_disk:?}");
    // Filed, then read back through the GovStack API's document list and the applicant's view.
    let p = app.json("POST", &format!("/api/v1/dossiers/{id}/submit"), &token, r#"{"revision": 2}"#, None).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let mut w = app.db.begin().await.unwrap();
    let acc = w.find_account_by_login("001303012345").await.unwrap().unwrap();
    w.set_password_hash(acc.id, &tl_web::hash_password("Mật khẩu của Hoa 2026").unwrap(), chrono::Utc::now()).await.unwrap();
    w.commit().await.unwrap();
    app.sign_in("001303012345", "Mật khẩu của Hoa 2026").await;
    let file = app.get(&format!("/files/{fid}")).await;
    assert_eq!((file.status, file.body.as_bytes()), (StatusCode::OK, PDF));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn administrators_confirm_the_lunar_proposals_and_edit_the_working_calendar() {
    for mut app in apps().await {
        let n = app.name;
        app.add_officer("quantri", "Quản trị hệ thống 2026", "H26", &[tl_core::account::Role::Admin]).await;
        app.add_officer("motcua", "Một cửa Ba Đình 2026", "H26.31", &[tl_core::account::Role::Reception]).await;
        app.sign_in("motcua", "Một cửa Ba Đình 2026").await;
        assert_eq!(app.get("/admin/calendar?year=2026").await.status, StatusCode::FORBIDDEN, "{n}: administrators only");
        app.post("/signout", &[]).await;
        app.sign_in("quantri", "Quản trị hệ thống 2026").await;
        let p = app.get("/admin/calendar?year=2026").await;
        assert_eq!(p.status, StatusCode::OK, "{n}: {}", p.body);
        // The lunar facts and the proposals: Tết from 16/02/2026, Hùng Kings' day 26/04 (a
        // Sunday, so a day off on Monday 27/04).
        assert!(p.has("17/02/2026") && p.has("26/04/2026") && p.has("27/04/2026") && p.has("Nghỉ bù Giỗ Tổ Hùng Vương"), "{n}");
        assert!(p.has("Chưa có ngày nào được xác nhận"), "{n}");
        let p = app.post("/admin/calendar", &[("year", "2026"), ("action", "confirm")]).await;
        assert_eq!(p.location(), "/admin/calendar?year=2026&saved=1", "{n}");
        let days = app
            .db
            .read()
            .await
            .unwrap()
            .list_calendar_days(
                chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(days.len(), 13, "{n}: 12 holidays and one day off");
        let p = app.get("/admin/calendar?year=2026&saved=1").await;
        assert!(p.has("Đã lưu lịch") && !p.has("Xác nhận tất cả ngày đề xuất"), "{n}: nothing left to confirm");
        // A Saturday worked in exchange; a bad date and a missing name are refused, nothing saved.
        let p = app
            .post("/admin/calendar", &[("year", "2026"), ("day", "31/02/2026"), ("kind", "working_day"), ("name", " "), ("action", "set")])
            .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(p.has("dd/mm/yyyy") && p.has("Nhập tên ngày"), "{n}");
        let p = app
            .post(
                "/admin/calendar",
                &[("year", "2026"), ("day", "10/01/2026"), ("kind", "working_day"), ("name", "Làm bù cho ngày 02/01"), ("action", "set")],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        assert!(app.get("/admin/calendar?year=2026").await.has("Làm bù cho ngày 02/01"), "{n}");
        let p = app.post("/admin/calendar", &[("year", "2026"), ("day", "2026-01-10"), ("action", "delete")]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}");
        assert!(!app.get("/admin/calendar?year=2026").await.has("Làm bù cho ngày 02/01"), "{n}");
        let audit = app.db.read().await.unwrap().list_audit(Some("calendar"), None, 10).await.unwrap();
        assert!(
            audit.iter().any(|a| a.action == "calendar.confirm_proposals") && audit.iter().any(|a| a.action == "calendar.delete"),
            "{n}"
        );
    }
}

async fn publish_text_form(app: &App) {
    publish_text_form_for(app, "1.001193").await;
}

async fn publish_text_form_for(app: &App, code: &str) {
    let form: tl_core::form::FormDef =
        serde_json::from_value(serde_json::json!({"steps": [{"key": "main", "title": {"vi": "Thông tin"}, "fields": [
            {"key": "child_name", "label": {"vi": "Họ và tên"}, "required": true, "type": {"kind": "text"}}
        ]}]}))
        .unwrap();
    let today = tl_web::portal::today();
    let current = app.db.read().await.unwrap().get_procedure(code, today, None).await.unwrap().unwrap();
    if current.version.effective_from != today {
        let mut v = current.version.clone();
        v.effective_from = today;
        v.form = Some(form);
        // The seed's result layout names the seed form's answers.
        v.result_template = None;
        let mut w = app.db.begin().await.unwrap();
        w.add_procedure_version(code, &v, None, chrono::Utc::now()).await.unwrap();
        w.commit().await.unwrap();
    }
    tokio::time::sleep(tl_web::catalog::MAX_STALENESS).await;
}

#[tokio::test]
async fn reception_accepts_with_an_appointment_asks_for_supplements_or_refuses_and_one_of_two_wins() {
    use tl_core::account::Role;
    for mut app in apps().await {
        let n = app.name;
        publish_text_form(&app).await;
        let (_, token) = app.citizen_with_token("001303012345").await;
        let mut ids = vec![];
        for i in 0..3 {
            let p = app
                .json(
                    "POST",
                    "/api/v1/dossiers",
                    &token,
                    r#"{"procedure": "1.001193", "agency": "H26.31", "submit": true, "answers": {"child_name": "Lê Minh An"}}"#,
                    Some(&format!("r-{i}")),
                )
                .await;
            assert_eq!(p.status, StatusCode::CREATED, "{n}: {}", p.body);
            ids.push(p.json()["id"].as_i64().unwrap());
        }
        app.add_officer("motcua.badinh", "Một cửa Ba Đình 2026", "H26.31", &[Role::Reception]).await;
        app.add_officer("chuyenvien.tp", "Chuyên viên thành phố 2026", "H26", &[Role::Specialist]).await;
        app.add_officer("motcua.khac", "Một cửa nơi khác 2026", "H26.50", &[Role::Reception]).await;

        // Only reception officers of the agency act; others are refused.
        app.sign_in("chuyenvien.tp", "Chuyên viên thành phố 2026").await;
        assert_eq!(
            app.post(&format!("/dossiers/{}/reception", ids[0]), &[("revision", "1"), ("action", "accept")]).await.status,
            StatusCode::FORBIDDEN,
            "{n}"
        );
        app.post("/signout", &[]).await;
        app.sign_in("motcua.khac", "Một cửa nơi khác 2026").await;
        assert_eq!(
            app.post(&format!("/dossiers/{}/reception", ids[0]), &[("revision", "1"), ("action", "accept")]).await.status,
            StatusCode::NOT_FOUND,
            "{n}"
        );
        assert!(!app.get("/office").await.has("/dossiers/"), "{n}: another agency's queue is empty");
        app.post("/signout", &[]).await;

        app.sign_in("motcua.badinh", "Một cửa Ba Đình 2026").await;
        let q = app.get("/office").await;
        assert_eq!(q.status, StatusCode::OK, "{n}: {}", q.body);
        assert!(q.has("Hồ sơ chờ tiếp nhận") && ids.iter().all(|id| q.has(&format!("/dossiers/{id}\""))), "{n}");
        assert!(q.has("còn ") || q.has("quá hạn"), "{n}: the 8-hour limit is shown");
        let page = app.get(&format!("/dossiers/{}", ids[0])).await;
        assert!(page.has("Tiếp nhận hồ sơ") && page.has("Thời hạn tiếp nhận (8 giờ làm việc)"), "{n}");

        // Two officers press "accept" on the same revision: one wins, the other is told.
        let rev = app.db.read().await.unwrap().get_dossier(ids[0]).await.unwrap().unwrap().revision.to_string();
        let first = app.post(&format!("/dossiers/{}/reception", ids[0]), &[("revision", &rev), ("action", "accept")]).await;
        let second = app
            .post(&format!("/dossiers/{}/reception", ids[0]), &[("revision", &rev), ("action", "refuse"), ("reasons", "Sai thẩm quyền")])
            .await;
        assert_eq!(first.status, StatusCode::SEE_OTHER, "{n}: {}", first.body);
        assert_eq!(second.status, StatusCode::CONFLICT, "{n}");
        assert!(second.has("vừa được cán bộ khác xử lý"), "{n}");
        let d = app.db.read().await.unwrap().get_dossier(ids[0]).await.unwrap().unwrap();
        assert_eq!(d.status, tl_core::dossier::DossierStatus::Accepted, "{n}");
        let (received, due) = (d.received_at.unwrap(), d.due_at.expect("an appointment"));
        assert!(due > received, "{n}");
        let cal = tl_core::calendar::Calendar::weekdays_only(tl_core::calendar::OfficeHours::standard());
        let local_due = tl_core::time::to_local(due).naive_local();
        assert!(
            cal.is_working_day(local_due.date()) && local_due.time() == chrono::NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            "{n}: due at a closing time on a working day: {local_due}"
        );
        let shown = app.get(&format!("/dossiers/{}?acted=1", ids[0])).await;
        assert!(shown.has("Hẹn trả kết quả") && shown.has(&tl_core::fmt::datetime(due)), "{n}");
        assert!(!shown.has("name=\"action\" value=\"accept\""), "{n}: no second reception");

        // A supplement request must list what is missing; the citizen then sees the list.
        let rev = app.db.read().await.unwrap().get_dossier(ids[1]).await.unwrap().unwrap().revision.to_string();
        let empty = app
            .post(&format!("/dossiers/{}/reception", ids[1]), &[("revision", &rev), ("action", "supplement"), ("missing", "  \n ")])
            .await;
        assert_eq!(empty.status, StatusCode::BAD_REQUEST, "{n}");
        let p = app
            .post(
                &format!("/dossiers/{}/reception", ids[1]),
                &[
                    ("revision", &rev),
                    ("action", "supplement"),
                    ("missing", "- Giấy chứng sinh (bản chính)\n- Giấy đăng ký kết hôn của cha mẹ"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        let d = app.db.read().await.unwrap().get_dossier(ids[1]).await.unwrap().unwrap();
        assert_eq!((d.status, d.supplement_count), (tl_core::dossier::DossierStatus::SupplementRequested, 1), "{n}");
        let rev = app.db.read().await.unwrap().get_dossier(ids[2]).await.unwrap().unwrap().revision.to_string();
        let p = app
            .post(
                &format!("/dossiers/{}/reception", ids[2]),
                &[("revision", &rev), ("action", "refuse"), ("reasons", "Không thuộc thẩm quyền của phường")],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}");
        assert!(!app.get("/office").await.has(&format!("/dossiers/{}\"", ids[2])), "{n}: decided dossiers leave the queue");
        app.post("/signout", &[]).await;
        let mut w = app.db.begin().await.unwrap();
        let acc = w.find_account_by_login("001303012345").await.unwrap().unwrap();
        w.set_password_hash(acc.id, &tl_web::hash_password("Mật khẩu của Hoa 2026").unwrap(), chrono::Utc::now()).await.unwrap();
        w.commit().await.unwrap();
        app.sign_in("001303012345", "Mật khẩu của Hoa 2026").await;
        let mine = app.get(&format!("/dossiers/{}", ids[1])).await;
        assert!(
            mine.has("Hồ sơ cần bổ sung, hoàn thiện")
                && mine.has("Giấy chứng sinh (bản chính)")
                && mine.has("Giấy đăng ký kết hôn của cha mẹ"),
            "{n}"
        );
        assert!(!mine.has("Tiếp nhận hồ sơ</button>"), "{n}: citizens get no reception buttons");
        assert!(app.get(&format!("/dossiers/{}", ids[2])).await.has("Không thuộc thẩm quyền của phường"), "{n}");
        assert_eq!(app.get("/office").await.status, StatusCode::FORBIDDEN, "{n}");
    }
}

#[tokio::test]
async fn the_calendar_is_read_again_after_a_second_and_follows_changes() {
    for mut app in apps().await {
        let n = app.name;
        publish_text_form(&app).await;
        let (_, token) = app.citizen_with_token("001303012345").await;
        let p = app
            .json(
                "POST",
                "/api/v1/dossiers",
                &token,
                r#"{"procedure": "1.001193", "agency": "H26.31", "submit": true, "answers": {"child_name": "An"}}"#,
                None,
            )
            .await;
        let id = p.json()["id"].as_i64().unwrap();
        app.add_officer("motcua.badinh", "Một cửa Ba Đình 2026", "H26.31", &[tl_core::account::Role::Reception]).await;
        app.sign_in("motcua.badinh", "Một cửa Ba Đình 2026").await;
        // The reception panel reads the calendar; again after the cache's second (unchanged
        // generation), and again after a change made elsewhere.
        for round in 0..3 {
            if round == 2 {
                let mut w = app.db.begin().await.unwrap();
                w.set_calendar_day(&tl_storage::CalendarDay {
                    day: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
                    kind: tl_core::calendar::DayKind::DayOff,
                    name: "Nghỉ".into(),
                    confirmed_by: None,
                    confirmed_at: chrono::Utc::now(),
                })
                .await
                .unwrap();
                w.commit().await.unwrap();
            }
            let page = tokio::time::timeout(std::time::Duration::from_secs(10), app.get(&format!("/dossiers/{id}")))
                .await
                .expect("the page answers");
            assert_eq!(page.status, StatusCode::OK, "{n}: round {round}");
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        }
    }
}

impl App {
    /// Another browser on the same server (its own cookies).
    fn second_browser(&self) -> App {
        App {
            state: self.state.clone(),
            router: self.router.clone(),
            db: self.db.clone(),
            files_dir: self.files_dir.clone(),
            cookies: HashMap::new(),
            name: self.name,
        }
    }

    async fn dossier(&self, id: i64) -> tl_storage::Dossier {
        self.db.read().await.unwrap().get_dossier(id).await.unwrap().unwrap()
    }

    async fn file_for(&mut self, token: &str, code: &str, key: &str, name: &str) -> i64 {
        let body = format!(r#"{{"procedure": "{code}", "agency": "H26.31", "submit": true, "answers": {{"child_name": "{name}"}}}}"#);
        let p = self.json("POST", "/api/v1/dossiers", token, &body, Some(key)).await;
        assert_eq!(p.status, StatusCode::CREATED, "{}: {}", self.name, p.body);
        p.json()["id"].as_i64().unwrap()
    }

    async fn act(&mut self, path: &str, id: i64, fields: &[(&str, &str)]) -> Page {
        let rev = self.dossier(id).await.revision.to_string();
        let mut all = vec![("revision", rev.as_str())];
        all.extend_from_slice(fields);
        self.post(&format!("/dossiers/{id}/{path}"), &all).await
    }
}

#[tokio::test]
async fn a_dossier_goes_through_its_process_with_a_control_sheet_a_paused_clock_and_one_of_two_approvals() {
    use tl_core::account::Role;
    use tl_core::dossier::DossierStatus as S;
    for mut app in apps().await {
        let n = app.name;
        publish_text_form(&app).await;
        let (_, token) = app.citizen_with_token("001303012345").await;
        let a = app.file_for(&token, "1.001193", "p-a", "Lê Minh An").await;
        let b = app.file_for(&token, "1.001193", "p-b", "Lê Minh Bảo").await;
        app.add_officer("motcua", "Một cửa Ba Đình 2026", "H26.31", &[Role::Reception]).await;
        app.add_officer("chuyenvien", "Chuyên viên Ba Đình 2026", "H26.31", &[Role::Specialist]).await;
        app.add_officer("lanhdao1", "Lãnh đạo Ba Đình 2026", "H26.31", &[Role::Leader]).await;
        app.add_officer("lanhdao2", "Lãnh đạo thứ hai 2026", "H26.31", &[Role::Leader]).await;
        app.add_officer("chuyenvien.khac", "Chuyên viên nơi khác 2026", "H26.50", &[Role::Specialist]).await;

        app.sign_in("motcua", "Một cửa Ba Đình 2026").await;
        for id in [a, b] {
            assert_eq!(app.act("reception", id, &[("action", "accept")]).await.status, StatusCode::SEE_OTHER, "{n}");
        }
        let d = app.dossier(a).await;
        assert_eq!((d.status, d.flow.step_id.as_deref(), d.flow.step_role), (S::Accepted, Some("review"), Some(Role::Specialist)), "{n}");
        assert_eq!(d.flow.appointed_at, d.due_at, "{n}: Form 01's appointment is kept");
        assert!(d.flow.step_due_at.unwrap() <= d.due_at.unwrap(), "{n}: a step is never due after the dossier");
        let sheet = app.db.read().await.unwrap().list_handoffs(a).await.unwrap();
        assert_eq!(sheet.len(), 2, "{n}: the reception row and the open review row");
        assert_eq!((sheet[0].step_id.as_str(), sheet[0].decision.as_deref()), ("reception", Some("accept")), "{n}");
        assert!(
            sheet[0].ended_at.is_some() && sheet[1].ended_at.is_none() && sheet[1].giver_name.as_deref() == Some("Cán bộ motcua"),
            "{n}"
        );
        // Reception officers have no processing decisions at the review step.
        assert_eq!(app.act("decide", a, &[("decision", "propose")]).await.status, StatusCode::FORBIDDEN, "{n}");
        app.post("/signout", &[]).await;

        // Another agency's specialist neither sees nor acts.
        app.sign_in("chuyenvien.khac", "Chuyên viên nơi khác 2026").await;
        assert!(!app.get("/office/inbox").await.has(&format!("/dossiers/{a}\"")), "{n}");
        assert_eq!(app.act("decide", a, &[("decision", "propose")]).await.status, StatusCode::NOT_FOUND, "{n}");
        app.post("/signout", &[]).await;

        app.sign_in("chuyenvien", "Chuyên viên Ba Đình 2026").await;
        let inbox = app.get("/office/inbox").await;
        assert_eq!(inbox.status, StatusCode::OK, "{n}: {}", inbox.body);
        assert!(inbox.has("Hồ sơ cần xử lý") && inbox.has(&format!("/dossiers/{a}\"")) && inbox.has(&format!("/dossiers/{b}\"")), "{n}");
        assert!(inbox.has("Chuyên viên thẩm định hồ sơ") && inbox.has("Lê Thị Hoa"), "{n}");
        let code = d.code.clone().unwrap();
        let found = app.get(&format!("/office/inbox?q={}", &code)).await;
        assert!(found.has(&format!("/dossiers/{a}\"")) && !found.has(&format!("/dossiers/{b}\"")), "{n}: search by code");
        assert!(app.get("/office/inbox?q=th%E1%BB%8B+hoa").await.has(&format!("/dossiers/{a}\"")), "{n}: search by name");
        assert!(!app.get("/office/inbox?q=Nguy%E1%BB%85n").await.has(&format!("/dossiers/{a}\"")), "{n}");
        assert!(!app.get("/office/inbox?state=late").await.has(&format!("/dossiers/{a}\"")), "{n}: nothing is late yet");
        assert!(!app.get("/office/inbox?procedure=2.000488").await.has(&format!("/dossiers/{a}\"")), "{n}: procedure filter");
        let page = app.get(&format!("/dossiers/{a}")).await;
        assert!(page.has("Xử lý hồ sơ") && page.has("Trình lãnh đạo phê duyệt") && page.has("Phiếu kiểm soát quá trình"), "{n}");

        // A supplement during processing pauses the clock; the citizen completes it online.
        let empty = app.act("decide", a, &[("decision", "supplement"), ("missing", "")]).await;
        assert_eq!(empty.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(
            empty.has("Chưa thực hiện được thao tác") && empty.has("Liệt kê đầy đủ") && empty.has("name=\"decision\""),
            "{n}: the dossier page again, forms kept"
        );
        let p = app.act("decide", a, &[("decision", "supplement"), ("missing", "Bản sao giấy chứng sinh rõ nét hơn")]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        let paused = app.dossier(a).await;
        assert_eq!(paused.status, S::SupplementRequested, "{n}");
        assert!(paused.flow.paused_at.is_some() && paused.flow.supplement_due_at.is_some(), "{n}");
        assert!(!app.get("/office/inbox").await.has(&format!("/dossiers/{a}\"")), "{n}: waiting dossiers leave the work list");
        assert!(app.get("/office/inbox?status=waiting").await.has(&format!("/dossiers/{a}\"")), "{n}");
        assert!(!app.get(&format!("/dossiers/{a}")).await.has("name=\"decision\""), "{n}: no decisions while waiting for the applicant");
        app.post("/signout", &[]).await;

        let mut w = app.db.begin().await.unwrap();
        let acc = w.find_account_by_login("001303012345").await.unwrap().unwrap();
        w.set_password_hash(acc.id, &tl_web::hash_password("Mật khẩu của Hoa 2026").unwrap(), chrono::Utc::now()).await.unwrap();
        w.commit().await.unwrap();
        app.sign_in("001303012345", "Mật khẩu của Hoa 2026").await;
        let mine = app.get(&format!("/dossiers/{a}")).await;
        assert!(mine.has("Bản sao giấy chứng sinh rõ nét hơn") && mine.has("Bổ sung hồ sơ") && mine.has("Tạm dừng tính thời gian"), "{n}");
        assert_eq!(app.get(&format!("/dossiers/{a}/edit?step=0")).await.status, StatusCode::OK, "{n}: the answers open again");
        let rev = app.dossier(a).await.revision.to_string();
        let saved =
            app.post(&format!("/dossiers/{a}/edit?step=0"), &[("revision", &rev), ("child_name", "Lê Minh Anh"), ("action", "next")]).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{n}: {}", saved.body);
        let done = app.act("submit", a, &[]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{n}: {}", done.body);
        let resumed = app.dossier(a).await;
        assert_eq!((resumed.status, resumed.answers["child_name"].as_str()), (S::Processing, Some("Lê Minh Anh")), "{n}");
        assert!(resumed.flow.paused_at.is_none() && resumed.due_at >= paused.due_at, "{n}: the clock resumes, never earlier");
        assert!(app.get(&format!("/dossiers/{a}?supplemented=1")).await.has("Đã nộp bổ sung"), "{n}");
        assert_eq!(app.get(&format!("/dossiers/{a}/edit")).await.status, StatusCode::SEE_OTHER, "{n}: closed again");
        app.post("/signout", &[]).await;

        app.sign_in("chuyenvien", "Chuyên viên Ba Đình 2026").await;
        assert_eq!(app.act("decide", a, &[("decision", "nope")]).await.status, StatusCode::BAD_REQUEST, "{n}");
        assert_eq!(app.act("decide", a, &[("decision", "propose"), ("note", "Đủ điều kiện")]).await.status, StatusCode::SEE_OTHER, "{n}");
        assert_eq!(app.act("decide", a, &[("decision", "propose")]).await.status, StatusCode::FORBIDDEN, "{n}: it left the specialist");
        app.post("/signout", &[]).await;

        // Two leaders approve the same revision at the same moment: exactly one wins.
        app.sign_in("lanhdao1", "Lãnh đạo Ba Đình 2026").await;
        let mut other = app.second_browser();
        other.sign_in("lanhdao2", "Lãnh đạo thứ hai 2026").await;
        assert!(app.get("/office/inbox").await.has(&format!("/dossiers/{a}\"")), "{n}");
        let rev = app.dossier(a).await.revision.to_string();
        other.get("/").await;
        let path = format!("/dossiers/{a}/decide");
        let fields = [("revision", rev.as_str()), ("decision", "approve")];
        let (x, y) = tokio::join!(app.post(&path, &fields), other.post(&path, &fields));
        let mut statuses = [x.status, y.status];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::SEE_OTHER, StatusCode::CONFLICT], "{n}: {} / {}", x.body, y.body);
        assert!(x.has("vừa được cán bộ khác xử lý") || y.has("vừa được cán bộ khác xử lý"), "{n}");
        let approved = app.dossier(a).await;
        assert_eq!(
            (approved.status, approved.flow.outcome.as_deref(), approved.flow.step_id.as_deref()),
            (S::Processed, Some("approved"), Some("return")),
            "{n}"
        );
        let events = app.db.read().await.unwrap().list_dossier_events(a).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.kind == "decision.approve").count(), 1, "{n}");
        app.post("/signout", &[]).await;

        app.sign_in("motcua", "Một cửa Ba Đình 2026").await;
        assert_eq!(app.act("decide", a, &[("decision", "return")]).await.status, StatusCode::SEE_OTHER, "{n}");
        let returned = app.dossier(a).await;
        assert_eq!((returned.status, returned.flow.step_role), (S::ResultReturned, None), "{n}");
        assert!(returned.flow.finished_at.is_some(), "{n}");
        let sheet = app.db.read().await.unwrap().list_handoffs(a).await.unwrap();
        let steps: Vec<&str> = sheet.iter().map(|h| h.step_id.as_str()).collect();
        assert_eq!(steps, ["reception", "review", "approve", "return"], "{n}");
        assert!(sheet.iter().all(|h| h.ended_at.is_some() && h.timeliness.is_some()), "{n}: every row closed with its timeliness");
        let page = app.get(&format!("/dossiers/{a}")).await;
        assert!(page.has("Đã trả kết quả") && page.has("Lãnh đạo phê duyệt, ký số kết quả") && page.has("Đúng hạn"), "{n}");
        assert!(!page.has("name=\"decision\""), "{n}: nothing left to decide");

        // The applicant withdraws B; the specialist confirms and the dossier stops (Form 05).
        app.post("/signout", &[]).await;
        app.sign_in("001303012345", "Mật khẩu của Hoa 2026").await;
        assert_eq!(app.act("withdraw", b, &[("reason", "Đã nộp nhầm")]).await.status, StatusCode::SEE_OTHER, "{n}");
        assert_eq!(app.dossier(b).await.status, S::WithdrawalRequested, "{n}");
        assert_eq!(app.act("withdraw", a, &[]).await.status, StatusCode::BAD_REQUEST, "{n}: a decided dossier cannot be withdrawn");
        app.post("/signout", &[]).await;
        app.sign_in("chuyenvien", "Chuyên viên Ba Đình 2026").await;
        assert!(app.get("/office/inbox?status=withdrawal").await.has(&format!("/dossiers/{b}\"")), "{n}");
        assert_eq!(app.act("stop", b, &[]).await.status, StatusCode::SEE_OTHER, "{n}");
        let stopped = app.dossier(b).await;
        assert_eq!((stopped.status, stopped.flow.outcome.as_deref(), stopped.flow.step_role), (S::Stopped, Some("withdrawn"), None), "{n}");
    }
}

#[tokio::test]
async fn a_delay_is_allowed_once_before_the_deadline_and_unanswered_supplements_close() {
    use tl_core::account::Role;
    use tl_core::dossier::DossierStatus as S;
    for mut app in apps().await {
        let n = app.name;
        // Re-registration of a birth: 5 working days.
        publish_text_form_for(&app, "1.004884").await;
        publish_text_form(&app).await;
        let (_, token) = app.citizen_with_token("001303012345").await;
        let a = app.file_for(&token, "1.004884", "d-a", "Lê Minh An").await;
        let c = app.file_for(&token, "1.001193", "d-c", "Lê Minh Cường").await;
        app.add_officer("motcua", "Một cửa Ba Đình 2026", "H26.31", &[Role::Reception]).await;
        app.add_officer("lanhdao", "Lãnh đạo Ba Đình 2026", "H26.31", &[Role::Leader]).await;
        app.sign_in("motcua", "Một cửa Ba Đình 2026").await;
        assert_eq!(app.act("reception", a, &[("action", "accept")]).await.status, StatusCode::SEE_OTHER, "{n}");
        assert_eq!(
            app.act("reception", c, &[("action", "supplement"), ("missing", "Giấy chứng sinh")]).await.status,
            StatusCode::SEE_OTHER,
            "{n}"
        );
        app.post("/signout", &[]).await;

        app.sign_in("lanhdao", "Lãnh đạo Ba Đình 2026").await;
        let d = app.dossier(a).await;
        let due = tl_core::time::to_local(d.due_at.unwrap()).date_naive();
        let page = app.get(&format!("/dossiers/{a}")).await;
        assert!(page.has("Xin lỗi và hẹn lại ngày trả kết quả (Mẫu 04)"), "{n}");
        let fmt = |x: chrono::NaiveDate| x.format("%d/%m/%Y").to_string();
        let cal = tl_core::calendar::Calendar::weekdays_only(tl_core::calendar::OfficeHours::standard());
        let later = cal.nth_working_day_after(due, 3);
        for (date, reason, why) in [
            (fmt(later), "", "reason_required"),
            (fmt(due), "Cần xác minh thêm", "not after the appointment"),
            ("31/02/2027".to_owned(), "Cần xác minh thêm", "no such date"),
        ] {
            let p = app.act("delay", a, &[("new_date", &date), ("reason", reason)]).await;
            assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}: {why}");
        }
        assert_eq!(app.dossier(a).await.revision, d.revision, "{n}: refusals change nothing");
        let p = app.act("delay", a, &[("new_date", &fmt(later)), ("reason", "Cần xác minh thêm với cơ quan khác")]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        let delayed = app.dossier(a).await;
        assert_eq!(tl_core::time::to_local(delayed.due_at.unwrap()).date_naive(), later, "{n}");
        assert_eq!(
            (delayed.flow.delay_count, delayed.flow.appointed_at),
            (1, d.flow.appointed_at),
            "{n}: the 766 index keeps the first appointment"
        );
        let again = app.act("delay", a, &[("new_date", &fmt(cal.nth_working_day_after(later, 2))), ("reason", "Lần nữa")]).await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(again.has("chỉ cho phép xin lỗi, hẹn lại một lần"), "{n}");
        let page = app.get(&format!("/dossiers/{a}")).await;
        assert!(page.has("Cần xác minh thêm với cơ quan khác") && page.has("đã xin lỗi, hẹn lại"), "{n}");

        // 15 working days later an unanswered supplement request closes the dossier.
        let now = chrono::Utc::now();
        assert_eq!(tl_web::workflow::expire_supplements(&app.state, now).await.unwrap(), 0, "{n}: not yet");
        let closed = tl_web::workflow::expire_supplements(&app.state, now + chrono::Duration::days(30)).await.unwrap();
        assert_eq!(closed, 1, "{n}");
        let c = app.dossier(c).await;
        assert_eq!((c.status, c.flow.outcome.as_deref()), (S::Stopped, Some("expired")), "{n}");
    }
}

impl App {
    /// Posts a file to the public verification form.
    async fn verify_upload(&mut self, bytes: &[u8]) -> Page {
        if !self.cookies.contains_key("tl_csrf") {
            self.get("/").await;
        }
        let csrf = self.cookies["tl_csrf"].clone();
        let b = "----tlverify";
        let mut body = format!("--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n").into_bytes();
        body.extend_from_slice(
            format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ket-qua.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
        let req = Request::post("/verify")
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={b}"))
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }
}

#[tokio::test]
async fn the_leader_signs_the_result_the_citizen_downloads_it_anyone_verifies_it_and_mail_goes_out_once() {
    use tl_core::account::Role;
    use tl_core::dossier::DossierStatus as S;
    let smtp = tl_mail::testing::SmtpTestServer::start().await;
    for mut app in apps().await {
        let n = app.name;
        publish_text_form(&app).await;
        let (citizen, token) = app.citizen_account("001303012345", Some("hoa@example.vn"), Some("Mật khẩu của Hoa 2026")).await;
        let a = app.file_for(&token, "1.001193", "res-a", "Lê Minh An").await;
        app.add_officer("motcua", "Một cửa Ba Đình 2026", "H26.31", &[Role::Reception]).await;
        app.add_officer("chuyenvien", "Chuyên viên Ba Đình 2026", "H26.31", &[Role::Specialist]).await;
        app.add_officer("lanhdao", "Lãnh đạo Ba Đình 2026", "H26.31", &[Role::Leader]).await;
        for (login, pw, path, fields) in [
            ("motcua", "Một cửa Ba Đình 2026", "reception", vec![("action", "accept")]),
            ("chuyenvien", "Chuyên viên Ba Đình 2026", "decide", vec![("decision", "propose")]),
            ("lanhdao", "Lãnh đạo Ba Đình 2026", "decide", vec![("decision", "approve")]),
        ] {
            app.sign_in(login, pw).await;
            let p = app.act(path, a, &fields).await;
            assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {login}: {}", p.body);
            app.post("/signout", &[]).await;
        }
        assert_eq!(app.dossier(a).await.status, S::Processed, "{n}");
        let results = app.db.read().await.unwrap().list_results_of(a).await.unwrap();
        assert_eq!(results.len(), 1, "{n}");
        let r = &results[0];
        assert_eq!((r.kind.as_str(), r.signer_name.as_str()), ("result", "Cán bộ lanhdao"), "{n}");

        // The citizen finds it on the dossier page and downloads the signed PDF.
        app.sign_in("001303012345", "Mật khẩu của Hoa 2026").await;
        let page = app.get(&format!("/dossiers/{a}")).await;
        assert!(page.has("Kết quả giải quyết") && page.has(&format!("/results/{}.pdf", r.id)), "{n}");
        let pdf = app.get_bytes(&format!("/results/{}.pdf", r.id)).await;
        assert!(pdf.starts_with(b"%PDF-"), "{n}");
        let anchors = tl_web::results::trust_anchors(&app.state).await.unwrap();
        let checked = tl_sign::verify_pdf(&pdf, &anchors).expect("our signature verifies offline");
        assert!(checked.covers_whole_file, "{n}");
        assert_eq!(checked.signer.common_name.as_deref(), Some("Cán bộ lanhdao"), "{n}");
        if let Some(text) = pdf_text(&pdf) {
            let code = app.dossier(a).await.code.unwrap();
            assert!(text.contains("Lê Minh An") && text.contains(&code) && text.contains("GIẤY KHAI SINH"), "{n}: {text}");
        }
        // The papers of the dossier: Form 01 signed by the one-stop officer, Form 06 the sheet.
        let page = app.get(&format!("/dossiers/{a}")).await;
        assert!(page.has(&format!("/dossiers/{a}/forms/01.pdf")) && page.has(&format!("/dossiers/{a}/forms/06.pdf")), "{n}");
        let form01 = app.get_bytes(&format!("/dossiers/{a}/forms/01.pdf")).await;
        let signed = tl_sign::verify_pdf(&form01, &anchors).expect("Form 01 is signed");
        assert_eq!(signed.signer.common_name.as_deref(), Some("Cán bộ motcua"), "{n}");
        let form06 = app.get_bytes(&format!("/dossiers/{a}/forms/06.pdf")).await;
        if let (Some(t1), Some(t6)) = (pdf_text(&form01), pdf_text(&form06)) {
            let code = app.dossier(a).await.code.unwrap();
            assert!(t1.contains("GIẤY TIẾP NHẬN HỒ SƠ") && t1.contains(&code) && t1.contains("Lê Thị Hoa"), "{n}: {t1}");
            assert!(t6.contains("PHIẾU KIỂM SOÁT") && t6.contains("Cán bộ chuyenvien"), "{n}: {t6}");
        }
        assert_eq!(app.get(&format!("/dossiers/{a}/forms/03.pdf")).await.status, StatusCode::NOT_FOUND, "{n}: never refused");
        assert_eq!(app.get("/office/register").await.status, StatusCode::FORBIDDEN, "{n}: the register is the officers'");
        let notes = app.db.read().await.unwrap().list_notifications(citizen, 10).await.unwrap();
        assert!(notes.iter().any(|x| x.kind == "decision.approve" && x.title_vi.contains("đã có kết quả")), "{n}");
        assert!(notes.iter().any(|x| x.kind == "received"), "{n}");
        let mine = app.get("/dossiers").await;
        assert!(mine.has("Thông báo") && mine.has("đã có kết quả") && mine.has("Kết quả của tôi"), "{n}");
        assert!(mine.has(&format!("/results/{}.pdf", r.id)), "{n}: the result stays in the citizen's record");
        app.post("/signout", &[]).await;

        // Nobody else downloads it; anyone verifies it.
        assert_eq!(app.get(&format!("/results/{}.pdf", r.id)).await.status, StatusCode::UNAUTHORIZED, "{n}: sign in first");
        let public = app.get(&format!("/verify/{}", r.id)).await;
        assert!(public.has("Văn bản hợp lệ") && public.has("Cán bộ lanhdao") && !public.has("Lê Minh An"), "{n}: {}", public.body);
        assert!(app.verify_upload(&pdf).await.has("Văn bản hợp lệ"), "{n}");
        // One changed byte inside the signed part: not genuine, and why.
        let mut tampered = pdf.clone();
        let at = tampered.len() / 3;
        tampered[at] ^= 0x20;
        let t = app.verify_upload(&tampered).await;
        assert_eq!(t.status, StatusCode::OK, "{n}");
        assert!(t.has("KHÔNG hợp lệ") && t.has("sửa đổi"), "{n}: {}", t.body);
        let mut appended = pdf.clone();
        appended.extend_from_slice(b"\n% added later\n");
        assert!(app.verify_upload(&appended).await.has("KHÔNG hợp lệ"), "{n}");
        assert!(app.verify_upload(b"not a pdf at all").await.has("KHÔNG hợp lệ"), "{n}");
        assert_eq!(app.verify_upload(b"").await.status, StatusCode::BAD_REQUEST, "{n}");
        assert_eq!(app.get("/verify/doesnotexist").await.status, StatusCode::NOT_FOUND, "{n}");

        // A leader of the agency revokes it with a reason; the verification page says so.
        app.sign_in("lanhdao", "Lãnh đạo Ba Đình 2026").await;
        let path = format!("/results/{}/revoke", r.id);
        assert_eq!(app.post(&path, &[("reason", " ")]).await.status, StatusCode::BAD_REQUEST, "{n}");
        assert_eq!(app.post(&path, &[("reason", "Cấp nhầm số")]).await.status, StatusCode::SEE_OTHER, "{n}");
        assert_eq!(app.post(&path, &[("reason", "Lần nữa")]).await.status, StatusCode::BAD_REQUEST, "{n}: once");
        app.post("/signout", &[]).await;
        let public = app.get(&format!("/verify/{}", r.id)).await;
        assert!(public.has("KHÔNG hợp lệ") && public.has("Kết quả đã bị thu hồi: Cấp nhầm số"), "{n}");

        // Form 07: the register of the service point, as PDF and CSV.
        app.sign_in("motcua", "Một cửa Ba Đình 2026").await;
        let code = app.dossier(a).await.code.unwrap();
        let csv = app.get("/office/register?format=csv").await;
        assert_eq!(csv.status, StatusCode::OK, "{n}: {}", csv.body);
        assert!(csv.has(&code) && csv.has("Mã hồ sơ") && csv.has("Lê Thị Hoa"), "{n}: {}", csv.body);
        assert!(app.get_bytes("/office/register").await.starts_with(b"%PDF-"), "{n}");
        assert_eq!(app.get("/office/register?from=32/13/2026").await.status, StatusCode::BAD_REQUEST, "{n}");
        assert_eq!(app.get("/office/register?from=01/01/2020&to=01/01/2026").await.status, StatusCode::BAD_REQUEST, "{n}: a year at most");
        app.post("/signout", &[]).await;

        // The mails written with the actions go out through SMTP, once each.
        if let Some(server) = &smtp {
            let mailer = tl_mail::Mailer::new(&server.config()).unwrap();
            let outbox = tl_web::mail::DbOutbox { st: app.state.clone(), domain: "thanglong.test".into() };
            let before = server.messages().len();
            let stats = tl_mail::deliver_due(&outbox, &mailer, chrono::Utc::now(), 50).await.unwrap();
            assert_eq!((stats.sent, stats.given_up), (2, 0), "{n}: the reception and the result");
            let again = tl_mail::deliver_due(&outbox, &mailer, chrono::Utc::now() + chrono::Duration::hours(1), 50).await.unwrap();
            assert_eq!(again.sent, 0, "{n}: exactly once");
            let got = server.messages();
            assert_eq!(got.len() - before, 2, "{n}");
            let subjects: Vec<String> = got[before..].iter().map(|m| m.subject.clone()).collect();
            assert!(subjects.iter().any(|s| s.contains("đã có kết quả")), "{n}: {subjects:?}");
            assert!(got[before..].iter().all(|m| m.rcpt_to == ["hoa@example.vn"]), "{n}");
        }
    }
}

#[tokio::test]
async fn administrators_edit_a_procedures_process_as_a_new_version_checked_before_it_is_saved() {
    use tl_core::account::Role;
    for mut app in apps().await {
        let n = app.name;
        let code = "1.013831";
        let path = format!("/admin/procedures/{code}/process");
        app.add_officer("quantri", "Quản trị hệ thống 2026", "H26", &[Role::Admin]).await;
        app.add_officer("danhmuc.xa", "Danh mục phường 2026", "H26.31", &[Role::CatalogEditor]).await;
        app.add_officer("danhmuc.so", "Danh mục Sở 2026", "H26.13", &[Role::CatalogEditor]).await;
        let (citizen, _) = app.citizen_with_token("001303012399").await;
        let mut w = app.db.begin().await.unwrap();
        w.set_password_hash(citizen, &tl_web::hash_password("Mật khẩu của Hoa 2026").unwrap(), chrono::Utc::now()).await.unwrap();
        w.commit().await.unwrap();
        let versions = |app: &App| {
            let db = app.db.clone();
            async move { db.read().await.unwrap().list_procedure_versions(code).await.unwrap() }
        };
        let before = versions(&app).await.len();

        // The administrator finds the page from the procedure list and sees the seeded multi-agency process.
        app.sign_in("quantri", "Quản trị hệ thống 2026").await;
        assert!(app.get("/admin/procedures?q=1.013831").await.has(&format!("href=\"{path}\"")), "{n}");
        let page = app.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{n}: {}", page.body);
        for s in [
            "Quy trình đang áp dụng",
            "Văn phòng Đăng ký đất đai kiểm tra hồ sơ",
            "Cơ quan thuế xác định nghĩa vụ tài chính",
            "Thuế Thành phố Hà Nội",
            "liên thông",
            "Chuyển thông tin địa chính sang cơ quan thuế",
            "Chuyên viên",
            "Lãnh đạo",
            "3 ngày làm việc",
            "Tổng thời gian các bước: <strong>80 giờ làm việc</strong>",
            "10 ngày làm việc",
        ] {
            assert!(page.has(s), "{n}: {s} missing");
        }
        let start = page.body.find("id=\"body\" name=\"body\"").expect("the editor");
        let text = &page.body[start..];
        let text = &text[text.find('>').unwrap() + 1..text.find("</textarea>").unwrap()];
        let yaml = text
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#x2f;", "/")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
        assert!(yaml.contains("agency: H26.60") && yaml.contains("kind: transfer"), "{n}: {yaml}");
        let tomorrow = tl_web::portal::today().succ_opt().unwrap();
        let day = tomorrow.format("%d/%m/%Y").to_string();

        // Three problems at once: budgets no longer add up, a send-back that goes forward, an
        // unknown agency. Every one is shown; nothing is saved, by "Kiểm tra" or by "Lưu".
        let bad =
            yaml.replacen("value: 3", "value: 4", 1).replacen("to: kiem_tra", "to: ky", 1).replacen("agency: H26.60", "agency: H99.99", 1);
        for action in ["check", "save"] {
            let p = app.post(&path, &[("effective_from", &day), ("body", &bad), ("action", action)]).await;
            assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}: {action}");
            for s in [
                "88 giờ làm việc, phải bằng thời hạn giải quyết 10 ngày làm việc",
                "phải về một bước trước",
                "Không có cơ quan `H99.99`",
                "Dòng ",
                "Chưa lưu gì",
            ] {
                assert!(p.has(s), "{n}: {action}: {s} missing");
            }
            assert!(p.has("href=\"#body\"") && p.has("aria-invalid=\"true\""), "{n}: the summary links to the editor");
        }
        // Other kinds of bad input.
        let huge = format!("{yaml}#{}\n", "x".repeat(70 * 1024));
        for (body, date, expect) in [
            ("steps: [", day.as_str(), "Lỗi cú pháp"),
            (&yaml.replacen("role: specialist", "role: specialist\n    colour: red", 1), day.as_str(), "unknown field `colour`"),
            (&huge, day.as_str(), "quá lớn (tối đa 64 KB)"),
            (&yaml, "01/01/2020", "không được trước hôm nay"),
            (&yaml, "31/02/2027", "ngày/tháng/năm"),
        ] {
            let p = app.post(&path, &[("effective_from", date), ("body", body), ("action", "save")]).await;
            assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}: {expect}");
            assert!(p.has(expect), "{n}: {expect} missing");
        }
        app.get("/lang/en?next=/").await;
        let p = app.post(&path, &[("effective_from", &day), ("body", &bad), ("action", "check")]).await;
        assert!(p.has("they must equal the time limit") && p.has("No agency `H99.99`") && p.has("Line "), "{n}: English");
        app.get("/lang/vi?next=/").await;
        assert_eq!(versions(&app).await.len(), before, "{n}: nothing was saved");

        // A valid edit: checked first (shown, not saved), then saved as a new version from tomorrow.
        let good = yaml.replacen("Bộ phận Một cửa trả Giấy chứng nhận", "Bộ phận Một cửa hoặc bưu chính công ích trả Giấy chứng nhận", 1);
        let p = app.post(&path, &[("effective_from", &day), ("body", &good), ("action", "check")]).await;
        assert_eq!(p.status, StatusCode::OK, "{n}: {}", p.body);
        assert!(p.has("Quy trình hợp lệ (chưa lưu)") && p.has("hoặc bưu chính công ích"), "{n}");
        assert_eq!(versions(&app).await.len(), before, "{n}: a check saves nothing");
        let p = app.post(&path, &[("effective_from", &day), ("body", &good), ("action", "save")]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        let after = versions(&app).await;
        assert_eq!(after.len(), before + 1, "{n}");
        let added = after.last().unwrap();
        assert_eq!(added.effective_from, tomorrow, "{n}");
        assert_eq!(p.location(), format!("{path}?saved={}", added.version_no), "{n}");
        let page = app.get(p.location()).await;
        assert!(page.has("Đã lưu quy trình thành phiên bản mới") && page.has("Quy trình sắp áp dụng"), "{n}");
        assert!(page.has("Quy trình đang áp dụng") && page.has("hoặc bưu chính công ích"), "{n}");
        let stored = app.db.read().await.unwrap().get_procedure(code, tomorrow, None).await.unwrap().unwrap();
        assert_eq!(stored.version_no, added.version_no, "{n}");
        let process = stored.version.process.as_ref().expect("an explicit process");
        assert_eq!(process.steps.len(), 5, "{n}");
        assert!(process.steps[4].name.vi.contains("bưu chính công ích"), "{n}");
        assert_eq!(process.steps[1].agency.as_deref(), Some("H26.60"), "{n}");
        let current = app.db.read().await.unwrap().get_procedure(code, tl_web::portal::today(), None).await.unwrap().unwrap();
        assert!(!current.version.process.as_ref().unwrap().steps[4].name.vi.contains("bưu chính"), "{n}: today's version unchanged");
        assert_eq!(stored.version.components, current.version.components, "{n}: the rest of the version is copied");
        let audit = app.db.read().await.unwrap().list_audit(Some("procedure"), Some(code), 10).await.unwrap();
        assert!(audit.iter().any(|a| a.action == "procedure.process"), "{n}");
        let again = app.post(&path, &[("effective_from", &day), ("body", &good), ("action", "save")]).await;
        assert!(again.status == StatusCode::BAD_REQUEST && again.has("Đã có một phiên bản với ngày hiệu lực này"), "{n}");
        app.post("/signout", &[]).await;

        // A catalog editor of the department above the land registration office may; one of a
        // ward may not; nor may a citizen. Refusals change nothing.
        app.sign_in("danhmuc.so", "Danh mục Sở 2026").await;
        assert_eq!(app.get(&path).await.status, StatusCode::OK, "{n}");
        app.post("/signout", &[]).await;
        let later = tomorrow.succ_opt().unwrap().succ_opt().unwrap().format("%d/%m/%Y").to_string();
        for (login, password) in [("danhmuc.xa", "Danh mục phường 2026"), ("001303012399", "Mật khẩu của Hoa 2026")] {
            app.sign_in(login, password).await;
            let get = app.get(&path).await;
            assert!(matches!(get.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{n}: {login} {}", get.status);
            let post = app.post(&path, &[("effective_from", &later), ("body", &good), ("action", "save")]).await;
            assert!(matches!(post.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{n}: {login} {}", post.status);
            app.post("/signout", &[]).await;
        }
        assert_eq!(versions(&app).await.len(), before + 1, "{n}: refusals saved nothing");
    }
}

#[tokio::test]
async fn a_govstack_operator_works_its_tasks_updates_applications_and_reads_statistics() {
    use serde_json::json;
    use tl_core::account::Role;
    use tl_core::dossier::DossierStatus as S;

    /// An officer with a personal API token, as the operator's system would hold.
    async fn officer_token(app: &App, login: &str, agency: &str, roles: &[Role]) -> String {
        let id = app.add_officer(login, "Mật khẩu cán bộ 2026", agency, roles).await;
        let token = tl_web::new_token("tl_");
        let mut w = app.db.begin().await.unwrap();
        w.create_api_token(&tl_storage::NewApiToken {
            account_id: id,
            name: "govstack".into(),
            token_hash: tl_web::sha256_hex(&token),
            prefix: token[..10].into(),
            created_at: chrono::Utc::now(),
            expires_at: None,
        })
        .await
        .unwrap();
        w.commit().await.unwrap();
        token
    }
    fn statistics_conform(value: &serde_json::Value) {
        let spec: serde_json::Value =
            serde_json::from_str(include_str!("../assets/govstack/registration-statistics-openapi.json")).unwrap();
        let root =
            json!({"type": "array", "items": {"$ref": "#/components/schemas/inline_response_200"}, "components": spec["components"]});
        let v = jsonschema::draft4::new(&root).expect("the spec's schema compiles");
        let errors: Vec<String> = v.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "statistics: {errors:?}\n{value:#}");
    }
    async fn stats(app: &mut App, query: &str, token: Option<&str>) -> Page {
        let mut req = Request::get(format!("/govstack/registration/data/statistics{query}"))
            .header("information-mediator-client", "eGovStack/GOV/90000009/digitalregistries");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        app.send(req.body(Body::empty()).unwrap()).await
    }
    fn error(p: &Page, status: StatusCode, n: &str) -> serde_json::Value {
        assert_eq!(p.status, status, "{n}: {}", p.body);
        let e = p.json();
        govstack_conforms("systemError", &e);
        assert!(e["localizedMessage"].as_str().is_some_and(|m| !m.is_empty()) && e["traceId"].is_string(), "{n}: {e}");
        e
    }

    for mut app in apps().await {
        let n = app.name;
        publish_text_form(&app).await;
        let (_, citizen) = app.citizen_with_token("001303012345").await;
        let ids = [
            app.file_for(&citizen, "1.001193", "o-a", "Lê Minh An").await,
            app.file_for(&citizen, "1.001193", "o-b", "Lê Minh Bảo").await,
            app.file_for(&citizen, "1.001193", "o-c", "Lê Minh Cường").await,
        ];
        app.add_officer("motcua", "Một cửa Ba Đình 2026", "H26.31", &[Role::Reception]).await;
        let cv = officer_token(&app, "chuyenvien", "H26.31", &[Role::Specialist]).await;
        let ld = officer_token(&app, "lanhdao", "H26.31", &[Role::Leader]).await;
        let other = officer_token(&app, "chuyenvien.khac", "H26.50", &[Role::Specialist]).await;
        app.sign_in("motcua", "Một cửa Ba Đình 2026").await;
        for id in ids {
            assert_eq!(app.act("reception", id, &[("action", "accept")]).await.status, StatusCode::SEE_OTHER, "{n}");
        }
        let codes: Vec<String> = codes_of(&app, &ids).await;

        // The specialist's work list: the three dossiers at the review step, nothing else.
        let p = app.govstack("GET", "/tasks", Some(&cv), None).await;
        assert_eq!(p.status, StatusCode::OK, "{n}: {}", p.body);
        let list = p.json();
        let tasks = list.as_array().unwrap();
        assert_eq!(tasks.len(), 3, "{n}: {list:#}");
        for t in tasks {
            govstack_conforms("userTaskResponse", t);
            assert_eq!((t["roleId"].as_str(), t["status"]["code"].as_str()), (Some("specialist@H26.31"), Some("PENDING")), "{n}");
            assert!(codes.iter().any(|c| t["fileId"] == json!(c) && t["mainTaskId"] == json!(c)), "{n}: {t}");
            assert!(t["taskId"].as_str().unwrap().starts_with(t["fileId"].as_str().unwrap()) && t["dueDate"].is_string(), "{n}: {t}");
        }
        let task_of = |code: &str| tasks.iter().find(|t| t["fileId"] == json!(code)).unwrap()["taskId"].as_str().unwrap().to_owned();
        let (ta, tb, tc) = (task_of(&codes[0]), task_of(&codes[1]), task_of(&codes[2]));
        let only_a = app.govstack("GET", &format!("/tasks?fileId={}", codes[0]), Some(&cv), None).await.json();
        assert_eq!(only_a.as_array().map(|a| a.len()), Some(1), "{n}: {only_a}");
        assert_eq!(app.govstack("GET", "/tasks?maxResult=2", Some(&cv), None).await.json().as_array().unwrap().len(), 2, "{n}");
        assert_eq!(app.govstack("GET", "/tasks?assigneeId=someone", Some(&cv), None).await.json(), json!([]), "{n}");
        // Another agency's specialist and the leader have nothing to do yet; a citizen is no operator.
        assert_eq!(app.govstack("GET", "/tasks", Some(&other), None).await.json(), json!([]), "{n}");
        assert_eq!(app.govstack("GET", "/tasks", Some(&ld), None).await.json(), json!([]), "{n}");
        error(&app.govstack("GET", "/tasks", Some(&citizen), None).await, StatusCode::FORBIDDEN, n);
        error(&app.govstack("GET", "/tasks", None, None).await, StatusCode::UNAUTHORIZED, n);

        // One task, with the decisions it offers.
        let p = app.govstack("GET", &format!("/tasks/{ta}"), Some(&cv), None).await;
        assert_eq!(p.status, StatusCode::OK, "{n}: {}", p.body);
        let task = p.json();
        govstack_conforms("dataUserTaskResponse", &task);
        let options: Vec<&str> =
            task["formVariables"]["decision"]["options"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
        assert!(options.contains(&"propose") && options.contains(&"supplement") && options.contains(&"refuse"), "{n}: {task:#}");
        assert_eq!(task["data"]["child_name"]["value"], json!("Lê Minh An"), "{n}");
        let rev = task["formVariables"]["revision"]["value"].as_i64().unwrap();
        assert_eq!(rev, app.dossier(ids[0]).await.revision, "{n}");
        error(&app.govstack("GET", &format!("/tasks/{ta}"), Some(&other), None).await, StatusCode::NOT_FOUND, n);
        error(&app.govstack("GET", &format!("/tasks/{}:999999", codes[0]), Some(&cv), None).await, StatusCode::NOT_FOUND, n);
        error(&app.govstack("GET", "/tasks/khong-co", Some(&cv), None).await, StatusCode::NOT_FOUND, n);
        error(&app.govstack("GET", &format!("/tasks/{ta}"), Some(&citizen), None).await, StatusCode::FORBIDDEN, n);

        // Completing: bad bodies are 400s, a stale revision a 409, none of them changes anything.
        let complete = |data: serde_json::Value| Some(json!({"data": data}).to_string());
        let path = format!("/tasks/{ta}/complete");
        error(&app.govstack("POST", &path, Some(&cv), Some("{\"data\": ".into())).await, StatusCode::BAD_REQUEST, n);
        error(&app.govstack("POST", &path, Some(&cv), Some("[1, 2]".into())).await, StatusCode::BAD_REQUEST, n);
        error(
            &app.govstack("POST", &path, Some(&cv), complete(json!({"decision": {"value": "propose"}}))).await,
            StatusCode::BAD_REQUEST,
            n,
        );
        error(&app.govstack("POST", &path, Some(&cv), complete(json!({"decision": 7, "revision": rev}))).await, StatusCode::BAD_REQUEST, n);
        error(
            &app.govstack("POST", &path, Some(&cv), complete(json!({"decision": "nope", "revision": rev}))).await,
            StatusCode::BAD_REQUEST,
            n,
        );
        let huge = format!("{{\"data\": {{\"note\": \"{}\"}}}}", "a".repeat(3 << 20));
        let p = app.govstack("POST", &path, Some(&cv), Some(huge)).await;
        assert!(p.status.is_client_error(), "{n}: {}", p.status);
        let stale = complete(json!({"decision": {"value": "propose"}, "revision": {"value": rev - 1}}));
        let e = error(&app.govstack("POST", &path, Some(&cv), stale).await, StatusCode::CONFLICT, n);
        assert!(e["localizedMessage"].as_str().unwrap().contains("vừa được cán bộ khác xử lý"), "{n}: {e}");
        error(
            &app.govstack("POST", &path, Some(&citizen), complete(json!({"decision": "propose", "revision": rev}))).await,
            StatusCode::FORBIDDEN,
            n,
        );
        error(
            &app.govstack("POST", &path, Some(&other), complete(json!({"decision": "propose", "revision": rev}))).await,
            StatusCode::NOT_FOUND,
            n,
        );
        error(
            &app.govstack(
                "POST",
                "/tasks/H26.31-010101-0099:1/complete",
                Some(&cv),
                complete(json!({"decision": "propose", "revision": 1})),
            )
            .await,
            StatusCode::NOT_FOUND,
            n,
        );
        assert_eq!(app.dossier(ids[0]).await.revision, rev, "{n}: refusals change nothing");

        let ok = complete(json!({"decision": {"value": "propose"}, "revision": {"value": rev}, "note": {"value": "Đủ điều kiện"}}));
        let p = app.govstack("POST", &path, Some(&cv), ok.clone()).await;
        assert_eq!(p.status, StatusCode::OK, "{n}: {}", p.body);
        let done = p.json();
        govstack_conforms("completedTaskResponse", &done);
        assert_eq!((done["taskId"].as_str(), done["fileId"].as_str()), (Some(ta.as_str()), Some(codes[0].as_str())), "{n}");
        assert_eq!(done["variables"]["next"]["data"]["roleId"]["value"], json!("leader@H26.31"), "{n}: {done:#}");
        let moved = app.dossier(ids[0]).await;
        assert_eq!(
            (moved.status, moved.flow.step_id.as_deref(), moved.flow.step_role),
            (S::Processing, Some("approve"), Some(Role::Leader)),
            "{n}"
        );
        let sheet = app.db.read().await.unwrap().list_handoffs(ids[0]).await.unwrap();
        let review = sheet.iter().find(|h| h.step_id == "review").unwrap();
        assert!(ta.ends_with(&format!(":{}", review.id)), "{n}: the task is the control sheet row");
        assert_eq!(
            (review.decision.as_deref(), review.handler_name.as_deref(), review.note.as_deref(), review.ended_at.is_some()),
            (Some("propose"), Some("Cán bộ chuyenvien"), Some("Đủ điều kiện"), true),
            "{n}"
        );
        let audit = app.db.read().await.unwrap().list_audit(Some("dossier"), Some(&ids[0].to_string()), 10).await.unwrap();
        assert!(audit.iter().any(|a| a.action == "dossier.decision.forward" && a.actor_label == "chuyenvien"), "{n}");
        // The same completion again: the task is gone, the dossier moved on.
        error(&app.govstack("POST", &path, Some(&cv), ok).await, StatusCode::CONFLICT, n);
        error(&app.govstack("GET", &format!("/tasks/{ta}"), Some(&cv), None).await, StatusCode::NOT_FOUND, n);

        // The leader's list now holds it; approving it takes the next task.
        let next = done["variables"]["next"]["data"]["taskId"]["value"].as_str().unwrap().to_owned();
        let led = app.govstack("GET", "/tasks", Some(&ld), None).await.json();
        assert_eq!(led.as_array().unwrap().iter().map(|t| t["taskId"].as_str().unwrap()).collect::<Vec<_>>(), [next.as_str()], "{n}");
        let rev = app.dossier(ids[0]).await.revision;
        let p = app
            .govstack("POST", &format!("/tasks/{next}/complete"), Some(&ld), complete(json!({"decision": "approve", "revision": rev})))
            .await;
        assert_eq!(p.status, StatusCode::OK, "{n}: {}", p.body);
        assert_eq!(p.json()["status"]["code"], json!("APPROVED"), "{n}");
        assert_eq!(app.dossier(ids[0]).await.flow.outcome.as_deref(), Some("approved"), "{n}");

        // A supplement request needs the list of what is missing; it sends the application back.
        let rev = app.dossier(ids[1]).await.revision;
        let pb = format!("/tasks/{tb}/complete");
        error(
            &app.govstack("POST", &pb, Some(&cv), complete(json!({"decision": "supplement", "revision": rev}))).await,
            StatusCode::BAD_REQUEST,
            n,
        );
        let p = app
            .govstack(
                "POST",
                &pb,
                Some(&cv),
                complete(json!({"decision": "supplement", "revision": rev, "missing": ["Giấy chứng sinh bản chính"]})),
            )
            .await;
        assert_eq!(p.status, StatusCode::OK, "{n}: {}", p.body);
        assert_eq!(p.json()["status"]["code"], json!("SENDBACK"), "{n}");
        assert_eq!(app.dossier(ids[1]).await.status, S::SupplementRequested, "{n}");
        let left: Vec<String> = app
            .govstack("GET", "/tasks", Some(&cv), None)
            .await
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["taskId"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(left, [tc.as_str()], "{n}: a paused dossier leaves the work list");

        // The operator's update of an application: the refusal of C, with its reasons.
        let rev = app.dossier(ids[2]).await.revision;
        let put =
            |applicant: &str, data: serde_json::Value| Some(json!({"applicantId": applicant, "formData": {"data": data}}).to_string());
        let pc = format!("/applications/{}", codes[2]);
        let refuse = json!({"decision": "refuse", "revision": rev, "reasons": ["Không thuộc thẩm quyền"]});
        error(&app.govstack("PUT", &pc, Some(&cv), put("079203000001", refuse.clone())).await, StatusCode::BAD_REQUEST, n);
        error(&app.govstack("PUT", &pc, Some(&cv), Some("{\"applicantId\": 5}".into())).await, StatusCode::BAD_REQUEST, n);
        error(&app.govstack("PUT", &pc, Some(&ld), put("001303012345", refuse.clone())).await, StatusCode::FORBIDDEN, n);
        error(&app.govstack("PUT", &pc, Some(&other), put("001303012345", refuse.clone())).await, StatusCode::NOT_FOUND, n);
        error(&app.govstack("PUT", &pc, Some(&citizen), put("001303012345", refuse.clone())).await, StatusCode::FORBIDDEN, n);
        error(
            &app.govstack("PUT", "/applications/H26.31-010101-0099", Some(&cv), put("001303012345", refuse.clone())).await,
            StatusCode::NOT_FOUND,
            n,
        );
        let p = app.govstack("PUT", &pc, Some(&cv), put("001303012345", refuse)).await;
        assert_eq!(p.status, StatusCode::OK, "{n}: {}", p.body);
        let file = p.json();
        govstack_conforms("applicationFileResponse", &file);
        assert_eq!(file["status"]["code"], json!("REJECTED"), "{n}: a refusal is no approval");
        assert_eq!((file["fileId"].as_str(), file["applicantId"].as_str()), (Some(codes[2].as_str()), Some("001303012345")), "{n}");
        assert_eq!(app.dossier(ids[2]).await.flow.outcome.as_deref(), Some("refused"), "{n}");
        // Operators of the agency read application files too; others' officers do not.
        let p = app.govstack("GET", &pc, Some(&ld), None).await;
        assert_eq!(p.status, StatusCode::OK, "{n}: {}", p.body);
        govstack_conforms("applicationFileResponse", &p.json());
        assert_eq!(p.json()["applicantId"], json!("001303012345"), "{n}");
        error(&app.govstack("GET", &pc, Some(&other), None).await, StatusCode::NOT_FOUND, n);

        // Statistics of today: one approval (by the leader), one supplement request and one
        // refusal (by the specialist).
        let today = tl_web::portal::today().format("%Y-%m-%d").to_string();
        let all = stats(&mut app, "", None).await;
        assert_eq!(all.status, StatusCode::OK, "{n}: {}", all.body);
        let v = all.json();
        statistics_conform(&v);
        let counts = |v: &serde_json::Value, i: usize| {
            let x = &v[i];
            (
                x["processed"].as_i64().unwrap(),
                x["approved"].as_i64().unwrap(),
                x["sentBack"].as_i64().unwrap(),
                x["rejected"].as_i64().unwrap(),
            )
        };
        assert_eq!((v.as_array().unwrap().len(), counts(&v, 0)), (1, (3, 1, 1, 1)), "{n}: {v:#}");
        assert_eq!(v[0]["references"]["endDate"], json!(today), "{n}");
        let v = stats(&mut app, "?role=specialist&registrationName=1.001193", None).await.json();
        statistics_conform(&v);
        assert_eq!(counts(&v, 0), (2, 0, 1, 1), "{n}: {v:#}");
        let v = stats(&mut app, "?operator=lanhdao", Some(&cv)).await.json();
        assert_eq!(counts(&v, 0), (1, 1, 0, 0), "{n}: {v:#}");
        let start = (tl_web::portal::today() - chrono::Duration::days(2)).format("%Y-%m-%d").to_string();
        let v = stats(&mut app, &format!("?timeframe=day&startDate={start}&endDate={today}"), None).await.json();
        statistics_conform(&v);
        assert_eq!(v.as_array().unwrap().len(), 3, "{n}: {v:#}");
        assert_eq!((counts(&v, 0), counts(&v, 2)), ((0, 0, 0, 0), (3, 1, 1, 1)), "{n}: {v:#}");
        assert_eq!(v[2]["references"]["timeframeDay"], json!(true), "{n}");
        let v = stats(&mut app, &format!("?startDate={start}&endDate={start}"), None).await.json();
        assert_eq!(counts(&v, 0), (0, 0, 0, 0), "{n}: nothing before today");
        error(&stats(&mut app, "?operator=lanhdao", Some(&citizen)).await, StatusCode::FORBIDDEN, n);
        error(&stats(&mut app, "?registrationName=Kh%C3%B4ng%20c%C3%B3", None).await, StatusCode::NOT_FOUND, n);
        for bad in [
            "?startDate=26/11/2026",
            "?timeframe=hour",
            "?role=admin",
            "?startDate=2026-12-01&endDate=2026-01-01",
            "?timeframe=day&startDate=2000-01-01",
        ] {
            error(&stats(&mut app, bad, None).await, StatusCode::BAD_REQUEST, n);
        }
    }

    async fn codes_of(app: &App, ids: &[i64]) -> Vec<String> {
        let mut out = vec![];
        for id in ids {
            out.push(app.dossier(*id).await.code.unwrap());
        }
        out
    }
}

#[tokio::test]
async fn service_points_keep_their_own_office_hours_and_sub_agencies_inherit_them() {
    for mut app in apps().await {
        let n = app.name;
        app.add_officer("quantri", "Quản trị lịch 2026", "H26", &[tl_core::account::Role::Admin]).await;
        app.sign_in("quantri", "Quản trị lịch 2026").await;
        let page = app.get("/admin/calendar").await;
        assert!(page.has("Giờ làm việc của điểm phục vụ") && page.has("07:30-11:30, 13:30-17:00"), "{n}");
        for (agency, periods) in [("H26.31", "7h-11h"), ("H26.31", "13:30-17:00, 07:30-11:30"), ("", "08:00-12:00")] {
            let p = app.post("/admin/calendar", &[("action", "hours"), ("agency", agency), ("periods", periods)]).await;
            assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}: {agency} {periods}");
        }
        assert!(app.db.read().await.unwrap().list_office_hours().await.unwrap().is_empty(), "{n}: refusals change nothing");
        let p = app.post("/admin/calendar", &[("action", "hours"), ("agency", "H26.20"), ("periods", "08:00-12:00, 13:00–17:00")]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        let page = app.get("/admin/calendar").await;
        assert!(page.has("Công an Thành phố Hà Nội") && page.has("08:00-12:00, 13:00-17:00"), "{n}");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let mut r = app.db.read().await.unwrap();
        let ward_police = r.get_agency("H26.20.31").await.unwrap().unwrap().id;
        let ward = r.get_agency("H26.31").await.unwrap().unwrap().id;
        drop(r);
        let police_cal = app.state.calendar.for_agency(&app.state, ward_police).await.unwrap();
        assert_eq!(police_cal.hours().to_text(), "08:00-12:00,13:00-17:00", "{n}: a ward police office inherits the city police's hours");
        assert_eq!(police_cal.hours().minutes(), 480, "{n}");
        let ward_cal = app.state.calendar.for_agency(&app.state, ward).await.unwrap();
        assert_eq!(ward_cal.hours().to_text(), "07:30-11:30,13:30-17:00", "{n}: others keep the standard hours");
        let p = app.post("/admin/calendar", &[("action", "hours_delete"), ("agency", "H26.20")]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        assert_eq!(app.state.calendar.for_agency(&app.state, ward_police).await.unwrap().hours().minutes(), 450, "{n}");
        let audit = app.db.read().await.unwrap().list_audit(Some("agency"), Some("H26.20"), 50).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "calendar.office_hours"), "{n}");
        app.post("/signout", &[]).await;
    }
}

#[tokio::test]
async fn one_stop_officers_are_alerted_of_new_online_filings_once() {
    use tl_core::account::Role;
    for mut app in apps().await {
        let n = app.name;
        publish_text_form(&app).await;
        let (_, token) = app.citizen_with_token("001303012345").await;
        let ward = app.add_officer("motcua", "Một cửa Ba Đình 2026", "H26.31", &[Role::Reception]).await;
        let city = app.add_officer("motcua.tp", "Một cửa thành phố 2026", "H26", &[Role::Reception]).await;
        let elsewhere = app.add_officer("motcua.khac", "Một cửa nơi khác 2026", "H26.50", &[Role::Reception]).await;
        let specialist = app.add_officer("chuyenvien", "Chuyên viên Ba Đình 2026", "H26.31", &[Role::Specialist]).await;
        let a = app.file_for(&token, "1.001193", "al-a", "Lê Minh An").await;
        let rev = app.dossier(a).await.revision;
        let now = chrono::Utc::now() + chrono::Duration::seconds(1);
        assert_eq!(tl_web::workflow::alert_reception(&app.state, now).await.unwrap(), 1, "{n}");
        assert_eq!(tl_web::workflow::alert_reception(&app.state, now).await.unwrap(), 0, "{n}: once");
        let mut r = app.db.read().await.unwrap();
        for (who, expected) in [(ward, 1), (city, 1), (elsewhere, 0), (specialist, 0)] {
            let got = r.list_notifications(who, 10).await.unwrap();
            assert_eq!(got.len(), expected, "{n}: officer {who}");
            if expected == 1 {
                assert!(got[0].title_vi.contains("chờ tiếp nhận") && got[0].link.as_deref() == Some(&format!("/dossiers/{a}")[..]), "{n}");
            }
        }
        // The alert is not an action: the dossier's revision does not move.
        assert_eq!(r.get_dossier(a).await.unwrap().unwrap().revision, rev, "{n}");
    }
}

#[tokio::test]
async fn a_multi_agency_dossier_is_transferred_to_the_tax_office_and_back_with_each_agency_seeing_only_its_step() {
    use tl_core::account::Role;
    use tl_core::dossier::DossierStatus as S;
    for mut app in apps().await {
        let n = app.name;
        // Land-use right transfer: land registration office → tax office (liên thông) → back.
        publish_text_form_for(&app, "1.013831").await;
        let (_, token) = app.citizen_with_token("001303012345").await;
        let body =
            r#"{"procedure": "1.013831", "agency": "H26.13.01", "submit": true, "answers": {"child_name": "Thửa đất số 12, tờ bản đồ 5"}}"#;
        let p = app.json("POST", "/api/v1/dossiers", &token, body, Some("land-1")).await;
        assert_eq!(p.status, StatusCode::CREATED, "{n}: {}", p.body);
        let a = p.json()["id"].as_i64().unwrap();
        app.add_officer("motcua.dd", "Một cửa đất đai 2026", "H26.13.01", &[Role::Reception]).await;
        app.add_officer("chuyenvien.dd", "Chuyên viên đất đai 2026", "H26.13.01", &[Role::Specialist]).await;
        app.add_officer("chuyenvien.thue", "Chuyên viên thuế 2026", "H26.60", &[Role::Specialist]).await;

        app.sign_in("motcua.dd", "Một cửa đất đai 2026").await;
        assert_eq!(app.act("reception", a, &[("action", "accept")]).await.status, StatusCode::SEE_OTHER, "{n}");
        app.post("/signout", &[]).await;
        let d = app.dossier(a).await;
        assert_eq!(d.flow.step_id.as_deref(), Some("kiem_tra"), "{n}");
        let due_3_days = d.flow.step_due_at.unwrap();

        // The tax office sees nothing yet; the land office's specialist transfers it.
        app.sign_in("chuyenvien.thue", "Chuyên viên thuế 2026").await;
        assert!(!app.get("/office/inbox").await.has(&format!("/dossiers/{a}\"")), "{n}");
        assert_eq!(app.get(&format!("/dossiers/{a}")).await.status, StatusCode::NOT_FOUND, "{n}: not its dossier yet");
        app.post("/signout", &[]).await;
        app.sign_in("chuyenvien.dd", "Chuyên viên đất đai 2026").await;
        assert_eq!(
            app.act("decide", a, &[("decision", "chuyen_thue"), ("note", "Chuyển xác định nghĩa vụ tài chính")]).await.status,
            StatusCode::SEE_OTHER,
            "{n}"
        );
        assert!(!app.get("/office/inbox").await.has(&format!("/dossiers/{a}\"")), "{n}: it left the land office");
        app.post("/signout", &[]).await;
        let d = app.dossier(a).await;
        let tax = app.db.read().await.unwrap().get_agency("H26.60").await.unwrap().unwrap();
        assert_eq!(
            (d.status, d.flow.step_id.as_deref(), d.flow.step_agency_id),
            (S::Processing, Some("xac_dinh_thue"), Some(tax.id)),
            "{n}"
        );
        assert!(d.flow.step_due_at.unwrap() >= due_3_days, "{n}: the tax office gets its own 3 working days");

        // The tax office works it and transfers it back; the control sheet names both agencies.
        app.sign_in("chuyenvien.thue", "Chuyên viên thuế 2026").await;
        assert!(app.get("/office/inbox").await.has(&format!("/dossiers/{a}\"")), "{n}");
        let page = app.get(&format!("/dossiers/{a}")).await;
        assert!(page.has("Thửa đất số 12") && page.has("Chuyển xác định nghĩa vụ tài chính"), "{n}: the partner reads what it needs");
        assert_eq!(app.act("decide", a, &[("decision", "chuyen_vpdk")]).await.status, StatusCode::SEE_OTHER, "{n}");
        app.post("/signout", &[]).await;
        let sheet = app.db.read().await.unwrap().list_handoffs(a).await.unwrap();
        let agencies: Vec<(&str, &str)> = sheet.iter().map(|h| (h.step_id.as_str(), h.agency_name.as_str())).collect();
        assert_eq!(agencies.len(), 4, "{n}: {agencies:?}");
        assert_eq!(agencies[2], ("xac_dinh_thue", tax.name.vi.as_str()), "{n}");
        assert_eq!(app.dossier(a).await.flow.step_id.as_deref(), Some("chinh_ly"), "{n}");
    }
}

#[tokio::test]
async fn the_result_follows_the_procedures_template() {
    use tl_core::account::Role;
    for mut app in apps().await {
        let n = app.name;
        let form: tl_core::form::FormDef =
            serde_json::from_value(serde_json::json!({"steps": [{"key": "main", "title": {"vi": "Thông tin"}, "fields": [
                {"key": "child_name", "label": {"vi": "Họ và tên trẻ"}, "required": true, "type": {"kind": "text"}},
                {"key": "mother", "label": {"vi": "Họ và tên mẹ"}, "required": true, "type": {"kind": "text"}}
            ]}]}))
            .unwrap();
        let template: tl_core::catalog::ResultTemplate = serde_json::from_value(serde_json::json!({
            "title": {"vi": "Trích lục khai sinh"}, "subtitle": {"vi": "(Bản điện tử)"},
            "fields": [{"label": {"vi": "Họ, chữ đệm, tên"}, "answer": "child_name"}, {"label": {"vi": "Họ tên người mẹ"}, "answer": "mother"}],
            "body": [{"vi": "Đã đăng ký khai sinh cho {child_name}, con bà {mother}."}]
        }))
        .unwrap();
        let today = tl_web::portal::today();
        let mut v = app.db.read().await.unwrap().get_procedure("1.001193", today, None).await.unwrap().unwrap().version;
        v.effective_from = today;
        v.form = Some(form);
        v.result_template = Some(template);
        let mut w = app.db.begin().await.unwrap();
        w.add_procedure_version("1.001193", &v, None, chrono::Utc::now()).await.unwrap();
        w.commit().await.unwrap();
        tokio::time::sleep(tl_web::catalog::MAX_STALENESS).await;
        let (_, token) = app.citizen_with_token("001303012345").await;
        let body = r#"{"procedure": "1.001193", "agency": "H26.31", "submit": true, "answers": {"child_name": "Lê Minh An", "mother": "Trần Thị Mai"}}"#;
        let p = app.json("POST", "/api/v1/dossiers", &token, body, Some("tpl")).await;
        assert_eq!(p.status, StatusCode::CREATED, "{n}: {}", p.body);
        let a = p.json()["id"].as_i64().unwrap();
        app.add_officer("motcua", "Một cửa Ba Đình 2026", "H26.31", &[Role::Reception]).await;
        app.add_officer("chuyenvien", "Chuyên viên Ba Đình 2026", "H26.31", &[Role::Specialist]).await;
        app.add_officer("lanhdao", "Lãnh đạo Ba Đình 2026", "H26.31", &[Role::Leader]).await;
        for (login, pw, path, fields) in [
            ("motcua", "Một cửa Ba Đình 2026", "reception", vec![("action", "accept")]),
            ("chuyenvien", "Chuyên viên Ba Đình 2026", "decide", vec![("decision", "propose")]),
            ("lanhdao", "Lãnh đạo Ba Đình 2026", "decide", vec![("decision", "approve")]),
        ] {
            app.sign_in(login, pw).await;
            assert_eq!(app.act(path, a, &fields).await.status, StatusCode::SEE_OTHER, "{n}: {login}");
            app.post("/signout", &[]).await;
        }
        let r = app.db.read().await.unwrap().list_results_of(a).await.unwrap().remove(0);
        assert_eq!(r.title, "TRÍCH LỤC KHAI SINH", "{n}");
        let bytes = app.state.blobs.read(&r.storage_key).await.unwrap();
        if let Some(text) = pdf_text(&bytes) {
            for s in [
                "TRÍCH LỤC KHAI SINH",
                "(Bản điện tử)",
                "Họ tên người mẹ: Trần Thị Mai",
                "Đã đăng ký khai sinh cho Lê Minh An, con bà Trần Thị Mai.",
            ] {
                assert!(text.contains(s), "{n}: {s} in {text}");
            }
        }
    }
}

/// The secret shown on the set-up page (grouped base32), and the code of `step` for it.
fn secret_on(p: &Page) -> Vec<u8> {
    let start = p.body.find("class=\"secret\"").expect("the set-up page shows the key");
    let text = &p.body[start..];
    let text = &text[text.find('>').unwrap() + 1..];
    let text = &text[..text.find('<').unwrap()];
    tl_core::totp::from_base32(text).expect("the key is base32")
}

fn now_step() -> i64 {
    tl_core::totp::step_of(chrono::Utc::now().timestamp())
}

#[tokio::test]
async fn officers_sign_in_with_a_second_factor_their_agency_requires_and_manage_their_sessions() {
    use tl_core::account::Role;
    use tl_core::totp::code_at;
    for app in apps().await {
        let be = app.name;
        let pw = "Mật khẩu cán bộ phường 2026";
        app.add_officer("quantri", "Quản trị hệ thống 2026", "H26", &[Role::Admin]).await;
        let officer = app.add_officer("chuyenvien", pw, "H26.31", &[Role::Specialist]).await;
        app.add_officer("lanhdao.thanhpho", pw, "H26", &[Role::Leader]).await;
        let mut admin = app.second_browser();
        assert_eq!(admin.sign_in("quantri", "Quản trị hệ thống 2026").await.location(), "/account", "{be}");

        // Without a requirement an officer signs in with the password alone, and sees the factor off.
        let mut phone = app.second_browser();
        assert_eq!(phone.sign_in("chuyenvien", pw).await.location(), "/account", "{be}");
        let sec = phone.get("/account/security").await;
        assert!(sec.has("Chưa bật") && sec.has("Các phiên đăng nhập"), "{be}: {} {}", sec.status, sec.body);
        let mut city = app.second_browser();
        assert_eq!(city.sign_in("lanhdao.thanhpho", pw).await.location(), "/account", "{be}");

        // The administrator requires it for the ward: the ward's officer and the city leader who
        // acts on the ward's dossiers are signed out at once; the administrator is not.
        let set = admin.post("/admin/agencies/H26.31/second-factor", &[("required", "1")]).await;
        assert_eq!(set.status, StatusCode::SEE_OTHER, "{be}: {}", set.body);
        assert!(
            admin.get("/admin/agencies/H26.31/edit").await.body.contains("id=\"mfa-required\" name=\"required\" value=\"1\" checked"),
            "{be}"
        );
        assert_eq!(phone.get("/account").await.location(), "/signin?next=/account", "{be}: signed out");
        assert_eq!(city.get("/account").await.location(), "/signin?next=/account", "{be}: the city leader too");
        assert_eq!(admin.get("/admin").await.status, StatusCode::OK, "{be}: the administrator stays");

        // Next sign-in: the password leads to the set-up, and nothing else opens until it is done.
        let p = phone.sign_in("chuyenvien", pw).await;
        assert_eq!(p.location(), "/signin/enrol?next=%2Faccount", "{be}");
        assert_eq!(phone.get("/account").await.location(), "/signin?next=/account", "{be}: not signed in half-way");
        assert_eq!(phone.get("/signin/second-factor").await.location(), "/signin", "{be}: not the other half-way page");
        let setup = phone.get("/signin/enrol?next=%2Faccount").await;
        assert!(setup.has("Cơ quan của bạn yêu cầu") && setup.body.contains("<svg class=\"qr\""), "{be}");
        let secret = secret_on(&setup);
        assert_eq!(secret_on(&phone.get("/signin/enrol").await), secret, "{be}: the same key until confirmed");
        let wrong = phone.post("/signin/enrol", &[("code", "000000"), ("next", "/account")]).await;
        let wrong = if code_at(&secret, now_step()) == "000000" { phone.post("/signin/enrol", &[("code", "111111")]).await } else { wrong };
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{be}");
        assert!(wrong.has("Mã không đúng"), "{be}");
        let step = now_step();
        let done = phone.post("/signin/enrol", &[("code", &code_at(&secret, step)), ("next", "/account")]).await;
        assert_eq!(done.status, StatusCode::OK, "{be}: {}", done.body);
        assert!(done.has("Mã khôi phục") && done.has("Đã bật xác thực hai lớp"), "{be}");
        let codes: Vec<String> = done.body.split("<li><code>").skip(1).map(|s| s[..s.find('<').unwrap()].to_owned()).collect();
        assert_eq!(codes.len(), 10, "{be}");
        assert!(phone.get("/account").await.has("Cán bộ chuyenvien"), "{be}: signed in");

        // Signing in again asks for a code; the code already used is refused, the next one works.
        let mut laptop = app.second_browser();
        assert_eq!(laptop.sign_in("chuyenvien", pw).await.location(), "/signin/second-factor?next=%2Faccount", "{be}");
        let replay = laptop.post("/signin/second-factor", &[("code", &code_at(&secret, step)), ("next", "/account")]).await;
        assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{be}");
        assert!(replay.has("vừa được dùng"), "{be}");
        let ok = laptop.post("/signin/second-factor", &[("code", &code_at(&secret, step + 1)), ("next", "/dossiers")]).await;
        assert_eq!(ok.location(), "/dossiers", "{be}: {}", ok.body);
        assert!(laptop.get("/account").await.has("Cán bộ chuyenvien"), "{be}");

        // A recovery code works once, typed in capitals without its dash.
        let mut spare = app.second_browser();
        spare.sign_in("chuyenvien", pw).await;
        let typed = codes[0].replace('-', "").to_uppercase();
        assert_eq!(spare.post("/signin/second-factor", &[("code", &typed)]).await.location(), "/account", "{be}");
        let mut again = app.second_browser();
        again.sign_in("chuyenvien", pw).await;
        assert_eq!(again.post("/signin/second-factor", &[("code", &codes[0])]).await.status, StatusCode::BAD_REQUEST, "{be}: used");

        // The owner sees three sessions, ends the spare one, then every other one.
        let sec = phone.get("/account/security").await;
        assert!(sec.has("Đang bật") && sec.has("phiên này") && sec.body.contains("<strong>9</strong>"), "{be}: nine codes left");
        let handles: Vec<String> =
            sec.body.split("/account/sessions/").skip(1).filter_map(|s| s.split_once("/end").map(|(h, _)| h.to_owned())).collect();
        assert_eq!(handles.len(), 3, "{be}: three browsers signed in");
        let spare_hash = tl_web::sha256_hex(&spare.cookies["tl_session"]);
        assert!(handles.contains(&spare_hash), "{be}");
        assert_eq!(
            phone.post(&format!("/account/sessions/{spare_hash}/end"), &[]).await.location(),
            "/account/security?done=session",
            "{be}"
        );
        assert_eq!(spare.get("/account").await.status, StatusCode::SEE_OTHER, "{be}: the spare browser is signed out");
        // Someone else's session is not theirs to end.
        let admin_hash = tl_web::sha256_hex(&admin.cookies["tl_session"]);
        assert_eq!(phone.post(&format!("/account/sessions/{admin_hash}/end"), &[]).await.status, StatusCode::NOT_FOUND, "{be}");
        assert_eq!(admin.get("/admin").await.status, StatusCode::OK, "{be}");
        phone.post("/account/sessions/end-others", &[]).await;
        assert_eq!(laptop.get("/account").await.status, StatusCode::SEE_OTHER, "{be}: the laptop is signed out");
        assert_eq!(phone.get("/account").await.status, StatusCode::OK, "{be}: this one stays");

        // The agency requires it: it cannot be turned off, even with a good code.
        let off = phone.post("/account/security/totp/remove", &[("code", &code_at(&secret, now_step() + 1))]).await;
        assert_eq!(off.status, StatusCode::BAD_REQUEST, "{be}");
        assert!(app.db.read().await.unwrap().get_totp(officer).await.unwrap().is_some(), "{be}");

        // Wrong codes lock the account like wrong passwords; each failure is audited.
        let mut thief = app.second_browser();
        thief.sign_in("chuyenvien", pw).await;
        for _ in 0..5 {
            thief.post("/signin/second-factor", &[("code", "12345a")]).await;
        }
        let locked = thief.post("/signin/second-factor", &[("code", &code_at(&secret, now_step() + 1))]).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{be}");
        assert!(locked.has("tạm thời bị khóa"), "{be}");
        let audit = app.db.read().await.unwrap().list_audit(Some("account"), Some(&officer.to_string()), 100).await.unwrap();
        assert!(audit.iter().filter(|e| e.action == "account.second_factor_failed").count() >= 5, "{be}");
        assert!(audit.iter().any(|e| e.action == "account.totp_enabled"), "{be}");

        // The phone is lost: the administrator resets the factor; the officer's sessions end.
        assert_eq!(admin.post(&format!("/admin/accounts/{officer}/second-factor/reset"), &[]).await.status, StatusCode::SEE_OTHER, "{be}");
        assert_eq!(phone.get("/account").await.status, StatusCode::SEE_OTHER, "{be}");
        assert!(app.db.read().await.unwrap().get_totp(officer).await.unwrap().is_none(), "{be}");

        // Hostile input: a session handle that is not one, a malformed requirement value.
        assert_eq!(admin.post("/account/sessions/..%2F..%2Fetc/end", &[]).await.status, StatusCode::NOT_FOUND, "{be}");
        assert_eq!(
            admin.post("/admin/agencies/H26.31/second-factor", &[("required", "maybe")]).await.status,
            StatusCode::BAD_REQUEST,
            "{be}"
        );
        let mut citizen = app.second_browser();
        assert_eq!(citizen.post("/admin/agencies/H26.31/second-factor", &[("required", "")]).await.status.as_u16() / 100, 4, "{be}");
    }
}

#[tokio::test]
async fn employees_file_for_their_business_and_people_file_for_whoever_authorised_them_until_revoked() {
    for app in apps().await {
        let be = app.name;
        let pw = "Mật khẩu thử nghiệm 2026";
        let (employee, _) = app.citizen_account("001203011111", None, Some(pw)).await;
        let (colleague, _) = app.citizen_account("001203022222", None, Some(pw)).await;
        let (mother, _) = app.citizen_account("001303033333", None, Some(pw)).await;
        let (neighbour, _) = app.citizen_account("001203044444", None, Some(pw)).await;
        let business = {
            let mut w = app.db.begin().await.unwrap();
            let a = w
                .create_account(
                    &tl_storage::NewAccount {
                        kind: tl_core::account::AccountKind::Business,
                        login: "0100109106".into(),
                        display_name: "Công ty TNHH Sông Hồng".into(),
                        email: None,
                        phone: None,
                        password_hash: Some(tl_web::hash_password(pw).unwrap()),
                        agency_id: None,
                    },
                    chrono::Utc::now(),
                )
                .await
                .unwrap();
            w.commit().await.unwrap();
            a.id
        };

        // The business adds its employees; an unknown ID number is refused with the reason.
        let mut boss = app.second_browser();
        boss.sign_in("0100109106", pw).await;
        let bad = boss.post("/account/delegation/members", &[("login", "001203099999")]).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{be}");
        assert!(bad.has("Không tìm thấy công dân"), "{be}");
        for id in ["001 203 011 111", "001203022222"] {
            assert_eq!(
                boss.post("/account/delegation/members", &[("login", id)]).await.location(),
                "/account/delegation?done=member_added",
                "{be}"
            );
        }
        assert!(boss.get("/account/delegation").await.has("Nhân viên được nộp hồ sơ thay doanh nghiệp"), "{be}");

        // The employee files for the business: the procedure page offers it, the dossier keeps both.
        let mut emp = app.second_browser();
        emp.sign_in("001203011111", pw).await;
        let page = emp.get("/procedures/1.001193").await;
        assert!(page.has("Nộp hồ sơ cho") && page.has("Công ty TNHH Sông Hồng"), "{be}");
        let started =
            emp.post("/procedures/1.001193/file", &[("agency", "H26.31"), ("idem", "deleg-key-001"), ("for", &business.to_string())]).await;
        assert_eq!(started.status, StatusCode::SEE_OTHER, "{be}: {}", started.body);
        let id: i64 = started.location().trim_start_matches("/dossiers/").split('/').next().unwrap().parse().unwrap();
        let d = app.dossier(id).await;
        assert_eq!((d.applicant_id, d.acted_by_id), (business, employee), "{be}: the applicant and who acted");
        assert!(emp.get("/dossiers").await.has("Hồ sơ bạn nộp thay người khác"), "{be}");
        assert!(boss.get("/dossiers").await.body.contains(&format!("/dossiers/{id}")), "{be}: the business sees its dossier");
        let shown = boss.get(&format!("/dossiers/{id}")).await;
        assert!(shown.has("Người nộp thay") && shown.has("Lê Thị Hoa"), "{be}");
        // A colleague works on the business's dossiers too; someone else does not see them.
        let mut col = app.second_browser();
        col.sign_in("001203022222", pw).await;
        assert_eq!(col.get(&format!("/dossiers/{id}/edit")).await.status, StatusCode::OK, "{be}");
        let mut other = app.second_browser();
        other.sign_in("001203044444", pw).await;
        assert_eq!(other.get(&format!("/dossiers/{id}")).await.status, StatusCode::NOT_FOUND, "{be}");
        // Removed from the business: no more editing at once (the record stays readable to who acted).
        boss.post(&format!("/account/delegation/members/{employee}/remove"), &[]).await;
        let refused = emp.get(&format!("/dossiers/{id}/edit")).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{be}");
        assert!(refused.has("không còn) được ủy quyền"), "{be}");
        assert_eq!(emp.get(&format!("/dossiers/{id}")).await.status, StatusCode::OK, "{be}");
        let _ = colleague;

        // A mother authorises her neighbour for birth registration; bad forms change nothing.
        let mut mum = app.second_browser();
        mum.sign_in("001303033333", pw).await;
        let today = tl_web::portal::today();
        let fmt = |d: chrono::NaiveDate| d.format("%d/%m/%Y").to_string();
        for (fields, says) in [
            (
                vec![
                    ("grantee", "001303033333".to_string()),
                    ("procedure", "1.001193".to_string()),
                    ("valid_from", fmt(today)),
                    ("valid_to", fmt(today)),
                ],
                "chính mình",
            ),
            (
                vec![
                    ("grantee", "001203099999".to_string()),
                    ("procedure", "1.001193".to_string()),
                    ("valid_from", fmt(today)),
                    ("valid_to", fmt(today)),
                ],
                "Không tìm thấy tài khoản",
            ),
            (
                vec![
                    ("grantee", "001203044444".to_string()),
                    ("procedure", "9.999999".to_string()),
                    ("valid_from", fmt(today)),
                    ("valid_to", fmt(today)),
                ],
                "Vui lòng chọn thủ tục",
            ),
            (
                vec![
                    ("grantee", "001203044444".to_string()),
                    ("procedure", "1.001193".to_string()),
                    ("valid_from", fmt(today - chrono::Duration::days(1))),
                    ("valid_to", fmt(today)),
                ],
                "quá khứ",
            ),
            (
                vec![
                    ("grantee", "001203044444".to_string()),
                    ("procedure", "1.001193".to_string()),
                    ("valid_from", fmt(today)),
                    ("valid_to", fmt(today + chrono::Duration::days(400))),
                ],
                "tối đa một năm",
            ),
            (
                vec![
                    ("grantee", "001203044444".to_string()),
                    ("procedure", "1.001193".to_string()),
                    ("valid_from", "31/02/2026".into()),
                    ("valid_to", fmt(today)),
                ],
                "ngày/tháng/năm",
            ),
        ] {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let p = mum.post("/account/delegation/authorisations", &f).await;
            assert_eq!(p.status, StatusCode::BAD_REQUEST, "{be}: {says}");
            assert!(p.has(says), "{be}: {says}");
        }
        assert!(app.db.read().await.unwrap().authorisations_given(mother).await.unwrap().is_empty(), "{be}: nothing stored");
        let ok = mum
            .post(
                "/account/delegation/authorisations",
                &[
                    ("grantee", "001203044444"),
                    ("procedure", "1.001193"),
                    ("valid_from", &fmt(today)),
                    ("valid_to", &fmt(today + chrono::Duration::days(30))),
                    ("note", "Nộp hộ khi tôi nằm viện"),
                ],
            )
            .await;
        assert_eq!(ok.location(), "/account/delegation?done=authorised", "{be}: {}", ok.body);
        assert!(other.get("/account/delegation").await.has("Ủy quyền bạn đang được nhận"), "{be}");
        assert!(other.get("/procedures/1.001193").await.has("Nộp hồ sơ cho"), "{be}");
        // The neighbour files birth registration for the mother, nothing else, for no one else.
        let started =
            other.post("/procedures/1.001193/file", &[("agency", "H26.31"), ("idem", "deleg-key-002"), ("for", &mother.to_string())]).await;
        assert_eq!(started.status, StatusCode::SEE_OTHER, "{be}");
        let nid: i64 = started.location().trim_start_matches("/dossiers/").split('/').next().unwrap().parse().unwrap();
        assert_eq!((app.dossier(nid).await.applicant_id, app.dossier(nid).await.acted_by_id), (mother, neighbour), "{be}");
        let forged = other
            .post("/procedures/1.001193/file", &[("agency", "H26.31"), ("idem", "deleg-key-003"), ("for", &business.to_string())])
            .await;
        assert_eq!(forged.status, StatusCode::BAD_REQUEST, "{be}: not authorised by the business");
        let other_proc =
            other.post("/procedures/1.000894/file", &[("agency", "H26.31"), ("idem", "deleg-key-004"), ("for", &mother.to_string())]).await;
        assert_eq!(other_proc.status.as_u16() / 100, 4, "{be}: another procedure");
        let garbage =
            other.post("/procedures/1.001193/file", &[("agency", "H26.31"), ("idem", "deleg-key-005"), ("for", "1 OR 1=1")]).await;
        assert_eq!(garbage.status, StatusCode::BAD_REQUEST, "{be}");
        assert_eq!(app.db.read().await.unwrap().list_dossiers_of(mother, 10).await.unwrap().len(), 1, "{be}: one dossier for the mother");
        assert!(mum.get("/dossiers").await.body.contains(&format!("/dossiers/{nid}")), "{be}");
        // Revoked: the neighbour can no longer edit it; the mother still can.
        let given = app.db.read().await.unwrap().authorisations_given(mother).await.unwrap();
        assert_eq!(
            other.post(&format!("/account/delegation/authorisations/{}/revoke", given[0].id), &[]).await.status,
            StatusCode::NOT_FOUND,
            "{be}: only the grantor"
        );
        assert_eq!(
            mum.post(&format!("/account/delegation/authorisations/{}/revoke", given[0].id), &[]).await.location(),
            "/account/delegation?done=revoked",
            "{be}"
        );
        assert_eq!(other.get(&format!("/dossiers/{nid}/edit")).await.status, StatusCode::BAD_REQUEST, "{be}");
        assert_eq!(mum.get(&format!("/dossiers/{nid}/edit")).await.status, StatusCode::OK, "{be}");
        assert!(!other.get("/procedures/1.001193").await.has("Nộp hồ sơ cho"), "{be}");
        let audit = app.db.read().await.unwrap().list_audit(None, None, 200).await.unwrap();
        for action in ["business.member_add", "business.member_remove", "authorisation.create", "authorisation.revoke"] {
            assert!(audit.iter().any(|e| e.action == action), "{be}: {action} audited");
        }
    }
}

/// The authorisation matrix of issue #5: every kind of actor against one dossier, on the pages,
/// the JSON API and the GovStack API. Allowed readers read; everyone else gets 404 (or 401/403)
/// and no action of theirs changes the dossier; the one entitled officer then acts.
#[tokio::test]
async fn authorisation_matrix_no_one_sees_or_does_what_they_should_not() {
    use tl_core::account::Role;
    for mut app in apps().await {
        let n = app.name;
        publish_text_form(&app).await;
        let (_, owner_token) = app.citizen_account("001303012345", None, Some("Mật khẩu chủ hồ sơ 2026")).await;
        let (_, other_token) = app.citizen_account("001203054321", None, Some("Mật khẩu công dân khác 2026")).await;
        let id = app.file_for(&owner_token, "1.001193", "matrix-1", "Lê Minh An").await;
        let code = app.dossier(id).await.code.unwrap();
        let pw = "Mật khẩu ma trận quyền 2026";
        let actors: [(&str, &str, &[Role]); 8] = [
            ("reception", "H26.31", &[Role::Reception]),
            ("specialist", "H26.31", &[Role::Specialist]),
            ("leader", "H26.31", &[Role::Leader]),
            ("specialist.other", "H26.50", &[Role::Specialist]),
            ("leader.city", "H26", &[Role::Leader]),
            ("admin.city", "H26", &[Role::Admin]),
            ("monitor.city", "H26", &[Role::Monitor]),
            ("editor.city", "H26", &[Role::CatalogEditor]),
        ];
        let mut tokens = HashMap::new();
        for (login, agency, roles) in actors {
            let aid = app.add_officer(login, pw, agency, roles).await;
            let token = tl_web::new_token("tl_");
            let mut w = app.db.begin().await.unwrap();
            w.create_api_token(&tl_storage::NewApiToken {
                account_id: aid,
                name: "matrix".into(),
                token_hash: tl_web::sha256_hex(&token),
                prefix: token[..10].into(),
                created_at: chrono::Utc::now(),
                expires_at: None,
            })
            .await
            .unwrap();
            w.commit().await.unwrap();
            tokens.insert(login, token);
        }
        // Reception accepts: the dossier waits at the review step (specialist, H26.31).
        let mut desk = app.second_browser();
        desk.sign_in("reception", pw).await;
        assert_eq!(desk.act("reception", id, &[("action", "accept")]).await.status, StatusCode::SEE_OTHER, "{n}");
        let before = app.dossier(id).await.revision;

        // Who may read the dossier (page, receipt, GovStack application): its applicant and the
        // dossier-handling officers of its agency or above it. No one else.
        let readers = ["citizen.owner", "reception", "specialist", "leader", "leader.city"];
        let mut browsers: Vec<(&str, App)> = vec![];
        let mut owner = app.second_browser();
        assert_eq!(owner.sign_in("001303012345", "Mật khẩu chủ hồ sơ 2026").await.status, StatusCode::SEE_OTHER, "{n}");
        browsers.push(("citizen.owner", owner));
        let mut other = app.second_browser();
        assert_eq!(other.sign_in("001203054321", "Mật khẩu công dân khác 2026").await.status, StatusCode::SEE_OTHER, "{n}");
        browsers.push(("citizen.other", other));
        for (login, _, _) in actors {
            let mut b = app.second_browser();
            assert_eq!(b.sign_in(login, pw).await.status, StatusCode::SEE_OTHER, "{n}: {login}");
            browsers.push((login, b));
        }
        let mut anon = app.second_browser();
        assert_eq!(anon.get(&format!("/dossiers/{id}")).await.status, StatusCode::SEE_OTHER, "{n}: anonymous → sign in");
        for (who, b) in browsers.iter_mut() {
            let allowed = readers.contains(who);
            for path in [format!("/dossiers/{id}"), format!("/dossiers/{id}/receipt.pdf"), format!("/dossiers/{id}/forms/01.pdf")] {
                let got = b.get(&path).await.status;
                let expected = if allowed { StatusCode::OK } else { StatusCode::NOT_FOUND };
                assert_eq!(got, expected, "{n}: {who} GET {path}");
            }
            let inbox = b.get("/office/inbox").await;
            assert_eq!(inbox.has(&format!("/dossiers/{id}\"")), *who == "specialist", "{n}: {who}'s inbox ({})", inbox.status);
            // Nobody but the review step's specialist may decide; no one may receive it again or
            // stop it (no withdrawal was asked); a delay (Form 04) is for the step's officer and
            // the agency's leaders (and above).
            let delayers = ["specialist", "leader", "leader.city"];
            for (action, fields) in [
                ("decide", vec![("decision", "propose")]),
                ("reception", vec![("action", "refuse"), ("reasons", "Thử")]),
                ("stop", vec![]),
                ("delay", vec![("reason", "Thử"), ("new_date", "31/12/2030")]),
            ] {
                if (action == "decide" && *who == "specialist") || (action == "delay" && delayers.contains(who)) {
                    continue;
                }
                let s = b.act(action, id, &fields).await.status;
                assert!(matches!(s.as_u16(), 400 | 403 | 404 | 409), "{n}: {who} POST {action} → {s}");
            }
        }
        assert_eq!(app.dossier(id).await.revision, before, "{n}: no refused action changed the dossier");

        // The JSON API: the applicant's token reads it; another citizen's and officers' tokens
        // do not (the JSON API is the applicant's); no token is 401.
        assert_eq!(app.api(&format!("/api/v1/dossiers/{id}"), Some(&owner_token)).await.status, StatusCode::OK, "{n}");
        assert_eq!(app.api(&format!("/api/v1/dossiers/{id}"), Some(&other_token)).await.status, StatusCode::NOT_FOUND, "{n}");
        assert_eq!(app.api(&format!("/api/v1/dossiers/{id}"), None).await.status, StatusCode::UNAUTHORIZED, "{n}");
        assert_eq!(
            app.api(&format!("/api/v1/dossiers/{id}"), Some("tl_forged_token_value_000000000000000")).await.status,
            StatusCode::UNAUTHORIZED,
            "{n}"
        );
        // GovStack: the applicant and the agency's officers read the application; others do not.
        assert_eq!(app.govstack("GET", &format!("/applications/{code}"), Some(&owner_token), None).await.status, StatusCode::OK, "{n}");
        let gs = app.govstack("GET", &format!("/applications/{code}"), Some(&other_token), None).await.status;
        assert!(matches!(gs.as_u16(), 403 | 404), "{n}: another citizen → {gs}");
        for (login, _, _) in actors {
            let s = app.govstack("GET", &format!("/applications/{code}"), Some(&tokens[login]), None).await.status;
            if readers.contains(&login) {
                assert_eq!(s, StatusCode::OK, "{n}: {login} reads the application");
            } else {
                assert!(matches!(s.as_u16(), 403 | 404), "{n}: {login} GovStack → {s}");
            }
            // Operator tasks: only the step's specialist has this dossier's task.
            let tasks = app.govstack("GET", &format!("/tasks?fileId={code}"), Some(&tokens[login]), None).await;
            let has = tasks.status == StatusCode::OK && tasks.body.contains(&code);
            assert_eq!(has, login == "specialist", "{n}: {login}'s tasks ({}): {}", tasks.status, tasks.body);
        }

        // And the entitled officer acts.
        let spec = browsers.iter_mut().find(|(w, _)| *w == "specialist").unwrap();
        assert_eq!(spec.1.act("decide", id, &[("decision", "propose")]).await.status, StatusCode::SEE_OTHER, "{n}");
        assert_eq!(app.dossier(id).await.revision, before + 1, "{n}");
    }
}

#[path = "app/access.rs"]
mod access;
#[path = "app/datastore.rs"]
mod datastore;
#[path = "app/oidc.rs"]
mod oidc;
#[path = "app/vneid.rs"]
mod vneid;
