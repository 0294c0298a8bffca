//! The storage conformance suite: every test runs against SQLite and PostgreSQL, so the two
//! implementations cannot drift apart.

use chrono::{Duration, NaiveDate, SubsecRound, TimeZone, Utc};
use std::sync::Arc;
use tl_core::account::{AccountKind, Role};
use tl_core::catalog_doc::{load, Format, Known};
use tl_core::text::terms;
use tl_storage::testing::fresh_databases;
use tl_storage::*;

const FIXTURE: &str = include_str!("fixture.yaml");

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

async fn seeded(db: &Arc<dyn Database>) {
    let doc = load(FIXTURE, Format::Yaml, &Known::default()).expect("fixture is valid");
    let mut repo = db.begin().await.unwrap();
    let report = apply_catalog(repo.as_mut(), &doc, None, Utc::now()).await.unwrap();
    assert_eq!(report.versions_added, 7);
    repo.commit().await.unwrap();
}

fn query(q: &str) -> SearchQuery {
    SearchQuery { terms: terms(q), day: day(2026, 11, 26), page: 1, per_page: 20, ..Default::default() }
}

async fn names(db: &Arc<dyn Database>, q: SearchQuery) -> Vec<String> {
    let mut r = db.read().await.unwrap();
    r.search_procedures(&q).await.unwrap().items.into_iter().map(|i| i.name.vi).collect()
}

#[tokio::test]
async fn search_ignores_case_and_diacritics_and_ranks_names_first() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        for q in ["dang ky khai sinh", "ĐĂNG KÝ KHAI SINH", "Đăng ký khai sinh"] {
            let got = names(&db, query(q)).await;
            assert_eq!(got.first().map(String::as_str), Some("Đăng ký khai sinh"), "{backend}: {q}: {got:?}");
        }
        // "khai sinh" is in two names and in the body of the extract copy (its result text).
        let got = names(&db, query("khai sinh")).await;
        assert_eq!(got[..2], ["Đăng ký khai sinh", "Đăng ký lại khai sinh"], "{backend}: {got:?}");
        assert!(got.contains(&"Cấp bản sao trích lục hộ tịch".to_string()), "{backend}: body matches too: {got:?}");
        let got = names(&db, query("ĐĂNG KÝ KẾT HÔN")).await;
        assert_eq!(got, ["Đăng ký kết hôn"], "{backend}");
        let got = names(&db, query("giay phep xay dung")).await;
        assert_eq!(got, ["Cấp giấy phép xây dựng công trình"], "{backend}");
        // The last word is a prefix: people search while typing.
        let got = names(&db, query("thuong tr")).await;
        assert_eq!(got, ["Đăng ký thường trú"], "{backend}");
        // English names are searchable too; codes as well.
        assert_eq!(names(&db, query("marriage")).await, ["Đăng ký kết hôn"], "{backend}");
        assert_eq!(names(&db, query("1.001193")).await.first().map(String::as_str), Some("Đăng ký khai sinh"), "{backend}");
    }
}

#[tokio::test]
async fn search_relaxes_when_nothing_has_every_word_and_survives_hostile_input() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let mut r = db.read().await.unwrap();
        let page = r.search_procedures(&query("khai sinh ngoai hanh tinh")).await.unwrap();
        assert!(page.relaxed, "{backend}");
        assert!(page.items.iter().any(|i| i.name.vi == "Đăng ký khai sinh"), "{backend}");
        for hostile in ["\"", "' OR 1=1 --", "NEAR(a b)", "a* OR b:*", "出生登记", "🙂", "\\x00", &"khai ".repeat(500)] {
            let q = query(hostile);
            let page = r.search_procedures(&q).await.unwrap_or_else(|e| panic!("{backend}: {hostile:?}: {e}"));
            assert!(page.total >= 0);
        }
    }
}

#[tokio::test]
async fn browse_by_field_and_agency_subtree_with_pages() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let mut q = query("");
        q.field = Some("ho-tich".into());
        let got = names(&db, q.clone()).await;
        assert_eq!(got.len(), 4, "{backend}: {got:?}");
        // Ordered by folded name: "cap…" before "dang…".
        assert_eq!(got[0], "Cấp bản sao trích lục hộ tịch", "{backend}");

        // Agency H26.50 covers its service point H26.50.01.
        let mut q = query("");
        q.agency = Some("H26.50".into());
        let got = names(&db, q).await;
        assert!(got.contains(&"Đăng ký khai sinh".to_string()), "{backend}: {got:?}");
        assert!(!got.contains(&"Cấp bản sao trích lục hộ tịch".to_string()), "{backend}: {got:?}");
        let mut q = query("");
        q.agency = Some("H26.5".into());
        assert!(names(&db, q).await.is_empty(), "{backend}: a prefix that is not a subtree matches nothing");

        let mut q = query("");
        q.per_page = 2;
        q.page = 2;
        let mut r = db.read().await.unwrap();
        let page = r.search_procedures(&q).await.unwrap();
        assert_eq!((page.total, page.items.len()), (6, 2), "{backend}");
        q.page = 9;
        let page = r.search_procedures(&q).await.unwrap();
        assert_eq!((page.total, page.items.len()), (6, 0), "{backend}: total is known past the end");

        let fields = r.list_fields(day(2026, 11, 26)).await.unwrap();
        let ho_tich = fields.iter().find(|f| f.code == "ho-tich").unwrap();
        assert_eq!(ho_tich.procedure_count, 4, "{backend}");
    }
}

#[tokio::test]
async fn versions_take_effect_on_their_date_and_stay_readable() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let mut r = db.read().await.unwrap();
        let old = r.get_procedure("1.004222", day(2025, 12, 31), None).await.unwrap().unwrap();
        let new = r.get_procedure("1.004222", day(2026, 1, 1), None).await.unwrap().unwrap();
        assert_eq!((old.version_no, new.version_no), (1, 2), "{backend}");
        assert_eq!(old.effective_to, Some(day(2026, 1, 1)), "{backend}");
        assert_eq!(new.effective_to, None, "{backend}");
        assert_eq!(new.versions.len(), 2, "{backend}");
        let v1 = r.get_procedure("1.004222", day(2026, 11, 26), Some(1)).await.unwrap().unwrap();
        assert_eq!(v1.version.effective_from, day(2024, 7, 1), "{backend}");
        assert!(r.get_procedure("1.004222", day(2024, 1, 1), None).await.unwrap().is_none(), "{backend}: not yet in force");
        assert!(r.get_procedure("9.999999", day(2026, 1, 1), None).await.unwrap().is_none(), "{backend}");
        // Agencies come back in the order given, with their tree position.
        let birth = r.get_procedure("1.001193", day(2026, 1, 1), None).await.unwrap().unwrap();
        let ids: Vec<_> = birth.agencies.iter().map(|a| a.electronic_id.as_str()).collect();
        assert_eq!(ids, ["H26.50.01", "H26.51"], "{backend}");
        assert_eq!(birth.agencies[0].parent_electronic_id.as_deref(), Some("H26.50"), "{backend}");
        drop(r);

        // A version in between: the neighbours' intervals adjust.
        let mut mid = new.version.clone();
        mid.effective_from = day(2025, 9, 1);
        mid.name.vi = "Đăng ký thường trú (sửa đổi)".into();
        let mut w = db.begin().await.unwrap();
        assert_eq!(w.add_procedure_version("1.004222", &mid, None, Utc::now()).await.unwrap(), 3, "{backend}");
        w.commit().await.unwrap();
        // Same date again: versions are immutable.
        let mut w = db.begin().await.unwrap();
        let again = w.add_procedure_version("1.004222", &mid, None, Utc::now()).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{backend}: {again:?}");
        drop(w);
        let mut r = db.read().await.unwrap();
        let versions = r.list_procedure_versions("1.004222").await.unwrap();
        let spans: Vec<_> = versions.iter().map(|v| (v.version_no, v.effective_from, v.effective_to)).collect();
        assert_eq!(
            spans,
            [(1, day(2024, 7, 1), Some(day(2025, 9, 1))), (3, day(2025, 9, 1), Some(day(2026, 1, 1))), (2, day(2026, 1, 1), None)],
            "{backend}"
        );
        // Search sees only the version in force.
        let mut q = query("thuong tru");
        q.day = day(2025, 10, 1);
        assert_eq!(names(&db, q).await, ["Đăng ký thường trú (sửa đổi)"], "{backend}");
    }
}

