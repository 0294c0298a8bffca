//! Applying a validated catalog document inside one transaction.

use crate::{Repo, Result, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tl_core::catalog_doc::CatalogDocument;

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub fields: usize,
    pub admin_units: usize,
    pub agencies: usize,
    pub procedures: usize,
    /// Versions added by this import.
    pub versions_added: usize,
    /// Versions already stored exactly as in the file (a re-import changes nothing).
    pub versions_unchanged: usize,
}

/// Writes `doc` through `repo`. Existing versions are immutable: a version with the same
/// effective date and the same content is skipped, one with different content is a conflict
/// (publish a new version with a new effective date instead). The caller commits or drops
/// the transaction, so an import is all or nothing.
pub async fn apply_catalog(repo: &mut dyn Repo, doc: &CatalogDocument, by: Option<i64>, now: DateTime<Utc>) -> Result<ImportReport> {
    let mut report = ImportReport::default();
    for f in &doc.fields {
        repo.upsert_field(f).await?;
        report.fields += 1;
    }
    // Parents before children: sort by code length (province 2, district 3, commune 5).
    let mut units: Vec<_> = doc.admin_units.iter().collect();
    units.sort_by_key(|u| u.code.len());
    // Successors may point at units listed later; write units first without them.
    for u in &units {
        let mut bare = (*u).clone();
        bare.successors.clear();
        repo.upsert_admin_unit(&bare).await?;
    }
    for u in &units {
        if !u.successors.is_empty() {
            repo.upsert_admin_unit(u).await?;
        }
        report.admin_units += 1;
    }
    for a in &doc.agencies {
        repo.upsert_agency(a).await?;
        report.agencies += 1;
    }
    for p in &doc.procedures {
        report.procedures += 1;
        for v in &p.versions {
            match repo.get_version_body(&p.code, v.effective_from).await? {
                Some(existing) if &existing == v => report.versions_unchanged += 1,
                Some(_) => {
                    return Err(StoreError::Conflict(format!(
                        "procedure {} already has a different version effective from {}; versions are immutable, \
                         publish the change with a new effective date",
                        p.code, v.effective_from
                    )))
                }
                None => {
                    repo.add_procedure_version(&p.code, v, by, now).await?;
                    report.versions_added += 1;
                }
            }
        }
    }
    Ok(report)
}
