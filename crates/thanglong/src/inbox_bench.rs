//! The processing-inbox benchmark (BENCHMARKS.md, bench/inbox.sh).
//!
//! `bench fill-dossiers` writes a province's two years of dossiers (hồ sơ) on the seed catalog:
//! citizens with Vietnamese names, officers at every agency, dossiers spread over agencies
//! (commune People's Committees get most), procedures, channels, days and hours, in the
//! proportions of a one-stop system — most finished (returned, stopped, not accepted), a few
//! percent still moving (waiting for reception, at a step of the standard process, paused for
//! a supplement), some of those late, a few stuck for months. Rows are generated here and
//! written set-wise by [`tl_storage::synth`]; a deterministic RNG makes every run the same.
//!
//! `bench inbox` times the storage query behind GET /office/inbox for real officers with the
//! page's filters, beside a baseline from the same run (the same queries without the inbox
//! index), and prints the plans.

use anyhow::{bail, Context};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tl_core::account::Role;
use tl_core::catalog::{AgencyLevel, TimeUnit};
use tl_core::catalog_doc::{self, Format};
use tl_core::dossier::DossierCode;
use tl_core::ids::AgencyId;
use tl_storage::synth::{BulkLoader, SynthAccount, SynthDossier, SynthGrant, SynthHandoff};
use tl_storage::{Database, InboxQuery};

/// SplitMix64: small, fast and seeded, so a run can be reproduced exactly.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    /// An index drawn with the given cumulative weights.
    fn weighted(&mut self, cumulative: &[f64]) -> usize {
        let x = self.unit() * cumulative.last().copied().unwrap_or(0.0);
        cumulative.partition_point(|&c| c <= x).min(cumulative.len() - 1)
    }
}

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    weights
        .scan(0.0, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect()
}

// Family names with their rough shares in Vietnam; middle and given names by sex.
const SURNAMES: &[(&str, f64)] = &[
    ("Nguyễn", 31.0),
    ("Trần", 11.0),
    ("Lê", 9.5),
    ("Phạm", 7.0),
    ("Hoàng", 5.0),
    ("Huỳnh", 2.0),
    ("Phan", 4.5),
    ("Vũ", 4.0),
    ("Võ", 2.0),
    ("Đặng", 2.1),
    ("Bùi", 2.0),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1.0),
    ("Lý", 0.5),
    ("Đinh", 1.0),
    ("Trịnh", 0.8),
    ("Đào", 0.8),
    ("Mai", 0.5),
    ("Lương", 0.4),
    ("Tạ", 0.3),
    ("Chu", 0.3),
    ("Cao", 0.4),
    ("Tô", 0.3),
    ("Kiều", 0.2),
];
const MIDDLE_M: &[&str] = &["Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Thanh", "Tuấn", "Xuân", "Đình", "Ngọc", "Mạnh", "Trọng", "Gia"];
const MIDDLE_F: &[&str] = &["Thị", "Thu", "Ngọc", "Thanh", "Phương", "Minh", "Hồng", "Thùy", "Kim", "Bích", "Khánh", "Hải", "Diệu"];
const GIVEN_M: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Đạt", "Đức", "Hải", "Hiếu", "Hòa", "Hùng", "Huy", "Khang", "Khánh", "Khoa", "Kiên", "Long", "Mạnh",
    "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Quang", "Sơn", "Tài", "Thắng", "Thành", "Tiến", "Toàn", "Trung", "Tú", "Tuấn",
    "Việt", "Vinh", "Vũ", "Hưng", "Lâm", "Duy", "Thịnh",
];
const GIVEN_F: &[&str] = &[
    "Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hương", "Huyền", "Lan", "Linh", "Loan", "Mai", "Ngân", "Ngọc",
    "Nhung", "Oanh", "Phương", "Quyên", "Quỳnh", "Tâm", "Thảo", "Thủy", "Trang", "Uyên", "Vân", "Yến", "Thư", "Nga", "My",
];
const STREETS: &[&str] = &[
    "phố Đội Cấn",
    "phố Kim Mã",
    "đường Láng",
    "phố Huế",
    "phố Hàng Bài",
    "đường Giải Phóng",
    "phố Tây Sơn",
    "đường Nguyễn Trãi",
    "phố Bạch Mai",
    "đường Trường Chinh",
    "phố Hoàng Hoa Thám",
    "đường Cầu Giấy",
    "phố Chùa Bộc",
    "đường Lạc Long Quân",
    "phố Nguyễn Chí Thanh",
];

