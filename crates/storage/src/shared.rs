//! SQL that both backends share. Both accept `$N` parameters, `RETURNING`, `ON CONFLICT` and
//! window functions, so most queries are written once; the macro instantiates them for each
//! backend's concrete connection and row types. Dialect-specific queries (full-text search)
//! live in `sqlite.rs` and `postgres.rs`.

use crate::model::InboxQuery;
use chrono::{DateTime, Utc};

pub(crate) const DOSSIER_COLS: &str = "d.id, d.code, d.procedure_code, d.version_no, d.agency_id, a.electronic_id AS agency_eid, \
    d.applicant_id, d.acted_by_id, d.channel, d.status, d.answers, d.revision, d.created_at, d.updated_at, d.submitted_at, \
    d.received_at, d.due_at, d.supplement_count, d.step_id, d.step_agency_id, d.step_role, d.step_started_at, d.step_due_at, \
    d.paused_at, d.supplement_due_at, d.appointed_at, d.delay_count, d.finished_at, d.outcome";
pub(crate) const DOSSIER_FROM: &str = "dossiers d JOIN agencies a ON a.id = d.agency_id";

/// The inbox statement: `$1` limit, `$2` offset, then `texts`, then `times`.
pub(crate) struct InboxSql {
    pub sql: String,
    pub texts: Vec<String>,
    pub times: Vec<DateTime<Utc>>,
}

/// Builds the processing inbox query (also explained and timed by the inbox benchmark, so it
/// lives outside the repositories); None when the officer has no grant.
pub(crate) fn inbox_sql(q: &InboxQuery) -> Option<InboxSql> {
    // Role names, statuses and agency ids are our own values, never raw input; the free-text
    // parts are bound.
    let grants: Vec<String> = q
        .grants
        .iter()
        .filter(|(_, agencies)| !agencies.is_empty())
        .map(|(role, agencies)| {
            let ids: Vec<String> = agencies.iter().map(i64::to_string).collect();
            format!("(d.step_role = '{}' AND d.step_agency_id IN ({}))", role.as_str(), ids.join(", "))
        })
        .collect();
    if grants.is_empty() {
        return None;
    }
    // The page is chosen first from the covering inbox index alone (joining accounts only to
    // search names), then only its rows are read and joined: an officer over many agencies
    // has thousands of candidates, and reading each in full before the sort is what costs.
    let mut sql = format!("SELECT d.id FROM dossiers d WHERE d.step_role IS NOT NULL AND ({})", grants.join(" OR "));
    if !q.statuses.is_empty() {
        let st: Vec<String> = q.statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
        sql.push_str(&format!(" AND d.status IN ({})", st.join(", ")));
    }
    let mut n = 2;
    let mut texts: Vec<String> = vec![];
    let mut times: Vec<DateTime<Utc>> = vec![];
    if let Some(p) = &q.procedure_code {
        n += 1;
        sql.push_str(&format!(" AND d.procedure_code = ${n}"));
        texts.push(p.clone());
    }
    if let Some(s) = &q.search {
        n += 2;
        // The code by prefix, the name folded (case, diacritics, đ) on both sides — the same
        // `fold` wrote `applicant_folded`, so SQLite and PostgreSQL find the same dossiers.
        sql.push_str(&format!(" AND (d.code LIKE ${} OR d.applicant_folded LIKE ${n})", n - 1));
        let escaped = s.replace('\\', "").replace(['%', '_'], "");
        texts.push(format!("{}%", escaped.trim().to_uppercase()));
        texts.push(format!("%{}%", tl_core::text::fold(&escaped)));
    }
    if let Some(t) = q.due_before {
        n += 1;
        sql.push_str(&format!(" AND d.step_due_at < ${n}"));
        times.push(t);
    }
    if let Some(t) = q.due_after {
        n += 1;
        sql.push_str(&format!(" AND d.step_due_at >= ${n}"));
        times.push(t);
    }
    sql.push_str(" ORDER BY d.step_due_at, d.id LIMIT $1 OFFSET $2");
    let sql = format!(
        "SELECT {DOSSIER_COLS}, ap.display_name AS applicant_name, ap.phone AS applicant_phone FROM {DOSSIER_FROM} \
         JOIN accounts ap ON ap.id = d.applicant_id WHERE d.id IN ({sql}) ORDER BY d.step_due_at, d.id"
    );
    Some(InboxSql { sql, texts, times })
}

/// Pushes `INSERT INTO audit_log (…) VALUES (…), …` for `entries` onto a query builder: the
/// audit log's own batch append and the token endpoint's (beside its tokens) share it.
macro_rules! push_audit_insert {
    ($q:expr, $entries:expr) => {{
        $q.push("INSERT INTO audit_log (at, actor_id, actor_label, action, target_type, target_id, detail, ip, request_id) ");
        $q.push_values($entries, |mut b, e| {
            b.push_bind(e.at)
                .push_bind(e.actor_id)
                .push_bind(e.actor_label.clone())
                .push_bind(e.action.clone())
                .push_bind(e.target_type.clone())
                .push_bind(e.target_id.clone())
                .push_bind(sqlx::types::Json(e.detail.clone()))
                .push_bind(e.ip.clone())
                .push_bind(e.request_id.clone());
        });
    }};
}
pub(crate) use push_audit_insert;

