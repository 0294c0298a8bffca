//! The citizen's data store: it fills itself from accepted dossiers and issued results, pre-fills
//! new forms only with consent, reuses a stored result instead of an upload, records what was
//! pre-filled, changed or typed, and refuses what it must.

use super::*;
use serde_json::json;
use tl_core::account::Role;

/// Birth registration and residence registration forms mapped to the data store (the seed's
/// own are long; these keep the same mappings on a few fields).
async fn publish_store_forms(app: &App) {
    let birth: tl_core::form::FormDef = serde_json::from_value(json!({
        "persons": [{"key": "child", "label": {"vi": "Người được khai sinh"}, "adds": "child"}],
        "steps": [{"key": "main", "title": {"vi": "Thông tin"}, "fields": [
            {"key": "child_full_name", "label": {"vi": "Họ và tên con"}, "required": true, "type": {"kind": "text"}, "data": "child.full_name"},
            {"key": "child_birth_date", "label": {"vi": "Ngày sinh"}, "required": true, "type": {"kind": "date", "not_future": true}, "data": "child.birth_date"},
            {"key": "requester_phone", "label": {"vi": "Số điện thoại"}, "required": true, "type": {"kind": "phone"}, "data": "self.phone"}
        ]}]
    }))
    .unwrap();
    let residence: tl_core::form::FormDef = serde_json::from_value(json!({
        "persons": [{"key": "registrant", "label": {"vi": "Người đăng ký thường trú"}}],
        "steps": [{"key": "main", "title": {"vi": "Người đăng ký"}, "fields": [
            {"key": "full_name", "label": {"vi": "Họ và tên"}, "required": true, "type": {"kind": "text"}, "data": "registrant.full_name"},
            {"key": "birth_date", "label": {"vi": "Ngày sinh"}, "required": true, "type": {"kind": "date"}, "data": "registrant.birth_date"},
            {"key": "phone", "label": {"vi": "Số điện thoại"}, "required": true, "type": {"kind": "phone"}, "data": "self.phone"},
            {"key": "relationship_files", "label": {"vi": "Giấy tờ chứng minh quan hệ nhân thân"}, "required": true,
             "type": {"kind": "file", "component": "quan-he-nhan-than", "reuse": ["result:1.001193"]}}
        ]}]
    }))
    .unwrap();
    let today = tl_web::portal::today();
    for (code, form) in [("1.001193", birth), ("1.004222", residence)] {
        let current = app.db.read().await.unwrap().get_procedure(code, today, None).await.unwrap().unwrap();
        let mut v = current.version.clone();
        v.effective_from = today;
        v.form = Some(form);
        if code == "1.001193" {
            let mut t = v.result_template.clone().unwrap();
            t.fields.retain(|f| f.answer == "child_full_name" || f.answer == "child_birth_date");
            t.body.clear();
            v.result_template = Some(t);
        }
        let mut w = app.db.begin().await.unwrap();
        w.add_procedure_version(code, &v, None, chrono::Utc::now()).await.unwrap();
        w.commit().await.unwrap();
    }
    tokio::time::sleep(tl_web::catalog::MAX_STALENESS).await;
}

fn answers_of(d: &tl_storage::Dossier) -> serde_json::Value {
    d.answers.clone()
}

