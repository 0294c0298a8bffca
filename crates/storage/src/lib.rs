//! Storage behind repository traits, with two implementations — SQLite (one machine, the
//! default) and PostgreSQL (several app servers) — picked from the database URL.
//!
//! A request opens one [`Repo`] bound to one transaction (or, for reads, one pooled
//! connection), does its work, and commits data and audit rows together.

pub mod access;
pub mod blob;
pub mod chain;
mod delegation;
pub mod filer;
mod import;
mod model;
pub mod oidc;
mod pg_batch;
mod postgres;
mod security;
mod shared;
mod sqlite;
mod sqlite_raw;
pub mod store;
pub mod synth;
pub mod testing;

pub use import::{apply_catalog, ImportReport};
pub use model::*;
pub use oidc::{
    revocation, CodeBatch, CodeTake, Flush, OidcClient, OidcCode, OidcConsent, OidcKey, OidcRepo, OidcToken, TokenKind,
    ACCESS_TOKEN_MAX_LIFETIME,
};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use std::sync::Arc;
use tl_core::account::{Role, RoleGrant};
use tl_core::catalog::{AdminUnit, Agency, Field, ProcedureVersion};
use tl_core::catalog_doc::{CatalogDocument, Known};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or state rule refused the write; the message names what.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or is overloaded (maps to 503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("bad database URL: {0}")]
    BadUrl(String),
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                Self::Unavailable(e.to_string())
            }
            sqlx::Error::Database(d) if d.is_unique_violation() => Self::Conflict(d.message().to_owned()),
            sqlx::Error::Database(d) => {
                // SQLITE_BUSY / PostgreSQL admin shutdown, connection failures, too many clients.
                let code = d.code().unwrap_or_default();
                if matches!(code.as_ref(), "5" | "517" | "57P01" | "57P02" | "57P03" | "53300" | "08006" | "08001") {
                    Self::Unavailable(d.message().to_owned())
                } else {
                    Self::Other(e)
                }
            }
            _ => Self::Other(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A database the platform runs on.
#[async_trait]
pub trait Database: Send + Sync + 'static {
    fn backend(&self) -> Backend;
    /// Applies pending migrations (idempotent; safe with several app servers on PostgreSQL).
    async fn migrate(&self) -> Result<()>;
    /// Checks that the database answers (for `/readyz`).
    async fn ping(&self) -> Result<()>;
    /// A repository bound to a new write transaction; nothing is kept unless it is committed.
    async fn begin(&self) -> Result<Box<dyn Repo>>;
    /// A repository for reads only, on a pooled connection without a transaction.
    async fn read(&self) -> Result<Box<dyn Repo>>;
    /// The token task's transaction (see [`oidc::CodeBatch`]).
    async fn begin_code_batch(&self) -> Result<Box<dyn oidc::CodeBatch>> {
        Ok(Box::new(oidc::RepoBatch(self.begin().await?)))
    }
    /// Closes the pools (graceful shutdown).
    async fn close(&self);
    /// Set-wise loading and measuring for benchmarks only (see [`synth`]).
    fn bulk(&self) -> Box<dyn synth::BulkLoader>;
}

/// Opens the database named by `url` (`sqlite://PATH` or `postgres://…`).
pub async fn connect(url: &str) -> Result<Arc<dyn Database>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteDatabase::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgDatabase::connect(url).await?))
    } else {
        Err(StoreError::BadUrl("the URL must start with sqlite:// or postgres://".into()))
    }
}

/// All repositories over one connection or transaction.
#[async_trait]
pub trait Repo:
    CatalogRepo
    + AccountRepo
    + SessionRepo
    + SecurityRepo
    + DelegationRepo
    + AuditRepo
    + SettingsRepo
    + DossierRepo
    + FileRepo
    + CalendarRepo
    + ResultRepo
    + NoticeRepo
    + OidcRepo
    + AccessRepo
    + store::StoreRepo
    + Send
{
    /// Makes the transaction's writes durable. Dropping a repo without committing rolls back.
    async fn commit(self: Box<Self>) -> Result<()>;
    /// Runs one SQL statement as an intruder with database access would: only for tests that
    /// prove tampering is detected.
    #[doc(hidden)]
    async fn tamper_for_tests(&mut self, sql: &str) -> Result<u64>;
}

