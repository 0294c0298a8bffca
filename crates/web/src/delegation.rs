//! Acting for someone else (issue #5): a business's legal representative — the holder of the
//! business account — adds employees who file for the business; a citizen authorises another
//! person or a partner organisation to file one procedure for them during a period (giấy ủy
//! quyền). A dossier filed so records both: `applicant_id` (whose dossier it is) and
//! `acted_by_id` (who filled it in). Revocation takes effect at once.

use crate::auth::audit;
use crate::error::{AppError, AppResult};
use crate::web::{render_status, see_other, CsrfForm, FormErrors, Visitor};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use tl_core::account::AccountKind;
use tl_storage::{Account, NewAuthorisation};

/// The longest an authorisation may run (a year, renewed if needed).
const MAX_DAYS: i64 = 366;

fn today() -> chrono::NaiveDate {
    crate::portal::today()
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    done: Option<String>,
}

#[derive(Deserialize, Default, serde::Serialize)]
pub struct MemberForm {
    #[serde(default)]
    login: String,
}

#[derive(Deserialize, Default, serde::Serialize)]
pub struct AuthorisationForm {
    #[serde(default)]
    grantee: String,
    #[serde(default)]
    procedure: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_to: String,
    #[serde(default)]
    note: String,
}

pub async fn page(State(st): State<AppState>, v: Visitor, Query(q): Query<PageQuery>) -> AppResult<Response> {
    let Some(me) = v.account.clone() else { return Ok(see_other("/signin?next=%2Faccount%2Fdelegation")) };
    // Only our own notices (a made-up value would show a raw message key).
    let done = q.done.as_deref().filter(|d| ["member_added", "member_exists", "member_removed", "authorised", "revoked"].contains(d));
    view(&st, &v, &me, done, FormErrors::default(), None, None, StatusCode::OK).await
}

#[allow(clippy::too_many_arguments)]
async fn view(
    st: &AppState,
    v: &Visitor,
    me: &Account,
    done: Option<&str>,
    errors: FormErrors,
    member_form: Option<&MemberForm>,
    auth_form: Option<&AuthorisationForm>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut r = st.db.read().await?;
    let members = if me.kind == AccountKind::Business { r.list_members(me.id).await? } else { vec![] };
    let businesses = r.businesses_of(me.id).await?;
    let given = r.authorisations_given(me.id).await?;
    let held = r.authorisations_held(me.id, today()).await?;
    drop(r);
    let snap = st.catalog.snapshot(&st.db).await?;
    let lang = v.lang.code();
    let name_of = |code: &str| {
        snap.index.docs().find(|d| d.payload.code == code).map_or_else(|| code.to_owned(), |d| d.payload.name.get(lang).to_owned())
    };
    // Procedures offered online: the ones someone can be authorised to file here.
    let mut procedures: Vec<(String, String)> = snap
        .index
        .docs()
        .filter(|d| d.payload.level != tl_core::catalog::ServiceLevel::Offline)
        .map(|d| (d.payload.code.clone(), d.payload.name.get(lang).to_owned()))
        .collect();
    procedures.sort_by(|a, b| a.1.cmp(&b.1));
    procedures.dedup();
    let given: Vec<_> = given
        .iter()
        .map(|a| {
            minijinja::context! {
                id => a.id, grantee => a.grantee_name, grantee_login => a.grantee_login, procedure => name_of(&a.procedure_code),
                valid_from => tl_core::fmt::date(a.valid_from), valid_to => tl_core::fmt::date(a.valid_to), note => a.note,
                revoked => a.revoked_at.is_some(), expired => a.valid_to < today(),
            }
        })
        .collect();
    let held: Vec<_> = held
        .iter()
        .map(|a| {
            minijinja::context! {
                grantor => a.grantor_name, procedure => name_of(&a.procedure_code), code => a.procedure_code,
                valid_to => tl_core::fmt::date(a.valid_to),
            }
        })
        .collect();
    let ctx = minijinja::context! {
        business => me.kind == AccountKind::Business,
        members => members,
        businesses => businesses,
        given => given,
        held => held,
        procedures => procedures.into_iter().map(|(code, name)| minijinja::context!{ code => code, name => name }).collect::<Vec<_>>(),
        done => done,
        errors => errors.items,
        field_errors => errors.by_field(),
        member_form => member_form,
        auth_form => auth_form,
        default_from => tl_core::fmt::date(today()),
        default_to => tl_core::fmt::date(today() + chrono::Duration::days(30)),
    };
    render_status(st, v, "delegation.html", ctx, status)
}

