//! Group commit for authorization codes: issuing them (authorize) and exchanging them (token).
//! A code must be durable before it is handed out, and an exchange must burn its code (and store
//! its refresh token and audit entry) durably before its tokens are handed out; one transaction
//! (one fsync) each makes the disk's flush rate the ceiling of sign-ins. The redeemer is one task
//! that takes every job waiting in its queue and runs them in one transaction — one statement
//! stores the new codes, one burns the exchanged ones (and reads their accounts' status), one
//! stores their refresh tokens with their audit entries — commits once, then answers each
//! caller. Access tokens are not stored ([`super::sealed`]): the handler seals one after the
//! answer. Each answer still follows a durable
//! commit. On SQLite the task drives its own connection in its own thread (see `tl_storage`'s
//! `sqlite_raw`) and flushes the log after the writer is given back: itself, before its next
//! batch, while flushes are short, or — when the recent flushes took [`OVERLAP_FLUSHES_FROM`] or
//! more — on a flusher thread while it runs the next batch. (Where a flush took 0.3 ms, the
//! thread measured 5–8 % more exchanges a second; where it took 0.15 ms, the same; where it takes
//! 0.05–0.1 ms, flushing in the task is faster: the next batch grows while the task flushes, and
//! two thread hand-overs a batch cost more than they save.) Tokens and
//! codes are stored under time-ordered keys ([`protocol::secret_key`]), so a batch's rows land
//! together at the end of the key index.
//!
//! The rules are the single exchange's: a code works once, for the client it was issued to,
//! before it expires, with the same redirect URI and the PKCE verifier of its challenge, for an
//! active account; whatever is wrong, the code stays burnt. A code used a second time (even in
//! the same batch) revokes the tokens issued from it (RFC 6749 §4.1.2) — after they are stored,
//! so a first use in the same batch loses them too.
//!
//! If the batch fails (a database error), it is rolled back and each exchange is run again
//! alone, where its error is its own.

use super::cache::Cache;
use super::protocol;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tl_storage::{AuditEntry, CodeBatch, CodeTake, Database, OidcCode, OidcToken, StoreError, TokenKind};
use tokio::sync::{mpsc, oneshot};

/// One exchange: what the client sent (the code as its hash), and the hash of the refresh token
/// the handler made ready for it, if any (the task never sees a token; access tokens are not
/// stored, see [`super::sealed`]).
#[derive(Debug, Clone)]
pub struct Exchange {
    pub code_hash: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_verifier: Option<String>,
    /// Present when the client may use refresh tokens.
    pub refresh_hash: Option<String>,
    pub ip: String,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Redeemed {
    /// The tokens are stored: hand them out.
    Issued { code: Box<OidcCode>, at: DateTime<Utc> },
    /// `invalid_grant`, with the reason for the client's developer.
    Refused(&'static str),
}

enum Job {
    Issue(OidcCode, oneshot::Sender<Result<(), StoreError>>),
    Redeem(Exchange, oneshot::Sender<Result<Redeemed, StoreError>>),
}

/// How many jobs one transaction takes at most.
pub const MAX_BATCH: usize = 256;

/// Log flushes that take this long or longer (a recent average) are left to the flusher thread,
/// to overlap the next batch; shorter ones the token task makes itself.
pub const OVERLAP_FLUSHES_FROM: Duration = Duration::from_micros(150);

/// A running average of how long the log flushes take (nanoseconds; 0 before the first).
#[derive(Default)]
struct FlushClock(AtomicU64);

impl FlushClock {
    /// Runs a flush that writes to the disk, and counts its time.
    fn time(&self, flush: tl_storage::Flush) -> Result<(), StoreError> {
        let t = Instant::now();
        let r = flush();
        let took = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let avg = self.0.load(Ordering::Relaxed);
        self.0.store(if avg == 0 { took } else { (avg / 8).saturating_mul(7).saturating_add(took / 8) }, Ordering::Relaxed);
        r
    }

    fn long(&self) -> bool {
        Duration::from_nanos(self.0.load(Ordering::Relaxed)) >= OVERLAP_FLUSHES_FROM
    }
}

#[derive(Clone)]
pub struct Redeemer {
    queue: mpsc::Sender<Job>,
}

impl Redeemer {
    /// Starts the committing task (on SQLite on a thread of its own); it ends when every handle
    /// is dropped.
    pub fn start(db: Arc<dyn Database>, cache: Arc<Cache>) -> Redeemer {
        let (queue, rx) = mpsc::channel::<Job>(MAX_BATCH * 8);
        // A thread of its own, with a runtime of its own. Each statement of a batch is a wait —
        // for SQLite's connection thread, for PostgreSQL's answer on the socket — and on the
        // shared runtime the wake-up lands in the global queue behind every waiting HTTP task (a
        // median 0.3 ms before each statement under load); here nothing else is queued.
        // PostgreSQL's token connection is opened by the first batch, so its socket is this
        // runtime's.
        // SQLite: a third thread for the log flush and the answers, used while flushes are long:
        // the next batch runs meanwhile (see `FlushClock`). PostgreSQL's commit is durable when
        // it returns.
        let flusher = (db.backend() == tl_storage::Backend::Sqlite).then(|| {
            let (to_flusher, flushes) = std::sync::mpsc::channel::<Flushing>();
            let clock = Arc::new(FlushClock::default());
            let timed = clock.clone();
            std::thread::Builder::new()
                .name("tl-flusher".into())
                .spawn(move || flusher(flushes, &timed))
                .expect("a thread for the log flush");
            (to_flusher, clock)
        });
        std::thread::Builder::new()
            .name("tl-redeemer".into())
            .spawn(move || match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(run(db, cache, rx, flusher)),
                Err(e) => tracing::error!(error = %e, "the token task could not start"),
            })
            .expect("a thread for the token task");
        Redeemer { queue }
    }

    /// Stores a new code; answers once it is durably committed.
    pub async fn issue(&self, code: OidcCode) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(Job::Issue(code, tx)).await?;
        rx.await.map_err(|_| StoreError::Unavailable("the token task stopped".into()))?
    }

