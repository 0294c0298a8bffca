//! `thanglong oidc …`: registering relying parties and rotating the ID-token signing key.

use crate::config::Config;
use crate::Common;
use anyhow::Context;
use clap::Subcommand;
use tl_storage::AuditEntry;

#[derive(Subcommand)]
pub enum OidcCmd {
    /// Register a relying party and print its client_id (and, for a confidential client, its
    /// secret: shown once, stored hashed)
    #[command(subcommand)]
    Client(ClientCmd),
    /// Make a new ES256 signing key active; the old ones stay published until their ID tokens
    /// have expired (needs the key-encryption key, THANGLONG_SIGNING_KEK)
    RotateKeys {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
pub enum ClientCmd {
    Add {
        /// The application's name, shown on the consent screen
        #[arg(long)]
        name: String,
        /// A redirect URI (repeat for several); matched exactly
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// A post-logout redirect URI (repeat for several)
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// Allowed scopes, space-separated
        #[arg(long, default_value = "openid profile")]
        scope: String,
        /// Grant types (repeat): authorization_code, refresh_token, client_credentials
        #[arg(long = "grant", value_name = "GRANT", default_values_t = ["authorization_code".to_string(), "refresh_token".to_string()])]
        grants: Vec<String>,
        /// A public client (no secret; PKCE required)
        #[arg(long)]
        public: bool,
        /// Sector identifier shared with other clients (default: the client's own)
        #[arg(long)]
        sector: Option<String>,
        /// The account (tax code, officer login) a machine client acts as on the JSON and
        /// GovStack APIs; needed for every API scope but api:catalog.read
        #[arg(long, value_name = "LOGIN")]
        service_account: Option<String>,
        #[command(flatten)]
        common: Common,
    },
}

pub async fn run(cmd: OidcCmd) -> anyhow::Result<()> {
    match cmd {
        OidcCmd::RotateKeys { common } => {
            let cfg = Config::load(&common, None)?;
            let kek = cfg
                .web
                .signing_kek
                .clone()
                .map(|k| k.0)
                .context("set the key-encryption key first: THANGLONG_SIGNING_KEK (64 hex digits)")?;
            let db = crate::open_migrated(&cfg).await?;
            let kid = tl_web::oidc::keys::rotate(db.as_ref(), &kek, chrono::Utc::now(), "cli").await?;
            println!("Đã tạo khóa ký mới / new signing key: {kid} (app servers use it within a minute)");
            Ok(())
        }
        OidcCmd::Client(ClientCmd::Add {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            scope,
            grants,
            public,
            sector,
            service_account,
            common,
        }) => {
            let cfg = Config::load(&common, None)?;
            let db = crate::open_migrated(&cfg).await?;
            let input = tl_web::oidc::clients::ClientInput {
                name,
                redirect_uris,
                post_logout_redirect_uris,
                scopes: scope,
                grant_types: grants,
                confidential: !public,
                sector,
                service_account: service_account.unwrap_or_default(),
            };
            let account = match input.service_account.trim() {
                "" => None,
                login => db.read().await?.find_account_by_login(login).await?,
            };
            let now = chrono::Utc::now();
            let (client, secret) = tl_web::oidc::clients::build(&input, None, account.as_ref(), now).map_err(|problems| {
                let lines: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.en)).collect();
                anyhow::anyhow!("the client is not valid:\n  {}", lines.join("\n  "))
            })?;
            let mut w = db.begin().await?;
            w.create_oidc_client(&client).await?;
            w.append_audit(&AuditEntry {
                at: now,
                actor_id: None,
                actor_label: "cli".into(),
                action: "oidc.client_created".into(),
                target_type: "oidc_client".into(),
                target_id: client.client_id.clone(),
                detail: serde_json::json!({"name": client.name, "redirect_uris": client.redirect_uris, "scopes": client.scopes,
                    "grant_types": client.grant_types, "confidential": client.is_confidential(),
                    "service_account_id": client.service_account_id}),
                ip: None,
                request_id: None,
            })
            .await?;
            w.commit().await?;
            println!("client_id={}", client.client_id);
            if let Some(s) = secret {
                println!("client_secret={s}");
            }
            Ok(())
        }
    }
}