#[tokio::test]
async fn import_is_idempotent_all_or_nothing_and_export_round_trips() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let doc = load(FIXTURE, Format::Yaml, &Known::default()).unwrap();
        let mut w = db.begin().await.unwrap();
        let report = apply_catalog(w.as_mut(), &doc, None, Utc::now()).await.unwrap();
        assert_eq!((report.versions_added, report.versions_unchanged), (0, 7), "{backend}");
        w.commit().await.unwrap();

        // A changed existing version is refused and nothing of the import stays.
        let mut changed = doc.clone();
        changed.fields.push(tl_core::catalog::Field { code: "moi".into(), name: tl_core::catalog::I18nText::new("Mới", "New") });
        changed.procedures[0].versions[0].name.vi = "Đăng ký khai sinh (đã sửa)".into();
        let mut w = db.begin().await.unwrap();
        let e = apply_catalog(w.as_mut(), &changed, None, Utc::now()).await;
        assert!(matches!(e, Err(StoreError::Conflict(_))), "{backend}");
        drop(w);
        let mut r = db.read().await.unwrap();
        assert!(r.list_fields(day(2026, 1, 1)).await.unwrap().iter().all(|f| f.code != "moi"), "{backend}: rolled back");

        let exported = r.export_catalog().await.unwrap();
        assert_eq!(exported.procedures.len(), 6, "{backend}");
        let text = tl_core::catalog_doc::dump(&exported, Format::Yaml);
        let reloaded = load(&text, Format::Yaml, &Known::default()).expect("export is importable");
        assert_eq!(reloaded, exported, "{backend}");
        let known = r.catalog_known().await.unwrap();
        assert!(known.agencies.contains("H26.50.01") && known.fields.contains("cu-tru"), "{backend}");
        let units = r.list_admin_units().await.unwrap();
        let old = units.iter().find(|u| u.code == "001").unwrap();
        assert_eq!(old.successors, ["00004", "00008"], "{backend}");
        assert!(!old.is_valid_on(day(2026, 1, 1)), "{backend}");
    }
}

#[tokio::test]
async fn accounts_roles_sessions_and_tokens() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 2, 0, 0).unwrap();
        let mut w = db.begin().await.unwrap();
        let agency = w.get_agency("H26.50").await.unwrap().unwrap();
        let new = NewAccount {
            kind: AccountKind::Officer,
            login: "nguyen.van.a".into(),
            display_name: "Nguyễn Văn A".into(),
            email: Some("a@example.vn".into()),
            phone: None,
            password_hash: Some("$argon2id$…".into()),
            agency_id: Some(agency.id),
        };
        let a = w.create_account(&new, now).await.unwrap();
        w.commit().await.unwrap();
        // A failed statement ends its transaction (PostgreSQL aborts it), so try in its own.
        let mut w = db.begin().await.unwrap();
        let dup = w.create_account(&new, now).await;
        assert!(matches!(dup, Err(StoreError::Conflict(_))), "{backend}: {dup:?}");
        drop(w);

        let mut w = db.begin().await.unwrap();
        w.grant_role(a.id, Role::Reception, agency.id, None, now).await.unwrap();
        w.grant_role(a.id, Role::Reception, agency.id, None, now).await.unwrap();
        let roles = w.roles_of(a.id).await.unwrap();
        assert_eq!(roles.len(), 1, "{backend}");
        assert!(roles[0].covers("H26.50.01") && !roles[0].covers("H26.51"), "{backend}");

        assert_eq!(w.record_login_failure(a.id, None).await.unwrap(), 1);
        let lock = now + Duration::minutes(15);
        assert_eq!(w.record_login_failure(a.id, Some(lock)).await.unwrap(), 2);
        let got = w.find_account_by_login("nguyen.van.a").await.unwrap().unwrap();
        assert_eq!((got.failed_logins, got.locked_until), (2, Some(lock)), "{backend}");
        w.record_login_success(a.id, now).await.unwrap();
        let got = w.get_account(a.id).await.unwrap().unwrap();
        assert_eq!((got.failed_logins, got.locked_until, got.last_login_at), (0, None, Some(now)), "{backend}");

        // Sessions: live until they expire; a disabled account's sessions stop working.
        let s = NewSession {
            id_hash: "h1".into(),
            account_id: a.id,
            created_at: now,
            expires_at: now + Duration::hours(8),
            ip: Some("127.0.0.1".into()),
            user_agent: None,
            stage: SessionStage::Full,
            amr: "pwd".into(),
        };
        w.create_session(&s).await.unwrap();
        assert!(w.get_session("h1", now + Duration::hours(1)).await.unwrap().is_some(), "{backend}");
        assert!(w.get_session("h1", now + Duration::hours(9)).await.unwrap().is_none(), "{backend}");
        w.set_account_status(a.id, AccountStatus::Disabled, now).await.unwrap();
        assert!(w.get_session("h1", now).await.unwrap().is_none(), "{backend}");
        w.set_account_status(a.id, AccountStatus::Active, now).await.unwrap();
        assert_eq!(w.purge_expired_sessions(now + Duration::hours(9)).await.unwrap(), 1, "{backend}");

        // API tokens: found by hash while live; revoked or expired ones are not.
        let t = NewApiToken {
            account_id: a.id,
            name: "ci".into(),
            token_hash: "th1".into(),
            prefix: "tl_abc".into(),
            created_at: now,
            expires_at: Some(now + Duration::days(30)),
        };
        let tid = w.create_api_token(&t).await.unwrap();
        assert_eq!(w.find_api_token("th1", now).await.unwrap().unwrap().1.id, a.id, "{backend}");
        assert!(w.find_api_token("th1", now + Duration::days(31)).await.unwrap().is_none(), "{backend}");
        assert!(w.find_api_token("nope", now).await.unwrap().is_none(), "{backend}");
        assert!(w.revoke_api_token(a.id, tid, now).await.unwrap(), "{backend}");
        assert!(w.find_api_token("th1", now).await.unwrap().is_none(), "{backend}");
        assert_eq!(w.list_api_tokens(a.id).await.unwrap()[0].revoked_at, Some(now), "{backend}");

        // A federated identity links to the account.
        w.link_federated(&FederatedLink {
            provider: "vneid".into(),
            subject: "sub-123".into(),
            account_id: a.id,
            verified_at: now,
            claims: serde_json::json!({"name": "Nguyễn Văn A"}),
        })
        .await
        .unwrap();
        assert_eq!(w.find_federated("vneid", "sub-123").await.unwrap().unwrap().id, a.id, "{backend}");
        assert!(w.find_federated("vneid", "other").await.unwrap().is_none(), "{backend}");
        // A later sign-in keeps when it was first verified and records the latest one.
        let later = now + Duration::days(3);
        w.link_federated(&FederatedLink {
            provider: "vneid".into(),
            subject: "sub-123".into(),
            account_id: a.id,
            verified_at: later,
            claims: serde_json::json!({"name": "Nguyễn Văn A"}),
        })
        .await
        .unwrap();
        let links = w.list_federated(a.id).await.unwrap();
        assert_eq!(links.len(), 1, "{backend}");
        assert_eq!((links[0].provider.as_str(), links[0].subject.as_str()), ("vneid", "sub-123"), "{backend}");
        assert_eq!((links[0].verified_at, links[0].last_login_at), (now, Some(later)), "{backend}");
        assert!(w.list_federated(a.id + 1000).await.unwrap().is_empty(), "{backend}");
        w.commit().await.unwrap();

        let mut r = db.read().await.unwrap();
        let found = r.list_accounts(&AccountFilter { text: Some("nguyễn".into()), ..Default::default() }).await.unwrap();
        assert_eq!(found.len(), 1, "{backend}");
    }
}

