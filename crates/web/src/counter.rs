//! The counter channel (nộp trực tiếp): a one-stop officer (cán bộ một cửa) creates a dossier
//! for a person standing at the counter, fills the same form the citizen would, and scans the
//! paper components, which are marked as digitised (số hóa, Decree 45/2020 art. 25). The
//! dossier belongs to the person (applicant) and records the officer as the one who acted;
//! the person later finds it under "Hồ sơ của tôi" when signing in with the same personal ID.

use crate::error::{AppError, AppResult};
use crate::filing::Pairs;
use crate::web::{render_status, see_other, Visitor};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde_json::{json, Value};
use std::collections::HashMap;
use tl_core::account::{AccountKind, Role};
use tl_core::catalog::Channel;
use tl_core::dossier::DossierStatus;
use tl_storage::{AuditEntry, NewAccount, NewDossier};

/// Procedures with an online form that the officer's reception grants cover, with the agency:
/// (code, procedure name, agency electronic ID, agency name).
async fn offer(st: &AppState, v: &Visitor) -> AppResult<Vec<(String, String, String, String)>> {
    let snap = st.catalog.snapshot(&st.db).await?;
    let mut out = vec![];
    let l = v.lang.code();
    for d in snap.index.docs() {
        if !d.agencies.iter().any(|a| v.has_role_at(Role::Reception, a)) {
            continue;
        }
        let Some(p) = snap.procedure(&st.db, &d.payload.code, None).await? else { continue };
        if p.version.form.is_none() {
            continue;
        }
        for a in p.agencies.iter().filter(|a| v.has_role_at(Role::Reception, &a.electronic_id)) {
            out.push((p.code.clone(), p.version.name.get(l).to_owned(), a.electronic_id.clone(), a.name.get(l).to_owned()));
        }
    }
    out.sort();
    Ok(out)
}

