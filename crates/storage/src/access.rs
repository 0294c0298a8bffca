//! The access log: every read of a person's data by someone other than that person (an
//! officer, a partner system, another system), for the person to read (Decree 13/2023/NĐ-CP
//! art. 9: the data subject's right to know how their data is processed; Estonia's data tracker
//! is the model).
//!
//! Writing must not slow the read it records (issue #6: under 10 % of a dossier read). So
//! [`AccessLog::record`] only puts the entry on an in-memory queue; one background task per app
//! server takes whatever has queued, at most once per flush interval, and appends it to the
//! hash chain in one transaction (group commit), holding the chain head row so that servers
//! sharing one PostgreSQL append one after another. [`AccessLog::flush`] waits until everything
//! recorded before it is committed; the server calls it on graceful shutdown.
//!
//! What a crash can lose: the entries of reads answered in the last flush interval (200 ms by
//! default) and of the batch being written at that moment — never an entry already committed,
//! and never a link of the chain (a batch commits whole or not at all). A read is not held
//! back until its entry is durable: waiting for a disk flush would cost more than the read.

use crate::chain::{instant, link_hash};
use crate::{Database, Result, StoreError};
use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tl_core::catalog::I18nText;
use tokio::sync::{mpsc, oneshot, Notify};

/// Who read, by the kind of party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReaderKind {
    /// An officer (cán bộ), in the browser or through an officer's API token.
    Officer,
    /// A partner organisation's system or account (OAuth client, business service account).
    Partner,
    /// Another system of the platform or of the state, with no person behind the read.
    System,
}

impl ReaderKind {
    pub const ALL: [ReaderKind; 3] = [Self::Officer, Self::Partner, Self::System];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Officer => "officer",
            Self::Partner => "partner",
            Self::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One read of one person's data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessEntry {
    pub at: DateTime<Utc>,
    /// Whose data: the account of the person or business it is about.
    pub subject_id: i64,
    /// Who read it, and how they are named (kept readable if the account is renamed).
    pub reader_id: Option<i64>,
    pub reader_label: String,
    pub reader_kind: ReaderKind,
    /// The reader's agency (Decision 20/2020 electronic ID), for officers; None for an officer
    /// lets the writer put the officer's own agency.
    pub agency: Option<String>,
    /// What was read: `dossier.view`, `dossier.form_pdf`, `dossier.receipt`, `file.download`,
    /// `result.download`, `api.dossier`, `govstack.application`, `govstack.task`,
    /// `store.item`, `store.document`…
    pub action: String,
    /// Which item: a dossier code, a file id…
    pub target: String,
    /// Why: the dossier it was read for, or the purpose an API caller gave.
    pub purpose: String,
    /// The OAuth client of a partner system.
    pub client_id: Option<String>,
    pub request_id: Option<String>,
}

/// A stored entry, with the names the citizen's page shows.
#[derive(Debug, Clone, Serialize)]
pub struct AccessRow {
    pub id: i64,
    #[serde(flatten)]
    pub entry: AccessEntry,
    pub agency_name: Option<I18nText>,
    pub client_name: Option<String>,
}

/// One person's entries, newest first, filtered.
#[derive(Debug, Clone)]
pub struct AccessQuery {
    pub subject_id: i64,
    /// From this instant (inclusive) to that one (exclusive).
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub agency: Option<String>,
    pub kind: Option<ReaderKind>,
    pub limit: i64,
    pub offset: i64,
}

/// An agency that appears in a person's log (for the page's filter).
#[derive(Debug, Clone, Serialize)]
pub struct AccessAgency {
    pub electronic_id: String,
    pub name: Option<I18nText>,
}

/// The canonical encoding an access entry is hashed over (see [`crate::chain`]).
pub fn canonical(id: i64, e: &AccessEntry) -> String {
    // A tuple serialises as the JSON array it reads as, without building a tree first.
    let fields = (
        "access.v1",
        id,
        instant(e.at),
        e.subject_id,
        e.reader_id,
        &e.reader_label,
        e.reader_kind.as_str(),
        &e.agency,
        &e.action,
        &e.target,
        &e.purpose,
        &e.client_id,
        &e.request_id,
    );
    serde_json::to_string(&fields).expect("strings and numbers serialise")
}