#[tokio::test]
async fn uncommitted_work_and_audit_rows_vanish_together() {
    for (backend, db) in fresh_databases().await {
        let now = Utc::now();
        let entry = |action: &str| AuditEntry {
            at: now,
            actor_id: None,
            actor_label: "cli".into(),
            action: action.into(),
            target_type: "field".into(),
            target_id: "x".into(),
            detail: serde_json::json!({"k": "v"}),
            ip: None,
            request_id: Some("req-1".into()),
        };
        let mut w = db.begin().await.unwrap();
        w.upsert_field(&tl_core::catalog::Field { code: "x".into(), name: tl_core::catalog::I18nText::new("X", "X") }).await.unwrap();
        w.append_audit(&entry("field.create")).await.unwrap();
        drop(w);
        let mut r = db.read().await.unwrap();
        assert!(r.list_fields(now.date_naive()).await.unwrap().is_empty(), "{backend}");
        assert!(r.list_audit(Some("field"), None, 10).await.unwrap().is_empty(), "{backend}");
        drop(r);

        let mut w = db.begin().await.unwrap();
        w.append_audit(&entry("field.create")).await.unwrap();
        w.set_setting("demo_seeded", "1").await.unwrap();
        w.commit().await.unwrap();
        let mut r = db.read().await.unwrap();
        let rows = r.list_audit(Some("field"), Some("x"), 10).await.unwrap();
        assert_eq!(rows.len(), 1, "{backend}");
        assert_eq!(rows[0].detail["k"], "v", "{backend}");
        assert_eq!(r.get_setting("demo_seeded").await.unwrap().as_deref(), Some("1"), "{backend}");
        // Migrations are idempotent.
        db.migrate().await.unwrap();
    }
}

#[tokio::test]
async fn catalog_writes_bump_the_generation_and_the_index_loader_sees_versions_in_force() {
    for (backend, db) in fresh_databases().await {
        let g0 = db.read().await.unwrap().catalog_generation().await.unwrap();
        seeded(&db).await;
        let mut r = db.read().await.unwrap();
        let g1 = r.catalog_generation().await.unwrap();
        assert!(g1 > g0, "{backend}");
        let rows = r.list_current_procedures(day(2026, 11, 26)).await.unwrap();
        assert_eq!(rows.len(), 6, "{backend}");
        let birth = rows.iter().find(|p| p.summary.code == "1.001193").unwrap();
        assert_eq!(birth.agencies, ["H26.50.01", "H26.51"], "{backend}");
        assert!(birth.search_name.starts_with("dang ky khai sinh"), "{backend}");
        let residence = rows.iter().find(|p| p.summary.code == "1.004222").unwrap();
        assert_eq!(residence.summary.version_no, 2, "{backend}: the 2026 version is in force");
        let before = r.list_current_procedures(day(2025, 1, 1)).await.unwrap();
        assert_eq!(before.iter().find(|p| p.summary.code == "1.004222").unwrap().summary.version_no, 1, "{backend}");
        drop(r);
        // An uncommitted write does not bump it for others.
        let mut w = db.begin().await.unwrap();
        w.upsert_field(&tl_core::catalog::Field { code: "moi".into(), name: tl_core::catalog::I18nText::new("Mới", "New") }).await.unwrap();
        drop(w);
        assert_eq!(db.read().await.unwrap().catalog_generation().await.unwrap(), g1, "{backend}");
    }
}