#[async_trait]
pub trait CatalogRepo: Send {
    async fn upsert_field(&mut self, field: &Field) -> Result<()>;
    /// Fields with the number of procedures in force on `day` in each.
    async fn list_fields(&mut self, day: NaiveDate) -> Result<Vec<FieldRow>>;
    async fn upsert_admin_unit(&mut self, unit: &AdminUnit) -> Result<()>;
    async fn list_admin_units(&mut self) -> Result<Vec<AdminUnit>>;
    /// Inserts or updates an agency by electronic ID; returns its row id.
    async fn upsert_agency(&mut self, agency: &Agency) -> Result<i64>;
    /// All agencies, parents before children (ordered by electronic ID).
    async fn list_agencies(&mut self) -> Result<Vec<AgencyRow>>;
    async fn get_agency(&mut self, electronic_id: &str) -> Result<Option<AgencyRow>>;
    async fn get_agency_by_id(&mut self, id: i64) -> Result<Option<AgencyRow>>;
    /// Adds a version to a procedure (creating the procedure when new). Versions are
    /// immutable: a version with the same effective date is a conflict.
    async fn add_procedure_version(
        &mut self,
        code: &str,
        version: &ProcedureVersion,
        created_by: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    async fn search_procedures(&mut self, query: &SearchQuery) -> Result<SearchPage>;
    /// The procedure as in force on `day`, or a given version number.
    async fn get_procedure(&mut self, code: &str, day: NaiveDate, version_no: Option<i64>) -> Result<Option<ProcedureDetail>>;
    async fn list_procedure_versions(&mut self, code: &str) -> Result<Vec<VersionRow>>;
    /// The stored body of the version of `code` effective from `day` exactly.
    async fn get_version_body(&mut self, code: &str, effective_from: NaiveDate) -> Result<Option<ProcedureVersion>>;
    async fn count_procedures(&mut self) -> Result<i64>;
    /// Bumped by every catalog write; readers that cache the catalog compare it.
    async fn catalog_generation(&mut self) -> Result<i64>;
    /// Every procedure version in force on `day`, with what search needs, in one pass.
    async fn list_current_procedures(&mut self, day: NaiveDate) -> Result<Vec<IndexedProcedure>>;
    /// Everything, with every version, for `catalog export`.
    async fn export_catalog(&mut self) -> Result<CatalogDocument>;
    /// What a catalog file may refer to.
    async fn catalog_known(&mut self) -> Result<Known>;
}

#[async_trait]
pub trait AccountRepo: Send {
    async fn create_account(&mut self, account: &NewAccount, now: DateTime<Utc>) -> Result<Account>;
    async fn get_account(&mut self, id: i64) -> Result<Option<Account>>;
    async fn find_account_by_login(&mut self, login: &str) -> Result<Option<Account>>;
    async fn list_accounts(&mut self, filter: &AccountFilter) -> Result<Vec<Account>>;
    async fn set_password_hash(&mut self, id: i64, hash: &str, now: DateTime<Utc>) -> Result<()>;
    async fn set_account_status(&mut self, id: i64, status: AccountStatus, now: DateTime<Utc>) -> Result<()>;
    /// Counts a failed sign-in; locks the account until `lock_until` when given.
    async fn record_login_failure(&mut self, id: i64, lock_until: Option<DateTime<Utc>>) -> Result<i64>;
    async fn record_login_success(&mut self, id: i64, now: DateTime<Utc>) -> Result<()>;
    async fn grant_role(&mut self, account_id: i64, role: Role, agency_id: i64, by: Option<i64>, now: DateTime<Utc>) -> Result<()>;
    async fn revoke_role(&mut self, account_id: i64, role: Role, agency_id: i64) -> Result<()>;
    async fn roles_of(&mut self, account_id: i64) -> Result<Vec<RoleGrant>>;
    async fn link_federated(&mut self, link: &FederatedLink) -> Result<()>;
    async fn find_federated(&mut self, provider: &str, subject: &str) -> Result<Option<Account>>;
    /// The identity-provider links of an account (what vouched for it and when), oldest first.
    async fn list_federated(&mut self, account_id: i64) -> Result<Vec<FederatedIdentity>>;
    async fn create_api_token(&mut self, token: &NewApiToken) -> Result<i64>;
    /// The live (unrevoked, unexpired) token with this hash and its account.
    async fn find_api_token(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<(ApiToken, Account)>>;
    async fn touch_api_token(&mut self, id: i64, now: DateTime<Utc>) -> Result<()>;
    async fn list_api_tokens(&mut self, account_id: i64) -> Result<Vec<ApiToken>>;
    async fn revoke_api_token(&mut self, account_id: i64, id: i64, now: DateTime<Utc>) -> Result<bool>;
}

#[async_trait]
pub trait SessionRepo: Send {
    async fn create_session(&mut self, session: &NewSession) -> Result<()>;
    /// The live session with this hash, with its account.
    async fn get_session(&mut self, id_hash: &str, now: DateTime<Utc>) -> Result<Option<(SessionRow, Account)>>;
    async fn touch_session(&mut self, id_hash: &str, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> Result<()>;
    async fn delete_session(&mut self, id_hash: &str) -> Result<()>;
    async fn delete_sessions_of(&mut self, account_id: i64) -> Result<u64>;
    async fn purge_expired_sessions(&mut self, now: DateTime<Utc>) -> Result<u64>;
}

/// Second factors, the agencies that require them, and an owner's view of their sessions.
#[async_trait]
pub trait SecurityRepo: Send {
    /// Stores a new, unconfirmed TOTP secret, replacing an unconfirmed one; refused (false)
    /// while a confirmed one exists (it must be removed first).
    async fn put_totp(&mut self, account_id: i64, secret_sealed: &[u8], now: DateTime<Utc>) -> Result<bool>;
    async fn get_totp(&mut self, account_id: i64) -> Result<Option<TotpRecord>>;
    /// Marks the secret confirmed with the step of its first code.
    async fn confirm_totp(&mut self, account_id: i64, step: i64, now: DateTime<Utc>) -> Result<bool>;
    /// Records `step` as used if it is later than the last one used: false means the code was
    /// used already (also by a request running at the same moment).
    async fn use_totp_step(&mut self, account_id: i64, step: i64) -> Result<bool>;
    /// Removes the TOTP secret and the recovery codes.
    async fn delete_totp(&mut self, account_id: i64) -> Result<bool>;
    /// Replaces every recovery code of the account with these hashes.
    async fn replace_recovery_codes(&mut self, account_id: i64, hashes: &[String], now: DateTime<Utc>) -> Result<()>;
    /// Spends an unused recovery code; false if there is none with this hash.
    async fn use_recovery_code(&mut self, account_id: i64, hash: &str, now: DateTime<Utc>) -> Result<bool>;
    async fn recovery_codes_left(&mut self, account_id: i64) -> Result<i64>;
    async fn set_second_factor_required(&mut self, agency_id: i64, required: bool, by: Option<i64>, now: DateTime<Utc>) -> Result<()>;
    /// Electronic IDs of the agencies that require a second factor (for their whole subtree).
    async fn agencies_requiring_second_factor(&mut self) -> Result<Vec<String>>;
    /// The owner's live, fully signed-in sessions, most recent first.
    async fn list_sessions(&mut self, account_id: i64, now: DateTime<Utc>) -> Result<Vec<SessionInfo>>;
    /// Ends one of the owner's sessions; false if it is not theirs (or gone).
    async fn delete_session_of(&mut self, account_id: i64, id_hash: &str) -> Result<bool>;
    /// Ends every session of the account but `keep`.
    async fn delete_other_sessions(&mut self, account_id: i64, keep: &str) -> Result<u64>;
    /// Ends the sessions of officers holding a role at one of `agency_ids` who have no
    /// confirmed second factor (an agency has just required one).
    /// `roles`: only grants of these roles count (None: any role).
    async fn end_sessions_without_second_factor(&mut self, agency_ids: &[i64], roles: Option<&[Role]>) -> Result<u64>;
}

/// Who may act for whom: business members and citizens' authorisations.
#[async_trait]
pub trait DelegationRepo: Send {
    /// Adds a member to a business; false if they are one already.
    async fn add_member(&mut self, business_id: i64, member_id: i64, by: i64, now: DateTime<Utc>) -> Result<bool>;
    async fn remove_member(&mut self, business_id: i64, member_id: i64, now: DateTime<Utc>) -> Result<bool>;
    async fn list_members(&mut self, business_id: i64) -> Result<Vec<MemberRow>>;
    /// The businesses `member_id` currently acts for.
    async fn businesses_of(&mut self, member_id: i64) -> Result<Vec<MemberRow>>;
    async fn is_member(&mut self, business_id: i64, member_id: i64) -> Result<bool>;
    async fn create_authorisation(&mut self, a: &NewAuthorisation) -> Result<i64>;
    /// Revokes one of the grantor's authorisations; false if it is not theirs or already revoked.
    async fn revoke_authorisation(&mut self, grantor_id: i64, id: i64, now: DateTime<Utc>) -> Result<bool>;
    async fn authorisations_given(&mut self, grantor_id: i64) -> Result<Vec<AuthorisationRow>>;
    /// The live authorisations `grantee_id` holds on `day` (not revoked, within their period).
    async fn authorisations_held(&mut self, grantee_id: i64, day: NaiveDate) -> Result<Vec<AuthorisationRow>>;
    /// Whether `actor` may file `procedure_code` for `principal` on `day`: a member of the
    /// business `principal`, or holding a live authorisation from them for that procedure.
    async fn may_act_for(&mut self, actor: i64, principal: i64, procedure_code: &str, day: NaiveDate) -> Result<bool>;
}

#[async_trait]
pub trait AuditRepo: Send {
    async fn append_audit(&mut self, entry: &AuditEntry) -> Result<i64>;
    /// Several entries in a few multi-row statements, in order.
    async fn append_audits(&mut self, entries: &[AuditEntry]) -> Result<()>;
    async fn list_audit(&mut self, target_type: Option<&str>, target_id: Option<&str>, limit: i64) -> Result<Vec<AuditRow>>;
}

/// The access log (reads of personal data by others) and the hash chains of both logs; see
/// [`access`] and [`chain`].
#[async_trait]
pub trait AccessRepo: Send {
    /// Appends entries after the chain head, which the transaction holds until it ends (so app
    /// servers sharing a database append one after another); returns their ids. Only the
    /// access-log writer calls it: record reads through [`access::AccessLog::record`].
    async fn append_access(&mut self, entries: &[access::AccessEntry]) -> Result<Vec<i64>>;
    /// One person's entries, newest first.
    async fn list_access(&mut self, q: &access::AccessQuery) -> Result<Vec<access::AccessRow>>;
    /// The agencies whose officers appear in one person's entries.
    async fn access_agencies(&mut self, subject_id: i64) -> Result<Vec<access::AccessAgency>>;
    async fn chain_head(&mut self, chain: chain::Chain) -> Result<chain::ChainHead>;
    /// Links of a chain after number `after`, in order, with their canonical content.
    async fn chain_page(&mut self, chain: chain::Chain, after: i64, limit: i64) -> Result<Vec<chain::ChainLink>>;
    /// Links up to `limit` audit rows not yet in the audit chain (oldest id first); returns how many.
    async fn seal_audit(&mut self, limit: i64) -> Result<u64>;
    async fn count_unsealed_audit(&mut self) -> Result<i64>;
}

#[async_trait]
pub trait DossierRepo: Send {
    /// Fills the folded applicant name (the inbox's name search) on dossiers written before it
    /// existed; returns how many rows it filled. Run once after migrating.
    async fn backfill_applicant_names(&mut self) -> Result<u64>;
    /// Creates a draft. With an idempotency key the applicant already used, the existing
    /// dossier comes back instead (a double click or a retry never makes two).
    async fn create_dossier(&mut self, d: &NewDossier) -> Result<Dossier>;
    /// Replaces a draft's answers (or those of a dossier waiting for the applicant's
    /// supplement) if it is still editable at `expected_revision`; a
    /// [`StoreError::Conflict`] otherwise (someone else saved or submitted it meanwhile).
    async fn update_draft(&mut self, id: i64, expected_revision: i64, answers: &serde_json::Value, now: DateTime<Utc>) -> Result<Dossier>;
    /// Files a draft: status "Mới đăng ký" and a dossier code from the agency's counter for
    /// `day` (local date). Submitting a dossier that is already filed returns it unchanged.
    async fn submit_dossier(&mut self, id: i64, expected_revision: i64, day: NaiveDate, now: DateTime<Utc>) -> Result<Dossier>;
    /// Creates and files dossiers at once (the API's one-request filing), in a handful of
    /// statements whatever their number: one counter update per agency and day, the rows with
    /// their codes, their events. Results come in the order of `batch`. A filing whose
    /// idempotency key the applicant already used gives back that dossier (filed, if it was
    /// left a draft); the same key twice in a batch makes one dossier.
    async fn file_new_dossiers(&mut self, batch: &[NewFiling]) -> Result<Vec<Dossier>>;
    /// Deletes a draft (never a filed dossier); false when there was no such draft.
    async fn delete_draft(&mut self, id: i64) -> Result<bool>;
    async fn get_dossier(&mut self, id: i64) -> Result<Option<Dossier>>;
    async fn get_dossier_by_code(&mut self, code: &str) -> Result<Option<Dossier>>;
    /// A back-office action (reception, supplement request, refusal…) with its event, if the
    /// dossier is still at the revision the officer saw and in one of the expected statuses.
    async fn act_on_dossier(&mut self, action: &DossierAction) -> Result<Dossier>;
    /// The control sheet (Form 06) of a dossier, in order.
    async fn list_handoffs(&mut self, dossier_id: i64) -> Result<Vec<Handoff>>;
    /// The processing inbox: dossiers waiting at a step the officer's (role, agencies) may
    /// act on, filtered, the earliest step due moment first.
    async fn list_inbox(&mut self, q: &InboxQuery) -> Result<Vec<InboxItem>>;
    /// The register (Form 07) of service points: dossiers filed with `agency_ids` in [from, to).
    async fn list_register(&mut self, agency_ids: &[i64], from: DateTime<Utc>, to: DateTime<Utc>, limit: i64) -> Result<Vec<InboxItem>>;
    /// Online dossiers still waiting for reception that were filed before `before` and whose
    /// one-stop officers were not yet alerted.
    async fn list_unalerted_filings(&mut self, before: DateTime<Utc>, limit: i64) -> Result<Vec<Dossier>>;
    /// Records the alert (an event; the revision does not move).
    async fn mark_reception_alerted(&mut self, dossier_id: i64, now: DateTime<Utc>) -> Result<()>;
    /// Active officer accounts holding `role` at one of `agency_ids`.
    async fn officers_with_role(&mut self, role: tl_core::account::Role, agency_ids: &[i64]) -> Result<Vec<Account>>;
    /// Dossiers whose supplement request went unanswered past its deadline.
    async fn list_expired_supplements(&mut self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Dossier>>;
    /// Dossiers of the given agencies in the given statuses, oldest filing first.
    async fn list_queue(&mut self, agency_ids: &[i64], statuses: &[tl_core::dossier::DossierStatus], limit: i64) -> Result<Vec<Dossier>>;
    /// The dossier an applicant's idempotency key made, if any.
    async fn find_dossier_by_key(&mut self, applicant_id: i64, key: &str) -> Result<Option<Dossier>>;
    async fn list_dossiers_of(&mut self, applicant_id: i64, limit: i64) -> Result<Vec<Dossier>>;
    /// Dossiers an officer created for other people (the counter channel), newest first.
    async fn list_dossiers_acted_by(&mut self, officer_id: i64, limit: i64) -> Result<Vec<Dossier>>;
    async fn list_dossier_events(&mut self, dossier_id: i64) -> Result<Vec<DossierEvent>>;
    /// The next serial of an agency's day (1, 2, 3…), inside the caller's transaction.
    async fn next_dossier_serial(&mut self, agency_id: i64, day: NaiveDate) -> Result<i64>;
    /// Dossier events from `from` (inclusive) to `to` (exclusive), counted by kind; only those
    /// of one procedure, by one actor, or by actors holding `role` (at any agency) when given.
    async fn count_dossier_events(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        procedure_code: Option<&str>,
        actor_id: Option<i64>,
        role: Option<Role>,
    ) -> Result<Vec<(String, i64)>>;
}

#[async_trait]
pub trait FileRepo: Send {
    async fn insert_file(&mut self, f: &StoredFile) -> Result<()>;
    async fn get_file(&mut self, id: &str) -> Result<Option<StoredFile>>;
    /// Binds an upload of `owner_id` that no dossier holds yet (the GovStack flow uploads
    /// first) to a dossier's field and component; false if there is no such upload.
    async fn bind_file(&mut self, id: &str, owner_id: i64, dossier_id: i64, field: &str, component: &str) -> Result<bool>;
    async fn list_dossier_files(&mut self, dossier_id: i64) -> Result<Vec<StoredFile>>;
    /// Total bytes attached to a dossier.
    async fn dossier_files_size(&mut self, dossier_id: i64) -> Result<i64>;
    async fn delete_file(&mut self, id: &str) -> Result<bool>;
    /// Files created before `before` that no filed dossier holds (orphans and drafts' files).
    async fn stale_files(&mut self, before: DateTime<Utc>, limit: i64) -> Result<Vec<StoredFile>>;
}

#[async_trait]
pub trait ResultRepo: Send {
    /// The certification authorities, newest first (retired ones too: their results verify).
    async fn list_signing_cas(&mut self) -> Result<Vec<SigningCa>>;
    async fn add_signing_ca(&mut self, cert_der: &[u8], sealed_key: Option<&[u8]>, now: DateTime<Utc>) -> Result<i64>;
    /// Retires every CA but `keep`.
    async fn retire_signing_cas(&mut self, keep: i64, now: DateTime<Utc>) -> Result<()>;
    /// The officer's newest unrevoked credential.
    async fn current_credential(&mut self, account_id: i64) -> Result<Option<SigningCredential>>;
    async fn add_credential(&mut self, c: &SigningCredential) -> Result<i64>;
    async fn insert_result(&mut self, r: &IssuedResult) -> Result<()>;
    async fn get_result(&mut self, id: &str) -> Result<Option<IssuedResult>>;
    async fn find_result_by_sha256(&mut self, sha256: &str) -> Result<Option<IssuedResult>>;
    async fn list_results_of(&mut self, dossier_id: i64) -> Result<Vec<IssuedResult>>;
    /// The results of an applicant's dossiers, newest first (their record, for reuse).
    async fn list_results_of_applicant(&mut self, account_id: i64, limit: i64) -> Result<Vec<IssuedResult>>;
    async fn revoke_result(&mut self, id: &str, reason: &str, now: DateTime<Utc>) -> Result<bool>;
}

#[async_trait]
pub trait NoticeRepo: Send {
    /// Records a notification and, with an address, queues its mail in the same transaction.
    async fn notify(&mut self, n: &NewNotice) -> Result<()>;
    async fn list_notifications(&mut self, account_id: i64, limit: i64) -> Result<Vec<Notification>>;
    async fn mark_notifications_read(&mut self, account_id: i64, now: DateTime<Utc>) -> Result<()>;
    /// Takes up to `limit` due mails, hiding them from other workers until `lease_until`.
    async fn claim_outbox(&mut self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: i64) -> Result<Vec<OutboxRow>>;
    async fn outbox_sent(&mut self, id: i64, at: DateTime<Utc>) -> Result<()>;
    /// Records a failed attempt; `next` None gives up.
    async fn outbox_failed(&mut self, id: i64, attempts: i64, next: Option<DateTime<Utc>>, error: &str) -> Result<()>;
}

#[async_trait]
pub trait CalendarRepo: Send {
    /// Calendar overrides from `from` to `to` inclusive, by date.
    async fn list_calendar_days(&mut self, from: NaiveDate, to: NaiveDate) -> Result<Vec<CalendarDay>>;
    /// Sets (inserts or replaces) one date and bumps the calendar generation.
    async fn set_calendar_day(&mut self, day: &CalendarDay) -> Result<()>;
    /// Removes one date's override (back to the weekend rule); false if there was none.
    async fn delete_calendar_day(&mut self, day: NaiveDate) -> Result<bool>;
    /// Changes with every calendar write (app servers rebuild their calendar when it moves).
    async fn calendar_generation(&mut self) -> Result<i64>;
    /// Every service point's own office hours: (agency id, "HH:MM-HH:MM,HH:MM-HH:MM").
    async fn list_office_hours(&mut self) -> Result<Vec<(i64, String)>>;
    /// Sets or (None) removes an agency's office hours and bumps the calendar generation.
    async fn set_office_hours(&mut self, agency_id: i64, periods: Option<&str>, now: DateTime<Utc>) -> Result<()>;
}

#[async_trait]
pub trait SettingsRepo: Send {
    async fn get_setting(&mut self, key: &str) -> Result<Option<String>>;
    async fn set_setting(&mut self, key: &str, value: &str) -> Result<()>;
}
