//! Access transparency in-process on SQLite and PostgreSQL: an officer's and a partner's reads
//! of a person's dossier appear in that person's log ("Ai đã xem dữ liệu của tôi") with agency
//! and purpose; the person's own reads do not; filters, pages and CSV work; bad filters get a
//! clear 400; nobody sees anyone else's log; the chain verifies.

use super::*;
use tl_core::account::{AccountKind, Role};
use tl_storage::access::ReaderKind;
use tl_storage::chain::{self, Chain};

const HOA_PASSWORD: &str = "Mật khẩu của Hoa 2026";

impl App {
    /// The entries of one subject, straight from the database (after the queue is written).
    async fn access_entries(&self, subject: i64) -> Vec<tl_storage::access::AccessRow> {
        self.state.access.flush().await;
        let q =
            tl_storage::access::AccessQuery { subject_id: subject, from: None, to: None, agency: None, kind: None, limit: 1000, offset: 0 };
        self.db.read().await.unwrap().list_access(&q).await.unwrap()
    }

    async fn token_for(&self, account_id: i64) -> String {
        let token = tl_web::new_token("tl_");
        let mut w = self.db.begin().await.unwrap();
        w.create_api_token(&tl_storage::NewApiToken {
            account_id,
            name: "test".into(),
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
}

#[tokio::test]
async fn an_officers_reads_appear_in_the_citizens_log_with_agency_and_purpose_and_nobody_else_sees_it() {
    for mut app in apps().await {
        let n = app.name;
        publish_text_form(&app).await;
        let (hoa, token) = app.citizen_account("001303012345", None, Some(HOA_PASSWORD)).await;
        let id = app.file_for(&token, "1.001193", "k1", "Lê Minh An").await;
        let code = app.dossier(id).await.code.unwrap();

        // The citizen's own reads are not someone else's.
        app.sign_in("001303012345", HOA_PASSWORD).await;
        let page = app.get(&format!("/dossiers/{id}")).await;
        assert!(page.status == StatusCode::OK && !page.has("nhật ký truy cập mà người nộp"), "{n}");
        assert_eq!(app.get(&format!("/dossiers/{id}/receipt.pdf")).await.status, StatusCode::OK, "{n}");
        assert_eq!(app.api(&format!("/api/v1/dossiers/{id}"), Some(&token)).await.status, StatusCode::OK, "{n}");
        assert!(app.access_entries(hoa).await.is_empty(), "{n}");
        let page = app.get("/account/access-log").await;
        assert_eq!(page.status, StatusCode::OK, "{n}: {}", page.body);
        assert!(page.has("Ai đã xem dữ liệu của tôi") && page.has("Chưa có ai khác xem dữ liệu của bạn."), "{n}");
        assert!(app.get("/account").await.has("href=\"/account/access-log\""), "{n}: linked from the account page");
        app.post("/signout", &[]).await;

        // An officer of the ward opens the dossier, its receipt, accepts it and prints Form 01.
        let officer = app.add_officer("motcua.badinh", "Một cửa Ba Đình 2026", "H26.31", &[Role::Reception]).await;
        app.sign_in("motcua.badinh", "Một cửa Ba Đình 2026").await;
        let page = app.get(&format!("/dossiers/{id}")).await;
        assert!(page.status == StatusCode::OK && page.has("nhật ký truy cập mà người nộp hồ sơ xem được"), "{n}: the officer is told");
        assert_eq!(app.get(&format!("/dossiers/{id}/receipt.pdf")).await.status, StatusCode::OK, "{n}");
        assert_eq!(app.act("reception", id, &[("action", "accept")]).await.status, StatusCode::SEE_OTHER, "{n}");
        assert_eq!(app.get(&format!("/dossiers/{id}/forms/01.pdf")).await.status, StatusCode::OK, "{n}");
        // The officer has no log of other people's reads of the citizen: the page is their own.
        let own = app.get(&format!("/account/access-log?subject_id={hoa}")).await;
        assert!(own.status == StatusCode::OK && !own.has(&code), "{n}");
        app.post("/signout", &[]).await;

        let entries = app.access_entries(hoa).await;
        let actions: Vec<&str> = entries.iter().map(|e| e.entry.action.as_str()).collect();
        assert_eq!(actions, ["dossier.form_pdf", "dossier.receipt", "dossier.view"], "{n}: newest first");
        for e in &entries {
            let x = &e.entry;
            assert_eq!((x.reader_id, x.reader_kind, x.agency.as_deref()), (Some(officer), ReaderKind::Officer, Some("H26.31")), "{n}");
            assert_eq!((x.purpose.as_str(), x.reader_label.as_str()), (code.as_str(), "Cán bộ motcua.badinh"), "{n}");
            assert!(x.request_id.as_deref().is_some_and(|r| !r.is_empty()), "{n}: the request is named");
        }
        assert_eq!(entries[0].entry.target, format!("{code}/01"), "{n}");

        // The citizen's page: who, agency by name, what, why.
        app.sign_in("001303012345", HOA_PASSWORD).await;
        let page = app.get("/account/access-log").await;
        assert_eq!(page.status, StatusCode::OK, "{n}");
        for s in [
            "Cán bộ motcua.badinh",
            "Cán bộ, công chức",
            "Ủy ban nhân dân phường Ba Đình (H26.31)",
            "Xem hồ sơ",
            "Xem giấy xác nhận nộp hồ sơ",
            "Xem phiếu của hồ sơ (PDF)",
            &code,
            "Nghị định 13/2023/NĐ-CP",
        ] {
            assert!(page.has(s), "{n}: {s}");
        }
        assert!(page.has("<caption") && page.has("scope=\"col\"") && page.has("data-label="), "{n}: a table for screen readers and phones");
        let today = tl_core::fmt::date(tl_web::portal::today());
        assert!(page.has(&today), "{n}: local dates");

        // Filters.
        let tomorrow = tl_core::fmt::date(tl_web::portal::today().succ_opt().unwrap());
        for (query, shown) in [
            ("kind=officer", true),
            ("kind=partner", false),
            ("agency=H26.31", true),
            ("agency=H26.50", false),
            (&format!("from={today}&to={today}") as &str, true),
            (&format!("from={tomorrow}"), false),
            ("from=2026-01-01", true),
        ] {
            let p = app.get(&format!("/account/access-log?{}", query.replace('/', "%2F"))).await;
            assert_eq!(p.status, StatusCode::OK, "{n}: {query}");
            assert_eq!(p.has("Xem hồ sơ"), shown, "{n}: {query}");
            if !shown {
                assert!(p.has("Không có lần truy cập nào khớp với bộ lọc."), "{n}: {query}");
            }
        }
        assert!(app.get("/account/access-log").await.has("<option value=\"H26.31\""), "{n}: agencies to filter by");

        // Bad filters: a clear 400 in the visitor's language, the form kept.
        for (query, message) in [
            ("from=31%2F02%2F2026", "Ngày phải có dạng dd/mm/yyyy"),
            ("to=hôm+nay", "Ngày phải có dạng dd/mm/yyyy"),
            ("from=26%2F11%2F2026&to=01%2F11%2F2026", "Đến ngày phải sau hoặc bằng từ ngày"),
            ("kind=admin", "Loại truy cập không hợp lệ"),
            ("agency=%27%20OR%201%3D1", "Mã cơ quan không hợp lệ"),
            ("page=0", "Số trang không hợp lệ"),
            ("page=abc", "Số trang không hợp lệ"),
            ("format=xlsx", "Định dạng tải về không hợp lệ"),
            ("kind=officer&kind=partner", "Yêu cầu không hợp lệ"),
        ] {
            let p = app.get(&format!("/account/access-log?{query}")).await;
            assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}: {query}: {}", p.body);
            // A repeated parameter is refused before the page (the generic 400 page).
            assert!(p.has(message) && (query.contains("&kind=") || p.has("class=\"error-summary\"")), "{n}: {query}");
        }
        app.get("/lang/en?next=/").await;
        let p = app.get("/account/access-log?from=31%2F02%2F2026").await;
        assert!(p.status == StatusCode::BAD_REQUEST && p.has("Dates must be dd/mm/yyyy"), "{n}");
        let p = app.get("/account/access-log").await;
        assert!(p.has("Who looked at my data") && p.has("Viewed a dossier") && p.has("Officer"), "{n}");
        app.get("/lang/vi?next=/").await;

        // CSV for Excel: UTF-8 with a byte-order mark, Vietnamese intact, local times.
        let csv = app.get(&format!("/account/access-log?kind=officer&from={}&format=csv", today.replace('/', "%2F"))).await;
        assert_eq!(csv.status, StatusCode::OK, "{n}");
        assert!(csv.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"), "{n}");
        assert!(csv.headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains("attachment"), "{n}");
        assert!(csv.body.starts_with('\u{feff}'), "{n}: BOM");
        let lines: Vec<&str> = csv.body.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines.len(), 4, "{n}: a header and three reads: {lines:?}");
        assert!(lines[0].starts_with("\"Thời gian (giờ Việt Nam)\",\"Người xem\""), "{n}: {}", lines[0]);
        assert!(
            lines[1].contains(&format!("\"{today} ")) && lines[1].contains("\"Ủy ban nhân dân phường Ba Đình (H26.31)\""),
            "{n}: {}",
            lines[1]
        );
        assert!(lines.iter().skip(1).all(|l| l.contains(&code)), "{n}");
        app.post("/signout", &[]).await;

        // Another citizen sees nothing of Hoa's, whatever they put in the address.
        app.citizen_account("001303099999", None, Some("Mật khẩu của Bình 2026")).await;
        app.sign_in("001303099999", "Mật khẩu của Bình 2026").await;
        for path in [
            "/account/access-log".to_owned(),
            format!("/account/access-log?subject_id={hoa}"),
            format!("/account/access-log?format=csv&subject={hoa}"),
        ] {
            let p = app.get(&path).await;
            assert_eq!(p.status, StatusCode::OK, "{n}: {path}");
            assert!(!p.has(&code) && !p.has("motcua.badinh"), "{n}: {path}");
        }
        app.post("/signout", &[]).await;
        let p = app.get("/account/access-log").await;
        assert!(p.status == StatusCode::SEE_OTHER && p.location().starts_with("/signin"), "{n}: signed-in only");

        let report = chain::verify(app.db.as_ref(), Chain::Access).await.unwrap();
        assert!(report.ok() && report.checked == 3, "{n}: {report:?}");
        let m = app.get("/metrics").await;
        assert!(m.has("thanglong_access_log_written_total 3") && m.has("thanglong_access_log_dropped_total 0"), "{n}");
    }
}

#[tokio::test]
async fn partners_and_officers_reading_through_the_apis_are_logged_as_such() {
    for mut app in apps().await {
        let n = app.name;
        publish_text_form(&app).await;
        let (hoa, hoa_token) = app.citizen_account("001303012345", None, Some(HOA_PASSWORD)).await;
        // A post office (a business account) filed for Hoa; the ward's officer works through
        // the GovStack operator API with a personal token.
        let now = chrono::Utc::now();
        let mut w = app.db.begin().await.unwrap();
        let post = w
            .create_account(
                &tl_storage::NewAccount {
                    kind: AccountKind::Business,
                    login: "0100109106".into(),
                    display_name: "Bưu điện Hà Nội".into(),
                    email: None,
                    phone: None,
                    password_hash: None,
                    agency_id: None,
                },
                now,
            )
            .await
            .unwrap();
        let agency = w.get_agency("H26.31").await.unwrap().unwrap();
        let version = w.get_procedure("1.001193", tl_web::portal::today(), None).await.unwrap().unwrap().version_no;
        let draft = w
            .create_dossier(&tl_storage::NewDossier {
                procedure_code: "1.001193".into(),
                version_no: version,
                agency_id: agency.id,
                applicant_id: hoa,
                acted_by_id: post.id,
                channel: tl_core::catalog::Channel::Online,
                answers: serde_json::json!({"child_name": "Lê Minh An"}),
                idempotency_key: None,
                now,
            })
            .await
            .unwrap();
        let d = w.submit_dossier(draft.id, draft.revision, tl_web::portal::today(), now).await.unwrap();
        w.commit().await.unwrap();
        let code = d.code.clone().unwrap();
        let post_token = app.token_for(post.id).await;
        let officer = app.add_officer("chuyenvien.badinh", "Chuyên viên Ba Đình 2026", "H26.31", &[Role::Specialist]).await;
        let officer_token = app.token_for(officer).await;

        assert_eq!(app.api(&format!("/api/v1/dossiers/{}", d.id), Some(&post_token)).await.status, StatusCode::OK, "{n}");
        let p = app.govstack("GET", &format!("/applications/{code}"), Some(&post_token), None).await;
        assert_eq!(p.status, StatusCode::OK, "{n}: {}", p.body);
        let p = app.govstack("GET", "/applications", Some(&post_token), None).await;
        assert!(p.status == StatusCode::OK && p.body.contains(&code), "{n}: {}", p.body);
        let p = app.govstack("GET", &format!("/applications/{code}"), Some(&officer_token), None).await;
        assert_eq!(p.status, StatusCode::OK, "{n}: {}", p.body);
        // Hoa reading her own dossier through the API is hers.
        assert_eq!(app.govstack("GET", &format!("/applications/{code}"), Some(&hoa_token), None).await.status, StatusCode::OK, "{n}");

        let entries = app.access_entries(hoa).await;
        let got: Vec<(&str, ReaderKind, Option<&str>, &str)> = entries
            .iter()
            .rev()
            .map(|e| (e.entry.action.as_str(), e.entry.reader_kind, e.entry.agency.as_deref(), e.entry.reader_label.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("api.dossier", ReaderKind::Partner, None, "Bưu điện Hà Nội"),
                ("govstack.application", ReaderKind::Partner, None, "Bưu điện Hà Nội"),
                ("govstack.applications", ReaderKind::Partner, None, "Bưu điện Hà Nội"),
                // The officer's agency comes from the account when the API read had no grants at hand.
                ("govstack.application", ReaderKind::Officer, Some("H26.31"), "Cán bộ chuyenvien.badinh"),
            ],
            "{n}"
        );
        assert!(entries.iter().all(|e| e.entry.purpose == code), "{n}");

        app.sign_in("001303012345", HOA_PASSWORD).await;
        let page = app.get("/account/access-log?kind=partner").await;
        assert!(page.has("Bưu điện Hà Nội") && page.has("Tổ chức, hệ thống đối tác") && !page.has("chuyenvien.badinh"), "{n}");
        assert!(page.has("Đọc hồ sơ qua API GovStack") && page.has("Liệt kê hồ sơ qua API GovStack"), "{n}");
        app.post("/signout", &[]).await;

        // The post office's own log is its own: Hoa's reads are not in it.
        assert!(app.access_entries(post.id).await.is_empty(), "{n}");

        // A business's own dossier read by an officer, and an administrator opening the
        // business's account, are in the business's log, which it reads like a person.
        let mut w = app.db.begin().await.unwrap();
        let own = w
            .create_dossier(&tl_storage::NewDossier {
                procedure_code: "1.001193".into(),
                version_no: version,
                agency_id: agency.id,
                applicant_id: post.id,
                acted_by_id: post.id,
                channel: tl_core::catalog::Channel::Online,
                answers: serde_json::json!({"child_name": "Bưu cục Ba Đình"}),
                idempotency_key: None,
                now,
            })
            .await
            .unwrap();
        let own = w.submit_dossier(own.id, own.revision, tl_web::portal::today(), now).await.unwrap();
        w.set_password_hash(post.id, &tl_web::hash_password("Mật khẩu Bưu điện 2026").unwrap(), now).await.unwrap();
        w.commit().await.unwrap();
        let own_code = own.code.unwrap();
        let p = app.govstack("GET", &format!("/applications/{own_code}"), Some(&officer_token), None).await;
        assert_eq!(p.status, StatusCode::OK, "{n}: {}", p.body);
        assert_eq!(app.govstack("GET", &format!("/applications/{own_code}"), Some(&post_token), None).await.status, StatusCode::OK, "{n}");
        app.add_officer("quantri", "Quản trị hệ thống 2026", "H26", &[Role::Admin]).await;
        app.sign_in("quantri", "Quản trị hệ thống 2026").await;
        assert_eq!(app.get(&format!("/admin/accounts/{}", post.id)).await.status, StatusCode::OK, "{n}");
        app.post("/signout", &[]).await;
        let got: Vec<(String, Option<String>)> =
            app.access_entries(post.id).await.into_iter().rev().map(|e| (e.entry.action, e.entry.agency)).collect();
        assert_eq!(
            got,
            [("govstack.application".to_owned(), Some("H26.31".to_owned())), ("account.view".to_owned(), Some("H26".to_owned()))],
            "{n}"
        );
        app.sign_in("0100109106", "Mật khẩu Bưu điện 2026").await;
        let page = app.get("/account/access-log").await;
        assert!(page.has(&own_code) && page.has("Cán bộ chuyenvien.badinh") && page.has("Cán bộ quantri"), "{n}: {}", page.body);
        assert!(page.has("Xem thông tin tài khoản (quản trị viên)") && !page.has(&code), "{n}");
        app.post("/signout", &[]).await;
        assert!(chain::verify(app.db.as_ref(), Chain::Access).await.unwrap().ok(), "{n}");
    }
}
