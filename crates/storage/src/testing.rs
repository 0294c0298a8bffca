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
    drop_abandoned(&admin).await;
    let name = format!("tl_test_{}", random_suffix());
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.expect("create test database");
    admin.close().await;
    let (base, _) = admin_url.rsplit_once('/').expect("database URL has a path");
    let url = format!("{base}/{name}");
    let db = connect(&url).await.expect("postgres opens");
    db.migrate().await.expect("postgres migrates");
    Some((db, url))
}

/// Drops the test databases of test processes that have ended (their names carry the process
/// id; see [`random_suffix`]), once per process: test databases are not dropped when a test
/// ends, and on a developer's machine they would pile up run after run. A database whose process
/// is still running, or whose id was taken by another process since, is left alone.
async fn drop_abandoned(admin: &sqlx::PgPool) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    let mut first = false;
    ONCE.call_once(|| first = true);
    // Which processes run is read from /proc (Linux); elsewhere nothing is dropped.
    if !first || !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let Ok(names) =
        sqlx::query_scalar::<_, String>("SELECT datname FROM pg_database WHERE datname LIKE 'tl\\_test\\_%'").fetch_all(admin).await
    else {
        return;
    };
    for name in names {
        let pid = name.strip_prefix("tl_test_").and_then(|rest| rest.split('_').next()).and_then(|p| p.parse::<u32>().ok());
        let safe = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if let Some(pid) = pid.filter(|_| safe) {
            if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(admin).await;
            }
        }
    }
}

/// SQLite, and PostgreSQL when available: what every storage and app test runs against.
pub async fn fresh_databases() -> Vec<(&'static str, Arc<dyn Database>)> {
    let mut out = vec![("sqlite", fresh_sqlite().await.0)];
    if let Some((db, _)) = fresh_postgres().await {
        out.push(("postgres", db));
    }
    out
}

/// A local S3 stand-in for tests: `moto_server` (PyPI `moto[server]`), which speaks the S3
/// protocol, on a free port with a fresh bucket. None (skipped with a message) when it is not
/// installed — unless `CI` or `THANGLONG_REQUIRE_S3` is set. The server stops on drop.
pub struct S3StandIn {
    pub config: crate::blob::S3Config,
    child: std::process::Child,
}

impl Drop for S3StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn s3_stand_in() -> Option<S3StandIn> {
    use std::io::{Read, Write};
    let required = std::env::var_os("CI").is_some() || std::env::var_os("THANGLONG_REQUIRE_S3").is_some();
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let child = match std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if !required => {
            eprintln!("SKIP S3 half: moto_server is not installed ({e}); pip install 'moto[server]' to run it");
            return None;
        }
        Err(e) => panic!("an S3 stand-in is required here (CI) but moto_server cannot start: {e}"),
    };
    let mut guard = S3StandIn {
        config: crate::blob::S3Config {
            endpoint: Some(format!("http://127.0.0.1:{port}")),
            bucket: format!("tl-test-{}", random_suffix().replace('_', "-")),
            region: "us-east-1".into(),
            access_key_id: "test".into(),
            secret_access_key: "test-secret".into(),
            allow_http: true,
            prefix: "thanglong".into(),
        },
        child,
    };
    let start = std::time::Instant::now();
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            // CreateBucket: a plain PUT on the bucket (the stand-in does not check signatures).
            let req = format!(
                "PUT /{} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                guard.config.bucket
            );
            if s.write_all(req.as_bytes()).is_ok() {
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                if out.starts_with("HTTP/1.1 200") || out.starts_with("HTTP/1.0 200") {
                    return Some(guard);
                }
            }
        }
        if start.elapsed() > std::time::Duration::from_secs(30) {
            let _ = guard.child.kill();
            if required {
                panic!("the S3 stand-in did not come up on port {port}");
            }
            eprintln!("SKIP S3 half: moto_server did not come up");
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