fn person_name(rng: &mut Rng, surnames: &[f64]) -> String {
    let surname = SURNAMES[rng.weighted(surnames)].0;
    if rng.chance(0.5) {
        format!("{surname} {} {}", rng.pick(MIDDLE_M), rng.pick(GIVEN_M))
    } else {
        format!("{surname} {} {}", rng.pick(MIDDLE_F), rng.pick(GIVEN_F))
    }
}

/// What the run asks for.
pub struct FillOptions {
    pub count: usize,
    /// Citizen accounts [default: a fifth of the dossiers, at least 100].
    pub citizens: Option<usize>,
    pub seed: u64,
    /// Days of history, ending now.
    pub days: i64,
}

struct Proc {
    code: String,
    version_no: i64,
    /// The limit in calendar days (working days × 7/5), never zero.
    limit_days: f64,
}

struct Place {
    id: i64,
    eid: AgencyId,
    procs: Vec<usize>,
    proc_weights: Vec<f64>,
    reception: Vec<i64>,
    specialists: Vec<i64>,
    leaders: Vec<i64>,
}

struct Citizen {
    id: i64,
    name: String,
    login: String,
    phone: String,
    born: NaiveDate,
}

const DAY_SECS: f64 = 86_400.0;

fn at(base: DateTime<Utc>, days: f64) -> DateTime<Utc> {
    base + Duration::seconds((days * DAY_SECS) as i64)
}

fn limit_days(value: i64, unit: TimeUnit) -> f64 {
    let v = value as f64;
    let d = match unit {
        TimeUnit::WorkingDays => v * 7.0 / 5.0,
        TimeUnit::Days => v,
        TimeUnit::WorkingHours => v / 8.0 * 7.0 / 5.0,
        TimeUnit::Hours => v / 24.0,
        TimeUnit::SameDay => 0.4,
    };
    d.max(0.4)
}

fn timeliness(done: DateTime<Utc>, due: DateTime<Utc>) -> &'static str {
    let local = |t: DateTime<Utc>| tl_core::time::to_local(t).date_naive();
    if done > due {
        "late"
    } else if local(done) < local(due) {
        "early"
    } else {
        "on_time"
    }
}

/// The officer logins the generator creates: `cb.<agency, dots as dashes>.<role><n>`.
pub fn officer_login(eid: &str, role: Role, n: usize) -> String {
    let role = match role {
        Role::Reception => "motcua",
        Role::Specialist => "chuyenvien",
        _ => "lanhdao",
    };
    format!("cb.{}.{role}{n}", eid.to_lowercase().replace('.', "-"))
}

/// How many officers of each handling role every agency gets.
const STAFF: [(Role, usize); 3] = [(Role::Reception, 2), (Role::Specialist, 3), (Role::Leader, 1)];

/// Share of dossiers by agency level: the commune one-stop desks take most.
fn agency_weight(level: AgencyLevel, eid: &str) -> f64 {
    match level {
        AgencyLevel::Commune => 30.0,
        // Commune police (H26.20.31…) beside city-level units.
        AgencyLevel::Unit if eid.rsplit('.').next().and_then(|g| g.parse::<u32>().ok()).is_some_and(|g| g >= 31) => 8.0,
        AgencyLevel::Unit => 12.0,
        AgencyLevel::Department => 6.0,
        AgencyLevel::Province => 2.0,
        AgencyLevel::ServicePoint => 1.0,
    }
}

