//! SQLite: the default, one machine. One writer connection (SQLite allows one writer at a
//! time; queueing in the pool beats SQLITE_BUSY retries) and a pool of read-only readers
//! that WAL mode lets run beside it.

use crate::{Backend, Database, Repo};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

pub struct SqliteDatabase {
    writer: SqlitePool,
    readers: SqlitePool,
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
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone().create_if_missing(true))
            .await?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let readers = if in_memory {
            writer.clone()
        } else {
            let n = std::thread::available_parallelism().map_or(4, |n| n.get() * 2).max(4) as u32;
            SqlitePoolOptions::new()
                .max_connections(n)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(base.read_only(true))
                .await?
        };
        Ok(Self { writer, readers })
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
