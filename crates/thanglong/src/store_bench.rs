//! `thanglong bench store-seed`: a citizen with a full data store — N people (themselves and
//! relatives), items for each, and documents with real bytes in the file store, some of them
//! birth extracts a residence registration reuses — and consent to pre-fill. For
//! bench/prefill.sh (opening a pre-filled form: issue #6's benchmark).

use anyhow::Context;
use chrono::Utc;
use serde_json::json;
use std::sync::Arc;
use tl_core::personal::{ConsentState, Relation, Source};
use tl_storage::store::{NewDocument, NewItem};
use tl_storage::{Database, NewAccount, NewDossier, StoredFile};

pub struct SeedOptions<'a> {
    pub login: &'a str,
    pub password: &'a str,
    pub people: usize,
    pub items: usize,
    pub documents: usize,
    pub consent: bool,
}

/// Prints `PERSON <id>` for the relative a residence registration is about (a child with a
/// birth extract) and `ITEMS n DOCUMENTS m`.
pub async fn seed(db: &Arc<dyn Database>, files: &tl_storage::blob::BlobStore, o: &SeedOptions<'_>) -> anyhow::Result<()> {
    let now = Utc::now();
    let hash = tl_web::security::hash_password_async(o.password).await?;
    let mut w = db.begin().await?;
    let account = w
        .create_account(
            &NewAccount {
                kind: tl_core::account::AccountKind::Citizen,
                login: o.login.into(),
                display_name: "Nguyễn Thị Kho".into(),
                email: Some("kho@example.vn".into()),
                phone: Some("0912345678".into()),
                password_hash: Some(hash),
                agency_id: None,
            },
            now,
        )
        .await
        .context("creating the citizen (does the login exist already?)")?;
    let agency = w.get_agency("H26.31").await?.context("the seed catalog must be imported first")?.id;
    // One accepted birth registration the documents and verified items come from.
    let d = w
        .create_dossier(&NewDossier {
            procedure_code: "1.001193".into(),
            version_no: 1,
            agency_id: agency,
            applicant_id: account.id,
            acted_by_id: account.id,
            channel: tl_core::catalog::Channel::Online,
            answers: json!({}),
            idempotency_key: None,
            now,
        })
        .await?;
    let keys: Vec<&str> = tl_core::personal::ITEMS.iter().map(|i| i.key).collect();
    let mut people = vec![w.store_self(account.id, "Nguyễn Thị Kho", now).await?];
    let relations = [Relation::Child, Relation::Mother, Relation::Father, Relation::Spouse, Relation::Other];
    for n in 1..o.people.max(1) {
        let r = relations[(n - 1) % relations.len()];
        people.push(w.store_person(account.id, r, &format!("Người thân số {n}"), Some(&format!("0012{n:08}")), now).await?);
    }
    let mut written = 0;
    'outer: for (pi, person) in people.iter().enumerate() {
        for (ki, key) in keys.iter().enumerate() {
            if written == o.items {
                break 'outer;
            }
            let value = match *key {
                "birth_date" => json!(format!("20{:02}-0{}-1{}", 10 + pi % 15, 1 + ki % 9, pi % 10)),
                "gender" => json!(if pi % 2 == 0 { "nu" } else { "nam" }),
                "residence" => json!({"province": "01", "commune": "00004", "street": format!("Số {pi} phố Đội Cấn")}),
                "phone" => json!("0912345678"),
                "email" => json!(format!("nguoi{pi}@example.vn")),
                "personal_id" => json!(format!("0012{pi:08}")),
                _ => json!(format!("{} của người số {pi}", key)),
            };
            let source = if ki % 3 == 0 { Source::SelfDeclared } else { Source::Result };
            w.put_item(&NewItem {
                person_id: *person,
                account_id: account.id,
                item: key,
                value: &value,
                source,
                dossier_id: (source != Source::SelfDeclared).then_some(d.id),
                agency_id: (source != Source::SelfDeclared).then_some(agency),
                valid_until: None,
                now,
            })
            .await?;
            written += 1;
        }
        // More items than the vocabulary holds per person: the next person.
    }
    // Documents: a ~30 KB PDF each; every fifth one a birth extract of a child.
    let pdf = {
        let mut b = b"%PDF-1.4\n% benchmark document\n".to_vec();
        b.resize(30 * 1024, b' ');
        b.extend_from_slice(b"\n%%EOF\n");
        b
    };
    let child = people.get(1).copied();
    for n in 0..o.documents {
        let id = tl_web::new_token("")[..24].to_owned();
        let (temp, mut file) = files.create_temp(&id).await?;
        tokio::io::AsyncWriteExt::write_all(&mut file, &pdf).await?;
        files.commit(file, &temp, &id).await?;
        let extract = n % 5 == 0;
        let component = if extract { "giay-chung-sinh" } else { "giay-to-khac" };
        w.insert_file(&StoredFile {
            id: id.clone(),
            owner_id: account.id,
            dossier_id: Some(d.id),
            field: "bench".into(),
            component: component.into(),
            name: format!("giay-to-{n}.pdf"),
            content_type: "application/pdf".into(),
            size: pdf.len() as i64,
            sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&pdf)),
            storage_key: id.clone(),
            created_at: now,
            digitised: false,
        })
        .await?;
        w.add_document(&NewDocument {
            account_id: account.id,
            person_id: if extract { child } else { None },
            kind: if extract { "result:1.001193" } else { component },
            title: if extract { "Trích lục khai sinh" } else { "Giấy tờ khác" },
            file_id: Some(&id),
            result_id: None,
            dossier_id: Some(d.id),
            agency_id: Some(agency),
            issued_at: now,
            valid_until: None,
        })
        .await?;
    }
    if o.consent {
        let a = w
            .data_agreement(tl_web::datastore::PREFILL, tl_core::time::to_local(now).date_naive())
            .await?
            .context("no prefill agreement")?;
        w.record_consent(account.id, &a, ConsentState::Granted, "bench", now).await?;
    }
    w.commit().await?;
    println!("PERSON {}", child.unwrap_or(people[0]));
    println!("ITEMS {written} DOCUMENTS {}", o.documents);
    Ok(())
}