    /// Exchanges a code; answers once the outcome is durably committed.
    pub async fn redeem(&self, x: Exchange) -> Result<Redeemed, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(Job::Redeem(x, tx)).await?;
        rx.await.map_err(|_| StoreError::Unavailable("the token task stopped".into()))?
    }

    async fn send(&self, job: Job) -> Result<(), StoreError> {
        self.queue.send(job).await.map_err(|_| StoreError::Unavailable("the token queue is closed".into()))
    }
}

/// A committed batch waiting for its flush, and its answers.
struct Flushing {
    flush: tl_storage::Flush,
    batch: Vec<Job>,
    results: Vec<Redeemed>,
}

/// The flusher thread's queue and the flushes' running average.
type Flusher = (std::sync::mpsc::Sender<Flushing>, Arc<FlushClock>);

async fn run(db: Arc<dyn Database>, cache: Arc<Cache>, mut rx: mpsc::Receiver<Job>, flusher: Option<Flusher>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let more = || !rx.is_empty();
        commit_batch(db.as_ref(), &cache, std::mem::take(&mut batch), flusher.as_ref(), &more).await;
    }
}

/// Flushes committed batches and answers their callers. Batches that wait together share one
/// flush: the first flush covers every commit made before it started (only that one is timed).
fn flusher(rx: std::sync::mpsc::Receiver<Flushing>, clock: &FlushClock) {
    while let Ok(first) = rx.recv() {
        let Flushing { flush, batch, results } = first;
        let flushed = clock.time(flush);
        answer(batch, results, flushed);
        for f in rx.try_iter() {
            let flushed = (f.flush)();
            answer(f.batch, f.results, flushed);
        }
    }
}

/// Answers a batch's callers (codes issued, then each exchange its outcome).
fn answer(batch: Vec<Job>, results: Vec<Redeemed>, flushed: Result<(), StoreError>) {
    let flushed = flushed.map_err(|e| e.to_string());
    let mut results = results.into_iter();
    for job in batch {
        match job {
            Job::Issue(_, reply) => drop(reply.send(flushed.clone().map_err(StoreError::Unavailable))),
            Job::Redeem(_, reply) => {
                let outcome = results.next().ok_or_else(|| "lost an outcome".to_string());
                drop(reply.send(flushed.clone().and(outcome).map_err(StoreError::Unavailable)));
            }
        }
    }
}