/// Gives each entry its place in the chain after `head` (seq, hash): their ids and hashes.
/// Times are cut to microseconds first, what both databases keep, so the stored entry hashes
/// the same when it is read back.
pub(crate) fn link(head_seq: i64, head_hash: &str, entries: &[AccessEntry]) -> Vec<(i64, AccessEntry, String, String)> {
    let mut prev = head_hash.to_owned();
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let id = head_seq + 1 + i as i64;
            let mut e = e.clone();
            e.at = e.at.trunc_subsecs(6);
            let hash = link_hash(&prev, &canonical(id, &e));
            (id, e, std::mem::replace(&mut prev, hash.clone()), hash)
        })
        .collect()
}

/// The canonical encoding of an audit row (its `detail` as sorted, compact JSON).
pub fn canonical_audit(r: &crate::AuditRow) -> String {
    canonical_audit_parts(
        r.id,
        r.at,
        r.actor_id,
        [&r.actor_label, &r.action, &r.target_type, &r.target_id],
        &r.detail.to_string(),
        [r.ip.as_deref(), r.request_id.as_deref()],
    )
}

/// [`canonical_audit`] from borrowed parts: `labels` are the actor's label, the action, the
/// target's type and id; `detail` is the detail already encoded (it is stored in that form too);
/// `origin` is the address and the request id. The same JSON array, without copying the row.
pub fn canonical_audit_parts(
    id: i64,
    at: DateTime<Utc>,
    actor_id: Option<i64>,
    labels: [&str; 4],
    detail: &str,
    origin: [Option<&str>; 2],
) -> String {
    let [actor_label, action, target_type, target_id] = labels;
    let [ip, request_id] = origin;
    let fields = ("audit.v1", id, instant(at), actor_id, actor_label, action, target_type, target_id, detail, ip, request_id);
    serde_json::to_string(&fields).expect("strings and numbers always encode")
}

enum Msg {
    Entry(Box<AccessEntry>),
    Flush(oneshot::Sender<()>),
}

/// Counters for `/metrics` and the benchmark.
#[derive(Debug, Default)]
pub struct AccessStats {
    pub recorded: AtomicU64,
    pub written: AtomicU64,
    pub batches: AtomicU64,
    /// Time spent writing batches (transaction, hashing, commit), in microseconds.
    pub busy_micros: AtomicU64,
    /// Entries refused by the database on their own (logged as errors; should stay 0).
    pub dropped: AtomicU64,
}

/// The handle reads are recorded through; cheap to clone.
#[derive(Clone)]
pub struct AccessLog {
    queue: Option<mpsc::Sender<Msg>>,
    stats: Arc<AccessStats>,
    /// Wakes the writer from its wait when someone asks for a flush.
    flush: Arc<Notify>,
}

/// How many entries wait in memory at most; past it `record` waits (the database is down or
/// slower than the reads), which holds reads back rather than losing their entries.
pub const QUEUE: usize = 65_536;
/// How many entries one transaction takes at most.
pub const MAX_BATCH: usize = 2_000;
/// The default flush interval.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);

impl AccessLog {
    /// Starts the writer task on the current Tokio runtime. It ends when every handle is dropped.
    pub fn start(db: Arc<dyn Database>, interval: Duration) -> AccessLog {
        let (queue, rx) = mpsc::channel::<Msg>(QUEUE);
        let stats = Arc::new(AccessStats::default());
        let flush = Arc::new(Notify::new());
        tokio::spawn(run(db, rx, interval, stats.clone(), flush.clone()));
        AccessLog { queue: Some(queue), stats, flush }
    }

    /// A log that keeps nothing: only for measuring what recording costs (`thanglong bench access`).
    pub fn discard() -> AccessLog {
        AccessLog { queue: None, stats: Arc::default(), flush: Arc::default() }
    }

    /// Records a read. Returns at once: the entry is written with the next batch (at most one
    /// flush interval later). Waits only when the queue is full.
    pub async fn record(&self, entry: AccessEntry) {
        self.stats.recorded.fetch_add(1, Ordering::Relaxed);
        if let Some(q) = &self.queue {
            if q.send(Msg::Entry(Box::new(entry))).await.is_err() {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::error!("the access-log writer has stopped: an access entry was not kept");
            }
        }
    }

    /// Waits until every entry recorded before this call is committed (graceful shutdown, the
    /// citizen's own page, tests).
    pub async fn flush(&self) {
        if let Some(q) = &self.queue {
            let (tx, rx) = oneshot::channel();
            if q.send(Msg::Flush(tx)).await.is_ok() {
                self.flush.notify_one();
                let _ = rx.await;
            }
        }
    }

