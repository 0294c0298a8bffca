//! `thanglong`: the whole platform in one binary.

mod access_bench;
mod audit;
mod config;
mod data_cli;
mod demo;
mod inbox_bench;
mod oidc_cli;
mod store_bench;
mod synth;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use config::{Config, LogFormat};
use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;
use tl_core::account::{check_password, AccountKind, Role};
use tl_core::catalog_doc::{self, Format};
use tl_storage::{AuditEntry, Database, NewAccount};

#[derive(Parser)]
#[command(name = "thanglong", version, about = "Thăng Long — an open digital-government platform for a Vietnamese province.", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the platform keeps its data.
#[derive(Args, Clone, Default)]
pub struct Common {
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: sqlite in the data directory]
    #[arg(long, env = "THANGLONG_DATABASE_URL", global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Directory for the embedded database and the file store [default: ./data]
    #[arg(long, env = "THANGLONG_DATA_DIR", global = true, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// A TOML configuration file (flags and environment variables override it)
    #[arg(long, env = "THANGLONG_CONFIG", global = true, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// Log format: human or json
    #[arg(long, env = "THANGLONG_LOG_FORMAT", global = true, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal, the administration and the API
    Serve(ServeArgs),
    /// Serve with demo data: migrates, loads the seed catalog and demo accounts once, then serves
    Demo(ServeArgs),
    /// Apply database migrations and exit
    Migrate(CommonOnly),
    /// Import or export the procedure catalog
    #[command(subcommand)]
    Catalog(CatalogCmd),
    /// Manage accounts
    #[command(subcommand)]
    User(UserCmd),
    /// Manage personal API tokens
    #[command(subcommand)]
    Token(TokenCmd),
    /// The certification authority that issues officers' signing certificates
    #[command(subcommand)]
    Ca(CaCmd),
    /// The OpenID Connect provider: relying parties and signing keys
    #[command(subcommand)]
    Oidc(oidc_cli::OidcCmd),
    /// The tamper-evident logs: reads of personal data (access log) and writes (audit log)
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// The data store's agreements (purposes, lawful bases, sharing with partner systems)
    #[command(subcommand)]
    Data(data_cli::DataCmd),
    /// Baselines for the benchmarks in bench/ (measure the database alone)
    #[command(subcommand, hide = true)]
    Bench(BenchCmd),
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Due-date computations on a Hanoi-like calendar (working days with holidays, working
    /// hours, cut-offs), on one thread, beside a baseline that walks day by day
    Deadlines {
        #[arg(long, default_value_t = 2_000_000)]
        count: usize,
    },
    /// Durable single-row inserts of draft dossiers (the dossier row and its first event, one
    /// transaction each) from N concurrent tasks, straight into the database: the submission
    /// benchmark's baseline
    Inserts {
        #[arg(long, default_value_t = 5000)]
        rows: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// The account the rows belong to
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "9.900001")]
        procedure: String,
        #[arg(long, default_value = "H26.31")]
        agency: String,
        #[command(flatten)]
        common: Common,
    },
    /// Fills the database with N dossiers over two years on the seed catalog (citizens,
    /// officers at every agency, realistic statuses and process steps), written set-wise
    FillDossiers {
        #[arg(long, default_value_t = 1_000_000)]
        count: usize,
        /// Citizen accounts [default: a fifth of the dossiers]
        #[arg(long)]
        citizens: Option<usize>,
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        #[arg(long, default_value_t = 730)]
        days: i64,
        #[command(flatten)]
        common: Common,
    },
    /// Times an officer's read of a dossier with and without recording it in the access log,
    /// in the same run, sequentially and from concurrent readers
    Access {
        /// Reads per measurement
        #[arg(long, default_value_t = 2000)]
        reads: usize,
        /// Concurrent readers in the throughput measurement
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Alternating rounds of each measurement
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        #[command(flatten)]
        common: Common,
    },
    /// A citizen with a full data store (people, items, documents with bytes) and consent to
    /// pre-fill; the password is read from standard input
    StoreSeed {
        #[arg(long)]
        login: String,
        #[arg(long, default_value_t = 20)]
        people: usize,
        #[arg(long, default_value_t = 200)]
        items: usize,
        #[arg(long, default_value_t = 50)]
        documents: usize,
        /// Leave consent to pre-fill out (the baseline: a form started empty)
        #[arg(long)]
        no_consent: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Times the processing inbox query of officers (default, name search, procedure and late
    /// filters) beside the same queries without the inbox index, and prints the plans
    Inbox {
        /// An officer's sign-in name, repeatable
        #[arg(long = "officer", required = true)]
        officers: Vec<String>,
        #[arg(long, default_value_t = 2000)]
        iterations: usize,
        #[arg(long, default_value_t = 20)]
        baseline_iterations: usize,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Args)]
struct CommonOnly {
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "THANGLONG_LISTEN", value_name = "ADDR")]
    listen: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Subcommand)]