/// Runs one batch and answers its callers once it is durable (through the flusher thread when
/// there is one and flushes are long); if the batch fails, each job again alone.
/// `more` tells whether other jobs already wait (the next batch), when this one commits.
async fn commit_batch(db: &dyn Database, cache: &Cache, mut batch: Vec<Job>, flusher: Option<&Flusher>, more: &dyn Fn() -> bool) {
    let codes: Vec<&OidcCode> = batch.iter().filter_map(|j| if let Job::Issue(c, _) = j { Some(c) } else { None }).collect();
    let exchanges: Vec<&Exchange> = batch.iter().filter_map(|j| if let Job::Redeem(x, _) = j { Some(x) } else { None }).collect();
    match run_batch(db, &codes, &exchanges, Utc::now(), more).await {
        Ok((results, revoked, flush)) => {
            if revoked {
                cache.invalidate();
            }
            let f = Flushing { flush, batch, results };
            match flusher {
                Some((to, clock)) if clock.long() => {
                    if let Err(std::sync::mpsc::SendError(f)) = to.send(f) {
                        answer(f.batch, f.results, Err(StoreError::Unavailable("the log flush stopped".into())));
                    }
                }
                Some((_, clock)) => {
                    let flushed = clock.time(f.flush);
                    answer(f.batch, f.results, flushed);
                }
                None => {
                    let flushed = (f.flush)();
                    answer(f.batch, f.results, flushed);
                }
            }
        }
        Err(e) => {
            if batch.len() > 1 {
                tracing::debug!(error = %e, size = batch.len(), "code batch rolled back; one by one");
            }
            for job in batch.drain(..) {
                match job {
                    Job::Issue(c, reply) => {
                        let r = alone(db, &[&c], &[]).await;
                        let _ = reply.send(r.map(|_| ()));
                    }
                    Job::Redeem(x, reply) => {
                        let r = alone(db, &[], &[&x]).await;
                        if matches!(r, Ok((_, true))) {
                            cache.invalidate();
                        }
                        let _ = reply.send(r.map(|(mut v, _)| v.remove(0)));
                    }
                }
            }
        }
    }
}

/// One job in a transaction of its own, flushed here.
async fn alone(db: &dyn Database, codes: &[&OidcCode], batch: &[&Exchange]) -> Result<(Vec<Redeemed>, bool), StoreError> {
    let (out, revoked, flush) = run_batch(db, codes, batch, Utc::now(), &|| false).await?;
    flush()?;
    Ok((out, revoked))
}

fn event(x: &Exchange, action: &str, account: Option<i64>, at: DateTime<Utc>, detail: serde_json::Value) -> AuditEntry {
    AuditEntry {
        at,
        actor_id: account,
        actor_label: format!("oidc:{}", x.client_id),
        action: action.into(),
        target_type: "oidc_client".into(),
        target_id: x.client_id.clone(),
        detail,
        ip: Some(x.ip.clone()),
        request_id: x.request_id.clone(),
    }
}

/// What is wrong with a fresh code for this exchange, if anything.
fn check(x: &Exchange, c: &OidcCode, now: DateTime<Utc>) -> Option<&'static str> {
    if c.client_id != x.client_id {
        return Some("the authorization code was issued to another client");
    }
    if c.expires_at <= now {
        return Some("the authorization code has expired");
    }
    if c.redirect_uri != x.redirect_uri {
        return Some("redirect_uri does not match the authorization request");
    }
    let pkce_ok = match (&c.code_challenge, &x.code_verifier) {
        (Some(ch), Some(verifier)) => protocol::pkce_matches(verifier, ch),
        (None, None) => true,
        // A verifier without a challenge is a downgrade attempt (RFC 9700 §2.1.1).
        _ => false,
    };
    (!pkce_ok).then_some("PKCE verification failed")
}

