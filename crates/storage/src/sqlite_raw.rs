//! The token endpoint's batches on SQLite, on a connection of their own driven in the calling
//! thread.
//!
//! Through sqlx every statement is a hand-over to the connection's worker thread and back: on two
//! busy cores each of the five in a batch cost 100–300 µs of waiting and thread switching, for
//! 20–60 µs of SQLite work (perf: the worker spent more time switching than stepping). The token
//! task runs on a thread of its own, so it drives this connection itself: statements prepared
//! once, stepped in place, no hand-over.
//!
//! It is a second writing connection to the same file, so it must not write beside the pool's
//! writer: a batch first takes the writer pool's only connection ([`SqliteCodeBatch::writer`]) and
//! holds it to the end (or, when another batch already waits, hands it to that batch: giving it
//! back costs a round trip to sqlx's connection thread, which pings it) — every other writer in
//! this process waits for it as it would for any transaction; other processes meet SQLite's lock
//! and busy timeout as usual. Commits follow the writer's rule: `synchronous = NORMAL`, then the
//! log flush ([`WalSync::sync_here`], in the
//! thread that runs the flush `commit_deferred` returns, once the writer is given back) before
//! anything is acknowledged.
//!
//! A batch's audit rows are written already linked into the audit chain
//! ([`SqliteCodeBatch::append_audits`]).

use crate::oidc::{BatchTake, CodeBatch, CodeTake, OidcCode, OidcToken};
use crate::sqlite::WalSync;
use crate::{AuditEntry, Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use libsqlite3_sys as ffi;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::os::raw::c_int;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Arc;

/// An open connection and its prepared statements.
pub(crate) struct RawConn {
    db: NonNull<ffi::sqlite3>,
    /// Keyed by the statement text's address and length (hashing the text on every use cost more).
    stmts: HashMap<(usize, usize), NonNull<ffi::sqlite3_stmt>>,
}

// SAFETY: SQLite is built thread-safe (serialized); the connection and its statements are used by
// one thread at a time, behind the mutex that holds them.
unsafe impl Send for RawConn {}

impl RawConn {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let c_path = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| bad("a NUL in the database path"))?;
        let mut db: *mut ffi::sqlite3 = std::ptr::null_mut();
        // SAFETY: a valid C string and out-pointer; on failure the handle is still closed below.
        let rc = unsafe {
            ffi::sqlite3_open_v2(c_path.as_ptr(), &mut db, ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_NOMUTEX, std::ptr::null())
        };
        let Some(db) = NonNull::new(db) else { return Err(bad("SQLite could not allocate a connection")) };
        let mut conn = RawConn { db, stmts: HashMap::new() };
        if rc != ffi::SQLITE_OK {
            return Err(conn.error(rc));
        }
        // The pool writer's settings (sqlite.rs): checkpoints are the background task's. A
        // smaller page cache (4 MB, not 16): a commit after a B-tree rebalance that renumbered
        // pages (most batches) walks the whole cache (SQLite's pcache1TruncateUnsafe, 1.7 % of
        // the server's CPU with 16 MB), and the batches touch few pages: the ends of the key
        // indexes and the codes being burnt.
        conn.exec(&format!(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; \
             PRAGMA temp_store = memory; PRAGMA cache_size = -4000; PRAGMA wal_autocheckpoint = {}",
            crate::sqlite::WAL_LIMIT_PAGES
        ))?;
        Ok(conn)
    }

    fn error(&self, rc: c_int) -> StoreError {
        // SAFETY: the handle is open; the message is copied before any other call.
        let msg = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(self.db.as_ptr())) }.to_string_lossy().into_owned();
        let code = rc & 0xff;
        if code == ffi::SQLITE_BUSY || code == ffi::SQLITE_LOCKED {
            StoreError::Unavailable(format!("the database is busy: {msg}"))
        } else if code == ffi::SQLITE_CONSTRAINT {
            StoreError::Conflict(msg)
        } else {
            bad(&format!("SQLite error {rc}: {msg}"))
        }
    }

    pub(crate) fn exec(&mut self, sql: &str) -> Result<()> {
        let sql = CString::new(sql).map_err(|_| bad("a NUL in a statement"))?;
        // SAFETY: open handle, valid C string, no callback.
        let rc = unsafe { ffi::sqlite3_exec(self.db.as_ptr(), sql.as_ptr(), None, std::ptr::null_mut(), std::ptr::null_mut()) };
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(self.error(rc))
        }
    }

    /// A statement, prepared on its first use and kept.
    fn stmt(&mut self, sql: &'static str) -> Result<Stmt<'_>> {
        let key = (sql.as_ptr() as usize, sql.len());
        let raw = match self.stmts.get(&key) {
            Some(s) => *s,
            None => {
                let mut s: *mut ffi::sqlite3_stmt = std::ptr::null_mut();
                // SAFETY: the length is the string's, SQLite copies what it needs.
                let rc = unsafe {
                    ffi::sqlite3_prepare_v3(
                        self.db.as_ptr(),
                        sql.as_ptr().cast(),
                        sql.len() as c_int,
                        ffi::SQLITE_PREPARE_PERSISTENT,
                        &mut s,
                        std::ptr::null_mut(),
                    )
                };
                if rc != ffi::SQLITE_OK {
                    return Err(self.error(rc));
                }
                let s = NonNull::new(s).ok_or_else(|| bad("an empty statement"))?;
                self.stmts.insert(key, s);
                s
            }
        };
        Ok(Stmt { raw, conn: self })
    }
}