enum CatalogCmd {
    /// Validate a catalog file (YAML or JSON) in full and load it in one transaction; any error rejects it all
    Import {
        /// The catalog file (`-` reads standard input)
        file: String,
        /// Validate only; change nothing
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Write the whole catalog, every version included, as YAML or JSON
    Export {
        /// yaml or json
        #[arg(long, default_value = "yaml")]
        format: String,
        /// Output file [default: standard output]
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Time the search engines on the same queries: the database's full-text index (FTS5 or
    /// GIN) and the in-memory index the portal uses (for BENCHMARKS.md)
    BenchSearch {
        /// Passes over the query list
        #[arg(long, default_value_t = 50)]
        passes: usize,
        #[command(flatten)]
        common: Common,
    },
    /// Write a synthetic catalog of N procedures built from the seed (for benchmarks)
    Synthesize {
        /// How many procedures
        #[arg(long, default_value_t = 2000)]
        count: usize,
        /// Output file [default: standard output]
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create an officer or administrator; the password is read from standard input
    Add {
        /// User name (3–32 characters: a-z, 0-9, . - _)
        #[arg(long)]
        login: String,
        /// Full name
        #[arg(long)]
        name: String,
        /// Electronic ID of the officer's agency (e.g. H26)
        #[arg(long)]
        agency: String,
        /// Role at that agency, repeatable: admin, catalog_editor, reception, specialist, leader, monitor
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum CaCmd {
    /// Generate a new test CA (for demos and tests, never for real documents) and make it the
    /// one that issues certificates from now on
    Init {
        /// Its name (CN)
        #[arg(long, default_value = "Thăng Long Test CA")]
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Make an existing CA (e.g. the province's) the one that issues certificates: its
    /// certificate and private key in PEM files; the key is sealed with the configured
    /// key-encryption key (THANGLONG_SIGNING_KEK)
    Import {
        #[arg(long, value_name = "PEM")]
        cert: std::path::PathBuf,
        #[arg(long, value_name = "PEM")]
        key: std::path::PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Print the certificates of every CA (PEM), for relying parties that verify offline
    Export {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Issue a personal API token for an account and print it (only its hash is stored)
    Issue {
        /// The account's sign-in name
        #[arg(long)]
        user: String,
        /// A name to recognise the token by
        #[arg(long, default_value = "cli")]
        name: String,
        /// Lifetime in days (1–365)
        #[arg(long, default_value_t = 90)]
        days: i64,
        #[command(flatten)]
        common: Common,
    },
}

/// mimalloc: per-thread free lists; the server allocates small objects on every request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand)
            {
                let _ = e.print();
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand { ExitCode::from(2) } else { ExitCode::SUCCESS };
            }
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments").trim_start_matches("error: ");
            eprintln!("thanglong: error: {first} (see `thanglong --help`)");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("thanglong: error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let chain: Vec<String> = e.chain().map(ToString::to_string).collect();
            eprintln!("thanglong: error: {}", chain.join(": "));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(a) => serve(a, false).await,
        Command::Demo(a) => serve(a, true).await,
        Command::Migrate(a) => {
            let cfg = Config::load(&a.common, None)?;
            init_logs(cfg.log_format);
            let db = open(&cfg).await?;
            db.migrate().await.context("migrating")?;
            println!("Đã cập nhật cơ sở dữ liệu ({}) / database migrated", db.backend().as_str());
            Ok(())
        }
        Command::Catalog(CatalogCmd::Import { file, dry_run, common }) => catalog_import(&common, &file, dry_run).await,
        Command::Catalog(CatalogCmd::Export { format, output, common }) => {
            let cfg = Config::load(&common, None)?;
            let format = match format.as_str() {
                "yaml" | "yml" => Format::Yaml,
                "json" => Format::Json,
                other => bail!("unknown format `{other}`: use yaml or json"),
            };
            let db = open_migrated(&cfg).await?;
            let doc = db.read().await?.export_catalog().await?;
            write_out(output.as_deref(), &catalog_doc::dump(&doc, format))
        }
        Command::Catalog(CatalogCmd::BenchSearch { passes, common }) => {
            let cfg = Config::load(&common, None)?;
            let db = open_migrated(&cfg).await?;
            synth::bench_search(&db, passes).await
        }
        Command::Catalog(CatalogCmd::Synthesize { count, output }) => {
            let seed = catalog_doc::load(demo::SEED_CATALOG, Format::Yaml, &Default::default())
                .map_err(|e| anyhow::anyhow!("the built-in seed is invalid: {e:?}"))?;
            write_out(output.as_deref(), &catalog_doc::dump(&synth::scale(&seed, count), Format::Json))
        }
        Command::User(UserCmd::Add { login, name, agency, roles, email, phone, common }) => {
            let cfg = Config::load(&common, None)?;
            let db = open_migrated(&cfg).await?;
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password).context("reading the password from standard input")?;
            let password = password.lines().next().unwrap_or("").to_owned();
            let id = add_user(&db, &login, &name, &agency, &roles, email, phone, &password).await?;
            println!("Đã tạo tài khoản {login} (id {id}) / account created");
            Ok(())
        }
        Command::Bench(BenchCmd::Deadlines { count }) => {
            synth::bench_deadlines(count);
            Ok(())
        }
        Command::Bench(BenchCmd::Inserts { rows, concurrency, user, procedure, agency, common }) => {
            let cfg = Config::load(&common, None)?;
            let db = open_migrated(&cfg).await?;
            synth::bench_inserts(&db, rows, concurrency, &user, &procedure, &agency).await
        }
        Command::Bench(BenchCmd::FillDossiers { count, citizens, seed, days, common }) => {
            let cfg = Config::load(&common, None)?;
            let db = open_migrated(&cfg).await?;
            if !(1..=3650).contains(&days) {
                bail!("--days must be from 1 to 3650");
            }
            let opts = inbox_bench::FillOptions { count, citizens, seed, days };
            inbox_bench::fill_dossiers(&db, &opts, chrono::Utc::now()).await
        }
        Command::Bench(BenchCmd::Access { reads, concurrency, rounds, common }) => {
            let cfg = Config::load(&common, None)?;
            let db = open_migrated(&cfg).await?;
            access_bench::run(&db, &cfg, reads.max(10), concurrency.max(1), rounds.max(1)).await
        }
        Command::Bench(BenchCmd::StoreSeed { login, people, items, documents, no_consent, common }) => {
            let cfg = Config::load(&common, None)?;
            let db = open_migrated(&cfg).await?;
            let files = tl_storage::blob::BlobStore::filesystem(cfg.data_dir.join("files"))?;
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let opts =
                store_bench::SeedOptions { login: &login, password: password.trim(), people, items, documents, consent: !no_consent };
            store_bench::seed(&db, &files, &opts).await
        }
        Command::Bench(BenchCmd::Inbox { officers, iterations, baseline_iterations, common }) => {
            let cfg = Config::load(&common, None)?;
            let db = open_migrated(&cfg).await?;
            inbox_bench::bench_inbox(&db, &officers, iterations.max(1), baseline_iterations.max(1)).await
        }
        Command::Ca(cmd) => ca(cmd).await,
        Command::Oidc(cmd) => oidc_cli::run(cmd).await,
        Command::Audit(cmd) => audit::run(cmd).await,
        Command::Data(cmd) => data_cli::run(cmd).await,
        Command::Token(TokenCmd::Issue { user, name, days, common }) => {
            let cfg = Config::load(&common, None)?;
            let db = open_migrated(&cfg).await?;
            if !(1..=365).contains(&days) {
                bail!("--days must be from 1 to 365");
            }
            let token = issue_token(&db, &user, &name, days).await?;
            println!("{token}");
            Ok(())
        }
    }
}

fn write_out(path: Option<&std::path::Path>, text: &str) -> anyhow::Result<()> {
    match path {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display())),
        None => {
            use std::io::Write;
            std::io::stdout().write_all(text.as_bytes()).context("writing to standard output")
        }
    }
}

fn init_logs(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("THANGLONG_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Human => builder.with_target(false).try_init(),
    };
}

pub async fn open(cfg: &Config) -> anyhow::Result<Arc<dyn Database>> {
    if let Some(path) = cfg.database_url.strip_prefix("sqlite://") {
        if let Some(dir) = std::path::Path::new(path.split('?').next().unwrap_or(path)).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).with_context(|| format!("creating the data directory {}", dir.display()))?;
            }
        }
    }
    tl_storage::connect(&cfg.database_url).await.with_context(|| format!("cannot open the database {}", config::redact(&cfg.database_url)))
}

pub(crate) async fn open_migrated(cfg: &Config) -> anyhow::Result<Arc<dyn Database>> {
    let db = open(cfg).await?;
    db.migrate().await.context("migrating the database")?;
    Ok(db)
}

async fn serve(a: ServeArgs, demo: bool) -> anyhow::Result<()> {
    let cfg = Config::load(&a.common, a.listen.as_deref())?;
    init_logs(cfg.log_format);
    std::fs::create_dir_all(cfg.data_dir.join("files"))
        .with_context(|| format!("creating the file store in {}", cfg.data_dir.display()))?;
    let db = open_migrated(&cfg).await?;
    if demo {
        demo::seed(&db).await?;
    }
    let listener = tokio::net::TcpListener::bind(&cfg.listen).await.with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(address = %addr, database = db.backend().as_str(), "Thăng Long is serving");
    println!("Thăng Long: http://{addr}/ ({} database)", db.backend().as_str());
    if demo {
        demo::print_accounts();
    }
    let state = tl_web::state(db.clone(), cfg.web.clone());
    let access = state.access.clone();
    // Audit rows are linked into the audit chain a few seconds after they are written.
    let sealer = db.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tick.tick().await;
            if let Err(e) = tl_storage::chain::seal_audit(sealer.as_ref()).await {
                tracing::warn!(error = %e, "sealing the audit log failed");
            }
        }
    });
    // Uploads that no filed dossier holds are removed after the retention period.
    let janitor = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match tl_web::uploads::cleanup(&janitor).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "stale uploads removed"),
                Err(e) => tracing::warn!(error = %e, "upload cleanup failed"),
            }
            // Expired OIDC codes and tokens; a day's grace keeps reuse detection meaningful.
            match tl_web::oidc::purge(&janitor).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "expired OIDC codes and tokens removed"),
                Err(e) => tracing::warn!(error = %e, "OIDC purge failed"),
            }
        }
    });
    // Notification mails leave the outbox through SMTP when a server is configured.
    if let Some(smtp) = &cfg.web.smtp {
        let mailer = tl_mail::Mailer::new(smtp).map_err(|e| anyhow::anyhow!("smtp: {e}"))?;
        let outbox = tl_web::mail::DbOutbox { st: state.clone(), domain: mailer.sender_domain().to_owned() };
        tokio::spawn(async move {
            tl_mail::run(&outbox, &mailer, std::time::Duration::from_secs(10), 50, std::future::pending()).await;
        });
    }
    // Supplement requests unanswered for 15 working days close their dossiers; one-stop officers
    // hear of new online filings.
    let clerk = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            match tl_web::workflow::expire_supplements(&clerk, chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(closed = n, "unanswered supplement requests closed"),
                Err(e) => tracing::warn!(error = %e, "closing unanswered supplement requests failed"),
            }
            match tl_web::workflow::alert_reception(&clerk, chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(dossiers = n, "one-stop officers alerted of new online filings"),
                Err(e) => tracing::warn!(error = %e, "alerting one-stop officers failed"),
            }
        }
    });
    let app = tl_web::router(state);
    tl_web::serve(listener, app).await.context("serving")?;
    // Reads answered before the shutdown keep their access-log entries.
    if tokio::time::timeout(std::time::Duration::from_secs(10), access.flush()).await.is_err() {
        tracing::error!("the access log could not be written within 10 s at shutdown: the reads still queued are lost");
    }
    if let Err(e) = tl_storage::chain::seal_audit(db.as_ref()).await {
        tracing::warn!(error = %e, "sealing the audit log at shutdown failed");
    }
    db.close().await;
    Ok(())
}