/// Stores codes and runs exchanges in one transaction; the exchanges' outcomes in order, whether
/// tokens were revoked, and the flush that makes it durable (to run before answering).
async fn run_batch(
    db: &dyn Database,
    codes: &[&OidcCode],
    batch: &[&Exchange],
    now: DateTime<Utc>,
    more: &dyn Fn() -> bool,
) -> Result<(Vec<Redeemed>, bool, tl_storage::Flush), StoreError> {
    let t0 = std::time::Instant::now();
    let mut w = db.begin_code_batch().await?;
    let waited = t0.elapsed();
    if !codes.is_empty() {
        let codes: Vec<OidcCode> = codes.iter().map(|&c| c.clone()).collect();
        w.insert_oidc_codes(&codes).await?;
    }
    if batch.is_empty() {
        return Ok((Vec::new(), false, commit(w, more).await?));
    }
    let hashes: Vec<String> = batch.iter().map(|x| x.code_hash.clone()).collect();
    let takes = w.take_oidc_codes(&hashes, now).await?;
    let t_take = t0.elapsed(); // The phases' end times, for the trace.
    let mut out: Vec<Redeemed> = Vec::with_capacity(batch.len());
    let mut fresh: Vec<(usize, OidcCode)> = Vec::new();
    // Codes used again: their grants are revoked once this batch's tokens are stored.
    let mut reused: Vec<(usize, OidcCode)> = Vec::new();
    for (i, (x, t)) in batch.iter().zip(takes).enumerate() {
        out.push(match t.take {
            CodeTake::Missing => Redeemed::Refused("the authorization code is not valid"),
            CodeTake::Reused(c) => {
                if c.client_id == x.client_id {
                    reused.push((i, c));
                }
                Redeemed::Refused("the authorization code was already used")
            }
            CodeTake::Fresh(c) => match check(x, &c, now) {
                Some(why) => Redeemed::Refused(why),
                None if !t.account_active => Redeemed::Refused("the account is not active"),
                None => {
                    // Answered once its tokens are in the batch below.
                    fresh.push((i, c));
                    Redeemed::Refused("the authorization code is not valid")
                }
            },
        });
    }
    let mut tokens: Vec<OidcToken> = Vec::with_capacity(fresh.len());
    let mut audits: Vec<AuditEntry> = Vec::with_capacity(fresh.len() + reused.len());
    for (i, c) in fresh {
        let x = batch[i];
        if let Some(rt) = &x.refresh_hash {
            tokens.push(OidcToken {
                token_hash: rt.clone(),
                kind: TokenKind::Refresh,
                grant_id: c.grant_id.clone(),
                client_id: c.client_id.clone(),
                account_id: Some(c.account_id),
                scope: c.scope.clone(),
                auth_time: Some(c.auth_time),
                sid: Some(c.sid.clone()),
                created_at: now,
                expires_at: now + protocol::REFRESH_TOKEN_TTL,
                used_at: None,
                revoked_at: None,
            });
        }
        audits.push(event(x, "oidc.token_issued", Some(c.account_id), now, json!({"grant_type": "authorization_code", "scope": c.scope})));
        out[i] = Redeemed::Issued { code: Box::new(c), at: now };
    }
    let t_prep = t0.elapsed();
    // The refresh tokens and the audit entries in one round trip; codes used again are revoked
    // after (their refresh tokens, even from this batch, are stored by then; their access
    // tokens, sealed after the commit, are revoked by the grant's revocation row).
    w.insert_oidc_tokens(&tokens, &audits).await?;
    audits.clear();
    let t_tok = t0.elapsed();
    let revoked = !reused.is_empty();
    for (i, c) in reused {
        let n = w.revoke_oidc_grant(&c.grant_id, now).await?;
        audits.push(event(batch[i], "oidc.code_reused", Some(c.account_id), now, json!({"revoked_tokens": n})));
    }
    if !audits.is_empty() {
        w.append_audits(&audits).await?;
    }
    let t_aud = t0.elapsed();
    let flush = commit(w, more).await?;
    tracing::trace!(codes = codes.len(), exchanges = batch.len(), ?waited, taken = ?t_take, prepared = ?t_prep, tokens = ?t_tok, audited = ?t_aud, took = ?t0.elapsed(), "code batch committed");
    Ok((out, revoked, flush))
}

/// Commits a batch, keeping the writer for the next one when it already waits.
async fn commit(mut w: Box<dyn CodeBatch>, more: &dyn Fn() -> bool) -> Result<tl_storage::Flush, StoreError> {
    if more() {
        w.keep_writer();
    }
    w.commit_deferred().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_flushes_go_to_the_flusher_thread_and_short_ones_come_back() {
        let clock = FlushClock::default();
        assert!(!clock.long(), "the task flushes itself until it has measured");
        let slow: tl_storage::Flush = Box::new(|| {
            std::thread::sleep(OVERLAP_FLUSHES_FROM * 3);
            Ok(())
        });
        clock.time(slow).unwrap();
        assert!(clock.long(), "a slow disk: flushes overlap the next batch");
        for _ in 0..40 {
            clock.time(Box::new(|| Ok(()))).unwrap();
        }
        assert!(!clock.long(), "the disk got fast again");
        let failed = clock.time(Box::new(|| Err(StoreError::Unavailable("the disk is gone".into()))));
        assert!(matches!(failed, Err(StoreError::Unavailable(_))), "a failed flush is reported, not hidden");
    }
}
