//! Second factors, the agencies that require them, and an owner's view of their sessions —
//! SQL shared by both backends, instantiated for each repository like `shared_impl!`.

macro_rules! security_impl {
    ($repo:ident, $row:ty) => {
        #[async_trait]
        impl $crate::SecurityRepo for $repo {
            async fn put_totp(&mut self, account_id: i64, secret_sealed: &[u8], now: chrono::DateTime<chrono::Utc>) -> $crate::Result<bool> {
                let r = sqlx::query(
                    "INSERT INTO account_totp (account_id, secret_sealed, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (account_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, created_at = excluded.created_at, \
                     confirmed_at = NULL, last_step = NULL WHERE account_totp.confirmed_at IS NULL",
                )
                .bind(account_id)
                .bind(secret_sealed)
                .bind(now)
                .execute(self.conn())
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn get_totp(&mut self, account_id: i64) -> $crate::Result<Option<$crate::TotpRecord>> {
                let row = sqlx::query("SELECT account_id, secret_sealed, created_at, confirmed_at, last_step FROM account_totp WHERE account_id = $1")
                    .bind(account_id)
                    .fetch_optional(self.conn())
                    .await?;
                row.map(|r: $row| {
                    Ok($crate::TotpRecord {
                        account_id: r.try_get("account_id")?,
                        secret_sealed: r.try_get("secret_sealed")?,
                        created_at: r.try_get("created_at")?,
                        confirmed_at: r.try_get("confirmed_at")?,
                        last_step: r.try_get("last_step")?,
                    })
                })
                .transpose()
            }

            async fn confirm_totp(&mut self, account_id: i64, step: i64, now: chrono::DateTime<chrono::Utc>) -> $crate::Result<bool> {
                let r = sqlx::query(
                    "UPDATE account_totp SET confirmed_at = $3, last_step = $2 WHERE account_id = $1 AND confirmed_at IS NULL",
                )
                .bind(account_id)
                .bind(step)
                .bind(now)
                .execute(self.conn())
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn use_totp_step(&mut self, account_id: i64, step: i64) -> $crate::Result<bool> {
                // One statement: of two requests with the same code at the same moment, one
                // updates the row and the other finds the step taken.
                let r = sqlx::query(
                    "UPDATE account_totp SET last_step = $2 WHERE account_id = $1 AND confirmed_at IS NOT NULL \
                     AND (last_step IS NULL OR last_step < $2)",
                )
                .bind(account_id)
                .bind(step)
                .execute(self.conn())
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn delete_totp(&mut self, account_id: i64) -> $crate::Result<bool> {
                sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1").bind(account_id).execute(self.conn()).await?;
                let r = sqlx::query("DELETE FROM account_totp WHERE account_id = $1").bind(account_id).execute(self.conn()).await?;
                Ok(r.rows_affected() == 1)
            }

            async fn replace_recovery_codes(&mut self, account_id: i64, hashes: &[String], now: chrono::DateTime<chrono::Utc>) -> $crate::Result<()> {
                sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1").bind(account_id).execute(self.conn()).await?;
                for h in hashes {
                    sqlx::query("INSERT INTO recovery_codes (account_id, code_hash, created_at) VALUES ($1, $2, $3)")
                        .bind(account_id)
                        .bind(h)
                        .bind(now)
                        .execute(self.conn())
                        .await?;
                }
                Ok(())
            }

            async fn use_recovery_code(&mut self, account_id: i64, hash: &str, now: chrono::DateTime<chrono::Utc>) -> $crate::Result<bool> {
                let r = sqlx::query("UPDATE recovery_codes SET used_at = $3 WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL")
                    .bind(account_id)
                    .bind(hash)
                    .bind(now)
                    .execute(self.conn())
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn recovery_codes_left(&mut self, account_id: i64) -> $crate::Result<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL")
                    .bind(account_id)
                    .fetch_one(self.conn())
                    .await?)
            }

            async fn set_second_factor_required(
                &mut self,
                agency_id: i64,
                required: bool,
                by: Option<i64>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::Result<()> {
                sqlx::query(
                    "INSERT INTO agency_security (agency_id, require_second_factor, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (agency_id) DO UPDATE SET require_second_factor = excluded.require_second_factor, \
                     updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                )
                .bind(agency_id)
                .bind(required)
                .bind(now)
                .bind(by)
                .execute(self.conn())
                .await?;
                Ok(())
            }

            async fn agencies_requiring_second_factor(&mut self) -> $crate::Result<Vec<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT a.electronic_id FROM agency_security s JOIN agencies a ON a.id = s.agency_id \
                     WHERE s.require_second_factor ORDER BY a.electronic_id",
                )
                .fetch_all(self.conn())
                .await?)
            }

            async fn list_sessions(&mut self, account_id: i64, now: chrono::DateTime<chrono::Utc>) -> $crate::Result<Vec<$crate::SessionInfo>> {
                let rows = sqlx::query(
                    "SELECT id_hash, created_at, last_seen_at, expires_at, ip, user_agent, amr FROM sessions \
                     WHERE account_id = $1 AND expires_at > $2 AND stage = 'full' ORDER BY last_seen_at DESC, created_at DESC",
                )
                .bind(account_id)
                .bind(now)
                .fetch_all(self.conn())
                .await?;
                rows.iter()
                    .map(|r: &$row| {
                        Ok($crate::SessionInfo {
                            id_hash: r.try_get("id_hash")?,
                            created_at: r.try_get("created_at")?,
                            last_seen_at: r.try_get("last_seen_at")?,
                            expires_at: r.try_get("expires_at")?,
                            ip: r.try_get("ip")?,
                            user_agent: r.try_get("user_agent")?,
                            amr: r.try_get("amr")?,
                        })
                    })
                    .collect()
            }

            async fn delete_session_of(&mut self, account_id: i64, id_hash: &str) -> $crate::Result<bool> {
                let r = sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND id_hash = $2")
                    .bind(account_id)
                    .bind(id_hash)
                    .execute(self.conn())
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn delete_other_sessions(&mut self, account_id: i64, keep: &str) -> $crate::Result<u64> {
                let r = sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND id_hash <> $2")
                    .bind(account_id)
                    .bind(keep)
                    .execute(self.conn())
                    .await?;
                Ok(r.rows_affected())
            }

            async fn end_sessions_without_second_factor(
                &mut self,
                agency_ids: &[i64],
                roles: Option<&[tl_core::account::Role]>,
            ) -> $crate::Result<u64> {
                if agency_ids.is_empty() || roles.is_some_and(|r| r.is_empty()) {
                    return Ok(0);
                }
                let mut q = sqlx::QueryBuilder::new(
                    "DELETE FROM sessions WHERE account_id IN (SELECT account_id FROM account_roles WHERE agency_id IN (",
                );
                let mut sep = q.separated(", ");
                for id in agency_ids {
                    sep.push_bind(*id);
                }
                q.push(")");
                if let Some(roles) = roles {
                    q.push(" AND role IN (");
                    let mut sep = q.separated(", ");
                    for r in roles {
                        sep.push_bind(r.as_str());
                    }
                    q.push(")");
                }
                q.push(") AND account_id NOT IN (SELECT account_id FROM account_totp WHERE confirmed_at IS NOT NULL)");
                Ok(q.build().execute(self.conn()).await?.rows_affected())
            }
        }
    };
}

pub(crate) use security_impl;