async fn catalog_import(common: &Common, file: &str, dry_run: bool) -> anyhow::Result<()> {
    let cfg = Config::load(common, None)?;
    let text = if file == "-" {
        let mut s = String::new();
        std::io::stdin().take(catalog_doc::MAX_FILE_BYTES as u64 + 1).read_to_string(&mut s).context("reading standard input")?;
        s
    } else {
        let meta = std::fs::metadata(file).with_context(|| format!("cannot read {file}"))?;
        if meta.len() > catalog_doc::MAX_FILE_BYTES as u64 {
            bail!("{file} is larger than {} MB", catalog_doc::MAX_FILE_BYTES >> 20);
        }
        std::fs::read_to_string(file).with_context(|| format!("cannot read {file} (is it UTF-8 text?)"))?
    };
    let db = open_migrated(&cfg).await?;
    let known = db.read().await?.catalog_known().await?;
    let doc = match catalog_doc::load(&text, Format::guess(file, &text), &known) {
        Ok(d) => d,
        Err(errors) => {
            let lang = std::env::var("THANGLONG_LANG").unwrap_or_else(|_| "vi".into());
            for e in &errors {
                eprintln!("{file}:{}: {} [{}]", e.line, e.message(&lang), e.code);
            }
            bail!("{} lỗi / {} error(s): nothing was imported", errors.len(), errors.len());
        }
    };
    let mut w = db.begin().await?;
    let report = tl_storage::apply_catalog(w.as_mut(), &doc, None, chrono::Utc::now()).await.context("importing")?;
    w.append_audit(&AuditEntry {
        at: chrono::Utc::now(),
        actor_id: None,
        actor_label: "cli".into(),
        action: "catalog.import".into(),
        target_type: "catalog".into(),
        target_id: file.into(),
        detail: serde_json::to_value(&report)?,
        ip: None,
        request_id: None,
    })
    .await?;
    if dry_run {
        drop(w);
        println!("Kiểm tra hợp lệ, không thay đổi gì / valid, nothing changed: {}", serde_json::to_string(&report)?);
    } else {
        w.commit().await?;
        println!(
            "Đã nhập / imported: {} lĩnh vực/fields, {} đơn vị/units, {} cơ quan/agencies, {} thủ tục/procedures ({} phiên bản mới/new versions, {} không đổi/unchanged)",
            report.fields, report.admin_units, report.agencies, report.procedures, report.versions_added, report.versions_unchanged
        );
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub async fn add_user(
    db: &Arc<dyn Database>,
    login: &str,
    name: &str,
    agency: &str,
    roles: &[String],
    email: Option<String>,
    phone: Option<String>,
    password: &str,
) -> anyhow::Result<i64> {
    let login = login.trim().to_lowercase();
    tl_core::ids::check_username(&login).map_err(|e| anyhow::anyhow!("--login: {}", e.message("en")))?;
    if name.trim().is_empty() {
        bail!("--name must not be empty");
    }
    check_password(password, &login).map_err(|e| anyhow::anyhow!("password: {}", e.message("en")))?;
    let roles: Vec<Role> = roles
        .iter()
        .map(|r| {
            Role::parse(r)
                .ok_or_else(|| anyhow::anyhow!("unknown role `{r}` (admin, catalog_editor, reception, specialist, leader, monitor)"))
        })
        .collect::<Result<_, _>>()?;
    let now = chrono::Utc::now();
    let mut w = db.begin().await?;
    let agency_row = w.get_agency(agency).await?.ok_or_else(|| anyhow::anyhow!("no agency with electronic ID `{agency}`"))?;
    if w.find_account_by_login(&login).await?.is_some() {
        bail!("an account `{login}` already exists");
    }
    let hash = tl_web::security::hash_password_async(password).await?;
    let account = w
        .create_account(
            &NewAccount {
                kind: AccountKind::Officer,
                login: login.clone(),
                display_name: name.trim().into(),
                email,
                phone,
                password_hash: Some(hash),
                agency_id: Some(agency_row.id),
            },
            now,
        )
        .await?;
    for r in &roles {
        w.grant_role(account.id, *r, agency_row.id, None, now).await?;
    }
    w.append_audit(&AuditEntry {
        at: now,
        actor_id: None,
        actor_label: "cli".into(),
        action: "account.create".into(),
        target_type: "account".into(),
        target_id: account.id.to_string(),
        detail: serde_json::json!({"login": login, "agency": agency, "roles": roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()}),
        ip: None,
        request_id: None,
    })
    .await?;
    w.commit().await?;
    Ok(account.id)
}

pub async fn issue_token(db: &Arc<dyn Database>, user: &str, name: &str, days: i64) -> anyhow::Result<String> {
    let now = chrono::Utc::now();
    let mut w = db.begin().await?;
    let account = w.find_account_by_login(user.trim()).await?.ok_or_else(|| anyhow::anyhow!("no account `{user}`"))?;
    let token = tl_web::new_token(tl_web::auth::TOKEN_PREFIX);
    let id = w
        .create_api_token(&tl_storage::NewApiToken {
            account_id: account.id,
            name: name.into(),
            token_hash: tl_web::sha256_hex(&token),
            prefix: token[..10].to_owned(),
            created_at: now,
            expires_at: Some(now + chrono::Duration::days(days)),
        })
        .await?;
    w.append_audit(&AuditEntry {
        at: now,
        actor_id: None,
        actor_label: "cli".into(),
        action: "token.create".into(),
        target_type: "api_token".into(),
        target_id: id.to_string(),
        detail: serde_json::json!({"account": account.login, "name": name, "days": days}),
        ip: None,
        request_id: None,
    })
    .await?;
    w.commit().await?;
    Ok(token)
}

/// `thanglong ca …`: the authority behind officers' signing certificates.
async fn ca(cmd: CaCmd) -> anyhow::Result<()> {
    let common = match &cmd {
        CaCmd::Init { common, .. } | CaCmd::Import { common, .. } | CaCmd::Export { common } => common.clone(),
    };
    let cfg = Config::load(&common, None)?;
    let db = open_migrated(&cfg).await?;
    let kek =
        || cfg.web.signing_kek.clone().map(|k| k.0).context("set the key-encryption key first: THANGLONG_SIGNING_KEK (64 hex digits)");
    let now = chrono::Utc::now();
    let (ca, note) = match cmd {
        CaCmd::Export { .. } => {
            for c in db.read().await?.list_signing_cas().await? {
                print!("{}", tl_sign::cert_pem(&c.cert_der));
            }
            return Ok(());
        }
        CaCmd::Init { name, .. } => {
            let mut dn = tl_sign::DistinguishedNameParts::new(&name);
            dn.organisation = Some("Thăng Long — môi trường thử nghiệm".into());
            (tl_sign::Ca::generate(&dn, now - chrono::Duration::days(1), 20).map_err(|e| anyhow::anyhow!("{e}"))?, "test CA generated")
        }
        CaCmd::Import { cert, key, .. } => {
            let cert = std::fs::read_to_string(&cert).with_context(|| format!("reading {}", cert.display()))?;
            let key = std::fs::read_to_string(&key).with_context(|| format!("reading {}", key.display()))?;
            (tl_sign::Ca::from_pem(&cert, &key).map_err(|e| anyhow::anyhow!("not a usable CA: {e}"))?, "CA imported")
        }
    };
    let (_, key_pem) = ca.to_pem().map_err(|e| anyhow::anyhow!("{e}"))?;
    let sealed = tl_sign::seal_key(key_pem.as_bytes(), &kek()?);
    let mut w = db.begin().await?;
    let id = w.add_signing_ca(ca.cert_der(), Some(&sealed), now).await?;
    w.retire_signing_cas(id, now).await?;
    w.append_audit(&AuditEntry {
        at: now,
        actor_id: None,
        actor_label: "cli".into(),
        action: "signing.ca".into(),
        target_type: "signing_ca".into(),
        target_id: id.to_string(),
        detail: serde_json::json!({"note": note}),
        ip: None,
        request_id: None,
    })
    .await?;
    w.commit().await?;
    println!("Đã đặt CA cấp chứng thư số (id {id}) / {note}; officers get new certificates at their next signature");
    print!("{}", tl_sign::cert_pem(ca.cert_der()));
    Ok(())
}
