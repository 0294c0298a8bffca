//! The one-stop back office (bộ phận một cửa), reception first (Decree 118/2025 art. 15–16;
//! DOMAIN.md §3): online dossiers waiting for reception with what is left of their 8 working
//! hours, and the three reception decisions — accept (Form 01, with the appointment computed
//! on the working calendar), ask for a supplement listing everything missing at once (Form 02),
//! or refuse with reasons (Form 03). Each decision names the dossier revision it was taken on:
//! of two officers deciding at once, one wins and the other is told the dossier changed.

use crate::error::{AppError, AppResult};
use crate::filing::{load_visible, Pairs};
use crate::web::{render, see_other, Visitor};
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::Utc;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tl_core::account::Role;
use tl_core::calendar::{Calendar, OfficeHours};
use tl_core::dossier::DossierStatus;
use tl_storage::Dossier;

/// The working calendar as the back office reads it: one per set of office hours (service
/// points may keep their own), rebuilt when an administrator changes the calendar or the hours
/// (checked at most once a second, like the catalog).
#[derive(Default)]
pub struct CalendarCache {
    current: RwLock<Option<(i64, Instant, Arc<Calendars>)>>,
}

/// The standard calendar and each agency's, when its hours (or an ancestor's) differ.
pub struct Calendars {
    pub standard: Arc<Calendar>,
    pub by_agency: HashMap<i64, Arc<Calendar>>,
}

impl CalendarCache {
    /// The calendar with the standard office hours.
    pub async fn get(&self, st: &AppState) -> AppResult<Arc<Calendar>> {
        Ok(self.all(st).await?.standard.clone())
    }

    /// The calendar of a service point: its own hours, else the nearest ancestor's, else the
    /// standard ones.
    pub async fn for_agency(&self, st: &AppState, agency_id: i64) -> AppResult<Arc<Calendar>> {
        let all = self.all(st).await?;
        Ok(all.by_agency.get(&agency_id).unwrap_or(&all.standard).clone())
    }

    pub async fn all(&self, st: &AppState) -> AppResult<Arc<Calendars>> {
        // Copied out of the lock at once: a read guard still held while taking the write lock
        // would deadlock the thread.
        let current = self.current.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some((_, checked, cal)) = &current {
            if checked.elapsed() < Duration::from_secs(1) {
                return Ok(cal.clone());
            }
        }
        let mut r = st.db.read().await?;
        let generation = r.calendar_generation().await?;
        if let Some((g, _, cal)) = current {
            if g == generation {
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some((generation, Instant::now(), cal.clone()));
                return Ok(cal);
            }
        }
        let (from, to) = tl_core::calendar::DEFAULT_RANGE;
        let days = r
            .list_calendar_days(
                chrono::NaiveDate::from_ymd_opt(from, 1, 1).expect("date"),
                chrono::NaiveDate::from_ymd_opt(to, 12, 31).expect("date"),
            )
            .await?;
        let hours: HashMap<i64, String> = r.list_office_hours().await?.into_iter().collect();
        let agencies = r.list_agencies().await?;
        drop(r);
        let overrides: Vec<_> = days.iter().map(|d| (d.day, d.kind)).collect();
        let build = |h: OfficeHours| {
            Calendar::new(from, to, &[chrono::Weekday::Sat, chrono::Weekday::Sun], &overrides, h)
                .map(Arc::new)
                .map_err(|e| AppError::Internal(e.into()))
        };
        let standard = build(OfficeHours::standard())?;
        let mut built: HashMap<String, Arc<Calendar>> = HashMap::new();
        let mut by_agency = HashMap::new();
        let parent: HashMap<i64, Option<i64>> = agencies.iter().map(|a| (a.id, a.parent_id)).collect();
        for a in &agencies {
            // The nearest agency up the tree with hours of its own (bounded: the tree is shallow).
            let mut at = Some(a.id);
            let mut own = None;
            for _ in 0..16 {
                let Some(id) = at else { break };
                if let Some(h) = hours.get(&id) {
                    own = Some(h.clone());
                    break;
                }
                at = parent.get(&id).copied().flatten();
            }
            let Some(text) = own else { continue };
            let Ok(h) = OfficeHours::parse(&text) else { continue };
            if h == OfficeHours::standard() {
                continue;
            }
            let cal = match built.get(&text) {
                Some(c) => c.clone(),
                None => {
                    let c = build(h)?;
                    built.insert(text.clone(), c.clone());
                    c
                }
            };
            by_agency.insert(a.id, cal);
        }
        let all = Arc::new(Calendars { standard, by_agency });
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some((generation, Instant::now(), all.clone()));
        Ok(all)
    }
}

