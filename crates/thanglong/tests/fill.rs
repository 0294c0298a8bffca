//! `thanglong bench fill-dossiers` (the inbox benchmark's data) makes data the product can live
//! with: unique, gap-free codes of the legal shape, active dossiers placed at a step of their
//! agency with due moments, finished ones closed, and officers whose inbox shows them in order.

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::Arc;
use tl_core::account::Role;
use tl_core::dossier::{DossierCode, DossierStatus};
use tl_storage::{Database, InboxQuery};

const BIN: &str = env!("CARGO_BIN_EXE_thanglong");
const COUNT: usize = 2000;

fn thanglong(args: &[&str], url: &str) -> String {
    let dir = std::env::temp_dir().join(format!("tl-fill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(BIN).args(args).arg("--database-url").arg(url).arg("--data-dir").arg(&dir).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "{args:?}: {stdout}\n{stderr}");
    stdout
}

const INBOX_STATUSES: [DossierStatus; 4] =
    [DossierStatus::Accepted, DossierStatus::Processing, DossierStatus::Processed, DossierStatus::WithdrawalRequested];

async fn check(db: Arc<dyn Database>, url: &str) {
    let mut r = db.read().await.unwrap();
    let agencies = r.list_agencies().await.unwrap();
    let ids: Vec<i64> = agencies.iter().map(|a| a.id).collect();
    let all = r.list_queue(&ids, &DossierStatus::ALL, 10 * COUNT as i64).await.unwrap();
    assert_eq!(all.len(), COUNT);

    let mut codes = HashSet::new();
    let mut serials: HashMap<(String, chrono::NaiveDate), Vec<u32>> = HashMap::new();
    let mut by_status: HashMap<DossierStatus, usize> = HashMap::new();
    for d in &all {
        *by_status.entry(d.status).or_default() += 1;
        match &d.code {
            None => assert_eq!(d.status, DossierStatus::Draft),
            Some(c) => {
                assert!(codes.insert(c.clone()), "duplicate code {c}");
                let parsed = DossierCode::parse(c).unwrap_or_else(|| panic!("bad code {c}"));
                assert_eq!(parsed.agency, d.agency_electronic_id);
                assert_eq!(parsed.day, tl_core::time::local_date(d.submitted_at.unwrap()), "{c}");
                serials.entry((parsed.agency, parsed.day)).or_default().push(parsed.serial);
            }
        }
        let f = &d.flow;
        let at_step = INBOX_STATUSES.contains(&d.status) || d.status == DossierStatus::SupplementRequested;
        if at_step {
            assert!(f.step_id.is_some() && f.step_role.is_some(), "{:?} {:?}", d.code, d.status);
            assert_eq!(f.step_agency_id, Some(d.agency_id));
            assert!(f.step_started_at.unwrap() <= f.step_due_at.unwrap());
            assert!(d.received_at.unwrap() <= f.step_started_at.unwrap());
            assert!(f.finished_at.is_none());
        } else {
            assert!(f.step_role.is_none() && f.step_id.is_none(), "{:?} {:?}", d.code, d.status);
        }
        assert_eq!(d.status == DossierStatus::SupplementRequested, f.paused_at.is_some());
        let finished = matches!(d.status, DossierStatus::ResultReturned | DossierStatus::Stopped | DossierStatus::NotAccepted);
        assert_eq!(finished, f.finished_at.is_some(), "{:?} {:?}", d.code, d.status);
    }
    // Codes are gap-free per agency and day, as the counters hand them out.
    for ((agency, day), mut s) in serials {
        s.sort_unstable();
        assert_eq!(s, (1..=s.len() as u32).collect::<Vec<_>>(), "{agency} {day}");
    }
    // Most finished, a few percent still moving.
    let share = |s: DossierStatus| by_status.get(&s).copied().unwrap_or(0) as f64 / COUNT as f64;
    assert!(share(DossierStatus::ResultReturned) > 0.8, "{by_status:?}");
    let moving: f64 = INBOX_STATUSES.iter().map(|&s| share(s)).sum::<f64>() + share(DossierStatus::SupplementRequested);
    assert!((0.005..0.1).contains(&moving), "{by_status:?}");

    // The generated specialist of the busiest agency sees its dossiers, most urgent first.
    let mut load: HashMap<i64, usize> = HashMap::new();
    for d in all.iter().filter(|d| d.flow.step_role == Some(Role::Specialist) && INBOX_STATUSES.contains(&d.status)) {
        *load.entry(d.agency_id).or_default() += 1;
    }
    let (&agency_id, &n) = load.iter().max_by_key(|(id, n)| (**n, -**id)).expect("someone reviews something");
    let agency = agencies.iter().find(|a| a.id == agency_id).unwrap();
    let login = format!("cb.{}.chuyenvien1", agency.electronic_id.to_lowercase().replace('.', "-"));
    let officer = r.find_account_by_login(&login).await.unwrap().expect("generated officer");
    let roles = r.roles_of(officer.id).await.unwrap();
    assert!(roles.iter().any(|g| g.role == Role::Specialist && g.agency == agency.electronic_id));
    let q = InboxQuery {
        grants: vec![(Role::Specialist, vec![agency_id])],
        statuses: INBOX_STATUSES.to_vec(),
        limit: 51,
        ..Default::default()
    };
    let page = r.list_inbox(&q).await.unwrap();
    assert_eq!(page.len(), n.min(51));
    assert!(page.windows(2).all(|w| w[0].dossier.flow.step_due_at <= w[1].dossier.flow.step_due_at));
    assert!(page.iter().all(|i| i.dossier.flow.step_role == Some(Role::Specialist) && !i.applicant_name.is_empty()));
    // Its control sheet ends with the open row of the step it waits at.
    let first = &page[0].dossier;
    let sheet = r.list_handoffs(first.id).await.unwrap();
    let open = sheet.last().expect("handoff rows");
    assert!(open.ended_at.is_none());
    assert_eq!(Some(&open.step_id), first.flow.step_id.as_ref());
    assert_eq!(sheet[0].step_id, "reception");
    drop(r);

    // The benchmark command runs on it; its baseline drops the inbox index in a transaction it
    // rolls back, so a second run finds the index again (DROP INDEX would fail otherwise).
    for _ in 0..2 {
        let out = thanglong(&["bench", "inbox", "--officer", &login, "--iterations", "3", "--baseline-iterations", "1"], url);
        assert_eq!(out.lines().filter(|l| l.starts_with("ROW |")).count(), 4, "{out}");
        assert!(out.lines().any(|l| l.starts_with("PLAN ")), "{out}");
    }
}

fn run(url: &str, db: Arc<dyn Database>, rt: &tokio::runtime::Runtime) {
    let out = thanglong(&["bench", "fill-dossiers", "--count", &COUNT.to_string()], url);
    assert!(out.contains(&format!("dossiers={COUNT}")), "{out}");
    rt.block_on(check(db, url));
}

#[test]
fn generated_dossiers_are_consistent_on_sqlite() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (db, url) = rt.block_on(tl_storage::testing::fresh_sqlite());
    run(&url, db, &rt);
}

#[test]
fn generated_dossiers_are_consistent_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some((db, url)) = rt.block_on(tl_storage::testing::fresh_postgres()) else { return };
    run(&url, db, &rt);
}
