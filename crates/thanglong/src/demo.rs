//! Demo data: the seed catalog (real Hanoi procedures, agencies and units) and four accounts
//! with published passwords — for trying the product, never for production.

use anyhow::Context;
use std::sync::Arc;
use tl_core::account::{AccountKind, Role};
use tl_core::catalog_doc::{self, Format};
use tl_storage::{Database, NewAccount};

pub const SEED_CATALOG: &str = include_str!("../seed/catalog.yaml");

/// A demo account: sign-in name, password, kind, name, agency (officers), roles there.
type DemoAccount = (&'static str, &'static str, AccountKind, &'static str, Option<&'static str>, &'static [Role]);

const ACCOUNTS: &[DemoAccount] = &[
    ("admin", "Quản trị Thăng Long 2026", AccountKind::Officer, "Quản trị viên hệ thống", Some("H26"), &[Role::Admin]),
    (
        "motcua.badinh",
        "Một cửa Ba Đình 2026",
        AccountKind::Officer,
        "Trần Thị Bình",
        Some("H26.31"),
        &[Role::Reception, Role::CatalogEditor],
    ),
    ("chuyenvien.badinh", "Chuyên viên Ba Đình 2026", AccountKind::Officer, "Lê Văn Cường", Some("H26.31"), &[Role::Specialist]),
    ("lanhdao.badinh", "Lãnh đạo Ba Đình 2026", AccountKind::Officer, "Phạm Minh Đức", Some("H26.31"), &[Role::Leader]),
    // The ward police receive residence registrations (1.004222).
    (
        "congan.badinh",
        "Công an Ba Đình 2026",
        AccountKind::Officer,
        "Đỗ Quang Huy",
        Some("H26.20.31"),
        &[Role::Reception, Role::Specialist],
    ),
    ("001203012345", "Công dân Hà Nội 2026", AccountKind::Citizen, "Nguyễn Văn An", None, &[]),
    ("0108888888", "Doanh nghiệp mẫu 2026", AccountKind::Business, "Công ty TNHH Sen Vàng (dữ liệu mẫu)", None, &[]),
];

/// Loads the seed once (a marker in `settings` says it was done) and creates missing accounts.
pub async fn seed(db: &Arc<dyn Database>) -> anyhow::Result<()> {
    let mut w = db.begin().await?;
    if w.get_setting("demo_seeded").await?.is_none() {
        let known = w.catalog_known().await?;
        let doc =
            catalog_doc::load(SEED_CATALOG, Format::Yaml, &known).map_err(|e| anyhow::anyhow!("the built-in seed is invalid: {e:?}"))?;
        let report = tl_storage::apply_catalog(w.as_mut(), &doc, None, chrono::Utc::now()).await.context("loading the seed catalog")?;
        tracing::info!(procedures = report.procedures, agencies = report.agencies, "demo catalog loaded");
        w.set_setting("demo_seeded", "1").await?;
    }
    let now = chrono::Utc::now();
    for (login, password, kind, name, agency, roles) in ACCOUNTS {
        if w.find_account_by_login(login).await?.is_some() {
            continue;
        }
        let agency_id = match agency {
            Some(eid) => Some(w.get_agency(eid).await?.with_context(|| format!("seed agency {eid} missing"))?.id),
            None => None,
        };
        let hash = tl_web::security::hash_password_async(password).await?;
        let a = w
            .create_account(
                &NewAccount {
                    kind: *kind,
                    login: (*login).into(),
                    display_name: (*name).into(),
                    email: None,
                    phone: None,
                    password_hash: Some(hash),
                    agency_id,
                },
                now,
            )
            .await?;
        for r in *roles {
            w.grant_role(a.id, *r, agency_id.expect("officers have an agency"), None, now).await?;
        }
    }
    w.commit().await?;
    Ok(())
}

pub fn print_accounts() {
    println!("Tài khoản dùng thử / demo accounts (sign-in name — password):");
    for (login, password, kind, name, _, _) in ACCOUNTS {
        println!("  {:<14} — {:<28} {} ({})", login, password, name, kind.as_str());
    }
}
