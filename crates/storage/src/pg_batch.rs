//! The token task's transaction on PostgreSQL (see [`crate::oidc::CodeBatch`]), in four round
//! trips whatever its size: `BEGIN`; the codes taken (with the audit chain's head held and ids
//! drawn for the audit rows); the tokens, the audit rows and the head moved, in one statement;
//! `COMMIT`. Rows go in as arrays (`UNNEST`), so each statement is prepared and planned once per
//! connection, where a `VALUES` list of N rows is a different statement for every N.
//!
//! The connection is the task's own, outside the pool: a batch never waits behind the pool's
//! other users, nor for a released connection to find its way back to the pool (a task on the
//! shared runtime: 0.6 ms a batch under load). It is opened by the first batch, on the token
//! task's thread, whose runtime then serves its socket.
//!
//! The batch's audit rows go in already linked into the audit chain, as on SQLite: the sealer
//! would otherwise read each row back and rewrite it (a second tuple and a second entry in each of
//! the table's indexes). The chain head is held (`FOR UPDATE`) from the codes' statement to the
//! commit, as the sealer holds it for its own batches, so the two append one after the other; ids
//! still come from the table's identity sequence, and the chain's order is `seal_seq`, as for the
//! rows the sealer links. (Two batches in flight on two connections, the head taken only before
//! the audit rows, measured slower: smaller batches, more work per exchange.)

use crate::oidc::{BatchTake, CodeBatch, Flush, OidcCode, OidcToken};
use crate::{AuditEntry, Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Row};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::postgres::oidc_impl::{code_row, CODE_COLS};

const INSERT_CODES: &str = "INSERT INTO oidc_codes (code_hash, grant_id, client_id, account_id, redirect_uri, scope, nonce, \
     code_challenge, auth_time, sid, created_at, expires_at, used_at) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[], $7::text[], $8::text[], \
     $9::timestamptz[], $10::text[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[])";

/// Holds the audit chain's head for the transaction, draws ids for `$3` new audit rows (one per
/// exchange at most), and burns the unused codes among `$2`, returning them with their account's
/// status — one round trip. The head and the ids come on the first row (a row with no code when
/// none was taken).
const TAKE_CODES: &str = "WITH head AS (SELECT last_seq, last_hash FROM chain_heads WHERE chain = 'audit_log' FOR UPDATE), \
     ids AS (SELECT ARRAY(SELECT nextval(q.seq) FROM (SELECT pg_get_serial_sequence('audit_log', 'id')::regclass AS seq) q, \
     generate_series(1, $3)) AS ids), \
     taken AS (UPDATE oidc_codes c SET used_at = $1 WHERE c.used_at IS NULL AND c.code_hash = ANY($2::text[]) \
     RETURNING c.code_hash, c.grant_id, c.client_id, c.account_id, c.redirect_uri, c.scope, c.nonce, c.code_challenge, \
     c.auth_time, c.sid, c.created_at, c.expires_at, c.used_at, \
     (SELECT status FROM accounts a WHERE a.id = c.account_id) AS account_status) \
     SELECT t.*, h.last_seq, h.last_hash, CASE WHEN row_number() OVER () = 1 THEN i.ids END AS ids \
     FROM head h CROSS JOIN ids i LEFT JOIN taken t ON true";

/// Holds the audit chain's head for the transaction and draws ids for `$1` new rows (when the
/// batch took no codes, or needs more ids than it drew).
const LOCK_AUDIT_HEAD: &str = "SELECT h.last_seq, h.last_hash, \
     ARRAY(SELECT nextval(q.seq) FROM (SELECT pg_get_serial_sequence('audit_log', 'id')::regclass AS seq) q, \
     generate_series(1, $1)) AS ids \
     FROM chain_heads h WHERE h.chain = 'audit_log' FOR UPDATE";