async fn citizen(db: &Arc<dyn Database>, login: &str) -> (i64, i64) {
    let mut w = db.begin().await.unwrap();
    let agency = w.get_agency("H26.51").await.unwrap().unwrap().id;
    let a = w
        .create_account(
            &NewAccount {
                kind: AccountKind::Citizen,
                login: login.into(),
                display_name: "Lê Thị Hoa".into(),
                email: None,
                phone: None,
                password_hash: None,
                agency_id: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    w.commit().await.unwrap();
    (a.id, agency)
}

fn new_dossier(applicant: i64, agency: i64, key: Option<&str>) -> NewDossier {
    NewDossier {
        procedure_code: "1.001193".into(),
        version_no: 1,
        agency_id: agency,
        applicant_id: applicant,
        acted_by_id: applicant,
        channel: tl_core::catalog::Channel::Online,
        answers: serde_json::json!({"child_name": "Lê Minh An"}),
        idempotency_key: key.map(str::to_owned),
        now: Utc::now(),
    }
}

#[tokio::test]
async fn dossiers_go_from_draft_to_filed_with_a_legal_code_once() {
    use tl_core::dossier::DossierStatus;
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let (me, agency) = citizen(&db, "001303012345").await;
        let today = day(2026, 11, 26);
        let mut w = db.begin().await.unwrap();
        let d = w.create_dossier(&new_dossier(me, agency, Some("k-1"))).await.unwrap();
        assert_eq!((d.status, d.code.as_deref(), d.revision), (DossierStatus::Draft, None, 1), "{backend}");
        // The same idempotency key gives the same dossier back.
        let again = w.create_dossier(&new_dossier(me, agency, Some("k-1"))).await.unwrap();
        assert_eq!(again.id, d.id, "{backend}");
        let d = w.update_draft(d.id, 1, &serde_json::json!({"child_name": "Lê Minh Anh"}), Utc::now()).await.unwrap();
        assert_eq!((d.revision, d.answers["child_name"].as_str()), (2, Some("Lê Minh Anh")), "{backend}");
        w.commit().await.unwrap();
        // A stale revision is refused (someone saved meanwhile) and changes nothing.
        let mut w = db.begin().await.unwrap();
        assert!(matches!(w.update_draft(d.id, 1, &serde_json::json!({}), Utc::now()).await, Err(StoreError::Conflict(_))), "{backend}");
        drop(w);

        let mut w = db.begin().await.unwrap();
        let filed = w.submit_dossier(d.id, 2, today, Utc::now()).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(filed.status, DossierStatus::Submitted, "{backend}");
        assert_eq!(filed.status.npsp_code(), Some(1), "{backend}");
        assert_eq!(filed.code.as_deref(), Some("H26.51-261126-0001"), "{backend}");
        // Submitting again (a retry) returns the same filing; a filed dossier is no draft.
        let mut w = db.begin().await.unwrap();
        let retry = w.submit_dossier(d.id, 2, today, Utc::now()).await.unwrap();
        assert_eq!(retry.code, filed.code, "{backend}");
        assert!(!w.delete_draft(d.id).await.unwrap(), "{backend}");
        w.commit().await.unwrap();
        let mut w = db.begin().await.unwrap();
        assert!(
            matches!(w.update_draft(d.id, filed.revision, &serde_json::json!({}), Utc::now()).await, Err(StoreError::Conflict(_))),
            "{backend}"
        );
        drop(w);

        let mut r = db.read().await.unwrap();
        let events: Vec<String> = r.list_dossier_events(d.id).await.unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(events, ["created", "submitted"], "{backend}");
        assert_eq!(r.get_dossier_by_code("H26.51-261126-0001").await.unwrap().unwrap().id, d.id, "{backend}");
        assert_eq!(r.list_dossiers_of(me, 10).await.unwrap().len(), 1, "{backend}");
        drop(r);
        // The next day starts again at 0001; a deleted draft is gone with its events.
        let mut w = db.begin().await.unwrap();
        let d2 = w.create_dossier(&new_dossier(me, agency, None)).await.unwrap();
        let filed2 = w.submit_dossier(d2.id, 1, day(2026, 11, 27), Utc::now()).await.unwrap();
        assert_eq!(filed2.code.as_deref(), Some("H26.51-261127-0001"), "{backend}");
        let d3 = w.create_dossier(&new_dossier(me, agency, None)).await.unwrap();
        assert!(w.delete_draft(d3.id).await.unwrap(), "{backend}");
        assert!(w.get_dossier(d3.id).await.unwrap().is_none(), "{backend}");
        w.commit().await.unwrap();
    }
}

#[tokio::test]
async fn five_hundred_simultaneous_submissions_get_distinct_gap_free_codes() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let (me, agency) = citizen(&db, "001303012346").await;
        let mut ids = vec![];
        let mut w = db.begin().await.unwrap();
        for _ in 0..500 {
            ids.push(w.create_dossier(&new_dossier(me, agency, None)).await.unwrap().id);
        }
        w.commit().await.unwrap();
        let today = day(2026, 11, 26);
        let tasks: Vec<_> = ids
            .into_iter()
            .map(|id| {
                let db = db.clone();
                tokio::spawn(async move {
                    let mut w = db.begin().await.unwrap();
                    let d = w.submit_dossier(id, 1, today, Utc::now()).await.unwrap();
                    w.commit().await.unwrap();
                    d.code.unwrap()
                })
            })
            .collect();
        let mut serials = vec![];
        for t in tasks {
            let code = t.await.unwrap();
            let parsed = tl_core::dossier::DossierCode::parse(&code).unwrap();
            assert_eq!((parsed.agency.as_str(), parsed.day), ("H26.51", today), "{backend}");
            serials.push(parsed.serial);
        }
        serials.sort_unstable();
        assert_eq!(serials, (1..=500).collect::<Vec<u32>>(), "{backend}: distinct and gap-free");
    }
}

fn filing(applicant: i64, agency: i64, key: Option<&str>, on: NaiveDate) -> filer::Filing {
    filer::Filing::New(NewFiling {
        dossier: new_dossier(applicant, agency, key),
        agency: tl_core::ids::AgencyId::parse("H26.51").unwrap(),
        day: on,
    })
}

#[tokio::test]
async fn the_group_committer_files_in_batches_with_gap_free_codes_and_one_dossier_per_key() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let (me, agency) = citizen(&db, "001303012347").await;
        let (other, _) = citizen(&db, "001303012348").await;
        let today = day(2026, 11, 26);
        // A draft left behind by an earlier attempt with key "k-draft".
        let mut w = db.begin().await.unwrap();
        let draft = w.create_dossier(&new_dossier(me, agency, Some("k-draft"))).await.unwrap();
        w.commit().await.unwrap();

        let filer = filer::Filer::start(db.clone());
        // 500 at once, so batches form; every 50th reuses a key (a double click), one names
        // the left-over draft, one is another applicant's with the same key (not a duplicate).
        let tasks: Vec<_> = (0..500)
            .map(|i| {
                let filer = filer.clone();
                let key = match i {
                    7 => "k-draft".to_string(),
                    n if n % 50 == 1 => format!("k-{}", n - 1),
                    n => format!("k-{n}"),
                };
                let applicant = if i == 499 { other } else { me };
                let key = if i == 499 { "k-0".to_string() } else { key };
                tokio::spawn(async move { (i, filer.file(filing(applicant, agency, Some(&key), today)).await.unwrap()) })
            })
            .collect();
        let mut by_key: std::collections::HashMap<(i64, String), i64> = Default::default();
        let mut serials = vec![];
        for t in tasks {
            let (i, d) = t.await.unwrap();
            assert_eq!(d.status, tl_core::dossier::DossierStatus::Submitted, "{backend}: #{i}");
            let code = d.code.clone().unwrap();
            let parsed = tl_core::dossier::DossierCode::parse(&code).unwrap();
            assert_eq!((parsed.agency.as_str(), parsed.day), ("H26.51", today), "{backend}");
            let mut r = db.read().await.unwrap();
            let stored = r.get_dossier(d.id).await.unwrap().unwrap();
            assert_eq!(stored.code.as_deref(), Some(code.as_str()), "{backend}: the acknowledged code is the stored one");
            let key = stored_key(i);
            let applicant = if i == 499 { other } else { me };
            match by_key.insert((applicant, key), d.id) {
                Some(prev) => assert_eq!(prev, d.id, "{backend}: one key, one dossier"),
                None => serials.push(parsed.serial),
            }
            if i == 7 {
                assert_eq!(d.id, draft.id, "{backend}: the left-over draft is the one filed");
            }
            let events = r.list_dossier_events(d.id).await.unwrap();
            assert_eq!(events.last().unwrap().kind, "submitted", "{backend}");
        }
        serials.sort_unstable();
        let n = serials.len() as u32;
        assert_eq!(n, 490, "{backend}: 10 double clicks made no dossier");
        assert_eq!(serials, (1..=n).collect::<Vec<u32>>(), "{backend}: distinct and gap-free");
        assert_eq!(db.read().await.unwrap().list_dossiers_of(me, 1000).await.unwrap().len(), 489, "{backend}");

        // A stale draft revision fails alone; the filings beside it still go through.
        let mut w = db.begin().await.unwrap();
        let stale = w.create_dossier(&new_dossier(me, agency, None)).await.unwrap();
        w.update_draft(stale.id, stale.revision, &serde_json::json!({"x": 1}), Utc::now()).await.unwrap();
        w.commit().await.unwrap();
        let bad = filer.file(filer::Filing::Draft { id: stale.id, revision: stale.revision, day: today, now: Utc::now() });
        let good = filer.file(filing(me, agency, None, today));
        let (bad, good) = tokio::join!(bad, good);
        assert!(matches!(bad, Err(StoreError::Conflict(_))), "{backend}: {bad:?}");
        assert_eq!(serial_of(&good.unwrap()), n + 1, "{backend}");
    }
}

