//! Administration of the working calendar (lịch làm việc): the dates that differ from the
//! weekend rule — public holidays, days off in lieu, weekend days worked. The lunar calendar
//! proposes each year's Tết and Hùng Kings' day (and the fixed holidays, with days off for
//! those on a weekend); nothing counts until an administrator confirms it, because the real
//! days are decided by the government each year.

use crate::auth::audit;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::web::{render_status, see_other, CsrfForm, FormErrors, Visitor};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use tl_core::calendar::{proposed_holidays, DayKind};
use tl_storage::CalendarDay;

#[derive(Deserialize)]
pub struct YearQuery {
    year: Option<i32>,
    saved: Option<String>,
}

fn year_or_now(y: Option<i32>) -> i32 {
    let now = tl_core::time::local_date(Utc::now()).year();
    y.filter(|y| (2000..=2100).contains(y)).unwrap_or(now)
}

fn kinds(lang: Lang) -> Vec<serde_json::Value> {
    [DayKind::Holiday, DayKind::DayOff, DayKind::WorkingDay]
        .iter()
        .map(|k| json!({"value": serde_json::to_value(k).unwrap_or_default(), "label": k.label(lang.code())}))
        .collect()
}

async fn page(st: &AppState, v: &Visitor, year: i32, errors: FormErrors, form: serde_json::Value, saved: bool) -> AppResult<Response> {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let l = v.lang.code();
    let from = NaiveDate::from_ymd_opt(year, 1, 1).expect("year in range");
    let to = NaiveDate::from_ymd_opt(year, 12, 31).expect("year in range");
    let days = st.db.read().await?.list_calendar_days(from, to).await?;
    let weekday = |d: NaiveDate| {
        let i = d.weekday().num_days_from_monday() as usize;
        if v.lang == Lang::En {
            ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][i]
        } else {
            ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"][i]
        }
    };
    let rows: Vec<_> = days
        .iter()
        .map(|d| json!({"day": d.day, "weekday": weekday(d.day), "kind": d.kind.label(l), "name": d.name, "iso": d.day.to_string()}))
        .collect();
    let known: std::collections::HashSet<NaiveDate> = days.iter().map(|d| d.day).collect();
    let proposals: Vec<_> = proposed_holidays(year)
        .into_iter()
        .filter(|p| !known.contains(&p.date))
        .map(|p| {
            let lunar = tl_core::lunar::to_lunar(p.date);
            json!({"day": p.date, "weekday": weekday(p.date), "kind": p.kind.label(l), "name": p.name,
                   "lunar": format!("{}/{}{}", lunar.day, lunar.month, if !lunar.leap { "" } else if v.lang == Lang::En { " (leap)" } else { " (nhuận)" })})
        })
        .collect();
    let agencies = st.db.read().await?.list_agencies().await?;
    let hours: Vec<_> = st
        .db
        .read()
        .await?
        .list_office_hours()
        .await?
        .into_iter()
        .filter_map(|(id, periods)| {
            let a = agencies.iter().find(|a| a.id == id)?;
            Some(json!({"eid": a.electronic_id, "name": a.name.get(l), "periods": periods.replace(',', ", ")}))
        })
        .collect();
    let agency_options: Vec<_> = agencies.iter().map(|a| json!({"eid": a.electronic_id, "name": a.name.get(l)})).collect();
    let ctx = minijinja::context! {
        hours => hours, agency_options => agency_options, standard_hours => tl_core::calendar::OfficeHours::standard().to_text().replace(',', ", "),
        year => year, prev => year - 1, next => year + 1, rows => rows, proposals => proposals, kinds => kinds(v.lang),
        errors => errors.items, field_errors => errors.by_field(), form => form, saved => saved,
        tet => tl_core::lunar::lunar_new_year(year), hung => tl_core::lunar::hung_kings_day(year),
    };
    render_status(st, v, "admin/calendar.html", ctx, status)
}

pub async fn show(State(st): State<AppState>, v: Visitor, Query(q): Query<YearQuery>) -> AppResult<Response> {
    v.require_admin()?;
    page(&st, &v, year_or_now(q.year), FormErrors::default(), json!({}), q.saved.is_some()).await
}

#[derive(Deserialize, serde::Serialize, Default)]
pub struct DayForm {
    #[serde(default)]
    year: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    /// A service point (electronic ID) and its office hours, for "hours" / "hours_delete".
    #[serde(default)]
    agency: String,
    #[serde(default)]
    periods: String,
    /// "set", "delete", "confirm" (every proposal of the year), "hours" or "hours_delete".
    #[serde(default)]
    action: String,
}

