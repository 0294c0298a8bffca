//! The citizen's data store (Kho dữ liệu cá nhân) and consent to reuse it.
//!
//! - It fills itself: an accepted dossier's mapped answers and its uploaded components are
//!   stored (verified by the receiving agency); an issued result is stored as a document, and
//!   what it states replaces the same answers (the strongest source).
//! - A citizen who consented to the `prefill` agreement finds new forms pre-filled: mapped
//!   fields from the people of their store they pick, and upload fields whose component a stored
//!   document satisfies (a copy of it is attached, recorded as reused). Each value shows where it
//!   came from; the dossier records what was offered, and at filing whether it was kept,
//!   changed, or typed.
//! - `/account/data` shows everything with its provenance; self-declared values can be
//!   corrected; deletion is refused, with the reason, for what the law keeps.
//! - `/account/consents` shows each agreement, the decision history (hash-chained), and grants
//!   or revokes at once.

use crate::auth::audit;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::web::{render_status, see_other, CsrfForm, Visitor};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use tl_core::account::AccountKind;
use tl_core::form::{FieldKind, FormDef};
use tl_core::personal::{self, ConsentState, DataRef, Origin, Relation, Source};
use tl_storage::store::{NewDocument, NewItem, Provenance, StoreDocument, StoreItem, StorePerson};
use tl_storage::{Account, Dossier, IssuedResult, ProcedureDetail, Repo, StoredFile};

/// The agreement that covers pre-filling forms.
pub const PREFILL: &str = "prefill";

/// What the start form posts for "myself" (`person.<role>=self`).
const SELF_PICK: i64 = 0;

fn today() -> chrono::NaiveDate {
    crate::portal::today()
}

/// The store's owner as a person of the store, created the first time with what the account
/// already holds (as declared by its holder).
pub async fn ensure_self(w: &mut dyn Repo, a: &Account, now: DateTime<Utc>) -> AppResult<i64> {
    if let Some(p) = w.list_people(a.id).await?.into_iter().find(|p| p.relation == Relation::Own) {
        return Ok(p.id);
    }
    let id = w.store_self(a.id, &a.display_name, now).await?;
    let mut seed: Vec<(&str, Value)> = vec![("full_name", json!(a.display_name))];
    if a.kind == AccountKind::Citizen {
        seed.push(("personal_id", json!(a.login)));
    }
    if let Some(e) = &a.email {
        seed.push(("email", json!(e)));
    }
    if let Some(p) = &a.phone {
        seed.push(("phone", json!(p)));
    }
    for (item, value) in &seed {
        w.put_item(&NewItem {
            person_id: id,
            account_id: a.id,
            item,
            value,
            source: Source::SelfDeclared,
            dossier_id: None,
            agency_id: None,
            valid_until: None,
            now,
        })
        .await?;
    }
    Ok(id)
}

fn text_answer<'a>(form: &FormDef, answers: &'a Value, role: &str, item: &str) -> Option<&'a str> {
    let f = form.fields().find(|f| f.data.as_deref().and_then(DataRef::parse).is_some_and(|r| r.role == role && r.item == item))?;
    answers.get(&f.key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// Which person of the applicant's store each role of an accepted dossier is: the applicant
/// (their own number), a person already there (by number, then by name), or — for a role that
/// adds people (the child of a birth registration) or a parent — a new member.
async fn role_people(
    w: &mut dyn Repo,
    applicant: &Account,
    form: &FormDef,
    answers: &Value,
    now: DateTime<Utc>,
) -> AppResult<HashMap<String, i64>> {
    let me = ensure_self(w, applicant, now).await?;
    let people = w.list_people(applicant.id).await?;
    let mut out = HashMap::from([("self".to_owned(), me)]);
    for role in &form.persons {
        let Some(name) = text_answer(form, answers, &role.key, "full_name") else { continue };
        let pid = text_answer(form, answers, &role.key, "personal_id");
        let person = if pid.is_some_and(|p| p == applicant.login) {
            me
        } else if let Some(p) = pid.and_then(|pid| people.iter().find(|p| p.personal_id.as_deref() == Some(pid))) {
            p.id
        } else if let Some(p) = people.iter().find(|p| p.name == name && role.adds.is_none_or(|r| r == p.relation)) {
            p.id
        } else {
            let relation = role.adds.or_else(|| Relation::parse(&role.key)).unwrap_or(Relation::Other);
            w.store_person(applicant.id, relation, name, pid, now).await?
        };
        out.insert(role.key.clone(), person);
    }
    Ok(out)
}

/// Stores the mapped answers of `d` with `source` (top-level fields only: a group's rows have
/// no single person).
async fn store_answers(
    w: &mut dyn Repo,
    applicant: &Account,
    d: &Dossier,
    form: &FormDef,
    only: Option<&[String]>,
    source: Source,
    now: DateTime<Utc>,
) -> AppResult<HashMap<String, i64>> {
    let roles = role_people(w, applicant, form, &d.answers, now).await?;
    let top: Vec<_> = form.steps.iter().flat_map(|s| s.fields.iter()).collect();
    for f in top {
        let Some(r) = f.data.as_deref().and_then(DataRef::parse) else { continue };
        if only.is_some_and(|keys| !keys.contains(&f.key)) {
            continue;
        }
        let (Some(person), Some(value)) = (roles.get(r.role), d.answers.get(&f.key)) else { continue };
        if value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty()) {
            continue;
        }
        w.put_item(&NewItem {
            person_id: *person,
            account_id: applicant.id,
            item: r.item,
            value,
            source,
            dossier_id: Some(d.id),
            agency_id: Some(d.agency_id),
            valid_until: None,
            now,
        })
        .await?;
    }
    Ok(roles)
}