fn stored_key(i: usize) -> String {
    match i {
        7 => "k-draft".to_string(),
        499 => "k-0".to_string(),
        n if n % 50 == 1 => format!("k-{}", n - 1),
        n => format!("k-{n}"),
    }
}

fn serial_of(d: &Dossier) -> u32 {
    tl_core::dossier::DossierCode::parse(d.code.as_deref().unwrap()).unwrap().serial
}

/// The file store keeps, reads and deletes bytes the same way on the filesystem and in an
/// S3-compatible bucket (a local S3 stand-in speaking the real protocol).
#[tokio::test]
async fn the_file_store_keeps_reads_and_deletes_on_the_filesystem_and_in_s3() {
    use tl_storage::blob::BlobStore;
    let root = std::env::temp_dir().join(format!("tl-blobs-{}", std::process::id()));
    let s3 = tl_storage::testing::s3_stand_in();
    let mut stores = vec![("filesystem", BlobStore::filesystem(root.join("fs")).unwrap())];
    if let Some(s) = &s3 {
        stores.push(("s3", BlobStore::s3(root.join("s3"), &s.config).unwrap()));
    }
    for (name, store) in stores {
        store.check().await.unwrap_or_else(|e| panic!("{name}: {e}"));
        let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (temp, mut f) = store.create_temp("abcdEFGH1234").await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut f, &bytes).await.unwrap();
        store.commit(f, &temp, "abcdEFGH1234").await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!temp.exists(), "{name}: the temporary file is gone");
        assert_eq!(store.read("abcdEFGH1234").await.unwrap(), bytes, "{name}: the same bytes come back");
        let missing = store.read("nothere00000").await.unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound, "{name}");
        store.delete("abcdEFGH1234").await.unwrap();
        assert_eq!(store.read("abcdEFGH1234").await.unwrap_err().kind(), std::io::ErrorKind::NotFound, "{name}: deleted");
        store.delete("abcdEFGH1234").await.unwrap_or_else(|e| panic!("{name}: deleting twice is fine: {e}"));
    }
    if let Some(s) = &s3 {
        // Wrong credentials are an error, not silent success (the stand-in checks nothing, so
        // check a bucket that does not exist instead).
        let mut cfg = s.config.clone();
        cfg.bucket = "no-such-bucket-here".into();
        let store = BlobStore::s3(root.join("s3b"), &cfg).unwrap();
        let (temp, f) = store.create_temp("zzzz0000").await.unwrap();
        assert!(store.commit(f, &temp, "zzzz0000").await.is_err(), "a PUT into a missing bucket fails");
    }
}

/// Two app servers (each with its own connection pool and group committer) filing at once into
/// one database: still one gap-free sequence of codes, no duplicate.
#[tokio::test]
async fn two_servers_filing_at_once_share_one_gap_free_counter() {
    let mut targets = vec![tl_storage::testing::fresh_sqlite().await];
    if let Some(pg) = tl_storage::testing::fresh_postgres().await {
        targets.push(pg);
    }
    for (db, url) in targets {
        let backend = db.backend().as_str();
        seeded(&db).await;
        let (me, agency) = citizen(&db, "001303012349").await;
        let other_server = tl_storage::connect(&url).await.unwrap();
        let filers = [filer::Filer::start(db.clone()), filer::Filer::start(other_server.clone())];
        let today = day(2026, 11, 26);
        let tasks: Vec<_> = (0..400)
            .map(|i| {
                let f = filers[i % 2].clone();
                tokio::spawn(async move { f.file(filing(me, agency, None, today)).await.unwrap() })
            })
            .collect();
        let mut serials = vec![];
        for t in tasks {
            serials.push(serial_of(&t.await.unwrap()));
        }
        serials.sort_unstable();
        assert_eq!(serials, (1..=400).collect::<Vec<u32>>(), "{backend}: distinct and gap-free across servers");
        other_server.close().await;
    }
}

#[tokio::test]
async fn the_working_calendar_is_data_with_a_generation() {
    use tl_core::calendar::DayKind;
    for (backend, db) in fresh_databases().await {
        let g0 = db.read().await.unwrap().calendar_generation().await.unwrap();
        let mut w = db.begin().await.unwrap();
        for (d, kind, name) in [
            (day(2026, 2, 17), DayKind::Holiday, "Tết Nguyên đán"),
            (day(2026, 4, 27), DayKind::DayOff, "Nghỉ bù Giỗ Tổ Hùng Vương"),
            (day(2026, 1, 10), DayKind::WorkingDay, "Làm bù"),
        ] {
            w.set_calendar_day(&CalendarDay { day: d, kind, name: name.into(), confirmed_by: None, confirmed_at: Utc::now() })
                .await
                .unwrap();
        }
        // Changing a date replaces it.
        w.set_calendar_day(&CalendarDay {
            day: day(2026, 1, 10),
            kind: DayKind::Holiday,
            name: "Đổi".into(),
            confirmed_by: None,
            confirmed_at: Utc::now(),
        })
        .await
        .unwrap();
        w.commit().await.unwrap();
        let mut r = db.read().await.unwrap();
        let all = r.list_calendar_days(day(2026, 1, 1), day(2026, 12, 31)).await.unwrap();
        let got: Vec<(NaiveDate, DayKind)> = all.iter().map(|d| (d.day, d.kind)).collect();
        assert_eq!(
            got,
            [(day(2026, 1, 10), DayKind::Holiday), (day(2026, 2, 17), DayKind::Holiday), (day(2026, 4, 27), DayKind::DayOff)],
            "{backend}"
        );
        assert_eq!(r.list_calendar_days(day(2026, 2, 1), day(2026, 3, 1)).await.unwrap().len(), 1, "{backend}: range");
        let g1 = r.calendar_generation().await.unwrap();
        assert!(g1 > g0, "{backend}: writes move the generation");
        drop(r);
        let mut w = db.begin().await.unwrap();
        assert!(w.delete_calendar_day(day(2026, 1, 10)).await.unwrap(), "{backend}");
        assert!(!w.delete_calendar_day(day(2026, 1, 11)).await.unwrap(), "{backend}");
        w.commit().await.unwrap();
        let mut r = db.read().await.unwrap();
        assert_eq!(r.list_calendar_days(day(2026, 1, 1), day(2026, 12, 31)).await.unwrap().len(), 2, "{backend}");
        assert!(r.calendar_generation().await.unwrap() > g1, "{backend}");
    }
}