fn require_reception(v: &Visitor) -> AppResult<()> {
    v.require_account()?;
    if v.roles.iter().any(|g| matches!(g.role, Role::Reception | Role::Admin)) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

async fn page(st: &AppState, v: &Visitor, errors: Vec<(&str, String)>, form: Value, status: StatusCode) -> AppResult<Response> {
    let me = v.require_account()?;
    let offers: Vec<Value> = offer(st, v)
        .await?
        .into_iter()
        .map(|(code, name, eid, agency)| json!({"value": format!("{code}@{eid}"), "label": format!("{code} — {name} — {agency}")}))
        .collect();
    let snap = st.catalog.snapshot(&st.db).await?;
    let names: HashMap<&str, String> =
        snap.index.docs().map(|d| (d.payload.code.as_str(), d.payload.name.get(v.lang.code()).to_owned())).collect();
    let mut r = st.db.read().await?;
    let rows = r.list_dossiers_acted_by(me.id, 50).await?;
    let mut recent = vec![];
    for d in rows {
        let person = r.get_account(d.applicant_id).await?.map(|a| a.display_name).unwrap_or_default();
        recent.push(json!({
            "id": d.id, "code": d.code, "draft": d.status == DossierStatus::Draft, "status": d.status.label(v.lang.code()),
            "procedure": names.get(d.procedure_code.as_str()).cloned().unwrap_or_else(|| d.procedure_code.clone()),
            "person": person, "updated_at": d.updated_at,
        }));
    }
    drop(r);
    let field_errors: HashMap<&str, String> = errors.iter().map(|(f, m)| (*f, m.clone())).collect();
    let errors: Vec<Value> = errors.into_iter().map(|(f, m)| json!({"field": f, "message": m})).collect();
    let ctx = minijinja::context! {
        offers => offers, recent => recent, errors => errors, field_errors => field_errors, form => form, idem => crate::new_token("")[..16].to_owned(),
    };
    render_status(st, v, "counter.html", ctx, status)
}

pub async fn show(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    if v.account.is_none() {
        return Ok(see_other("/signin?next=/counter"));
    }
    require_reception(&v)?;
    page(&st, &v, vec![], json!({}), StatusCode::OK).await
}

/// Identifies the person and opens a draft on the counter channel; the officer then fills the
/// same steps as a citizen (the dossier page and its uploads accept the acting officer).
pub async fn create(State(st): State<AppState>, v: Visitor, p: Pairs) -> AppResult<Response> {
    require_reception(&v)?;
    let me = v.require_account()?.clone();
    let en = v.lang == crate::i18n::Lang::En;
    let msg = |vi: &str, e: &str| if en { e.to_owned() } else { vi.to_owned() };
    let choice = p.get("procedure").unwrap_or("").to_owned();
    let pid = p.get("personal_id").unwrap_or("").trim().to_owned();
    let name = p.get("full_name").unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" ");
    let phone = p.get("phone").unwrap_or("").trim().to_owned();
    let form = json!({"procedure": choice, "personal_id": pid, "full_name": name, "phone": phone});
    let mut errors = vec![];
    let offers = offer(&st, &v).await?;
    let picked = choice.split_once('@').and_then(|(c, a)| offers.iter().find(|o| o.0 == c && o.2 == a));
    if picked.is_none() {
        errors.push(("procedure", msg("Vui lòng chọn thủ tục và cơ quan tiếp nhận.", "Choose the procedure and the receiving agency.")));
    }
    if tl_core::ids::PersonalId::parse(&pid, chrono::Datelike::year(&tl_core::time::local_date(Utc::now()))).is_err() {
        errors
            .push(("personal_id", msg("Số định danh cá nhân gồm 12 chữ số hợp lệ (CCCD).", "The personal ID number is 12 valid digits.")));
    }
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(("full_name", msg("Vui lòng nhập họ và tên người nộp.", "Enter the applicant's full name.")));
    }
    if !phone.is_empty() && !tl_core::contact::valid_phone(&phone) {
        errors.push(("phone", msg("Số điện thoại không hợp lệ (ví dụ 0912345678).", "The phone number is not valid (e.g. 0912345678).")));
    }
    if !errors.is_empty() {
        return page(&st, &v, errors, form, StatusCode::BAD_REQUEST).await;
    }
    let (code, _, eid, _) = picked.expect("checked").clone();
    let snap = st.catalog.snapshot(&st.db).await?;
    let proc = snap.procedure(&st.db, &code, None).await?.ok_or(AppError::NotFound)?;
    let agency = proc.agencies.iter().find(|a| a.electronic_id == eid).ok_or(AppError::NotFound)?;
    let now = Utc::now();
    let mut w = st.db.begin().await?;
    // The person's account: found by the personal ID number, or created without a password
    // (claimed later by signing in with the national identity account).
    let person = match w.find_account_by_login(&pid).await? {
        Some(a) if a.kind == AccountKind::Citizen => a,
        Some(_) => {
            drop(w);
            let e = vec![(
                "personal_id",
                msg("Số này thuộc một tài khoản không phải công dân.", "This number belongs to a non-citizen account."),
            )];
            return page(&st, &v, e, form, StatusCode::BAD_REQUEST).await;
        }
        None => {
            w.create_account(
                &NewAccount {
                    kind: AccountKind::Citizen,
                    login: pid.clone(),
                    display_name: name.clone(),
                    email: None,
                    phone: (!phone.is_empty()).then(|| phone.clone()),
                    password_hash: None,
                    agency_id: None,
                },
                now,
            )
            .await?
        }
    };
    let idem = p.get("idem").filter(|k| !k.is_empty() && k.len() <= 64).map(|k| format!("counter-{k}"));
    let d = w
        .create_dossier(&NewDossier {
            procedure_code: proc.code.clone(),
            version_no: proc.version_no,
            agency_id: agency.id,
            applicant_id: person.id,
            acted_by_id: me.id,
            channel: Channel::InPerson,
            answers: json!({}),
            idempotency_key: idem,
            now,
        })
        .await?;
    w.append_audit(&AuditEntry {
        at: now,
        actor_id: Some(me.id),
        actor_label: me.login.clone(),
        action: "dossier.counter_create".into(),
        target_type: "dossier".into(),
        target_id: d.id.to_string(),
        detail: json!({"procedure": proc.code, "agency": eid, "applicant": person.login}),
        ip: Some(v.ip.to_string()),
        request_id: Some(v.request_id.clone()),
    })
    .await?;
    w.commit().await?;
    Ok(see_other(&format!("/dossiers/{}/edit?step=0", d.id)))
}