/// The batch's tokens, its audit rows linked into the chain, and the chain head moved past them —
/// one statement.
const INSERT_TOKENS_AND_AUDITS: &str = "WITH tokens AS (INSERT INTO oidc_tokens (token_hash, kind, grant_id, client_id, \
     account_id, scope, auth_time, sid, created_at, expires_at, used_at, revoked_at) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::timestamptz[], \
     $8::text[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[])), \
     linked AS (INSERT INTO audit_log (id, at, actor_id, actor_label, action, target_type, target_id, detail, ip, request_id, \
     seal_seq, prev_hash, hash) OVERRIDING SYSTEM VALUE \
     SELECT id, at, actor_id, actor_label, action, target_type, target_id, detail::jsonb, ip, request_id, seal_seq, prev_hash, hash \
     FROM UNNEST($13::int8[], $14::timestamptz[], $15::int8[], $16::text[], $17::text[], $18::text[], $19::text[], \
     $20::text[], $21::text[], $22::text[], $23::int8[], $24::text[], $25::text[]) \
     AS u(id, at, actor_id, actor_label, action, target_type, target_id, detail, ip, request_id, seal_seq, prev_hash, hash)) \
     UPDATE chain_heads SET last_seq = $26, last_hash = $27 WHERE chain = 'audit_log' AND cardinality($13::int8[]) > 0";

/// The token task's connection: opened by the first batch (in the runtime of the task that runs
/// it, whose reactor then serves its socket), kept between batches, dropped after an error.
pub(crate) struct TokenConn {
    opts: PgConnectOptions,
    pub(crate) conn: Option<PgConnection>,
}

impl TokenConn {
    pub(crate) fn new(opts: PgConnectOptions) -> Arc<Mutex<TokenConn>> {
        Arc::new(Mutex::new(TokenConn { opts: opts.application_name("thanglong-tokens"), conn: None }))
    }
}

pub(crate) struct PgCodeBatch {
    slot: OwnedMutexGuard<TokenConn>,
    /// A transaction is open on the connection (until it commits). Dropped while open — the
    /// caller gave up, or a statement failed — the connection is closed, which rolls it back.
    open: bool,
    /// The audit chain's head as this transaction holds it, once an audit row is written.
    head: Option<Head>,
}

impl Drop for PgCodeBatch {
    fn drop(&mut self) {
        if self.open {
            self.slot.conn = None;
        }
    }
}

struct Head {
    seq: i64,
    hash: String,
    /// Ids drawn for this batch's rows and not used yet.
    ids: std::vec::IntoIter<i64>,
}

impl PgCodeBatch {
    pub(crate) async fn begin(slot: &Arc<Mutex<TokenConn>>) -> Result<Self> {
        let mut slot = slot.clone().lock_owned().await;
        if slot.conn.is_none() {
            let conn = PgConnection::connect_with(&slot.opts).await?;
            slot.conn = Some(conn);
        }
        let mut batch = PgCodeBatch { slot, open: true, head: None };
        sqlx::query("BEGIN").execute(batch.conn()?).await?;
        Ok(batch)
    }

    fn conn(&mut self) -> Result<&mut PgConnection> {
        self.slot.conn.as_mut().ok_or_else(|| StoreError::Unavailable("the token task's connection is closed".into()))
    }

    /// The chain head, held, with at least `n` ids drawn for new rows.
    async fn head(&mut self, n: usize) -> Result<&mut Head> {
        if self.head.as_ref().is_none_or(|h| h.ids.len() < n) {
            let want = i64::try_from(n.max(16)).unwrap_or(i64::MAX);
            let r = sqlx::query(LOCK_AUDIT_HEAD).bind(want).fetch_one(self.conn()?).await?;
            let ids: Vec<i64> = r.try_get("ids")?;
            match &mut self.head {
                Some(h) => h.ids = h.ids.as_slice().iter().copied().chain(ids).collect::<Vec<_>>().into_iter(),
                None => self.head = Some(Head { seq: r.try_get("last_seq")?, hash: r.try_get("last_hash")?, ids: ids.into_iter() }),
            }
        }
        self.head.as_mut().ok_or_else(|| StoreError::Corrupt("the audit chain has no head row".into()))
    }