pub async fn update(State(st): State<AppState>, v: Visitor, CsrfForm(f): CsrfForm<DayForm>) -> AppResult<Response> {
    let me = v.require_admin()?.clone();
    let year = year_or_now(f.year.parse().ok());
    let now = Utc::now();
    match f.action.as_str() {
        "hours" | "hours_delete" => {
            let mut errors = FormErrors::default();
            let agency = st.db.read().await?.get_agency(f.agency.trim()).await?;
            if agency.is_none() {
                errors.add(v.lang, "agency", "Chọn điểm phục vụ (cơ quan).", "Choose the service point (agency).");
            }
            let periods = if f.action == "hours" {
                match tl_core::calendar::OfficeHours::parse(&f.periods) {
                    Ok(h) => Some(h.to_text()),
                    Err(_) => {
                        errors.add(
                            v.lang,
                            "periods",
                            "Nhập các buổi làm việc theo thứ tự, ví dụ “07:30-11:30, 13:30-17:00” (tối đa 4 buổi).",
                            "Enter the opening periods in order, e.g. “07:30-11:30, 13:30-17:00” (4 at most).",
                        );
                        None
                    }
                }
            } else {
                None
            };
            if !errors.is_empty() {
                return page(&st, &v, year, errors, serde_json::to_value(&f).unwrap_or_default(), false).await;
            }
            let agency = agency.expect("checked");
            let mut w = st.db.begin().await?;
            w.set_office_hours(agency.id, periods.as_deref(), now).await?;
            w.append_audit(&audit(&v, None, "calendar.office_hours", "agency", &agency.electronic_id, json!({"periods": periods}))).await?;
            w.commit().await?;
        }
        "confirm" => {
            let from = NaiveDate::from_ymd_opt(year, 1, 1).expect("year");
            let to = NaiveDate::from_ymd_opt(year, 12, 31).expect("year");
            let mut w = st.db.begin().await?;
            let known: std::collections::HashSet<NaiveDate> = w.list_calendar_days(from, to).await?.into_iter().map(|d| d.day).collect();
            let mut added = vec![];
            for p in proposed_holidays(year).into_iter().filter(|p| !known.contains(&p.date)) {
                w.set_calendar_day(&CalendarDay {
                    day: p.date,
                    kind: p.kind,
                    name: p.name.clone(),
                    confirmed_by: Some(me.id),
                    confirmed_at: now,
                })
                .await?;
                added.push(p.date.to_string());
            }
            w.append_audit(&audit(&v, None, "calendar.confirm_proposals", "calendar", &year.to_string(), json!({"days": added}))).await?;
            w.commit().await?;
        }
        "delete" => {
            let day = tl_core::fmt::parse_date(&f.day).or_else(|| f.day.parse().ok()).ok_or(AppError::NotFound)?;
            let mut w = st.db.begin().await?;
            if w.delete_calendar_day(day).await? {
                w.append_audit(&audit(&v, None, "calendar.delete", "calendar", &day.to_string(), json!({}))).await?;
            }
            w.commit().await?;
        }
        _ => {
            let mut errors = FormErrors::default();
            let day = tl_core::fmt::parse_date(&f.day);
            if day.is_none() {
                errors.add(v.lang, "day", "Nhập ngày theo dạng dd/mm/yyyy.", "Enter the date as dd/mm/yyyy.");
            }
            let kind: Option<DayKind> = serde_json::from_value(serde_json::Value::String(f.kind.clone())).ok();
            if kind.is_none() {
                errors.add(v.lang, "kind", "Chọn loại ngày.", "Choose the kind of day.");
            }
            let name = f.name.split_whitespace().collect::<Vec<_>>().join(" ");
            if name.is_empty() || name.chars().count() > 120 {
                errors.add(
                    v.lang,
                    "name",
                    "Nhập tên ngày (tối đa 120 ký tự), ví dụ “Tết Nguyên đán”.",
                    "Enter a name (at most 120 characters), e.g. “Lunar New Year”.",
                );
            }
            if let Some(d) = day.filter(|d| !(2000..=2100).contains(&d.year())) {
                errors.add(
                    v.lang,
                    "day",
                    &format!("Năm {} nằm ngoài lịch (2000–2100).", d.year()),
                    &format!("{} is outside the calendar (2000–2100).", d.year()),
                );
            }
            if !errors.is_empty() {
                return page(&st, &v, year, errors, serde_json::to_value(&f).unwrap_or_default(), false).await;
            }
            let (day, kind) = (day.expect("checked"), kind.expect("checked"));
            let mut w = st.db.begin().await?;
            w.set_calendar_day(&CalendarDay { day, kind, name: name.clone(), confirmed_by: Some(me.id), confirmed_at: now }).await?;
            w.append_audit(&audit(&v, None, "calendar.set", "calendar", &day.to_string(), json!({"kind": f.kind, "name": name}))).await?;
            w.commit().await?;
            return Ok(see_other(&format!("/admin/calendar?year={}&saved=1", day.year())));
        }
    }
    Ok(see_other(&format!("/admin/calendar?year={year}&saved=1")))
}