/// Loads the built-in seed catalog when the database has none.
async fn ensure_catalog(db: &Arc<dyn Database>) -> anyhow::Result<()> {
    let mut w = db.begin().await?;
    if w.count_procedures().await? > 0 {
        return Ok(());
    }
    let known = w.catalog_known().await?;
    let doc = catalog_doc::load(crate::demo::SEED_CATALOG, Format::Yaml, &known)
        .map_err(|e| anyhow::anyhow!("the built-in seed is invalid: {e:?}"))?;
    tl_storage::apply_catalog(w.as_mut(), &doc, None, Utc::now()).await.context("loading the seed catalog")?;
    w.commit().await?;
    Ok(())
}

/// Generates and writes the dossiers; prints a summary.
pub async fn fill_dossiers(db: &Arc<dyn Database>, opts: &FillOptions, now: DateTime<Utc>) -> anyhow::Result<()> {
    let started = Instant::now();
    ensure_catalog(db).await?;
    let mut rng = Rng::new(opts.seed);
    let bulk: Arc<dyn BulkLoader> = Arc::from(db.bulk());
    let today = tl_core::time::local_date(now);
    let (agencies, current) = {
        let mut r = db.read().await?;
        (r.list_agencies().await?, r.list_current_procedures(today).await?)
    };
    let procs: Vec<Proc> = current
        .iter()
        .map(|p| Proc {
            code: p.summary.code.clone(),
            version_no: p.summary.version_no,
            limit_days: limit_days(p.summary.time_value, p.summary.time_unit),
        })
        .collect();
    // Some procedures are filed far more often than others (birth registration, certified copies).
    let popularity: Vec<f64> = procs.iter().map(|_| 1.0 + 9.0 * rng.unit().powi(2)).collect();
    let (mut next_account, mut next_dossier) = bulk.next_ids().await?;

    // Officers: the handling roles at every agency (found again on a second run).
    let mut accounts = vec![];
    let mut grants = vec![];
    let mut places: Vec<Place> = vec![];
    let surname_w = cumulative(SURNAMES.iter().map(|s| s.1));
    let existing = db.read().await?.find_account_by_login(&officer_login(&agencies[0].electronic_id, Role::Reception, 1)).await?.is_some();
    for a in &agencies {
        let eid = AgencyId::parse(&a.electronic_id).map_err(|_| anyhow::anyhow!("bad agency ID {}", a.electronic_id))?;
        let handled: Vec<usize> =
            current.iter().enumerate().filter(|(_, p)| p.agencies.contains(&a.electronic_id)).map(|(i, _)| i).collect();
        let mut place = Place {
            id: a.id,
            eid,
            proc_weights: cumulative(handled.iter().map(|&i| popularity[i])),
            procs: handled,
            reception: vec![],
            specialists: vec![],
            leaders: vec![],
        };
        for (role, n) in STAFF {
            for k in 1..=n {
                let login = officer_login(&a.electronic_id, role, k);
                let id = if existing {
                    db.read().await?.find_account_by_login(&login).await?.map(|x| x.id).context("a generated officer is missing")?
                } else {
                    let id = next_account;
                    next_account += 1;
                    accounts.push(SynthAccount {
                        id,
                        kind: "officer",
                        login,
                        display_name: person_name(&mut rng, &surname_w),
                        phone: None,
                        agency_id: Some(a.id),
                        created_at: now - Duration::days(opts.days + 30),
                    });
                    grants.push(SynthGrant {
                        account_id: id,
                        role: role.as_str(),
                        agency_id: a.id,
                        granted_at: now - Duration::days(opts.days + 30),
                    });
                    id
                };
                match role {
                    Role::Reception => place.reception.push(id),
                    Role::Specialist => place.specialists.push(id),
                    _ => place.leaders.push(id),
                }
            }
        }
        places.push(place);
    }
    let officers = accounts.len();

    // Citizens.
    let n_citizens = opts.citizens.unwrap_or(opts.count / 5).max(100);
    let mut citizens = Vec::with_capacity(n_citizens);
    for _ in 0..n_citizens {
        let id = next_account;
        next_account += 1;
        let born = NaiveDate::from_ymd_opt(1945 + rng.below(62) as i32, 1 + rng.below(12) as u32, 1 + rng.below(28) as u32).expect("date");
        // A personal ID number's shape (province 001, sex/century, year), unique through the id.
        let century = if chrono::Datelike::year(&born) >= 2000 { 2 } else { 0 };
        let login = format!("001{}{}{:06}", century + rng.below(2), born.format("%y"), id % 1_000_000);
        let login = if citizens.len() >= 1_000_000 { format!("{login}{}", id / 1_000_000) } else { login };
        let c = Citizen { id, name: person_name(&mut rng, &surname_w), login, phone: format!("09{:08}", rng.below(100_000_000)), born };
        accounts.push(SynthAccount {
            id,
            kind: "citizen",
            login: c.login.clone(),
            display_name: c.name.clone(),
            phone: Some(c.phone.clone()),
            agency_id: None,
            created_at: now - Duration::days(opts.days + 30 - rng.below(opts.days as usize) as i64),
        });
        citizens.push(c);
    }
    bulk.insert_accounts(&accounts, &grants).await.context("writing the accounts")?;
    drop(accounts);
    eprintln!("{} officers and {n_citizens} citizens written in {:.1} s", officers, started.elapsed().as_secs_f64());

    // Agencies that handle something, by weight.
    let live: Vec<usize> = (0..places.len()).filter(|&i| !places[i].procs.is_empty()).collect();
    if live.is_empty() {
        bail!("no agency handles a procedure in force: import a catalog first");
    }
    let place_w = cumulative(live.iter().map(|&i| agency_weight(agencies[i].level, &agencies[i].electronic_id)));

    // Dossiers per day: weekdays full, Saturday mornings little, Sunday online only; the
    // volume grows by half over the period as more people file online.
    let first_day = today - Duration::days(opts.days - 1);
    let day_w: Vec<f64> = (0..opts.days)
        .map(|k| {
            let d = first_day + Duration::days(k);
            let wd = match chrono::Datelike::weekday(&d) {
                Weekday::Sat => 0.12,
                Weekday::Sun => 0.05,
                _ => 1.0,
            };
            wd * (0.75 + 0.5 * k as f64 / opts.days as f64)
        })
        .collect();
    let total_w: f64 = day_w.iter().sum();
    let mut counters: HashMap<(i64, NaiveDate), i64> = bulk.counters().await?.into_iter().map(|(a, d, l)| ((a, d), l)).collect();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Vec<SynthDossier>, Vec<SynthHandoff>)>(2);
    let writer = {
        let bulk = bulk.clone();
        tokio::spawn(async move {
            while let Some((d, h)) = rx.recv().await {
                bulk.insert_dossiers(&d, &h).await?;
            }
            Ok::<_, tl_storage::StoreError>(())
        })
    };
    let mut stats: HashMap<&'static str, usize> = HashMap::new();
    let (mut batch, mut handoffs) = (Vec::with_capacity(20_000), Vec::new());
    let mut made = 0usize;
    let mut acc_w = 0.0;
    for (k, w) in day_w.iter().enumerate() {
        acc_w += w;
        let upto = ((acc_w / total_w) * opts.count as f64).round() as usize;
        let n = upto.saturating_sub(made).min(opts.count - made);
        made += n;
        let day = first_day + Duration::days(k as i64);
        let weekend = matches!(chrono::Datelike::weekday(&day), Weekday::Sat | Weekday::Sun);
        let midnight = tl_core::time::vn_offset()
            .from_local_datetime(&day.and_time(NaiveTime::MIN))
            .single()
            .expect("fixed offset")
            .with_timezone(&Utc);
        let mut todays: Vec<(DateTime<Utc>, usize, &'static str)> = (0..n)
            .map(|_| {
                let channel = if weekend {
                    "online"
                } else {
                    match rng.unit() {
                        x if x < 0.62 => "online",
                        x if x < 0.98 => "in_person",
                        _ => "post",
                    }
                };
                // Counters open 8:00–17:00; online filings from early morning to late night.
                let hour = if channel == "online" { 6.0 + 17.0 * rng.unit() } else { 8.0 + 9.0 * rng.unit() };
                let mut t = at(midnight, hour / 24.0);
                if t > now {
                    t = midnight + Duration::seconds(((now - midnight).num_seconds() as f64 * rng.unit()) as i64);
                }
                (t, live[rng.weighted(&place_w)], channel)
            })
            .collect();
        todays.sort_by_key(|x| x.0);
        for (submitted, pi, channel) in todays {
            let place = &places[pi];
            let proc = &procs[place.procs[rng.weighted(&place.proc_weights)]];
            let citizen = &citizens[rng.below(citizens.len())];
            let d = dossier(&mut rng, now, next_dossier, submitted, place, proc, citizen, channel, &mut counters, &mut handoffs);
            next_dossier += 1;
            *stats.entry(d.status).or_default() += 1;
            batch.push(d);
        }
        if batch.len() >= 20_000 || k + 1 == day_w.len() {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(20_000));
            tx.send((full, std::mem::take(&mut handoffs))).await.context("the writer stopped")?;
        }
    }
    drop(tx);
    writer.await?.context("writing dossiers")?;
    let mut counters: Vec<(i64, NaiveDate, i64)> = counters.into_iter().map(|((a, d), l)| (a, d, l)).collect();
    counters.sort();
    let written = started.elapsed().as_secs_f64();
    bulk.finish(&counters).await.context("finishing (counters, sequences, ANALYZE)")?;
    let mut stats: Vec<_> = stats.into_iter().collect();
    stats.sort_by_key(|s| std::cmp::Reverse(s.1));
    println!(
        "RESULT dossiers={made} citizens={n_citizens} officers={officers} seconds={:.1} (rows {written:.1} s, analyze {:.1} s) rows_per_s={:.0}",
        started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64() - written,
        made as f64 / written
    );
    println!("statuses: {}", stats.iter().map(|(s, n)| format!("{s}={n}")).collect::<Vec<_>>().join(" "));
    Ok(())
}