impl Drop for RawConn {
    fn drop(&mut self) {
        // SAFETY: every statement belongs to this handle and is finalized once, before the close.
        unsafe {
            for s in self.stmts.values() {
                ffi::sqlite3_finalize(s.as_ptr());
            }
            ffi::sqlite3_close(self.db.as_ptr());
        }
    }
}

fn bad(msg: &str) -> StoreError {
    StoreError::Unavailable(msg.to_string())
}

/// A prepared statement in use: bound, stepped, and reset (with its bindings cleared) when dropped.
struct Stmt<'c> {
    raw: NonNull<ffi::sqlite3_stmt>,
    conn: &'c RawConn,
}

impl Stmt<'_> {
    fn check(&self, rc: c_int) -> Result<()> {
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(self.conn.error(rc))
        }
    }

    fn text(&mut self, i: c_int, v: &str) -> Result<&mut Self> {
        // SAFETY: SQLITE_TRANSIENT makes SQLite copy the bytes at once.
        let rc = unsafe { ffi::sqlite3_bind_text(self.raw.as_ptr(), i, v.as_ptr().cast(), v.len() as c_int, ffi::SQLITE_TRANSIENT()) };
        self.check(rc)?;
        Ok(self)
    }

    fn opt_text(&mut self, i: c_int, v: Option<&str>) -> Result<&mut Self> {
        match v {
            Some(v) => self.text(i, v),
            // Bindings are cleared after each use: an unbound parameter is NULL.
            None => Ok(self),
        }
    }

    fn int(&mut self, i: c_int, v: i64) -> Result<&mut Self> {
        // SAFETY: a live statement.
        let rc = unsafe { ffi::sqlite3_bind_int64(self.raw.as_ptr(), i, v) };
        self.check(rc)?;
        Ok(self)
    }

    fn opt_int(&mut self, i: c_int, v: Option<i64>) -> Result<&mut Self> {
        match v {
            Some(v) => self.int(i, v),
            None => Ok(self),
        }
    }

    fn time(&mut self, i: c_int, v: DateTime<Utc>) -> Result<&mut Self> {
        self.text(i, &time_text(v))
    }

    fn opt_time(&mut self, i: c_int, v: Option<DateTime<Utc>>) -> Result<&mut Self> {
        match v {
            Some(v) => self.time(i, v),
            None => Ok(self),
        }
    }

    /// One step: true while there is a row.
    fn step(&mut self) -> Result<bool> {
        // SAFETY: a live statement.
        match unsafe { ffi::sqlite3_step(self.raw.as_ptr()) } {
            ffi::SQLITE_ROW => Ok(true),
            ffi::SQLITE_DONE => Ok(false),
            rc => Err(self.conn.error(rc)),
        }
    }

    /// Runs a statement that returns no rows; how many rows it changed.
    fn run(&mut self) -> Result<u64> {
        while self.step()? {}
        // SAFETY: the open handle.
        Ok(unsafe { ffi::sqlite3_changes64(self.conn.db.as_ptr()) } as u64)
    }

    fn col_text(&self, i: c_int) -> Option<String> {
        // SAFETY: column i of the current row; the bytes are copied before the next call.
        unsafe {
            let p = ffi::sqlite3_column_text(self.raw.as_ptr(), i);
            if p.is_null() {
                return None;
            }
            let n = ffi::sqlite3_column_bytes(self.raw.as_ptr(), i) as usize;
            Some(String::from_utf8_lossy(std::slice::from_raw_parts(p, n)).into_owned())
        }
    }

    fn col_str(&self, i: c_int, what: &str) -> Result<String> {
        self.col_text(i).ok_or_else(|| bad(&format!("{what} is NULL")))
    }

    fn col_int(&self, i: c_int) -> i64 {
        // SAFETY: column i of the current row.
        unsafe { ffi::sqlite3_column_int64(self.raw.as_ptr(), i) }
    }

    fn col_time(&self, i: c_int, what: &str) -> Result<DateTime<Utc>> {
        parse_time(&self.col_str(i, what)?)
    }

    fn col_opt_time(&self, i: c_int) -> Result<Option<DateTime<Utc>>> {
        self.col_text(i).map(|t| parse_time(&t)).transpose()
    }

    /// A code from its 13 columns in the order of [`INSERT_CODE`], from column 0.
    fn code(&self) -> Result<OidcCode> {
        Ok(OidcCode {
            code_hash: self.col_str(0, "code_hash")?,
            grant_id: self.col_str(1, "grant_id")?,
            client_id: self.col_str(2, "client_id")?,
            account_id: self.col_int(3),
            redirect_uri: self.col_str(4, "redirect_uri")?,
            scope: self.col_str(5, "scope")?,
            nonce: self.col_text(6),
            code_challenge: self.col_text(7),
            auth_time: self.col_time(8, "auth_time")?,
            sid: self.col_str(9, "sid")?,
            created_at: self.col_time(10, "created_at")?,
            expires_at: self.col_time(11, "expires_at")?,
            used_at: self.col_opt_time(12)?,
        })
    }
}

