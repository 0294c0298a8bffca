//! The access log and the hash chains behave the same on both databases: entries queue, are
//! written in batches in chain order (also from two writers at once, as two app servers), list
//! and filter for their subject only, and any change or removal is found and named.

use super::*;
use tl_storage::access::{AccessEntry, AccessLog, AccessQuery, ReaderKind};
use tl_storage::chain::{self, Chain};

/// Each database with its URL, for the raw SQL a tamperer would run.
async fn databases_with_urls() -> Vec<(&'static str, Arc<dyn Database>, String)> {
    let mut out = vec![];
    let (db, url) = tl_storage::testing::fresh_sqlite().await;
    out.push(("sqlite", db, url));
    if let Some((db, url)) = tl_storage::testing::fresh_postgres().await {
        out.push(("postgres", db, url));
    }
    out
}

/// Runs SQL straight on the database, as someone with its password could.
async fn raw(url: &str, sql: &str) -> Result<u64, sqlx::Error> {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await?;
        let n = sqlx::raw_sql(sql).execute(&pool).await.map(|r| r.rows_affected());
        pool.close().await;
        n
    } else {
        let pool = sqlx::PgPool::connect(url).await?;
        let n = sqlx::raw_sql(sql).execute(&pool).await.map(|r| r.rows_affected());
        pool.close().await;
        n
    }
}

async fn officer(db: &Arc<dyn Database>, login: &str, agency: &str) -> i64 {
    let mut w = db.begin().await.unwrap();
    let ag = w.get_agency(agency).await.unwrap().unwrap().id;
    let a = w
        .create_account(
            &NewAccount {
                kind: AccountKind::Officer,
                login: login.into(),
                display_name: format!("Cán bộ {login}"),
                email: None,
                phone: None,
                password_hash: None,
                agency_id: Some(ag),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    w.commit().await.unwrap();
    a.id
}

fn read(subject: i64, reader: i64, kind: ReaderKind, agency: Option<&str>, action: &str, at: chrono::DateTime<Utc>) -> AccessEntry {
    AccessEntry {
        at,
        subject_id: subject,
        reader_id: Some(reader),
        reader_label: "Cán bộ Nguyễn Văn Một".into(),
        reader_kind: kind,
        agency: agency.map(str::to_owned),
        action: action.into(),
        target: "H26.51-261126-0001".into(),
        purpose: "H26.51-261126-0001".into(),
        client_id: None,
        request_id: Some("req-1".into()),
    }
}

fn query(subject: i64) -> AccessQuery {
    AccessQuery { subject_id: subject, from: None, to: None, agency: None, kind: None, limit: 50, offset: 0 }
}

#[tokio::test]
async fn access_entries_queue_are_written_in_chain_order_and_list_only_for_their_subject() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let (hoa, _) = citizen(&db, "001303012345").await;
        let (binh, _) = citizen(&db, "001303099999").await;
        let o = officer(&db, "motcua.h2651", "H26.51").await;
        let t0 = (Utc::now() - Duration::days(3)).trunc_subsecs(6);
        let log = AccessLog::start(db.clone(), std::time::Duration::from_millis(20));
        log.record(read(hoa, o, ReaderKind::Officer, Some("H26.51"), "dossier.view", t0)).await;
        log.record(read(hoa, o, ReaderKind::Officer, Some("H26.51"), "file.download", t0 + Duration::days(1))).await;
        let mut partner = read(hoa, o, ReaderKind::Partner, None, "govstack.application", t0 + Duration::days(2));
        partner.client_id = Some("buudien".into());
        log.record(partner).await;
        log.record(read(binh, o, ReaderKind::Officer, Some("H26.51"), "dossier.view", t0)).await;
        log.flush().await;
        let s = log.stats();
        assert_eq!(s.written.load(std::sync::atomic::Ordering::Relaxed), 4, "{backend}");
        assert_eq!(s.dropped.load(std::sync::atomic::Ordering::Relaxed), 0, "{backend}");

        let mut r = db.read().await.unwrap();
        let all = r.list_access(&query(hoa)).await.unwrap();
        let actions: Vec<&str> = all.iter().map(|x| x.entry.action.as_str()).collect();
        assert_eq!(actions, ["govstack.application", "file.download", "dossier.view"], "{backend}: newest first, only Hoa's");
        assert!(all.iter().all(|x| x.entry.subject_id == hoa), "{backend}");
        assert_eq!(all[2].agency_name.as_ref().map(|n| n.vi.as_str()), Some(agency_name(&db, "H26.51").await.as_str()), "{backend}");
        assert_eq!(all[2].entry.at, t0, "{backend}: times kept to the microsecond");
        assert!(all[0].agency_name.is_none() && all[0].entry.client_id.as_deref() == Some("buudien"), "{backend}");

        // Filters: kind, agency, period (from inclusive, to exclusive), pages.
        let only = |f: &dyn Fn(&mut AccessQuery)| {
            let mut q = query(hoa);
            f(&mut q);
            q
        };
        let partners = r.list_access(&only(&|q| q.kind = Some(ReaderKind::Partner))).await.unwrap();
        assert_eq!(partners.len(), 1, "{backend}");
        let at_agency = r.list_access(&only(&|q| q.agency = Some("H26.51".into()))).await.unwrap();
        assert_eq!(at_agency.len(), 2, "{backend}");
        assert!(r.list_access(&only(&|q| q.agency = Some("H26.5".into()))).await.unwrap().is_empty(), "{backend}: exact agency");
        let period = r
            .list_access(&only(&|q| {
                q.from = Some(t0 + Duration::hours(1));
                q.to = Some(t0 + Duration::days(2));
            }))
            .await
            .unwrap();
        assert_eq!(period.iter().map(|x| x.entry.action.as_str()).collect::<Vec<_>>(), ["file.download"], "{backend}");
        let page2 = r.list_access(&only(&|q| (q.limit, q.offset) = (2, 2))).await.unwrap();
        assert_eq!(page2.len(), 1, "{backend}");
        assert_eq!(page2[0].entry.action, "dossier.view", "{backend}");
        let agencies = r.access_agencies(hoa).await.unwrap();
        assert_eq!(agencies.iter().map(|a| a.electronic_id.as_str()).collect::<Vec<_>>(), ["H26.51"], "{backend}");
        assert!(r.list_access(&query(hoa + 1000)).await.unwrap().is_empty(), "{backend}");
        drop(r);

        let report = chain::verify(db.as_ref(), Chain::Access).await.unwrap();
        assert!(report.ok(), "{backend}: {:?}", report.broken);
        assert_eq!((report.checked, report.head.seq), (4, 4), "{backend}");
    }
}