/// Called in the transaction that accepts a dossier: its mapped answers and uploaded
/// components go to the applicant's store, verified by the receiving agency.
pub async fn offer_accepted(w: &mut dyn Repo, proc: &ProcedureDetail, d: &Dossier, now: DateTime<Utc>) -> AppResult<()> {
    let Some(form) = proc.version.form.as_ref() else { return Ok(()) };
    let Some(applicant) = w.get_account(d.applicant_id).await? else { return Ok(()) };
    if applicant.kind == AccountKind::Officer {
        return Ok(());
    }
    store_answers(w, &applicant, d, form, None, Source::Dossier, now).await?;
    for f in w.list_dossier_files(d.id).await? {
        let title = proc.version.components.iter().find(|c| c.key == f.component).map_or_else(|| f.name.clone(), |c| c.name.vi.clone());
        w.add_document(&NewDocument {
            account_id: applicant.id,
            person_id: None,
            kind: &f.component,
            title: &title,
            file_id: Some(&f.id),
            result_id: None,
            dossier_id: Some(d.id),
            agency_id: Some(d.agency_id),
            issued_at: now,
            valid_until: None,
        })
        .await?;
    }
    Ok(())
}

/// Called in the transaction that issues a result: the result is stored as a document of the
/// person it is about, and the answers it states become the strongest source.
pub async fn offer_result(w: &mut dyn Repo, proc: &ProcedureDetail, d: &Dossier, r: &IssuedResult, now: DateTime<Utc>) -> AppResult<()> {
    if r.kind != "result" {
        return Ok(());
    }
    let Some(applicant) = w.get_account(d.applicant_id).await? else { return Ok(()) };
    if applicant.kind == AccountKind::Officer {
        return Ok(());
    }
    let (roles, subject) = match proc.version.form.as_ref() {
        Some(form) => {
            let stated: Option<Vec<String>> =
                proc.version.result_template.as_ref().map(|t| t.fields.iter().map(|f| f.answer.clone()).collect());
            let roles = match stated {
                Some(keys) => store_answers(w, &applicant, d, form, Some(&keys), Source::Result, now).await?,
                None => role_people(w, &applicant, form, &d.answers, now).await?,
            };
            let subject = form.persons.iter().find(|p| p.adds.is_some()).and_then(|p| roles.get(&p.key)).copied();
            (roles, subject)
        }
        None => (HashMap::new(), None),
    };
    let title = proc.version.result_template.as_ref().map_or_else(|| proc.version.result.vi.clone(), |t| t.title.vi.clone());
    w.add_document(&NewDocument {
        account_id: applicant.id,
        person_id: subject.or_else(|| roles.get("self").copied()),
        kind: &format!("result:{}", d.procedure_code),
        title: &title,
        file_id: None,
        result_id: Some(&r.id),
        dossier_id: Some(d.id),
        agency_id: Some(d.agency_id),
        issued_at: now,
        valid_until: None,
    })
    .await?;
    Ok(())
}

/// Whether the account's consent to pre-filling is in force.
pub async fn prefill_consented(w: &mut dyn Repo, account_id: i64, now: DateTime<Utc>) -> AppResult<bool> {
    Ok(w.current_consent(account_id, PREFILL).await?.is_some_and(|c| c.in_force(now)))
}

fn source_note(source: Source, agency: Option<&str>, code: Option<&str>, lang: Lang) -> String {
    let en = lang == Lang::En;
    match (source, agency) {
        (Source::SelfDeclared, _) if en => "declared by you".into(),
        (Source::SelfDeclared, _) => "do bạn tự khai".into(),
        (Source::Result, Some(a)) if en => {
            format!("stated on a result issued by {a}{}", code.map(|c| format!(" (dossier {c})")).unwrap_or_default())
        }
        (Source::Result, Some(a)) => format!("ghi trên kết quả do {a} cấp{}", code.map(|c| format!(" (hồ sơ {c})")).unwrap_or_default()),
        (_, Some(a)) if en => format!("verified by {a}{}", code.map(|c| format!(" (dossier {c})")).unwrap_or_default()),
        (_, Some(a)) => format!("đã được {a} xác minh{}", code.map(|c| format!(" (hồ sơ {c})")).unwrap_or_default()),
        (_, None) if en => "verified by an agency".into(),
        (_, None) => "đã được cơ quan nhà nước xác minh".into(),
    }
}

/// What a new draft will be pre-filled with, worked out on a read connection before the write
/// transaction opens (on SQLite the writer is one: it must not wait on reads).
pub struct PrefillPlan {
    values: Vec<(String, Value, Provenance)>,
    documents: Vec<(String, String, StoreDocument)>,
}