/// Online dossiers must be accepted or sent back within 8 working hours of filing.
pub const RECEPTION_MINUTES: i64 = 8 * 60;

use crate::workflow::{local, utc};

/// Working minutes left of the reception limit for a dossier filed online.
/// The moment the 8 working hours of an online dossier run out.
pub fn reception_due(cal: &Calendar, d: &Dossier) -> Option<chrono::DateTime<Utc>> {
    let filed = d.flow.step_started_at.or(d.submitted_at)?;
    (d.channel == tl_core::catalog::Channel::Online && d.status == DossierStatus::Submitted)
        .then(|| utc(cal.add_working_minutes(cal.effective_start(local(filed), None), RECEPTION_MINUTES)))
}

pub fn reception_left(cal: &Calendar, d: &Dossier, now: chrono::DateTime<Utc>) -> Option<i64> {
    // A completed supplement starts the 8 hours again.
    let filed = d.flow.step_started_at.or(d.submitted_at)?;
    (d.channel == tl_core::catalog::Channel::Online && d.status == DossierStatus::Submitted)
        .then(|| RECEPTION_MINUTES - cal.working_minutes_between(cal.effective_start(local(filed), None), local(now)))
}

/// Agencies where the visitor holds `role` (or sits above them).
async fn agencies_with(st: &AppState, v: &Visitor, role: Role) -> AppResult<Vec<i64>> {
    let all = st.db.read().await?.list_agencies().await?;
    Ok(all.into_iter().filter(|a| v.roles.iter().any(|g| g.role == role && g.covers(&a.electronic_id))).map(|a| a.id).collect())
}

fn hours_label(minutes: i64, en: bool) -> String {
    let m = minutes.abs();
    let text = if en { format!("{}h{:02}", m / 60, m % 60) } else { format!("{} giờ {:02} phút", m / 60, m % 60) };
    match (minutes < 0, en) {
        (true, true) => format!("{text} overdue"),
        (true, false) => format!("quá hạn {text}"),
        (false, true) => format!("{text} left"),
        (false, false) => format!("còn {text}"),
    }
}

/// The reception queue: filed dossiers of the officer's agencies, the most urgent first.
pub async fn queue(State(st): State<AppState>, v: Visitor) -> AppResult<Response> {
    if v.account.is_none() {
        return Ok(see_other("/signin?next=/office"));
    }
    let agencies = agencies_with(&st, &v, Role::Reception).await?;
    if agencies.is_empty() {
        return Err(AppError::Forbidden);
    }
    let cals = st.calendar.all(&st).await?;
    let now = Utc::now();
    let rows = st.db.read().await?.list_queue(&agencies, &[DossierStatus::Submitted], 500).await?;
    let snap = st.catalog.snapshot(&st.db).await?;
    let names: HashMap<&str, String> =
        snap.index.docs().map(|d| (d.payload.code.as_str(), d.payload.name.get(v.lang.code()).to_owned())).collect();
    let en = v.lang == crate::i18n::Lang::En;
    // The applicants' names: a queue holds dozens of dossiers, a few hundred at most.
    let mut applicants: HashMap<i64, String> = HashMap::new();
    {
        let mut r = st.db.read().await?;
        for d in &rows {
            if let std::collections::hash_map::Entry::Vacant(e) = applicants.entry(d.applicant_id) {
                e.insert(r.get_account(d.applicant_id).await?.map(|a| a.display_name).unwrap_or_default());
            }
        }
    }
    let mut items: Vec<(i64, Value)> = rows
        .iter()
        .map(|d| {
            let cal = cals.by_agency.get(&d.agency_id).unwrap_or(&cals.standard);
            let left = reception_left(cal, d, now);
            let state = match left {
                Some(m) if m < 0 => "late",
                Some(m) if m < 120 => "soon",
                _ => "ok",
            };
            let item = json!({
                "id": d.id, "code": d.code, "procedure": names.get(d.procedure_code.as_str()).cloned().unwrap_or_else(|| d.procedure_code.clone()),
                "channel": d.channel.label(v.lang.code()), "submitted_at": d.submitted_at, "agency": d.agency_electronic_id,
                "left": left.map(|m| hours_label(m, en)), "state": state, "due_at": reception_due(cal, d),
                "applicant": applicants.get(&d.applicant_id),
            });
            (left.unwrap_or(i64::MAX), item)
        })
        .collect();
    items.sort_by_key(|(left, _)| *left);
    let items: Vec<Value> = items.into_iter().map(|(_, v)| v).collect();
    render(&st, &v, "office/queue.html", minijinja::context! { items => items })
}