/// The business's representative adds an employee by their personal ID number.
pub async fn add_member(State(st): State<AppState>, v: Visitor, CsrfForm(f): CsrfForm<MemberForm>) -> AppResult<Response> {
    let me = v.require_account()?.clone();
    if me.kind != AccountKind::Business {
        return Err(AppError::Forbidden);
    }
    let mut errors = FormErrors::default();
    let login = crate::auth::normalise_login(&f.login);
    let member = if login.is_empty() {
        None
    } else {
        st.db.read().await?.find_account_by_login(&login).await?.filter(|a| a.kind == AccountKind::Citizen)
    };
    let Some(member) = member else {
        errors.add(
            v.lang,
            "login",
            "Không tìm thấy công dân có số định danh này. Người được thêm cần có tài khoản công dân trên Cổng.",
            "No citizen has this personal ID number. The person needs a citizen account on the portal.",
        );
        return view(&st, &v, &me, None, errors, Some(&f), None, StatusCode::BAD_REQUEST).await;
    };
    let mut w = st.db.begin().await?;
    let added = w.add_member(me.id, member.id, me.id, Utc::now()).await?;
    if added {
        w.append_audit(&audit(&v, None, "business.member_add", "account", &me.id.to_string(), serde_json::json!({"member": member.id})))
            .await?;
    }
    w.commit().await?;
    Ok(see_other(if added { "/account/delegation?done=member_added" } else { "/account/delegation?done=member_exists" }))
}

pub async fn remove_member(
    State(st): State<AppState>,
    v: Visitor,
    Path(member): Path<String>,
    CsrfForm(_): CsrfForm<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    let me = v.require_account()?;
    let member: i64 = member.parse().map_err(|_| AppError::NotFound)?;
    let mut w = st.db.begin().await?;
    // A member may also leave a business on their own.
    let removed = if me.kind == AccountKind::Business {
        w.remove_member(me.id, member, Utc::now()).await?
    } else {
        w.remove_member(member, me.id, Utc::now()).await?
    };
    if !removed {
        return Err(AppError::NotFound);
    }
    w.append_audit(&audit(&v, None, "business.member_remove", "account", &me.id.to_string(), serde_json::json!({"other": member}))).await?;
    w.commit().await?;
    Ok(see_other("/account/delegation?done=member_removed"))
}