/// The pre-fill of a new draft of `form` for `applicant`, when they consented: mapped fields
/// from the people picked for the form's roles (`self` is the applicant), and upload fields
/// from stored documents that satisfy them. A pick of someone else's person is refused.
pub async fn plan_prefill(
    st: &AppState,
    applicant: &Account,
    form: &FormDef,
    picks: &HashMap<String, i64>,
    now: DateTime<Utc>,
) -> AppResult<Option<PrefillPlan>> {
    let mut r = st.db.read().await?;
    if !prefill_consented(&mut *r, applicant.id, now).await? {
        return Ok(None);
    }
    let mut people = r.list_people(applicant.id).await?;
    if !people.iter().any(|p| p.relation == Relation::Own) {
        // The first time: the store gets its owner (from what the account holds).
        drop(r);
        let mut w = st.db.begin().await?;
        ensure_self(&mut *w, applicant, now).await?;
        w.commit().await?;
        r = st.db.read().await?;
        people = r.list_people(applicant.id).await?;
    }
    let me = people.iter().find(|p| p.relation == Relation::Own).map(|p| p.id).ok_or(AppError::NotFound)?;
    let mut roles: HashMap<&str, i64> = HashMap::from([("self", me)]);
    for (role, person) in picks {
        // 0 is the applicant themselves (the store may not have its owner yet when the page shows).
        let person = if *person == SELF_PICK { me } else { *person };
        if !people.iter().any(|p| p.id == person) || !form.persons.iter().any(|r| &r.key == role) {
            return Err(forged_pick());
        }
        roles.insert(role.as_str(), person);
    }
    // Only what the form can use: the picked people's items, the document kinds it reuses.
    let mut items = vec![];
    let mut wanted: Vec<i64> = roles.values().copied().collect();
    wanted.sort_unstable();
    wanted.dedup();
    for person in wanted {
        items.extend(r.list_person_items(applicant.id, person).await?);
    }
    let mut kinds: Vec<&String> =
        form.fields().filter_map(|f| if let FieldKind::File { reuse, .. } = &f.kind { Some(reuse) } else { None }).flatten().collect();
    kinds.sort_unstable();
    kinds.dedup();
    let mut docs = vec![];
    for kind in kinds {
        docs.extend(r.list_documents_of_kind(applicant.id, kind).await?);
    }
    drop(r);
    let mut plan = PrefillPlan { values: vec![], documents: vec![] };
    for f in form.steps.iter().flat_map(|s| s.fields.iter()) {
        if let Some(dr) = f.data.as_deref().and_then(DataRef::parse) {
            let Some(person) = roles.get(dr.role) else { continue };
            let Some(item) = items.iter().find(|i| i.person_id == *person && i.item == dr.item) else { continue };
            let row = Provenance {
                dossier_id: 0,
                field: f.key.clone(),
                item_id: Some(item.id),
                document_id: None,
                value: Some(item.value.clone()),
                source: item.source,
                agency_name: item.agency_name.clone(),
                origin: None,
            };
            plan.values.push((f.key.clone(), item.value.clone(), row));
        }
        if let FieldKind::File { reuse, component, .. } = &f.kind {
            // Decree 118/2025: a document held electronically is not asked for again.
            let usable: Vec<&StoreDocument> = docs.iter().filter(|x| reuse.iter().any(|k| k == &x.kind) && x.valid_on(today())).collect();
            // The document about a person this form is about, if there is one; else the newest.
            let about: Vec<i64> = roles.values().copied().collect();
            let Some(doc) = usable.iter().find(|x| x.person_id.is_some_and(|p| about.contains(&p) && p != me)).or(usable.first()) else {
                continue;
            };
            plan.documents.push((f.key.clone(), component.clone(), (*doc).clone()));
        }
    }
    Ok((!plan.values.is_empty() || !plan.documents.is_empty()).then_some(plan))
}

/// Writes a planned pre-fill into the draft just created, in its transaction; returns the answers.
pub async fn apply_prefill(w: &mut dyn Repo, plan: PrefillPlan, applicant: &Account, d: &Dossier, now: DateTime<Utc>) -> AppResult<Value> {
    let mut answers: Map<String, Value> = d.answers.as_object().cloned().unwrap_or_default();
    let mut rows = vec![];
    for (key, value, mut row) in plan.values {
        answers.insert(key, value);
        row.dossier_id = d.id;
        rows.push(row);
    }
    for (key, component, doc) in plan.documents {
        let file = attach_document(w, applicant, d, &key, &component, &doc, now).await?;
        answers.insert(key.clone(), json!([file.id]));
        rows.push(Provenance {
            dossier_id: d.id,
            field: key,
            item_id: None,
            document_id: Some(doc.id),
            value: Some(json!([file.id])),
            source: if doc.is_result() { Source::Result } else { Source::Dossier },
            agency_name: doc.agency_name.clone(),
            origin: None,
        });
    }
    w.set_provenance(&rows).await?;
    Ok(Value::Object(answers))
}

