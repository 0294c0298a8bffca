//! The access-log benchmark (issue #6: "access-log write overhead on a dossier read < 10 % of
//! the read's time"; BENCHMARKS.md, bench/access.sh).
//!
//! One process, one database, the whole application in-process (every middleware layer, no
//! network): an officer reads dossiers — the dossier page `GET /dossiers/{id}` and the GovStack
//! operator's `GET /applications/{fileId}` — through two app states over the same database,
//! one recording each read in the access log as served, one whose log discards entries. The
//! two alternate round by round in the same run, so drift on a shared machine falls on both:
//! - sequential: one reader, each read timed (mean, p50, p99), the two kinds of read in pairs
//!   back to back;
//! - concurrent: N readers, reads per second, the logged measurement counted until the access
//!   log has committed every entry (its background writer shares the cores with the reads);
//!   the overhead is the median over rounds of each back-to-back pair's ratio.
//!
//! The overhead is (with − without) / without. Without HTTP and network costs around it the
//! read is as short as it gets, so the ratio is the strictest one.

use crate::config::Config;
use anyhow::{bail, Context};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tl_core::account::{AccountKind, Role};
use tl_storage::Database;
use tower::ServiceExt;

const PASSWORD: &str = "Mật khẩu đo hiệu năng 2026";
const DOSSIERS: usize = 200;

struct Scenario {
    name: &'static str,
    paths: Vec<String>,
    headers: Vec<(header::HeaderName, String)>,
}

pub async fn run(db: &Arc<dyn Database>, cfg: &Config, reads: usize, concurrency: usize, rounds: usize) -> anyhow::Result<()> {
    let (officer, codes, ids) = setup(db).await?;
    let logged = tl_web::state(db.clone(), cfg.web.clone());
    let mut unlogged = tl_web::state(db.clone(), cfg.web.clone());
    Arc::get_mut(&mut unlogged).context("a fresh state has one owner")?.access = tl_storage::access::AccessLog::discard();
    let (with, without) = (tl_web::router(logged.clone()), tl_web::router(unlogged));
    let cookie = sign_in(&with, &officer).await?;
    let token = token(db, &officer).await?;
    let scenarios = [
        Scenario {
            name: "GET /dossiers/{id} (page)",
            paths: ids.iter().map(|id| format!("/dossiers/{id}")).collect(),
            headers: vec![(header::COOKIE, cookie)],
        },
        Scenario {
            name: "GET /govstack/…/applications/{fileId} (API)",
            paths: codes.iter().map(|c| format!("/govstack/registration/applications/{c}")).collect(),
            headers: vec![
                (header::AUTHORIZATION, format!("Bearer {token}")),
                (header::HeaderName::from_static("information-mediator-client"), "eGovStack/GOV/90000009/bench".into()),
            ],
        },
    ];
    println!("PARAMS database={} reads={reads} concurrency={concurrency} rounds={rounds} dossiers={DOSSIERS}", db.backend().as_str());
    for s in &scenarios {
        // Warm both (caches, pools, the catalog snapshot).
        for r in [&with, &without] {
            read_seq(r, s, 50).await?;
        }
        logged.access.flush().await;
        let (mut on, mut off) = (vec![], vec![]);
        let (mut on_rps, mut off_rps, mut ratios) = (vec![], vec![], vec![]);
        let written_before = logged.access.stats().written.load(std::sync::atomic::Ordering::Relaxed);
        for round in 0..rounds {
            // Sequential reads in pairs, one of each kind back to back (which goes first
            // alternating), so a busy moment of a shared machine falls on both alike.
            for i in 0..reads {
                let path = &s.paths[i % s.paths.len()];
                for logging in if (i + round) % 2 == 0 { [false, true] } else { [true, false] } {
                    let t = Instant::now();
                    get(if logging { &with } else { &without }, s, path).await?;
                    if logging { &mut on } else { &mut off }.push(t.elapsed());
                }
            }
            logged.access.flush().await;
            // Throughput: whole measurements, alternating which goes first. The logged one is
            // timed until its last entry is committed: all the work its reads caused is in.
            let mut pair = [0.0; 2];
            for logging in if round % 2 == 0 { [false, true] } else { [true, false] } {
                let router = if logging { &with } else { &without };
                let t = Instant::now();
                read_concurrent(router, s, reads, concurrency).await?;
                if logging {
                    logged.access.flush().await;
                }
                pair[usize::from(logging)] = reads as f64 / t.elapsed().as_secs_f64();
            }
            off_rps.push(pair[0]);
            on_rps.push(pair[1]);
            ratios.push(pair[1] / pair[0]);
        }
        let written = logged.access.stats().written.load(std::sync::atomic::Ordering::Relaxed) - written_before;
        let expected = (rounds * reads * 2) as u64; // the sequential and the concurrent reads
        if written != expected {
            bail!("{}: the access log wrote {written} entries for {expected} logged reads", s.name);
        }
        on.sort();
        off.sort();
        let (m_on, m_off) = (mean(&on), mean(&off));
        let (r_on, r_off) = (median(&mut on_rps), median(&mut off_rps));
        // The median of the rounds' ratios: each pair ran back to back.
        let ratio = median(&mut ratios);
        println!(
            "ROW | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:+.1} % | {:.0} | {:.0} | {:+.1} % | {} |",
            db.backend().as_str(),
            s.name,
            m_off,
            m_on,
            quantile(&off, 0.5),
            quantile(&on, 0.5),
            quantile(&off, 0.99),
            quantile(&on, 0.99),
            (m_on - m_off) / m_off * 100.0,
            r_off,
            r_on,
            (1.0 - ratio) * 100.0,
            written,
        );
    }
    let stats = logged.access.stats();
    let batches = stats.batches.load(std::sync::atomic::Ordering::Relaxed);
    let written = stats.written.load(std::sync::atomic::Ordering::Relaxed);
    let busy = stats.busy_micros.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "BATCHES {batches} commits for {written} entries ({:.0} per commit); the writer busy {:.1} µs per entry (transaction, hashes, inserts, commit)",
        written as f64 / batches.max(1) as f64,
        busy as f64 / written.max(1) as f64
    );
    let report = tl_storage::chain::verify(db.as_ref(), tl_storage::chain::Chain::Access).await?;
    if !report.ok() {
        bail!("the access chain does not verify after the benchmark: {:?}", report.broken);
    }
    println!("VERIFY access_log {} entries OK", report.checked);
    Ok(())
}