    /// Writes tokens, and audit rows linked into the chain after the held head, in one statement.
    async fn write(&mut self, ts: &[OidcToken], entries: &[AuditEntry]) -> Result<()> {
        if ts.is_empty() && entries.is_empty() {
            return Ok(());
        }
        let audits = if entries.is_empty() { Linked::default() } else { Linked::new(self.head(entries.len()).await?, entries)? };
        sqlx::query(INSERT_TOKENS_AND_AUDITS)
            .bind(ts.iter().map(|t| t.token_hash.as_str()).collect::<Vec<_>>())
            .bind(ts.iter().map(|t| t.kind.as_str()).collect::<Vec<_>>())
            .bind(ts.iter().map(|t| t.grant_id.as_str()).collect::<Vec<_>>())
            .bind(ts.iter().map(|t| t.client_id.as_str()).collect::<Vec<_>>())
            .bind(ts.iter().map(|t| t.account_id).collect::<Vec<_>>())
            .bind(ts.iter().map(|t| t.scope.as_str()).collect::<Vec<_>>())
            .bind(ts.iter().map(|t| t.auth_time).collect::<Vec<_>>())
            .bind(ts.iter().map(|t| t.sid.as_deref()).collect::<Vec<_>>())
            .bind(ts.iter().map(|t| t.created_at).collect::<Vec<_>>())
            .bind(ts.iter().map(|t| t.expires_at).collect::<Vec<_>>())
            .bind(ts.iter().map(|t| t.used_at).collect::<Vec<_>>())
            .bind(ts.iter().map(|t| t.revoked_at).collect::<Vec<_>>())
            .bind(audits.ids)
            .bind(entries.iter().map(|e| e.at.trunc_subsecs(6)).collect::<Vec<_>>())
            .bind(entries.iter().map(|e| e.actor_id).collect::<Vec<_>>())
            .bind(entries.iter().map(|e| e.actor_label.as_str()).collect::<Vec<_>>())
            .bind(entries.iter().map(|e| e.action.as_str()).collect::<Vec<_>>())
            .bind(entries.iter().map(|e| e.target_type.as_str()).collect::<Vec<_>>())
            .bind(entries.iter().map(|e| e.target_id.as_str()).collect::<Vec<_>>())
            .bind(audits.details)
            .bind(entries.iter().map(|e| e.ip.as_deref()).collect::<Vec<_>>())
            .bind(entries.iter().map(|e| e.request_id.as_deref()).collect::<Vec<_>>())
            .bind(audits.seqs)
            .bind(audits.prevs)
            .bind(audits.hashes)
            .bind(audits.last.0)
            .bind(audits.last.1)
            .execute(self.conn()?)
            .await?;
        Ok(())
    }
}

/// Audit rows linked after a head: what the statement needs beside the entries' own fields.
#[derive(Default)]
struct Linked {
    ids: Vec<i64>,
    details: Vec<String>,
    seqs: Vec<i64>,
    prevs: Vec<String>,
    hashes: Vec<String>,
    /// The head after them (sequence number, hash); nothing to move when there are none.
    last: (i64, String),
}

impl Linked {
    fn new(head: &mut Head, entries: &[AuditEntry]) -> Result<Linked> {
        let n = entries.len();
        let mut l = Linked {
            ids: Vec::with_capacity(n),
            details: Vec::with_capacity(n),
            seqs: Vec::with_capacity(n),
            prevs: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
            last: (0, String::new()),
        };
        for e in entries {
            let id = head.ids.next().ok_or_else(|| StoreError::Corrupt("audit ids ran out".into()))?;
            // What the database keeps (microseconds) is what is hashed; the detail is written
            // as the verifier reads it back (jsonb, keys in order).
            let detail = serde_json::to_string(&e.detail).map_err(|err| StoreError::Corrupt(err.to_string()))?;
            let parts = [e.actor_label.as_str(), &e.action, &e.target_type, &e.target_id];
            let origin = [e.ip.as_deref(), e.request_id.as_deref()];
            let canonical = crate::access::canonical_audit_parts(id, e.at.trunc_subsecs(6), e.actor_id, parts, &detail, origin);
            let hash = crate::chain::link_hash(&head.hash, &canonical);
            head.seq += 1;
            l.ids.push(id);
            l.details.push(detail);
            l.seqs.push(head.seq);
            l.prevs.push(std::mem::replace(&mut head.hash, hash.clone()));
            l.hashes.push(hash);
        }
        l.last = (head.seq, head.hash.clone());
        Ok(l)
    }
}

