//! Storage of the OpenID Connect provider: signing keys, clients, consents, authorization codes
//! and tokens. The SQL is the same for both backends; `oidc_impl!` instantiates it for each.

use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// An ID-token signing key: the public JWK in clear, the private key sealed.
#[derive(Debug, Clone)]
pub struct OidcKey {
    pub kid: String,
    pub alg: String,
    pub public_jwk: serde_json::Value,
    pub sealed_key: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    pub publish_until: Option<DateTime<Utc>>,
}

/// A registered relying party.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OidcClient {
    pub client_id: String,
    pub name: String,
    /// SHA-256 (hex) of the secret; None for a public client.
    #[serde(skip)]
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub grant_types: Vec<String>,
    /// Clients sharing a sector identifier see the same pairwise `sub`.
    pub sector: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// The account a machine client (client credentials) acts as on the JSON and GovStack APIs.
    pub service_account_id: Option<i64>,
}

impl OidcClient {
    pub fn is_confidential(&self) -> bool {
        self.secret_hash.is_some()
    }
    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OidcConsent {
    pub account_id: i64,
    pub client_id: String,
    pub client_name: String,
    /// Space-separated, sorted.
    pub scopes: String,
    pub granted_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct OidcCode {
    pub code_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub account_id: i64,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: DateTime<Utc>,
    pub sid: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// What taking a code found.
#[derive(Debug, Clone)]
pub enum CodeTake {
    /// First use: now marked used.
    Fresh(OidcCode),
    /// Already used before: the caller revokes what it gave.
    Reused(OidcCode),
    Missing,
}

/// One code of [`OidcRepo::take_oidc_codes`]: what taking it found, and for a fresh code
/// whether its account is active (read in the same statement).
#[derive(Debug, Clone)]
pub struct BatchTake {
    pub take: CodeTake,
    pub account_active: bool,
}

/// The token task's transaction (authorize's codes and the token endpoint's exchanges, group
/// committed): the few writes it needs. On PostgreSQL it is an ordinary [`crate::Repo`]; on
/// SQLite a connection the task drives in its own thread (see `sqlite_raw`).
#[async_trait]
pub trait CodeBatch: Send {
    /// See [`OidcRepo::insert_oidc_codes`].
    async fn insert_oidc_codes(&mut self, cs: &[OidcCode]) -> Result<()>;
    /// See [`OidcRepo::take_oidc_codes`].
    async fn take_oidc_codes(&mut self, code_hashes: &[String], now: DateTime<Utc>) -> Result<Vec<BatchTake>>;
    /// See [`OidcRepo::insert_oidc_tokens`].
    async fn insert_oidc_tokens(&mut self, ts: &[OidcToken], audits: &[crate::AuditEntry]) -> Result<()>;
    /// See [`OidcRepo::revoke_oidc_grant`].
    async fn revoke_oidc_grant(&mut self, grant_id: &str, now: DateTime<Utc>) -> Result<u64>;
    /// See [`crate::AuditRepo::append_audits`].
    async fn append_audits(&mut self, entries: &[crate::AuditEntry]) -> Result<()>;
    /// Commits, and returns what makes the commit durable, for the caller to run (it blocks)
    /// before it acknowledges anything: on SQLite the log flush, run once the writer is given
    /// back (the token task's next batch runs meanwhile); where the commit is durable by itself,
    /// nothing.
    async fn commit_deferred(self: Box<Self>) -> Result<Flush>;
    /// Another batch is waiting: where the batch holds the process's writer, keep it for that
    /// batch rather than give it back and take it again (on SQLite each hand-back is a round trip
    /// to sqlx's connection thread). Nothing where there is no such writer.
    fn keep_writer(&mut self) {}
}

/// Makes a commit durable; blocks the calling thread until it is (see
/// [`CodeBatch::commit_deferred`]). A flush also covers every commit made before it was called.
pub type Flush = Box<dyn FnOnce() -> Result<()> + Send>;

/// A repository as the token task's transaction.
pub(crate) struct RepoBatch(pub(crate) Box<dyn crate::Repo>);

#[async_trait]
impl CodeBatch for RepoBatch {
    async fn insert_oidc_codes(&mut self, cs: &[OidcCode]) -> Result<()> {
        self.0.insert_oidc_codes(cs).await
    }
    async fn take_oidc_codes(&mut self, code_hashes: &[String], now: DateTime<Utc>) -> Result<Vec<BatchTake>> {
        self.0.take_oidc_codes(code_hashes, now).await
    }
    async fn insert_oidc_tokens(&mut self, ts: &[OidcToken], audits: &[crate::AuditEntry]) -> Result<()> {
        self.0.insert_oidc_tokens(ts, audits).await
    }
    async fn revoke_oidc_grant(&mut self, grant_id: &str, now: DateTime<Utc>) -> Result<u64> {
        self.0.revoke_oidc_grant(grant_id, now).await
    }
    async fn append_audits(&mut self, entries: &[crate::AuditEntry]) -> Result<()> {
        self.0.append_audits(entries).await
    }
    async fn commit_deferred(self: Box<Self>) -> Result<Flush> {
        self.0.commit().await?;
        Ok(Box::new(|| Ok(())))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

#[derive(Debug, Clone)]
pub struct OidcToken {
    pub token_hash: String,
    pub kind: TokenKind,
    pub grant_id: String,
    pub client_id: String,
    /// None for a machine client's token (client credentials).
    pub account_id: Option<i64>,
    pub scope: String,
    pub auth_time: Option<DateTime<Utc>>,
    pub sid: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl OidcToken {
    /// Unrevoked and unexpired (a used refresh token is not live either).
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.used_at.is_none() && self.expires_at > now
    }
}

/// No access token lives longer than this: a revocation of sealed access tokens (which are not
/// stored, see migration 0021) is kept this long, then purged.
pub const ACCESS_TOKEN_MAX_LIFETIME: chrono::Duration = chrono::Duration::hours(1);

/// The keys of `oidc_revocations`: what a sealed access token is checked against.
pub mod revocation {
    /// Every token of a grant (a code's tokens, a refresh-token family).
    pub fn grant(grant_id: &str) -> String {
        format!("grant:{grant_id}")
    }
    /// One access token, by its key (`secret_key` of the token).
    pub fn token(token_key: &str) -> String {
        format!("token:{token_key}")
    }
    /// Every token a client got for a person before the revocation's time.
    pub fn consent(account_id: i64, client_id: &str) -> String {
        format!("consent:{account_id}:{client_id}")
    }
}

/// The upsert of one revocation (`$1` key, `$2` when, `$3` until), the same SQL on both
/// databases.
pub(crate) const UPSERT_REVOCATION: &str = "INSERT INTO oidc_revocations (key, revoked_at, expires_at) VALUES ($1, $2, $3) \
     ON CONFLICT (key) DO UPDATE SET revoked_at = excluded.revoked_at, expires_at = excluded.expires_at";

#[async_trait]
pub trait OidcRepo: Send {
    async fn add_oidc_key(&mut self, key: &OidcKey) -> Result<()>;
    /// Keys still published at `now`: the active ones and retired ones whose tokens may live.
    async fn list_oidc_keys(&mut self, now: DateTime<Utc>) -> Result<Vec<OidcKey>>;
    /// Retires every active key but `keep`, publishing them until `publish_until`.
    async fn retire_oidc_keys(&mut self, keep: &str, now: DateTime<Utc>, publish_until: DateTime<Utc>) -> Result<u64>;

    async fn create_oidc_client(&mut self, c: &OidcClient) -> Result<()>;
    /// Updates everything but the id and creation time.
    async fn update_oidc_client(&mut self, c: &OidcClient) -> Result<()>;
    async fn get_oidc_client(&mut self, client_id: &str) -> Result<Option<OidcClient>>;
    async fn list_oidc_clients(&mut self) -> Result<Vec<OidcClient>>;

    async fn get_oidc_consent(&mut self, account_id: i64, client_id: &str) -> Result<Option<OidcConsent>>;
    async fn set_oidc_consent(&mut self, account_id: i64, client_id: &str, scopes: &str, now: DateTime<Utc>) -> Result<()>;
    async fn list_oidc_consents(&mut self, account_id: i64) -> Result<Vec<OidcConsent>>;
    /// Withdraws a consent and revokes the tokens the client holds for the account (the stored
    /// ones, and the sealed access tokens issued until now: a [`revocation::consent`] row).
    async fn revoke_oidc_consent(&mut self, account_id: i64, client_id: &str, now: DateTime<Utc>) -> Result<bool>;

    /// Stores codes, a few dozen per statement (authorize's group commit).
    async fn insert_oidc_codes(&mut self, cs: &[OidcCode]) -> Result<()>;
    /// Marks codes used and returns them, atomically (of two concurrent exchanges of a code one
    /// wins), in one statement (the token endpoint's group commit): for each hash, in order, what
    /// taking them one after another would have found — a hash twice in the batch is Fresh the
    /// first time, Reused after.
    async fn take_oidc_codes(&mut self, code_hashes: &[String], now: DateTime<Utc>) -> Result<Vec<BatchTake>>;

    async fn insert_oidc_token(&mut self, t: &OidcToken) -> Result<()>;
    /// Several tokens and the audit entries of their issue, in a few multi-row statements of
    /// up to 32 tokens and 16 entries. On SQLite a pair of them goes in one call (one hand-over
    /// to the connection's thread). On PostgreSQL they stay two: the tokens' insert in a `WITH`
    /// of the entries' measured no faster here (a round trip to a local server is cheap).
    async fn insert_oidc_tokens(&mut self, ts: &[OidcToken], audits: &[crate::AuditEntry]) -> Result<()>;
    async fn find_oidc_token(&mut self, token_hash: &str) -> Result<Option<OidcToken>>;
    /// Marks a refresh token used (rotation); false if it was already used or revoked.
    async fn use_oidc_refresh_token(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<bool>;
    async fn revoke_oidc_token(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Revokes every token of a grant (a code's tokens, a refresh-token family): the stored
    /// ones (their count) and the sealed access tokens (a [`revocation::grant`] row).
    async fn revoke_oidc_grant(&mut self, grant_id: &str, now: DateTime<Utc>) -> Result<u64>;
    /// Records a revocation of sealed access tokens (a key of [`revocation`]); made again, it
    /// moves its time to `now`.
    async fn revoke_oidc_access(&mut self, key: &str, now: DateTime<Utc>) -> Result<()>;
    /// Which of `keys` are revoked, and when each was last.
    async fn oidc_revocations(&mut self, keys: &[String]) -> Result<Vec<(String, DateTime<Utc>)>>;
    /// The cache generation: bumped (by triggers, in the changing transaction) whenever a token
    /// is revoked or deleted, or an account, a role, a client or an agency id changes.
    async fn oidc_epoch(&mut self) -> Result<i64>;
    /// Deletes codes, tokens and revocations expired before `before`.
    async fn purge_oidc(&mut self, before: DateTime<Utc>) -> Result<u64>;
}

/// Each exchange's take, in the batch's order, from the codes burnt now (with their account's
/// status) and those found used before. A second use of a code in the same batch finds it used.
pub(crate) fn takes_in_order(
    code_hashes: &[String],
    mut fresh: std::collections::HashMap<String, (OidcCode, bool)>,
    mut earlier: std::collections::HashMap<String, OidcCode>,
) -> Vec<BatchTake> {
    code_hashes
        .iter()
        .map(|h| match fresh.remove(h) {
            Some((c, account_active)) => {
                earlier.insert(h.clone(), c.clone());
                BatchTake { take: CodeTake::Fresh(c), account_active }
            }
            None => BatchTake { take: earlier.get(h).cloned().map_or(CodeTake::Missing, CodeTake::Reused), account_active: false },
        })
        .collect()
}

macro_rules! oidc_impl {
    ($repo:ident, $row:ty) => {
        pub(crate) mod oidc_impl {
            use super::$repo;
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row;
            use $crate::oidc::*;
            use $crate::{Result, StoreError};

            fn list(s: &str) -> Result<Vec<String>> {
                serde_json::from_str(s).map_err(|_| StoreError::Corrupt(format!("not a JSON list: {s}")))
            }

            fn json(v: &[String]) -> String {
                serde_json::to_string(v).expect("strings serialise")
            }

            const CLIENT_COLS: &str = "client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris, scopes, \
                grant_types, sector, created_at, updated_at, disabled_at, service_account_id";

            fn client_row(r: &$row) -> Result<OidcClient> {
                Ok(OidcClient {
                    client_id: r.try_get("client_id")?,
                    name: r.try_get("name")?,
                    secret_hash: r.try_get("secret_hash")?,
                    redirect_uris: list(&r.try_get::<String, _>("redirect_uris")?)?,
                    post_logout_redirect_uris: list(&r.try_get::<String, _>("post_logout_redirect_uris")?)?,
                    scopes: list(&r.try_get::<String, _>("scopes")?)?,
                    grant_types: list(&r.try_get::<String, _>("grant_types")?)?,
                    sector: r.try_get("sector")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                    disabled_at: r.try_get("disabled_at")?,
                    service_account_id: r.try_get("service_account_id")?,
                })
            }

            pub(crate) const CODE_COLS: &str = "code_hash, grant_id, client_id, account_id, redirect_uri, scope, nonce, code_challenge, \
                auth_time, sid, created_at, expires_at, used_at";

            pub(crate) fn code_row(r: &$row) -> Result<OidcCode> {
                Ok(OidcCode {
                    code_hash: r.try_get("code_hash")?,
                    grant_id: r.try_get("grant_id")?,
                    client_id: r.try_get("client_id")?,
                    account_id: r.try_get("account_id")?,
                    redirect_uri: r.try_get("redirect_uri")?,
                    scope: r.try_get("scope")?,
                    nonce: r.try_get("nonce")?,
                    code_challenge: r.try_get("code_challenge")?,
                    auth_time: r.try_get("auth_time")?,
                    sid: r.try_get("sid")?,
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                    used_at: r.try_get("used_at")?,
                })
            }

            const TOKEN_COLS: &str =
                "token_hash, kind, grant_id, client_id, account_id, scope, auth_time, sid, created_at, expires_at, used_at, revoked_at";

            fn token_row(r: &$row) -> Result<OidcToken> {
                let kind: String = r.try_get("kind")?;
                Ok(OidcToken {
                    token_hash: r.try_get("token_hash")?,
                    kind: match kind.as_str() {
                        "access" => TokenKind::Access,
                        "refresh" => TokenKind::Refresh,
                        other => return Err(StoreError::Corrupt(format!("unknown token kind `{other}`"))),
                    },
                    grant_id: r.try_get("grant_id")?,
                    client_id: r.try_get("client_id")?,
                    account_id: r.try_get("account_id")?,
                    scope: r.try_get("scope")?,
                    auth_time: r.try_get("auth_time")?,
                    sid: r.try_get("sid")?,
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                    used_at: r.try_get("used_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                })
            }

            fn key_row(r: &$row) -> Result<OidcKey> {
                let jwk: String = r.try_get("public_jwk")?;
                Ok(OidcKey {
                    kid: r.try_get("kid")?,
                    alg: r.try_get("alg")?,
                    public_jwk: serde_json::from_str(&jwk).map_err(|_| StoreError::Corrupt("public JWK".into()))?,
                    sealed_key: r.try_get("sealed_key")?,
                    created_at: r.try_get("created_at")?,
                    retired_at: r.try_get("retired_at")?,
                    publish_until: r.try_get("publish_until")?,
                })
            }

            #[async_trait]
            impl OidcRepo for $repo {
                async fn add_oidc_key(&mut self, k: &OidcKey) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO oidc_keys (kid, alg, public_jwk, sealed_key, created_at, retired_at, publish_until) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(&k.kid)
                    .bind(&k.alg)
                    .bind(k.public_jwk.to_string())
                    .bind(&k.sealed_key)
                    .bind(k.created_at)
                    .bind(k.retired_at)
                    .bind(k.publish_until)
                    .execute(self.conn())
                    .await?;
                    Ok(())
                }

                async fn list_oidc_keys(&mut self, now: DateTime<Utc>) -> Result<Vec<OidcKey>> {
                    let rows = sqlx::query(
                        "SELECT kid, alg, public_jwk, sealed_key, created_at, retired_at, publish_until FROM oidc_keys \
                         WHERE retired_at IS NULL OR publish_until > $1 ORDER BY created_at DESC, kid",
                    )
                    .bind(now)
                    .fetch_all(self.conn())
                    .await?;
                    rows.iter().map(key_row).collect()
                }

                async fn retire_oidc_keys(&mut self, keep: &str, now: DateTime<Utc>, publish_until: DateTime<Utc>) -> Result<u64> {
                    let r = sqlx::query("UPDATE oidc_keys SET retired_at = $2, publish_until = $3 WHERE kid <> $1 AND retired_at IS NULL")
                        .bind(keep)
                        .bind(now)
                        .bind(publish_until)
                        .execute(self.conn())
                        .await?;
                    Ok(r.rows_affected())
                }

                async fn create_oidc_client(&mut self, c: &OidcClient) -> Result<()> {
                    let sql = format!(
                        "INSERT INTO oidc_clients ({CLIENT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                    );
                    sqlx::query(&sql)
                        .bind(&c.client_id)
                        .bind(&c.name)
                        .bind(&c.secret_hash)
                        .bind(json(&c.redirect_uris))
                        .bind(json(&c.post_logout_redirect_uris))
                        .bind(json(&c.scopes))
                        .bind(json(&c.grant_types))
                        .bind(&c.sector)
                        .bind(c.created_at)
                        .bind(c.updated_at)
                        .bind(c.disabled_at)
                        .bind(c.service_account_id)
                        .execute(self.conn())
                        .await?;
                    Ok(())
                }

                async fn update_oidc_client(&mut self, c: &OidcClient) -> Result<()> {
                    let r = sqlx::query(
                        "UPDATE oidc_clients SET name = $2, secret_hash = $3, redirect_uris = $4, post_logout_redirect_uris = $5, \
                         scopes = $6, grant_types = $7, sector = $8, updated_at = $9, disabled_at = $10, \
                         service_account_id = $11 WHERE client_id = $1",
                    )
                    .bind(&c.client_id)
                    .bind(&c.name)
                    .bind(&c.secret_hash)
                    .bind(json(&c.redirect_uris))
                    .bind(json(&c.post_logout_redirect_uris))
                    .bind(json(&c.scopes))
                    .bind(json(&c.grant_types))
                    .bind(&c.sector)
                    .bind(c.updated_at)
                    .bind(c.disabled_at)
                    .bind(c.service_account_id)
                    .execute(self.conn())
                    .await?;
                    if r.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                }

                async fn get_oidc_client(&mut self, client_id: &str) -> Result<Option<OidcClient>> {
                    let sql = format!("SELECT {CLIENT_COLS} FROM oidc_clients WHERE client_id = $1");
                    let row = sqlx::query(&sql).bind(client_id).fetch_optional(self.conn()).await?;
                    row.as_ref().map(client_row).transpose()
                }

                async fn list_oidc_clients(&mut self) -> Result<Vec<OidcClient>> {
                    let sql = format!("SELECT {CLIENT_COLS} FROM oidc_clients ORDER BY name, client_id");
                    let rows = sqlx::query(&sql).fetch_all(self.conn()).await?;
                    rows.iter().map(client_row).collect()
                }

                async fn get_oidc_consent(&mut self, account_id: i64, client_id: &str) -> Result<Option<OidcConsent>> {
                    let row = sqlx::query(
                        "SELECT c.account_id, c.client_id, k.name, c.scopes, c.granted_at FROM oidc_consents c \
                         JOIN oidc_clients k ON k.client_id = c.client_id WHERE c.account_id = $1 AND c.client_id = $2",
                    )
                    .bind(account_id)
                    .bind(client_id)
                    .fetch_optional(self.conn())
                    .await?;
                    row.as_ref().map(consent_row).transpose()
                }

                async fn set_oidc_consent(&mut self, account_id: i64, client_id: &str, scopes: &str, now: DateTime<Utc>) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO oidc_consents (account_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (account_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
                    )
                    .bind(account_id)
                    .bind(client_id)
                    .bind(scopes)
                    .bind(now)
                    .execute(self.conn())
                    .await?;
                    Ok(())
                }

                async fn list_oidc_consents(&mut self, account_id: i64) -> Result<Vec<OidcConsent>> {
                    let rows = sqlx::query(
                        "SELECT c.account_id, c.client_id, k.name, c.scopes, c.granted_at FROM oidc_consents c \
                         JOIN oidc_clients k ON k.client_id = c.client_id WHERE c.account_id = $1 ORDER BY k.name",
                    )
                    .bind(account_id)
                    .fetch_all(self.conn())
                    .await?;
                    rows.iter().map(consent_row).collect()
                }

                async fn revoke_oidc_consent(&mut self, account_id: i64, client_id: &str, now: DateTime<Utc>) -> Result<bool> {
                    let r = sqlx::query("DELETE FROM oidc_consents WHERE account_id = $1 AND client_id = $2")
                        .bind(account_id)
                        .bind(client_id)
                        .execute(self.conn())
                        .await?;
                    sqlx::query(
                        "UPDATE oidc_tokens SET revoked_at = $3 WHERE account_id = $1 AND client_id = $2 AND revoked_at IS NULL",
                    )
                    .bind(account_id)
                    .bind(client_id)
                    .bind(now)
                    .execute(self.conn())
                    .await?;
                    self.revoke_oidc_access(&$crate::oidc::revocation::consent(account_id, client_id), now).await?;
                    Ok(r.rows_affected() > 0)
                }

                async fn insert_oidc_codes(&mut self, cs: &[OidcCode]) -> Result<()> {
                    type Db = <$row as sqlx::Row>::Database;
                    // SQLite looks each parameter up by position in a list: statements of a few
                    // hundred parameters keep that cheap.
                    for chunk in cs.chunks(32) {
                        let mut q = sqlx::QueryBuilder::<Db>::new(format!("INSERT INTO oidc_codes ({CODE_COLS}) "));
                        q.push_values(chunk, |mut b, c| {
                            b.push_bind(c.code_hash.clone())
                                .push_bind(c.grant_id.clone())
                                .push_bind(c.client_id.clone())
                                .push_bind(c.account_id)
                                .push_bind(c.redirect_uri.clone())
                                .push_bind(c.scope.clone())
                                .push_bind(c.nonce.clone())
                                .push_bind(c.code_challenge.clone())
                                .push_bind(c.auth_time)
                                .push_bind(c.sid.clone())
                                .push_bind(c.created_at)
                                .push_bind(c.expires_at)
                                .push_bind(c.used_at);
                        });
                        q.build().execute(self.conn()).await?;
                    }
                    Ok(())
                }

                async fn take_oidc_codes(&mut self, code_hashes: &[String], now: DateTime<Utc>) -> Result<Vec<BatchTake>> {
                    type Db = <$row as sqlx::Row>::Database;
                    let mut fresh: std::collections::HashMap<String, (OidcCode, bool)> = std::collections::HashMap::new();
                    let mut distinct: Vec<&String> = code_hashes.iter().collect();
                    distinct.sort();
                    distinct.dedup();
                    for chunk in distinct.chunks(128) {
                        let mut q = sqlx::QueryBuilder::<Db>::new("UPDATE oidc_codes SET used_at = ");
                        q.push_bind(now).push(" WHERE used_at IS NULL AND code_hash IN (");
                        let mut sep = q.separated(", ");
                        for h in chunk {
                            sep.push_bind(h.as_str());
                        }
                        // The account's status comes back with the code: one statement less.
                        q.push(format!(
                            ") RETURNING {CODE_COLS}, (SELECT status FROM accounts WHERE accounts.id = oidc_codes.account_id) AS account_status"
                        ));
                        for r in q.build().fetch_all(self.conn()).await? {
                            let c = code_row(&r)?;
                            let active = r.try_get::<Option<String>, _>("account_status")?.as_deref() == Some("active");
                            fresh.insert(c.code_hash.clone(), (c, active));
                        }
                    }
                    // Codes not taken now: used before, or unknown (rare; one more statement).
                    let mut earlier: std::collections::HashMap<String, OidcCode> = std::collections::HashMap::new();
                    let missing: Vec<&&String> = distinct.iter().filter(|h| !fresh.contains_key(h.as_str())).collect();
                    for chunk in missing.chunks(128) {
                        let mut q = sqlx::QueryBuilder::<Db>::new(format!("SELECT {CODE_COLS} FROM oidc_codes WHERE code_hash IN ("));
                        let mut sep = q.separated(", ");
                        for h in chunk {
                            sep.push_bind(h.as_str());
                        }
                        q.push(")");
                        for r in q.build().fetch_all(self.conn()).await? {
                            let c = code_row(&r)?;
                            earlier.insert(c.code_hash.clone(), c);
                        }
                    }
                    Ok($crate::oidc::takes_in_order(code_hashes, fresh, earlier))
                }

                async fn insert_oidc_tokens(&mut self, ts: &[OidcToken], audits: &[$crate::AuditEntry]) -> Result<()> {
                    type Db = <$row as sqlx::Row>::Database;
                    let postgres = <Db as sqlx::Database>::NAME == "PostgreSQL";
                    const TOKENS: usize = 32;
                    const AUDITS: usize = 16;
                    let rounds = ts.len().div_ceil(TOKENS).max(audits.len().div_ceil(AUDITS));
                    for i in 0..rounds {
                        let tchunk = ts.get(i * TOKENS..ts.len().min((i + 1) * TOKENS)).unwrap_or_default();
                        let achunk = audits.get(i * AUDITS..audits.len().min((i + 1) * AUDITS)).unwrap_or_default();
                        let mut q = sqlx::QueryBuilder::<Db>::new("");
                        if !tchunk.is_empty() {
                            q.push(format!("INSERT INTO oidc_tokens ({TOKEN_COLS}) "));
                            q.push_values(tchunk, |mut b, t| {
                                b.push_bind(t.token_hash.clone())
                                    .push_bind(t.kind.as_str())
                                    .push_bind(t.grant_id.clone())
                                    .push_bind(t.client_id.clone())
                                    .push_bind(t.account_id)
                                    .push_bind(t.scope.clone())
                                    .push_bind(t.auth_time)
                                    .push_bind(t.sid.clone())
                                    .push_bind(t.created_at)
                                    .push_bind(t.expires_at)
                                    .push_bind(t.used_at)
                                    .push_bind(t.revoked_at);
                            });
                            if !achunk.is_empty() {
                                if postgres {
                                    q.build().execute(&mut *self.conn()).await?;
                                    q.reset();
                                } else {
                                    q.push("; ");
                                }
                            }
                        }
                        if !achunk.is_empty() {
                            $crate::shared::push_audit_insert!(q, achunk);
                        }
                        q.build().execute(self.conn()).await?;
                    }
                    Ok(())
                }

                async fn insert_oidc_token(&mut self, t: &OidcToken) -> Result<()> {
                    let sql = format!(
                        "INSERT INTO oidc_tokens ({TOKEN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                    );
                    sqlx::query(&sql)
                        .bind(&t.token_hash)
                        .bind(t.kind.as_str())
                        .bind(&t.grant_id)
                        .bind(&t.client_id)
                        .bind(t.account_id)
                        .bind(&t.scope)
                        .bind(t.auth_time)
                        .bind(&t.sid)
                        .bind(t.created_at)
                        .bind(t.expires_at)
                        .bind(t.used_at)
                        .bind(t.revoked_at)
                        .execute(self.conn())
                        .await?;
                    Ok(())
                }

                async fn find_oidc_token(&mut self, token_hash: &str) -> Result<Option<OidcToken>> {
                    let sql = format!("SELECT {TOKEN_COLS} FROM oidc_tokens WHERE token_hash = $1");
                    let row = sqlx::query(&sql).bind(token_hash).fetch_optional(self.conn()).await?;
                    row.as_ref().map(token_row).transpose()
                }

                async fn use_oidc_refresh_token(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<bool> {
                    let r = sqlx::query(
                        "UPDATE oidc_tokens SET used_at = $2 WHERE token_hash = $1 AND kind = 'refresh' \
                         AND used_at IS NULL AND revoked_at IS NULL",
                    )
                    .bind(token_hash)
                    .bind(now)
                    .execute(self.conn())
                    .await?;
                    Ok(r.rows_affected() > 0)
                }

                async fn revoke_oidc_token(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<bool> {
                    let r = sqlx::query("UPDATE oidc_tokens SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL")
                        .bind(token_hash)
                        .bind(now)
                        .execute(self.conn())
                        .await?;
                    Ok(r.rows_affected() > 0)
                }

                async fn revoke_oidc_grant(&mut self, grant_id: &str, now: DateTime<Utc>) -> Result<u64> {
                    let r = sqlx::query("UPDATE oidc_tokens SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL")
                        .bind(grant_id)
                        .bind(now)
                        .execute(self.conn())
                        .await?;
                    self.revoke_oidc_access(&$crate::oidc::revocation::grant(grant_id), now).await?;
                    Ok(r.rows_affected())
                }

                async fn revoke_oidc_access(&mut self, key: &str, now: DateTime<Utc>) -> Result<()> {
                    sqlx::query($crate::oidc::UPSERT_REVOCATION)
                        .bind(key)
                        .bind(now)
                        .bind(now + $crate::oidc::ACCESS_TOKEN_MAX_LIFETIME)
                        .execute(self.conn())
                        .await?;
                    Ok(())
                }

                async fn oidc_revocations(&mut self, keys: &[String]) -> Result<Vec<(String, DateTime<Utc>)>> {
                    type Db = <$row as sqlx::Row>::Database;
                    if keys.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut q = sqlx::QueryBuilder::<Db>::new("SELECT key, revoked_at FROM oidc_revocations WHERE key IN (");
                    let mut list = q.separated(", ");
                    for k in keys {
                        list.push_bind(k.clone());
                    }
                    q.push(")");
                    let rows = q.build().fetch_all(self.conn()).await?;
                    rows.iter().map(|r| Ok((r.try_get("key")?, r.try_get("revoked_at")?))).collect()
                }

                async fn oidc_epoch(&mut self) -> Result<i64> {
                    Ok(sqlx::query_scalar("SELECT epoch FROM oidc_epoch WHERE id = 1").fetch_one(self.conn()).await?)
                }

                async fn purge_oidc(&mut self, before: DateTime<Utc>) -> Result<u64> {
                    let a = sqlx::query("DELETE FROM oidc_codes WHERE expires_at < $1").bind(before).execute(self.conn()).await?;
                    let b = sqlx::query("DELETE FROM oidc_tokens WHERE expires_at < $1").bind(before).execute(self.conn()).await?;
                    let c = sqlx::query("DELETE FROM oidc_revocations WHERE expires_at < $1").bind(before).execute(self.conn()).await?;
                    Ok(a.rows_affected() + b.rows_affected() + c.rows_affected())
                }
            }

            fn consent_row(r: &$row) -> Result<OidcConsent> {
                Ok(OidcConsent {
                    account_id: r.try_get("account_id")?,
                    client_id: r.try_get("client_id")?,
                    client_name: r.try_get("name")?,
                    scopes: r.try_get("scopes")?,
                    granted_at: r.try_get("granted_at")?,
                })
            }
        }
    };
}

pub(crate) use oidc_impl;