/// Whether the visitor may take reception decisions on `d`.
pub fn can_receive(v: &Visitor, d: &Dossier) -> bool {
    d.status == DossierStatus::Submitted && v.roles.iter().any(|g| g.role == Role::Reception && g.covers(&d.agency_electronic_id))
}

/// Accept, ask for a supplement, or refuse.
pub async fn receive(State(st): State<AppState>, v: Visitor, Path(id): Path<String>, p: Pairs) -> AppResult<Response> {
    let d = load_visible(&st, &v, &id).await?;
    match receive_action(&st, &v, &d, &p).await {
        Ok(done) => Ok(see_other(&format!("/dossiers/{}?acted=1", done.id))),
        Err(e) => crate::filing::show_with_error(&st, &v, &d, e).await,
    }
}

async fn receive_action(st: &AppState, v: &Visitor, d: &Dossier, p: &Pairs) -> AppResult<Dossier> {
    let me = v.require_account()?.clone();
    let (st, v, d) = (st.clone(), v.clone(), d.clone());
    if !v.roles.iter().any(|g| g.role == Role::Reception && g.covers(&d.agency_electronic_id)) {
        return Err(AppError::Forbidden);
    }
    let revision: i64 = p.get("revision").and_then(|r| r.parse().ok()).ok_or_else(|| {
        AppError::invalid("bad_revision", "Biểu mẫu thiếu số phiên bản hồ sơ.", "The form does not name the dossier revision.")
    })?;
    let lines = |k: &str| crate::workflow::lines(p, k);
    let now = Utc::now();
    let mut action = crate::workflow::base_action(&d, revision, Some(me.id), now);
    action.from = vec![DossierStatus::Submitted];
    action.to = DossierStatus::Accepted;
    match p.get("action").unwrap_or("") {
        "accept" => {
            crate::workflow::accept_action(&st, &d, now, &mut action).await?;
            action.kind = "received".into();
            action.detail = json!({"form": "01", "due_at": action.due_at});
        }
        "supplement" => {
            let missing = lines("missing");
            if missing.is_empty() {
                return Err(AppError::invalid(
                    "missing_required",
                    "Liệt kê đầy đủ, một lần, mọi giấy tờ hoặc nội dung cần bổ sung (mỗi dòng một mục).",
                    "List everything to add, all at once (one item per line).",
                ));
            }
            let cal = st.calendar.for_agency(&st, d.agency_id).await?;
            let until = utc(cal.due(local(now), crate::workflow::SUPPLEMENT_WORKING_DAYS, tl_core::catalog::TimeUnit::WorkingDays, None));
            action.to = DossierStatus::SupplementRequested;
            action.kind = "supplement_requested".into();
            action.supplement = true;
            action.flow = Some(tl_storage::Flow { supplement_due_at: Some(until), ..d.flow.clone() });
            action.detail = json!({"form": "02", "missing": missing, "until": until});
        }
        "refuse" => {
            let reasons = lines("reasons");
            if reasons.is_empty() {
                return Err(AppError::invalid("reasons_required", "Ghi rõ lý do từ chối tiếp nhận.", "State the reasons for refusing."));
            }
            action.to = DossierStatus::NotAccepted;
            action.kind = "refused".into();
            action.flow = Some(tl_storage::Flow { finished_at: Some(now), outcome: Some("not_accepted".into()), ..d.flow.clone() });
            action.detail = json!({"form": "03", "reasons": reasons});
        }
        _ => return Err(AppError::invalid("bad_action", "Thao tác không hợp lệ.", "Unknown action.")),
    }
    crate::workflow::commit(&st, &crate::workflow::Actor::of(&v)?, &action, None).await
}
