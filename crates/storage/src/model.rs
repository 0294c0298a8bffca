//! Rows the repositories return and inputs they take.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tl_core::account::AccountKind;
use tl_core::catalog::{AgencyLevel, Channel, I18nText, ProcedureVersion, ServiceLevel, TimeUnit};
use tl_core::dossier::DossierStatus;

#[derive(Debug, Clone, Serialize)]
pub struct FieldRow {
    pub code: String,
    pub name: I18nText,
    pub procedure_count: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgencyRow {
    pub id: i64,
    pub electronic_id: String,
    pub name: I18nText,
    pub level: AgencyLevel,
    pub parent_id: Option<i64>,
    pub parent_electronic_id: Option<String>,
    pub admin_unit: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

impl AgencyRow {
    /// Depth in the tree, from the number of groups in the electronic ID.
    pub fn depth(&self) -> usize {
        self.electronic_id.matches('.').count()
    }
}

/// A catalog search: folded terms, filters, a page.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Folded search terms (from `tl_core::text::terms`); empty lists everything.
    pub terms: Vec<String>,
    pub field: Option<String>,
    /// Electronic ID of an agency; its sub-agencies are included.
    pub agency: Option<String>,
    pub level: Option<ServiceLevel>,
    /// Procedures in force on this day.
    pub day: NaiveDate,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcedureSummary {
    pub code: String,
    pub version_no: i64,
    pub effective_from: NaiveDate,
    pub name: I18nText,
    pub field_code: String,
    pub field_name: I18nText,
    pub level: ServiceLevel,
    pub time_value: i64,
    pub time_unit: TimeUnit,
    pub agency_count: i64,
}

/// A procedure version in force, as the in-memory search index takes it.
#[derive(Debug, Clone)]
pub struct IndexedProcedure {
    pub summary: ProcedureSummary,
    pub search_name: String,
    pub search_body: String,
    pub agencies: Vec<String>,
}

impl IndexedProcedure {
    /// The document the in-memory search index takes.
    pub fn into_doc(self) -> tl_core::search::Doc<ProcedureSummary> {
        tl_core::search::Doc {
            name_chars: self.summary.name.vi.chars().count(),
            field: self.summary.field_code.clone(),
            level: self.summary.level.as_str(),
            name: self.search_name,
            body: self.search_body,
            agencies: self.agencies,
            payload: self.summary,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchPage {
    pub items: Vec<ProcedureSummary>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    /// True when no procedure had every term and the results match any term instead.
    pub relaxed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionRow {
    pub version_no: i64,
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
    pub name: I18nText,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcedureDetail {
    pub code: String,
    pub version_no: i64,
    pub effective_to: Option<NaiveDate>,
    pub version: ProcedureVersion,
    pub field_name: I18nText,
    pub agencies: Vec<AgencyRow>,
    pub versions: Vec<VersionRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    Disabled,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: i64,
    pub kind: AccountKind,
    pub login: String,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub agency_id: Option<i64>,
    pub status: AccountStatus,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub kind: AccountKind,
    pub login: String,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub password_hash: Option<String>,
    pub agency_id: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    pub kind: Option<AccountKind>,
    /// Folded text matched against login and name.
    pub text: Option<String>,
    pub limit: i64,
}

/// A link from an external identity provider's subject to an account.
#[derive(Debug, Clone)]
pub struct FederatedLink {
    pub provider: String,
    pub subject: String,
    pub account_id: i64,
    pub verified_at: DateTime<Utc>,
    pub claims: serde_json::Value,
}

/// A stored link to an identity provider. `verified_at` is when the provider first vouched
/// for the account's holder (the 766 index counts accounts verified by the national IdP).
#[derive(Debug, Clone, serde::Serialize)]
pub struct FederatedIdentity {
    pub provider: String,
    pub subject: String,
    pub verified_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id_hash: String,
    pub account_id: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub stage: SessionStage,
    /// How the holder authenticated (RFC 8176 values, space-separated: "pwd", "pwd otp", "fed").
    pub amr: String,
}

/// How far a session is through sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStage {
    /// Signed in.
    Full,
    /// The password was right; the second factor is awaited.
    SecondFactor,
    /// The password was right; the agency requires a second factor the officer has not set up.
    Enrol,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::SecondFactor => "second_factor",
            Self::Enrol => "enrol",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "full" => Self::Full,
            "second_factor" => Self::SecondFactor,
            "enrol" => Self::Enrol,
            _ => return None,
        })
    }
}

/// A session as its owner sees it in the list of their sessions.
#[derive(Debug, Clone, Serialize)]
pub struct SessionInfo {
    pub id_hash: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub amr: String,
}

/// An account's TOTP secret (sealed) and its state.
#[derive(Debug, Clone)]
pub struct TotpRecord {
    pub account_id: i64,
    pub secret_sealed: Vec<u8>,
    pub created_at: DateTime<Utc>,
    /// Set once the officer typed a first correct code; until then it is not a factor.
    pub confirmed_at: Option<DateTime<Utc>>,
    pub last_step: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id_hash: String,
    pub account_id: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub stage: SessionStage,
    pub amr: String,
}

#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub account_id: i64,
    pub name: String,
    pub token_hash: String,
    /// First characters of the token, shown to its owner to tell tokens apart.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    /// Who acted, readable even after the account is gone (login, "cli", "system").
    pub actor_label: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub detail: serde_json::Value,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub detail: serde_json::Value,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewDossier {
    pub procedure_code: String,
    pub version_no: i64,
    /// The agency that receives it (its electronic ID starts the dossier code).
    pub agency_id: i64,
    /// Whose dossier it is.
    pub applicant_id: i64,
    /// Who filled it (the applicant, an officer at the counter, a representative).
    pub acted_by_id: i64,
    pub channel: Channel,
    pub answers: serde_json::Value,
    pub idempotency_key: Option<String>,
    pub now: DateTime<Utc>,
}

/// A dossier to create and file at once.
#[derive(Debug, Clone)]
pub struct NewFiling {
    pub dossier: NewDossier,
    /// The receiving agency's electronic ID (starts the code).
    pub agency: tl_core::ids::AgencyId,
    /// The local day whose counter numbers it.
    pub day: chrono::NaiveDate,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dossier {
    pub id: i64,
    pub code: Option<String>,
    pub procedure_code: String,
    pub version_no: i64,
    pub agency_id: i64,
    pub agency_electronic_id: String,
    pub applicant_id: i64,
    pub acted_by_id: i64,
    pub channel: Channel,
    pub status: DossierStatus,
    pub answers: serde_json::Value,
    /// Bumped by every change; actions name the revision they were taken on.
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    /// When the complete dossier was received (the processing clock starts here).
    pub received_at: Option<DateTime<Utc>>,
    /// The appointed return moment (Form 01, or Form 04's new date).
    pub due_at: Option<DateTime<Utc>>,
    pub supplement_count: i64,
    /// Where the dossier is in its process after reception.
    pub flow: Flow,
}

/// A dossier's place in its process (None everywhere before reception and after the end).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Flow {
    /// The process step it waits at.
    pub step_id: Option<String>,
    /// The agency and role that must act on that step.
    pub step_agency_id: Option<i64>,
    pub step_role: Option<tl_core::account::Role>,
    pub step_started_at: Option<DateTime<Utc>>,
    pub step_due_at: Option<DateTime<Utc>>,
    /// Set while the clock is paused waiting for the applicant's supplement.
    pub paused_at: Option<DateTime<Utc>>,
    /// When an unanswered supplement request closes the dossier (15 working days).
    pub supplement_due_at: Option<DateTime<Utc>>,
    /// The Form 01 appointment, moved later by supplement pauses only.
    pub appointed_at: Option<DateTime<Utc>>,
    /// Form 04 delays issued (at most one).
    pub delay_count: i64,
    /// The 766 index's end: decided, returned, stopped or refused.
    pub finished_at: Option<DateTime<Utc>>,
    /// approved / refused / withdrawn / expired / not_accepted.
    pub outcome: Option<String>,
}

/// A back-office action: moves a dossier from one of `from` to `to` if it is still at
/// `expected_revision`, with its event; a conflict otherwise (another officer acted first).
#[derive(Debug, Clone)]
pub struct DossierAction {
    pub id: i64,
    pub expected_revision: i64,
    pub from: Vec<DossierStatus>,
    pub to: DossierStatus,
    /// The event's kind, e.g. `received`, `supplement_requested`, `refused`.
    pub kind: String,
    /// None for the system itself (e.g. closing an unanswered supplement request).
    pub actor_id: Option<i64>,
    pub detail: serde_json::Value,
    pub now: DateTime<Utc>,
    pub received_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    /// Counts one more supplement request.
    pub supplement: bool,
    /// The dossier's new place in its process; None leaves it as it is.
    pub flow: Option<Flow>,
    /// Closes the open control-sheet row: the decision taken and how timely it was.
    pub close_handoff: Option<HandoffClose>,
    /// Opens a control-sheet row for the step in `flow`, handed over by the actor.
    pub open_handoff: bool,
    /// Moves the open row's due moment (a pause ended).
    pub handoff_due: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct HandoffClose {
    /// A row that was never opened (reception: from filing to the decision), written whole.
    pub opened: Option<HandoffOpen>,
    pub decision: String,
    pub timeliness: tl_core::process::Timeliness,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct HandoffOpen {
    pub step_id: String,
    pub agency_id: i64,
    pub role: tl_core::account::Role,
    pub started_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
}

/// A row of the process control sheet (Form 06).
#[derive(Debug, Clone, Serialize)]
pub struct Handoff {
    pub id: i64,
    pub step_id: String,
    pub agency_id: i64,
    pub agency_name: String,
    pub role: tl_core::account::Role,
    pub started_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub giver_id: Option<i64>,
    pub giver_name: Option<String>,
    pub handler_id: Option<i64>,
    pub handler_name: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    pub decision: Option<String>,
    pub timeliness: Option<tl_core::process::Timeliness>,
    pub note: Option<String>,
}

/// What the processing inbox shows of a dossier.
#[derive(Debug, Clone, Serialize)]
pub struct InboxItem {
    pub dossier: Dossier,
    pub applicant_name: String,
    pub applicant_phone: Option<String>,
}

/// The inbox of one officer: the (role, agencies) pairs they may act for, and the filters.
#[derive(Debug, Clone, Default)]
pub struct InboxQuery {
    pub grants: Vec<(tl_core::account::Role, Vec<i64>)>,
    /// Only these statuses (default: processing ones, not those waiting for the applicant).
    pub statuses: Vec<tl_core::dossier::DossierStatus>,
    pub procedure_code: Option<String>,
    /// Step due before this moment (late, or due soon with a later bound).
    pub due_before: Option<DateTime<Utc>>,
    pub due_after: Option<DateTime<Utc>>,
    /// A dossier code prefix or part of the applicant's name (already case-folded by caller).
    pub search: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DossierEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub status: DossierStatus,
    pub actor_id: Option<i64>,
    pub detail: serde_json::Value,
}

/// An uploaded file and where its bytes are.
#[derive(Debug, Clone, Serialize)]
pub struct StoredFile {
    /// Random, unguessable: it appears in answers and URLs.
    pub id: String,
    pub owner_id: i64,
    pub dossier_id: Option<i64>,
    /// The form field it was uploaded for.
    pub field: String,
    /// The dossier component (thành phần hồ sơ) it satisfies.
    pub component: String,
    /// The name it had on the citizen's device.
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    #[serde(skip)]
    pub storage_key: String,
    pub created_at: DateTime<Utc>,
    /// A paper component scanned at the counter (số hóa), not uploaded by the applicant.
    pub digitised: bool,
}

impl StoredFile {
    /// Whether this row owns its bytes (an upload, a scan). A document reused from the data
    /// store points at the stored original's bytes (`storage_key` ≠ `id`), which deleting the
    /// copy must never remove.
    pub fn owns_blob(&self) -> bool {
        self.storage_key == self.id
    }
}

/// One date of the working calendar that differs from the weekend rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarDay {
    pub day: chrono::NaiveDate,
    pub kind: tl_core::calendar::DayKind,
    pub name: String,
    pub confirmed_by: Option<i64>,
    pub confirmed_at: DateTime<Utc>,
}

/// A certification authority officers' signing certificates are issued under.
#[derive(Debug, Clone)]
pub struct SigningCa {
    pub id: i64,
    pub cert_der: Vec<u8>,
    /// The CA's private key sealed with the configured key-encryption key; None for a CA whose
    /// key lives elsewhere (only its certificate is trusted here).
    pub sealed_key: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// An officer's signing certificate with its sealed private key.
#[derive(Debug, Clone)]
pub struct SigningCredential {
    pub id: i64,
    pub account_id: i64,
    pub ca_id: i64,
    pub cert_der: Vec<u8>,
    pub sealed_key: Vec<u8>,
    pub not_after: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// An issued electronic result (or a refusal letter), signed.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedResult {
    /// Random and public: it is in the QR code of the document.
    pub id: String,
    pub dossier_id: i64,
    /// `result` or `refusal`.
    pub kind: String,
    pub number: String,
    pub title: String,
    #[serde(skip)]
    pub storage_key: String,
    pub size: i64,
    pub sha256: String,
    pub signer_id: i64,
    pub signer_name: String,
    pub agency_name: String,
    pub cert_serial: String,
    pub signed_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: i64,
    pub account_id: i64,
    pub dossier_id: Option<i64>,
    pub kind: String,
    pub title_vi: String,
    pub title_en: String,
    pub body_vi: String,
    pub body_en: String,
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// A mail waiting in the outbox.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub to_addr: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: Option<String>,
    pub attempts: i64,
}

/// What an action tells the applicant: in the app always, by mail when they have an address.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub account_id: i64,
    pub dossier_id: Option<i64>,
    pub kind: String,
    pub title_vi: String,
    pub title_en: String,
    pub body_vi: String,
    pub body_en: String,
    pub link: Option<String>,
    /// Mail it to this address too.
    pub email: Option<String>,
    pub now: DateTime<Utc>,
}

/// A member of a business account (an employee acting for it), as listed.
#[derive(Debug, Clone, Serialize)]
pub struct MemberRow {
    pub business_id: i64,
    pub business_login: String,
    pub business_name: String,
    pub member_id: i64,
    pub member_login: String,
    pub member_name: String,
    pub added_at: DateTime<Utc>,
}

/// A citizen's authorisation for another person or organisation to file one procedure for them.
#[derive(Debug, Clone)]
pub struct NewAuthorisation {
    pub grantor_id: i64,
    pub grantee_id: i64,
    pub procedure_code: String,
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
    pub note: Option<String>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuthorisationRow {
    pub id: i64,
    pub grantor_id: i64,
    pub grantor_login: String,
    pub grantor_name: String,
    pub grantee_id: i64,
    pub grantee_login: String,
    pub grantee_name: String,
    pub procedure_code: String,
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}
