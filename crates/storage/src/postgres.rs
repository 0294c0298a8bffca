//! PostgreSQL: for a province that outgrows one machine; several stateless app servers share it.

use crate::{Backend, Database, Repo, SearchPage, SearchQuery};
use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};
use std::str::FromStr;
use std::time::Duration;

pub struct PgDatabase {
    pool: PgPool,
}

impl PgDatabase {
    pub async fn connect(url: &str) -> crate::Result<Self> {
        let opts = PgConnectOptions::from_str(url).map_err(|e| crate::StoreError::BadUrl(e.to_string()))?.application_name("thanglong");
        let pool =
            PgPoolOptions::new().max_connections(16).min_connections(1).acquire_timeout(Duration::from_secs(5)).connect_with(opts).await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Database for PgDatabase {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> crate::Result<()> {
        // sqlx takes an advisory lock, so app servers starting together migrate once.
        sqlx::migrate!("migrations/postgres").run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> crate::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn begin(&self) -> crate::Result<Box<dyn Repo>> {
        Ok(Box::new(PgRepo { conn: Conn::Tx(self.pool.begin().await?) }))
    }

    async fn read(&self) -> crate::Result<Box<dyn Repo>> {
        Ok(Box::new(PgRepo { conn: Conn::Plain(self.pool.acquire().await?) }))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

enum Conn {
    Tx(Transaction<'static, Postgres>),
    Plain(PoolConnection<Postgres>),
}

pub struct PgRepo {
    conn: Conn,
}

impl PgRepo {
    fn conn(&mut self) -> &mut PgConnection {
        match &mut self.conn {
            Conn::Tx(t) => &mut *t,
            Conn::Plain(c) => &mut *c,
        }
    }

    /// tsquery search over the GIN-indexed `search` column: terms are alphanumeric (folded by the
    /// core), quoted, the last one a prefix.
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
                         WHERE CAST($1 AS TEXT) = '' AND CAST($6 AS TEXT) IS NOT NULL AND {filters} ORDER BY v.search_name, p.code LIMIT $7 OFFSET $8"
                    ),
                    String::new(),
                )
            } else {
                let n = q.terms.len();
                let parts: Vec<String> =
                    q.terms.iter().enumerate().map(|(i, t)| if i + 1 == n { format!("'{t}':*") } else { format!("'{t}'") }).collect();
                let expr = if relaxed { parts.join(" | ") } else { parts.join(" & ") };
                (
                    format!(
                        "SELECT {SUMMARY_COLS}, COUNT(*) OVER () AS total FROM procedure_versions v {joins} \
                         WHERE v.search @@ to_tsquery('simple', $1) AND {filters} \
                         ORDER BY CASE WHEN position($6 in ' ' || v.search_name || ' ') > 0 THEN length(v.name_vi) ELSE 100000 END, \
                         ts_rank(v.search, to_tsquery('simple', $1)) DESC, v.search_name LIMIT $7 OFFSET $8"
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
    conn: &mut PgConnection,
    sql: &str,
    match_expr: &str,
    q: &SearchQuery,
    phrase: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<sqlx::postgres::PgRow>, sqlx::Error> {
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
impl Repo for PgRepo {
    async fn commit(self: Box<Self>) -> crate::Result<()> {
        if let Conn::Tx(t) = self.conn {
            t.commit().await?;
        }
        Ok(())
    }
}

crate::shared::shared_impl!(PgRepo, Postgres, sqlx::postgres::PgRow);