macro_rules! shared_impl {
    ($repo:ident, $db:ty, $row:ty, $conn:ty) => {
        /// A repository works on a write transaction or, for reads, a plain pooled connection.
        enum Conn {
            Tx(sqlx::Transaction<'static, $db>),
            Plain(sqlx::pool::PoolConnection<$db>),
        }

        pub struct $repo {
            conn: Conn,
            /// SQLite's write-ahead log, flushed after the commit instead of inside it (see
            /// [`crate::sqlite::WalSync`]); `None` where the commit itself is durable.
            wal: Option<std::sync::Arc<crate::sqlite::WalSync>>,
        }

        impl $repo {
            fn conn(&mut self) -> &mut $conn {
                match &mut self.conn {
                    Conn::Tx(t) => &mut *t,
                    Conn::Plain(c) => &mut *c,
                }
            }
        }

        #[async_trait]
        impl $crate::Repo for $repo {
            async fn commit(self: Box<Self>) -> Result<()> {
                if let Conn::Tx(t) = self.conn {
                    t.commit().await?;
                    if let Some(wal) = &self.wal {
                        let ticket = wal.committed();
                        wal.sync_to(ticket).await?;
                    }
                }
                Ok(())
            }

            async fn tamper_for_tests(&mut self, sql: &str) -> Result<u64> {
                Ok(sqlx::query(sql).execute(self.conn()).await?.rows_affected())
            }
        }

        use chrono::{DateTime, NaiveDate, Utc};
        use sqlx::types::Json;
        use sqlx::Row;
        use tl_core::account::{AccountKind, Role, RoleGrant};
        use tl_core::catalog::{AdminUnit, AdminUnitKind, Agency, AgencyLevel, Field, I18nText, Procedure, ProcedureVersion};
        use tl_core::catalog_doc::{CatalogDocument, Known, FORMAT};
        use $crate::model::*;
        use $crate::{
            AccountRepo, AuditRepo, CalendarRepo, CatalogRepo, DossierRepo, FileRepo, NoticeRepo, Result, ResultRepo, SessionRepo, SettingsRepo,
            StoreError,
        };

        fn i18n(vi: String, en: Option<String>) -> I18nText {
            I18nText { vi, en }
        }

        fn corrupt(what: &str, value: &str) -> StoreError {
            StoreError::Corrupt(format!("unknown {what} `{value}`"))
        }

        const AGENCY_COLS: &str = "a.id, a.electronic_id, a.name_vi, a.name_en, a.level, a.parent_id, \
            p.electronic_id AS parent_eid, a.admin_unit, a.address, a.phone, a.email, a.valid_from, a.valid_to";
        const AGENCY_FROM: &str = "agencies a LEFT JOIN agencies p ON p.id = a.parent_id";

        fn agency_row(r: &$row) -> Result<AgencyRow> {
            let level: String = r.try_get("level")?;
            Ok(AgencyRow {
                id: r.try_get("id")?,
                electronic_id: r.try_get("electronic_id")?,
                name: i18n(r.try_get("name_vi")?, r.try_get("name_en")?),
                level: AgencyLevel::parse(&level).ok_or_else(|| corrupt("agency level", &level))?,
                parent_id: r.try_get("parent_id")?,
                parent_electronic_id: r.try_get("parent_eid")?,
                admin_unit: r.try_get("admin_unit")?,
                address: r.try_get("address")?,
                phone: r.try_get("phone")?,
                email: r.try_get("email")?,
                valid_from: r.try_get("valid_from")?,
                valid_to: r.try_get("valid_to")?,
            })
        }

        const ACCOUNT_COLS: &str = "id, kind, login, display_name, email, phone, password_hash, agency_id, status, \
            failed_logins, locked_until, created_at, last_login_at";

        fn account_row(r: &$row) -> Result<Account> {
            let kind: String = r.try_get("kind")?;
            let status: String = r.try_get("status")?;
            Ok(Account {
                id: r.try_get("id")?,
                kind: AccountKind::parse(&kind).ok_or_else(|| corrupt("account kind", &kind))?,
                login: r.try_get("login")?,
                display_name: r.try_get("display_name")?,
                email: r.try_get("email")?,
                phone: r.try_get("phone")?,
                password_hash: r.try_get("password_hash")?,
                agency_id: r.try_get("agency_id")?,
                status: if status == "active" { AccountStatus::Active } else { AccountStatus::Disabled },
                failed_logins: r.try_get("failed_logins")?,
                locked_until: r.try_get("locked_until")?,
                created_at: r.try_get("created_at")?,
                last_login_at: r.try_get("last_login_at")?,
            })
        }

        fn version_row(r: &$row) -> Result<VersionRow> {
            Ok(VersionRow {
                version_no: r.try_get("version_no")?,
                effective_from: r.try_get("effective_from")?,
                effective_to: r.try_get("effective_to")?,
                name: i18n(r.try_get("name_vi")?, r.try_get("name_en")?),
                created_at: r.try_get("created_at")?,
            })
        }

        pub(crate) fn summary_row(r: &$row) -> Result<ProcedureSummary> {
            let level: String = r.try_get("level")?;
            let unit: String = r.try_get("time_unit")?;
            Ok(ProcedureSummary {
                code: r.try_get("code")?,
                version_no: r.try_get("version_no")?,
                effective_from: r.try_get("effective_from")?,
                name: i18n(r.try_get("name_vi")?, r.try_get("name_en")?),
                field_code: r.try_get("field_code")?,
                field_name: i18n(r.try_get("field_vi")?, r.try_get("field_en")?),
                level: tl_core::catalog::ServiceLevel::parse(&level).ok_or_else(|| corrupt("service level", &level))?,
                time_value: r.try_get("time_value")?,
                time_unit: serde_json::from_value(serde_json::Value::String(unit.clone())).map_err(|_| corrupt("time unit", &unit))?,
                agency_count: r.try_get("agency_count")?,
            })
        }

        /// Columns of a search result row (`v` = procedure_versions, `p` = procedures, `f` = fields).
        pub(crate) const SUMMARY_COLS: &str = "p.code, v.version_no, v.effective_from, v.name_vi, v.name_en, v.field_code, \
            f.name_vi AS field_vi, f.name_en AS field_en, v.level, v.time_value, v.time_unit, v.agency_count";

        fn unit_name(u: tl_core::catalog::TimeUnit) -> String {
            serde_json::to_value(u).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
        }

        impl $repo {
            /// Full-text search with the backend's engine; AND first, OR when nothing has every term.
            async fn search(&mut self, q: &SearchQuery) -> Result<SearchPage> {
                let per_page = q.per_page.clamp(1, 100);
                let offset = i64::from(q.page.saturating_sub(1)) * i64::from(per_page);
                let filters = "v.effective_from <= $2 AND (v.effective_to IS NULL OR v.effective_to > $2) \
                    AND (CAST($3 AS TEXT) IS NULL OR v.field_code = $3) \
                    AND (CAST($4 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM procedure_version_agencies pa \
                         JOIN agencies a ON a.id = pa.agency_id WHERE pa.version_id = v.id \
                         AND (a.electronic_id = $4 OR a.electronic_id LIKE $4 || '.%'))) \
                    AND (CAST($5 AS TEXT) IS NULL OR v.level = $5)";
                let joins = "JOIN procedures p ON p.id = v.procedure_id JOIN fields f ON f.code = v.field_code";
                let cols = format!("{SUMMARY_COLS}, COUNT(*) OVER () AS total");
                let phrase = format!(" {}", q.terms.join(" "));
                let mut relaxed = false;
                loop {
                    let (sql, expr) = if q.terms.is_empty() {
                        let sql = format!(
                            "SELECT {cols} FROM procedure_versions v {joins} WHERE CAST($1 AS TEXT) = '' \
                             AND CAST($6 AS TEXT) IS NOT NULL AND {filters} ORDER BY v.search_name, p.code LIMIT $7 OFFSET $8"
                        );
                        (sql, String::new())
                    } else {
                        (ranked_sql(&cols, joins, filters), match_expr(&q.terms, relaxed))
                    };
                    let query = |limit: i64, offset: i64| {
                        sqlx::query(&sql)
                            .bind(expr.clone())
                            .bind(q.day)
                            .bind(q.field.clone())
                            .bind(q.agency.clone())
                            .bind(q.level.map(|l| l.as_str()))
                            .bind(phrase.clone())
                            .bind(limit)
                            .bind(offset)
                    };
                    let rows = query(i64::from(per_page), offset).fetch_all(self.conn()).await?;
                    let total: i64 = match rows.first() {
                        Some(r) => r.try_get("total")?,
                        // Past the last page: the total still comes from the first row.
                        None if offset > 0 => query(1, 0).fetch_all(self.conn()).await?.first().map(|r| r.try_get("total")).transpose()?.unwrap_or(0),
                        None => 0,
                    };
                    if total == 0 && !relaxed && q.terms.len() > 1 {
                        relaxed = true;
                        continue;
                    }
                    let items = rows.iter().map(summary_row).collect::<Result<Vec<_>>>()?;
                    return Ok(SearchPage { items, total, page: q.page.max(1), per_page, relaxed });
                }
            }
        }

        #[async_trait]
        impl CatalogRepo for $repo {
            async fn upsert_field(&mut self, field: &Field) -> Result<()> {
                sqlx::query(
                    "INSERT INTO fields (code, name_vi, name_en) VALUES ($1, $2, $3) \
                     ON CONFLICT (code) DO UPDATE SET name_vi = excluded.name_vi, name_en = excluded.name_en",
                )
                .bind(&field.code)
                .bind(&field.name.vi)
                .bind(&field.name.en)
                .execute(self.conn())
                .await?;
                sqlx::query("UPDATE catalog_state SET generation = generation + 1 WHERE id = 1").execute(self.conn()).await?;
                Ok(())
            }

            async fn list_fields(&mut self, day: NaiveDate) -> Result<Vec<FieldRow>> {
                let rows = sqlx::query(
                    "SELECT f.code, f.name_vi, f.name_en, \
                       (SELECT COUNT(*) FROM procedure_versions v WHERE v.field_code = f.code \
                          AND v.effective_from <= $1 AND (v.effective_to IS NULL OR v.effective_to > $1)) AS n \
                     FROM fields f ORDER BY f.name_vi",
                )
                .bind(day)
                .fetch_all(self.conn())
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(FieldRow {
                            code: r.try_get("code")?,
                            name: i18n(r.try_get("name_vi")?, r.try_get("name_en")?),
                            procedure_count: r.try_get("n")?,
                        })
                    })
                    .collect()
            }

            async fn upsert_admin_unit(&mut self, u: &AdminUnit) -> Result<()> {
                sqlx::query(
                    "INSERT INTO admin_units (code, name_vi, name_en, kind, parent_code, valid_from, valid_to, successors) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (code) DO UPDATE SET \
                     name_vi = excluded.name_vi, name_en = excluded.name_en, kind = excluded.kind, \
                     parent_code = excluded.parent_code, valid_from = excluded.valid_from, \
                     valid_to = excluded.valid_to, successors = excluded.successors",
                )
                .bind(&u.code)
                .bind(&u.name.vi)
                .bind(&u.name.en)
                .bind(u.kind.as_str())
                .bind(&u.parent)
                .bind(u.valid_from)
                .bind(u.valid_to)
                .bind(Json(&u.successors))
                .execute(self.conn())
                .await?;
                sqlx::query("UPDATE catalog_state SET generation = generation + 1 WHERE id = 1").execute(self.conn()).await?;
                Ok(())
            }

            async fn list_admin_units(&mut self) -> Result<Vec<AdminUnit>> {
                let rows = sqlx::query(
                    "SELECT code, name_vi, name_en, kind, parent_code, valid_from, valid_to, successors \
                     FROM admin_units ORDER BY LENGTH(code), code",
                )
                .fetch_all(self.conn())
                .await?;
                rows.iter()
                    .map(|r| {
                        let kind: String = r.try_get("kind")?;
                        let successors: Json<Vec<String>> = r.try_get("successors")?;
                        Ok(AdminUnit {
                            code: r.try_get("code")?,
                            name: i18n(r.try_get("name_vi")?, r.try_get("name_en")?),
                            kind: AdminUnitKind::parse(&kind).ok_or_else(|| corrupt("unit kind", &kind))?,
                            parent: r.try_get("parent_code")?,
                            valid_from: r.try_get("valid_from")?,
                            valid_to: r.try_get("valid_to")?,
                            successors: successors.0,
                        })
                    })
                    .collect()
            }

            async fn upsert_agency(&mut self, a: &Agency) -> Result<i64> {
                let parent_id: Option<i64> = match &a.parent {
                    Some(p) => Some(
                        sqlx::query_scalar("SELECT id FROM agencies WHERE electronic_id = $1")
                            .bind(p)
                            .fetch_optional(self.conn())
                            .await?
                            .ok_or_else(|| StoreError::Conflict(format!("parent agency {p} does not exist")))?,
                    ),
                    None => None,
                };
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO agencies (electronic_id, name_vi, name_en, level, parent_id, admin_unit, address, \
                     phone, email, valid_from, valid_to, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (electronic_id) DO UPDATE SET name_vi = excluded.name_vi, name_en = excluded.name_en, \
                     level = excluded.level, parent_id = excluded.parent_id, admin_unit = excluded.admin_unit, \
                     address = excluded.address, phone = excluded.phone, email = excluded.email, \
                     valid_from = excluded.valid_from, valid_to = excluded.valid_to, updated_at = excluded.updated_at \
                     RETURNING id",
                )
                .bind(&a.electronic_id)
                .bind(&a.name.vi)
                .bind(&a.name.en)
                .bind(a.level.as_str())
                .bind(parent_id)
                .bind(&a.admin_unit)
                .bind(&a.address)
                .bind(&a.phone)
                .bind(&a.email)
                .bind(a.valid_from)
                .bind(a.valid_to)
                .bind(Utc::now())
                .fetch_one(self.conn())
                .await?;
                sqlx::query("UPDATE catalog_state SET generation = generation + 1 WHERE id = 1").execute(self.conn()).await?;
                Ok(id)
            }

            async fn list_agencies(&mut self) -> Result<Vec<AgencyRow>> {
                let sql = format!("SELECT {AGENCY_COLS} FROM {AGENCY_FROM} ORDER BY a.electronic_id");
                let rows = sqlx::query(&sql).fetch_all(self.conn()).await?;
                rows.iter().map(agency_row).collect()
            }

            async fn get_agency(&mut self, electronic_id: &str) -> Result<Option<AgencyRow>> {
                let sql = format!("SELECT {AGENCY_COLS} FROM {AGENCY_FROM} WHERE a.electronic_id = $1");
                let row = sqlx::query(&sql).bind(electronic_id).fetch_optional(self.conn()).await?;
                row.as_ref().map(agency_row).transpose()
            }

            async fn get_agency_by_id(&mut self, id: i64) -> Result<Option<AgencyRow>> {
                let sql = format!("SELECT {AGENCY_COLS} FROM {AGENCY_FROM} WHERE a.id = $1");
                let row = sqlx::query(&sql).bind(id).fetch_optional(self.conn()).await?;
                row.as_ref().map(agency_row).transpose()
            }

            async fn add_procedure_version(
                &mut self,
                code: &str,
                v: &ProcedureVersion,
                created_by: Option<i64>,
                now: DateTime<Utc>,
            ) -> Result<i64> {
                let pid: i64 = sqlx::query_scalar(
                    "INSERT INTO procedures (code, created_at) VALUES ($1, $2) \
                     ON CONFLICT (code) DO UPDATE SET code = excluded.code RETURNING id",
                )
                .bind(code)
                .bind(now)
                .fetch_one(self.conn())
                .await?;
                let clash: Option<i64> =
                    sqlx::query_scalar("SELECT version_no FROM procedure_versions WHERE procedure_id = $1 AND effective_from = $2")
                        .bind(pid)
                        .bind(v.effective_from)
                        .fetch_optional(self.conn())
                        .await?;
                if let Some(n) = clash {
                    return Err(StoreError::Conflict(format!(
                        "procedure {code} already has version {n} effective from {}",
                        v.effective_from
                    )));
                }
                let version_no: i64 =
                    sqlx::query_scalar("SELECT COALESCE(MAX(version_no), 0) + 1 FROM procedure_versions WHERE procedure_id = $1")
                        .bind(pid)
                        .fetch_one(self.conn())
                        .await?;
                // The new version ends where the next one (by date) starts; the previous one ends here.
                let next: Option<NaiveDate> = sqlx::query_scalar(
                    "SELECT MIN(effective_from) FROM procedure_versions WHERE procedure_id = $1 AND effective_from > $2",
                )
                .bind(pid)
                .bind(v.effective_from)
                .fetch_one(self.conn())
                .await?;
                sqlx::query(
                    "UPDATE procedure_versions SET effective_to = $2 WHERE procedure_id = $1 AND effective_from = \
                     (SELECT MAX(effective_from) FROM procedure_versions WHERE procedure_id = $1 AND effective_from < $2)",
                )
                .bind(pid)
                .bind(v.effective_from)
                .execute(self.conn())
                .await?;
                let field_name: String = sqlx::query_scalar("SELECT name_vi FROM fields WHERE code = $1")
                    .bind(&v.field)
                    .fetch_optional(self.conn())
                    .await?
                    .ok_or_else(|| StoreError::Conflict(format!("field {} does not exist", v.field)))?;
                let general = v
                    .time_limits
                    .iter()
                    .find(|t| t.channel.is_none())
                    .or_else(|| v.time_limits.first())
                    .ok_or_else(|| StoreError::Conflict("a version needs a time limit".into()))?;
                let vid: i64 = sqlx::query_scalar(
                    "INSERT INTO procedure_versions (procedure_id, version_no, effective_from, effective_to, name_vi, \
                     name_en, field_code, level, time_value, time_unit, agency_count, body, search_name, search_body, \
                     created_at, created_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
                )
                .bind(pid)
                .bind(version_no)
                .bind(v.effective_from)
                .bind(next)
                .bind(&v.name.vi)
                .bind(&v.name.en)
                .bind(&v.field)
                .bind(v.level.as_str())
                .bind(i64::from(general.value))
                .bind(unit_name(general.unit))
                .bind(v.agencies.len() as i64)
                .bind(Json(v))
                .bind(v.search_name())
                .bind(v.search_body(code, &field_name))
                .bind(now)
                .bind(created_by)
                .fetch_one(self.conn())
                .await?;
                for (pos, eid) in v.agencies.iter().enumerate() {
                    let done = sqlx::query(
                        "INSERT INTO procedure_version_agencies (version_id, agency_id, position) \
                         SELECT $1, id, $3 FROM agencies WHERE electronic_id = $2 ON CONFLICT DO NOTHING",
                    )
                    .bind(vid)
                    .bind(eid)
                    .bind(pos as i64)
                    .execute(self.conn())
                    .await?;
                    if done.rows_affected() == 0 {
                        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM agencies WHERE electronic_id = $1")
                            .bind(eid)
                            .fetch_optional(self.conn())
                            .await?;
                        if exists.is_none() {
                            return Err(StoreError::Conflict(format!("agency {eid} does not exist")));
                        }
                    }
                }
                sqlx::query("UPDATE catalog_state SET generation = generation + 1 WHERE id = 1").execute(self.conn()).await?;
                Ok(version_no)
            }

            async fn search_procedures(&mut self, q: &SearchQuery) -> Result<SearchPage> {
                self.search(q).await
            }

            async fn get_procedure(&mut self, code: &str, day: NaiveDate, version_no: Option<i64>) -> Result<Option<ProcedureDetail>> {
                let row = sqlx::query(
                    "SELECT v.id, v.version_no, v.effective_to, v.body, f.name_vi AS field_vi, f.name_en AS field_en \
                     FROM procedure_versions v JOIN procedures p ON p.id = v.procedure_id \
                     JOIN fields f ON f.code = v.field_code \
                     WHERE p.code = $1 AND (($3 IS NOT NULL AND v.version_no = $3) OR ($3 IS NULL AND \
                       v.effective_from <= $2 AND (v.effective_to IS NULL OR v.effective_to > $2)))",
                )
                .bind(code)
                .bind(day)
                .bind(version_no)
                .fetch_optional(self.conn())
                .await?;
                let Some(row) = row else { return Ok(None) };
                let vid: i64 = row.try_get("id")?;
                let body: Json<ProcedureVersion> = row.try_get("body")?;
                let sql = format!(
                    "SELECT {AGENCY_COLS} FROM procedure_version_agencies pa JOIN agencies a ON a.id = pa.agency_id \
                     LEFT JOIN agencies p ON p.id = a.parent_id WHERE pa.version_id = $1 ORDER BY pa.position"
                );
                let agencies = sqlx::query(&sql).bind(vid).fetch_all(self.conn()).await?;
                let agencies = agencies.iter().map(agency_row).collect::<Result<Vec<_>>>()?;
                let versions = self.list_procedure_versions(code).await?;
                Ok(Some(ProcedureDetail {
                    code: code.to_owned(),
                    version_no: row.try_get("version_no")?,
                    effective_to: row.try_get("effective_to")?,
                    version: body.0,
                    field_name: i18n(row.try_get("field_vi")?, row.try_get("field_en")?),
                    agencies,
                    versions,
                }))
            }

            async fn list_procedure_versions(&mut self, code: &str) -> Result<Vec<VersionRow>> {
                let rows = sqlx::query(
                    "SELECT v.version_no, v.effective_from, v.effective_to, v.name_vi, v.name_en, v.created_at \
                     FROM procedure_versions v JOIN procedures p ON p.id = v.procedure_id \
                     WHERE p.code = $1 ORDER BY v.effective_from",
                )
                .bind(code)
                .fetch_all(self.conn())
                .await?;
                rows.iter().map(version_row).collect()
            }

            async fn get_version_body(&mut self, code: &str, effective_from: NaiveDate) -> Result<Option<ProcedureVersion>> {
                let body: Option<Json<ProcedureVersion>> = sqlx::query_scalar(
                    "SELECT v.body FROM procedure_versions v JOIN procedures p ON p.id = v.procedure_id \
                     WHERE p.code = $1 AND v.effective_from = $2",
                )
                .bind(code)
                .bind(effective_from)
                .fetch_optional(self.conn())
                .await?;
                Ok(body.map(|b| b.0))
            }

            async fn catalog_generation(&mut self) -> Result<i64> {
                Ok(sqlx::query_scalar("SELECT generation FROM catalog_state WHERE id = 1").fetch_one(self.conn()).await?)
            }

            async fn list_current_procedures(&mut self, day: NaiveDate) -> Result<Vec<IndexedProcedure>> {
                let sql = format!(
                    "SELECT v.id, {SUMMARY_COLS}, v.search_name, v.search_body FROM procedure_versions v \
                     JOIN procedures p ON p.id = v.procedure_id JOIN fields f ON f.code = v.field_code \
                     WHERE v.effective_from <= $1 AND (v.effective_to IS NULL OR v.effective_to > $1)"
                );
                let rows = sqlx::query(&sql).bind(day).fetch_all(self.conn()).await?;
                let links = sqlx::query(
                    "SELECT pa.version_id, a.electronic_id FROM procedure_version_agencies pa \
                     JOIN procedure_versions v ON v.id = pa.version_id JOIN agencies a ON a.id = pa.agency_id \
                     WHERE v.effective_from <= $1 AND (v.effective_to IS NULL OR v.effective_to > $1) ORDER BY pa.version_id, pa.position",
                )
                .bind(day)
                .fetch_all(self.conn())
                .await?;
                let mut agencies: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
                for l in &links {
                    agencies.entry(l.try_get("version_id")?).or_default().push(l.try_get("electronic_id")?);
                }
                rows.iter()
                    .map(|r| {
                        let id: i64 = r.try_get("id")?;
                        Ok(IndexedProcedure {
                            summary: summary_row(r)?,
                            search_name: r.try_get("search_name")?,
                            search_body: r.try_get("search_body")?,
                            agencies: agencies.remove(&id).unwrap_or_default(),
                        })
                    })
                    .collect()
            }

            async fn count_procedures(&mut self) -> Result<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM procedures").fetch_one(self.conn()).await?)
            }

            async fn export_catalog(&mut self) -> Result<CatalogDocument> {
                let fields = sqlx::query("SELECT code, name_vi, name_en FROM fields ORDER BY code")
                    .fetch_all(self.conn())
                    .await?
                    .iter()
                    .map(|r| Ok(Field { code: r.try_get("code")?, name: i18n(r.try_get("name_vi")?, r.try_get("name_en")?) }))
                    .collect::<Result<Vec<_>>>()?;
                let admin_units = self.list_admin_units().await?;
                let agencies = self
                    .list_agencies()
                    .await?
                    .into_iter()
                    .map(|a| Agency {
                        electronic_id: a.electronic_id,
                        name: a.name,
                        level: a.level,
                        parent: a.parent_electronic_id,
                        admin_unit: a.admin_unit,
                        address: a.address,
                        phone: a.phone,
                        email: a.email,
                        valid_from: a.valid_from,
                        valid_to: a.valid_to,
                    })
                    .collect();
                let rows = sqlx::query(
                    "SELECT p.code, v.body FROM procedure_versions v JOIN procedures p ON p.id = v.procedure_id \
                     ORDER BY p.code, v.effective_from",
                )
                .fetch_all(self.conn())
                .await?;
                let mut procedures: Vec<Procedure> = Vec::new();
                for r in &rows {
                    let code: String = r.try_get("code")?;
                    let body: Json<ProcedureVersion> = r.try_get("body")?;
                    match procedures.last_mut() {
                        Some(p) if p.code == code => p.versions.push(body.0),
                        _ => procedures.push(Procedure { code, versions: vec![body.0] }),
                    }
                }
                Ok(CatalogDocument { format: FORMAT.into(), fields, admin_units, agencies, procedures })
            }

            async fn catalog_known(&mut self) -> Result<Known> {
                let mut known = Known::default();
                for r in sqlx::query("SELECT code FROM fields").fetch_all(self.conn()).await? {
                    known.fields.insert(r.try_get("code")?);
                }
                for r in sqlx::query("SELECT code, kind FROM admin_units").fetch_all(self.conn()).await? {
                    let kind: String = r.try_get("kind")?;
                    known.admin_units.insert(r.try_get("code")?, AdminUnitKind::parse(&kind).ok_or_else(|| corrupt("unit kind", &kind))?);
                }
                for r in sqlx::query("SELECT electronic_id FROM agencies").fetch_all(self.conn()).await? {
                    known.agencies.insert(r.try_get("electronic_id")?);
                }
                Ok(known)
            }
        }

        #[async_trait]
        impl AccountRepo for $repo {
            async fn create_account(&mut self, a: &NewAccount, now: DateTime<Utc>) -> Result<Account> {
                let sql = format!(
                    "INSERT INTO accounts (kind, login, display_name, email, phone, password_hash, agency_id, status, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $8) RETURNING {ACCOUNT_COLS}"
                );
                let row = sqlx::query(&sql)
                    .bind(a.kind.as_str())
                    .bind(&a.login)
                    .bind(&a.display_name)
                    .bind(&a.email)
                    .bind(&a.phone)
                    .bind(&a.password_hash)
                    .bind(a.agency_id)
                    .bind(now)
                    .fetch_one(self.conn())
                    .await?;
                account_row(&row)
            }

            async fn get_account(&mut self, id: i64) -> Result<Option<Account>> {
                let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = $1");
                let row = sqlx::query(&sql).bind(id).fetch_optional(self.conn()).await?;
                row.as_ref().map(account_row).transpose()
            }

            async fn find_account_by_login(&mut self, login: &str) -> Result<Option<Account>> {
                let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE login = $1");
                let row = sqlx::query(&sql).bind(login).fetch_optional(self.conn()).await?;
                row.as_ref().map(account_row).transpose()
            }

            async fn list_accounts(&mut self, f: &AccountFilter) -> Result<Vec<Account>> {
                let sql = format!(
                    "SELECT {ACCOUNT_COLS} FROM accounts WHERE (CAST($1 AS TEXT) IS NULL OR kind = $1) \
                     AND (CAST($2 AS TEXT) IS NULL OR LOWER(login) LIKE $2 OR LOWER(display_name) LIKE $2) \
                     ORDER BY id DESC LIMIT $3"
                );
                let like = f.text.as_ref().map(|t| format!("%{}%", t.to_lowercase().replace(['%', '_'], "")));
                let rows = sqlx::query(&sql)
                    .bind(f.kind.map(AccountKind::as_str))
                    .bind(like)
                    .bind(if f.limit > 0 { f.limit } else { 100 })
                    .fetch_all(self.conn())
                    .await?;
                rows.iter().map(account_row).collect()
            }

            async fn set_password_hash(&mut self, id: i64, hash: &str, now: DateTime<Utc>) -> Result<()> {
                sqlx::query("UPDATE accounts SET password_hash = $2, updated_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(hash)
                    .bind(now)
                    .execute(self.conn())
                    .await?;
                Ok(())
            }

            async fn set_account_status(&mut self, id: i64, status: AccountStatus, now: DateTime<Utc>) -> Result<()> {
                let r = sqlx::query("UPDATE accounts SET status = $2, updated_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(status.as_str())
                    .bind(now)
                    .execute(self.conn())
                    .await?;
                if r.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn record_login_failure(&mut self, id: i64, lock_until: Option<DateTime<Utc>>) -> Result<i64> {
                Ok(sqlx::query_scalar(
                    "UPDATE accounts SET failed_logins = failed_logins + 1, \
                     locked_until = COALESCE($2, locked_until) WHERE id = $1 RETURNING failed_logins",
                )
                .bind(id)
                .bind(lock_until)
                .fetch_one(self.conn())
                .await?)
            }

            async fn record_login_success(&mut self, id: i64, now: DateTime<Utc>) -> Result<()> {
                sqlx::query("UPDATE accounts SET failed_logins = 0, locked_until = NULL, last_login_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(now)
                    .execute(self.conn())
                    .await?;
                Ok(())
            }

            async fn grant_role(&mut self, account_id: i64, role: Role, agency_id: i64, by: Option<i64>, now: DateTime<Utc>) -> Result<()> {
                sqlx::query(
                    "INSERT INTO account_roles (account_id, role, agency_id, granted_at, granted_by) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .bind(account_id)
                .bind(role.as_str())
                .bind(agency_id)
                .bind(now)
                .bind(by)
                .execute(self.conn())
                .await?;
                Ok(())
            }

            async fn revoke_role(&mut self, account_id: i64, role: Role, agency_id: i64) -> Result<()> {
                sqlx::query("DELETE FROM account_roles WHERE account_id = $1 AND role = $2 AND agency_id = $3")
                    .bind(account_id)
                    .bind(role.as_str())
                    .bind(agency_id)
                    .execute(self.conn())
                    .await?;
                Ok(())
            }

            async fn roles_of(&mut self, account_id: i64) -> Result<Vec<RoleGrant>> {
                let rows = sqlx::query(
                    "SELECT r.role, a.electronic_id FROM account_roles r JOIN agencies a ON a.id = r.agency_id \
                     WHERE r.account_id = $1 ORDER BY r.role, a.electronic_id",
                )
                .bind(account_id)
                .fetch_all(self.conn())
                .await?;
                rows.iter()
                    .map(|r| {
                        let role: String = r.try_get("role")?;
                        Ok(RoleGrant {
                            role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
                            agency: r.try_get("electronic_id")?,
                        })
                    })
                    .collect()
            }

            async fn link_federated(&mut self, l: &FederatedLink) -> Result<()> {
                sqlx::query(
                    "INSERT INTO federated_identities (provider, subject, account_id, verified_at, last_login_at, claims) \
                     VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (provider, subject) DO UPDATE SET \
                     last_login_at = excluded.last_login_at, claims = excluded.claims",
                )
                .bind(&l.provider)
                .bind(&l.subject)
                .bind(l.account_id)
                .bind(l.verified_at)
                .bind(Json(&l.claims))
                .execute(self.conn())
                .await?;
                Ok(())
            }

            async fn find_federated(&mut self, provider: &str, subject: &str) -> Result<Option<Account>> {
                let sql = format!(
                    "SELECT {ACCOUNT_COLS} FROM accounts WHERE id = \
                     (SELECT account_id FROM federated_identities WHERE provider = $1 AND subject = $2)"
                );
                let row = sqlx::query(&sql).bind(provider).bind(subject).fetch_optional(self.conn()).await?;
                row.as_ref().map(account_row).transpose()
            }

            async fn list_federated(&mut self, account_id: i64) -> Result<Vec<FederatedIdentity>> {
                let rows = sqlx::query(
                    "SELECT provider, subject, verified_at, last_login_at FROM federated_identities \
                     WHERE account_id = $1 ORDER BY verified_at, id",
                )
                .bind(account_id)
                .fetch_all(self.conn())
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(FederatedIdentity {
                            provider: r.try_get("provider")?,
                            subject: r.try_get("subject")?,
                            verified_at: r.try_get("verified_at")?,
                            last_login_at: r.try_get("last_login_at")?,
                        })
                    })
                    .collect()
            }

            async fn create_api_token(&mut self, t: &NewApiToken) -> Result<i64> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO api_tokens (account_id, name, token_hash, prefix, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(t.account_id)
                .bind(&t.name)
                .bind(&t.token_hash)
                .bind(&t.prefix)
                .bind(t.created_at)
                .bind(t.expires_at)
                .fetch_one(self.conn())
                .await?)
            }

            async fn find_api_token(&mut self, hash: &str, now: DateTime<Utc>) -> Result<Option<(ApiToken, Account)>> {
                let row = sqlx::query(
                    "SELECT id, account_id, name, prefix, created_at, expires_at, last_used_at, revoked_at \
                     FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
                     AND (expires_at IS NULL OR expires_at > $2)",
                )
                .bind(hash)
                .bind(now)
                .fetch_optional(self.conn())
                .await?;
                let Some(r) = row else { return Ok(None) };
                let token = token_row(&r)?;
                let account = self.get_account(token.account_id).await?;
                Ok(account.map(|a| (token, a)))
            }

            async fn touch_api_token(&mut self, id: i64, now: DateTime<Utc>) -> Result<()> {
                sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1").bind(id).bind(now).execute(self.conn()).await?;
                Ok(())
            }

            async fn list_api_tokens(&mut self, account_id: i64) -> Result<Vec<ApiToken>> {
                let rows = sqlx::query(
                    "SELECT id, account_id, name, prefix, created_at, expires_at, last_used_at, revoked_at \
                     FROM api_tokens WHERE account_id = $1 ORDER BY id DESC",
                )
                .bind(account_id)
                .fetch_all(self.conn())
                .await?;
                rows.iter().map(token_row).collect()
            }

            async fn revoke_api_token(&mut self, account_id: i64, id: i64, now: DateTime<Utc>) -> Result<bool> {
                let r = sqlx::query("UPDATE api_tokens SET revoked_at = $3 WHERE id = $2 AND account_id = $1 AND revoked_at IS NULL")
                    .bind(account_id)
                    .bind(id)
                    .bind(now)
                    .execute(self.conn())
                    .await?;
                Ok(r.rows_affected() > 0)
            }
        }

        fn token_row(r: &$row) -> Result<ApiToken> {
            Ok(ApiToken {
                id: r.try_get("id")?,
                account_id: r.try_get("account_id")?,
                name: r.try_get("name")?,
                prefix: r.try_get("prefix")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
                last_used_at: r.try_get("last_used_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        }

        #[async_trait]
        impl SessionRepo for $repo {
            async fn create_session(&mut self, s: &NewSession) -> Result<()> {
                sqlx::query(
                    "INSERT INTO sessions (id_hash, account_id, created_at, expires_at, last_seen_at, ip, user_agent, stage, amr) \
                     VALUES ($1, $2, $3, $4, $3, $5, $6, $7, $8)",
                )
                .bind(&s.id_hash)
                .bind(s.account_id)
                .bind(s.created_at)
                .bind(s.expires_at)
                .bind(&s.ip)
                .bind(&s.user_agent)
                .bind(s.stage.as_str())
                .bind(&s.amr)
                .execute(self.conn())
                .await?;
                Ok(())
            }

            async fn get_session(&mut self, id_hash: &str, now: DateTime<Utc>) -> Result<Option<(SessionRow, Account)>> {
                let row = sqlx::query(
                    "SELECT id_hash, account_id, created_at, expires_at, last_seen_at, stage, amr FROM sessions \
                     WHERE id_hash = $1 AND expires_at > $2",
                )
                .bind(id_hash)
                .bind(now)
                .fetch_optional(self.conn())
                .await?;
                let Some(r) = row else { return Ok(None) };
                let s = SessionRow {
                    id_hash: r.try_get("id_hash")?,
                    account_id: r.try_get("account_id")?,
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                    last_seen_at: r.try_get("last_seen_at")?,
                    stage: {
                        let st: String = r.try_get("stage")?;
                        SessionStage::parse(&st).ok_or_else(|| corrupt("session stage", &st))?
                    },
                    amr: r.try_get("amr")?,
                };
                let account = self.get_account(s.account_id).await?;
                Ok(account.filter(|a| a.status == AccountStatus::Active).map(|a| (s, a)))
            }

            async fn touch_session(&mut self, id_hash: &str, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> Result<()> {
                sqlx::query("UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id_hash = $1")
                    .bind(id_hash)
                    .bind(now)
                    .bind(expires_at)
                    .execute(self.conn())
                    .await?;
                Ok(())
            }

            async fn delete_session(&mut self, id_hash: &str) -> Result<()> {
                sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(self.conn()).await?;
                Ok(())
            }

            async fn delete_sessions_of(&mut self, account_id: i64) -> Result<u64> {
                let r = sqlx::query("DELETE FROM sessions WHERE account_id = $1").bind(account_id).execute(self.conn()).await?;
                Ok(r.rows_affected())
            }

            async fn purge_expired_sessions(&mut self, now: DateTime<Utc>) -> Result<u64> {
                let r = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(self.conn()).await?;
                Ok(r.rows_affected())
            }
        }

        #[async_trait]
        impl AuditRepo for $repo {
            async fn append_audit(&mut self, e: &AuditEntry) -> Result<i64> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO audit_log (at, actor_id, actor_label, action, target_type, target_id, detail, ip, request_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(e.at)
                .bind(e.actor_id)
                .bind(&e.actor_label)
                .bind(&e.action)
                .bind(&e.target_type)
                .bind(&e.target_id)
                .bind(Json(&e.detail))
                .bind(&e.ip)
                .bind(&e.request_id)
                .fetch_one(self.conn())
                .await?)
            }

            async fn append_audits(&mut self, entries: &[AuditEntry]) -> Result<()> {
                // A few hundred parameters a statement (SQLite finds each by a linear search).
                for chunk in entries.chunks(48) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("");
                    $crate::shared::push_audit_insert!(q, chunk);
                    q.build().execute(self.conn()).await?;
                }
                Ok(())
            }

            async fn list_audit(&mut self, target_type: Option<&str>, target_id: Option<&str>, limit: i64) -> Result<Vec<AuditRow>> {
                let rows = sqlx::query(
                    "SELECT id, at, actor_id, actor_label, action, target_type, target_id, detail, ip, request_id \
                     FROM audit_log WHERE (CAST($1 AS TEXT) IS NULL OR target_type = $1) \
                     AND (CAST($2 AS TEXT) IS NULL OR target_id = $2) ORDER BY id DESC LIMIT $3",
                )
                .bind(target_type)
                .bind(target_id)
                .bind(limit)
                .fetch_all(self.conn())
                .await?;
                rows.iter()
                    .map(|r| {
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
                    })
                    .collect()
            }
        }

        use $crate::shared::{DOSSIER_COLS, DOSSIER_FROM};

        fn channel_str(c: tl_core::catalog::Channel) -> &'static str {
            match c {
                tl_core::catalog::Channel::InPerson => "in_person",
                tl_core::catalog::Channel::Online => "online",
                tl_core::catalog::Channel::Post => "post",
            }
        }

        fn dossier_row(r: &$row) -> Result<Dossier> {
            let channel: String = r.try_get("channel")?;
            let status: String = r.try_get("status")?;
            let answers: Json<serde_json::Value> = r.try_get("answers")?;
            Ok(Dossier {
                id: r.try_get("id")?,
                code: r.try_get("code")?,
                procedure_code: r.try_get("procedure_code")?,
                version_no: r.try_get("version_no")?,
                agency_id: r.try_get("agency_id")?,
                agency_electronic_id: r.try_get("agency_eid")?,
                applicant_id: r.try_get("applicant_id")?,
                acted_by_id: r.try_get("acted_by_id")?,
                channel: serde_json::from_value(serde_json::Value::String(channel.clone())).map_err(|_| corrupt("channel", &channel))?,
                status: tl_core::dossier::DossierStatus::parse(&status).ok_or_else(|| corrupt("dossier status", &status))?,
                answers: answers.0,
                revision: r.try_get("revision")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
                submitted_at: r.try_get("submitted_at")?,
                received_at: r.try_get("received_at")?,
                due_at: r.try_get("due_at")?,
                supplement_count: i64::from(r.try_get::<i32, _>("supplement_count")?),
                flow: Flow {
                    step_id: r.try_get("step_id")?,
                    step_agency_id: r.try_get("step_agency_id")?,
                    step_role: match r.try_get::<Option<String>, _>("step_role")? {
                        None => None,
                        Some(x) => Some(Role::parse(&x).ok_or_else(|| corrupt("role", &x))?),
                    },
                    step_started_at: r.try_get("step_started_at")?,
                    step_due_at: r.try_get("step_due_at")?,
                    paused_at: r.try_get("paused_at")?,
                    supplement_due_at: r.try_get("supplement_due_at")?,
                    appointed_at: r.try_get("appointed_at")?,
                    delay_count: i64::from(r.try_get::<i32, _>("delay_count")?),
                    finished_at: r.try_get("finished_at")?,
                    outcome: r.try_get("outcome")?,
                },
            })
        }

        fn inbox_row(r: &$row) -> Result<InboxItem> {
            Ok(InboxItem { dossier: dossier_row(r)?, applicant_name: r.try_get("applicant_name")?, applicant_phone: r.try_get("applicant_phone")? })
        }

        impl $repo {
            async fn dossier_event(&mut self, id: i64, at: DateTime<Utc>, kind: &str, status: tl_core::dossier::DossierStatus, actor: Option<i64>, detail: serde_json::Value) -> Result<()> {
                sqlx::query("INSERT INTO dossier_events (dossier_id, at, kind, status, actor_id, detail) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(id)
                    .bind(at)
                    .bind(kind)
                    .bind(status.as_str())
                    .bind(actor)
                    .bind(Json(detail))
                    .execute(self.conn())
                    .await?;
                Ok(())
            }
        }

        #[async_trait]
        impl DossierRepo for $repo {
            async fn backfill_applicant_names(&mut self) -> Result<u64> {
                let rows = sqlx::query(
                    "SELECT ac.id, ac.display_name FROM accounts ac WHERE ac.id IN \
                     (SELECT d.applicant_id FROM dossiers d WHERE d.applicant_folded IS NULL)",
                )
                .fetch_all(self.conn())
                .await?;
                let mut filled = 0;
                for r in &rows {
                    let id: i64 = r.try_get("id")?;
                    let name: String = r.try_get("display_name")?;
                    filled += sqlx::query("UPDATE dossiers SET applicant_folded = $1 WHERE applicant_id = $2 AND applicant_folded IS NULL")
                        .bind(tl_core::text::fold(&name))
                        .bind(id)
                        .execute(self.conn())
                        .await?
                        .rows_affected();
                }
                Ok(filled)
            }

            async fn create_dossier(&mut self, d: &NewDossier) -> Result<Dossier> {
                if let Some(key) = &d.idempotency_key {
                    let sql = format!("SELECT {DOSSIER_COLS} FROM {DOSSIER_FROM} WHERE d.applicant_id = $1 AND d.idempotency_key = $2");
                    if let Some(r) = sqlx::query(&sql).bind(d.applicant_id).bind(key).fetch_optional(self.conn()).await? {
                        return dossier_row(&r);
                    }
                }
                let name: String = sqlx::query_scalar("SELECT display_name FROM accounts WHERE id = $1")
                    .bind(d.applicant_id)
                    .fetch_optional(self.conn())
                    .await?
                    .unwrap_or_default();
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO dossiers (procedure_code, version_no, agency_id, applicant_id, acted_by_id, channel, status, answers, \
                     idempotency_key, created_at, updated_at, applicant_folded) VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $8, $9, $9, $10) RETURNING id",
                )
                .bind(&d.procedure_code)
                .bind(d.version_no)
                .bind(d.agency_id)
                .bind(d.applicant_id)
                .bind(d.acted_by_id)
                .bind(channel_str(d.channel))
                .bind(Json(&d.answers))
                .bind(&d.idempotency_key)
                .bind(d.now)
                .bind(tl_core::text::fold(&name))
                .fetch_one(self.conn())
                .await?;
                self.dossier_event(id, d.now, "created", tl_core::dossier::DossierStatus::Draft, Some(d.acted_by_id), serde_json::json!({"channel": channel_str(d.channel)})).await?;
                self.get_dossier(id).await?.ok_or(StoreError::NotFound)
            }

            async fn update_draft(&mut self, id: i64, expected_revision: i64, answers: &serde_json::Value, now: DateTime<Utc>) -> Result<Dossier> {
                let done = sqlx::query(
                    "UPDATE dossiers SET answers = $3, revision = revision + 1, updated_at = $4 \
                     WHERE id = $1 AND revision = $2 AND status IN ('draft', 'supplement_requested')",
                )
                .bind(id)
                .bind(expected_revision)
                .bind(Json(answers))
                .bind(now)
                .execute(self.conn())
                .await?;
                if done.rows_affected() == 0 {
                    return match self.get_dossier(id).await? {
                        None => Err(StoreError::NotFound),
                        Some(d) => Err(StoreError::Conflict(format!("dossier {id} is at revision {} ({})", d.revision, d.status.as_str()))),
                    };
                }
                self.get_dossier(id).await?.ok_or(StoreError::NotFound)
            }

            async fn submit_dossier(&mut self, id: i64, expected_revision: i64, day: NaiveDate, now: DateTime<Utc>) -> Result<Dossier> {
                // Compare-and-set first: only a draft at the expected revision moves on.
                let agency: Option<(i64, String)> = sqlx::query_as(
                    "UPDATE dossiers SET status = 'submitted', revision = revision + 1, updated_at = $3, submitted_at = $3 \
                     WHERE id = $1 AND revision = $2 AND status = 'draft' \
                     RETURNING agency_id, (SELECT electronic_id FROM agencies WHERE agencies.id = dossiers.agency_id)",
                )
                .bind(id)
                .bind(expected_revision)
                .bind(now)
                .fetch_optional(self.conn())
                .await?;
                let Some((agency_id, eid)) = agency else {
                    return match self.get_dossier(id).await? {
                        None => Err(StoreError::NotFound),
                        // Already filed (a retry, a double click): the same dossier, same code.
                        Some(d) if d.status != tl_core::dossier::DossierStatus::Draft => Ok(d),
                        Some(d) => Err(StoreError::Conflict(format!("dossier {id} is at revision {}", d.revision))),
                    };
                };
                let serial = self.next_dossier_serial(agency_id, day).await?;
                let agency = tl_core::ids::AgencyId::parse(&eid).map_err(|_| corrupt("agency electronic ID", &eid))?;
                let code = tl_core::dossier::DossierCode::new(&agency, day, serial as u32).to_string();
                sqlx::query("UPDATE dossiers SET code = $2 WHERE id = $1").bind(id).bind(&code).execute(self.conn()).await?;
                self.dossier_event(id, now, "submitted", tl_core::dossier::DossierStatus::Submitted, None, serde_json::json!({"code": code})).await?;
                self.get_dossier(id).await?.ok_or(StoreError::NotFound)
            }

            async fn file_new_dossiers(&mut self, batch: &[NewFiling]) -> Result<Vec<Dossier>> {
                let mut out: Vec<Option<Dossier>> = vec![None; batch.len()];
                // Retries first: a key the applicant already used gives back that dossier (filed
                // now if it was left a draft); a key used twice in the batch makes one dossier.
                let mut first_of_key: std::collections::HashMap<(i64, &str), usize> = Default::default();
                let mut same_as: Vec<(usize, usize)> = Vec::new();
                for (i, f) in batch.iter().enumerate() {
                    if let Some(key) = f.dossier.idempotency_key.as_deref() {
                        match first_of_key.entry((f.dossier.applicant_id, key)) {
                            std::collections::hash_map::Entry::Occupied(e) => same_as.push((i, *e.get())),
                            std::collections::hash_map::Entry::Vacant(e) => {
                                e.insert(i);
                            }
                        }
                    }
                }
                if !first_of_key.is_empty() {
                    let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                        "SELECT {DOSSIER_COLS}, d.idempotency_key FROM {DOSSIER_FROM} WHERE (d.applicant_id, d.idempotency_key) IN (VALUES "
                    ));
                    let mut sep = q.separated(", ");
                    for (applicant, key) in first_of_key.keys() {
                        sep.push("(").push_bind_unseparated(*applicant).push_unseparated(", ").push_bind_unseparated(key.to_string()).push_unseparated(")");
                    }
                    q.push(")");
                    let rows = q.build().fetch_all(self.conn()).await?;
                    for r in &rows {
                        let existing = dossier_row(r)?;
                        let key: String = r.try_get("idempotency_key")?;
                        let i = first_of_key[&(existing.applicant_id, key.as_str())];
                        out[i] = Some(if existing.status == tl_core::dossier::DossierStatus::Draft {
                            self.submit_dossier(existing.id, existing.revision, batch[i].day, batch[i].dossier.now).await?
                        } else {
                            existing
                        });
                    }
                }
                let duplicate: std::collections::HashSet<usize> = same_as.iter().map(|(i, _)| *i).collect();
                let fresh: Vec<usize> = (0..batch.len()).filter(|i| out[*i].is_none() && !duplicate.contains(i)).collect();
                // One counter statement per agency and day reserves the batch's serials, taken
                // in agency order (see the filer on lock order).
                let mut groups: std::collections::BTreeMap<(i64, NaiveDate), Vec<usize>> = Default::default();
                for &i in &fresh {
                    groups.entry((batch[i].dossier.agency_id, batch[i].day)).or_default().push(i);
                }
                let mut codes: Vec<Option<String>> = vec![None; batch.len()];
                for ((agency_id, day), members) in &groups {
                    let n = members.len() as i64;
                    let last: i64 = sqlx::query_scalar(
                        "INSERT INTO dossier_counters (agency_id, day, last) VALUES ($1, $2, $3) \
                         ON CONFLICT (agency_id, day) DO UPDATE SET last = dossier_counters.last + $3 RETURNING last",
                    )
                    .bind(agency_id)
                    .bind(day)
                    .bind(n)
                    .fetch_one(self.conn())
                    .await?;
                    for (k, &i) in members.iter().enumerate() {
                        let serial = last - n + 1 + k as i64;
                        codes[i] = Some(tl_core::dossier::DossierCode::new(&batch[i].agency, *day, serial as u32).to_string());
                    }
                }
                // The applicants' folded names (the inbox's name search), one statement.
                let mut names: std::collections::HashMap<i64, String> = Default::default();
                if !fresh.is_empty() {
                    let mut q = sqlx::QueryBuilder::<$db>::new("SELECT id, display_name FROM accounts WHERE id IN (");
                    let mut sep = q.separated(", ");
                    for &i in &fresh {
                        sep.push_bind(batch[i].dossier.applicant_id);
                    }
                    q.push(")");
                    for r in q.build().fetch_all(self.conn()).await? {
                        names.insert(r.try_get("id")?, tl_core::text::fold(&r.try_get::<String, _>("display_name")?));
                    }
                }
                // The rows and their events, a few hundred per statement.
                for chunk in fresh.chunks(200) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO dossiers (procedure_code, version_no, agency_id, applicant_id, acted_by_id, channel, status, answers, \
                         idempotency_key, created_at, updated_at, submitted_at, code, applicant_folded) ",
                    );
                    q.push_values(chunk, |mut b, &i| {
                        let d = &batch[i].dossier;
                        b.push_bind(d.procedure_code.clone())
                            .push_bind(d.version_no)
                            .push_bind(d.agency_id)
                            .push_bind(d.applicant_id)
                            .push_bind(d.acted_by_id)
                            .push_bind(channel_str(d.channel))
                            .push("'submitted'")
                            .push_bind(Json(d.answers.clone()))
                            .push_bind(d.idempotency_key.clone())
                            .push_bind(d.now)
                            .push_bind(d.now)
                            .push_bind(d.now)
                            .push_bind(codes[i].clone())
                            .push_bind(names.get(&d.applicant_id).cloned().unwrap_or_default());
                    });
                    q.push(" RETURNING id, code");
                    let rows = q.build().fetch_all(self.conn()).await?;
                    let ids: std::collections::HashMap<String, i64> =
                        rows.iter().map(|r| Ok((r.try_get::<String, _>("code")?, r.try_get::<i64, _>("id")?))).collect::<Result<_>>()?;
                    let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO dossier_events (dossier_id, at, kind, status, actor_id, detail) ");
                    let mut events = Vec::with_capacity(chunk.len() * 2);
                    for &i in chunk {
                        let d = &batch[i].dossier;
                        let code = codes[i].clone().expect("reserved above");
                        let id = *ids.get(&code).ok_or_else(|| corrupt("inserted dossier code", &code))?;
                        events.push((id, d.now, "created", "draft", Some(d.acted_by_id), serde_json::json!({"channel": channel_str(d.channel)})));
                        events.push((id, d.now, "submitted", "submitted", None, serde_json::json!({"code": code})));
                        out[i] = Some(Dossier {
                            id,
                            code: Some(code),
                            procedure_code: d.procedure_code.clone(),
                            version_no: d.version_no,
                            agency_id: d.agency_id,
                            agency_electronic_id: batch[i].agency.to_string(),
                            applicant_id: d.applicant_id,
                            acted_by_id: d.acted_by_id,
                            channel: d.channel,
                            status: tl_core::dossier::DossierStatus::Submitted,
                            answers: d.answers.clone(),
                            revision: 1,
                            created_at: d.now,
                            updated_at: d.now,
                            submitted_at: Some(d.now),
                            received_at: None,
                            due_at: None,
                            supplement_count: 0,
                            flow: Flow::default(),
                        });
                    }
                    q.push_values(events, |mut b, (id, at, kind, status, actor, detail)| {
                        b.push_bind(id).push_bind(at).push_bind(kind).push_bind(status).push_bind(actor).push_bind(Json(detail));
                    });
                    q.build().execute(self.conn()).await?;
                }
                for (i, j) in same_as {
                    out[i] = out[j].clone();
                }
                out.into_iter().map(|d| d.ok_or_else(|| corrupt("filing batch", "a filing got no dossier"))).collect()
            }

            async fn delete_draft(&mut self, id: i64) -> Result<bool> {
                let n = sqlx::query("SELECT COUNT(*) FROM dossiers WHERE id = $1 AND status = 'draft'").bind(id).fetch_one(self.conn()).await?;
                let n: i64 = n.try_get(0)?;
                if n == 0 {
                    return Ok(false);
                }
                sqlx::query("DELETE FROM dossier_events WHERE dossier_id = $1").bind(id).execute(self.conn()).await?;
                // Its files become orphans; the cleanup removes them with their bytes.
                sqlx::query("UPDATE files SET dossier_id = NULL WHERE dossier_id = $1").bind(id).execute(self.conn()).await?;
                sqlx::query("DELETE FROM dossiers WHERE id = $1 AND status = 'draft'").bind(id).execute(self.conn()).await?;
                Ok(true)
            }

            async fn get_dossier(&mut self, id: i64) -> Result<Option<Dossier>> {
                let sql = format!("SELECT {DOSSIER_COLS} FROM {DOSSIER_FROM} WHERE d.id = $1");
                sqlx::query(&sql).bind(id).fetch_optional(self.conn()).await?.as_ref().map(dossier_row).transpose()
            }

            async fn act_on_dossier(&mut self, a: &DossierAction) -> Result<Dossier> {
                // Status names are our own constants, never input.
                let from: Vec<String> = a.from.iter().map(|s| format!("'{}'", s.as_str())).collect();
                let sql = format!(
                    "UPDATE dossiers SET status = $3, revision = revision + 1, updated_at = $4, \
                     received_at = COALESCE($5, received_at), due_at = COALESCE($6, due_at), \
                     supplement_count = supplement_count + $7 \
                     WHERE id = $1 AND revision = $2 AND status IN ({})",
                    from.join(", ")
                );
                let done = sqlx::query(&sql)
                    .bind(a.id)
                    .bind(a.expected_revision)
                    .bind(a.to.as_str())
                    .bind(a.now)
                    .bind(a.received_at)
                    .bind(a.due_at)
                    .bind(i32::from(a.supplement))
                    .execute(self.conn())
                    .await?;
                if done.rows_affected() == 0 {
                    return match self.get_dossier(a.id).await? {
                        None => Err(StoreError::NotFound),
                        Some(d) => Err(StoreError::Conflict(format!("dossier {} is at revision {} ({})", a.id, d.revision, d.status.as_str()))),
                    };
                }
                if let Some(f) = &a.flow {
                    sqlx::query(
                        "UPDATE dossiers SET step_id = $2, step_agency_id = $3, step_role = $4, step_started_at = $5, step_due_at = $6, \
                         paused_at = $7, supplement_due_at = $8, appointed_at = $9, delay_count = $10, finished_at = $11, outcome = $12 \
                         WHERE id = $1",
                    )
                    .bind(a.id)
                    .bind(&f.step_id)
                    .bind(f.step_agency_id)
                    .bind(f.step_role.map(Role::as_str))
                    .bind(f.step_started_at)
                    .bind(f.step_due_at)
                    .bind(f.paused_at)
                    .bind(f.supplement_due_at)
                    .bind(f.appointed_at)
                    .bind(f.delay_count as i32)
                    .bind(f.finished_at)
                    .bind(&f.outcome)
                    .execute(self.conn())
                    .await?;
                }
                if let Some(HandoffClose { opened: Some(o), decision, timeliness, note }) = &a.close_handoff {
                    sqlx::query(
                        "INSERT INTO dossier_handoffs (dossier_id, step_id, agency_id, role, started_at, due_at, handler_id, ended_at, decision, timeliness, note) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    )
                    .bind(a.id)
                    .bind(&o.step_id)
                    .bind(o.agency_id)
                    .bind(o.role.as_str())
                    .bind(o.started_at)
                    .bind(o.due_at)
                    .bind(a.actor_id)
                    .bind(a.now)
                    .bind(decision)
                    .bind(timeliness.as_str())
                    .bind(note)
                    .execute(self.conn())
                    .await?;
                } else if let Some(c) = &a.close_handoff {
                    sqlx::query(
                        "UPDATE dossier_handoffs SET ended_at = $2, handler_id = $3, decision = $4, timeliness = $5, note = $6 \
                         WHERE dossier_id = $1 AND ended_at IS NULL",
                    )
                    .bind(a.id)
                    .bind(a.now)
                    .bind(a.actor_id)
                    .bind(&c.decision)
                    .bind(c.timeliness.as_str())
                    .bind(&c.note)
                    .execute(self.conn())
                    .await?;
                }
                if let Some(due) = a.handoff_due {
                    sqlx::query("UPDATE dossier_handoffs SET due_at = $2 WHERE dossier_id = $1 AND ended_at IS NULL")
                        .bind(a.id)
                        .bind(due)
                        .execute(self.conn())
                        .await?;
                }
                if a.open_handoff {
                    let f = a.flow.as_ref().ok_or_else(|| corrupt("hand-off", "a new step without a flow"))?;
                    let (Some(step), Some(agency), Some(role), Some(started)) = (&f.step_id, f.step_agency_id, f.step_role, f.step_started_at)
                    else {
                        return Err(corrupt("hand-off", "a new step without step, agency, role and start"));
                    };
                    sqlx::query(
                        "INSERT INTO dossier_handoffs (dossier_id, step_id, agency_id, role, started_at, due_at, giver_id) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(a.id)
                    .bind(step)
                    .bind(agency)
                    .bind(role.as_str())
                    .bind(started)
                    .bind(f.step_due_at)
                    .bind(a.actor_id)
                    .execute(self.conn())
                    .await?;
                }
                self.dossier_event(a.id, a.now, &a.kind, a.to, a.actor_id, a.detail.clone()).await?;
                self.get_dossier(a.id).await?.ok_or(StoreError::NotFound)
            }

            async fn list_handoffs(&mut self, dossier_id: i64) -> Result<Vec<Handoff>> {
                let rows = sqlx::query(
                    "SELECT h.id, h.step_id, h.agency_id, ag.name_vi AS agency_name, h.role, h.started_at, h.due_at, h.giver_id, \
                     g.display_name AS giver_name, h.handler_id, hd.display_name AS handler_name, h.ended_at, h.decision, h.timeliness, h.note \
                     FROM dossier_handoffs h JOIN agencies ag ON ag.id = h.agency_id \
                     LEFT JOIN accounts g ON g.id = h.giver_id LEFT JOIN accounts hd ON hd.id = h.handler_id \
                     WHERE h.dossier_id = $1 ORDER BY h.id",
                )
                .bind(dossier_id)
                .fetch_all(self.conn())
                .await?;
                rows.iter()
                    .map(|r| {
                        let role: String = r.try_get("role")?;
                        let timeliness: Option<String> = r.try_get("timeliness")?;
                        Ok(Handoff {
                            id: r.try_get("id")?,
                            step_id: r.try_get("step_id")?,
                            agency_id: r.try_get("agency_id")?,
                            agency_name: r.try_get("agency_name")?,
                            role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
                            started_at: r.try_get("started_at")?,
                            due_at: r.try_get("due_at")?,
                            giver_id: r.try_get("giver_id")?,
                            giver_name: r.try_get("giver_name")?,
                            handler_id: r.try_get("handler_id")?,
                            handler_name: r.try_get("handler_name")?,
                            ended_at: r.try_get("ended_at")?,
                            decision: r.try_get("decision")?,
                            timeliness: match timeliness {
                                None => None,
                                Some(t) => Some(tl_core::process::Timeliness::parse(&t).ok_or_else(|| corrupt("timeliness", &t))?),
                            },
                            note: r.try_get("note")?,
                        })
                    })
                    .collect()
            }

            async fn list_inbox(&mut self, q: &InboxQuery) -> Result<Vec<InboxItem>> {
                let Some(s) = $crate::shared::inbox_sql(q) else { return Ok(vec![]) };
                let mut query = sqlx::query(&s.sql).bind(q.limit).bind(q.offset);
                for b in &s.texts {
                    query = query.bind(b);
                }
                for t in &s.times {
                    query = query.bind(*t);
                }
                let rows = query.fetch_all(self.conn()).await?;
                rows.iter().map(inbox_row).collect()
            }

            async fn list_register(&mut self, agency_ids: &[i64], from: DateTime<Utc>, to: DateTime<Utc>, limit: i64) -> Result<Vec<InboxItem>> {
                if agency_ids.is_empty() {
                    return Ok(vec![]);
                }
                let ids: Vec<String> = agency_ids.iter().map(i64::to_string).collect();
                let sql = format!(
                    "SELECT {DOSSIER_COLS}, ap.display_name AS applicant_name, ap.phone AS applicant_phone FROM {DOSSIER_FROM} \
                     JOIN accounts ap ON ap.id = d.applicant_id \
                     WHERE d.agency_id IN ({}) AND d.submitted_at >= $1 AND d.submitted_at < $2 ORDER BY d.submitted_at, d.id LIMIT $3",
                    ids.join(", ")
                );
                let rows = sqlx::query(&sql).bind(from).bind(to).bind(limit).fetch_all(self.conn()).await?;
                rows.iter().map(inbox_row).collect()
            }

            async fn list_unalerted_filings(&mut self, before: DateTime<Utc>, limit: i64) -> Result<Vec<Dossier>> {
                let sql = format!(
                    "SELECT {DOSSIER_COLS} FROM {DOSSIER_FROM} WHERE d.status = 'submitted' AND d.channel = 'online' AND d.submitted_at < $1 \
                     AND NOT EXISTS (SELECT 1 FROM dossier_events e WHERE e.dossier_id = d.id AND e.kind = 'reception_alert') \
                     ORDER BY d.submitted_at LIMIT $2"
                );
                let rows = sqlx::query(&sql).bind(before).bind(limit).fetch_all(self.conn()).await?;
                rows.iter().map(dossier_row).collect()
            }

            async fn mark_reception_alerted(&mut self, dossier_id: i64, now: DateTime<Utc>) -> Result<()> {
                self.dossier_event(dossier_id, now, "reception_alert", tl_core::dossier::DossierStatus::Submitted, None, serde_json::json!({})).await
            }

            async fn officers_with_role(&mut self, role: Role, agency_ids: &[i64]) -> Result<Vec<Account>> {
                if agency_ids.is_empty() {
                    return Ok(vec![]);
                }
                let ids: Vec<String> = agency_ids.iter().map(i64::to_string).collect();
                let cols: Vec<String> = ACCOUNT_COLS.split(',').map(|c| format!("a.{}", c.trim())).collect();
                let sql = format!(
                    "SELECT DISTINCT {} FROM accounts a JOIN account_roles r ON r.account_id = a.id \
                     WHERE r.role = $1 AND r.agency_id IN ({}) AND a.status = 'active' AND a.kind = 'officer' ORDER BY a.id",
                    cols.join(", "),
                    ids.join(", ")
                );
                let rows = sqlx::query(&sql).bind(role.as_str()).fetch_all(self.conn()).await?;
                rows.iter().map(account_row).collect()
            }

            async fn list_expired_supplements(&mut self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Dossier>> {
                let sql = format!(
                    "SELECT {DOSSIER_COLS} FROM {DOSSIER_FROM} WHERE d.status = 'supplement_requested' AND d.supplement_due_at < $1 \
                     ORDER BY d.supplement_due_at LIMIT $2"
                );
                let rows = sqlx::query(&sql).bind(now).bind(limit).fetch_all(self.conn()).await?;
                rows.iter().map(dossier_row).collect()
            }

            async fn list_queue(&mut self, agency_ids: &[i64], statuses: &[tl_core::dossier::DossierStatus], limit: i64) -> Result<Vec<Dossier>> {
                if agency_ids.is_empty() || statuses.is_empty() {
                    return Ok(vec![]);
                }
                let agencies: Vec<String> = agency_ids.iter().map(i64::to_string).collect();
                let statuses: Vec<String> = statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
                let sql = format!(
                    "SELECT {DOSSIER_COLS} FROM {DOSSIER_FROM} WHERE d.status IN ({}) AND d.agency_id IN ({}) \
                     ORDER BY d.submitted_at, d.id LIMIT $1",
                    statuses.join(", "),
                    agencies.join(", ")
                );
                let rows = sqlx::query(&sql).bind(limit).fetch_all(self.conn()).await?;
                rows.iter().map(dossier_row).collect()
            }

            async fn find_dossier_by_key(&mut self, applicant_id: i64, key: &str) -> Result<Option<Dossier>> {
                let sql = format!("SELECT {DOSSIER_COLS} FROM {DOSSIER_FROM} WHERE d.applicant_id = $1 AND d.idempotency_key = $2");
                sqlx::query(&sql).bind(applicant_id).bind(key).fetch_optional(self.conn()).await?.as_ref().map(dossier_row).transpose()
            }

            async fn get_dossier_by_code(&mut self, code: &str) -> Result<Option<Dossier>> {
                let sql = format!("SELECT {DOSSIER_COLS} FROM {DOSSIER_FROM} WHERE d.code = $1");
                sqlx::query(&sql).bind(code).fetch_optional(self.conn()).await?.as_ref().map(dossier_row).transpose()
            }

            async fn list_dossiers_of(&mut self, applicant_id: i64, limit: i64) -> Result<Vec<Dossier>> {
                let sql = format!("SELECT {DOSSIER_COLS} FROM {DOSSIER_FROM} WHERE d.applicant_id = $1 ORDER BY d.updated_at DESC, d.id DESC LIMIT $2");
                let rows = sqlx::query(&sql).bind(applicant_id).bind(limit).fetch_all(self.conn()).await?;
                rows.iter().map(dossier_row).collect()
            }

            async fn list_dossiers_acted_by(&mut self, officer_id: i64, limit: i64) -> Result<Vec<Dossier>> {
                let sql = format!(
                    "SELECT {DOSSIER_COLS} FROM {DOSSIER_FROM} WHERE d.acted_by_id = $1 AND d.applicant_id <> $1 ORDER BY d.updated_at DESC, d.id DESC LIMIT $2"
                );
                let rows = sqlx::query(&sql).bind(officer_id).bind(limit).fetch_all(self.conn()).await?;
                rows.iter().map(dossier_row).collect()
            }

            async fn list_dossier_events(&mut self, dossier_id: i64) -> Result<Vec<DossierEvent>> {
                let rows = sqlx::query("SELECT id, at, kind, status, actor_id, detail FROM dossier_events WHERE dossier_id = $1 ORDER BY id")
                    .bind(dossier_id)
                    .fetch_all(self.conn())
                    .await?;
                rows.iter()
                    .map(|r| {
                        let status: String = r.try_get("status")?;
                        let detail: Json<serde_json::Value> = r.try_get("detail")?;
                        Ok(DossierEvent {
                            id: r.try_get("id")?,
                            at: r.try_get("at")?,
                            kind: r.try_get("kind")?,
                            status: tl_core::dossier::DossierStatus::parse(&status).ok_or_else(|| corrupt("dossier status", &status))?,
                            actor_id: r.try_get("actor_id")?,
                            detail: detail.0,
                        })
                    })
                    .collect()
            }

            async fn next_dossier_serial(&mut self, agency_id: i64, day: NaiveDate) -> Result<i64> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO dossier_counters (agency_id, day, last) VALUES ($1, $2, 1) \
                     ON CONFLICT (agency_id, day) DO UPDATE SET last = dossier_counters.last + 1 RETURNING last",
                )
                .bind(agency_id)
                .bind(day)
                .fetch_one(self.conn())
                .await?)
            }

            async fn count_dossier_events(
                &mut self,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
                procedure_code: Option<&str>,
                actor_id: Option<i64>,
                role: Option<Role>,
            ) -> Result<Vec<(String, i64)>> {
                let mut sql = String::from(
                    "SELECT e.kind, COUNT(*) AS n FROM dossier_events e JOIN dossiers d ON d.id = e.dossier_id \
                     WHERE e.at >= $1 AND e.at < $2",
                );
                let mut n = 2;
                if procedure_code.is_some() {
                    n += 1;
                    sql.push_str(&format!(" AND d.procedure_code = ${n}"));
                }
                if actor_id.is_some() {
                    n += 1;
                    sql.push_str(&format!(" AND e.actor_id = ${n}"));
                }
                if role.is_some() {
                    n += 1;
                    sql.push_str(&format!(" AND EXISTS (SELECT 1 FROM account_roles r WHERE r.account_id = e.actor_id AND r.role = ${n})"));
                }
                sql.push_str(" GROUP BY e.kind ORDER BY e.kind");
                let mut query = sqlx::query(&sql).bind(from).bind(to);
                if let Some(p) = procedure_code {
                    query = query.bind(p);
                }
                if let Some(a) = actor_id {
                    query = query.bind(a);
                }
                if let Some(r) = role {
                    query = query.bind(r.as_str());
                }
                let rows = query.fetch_all(self.conn()).await?;
                rows.iter().map(|r| Ok((r.try_get("kind")?, r.try_get("n")?))).collect()
            }
        }

        const FILE_COLS: &str = "id, owner_id, dossier_id, field, component, name, content_type, size, sha256, storage_key, created_at, digitised";

        fn file_row(r: &$row) -> Result<StoredFile> {
            Ok(StoredFile {
                id: r.try_get("id")?,
                owner_id: r.try_get("owner_id")?,
                dossier_id: r.try_get("dossier_id")?,
                field: r.try_get("field")?,
                component: r.try_get("component")?,
                name: r.try_get("name")?,
                content_type: r.try_get("content_type")?,
                size: r.try_get("size")?,
                sha256: r.try_get("sha256")?,
                storage_key: r.try_get("storage_key")?,
                created_at: r.try_get("created_at")?,
                digitised: r.try_get("digitised")?,
            })
        }

        #[async_trait]
        impl FileRepo for $repo {
            async fn insert_file(&mut self, f: &StoredFile) -> Result<()> {
                sqlx::query(
                    "INSERT INTO files (id, owner_id, dossier_id, field, component, name, content_type, size, sha256, storage_key, created_at, digitised) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(&f.id)
                .bind(f.owner_id)
                .bind(f.dossier_id)
                .bind(&f.field)
                .bind(&f.component)
                .bind(&f.name)
                .bind(&f.content_type)
                .bind(f.size)
                .bind(&f.sha256)
                .bind(&f.storage_key)
                .bind(f.created_at)
                .bind(f.digitised)
                .execute(self.conn())
                .await?;
                Ok(())
            }

            async fn bind_file(&mut self, id: &str, owner_id: i64, dossier_id: i64, field: &str, component: &str) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE files SET dossier_id = $3, field = $4, component = $5 \
                     WHERE id = $1 AND owner_id = $2 AND (dossier_id IS NULL OR dossier_id = $3)",
                )
                .bind(id)
                .bind(owner_id)
                .bind(dossier_id)
                .bind(field)
                .bind(component)
                .execute(self.conn())
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn get_file(&mut self, id: &str) -> Result<Option<StoredFile>> {
                let sql = format!("SELECT {FILE_COLS} FROM files WHERE id = $1");
                sqlx::query(&sql).bind(id).fetch_optional(self.conn()).await?.as_ref().map(file_row).transpose()
            }

            async fn list_dossier_files(&mut self, dossier_id: i64) -> Result<Vec<StoredFile>> {
                let sql = format!("SELECT {FILE_COLS} FROM files WHERE dossier_id = $1 ORDER BY created_at, id");
                sqlx::query(&sql).bind(dossier_id).fetch_all(self.conn()).await?.iter().map(file_row).collect()
            }

            async fn dossier_files_size(&mut self, dossier_id: i64) -> Result<i64> {
                Ok(sqlx::query_scalar("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM files WHERE dossier_id = $1").bind(dossier_id).fetch_one(self.conn()).await?)
            }

            async fn delete_file(&mut self, id: &str) -> Result<bool> {
                Ok(sqlx::query("DELETE FROM files WHERE id = $1").bind(id).execute(self.conn()).await?.rows_affected() > 0)
            }

            async fn stale_files(&mut self, before: DateTime<Utc>, limit: i64) -> Result<Vec<StoredFile>> {
                let sql = format!(
                    "SELECT {FILE_COLS} FROM files f WHERE f.created_at < $1 AND (f.dossier_id IS NULL OR \
                     EXISTS (SELECT 1 FROM dossiers d WHERE d.id = f.dossier_id AND d.status = 'draft')) ORDER BY f.created_at LIMIT $2"
                );
                sqlx::query(&sql).bind(before).bind(limit).fetch_all(self.conn()).await?.iter().map(file_row).collect()
            }
        }

        #[async_trait]
        impl SettingsRepo for $repo {
            async fn get_setting(&mut self, key: &str) -> Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(self.conn()).await?)
            }

            async fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
                sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                    .bind(key)
                    .bind(value)
                    .execute(self.conn())
                    .await?;
                Ok(())
            }
        }

        impl $repo {
            async fn bump_calendar_generation(&mut self) -> Result<()> {
                sqlx::query("UPDATE settings SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) WHERE key = 'calendar_generation'")
                    .execute(self.conn())
                    .await?;
                Ok(())
            }
        }

        const RESULT_COLS: &str = "id, dossier_id, kind, number, title, storage_key, size, sha256, signer_id, signer_name, agency_name, \
            cert_serial, signed_at, revoked_at, revoked_reason";

        fn result_row(r: &$row) -> Result<IssuedResult> {
            Ok(IssuedResult {
                id: r.try_get("id")?,
                dossier_id: r.try_get("dossier_id")?,
                kind: r.try_get("kind")?,
                number: r.try_get("number")?,
                title: r.try_get("title")?,
                storage_key: r.try_get("storage_key")?,
                size: r.try_get("size")?,
                sha256: r.try_get("sha256")?,
                signer_id: r.try_get("signer_id")?,
                signer_name: r.try_get("signer_name")?,
                agency_name: r.try_get("agency_name")?,
                cert_serial: r.try_get("cert_serial")?,
                signed_at: r.try_get("signed_at")?,
                revoked_at: r.try_get("revoked_at")?,
                revoked_reason: r.try_get("revoked_reason")?,
            })
        }

        #[async_trait]
        impl ResultRepo for $repo {
            async fn list_signing_cas(&mut self) -> Result<Vec<SigningCa>> {
                let rows = sqlx::query("SELECT id, cert_der, sealed_key, created_at, retired_at FROM signing_cas ORDER BY id DESC")
                    .fetch_all(self.conn())
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(SigningCa {
                            id: r.try_get("id")?,
                            cert_der: r.try_get("cert_der")?,
                            sealed_key: r.try_get("sealed_key")?,
                            created_at: r.try_get("created_at")?,
                            retired_at: r.try_get("retired_at")?,
                        })
                    })
                    .collect()
            }

            async fn add_signing_ca(&mut self, cert_der: &[u8], sealed_key: Option<&[u8]>, now: DateTime<Utc>) -> Result<i64> {
                let r = sqlx::query("INSERT INTO signing_cas (cert_der, sealed_key, created_at) VALUES ($1, $2, $3) RETURNING id")
                    .bind(cert_der)
                    .bind(sealed_key)
                    .bind(now)
                    .fetch_one(self.conn())
                    .await?;
                Ok(r.try_get(0)?)
            }

            async fn retire_signing_cas(&mut self, keep: i64, now: DateTime<Utc>) -> Result<()> {
                sqlx::query("UPDATE signing_cas SET retired_at = $2 WHERE id <> $1 AND retired_at IS NULL")
                    .bind(keep)
                    .bind(now)
                    .execute(self.conn())
                    .await?;
                Ok(())
            }

            async fn current_credential(&mut self, account_id: i64) -> Result<Option<SigningCredential>> {
                let r = sqlx::query(
                    "SELECT id, account_id, ca_id, cert_der, sealed_key, not_after, created_at FROM signing_credentials \
                     WHERE account_id = $1 AND revoked_at IS NULL ORDER BY id DESC LIMIT 1",
                )
                .bind(account_id)
                .fetch_optional(self.conn())
                .await?;
                r.map(|r| {
                    Ok(SigningCredential {
                        id: r.try_get("id")?,
                        account_id: r.try_get("account_id")?,
                        ca_id: r.try_get("ca_id")?,
                        cert_der: r.try_get("cert_der")?,
                        sealed_key: r.try_get("sealed_key")?,
                        not_after: r.try_get("not_after")?,
                        created_at: r.try_get("created_at")?,
                    })
                })
                .transpose()
            }

            async fn add_credential(&mut self, c: &SigningCredential) -> Result<i64> {
                let r = sqlx::query(
                    "INSERT INTO signing_credentials (account_id, ca_id, cert_der, sealed_key, not_after, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(c.account_id)
                .bind(c.ca_id)
                .bind(&c.cert_der)
                .bind(&c.sealed_key)
                .bind(c.not_after)
                .bind(c.created_at)
                .fetch_one(self.conn())
                .await?;
                Ok(r.try_get(0)?)
            }

            async fn insert_result(&mut self, x: &IssuedResult) -> Result<()> {
                sqlx::query(
                    "INSERT INTO results (id, dossier_id, kind, number, title, storage_key, size, sha256, signer_id, signer_name, agency_name, \
                     cert_serial, signed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(&x.id)
                .bind(x.dossier_id)
                .bind(&x.kind)
                .bind(&x.number)
                .bind(&x.title)
                .bind(&x.storage_key)
                .bind(x.size)
                .bind(&x.sha256)
                .bind(x.signer_id)
                .bind(&x.signer_name)
                .bind(&x.agency_name)
                .bind(&x.cert_serial)
                .bind(x.signed_at)
                .execute(self.conn())
                .await?;
                Ok(())
            }

            async fn get_result(&mut self, id: &str) -> Result<Option<IssuedResult>> {
                let sql = format!("SELECT {RESULT_COLS} FROM results WHERE id = $1");
                sqlx::query(&sql).bind(id).fetch_optional(self.conn()).await?.as_ref().map(result_row).transpose()
            }

            async fn find_result_by_sha256(&mut self, sha256: &str) -> Result<Option<IssuedResult>> {
                let sql = format!("SELECT {RESULT_COLS} FROM results WHERE sha256 = $1");
                sqlx::query(&sql).bind(sha256).fetch_optional(self.conn()).await?.as_ref().map(result_row).transpose()
            }

            async fn list_results_of(&mut self, dossier_id: i64) -> Result<Vec<IssuedResult>> {
                let sql = format!("SELECT {RESULT_COLS} FROM results WHERE dossier_id = $1 ORDER BY signed_at");
                sqlx::query(&sql).bind(dossier_id).fetch_all(self.conn()).await?.iter().map(result_row).collect()
            }

            async fn list_results_of_applicant(&mut self, account_id: i64, limit: i64) -> Result<Vec<IssuedResult>> {
                let sql = format!(
                    "SELECT {} FROM results r JOIN dossiers d ON d.id = r.dossier_id WHERE d.applicant_id = $1 ORDER BY r.signed_at DESC LIMIT $2",
                    RESULT_COLS.split(", ").map(|c| format!("r.{}", c.trim())).collect::<Vec<_>>().join(", ")
                );
                sqlx::query(&sql).bind(account_id).bind(limit).fetch_all(self.conn()).await?.iter().map(result_row).collect()
            }

            async fn revoke_result(&mut self, id: &str, reason: &str, now: DateTime<Utc>) -> Result<bool> {
                let done = sqlx::query("UPDATE results SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(id)
                    .bind(now)
                    .bind(reason)
                    .execute(self.conn())
                    .await?;
                Ok(done.rows_affected() > 0)
            }
        }

        #[async_trait]
        impl NoticeRepo for $repo {
            async fn notify(&mut self, n: &NewNotice) -> Result<()> {
                sqlx::query(
                    "INSERT INTO notifications (account_id, dossier_id, kind, title_vi, title_en, body_vi, body_en, link, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(n.account_id)
                .bind(n.dossier_id)
                .bind(&n.kind)
                .bind(&n.title_vi)
                .bind(&n.title_en)
                .bind(&n.body_vi)
                .bind(&n.body_en)
                .bind(&n.link)
                .bind(n.now)
                .execute(self.conn())
                .await?;
                if let Some(to) = &n.email {
                    // Vietnamese first, English below: one mail serves both readers.
                    let text = format!("{}\n\n{}\n\n---\n{}\n\n{}\n", n.title_vi, n.body_vi, n.title_en, n.body_en);
                    sqlx::query("INSERT INTO outbox (to_addr, subject, text_body, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $4)")
                        .bind(to)
                        .bind(&n.title_vi)
                        .bind(text)
                        .bind(n.now)
                        .execute(self.conn())
                        .await?;
                }
                Ok(())
            }

            async fn list_notifications(&mut self, account_id: i64, limit: i64) -> Result<Vec<Notification>> {
                let rows = sqlx::query(
                    "SELECT id, account_id, dossier_id, kind, title_vi, title_en, body_vi, body_en, link, created_at, read_at \
                     FROM notifications WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(account_id)
                .bind(limit)
                .fetch_all(self.conn())
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(Notification {
                            id: r.try_get("id")?,
                            account_id: r.try_get("account_id")?,
                            dossier_id: r.try_get("dossier_id")?,
                            kind: r.try_get("kind")?,
                            title_vi: r.try_get("title_vi")?,
                            title_en: r.try_get("title_en")?,
                            body_vi: r.try_get("body_vi")?,
                            body_en: r.try_get("body_en")?,
                            link: r.try_get("link")?,
                            created_at: r.try_get("created_at")?,
                            read_at: r.try_get("read_at")?,
                        })
                    })
                    .collect()
            }

            async fn mark_notifications_read(&mut self, account_id: i64, now: DateTime<Utc>) -> Result<()> {
                sqlx::query("UPDATE notifications SET read_at = $2 WHERE account_id = $1 AND read_at IS NULL")
                    .bind(account_id)
                    .bind(now)
                    .execute(self.conn())
                    .await?;
                Ok(())
            }

            async fn claim_outbox(&mut self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: i64) -> Result<Vec<OutboxRow>> {
                // Moving next_attempt_at forward is the lease: another worker skips the rows until
                // it passes, so a crash between sending and recording only delays a retry.
                let rows = sqlx::query(
                    "UPDATE outbox SET next_attempt_at = $2 WHERE id IN \
                     (SELECT id FROM outbox WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3) \
                     AND next_attempt_at <= $1 RETURNING id, to_addr, subject, text_body, html_body, attempts",
                )
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(self.conn())
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(OutboxRow {
                            id: r.try_get("id")?,
                            to_addr: r.try_get("to_addr")?,
                            subject: r.try_get("subject")?,
                            text_body: r.try_get("text_body")?,
                            html_body: r.try_get("html_body")?,
                            attempts: i64::from(r.try_get::<i32, _>("attempts")?),
                        })
                    })
                    .collect()
            }

            async fn outbox_sent(&mut self, id: i64, at: DateTime<Utc>) -> Result<()> {
                sqlx::query("UPDATE outbox SET sent_at = $2, next_attempt_at = NULL, attempts = attempts + 1, last_error = NULL WHERE id = $1")
                    .bind(id)
                    .bind(at)
                    .execute(self.conn())
                    .await?;
                Ok(())
            }

            async fn outbox_failed(&mut self, id: i64, attempts: i64, next: Option<DateTime<Utc>>, error: &str) -> Result<()> {
                sqlx::query("UPDATE outbox SET attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $1")
                    .bind(id)
                    .bind(attempts as i32)
                    .bind(next)
                    .bind(error.chars().take(500).collect::<String>())
                    .execute(self.conn())
                    .await?;
                Ok(())
            }
        }

        #[async_trait]
        impl CalendarRepo for $repo {
            async fn list_calendar_days(&mut self, from: NaiveDate, to: NaiveDate) -> Result<Vec<CalendarDay>> {
                let rows = sqlx::query(
                    "SELECT day, kind, name, confirmed_by, confirmed_at FROM calendar_days WHERE day >= $1 AND day <= $2 ORDER BY day",
                )
                .bind(from)
                .bind(to)
                .fetch_all(self.conn())
                .await?;
                rows.iter()
                    .map(|r| {
                        let kind: String = r.try_get("kind")?;
                        Ok(CalendarDay {
                            day: r.try_get("day")?,
                            kind: serde_json::from_value(serde_json::Value::String(kind.clone())).map_err(|_| corrupt("calendar day kind", &kind))?,
                            name: r.try_get("name")?,
                            confirmed_by: r.try_get("confirmed_by")?,
                            confirmed_at: r.try_get("confirmed_at")?,
                        })
                    })
                    .collect()
            }

            async fn set_calendar_day(&mut self, d: &CalendarDay) -> Result<()> {
                let kind = serde_json::to_value(d.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                sqlx::query(
                    "INSERT INTO calendar_days (day, kind, name, confirmed_by, confirmed_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name, \
                     confirmed_by = excluded.confirmed_by, confirmed_at = excluded.confirmed_at",
                )
                .bind(d.day)
                .bind(kind)
                .bind(&d.name)
                .bind(d.confirmed_by)
                .bind(d.confirmed_at)
                .execute(self.conn())
                .await?;
                self.bump_calendar_generation().await
            }

            async fn delete_calendar_day(&mut self, day: NaiveDate) -> Result<bool> {
                let done = sqlx::query("DELETE FROM calendar_days WHERE day = $1").bind(day).execute(self.conn()).await?;
                if done.rows_affected() > 0 {
                    self.bump_calendar_generation().await?;
                }
                Ok(done.rows_affected() > 0)
            }

            async fn list_office_hours(&mut self) -> Result<Vec<(i64, String)>> {
                let rows = sqlx::query("SELECT agency_id, periods FROM office_hours ORDER BY agency_id").fetch_all(self.conn()).await?;
                rows.iter().map(|r| Ok((r.try_get("agency_id")?, r.try_get("periods")?))).collect()
            }

            async fn set_office_hours(&mut self, agency_id: i64, periods: Option<&str>, now: DateTime<Utc>) -> Result<()> {
                match periods {
                    Some(p) => {
                        sqlx::query(
                            "INSERT INTO office_hours (agency_id, periods, updated_at) VALUES ($1, $2, $3) \
                             ON CONFLICT (agency_id) DO UPDATE SET periods = excluded.periods, updated_at = excluded.updated_at",
                        )
                        .bind(agency_id)
                        .bind(p)
                        .bind(now)
                        .execute(self.conn())
                        .await?;
                    }
                    None => {
                        sqlx::query("DELETE FROM office_hours WHERE agency_id = $1").bind(agency_id).execute(self.conn()).await?;
                    }
                }
                self.bump_calendar_generation().await
            }

            async fn calendar_generation(&mut self) -> Result<i64> {
                let v: Option<String> =
                    sqlx::query_scalar("SELECT value FROM settings WHERE key = 'calendar_generation'").fetch_optional(self.conn()).await?;
                Ok(v.and_then(|s| s.parse().ok()).unwrap_or(0))
            }
        }
    };
}

pub(crate) use shared_impl;
