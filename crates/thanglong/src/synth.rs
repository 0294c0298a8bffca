//! A synthetic catalog for benchmarks: the seed's fields, units and agencies, and its real
//! procedures repeated with varied names and new codes up to the size of a province (~2,100).

use std::sync::Arc;
use std::time::Instant;
use tl_core::catalog::Procedure;
use tl_core::catalog_doc::CatalogDocument;

const QUALIFIERS: &[&str] = &[
    "có yếu tố nước ngoài",
    "cho người Việt Nam định cư ở nước ngoài",
    "trường hợp bị mất, hư hỏng",
    "đối với hộ gia đình, cá nhân",
    "đối với tổ chức",
    "cấp lại",
    "điều chỉnh, bổ sung",
    "tại khu vực biên giới",
    "theo yêu cầu",
    "liên thông",
    "lần đầu",
    "gia hạn",
];

pub fn scale(seed: &CatalogDocument, count: usize) -> CatalogDocument {
    let mut doc = seed.clone();
    let base: Vec<Procedure> = seed.procedures.clone();
    let mut i = 0usize;
    while doc.procedures.len() < count && !base.is_empty() {
        let src = &base[i % base.len()];
        let q = QUALIFIERS[(i / base.len()) % QUALIFIERS.len()];
        let mut p = src.clone();
        p.code = format!("9.{:06}", i + 1);
        for v in &mut p.versions {
            v.name.vi = format!("{} {} (mẫu {})", v.name.vi, q, i + 1);
            if let Some(en) = &mut v.name.en {
                *en = format!("{en} — variant {}", i + 1);
            }
        }
        doc.procedures.push(p);
        i += 1;
    }
    doc.procedures.truncate(count.max(seed.procedures.len().min(count)));
    doc
}

/// Queries people type (from the benchmark's request mix).
pub const QUERIES: &[&str] = &[
    "dang ky khai sinh",
    "khai sinh",
    "ĐĂNG KÝ KẾT HÔN",
    "giay phep xay dung",
    "thuong tru",
    "chung thuc ban sao",
    "ly lich tu phap",
    "can cuoc",
    "ho kinh doanh",
    "dat dai",
    "tam tru",
    "khai tu",
    "xac nhan tinh trang hon nhan",
    "trich luc",
    "giay phep lai xe",
    "doanh nghiep",
];

/// Times one search per query per pass on each engine and prints µs per query.
pub async fn bench_search(db: &Arc<dyn tl_storage::Database>, passes: usize) -> anyhow::Result<()> {
    let day = tl_core::time::local_date(chrono::Utc::now());
    let queries: Vec<tl_storage::SearchQuery> = QUERIES
        .iter()
        .map(|q| tl_storage::SearchQuery { terms: tl_core::text::terms(q), day, page: 1, per_page: 20, ..Default::default() })
        .collect();
    let mut repo = db.read().await?;
    let t = Instant::now();
    let mut db_hits = 0i64;
    for _ in 0..passes {
        for q in &queries {
            db_hits += repo.search_procedures(q).await?.total;
        }
    }
    let db_us = t.elapsed().as_secs_f64() * 1e6 / (passes * queries.len()) as f64;
    let t = Instant::now();
    let rows = repo.list_current_procedures(day).await?;
    let docs = rows.into_iter().map(tl_storage::IndexedProcedure::into_doc).collect();
    let index = tl_core::search::SearchIndex::new(docs);
    let build_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let mut mem_hits = 0i64;
    for _ in 0..passes {
        for q in &queries {
            let h = index.search(&tl_core::search::IndexQuery { terms: &q.terms, limit: 20, ..Default::default() });
            mem_hits += h.total as i64;
        }
    }
    let mem_us = t.elapsed().as_secs_f64() * 1e6 / (passes * queries.len()) as f64;
    println!("procedures in force: {}", index.len());
    println!("database engine ({}): {db_us:.1} µs/query ({db_hits} hits)", db.backend().as_str());
    println!("in-memory index: {mem_us:.1} µs/query ({mem_hits} hits); built in {build_ms:.1} ms");
    println!("speed-up: {:.0}×", db_us / mem_us.max(0.001));
    Ok(())
}

