//! SQLite: the default, one machine. One writer connection (SQLite allows one writer at a
//! time; queueing in the pool beats SQLITE_BUSY retries) and a pool of read-only readers
//! that WAL mode lets run beside it.
//!
//! Checkpoints (copying the write-ahead log into the database file) run on a connection of
//! their own every [`CHECKPOINT_EVERY`], beside the writer, instead of inside whichever commit
//! crosses SQLite's threshold — where they held up every transaction queued behind it. The
//! writer still checkpoints by itself if the log grows past [`WAL_LIMIT_PAGES`].

use crate::{Backend, Database, Repo};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

pub struct SqliteDatabase {
    writer: SqlitePool,
    readers: SqlitePool,
    /// Held here only: the checkpointing task stops when the database is dropped or closed.
    checkpointer: Option<std::sync::Arc<SqlitePool>>,
}

/// How often the background checkpoint runs.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// The writer's own checkpoint threshold (SQLite's default is 1000 pages).
pub const WAL_LIMIT_PAGES: u32 = 8000;

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
            .connect_with(base.clone().create_if_missing(true).pragma("wal_autocheckpoint", WAL_LIMIT_PAGES.to_string()))
            .await?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
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
            let pool = std::sync::Arc::new(
                SqlitePoolOptions::new().max_connections(1).min_connections(0).test_before_acquire(false).connect_with(base).await?,
            );
            tokio::spawn(checkpoints(std::sync::Arc::downgrade(&pool)));
            Some(pool)
        };
        Ok(Self { writer, readers, checkpointer })
    }
}

#[async_trait]
impl Database for SqliteDatabase {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> crate::Result<()> {
        sqlx::migrate!("migrations/sqlite").run(&self.writer).await?;
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
        Ok(Box::new(SqliteRepo { conn: Conn::Tx(self.writer.begin().await?) }))
    }

    async fn read(&self) -> crate::Result<Box<dyn Repo>> {
        Ok(Box::new(SqliteRepo { conn: Conn::Plain(self.readers.acquire().await?) }))
    }

    async fn close(&self) {
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
