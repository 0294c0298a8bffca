//! SQLite: the default, one machine. One writer connection (SQLite allows one writer at a
//! time; queueing in the pool beats SQLITE_BUSY retries) and a pool of read-only readers
//! that WAL mode lets run beside it.
//!
//! Checkpoints (copying the write-ahead log into the database file) run on a connection of
//! their own every [`CHECKPOINT_EVERY`], beside the writer, instead of inside whichever commit
//! crosses SQLite's threshold — where they held up every transaction queued behind it. The
//! writer still checkpoints by itself if the log grows past [`WAL_LIMIT_PAGES`].
//!
//! Group commit: the writer runs with `synchronous = NORMAL` — its COMMIT appends to the log
//! without flushing it — and a commit flushes the log itself ([`WalSync`]) after the writer is
//! released, before it returns. The next transaction runs while the disk flushes the last one,
//! and commits waiting together share one flush. A commit is acknowledged only once the log
//! holding it is on disk, as with `synchronous = FULL`; what differs is that other connections
//! may read a transaction a few hundred microseconds before it is durable.

use crate::{Backend, Database, Repo};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct SqliteDatabase {
    writer: SqlitePool,
    /// `None` in memory (nothing to flush).
    wal: Option<Arc<WalSync>>,
    /// The database file, for the token task's own connection.
    path: PathBuf,
    /// The token task's connection (see `sqlite_raw`), opened on its first batch.
    code_batches: Arc<tokio::sync::Mutex<crate::sqlite_raw::TokenSlot>>,
    readers: SqlitePool,
    /// Held here only: the checkpointing task stops when the database is dropped or closed.
    checkpointer: Option<Arc<SqlitePool>>,
}

/// How often the background checkpoint runs.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// The writer's own checkpoint threshold (SQLite's default is 1000 pages).
pub const WAL_LIMIT_PAGES: u32 = 8000;

/// Flushes the write-ahead log after commits. Every commit takes a ticket (its number) once
/// COMMIT has returned; a flush started after that covers it (fsync makes durable everything
/// written before it was called, whatever other flush is under way). A commit whose ticket a
/// started flush covers waits for it; otherwise it starts one at once, beside any still running:
/// a batch does not wait for the flush of the one before it and then for its own.
pub struct WalSync {
    wal: PathBuf,
    committed: AtomicU64,
    /// The highest ticket a flush has been started for (held for a few instructions).
    started: std::sync::Mutex<u64>,
    /// The highest ticket known to be on disk, and how many flushes failed.
    done: tokio::sync::watch::Sender<(u64, u64)>,
}

impl WalSync {
    fn new(db_file: &Path) -> Self {
        let mut wal = db_file.as_os_str().to_owned();
        wal.push("-wal");
        Self {
            wal: wal.into(),
            committed: AtomicU64::new(0),
            started: std::sync::Mutex::new(0),
            done: tokio::sync::watch::Sender::new((0, 0)),
        }
    }

