//! Group commit for filings. A filing is acknowledged only once it is durable; with one
//! transaction (one fsync, one WAL flush) per filing, the disk's flush rate caps the service.
//! The filer is a single task that takes every filing waiting in its queue, runs them all in
//! one transaction and commits once, then answers each caller — so each acknowledgement still
//! follows a durable commit, but a thousand filings share a handful of flushes.
//!
//! New filings in a batch are written set-wise (one counter update per agency and day, one
//! multi-row insert for the rows, one for their events), so a batch costs a few statements.
//! Counter rows are locked in (agency, day) order, so two servers' batches on one PostgreSQL
//! never wait on each other in a cycle.
//!
//! A filing that fails (a revision conflict, a lost idempotency race, a deadlock between
//! servers) must not sink the others: on any error the batch is rolled back and every filing
//! in it is run again alone, in its own transaction, where its error is its own.

use crate::{Database, Dossier, NewFiling, Result, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// One filing for the group committer.
#[derive(Debug, Clone)]
pub enum Filing {
    /// Create and file in one go (see [`crate::DossierRepo::file_new_dossiers`]).
    New(NewFiling),
    /// File an existing draft at the revision the applicant saw.
    Draft { id: i64, revision: i64, day: NaiveDate, now: DateTime<Utc> },
}

type Job = (Filing, oneshot::Sender<Result<Dossier>>);

/// The handle callers file through; cheap to clone.
#[derive(Clone)]
pub struct Filer {
    queue: mpsc::Sender<Job>,
}

/// How many filings one transaction takes at most.
pub const MAX_BATCH: usize = 512;

impl Filer {
    /// Starts the committing task on the current Tokio runtime. It ends when every handle is
    /// dropped.
    pub fn start(db: Arc<dyn Database>) -> Filer {
        let (queue, rx) = mpsc::channel::<Job>(MAX_BATCH * 8);
        tokio::spawn(run(db, rx));
        Filer { queue }
    }

    /// Files and waits until the filing is durably committed (or failed).
    pub async fn file(&self, filing: Filing) -> Result<Dossier> {
        let (tx, rx) = oneshot::channel();
        self.queue.send((filing, tx)).await.map_err(|_| StoreError::Unavailable("the filing queue is closed".into()))?;
        rx.await.map_err(|_| StoreError::Unavailable("the filing task stopped".into()))?
    }
}

async fn run(db: Arc<dyn Database>, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match run_batch(db.as_ref(), &batch).await {
            Ok(results) => {
                for ((_, reply), result) in batch.drain(..).zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Err(e) => {
                if batch.len() > 1 {
                    tracing::debug!(error = %e, size = batch.len(), "filing batch rolled back; filing one by one");
                }
                for (filing, reply) in batch.drain(..) {
                    let _ = reply.send(run_alone(db.as_ref(), filing).await);
                }
            }
        }
    }
}

/// New filings together in a few statements, then drafts one by one, one commit for all.
async fn run_batch(db: &dyn Database, batch: &[Job]) -> Result<Vec<Dossier>> {
    let mut repo = db.begin().await?;
    let news: Vec<NewFiling> = batch.iter().filter_map(|(f, _)| if let Filing::New(n) = f { Some(n.clone()) } else { None }).collect();
    let mut filed = repo.file_new_dossiers(&news).await?.into_iter();
    let mut out = Vec::with_capacity(batch.len());
    for (f, _) in batch {
        out.push(match f {
            Filing::New(_) => filed.next().expect("one result per filing"),
            Filing::Draft { id, revision, day, now } => repo.submit_dossier(*id, *revision, *day, *now).await?,
        });
    }
    repo.commit().await?;
    Ok(out)
}

async fn run_alone(db: &dyn Database, filing: Filing) -> Result<Dossier> {
    let mut repo = db.begin().await?;
    let d = match filing {
        Filing::New(n) => repo.file_new_dossiers(std::slice::from_ref(&n)).await?.pop().expect("one result"),
        Filing::Draft { id, revision, day, now } => repo.submit_dossier(id, revision, day, now).await?,
    };
    repo.commit().await?;
    Ok(d)
}