    pub fn stats(&self) -> &AccessStats {
        &self.stats
    }
}

async fn run(db: Arc<dyn Database>, mut rx: mpsc::Receiver<Msg>, interval: Duration, stats: Arc<AccessStats>, flush: Arc<Notify>) {
    let mut msgs: Vec<Msg> = Vec::with_capacity(MAX_BATCH);
    let mut last_flush = tokio::time::Instant::now() - interval;
    let mut backlog = false;
    loop {
        if rx.recv_many(&mut msgs, MAX_BATCH).await == 0 {
            return;
        }
        // Linger until a flush interval has passed since the last batch, asleep: the reads
        // arriving meanwhile only queue (no wake-up per read), and the batch carries an
        // interval's worth of reads in one commit. A quiet server writes a lone read at once,
        // a backlog goes on without waiting, a flush request ends the wait.
        let deadline = last_flush + interval;
        if !backlog && !msgs.iter().any(|m| matches!(m, Msg::Flush(_))) {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = flush.notified() => {}
            }
        }
        while msgs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(m) => msgs.push(m),
                Err(_) => break,
            }
        }
        backlog = msgs.len() >= MAX_BATCH;
        last_flush = tokio::time::Instant::now();
        let mut entries = Vec::with_capacity(msgs.len());
        let mut waiters = vec![];
        for m in msgs.drain(..) {
            match m {
                Msg::Entry(e) => entries.push(*e),
                Msg::Flush(w) => waiters.push(w),
            }
        }
        if !entries.is_empty() {
            write(db.as_ref(), &entries, &stats).await;
        }
        for w in waiters {
            let _ = w.send(());
        }
    }
}

