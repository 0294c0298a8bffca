//! The `thanglong` binary as an administrator uses it: real processes, real databases.

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_thanglong");

fn data_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tl-cli-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

fn run(args: &[&str], dir: &std::path::Path, stdin: Option<&str>) -> Output {
    let mut c = Command::new(BIN);
    c.args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("THANGLONG_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

const SEED: &str = "../thanglong/seed/catalog.yaml";

fn seed_path() -> String {
    format!("{}/seed/catalog.yaml", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn import_validates_in_full_and_rejects_the_whole_file_with_line_numbers() {
    let dir = data_dir();
    let bad = dir.join("bad.yaml");
    let seed = std::fs::read_to_string(seed_path()).unwrap();
    // Two independent mistakes far apart: both are reported, with their lines.
    let mut lines: Vec<String> = seed.lines().map(str::to_owned).collect();
    let agency_line = lines.iter().position(|l| l.contains("electronic_id: \"H26.31\"")).unwrap();
    lines[agency_line] = lines[agency_line].replace("H26.31", "h26.31");
    let field_line = lines.iter().position(|l| l.contains("field: \"ho-tich\"") || l.contains("field: ho-tich")).unwrap();
    lines[field_line] = lines[field_line].replace("ho-tich", "ho-tik");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let out = run(&["catalog", "import", bad.to_str().unwrap()], &dir, None);
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(err.contains(&format!("bad.yaml:{}: ", agency_line + 1)) && err.contains("agency_id_format"), "{err}");
    assert!(err.contains(&format!("bad.yaml:{}: Lĩnh vực `ho-tik` không tồn tại", field_line + 1)), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    // Nothing was written.
    let out = run(&["catalog", "export", "--format", "json"], &dir, None);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["procedures"].as_array().unwrap().len(), 0);

    // The good file loads; a second import changes nothing; export round-trips.
    let out = run(&["catalog", "import", &seed_path()], &dir, None);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(text(&out).0.contains("25 thủ tục/procedures (27 phiên bản mới/new versions"), "{:?}", text(&out));
    let out = run(&["catalog", "import", &seed_path()], &dir, None);
    assert!(text(&out).0.contains("0 phiên bản mới/new versions, 27 không đổi/unchanged"), "{:?}", text(&out));
    let exported = dir.join("export.yaml");
    let out = run(&["catalog", "export", "-o", exported.to_str().unwrap()], &dir, None);
    assert!(out.status.success());
    let other = data_dir();
    let out = run(&["catalog", "import", exported.to_str().unwrap()], &other, None);
    assert!(out.status.success(), "{:?}", text(&out));
    let a = run(&["catalog", "export", "--format", "json"], &dir, None).stdout;
    let b = run(&["catalog", "export", "--format", "json"], &other, None).stdout;
    assert_eq!(a, b, "export → import → export is stable");
    // JSON syntax errors carry their line too; --dry-run changes nothing.
    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{\n  \"format\": \"thanglong-catalog/1\",\n  \"fields\": [,]\n}").unwrap();
    let (_, err) = text(&run(&["catalog", "import", broken.to_str().unwrap()], &dir, None));
    assert!(err.contains("broken.json:3:"), "{err}");
    let _ = SEED;
}

#[test]
fn users_and_tokens_from_the_command_line_work_against_the_api() {
    let dir = data_dir();
    assert!(run(&["catalog", "import", &seed_path()], &dir, None).status.success());
    // The password comes from standard input; a weak one is refused.
    let out =
        run(&["user", "add", "--login", "lan.admin", "--name", "Đỗ Thị Lan", "--agency", "H26", "--role", "admin"], &dir, Some("123\n"));
    assert!(!out.status.success() && text(&out).1.contains("at least 10 characters"), "{:?}", text(&out));
    let out = run(
        &["user", "add", "--login", "lan.admin", "--name", "Đỗ Thị Lan", "--agency", "H99", "--role", "admin"],
        &dir,
        Some("Mật khẩu quản trị dài\n"),
    );
    assert!(text(&out).1.contains("no agency with electronic ID `H99`"), "{:?}", text(&out));
    let out = run(
        &["user", "add", "--login", "lan.admin", "--name", "Đỗ Thị Lan", "--agency", "H26", "--role", "admin"],
        &dir,
        Some("Mật khẩu quản trị dài\n"),
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let out = run(&["token", "issue", "--user", "lan.admin", "--days", "7"], &dir, None);
    assert!(out.status.success(), "{:?}", text(&out));
    let token = text(&out).0.trim().to_owned();
    assert!(token.starts_with("tl_") && token.len() == 46);
    // Only the hash is stored.
    let db = std::fs::read(dir.join("thanglong.db")).unwrap();
    assert!(!db.windows(token.len()).any(|w| w == token.as_bytes()));

    // Serve and call the API with the token.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--log-format", "json"])
        .arg("--data-dir")
        .arg(&dir)
        .env_remove("THANGLONG_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let get = |path: &str, auth: Option<&str>| -> Option<String> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        let auth = auth.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n").ok()?;
        let mut r = String::new();
        s.read_to_string(&mut r).ok()?;
        Some(r)
    };
    let mut ready = false;
    for _ in 0..100 {
        if get("/readyz", None).is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
            ready = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(ready, "server did not become ready");
    let me = get("/api/v1/me", Some(&token)).unwrap();
    assert!(me.starts_with("HTTP/1.1 200") && me.contains("\"login\":\"lan.admin\"") && me.contains("admin@H26"), "{me}");
    let anon = get("/api/v1/me", None).unwrap();
    assert!(anon.starts_with("HTTP/1.1 401") && anon.contains("application/problem+json"), "{anon}");
    let _ = server.kill();
    let out = server.wait_with_output().unwrap();
    // Structured JSON logs carry the request id.
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.lines().any(|l| l.starts_with('{') && l.contains("\"id\":") && l.contains("/api/v1/me")), "{logs}");
}

#[test]
fn wrong_flags_and_unreachable_databases_give_one_line_errors() {
    let dir = data_dir();
    let out = run(&["serve", "--lisen", "x"], &dir, None);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--lisen") && err.contains("--help"), "{err}");
    let out = run(&["migrate", "--database-url", "postgres://nobody:secret@127.0.0.1:1/none"], &dir, None);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot open the database postgres://nobody:***@127.0.0.1:1/none"), "{err}");
    assert!(!err.contains("secret") && !err.contains("panicked"), "{err}");
    let out = run(&["migrate", "--database-url", "mysql://x"], &dir, None);
    assert!(text(&out).1.contains("must start with sqlite:// or postgres://"));
    let out = run(&["catalog", "import", "/nonexistent.yaml"], &dir, None);
    assert!(!out.status.success() && text(&out).1.contains("cannot read /nonexistent.yaml"), "{:?}", text(&out));
    let out = run(&["--help"], &dir, None);
    assert!(out.status.success() && text(&out).0.contains("catalog"));
}

#[test]
fn the_signing_ca_is_generated_or_imported_sealed_with_the_configured_key_and_exported() {
    let dir = data_dir();
    let kek = "3f".repeat(32);
    let with_key = |args: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(args).arg("--data-dir").arg(&dir).env_remove("THANGLONG_DATABASE_URL").env("THANGLONG_SIGNING_KEK", &kek);
        c.output().unwrap()
    };
    // Without the key-encryption key nothing is written.
    let out = run(&["ca", "init"], &dir, None);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("THANGLONG_SIGNING_KEK"), "{}", text(&out).1);
    let out = with_key(&["ca", "init", "--name", "CA thử nghiệm Hà Nội"]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(text(&out).0.contains("-----BEGIN CERTIFICATE-----"));
    // A PEM that is not a CA is refused.
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
    let out = with_key(&["ca", "import", "--cert", junk.to_str().unwrap(), "--key", junk.to_str().unwrap()]);
    assert!(!out.status.success(), "{}", text(&out).0);
    let out = run(&["ca", "export"], &dir, None);
    assert!(out.status.success());
    assert_eq!(text(&out).0.matches("-----BEGIN CERTIFICATE-----").count(), 1);
}

/// Runs SQL straight on the data directory's SQLite file, as someone with access to it could.
fn tamper(dir: &std::path::Path, sql: &str) {
    let url = format!("sqlite://{}", dir.join("thanglong.db").display());
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::raw_sql(sql).execute(&pool).await.unwrap();
        pool.close().await;
    });
}

#[test]
fn audit_verify_checks_both_chains_and_names_the_first_broken_entry() {
    let dir = data_dir();
    assert!(run(&["catalog", "import", &seed_path()], &dir, None).status.success());
    for login in ["lan.admin", "minh.admin"] {
        let out = run(
            &["user", "add", "--login", login, "--name", "Đỗ Thị Lan", "--agency", "H26", "--role", "admin"],
            &dir,
            Some("Mật khẩu quản trị dài\n"),
        );
        assert!(out.status.success(), "{:?}", text(&out));
    }
    // Three audit rows (the import and two accounts), not yet sealed: nothing to fault.
    let out = run(&["audit", "verify"], &dir, None);
    let (stdout, _) = text(&out);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(stdout.contains("access_log: OK — 0 mục đã kiểm tra / entries checked"), "{stdout}");
    assert!(stdout.contains("audit_log: OK — 0 mục") && stdout.contains("3 newer rows not yet sealed"), "{stdout}");
    let out = run(&["audit", "seal"], &dir, None);
    assert!(text(&out).0.contains("3 audit rows sealed"), "{:?}", text(&out));
    let out = run(&["audit", "verify"], &dir, None);
    let (stdout, _) = text(&out);
    assert!(out.status.success() && stdout.contains("audit_log: OK — 3 mục"), "{stdout}");
    // The head to write down elsewhere, and checked later with --expect.
    let head = stdout.lines().find(|l| l.starts_with("audit_log:")).and_then(|l| l.split("head ").nth(1)).unwrap().trim().to_owned();
    assert!(head.starts_with("audit_log:3:") && head.len() == "audit_log:3:".len() + 64, "{head}");
    let out = run(&["audit", "verify", "--expect", &head], &dir, None);
    assert!(out.status.success() && text(&out).0.contains("link 3 still has the expected hash"), "{:?}", text(&out));
    let out = run(&["audit", "verify", "--expect", "audit_log:3:xyz"], &dir, None);
    assert!(!out.status.success() && text(&out).1.contains("64-digit SHA-256"), "{:?}", text(&out));

    // Someone with the file changes who created the second account.
    tamper(&dir, "DROP TRIGGER audit_log_seal_only; UPDATE audit_log SET actor_label = 'admin' WHERE seal_seq = 2");
    let out = run(&["audit", "verify", "--expect", &head], &dir, None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout} {stderr}");
    let line = stdout.lines().find(|l| l.starts_with("audit_log:")).unwrap();
    assert!(line.contains("HỎNG / BROKEN at entry id") && line.contains("link 2 (") && line.contains("giờ Việt Nam"), "{line}");
    assert!(line.contains("a field was changed") && line.contains("1 entries before it are intact"), "{line}");
    assert!(stdout.contains("access_log: OK"), "{stdout}");
    assert!(stderr.contains("the logs were tampered with"), "{stderr}");
}

/// One HTTP/1.1 request on a fresh connection; returns the raw response.
fn http(port: u16, request: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut r = String::new();
    s.read_to_string(&mut r).unwrap();
    r
}

fn set_cookie(resp: &str, name: &str) -> Option<String> {
    resp.lines().filter_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: "))).find_map(|c| {
        let (kv, _) = c.split_once(';').unwrap_or((c, ""));
        kv.strip_prefix(&format!("{name}=")).map(str::to_owned)
    })
}