#[tokio::test]
async fn a_mothers_data_store_fills_itself_prefills_her_childs_residence_form_with_consent_and_refuses_what_it_must() {
    for mut app in apps().await {
        let n = app.name;
        publish_store_forms(&app).await;
        let pw = "Mật khẩu của Hoa 2026";
        let (mum, token) = app.citizen_account("001303033333", Some("hoa@example.vn"), Some(pw)).await;
        app.citizen_account("001303044444", None, Some(pw)).await;

        // She registers her son's birth (through the API); the ward accepts, decides and signs.
        let body = json!({"procedure": "1.001193", "agency": "H26.31", "submit": true,
            "answers": {"child_full_name": "Lê Minh An", "child_birth_date": "2026-11-20", "requester_phone": "0912345678"}})
        .to_string();
        let p = app.json("POST", "/api/v1/dossiers", &token, &body, Some("birth-1")).await;
        assert_eq!(p.status, StatusCode::CREATED, "{n}: {}", p.body);
        let birth = p.json()["id"].as_i64().unwrap();
        app.add_officer("motcua", "Một cửa Ba Đình 2026", "H26.31", &[Role::Reception]).await;
        app.add_officer("chuyenvien", "Chuyên viên Ba Đình 2026", "H26.31", &[Role::Specialist]).await;
        app.add_officer("lanhdao", "Lãnh đạo Ba Đình 2026", "H26.31", &[Role::Leader]).await;
        for (login, pw, path, fields) in [
            ("motcua", "Một cửa Ba Đình 2026", "reception", vec![("action", "accept")]),
            ("chuyenvien", "Chuyên viên Ba Đình 2026", "decide", vec![("decision", "propose")]),
            ("lanhdao", "Lãnh đạo Ba Đình 2026", "decide", vec![("decision", "approve")]),
        ] {
            app.sign_in(login, pw).await;
            let p = app.act(path, birth, &fields).await;
            assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {login}: {}", p.body);
            app.post("/signout", &[]).await;
        }
        let result = app.db.read().await.unwrap().list_results_of(birth).await.unwrap().remove(0);

        // Her data store filled itself: her son, what the result states, the result itself.
        app.sign_in("001303033333", pw).await;
        let page = app.get("/account/data").await;
        assert_eq!(page.status, StatusCode::OK, "{n}");
        for s in [
            "Kho dữ liệu cá nhân",
            "Lê Minh An",
            "(Con)",
            "20/11/2026",
            "ghi trên kết quả do Ủy ban nhân dân phường Ba Đình cấp",
            "0912345678",
            "Trích lục khai sinh",
            "Không thể xóa",
        ] {
            assert!(page.has(s), "{n}: {s} on the data page");
        }
        let mut r = app.db.read().await.unwrap();
        let people = r.list_people(mum).await.unwrap();
        let son = people.iter().find(|p| p.name == "Lê Minh An").unwrap().id;
        let items = r.list_items(mum).await.unwrap();
        let bd = items.iter().find(|i| i.person_id == son && i.item == "birth_date").unwrap().clone();
        assert_eq!(bd.source, tl_core::personal::Source::Result, "{n}");
        let phone = items.iter().find(|i| i.item == "phone").unwrap().clone();
        assert_eq!(phone.source, tl_core::personal::Source::Dossier, "{n}: verified at acceptance");
        let docs = r.list_documents(mum).await.unwrap();
        let extract = docs.iter().find(|d| d.kind == "result:1.001193").unwrap().clone();
        assert_eq!((extract.result_id.as_deref(), extract.person_id), (Some(result.id.as_str()), Some(son)), "{n}");
        drop(r);
        // What a result states is kept, with the reason; her own declaration can go.
        let refused = app.post(&format!("/account/data/items/{}/delete", bd.id), &[]).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(refused.has("cải chính hộ tịch"), "{n}: {}", refused.body);
        let refused = app.post(&format!("/account/data/documents/{}/delete", extract.id), &[]).await;
        assert!(refused.status == StatusCode::BAD_REQUEST && refused.has("45/2020"), "{n}");
        assert_eq!(
            app.post("/account/data/items", &[("item", "hometown"), ("value", "Hà Nam")]).await.location(),
            "/account/data?done=added"
        );
        let mine = app.db.read().await.unwrap().list_items(mum).await.unwrap();
        let hometown = mine.iter().find(|i| i.item == "hometown").unwrap().id;
        assert_eq!(
            app.post(&format!("/account/data/items/{hometown}"), &[("value", "Nam Định")]).await.location(),
            "/account/data?done=corrected"
        );
        assert_eq!(
            app.post(&format!("/account/data/items/{}", phone.id), &[("value", "0900000000")]).await.status,
            StatusCode::BAD_REQUEST,
            "{n}: verified"
        );
        assert_eq!(app.post(&format!("/account/data/items/{hometown}/delete"), &[]).await.location(), "/account/data?done=deleted");

        // No consent yet: the residence form asks for it and pre-fills nothing.
        let proc = app.get("/procedures/1.004222").await;
        assert!(proc.has("Cho phép điền sẵn"), "{n}");
        let agency = "H26.20.31";
        let started = app.post("/procedures/1.004222/file", &[("agency", agency), ("idem", "res-nocons-1")]).await;
        let draft: i64 = started.location().trim_start_matches("/dossiers/").split('/').next().unwrap().parse().unwrap();
        assert_eq!(answers_of(&app.dossier(draft).await), json!({}), "{n}: nothing without consent");
        // A made-up purpose is refused and nothing is recorded.
        let p = app.post("/account/consents/quang-cao", &[("decision", "grant")]).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(app.db.read().await.unwrap().consent_history(mum).await.unwrap().is_empty(), "{n}");
        let p = app.post("/account/consents/prefill", &[("decision", "grant"), ("next", "/procedures/1.004222")]).await;
        assert_eq!(p.location(), "/procedures/1.004222", "{n}");
        let proc = app.get("/procedures/1.004222").await;
        assert!(proc.has("Điền sẵn từ Kho dữ liệu") && proc.has(&format!("value=\"{son}\"")), "{n}: pick the son");

        // Someone else's person is refused; nothing is started.
        let stranger = {
            let mut w = app.db.begin().await.unwrap();
            let id = w.store_self(mum + 1, "Người khác", chrono::Utc::now()).await.unwrap();
            w.commit().await.unwrap();
            id
        };
        let before = app.db.read().await.unwrap().list_dossiers_of(mum, 50).await.unwrap().len();
        let p = app
            .post(
                "/procedures/1.004222/file",
                &[("agency", agency), ("idem", "res-forged-1"), ("person.registrant", &stranger.to_string())],
            )
            .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        assert_eq!(app.db.read().await.unwrap().list_dossiers_of(mum, 50).await.unwrap().len(), before, "{n}: no draft");
        let audit = app.db.read().await.unwrap().list_audit(Some("procedure"), Some("1.004222"), 10).await.unwrap();
        assert!(audit.iter().any(|a| a.action == "store.prefill_refused"), "{n}: the forged pick is logged");

        // With her son picked: his name and birth date, her phone, and the birth extract.
        let started = app
            .post("/procedures/1.004222/file", &[("agency", agency), ("idem", "res-son-1"), ("person.registrant", &son.to_string())])
            .await;
        let draft: i64 = started.location().trim_start_matches("/dossiers/").split('/').next().unwrap().parse().unwrap();
        let d = app.dossier(draft).await;
        assert_eq!(d.answers["full_name"], "Lê Minh An", "{n}");
        assert_eq!(d.answers["birth_date"], "2026-11-20", "{n}");
        assert_eq!(d.answers["phone"], "0912345678", "{n}");
        let fid = d.answers["relationship_files"][0].as_str().unwrap().to_owned();
        let copy = app.get_bytes(&format!("/files/{fid}")).await;
        let original = app.get_bytes(&format!("/results/{}.pdf", result.id)).await;
        assert!(copy.starts_with(b"%PDF-") && copy == original, "{n}: the extract itself, reused");
        let step = app.get(&format!("/dossiers/{draft}/edit?step=0")).await;
        assert!(step.has("Điền sẵn từ Kho dữ liệu: ghi trên kết quả do Ủy ban nhân dân phường Ba Đình cấp"), "{n}");
        assert!(step.has("Dùng lại giấy tờ trong Kho dữ liệu"), "{n}");
        // She changes the phone and files; the dossier records what was kept and changed.
        let rev = d.revision.to_string();
        let p = app
            .post(
                &format!("/dossiers/{draft}/edit?step=0"),
                &[
                    ("revision", &rev),
                    ("full_name", "Lê Minh An"),
                    ("birth_date", "20/11/2026"),
                    ("phone", "0987654321"),
                    ("action", "next"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        let rev = app.dossier(draft).await.revision.to_string();
        let p = app.post(&format!("/dossiers/{draft}/submit"), &[("revision", &rev)]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        let origins: HashMap<String, Option<tl_core::personal::Origin>> =
            app.db.read().await.unwrap().list_provenance(draft).await.unwrap().into_iter().map(|p| (p.field, p.origin)).collect();
        use tl_core::personal::Origin;
        assert_eq!(origins["full_name"], Some(Origin::Prefilled), "{n}");
        assert_eq!(origins["phone"], Some(Origin::Changed), "{n}");
        assert_eq!(origins["relationship_files"], Some(Origin::Prefilled), "{n}");
        // The JSON API carries the reuse flag (what the national portal and the 766 index count).
        let api = app.api(&format!("/api/v1/dossiers/{draft}"), Some(&token)).await.json();
        let from = api["from_data_store"].as_array().unwrap();
        assert!(
            from.iter().any(|p| p["field"] == "relationship_files" && p["reused_document"] == true && p["source"] == "result"),
            "{n}: {api}"
        );
        assert!(from.iter().any(|p| p["field"] == "phone" && p["origin"] == "changed"), "{n}");
        app.post("/signout", &[]).await;

        // The police officer sees which answers were verified, changed or reused.
        app.add_officer("congan", "Công an phường 2026", agency, &[Role::Reception]).await;
        app.sign_in("congan", "Công an phường 2026").await;
        let page = app.get(&format!("/dossiers/{draft}")).await;
        assert_eq!(page.status, StatusCode::OK, "{n}");
        assert!(page.has("Đã xác minh") && page.has("Đã sửa") && page.has("Dùng lại"), "{n}: {}", page.body);
        app.post("/signout", &[]).await;

        // Removing a reused document from a draft leaves the stored original alone.
        app.sign_in("001303033333", pw).await;
        let started = app
            .post("/procedures/1.004222/file", &[("agency", agency), ("idem", "res-remove-1"), ("person.registrant", &son.to_string())])
            .await;
        let other: i64 = started.location().trim_start_matches("/dossiers/").split('/').next().unwrap().parse().unwrap();
        let d2 = app.dossier(other).await;
        let fid2 = d2.answers["relationship_files"][0].as_str().unwrap().to_owned();
        let p = app
            .post(
                &format!("/dossiers/{other}/edit?step=0"),
                &[("revision", &d2.revision.to_string()), ("action", &format!("remove_file:{fid2}"))],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        assert!(app.db.read().await.unwrap().get_file(&fid2).await.unwrap().is_none(), "{n}: the draft's row is gone");
        assert_eq!(app.get_bytes(&format!("/results/{}.pdf", result.id)).await, original, "{n}: the original is intact");
        // The step offers it again; a forged reference (someone else's document) is refused and logged.
        let step = app.get(&format!("/dossiers/{other}/edit?step=0")).await;
        assert!(step.has(&format!("value=\"reuse:relationship_files:{}\"", extract.id)), "{n}: offered again");
        let theirs = {
            let mut w = app.db.begin().await.unwrap();
            let id = w
                .add_document(&tl_storage::store::NewDocument {
                    account_id: mum + 1,
                    person_id: None,
                    kind: "result:1.001193",
                    title: "Trích lục của người khác",
                    file_id: None,
                    result_id: None,
                    dossier_id: None,
                    agency_id: None,
                    issued_at: chrono::Utc::now(),
                    valid_until: None,
                })
                .await
                .unwrap();
            w.commit().await.unwrap();
            id
        };
        let rev = app.dossier(other).await.revision.to_string();
        let p = app
            .post(
                &format!("/dossiers/{other}/edit?step=0"),
                &[("revision", &rev), ("action", &format!("reuse:relationship_files:{theirs}"))],
            )
            .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(p.has("không có trong Kho dữ liệu của bạn"), "{n}");
        let audit = app.db.read().await.unwrap().list_audit(Some("dossier"), Some(&other.to_string()), 10).await.unwrap();
        assert!(audit.iter().any(|a| a.action == "store.reuse_refused"), "{n}: logged");
        let p = app
            .post(
                &format!("/dossiers/{other}/edit?step=0"),
                &[("revision", &rev), ("action", &format!("reuse:relationship_files:{}", extract.id))],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{n}: {}", p.body);
        assert_eq!(app.dossier(other).await.answers["relationship_files"].as_array().unwrap().len(), 1, "{n}: reused again");
        app.post("/signout", &[]).await;

        // She withdraws consent: the next form starts empty.
        app.sign_in("001303033333", pw).await;
        assert_eq!(
            app.post("/account/consents/prefill", &[("decision", "revoke")]).await.location(),
            "/account/consents?done=revoked",
            "{n}"
        );
        let consents = app.get("/account/consents").await;
        assert!(consents.has("Đã rút lại") && consents.has("Lịch sử quyết định"), "{n}");
        let started = app
            .post("/procedures/1.004222/file", &[("agency", agency), ("idem", "res-after-1"), ("person.registrant", &son.to_string())])
            .await;
        let draft: i64 = started.location().trim_start_matches("/dossiers/").split('/').next().unwrap().parse().unwrap();
        assert_eq!(answers_of(&app.dossier(draft).await), json!({}), "{n}: nothing once withdrawn");
        let history = app.db.read().await.unwrap().consent_history(mum).await.unwrap();
        assert_eq!(history.iter().map(|h| h.state.as_str()).collect::<Vec<_>>(), ["granted", "revoked"], "{n}");
        assert!(tl_storage::store::broken_consent(&history).is_none(), "{n}");
    }
}