/// The stored documents a file field of the step could reuse (consent in force, the applicant
/// filing their own dossier), listed beside the upload button.
pub async fn offer_reuse(st: &AppState, d: &Dossier, step: &mut Value, lang: Lang) -> AppResult<()> {
    if d.acted_by_id != d.applicant_id {
        return Ok(());
    }
    let wanted: Vec<(usize, Vec<String>)> = step["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, f)| f["kind"] == "file")
        .filter_map(|(i, f)| {
            let kinds: Vec<String> = f["spec"]["reuse"].as_array()?.iter().filter_map(|k| k.as_str().map(str::to_owned)).collect();
            (!kinds.is_empty()).then_some((i, kinds))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let mut r = st.db.read().await?;
    if !prefill_consented(&mut *r, d.applicant_id, Utc::now()).await? {
        return Ok(());
    }
    let docs = r.list_documents(d.applicant_id).await?;
    drop(r);
    for (i, kinds) in wanted {
        let offers: Vec<Value> = docs
            .iter()
            .filter(|x| kinds.contains(&x.kind) && x.valid_on(today()))
            .map(|x| json!({"id": x.id, "title": x.title, "issued": tl_core::fmt::datetime(x.issued_at),
                "from": source_note(if x.is_result() { Source::Result } else { Source::Dossier }, x.agency_name.as_deref(), x.dossier_code.as_deref(), lang)}))
            .collect();
        if !offers.is_empty() {
            step["fields"][i]["reusable"] = Value::Array(offers);
        }
    }
    Ok(())
}

/// Handles `reuse:<field>:<document id>` on a step: the document must be the applicant's own,
/// of a kind the field accepts, valid, and pre-filling consented; anything else (a forged
/// reference) is refused and audited.
#[allow(clippy::too_many_arguments)]
pub async fn reuse(
    w: &mut dyn Repo,
    applicant: &Account,
    d: &Dossier,
    form: &FormDef,
    rest: &str,
    answers: &mut Value,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let parsed = rest.rsplit_once(':').and_then(|(field, id)| Some((field, id.parse::<i64>().ok()?)));
    let field = parsed.and_then(|(key, _)| form.fields().find(|f| f.key == key));
    let doc = match parsed {
        Some((_, id)) => w.get_document(id).await?,
        None => None,
    };
    let accepted = match (field, &doc) {
        (Some(f), Some(x)) => match &f.kind {
            FieldKind::File { reuse, component, max_files, .. } => {
                let held = answers.get(&f.key).and_then(Value::as_array).map_or(0, Vec::len);
                (x.account_id == applicant.id
                    && reuse.contains(&x.kind)
                    && x.valid_on(today())
                    && held < *max_files as usize
                    && d.acted_by_id == applicant.id)
                    .then(|| (f.key.clone(), component.clone()))
            }
            _ => None,
        },
        _ => None,
    };
    let Some((key, component)) = accepted else {
        // The caller logs it (this transaction is rolled back).
        return Err(AppError::invalid(
            "bad_reuse",
            "Không dùng được giấy tờ này cho mục này (không có trong Kho dữ liệu của bạn, không đúng loại hoặc đã hết hiệu lực).",
            "This document cannot be used here (it is not in your data store, not of the right kind, or no longer valid).",
        ));
    };
    if !prefill_consented(w, applicant.id, now).await? {
        return Err(AppError::invalid(
            "consent_required",
            "Hãy cho phép dùng Kho dữ liệu (mục Sự đồng ý sử dụng dữ liệu) trước khi dùng lại giấy tờ.",
            "Allow the use of your data store (Consent to use your data) before reusing a document.",
        ));
    }
    let x = doc.expect("checked above");
    let file = attach_document(w, applicant, d, &key, &component, &x, now).await?;
    let list = answers.as_object_mut().expect("answers are an object").entry(key.clone()).or_insert_with(|| json!([]));
    match list.as_array_mut() {
        Some(a) => a.push(json!(file.id)),
        None => *list = json!([file.id]),
    }
    w.set_provenance(&[Provenance {
        dossier_id: d.id,
        field: key,
        item_id: None,
        document_id: Some(x.id),
        value: Some(json!([file.id])),
        source: if x.is_result() { Source::Result } else { Source::Dossier },
        agency_name: x.agency_name.clone(),
        origin: None,
    }])
    .await?;
    Ok(())
}

fn forged_pick() -> AppError {
    AppError::invalid(
        "unknown_person",
        "Người được chọn để điền sẵn không có trong Kho dữ liệu của bạn.",
        "The person chosen for pre-filling is not in your data store.",
    )
}

/// Attaches a stored document to a draft: a file row of the draft's own that points at the
/// stored original's bytes (no copy; removing it from the draft never touches the original —
/// see [`StoredFile::owns_blob`]).
async fn attach_document(
    w: &mut dyn Repo,
    applicant: &Account,
    d: &Dossier,
    field: &str,
    component: &str,
    doc: &StoreDocument,
    now: DateTime<Utc>,
) -> AppResult<StoredFile> {
    let (storage_key, name, content_type, size, sha256) = match (&doc.result_id, &doc.file_id) {
        (Some(rid), _) => {
            let r = w.get_result(rid).await?.filter(|r| r.revoked_at.is_none()).ok_or(AppError::NotFound)?;
            (r.storage_key, format!("{}.pdf", doc.title), "application/pdf".to_owned(), r.size, r.sha256)
        }
        (None, Some(fid)) => {
            let f = w.get_file(fid).await?.ok_or(AppError::NotFound)?;
            (f.storage_key, f.name, f.content_type, f.size, f.sha256)
        }
        (None, None) => return Err(AppError::NotFound),
    };
    let f = StoredFile {
        id: crate::security::new_token("")[..24].to_owned(),
        owner_id: applicant.id,
        dossier_id: Some(d.id),
        field: field.to_owned(),
        component: component.to_owned(),
        name,
        content_type,
        size,
        sha256,
        storage_key,
        created_at: now,
        digitised: false,
    };
    w.insert_file(&f).await?;
    Ok(f)
}

/// Freezes, at filing, how each pre-filled answer ended up: kept, changed, or removed.
pub async fn freeze_origins(st: &AppState, d: &Dossier) -> AppResult<()> {
    let rows = st.db.read().await?.list_provenance(d.id).await?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut w = st.db.begin().await?;
    for p in rows {
        let origin = Origin::of(p.value.as_ref(), d.answers.get(&p.field)).unwrap_or(Origin::Changed);
        w.freeze_origin(d.id, &p.field, origin).await?;
    }
    w.commit().await?;
    Ok(())
}

/// For the form and dossier pages: each field's provenance note, by field key.
pub async fn notes(st: &AppState, d: &Dossier, lang: Lang) -> AppResult<HashMap<String, Value>> {
    let rows = st.db.read().await?.list_provenance(d.id).await?;
    let mut out = HashMap::new();
    for p in rows {
        let origin = p.origin.or_else(|| Origin::of(p.value.as_ref(), d.answers.get(&p.field)));
        let from = source_note(p.source, p.agency_name.as_deref(), None, lang);
        let note = match (p.document_id.is_some(), lang == Lang::En) {
            (true, true) => format!("Reused from the data store: {from}"),
            (true, false) => format!("Dùng lại giấy tờ trong Kho dữ liệu: {from}"),
            (false, true) => format!("Pre-filled from the data store: {from}"),
            (false, false) => format!("Điền sẵn từ Kho dữ liệu: {from}"),
        };
        out.insert(
            p.field.clone(),
            json!({"note": note, "origin": origin.map(|o| o.as_str()), "origin_label": origin.map(|o| o.label(lang.code())),
                   "verified": p.source.verified(), "reused": p.document_id.is_some()}),
        );
    }
    Ok(out)
}

/// What the procedure page offers before a draft starts: the people of the store to pre-fill
/// each role from, and whether consent is still to be asked.
pub async fn start_options(st: &AppState, me: &Account, form: &FormDef, lang: Lang) -> AppResult<Value> {
    let has_mapping = form.fields().any(|f| f.data.is_some() || matches!(&f.kind, FieldKind::File { reuse, .. } if !reuse.is_empty()));
    if !has_mapping || me.kind == AccountKind::Officer {
        return Ok(Value::Null);
    }
    let mut r = st.db.read().await?;
    let consented = prefill_consented(&mut *r, me.id, Utc::now()).await?;
    let people = r.list_people(me.id).await?;
    drop(r);
    let l = lang.code();
    let only_one = form.persons.iter().filter(|p| p.adds.is_none()).count() == 1;
    let roles: Vec<Value> = form
        .persons
        .iter()
        .filter(|p| p.adds.is_none())
        .map(|p| {
            // The applicant first (always there, even before the store has its owner), then the others.
            let mut choices =
                vec![json!({"id": "self", "name": me.display_name, "relation": Relation::Own.label(l), "selected": only_one})];
            choices.extend(
                people
                    .iter()
                    .filter(|x| x.relation != Relation::Own)
                    .map(|x| json!({"id": x.id, "name": x.name, "relation": x.relation.label(l), "selected": false})),
            );
            json!({"key": p.key, "label": p.label.get(l), "people": choices})
        })
        .collect();
    Ok(json!({"consented": consented, "roles": roles}))
}

// ---------------------------------------------------------------------------------------------
// Pages

fn item_label(key: &str, lang: Lang) -> String {
    personal::item_kind(key).map_or_else(|| key.to_owned(), |k| if lang == Lang::En { k.en } else { k.vi }.to_owned())
}

/// An item's value as a person reads it.
fn display(item: &StoreItem, lang: Lang) -> String {
    match (&item.value, item.item.as_str()) {
        (Value::String(s), "birth_date") => {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map(tl_core::fmt::date).unwrap_or_else(|_| s.clone())
        }
        (Value::String(s), "gender") => match (s.as_str(), lang == Lang::En) {
            ("nam", false) => "Nam".into(),
            ("nu", false) => "Nữ".into(),
            ("nam", true) => "Male".into(),
            ("nu", true) => "Female".into(),
            _ => s.clone(),
        },
        (Value::String(s), _) => s.clone(),
        (Value::Object(o), _) => {
            let street = o.get("street").and_then(Value::as_str).unwrap_or("");
            let commune = o.get("commune").and_then(Value::as_str).unwrap_or("");
            format!("{street} ({commune})").trim().to_owned()
        }
        (other, _) => other.to_string(),
    }
}

#[derive(Deserialize)]
pub struct DataQuery {
    done: Option<String>,
}

/// GET /account/data — everything the store holds, with where each value came from.
pub async fn page(State(st): State<AppState>, v: Visitor, Query(q): Query<DataQuery>) -> AppResult<Response> {
    let Some(me) = v.account.clone() else { return Ok(see_other("/signin?next=%2Faccount%2Fdata")) };
    let done = q.done.as_deref().filter(|d| ["added", "corrected", "deleted"].contains(d));
    data_view(&st, &v, &me, done, None, StatusCode::OK).await
}

async fn data_view(
    st: &AppState,
    v: &Visitor,
    me: &Account,
    done: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    if me.kind == AccountKind::Officer {
        return Err(AppError::Forbidden);
    }
    let mut w = st.db.begin().await?;
    ensure_self(&mut *w, me, Utc::now()).await?;
    w.commit().await?;
    let mut r = st.db.read().await?;
    let people: Vec<StorePerson> = r.list_people(me.id).await?;
    let items = r.list_items(me.id).await?;
    let docs = r.list_documents(me.id).await?;
    let consented = prefill_consented(&mut *r, me.id, Utc::now()).await?;
    drop(r);
    let l = v.lang;
    let people: Vec<Value> = people
        .iter()
        .map(|p| {
            let rows: Vec<Value> = items
                .iter()
                .filter(|i| i.person_id == p.id)
                .map(|i| {
                    let refused = personal::deletion_refused(i.source, false);
                    json!({
                        "id": i.id, "item": i.item, "label": item_label(&i.item, l), "value": display(i, l),
                        "raw": i.value.as_str(), "editable": i.source == Source::SelfDeclared && i.value.is_string() && i.item != "birth_date",
                        "verified": i.source.verified(),
                        "source": source_note(i.source, i.agency_name.as_deref(), i.dossier_code.as_deref(), l),
                        "updated": tl_core::fmt::datetime(i.updated_at),
                        "keep_reason": refused.map(|(vi, en)| if l == Lang::En { en } else { vi }),
                    })
                })
                .collect();
            json!({"id": p.id, "name": p.name, "relation": p.relation.label(l.code()), "own": p.relation == Relation::Own, "items": rows})
        })
        .collect();
    let docs: Vec<Value> = docs
        .iter()
        .map(|x| {
            let refused = personal::deletion_refused(if x.is_result() { Source::Result } else { Source::Dossier }, x.is_result());
            json!({
                "id": x.id, "title": x.title, "result": x.is_result(),
                "href": x.result_id.as_ref().map(|r| format!("/results/{r}.pdf")).or_else(|| x.file_id.as_ref().map(|f| format!("/files/{f}"))),
                "source": source_note(if x.is_result() { Source::Result } else { Source::Dossier }, x.agency_name.as_deref(), x.dossier_code.as_deref(), l),
                "issued": tl_core::fmt::datetime(x.issued_at),
                "valid_until": x.valid_until.map(tl_core::fmt::date),
                "expired": !x.valid_on(today()),
                "keep_reason": refused.map(|(vi, en)| if l == Lang::En { en } else { vi }),
            })
        })
        .collect();
    let kinds: Vec<Value> = personal::ITEMS
        .iter()
        .filter(|k| !["birth_date", "residence", "gender"].contains(&k.key))
        .map(|k| json!({"key": k.key, "label": if l == Lang::En { k.en } else { k.vi }}))
        .collect();
    let ctx = minijinja::context! { people, docs, kinds, done, error, consented };
    render_status(st, v, "data_store.html", ctx, status)
}

#[derive(Deserialize)]
pub struct ItemForm {
    item: Option<String>,
    value: Option<String>,
}

fn clean_value(item: &str, value: Option<&str>) -> Result<String, (&'static str, &'static str)> {
    let v = value.unwrap_or("").trim();
    if v.is_empty() || v.chars().count() > 300 {
        return Err(("Vui lòng nhập giá trị (tối đa 300 ký tự).", "Enter a value (at most 300 characters)."));
    }
    let ok = match item {
        "email" => tl_core::contact::valid_email(v),
        "phone" => tl_core::contact::valid_phone(v),
        "personal_id" => v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()),
        _ => true,
    };
    if !ok {
        return Err(("Giá trị không đúng định dạng của mục này.", "The value does not have this item's format."));
    }
    Ok(v.to_owned())
}

/// POST /account/data/items — declares a value about oneself.
pub async fn add_item(State(st): State<AppState>, v: Visitor, CsrfForm(f): CsrfForm<ItemForm>) -> AppResult<Response> {
    let me = v.require_account()?.clone();
    let item = f.item.as_deref().unwrap_or("");
    if personal::item_kind(item).is_none() || ["birth_date", "residence", "gender"].contains(&item) {
        return Err(AppError::invalid("unknown_item", "Mục dữ liệu không hợp lệ.", "Unknown data item."));
    }
    let value = match clean_value(item, f.value.as_deref()) {
        Ok(v) => v,
        Err((vi, en)) => {
            return data_view(&st, &v, &me, None, Some(if v.lang == Lang::En { en } else { vi }.into()), StatusCode::BAD_REQUEST).await
        }
    };
    let now = Utc::now();
    let mut w = st.db.begin().await?;
    let person = ensure_self(&mut *w, &me, now).await?;
    let value = json!(value);
    let written = w
        .put_item(&NewItem {
            person_id: person,
            account_id: me.id,
            item,
            value: &value,
            source: Source::SelfDeclared,
            dossier_id: None,
            agency_id: None,
            valid_until: None,
            now,
        })
        .await?;
    if !written {
        let (vi, en) = (
            "Mục này đã được cơ quan nhà nước xác minh; muốn thay đổi, hãy làm thủ tục tương ứng.",
            "An agency verified this item; to change it, file the matching procedure.",
        );
        return data_view(&st, &v, &me, None, Some(if v.lang == Lang::En { en } else { vi }.into()), StatusCode::CONFLICT).await;
    }
    w.append_audit(&audit(&v, None, "store.item_declared", "account", &me.id.to_string(), json!({"item": item}))).await?;
    w.commit().await?;
    Ok(see_other("/account/data?done=added"))
}

async fn own_item(st: &AppState, me: &Account, id: &str) -> AppResult<StoreItem> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    st.db.read().await?.get_item(id).await?.filter(|i| i.account_id == me.id).ok_or(AppError::NotFound)
}

/// POST /account/data/items/{id} — corrects a self-declared value.
pub async fn correct_item(
    State(st): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<ItemForm>,
) -> AppResult<Response> {
    let me = v.require_account()?.clone();
    let item = own_item(&st, &me, &id).await?;
    if item.source != Source::SelfDeclared {
        return Err(AppError::invalid(
            "verified_item",
            "Thông tin đã được cơ quan nhà nước xác minh không sửa ở đây được; hãy làm thủ tục thay đổi tương ứng.",
            "Information an agency verified cannot be changed here; file the matching procedure.",
        ));
    }
    let value = match clean_value(&item.item, f.value.as_deref()) {
        Ok(v) => v,
        Err((vi, en)) => {
            return data_view(&st, &v, &me, None, Some(if v.lang == Lang::En { en } else { vi }.into()), StatusCode::BAD_REQUEST).await
        }
    };
    let mut w = st.db.begin().await?;
    if !w.correct_item(me.id, item.id, &json!(value), Utc::now()).await? {
        return Err(AppError::NotFound);
    }
    w.append_audit(&audit(&v, None, "store.item_corrected", "account", &me.id.to_string(), json!({"item": item.item}))).await?;
    w.commit().await?;
    Ok(see_other("/account/data?done=corrected"))
}

#[derive(Deserialize)]
pub struct Empty {}

/// POST /account/data/items/{id}/delete — refused, with the reason, for what a result states.
pub async fn delete_item(
    State(st): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    let me = v.require_account()?.clone();
    let item = own_item(&st, &me, &id).await?;
    if let Some((vi, en)) = personal::deletion_refused(item.source, false) {
        return Err(AppError::invalid("kept_by_law", vi, en));
    }
    let mut w = st.db.begin().await?;
    w.delete_item(me.id, item.id).await?;
    w.append_audit(&audit(&v, None, "store.item_deleted", "account", &me.id.to_string(), json!({"item": item.item}))).await?;
    w.commit().await?;
    Ok(see_other("/account/data?done=deleted"))
}

/// POST /account/data/documents/{id}/delete — an upload can go; an issued result cannot.
pub async fn delete_document(
    State(st): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    let me = v.require_account()?.clone();
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let doc = st.db.read().await?.get_document(id).await?.filter(|x| x.account_id == me.id).ok_or(AppError::NotFound)?;
    if let Some((vi, en)) = personal::deletion_refused(Source::Dossier, doc.is_result()) {
        return Err(AppError::invalid("kept_by_law", vi, en));
    }
    let mut w = st.db.begin().await?;
    w.delete_document(me.id, id, Utc::now()).await?;
    w.append_audit(&audit(&v, None, "store.document_deleted", "account", &me.id.to_string(), json!({"document": id, "kind": doc.kind})))
        .await?;
    w.commit().await?;
    Ok(see_other("/account/data?done=deleted"))
}

/// GET /account/consents — each agreement, its decision now and the whole history.
pub async fn consents(State(st): State<AppState>, v: Visitor, Query(q): Query<DataQuery>) -> AppResult<Response> {
    let Some(me) = v.account.clone() else { return Ok(see_other("/signin?next=%2Faccount%2Fconsents")) };
    if me.kind == AccountKind::Officer {
        return Err(AppError::Forbidden);
    }
    let mut r = st.db.read().await?;
    let agreements = r.list_data_agreements(today()).await?;
    let history = r.consent_history(me.id).await?;
    drop(r);
    let now = Utc::now();
    let l = v.lang;
    let en = l == Lang::En;
    let broken = tl_storage::store::broken_consent(&history);
    if let Some(b) = broken {
        tracing::error!(
            account = me.id,
            consent = b.id,
            revision = b.revision,
            "consent chain broken: a revision does not follow from its predecessor"
        );
    }
    let intact = broken.is_none();
    let list: Vec<Value> = agreements
        .iter()
        .map(|a| {
            let mine: Vec<&tl_storage::store::ConsentRecord> = history.iter().filter(|h| h.agreement_id == a.id).collect();
            let current = mine.last();
            json!({
                "id": a.id, "version": a.version,
                "name": if en { &a.name_en } else { &a.name_vi }, "purpose": if en { &a.purpose_en } else { &a.purpose_vi },
                "controller": a.controller, "basis": a.lawful_basis.label(l.code()), "months": a.months,
                "items": a.items.iter().map(|i| if i == "documents" { if en { "documents (results, accepted uploads)".to_owned() } else { "giấy tờ (kết quả, giấy tờ đã nộp được tiếp nhận)".to_owned() } } else { item_label(i, l) }).collect::<Vec<_>>(),
                "in_force": current.is_some_and(|c| c.in_force(now)),
                "state": current.map(|c| c.state.as_str()),
                "expires": current.and_then(|c| c.expires_at).map(tl_core::fmt::datetime),
                "history": mine.iter().rev().map(|h| json!({"revision": h.revision, "state": h.state.as_str(), "at": tl_core::fmt::datetime(h.at),
                    "version": h.agreement_version, "hash": &h.hash[..12]})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let done = q.done.as_deref().filter(|d| ["granted", "revoked", "refused"].contains(d));
    render_status(&st, &v, "consents.html", minijinja::context! { agreements => list, done, intact }, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct ConsentForm {
    decision: Option<String>,
    next: Option<String>,
}

/// POST /account/consents/{agreement} — grant, refuse or revoke; a revocation takes effect at once.
pub async fn decide(
    State(st): State<AppState>,
    v: Visitor,
    Path(agreement): Path<String>,
    CsrfForm(f): CsrfForm<ConsentForm>,
) -> AppResult<Response> {
    let me = v.require_account()?.clone();
    let now = Utc::now();
    let state = match f.decision.as_deref() {
        Some("grant") => ConsentState::Granted,
        Some("revoke") => ConsentState::Revoked,
        Some("refuse") => ConsentState::Refused,
        _ => return Err(AppError::invalid("bad_decision", "Quyết định không hợp lệ.", "Unknown decision.")),
    };
    let mut w = st.db.begin().await?;
    let Some(a) = (if agreement.len() <= 100 { w.data_agreement(&agreement, today()).await? } else { None }) else {
        // An unknown purpose: refused, and kept in the audit trail.
        w.append_audit(&audit(
            &v,
            None,
            "consent.unknown_purpose",
            "account",
            &me.id.to_string(),
            json!({"agreement": agreement.chars().take(100).collect::<String>()}),
        ))
        .await?;
        w.commit().await?;
        return Err(AppError::invalid(
            "unknown_purpose",
            "Không có thỏa thuận sử dụng dữ liệu nào như vậy; không có gì được ghi nhận.",
            "There is no such data agreement; nothing was recorded.",
        ));
    };
    if me.kind == AccountKind::Officer {
        return Err(AppError::Forbidden);
    }
    let rec = w.record_consent(me.id, &a, state, "web", now).await.map_err(|e| match e {
        tl_storage::StoreError::Conflict(_) => {
            AppError::Conflict("một quyết định khác vừa được ghi; vui lòng thử lại / another decision was just recorded; try again".into())
        }
        other => other.into(),
    })?;
    w.append_audit(&audit(
        &v,
        None,
        &format!("consent.{}", state.as_str()),
        "consent",
        &rec.id.to_string(),
        json!({"agreement": a.id, "version": a.version, "revision": rec.revision}),
    ))
    .await?;
    w.commit().await?;
    let back = f.next.as_deref().filter(|n| n.starts_with("/procedures/") && !n.contains("//") && n.len() < 200);
    Ok(see_other(back.unwrap_or(&format!("/account/consents?done={}", state.as_str()))))
}

/// The role → person picks posted with the procedure page's start form (`person.<role>`).
pub fn picks_of(pairs: &crate::filing::Pairs) -> AppResult<HashMap<String, i64>> {
    let mut out = HashMap::new();
    for (k, v) in &pairs.0 {
        let Some(role) = k.strip_prefix("person.") else { continue };
        if v.is_empty() {
            continue;
        }
        let id: i64 = if v == "self" { SELF_PICK } else { v.parse().ok().filter(|id| *id > 0).ok_or_else(forged_pick)? };
        out.insert(role.to_owned(), id);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Sharing with partner systems

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShareQuery {
    /// The data-sharing agreement made for the calling client.
    agreement: Option<String>,
    /// For a legal obligation or public task: the provision that requires the data.
    legal_reference: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/people/{personal_id}/data", tag = "account", security(("bearer" = [])),
    params(("personal_id" = String, Path, description = "The person's personal ID number or tax code"), ShareQuery),
    responses((status = 200, description = "`{personal_id, agreement, legal_reference, items: {item: {value, source, verified_by, updated_at}}, documents}`", body = Object),
              (status = 400, body = crate::api::Problem, content_type = "application/problem+json"),
              (status = 403, description = "`consent_required`, `unknown_purpose` or `insufficient_scope`", body = crate::api::Problem, content_type = "application/problem+json"),
              (status = 404, body = crate::api::Problem, content_type = "application/problem+json")))]
/// GET /api/v1/people/{personal_id}/data?agreement=… — a partner system (OAuth client with
/// `api:personal-data.read`) reads what a sharing agreement made for it covers: only with the
/// person's consent in force, or — for an agreement on a legal obligation or public task — with
/// the provision named on the request. Every answer, and every refusal, is audited.
pub async fn shared_data(
    State(st): State<AppState>,
    c: crate::api::Caller,
    Path(personal_id): Path<String>,
    Query(q): Query<ShareQuery>,
    headers: axum::http::HeaderMap,
) -> AppResult<axum::Json<Value>> {
    use crate::oidc::protocol::API_PERSONAL_DATA;
    let client = c.client_id().map(str::to_owned);
    let caller = c.account_for(API_PERSONAL_DATA)?;
    // Only a registered partner system, never a person's own token, reads someone else's data.
    let client = client.ok_or(AppError::InsufficientScope(API_PERSONAL_DATA))?;
    let agreement = q.agreement.as_deref().map(str::trim).filter(|a| !a.is_empty() && a.len() <= 100).ok_or_else(|| {
        AppError::invalid(
            "agreement_required",
            "Ghi rõ thỏa thuận chia sẻ dữ liệu (tham số agreement).",
            "Name the data-sharing agreement (the agreement parameter).",
        )
    })?;
    let now = Utc::now();
    let request_id = headers.get(&crate::middleware::REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let entry = |action: &str, subject: Option<i64>, detail: Value| tl_storage::AuditEntry {
        at: now,
        actor_id: Some(caller.id),
        actor_label: format!("oauth:{client}"),
        action: action.into(),
        target_type: "account".into(),
        target_id: subject.map(|s| s.to_string()).unwrap_or_default(),
        detail,
        ip: None,
        request_id: request_id.clone(),
    };
    let mut w = st.db.begin().await?;
    let a = w.data_agreement(agreement, today()).await?.filter(|a| a.recipient.as_deref() == Some(client.as_str()));
    let login = crate::auth::normalise_login(&personal_id);
    let subject = if login.is_empty() || login.len() > 20 { None } else { w.find_account_by_login(&login).await? }
        .filter(|s| s.kind != AccountKind::Officer);
    let refuse = |code: &'static str, vi: &str, en: &str| AppError::denied(code, vi, en);
    let (a, subject) = match (a, subject) {
        (None, s) => {
            w.append_audit(&entry(
                "data_sharing.refused",
                s.map(|s| s.id),
                json!({"client": client, "agreement": agreement, "reason": "unknown_purpose"}),
            ))
            .await?;
            w.commit().await?;
            return Err(refuse(
                "unknown_purpose",
                "Không có thỏa thuận chia sẻ dữ liệu này dành cho ứng dụng của bạn.",
                "There is no such data-sharing agreement for your application.",
            ));
        }
        (Some(_), None) => return Err(AppError::NotFound),
        (Some(a), Some(s)) => (a, s),
    };
    let reference = q.legal_reference.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(|r| r.chars().take(300).collect::<String>());
    match a.lawful_basis {
        personal::LawfulBasis::Consent => {
            let consent = w.current_consent(subject.id, &a.id).await?;
            if !consent.as_ref().is_some_and(|c| c.in_force(now)) {
                let reason = consent.map_or("none", |c| if c.state == ConsentState::Revoked { "revoked" } else { "not_in_force" });
                w.append_audit(&entry(
                    "data_sharing.refused",
                    Some(subject.id),
                    json!({"client": client, "agreement": a.id, "reason": reason}),
                ))
                .await?;
                w.commit().await?;
                return Err(refuse(
                    "consent_required",
                    "Người này chưa đồng ý, hoặc đã rút lại sự đồng ý, cho việc chia sẻ dữ liệu theo thỏa thuận này.",
                    "This person has not consented, or has withdrawn consent, to sharing data under this agreement.",
                ));
            }
        }
        _ if reference.is_none() => {
            return Err(AppError::invalid(
                "legal_reference_required",
                "Thỏa thuận này dựa trên quy định của pháp luật: ghi rõ điều khoản áp dụng (tham số legal_reference).",
                "This agreement rests on a legal provision: name it (the legal_reference parameter).",
            ))
        }
        _ => {}
    }
    // What the account holds is part of the store, even before its owner ever opened it.
    let me = Some(ensure_self(&mut *w, &subject, now).await?);
    let items: Map<String, Value> = w
        .list_items(subject.id)
        .await?
        .into_iter()
        .filter(|i| Some(i.person_id) == me && a.items.iter().any(|k| k == &i.item))
        .map(|i| {
            (
                i.item.clone(),
                json!({"value": i.value, "source": i.source.as_str(), "verified_by": i.agency_name, "updated_at": i.updated_at}),
            )
        })
        .collect();
    let documents: Vec<Value> = if a.items.iter().any(|k| k == "documents") {
        w.list_documents(subject.id)
            .await?
            .into_iter()
            .filter(|d| d.valid_on(today()))
            .map(|d| {
                json!({"kind": d.kind, "title": d.title, "issued_by": d.agency_name, "issued_at": d.issued_at,
                       "verify_url": d.result_id.as_ref().map(|r| format!("{}/verify/{r}", st.config.public_url.trim_end_matches('/')))})
            })
            .collect()
    } else {
        vec![]
    };
    w.append_audit(&entry(
        "data_sharing.read",
        Some(subject.id),
        json!({"client": client, "agreement": a.id, "version": a.version, "basis": a.lawful_basis.as_str(), "legal_reference": reference,
               "items": items.keys().collect::<Vec<_>>(), "documents": documents.len()}),
    ))
    .await?;
    w.commit().await?;
    // The person sees it in "Ai đã xem dữ liệu của tôi": who (the partner), what, for which agreement.
    let reader = crate::access::Reader::of_api(&caller, vec![], Some(&client), &headers);
    let purpose = format!("{} (v{})", a.id, a.version);
    if !items.is_empty() {
        let keys: Vec<&str> = items.keys().map(String::as_str).collect();
        crate::access::record(&st, &reader, subject.id, "store.item", &keys.join(", "), &purpose, None).await;
    }
    if !documents.is_empty() {
        crate::access::record(
            &st,
            &reader,
            subject.id,
            "store.document",
            &format!("{} giấy tờ / documents", documents.len()),
            &purpose,
            None,
        )
        .await;
    }
    Ok(axum::Json(json!({
        "personal_id": subject.login,
        "agreement": {"id": a.id, "version": a.version, "lawful_basis": a.lawful_basis.as_str()},
        "legal_reference": reference,
        "items": items,
        "documents": documents,
    })))
}