impl Drop for Stmt<'_> {
    fn drop(&mut self) {
        // SAFETY: a live statement; ready for its next use.
        unsafe {
            ffi::sqlite3_reset(self.raw.as_ptr());
            ffi::sqlite3_clear_bindings(self.raw.as_ptr());
        }
    }
}

/// Times as sqlx writes them for SQLite (RFC 3339, `+00:00`), so both compare as text.
fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(s, "%F %T%.f")
        .map(|t| t.and_utc())
        .map_err(|_| bad(&format!("an unreadable time in the database: {s:?}")))
}

const INSERT_CODE: &str = "INSERT INTO oidc_codes (code_hash, grant_id, client_id, account_id, redirect_uri, scope, nonce, \
    code_challenge, auth_time, sid, created_at, expires_at, used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
const TAKE_CODE: &str = "UPDATE oidc_codes SET used_at = ?2 WHERE code_hash = ?1 AND used_at IS NULL RETURNING code_hash, grant_id, \
    client_id, account_id, redirect_uri, scope, nonce, code_challenge, auth_time, sid, created_at, expires_at, used_at, \
    (SELECT status FROM accounts WHERE accounts.id = oidc_codes.account_id)";
const FIND_CODE: &str = "SELECT code_hash, grant_id, client_id, account_id, redirect_uri, scope, nonce, code_challenge, \
    auth_time, sid, created_at, expires_at, used_at FROM oidc_codes WHERE code_hash = ?1";
const INSERT_TOKEN: &str = "INSERT INTO oidc_tokens (token_hash, kind, grant_id, client_id, account_id, scope, auth_time, sid, \
    created_at, expires_at, used_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
/// The audit chain's head and the last audit row's id (the writer lock is held: nobody else
/// appends or seals meanwhile).
const AUDIT_HEAD: &str = "SELECT last_seq, last_hash, (SELECT COALESCE(MAX(id), 0) FROM audit_log) FROM chain_heads \
    WHERE chain = 'audit_log'";
const INSERT_SEALED_AUDIT: &str = "INSERT INTO audit_log (id, at, actor_id, actor_label, action, target_type, target_id, detail, \
    ip, request_id, seal_seq, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