/// One dossier's row, from its filing moment and what happened since (relative to `now`).
#[allow(clippy::too_many_arguments)]
fn dossier(
    rng: &mut Rng,
    now: DateTime<Utc>,
    id: i64,
    submitted: DateTime<Utc>,
    place: &Place,
    proc: &Proc,
    citizen: &Citizen,
    channel: &'static str,
    counters: &mut HashMap<(i64, NaiveDate), i64>,
    handoffs: &mut Vec<SynthHandoff>,
) -> SynthDossier {
    let age = (now - submitted).num_seconds() as f64 / DAY_SECS;
    let acted_by = if channel == "online" { citizen.id } else { *rng.pick(&place.reception) };
    let answers = serde_json::json!({
        "ho_ten": citizen.name,
        "so_dinh_danh": citizen.login,
        "ngay_sinh": citizen.born,
        "so_dien_thoai": citizen.phone,
        "dia_chi": format!("Số {} ngõ {} {}, Hà Nội", 1 + rng.below(120), 1 + rng.below(200), rng.pick(STREETS)),
        "noi_dung": "Đề nghị cơ quan có thẩm quyền giải quyết thủ tục theo quy định.",
    });
    let mut d = SynthDossier {
        id,
        code: None,
        procedure_code: proc.code.clone(),
        version_no: proc.version_no,
        agency_id: place.id,
        applicant_id: citizen.id,
        applicant_folded: tl_core::text::fold(&citizen.name),
        acted_by_id: acted_by,
        channel,
        status: "draft",
        answers,
        revision: 1,
        created_at: submitted - Duration::seconds(60 + rng.below(1800) as i64),
        updated_at: submitted,
        submitted_at: None,
        received_at: None,
        due_at: None,
        supplement_count: 0,
        step_id: None,
        step_agency_id: None,
        step_role: None,
        step_started_at: None,
        step_due_at: None,
        paused_at: None,
        supplement_due_at: None,
        appointed_at: None,
        finished_at: None,
        outcome: None,
        event: ("created", "draft", serde_json::json!({"channel": channel})),
    };
    // Drafts people started lately and never filed.
    if channel == "online" && age < 45.0 && rng.chance(0.01) {
        d.updated_at = d.created_at;
        return d;
    }
    let day = tl_core::time::local_date(submitted);
    let serial = counters.entry((place.id, day)).or_insert(0);
    *serial += 1;
    let code = DossierCode::new(&place.eid, day, *serial as u32).to_string();
    d.code = Some(code.clone());
    d.submitted_at = Some(submitted);
    d.status = "submitted";
    d.revision = 2;
    d.event = ("submitted", "submitted", serde_json::json!({"code": code}));
    // Reception: at once at the counter; online within about a working day.
    let receipt = if channel == "in_person" { 0.01 + 0.02 * rng.unit() } else { 0.05 + 1.2 * rng.unit() };
    if age < receipt {
        return d;
    }
    let received = at(submitted, receipt);
    d.updated_at = received;
    d.revision = 3;
    if rng.chance(0.03) {
        d.status = "not_accepted";
        d.finished_at = Some(received);
        d.outcome = Some("not_accepted");
        return d;
    }
    let limit = proc.limit_days;
    let due = at(received, limit);
    d.received_at = Some(received);
    d.due_at = Some(due);
    d.appointed_at = Some(due);
    // How long processing takes, as a share of the limit: mostly on time, some late, a few
    // stuck for good (they head every inbox: the oldest step due first).
    let r = rng.unit();
    let mut took = if r < 0.80 {
        limit * (0.2 + 0.75 * rng.unit())
    } else if r < 0.94 {
        limit * (0.95 + 0.6 * rng.unit())
    } else if r < 0.985 {
        limit * (1.55 + 4.0 * rng.unit())
    } else {
        f64::INFINITY
    };
    let since = (now - received).num_seconds() as f64 / DAY_SECS;
    // A supplement request (Form 02) pauses the clock while the applicant completes it.
    if rng.chance(0.08) {
        let asked = (took.min(limit) * 0.3 * rng.unit()).min(since);
        let wait = 1.0 + 19.0 * rng.unit();
        d.supplement_count = 1;
        d.revision += 2;
        let unanswered = rng.chance(0.06);
        if since < asked + wait || (unanswered && since < asked + 21.0) {
            d.status = "supplement_requested";
            d.paused_at = Some(at(received, asked));
            d.supplement_due_at = Some(at(received, asked + 21.0));
            enter_step(rng, &mut d, place, received, limit, 0, received, handoffs);
            d.updated_at = at(received, asked);
            return d;
        }
        if unanswered {
            d.status = "stopped";
            d.outcome = Some("expired");
            d.finished_at = Some(at(received, asked + 21.0));
            d.updated_at = at(received, asked + 21.0);
            return d;
        }
        took += wait;
        d.due_at = Some(at(due, wait));
        d.appointed_at = d.due_at;
    }
    if rng.chance(0.01) {
        let when = (took.min(limit) * rng.unit()).min(since);
        d.status = "stopped";
        d.outcome = Some("withdrawn");
        d.finished_at = Some(at(received, when));
        d.updated_at = at(received, when);
        d.revision += 2;
        return d;
    }
    if took <= since {
        d.status = "result_returned";
        d.outcome = Some(if rng.chance(0.03) { "refused" } else { "approved" });
        d.finished_at = Some(at(received, took));
        d.updated_at = at(received, took);
        d.revision += 4;
        return d;
    }
    // Still moving: where it is now, on the standard process (review → approve → return).
    let progress = if took.is_finite() { since / took } else { rng.unit() };
    let step = if progress < 0.62 {
        0
    } else if progress < 0.87 {
        1
    } else {
        2
    };
    let start = if took.is_finite() { [0.0, 0.62, 0.87][step] * took } else { [0.0, 0.62, 0.87][step] * limit * rng.unit() };
    let started = at(received, start.min(since));
    enter_step(rng, &mut d, place, received, limit, step, started, handoffs);
    d.updated_at = started;
    d.revision += step as i64;
    d.status = match step {
        0 if progress < 0.15 => "accepted",
        2 => "processed",
        _ => "processing",
    };
    if rng.chance(0.015) {
        d.status = "withdrawal_requested";
    }
    d
}