    /// Records a commit that just returned; its ticket.
    pub fn committed(&self) -> u64 {
        self.committed.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Returns once the commit with this ticket is on disk.
    pub async fn sync_to(&self, ticket: u64) -> crate::Result<()> {
        let mut done = self.done.subscribe();
        let failures = done.borrow().1;
        loop {
            let (synced, failed) = *done.borrow_and_update();
            if synced >= ticket {
                return Ok(());
            }
            if failed != failures {
                return Err(crate::StoreError::Unavailable("the write-ahead log could not be flushed".into()));
            }
            let covers = {
                let mut started = self.started.lock().unwrap_or_else(|p| p.into_inner());
                (*started < ticket).then(|| {
                    // Every commit numbered up to here has returned: this flush covers them all.
                    *started = self.committed.load(Ordering::SeqCst);
                    *started
                })
            };
            let Some(covers) = covers else {
                // A flush under way covers this commit.
                done.changed().await.map_err(|_| crate::StoreError::Unavailable("the log flush stopped".into()))?;
                continue;
            };
            let wal = self.wal.clone();
            let flushed =
                tokio::task::spawn_blocking(move || flush(&wal)).await.map_err(|e| std::io::Error::other(e.to_string())).and_then(|r| r);
            return self.flushed(covers, flushed);
        }
    }

    /// [`WalSync::sync_to`] in the calling thread, which it blocks for the flush (the token
    /// task's own thread: no hand-over to a blocking thread and back).
    pub fn sync_here(&self, ticket: u64) -> crate::Result<()> {
        if self.done.borrow().0 >= ticket {
            return Ok(());
        }
        let covers = self.committed.load(Ordering::SeqCst);
        {
            let mut started = self.started.lock().unwrap_or_else(|p| p.into_inner());
            *started = (*started).max(covers);
        }
        self.flushed(covers, flush(&self.wal))
    }

    /// Records how a flush covering tickets up to `covers` ended.
    fn flushed(&self, covers: u64, flushed: std::io::Result<()>) -> crate::Result<()> {
        match flushed {
            Ok(()) => {
                self.done.send_modify(|d| d.0 = d.0.max(covers));
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "the write-ahead log could not be flushed");
                // Whoever waited on this flush hears of it; the next commit starts afresh.
                *self.started.lock().unwrap_or_else(|p| p.into_inner()) = self.done.borrow().0;
                self.done.send_modify(|d| d.1 += 1);
                Err(crate::StoreError::Unavailable(format!("the write-ahead log could not be flushed: {e}")))
            }
        }
    }
}

/// fsync of the log: it flushes the file's data whichever descriptor asks.
fn flush(wal: &Path) -> std::io::Result<()> {
    match std::fs::File::open(wal) {
        Ok(f) => f.sync_data(),
        // No log: the last connection checkpointed it into the database file and synced that.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

async fn checkpoints(pool: std::sync::Weak<SqlitePool>) {
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        let Some(pool) = pool.upgrade() else { return };
        if pool.is_closed() {
            return;
        }
        // PASSIVE: copies what no reader still needs, never waits for or blocks anyone.
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(pool.as_ref()).await {
            tracing::debug!(error = %e, "background checkpoint failed; the writer will checkpoint");
        }
    }
}

impl SqliteDatabase {
    pub async fn connect(url: &str) -> crate::Result<Self> {
        let base = SqliteConnectOptions::from_str(url)
            .map_err(|e| crate::StoreError::BadUrl(e.to_string()))?
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before it is acknowledged, even across power loss.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-16000");
        // One writer: under a burst, transactions queue for it; a long wait beats a refusal.
        // No ping before each use (sqlx's default): a connection to a local file does not drop,
        // and the ping is a round trip to the connection's thread on every transaction.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(
                base.clone()
                    .create_if_missing(true)
                    .pragma("wal_autocheckpoint", WAL_LIMIT_PAGES.to_string())
                    // NORMAL: COMMIT does not flush the log; [`WalSync`] does, outside the lock.
                    .synchronous(SqliteSynchronous::Normal),
            )
            .await?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let path = base.get_filename().to_path_buf();
        let wal = (!in_memory).then(|| Arc::new(WalSync::new(&path)));
        let readers = if in_memory {
            writer.clone()
        } else {
            let n = std::thread::available_parallelism().map_or(4, |n| n.get() * 2).max(4) as u32;
            SqlitePoolOptions::new()
                .max_connections(n)
                .test_before_acquire(false)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(base.clone().read_only(true))
                .await?
        };
        let checkpointer = if in_memory {
            None
        } else {
            let pool = Arc::new(
                SqlitePoolOptions::new().max_connections(1).min_connections(0).test_before_acquire(false).connect_with(base).await?,
            );
            tokio::spawn(checkpoints(Arc::downgrade(&pool)));
            Some(pool)
        };
        Ok(Self { writer, wal, path, code_batches: Arc::default(), readers, checkpointer })
    }
}

