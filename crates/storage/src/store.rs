//! The citizen's data store, consent records and dossier provenance — SQL shared by both
//! backends. The rules (what a source may overwrite, what may be deleted, how consents chain)
//! are in `tl_core::personal`.

use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tl_core::personal::{ConsentState, LawfulBasis, Relation, Source};

#[derive(Debug, Clone, Serialize)]
pub struct StorePerson {
    pub id: i64,
    pub account_id: i64,
    pub relation: Relation,
    pub name: String,
    pub personal_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoreItem {
    pub id: i64,
    pub person_id: i64,
    pub account_id: i64,
    pub item: String,
    pub value: serde_json::Value,
    pub source: Source,
    pub dossier_id: Option<i64>,
    /// The dossier's code, when it came from one.
    pub dossier_code: Option<String>,
    pub agency_id: Option<i64>,
    pub agency_name: Option<String>,
    pub valid_until: Option<NaiveDate>,
    pub updated_at: DateTime<Utc>,
}

/// A value to store, with where it came from.
#[derive(Debug, Clone)]
pub struct NewItem<'a> {
    pub person_id: i64,
    pub account_id: i64,
    pub item: &'a str,
    pub value: &'a serde_json::Value,
    pub source: Source,
    pub dossier_id: Option<i64>,
    pub agency_id: Option<i64>,
    pub valid_until: Option<NaiveDate>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoreDocument {
    pub id: i64,
    pub account_id: i64,
    pub person_id: Option<i64>,
    /// A component key, or `result:<procedure code>`.
    pub kind: String,
    pub title: String,
    pub file_id: Option<String>,
    pub result_id: Option<String>,
    pub dossier_id: Option<i64>,
    pub dossier_code: Option<String>,
    pub agency_id: Option<i64>,
    pub agency_name: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub valid_until: Option<NaiveDate>,
}

impl StoreDocument {
    pub fn is_result(&self) -> bool {
        self.result_id.is_some()
    }
    /// Usable on `day`: not expired.
    pub fn valid_on(&self, day: NaiveDate) -> bool {
        self.valid_until.is_none_or(|u| u >= day)
    }
}

#[derive(Debug, Clone)]
pub struct NewDocument<'a> {
    pub account_id: i64,
    pub person_id: Option<i64>,
    pub kind: &'a str,
    pub title: &'a str,
    pub file_id: Option<&'a str>,
    pub result_id: Option<&'a str>,
    pub dossier_id: Option<i64>,
    pub agency_id: Option<i64>,
    pub issued_at: DateTime<Utc>,
    pub valid_until: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DataAgreement {
    pub id: String,
    pub version: i64,
    pub name_vi: String,
    pub name_en: String,
    pub purpose_vi: String,
    pub purpose_en: String,
    pub controller: String,
    /// The OAuth client the data is shared with; None: the portal itself (pre-filling).
    pub recipient: Option<String>,
    /// Item keys, and `documents` for the documents of the store.
    pub items: Vec<String>,
    pub lawful_basis: LawfulBasis,
    /// How long a consent lasts.
    pub months: i64,
    pub effective_from: NaiveDate,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsentRecord {
    pub id: i64,
    pub account_id: i64,
    pub agreement_id: String,
    pub agreement_version: i64,
    pub revision: i64,
    pub state: ConsentState,
    pub at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub channel: String,
    pub prev_hash: String,
    pub hash: String,
}

impl ConsentRecord {
    /// Granted and not expired at `now`.
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.state == ConsentState::Granted && self.expires_at.is_none_or(|e| e > now)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    pub dossier_id: i64,
    pub field: String,
    pub item_id: Option<i64>,
    pub document_id: Option<i64>,
    /// The value offered (pre-fill), to compare with what was filed.
    pub value: Option<serde_json::Value>,
    pub source: Source,
    pub agency_name: Option<String>,
    /// Frozen when the dossier is filed.
    pub origin: Option<tl_core::personal::Origin>,
}

#[async_trait]
pub trait StoreRepo: Send {
    /// The store's owner as a person of the store (created the first time).
    async fn store_self(&mut self, account_id: i64, name: &str, now: DateTime<Utc>) -> Result<i64>;
    /// A family member: the one with this personal ID number, else this relation and name
    /// (case and diacritics as typed), else a new one.
    async fn store_person(
        &mut self,
        account_id: i64,
        relation: Relation,
        name: &str,
        personal_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    async fn list_people(&mut self, account_id: i64) -> Result<Vec<StorePerson>>;
    /// Stores a value unless a stronger source already holds one; true if written.
    async fn put_item(&mut self, item: &NewItem<'_>) -> Result<bool>;
    async fn list_items(&mut self, account_id: i64) -> Result<Vec<StoreItem>>;
    /// The items about one person of an account's store.
    async fn list_person_items(&mut self, account_id: i64, person_id: i64) -> Result<Vec<StoreItem>>;
    async fn get_item(&mut self, id: i64) -> Result<Option<StoreItem>>;
    /// Corrects a self-declared value of the owner's; false if not theirs or not self-declared.
    async fn correct_item(&mut self, account_id: i64, id: i64, value: &serde_json::Value, now: DateTime<Utc>) -> Result<bool>;
    async fn delete_item(&mut self, account_id: i64, id: i64) -> Result<bool>;
    /// Adds a document; an already stored file or result is not added twice (returns its id).
    async fn add_document(&mut self, d: &NewDocument<'_>) -> Result<i64>;
    async fn list_documents(&mut self, account_id: i64) -> Result<Vec<StoreDocument>>;
    /// An account's documents of one kind, newest first.
    async fn list_documents_of_kind(&mut self, account_id: i64, kind: &str) -> Result<Vec<StoreDocument>>;
    async fn get_document(&mut self, id: i64) -> Result<Option<StoreDocument>>;
    async fn delete_document(&mut self, account_id: i64, id: i64, now: DateTime<Utc>) -> Result<bool>;

    /// The version of an agreement in force on `day`.
    async fn data_agreement(&mut self, id: &str, day: NaiveDate) -> Result<Option<DataAgreement>>;
    async fn list_data_agreements(&mut self, day: NaiveDate) -> Result<Vec<DataAgreement>>;
    /// Adds an agreement, or a new version of one (never edits a version in place).
    async fn add_data_agreement(&mut self, a: &DataAgreement) -> Result<()>;
    /// Records a decision as the next revision, chained to the previous one.
    async fn record_consent(
        &mut self,
        account_id: i64,
        agreement: &DataAgreement,
        state: ConsentState,
        channel: &str,
        now: DateTime<Utc>,
    ) -> Result<ConsentRecord>;
    /// The latest revision for an agreement.
    async fn current_consent(&mut self, account_id: i64, agreement_id: &str) -> Result<Option<ConsentRecord>>;
    /// Every revision of every agreement of the account, oldest first.
    async fn consent_history(&mut self, account_id: i64) -> Result<Vec<ConsentRecord>>;

    async fn set_provenance(&mut self, rows: &[Provenance]) -> Result<()>;
    async fn list_provenance(&mut self, dossier_id: i64) -> Result<Vec<Provenance>>;
    async fn freeze_origin(&mut self, dossier_id: i64, field: &str, origin: tl_core::personal::Origin) -> Result<()>;
}

/// Checks each account-and-agreement chain of consent revisions: the first record whose hash
/// does not follow from its fields and its predecessor, or that has a revision missing before it.
pub fn broken_consent(history: &[ConsentRecord]) -> Option<&ConsentRecord> {
    use std::collections::HashMap;
    let mut last: HashMap<&str, (&str, i64)> = HashMap::new();
    for r in history {
        let (prev, rev) = last.get(r.agreement_id.as_str()).copied().unwrap_or(("", 0));
        let at = r.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let expect = tl_core::personal::consent_hash(prev, r.account_id, &r.agreement_id, r.agreement_version, r.revision, r.state, &at);
        if r.revision != rev + 1 || r.prev_hash != prev || r.hash != expect {
            return Some(r);
        }
        last.insert(&r.agreement_id, (&r.hash, r.revision));
    }
    None
}

macro_rules! store_impl {
    ($repo:ident, $row:ty) => {
        mod store_impl {
            use super::$repo;
            use async_trait::async_trait;
            use chrono::{DateTime, NaiveDate, Utc};
            use sqlx::Row;
            use tl_core::personal::{ConsentState, LawfulBasis, Origin, Relation, Source};
            use $crate::store::*;
            use $crate::{Result, StoreError};

            fn corrupt(what: &str, v: &str) -> StoreError {
                StoreError::Corrupt(format!("unknown {what}: {v}"))
            }

            fn person_row(r: &$row) -> Result<StorePerson> {
                let rel: String = r.try_get("relation")?;
                Ok(StorePerson {
                    id: r.try_get("id")?,
                    account_id: r.try_get("account_id")?,
                    relation: Relation::parse(&rel).ok_or_else(|| corrupt("relation", &rel))?,
                    name: r.try_get("name")?,
                    personal_id: r.try_get("personal_id")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            const ITEM_SELECT: &str = "SELECT i.id, i.person_id, i.account_id, i.item, i.value, i.source, i.dossier_id, \
                d.code AS dossier_code, i.agency_id, a.name_vi AS agency_name, i.valid_until, i.updated_at FROM store_items i \
                LEFT JOIN dossiers d ON d.id = i.dossier_id LEFT JOIN agencies a ON a.id = i.agency_id";

            fn item_row(r: &$row) -> Result<StoreItem> {
                let src: String = r.try_get("source")?;
                let value: String = r.try_get("value")?;
                Ok(StoreItem {
                    id: r.try_get("id")?,
                    person_id: r.try_get("person_id")?,
                    account_id: r.try_get("account_id")?,
                    item: r.try_get("item")?,
                    value: serde_json::from_str(&value).map_err(|_| corrupt("item value", &value))?,
                    source: Source::parse(&src).ok_or_else(|| corrupt("source", &src))?,
                    dossier_id: r.try_get("dossier_id")?,
                    dossier_code: r.try_get("dossier_code")?,
                    agency_id: r.try_get("agency_id")?,
                    agency_name: r.try_get("agency_name")?,
                    valid_until: r.try_get("valid_until")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }

            const DOC_SELECT: &str = "SELECT s.id, s.account_id, s.person_id, s.kind, s.title, s.file_id, s.result_id, s.dossier_id, \
                d.code AS dossier_code, s.agency_id, a.name_vi AS agency_name, s.issued_at, s.valid_until FROM store_documents s \
                LEFT JOIN dossiers d ON d.id = s.dossier_id LEFT JOIN agencies a ON a.id = s.agency_id";

            fn doc_row(r: &$row) -> Result<StoreDocument> {
                Ok(StoreDocument {
                    id: r.try_get("id")?,
                    account_id: r.try_get("account_id")?,
                    person_id: r.try_get("person_id")?,
                    kind: r.try_get("kind")?,
                    title: r.try_get("title")?,
                    file_id: r.try_get("file_id")?,
                    result_id: r.try_get("result_id")?,
                    dossier_id: r.try_get("dossier_id")?,
                    dossier_code: r.try_get("dossier_code")?,
                    agency_id: r.try_get("agency_id")?,
                    agency_name: r.try_get("agency_name")?,
                    issued_at: r.try_get("issued_at")?,
                    valid_until: r.try_get("valid_until")?,
                })
            }

            fn agreement_row(r: &$row) -> Result<DataAgreement> {
                let basis: String = r.try_get("lawful_basis")?;
                let items: String = r.try_get("items")?;
                Ok(DataAgreement {
                    id: r.try_get("id")?,
                    version: r.try_get("version")?,
                    name_vi: r.try_get("name_vi")?,
                    name_en: r.try_get("name_en")?,
                    purpose_vi: r.try_get("purpose_vi")?,
                    purpose_en: r.try_get("purpose_en")?,
                    controller: r.try_get("controller")?,
                    recipient: r.try_get("recipient")?,
                    items: serde_json::from_str(&items).map_err(|_| corrupt("agreement items", &items))?,
                    lawful_basis: LawfulBasis::parse(&basis).ok_or_else(|| corrupt("lawful basis", &basis))?,
                    months: r.try_get("months")?,
                    effective_from: r.try_get("effective_from")?,
                })
            }

            const CONSENT_COLS: &str =
                "id, account_id, agreement_id, agreement_version, revision, state, at, expires_at, channel, prev_hash, hash";

            fn consent_row(r: &$row) -> Result<ConsentRecord> {
                let state: String = r.try_get("state")?;
                Ok(ConsentRecord {
                    id: r.try_get("id")?,
                    account_id: r.try_get("account_id")?,
                    agreement_id: r.try_get("agreement_id")?,
                    agreement_version: r.try_get("agreement_version")?,
                    revision: r.try_get("revision")?,
                    state: ConsentState::parse(&state).ok_or_else(|| corrupt("consent state", &state))?,
                    at: r.try_get("at")?,
                    expires_at: r.try_get("expires_at")?,
                    channel: r.try_get("channel")?,
                    prev_hash: r.try_get("prev_hash")?,
                    hash: r.try_get("hash")?,
                })
            }

            fn provenance_row(r: &$row) -> Result<Provenance> {
                let src: String = r.try_get("source")?;
                let value: Option<String> = r.try_get("value")?;
                let origin: Option<String> = r.try_get("origin")?;
                Ok(Provenance {
                    dossier_id: r.try_get("dossier_id")?,
                    field: r.try_get("field")?,
                    item_id: r.try_get("item_id")?,
                    document_id: r.try_get("document_id")?,
                    value: value.map(|v| serde_json::from_str(&v).map_err(|_| corrupt("provenance value", &v))).transpose()?,
                    source: Source::parse(&src).ok_or_else(|| corrupt("source", &src))?,
                    agency_name: r.try_get("agency_name")?,
                    origin: origin.and_then(|o| [Origin::Prefilled, Origin::Changed, Origin::Typed].into_iter().find(|x| x.as_str() == o)),
                })
            }

            #[async_trait]
            impl $crate::store::StoreRepo for $repo {
                async fn store_self(&mut self, account_id: i64, name: &str, now: DateTime<Utc>) -> Result<i64> {
                    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM store_people WHERE account_id = $1 AND relation = 'self'")
                        .bind(account_id)
                        .fetch_optional(self.conn())
                        .await?;
                    if let Some(id) = found {
                        return Ok(id);
                    }
                    Ok(sqlx::query_scalar(
                        "INSERT INTO store_people (account_id, relation, name, created_at) VALUES ($1, 'self', $2, $3) RETURNING id",
                    )
                    .bind(account_id)
                    .bind(name)
                    .bind(now)
                    .fetch_one(self.conn())
                    .await?)
                }

                async fn store_person(
                    &mut self,
                    account_id: i64,
                    relation: Relation,
                    name: &str,
                    personal_id: Option<&str>,
                    now: DateTime<Utc>,
                ) -> Result<i64> {
                    if relation == Relation::Own {
                        return self.store_self(account_id, name, now).await;
                    }
                    if let Some(pid) = personal_id {
                        let found: Option<i64> =
                            sqlx::query_scalar("SELECT id FROM store_people WHERE account_id = $1 AND personal_id = $2 ORDER BY id LIMIT 1")
                                .bind(account_id)
                                .bind(pid)
                                .fetch_optional(self.conn())
                                .await?;
                        if let Some(id) = found {
                            return Ok(id);
                        }
                    }
                    let found: Option<i64> = sqlx::query_scalar(
                        "SELECT id FROM store_people WHERE account_id = $1 AND relation = $2 AND name = $3 ORDER BY id LIMIT 1",
                    )
                    .bind(account_id)
                    .bind(relation.as_str())
                    .bind(name)
                    .fetch_optional(self.conn())
                    .await?;
                    if let Some(id) = found {
                        if let Some(pid) = personal_id {
                            sqlx::query("UPDATE store_people SET personal_id = $2 WHERE id = $1 AND personal_id IS NULL")
                                .bind(id)
                                .bind(pid)
                                .execute(self.conn())
                                .await?;
                        }
                        return Ok(id);
                    }
                    Ok(sqlx::query_scalar(
                        "INSERT INTO store_people (account_id, relation, name, personal_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    )
                    .bind(account_id)
                    .bind(relation.as_str())
                    .bind(name)
                    .bind(personal_id)
                    .bind(now)
                    .fetch_one(self.conn())
                    .await?)
                }

                async fn list_people(&mut self, account_id: i64) -> Result<Vec<StorePerson>> {
                    let rows = sqlx::query(
                        "SELECT id, account_id, relation, name, personal_id, created_at FROM store_people WHERE account_id = $1 \
                         ORDER BY CASE WHEN relation = 'self' THEN 0 ELSE 1 END, id",
                    )
                    .bind(account_id)
                    .fetch_all(self.conn())
                    .await?;
                    rows.iter().map(person_row).collect()
                }

                async fn put_item(&mut self, i: &NewItem<'_>) -> Result<bool> {
                    let value = i.value.to_string();
                    let existing: Option<(i64, String)> = sqlx::query_as("SELECT id, source FROM store_items WHERE person_id = $1 AND item = $2")
                        .bind(i.person_id)
                        .bind(i.item)
                        .fetch_optional(self.conn())
                        .await?;
                    match existing {
                        None => {
                            sqlx::query(
                                "INSERT INTO store_items (person_id, account_id, item, value, source, dossier_id, agency_id, valid_until, updated_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                            )
                            .bind(i.person_id)
                            .bind(i.account_id)
                            .bind(i.item)
                            .bind(&value)
                            .bind(i.source.as_str())
                            .bind(i.dossier_id)
                            .bind(i.agency_id)
                            .bind(i.valid_until)
                            .bind(i.now)
                            .execute(self.conn())
                            .await?;
                            Ok(true)
                        }
                        Some((id, old)) => {
                            let old = Source::parse(&old).ok_or_else(|| corrupt("source", &old))?;
                            if old.rank() > i.source.rank() {
                                return Ok(false);
                            }
                            sqlx::query(
                                "UPDATE store_items SET value = $2, source = $3, dossier_id = $4, agency_id = $5, valid_until = $6, \
                                 updated_at = $7 WHERE id = $1",
                            )
                            .bind(id)
                            .bind(&value)
                            .bind(i.source.as_str())
                            .bind(i.dossier_id)
                            .bind(i.agency_id)
                            .bind(i.valid_until)
                            .bind(i.now)
                            .execute(self.conn())
                            .await?;
                            Ok(true)
                        }
                    }
                }

                async fn list_items(&mut self, account_id: i64) -> Result<Vec<StoreItem>> {
                    let sql = format!("{ITEM_SELECT} WHERE i.account_id = $1 ORDER BY i.person_id, i.id");
                    let rows = sqlx::query(&sql).bind(account_id).fetch_all(self.conn()).await?;
                    rows.iter().map(item_row).collect()
                }

                async fn list_person_items(&mut self, account_id: i64, person_id: i64) -> Result<Vec<StoreItem>> {
                    let sql = format!("{ITEM_SELECT} WHERE i.person_id = $1 AND i.account_id = $2 ORDER BY i.id");
                    let rows = sqlx::query(&sql).bind(person_id).bind(account_id).fetch_all(self.conn()).await?;
                    rows.iter().map(item_row).collect()
                }

                async fn get_item(&mut self, id: i64) -> Result<Option<StoreItem>> {
                    let sql = format!("{ITEM_SELECT} WHERE i.id = $1");
                    sqlx::query(&sql).bind(id).fetch_optional(self.conn()).await?.as_ref().map(item_row).transpose()
                }

                async fn correct_item(&mut self, account_id: i64, id: i64, value: &serde_json::Value, now: DateTime<Utc>) -> Result<bool> {
                    let r = sqlx::query(
                        "UPDATE store_items SET value = $3, updated_at = $4 WHERE id = $1 AND account_id = $2 AND source = 'self_declared'",
                    )
                    .bind(id)
                    .bind(account_id)
                    .bind(value.to_string())
                    .bind(now)
                    .execute(self.conn())
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn delete_item(&mut self, account_id: i64, id: i64) -> Result<bool> {
                    let r = sqlx::query("DELETE FROM store_items WHERE id = $1 AND account_id = $2 AND source <> 'result'")
                        .bind(id)
                        .bind(account_id)
                        .execute(self.conn())
                        .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn add_document(&mut self, d: &NewDocument<'_>) -> Result<i64> {
                    let found: Option<i64> = sqlx::query_scalar(
                        "SELECT id FROM store_documents WHERE (file_id IS NOT NULL AND file_id = $1) OR (result_id IS NOT NULL AND result_id = $2)",
                    )
                    .bind(d.file_id)
                    .bind(d.result_id)
                    .fetch_optional(self.conn())
                    .await?;
                    if let Some(id) = found {
                        return Ok(id);
                    }
                    Ok(sqlx::query_scalar(
                        "INSERT INTO store_documents (account_id, person_id, kind, title, file_id, result_id, dossier_id, agency_id, issued_at, \
                         valid_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                    )
                    .bind(d.account_id)
                    .bind(d.person_id)
                    .bind(d.kind)
                    .bind(d.title)
                    .bind(d.file_id)
                    .bind(d.result_id)
                    .bind(d.dossier_id)
                    .bind(d.agency_id)
                    .bind(d.issued_at)
                    .bind(d.valid_until)
                    .fetch_one(self.conn())
                    .await?)
                }

                async fn list_documents(&mut self, account_id: i64) -> Result<Vec<StoreDocument>> {
                    let sql = format!("{DOC_SELECT} WHERE s.account_id = $1 AND s.deleted_at IS NULL ORDER BY s.issued_at DESC, s.id DESC");
                    let rows = sqlx::query(&sql).bind(account_id).fetch_all(self.conn()).await?;
                    rows.iter().map(doc_row).collect()
                }

                async fn list_documents_of_kind(&mut self, account_id: i64, kind: &str) -> Result<Vec<StoreDocument>> {
                    let sql = format!(
                        "{DOC_SELECT} WHERE s.account_id = $1 AND s.kind = $2 AND s.deleted_at IS NULL ORDER BY s.issued_at DESC, s.id DESC"
                    );
                    let rows = sqlx::query(&sql).bind(account_id).bind(kind).fetch_all(self.conn()).await?;
                    rows.iter().map(doc_row).collect()
                }

                async fn get_document(&mut self, id: i64) -> Result<Option<StoreDocument>> {
                    let sql = format!("{DOC_SELECT} WHERE s.id = $1 AND s.deleted_at IS NULL");
                    sqlx::query(&sql).bind(id).fetch_optional(self.conn()).await?.as_ref().map(doc_row).transpose()
                }

                async fn delete_document(&mut self, account_id: i64, id: i64, now: DateTime<Utc>) -> Result<bool> {
                    let r = sqlx::query(
                        "UPDATE store_documents SET deleted_at = $3 WHERE id = $1 AND account_id = $2 AND result_id IS NULL AND deleted_at IS NULL",
                    )
                    .bind(id)
                    .bind(account_id)
                    .bind(now)
                    .execute(self.conn())
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn data_agreement(&mut self, id: &str, day: NaiveDate) -> Result<Option<DataAgreement>> {
                    sqlx::query(
                        "SELECT * FROM data_agreements WHERE id = $1 AND effective_from <= $2 ORDER BY effective_from DESC, version DESC LIMIT 1",
                    )
                    .bind(id)
                    .bind(day)
                    .fetch_optional(self.conn())
                    .await?
                    .as_ref()
                    .map(agreement_row)
                    .transpose()
                }

                async fn list_data_agreements(&mut self, day: NaiveDate) -> Result<Vec<DataAgreement>> {
                    let rows = sqlx::query("SELECT * FROM data_agreements WHERE effective_from <= $1 ORDER BY id, effective_from DESC, version DESC")
                        .bind(day)
                        .fetch_all(self.conn())
                        .await?;
                    let mut out: Vec<DataAgreement> = vec![];
                    for r in &rows {
                        let a = agreement_row(r)?;
                        if out.last().is_none_or(|l| l.id != a.id) {
                            out.push(a);
                        }
                    }
                    Ok(out)
                }

                async fn add_data_agreement(&mut self, a: &DataAgreement) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO data_agreements (id, version, name_vi, name_en, purpose_vi, purpose_en, controller, recipient, items, \
                         lawful_basis, months, effective_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    )
                    .bind(&a.id)
                    .bind(a.version)
                    .bind(&a.name_vi)
                    .bind(&a.name_en)
                    .bind(&a.purpose_vi)
                    .bind(&a.purpose_en)
                    .bind(&a.controller)
                    .bind(&a.recipient)
                    .bind(serde_json::to_string(&a.items).expect("strings serialise"))
                    .bind(a.lawful_basis.as_str())
                    .bind(a.months)
                    .bind(a.effective_from)
                    .execute(self.conn())
                    .await?;
                    Ok(())
                }

                async fn record_consent(
                    &mut self,
                    account_id: i64,
                    agreement: &DataAgreement,
                    state: ConsentState,
                    channel: &str,
                    now: DateTime<Utc>,
                ) -> Result<ConsentRecord> {
                    // Microseconds: what both databases keep exactly, so the hash can be recomputed.
                    let now = DateTime::<Utc>::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
                    let last = self.current_consent(account_id, &agreement.id).await?;
                    let (prev, revision) = last.map_or((String::new(), 1), |l| (l.hash, l.revision + 1));
                    let at = now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                    let hash = tl_core::personal::consent_hash(&prev, account_id, &agreement.id, agreement.version, revision, state, &at);
                    let expires_at = (state == ConsentState::Granted)
                        .then(|| now.checked_add_months(chrono::Months::new(agreement.months.clamp(1, 1200) as u32)))
                        .flatten();
                    // The unique (account, agreement, revision) makes a concurrent decision fail
                    // rather than fork the chain.
                    let sql = format!(
                        "INSERT INTO consents (account_id, agreement_id, agreement_version, revision, state, at, expires_at, channel, prev_hash, hash) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {CONSENT_COLS}"
                    );
                    let row = sqlx::query(&sql)
                        .bind(account_id)
                        .bind(&agreement.id)
                        .bind(agreement.version)
                        .bind(revision)
                        .bind(state.as_str())
                        .bind(now)
                        .bind(expires_at)
                        .bind(channel)
                        .bind(&prev)
                        .bind(&hash)
                        .fetch_one(self.conn())
                        .await?;
                    consent_row(&row)
                }

                async fn current_consent(&mut self, account_id: i64, agreement_id: &str) -> Result<Option<ConsentRecord>> {
                    let sql = format!(
                        "SELECT {CONSENT_COLS} FROM consents WHERE account_id = $1 AND agreement_id = $2 ORDER BY revision DESC LIMIT 1"
                    );
                    sqlx::query(&sql).bind(account_id).bind(agreement_id).fetch_optional(self.conn()).await?.as_ref().map(consent_row).transpose()
                }

                async fn consent_history(&mut self, account_id: i64) -> Result<Vec<ConsentRecord>> {
                    let sql = format!("SELECT {CONSENT_COLS} FROM consents WHERE account_id = $1 ORDER BY agreement_id, revision");
                    let rows = sqlx::query(&sql).bind(account_id).fetch_all(self.conn()).await?;
                    rows.iter().map(consent_row).collect()
                }

                async fn set_provenance(&mut self, rows: &[Provenance]) -> Result<()> {
                    for p in rows {
                        sqlx::query("DELETE FROM dossier_provenance WHERE dossier_id = $1 AND field = $2")
                            .bind(p.dossier_id)
                            .bind(&p.field)
                            .execute(self.conn())
                            .await?;
                        sqlx::query(
                            "INSERT INTO dossier_provenance (dossier_id, field, item_id, document_id, value, source, agency_name, origin) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        )
                        .bind(p.dossier_id)
                        .bind(&p.field)
                        .bind(p.item_id)
                        .bind(p.document_id)
                        .bind(p.value.as_ref().map(|v| v.to_string()))
                        .bind(p.source.as_str())
                        .bind(&p.agency_name)
                        .bind(p.origin.map(|o| o.as_str()))
                        .execute(self.conn())
                        .await?;
                    }
                    Ok(())
                }

                async fn list_provenance(&mut self, dossier_id: i64) -> Result<Vec<Provenance>> {
                    let rows = sqlx::query(
                        "SELECT dossier_id, field, item_id, document_id, value, source, agency_name, origin FROM dossier_provenance \
                         WHERE dossier_id = $1 ORDER BY field",
                    )
                    .bind(dossier_id)
                    .fetch_all(self.conn())
                    .await?;
                    rows.iter().map(provenance_row).collect()
                }

                async fn freeze_origin(&mut self, dossier_id: i64, field: &str, origin: Origin) -> Result<()> {
                    sqlx::query("UPDATE dossier_provenance SET origin = $3 WHERE dossier_id = $1 AND field = $2")
                        .bind(dossier_id)
                        .bind(field)
                        .bind(origin.as_str())
                        .execute(self.conn())
                        .await?;
                    Ok(())
                }
            }
        }
    };
}
pub(crate) use store_impl;