/// A citizen (or a business) authorises someone for one procedure and a period.
pub async fn authorise(State(st): State<AppState>, v: Visitor, CsrfForm(f): CsrfForm<AuthorisationForm>) -> AppResult<Response> {
    let me = v.require_account()?.clone();
    if me.kind == AccountKind::Officer {
        return Err(AppError::Forbidden);
    }
    let lang = v.lang;
    let mut errors = FormErrors::default();
    let login = crate::auth::normalise_login(&f.grantee);
    let grantee = if login.is_empty() {
        None
    } else {
        st.db.read().await?.find_account_by_login(&login).await?.filter(|a| a.kind != AccountKind::Officer)
    };
    match &grantee {
        None => errors.add(
            lang,
            "grantee",
            "Không tìm thấy tài khoản có số định danh hoặc mã số thuế này trên Cổng.",
            "No account on the portal has this personal ID number or tax code.",
        ),
        Some(g) if g.id == me.id => errors.add(lang, "grantee", "Không thể tự ủy quyền cho chính mình.", "You cannot authorise yourself."),
        _ => {}
    }
    let snap = st.catalog.snapshot(&st.db).await?;
    let online = snap.index.docs().any(|d| d.payload.code == f.procedure && d.payload.level != tl_core::catalog::ServiceLevel::Offline);
    if !online {
        errors.add(lang, "procedure", "Vui lòng chọn thủ tục được ủy quyền.", "Choose the procedure you authorise.");
    }
    let from = tl_core::fmt::parse_date(&f.valid_from);
    let to = tl_core::fmt::parse_date(&f.valid_to);
    match (from, to) {
        (None, _) => errors.add(lang, "valid_from", "Nhập ngày bắt đầu theo dạng ngày/tháng/năm.", "Enter the start date as dd/mm/yyyy."),
        (_, None) => errors.add(lang, "valid_to", "Nhập ngày kết thúc theo dạng ngày/tháng/năm.", "Enter the end date as dd/mm/yyyy."),
        (Some(a), _) if a < today() => {
            errors.add(lang, "valid_from", "Ngày bắt đầu không được ở quá khứ.", "The start date cannot be in the past.")
        }
        (Some(a), Some(b)) if b < a => {
            errors.add(lang, "valid_to", "Ngày kết thúc phải sau ngày bắt đầu.", "The end date must be after the start date.")
        }
        (Some(a), Some(b)) if (b - a).num_days() > MAX_DAYS => errors.add(
            lang,
            "valid_to",
            "Ủy quyền dài tối đa một năm; hãy gia hạn khi cần.",
            "An authorisation lasts at most one year; renew it when needed.",
        ),
        _ => {}
    }
    let note = f.note.trim();
    if note.chars().count() > 500 {
        errors.add(lang, "note", "Ghi chú dài tối đa 500 ký tự.", "The note can be at most 500 characters.");
    }
    let (Some(grantee), Some(from), Some(to), true) = (grantee.filter(|_| errors.is_empty()), from, to, errors.is_empty()) else {
        return view(&st, &v, &me, None, errors, None, Some(&f), StatusCode::BAD_REQUEST).await;
    };
    let mut w = st.db.begin().await?;
    let id = w
        .create_authorisation(&NewAuthorisation {
            grantor_id: me.id,
            grantee_id: grantee.id,
            procedure_code: f.procedure.clone(),
            valid_from: from,
            valid_to: to,
            note: Some(note.to_owned()).filter(|s| !s.is_empty()),
            now: Utc::now(),
        })
        .await?;
    w.append_audit(&audit(
        &v,
        None,
        "authorisation.create",
        "authorisation",
        &id.to_string(),
        serde_json::json!({"grantee": grantee.id, "procedure": f.procedure, "from": from, "to": to}),
    ))
    .await?;
    w.commit().await?;
    Ok(see_other("/account/delegation?done=authorised"))
}

pub async fn revoke(
    State(st): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    let me = v.require_account()?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let mut w = st.db.begin().await?;
    if !w.revoke_authorisation(me.id, id, Utc::now()).await? {
        return Err(AppError::NotFound);
    }
    w.append_audit(&audit(&v, None, "authorisation.revoke", "authorisation", &id.to_string(), serde_json::json!({}))).await?;
    w.commit().await?;
    Ok(see_other("/account/delegation?done=revoked"))
}

/// Those the visitor may file `procedure` for today, beside themselves: the businesses they are
/// a member of and the people who authorised them for it.
pub async fn principals(st: &AppState, me: &Account, procedure: &str) -> AppResult<Vec<(i64, String)>> {
    let mut r = st.db.read().await?;
    let mut out: Vec<(i64, String)> = r.businesses_of(me.id).await?.into_iter().map(|m| (m.business_id, m.business_name)).collect();
    for a in r.authorisations_held(me.id, today()).await? {
        if a.procedure_code == procedure && !out.iter().any(|(id, _)| *id == a.grantor_id) {
            out.push((a.grantor_id, a.grantor_name));
        }
    }
    Ok(out)
}

/// Whether `me` may still act for the applicant of a dossier they did not file for themselves.
pub async fn may_act_for(st: &AppState, me: &Account, applicant: i64, procedure: &str) -> AppResult<bool> {
    Ok(st.db.read().await?.may_act_for(me.id, applicant, procedure, today()).await?)
}
