//! A real SMTP server for tests: Python's `aiosmtpd` running `tests/smtp_server.py` on a free
//! 127.0.0.1 port, saving what it receives to a temporary directory.
//!
//! Without `aiosmtpd` (`pip install 'aiosmtpd==1.4.*'`) the server is not started and
//! [`SmtpTestServer::start`] returns `None` with a message — unless `CI` is set, where that fails
//! the test. The Python interpreter is `python3`, or `THANGLONG_PYTHON`.

use crate::{Security, SmtpConfig};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

const SCRIPT: &str = include_str!("../tests/smtp_server.py");

/// The sender of mails sent through [`SmtpTestServer::config`].
pub const TEST_FROM: &str = "Cổng dịch vụ công Thăng Long <no-reply@thanglong.example>";

/// A message as the server received it, decoded by Python's `email` package.
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedMail {
    /// SMTP envelope sender and recipients.
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// Decoded header values.
    pub subject: String,
    pub from: String,
    pub to: String,
    pub message_id: String,
    /// Top-level type, e.g. `multipart/alternative`.
    pub content_type: String,
    /// Decoded bodies, line ends as `\n`.
    pub text: Option<String>,
    pub html: Option<String>,
    /// Content-Transfer-Encoding of each leaf part.
    pub transfer_encodings: Vec<String>,
    /// The message as sent on the wire.
    pub raw: String,
}

fn python() -> String {
    std::env::var("THANGLONG_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn aiosmtpd_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new(python())
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn unique_dir() -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    std::env::temp_dir().join(format!("thanglong-smtp-{}-{nanos}-{n}", std::process::id()))
}

fn free_port() -> u16 {
    // The OS picks an unused port; released at once for Python to bind (a tiny race, fine in tests).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// A running `aiosmtpd`; killed when dropped.
pub struct SmtpTestServer {
    port: u16,
    dir: PathBuf,
    rejections: Vec<String>,
    child: Option<Child>,
}

impl SmtpTestServer {
    /// A server accepting every recipient, or `None` (skipped) without `aiosmtpd`.
    pub async fn start() -> Option<Self> {
        Self::start_rejecting(&[]).await
    }

    /// A server answering RCPT TO for each `(address, code)` with that code (e.g. 550 or 451).
    pub async fn start_rejecting(rejections: &[(&str, u16)]) -> Option<Self> {
        if !aiosmtpd_available() {
            let msg = format!("Python's aiosmtpd is not available to `{}` (pip install 'aiosmtpd==1.4.*')", python());
            if std::env::var_os("CI").is_some() {
                panic!("{msg}; it is required in CI");
            }
            eprintln!("SKIP SMTP test: {msg}");
            return None;
        }
        let dir = unique_dir();
        std::fs::create_dir_all(&dir).expect("create the SMTP test directory");
        std::fs::write(dir.join("smtp_server.py"), SCRIPT).expect("write the SMTP server script");
        let rejections = rejections
            .iter()
            .map(|(address, code)| {
                assert!((400..600).contains(code), "a rejection code is 4xx or 5xx, not {code}");
                format!("{address}={code}")
            })
            .collect();
        let mut server = SmtpTestServer { port: free_port(), dir, rejections, child: None };
        server.spawn().await;
        Some(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where messages are saved (`*.eml` as received, `*.json` decoded).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Settings for a [`crate::Mailer`] that sends here: plain SMTP, no login, a short timeout.
    pub fn config(&self) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port: self.port,
            security: Security::None,
            username: None,
            password: None,
            from: TEST_FROM.into(),
            timeout: Duration::from_secs(10),
        }
    }

    /// Every message received so far (also before a restart), in arrival order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .expect("read the SMTP test directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p).expect("read a received message");
                serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            })
            .collect()
    }

    /// Kills the server: connections are refused until [`Self::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, keeping the messages received so far.
    pub async fn restart(&mut self) {
        self.stop();
        self.spawn().await;
    }

    async fn spawn(&mut self) {
        let ready = self.dir.join("ready");
        let _ = std::fs::remove_file(&ready);
        let log_path = self.dir.join("server.log");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).expect("open the SMTP server log");
        let mut child = Command::new(python())
            .arg(self.dir.join("smtp_server.py"))
            .arg(self.port.to_string())
            .arg(&self.dir)
            .args(&self.rejections)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log)
            .spawn()
            .expect("start the SMTP test server");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !ready.exists() {
            let exited = child.try_wait().expect("poll the SMTP test server");
            if exited.is_some() || std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("the SMTP test server did not start on port {} ({exited:?}):\n{log}", self.port);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.child = Some(child);
    }
}

impl Drop for SmtpTestServer {
    fn drop(&mut self) {
        self.stop();
        // Kept after a failure, for its messages and server.log.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
