//! Processing after reception (Decree 118/2025 art. 17–21; DOMAIN.md §3): the dossier moves
//! through its procedure's declarative process — each decision an officer takes at a step
//! closes that step's row of the control sheet (Form 06) with how timely it was and opens the
//! next — asks the applicant for a supplement (the clock pauses), is delayed once with an
//! apology (Form 04), stopped at the applicant's request (Form 05), decided, and returned.
//! Every action names the revision it was taken on, and commits with its audit record.

use crate::error::{AppError, AppResult};
use crate::filing::{load_visible, Pairs};
use crate::web::{render, see_other, Visitor};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use tl_core::account::Role;
use tl_core::calendar::Calendar;
use tl_core::catalog::TimeUnit;
use tl_core::dossier::DossierStatus;
use tl_core::process::{ClockFacts, DecisionKind, DueState, Process, Step, Timeliness};
use tl_storage::{AgencyRow, Dossier, DossierAction, Flow, HandoffClose, HandoffOpen, InboxQuery};

/// A step due within this many working minutes is "due soon".
pub const DUE_SOON_MINUTES: i64 = 2 * 60;
/// An unanswered supplement request closes the dossier after this many working days
/// (Decree 118/2025 art. 16, unless the sector law says otherwise).
pub const SUPPLEMENT_WORKING_DAYS: u32 = 15;

pub fn local(t: DateTime<Utc>) -> NaiveDateTime {
    tl_core::time::to_local(t).naive_local()
}

pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_local_timezone(tl_core::time::vn_offset()).single().expect("fixed offset").with_timezone(&Utc)
}

/// Working minutes from `now` to `due` (negative once it has passed).
pub fn minutes_left(cal: &Calendar, due: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let (n, d) = (local(now), local(due));
    if d >= n {
        cal.working_minutes_between(n, d)
    } else {
        -cal.working_minutes_between(d, n).max(1)
    }
}

pub fn left_label(minutes: i64, en: bool) -> String {
    let m = minutes.abs();
    let (days, rest) = (m / 480, m % 480);
    let text = match (en, days) {
        (true, 0) => format!("{}h{:02}", rest / 60, rest % 60),
        (true, _) => format!("{days} d {}h{:02}", rest / 60, rest % 60),
        (false, 0) => format!("{} giờ {:02} phút", rest / 60, rest % 60),
        (false, _) => format!("{days} ngày {} giờ {:02} phút", rest / 60, rest % 60),
    };
    match (minutes < 0, en) {
        (true, true) => format!("{text} overdue"),
        (true, false) => format!("quá hạn {text}"),
        (false, true) => format!("{text} left"),
        (false, false) => format!("còn {text}"),
    }
}

/// The agency that performs `step` for dossier `d`.
fn step_agency<'a>(agencies: &'a [AgencyRow], d: &Dossier, step: &Step) -> AppResult<&'a AgencyRow> {
    let eid = step.agency.as_deref().unwrap_or(&d.agency_electronic_id);
    agencies.iter().find(|a| a.electronic_id == eid).ok_or_else(|| {
        AppError::invalid(
            "process_agency",
            format!("Quy trình giao bước cho cơ quan `{eid}` không còn tồn tại; báo quản trị hệ thống."),
            format!("The process gives a step to agency `{eid}`, which no longer exists; tell an administrator."),
        )
    })
}

/// The flow of a dossier entering `step` at `now`: the step's due moment is its budget of
/// working time, never later than the dossier's own due moment.
fn enter(cal: &Calendar, flow: &Flow, step: &Step, agency: &AgencyRow, now: DateTime<Utc>, overall: Option<DateTime<Utc>>) -> Flow {
    // Budgets count 8 working hours a day (DOMAIN.md §5); scaled to this service point's day.
    let minutes = step.budget.minutes() * cal.hours().minutes() / tl_core::process::WORKING_DAY_MINUTES;
    let mut due = utc(cal.add_working_minutes(local(now), minutes));
    if let Some(o) = overall {
        due = due.min(o.max(now));
    }
    Flow {
        step_id: Some(step.id.clone()),
        step_agency_id: Some(agency.id),
        step_role: Some(step.role),
        step_started_at: Some(now),
        step_due_at: Some(due),
        paused_at: None,
        supplement_due_at: None,
        ..flow.clone()
    }
}

/// Leaves the process (finished, stopped): nobody's inbox holds it any more.
fn leave(flow: &Flow) -> Flow {
    Flow { step_id: None, step_agency_id: None, step_role: None, step_started_at: None, step_due_at: None, paused_at: None, ..flow.clone() }
}

pub async fn procedure_of(st: &AppState, d: &Dossier) -> AppResult<std::sync::Arc<tl_storage::ProcedureDetail>> {
    let snap = st.catalog.snapshot(&st.db).await?;
    snap.procedure(&st.db, &d.procedure_code, Some(d.version_no)).await?.ok_or(AppError::NotFound)
}

/// What reception's acceptance does to the flow: the clock starts, the appointment is set
/// (Form 01), the dossier enters the first step of the process, and the control sheet gets
/// its first row (the reception itself, from filing — or the completed supplement — to now).
pub async fn accept_action(st: &AppState, d: &Dossier, now: DateTime<Utc>, action: &mut DossierAction) -> AppResult<()> {
    let proc = procedure_of(st, d).await?;
    let cal = st.calendar.for_agency(st, d.agency_id).await?;
    let process = proc.version.process();
    let due = proc.version.time_limit_for(d.channel).map(|t| {
        let cutoff = t.cutoff.as_deref().and_then(|c| chrono::NaiveTime::parse_from_str(c, "%H:%M").ok());
        utc(cal.due(local(now), t.value, t.unit, cutoff))
    });
    let first = process.first().ok_or(AppError::NotFound)?;
    let agencies = st.db.read().await?.list_agencies().await?;
    let agency = step_agency(&agencies, d, first)?;
    let mut flow = enter(&cal, &d.flow, first, agency, now, due);
    flow.appointed_at = due;
    let filed = d.flow.step_started_at.or(d.submitted_at).unwrap_or(now);
    let reception_due = utc(cal.add_working_minutes(cal.effective_start(local(filed), None), crate::office::RECEPTION_MINUTES));
    action.received_at = Some(now);
    action.due_at = due;
    action.flow = Some(flow);
    action.open_handoff = true;
    action.close_handoff = Some(HandoffClose {
        opened: Some(HandoffOpen {
            step_id: "reception".into(),
            agency_id: d.agency_id,
            role: Role::Reception,
            started_at: filed,
            due_at: Some(reception_due),
        }),
        decision: "accept".into(),
        timeliness: Timeliness::of(local(now), local(reception_due)),
        note: None,
    });
    Ok(())
}

