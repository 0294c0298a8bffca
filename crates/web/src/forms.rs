//! The one-stop shop's papers as PDFs (Circular 03/2025/TT-VPCP; DOMAIN.md §3): Form 01 receipt
//! and appointment, 02 supplement request, 03 refusal, 04 apology and new date, 05 notice of
//! stopping, 06 process control sheet — each from the dossier's own record and signed by the
//! officer who took the action (06, an internal sheet, is not signed) — and Form 07, the
//! register of a service point for a period, as PDF or CSV.

use crate::error::{AppError, AppResult};
use crate::filing::load_visible;
use crate::web::{see_other, Visitor};
use crate::workflow::{local, utc};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;
use serde_json::Value;
use tl_core::account::Role;
use tl_forms::{Addressee, ApplicantKind, Form, Letterhead, Moment};
use tl_storage::{AgencyRow, Dossier, DossierEvent};

fn day(t: DateTime<Utc>) -> String {
    local(t).format("%d/%m/%Y").to_string()
}

fn moment(t: Option<DateTime<Utc>>) -> Moment {
    t.map_or_else(Moment::default, |t| Moment::new(&local(t).format("%H:%M").to_string(), &day(t)))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
}

fn timeliness(t: tl_core::process::Timeliness) -> tl_forms::Timeliness {
    match t {
        tl_core::process::Timeliness::Early => tl_forms::Timeliness::Early,
        tl_core::process::Timeliness::OnTime => tl_forms::Timeliness::OnTime,
        tl_core::process::Timeliness::Late => tl_forms::Timeliness::Late,
    }
}

fn letterhead(agencies: &[AgencyRow], agency_id: i64, at: DateTime<Utc>, number: Option<String>) -> Letterhead {
    let agency = agencies.iter().find(|a| a.id == agency_id);
    let superior = agency.and_then(|a| a.parent_id).and_then(|p| agencies.iter().find(|a| a.id == p)).map(|a| a.name.vi.clone());
    Letterhead {
        superior: superior.unwrap_or_default(),
        agency: agency.map(|a| a.name.vi.clone()).unwrap_or_default(),
        number,
        place: "Hà Nội".into(),
        date: day(at),
    }
}

/// The forms a dossier has, from its history: (number, Vietnamese title).
pub fn available(events: &[DossierEvent], has_handoffs: bool) -> Vec<(&'static str, &'static str)> {
    let mut out = vec![];
    let has = |k: &str| events.iter().any(|e| e.kind == k);
    if has("received") {
        out.push(("01", "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"));
    }
    if has("supplement_requested") {
        out.push(("02", "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"));
    }
    if has("refused") {
        out.push(("03", "Phiếu từ chối tiếp nhận giải quyết hồ sơ"));
    }
    if has("delayed") {
        out.push(("04", "Phiếu xin lỗi và hẹn lại ngày trả kết quả"));
    }
    if has("withdrawn") {
        out.push(("05", "Thông báo dừng giải quyết hồ sơ"));
    }
    if has_handoffs {
        out.push(("06", "Phiếu kiểm soát quá trình giải quyết hồ sơ"));
    }
    out
}

