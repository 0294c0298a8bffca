//! Business members and citizens' authorisations — SQL shared by both backends.

macro_rules! delegation_impl {
    ($repo:ident, $row:ty) => {
        fn member_row(r: &$row) -> $crate::Result<$crate::MemberRow> {
            Ok($crate::MemberRow {
                business_id: r.try_get("business_id")?,
                business_login: r.try_get("business_login")?,
                business_name: r.try_get("business_name")?,
                member_id: r.try_get("member_id")?,
                member_login: r.try_get("member_login")?,
                member_name: r.try_get("member_name")?,
                added_at: r.try_get("added_at")?,
            })
        }

        fn authorisation_row(r: &$row) -> $crate::Result<$crate::AuthorisationRow> {
            Ok($crate::AuthorisationRow {
                id: r.try_get("id")?,
                grantor_id: r.try_get("grantor_id")?,
                grantor_login: r.try_get("grantor_login")?,
                grantor_name: r.try_get("grantor_name")?,
                grantee_id: r.try_get("grantee_id")?,
                grantee_login: r.try_get("grantee_login")?,
                grantee_name: r.try_get("grantee_name")?,
                procedure_code: r.try_get("procedure_code")?,
                valid_from: r.try_get("valid_from")?,
                valid_to: r.try_get("valid_to")?,
                note: r.try_get("note")?,
                created_at: r.try_get("created_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        }

        const MEMBER_SELECT: &str = "SELECT m.business_id, b.login AS business_login, b.display_name AS business_name, m.member_id, \
            p.login AS member_login, p.display_name AS member_name, m.added_at FROM business_members m \
            JOIN accounts b ON b.id = m.business_id JOIN accounts p ON p.id = m.member_id WHERE m.removed_at IS NULL";
        const AUTH_SELECT: &str = "SELECT x.id, x.grantor_id, g.login AS grantor_login, g.display_name AS grantor_name, x.grantee_id, \
            e.login AS grantee_login, e.display_name AS grantee_name, x.procedure_code, x.valid_from, x.valid_to, x.note, x.created_at, \
            x.revoked_at FROM authorisations x JOIN accounts g ON g.id = x.grantor_id JOIN accounts e ON e.id = x.grantee_id";

        #[async_trait]
        impl $crate::DelegationRepo for $repo {
            async fn add_member(&mut self, business_id: i64, member_id: i64, by: i64, now: chrono::DateTime<chrono::Utc>) -> $crate::Result<bool> {
                if self.is_member(business_id, member_id).await? {
                    return Ok(false);
                }
                sqlx::query("INSERT INTO business_members (business_id, member_id, added_by, added_at) VALUES ($1, $2, $3, $4)")
                    .bind(business_id)
                    .bind(member_id)
                    .bind(by)
                    .bind(now)
                    .execute(self.conn())
                    .await?;
                Ok(true)
            }

            async fn remove_member(&mut self, business_id: i64, member_id: i64, now: chrono::DateTime<chrono::Utc>) -> $crate::Result<bool> {
                let r = sqlx::query("UPDATE business_members SET removed_at = $3 WHERE business_id = $1 AND member_id = $2 AND removed_at IS NULL")
                    .bind(business_id)
                    .bind(member_id)
                    .bind(now)
                    .execute(self.conn())
                    .await?;
                Ok(r.rows_affected() > 0)
            }

            async fn list_members(&mut self, business_id: i64) -> $crate::Result<Vec<$crate::MemberRow>> {
                let sql = format!("{MEMBER_SELECT} AND m.business_id = $1 ORDER BY p.display_name, m.member_id");
                sqlx::query(&sql).bind(business_id).fetch_all(self.conn()).await?.iter().map(member_row).collect()
            }

            async fn businesses_of(&mut self, member_id: i64) -> $crate::Result<Vec<$crate::MemberRow>> {
                let sql = format!("{MEMBER_SELECT} AND m.member_id = $1 ORDER BY b.display_name, m.business_id");
                sqlx::query(&sql).bind(member_id).fetch_all(self.conn()).await?.iter().map(member_row).collect()
            }

            async fn is_member(&mut self, business_id: i64, member_id: i64) -> $crate::Result<bool> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM business_members WHERE business_id = $1 AND member_id = $2 AND removed_at IS NULL",
                )
                .bind(business_id)
                .bind(member_id)
                .fetch_one(self.conn())
                .await?;
                Ok(n > 0)
            }

            async fn create_authorisation(&mut self, a: &$crate::NewAuthorisation) -> $crate::Result<i64> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO authorisations (grantor_id, grantee_id, procedure_code, valid_from, valid_to, note, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(a.grantor_id)
                .bind(a.grantee_id)
                .bind(&a.procedure_code)
                .bind(a.valid_from)
                .bind(a.valid_to)
                .bind(&a.note)
                .bind(a.now)
                .fetch_one(self.conn())
                .await?)
            }

            async fn revoke_authorisation(&mut self, grantor_id: i64, id: i64, now: chrono::DateTime<chrono::Utc>) -> $crate::Result<bool> {
                let r = sqlx::query("UPDATE authorisations SET revoked_at = $3 WHERE id = $1 AND grantor_id = $2 AND revoked_at IS NULL")
                    .bind(id)
                    .bind(grantor_id)
                    .bind(now)
                    .execute(self.conn())
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn authorisations_given(&mut self, grantor_id: i64) -> $crate::Result<Vec<$crate::AuthorisationRow>> {
                let sql = format!("{AUTH_SELECT} WHERE x.grantor_id = $1 ORDER BY x.created_at DESC, x.id DESC");
                sqlx::query(&sql).bind(grantor_id).fetch_all(self.conn()).await?.iter().map(authorisation_row).collect()
            }

            async fn authorisations_held(&mut self, grantee_id: i64, day: chrono::NaiveDate) -> $crate::Result<Vec<$crate::AuthorisationRow>> {
                let sql = format!(
                    "{AUTH_SELECT} WHERE x.grantee_id = $1 AND x.revoked_at IS NULL AND x.valid_from <= $2 AND x.valid_to >= $2 \
                     ORDER BY g.display_name, x.id"
                );
                sqlx::query(&sql).bind(grantee_id).bind(day).fetch_all(self.conn()).await?.iter().map(authorisation_row).collect()
            }

            async fn may_act_for(&mut self, actor: i64, principal: i64, procedure_code: &str, day: chrono::NaiveDate) -> $crate::Result<bool> {
                if self.is_member(principal, actor).await? {
                    return Ok(true);
                }
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM authorisations WHERE grantee_id = $1 AND grantor_id = $2 AND procedure_code = $3 \
                     AND revoked_at IS NULL AND valid_from <= $4 AND valid_to >= $4",
                )
                .bind(actor)
                .bind(principal)
                .bind(procedure_code)
                .bind(day)
                .fetch_one(self.conn())
                .await?;
                Ok(n > 0)
            }
        }
    };
}

pub(crate) use delegation_impl;
