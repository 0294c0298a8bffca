//! The citizen's data store, consents and dossier provenance behave the same on both databases.

use super::*;
use serde_json::json;
use tl_core::personal::{ConsentState, Origin, Relation, Source};
use tl_storage::store::*;

#[tokio::test]
async fn the_data_store_keeps_provenance_refuses_weaker_overwrites_and_protects_results() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let (owner, agency) = citizen(&db, "001303012345").await;
        let (other, _) = citizen(&db, "001303099999").await;
        let now = Utc::now().trunc_subsecs(3);
        let mut w = db.begin().await.unwrap();
        let me = w.store_self(owner, "Lê Thị Hoa", now).await.unwrap();
        assert_eq!(w.store_self(owner, "Lê Thị Hoa", now).await.unwrap(), me, "{backend}: one self");
        let child = w.store_person(owner, Relation::Child, "Lê Minh An", None, now).await.unwrap();
        // The same child named again, now with a number: the same person, number learnt.
        assert_eq!(w.store_person(owner, Relation::Child, "Lê Minh An", Some("001226000001"), now).await.unwrap(), child);
        assert_eq!(w.store_person(owner, Relation::Child, "Tên khác", Some("001226000001"), now).await.unwrap(), child);
        let d = w.create_dossier(&new_dossier(owner, agency, None)).await.unwrap();
        let (did, now2) = (d.id, now);
        let item = move |person: i64, key: &'static str, value: &serde_json::Value, source: Source| -> NewItem<'static> {
            NewItem {
                person_id: person,
                account_id: owner,
                item: key,
                value: Box::leak(Box::new(value.clone())),
                source,
                dossier_id: (source != Source::SelfDeclared).then_some(did),
                agency_id: (source != Source::SelfDeclared).then_some(agency),
                valid_until: None,
                now: now2,
            }
        };
        let v1 = json!("0912345678");
        let v2 = json!("0987654321");
        let born = json!("2026-11-20");
        let typed = json!("2026-11-21");
        assert!(w.put_item(&item(me, "phone", &v1, Source::SelfDeclared)).await.unwrap());
        assert!(w.put_item(&item(me, "phone", &v2, Source::Dossier)).await.unwrap(), "{backend}: verified replaces declared");
        assert!(w.put_item(&item(child, "birth_date", &born, Source::Result)).await.unwrap());
        assert!(!w.put_item(&item(child, "birth_date", &typed, Source::SelfDeclared)).await.unwrap(), "{backend}: never over a result");
        w.commit().await.unwrap();

        let mut r = db.read().await.unwrap();
        let people = r.list_people(owner).await.unwrap();
        assert_eq!(
            people.iter().map(|p| (p.relation, p.name.as_str())).collect::<Vec<_>>(),
            [(Relation::Own, "Lê Thị Hoa"), (Relation::Child, "Lê Minh An")]
        );
        assert_eq!(people[1].personal_id.as_deref(), Some("001226000001"));
        let items = r.list_items(owner).await.unwrap();
        let phone = items.iter().find(|i| i.item == "phone").unwrap();
        assert_eq!((phone.value.clone(), phone.source), (v2.clone(), Source::Dossier), "{backend}");
        assert_eq!(phone.agency_name.as_deref(), Some("UBND phường Ngọc Hà"), "{backend}: verified by whom");
        let bd = items.iter().find(|i| i.item == "birth_date").unwrap();
        assert_eq!((bd.value.clone(), bd.source), (born.clone(), Source::Result));
        assert!(r.list_items(other).await.unwrap().is_empty(), "{backend}: nobody else's");
        let of_child = r.list_person_items(owner, child).await.unwrap();
        assert_eq!(of_child.iter().map(|i| i.item.as_str()).collect::<Vec<_>>(), ["birth_date"], "{backend}");
        assert!(r.list_person_items(other, child).await.unwrap().is_empty(), "{backend}: the person is not theirs");
        drop(r);

        // Corrections only of self-declared values; deletion never of what a result states.
        let mut w = db.begin().await.unwrap();
        assert!(!w.correct_item(owner, phone.id, &json!("0900000000"), now).await.unwrap(), "{backend}: verified");
        let email = json!("hoa@example.vn");
        w.put_item(&item(me, "email", &email, Source::SelfDeclared)).await.unwrap();
        let email_id = w.list_items(owner).await.unwrap().into_iter().find(|i| i.item == "email").unwrap().id;
        assert!(!w.correct_item(other, email_id, &json!("x@example.vn"), now).await.unwrap(), "{backend}: not theirs");
        assert!(w.correct_item(owner, email_id, &json!("hoa.le@example.vn"), now).await.unwrap());
        assert!(!w.delete_item(owner, bd.id).await.unwrap(), "{backend}: a result's statement stays");
        assert!(!w.delete_item(other, email_id).await.unwrap());
        assert!(w.delete_item(owner, email_id).await.unwrap());
        w.commit().await.unwrap();

        // Documents: a file stored once; results cannot be deleted, uploads can.
        let mut w = db.begin().await.unwrap();
        let f = StoredFile {
            id: "f-store-1".into(),
            owner_id: owner,
            dossier_id: Some(d.id),
            field: "cert".into(),
            component: "giay-chung-sinh".into(),
            name: "giay-chung-sinh.pdf".into(),
            content_type: "application/pdf".into(),
            size: 10,
            sha256: "ab".repeat(32),
            storage_key: "k".into(),
            created_at: now,
            digitised: false,
        };
        w.insert_file(&f).await.unwrap();
        let doc = NewDocument {
            account_id: owner,
            person_id: Some(child),
            kind: "giay-chung-sinh",
            title: "Giấy chứng sinh",
            file_id: Some("f-store-1"),
            result_id: None,
            dossier_id: Some(d.id),
            agency_id: Some(agency),
            issued_at: now,
            valid_until: Some(day(2030, 1, 1)),
        };
        let id = w.add_document(&doc).await.unwrap();
        assert_eq!(w.add_document(&doc).await.unwrap(), id, "{backend}: stored once");
        w.commit().await.unwrap();
        let docs = db.read().await.unwrap().list_documents(owner).await.unwrap();
        assert_eq!(docs.len(), 1);
        let mut r = db.read().await.unwrap();
        assert_eq!(r.list_documents_of_kind(owner, "giay-chung-sinh").await.unwrap().len(), 1, "{backend}");
        assert!(r.list_documents_of_kind(owner, "result:1.001193").await.unwrap().is_empty(), "{backend}");
        drop(r);
        assert!(docs[0].valid_on(day(2029, 12, 31)) && !docs[0].valid_on(day(2030, 1, 2)), "{backend}");
        assert_eq!(docs[0].dossier_code, d.code, "{backend}");
        let mut w = db.begin().await.unwrap();
        assert!(!w.delete_document(other, id, now).await.unwrap());
        assert!(w.delete_document(owner, id, now).await.unwrap());
        w.commit().await.unwrap();
        assert!(db.read().await.unwrap().get_document(id).await.unwrap().is_none(), "{backend}");

        // Provenance of a dossier's answers, origin frozen at filing.
        let mut w = db.begin().await.unwrap();
        w.set_provenance(&[Provenance {
            dossier_id: d.id,
            field: "registrant_full_name".into(),
            item_id: None,
            document_id: None,
            value: Some(json!("Lê Minh An")),
            source: Source::Result,
            agency_name: Some("UBND phường Phúc Xá".into()),
            origin: None,
        }])
        .await
        .unwrap();
        w.freeze_origin(d.id, "registrant_full_name", Origin::Changed).await.unwrap();
        w.commit().await.unwrap();
        let p = db.read().await.unwrap().list_provenance(d.id).await.unwrap();
        assert_eq!((p[0].value.clone(), p[0].origin), (Some(json!("Lê Minh An")), Some(Origin::Changed)), "{backend}");
    }
}