fn pdf(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("inline; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// GET /dossiers/{id}/forms/{nn}.pdf
pub async fn form(State(st): State<AppState>, v: Visitor, Path((id, file)): Path<(String, String)>) -> AppResult<Response> {
    if v.account.is_none() {
        return Ok(see_other(&format!("/signin?next=/dossiers/{id}")));
    }
    let d = load_visible(&st, &v, &id).await?;
    let number = file.strip_suffix(".pdf").ok_or(AppError::NotFound)?;
    let events = st.db.read().await?.list_dossier_events(d.id).await?;
    let handoffs = st.db.read().await?.list_handoffs(d.id).await?;
    if !available(&events, !handoffs.is_empty()).iter().any(|(n, _)| *n == number) {
        return Err(AppError::NotFound);
    }
    let target = format!("{}/{number}", d.code.as_deref().unwrap_or_default());
    crate::access::visitor_read(&st, &v, &d, "dossier.form_pdf", Some(&target)).await;
    let last = |kind: &str| events.iter().rev().find(|e| e.kind == kind).cloned().ok_or(AppError::NotFound);
    let proc = crate::workflow::procedure_of(&st, &d).await?;
    let agencies = st.db.read().await?.list_agencies().await?;
    let applicant = st.db.read().await?.get_account(d.applicant_id).await?.ok_or(AppError::NotFound)?;
    let agency_name = agencies.iter().find(|a| a.id == d.agency_id).map(|a| a.name.vi.clone()).unwrap_or_default();
    let code = d.code.clone().unwrap_or_default();
    let kind = match applicant.kind {
        tl_core::account::AccountKind::Business => ApplicantKind::Organisation,
        _ => ApplicantKind::Person,
    };
    let addressee = Addressee { name: applicant.display_name.clone(), kind };
    let procedure = proc.version.name.vi.clone();
    let lang = tl_forms::Lang::Vi;
    let verify_url = Some(format!("{}/lookup?code={code}", st.config.public_url));
    let signer = |e: &DossierEvent| {
        let st = st.clone();
        let actor = e.actor_id;
        async move {
            match actor {
                Some(a) => st.db.read().await?.get_account(a).await.map_err(AppError::from),
                None => Ok(None),
            }
        }
    };
    let received = d.received_at.map(day).unwrap_or_default();
    let (doc, event, who): (tl_pdf::Document, DossierEvent, Option<tl_storage::Account>) = match number {
        "01" => {
            let e = last("received")?;
            let who = signer(&e).await?;
            let components = proc
                .version
                .components
                .iter()
                .map(|c| tl_forms::Component {
                    name: c.name.vi.clone(),
                    form: if d.channel == tl_core::catalog::Channel::Online {
                        tl_forms::CopyForm::Electronic
                    } else {
                        tl_forms::CopyForm::Original
                    },
                    count: "01".into(),
                })
                .collect();
            let doc = tl_forms::Receipt {
                lang,
                letterhead: letterhead(&agencies, d.agency_id, e.at, Some(format!("{}/GTN", code.rsplit('-').next().unwrap_or("")))),
                dossier_code: code.clone(),
                receiving_unit: agency_name.clone(),
                applicant: tl_forms::Applicant {
                    kind,
                    name: applicant.display_name.clone(),
                    id_number: applicant.login.clone(),
                    address: String::new(),
                    phone: applicant.phone.clone().unwrap_or_default(),
                    email: applicant.email.clone().unwrap_or_default(),
                },
                authorised_person: (d.acted_by_id != d.applicant_id).then(|| "Cán bộ một cửa nhập hộ tại quầy".to_owned()),
                procedure: procedure.clone(),
                components,
                sets: "01".into(),
                time_limit: proc.version.time_limit_for(d.channel).map(|t| t.unit.label("vi", t.value)).unwrap_or_default(),
                received_at: moment(d.received_at),
                return_at: moment(d.flow.appointed_at.or(d.due_at)),
                result_at: format!("{agency_name}, hoặc nhận kết quả điện tử trong mục Hồ sơ của tôi"),
                register_volume: local(e.at).format("%Y").to_string(),
                register_serial: code.rsplit('-').next().unwrap_or("").to_owned(),
                submitter: applicant.display_name.clone(),
                receiver: who.as_ref().map(|a| a.display_name.clone()).unwrap_or_default(),
                verify_url: verify_url.clone(),
            };
            (doc.document(), e, who)
        }
        "02" => {
            let e = last("supplement_requested")?;
            let who = signer(&e).await?;
            let doc = tl_forms::SupplementRequest {
                lang,
                letterhead: letterhead(&agencies, d.agency_id, e.at, None),
                addressee: addressee.clone(),
                dossier_code: code.clone(),
                procedure: procedure.clone(),
                received_date: d.submitted_at.map(day).unwrap_or_default(),
                items: strings(e.detail.get("missing"))
                    .into_iter()
                    .map(|what| tl_forms::SupplementItem { what, reason: String::new() })
                    .collect(),
                guidance: Some("Bổ sung trực tuyến trong mục Hồ sơ của tôi, hoặc tại bộ phận một cửa.".into()),
                deadline: e.detail.get("until").and_then(Value::as_str).and_then(|t| t.parse::<DateTime<Utc>>().ok()).map(day),
                officer: officer_card(who.as_ref()),
                verify_url: verify_url.clone(),
            };
            (doc.document(), e, who)
        }
        "03" => {
            let e = last("refused")?;
            let who = signer(&e).await?;
            let doc = tl_forms::Refusal {
                lang,
                letterhead: letterhead(&agencies, d.agency_id, e.at, None),
                addressee: addressee.clone(),
                procedure: procedure.clone(),
                dossier_code: Some(code.clone()),
                legal_basis: None,
                reasons: strings(e.detail.get("reasons")),
                officer: officer_card(who.as_ref()),
                verify_url: verify_url.clone(),
            };
            (doc.document(), e, who)
        }
        "04" => {
            let e = last("delayed")?;
            let who = signer(&e).await?;
            let at = |k: &str| e.detail.get(k).and_then(Value::as_str).and_then(|t| t.parse::<DateTime<Utc>>().ok());
            let doc = tl_forms::Apology {
                lang,
                letterhead: letterhead(&agencies, d.agency_id, e.at, None),
                addressee: addressee.clone(),
                received_date: received.clone(),
                procedure: procedure.clone(),
                dossier_code: code.clone(),
                original_return: at("previous_due_at").map(day).unwrap_or_default(),
                reason: e.detail.get("reason").and_then(Value::as_str).unwrap_or("").to_owned(),
                new_return: at("due_at").map(day).unwrap_or_default(),
                signer: tl_forms::Signer { title: String::new(), name: who.as_ref().map(|a| a.display_name.clone()).unwrap_or_default() },
                verify_url: verify_url.clone(),
            };
            (doc.document(), e, who)
        }
        "05" => {
            let e = last("withdrawn")?;
            let who = signer(&e).await?;
            let request = events.iter().rev().find(|x| x.kind == "withdrawal_requested").unwrap_or(&e);
            let doc = tl_forms::StopNotice {
                lang,
                letterhead: letterhead(&agencies, d.agency_id, e.at, None),
                addressee: addressee.clone(),
                procedure: procedure.clone(),
                dossier_code: code.clone(),
                received_date: received.clone(),
                withdrawal_date: day(request.at),
                reason: request.detail.get("reason").and_then(Value::as_str).unwrap_or("").to_owned(),
                signer: tl_forms::Signer { title: String::new(), name: who.as_ref().map(|a| a.display_name.clone()).unwrap_or_default() },
                verify_url: verify_url.clone(),
            };
            (doc.document(), e, who)
        }
        "06" => {
            let process = proc.version.process();
            let unit = |step: &str, agency: &str| -> String {
                let name = match step {
                    "reception" => "Bộ phận một cửa".to_owned(),
                    s => process.step(s).map_or_else(|| s.to_owned(), |s| s.name.vi.clone()),
                };
                format!("{name} — {agency}")
            };
            let rows = handoffs
                .iter()
                .enumerate()
                .map(|(i, h)| tl_forms::Handoff {
                    from_unit: if i == 0 {
                        "Người nộp hồ sơ".into()
                    } else {
                        unit(&handoffs[i - 1].step_id, &handoffs[i - 1].agency_name)
                    },
                    to_unit: unit(&h.step_id, &h.agency_name),
                    at: moment(Some(h.started_at)),
                    giver: h.giver_name.clone().unwrap_or_else(|| applicant.display_name.clone()),
                    receiver: h.handler_name.clone().unwrap_or_default(),
                    result: h.timeliness.map(timeliness),
                    note: h.note.clone().unwrap_or_default(),
                })
                .collect();
            let doc = tl_forms::ControlSheet {
                lang,
                letterhead: letterhead(&agencies, d.agency_id, Utc::now(), None),
                dossier_code: code.clone(),
                receipt_number: None,
                procedure: procedure.clone(),
                applicant: applicant.display_name.clone(),
                received_at: moment(d.received_at),
                return_at: moment(d.due_at),
                lead_agency: agency_name.clone(),
                cooperating: String::new(),
                handoffs: rows,
                verify_url: None,
            };
            return Ok(pdf(doc.document().finish(), &format!("mau-06-{code}.pdf")));
        }
        _ => return Err(AppError::NotFound),
    };
    // Signed by the officer who took the action; a notice the system issued alone (no
    // officer) goes out unsigned.
    let bytes = match who.filter(|a| a.kind == tl_core::account::AccountKind::Officer) {
        Some(officer) => {
            crate::results::sign_pdf(&st, &officer, &agency_name, doc, &format!("Mẫu số {number}, hồ sơ {code}"), event.at).await?
        }
        None => doc.finish(),
    };
    Ok(pdf(bytes, &format!("mau-{number}-{code}.pdf")))
}

/// The officer's contact block on Forms 02 and 03.
fn officer_card(who: Option<&tl_storage::Account>) -> tl_forms::Officer {
    tl_forms::Officer {
        name: who.map(|a| a.display_name.clone()).unwrap_or_default(),
        phone: who.and_then(|a| a.phone.clone()).unwrap_or_default(),
        email: who.and_then(|a| a.email.clone()).unwrap_or_default(),
    }
}

#[derive(Debug, Deserialize)]
pub struct RegisterParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub format: Option<String>,
}

/// GET /office/register — Form 07 for the service points the officer receives at, for a period
/// (dd/mm/yyyy, default this month), as PDF or `format=csv`.
pub async fn register(State(st): State<AppState>, v: Visitor, Query(p): Query<RegisterParams>) -> AppResult<Response> {
    if v.account.is_none() {
        return Ok(see_other("/signin?next=/office/register"));
    }
    let agencies = st.db.read().await?.list_agencies().await?;
    let points: Vec<&AgencyRow> =
        agencies.iter().filter(|a| v.roles.iter().any(|g| g.role == Role::Reception && g.covers(&a.electronic_id))).collect();
    if points.is_empty() {
        return Err(AppError::Forbidden);
    }
    let today = crate::portal::today();
    let bad = || AppError::invalid("bad_date", "Ngày phải có dạng dd/mm/yyyy.", "Dates must be dd/mm/yyyy.");
    let from = match p.from.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => tl_core::fmt::parse_date(s).ok_or_else(bad)?,
        None => today.with_day0(0).unwrap_or(today),
    };
    let to = match p.to.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => tl_core::fmt::parse_date(s).ok_or_else(bad)?,
        None => today,
    };
    if to < from || (to - from).num_days() > 366 {
        return Err(AppError::invalid(
            "bad_period",
            "Khoảng thời gian không hợp lệ (từ ngày phải trước đến ngày, tối đa 1 năm).",
            "Invalid period (from before to, at most one year).",
        ));
    }
    let start = utc(from.and_hms_opt(0, 0, 0).expect("midnight"));
    let end = utc(to.succ_opt().unwrap_or(to).and_hms_opt(0, 0, 0).expect("midnight"));
    let ids: Vec<i64> = points.iter().map(|a| a.id).collect();
    const MAX_ROWS: i64 = 20_000;
    let rows = st.db.read().await?.list_register(&ids, start, end, MAX_ROWS).await?;
    // Each person listed in the register (name, phone, dossier) finds it in their access log.
    if let Some(reader) = crate::access::Reader::of_visitor(&v) {
        let target = format!("Mẫu 07: {}–{}", from.format("%d/%m/%Y"), to.format("%d/%m/%Y"));
        for r in &rows {
            crate::access::dossier_read(&st, &reader, &r.dossier, "dossier.register", Some(&target)).await;
        }
    }
    let snap = st.catalog.snapshot(&st.db).await?;
    let names: std::collections::HashMap<&str, &str> =
        snap.index.docs().map(|d| (d.payload.code.as_str(), d.payload.name.get("vi"))).collect();
    let agency_name = |id: i64| agencies.iter().find(|a| a.id == id).map(|a| a.name.vi.clone()).unwrap_or_default();
    let status = |d: &Dossier| -> Option<tl_forms::Timeliness> {
        let finished = d.flow.finished_at?;
        let due = d.flow.appointed_at.or(d.due_at)?;
        let late = d.supplement_count > 1 || finished > due;
        Some(if late {
            tl_forms::Timeliness::Late
        } else if local(finished).date() < local(due).date() {
            tl_forms::Timeliness::Early
        } else {
            tl_forms::Timeliness::OnTime
        })
    };
    let register_rows: Vec<tl_forms::RegisterRow> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let d = &r.dossier;
            tl_forms::RegisterRow {
                serial: (i + 1).to_string(),
                dossier_code: d.code.clone().unwrap_or_default(),
                procedure: names.get(d.procedure_code.as_str()).copied().unwrap_or(&d.procedure_code).to_owned(),
                sets: "1".into(),
                applicant_name: r.applicant_name.clone(),
                applicant_address: String::new(),
                applicant_phone: r.applicant_phone.clone().unwrap_or_default(),
                lead_agency: agency_name(d.agency_id),
                received_date: d.received_at.or(d.submitted_at).map(day).unwrap_or_default(),
                return_date: d.flow.appointed_at.or(d.due_at).map(day).unwrap_or_default(),
                transfer_date: d.received_at.map(day).unwrap_or_default(),
                result_date: d.flow.finished_at.map(day).unwrap_or_default(),
                returned_date: if d.status == tl_core::dossier::DossierStatus::ResultReturned { day(d.updated_at) } else { String::new() },
                status: status(d),
                note: d.status.label("vi").to_owned(),
            }
        })
        .collect();
    let period = format!("{}_{}", from.format("%Y%m%d"), to.format("%Y%m%d"));
    if p.format.as_deref() == Some("csv") {
        let mut out = String::from("\u{feff}STT,Mã hồ sơ,Tên TTHC,Người nộp,Số điện thoại,Cơ quan chủ trì,Ngày nhận,Ngày hẹn trả,Ngày có kết quả,Ngày trả kết quả,Trạng thái,Ghi chú\r\n");
        let cell = |s: &str| {
            // A leading =, +, - or @ would be a formula in a spreadsheet.
            let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() };
            format!("\"{}\"", s.replace('"', "\"\""))
        };
        for r in &register_rows {
            let state = match r.status {
                Some(tl_forms::Timeliness::Early) => "Trước hạn",
                Some(tl_forms::Timeliness::OnTime) => "Đúng hạn",
                Some(tl_forms::Timeliness::Late) => "Quá hạn",
                None => "",
            };
            let cells = [
                &r.serial,
                &r.dossier_code,
                &r.procedure,
                &r.applicant_name,
                &r.applicant_phone,
                &r.lead_agency,
                &r.received_date,
                &r.return_date,
                &r.result_date,
                &r.returned_date,
                state,
                &r.note,
            ];
            out.push_str(&cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"so-theo-doi-{period}.csv\"")),
                (header::CACHE_CONTROL, "private, no-store".to_owned()),
            ],
            out,
        )
            .into_response());
    }
    let point_names: Vec<String> = points.iter().map(|a| a.name.vi.clone()).collect();
    let doc = tl_forms::Register {
        lang: tl_forms::Lang::Vi,
        letterhead: letterhead(&agencies, points[0].id, Utc::now(), None),
        service_point: point_names.join("; "),
        from: from.format("%d/%m/%Y").to_string(),
        to: to.format("%d/%m/%Y").to_string(),
        volume: Some(from.format("%Y").to_string()),
        rows: register_rows,
        verify_url: None,
    };
    Ok(pdf(tl_forms::register(&doc), &format!("so-theo-doi-{period}.pdf")))
}