#[test]
fn a_graceful_shutdown_writes_the_queued_access_log_entries_first() {
    let dir = data_dir();
    assert!(run(&["catalog", "import", &seed_path()], &dir, None).status.success());
    let pw = "Mật khẩu quản trị dài\n";
    assert!(run(&["user", "add", "--login", "lan.admin", "--name", "Đỗ Thị Lan", "--agency", "H26", "--role", "admin"], &dir, Some(pw))
        .status
        .success());
    let out = run(
        &["user", "add", "--login", "minh.motcua", "--name", "Vũ Văn Minh", "--agency", "H26.31", "--role", "reception"],
        &dir,
        Some(pw),
    );
    let minh: String = text(&out).0.split("(id ").nth(1).unwrap().split(')').next().unwrap().to_owned();
    // A flush interval far longer than the test: only the shutdown can write the entry in time.
    let config = dir.join("slow-flush.toml");
    std::fs::write(&config, "[web]\naccess_log_flush_ms = 10000\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(&dir)
        .env_remove("THANGLONG_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut ready = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            ready = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(ready, "server did not start");
    // The administrator signs in and opens Minh's account page: a read of Minh's data.
    let page = http(port, "GET /signin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let csrf = set_cookie(&page, "tl_csrf").expect("a CSRF cookie");
    let body = format!("csrf={csrf}&login=lan.admin&password=M%E1%BA%ADt+kh%E1%BA%A9u+qu%E1%BA%A3n+tr%E1%BB%8B+d%C3%A0i");
    let resp = http(
        port,
        &format!(
            "POST /signin HTTP/1.1\r\nHost: localhost\r\nCookie: tl_csrf={csrf}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    let session = set_cookie(&resp, "tl_session").unwrap_or_else(|| panic!("signed in: {resp}"));
    // Twice: a quiet writer commits the first read at once; the second waits for the interval.
    for _ in 0..2 {
        let resp = http(port, &format!("GET /admin/accounts/{minh} HTTP/1.1\r\nHost: localhost\r\nCookie: tl_session={session}; tl_csrf={csrf}\r\nConnection: close\r\n\r\n"));
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    }
    // SIGTERM: the server drains, writes the access log, seals the audit log, exits 0.
    assert!(Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap().success());
    assert!(server.wait().unwrap().success());
    let out = run(&["audit", "verify"], &dir, None);
    let (stdout, _) = text(&out);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("access_log: OK — 2 mục"), "{stdout}");
    assert!(stdout.contains("audit_log: OK") && !stdout.contains("not yet sealed"), "{stdout}");
}
