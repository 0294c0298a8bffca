//! SQLite: the default, one machine. One writer connection (SQLite allows one writer at a
//! time; queueing in the pool beats SQLITE_BUSY retries) and a pool of read-only readers
//! that WAL mode lets run beside it.

use crate::{Backend, Database, Repo, SearchPage, SearchQuery};
use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
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
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
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
}

enum Conn {
    Tx(Transaction<'static, Sqlite>),
    Plain(PoolConnection<Sqlite>),
}

pub struct SqliteRepo {
    conn: Conn,
}

impl SqliteRepo {
    fn conn(&mut self) -> &mut SqliteConnection {
        match &mut self.conn {
            Conn::Tx(t) => &mut *t,
            Conn::Plain(c) => &mut *c,
        }
    }

    /// FTS5 search: terms are alphanumeric (folded by the core), quoted, the last one a prefix.
    async fn search(&mut self, q: &SearchQuery) -> crate::Result<SearchPage> {
        let per_page = q.per_page.clamp(1, 100);
        let offset = i64::from(q.page.saturating_sub(1)) * i64::from(per_page);
        let filters = "v.effective_from <= $2 AND (v.effective_to IS NULL OR v.effective_to > $2) \
            AND (CAST($3 AS TEXT) IS NULL OR v.field_code = $3) \
            AND (CAST($4 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM procedure_version_agencies pa \
                 JOIN agencies a ON a.id = pa.agency_id WHERE pa.version_id = v.id \
                 AND (a.electronic_id = $4 OR a.electronic_id LIKE $4 || '.%'))) \
            AND (CAST($5 AS TEXT) IS NULL OR v.level = $5)";
        let joins = "JOIN procedures p ON p.id = v.procedure_id JOIN fields f ON f.code = v.field_code";
        let mut relaxed = false;
        let mut attempt = 0;
        loop {
            let (sql, match_expr) = if q.terms.is_empty() {
                (
                    format!(
                        "SELECT {SUMMARY_COLS}, COUNT(*) OVER () AS total FROM procedure_versions v {joins} \
                         WHERE $1 = '' AND {filters} ORDER BY v.search_name, p.code LIMIT $7 OFFSET $8"
                    ),
                    String::new(),
                )
            } else {
                let n = q.terms.len();
                let parts: Vec<String> =
                    q.terms.iter().enumerate().map(|(i, t)| if i + 1 == n { format!("\"{t}\"*") } else { format!("\"{t}\"") }).collect();
                let expr = if relaxed { parts.join(" OR ") } else { parts.join(" ") };
                (
                    format!(
                        "SELECT {SUMMARY_COLS}, COUNT(*) OVER () AS total \
                         FROM (SELECT rowid AS vid, bm25(procedure_fts, 10.0, 1.0) AS rank FROM procedure_fts \
                               WHERE procedure_fts MATCH $1) m \
                         JOIN procedure_versions v ON v.id = m.vid {joins} \
                         WHERE {filters} \
                         ORDER BY CASE WHEN instr(' ' || v.search_name || ' ', $6) > 0 THEN length(v.name_vi) ELSE 100000 END, \
                         m.rank, v.search_name \
                         LIMIT $7 OFFSET $8"
                    ),
                    expr,
                )
            };
            let phrase = format!(" {}", q.terms.join(" "));
            let rows = run(self.conn(), &sql, &match_expr, q, &phrase, i64::from(per_page), offset).await?;
            let total: i64 = match rows.first() {
                Some(r) => sqlx::Row::try_get(r, "total")?,
                None if offset > 0 => {
                    let first = run(self.conn(), &sql, &match_expr, q, &phrase, 1, 0).await?;
                    first.first().map(|r| sqlx::Row::try_get(r, "total")).transpose()?.unwrap_or(0)
                }
                None => 0,
            };
            if total == 0 && !relaxed && q.terms.len() > 1 && attempt == 0 {
                relaxed = true;
                attempt += 1;
                continue;
            }
            let items = rows.iter().map(summary_row).collect::<crate::Result<Vec<_>>>()?;
            return Ok(SearchPage { items, total, page: q.page.max(1), per_page, relaxed });
        }
    }
}

async fn run(
    conn: &mut SqliteConnection,
    sql: &str,
    match_expr: &str,
    q: &SearchQuery,
    phrase: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<sqlx::sqlite::SqliteRow>, sqlx::Error> {
    sqlx::query(sql)
        .bind(match_expr)
        .bind(q.day)
        .bind(q.field.as_deref())
        .bind(q.agency.as_deref())
        .bind(q.level.map(|l| l.as_str()))
        .bind(phrase)
        .bind(limit)
        .bind(offset)
        .fetch_all(conn)
        .await
}

#[async_trait]
impl Repo for SqliteRepo {
    async fn commit(self: Box<Self>) -> crate::Result<()> {
        if let Conn::Tx(t) = self.conn {
            t.commit().await?;
        }
        Ok(())
    }
}

crate::shared::shared_impl!(SqliteRepo, Sqlite, sqlx::sqlite::SqliteRow);
