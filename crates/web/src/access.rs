//! Access transparency: who looked at my data (ai đã xem dữ liệu của tôi).
//!
//! Decree 13/2023/NĐ-CP art. 9 gives the data subject the right to know how their personal
//! data is processed; like Estonia's data tracker, every read of a person's data by someone
//! else — an officer, a partner system, another system — is recorded with who, their agency,
//! when, what and why, and the person reads their own entries at `/account/access-log`
//! (filters, pages, CSV). The page is strictly the signed-in account's: there is no way to
//! read someone else's log, administrators included.
//!
//! Recording goes through [`record`] (or [`dossier_read`] for a dossier and what is in it),
//! which puts the entry on the access log's in-memory queue (`tl_storage::access`): no database
//! round trip on the read. Reads by the person themselves, or by a person acting for them (who
//! filed for them, a member of their business), are not recorded: they are not someone else.

use crate::error::AppResult;
use crate::i18n::{self, Lang};
use crate::web::{render_status, see_other, FormErrors, Visitor};
use crate::workflow::{local, utc};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use tl_core::account::{AccountKind, RoleGrant};
use tl_storage::access::{AccessEntry, AccessQuery, AccessRow, ReaderKind};
use tl_storage::{Account, Dossier};

/// Who is reading: the account, its role grants (which name the officer's agency), and how it
/// came (an OAuth client of a partner system, the request).
#[derive(Debug, Clone)]
pub struct Reader {
    pub account: Account,
    pub grants: Vec<RoleGrant>,
    pub client_id: Option<String>,
    pub request_id: Option<String>,
}

impl Reader {
    /// The signed-in visitor of a page (None: nobody signed in, nothing to record).
    pub fn of_visitor(v: &Visitor) -> Option<Reader> {
        let account = v.account.clone()?;
        Some(Reader { account, grants: v.roles.clone(), client_id: None, request_id: Some(v.request_id.clone()) })
    }