/// Who takes a back-office action: a signed-in officer in the browser, or an API client acting
/// with an officer's token (the GovStack operator side). Audit records name them and where
/// the request came from.
#[derive(Debug, Clone)]
pub struct Actor {
    pub account: tl_storage::Account,
    pub roles: Vec<tl_core::account::RoleGrant>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn of(v: &Visitor) -> AppResult<Actor> {
        Ok(Actor {
            account: v.require_account()?.clone(),
            roles: v.roles.clone(),
            ip: Some(v.ip.to_string()),
            request_id: Some(v.request_id.clone()).filter(|r| !r.is_empty()),
        })
    }

    fn audit(&self, action: &str, target: i64, detail: Value) -> tl_storage::AuditEntry {
        tl_storage::AuditEntry {
            at: Utc::now(),
            actor_id: Some(self.account.id),
            actor_label: self.account.login.clone(),
            action: action.into(),
            target_type: "dossier".into(),
            target_id: target.to_string(),
            detail,
            ip: self.ip.clone(),
            request_id: self.request_id.clone(),
        }
    }

    fn officer(&self) -> bool {
        self.account.kind == tl_core::account::AccountKind::Officer
    }
}

/// Whether `who` may act on the step `d` waits at: an officer holding the step's role at the
/// step's agency or above.
pub fn may_act(who: &Actor, d: &Dossier, agencies: &[AgencyRow]) -> bool {
    let (Some(role), Some(aid)) = (d.flow.step_role, d.flow.step_agency_id) else { return false };
    let Some(eid) = agencies.iter().find(|a| a.id == aid).map(|a| a.electronic_id.as_str()) else { return false };
    who.officer() && who.roles.iter().any(|g| g.role == role && g.covers(eid))
}

/// The same for a browser visitor.
pub fn can_act(v: &Visitor, d: &Dossier, agencies: &[AgencyRow]) -> bool {
    Actor::of(v).is_ok_and(|a| may_act(&a, d, agencies))
}

fn conflict() -> AppError {
    AppError::Conflict(
        "hồ sơ vừa được cán bộ khác xử lý hoặc đã thay đổi; vui lòng tải lại trang / the dossier has just been handled or changed; reload the page"
            .into(),
    )
}

fn revision_of(p: &Pairs) -> AppResult<i64> {
    p.get("revision").and_then(|r| r.parse().ok()).ok_or_else(|| {
        AppError::invalid("bad_revision", "Biểu mẫu thiếu số phiên bản hồ sơ.", "The form does not name the dossier revision.")
    })
}

/// Non-empty lines of a text area, list marks stripped, at most 50.
pub fn lines(p: &Pairs, k: &str) -> Vec<String> {
    p.get(k)
        .unwrap_or("")
        .lines()
        .map(|l| l.trim().trim_start_matches(['-', '•', '*']).trim().chars().take(1000).collect::<String>())
        .filter(|l| !l.is_empty())
        .take(50)
        .collect()
}

/// Commits an action with its audit record, the result it issued (if any) and the notice to
/// the applicant (in-app, and by mail through the outbox) — all in one transaction — or reports
/// the conflict.
pub(crate) async fn commit(
    st: &AppState,
    who: &Actor,
    action: &DossierAction,
    result: Option<&tl_storage::IssuedResult>,
) -> AppResult<Dossier> {
    let mut w = st.db.begin().await?;
    let done = w.act_on_dossier(action).await.map_err(|e| match e {
        tl_storage::StoreError::Conflict(_) => conflict(),
        other => other.into(),
    })?;
    if let Some(r) = result {
        w.insert_result(r).await?;
    }
    // The data store fills itself: an accepted dossier's answers and uploads, an issued result.
    if action.kind == "received" || result.is_some() {
        let snap = st.catalog.snapshot(&st.db).await?;
        if let Some(proc) = snap.procedure(&st.db, &done.procedure_code, Some(done.version_no)).await? {
            let now = chrono::Utc::now();
            if action.kind == "received" {
                crate::datastore::offer_accepted(&mut *w, &proc, &done, now).await?;
            }
            if let Some(r) = result {
                crate::datastore::offer_result(&mut *w, &proc, &done, r, now).await?;
            }
        }
    }
    w.append_audit(&who.audit(&format!("dossier.{}", action.kind), action.id, action.detail.clone())).await?;
    if let Some(n) = notice(st, &mut *w, &done, action).await? {
        w.notify(&n).await?;
    }
    w.commit().await?;
    Ok(done)
}