/// Puts `d` at a step of the standard process, with its control-sheet rows (Form 06): the
/// closed rows of reception and the steps before, the open row of this one.
#[allow(clippy::too_many_arguments)]
fn enter_step(
    rng: &mut Rng,
    d: &mut SynthDossier,
    place: &Place,
    received: DateTime<Utc>,
    limit: f64,
    step: usize,
    started: DateTime<Utc>,
    handoffs: &mut Vec<SynthHandoff>,
) {
    // The standard process shares the limit out: review 5/8, approval 1/4, return 1/8.
    const STEPS: [(&str, &str, f64, f64); 3] =
        [("review", "specialist", 0.0, 0.625), ("approve", "leader", 0.625, 0.25), ("return", "reception", 0.875, 0.125)];
    let (step_id, role, _, share) = STEPS[step];
    let due = d.due_at.expect("received");
    let step_due = at(started, limit * share).min(due.max(started));
    d.step_id = Some(step_id);
    d.step_agency_id = Some(place.id);
    d.step_role = Some(role);
    d.step_started_at = Some(started);
    d.step_due_at = Some(step_due);
    let submitted = d.submitted_at.expect("filed");
    let receptionist = *rng.pick(&place.reception);
    handoffs.push(SynthHandoff {
        dossier_id: d.id,
        step_id: "reception",
        agency_id: place.id,
        role: "reception",
        started_at: submitted,
        due_at: Some(at(submitted, 1.4)),
        giver_id: None,
        handler_id: Some(receptionist),
        ended_at: Some(received),
        decision: Some("accept"),
        timeliness: Some(timeliness(received, at(submitted, 1.4))),
    });
    let specialist = *rng.pick(&place.specialists);
    let leader = *rng.pick(&place.leaders);
    let mut giver = receptionist;
    let mut from = received;
    // At the return step, review ended where approval began: 0.625 of the way to 0.875.
    let review_end = received + (started - received) * 5 / 7;
    for (k, &(id, role, _, share)) in STEPS.iter().enumerate().take(step) {
        let handler = if k == 0 { specialist } else { leader };
        let due = at(from, limit * share);
        let ended = if k + 1 == step { started } else { review_end };
        handoffs.push(SynthHandoff {
            dossier_id: d.id,
            step_id: id,
            agency_id: place.id,
            role,
            started_at: from,
            due_at: Some(due),
            giver_id: Some(giver),
            handler_id: Some(handler),
            ended_at: Some(ended),
            decision: Some(if k == 0 { "propose" } else { "approve" }),
            timeliness: Some(timeliness(ended, due)),
        });
        giver = handler;
        from = ended;
    }
    handoffs.push(SynthHandoff {
        dossier_id: d.id,
        step_id,
        agency_id: place.id,
        role,
        started_at: started,
        due_at: Some(step_due),
        giver_id: Some(giver),
        handler_id: None,
        ended_at: None,
        decision: None,
        timeliness: None,
    });
}