    /// An API caller: the account its token acts as, the OAuth client if any.
    pub fn of_api(account: &Account, grants: Vec<RoleGrant>, client_id: Option<&str>, headers: &axum::http::HeaderMap) -> Reader {
        let request_id = headers.get(&crate::middleware::REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Reader { account: account.clone(), grants, client_id: client_id.map(str::to_owned), request_id }
    }

    /// How the reader is logged reading `subject_id`'s data; None when it is the subject's own
    /// read: the subject, or a person (citizen account) who may read it only by acting for them.
    pub fn kind_for(&self, subject_id: i64) -> Option<ReaderKind> {
        if self.account.id == subject_id {
            return None;
        }
        match self.account.kind {
            AccountKind::Officer => Some(ReaderKind::Officer),
            AccountKind::Business => Some(ReaderKind::Partner),
            AccountKind::Citizen => None,
        }
    }

    /// The officer's agency for a read of data held at `agency` (electronic ID): the grant
    /// that covers it, a dossier-handling grant first; else the officer's first grant.
    fn agency_for(&self, agency: Option<&str>) -> Option<String> {
        let handling = |g: &&RoleGrant| crate::filing::HANDLING_ROLES.contains(&g.role);
        let covering = |g: &&RoleGrant| agency.is_some_and(|a| g.covers(a));
        self.grants
            .iter()
            .find(|g| handling(g) && covering(g))
            .or_else(|| self.grants.iter().find(covering))
            .or_else(|| self.grants.iter().find(handling))
            .or_else(|| self.grants.first())
            .map(|g| g.agency.clone())
    }
}

/// Records that `reader` read `subject_id`'s data: `action` (e.g. `store.item`) on `target`
/// (which item) for `purpose` (the dossier or the stated purpose); `agency` is where the data
/// is held, if anywhere (it picks the officer's agency among their grants). Nothing is
/// recorded for the subject's own reads. Never waits on the database.
pub async fn record(st: &AppState, reader: &Reader, subject_id: i64, action: &str, target: &str, purpose: &str, agency: Option<&str>) {
    let Some(kind) = reader.kind_for(subject_id) else { return };
    st.access
        .record(AccessEntry {
            at: Utc::now(),
            subject_id,
            reader_id: Some(reader.account.id),
            reader_label: reader.account.display_name.clone(),
            reader_kind: kind,
            agency: if kind == ReaderKind::Officer { reader.agency_for(agency) } else { None },
            action: action.into(),
            target: target.into(),
            purpose: purpose.into(),
            client_id: reader.client_id.clone(),
            request_id: reader.request_id.clone(),
        })
        .await;
}

/// A read of dossier `d` or of something in it (`target`; default the dossier code), for the
/// dossier: its applicant is the subject.
pub async fn dossier_read(st: &AppState, reader: &Reader, d: &Dossier, action: &str, target: Option<&str>) {
    let code = d.code.clone().unwrap_or_else(|| format!("#{}", d.id));
    record(st, reader, d.applicant_id, action, target.unwrap_or(&code), &code, Some(&d.agency_electronic_id)).await;
}

/// [`dossier_read`] by the signed-in visitor of a page.
pub async fn visitor_read(st: &AppState, v: &Visitor, d: &Dossier, action: &str, target: Option<&str>) {
    if let Some(r) = Reader::of_visitor(v) {
        dossier_read(st, &r, d, action, target).await;
    }
}

// ---- The citizen's page ----

/// Entries per page.
const PER_PAGE: i64 = 50;
/// The most a CSV export holds (a person's reads over years stay far below it).
const CSV_MAX: i64 = 50_000;

#[derive(Debug, Default, Deserialize)]
pub struct LogParams {
    from: Option<String>,
    to: Option<String>,
    agency: Option<String>,
    kind: Option<String>,
    page: Option<String>,
    format: Option<String>,
}

/// The filters, checked.
struct Filters {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    agency: Option<String>,
    kind: Option<ReaderKind>,
    page: i64,
    csv: bool,
}

fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn parse(p: &LogParams, lang: Lang) -> Result<Filters, FormErrors> {
    let mut errors = FormErrors::default();
    let mut date = |field: &str| -> Option<NaiveDate> {
        let raw = given(if field == "from" { &p.from } else { &p.to })?;
        let d = tl_core::fmt::parse_date(raw).filter(|d| (2000..=2100).contains(&chrono::Datelike::year(d)));
        if d.is_none() {
            errors.add(lang, field, "Ngày phải có dạng dd/mm/yyyy, ví dụ 26/11/2026.", "Dates must be dd/mm/yyyy, e.g. 26/11/2026.");
        }
        d
    };
    let (from, to) = (date("from"), date("to"));
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            errors.add(lang, "to", "Đến ngày phải sau hoặc bằng từ ngày.", "The end date must not be before the start date.");
        }
    }
    let agency = given(&p.agency).map(str::to_owned);
    if agency.as_deref().is_some_and(|a| a.len() > 64 || !a.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')) {
        errors.add(lang, "agency", "Mã cơ quan không hợp lệ.", "The agency code is not valid.");
    }
    let kind = match given(&p.kind) {
        None => None,
        Some(k) => {
            let parsed = ReaderKind::parse(k);
            if parsed.is_none() {
                errors.add(lang, "kind", "Loại truy cập không hợp lệ.", "Unknown kind of access.");
            }
            parsed
        }
    };
    let page = match given(&p.page) {
        None => 1,
        Some(s) => s.parse::<i64>().ok().filter(|n| (1..=100_000).contains(n)).unwrap_or_else(|| {
            errors.add(lang, "page", "Số trang không hợp lệ.", "The page number is not valid.");
            1
        }),
    };
    let csv = match given(&p.format) {
        None | Some("html") => false,
        Some("csv") => true,
        Some(_) => {
            errors.add(lang, "format", "Định dạng tải về không hợp lệ (chỉ có csv).", "Unknown download format (only csv).");
            false
        }
    };
    if errors.is_empty() {
        Ok(Filters { from, to, agency, kind, page, csv })
    } else {
        Err(errors)
    }
}

impl Filters {
    fn query(&self, subject_id: i64, limit: i64, offset: i64) -> AccessQuery {
        let start = |d: NaiveDate| utc(d.and_hms_opt(0, 0, 0).expect("midnight"));
        AccessQuery {
            subject_id,
            // Local (Vietnam) days: from the first day's midnight to the midnight after the last.
            from: self.from.map(start),
            to: self.to.and_then(|d| d.succ_opt()).map(start),
            agency: self.agency.clone(),
            kind: self.kind,
            limit,
            offset,
        }
    }
}

/// The query string for the same filters (links to other pages and to the CSV).
fn query_string(p: &LogParams) -> String {
    let pairs: Vec<(&str, &str)> = [("from", &p.from), ("to", &p.to), ("agency", &p.agency), ("kind", &p.kind)]
        .into_iter()
        .filter_map(|(k, v)| given(v).map(|v| (k, v)))
        .collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

fn kind_label(lang: Lang, k: ReaderKind) -> String {
    i18n::t(lang, &format!("access.kind.{}", k.as_str())).to_owned()
}

fn action_label(lang: Lang, action: &str) -> String {
    let key = format!("access.action.{action}");
    match i18n::t(lang, &key) {
        k if k == key => action.to_owned(),
        label => label.to_owned(),
    }
}

fn agency_label(lang: Lang, r: &AccessRow) -> String {
    match (&r.agency_name, &r.entry.agency) {
        (Some(n), Some(eid)) => format!("{} ({eid})", n.get(lang.code())),
        (None, Some(eid)) => eid.clone(),
        _ => String::new(),
    }
}

/// GET /account/access-log — the signed-in person's (or business's) log.
pub async fn page(State(st): State<AppState>, v: Visitor, Query(p): Query<LogParams>) -> AppResult<Response> {
    let Some(me) = v.account.clone() else {
        return Ok(see_other("/signin?next=/account/access-log"));
    };
    let filters = match parse(&p, v.lang) {
        Ok(f) => f,
        Err(errors) => return show(&st, &v, &me, &p, None, &errors, StatusCode::BAD_REQUEST).await,
    };
    // What this server has queued is written first, so the page shows every read up to now
    // (bounded: a stuck database must not hold the page).
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), st.access.flush()).await;
    if filters.csv {
        let rows = st.db.read().await?.list_access(&filters.query(me.id, CSV_MAX, 0)).await?;
        return Ok(csv(v.lang, &rows, &filters));
    }
    show(&st, &v, &me, &p, Some(&filters), &FormErrors::default(), StatusCode::OK).await
}

