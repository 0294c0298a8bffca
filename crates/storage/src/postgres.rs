//! PostgreSQL: for a province that outgrows one machine; several stateless app servers share it.

use crate::{Backend, Database, Repo};
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use std::str::FromStr;
use std::time::Duration;

pub struct PgDatabase {
    pool: PgPool,
    /// The token task's own connection (see [`crate::pg_batch`]).
    tokens: std::sync::Arc<tokio::sync::Mutex<crate::pg_batch::TokenConn>>,
}

impl PgDatabase {
    pub async fn connect(url: &str) -> crate::Result<Self> {
        let opts = PgConnectOptions::from_str(url).map_err(|e| crate::StoreError::BadUrl(e.to_string()))?.application_name("thanglong");
        let tokens = crate::pg_batch::TokenConn::new(opts.clone());
        let pool =
            PgPoolOptions::new().max_connections(16).min_connections(1).acquire_timeout(Duration::from_secs(5)).connect_with(opts).await?;
        Ok(Self { pool, tokens })
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
        let mut repo = self.begin().await?;
        let filled = repo.backfill_applicant_names().await?;
        repo.commit().await?;
        if filled > 0 {
            tracing::info!(filled, "folded applicant names filled on older dossiers");
        }
        Ok(())
    }

    async fn ping(&self) -> crate::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn begin(&self) -> crate::Result<Box<dyn Repo>> {
        Ok(Box::new(PgRepo { conn: Conn::Tx(self.pool.begin().await?), wal: None }))
    }

    async fn read(&self) -> crate::Result<Box<dyn Repo>> {
        Ok(Box::new(PgRepo { conn: Conn::Plain(self.pool.acquire().await?), wal: None }))
    }

    async fn begin_code_batch(&self) -> crate::Result<Box<dyn crate::oidc::CodeBatch>> {
        Ok(Box::new(crate::pg_batch::PgCodeBatch::begin(&self.tokens).await?))
    }

    async fn close(&self) {
        if let Some(conn) = self.tokens.lock().await.conn.take() {
            let _ = sqlx::Connection::close(conn).await;
        }
        self.pool.close().await;
    }

    fn bulk(&self) -> Box<dyn crate::synth::BulkLoader> {
        Box::new(crate::synth::postgres::PgBulk::new(self.pool.clone()))
    }
}

/// tsquery: terms are alphanumeric (folded by the core), quoted, the last one a prefix.
fn match_expr(terms: &[String], relaxed: bool) -> String {
    let n = terms.len();
    let parts: Vec<String> =
        terms.iter().enumerate().map(|(i, t)| if i + 1 == n { format!("'{t}':*") } else { format!("'{t}'") }).collect();
    parts.join(if relaxed { " | " } else { " & " })
}

/// The GIN-indexed `search` column (name weight A, the rest B), ranked by ts_rank.
fn ranked_sql(cols: &str, joins: &str, filters: &str) -> String {
    format!(
        "SELECT {cols} FROM procedure_versions v {joins} WHERE v.search @@ to_tsquery('simple', $1) AND {filters} \
         ORDER BY CASE WHEN position($6 in ' ' || v.search_name || ' ') > 0 THEN length(v.name_vi) ELSE 100000 END, \
         ts_rank(v.search, to_tsquery('simple', $1)) DESC, v.search_name LIMIT $7 OFFSET $8"
    )
}

crate::shared::shared_impl!(PgRepo, Postgres, sqlx::postgres::PgRow, PgConnection);
crate::security::security_impl!(PgRepo, sqlx::postgres::PgRow);
crate::delegation::delegation_impl!(PgRepo, sqlx::postgres::PgRow);
crate::oidc::oidc_impl!(PgRepo, sqlx::postgres::PgRow);
crate::access::access_impl!(PgRepo, sqlx::postgres::PgRow, " FOR UPDATE");
crate::store::store_impl!(PgRepo, sqlx::postgres::PgRow);
