//! `thanglong data agreement add`: a data agreement (what a purpose uses, on which lawful basis,
//! for how long), e.g. sharing with a partner system's OAuth client. A new version of an
//! existing agreement is added beside the old one; citizens' consents name the version.

use crate::config::Config;
use crate::Common;
use anyhow::{bail, Context};
use clap::Subcommand;
use tl_core::personal::LawfulBasis;
use tl_storage::store::DataAgreement;
use tl_storage::AuditEntry;

#[derive(Subcommand)]
pub enum DataCmd {
    #[command(subcommand)]
    Agreement(AgreementCmd),
}

#[derive(Subcommand)]
pub enum AgreementCmd {
    /// Add an agreement (or the next version of one)
    Add {
        /// Stable identifier, e.g. buu-dien-nhan-ho-so
        #[arg(long)]
        id: String,
        #[arg(long)]
        name_vi: String,
        #[arg(long)]
        name_en: String,
        #[arg(long)]
        purpose_vi: String,
        #[arg(long)]
        purpose_en: String,
        /// Who processes the data
        #[arg(long)]
        controller: String,
        /// The OAuth client_id the data is shared with (omit for the portal's own use)
        #[arg(long)]
        recipient: Option<String>,
        /// Data items, comma-separated (full_name, birth_date, …, documents)
        #[arg(long)]
        items: String,
        /// consent, legal_obligation or public_task
        #[arg(long, default_value = "consent")]
        basis: String,
        /// How long a consent lasts, in months
        #[arg(long, default_value_t = 12)]
        months: i64,
        #[command(flatten)]
        common: Common,
    },
}

pub async fn run(cmd: DataCmd) -> anyhow::Result<()> {
    let DataCmd::Agreement(AgreementCmd::Add {
        id,
        name_vi,
        name_en,
        purpose_vi,
        purpose_en,
        controller,
        recipient,
        items,
        basis,
        months,
        common,
    }) = cmd;
    let cfg = Config::load(&common, None)?;
    let db = crate::open_migrated(&cfg).await?;
    let ok_id = !id.is_empty() && id.len() <= 100 && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok_id {
        bail!("--id: lowercase letters, digits and hyphens, at most 100");
    }
    let items: Vec<String> = items.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    if let Some(bad) = items.iter().find(|i| *i != "documents" && tl_core::personal::item_kind(i).is_none()) {
        bail!("--items: unknown item {bad}");
    }
    if items.is_empty() || !(1..=120).contains(&months) {
        bail!("--items must name at least one item and --months be 1–120");
    }
    let lawful_basis = LawfulBasis::parse(&basis).context("--basis: consent, legal_obligation or public_task")?;
    let mut w = db.begin().await?;
    if let Some(c) = &recipient {
        w.get_oidc_client(c).await?.with_context(|| format!("--recipient: there is no OAuth client {c}"))?;
    }
    let today = tl_core::time::to_local(chrono::Utc::now()).date_naive();
    let version = w.list_data_agreements(chrono::NaiveDate::MAX).await?.into_iter().find(|a| a.id == id).map_or(1, |a| a.version + 1);
    let a = DataAgreement {
        id,
        version,
        name_vi,
        name_en,
        purpose_vi,
        purpose_en,
        controller,
        recipient,
        items,
        lawful_basis,
        months,
        effective_from: today,
    };
    w.add_data_agreement(&a).await?;
    w.append_audit(&AuditEntry {
        at: chrono::Utc::now(),
        actor_id: None,
        actor_label: "cli".into(),
        action: "data_agreement.added".into(),
        target_type: "data_agreement".into(),
        target_id: a.id.clone(),
        detail: serde_json::json!({"version": a.version, "recipient": a.recipient, "items": a.items, "basis": a.lawful_basis.as_str()}),
        ip: None,
        request_id: None,
    })
    .await?;
    w.commit().await?;
    println!("agreement={} version={}", a.id, a.version);
    Ok(())
}