/// A citizen with DOSSIERS filed birth registrations at the ward H26.31, and an officer of the
/// ward (reception and specialist) who reads them. Returns (officer login, codes, ids).
async fn setup(db: &Arc<dyn Database>) -> anyhow::Result<(String, Vec<String>, Vec<i64>)> {
    let now = chrono::Utc::now();
    let today = tl_core::time::local_date(now);
    let mut w = db.begin().await?;
    let agency = w.get_agency("H26.31").await?.context("import the seed catalog first (agency H26.31)")?;
    let version = w.get_procedure("1.001193", today, None).await?.context("import the seed catalog first (procedure 1.001193)")?.version_no;
    let n = w.count_procedures().await?;
    let officer = format!("bench.access.{n}.{}", now.timestamp_subsec_micros());
    let hash = tl_web::security::hash_password_async(PASSWORD).await?;
    let citizen = w
        .create_account(
            &tl_storage::NewAccount {
                kind: AccountKind::Citizen,
                login: format!("0013{:08}", now.timestamp_subsec_micros() % 100_000_000),
                display_name: "Nguyễn Thị Mai".into(),
                email: None,
                phone: Some("0912345678".into()),
                password_hash: None,
                agency_id: None,
            },
            now,
        )
        .await?;
    let o = w
        .create_account(
            &tl_storage::NewAccount {
                kind: AccountKind::Officer,
                login: officer.clone(),
                display_name: "Trần Văn Đo".into(),
                email: None,
                phone: None,
                password_hash: Some(hash),
                agency_id: Some(agency.id),
            },
            now,
        )
        .await?;
    for role in [Role::Reception, Role::Specialist] {
        w.grant_role(o.id, role, agency.id, None, now).await?;
    }
    let answers = serde_json::json!({
        "child_full_name": "Nguyễn Minh Khôi", "child_birth_date": "2026-11-20", "child_gender": "nam",
        "mother_full_name": "Nguyễn Thị Mai", "mother_birth_date": "1995-04-12", "mother_personal_id": "001195012345",
        "father_full_name": "Lê Văn Hùng", "father_birth_date": "1993-09-02", "father_personal_id": "001093054321",
        "requester_full_name": "Nguyễn Thị Mai", "requester_phone": "0912345678", "copies": 2
    });
    let (mut codes, mut ids) = (vec![], vec![]);
    for i in 0..DOSSIERS {
        let d = w
            .create_dossier(&tl_storage::NewDossier {
                procedure_code: "1.001193".into(),
                version_no: version,
                agency_id: agency.id,
                applicant_id: citizen.id,
                acted_by_id: citizen.id,
                channel: tl_core::catalog::Channel::Online,
                answers: answers.clone(),
                idempotency_key: Some(format!("bench-{i}")),
                now,
            })
            .await?;
        let d = w.submit_dossier(d.id, d.revision, today, now).await?;
        codes.push(d.code.clone().context("filed")?);
        ids.push(d.id);
    }
    w.commit().await?;
    Ok((officer, codes, ids))
}