fn action(d: &Dossier, to: tl_core::dossier::DossierStatus, kind: &str, actor: i64, now: chrono::DateTime<Utc>) -> DossierAction {
    DossierAction {
        id: d.id,
        expected_revision: d.revision,
        from: vec![d.status],
        to,
        kind: kind.into(),
        actor_id: Some(actor),
        detail: serde_json::json!({}),
        now,
        received_at: None,
        due_at: None,
        supplement: false,
        flow: None,
        close_handoff: None,
        open_handoff: false,
        handoff_due: None,
    }
}

#[tokio::test]
async fn a_dossier_moves_through_steps_with_its_control_sheet_and_the_inbox_follows() {
    use tl_core::dossier::DossierStatus as S;
    use tl_core::process::Timeliness;
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let (me, agency) = citizen(&db, "001303012345").await;
        let other_agency = db.read().await.unwrap().get_agency("H26").await.unwrap().unwrap().id;
        let now = Utc::now().trunc_subsecs(6);
        let mut w = db.begin().await.unwrap();
        let mut ids = vec![];
        for i in 0..3 {
            let d = w.create_dossier(&new_dossier(me, agency, Some(&format!("w-{i}")))).await.unwrap();
            ids.push(w.submit_dossier(d.id, 1, day(2026, 11, 26), now).await.unwrap());
        }
        w.commit().await.unwrap();

        // Reception accepts the first two into the process, at the review step, due at
        // different moments; the third stays at reception.
        for (i, d) in ids.iter().take(2).enumerate() {
            let mut a = action(d, S::Accepted, "received", me, now);
            a.received_at = Some(now);
            a.due_at = Some(now + Duration::days(3));
            a.flow = Some(Flow {
                step_id: Some("review".into()),
                step_agency_id: Some(agency),
                step_role: Some(Role::Specialist),
                step_started_at: Some(now),
                step_due_at: Some(now + Duration::hours(10 - i as i64 * 5)),
                appointed_at: Some(now + Duration::days(3)),
                ..Flow::default()
            });
            a.open_handoff = true;
            a.close_handoff = Some(HandoffClose {
                opened: Some(HandoffOpen {
                    step_id: "reception".into(),
                    agency_id: agency,
                    role: Role::Reception,
                    started_at: now,
                    due_at: None,
                }),
                decision: "accept".into(),
                timeliness: Timeliness::OnTime,
                note: None,
            });
            let mut w = db.begin().await.unwrap();
            let done = w.act_on_dossier(&a).await.unwrap();
            w.commit().await.unwrap();
            assert_eq!(
                (done.status, done.flow.step_id.as_deref(), done.revision),
                (S::Accepted, Some("review"), d.revision + 1),
                "{backend}"
            );
        }
        let inbox = |grants: Vec<(Role, Vec<i64>)>, search: Option<&str>| InboxQuery {
            grants,
            statuses: vec![S::Accepted, S::Processing],
            search: search.map(str::to_owned),
            limit: 10,
            ..InboxQuery::default()
        };
        let mut r = db.read().await.unwrap();
        let got: Vec<i64> =
            r.list_inbox(&inbox(vec![(Role::Specialist, vec![agency])], None)).await.unwrap().into_iter().map(|i| i.dossier.id).collect();
        assert_eq!(got, [ids[1].id, ids[0].id], "{backend}: the step due first comes first");
        assert!(r.list_inbox(&inbox(vec![(Role::Leader, vec![agency])], None)).await.unwrap().is_empty(), "{backend}: another role");
        assert!(
            r.list_inbox(&inbox(vec![(Role::Specialist, vec![other_agency])], None)).await.unwrap().is_empty(),
            "{backend}: another agency"
        );
        let by_code = r.list_inbox(&inbox(vec![(Role::Specialist, vec![agency])], ids[0].code.as_deref())).await.unwrap();
        assert_eq!(by_code.len(), 1, "{backend}");
        assert_eq!(by_code[0].applicant_name, "Lê Thị Hoa", "{backend}");
        let by_name = r.list_inbox(&inbox(vec![(Role::Specialist, vec![agency])], Some("thị hoa"))).await.unwrap();
        assert_eq!(by_name.len(), 2, "{backend}");
        // Case and diacritics are ignored on both databases (SQLite's LOWER() alone folds ASCII).
        for typed in ["LÊ THỊ HOA", "le thi hoa", "Lê  Thị"] {
            let found = r.list_inbox(&inbox(vec![(Role::Specialist, vec![agency])], Some(typed))).await.unwrap();
            assert_eq!(found.len(), 2, "{backend}: {typed}");
        }
        let hostile = r.list_inbox(&inbox(vec![(Role::Specialist, vec![agency])], Some("%' OR 1=1 --"))).await.unwrap();
        assert!(hostile.is_empty(), "{backend}: search text is data");
        let late = InboxQuery { due_before: Some(now + Duration::hours(7)), ..inbox(vec![(Role::Specialist, vec![agency])], None) };
        assert_eq!(r.list_inbox(&late).await.unwrap().len(), 1, "{backend}: the due-window filter");
        drop(r);

        // A forward closes the review row and opens the leader's; a stale revision changes nothing.
        let d = db.read().await.unwrap().get_dossier(ids[0].id).await.unwrap().unwrap();
        let mut a = action(&d, S::Processing, "decision.forward", me, now + Duration::hours(1));
        a.flow =
            Some(Flow { step_id: Some("approve".into()), step_role: Some(Role::Leader), step_started_at: Some(now), ..d.flow.clone() });
        a.open_handoff = true;
        a.close_handoff =
            Some(HandoffClose { opened: None, decision: "propose".into(), timeliness: Timeliness::Early, note: Some("Đủ".into()) });
        let mut w = db.begin().await.unwrap();
        w.act_on_dossier(&a).await.unwrap();
        w.commit().await.unwrap();
        let mut w = db.begin().await.unwrap();
        assert!(matches!(w.act_on_dossier(&a).await, Err(StoreError::Conflict(_))), "{backend}: the same revision twice");
        drop(w);
        let sheet = db.read().await.unwrap().list_handoffs(d.id).await.unwrap();
        let rows: Vec<(&str, Option<&str>, Option<Timeliness>, bool)> =
            sheet.iter().map(|h| (h.step_id.as_str(), h.decision.as_deref(), h.timeliness, h.ended_at.is_some())).collect();
        assert_eq!(
            rows,
            [
                ("reception", Some("accept"), Some(Timeliness::OnTime), true),
                ("review", Some("propose"), Some(Timeliness::Early), true),
                ("approve", None, None, false)
            ],
            "{backend}"
        );
        assert_eq!(sheet[1].giver_name.as_deref(), Some("Lê Thị Hoa"), "{backend}");
        assert_eq!(sheet[1].note.as_deref(), Some("Đủ"), "{backend}");
        let leaders = db.read().await.unwrap().list_inbox(&inbox(vec![(Role::Leader, vec![agency])], None)).await.unwrap();
        assert_eq!(leaders.len(), 1, "{backend}");

        // Leaving the process empties every inbox; the register lists all three filings.
        let d = db.read().await.unwrap().get_dossier(ids[0].id).await.unwrap().unwrap();
        let mut a = action(&d, S::ResultReturned, "decision.return", me, now + Duration::hours(2));
        a.flow = Some(Flow { finished_at: Some(now + Duration::hours(2)), outcome: Some("approved".into()), ..Flow::default() });
        let mut w = db.begin().await.unwrap();
        let done = w.act_on_dossier(&a).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!((done.flow.step_role, done.flow.outcome.as_deref()), (None, Some("approved")), "{backend}");
        assert!(
            db.read().await.unwrap().list_inbox(&inbox(vec![(Role::Leader, vec![agency])], None)).await.unwrap().is_empty(),
            "{backend}"
        );
        let reg = db.read().await.unwrap().list_register(&[agency], now - Duration::days(1), now + Duration::days(1), 100).await.unwrap();
        assert_eq!(reg.len(), 3, "{backend}");
    }
}