const MOVE_AUDIT_HEAD: &str = "UPDATE chain_heads SET last_seq = ?1, last_hash = ?2 WHERE chain = 'audit_log'";
const REVOKE_GRANT: &str = "UPDATE oidc_tokens SET revoked_at = ?2 WHERE grant_id = ?1 AND revoked_at IS NULL";

/// Batches kept for one another the writer at most this many times in a row; then it is given
/// back, so the process's other writers (filings, the access log…) wait at most this many
/// batches (a few milliseconds) while the token endpoint is busy.
pub(crate) const MAX_KEPT_BATCHES: u32 = 16;

/// The token task's raw connection, and the writer when the last batch kept it for the next.
#[derive(Default)]
pub(crate) struct TokenSlot {
    raw: Option<RawConn>,
    writer: Option<sqlx::pool::PoolConnection<sqlx::Sqlite>>,
    /// How many batches in a row have had the writer kept for them.
    kept: u32,
}

/// One batch's transaction on the raw connection.
pub(crate) struct SqliteCodeBatch {
    slot: tokio::sync::OwnedMutexGuard<TokenSlot>,
    wal: Arc<WalSync>,
    open: bool,
    /// The writer pool's connection, held so nothing else in this process writes meanwhile.
    writer: Option<sqlx::pool::PoolConnection<sqlx::Sqlite>>,
    /// Give the writer to the next batch rather than back to the pool ([`CodeBatch::keep_writer`]).
    keep: bool,
}

impl SqliteCodeBatch {
    /// Takes the writer (or the one the last batch kept), opens the raw connection if needed,
    /// and begins.
    pub(crate) async fn begin(
        writer: &sqlx::SqlitePool,
        slot: &Arc<tokio::sync::Mutex<TokenSlot>>,
        path: &Path,
        wal: Arc<WalSync>,
    ) -> Result<Self> {
        let mut slot = slot.clone().lock_owned().await;
        let writer = match slot.writer.take() {
            Some(w) => w,
            None => {
                slot.kept = 0;
                writer.acquire().await?
            }
        };
        if slot.raw.is_none() {
            slot.raw = Some(RawConn::open(path)?);
        }
        let mut b = SqliteCodeBatch { slot, wal, open: false, writer: Some(writer), keep: false };
        b.conn().exec("BEGIN IMMEDIATE")?;
        b.open = true;
        Ok(b)
    }

    fn conn(&mut self) -> &mut RawConn {
        self.slot.raw.as_mut().expect("opened in begin")
    }
}

impl Drop for SqliteCodeBatch {
    fn drop(&mut self) {
        if self.open {
            if let Err(e) = self.conn().exec("ROLLBACK") {
                // The connection is in an unknown state: the next batch opens a new one.
                tracing::warn!(error = %e, "rolling back a token batch failed; reopening its connection");
                self.slot.raw = None;
            }
        }
    }
}

#[async_trait]
impl CodeBatch for SqliteCodeBatch {
    async fn insert_oidc_codes(&mut self, cs: &[OidcCode]) -> Result<()> {
        for c in cs {
            self.conn()
                .stmt(INSERT_CODE)?
                .text(1, &c.code_hash)?
                .text(2, &c.grant_id)?
                .text(3, &c.client_id)?
                .int(4, c.account_id)?
                .text(5, &c.redirect_uri)?
                .text(6, &c.scope)?
                .opt_text(7, c.nonce.as_deref())?
                .opt_text(8, c.code_challenge.as_deref())?
                .time(9, c.auth_time)?
                .text(10, &c.sid)?
                .time(11, c.created_at)?
                .time(12, c.expires_at)?
                .opt_time(13, c.used_at)?
                .run()?;
        }
        Ok(())
    }

    async fn take_oidc_codes(&mut self, code_hashes: &[String], now: DateTime<Utc>) -> Result<Vec<BatchTake>> {
        let conn = self.conn();
        let now = time_text(now);
        // Taking them one after another in this transaction: a hash twice is Fresh, then Reused.
        let mut out = Vec::with_capacity(code_hashes.len());
        for h in code_hashes {
            let mut take = conn.stmt(TAKE_CODE)?;
            take.text(1, h)?.text(2, &now)?;
            if take.step()? {
                let code = take.code()?;
                let active = take.col_text(13).as_deref() == Some("active");
                while take.step()? {}
                out.push(BatchTake { take: CodeTake::Fresh(code), account_active: active });
                continue;
            }
            drop(take);
            let mut find = conn.stmt(FIND_CODE)?;
            find.text(1, h)?;
            let take = if find.step()? { CodeTake::Reused(find.code()?) } else { CodeTake::Missing };
            out.push(BatchTake { take, account_active: false });
        }
        Ok(out)
    }

