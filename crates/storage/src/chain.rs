//! Hash chains that make the access log and the audit log tamper-evident.
//!
//! Each link stores `prev_hash` and `hash = SHA-256(prev_hash ‖ "\n" ‖ canonical)`, where
//! `canonical` is a JSON array of the entry's fields in a fixed order (tagged with a version, so
//! the encoding can change later without breaking old links). Links are numbered 1, 2, 3… with
//! no gaps (`seq`: the access log's id, the audit log's `seal_seq`), and the chain head row
//! (`chain_heads`) holds the last number and hash.
//!
//! What verification catches: a changed field (the link's hash no longer matches its content),
//! a removed link (a gap in the numbers, and the next link's `prev_hash` points at nothing), a
//! removed tail (the head names a link that is gone), a forged link (its `prev_hash`). What it
//! cannot catch alone: someone with write access to the database who rewrites every hash from
//! the change onwards **and** the head. Against that, keep the head's hash somewhere else —
//! `thanglong audit verify` prints it, and `--expect SEQ:HASH` checks a hash written down
//! earlier is still the one at that place.

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first link.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The two chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    /// Reads of personal data by others (`access_log`), chained as they are written.
    Access,
    /// Writes (`audit_log`), chained by the background sealer (on SQLite the token task's rows are
    /// chained as they are written).
    Audit,
}

impl Chain {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access_log",
            Self::Audit => "audit_log",
        }
    }
}

/// `hash = SHA-256(prev ‖ "\n" ‖ canonical)`, lowercase hex.
pub fn link_hash(prev: &str, canonical: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(canonical.as_bytes());
    hex::encode(h.finalize())
}

/// An instant as the encodings write it: RFC 3339 in UTC with microseconds (what both databases
/// keep; entries are truncated to microseconds before they are hashed).
pub fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// One stored link, with its content already in canonical form.
#[derive(Debug, Clone)]
pub struct ChainLink {
    pub seq: i64,
    /// The row's id (the same as `seq` in the access log).
    pub id: i64,
    pub at: DateTime<Utc>,
    pub canonical: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The head row: the last link's number and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

/// The first thing wrong in a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The row id of the entry named (None: the problem is at the end of the chain).
    pub id: Option<i64>,
    pub seq: i64,
    pub at: Option<DateTime<Utc>>,
    pub problem: String,
}

/// What `verify` found.
#[derive(Debug, Clone)]
pub struct ChainReport {
    pub chain: Chain,
    /// Links checked (up to the first broken one).
    pub checked: u64,
    pub head: ChainHead,
    pub broken: Option<Break>,
    /// Audit rows written since the sealer's last pass (not yet in the chain).
    pub unsealed: i64,
}

impl ChainReport {
    pub fn ok(&self) -> bool {
        self.broken.is_none()
    }
}

/// Walks links in order and stops at the first one that does not fit.
pub struct Verifier {
    prev_seq: i64,
    prev_hash: String,
    prev_id: Option<i64>,
    pub checked: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Self { prev_seq: 0, prev_hash: GENESIS.into(), prev_id: None, checked: 0 }
    }
}

impl Verifier {
    /// Checks the next stored link.
    pub fn check(&mut self, l: &ChainLink) -> Result<(), Break> {
        let fail = |problem: String| Err(Break { id: Some(l.id), seq: l.seq, at: Some(l.at), problem });
        if l.seq != self.prev_seq + 1 {
            let missing = if l.seq == self.prev_seq + 2 {
                format!("link {} is missing", self.prev_seq + 1)
            } else {
                format!("links {} to {} are missing", self.prev_seq + 1, l.seq - 1)
            };
            return fail(format!("{missing} (removed from the log): this entry follows link {}", self.prev_seq));
        }
        let computed = link_hash(&l.prev_hash, &l.canonical);
        if computed != l.hash {
            return fail(format!(
                "the entry's content does not match its hash (a field was changed after it was written): stored {}, computed {}",
                short(&l.hash),
                short(&computed)
            ));
        }
        if l.prev_hash != self.prev_hash {
            let before = match self.prev_id {
                Some(id) => format!("entry {id}"),
                None => "the start of the chain".into(),
            };
            return fail(format!(
                "prev_hash {} does not match the hash {} of {before}: the entry before it was changed or replaced",
                short(&l.prev_hash),
                short(&self.prev_hash)
            ));
        }
        self.prev_seq = l.seq;
        self.prev_hash = l.hash.clone();
        self.prev_id = Some(l.id);
        self.checked += 1;
        Ok(())
    }