/// Appends a batch, retrying while the database is unavailable. Any other error means one entry
/// is bad: the entries then go one by one, and one the database refuses alone is dropped with
/// an error in the log (so one bad entry cannot stop the log).
async fn write(db: &dyn Database, entries: &[AccessEntry], stats: &AccessStats) {
    let mut wait = Duration::from_millis(50);
    loop {
        let started = std::time::Instant::now();
        let done = append(db, entries).await;
        stats.busy_micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        match done {
            Ok(()) => {
                stats.written.fetch_add(entries.len() as u64, Ordering::Relaxed);
                stats.batches.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(StoreError::Unavailable(e)) => {
                tracing::warn!(error = %e, entries = entries.len(), "access log: database unavailable, retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            Err(e) if entries.len() > 1 => {
                tracing::warn!(error = %e, entries = entries.len(), "access log: batch refused, writing entries one by one");
                for e in entries {
                    Box::pin(write(db, std::slice::from_ref(e), stats)).await;
                }
                return;
            }
            Err(e) => {
                stats.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, action = %entries[0].action, subject = entries[0].subject_id, "access log: entry refused and not kept");
                return;
            }
        }
    }
}

async fn append(db: &dyn Database, entries: &[AccessEntry]) -> Result<()> {
    let mut w = db.begin().await?;
    w.append_access(entries).await?;
    w.commit().await
}

/// The access log's SQL, shared by both backends. `$lock` is how the backend holds the chain
/// head row for the transaction (`FOR UPDATE` on PostgreSQL; SQLite has one writer).
macro_rules! access_impl {
    ($repo:ident, $row:ty, $lock:literal) => {
        mod access_impl {
            use super::$repo;
            use async_trait::async_trait;
            use sqlx::types::Json;
            use sqlx::Row;
            use $crate::access::{AccessAgency, AccessEntry, AccessQuery, AccessRow, ReaderKind};
            use $crate::chain::{Chain, ChainHead, ChainLink};
            use $crate::{AccessRepo, AuditRow, Result, StoreError};

            const HEAD: &str = concat!("SELECT last_seq, last_hash FROM chain_heads WHERE chain = $1", $lock);
            const COLS: &str = "l.id, l.at, l.subject_id, l.reader_id, l.reader_label, l.reader_kind, l.agency, l.action, l.target, \
                l.purpose, l.client_id, l.request_id";
            /// Rows per INSERT statement (14 parameters each). Small: SQLite finds each parameter
            /// by a linear search, so a statement's binding cost grows with the square of its
            /// parameters (500 rows cost the writer ~144 µs an entry).
            const CHUNK: usize = 32;
            /// Rows per sealing UPDATE (4 parameters each), for the same reason.
            const SEAL_CHUNK: usize = 100;

            fn entry(r: &$row) -> Result<AccessEntry> {
                let kind: String = r.try_get("reader_kind")?;
                Ok(AccessEntry {
                    at: r.try_get("at")?,
                    subject_id: r.try_get("subject_id")?,
                    reader_id: r.try_get("reader_id")?,
                    reader_label: r.try_get("reader_label")?,
                    reader_kind: ReaderKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("unknown reader kind `{kind}`")))?,
                    agency: r.try_get("agency")?,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    purpose: r.try_get("purpose")?,
                    client_id: r.try_get("client_id")?,
                    request_id: r.try_get("request_id")?,
                })
            }

            fn audit_row(r: &$row) -> Result<AuditRow> {
                let detail: Json<serde_json::Value> = r.try_get("detail")?;
                Ok(AuditRow {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    actor_id: r.try_get("actor_id")?,
                    actor_label: r.try_get("actor_label")?,
                    action: r.try_get("action")?,
                    target_type: r.try_get("target_type")?,
                    target_id: r.try_get("target_id")?,
                    detail: detail.0,
                    ip: r.try_get("ip")?,
                    request_id: r.try_get("request_id")?,
                })
            }

            impl $repo {
                async fn lock_head(&mut self, chain: Chain) -> Result<(i64, String)> {
                    let r: $row = sqlx::query(HEAD).bind(chain.as_str()).fetch_one(self.conn()).await?;
                    Ok((r.try_get("last_seq")?, r.try_get("last_hash")?))
                }

                /// An officer's read recorded without an agency (an API read, where the role
                /// grants were not at hand) is put under the officer's own agency: one query per
                /// batch rather than one per read.
                async fn with_officer_agencies(&mut self, entries: &[AccessEntry]) -> Result<Vec<AccessEntry>> {
                    let mut entries = entries.to_vec();
                    let mut ids: Vec<i64> = entries
                        .iter()
                        .filter(|e| e.reader_kind == ReaderKind::Officer && e.agency.is_none())
                        .filter_map(|e| e.reader_id)
                        .collect();
                    ids.sort_unstable();
                    ids.dedup();
                    if ids.is_empty() {
                        return Ok(entries);
                    }
                    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
                    let sql = format!(
                        "SELECT a.id, g.electronic_id FROM accounts a JOIN agencies g ON g.id = a.agency_id WHERE a.id IN ({})",
                        list.join(", ")
                    );
                    let found: Vec<(i64, String)> = sqlx::query_as(&sql).fetch_all(self.conn()).await?;
                    for e in entries.iter_mut().filter(|e| e.reader_kind == ReaderKind::Officer && e.agency.is_none()) {
                        e.agency = found.iter().find(|(id, _)| Some(*id) == e.reader_id).map(|(_, eid)| eid.clone());
                    }
                    Ok(entries)
                }

                async fn move_head(&mut self, chain: Chain, seq: i64, hash: &str) -> Result<()> {
                    sqlx::query("UPDATE chain_heads SET last_seq = $2, last_hash = $3 WHERE chain = $1")
                        .bind(chain.as_str())
                        .bind(seq)
                        .bind(hash)
                        .execute(self.conn())
                        .await?;
                    Ok(())
                }
            }

            #[async_trait]
            impl AccessRepo for $repo {
                async fn append_access(&mut self, entries: &[AccessEntry]) -> Result<Vec<i64>> {
                    if entries.is_empty() {
                        return Ok(vec![]);
                    }
                    let entries = self.with_officer_agencies(entries).await?;
                    let (seq, hash) = self.lock_head(Chain::Access).await?;
                    let linked = $crate::access::link(seq, &hash, &entries);
                    for chunk in linked.chunks(CHUNK) {
                        let rows: Vec<String> = (0..chunk.len())
                            .map(|i| {
                                let p: Vec<String> = (1..=14).map(|k| format!("${}", i * 14 + k)).collect();
                                format!("({})", p.join(", "))
                            })
                            .collect();
                        let sql = format!(
                            "INSERT INTO access_log (id, at, subject_id, reader_id, reader_label, reader_kind, agency, action, target, \
                             purpose, client_id, request_id, prev_hash, hash) VALUES {}",
                            rows.join(", ")
                        );
                        let mut q = sqlx::query(&sql);
                        for (id, e, prev, hash) in chunk {
                            q = q
                                .bind(*id)
                                .bind(e.at)
                                .bind(e.subject_id)
                                .bind(e.reader_id)
                                .bind(&e.reader_label)
                                .bind(e.reader_kind.as_str())
                                .bind(&e.agency)
                                .bind(&e.action)
                                .bind(&e.target)
                                .bind(&e.purpose)
                                .bind(&e.client_id)
                                .bind(&e.request_id)
                                .bind(prev)
                                .bind(hash);
                        }
                        q.execute(self.conn()).await?;
                    }
                    let (last, _, _, last_hash) = linked.last().expect("not empty");
                    self.move_head(Chain::Access, *last, last_hash).await?;
                    Ok(linked.iter().map(|(id, ..)| *id).collect())
                }

                async fn list_access(&mut self, q: &AccessQuery) -> Result<Vec<AccessRow>> {
                    let sql = format!(
                        "SELECT {COLS}, a.name_vi, a.name_en, c.name AS client_name FROM access_log l \
                         LEFT JOIN agencies a ON a.electronic_id = l.agency LEFT JOIN oidc_clients c ON c.client_id = l.client_id \
                         WHERE l.subject_id = $1 AND ($2 IS NULL OR l.at >= $2) AND ($3 IS NULL OR l.at < $3) \
                         AND (CAST($4 AS TEXT) IS NULL OR l.agency = $4) AND (CAST($5 AS TEXT) IS NULL OR l.reader_kind = $5) \
                         ORDER BY l.at DESC, l.id DESC LIMIT $6 OFFSET $7"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(q.subject_id)
                        .bind(q.from)
                        .bind(q.to)
                        .bind(&q.agency)
                        .bind(q.kind.map(ReaderKind::as_str))
                        .bind(q.limit)
                        .bind(q.offset)
                        .fetch_all(self.conn())
                        .await?;
                    rows.iter()
                        .map(|r| {
                            let vi: Option<String> = r.try_get("name_vi")?;
                            Ok(AccessRow {
                                id: r.try_get("id")?,
                                entry: entry(r)?,
                                agency_name: vi.map(|vi| tl_core::catalog::I18nText { vi, en: r.try_get("name_en").ok().flatten() }),
                                client_name: r.try_get("client_name")?,
                            })
                        })
                        .collect()
                }

                async fn access_agencies(&mut self, subject_id: i64) -> Result<Vec<AccessAgency>> {
                    let rows = sqlx::query(
                        "SELECT DISTINCT l.agency, a.name_vi, a.name_en FROM access_log l LEFT JOIN agencies a ON a.electronic_id = l.agency \
                         WHERE l.subject_id = $1 AND l.agency IS NOT NULL ORDER BY l.agency",
                    )
                    .bind(subject_id)
                    .fetch_all(self.conn())
                    .await?;
                    rows.iter()
                        .map(|r| {
                            let vi: Option<String> = r.try_get("name_vi")?;
                            Ok(AccessAgency {
                                electronic_id: r.try_get("agency")?,
                                name: vi.map(|vi| tl_core::catalog::I18nText { vi, en: r.try_get("name_en").ok().flatten() }),
                            })
                        })
                        .collect()
                }

                async fn chain_head(&mut self, chain: Chain) -> Result<ChainHead> {
                    let r: $row = sqlx::query("SELECT last_seq, last_hash FROM chain_heads WHERE chain = $1")
                        .bind(chain.as_str())
                        .fetch_one(self.conn())
                        .await?;
                    Ok(ChainHead { seq: r.try_get("last_seq")?, hash: r.try_get("last_hash")? })
                }

                async fn chain_page(&mut self, chain: Chain, after: i64, limit: i64) -> Result<Vec<ChainLink>> {
                    match chain {
                        Chain::Access => {
                            let sql = format!("SELECT {COLS}, l.prev_hash, l.hash FROM access_log l WHERE l.id > $1 ORDER BY l.id LIMIT $2");
                            let rows = sqlx::query(&sql).bind(after).bind(limit).fetch_all(self.conn()).await?;
                            rows.iter()
                                .map(|r| {
                                    let id: i64 = r.try_get("id")?;
                                    let e = entry(r)?;
                                    Ok(ChainLink {
                                        seq: id,
                                        id,
                                        at: e.at,
                                        canonical: $crate::access::canonical(id, &e),
                                        prev_hash: r.try_get("prev_hash")?,
                                        hash: r.try_get("hash")?,
                                    })
                                })
                                .collect()
                        }
                        Chain::Audit => {
                            let rows = sqlx::query(
                                "SELECT id, at, actor_id, actor_label, action, target_type, target_id, detail, ip, request_id, seal_seq, \
                                 prev_hash, hash FROM audit_log WHERE seal_seq > $1 ORDER BY seal_seq LIMIT $2",
                            )
                            .bind(after)
                            .bind(limit)
                            .fetch_all(self.conn())
                            .await?;
                            rows.iter()
                                .map(|r| {
                                    let a = audit_row(r)?;
                                    Ok(ChainLink {
                                        seq: r.try_get("seal_seq")?,
                                        id: a.id,
                                        at: a.at,
                                        canonical: $crate::access::canonical_audit(&a),
                                        prev_hash: r.try_get::<Option<String>, _>("prev_hash")?.unwrap_or_default(),
                                        hash: r.try_get::<Option<String>, _>("hash")?.unwrap_or_default(),
                                    })
                                })
                                .collect()
                        }
                    }
                }

                async fn seal_audit(&mut self, limit: i64) -> Result<u64> {
                    let (mut seq, mut prev) = self.lock_head(Chain::Audit).await?;
                    let rows = sqlx::query(
                        "SELECT id, at, actor_id, actor_label, action, target_type, target_id, detail, ip, request_id FROM audit_log \
                         WHERE seal_seq IS NULL ORDER BY id LIMIT $1",
                    )
                    .bind(limit)
                    .fetch_all(self.conn())
                    .await?;
                    if rows.is_empty() {
                        return Ok(0);
                    }
                    let mut links = Vec::with_capacity(rows.len());
                    for r in &rows {
                        let a = audit_row(r)?;
                        seq += 1;
                        let hash = $crate::chain::link_hash(&prev, &$crate::access::canonical_audit(&a));
                        links.push((a.id, seq, std::mem::replace(&mut prev, hash.clone()), hash));
                    }
                    // One statement per chunk: the rows' seal columns from a VALUES list (its
                    // columns are column1… on both databases).
                    for chunk in links.chunks(SEAL_CHUNK) {
                        let values: Vec<String> =
                            (0..chunk.len()).map(|i| format!("(${}, ${}, ${}, ${})", i * 4 + 1, i * 4 + 2, i * 4 + 3, i * 4 + 4)).collect();
                        let sql = format!(
                            "UPDATE audit_log SET seal_seq = v.column2, prev_hash = v.column3, hash = v.column4 \
                             FROM (VALUES {}) AS v WHERE audit_log.id = v.column1",
                            values.join(", ")
                        );
                        let mut q = sqlx::query(&sql);
                        for (id, s, p, h) in chunk {
                            q = q.bind(*id).bind(*s).bind(p).bind(h);
                        }
                        q.execute(self.conn()).await?;
                    }
                    self.move_head(Chain::Audit, seq, &prev).await?;
                    Ok(links.len() as u64)
                }

                async fn count_unsealed_audit(&mut self) -> Result<i64> {
                    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE seal_seq IS NULL").fetch_one(self.conn()).await?)
                }
            }
        }
    };
}

