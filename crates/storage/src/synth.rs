//! Bulk loading and measuring for benchmarks (`thanglong bench fill-dossiers`, `bench inbox`).
//!
//! A million dossiers through the repository methods would take hours (a counter update, an
//! insert and its events per dossier); here rows the caller generated are written set-wise —
//! explicit ids, multi-row INSERTs of a thousand rows, one transaction per call — and the
//! counters, sequences and planner statistics are fixed up once at the end. Nothing here is
//! used by the product itself.

use crate::model::InboxQuery;
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use std::time::{Duration, Instant};

/// An account row (citizens and officers) with the id it must get.
#[derive(Debug, Clone)]
pub struct SynthAccount {
    pub id: i64,
    /// citizen, business or officer.
    pub kind: &'static str,
    pub login: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub agency_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A role grant of a generated officer.
#[derive(Debug, Clone)]
pub struct SynthGrant {
    pub account_id: i64,
    pub role: &'static str,
    pub agency_id: i64,
    pub granted_at: DateTime<Utc>,
}

/// A dossier row exactly as stored, with the id it must get; `event` is its one event (kind,
/// status, detail) at `submitted_at` (or `created_at` for a draft).
#[derive(Debug, Clone)]
pub struct SynthDossier {
    pub id: i64,
    pub code: Option<String>,
    pub procedure_code: String,
    pub version_no: i64,
    pub agency_id: i64,
    pub applicant_id: i64,
    /// The applicant's name folded (`tl_core::text::fold`), as filing writes it.
    pub applicant_folded: String,
    pub acted_by_id: i64,
    pub channel: &'static str,
    pub status: &'static str,
    pub answers: serde_json::Value,
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub supplement_count: i32,
    pub step_id: Option<&'static str>,
    pub step_agency_id: Option<i64>,
    pub step_role: Option<&'static str>,
    pub step_started_at: Option<DateTime<Utc>>,
    pub step_due_at: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    pub supplement_due_at: Option<DateTime<Utc>>,
    pub appointed_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Option<&'static str>,
    pub event: (&'static str, &'static str, serde_json::Value),
}

/// A row of a dossier's control sheet (Form 06).
#[derive(Debug, Clone)]
pub struct SynthHandoff {
    pub dossier_id: i64,
    pub step_id: &'static str,
    pub agency_id: i64,
    pub role: &'static str,
    pub started_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub giver_id: Option<i64>,
    pub handler_id: Option<i64>,
    pub ended_at: Option<DateTime<Utc>>,
    pub decision: Option<&'static str>,
    pub timeliness: Option<&'static str>,
}

/// Latencies of one inbox query, and the plan the database chose for it.
#[derive(Debug, Clone)]
pub struct Timed {
    pub latencies: Vec<Duration>,
    pub rows: usize,
    pub plan: Vec<String>,
}

/// Direct access to a database for generating and measuring benchmark data.
#[async_trait]
pub trait BulkLoader: Send + Sync {
    /// The next free account and dossier ids.
    async fn next_ids(&self) -> Result<(i64, i64)>;
    /// Every (agency, day, last serial) of the dossier code counters.
    async fn counters(&self) -> Result<Vec<(i64, NaiveDate, i64)>>;
    async fn insert_accounts(&self, accounts: &[SynthAccount], grants: &[SynthGrant]) -> Result<()>;
    /// Dossiers with their events, and handoff rows, in one transaction.
    async fn insert_dossiers(&self, dossiers: &[SynthDossier], handoffs: &[SynthHandoff]) -> Result<()>;
    /// Sets the code counters, moves the id sequences past the explicit ids, and refreshes
    /// the planner's statistics.
    async fn finish(&self, counters: &[(i64, NaiveDate, i64)]) -> Result<()>;
    /// The plan of the inbox query (EXPLAIN QUERY PLAN on SQLite, EXPLAIN ANALYZE on
    /// PostgreSQL).
    async fn explain_inbox(&self, q: &InboxQuery) -> Result<Vec<String>>;
    /// The baseline: the same inbox queries, `iterations` times each, inside a transaction
    /// that drops the inbox index and is rolled back (so the data is left as it was).
    async fn time_inbox_without_index(&self, queries: &[InboxQuery], iterations: usize) -> Result<Vec<Timed>>;
}

/// Rows per INSERT statement: under SQLite's 32,766 and PostgreSQL's 65,535 parameters.
const CHUNK: usize = 1000;

macro_rules! bulk_impl {
    ($name:ident, $db:ty, $pool:ty, overriding = $overriding:literal, explain = $explain:literal, plan_col = $plan_col:literal,
     prepare = [$($prepare:literal),*], finish = [$($finish:literal),*]) => {
        pub struct $name {
            pool: $pool,
        }

        impl $name {
            pub fn new(pool: $pool) -> Self {
                Self { pool }
            }
        }

        #[async_trait]
        impl BulkLoader for $name {
            async fn next_ids(&self) -> Result<(i64, i64)> {
                let a: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM accounts").fetch_one(&self.pool).await?;
                let d: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM dossiers").fetch_one(&self.pool).await?;
                Ok((a, d))
            }

            async fn counters(&self) -> Result<Vec<(i64, NaiveDate, i64)>> {
                let rows: Vec<(i64, NaiveDate, i64)> =
                    sqlx::query_as("SELECT agency_id, day, last FROM dossier_counters").fetch_all(&self.pool).await?;
                Ok(rows)
            }

            async fn insert_accounts(&self, accounts: &[SynthAccount], grants: &[SynthGrant]) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                for chunk in accounts.chunks(CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(concat!(
                        "INSERT INTO accounts (id, kind, login, display_name, phone, agency_id, status, created_at, updated_at) ",
                        $overriding
                    ));
                    q.push_values(chunk, |mut b, a| {
                        b.push_bind(a.id)
                            .push_bind(a.kind)
                            .push_bind(a.login.as_str())
                            .push_bind(a.display_name.as_str())
                            .push_bind(a.phone.as_deref())
                            .push_bind(a.agency_id)
                            .push("'active'")
                            .push_bind(a.created_at)
                            .push_bind(a.created_at);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                for chunk in grants.chunks(CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO account_roles (account_id, role, agency_id, granted_at) ");
                    q.push_values(chunk, |mut b, g| {
                        b.push_bind(g.account_id).push_bind(g.role).push_bind(g.agency_id).push_bind(g.granted_at);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn insert_dossiers(&self, dossiers: &[SynthDossier], handoffs: &[SynthHandoff]) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                $(sqlx::query($prepare).execute(&mut *tx).await?;)*
                for chunk in dossiers.chunks(CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(concat!(
                        "INSERT INTO dossiers (id, code, procedure_code, version_no, agency_id, applicant_id, acted_by_id, channel, \
                         status, answers, revision, created_at, updated_at, submitted_at, received_at, due_at, supplement_count, \
                         step_id, step_agency_id, step_role, step_started_at, step_due_at, paused_at, supplement_due_at, \
                         appointed_at, finished_at, outcome, applicant_folded) ",
                        $overriding
                    ));
                    q.push_values(chunk, |mut b, d| {
                        b.push_bind(d.id)
                            .push_bind(d.code.as_deref())
                            .push_bind(d.procedure_code.as_str())
                            .push_bind(d.version_no)
                            .push_bind(d.agency_id)
                            .push_bind(d.applicant_id)
                            .push_bind(d.acted_by_id)
                            .push_bind(d.channel)
                            .push_bind(d.status)
                            .push_bind(sqlx::types::Json(&d.answers))
                            .push_bind(d.revision)
                            .push_bind(d.created_at)
                            .push_bind(d.updated_at)
                            .push_bind(d.submitted_at)
                            .push_bind(d.received_at)
                            .push_bind(d.due_at)
                            .push_bind(d.supplement_count)
                            .push_bind(d.step_id)
                            .push_bind(d.step_agency_id)
                            .push_bind(d.step_role)
                            .push_bind(d.step_started_at)
                            .push_bind(d.step_due_at)
                            .push_bind(d.paused_at)
                            .push_bind(d.supplement_due_at)
                            .push_bind(d.appointed_at)
                            .push_bind(d.finished_at)
                            .push_bind(d.outcome)
                            .push_bind(d.applicant_folded.as_str());
                    });
                    q.build().execute(&mut *tx).await?;
                    let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO dossier_events (dossier_id, at, kind, status, detail) ");
                    q.push_values(chunk, |mut b, d| {
                        b.push_bind(d.id)
                            .push_bind(d.submitted_at.unwrap_or(d.created_at))
                            .push_bind(d.event.0)
                            .push_bind(d.event.1)
                            .push_bind(sqlx::types::Json(&d.event.2));
                    });
                    q.build().execute(&mut *tx).await?;
                }
                for chunk in handoffs.chunks(CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO dossier_handoffs (dossier_id, step_id, agency_id, role, started_at, due_at, giver_id, handler_id, \
                         ended_at, decision, timeliness) ",
                    );
                    q.push_values(chunk, |mut b, h| {
                        b.push_bind(h.dossier_id)
                            .push_bind(h.step_id)
                            .push_bind(h.agency_id)
                            .push_bind(h.role)
                            .push_bind(h.started_at)
                            .push_bind(h.due_at)
                            .push_bind(h.giver_id)
                            .push_bind(h.handler_id)
                            .push_bind(h.ended_at)
                            .push_bind(h.decision)
                            .push_bind(h.timeliness);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn finish(&self, counters: &[(i64, NaiveDate, i64)]) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                for chunk in counters.chunks(CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO dossier_counters (agency_id, day, last) ");
                    q.push_values(chunk, |mut b, c| {
                        b.push_bind(c.0).push_bind(c.1).push_bind(c.2);
                    });
                    q.push(" ON CONFLICT (agency_id, day) DO UPDATE SET last = excluded.last");
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                $(sqlx::query($finish).execute(&self.pool).await?;)*
                Ok(())
            }

            async fn explain_inbox(&self, q: &InboxQuery) -> Result<Vec<String>> {
                let mut conn = self.pool.acquire().await?;
                explain(&mut *conn, q).await
            }

            async fn time_inbox_without_index(&self, queries: &[InboxQuery], iterations: usize) -> Result<Vec<Timed>> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("DROP INDEX dossiers_inbox").execute(&mut *tx).await?;
                let mut out = vec![];
                for q in queries {
                    let plan = explain(&mut *tx, q).await?;
                    let Some(s) = crate::shared::inbox_sql(q) else {
                        out.push(Timed { latencies: vec![], rows: 0, plan });
                        continue;
                    };
                    let mut latencies = Vec::with_capacity(iterations);
                    let mut rows = 0;
                    for _ in 0..iterations {
                        let t = Instant::now();
                        let mut query = sqlx::query(&s.sql).persistent(false).bind(q.limit).bind(q.offset);
                        for b in &s.texts {
                            query = query.bind(b);
                        }
                        for t in &s.times {
                            query = query.bind(*t);
                        }
                        rows = query.fetch_all(&mut *tx).await?.len();
                        latencies.push(t.elapsed());
                    }
                    out.push(Timed { latencies, rows, plan });
                }
                tx.rollback().await?;
                Ok(out)
            }
        }

        async fn explain(conn: &mut <$db as sqlx::Database>::Connection, q: &InboxQuery) -> Result<Vec<String>> {
            use sqlx::Row;
            let Some(s) = crate::shared::inbox_sql(q) else { return Ok(vec![]) };
            let sql = format!("{} {}", $explain, s.sql);
            // Not cached: a plan prepared before the index was dropped must not be reused.
            let mut query = sqlx::query(&sql).persistent(false).bind(q.limit).bind(q.offset);
            for b in &s.texts {
                query = query.bind(b);
            }
            for t in &s.times {
                query = query.bind(*t);
            }
            let rows = query.fetch_all(&mut *conn).await?;
            rows.iter().map(|r| Ok(r.try_get::<String, _>($plan_col)?)).collect()
        }
    };
}

pub(crate) mod sqlite {
    use super::*;
    bulk_impl!(
        SqliteBulk,
        sqlx::Sqlite,
        sqlx::SqlitePool,
        overriding = "",
        explain = "EXPLAIN QUERY PLAN",
        plan_col = "detail",
        // A bigger page cache for the load (index pages of a million rows); this process only.
        prepare = ["PRAGMA cache_size = -262144"],
        finish = ["ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)"]
    );
}

pub(crate) mod postgres {
    use super::*;
    bulk_impl!(
        PgBulk,
        sqlx::Postgres,
        sqlx::PgPool,
        overriding = "OVERRIDING SYSTEM VALUE ",
        explain = "EXPLAIN (ANALYZE, BUFFERS)",
        plan_col = "QUERY PLAN",
        prepare = [],
        finish = [
            "SELECT setval(pg_get_serial_sequence('accounts', 'id'), (SELECT MAX(id) FROM accounts))",
            "SELECT setval(pg_get_serial_sequence('dossiers', 'id'), (SELECT MAX(id) FROM dossiers))",
            "VACUUM (ANALYZE) dossiers",
            "ANALYZE"
        ]
    );
}