/// The (role, agencies) pairs an officer acts for, as the inbox page computes them.
async fn grants_of(db: &Arc<dyn Database>, login: &str) -> anyhow::Result<Vec<(Role, Vec<i64>)>> {
    let mut r = db.read().await?;
    let account = r.find_account_by_login(login).await?.with_context(|| format!("no account `{login}`"))?;
    let roles = r.roles_of(account.id).await?;
    let agencies = r.list_agencies().await?;
    Ok(tl_web::filing::HANDLING_ROLES
        .iter()
        .map(|&role| {
            let ids =
                agencies.iter().filter(|a| roles.iter().any(|g| g.role == role && g.covers(&a.electronic_id))).map(|a| a.id).collect();
            (role, ids)
        })
        .filter(|(_, ids): &(Role, Vec<i64>)| !ids.is_empty())
        .collect())
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn quantile(sorted: &[std::time::Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    ms(sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)])
}

/// Times the inbox of each officer with the page's filters: the storage query alone,
/// `iterations` times after a warm-up, then the baseline without the inbox index.
pub async fn bench_inbox(db: &Arc<dyn Database>, officers: &[String], iterations: usize, baseline_iterations: usize) -> anyhow::Result<()> {
    use tl_web::workflow::{inbox_query, InboxParams};
    let now = Utc::now();
    let cal = tl_core::calendar::Calendar::new(2020, 2035, &[Weekday::Sat, Weekday::Sun], &[], tl_core::calendar::OfficeHours::standard())
        .map_err(|e| anyhow::anyhow!("calendar: {e:?}"))?;
    let bulk = db.bulk();
    let backend = db.backend().as_str();
    let mut scenarios: Vec<(String, &'static str, InboxQuery)> = vec![];
    for login in officers {
        let grants = grants_of(db, login).await?;
        if grants.is_empty() {
            bail!("`{login}` has no handling role");
        }
        let desc: Vec<String> = grants.iter().map(|(r, ids)| format!("{}×{}", r.as_str(), ids.len())).collect();
        let first = inbox_query(&cal, grants.clone(), &InboxParams::default(), now);
        let page = db.read().await?.list_inbox(&first).await?;
        if page.is_empty() {
            bail!("the inbox of `{login}` is empty: fill the database first");
        }
        // What an officer would type: the applicant's name of a dossier on the page, and the
        // procedure of another.
        let name = page[page.len().min(20) - 1].applicant_name.to_lowercase();
        let procedure = page[page.len() / 2].dossier.procedure_code.clone();
        println!("PARAMS officer={login} grants={} q=\"{name}\" procedure={procedure}", desc.join(","));
        let filters: [(&'static str, InboxParams); 4] = [
            ("default", InboxParams::default()),
            ("search name", InboxParams { q: Some(name.clone()), ..Default::default() }),
            ("procedure", InboxParams { procedure: Some(procedure.clone()), ..Default::default() }),
            ("late", InboxParams { state: Some("late".into()), ..Default::default() }),
        ];
        for (label, p) in filters {
            let mut url = "/office/inbox".to_owned();
            if let Some(q) = &p.q {
                url.push_str(&format!("?q={}", percent_encode(q)));
            }
            if let Some(c) = &p.procedure {
                url.push_str(&format!("?procedure={}", percent_encode(c)));
            }
            if let Some(s) = &p.state {
                url.push_str(&format!("?state={s}"));
            }
            println!("URL {login} {url}");
            scenarios.push((login.clone(), label, inbox_query(&cal, grants.clone(), &p, now)));
        }
    }
    let mut measured = vec![];
    for (login, label, q) in &scenarios {
        for _ in 0..(iterations / 20).max(20) {
            db.read().await?.list_inbox(q).await?;
        }
        let mut lat = Vec::with_capacity(iterations);
        let mut rows = 0;
        for _ in 0..iterations {
            let t = Instant::now();
            rows = db.read().await?.list_inbox(q).await?.len();
            lat.push(t.elapsed());
        }
        lat.sort();
        for line in bulk.explain_inbox(q).await? {
            println!("PLAN {login} | {label} | {line}");
        }
        measured.push((lat, rows));
    }
    let queries: Vec<InboxQuery> = scenarios.iter().map(|s| s.2.clone()).collect();
    let base = bulk.time_inbox_without_index(&queries, baseline_iterations).await?;
    println!(
        "| database | officer | filter | rows | p50 ms | p95 ms | p99 ms | max ms | baseline p50 ms | baseline p99 ms | speed-up (p50) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (((login, label, _), (lat, rows)), b) in scenarios.iter().zip(&measured).zip(base) {
        for line in &b.plan {
            println!("BASEPLAN {login} | {label} | {line}");
        }
        if b.rows != *rows {
            bail!("{login} {label}: {rows} rows with the index, {} without", b.rows);
        }
        let mut bl = b.latencies;
        bl.sort();
        let (p50, b50) = (quantile(lat, 0.5), quantile(&bl, 0.5));
        println!(
            "ROW | {backend} | {login} | {label} | {rows} | {p50:.2} | {:.2} | {:.2} | {:.2} | {b50:.1} | {:.1} | {:.0}× |",
            quantile(lat, 0.95),
            quantile(lat, 0.99),
            ms(*lat.last().expect("timed")),
            quantile(&bl, 0.99),
            b50 / p50.max(0.001)
        );
    }
    Ok(())
}