    async fn insert_oidc_tokens(&mut self, ts: &[OidcToken], audits: &[AuditEntry]) -> Result<()> {
        for t in ts {
            self.conn()
                .stmt(INSERT_TOKEN)?
                .text(1, &t.token_hash)?
                .text(2, t.kind.as_str())?
                .text(3, &t.grant_id)?
                .text(4, &t.client_id)?
                .opt_int(5, t.account_id)?
                .text(6, &t.scope)?
                .opt_time(7, t.auth_time)?
                .opt_text(8, t.sid.as_deref())?
                .time(9, t.created_at)?
                .time(10, t.expires_at)?
                .opt_time(11, t.used_at)?
                .opt_time(12, t.revoked_at)?
                .run()?;
        }
        self.append_audits(audits).await
    }

    async fn revoke_oidc_grant(&mut self, grant_id: &str, now: DateTime<Utc>) -> Result<u64> {
        let n = self.conn().stmt(REVOKE_GRANT)?.text(1, grant_id)?.time(2, now)?.run()?;
        self.conn()
            .stmt(crate::oidc::UPSERT_REVOCATION)?
            .text(1, &crate::oidc::revocation::grant(grant_id))?
            .time(2, now)?
            .time(3, now + crate::oidc::ACCESS_TOKEN_MAX_LIFETIME)?
            .run()?;
        Ok(n)
    }

    /// The batch's audit rows go in already linked into the audit chain (the sealer would
    /// otherwise read each row back and rewrite it, and its transaction would wait for the
    /// writer beside the token task's): ids and links follow the head as this transaction sees
    /// it, under the writer lock. Rows other writers left unsealed are linked later, after these.
    async fn append_audits(&mut self, entries: &[AuditEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let conn = self.conn();
        let (mut seq, mut prev, mut id) = {
            let mut head = conn.stmt(AUDIT_HEAD)?;
            if !head.step()? {
                return Err(bad("the audit chain has no head row"));
            }
            let h = (head.col_int(0), head.col_str(1, "last_hash")?, head.col_int(2));
            while head.step()? {}
            h
        };
        for e in entries {
            id += 1;
            seq += 1;
            let detail = serde_json::to_string(&e.detail).map_err(|e| bad(&e.to_string()))?;
            let labels = [e.actor_label.as_str(), &e.action, &e.target_type, &e.target_id];
            let canonical =
                crate::access::canonical_audit_parts(id, e.at, e.actor_id, labels, &detail, [e.ip.as_deref(), e.request_id.as_deref()]);
            let hash = crate::chain::link_hash(&prev, &canonical);
            conn.stmt(INSERT_SEALED_AUDIT)?
                .int(1, id)?
                .time(2, e.at)?
                .opt_int(3, e.actor_id)?
                .text(4, &e.actor_label)?
                .text(5, &e.action)?
                .text(6, &e.target_type)?
                .text(7, &e.target_id)?
                .text(8, &detail)?
                .opt_text(9, e.ip.as_deref())?
                .opt_text(10, e.request_id.as_deref())?
                .int(11, seq)?
                .text(12, &prev)?
                .text(13, &hash)?
                .run()?;
            prev = hash;
        }
        conn.stmt(MOVE_AUDIT_HEAD)?.int(1, seq)?.text(2, &prev)?.run()?;
        Ok(())
    }

    async fn commit_deferred(mut self: Box<Self>) -> Result<crate::oidc::Flush> {
        self.conn().exec("COMMIT")?;
        self.open = false;
        let ticket = self.wal.committed();
        // The writer goes to the next batch when one waits (a bounded number of times in a row),
        // otherwise back to the pool (here, as the batch drops) before anyone waits for the disk.
        if self.keep && self.slot.kept < MAX_KEPT_BATCHES {
            self.slot.kept += 1;
            self.slot.writer = self.writer.take();
        }
        let wal = self.wal.clone();
        Ok(Box::new(move || wal.sync_here(ticket)))
    }

    fn keep_writer(&mut self) {
        self.keep = true;
    }
}