#[tokio::test]
async fn results_signing_keys_notices_and_the_outbox_lease() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let (me, agency) = citizen(&db, "001303012345").await;
        let now = Utc::now().trunc_subsecs(6);
        let mut w = db.begin().await.unwrap();
        let d = w.create_dossier(&new_dossier(me, agency, None)).await.unwrap();
        let ca = w.add_signing_ca(b"ca-der", Some(b"sealed"), now).await.unwrap();
        let ca2 = w.add_signing_ca(b"ca2-der", None, now).await.unwrap();
        w.retire_signing_cas(ca2, now).await.unwrap();
        w.add_credential(&SigningCredential {
            id: 0,
            account_id: me,
            ca_id: ca2,
            cert_der: vec![1, 2, 3],
            sealed_key: vec![4, 5],
            not_after: now + Duration::days(700),
            created_at: now,
        })
        .await
        .unwrap();
        let result = IssuedResult {
            id: "abcDEF123".into(),
            dossier_id: d.id,
            kind: "result".into(),
            number: "0001/KQ".into(),
            title: "GIẤY KHAI SINH".into(),
            storage_key: "results/abcDEF123.pdf".into(),
            size: 100,
            sha256: "ab".repeat(32),
            signer_id: me,
            signer_name: "Phạm Minh Đức".into(),
            agency_name: "UBND phường".into(),
            cert_serial: "1f".into(),
            signed_at: now,
            revoked_at: None,
            revoked_reason: None,
        };
        w.insert_result(&result).await.unwrap();
        w.notify(&NewNotice {
            account_id: me,
            dossier_id: Some(d.id),
            kind: "decision.approve".into(),
            title_vi: "Hồ sơ đã có kết quả".into(),
            title_en: "Result ready".into(),
            body_vi: "Kết quả đã sẵn sàng.".into(),
            body_en: "Ready.".into(),
            link: Some("/dossiers/1".into()),
            email: Some("hoa@example.vn".into()),
            now,
        })
        .await
        .unwrap();
        w.commit().await.unwrap();

        let mut r = db.read().await.unwrap();
        let cas = r.list_signing_cas().await.unwrap();
        assert_eq!(cas.iter().map(|c| (c.id, c.retired_at.is_some())).collect::<Vec<_>>(), [(ca2, false), (ca, true)], "{backend}");
        assert_eq!(r.current_credential(me).await.unwrap().unwrap().cert_der, [1, 2, 3], "{backend}");
        assert_eq!(r.get_result("abcDEF123").await.unwrap().unwrap().title, "GIẤY KHAI SINH", "{backend}");
        assert_eq!(r.find_result_by_sha256(&"ab".repeat(32)).await.unwrap().unwrap().id, "abcDEF123", "{backend}");
        assert_eq!(r.list_results_of_applicant(me, 10).await.unwrap().len(), 1, "{backend}");
        let notes = r.list_notifications(me, 10).await.unwrap();
        assert_eq!((notes.len(), notes[0].read_at.is_none()), (1, true), "{backend}");
        drop(r);
        let mut w = db.begin().await.unwrap();
        assert!(w.revoke_result("abcDEF123", "Cấp nhầm", now).await.unwrap(), "{backend}");
        assert!(!w.revoke_result("abcDEF123", "again", now).await.unwrap(), "{backend}: once");
        // The same file cannot be recorded twice.
        assert!(w.insert_result(&IssuedResult { id: "other".into(), ..result.clone() }).await.is_err(), "{backend}");
        drop(w);

        // Two workers claim at once: each mail goes to one of them; after the lease it is due again.
        let mut w1 = db.begin().await.unwrap();
        let first = w1.claim_outbox(now, now + Duration::minutes(15), 10).await.unwrap();
        w1.commit().await.unwrap();
        let mut w2 = db.begin().await.unwrap();
        let second = w2.claim_outbox(now, now + Duration::minutes(15), 10).await.unwrap();
        w2.commit().await.unwrap();
        assert_eq!((first.len(), second.len()), (1, 0), "{backend}");
        assert!(first[0].text_body.contains("Kết quả đã sẵn sàng.") && first[0].subject == "Hồ sơ đã có kết quả", "{backend}");
        let mut w = db.begin().await.unwrap();
        assert_eq!(w.claim_outbox(now + Duration::minutes(16), now + Duration::minutes(31), 10).await.unwrap().len(), 1, "{backend}");
        w.outbox_failed(first[0].id, 1, Some(now + Duration::hours(1)), "451 busy").await.unwrap();
        assert!(w.claim_outbox(now + Duration::minutes(59), now + Duration::hours(2), 10).await.unwrap().is_empty(), "{backend}");
        w.outbox_sent(first[0].id, now).await.unwrap();
        assert!(w.claim_outbox(now + Duration::days(1), now + Duration::days(2), 10).await.unwrap().is_empty(), "{backend}: sent is final");
        w.commit().await.unwrap();
    }
}