/// The submission benchmark's baseline: `rows` durable inserts of the same draft rows the API
/// creates, one transaction each, from `concurrency` tasks. Prints rows per second and p99.
pub async fn bench_inserts(
    db: &Arc<dyn tl_storage::Database>,
    rows: usize,
    concurrency: usize,
    user: &str,
    procedure: &str,
    agency: &str,
) -> anyhow::Result<()> {
    let mut r = db.read().await?;
    let account = r.find_account_by_login(user).await?.ok_or_else(|| anyhow::anyhow!("no account `{user}`"))?;
    let agency = r.get_agency(agency).await?.ok_or_else(|| anyhow::anyhow!("no agency `{agency}`"))?;
    drop(r);
    let answers: serde_json::Value = (0..12)
        .map(|i| (format!("line_{i:02}"), serde_json::Value::String(format!("Thông tin kê khai số {i} ").repeat(7))))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = vec![];
    for _ in 0..concurrency {
        let (db, next, answers, procedure) = (db.clone(), next.clone(), answers.clone(), procedure.to_owned());
        let (account_id, agency_id) = (account.id, agency.id);
        tasks.push(tokio::spawn(async move {
            let mut latencies = vec![];
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < rows {
                let t = Instant::now();
                let mut w = db.begin().await?;
                w.create_dossier(&tl_storage::NewDossier {
                    procedure_code: procedure.clone(),
                    version_no: 1,
                    agency_id,
                    applicant_id: account_id,
                    acted_by_id: account_id,
                    channel: tl_core::catalog::Channel::Online,
                    answers: answers.clone(),
                    idempotency_key: None,
                    now: chrono::Utc::now(),
                })
                .await?;
                w.commit().await?;
                latencies.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = vec![];
    for t in tasks {
        all.extend(t.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort();
    let p99 = all.get(all.len() * 99 / 100).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    println!("RESULT rps={:.0} p99_ms={p99:.2} rows={} seconds={secs:.2}", all.len() as f64 / secs, all.len());
    Ok(())
}

/// Times `count` due-date computations with the working calendar (prefix counts and binary
/// search) and the same N-th-working-day answers by walking day by day (the baseline), on one
/// thread; prints a RESULT line with both rates.
pub fn bench_deadlines(count: usize) {
    use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};
    use tl_core::calendar::{fixed_holidays, Calendar, DayKind, OfficeHours};
    use tl_core::catalog::TimeUnit;
    // Ten years of fixed holidays plus a week of Tết each year: a realistic density.
    let mut overrides = vec![];
    for y in 2020..=2030 {
        for (d, _) in fixed_holidays(y) {
            overrides.push((d, DayKind::Holiday));
        }
        let tet = NaiveDate::from_ymd_opt(y, 2, 1).expect("date") + Duration::days(i64::from((y * 11 % 19) as u32));
        for k in 0..5 {
            overrides.push((tet + Duration::days(k), DayKind::Holiday));
        }
    }
    let cal = Calendar::new(2020, 2030, &[Weekday::Sat, Weekday::Sun], &overrides, OfficeHours::standard()).expect("calendar");
    let base = NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
    let cut = NaiveTime::from_hms_opt(15, 0, 0);
    // A deterministic spread of receipts over two years, times of day and limits.
    let inputs: Vec<_> = (0..4096u64)
        .map(|i| {
            let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let day = base + Duration::days((x % 730) as i64);
            let minute = ((x >> 20) % 1440) as u32;
            let at = day.and_hms_opt(minute / 60, minute % 60, 0).expect("time");
            let (value, unit) = match (x >> 40) % 4 {
                0 => (((x >> 44) % 45) as u32 + 1, TimeUnit::WorkingDays),
                1 => (8, TimeUnit::WorkingHours),
                2 => (((x >> 44) % 30) as u32, TimeUnit::Days),
                _ => (((x >> 44) % 15) as u32 + 1, TimeUnit::WorkingDays),
            };
            (at, value, unit, if (x >> 50) % 3 == 0 { cut } else { None })
        })
        .collect();
    let t = std::time::Instant::now();
    let mut sink = 0i64;
    for i in 0..count {
        let (at, value, unit, cutoff) = inputs[i % inputs.len()];
        sink = sink.wrapping_add(cal.due(at, value, unit, cutoff).and_utc().timestamp());
    }
    let engine = count as f64 / t.elapsed().as_secs_f64();
    // Baseline: the same working-day answers by walking the calendar one day at a time.
    let t = std::time::Instant::now();
    let walks = count / 4;
    for i in 0..walks {
        let (at, value, _, _) = inputs[i % inputs.len()];
        let mut day = at.date();
        let mut left = value;
        while left > 0 {
            day = day.succ_opt().expect("date");
            if cal.is_working_day(day) {
                left -= 1;
            }
        }
        sink = sink.wrapping_add(i64::from(day.ordinal()));
    }
    let walking = walks as f64 / t.elapsed().as_secs_f64();
    println!("RESULT due_per_s={engine:.0} walking_baseline_per_s={walking:.0} ratio={:.2} (checksum {sink})", engine / walking);
}