#[async_trait]
impl CodeBatch for PgCodeBatch {
    async fn insert_oidc_codes(&mut self, cs: &[OidcCode]) -> Result<()> {
        if cs.is_empty() {
            return Ok(());
        }
        sqlx::query(INSERT_CODES)
            .bind(cs.iter().map(|c| c.code_hash.as_str()).collect::<Vec<_>>())
            .bind(cs.iter().map(|c| c.grant_id.as_str()).collect::<Vec<_>>())
            .bind(cs.iter().map(|c| c.client_id.as_str()).collect::<Vec<_>>())
            .bind(cs.iter().map(|c| c.account_id).collect::<Vec<_>>())
            .bind(cs.iter().map(|c| c.redirect_uri.as_str()).collect::<Vec<_>>())
            .bind(cs.iter().map(|c| c.scope.as_str()).collect::<Vec<_>>())
            .bind(cs.iter().map(|c| c.nonce.as_deref()).collect::<Vec<_>>())
            .bind(cs.iter().map(|c| c.code_challenge.as_deref()).collect::<Vec<_>>())
            .bind(cs.iter().map(|c| c.auth_time).collect::<Vec<_>>())
            .bind(cs.iter().map(|c| c.sid.as_str()).collect::<Vec<_>>())
            .bind(cs.iter().map(|c| c.created_at).collect::<Vec<_>>())
            .bind(cs.iter().map(|c| c.expires_at).collect::<Vec<_>>())
            .bind(cs.iter().map(|c| c.used_at).collect::<Vec<_>>())
            .execute(self.conn()?)
            .await?;
        Ok(())
    }

    async fn take_oidc_codes(&mut self, code_hashes: &[String], now: DateTime<Utc>) -> Result<Vec<BatchTake>> {
        let mut distinct: Vec<&str> = code_hashes.iter().map(String::as_str).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let mut fresh: HashMap<String, (OidcCode, bool)> = HashMap::with_capacity(distinct.len());
        let ids = i64::try_from(code_hashes.len()).unwrap_or(i64::MAX);
        for r in sqlx::query(TAKE_CODES).bind(now).bind(&distinct).bind(ids).fetch_all(self.conn()?).await? {
            if let Some(ids) = r.try_get::<Option<Vec<i64>>, _>("ids")? {
                self.head = Some(Head { seq: r.try_get("last_seq")?, hash: r.try_get("last_hash")?, ids: ids.into_iter() });
            }
            if r.try_get::<Option<String>, _>("code_hash")?.is_none() {
                continue;
            }
            let c = code_row(&r)?;
            let active = r.try_get::<Option<String>, _>("account_status")?.as_deref() == Some("active");
            fresh.insert(c.code_hash.clone(), (c, active));
        }
        // Codes not taken now: used before, or unknown (rare; one more statement).
        let mut earlier: HashMap<String, OidcCode> = HashMap::new();
        let missing: Vec<&str> = distinct.iter().copied().filter(|h| !fresh.contains_key(*h)).collect();
        if !missing.is_empty() {
            let sql = format!("SELECT {CODE_COLS} FROM oidc_codes WHERE code_hash = ANY($1::text[])");
            for r in sqlx::query(&sql).bind(&missing).fetch_all(self.conn()?).await? {
                let c = code_row(&r)?;
                earlier.insert(c.code_hash.clone(), c);
            }
        }
        Ok(crate::oidc::takes_in_order(code_hashes, fresh, earlier))
    }

    async fn insert_oidc_tokens(&mut self, ts: &[OidcToken], audits: &[AuditEntry]) -> Result<()> {
        self.write(ts, audits).await
    }

    async fn revoke_oidc_grant(&mut self, grant_id: &str, now: DateTime<Utc>) -> Result<u64> {
        let r = sqlx::query("UPDATE oidc_tokens SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL")
            .bind(grant_id)
            .bind(now)
            .execute(self.conn()?)
            .await?;
        sqlx::query(crate::oidc::UPSERT_REVOCATION)
            .bind(crate::oidc::revocation::grant(grant_id))
            .bind(now)
            .bind(now + crate::oidc::ACCESS_TOKEN_MAX_LIFETIME)
            .execute(self.conn()?)
            .await?;
        Ok(r.rows_affected())
    }

    async fn append_audits(&mut self, entries: &[AuditEntry]) -> Result<()> {
        self.write(&[], entries).await
    }

    async fn commit_deferred(self: Box<Self>) -> Result<Flush> {
        // synchronous_commit is on: the commit is durable when it returns.
        let mut this = self;
        sqlx::query("COMMIT").execute(this.conn()?).await?;
        this.open = false;
        Ok(Box::new(|| Ok(())))
    }
}