/// What the applicant is told about an action, if anything.
async fn notice(st: &AppState, w: &mut dyn tl_storage::Repo, d: &Dossier, a: &DossierAction) -> AppResult<Option<tl_storage::NewNotice>> {
    let code = d.code.clone().unwrap_or_default();
    let when = |t: Option<DateTime<Utc>>| t.map(tl_core::fmt::datetime).unwrap_or_default();
    let (title_vi, title_en, body_vi, body_en) = match a.kind.as_str() {
        "received" => (
            format!("Hồ sơ {code} đã được tiếp nhận"),
            format!("Dossier {code} was accepted"),
            format!("Hồ sơ của bạn đã được tiếp nhận. Ngày hẹn trả kết quả: {}.", when(d.due_at)),
            format!("Your dossier was accepted. Appointed return: {}.", when(d.due_at)),
        ),
        "supplement_requested" => {
            let items: Vec<String> = a
                .detail
                .get("missing")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|s| format!("- {s}"))
                .collect();
            (
                format!("Hồ sơ {code} cần bổ sung"),
                format!("Dossier {code} needs a supplement"),
                format!(
                    "Cơ quan giải quyết yêu cầu bổ sung, hoàn thiện hồ sơ:
{}
Vui lòng bổ sung trực tuyến trước {}.",
                    items.join(
                        "
"
                    ),
                    when(d.flow.supplement_due_at)
                ),
                format!(
                    "The agency asks you to complete your dossier:
{}
Please do so online before {}.",
                    items.join(
                        "
"
                    ),
                    when(d.flow.supplement_due_at)
                ),
            )
        }
        "refused" | "decision.refuse" => (
            format!("Hồ sơ {code} không được giải quyết"),
            format!("Dossier {code} was refused"),
            "Cơ quan đã từ chối hồ sơ của bạn; lý do ghi trong hồ sơ và văn bản thông báo.".to_owned(),
            "The agency refused your dossier; the reasons are on the dossier page and in the notice.".to_owned(),
        ),
        "decision.approve" => (
            format!("Hồ sơ {code} đã có kết quả"),
            format!("Dossier {code} has its result"),
            "Kết quả điện tử có chữ ký số đã sẵn sàng trong mục Hồ sơ của tôi.".to_owned(),
            "The digitally signed electronic result is ready under My dossiers.".to_owned(),
        ),
        "decision.return" => (
            format!("Đã trả kết quả hồ sơ {code}"),
            format!("Result of dossier {code} returned"),
            "Hồ sơ đã hoàn thành và trả kết quả.".to_owned(),
            "The dossier is complete and its result returned.".to_owned(),
        ),
        "delayed" => (
            format!("Xin lỗi: hồ sơ {code} được hẹn lại ngày trả kết quả"),
            format!("Apology: dossier {code} has a new return date"),
            format!("Cơ quan giải quyết xin lỗi vì chậm trễ. Ngày hẹn trả mới: {}.", when(d.due_at)),
            format!("The agency apologises for the delay. New return date: {}.", when(d.due_at)),
        ),
        "withdrawn" => (
            format!("Hồ sơ {code} đã dừng giải quyết"),
            format!("Processing of dossier {code} stopped"),
            "Theo yêu cầu của bạn, cơ quan đã dừng giải quyết hồ sơ.".to_owned(),
            "At your request, the agency stopped processing the dossier.".to_owned(),
        ),
        "supplement_expired" => (
            format!("Hồ sơ {code} đã dừng giải quyết"),
            format!("Processing of dossier {code} stopped"),
            "Hồ sơ không được bổ sung trong thời hạn nên đã dừng giải quyết.".to_owned(),
            "The dossier was not completed in time, so processing stopped.".to_owned(),
        ),
        _ => return Ok(None),
    };
    let email = w.get_account(d.applicant_id).await?.and_then(|a| a.email);
    let link = format!("{}/dossiers/{}", st.config.public_url.trim_end_matches('/'), d.id);
    Ok(Some(tl_storage::NewNotice {
        account_id: d.applicant_id,
        dossier_id: Some(d.id),
        kind: a.kind.clone(),
        title_vi,
        title_en,
        body_vi: format!(
            "{body_vi}
{link}"
        ),
        body_en: format!(
            "{body_en}
{link}"
        ),
        link: Some(format!("/dossiers/{}", d.id)),
        email,
        now: a.now,
    }))
}