    /// After the last stored link: the head must name it.
    pub fn finish(&self, head: &ChainHead) -> Result<(), Break> {
        if head.seq == self.prev_seq && head.hash == self.prev_hash {
            return Ok(());
        }
        let problem = if head.seq > self.prev_seq {
            format!(
                "the chain head records {} links (last hash {}) but the log ends at link {}: the newest entries were removed",
                head.seq,
                short(&head.hash),
                self.prev_seq
            )
        } else {
            format!(
                "the chain head records link {} with hash {}, but the log's last link is {} with hash {}",
                head.seq,
                short(&head.hash),
                self.prev_seq,
                short(&self.prev_hash)
            )
        };
        Err(Break { id: None, seq: self.prev_seq + 1, at: None, problem })
    }
}

fn short(h: &str) -> &str {
    h.get(..16).unwrap_or(h)
}

/// Verifies a whole chain, page by page (memory stays flat on a log of millions).
pub async fn verify(db: &dyn crate::Database, chain: Chain) -> crate::Result<ChainReport> {
    const PAGE: i64 = 5000;
    let mut r = db.read().await?;
    let head = r.chain_head(chain).await?;
    let unsealed = if chain == Chain::Audit { r.count_unsealed_audit().await? } else { 0 };
    let mut v = Verifier::default();
    let mut after = 0;
    // Up to the head as read first: links appended meanwhile (a running server) are not
    // judged against a head that predates them.
    'pages: loop {
        let page = r.chain_page(chain, after, PAGE).await?;
        for l in &page {
            if l.seq > head.seq {
                break 'pages;
            }
            if let Err(b) = v.check(l) {
                return Ok(ChainReport { chain, checked: v.checked, head, broken: Some(b), unsealed });
            }
        }
        match page.last() {
            Some(l) if page.len() as i64 == PAGE => after = l.seq,
            _ => break,
        }
    }
    let broken = v.finish(&head).err();
    Ok(ChainReport { chain, checked: v.checked, head, broken, unsealed })
}

/// The stored link at place `seq`, to compare with a hash written down earlier.
pub async fn link_at(db: &dyn crate::Database, chain: Chain, seq: i64) -> crate::Result<Option<ChainLink>> {
    let mut r = db.read().await?;
    Ok(r.chain_page(chain, seq - 1, 1).await?.into_iter().find(|l| l.seq == seq))
}

/// Links the audit rows written since the last pass into the audit chain, in batches; returns
/// how many it sealed. Safe to run on several app servers at once (each batch holds the head).
pub async fn seal_audit(db: &dyn crate::Database) -> crate::Result<u64> {
    // Small transactions: the writer is shared with sign-ins and filings, which must not wait
    // behind a long sealing run.
    const BATCH: i64 = 200;
    let mut total = 0;
    loop {
        let mut w = db.begin().await?;
        let n = w.seal_audit(BATCH).await?;
        w.commit().await?;
        total += n;
        if (n as i64) < BATCH {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(n: i64) -> Vec<ChainLink> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|i| {
                let canonical = format!("[\"t\",{i}]");
                let hash = link_hash(&prev, &canonical);
                let l = ChainLink { seq: i, id: i * 10, at: Utc::now(), canonical, prev_hash: prev.clone(), hash: hash.clone() };
                prev = hash;
                l
            })
            .collect()
    }

    fn run(ls: &[ChainLink], head: &ChainHead) -> Result<u64, Break> {
        let mut v = Verifier::default();
        for l in ls {
            v.check(l)?;
        }
        v.finish(head)?;
        Ok(v.checked)
    }

    #[test]
    fn an_intact_chain_verifies_and_each_kind_of_tampering_is_named() {
        let ls = links(5);
        let head = ChainHead { seq: 5, hash: ls[4].hash.clone() };
        assert_eq!(run(&ls, &head), Ok(5));
        assert_eq!(run(&[], &ChainHead { seq: 0, hash: GENESIS.into() }), Ok(0));

        let mut changed = ls.clone();
        changed[2].canonical = "[\"t\",99]".into();
        let b = run(&changed, &head).unwrap_err();
        assert_eq!(b.id, Some(30));
        assert!(b.problem.contains("a field was changed"), "{}", b.problem);

        // Rehashing the changed link moves the break to the next one.
        changed[2].hash = link_hash(&changed[2].prev_hash, &changed[2].canonical);
        let b = run(&changed, &head).unwrap_err();
        assert_eq!(b.id, Some(40));
        assert!(b.problem.contains("entry 30"), "{}", b.problem);

        let mut removed = ls.clone();
        removed.remove(1);
        let b = run(&removed, &head).unwrap_err();
        assert_eq!((b.id, b.seq), (Some(30), 3));
        assert!(b.problem.contains("link 2 is missing"), "{}", b.problem);

        let b = run(&ls[..3], &head).unwrap_err();
        assert_eq!(b.id, None);
        assert!(b.problem.contains("newest entries were removed"), "{}", b.problem);
    }
}
