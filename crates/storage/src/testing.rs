//! Fresh databases for tests: a temporary SQLite file, and a new PostgreSQL database on the
//! server named by `THANGLONG_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//!
//! Without a reachable PostgreSQL the PostgreSQL half is skipped with a message — unless
//! `CI` or `THANGLONG_REQUIRE_PG` is set, where an unreachable server fails the test.

use crate::{connect, Database};
use std::sync::Arc;

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn random_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}_{}_{}", std::process::id(), nanos % 1_000_000_000, n)
}

/// A migrated SQLite database in a new temporary directory (kept until the process ends).
pub async fn fresh_sqlite() -> (Arc<dyn Database>, String) {
    let dir = std::env::temp_dir().join(format!("thanglong-test-{}", random_suffix()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}", dir.join("test.db").display());
    let db = connect(&url).await.expect("sqlite opens");
    db.migrate().await.expect("sqlite migrates");
    (db, url)
}

fn pg_required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var_os("THANGLONG_REQUIRE_PG").is_some()
}

/// A migrated, empty PostgreSQL database of its own, or None (skipped) when no server is reachable.
pub async fn fresh_postgres() -> Option<(Arc<dyn Database>, String)> {
    let admin_url = std::env::var("THANGLONG_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into());
    let admin = match sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect(&admin_url)
        .await
    {
        Ok(p) => p,
        Err(e) if !pg_required() => {
            eprintln!("SKIP PostgreSQL half: cannot reach {admin_url} ({e}); set THANGLONG_TEST_PG_URL to run it");
            return None;
        }
        Err(e) => panic!("PostgreSQL is required here (CI) but {admin_url} is unreachable: {e}"),
    };
    let name = format!("tl_test_{}", random_suffix());
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.expect("create test database");
    admin.close().await;
    let (base, _) = admin_url.rsplit_once('/').expect("database URL has a path");
    let url = format!("{base}/{name}");
    let db = connect(&url).await.expect("postgres opens");
    db.migrate().await.expect("postgres migrates");
    Some((db, url))
}

/// SQLite, and PostgreSQL when available: what every storage and app test runs against.
pub async fn fresh_databases() -> Vec<(&'static str, Arc<dyn Database>)> {
    let mut out = vec![("sqlite", fresh_sqlite().await.0)];
    if let Some((db, _)) = fresh_postgres().await {
        out.push(("postgres", db));
    }
    out
}