async fn show(
    st: &AppState,
    v: &Visitor,
    me: &Account,
    p: &LogParams,
    filters: Option<&Filters>,
    errors: &FormErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let lang = v.lang;
    let mut r = st.db.read().await?;
    let agencies: Vec<_> = r
        .access_agencies(me.id)
        .await?
        .into_iter()
        .map(|a| {
            let name = a.name.as_ref().map_or_else(|| a.electronic_id.clone(), |n| format!("{} ({})", n.get(lang.code()), a.electronic_id));
            json!({"id": a.electronic_id, "name": name})
        })
        .collect();
    let (rows, more, page) = match filters {
        Some(f) => {
            let mut rows = r.list_access(&f.query(me.id, PER_PAGE + 1, (f.page - 1) * PER_PAGE)).await?;
            let more = rows.len() as i64 > PER_PAGE;
            rows.truncate(PER_PAGE as usize);
            (rows, more, f.page)
        }
        None => (vec![], false, 1),
    };
    drop(r);
    let items: Vec<_> = rows
        .iter()
        .map(|x| {
            json!({
                "at": x.entry.at,
                "reader": x.entry.reader_label,
                "kind": kind_label(lang, x.entry.reader_kind),
                "agency": agency_label(lang, x),
                "action": action_label(lang, &x.entry.action),
                "target": x.entry.target,
                "purpose": x.entry.purpose,
                "client": x.client_name.clone().or_else(|| x.entry.client_id.clone()),
            })
        })
        .collect();
    let kinds: Vec<_> = ReaderKind::ALL.iter().map(|k| json!({"id": k.as_str(), "name": kind_label(lang, *k)})).collect();
    let qs = query_string(p);
    let ctx = minijinja::context! {
        items => items, more => more, page => page, agencies => agencies, kinds => kinds,
        from => p.from, to => p.to, agency => p.agency, kind => p.kind,
        qs => qs, filtered => !qs.is_empty(),
        errors => errors.items, field_errors => errors.by_field(),
    };
    render_status(st, v, "access_log.html", ctx, status)
}

/// The log as CSV: UTF-8 with a byte-order mark (so Excel reads Vietnamese), times in Vietnam's
/// time, in the visitor's language.
fn csv(lang: Lang, rows: &[AccessRow], f: &Filters) -> Response {
    let t = |k: &str| i18n::t(lang, k).to_owned();
    let cell = |s: &str| {
        // A leading =, +, - or @ would be a formula in a spreadsheet.
        let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() };
        format!("\"{}\"", s.replace('"', "\"\""))
    };
    let header = [
        "access.col_time",
        "access.col_reader",
        "access.col_kind",
        "access.col_agency",
        "access.col_what",
        "access.col_target",
        "access.col_purpose",
        "access.col_client",
        "access.col_request",
    ];
    let mut out = String::from("\u{feff}");
    out.push_str(&header.iter().map(|k| cell(&t(k))).collect::<Vec<_>>().join(","));
    out.push_str("\r\n");
    for r in rows {
        let e = &r.entry;
        let cells = [
            local(e.at).format("%d/%m/%Y %H:%M:%S").to_string(),
            e.reader_label.clone(),
            kind_label(lang, e.reader_kind),
            agency_label(lang, r),
            action_label(lang, &e.action),
            e.target.clone(),
            e.purpose.clone(),
            r.client_name.clone().or_else(|| e.client_id.clone()).unwrap_or_default(),
            e.request_id.clone().unwrap_or_default(),
        ];
        out.push_str(&cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    let day = |d: Option<NaiveDate>| d.map_or_else(|| "all".to_owned(), |d| d.format("%Y%m%d").to_string());
    let name = format!("ai-da-xem-du-lieu-{}-{}.csv", day(f.from), day(f.to));
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        out,
    )
        .into_response()
}