pub(crate) fn base_action(d: &Dossier, revision: i64, actor: Option<i64>, now: DateTime<Utc>) -> DossierAction {
    DossierAction {
        id: d.id,
        expected_revision: revision,
        from: vec![d.status],
        to: d.status,
        kind: String::new(),
        actor_id: actor,
        detail: json!({}),
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

/// What an officer writes with a decision.
#[derive(Debug, Clone, Default)]
pub struct DecisionInput {
    pub note: Option<String>,
    /// Everything the applicant must add (a supplement request), one item each.
    pub missing: Vec<String>,
    /// Reasons for a refusal.
    pub reasons: Vec<String>,
}

/// POST /dossiers/{id}/decide — a decision of the step the dossier waits at.
pub async fn decide(State(st): State<AppState>, v: Visitor, Path(id): Path<String>, p: Pairs) -> AppResult<Response> {
    let who = Actor::of(&v)?;
    let d = load_visible(&st, &v, &id).await?;
    let input = DecisionInput {
        note: p.get("note").map(str::trim).filter(|n| !n.is_empty()).map(|n| n.chars().take(2000).collect()),
        missing: lines(&p, "missing"),
        reasons: lines(&p, "reasons"),
    };
    match apply_decision(&st, &who, &d, revision_of(&p)?, p.get("decision").unwrap_or(""), &input).await {
        Ok(done) => Ok(see_other(&format!("/dossiers/{}?acted=1", done.id))),
        Err(e) => crate::filing::show_with_error(&st, &v, &d, e).await,
    }
}

/// Takes decision `key` of the step `d` waits at, if `who` may and `d` is still at `revision`.
pub async fn apply_decision(
    st: &AppState,
    who: &Actor,
    d: &Dossier,
    revision: i64,
    key: &str,
    input: &DecisionInput,
) -> AppResult<Dossier> {
    let agencies = st.db.read().await?.list_agencies().await?;
    if !may_act(who, d, &agencies) {
        return Err(AppError::Forbidden);
    }
    if d.revision != revision {
        return Err(conflict());
    }
    if !matches!(d.status, DossierStatus::Accepted | DossierStatus::Processing | DossierStatus::Processed) {
        return Err(AppError::invalid(
            "not_waiting",
            "Hồ sơ đang chờ công dân hoặc đã kết thúc, không thể quyết định lúc này.",
            "The dossier is waiting for the applicant or has ended; no decision can be taken now.",
        ));
    }
    let proc = procedure_of(st, d).await?;
    let process = proc.version.process();
    let step = d.flow.step_id.as_deref().and_then(|s| process.step(s)).ok_or_else(|| {
        AppError::invalid(
            "no_step",
            "Hồ sơ không ở bước nào của quy trình hiện hành.",
            "The dossier is not at a step of the current process.",
        )
    })?;
    let decision = step.decisions.iter().find(|x| x.id == key).ok_or_else(|| {
        AppError::invalid("bad_decision", "Quyết định không có ở bước này.", "That decision is not available at this step.")
    })?;
    let now = Utc::now();
    let cal = st.calendar.for_agency(st, d.agency_id).await?;
    let note = input.note.clone();
    let timeliness = d.flow.step_due_at.map_or(Timeliness::OnTime, |due| Timeliness::of(local(now), local(due)));
    let mut a = base_action(d, revision, Some(who.account.id), now);
    a.kind = format!("decision.{}", decision.kind.as_str());
    a.close_handoff = Some(HandoffClose { opened: None, decision: decision.id.clone(), timeliness, note: note.clone() });
    let mut detail = json!({"step": step.id, "decision": decision.id, "kind": decision.kind.as_str(), "note": note});
    let target = decision.to.as_deref().and_then(|t| process.step(t));
    match decision.kind {
        DecisionKind::Forward | DecisionKind::SendBack | DecisionKind::Transfer => {
            let to = target.ok_or(AppError::NotFound)?;
            let agency = step_agency(&agencies, d, to)?;
            a.flow = Some(enter(&cal, &d.flow, to, agency, now, d.due_at));
            a.open_handoff = true;
            a.to = if d.status == DossierStatus::Processed { DossierStatus::Processed } else { DossierStatus::Processing };
            detail["to"] = json!(to.id);
            detail["agency"] = json!(agency.electronic_id);
        }
        DecisionKind::Supplement => {
            if input.missing.is_empty() {
                return Err(AppError::invalid(
                    "missing_required",
                    "Liệt kê đầy đủ, một lần, mọi giấy tờ hoặc nội dung cần bổ sung (mỗi dòng một mục).",
                    "List everything to add, all at once (one item per line).",
                ));
            }
            let until = utc(cal.due(local(now), SUPPLEMENT_WORKING_DAYS, TimeUnit::WorkingDays, None));
            // The step stays open: the clock pauses and the same step resumes.
            a.close_handoff = None;
            a.to = DossierStatus::SupplementRequested;
            a.supplement = true;
            a.flow = Some(Flow { paused_at: Some(now), supplement_due_at: Some(until), ..d.flow.clone() });
            a.kind = "supplement_requested".into();
            detail["form"] = json!("02");
            detail["missing"] = json!(input.missing);
            detail["until"] = json!(until);
        }
        DecisionKind::Approve | DecisionKind::Refuse => {
            if decision.kind == DecisionKind::Refuse && input.reasons.is_empty() {
                return Err(AppError::invalid(
                    "reasons_required",
                    "Ghi rõ lý do từ chối giải quyết (mỗi dòng một lý do).",
                    "State the reasons for refusing (one per line).",
                ));
            }
            let outcome = if decision.kind == DecisionKind::Approve { "approved" } else { "refused" };
            let finished = Flow { finished_at: Some(now), outcome: Some(outcome.into()), ..d.flow.clone() };
            match target {
                Some(to) => {
                    let agency = step_agency(&agencies, d, to)?;
                    a.flow = Some(enter(&cal, &finished, to, agency, now, d.due_at));
                    a.open_handoff = true;
                    a.to = DossierStatus::Processed;
                }
                // The electronic result reaches the applicant at once.
                None => {
                    a.flow = Some(leave(&finished));
                    a.to = DossierStatus::ResultReturned;
                }
            }
            detail["outcome"] = json!(outcome);
            if !input.reasons.is_empty() {
                detail["reasons"] = json!(input.reasons);
            }
        }
        DecisionKind::Return => {
            a.flow = Some(leave(&d.flow));
            a.to = DossierStatus::ResultReturned;
        }
    }
    // The signed result (or refusal letter) is made before the transaction; if the decision
    // then loses a race, the stored file is an orphan the record never names.
    let issued = if decision.kind.decides() {
        let reasons = (decision.kind == DecisionKind::Refuse).then_some(input.reasons.as_slice());
        let r = crate::results::issue(st, who, d, &proc, reasons, now).await?;
        detail["result"] = json!(r.id);
        Some(r)
    } else {
        None
    };
    a.detail = detail;
    commit(st, who, &a, issued.as_ref()).await
}

/// The applicant completed a supplement. Asked at reception: back to the reception queue, whose
/// 8 working hours start again (and the processing clock will start from zero at acceptance).
/// Asked during processing: the clock resumes where it stopped — every due moment moves later
/// by the working time spent waiting.
pub async fn supplemented(st: &AppState, v: &Visitor, d: &Dossier, revision: i64, changed: Vec<String>) -> AppResult<Dossier> {
    let who = Actor::of(v)?;
    let now = Utc::now();
    let mut a = base_action(d, revision, Some(who.account.id), now);
    a.from = vec![DossierStatus::SupplementRequested];
    a.kind = "supplemented".into();
    a.detail = json!({"changed": changed});
    match (d.flow.step_id.is_some(), d.flow.paused_at) {
        (true, Some(paused)) => {
            let cal = st.calendar.for_agency(st, d.agency_id).await?;
            let waited = cal.working_minutes_between(local(paused), local(now));
            // No working time waited (answered after hours, or at once): nothing moves — adding
            // zero minutes would carry a closing-time deadline over to the next opening.
            let shift = |t: Option<DateTime<Utc>>| if waited == 0 { t } else { t.map(|t| utc(cal.add_working_minutes(local(t), waited))) };
            a.to = DossierStatus::Processing;
            a.due_at = shift(d.due_at);
            a.handoff_due = shift(d.flow.step_due_at);
            a.flow = Some(Flow {
                paused_at: None,
                supplement_due_at: None,
                step_due_at: shift(d.flow.step_due_at),
                appointed_at: shift(d.flow.appointed_at),
                ..d.flow.clone()
            });
            a.detail["paused_working_minutes"] = json!(waited);
        }
        _ => {
            a.to = DossierStatus::Submitted;
            a.flow = Some(Flow { step_started_at: Some(now), paused_at: None, supplement_due_at: None, ..d.flow.clone() });
        }
    }
    commit(st, &who, &a, None).await
}

/// POST /dossiers/{id}/delay — Form 04: the apology with a new return date, once per dossier
/// and at the latest one working day before the due date (Decree 118/2025 art. 19).
pub async fn delay(State(st): State<AppState>, v: Visitor, Path(id): Path<String>, p: Pairs) -> AppResult<Response> {
    let d = load_visible(&st, &v, &id).await?;
    match delay_action(&st, &v, &d, &p).await {
        Ok(done) => Ok(see_other(&format!("/dossiers/{}?acted=1", done.id))),
        Err(e) => crate::filing::show_with_error(&st, &v, &d, e).await,
    }
}

async fn delay_action(st: &AppState, v: &Visitor, d: &Dossier, p: &Pairs) -> AppResult<Dossier> {
    let me = v.require_account()?.clone();
    let (st, v, d, p) = (st.clone(), v.clone(), d.clone(), p);
    let agencies = st.db.read().await?.list_agencies().await?;
    let leader = v.roles.iter().any(|g| g.role == Role::Leader && g.covers(&d.agency_electronic_id));
    if !(can_act(&v, &d, &agencies) || leader) || d.flow.step_id.is_none() {
        return Err(AppError::Forbidden);
    }
    let revision = revision_of(p)?;
    let cal = st.calendar.for_agency(&st, d.agency_id).await?;
    let now = Utc::now();
    let due = d.due_at.ok_or(AppError::NotFound)?;
    check_delay(&cal, &d, now)?;
    let reason = p.get("reason").map(str::trim).unwrap_or("");
    if reason.is_empty() {
        return Err(AppError::invalid("reason_required", "Nêu lý do chậm trễ.", "State the reason for the delay."));
    }
    let new_date = p
        .get("new_date")
        .and_then(tl_core::fmt::parse_date)
        .ok_or_else(|| AppError::invalid("bad_date", "Ngày hẹn mới phải có dạng dd/mm/yyyy.", "The new date must be dd/mm/yyyy."))?;
    if new_date <= local(due).date() || !cal.is_working_day(new_date) {
        return Err(AppError::invalid(
            "bad_new_date",
            "Ngày hẹn mới phải là một ngày làm việc sau ngày hẹn hiện tại.",
            "The new date must be a working day after the current appointment.",
        ));
    }
    let new_due = utc(new_date.and_time(cal.hours().closing()));
    let mut a = base_action(&d, revision, Some(me.id), now);
    a.kind = "delayed".into();
    a.due_at = Some(new_due);
    a.flow = Some(Flow { delay_count: d.flow.delay_count + 1, ..d.flow.clone() });
    a.detail = json!({"form": "04", "reason": reason.chars().take(2000).collect::<String>(), "previous_due_at": due, "due_at": new_due});
    commit(&st, &Actor::of(&v)?, &a, None).await
}

/// Why a Form 04 delay is not allowed now, if it is not.
pub fn check_delay(cal: &Calendar, d: &Dossier, now: DateTime<Utc>) -> AppResult<()> {
    if d.flow.delay_count > 0 {
        return Err(AppError::invalid(
            "already_delayed",
            "Hồ sơ đã được hẹn lại một lần; pháp luật chỉ cho phép xin lỗi, hẹn lại một lần.",
            "The dossier was already delayed once; the law allows only one delay.",
        ));
    }
    let due = d.due_at.ok_or(AppError::NotFound)?;
    if cal.nth_working_day_after(local(now).date(), 1) > local(due).date() {
        return Err(AppError::invalid(
            "too_late_to_delay",
            "Phiếu xin lỗi và hẹn lại phải gửi chậm nhất 01 ngày làm việc trước ngày hẹn trả.",
            "The apology must be sent at least one working day before the due date.",
        ));
    }
    Ok(())
}

/// POST /dossiers/{id}/withdraw — the applicant asks to stop before a decision. Before reception
/// nothing is being processed, so it stops at once; afterwards the handling officer confirms
/// (Form 05).
pub async fn withdraw(State(st): State<AppState>, v: Visitor, Path(id): Path<String>, p: Pairs) -> AppResult<Response> {
    let me = v.require_account()?.clone();
    let d = load_visible(&st, &v, &id).await?;
    if d.applicant_id != me.id && d.acted_by_id != me.id {
        return Err(AppError::Forbidden);
    }
    let revision = revision_of(&p)?;
    let open = [DossierStatus::Submitted, DossierStatus::Accepted, DossierStatus::Processing, DossierStatus::SupplementRequested];
    if !open.contains(&d.status) {
        return Err(AppError::invalid(
            "cannot_withdraw",
            "Chỉ rút được hồ sơ chưa có kết quả giải quyết.",
            "Only a dossier without a decision can be withdrawn.",
        ));
    }
    let reason = p.get("reason").map(str::trim).unwrap_or("").chars().take(2000).collect::<String>();
    let now = Utc::now();
    let mut a = base_action(&d, revision, Some(me.id), now);
    a.detail = json!({"reason": reason});
    if d.flow.step_id.is_none() {
        a.to = DossierStatus::Stopped;
        a.kind = "withdrawn".into();
        a.flow = Some(Flow { finished_at: Some(now), outcome: Some("withdrawn".into()), ..leave(&d.flow) });
        a.detail["form"] = json!("05");
    } else {
        a.to = DossierStatus::WithdrawalRequested;
        a.kind = "withdrawal_requested".into();
    }
    let done = commit(&st, &Actor::of(&v)?, &a, None).await?;
    Ok(see_other(&format!("/dossiers/{}?acted=1", done.id)))
}

/// POST /dossiers/{id}/stop — the officer confirms the applicant's withdrawal (Form 05).
pub async fn stop(State(st): State<AppState>, v: Visitor, Path(id): Path<String>, p: Pairs) -> AppResult<Response> {
    let me = v.require_account()?.clone();
    let d = load_visible(&st, &v, &id).await?;
    let agencies = st.db.read().await?.list_agencies().await?;
    if !can_act(&v, &d, &agencies) {
        return Err(AppError::Forbidden);
    }
    if d.status != DossierStatus::WithdrawalRequested {
        return Err(AppError::invalid("no_withdrawal", "Công dân chưa yêu cầu rút hồ sơ.", "The applicant has not asked to withdraw."));
    }
    let revision = revision_of(&p)?;
    let now = Utc::now();
    let timeliness = d.flow.step_due_at.map_or(Timeliness::OnTime, |due| Timeliness::of(local(now), local(due)));
    let mut a = base_action(&d, revision, Some(me.id), now);
    a.to = DossierStatus::Stopped;
    a.kind = "withdrawn".into();
    a.close_handoff = Some(HandoffClose { opened: None, decision: "stop".into(), timeliness, note: None });
    a.flow = Some(Flow { finished_at: Some(now), outcome: Some("withdrawn".into()), ..leave(&d.flow) });
    a.detail = json!({"form": "05"});
    let done = commit(&st, &Actor::of(&v)?, &a, None).await?;
    Ok(see_other(&format!("/dossiers/{}?acted=1", done.id)))
}

/// Closes dossiers whose supplement request went unanswered for 15 working days; returns how
/// many. Run periodically by the server.
pub async fn expire_supplements(st: &AppState, now: DateTime<Utc>) -> AppResult<usize> {
    let due = st.db.read().await?.list_expired_supplements(now, 500).await?;
    let mut n = 0;
    for d in due {
        let mut a = base_action(&d, d.revision, None, now);
        a.to = DossierStatus::Stopped;
        a.kind = "supplement_expired".into();
        a.flow = Some(Flow { finished_at: Some(now), outcome: Some("expired".into()), supplement_due_at: None, ..leave(&d.flow) });
        a.detail = json!({"working_days": SUPPLEMENT_WORKING_DAYS});
        let mut w = st.db.begin().await?;
        match w.act_on_dossier(&a).await {
            Ok(done) => {
                if let Some(n) = notice(st, &mut *w, &done, &a).await? {
                    w.notify(&n).await?;
                }
                w.commit().await?;
                n += 1;
            }
            // The applicant answered meanwhile: nothing to close.
            Err(tl_storage::StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}

/// The 766 verdict and the due state of a dossier, for its page.
pub fn clock_view(cal: &Calendar, d: &Dossier, now: DateTime<Utc>, en: bool) -> Value {
    let Some(appointed) = d.flow.appointed_at.or(d.due_at) else { return Value::Null };
    let facts = ClockFacts {
        appointed: Some(local(appointed)),
        statutory: local(appointed),
        supplement_requests: d.supplement_count.max(0) as u32,
        finished: d.flow.finished_at.map(local),
    };
    let running = d.flow.finished_at.is_none() && d.flow.paused_at.is_none();
    let left = d.due_at.map(|due| minutes_left(cal, due, now));
    json!({
        "on_time": tl_core::process::on_time_766(&facts, local(now)),
        "finished": d.flow.finished_at.is_some(),
        "paused": d.flow.paused_at.is_some(),
        "left": if running { left.map(|m| left_label(m, en)) } else { None },
        "state": if running { left.map(|m| DueState::of(m, DUE_SOON_MINUTES).as_str()) } else { None },
        "appointed_at": appointed,
        "delayed": d.flow.delay_count > 0,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct InboxParams {
    pub q: Option<String>,
    pub procedure: Option<String>,
    pub state: Option<String>,
    pub status: Option<String>,
    pub page: Option<u32>,
}

pub const INBOX_PAGE: i64 = 50;

/// The (role, agencies) pairs the visitor acts for: every handling role, at every agency its
/// grants cover.
pub fn inbox_grants(v: &Visitor, agencies: &[AgencyRow]) -> Vec<(Role, Vec<i64>)> {
    grants_of(&v.roles, agencies)
}

/// The same for any actor's role grants (an API caller's).
pub fn grants_of(roles: &[tl_core::account::RoleGrant], agencies: &[AgencyRow]) -> Vec<(Role, Vec<i64>)> {
    crate::filing::HANDLING_ROLES
        .iter()
        .map(|&role| {
            let ids =
                agencies.iter().filter(|a| roles.iter().any(|g| g.role == role && g.covers(&a.electronic_id))).map(|a| a.id).collect();
            (role, ids)
        })
        .filter(|(_, ids): &(Role, Vec<i64>)| !ids.is_empty())
        .collect()
}

/// Builds the storage query of an inbox request (filters checked; bad values are ignored, as a
/// filter form should be forgiving).
pub fn inbox_query(cal: &Calendar, grants: Vec<(Role, Vec<i64>)>, p: &InboxParams, now: DateTime<Utc>) -> InboxQuery {
    let statuses = match p.status.as_deref() {
        Some("waiting") => vec![DossierStatus::SupplementRequested],
        Some("withdrawal") => vec![DossierStatus::WithdrawalRequested],
        Some("all") => vec![],
        _ => vec![DossierStatus::Accepted, DossierStatus::Processing, DossierStatus::Processed, DossierStatus::WithdrawalRequested],
    };
    let soon = utc(cal.add_working_minutes(local(now), DUE_SOON_MINUTES));
    let (due_after, due_before) = match p.state.as_deref().and_then(DueState::parse) {
        Some(DueState::Late) => (None, Some(now)),
        Some(DueState::DueSoon) => (Some(now), Some(soon)),
        Some(DueState::OnTrack) => (Some(soon), None),
        None => (None, None),
    };
    let search = p.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(|q| q.chars().take(60).collect::<String>().to_lowercase());
    let page = i64::from(p.page.unwrap_or(1).clamp(1, 10_000));
    InboxQuery {
        grants,
        statuses,
        procedure_code: p.procedure.as_deref().filter(|c| !c.is_empty() && c.len() <= 40).map(str::to_owned),
        due_before,
        due_after,
        search,
        limit: INBOX_PAGE + 1,
        offset: (page - 1) * INBOX_PAGE,
    }
}

/// GET /office/inbox — the dossiers the officer's roles may act on, most urgent first.
pub async fn inbox(State(st): State<AppState>, v: Visitor, Query(p): Query<InboxParams>) -> AppResult<Response> {
    if v.account.is_none() {
        return Ok(see_other("/signin?next=/office/inbox"));
    }
    let agencies = st.db.read().await?.list_agencies().await?;
    let grants = inbox_grants(&v, &agencies);
    if grants.is_empty() {
        return Err(AppError::Forbidden);
    }
    let cals = st.calendar.all(&st).await?;
    let cal = &cals.standard;
    let now = Utc::now();
    let q = inbox_query(cal, grants, &p, now);
    let mut rows = st.db.read().await?.list_inbox(&q).await?;
    let more = rows.len() as i64 > INBOX_PAGE;
    rows.truncate(INBOX_PAGE as usize);
    let snap = st.catalog.snapshot(&st.db).await?;
    let lang = v.lang.code();
    let en = v.lang == crate::i18n::Lang::En;
    let procedures: Vec<Value> =
        snap.index.docs().map(|d| json!({"code": d.payload.code, "name": d.payload.name.get(lang)})).collect::<Vec<_>>();
    let names: HashMap<&str, &str> = snap.index.docs().map(|d| (d.payload.code.as_str(), d.payload.name.get(lang))).collect();
    let agency_names: HashMap<i64, &str> = agencies.iter().map(|a| (a.id, a.name.get(lang))).collect();
    let mut processes: HashMap<(String, i64), Option<Process>> = HashMap::new();
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let d = &r.dossier;
        let key = (d.procedure_code.clone(), d.version_no);
        if !processes.contains_key(&key) {
            let p = snap.procedure(&st.db, &d.procedure_code, Some(d.version_no)).await?.map(|p| p.version.process().into_owned());
            processes.insert(key.clone(), p);
        }
        let step_name = processes
            .get(&key)
            .and_then(|p| p.as_ref())
            .and_then(|p| d.flow.step_id.as_deref().and_then(|s| p.step(s)))
            .map(|s| s.name.get(lang).to_owned())
            .unwrap_or_else(|| d.flow.step_id.clone().unwrap_or_default());
        let paused = d.flow.paused_at.is_some();
        let left = d.flow.step_due_at.map(|due| minutes_left(cals.by_agency.get(&d.agency_id).unwrap_or(&cals.standard), due, now));
        items.push(json!({
            "id": d.id, "code": d.code, "procedure": names.get(d.procedure_code.as_str()).copied().unwrap_or(&d.procedure_code),
            "applicant": r.applicant_name, "status": d.status.label(lang), "status_key": d.status.as_str(),
            "step": step_name, "role": d.flow.step_role.map(|r| r.label(lang)),
            "agency": d.flow.step_agency_id.and_then(|a| agency_names.get(&a).copied()),
            "step_due_at": d.flow.step_due_at, "due_at": d.due_at,
            "left": if paused { None } else { left.map(|m| left_label(m, en)) },
            "state": if paused { "paused" } else { left.map_or("on_track", |m| DueState::of(m, DUE_SOON_MINUTES).as_str()) },
        }));
    }
    let page = p.page.unwrap_or(1).max(1);
    render(
        &st,
        &v,
        "office/inbox.html",
        minijinja::context! {
            items => items, procedures => procedures, q => p.q, procedure => p.procedure, state => p.state, status => p.status,
            page => page, more => more,
        },
    )
}

/// What the dossier page shows of the process: the clock, the current step, the decisions
/// the visitor may take, the control sheet, and the applicant's own actions.
#[derive(Default)]
pub struct PageView {
    pub clock: Value,
    pub step: Value,
    pub can_act: bool,
    pub decisions: Vec<Value>,
    pub can_delay: bool,
    pub can_supplement: bool,
    pub can_withdraw: bool,
    pub handoffs: Vec<Value>,
}

pub async fn page_view(st: &AppState, v: &Visitor, d: &Dossier, proc: &tl_storage::ProcedureDetail) -> AppResult<PageView> {
    if d.status == DossierStatus::Draft {
        return Ok(PageView::default());
    }
    let me = v.require_account()?;
    let lang = v.lang.code();
    let en = v.lang == crate::i18n::Lang::En;
    let now = Utc::now();
    let cal = st.calendar.for_agency(st, d.agency_id).await?;
    let agencies = st.db.read().await?.list_agencies().await?;
    let agency_name = |id: Option<i64>| id.and_then(|id| agencies.iter().find(|a| a.id == id)).map(|a| a.name.get(lang).to_owned());
    let process = proc.version.process();
    let current = d.flow.step_id.as_deref().and_then(|s| process.step(s));
    let step_name = |id: &str| match id {
        "reception" => {
            if en {
                "Reception (one-stop desk)".to_owned()
            } else {
                "Tiếp nhận hồ sơ (bộ phận một cửa)".to_owned()
            }
        }
        _ => process.step(id).map_or_else(|| id.to_owned(), |s| s.name.get(lang).to_owned()),
    };
    let can_act = can_act(v, d, &agencies);
    // Offered only when the server would take them (not while waiting for the applicant).
    let decidable = matches!(d.status, DossierStatus::Accepted | DossierStatus::Processing | DossierStatus::Processed);
    let decisions = match (can_act && decidable, current) {
        (true, Some(s)) => s
            .decisions
            .iter()
            .map(|x| json!({"id": x.id, "label": x.label.get(lang), "kind": x.kind.as_str(), "to_name": x.to.as_deref().map(&step_name)}))
            .collect(),
        _ => vec![],
    };
    let leader = v.roles.iter().any(|g| g.role == Role::Leader && g.covers(&d.agency_electronic_id));
    let running = d.flow.step_id.is_some() && d.flow.outcome.is_none();
    let can_delay = running && (can_act || leader) && check_delay(&cal, d, now).is_ok();
    let own = d.applicant_id == me.id || d.acted_by_id == me.id;
    let handoffs = st
        .db
        .read()
        .await?
        .list_handoffs(d.id)
        .await?
        .into_iter()
        .map(|h| {
            json!({
                "step": step_name(&h.step_id), "agency": h.agency_name, "started_at": h.started_at, "due_at": h.due_at,
                "giver": h.giver_name, "handler": h.handler_name, "ended_at": h.ended_at,
                "decision": h.decision.as_deref().map(|k| current_or_any_decision_label(&process, &h.step_id, k, lang)),
                "timeliness": h.timeliness.map(|t| t.label(lang)),
                "timeliness_class": h.timeliness.map(|t| match t { Timeliness::Late => "late", _ => "ok" }),
                "note": h.note,
            })
        })
        .collect();
    Ok(PageView {
        clock: clock_view(&cal, d, now, en),
        step: current.map_or(Value::Null, |s| {
            json!({"name": s.name.get(lang), "role": s.role.label(lang), "agency": agency_name(d.flow.step_agency_id), "due_at": d.flow.step_due_at})
        }),
        can_act,
        decisions,
        can_delay,
        can_supplement: own && d.status == DossierStatus::SupplementRequested,
        can_withdraw: own
            && matches!(
                d.status,
                DossierStatus::Submitted | DossierStatus::Accepted | DossierStatus::Processing | DossierStatus::SupplementRequested
            ),
        handoffs,
    })
}

fn current_or_any_decision_label(process: &Process, step: &str, key: &str, lang: &str) -> String {
    match (step, key) {
        ("reception", "accept") => return if lang == "en" { "Accepted (Form 01)".into() } else { "Tiếp nhận (Mẫu 01)".into() },
        (_, "stop") => {
            return if lang == "en" {
                "Stopped at the applicant's request (Form 05)".into()
            } else {
                "Dừng theo yêu cầu (Mẫu 05)".into()
            }
        }
        _ => {}
    }
    process
        .step(step)
        .and_then(|s| s.decisions.iter().find(|d| d.id == key))
        .map_or_else(|| key.to_owned(), |d| d.label.get(lang).to_owned())
}

/// Alerts the one-stop officers of new online filings (Decree 118/2025: within 2 working hours
/// of the filing; the server checks every minute): a notification in the app and a mail to each
/// officer with the Reception role at the dossier's agency or above. Returns how many dossiers.
pub async fn alert_reception(st: &AppState, now: DateTime<Utc>) -> AppResult<usize> {
    let due = st.db.read().await?.list_unalerted_filings(now, 200).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let agencies = st.db.read().await?.list_agencies().await?;
    let parent: HashMap<i64, Option<i64>> = agencies.iter().map(|a| (a.id, a.parent_id)).collect();
    let mut n = 0;
    for d in due {
        let mut chain = vec![];
        let mut at = Some(d.agency_id);
        while let Some(id) = at.filter(|_| chain.len() < 16) {
            chain.push(id);
            at = parent.get(&id).copied().flatten();
        }
        let mut w = st.db.begin().await?;
        let officers = w.officers_with_role(Role::Reception, &chain).await?;
        let code = d.code.clone().unwrap_or_default();
        let cal = st.calendar.for_agency(st, d.agency_id).await?;
        let left = crate::office::reception_left(&cal, &d, now).unwrap_or(crate::office::RECEPTION_MINUTES);
        for o in officers {
            w.notify(&tl_storage::NewNotice {
                account_id: o.id,
                dossier_id: Some(d.id),
                kind: "reception_alert".into(),
                title_vi: format!("Hồ sơ trực tuyến mới {code} chờ tiếp nhận"),
                title_en: format!("New online dossier {code} waiting for reception"),
                body_vi: format!(
                    "Hồ sơ phải được tiếp nhận hoặc yêu cầu bổ sung trong 8 giờ làm việc kể từ khi nộp ({}).\n{}/dossiers/{}",
                    left_label(left, false),
                    st.config.public_url,
                    d.id
                ),
                body_en: format!(
                    "It must be accepted or sent back within 8 working hours of filing ({}).\n{}/dossiers/{}",
                    left_label(left, true),
                    st.config.public_url,
                    d.id
                ),
                link: Some(format!("/dossiers/{}", d.id)),
                email: o.email.clone(),
                now,
            })
            .await?;
        }
        w.mark_reception_alerted(d.id, now).await?;
        w.commit().await?;
        n += 1;
    }
    Ok(n)
}
