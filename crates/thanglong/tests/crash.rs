//! Nothing acknowledged is lost: the release of a filing only follows its durable commit, so a
//! server killed (SIGKILL, no shutdown) in the middle of a stream of filings keeps every
//! dossier it acknowledged, leaves no half-dossier, and numbers on without a gap after restart.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_thanglong");

fn cli(args: &[&str], url: &str, dir: &std::path::Path, stdin: Option<&str>) -> String {
    let mut child = Command::new(BIN)
        .args(args)
        .args(["--database-url", url, "--data-dir"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn serve(url: &str, dir: &std::path::Path, port: u16) -> Child {
    let child = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database-url", url, "--data-dir"])
        .arg(dir)
        .env("THANGLONG_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// One HTTP/1.1 request on its own connection: (status, body), or None if the connection broke.
fn post(port: u16, path: &str, token: &str, key: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nIdempotency-Key: {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status).ok()?;
    let code: u16 = status.split_whitespace().nth(1)?.parse().ok()?;
    let mut rest = String::new();
    r.read_to_string(&mut rest).ok()?;
    let body = rest.split_once("\r\n\r\n")?.1.to_owned();
    Some((code, body))
}

fn answers() -> String {
    let parts: Vec<String> = (0..12).map(|i| format!("\"line_{i:02}\": \"Thông tin kê khai số {i}\"")).collect();
    format!("{{{}}}", parts.join(", "))
}

fn kill_mid_stream_and_check(url: &str) {
    let dir = std::env::temp_dir().join(format!("tl-crash-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    cli(&["catalog", "import", &format!("{root}/crates/thanglong/seed/catalog.yaml")], url, &dir, None);
    cli(&["catalog", "import", &format!("{root}/bench/submit-catalog.yaml")], url, &dir, None);
    cli(
        &["user", "add", "--login", "crash.citizen", "--name", "Người nộp thử", "--agency", "H26"],
        url,
        &dir,
        Some("Mật khẩu thử nghiệm 2026\n"),
    );
    let token = cli(&["token", "issue", "--user", "crash.citizen"], url, &dir, None).trim().to_owned();
    let port = free_port();
    let mut server = serve(url, &dir, port);

    let body = format!("{{\"procedure\": \"9.900001\", \"agency\": \"H26.31\", \"submit\": true, \"answers\": {}}}", answers());
    let acked: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..16)
        .map(|w| {
            let (acked, stop, token, body) = (acked.clone(), stop.clone(), token.clone(), body.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    match post(port, "/api/v1/dossiers", &token, &format!("crash-{w}-{n}"), &body) {
                        Some((201, body)) => {
                            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                            acked.lock().unwrap().push((v["id"].as_i64().unwrap(), v["code"].as_str().unwrap().to_owned()));
                        }
                        Some((status, body)) => panic!("unexpected {status}: {body}"),
                        None => break, // the server is gone
                    }
                }
            })
        })
        .collect();
    // Let filings flow, then pull the plug while they are in flight.
    let start = Instant::now();
    while acked.lock().unwrap().len() < 300 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 300, "only {} filings were acknowledged", acked.len());

    let rt = tokio::runtime::Runtime::new().unwrap();
    let stored_codes = rt.block_on(async {
        let db = tl_storage::connect(url).await.unwrap();
        let mut r = db.read().await.unwrap();
        for (id, code) in &acked {
            let d = r.get_dossier(*id).await.unwrap().unwrap_or_else(|| panic!("acknowledged dossier {code} was lost"));
            assert_eq!(d.code.as_deref(), Some(code.as_str()));
            assert_eq!(d.status, tl_core::dossier::DossierStatus::Submitted);
        }
        // Every dossier that exists is whole: a code and both events.
        let account = r.find_account_by_login("crash.citizen").await.unwrap().unwrap();
        let all = r.list_dossiers_of(account.id, 100_000).await.unwrap();
        let mut serials = vec![];
        for d in &all {
            let code = d.code.clone().unwrap_or_else(|| panic!("dossier {} has no code", d.id));
            serials.push(tl_core::dossier::DossierCode::parse(&code).unwrap().serial);
            let kinds: Vec<String> = r.list_dossier_events(d.id).await.unwrap().into_iter().map(|e| e.kind).collect();
            assert_eq!(kinds, ["created", "submitted"], "{code}");
        }
        serials.sort_unstable();
        assert_eq!(serials, (1..=serials.len() as u32).collect::<Vec<_>>(), "gap-free");
        drop(r);
        db.close().await;
        all.len()
    });
    assert!(stored_codes >= acked.len());

    // After a restart the counter goes on from where the durable state left it.
    let mut server = serve(url, &dir, port);
    let (status, body) = post(port, "/api/v1/dossiers", &token, "after-restart", &body).unwrap();
    assert_eq!(status, 201, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let serial = tl_core::dossier::DossierCode::parse(v["code"].as_str().unwrap()).unwrap().serial;
    assert_eq!(serial as usize, stored_codes + 1);
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_killed_server_loses_no_acknowledged_filing_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("tl-crash-db-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    kill_mid_stream_and_check(&format!("sqlite://{}/thanglong.db", dir.display()));
}

#[test]
fn a_killed_server_loses_no_acknowledged_filing_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some((db, url)) = rt.block_on(tl_storage::testing::fresh_postgres()) else { return };
    rt.block_on(db.close());
    kill_mid_stream_and_check(&url);
}