#[tokio::test]
async fn consent_revisions_are_hash_chained_and_tampering_is_found() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let (owner, _) = citizen(&db, "001303012345").await;
        let today = Utc::now().date_naive();
        let mut r = db.read().await.unwrap();
        let prefill = r.data_agreement("prefill", today).await.unwrap().expect("the seeded agreement");
        assert!(prefill.items.iter().any(|i| i == "birth_date") && prefill.items.iter().any(|i| i == "documents"), "{backend}");
        assert!(r.data_agreement("prefill", day(2020, 1, 1)).await.unwrap().is_none(), "{backend}: not in force yet");
        assert!(r.data_agreement("no-such-purpose", today).await.unwrap().is_none());
        assert_eq!(r.list_data_agreements(today).await.unwrap().len(), 1);
        drop(r);
        let t0 = Utc::now();
        let mut w = db.begin().await.unwrap();
        let g = w.record_consent(owner, &prefill, ConsentState::Granted, "web", t0).await.unwrap();
        let x = w.record_consent(owner, &prefill, ConsentState::Revoked, "web", t0 + Duration::seconds(5)).await.unwrap();
        let g2 = w.record_consent(owner, &prefill, ConsentState::Granted, "web", t0 + Duration::seconds(9)).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!((g.revision, x.revision, g2.revision), (1, 2, 3), "{backend}");
        assert_eq!((x.prev_hash.as_str(), g2.prev_hash.as_str()), (g.hash.as_str(), x.hash.as_str()));
        assert!(g.in_force(t0) && !x.in_force(t0) && g.expires_at.unwrap() > t0 + Duration::days(365 * 4));
        let mut r = db.read().await.unwrap();
        assert_eq!(r.current_consent(owner, "prefill").await.unwrap().unwrap().revision, 3);
        let history = r.consent_history(owner).await.unwrap();
        assert_eq!(history.len(), 3);
        assert!(broken_consent(&history).is_none(), "{backend}: the chain verifies as read back");
        drop(r);
        // Someone rewrites the revocation as a grant in the database: found, and named.
        let mut w = db.begin().await.unwrap();
        w.tamper_for_tests("UPDATE consents SET state = 'granted' WHERE revision = 2").await.unwrap();
        w.commit().await.unwrap();
        let history = db.read().await.unwrap().consent_history(owner).await.unwrap();
        assert_eq!(broken_consent(&history).map(|r| r.revision), Some(2), "{backend}");
        // Removing a revision breaks the chain too.
        let mut w = db.begin().await.unwrap();
        w.tamper_for_tests("UPDATE consents SET state = 'revoked' WHERE revision = 2").await.unwrap();
        w.tamper_for_tests("DELETE FROM consents WHERE revision = 1").await.unwrap();
        w.commit().await.unwrap();
        let history = db.read().await.unwrap().consent_history(owner).await.unwrap();
        assert_eq!(broken_consent(&history).map(|r| r.revision), Some(2), "{backend}");
    }
}