#[tokio::test]
async fn second_factors_agency_requirements_and_the_owners_sessions() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let (me, _) = citizen(&db, "001303012345").await;
        let (other, _) = citizen(&db, "001303054321").await;
        let now = Utc::now().trunc_subsecs(6);
        let mut w = db.begin().await.unwrap();

        // TOTP: an unconfirmed secret can be replaced; a confirmed one cannot until removed.
        assert!(w.put_totp(me, b"sealed-1", now).await.unwrap(), "{backend}");
        assert!(w.put_totp(me, b"sealed-2", now).await.unwrap(), "{backend}");
        let t = w.get_totp(me).await.unwrap().unwrap();
        assert_eq!((t.secret_sealed.as_slice(), t.confirmed_at), (&b"sealed-2"[..], None), "{backend}");
        assert!(!w.use_totp_step(me, 10).await.unwrap(), "{backend}: an unconfirmed secret is not a factor");
        assert!(w.confirm_totp(me, 100, now).await.unwrap(), "{backend}");
        assert!(!w.confirm_totp(me, 101, now).await.unwrap(), "{backend}: confirmed once");
        assert!(!w.put_totp(me, b"sealed-3", now).await.unwrap(), "{backend}: a confirmed secret stays");
        assert_eq!(w.get_totp(me).await.unwrap().unwrap().last_step, Some(100), "{backend}");
        // A step works once, and never an older one.
        assert!(!w.use_totp_step(me, 100).await.unwrap(), "{backend}");
        assert!(w.use_totp_step(me, 101).await.unwrap(), "{backend}");
        assert!(!w.use_totp_step(me, 99).await.unwrap(), "{backend}");
        assert!(w.get_totp(other).await.unwrap().is_none(), "{backend}");

        // Recovery codes: each once; replacing them voids the old ones.
        w.replace_recovery_codes(me, &["a".into(), "b".into(), "c".into()], now).await.unwrap();
        assert_eq!(w.recovery_codes_left(me).await.unwrap(), 3, "{backend}");
        assert!(w.use_recovery_code(me, "b", now).await.unwrap(), "{backend}");
        assert!(!w.use_recovery_code(me, "b", now).await.unwrap(), "{backend}: used");
        assert!(!w.use_recovery_code(other, "a", now).await.unwrap(), "{backend}: another account's code");
        assert_eq!(w.recovery_codes_left(me).await.unwrap(), 2, "{backend}");
        w.replace_recovery_codes(me, &["d".into()], now).await.unwrap();
        assert!(!w.use_recovery_code(me, "a", now).await.unwrap(), "{backend}: replaced");
        assert!(w.delete_totp(me).await.unwrap(), "{backend}");
        assert!(w.get_totp(me).await.unwrap().is_none(), "{backend}");
        assert_eq!(w.recovery_codes_left(me).await.unwrap(), 0, "{backend}: the codes go with the secret");

        // Agencies requiring a second factor.
        let ward = w.get_agency("H26.51").await.unwrap().unwrap().id;
        let city = w.get_agency("H26").await.unwrap().unwrap().id;
        assert!(w.agencies_requiring_second_factor().await.unwrap().is_empty(), "{backend}");
        w.set_second_factor_required(ward, true, Some(me), now).await.unwrap();
        w.set_second_factor_required(city, true, None, now).await.unwrap();
        w.set_second_factor_required(city, false, None, now).await.unwrap();
        assert_eq!(w.agencies_requiring_second_factor().await.unwrap(), ["H26.51"], "{backend}");

        // Sessions: the owner lists their full sessions, ends one, or all others; never another's.
        for (h, who, stage, seen) in [
            ("s1", me, SessionStage::Full, 1),
            ("s2", me, SessionStage::Full, 3),
            ("s3", me, SessionStage::SecondFactor, 2),
            ("s4", other, SessionStage::Full, 1),
        ] {
            w.create_session(&NewSession {
                id_hash: h.into(),
                account_id: who,
                created_at: now - Duration::minutes(10 - seen),
                expires_at: now + Duration::hours(2),
                ip: Some("10.0.0.1".into()),
                user_agent: Some("Mozilla/5.0 (Android)".into()),
                stage,
                amr: if stage == SessionStage::Full { "pwd otp".into() } else { "pwd".into() },
            })
            .await
            .unwrap();
        }
        let listed: Vec<String> = w.list_sessions(me, now).await.unwrap().into_iter().map(|s| s.id_hash).collect();
        assert_eq!(listed, ["s2", "s1"], "{backend}: full sessions only, most recent first");
        assert_eq!(w.get_session("s3", now).await.unwrap().unwrap().0.stage, SessionStage::SecondFactor, "{backend}");
        assert!(!w.delete_session_of(me, "s4").await.unwrap(), "{backend}: not mine");
        assert!(w.get_session("s4", now).await.unwrap().is_some(), "{backend}");
        assert!(w.delete_session_of(me, "s1").await.unwrap(), "{backend}");
        assert_eq!(w.delete_other_sessions(me, "s2").await.unwrap(), 1, "{backend}: s3");
        let listed: Vec<String> = w.list_sessions(me, now).await.unwrap().into_iter().map(|s| s.id_hash).collect();
        assert_eq!(listed, ["s2"], "{backend}");
        assert!(w.get_session("s4", now).await.unwrap().is_some(), "{backend}: another account's session stays");
        w.commit().await.unwrap();
    }
}

#[tokio::test]
async fn business_members_and_authorisations_say_who_may_act_for_whom() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let (business, _) = citizen(&db, "0100109106").await;
        let (employee, _) = citizen(&db, "001303012345").await;
        let (mother, _) = citizen(&db, "001303054321").await;
        let (neighbour, _) = citizen(&db, "001303099999").await;
        let now = Utc::now().trunc_subsecs(6);
        let today = day(2026, 12, 4);
        let mut w = db.begin().await.unwrap();

        assert!(w.add_member(business, employee, business, now).await.unwrap(), "{backend}");
        assert!(!w.add_member(business, employee, business, now).await.unwrap(), "{backend}: once");
        assert_eq!(w.list_members(business).await.unwrap().len(), 1, "{backend}");
        assert_eq!(w.businesses_of(employee).await.unwrap()[0].business_id, business, "{backend}");
        assert!(w.may_act_for(employee, business, "ANY", today).await.unwrap(), "{backend}: a member acts for the business");
        assert!(!w.may_act_for(business, employee, "ANY", today).await.unwrap(), "{backend}: not the other way");

        // The mother authorises the neighbour for birth registration during December.
        let id = w
            .create_authorisation(&NewAuthorisation {
                grantor_id: mother,
                grantee_id: neighbour,
                procedure_code: "1.001193".into(),
                valid_from: day(2026, 12, 1),
                valid_to: day(2026, 12, 31),
                note: Some("Nộp hộ khi tôi đi công tác".into()),
                now,
            })
            .await
            .unwrap();
        assert!(w.may_act_for(neighbour, mother, "1.001193", today).await.unwrap(), "{backend}");
        assert!(!w.may_act_for(neighbour, mother, "1.001612", today).await.unwrap(), "{backend}: another procedure");
        assert!(!w.may_act_for(neighbour, mother, "1.001193", day(2027, 1, 1)).await.unwrap(), "{backend}: after the period");
        assert!(!w.may_act_for(neighbour, mother, "1.001193", day(2026, 11, 30)).await.unwrap(), "{backend}: before it");
        assert!(!w.may_act_for(employee, mother, "1.001193", today).await.unwrap(), "{backend}: someone else");
        let held = w.authorisations_held(neighbour, today).await.unwrap();
        assert_eq!((held.len(), held[0].grantor_name.as_str()), (1, "Lê Thị Hoa"), "{backend}");
        assert!(!w.revoke_authorisation(neighbour, id, now).await.unwrap(), "{backend}: only the grantor revokes");
        assert!(w.revoke_authorisation(mother, id, now).await.unwrap(), "{backend}");
        assert!(!w.may_act_for(neighbour, mother, "1.001193", today).await.unwrap(), "{backend}: revoked at once");
        assert!(w.authorisations_held(neighbour, today).await.unwrap().is_empty(), "{backend}");
        assert!(w.authorisations_given(mother).await.unwrap()[0].revoked_at.is_some(), "{backend}: kept, marked revoked");

        assert!(w.remove_member(business, employee, now).await.unwrap(), "{backend}");
        assert!(!w.may_act_for(employee, business, "ANY", today).await.unwrap(), "{backend}: removed");
        assert!(w.add_member(business, employee, business, now).await.unwrap(), "{backend}: can be added again");
        w.commit().await.unwrap();
    }
}
#[path = "conformance/access.rs"]
mod access;
#[path = "conformance/oidc.rs"]
mod oidc;
#[path = "conformance/store.rs"]
mod store;