pub(crate) use access_impl;

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: DateTime<Utc>) -> AccessEntry {
        AccessEntry {
            at,
            subject_id: 7,
            reader_id: Some(3),
            reader_label: "Cán bộ \"Một cửa\"".into(),
            reader_kind: ReaderKind::Officer,
            agency: Some("H26.31".into()),
            action: "dossier.view".into(),
            target: "H26.31-261126-0001".into(),
            purpose: "H26.31-261126-0001".into(),
            client_id: None,
            request_id: Some("r1".into()),
        }
    }

    #[test]
    fn links_follow_the_head_with_times_cut_to_microseconds() {
        let at = DateTime::parse_from_rfc3339("2026-11-26T03:04:05.123456789Z").unwrap().with_timezone(&Utc);
        let linked = link(41, crate::chain::GENESIS, &[entry(at), entry(at)]);
        assert_eq!((linked[0].0, linked[1].0), (42, 43));
        assert_eq!(linked[0].1.at.timestamp_subsec_nanos(), 123_456_000);
        assert_eq!(linked[1].2, linked[0].3, "each link names the previous hash");
        assert_eq!(linked[0].3, link_hash(crate::chain::GENESIS, &canonical(42, &linked[0].1)));
        assert!(canonical(42, &linked[0].1).starts_with(r#"["access.v1",42,"2026-11-26T03:04:05.123456Z",7,3,"Cán bộ \"Một cửa\"""#));
    }
}
