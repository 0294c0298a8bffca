//! `thanglong audit …`: checks the hash chains of the access log (reads of personal data by
//! others) and the audit log (writes), and names the first broken entry.

use crate::{config::Config, open_migrated, Common};
use anyhow::{bail, Context};
use clap::Subcommand;
use tl_storage::chain::{self, Chain, ChainReport};

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Check both chains from the first entry to the head; prints the first broken entry (id,
    /// time, what is wrong) and exits with status 1, or how many entries were checked
    Verify {
        /// A link written down earlier, CHAIN:SEQ:HASH (e.g. access_log:1200:3fa2…), that must
        /// still be in place — against a rewrite of the whole chain by someone with the database
        /// password; repeatable
        #[arg(long = "expect", value_name = "CHAIN:SEQ:HASH")]
        expect: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Link the audit rows written since the last pass into the audit chain (the server does it
    /// every few seconds; for installations where no server runs)
    Seal {
        #[command(flatten)]
        common: Common,
    },
}

pub async fn run(cmd: AuditCmd) -> anyhow::Result<()> {
    match cmd {
        AuditCmd::Seal { common } => {
            let db = open_migrated(&Config::load(&common, None)?).await?;
            let n = chain::seal_audit(db.as_ref()).await.context("sealing the audit log")?;
            println!("Đã nối {n} dòng nhật ký vào chuỗi / {n} audit rows sealed");
            Ok(())
        }
        AuditCmd::Verify { expect, common } => {
            let expected = expect.iter().map(|e| parse_expect(e)).collect::<anyhow::Result<Vec<_>>>()?;
            let db = open_migrated(&Config::load(&common, None)?).await?;
            let mut broken = 0;
            for c in [Chain::Access, Chain::Audit] {
                let report = chain::verify(db.as_ref(), c).await.with_context(|| format!("reading {}", c.as_str()))?;
                println!("{}", describe(&report));
                broken += usize::from(!report.ok());
            }
            for (c, seq, hash) in &expected {
                match chain::link_at(db.as_ref(), *c, *seq).await? {
                    Some(l) if l.hash == *hash => println!("{}: link {seq} still has the expected hash / khớp mã băm đã ghi", c.as_str()),
                    Some(l) => {
                        broken += 1;
                        println!(
                            "{}: link {seq} (entry {}) has hash {}, not the expected {hash} / KHÔNG khớp: the chain was rewritten",
                            c.as_str(),
                            l.id,
                            l.hash
                        );
                    }
                    None => {
                        broken += 1;
                        println!("{}: link {seq} is missing / KHÔNG còn: the chain was cut or rewritten", c.as_str());
                    }
                }
            }
            if broken > 0 {
                bail!("nhật ký đã bị thay đổi / the logs were tampered with ({broken} problem(s), see above)");
            }
            Ok(())
        }
    }
}

fn parse_expect(s: &str) -> anyhow::Result<(Chain, i64, String)> {
    let mut parts = s.splitn(3, ':');
    let chain = match parts.next() {
        Some("access_log" | "access") => Chain::Access,
        Some("audit_log" | "audit") => Chain::Audit,
        _ => bail!("--expect {s}: the chain must be access_log or audit_log"),
    };
    let seq = parts.next().and_then(|n| n.parse::<i64>().ok()).filter(|n| *n > 0);
    let hash = parts.next().filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    match (seq, hash) {
        (Some(seq), Some(h)) => Ok((chain, seq, h.to_ascii_lowercase())),
        _ => bail!("--expect {s}: use CHAIN:SEQ:HASH with a link number and a 64-digit SHA-256 in hex"),
    }
}

/// One line per chain: OK with the count and the head (to write down), or the first break.
fn describe(r: &ChainReport) -> String {
    let name = r.chain.as_str();
    match &r.broken {
        None => {
            let pending = if r.unsealed > 0 { format!("; {} newer rows not yet sealed / chưa nối", r.unsealed) } else { String::new() };
            format!("{name}: OK — {} mục đã kiểm tra / entries checked; head {}:{}:{}{pending}", r.checked, name, r.head.seq, r.head.hash)
        }
        Some(b) => {
            let at =
                b.at.map(|t| format!(" ({} giờ Việt Nam / Vietnam time)", tl_core::time::to_local(t).format("%d/%m/%Y %H:%M:%S")))
                    .unwrap_or_default();
            let which = match b.id {
                Some(id) => format!("entry id {id}, link {}{at}", b.seq),
                None => format!("the end of the chain, link {}", b.seq),
            };
            format!("{name}: HỎNG / BROKEN at {which}: {}; {} entries before it are intact", b.problem, r.checked)
        }
    }
}