#[tokio::test]
async fn two_writers_on_one_database_keep_one_unbroken_chain() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let (hoa, _) = citizen(&db, "001303012345").await;
        let o = officer(&db, "motcua.h2651", "H26.51").await;
        // Two app servers: two writers with their own queues, appending at the same time.
        let a = AccessLog::start(db.clone(), std::time::Duration::from_millis(1));
        let b = AccessLog::start(db.clone(), std::time::Duration::from_millis(1));
        let mut tasks = vec![];
        for (n, log) in [a.clone(), b.clone(), a.clone(), b.clone()].into_iter().enumerate() {
            tasks.push(tokio::spawn(async move {
                for i in 0..150 {
                    let mut e = read(hoa, o, ReaderKind::Officer, Some("H26.51"), "dossier.view", Utc::now());
                    e.target = format!("{n}-{i}");
                    log.record(e).await;
                    if i % 40 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        a.flush().await;
        b.flush().await;
        let report = chain::verify(db.as_ref(), Chain::Access).await.unwrap();
        assert!(report.ok(), "{backend}: {:?}", report.broken);
        assert_eq!(report.checked, 600, "{backend}");
        let batches =
            a.stats().batches.load(std::sync::atomic::Ordering::Relaxed) + b.stats().batches.load(std::sync::atomic::Ordering::Relaxed);
        assert!(batches < 600, "{backend}: entries share transactions ({batches} batches)");
    }
}

async fn agency_name(db: &Arc<dyn Database>, eid: &str) -> String {
    db.read().await.unwrap().get_agency(eid).await.unwrap().unwrap().name.vi
}

#[tokio::test]
async fn a_changed_or_removed_access_entry_is_found_and_named() {
    for (backend, db, url) in databases_with_urls().await {
        seeded(&db).await;
        let (hoa, _) = citizen(&db, "001303012345").await;
        let o = officer(&db, "motcua.h2651", "H26.51").await;
        let mut w = db.begin().await.unwrap();
        let entries: Vec<AccessEntry> =
            (0..5).map(|i| read(hoa, o, ReaderKind::Officer, Some("H26.51"), "dossier.view", Utc::now() + Duration::seconds(i))).collect();
        assert_eq!(w.append_access(&entries).await.unwrap(), [1, 2, 3, 4, 5], "{backend}");
        w.commit().await.unwrap();
        assert!(chain::verify(db.as_ref(), Chain::Access).await.unwrap().ok(), "{backend}");

        // The database itself refuses changes and removals…
        assert!(raw(&url, "UPDATE access_log SET purpose = 'x' WHERE id = 3").await.is_err(), "{backend}");
        assert!(raw(&url, "DELETE FROM access_log WHERE id = 3").await.is_err(), "{backend}");
        // …until someone with the database's password takes the guard off.
        let unguard = if backend == "sqlite" {
            "DROP TRIGGER access_log_no_update; DROP TRIGGER access_log_no_delete"
        } else {
            "DROP TRIGGER access_log_append_only ON access_log"
        };
        raw(&url, unguard).await.unwrap();

        // One field of one row: that row is named, with what is wrong.
        raw(&url, "UPDATE access_log SET agency = 'H26.99' WHERE id = 3").await.unwrap();
        let report = chain::verify(db.as_ref(), Chain::Access).await.unwrap();
        let b = report.broken.expect("found");
        assert_eq!((b.id, report.checked), (Some(3), 2), "{backend}: {b:?}");
        assert!(b.problem.contains("a field was changed") && b.at.is_some(), "{backend}: {b:?}");
        raw(&url, "UPDATE access_log SET agency = 'H26.51' WHERE id = 3").await.unwrap();
        assert!(chain::verify(db.as_ref(), Chain::Access).await.unwrap().ok(), "{backend}: put back, it verifies again");

        // A row changed and its hash recomputed: the next row no longer follows it.
        let mut forged = read(hoa, o, ReaderKind::Officer, Some("H26.99"), "dossier.view", Utc::now());
        let stored = db.read().await.unwrap().list_access(&query(hoa)).await.unwrap();
        let third = stored.iter().find(|x| x.id == 3).unwrap();
        forged.at = third.entry.at;
        forged.target = third.entry.target.clone();
        forged.purpose = third.entry.purpose.clone();
        let prev = {
            let mut r = db.read().await.unwrap();
            r.chain_page(Chain::Access, 2, 1).await.unwrap()[0].prev_hash.clone()
        };
        let new_hash = chain::link_hash(&prev, &tl_storage::access::canonical(3, &forged));
        raw(&url, &format!("UPDATE access_log SET agency = 'H26.99', hash = '{new_hash}' WHERE id = 3")).await.unwrap();
        let b = chain::verify(db.as_ref(), Chain::Access).await.unwrap().broken.expect("found");
        assert_eq!(b.id, Some(4), "{backend}: {b:?}");
        assert!(b.problem.contains("entry 3"), "{backend}: {b:?}");

        // A removed row in the middle, and the newest row removed.
        raw(&url, "DELETE FROM access_log WHERE id = 3").await.unwrap();
        let b = chain::verify(db.as_ref(), Chain::Access).await.unwrap().broken.expect("found");
        assert_eq!(b.id, Some(4), "{backend}: {b:?}");
        assert!(b.problem.contains("link 3 is missing"), "{backend}: {b:?}");
        raw(&url, "DELETE FROM access_log WHERE id >= 3").await.unwrap();
        let b = chain::verify(db.as_ref(), Chain::Access).await.unwrap().broken.expect("found");
        assert_eq!(b.id, None, "{backend}: {b:?}");
        assert!(b.problem.contains("records 5 links") && b.problem.contains("newest entries were removed"), "{backend}: {b:?}");
    }
}

#[tokio::test]
async fn the_audit_log_is_sealed_into_a_chain_and_a_changed_or_removed_row_is_found() {
    for (backend, db, url) in databases_with_urls().await {
        let entry = |action: &str, detail: serde_json::Value| AuditEntry {
            at: Utc::now(),
            actor_id: None,
            actor_label: "cli".into(),
            action: action.into(),
            target_type: "account".into(),
            target_id: "7".into(),
            detail,
            ip: Some("192.0.2.1".into()),
            request_id: None,
        };
        let mut ids = vec![];
        let mut w = db.begin().await.unwrap();
        for i in 0..3 {
            // Keys out of order, nesting and Vietnamese text: JSONB and SQLite text hash alike.
            let detail = serde_json::json!({"z": i, "a": {"tên": "Lê Thị Hoa", "list": [1, 2.5, null]}, "m": "đ"});
            ids.push(w.append_audit(&entry("account.update", detail)).await.unwrap());
        }
        w.commit().await.unwrap();
        let report = chain::verify(db.as_ref(), Chain::Audit).await.unwrap();
        assert!(report.ok() && report.checked == 0 && report.unsealed == 3, "{backend}: {report:?}");
        assert_eq!(chain::seal_audit(db.as_ref()).await.unwrap(), 3, "{backend}");
        assert_eq!(chain::seal_audit(db.as_ref()).await.unwrap(), 0, "{backend}: sealed once");
        let mut w = db.begin().await.unwrap();
        ids.push(w.append_audit(&entry("account.disable", serde_json::json!({}))).await.unwrap());
        w.commit().await.unwrap();
        let report = chain::verify(db.as_ref(), Chain::Audit).await.unwrap();
        assert!(report.ok() && report.checked == 3 && report.unsealed == 1, "{backend}: {report:?}");
        assert_eq!(chain::seal_audit(db.as_ref()).await.unwrap(), 1, "{backend}");
        let report = chain::verify(db.as_ref(), Chain::Audit).await.unwrap();
        assert!(report.ok() && report.checked == 4 && report.unsealed == 0, "{backend}: {report:?}");

        // Sealed rows cannot be changed or removed, nor resealed, while the guard is on.
        for sql in [
            format!("UPDATE audit_log SET actor_label = 'x' WHERE id = {}", ids[1]),
            format!("UPDATE audit_log SET hash = 'x' WHERE id = {}", ids[1]),
            format!("DELETE FROM audit_log WHERE id = {}", ids[1]),
        ] {
            assert!(raw(&url, &sql).await.is_err(), "{backend}: {sql}");
        }
        let unguard = if backend == "sqlite" {
            "DROP TRIGGER audit_log_seal_only; DROP TRIGGER audit_log_no_delete"
        } else {
            "DROP TRIGGER audit_log_seal_only ON audit_log; DROP TRIGGER audit_log_no_delete ON audit_log"
        };
        raw(&url, unguard).await.unwrap();
        let detail = if backend == "sqlite" { "'{\"z\":1}'" } else { "'{\"z\":1}'::jsonb" };
        raw(&url, &format!("UPDATE audit_log SET detail = {detail} WHERE id = {}", ids[1])).await.unwrap();
        let b = chain::verify(db.as_ref(), Chain::Audit).await.unwrap().broken.expect("found");
        assert_eq!(b.id, Some(ids[1]), "{backend}: {b:?}");
        assert!(b.problem.contains("a field was changed"), "{backend}: {b:?}");
        raw(&url, &format!("DELETE FROM audit_log WHERE id = {}", ids[1])).await.unwrap();
        let b = chain::verify(db.as_ref(), Chain::Audit).await.unwrap().broken.expect("found");
        assert_eq!(b.id, Some(ids[2]), "{backend}: {b:?}");
        assert!(b.problem.contains("link 2 is missing"), "{backend}: {b:?}");
    }
}