#[async_trait]
impl Database for SqliteDatabase {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> crate::Result<()> {
        sqlx::migrate!("migrations/sqlite").run(&self.writer).await?;
        // Migrations commit on the writer (synchronous = NORMAL) outside a repo: flush them.
        if let Some(wal) = &self.wal {
            wal.sync_to(wal.committed()).await?;
        }
        let mut repo = self.begin().await?;
        let filled = repo.backfill_applicant_names().await?;
        repo.commit().await?;
        if filled > 0 {
            tracing::info!(filled, "folded applicant names filled on older dossiers");
        }
        Ok(())
    }

    async fn ping(&self) -> crate::Result<()> {
        sqlx::query("SELECT 1").execute(&self.readers).await?;
        Ok(())
    }

    async fn begin(&self) -> crate::Result<Box<dyn Repo>> {
        Ok(Box::new(SqliteRepo { conn: Conn::Tx(self.writer.begin().await?), wal: self.wal.clone() }))
    }

    async fn read(&self) -> crate::Result<Box<dyn Repo>> {
        Ok(Box::new(SqliteRepo { conn: Conn::Plain(self.readers.acquire().await?), wal: None }))
    }

    async fn begin_code_batch(&self) -> crate::Result<Box<dyn crate::CodeBatch>> {
        match &self.wal {
            Some(wal) => {
                Ok(Box::new(crate::sqlite_raw::SqliteCodeBatch::begin(&self.writer, &self.code_batches, &self.path, wal.clone()).await?))
            }
            // In memory every connection would be a database of its own.
            None => Ok(Box::new(crate::oidc::RepoBatch(self.begin().await?))),
        }
    }

    async fn close(&self) {
        // The token task's connection first: the last one to close checkpoints the log away.
        *self.code_batches.lock().await = crate::sqlite_raw::TokenSlot::default();
        self.readers.close().await;
        self.writer.close().await;
        if let Some(c) = &self.checkpointer {
            c.close().await;
        }
    }

    fn bulk(&self) -> Box<dyn crate::synth::BulkLoader> {
        Box::new(crate::synth::sqlite::SqliteBulk::new(self.writer.clone()))
    }
}

/// FTS5: terms are alphanumeric (folded by the core), quoted, the last one a prefix.
fn match_expr(terms: &[String], relaxed: bool) -> String {
    let n = terms.len();
    let parts: Vec<String> =
        terms.iter().enumerate().map(|(i, t)| if i + 1 == n { format!("\"{t}\"*") } else { format!("\"{t}\"") }).collect();
    parts.join(if relaxed { " OR " } else { " " })
}

/// bm25 with the name weighted 10:1; it cannot sit beside a window function, hence the subquery.
fn ranked_sql(cols: &str, joins: &str, filters: &str) -> String {
    format!(
        "SELECT {cols} FROM (SELECT rowid AS vid, bm25(procedure_fts, 10.0, 1.0) AS rank FROM procedure_fts \
         WHERE procedure_fts MATCH $1) m JOIN procedure_versions v ON v.id = m.vid {joins} WHERE {filters} \
         ORDER BY CASE WHEN instr(' ' || v.search_name || ' ', $6) > 0 THEN length(v.name_vi) ELSE 100000 END, \
         m.rank, v.search_name LIMIT $7 OFFSET $8"
    )
}

crate::shared::shared_impl!(SqliteRepo, Sqlite, sqlx::sqlite::SqliteRow, SqliteConnection);
crate::security::security_impl!(SqliteRepo, sqlx::sqlite::SqliteRow);
crate::delegation::delegation_impl!(SqliteRepo, sqlx::sqlite::SqliteRow);
crate::oidc::oidc_impl!(SqliteRepo, sqlx::sqlite::SqliteRow);
crate::access::access_impl!(SqliteRepo, sqlx::sqlite::SqliteRow, "");
crate::store::store_impl!(SqliteRepo, sqlx::sqlite::SqliteRow);