async fn token(db: &Arc<dyn Database>, login: &str) -> anyhow::Result<String> {
    crate::issue_token(db, login, "bench", 1).await
}

/// Signs the officer in through the pages, as a browser does; returns the Cookie header.
async fn sign_in(router: &Router, login: &str) -> anyhow::Result<String> {
    let resp = router.clone().oneshot(Request::get("/signin").body(Body::empty())?).await?;
    let mut cookies = set_cookies(&resp);
    let csrf = cookies.iter().find(|(k, _)| k == "tl_csrf").map(|(_, v)| v.clone()).context("no CSRF cookie")?;
    let body = serde_urlencoded_pairs(&[("csrf", &csrf), ("login", login), ("password", PASSWORD)]);
    let req = Request::post("/signin")
        .header(header::COOKIE, cookie_header(&cookies))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))?;
    let resp = router.clone().oneshot(req).await?;
    cookies.extend(set_cookies(&resp));
    if !cookies.iter().any(|(k, _)| k == "tl_session") {
        bail!("signing in {login} failed ({})", resp.status());
    }
    Ok(cookie_header(&cookies))
}

fn set_cookies(resp: &axum::response::Response) -> Vec<(String, String)> {
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next()?.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect()
}

fn cookie_header(c: &[(String, String)]) -> String {
    c.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
}

fn serde_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect()
    };
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

async fn get(router: &Router, s: &Scenario, path: &str) -> anyhow::Result<()> {
    let mut b = Request::get(path);
    for (k, v) in &s.headers {
        b = b.header(k, v);
    }
    let resp = router.clone().oneshot(b.body(Body::empty())?).await?;
    let status = resp.status();
    // The whole body, as a client would receive it.
    axum::body::to_bytes(resp.into_body(), 16 << 20).await?;
    if status != StatusCode::OK {
        bail!("GET {path} answered {status}");
    }
    Ok(())
}

async fn read_seq(router: &Router, s: &Scenario, n: usize) -> anyhow::Result<Vec<Duration>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        get(router, s, &s.paths[i % s.paths.len()]).await?;
        out.push(t.elapsed());
    }
    Ok(out)
}

async fn read_concurrent(router: &Router, s: &Scenario, n: usize, concurrency: usize) -> anyhow::Result<()> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    let shared = Arc::new((router.clone(), Scenario { name: s.name, paths: s.paths.clone(), headers: s.headers.clone() }));
    for _ in 0..concurrency {
        let (next, shared) = (next.clone(), shared.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return Ok::<(), anyhow::Error>(());
                }
                get(&shared.0, &shared.1, &shared.1.paths[i % shared.1.paths.len()]).await?;
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mean(xs: &[Duration]) -> f64 {
    xs.iter().map(|d| ms(*d)).sum::<f64>() / xs.len().max(1) as f64
}

fn quantile(sorted: &[Duration], q: f64) -> f64 {
    sorted.get(((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1))).map_or(0.0, |d| ms(*d))
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}
