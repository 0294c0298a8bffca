//! Delivering the outbox: claim due mails, send them, record the outcome, back off on failures.

use crate::mailer::{Mail, Mailer};
use chrono::{DateTime, TimeDelta, Utc};
use std::future::Future;
use std::time::Duration;

/// A mail claimed from the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    pub id: i64,
    /// Attempts already made (0 for a new mail).
    pub attempts: u32,
    pub mail: Mail,
}

/// The outbox table, implemented by the storage layer. Mails are inserted by the action's own
/// transaction; this trait only covers delivery.
#[async_trait::async_trait]
pub trait Outbox: Send + Sync {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Up to `limit` mails not yet sent nor given up whose next attempt is at or before `now`,
    /// oldest first. Claiming must hide them from other workers for a lease (for example by
    /// moving their next attempt to `now` + 15 minutes, longer than a batch can take), so two
    /// workers never send the same row, and a worker that dies mid-batch leaves them due again.
    async fn claim_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OutboxMail>, Self::Error>;

    /// Delivered: never claim it again.
    async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<(), Self::Error>;

    /// Failed `attempts` times in all; try again at `next_attempt_at`, or never if `None`.
    /// `error` is the last failure, for operators (it holds no secrets).
    async fn mark_failed(&self, id: i64, attempts: u32, next_attempt_at: Option<DateTime<Utc>>, error: &str) -> Result<(), Self::Error>;
}

/// What one [`deliver_due`] pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    pub sent: u32,
    /// Failed transiently, scheduled again.
    pub retried: u32,
    /// Failed permanently, or transiently for too long: will not be sent.
    pub given_up: u32,
}

impl DeliveryStats {
    pub fn claimed(&self) -> u32 {
        self.sent + self.retried + self.given_up
    }
}

const FIRST_RETRY_DELAY: TimeDelta = TimeDelta::minutes(1);
/// The longest wait between two attempts.
pub const MAX_RETRY_DELAY: TimeDelta = TimeDelta::hours(1);
/// How long, in scheduled waits, a transient failure is retried before the mail is given up.
pub const GIVE_UP_AFTER: TimeDelta = TimeDelta::hours(48);

fn retry_delay(attempts: u32) -> TimeDelta {
    // 2^6 minutes already exceeds the cap; clamping the exponent keeps the shift in range.
    let doubling = attempts.saturating_sub(1).min(6);
    (FIRST_RETRY_DELAY * (1 << doubling)).min(MAX_RETRY_DELAY)
}

/// When to try again after `attempts` failed attempts (counting the one that just failed), or
/// `None` to give up. Waits 1, 2, 4 … minutes, at most [`MAX_RETRY_DELAY`], and gives up once the
/// waits would add up to more than [`GIVE_UP_AFTER`] (after 53 attempts). Permanent errors do not
/// come here: [`deliver_due`] gives those up at once.
pub fn next_attempt(attempts: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut waited = TimeDelta::zero();
    // Stops at the give-up point, so at most ~53 rounds whatever `attempts` is.
    for n in 1..=attempts.max(1) {
        waited += retry_delay(n);
        if waited > GIVE_UP_AFTER {
            return None;
        }
    }
    Some(now + retry_delay(attempts))
}

/// One pass: claims up to `limit` due mails, sends each, and records sent / retry / give-up.
///
/// A storage error stops the pass (the database is likely unavailable, and sending more would
/// only add mails whose success cannot be recorded); the claimed rows become due again when
/// their lease ends, so a mail sent but not marked is sent again — the same Message-ID.
pub async fn deliver_due<O: Outbox + ?Sized>(
    outbox: &O,
    mailer: &Mailer,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<DeliveryStats, O::Error> {
    let mut stats = DeliveryStats::default();
    for item in outbox.claim_due(now, limit).await? {
        let attempts = item.attempts.saturating_add(1);
        match mailer.send(&item.mail).await {
            Ok(()) => {
                outbox.mark_sent(item.id, now).await?;
                stats.sent += 1;
                tracing::info!(outbox_id = item.id, attempts, "mail sent");
            }
            Err(err) => {
                let next = if err.is_permanent() { None } else { next_attempt(attempts, now) };
                let error = err.to_string();
                outbox.mark_failed(item.id, attempts, next, &error).await?;
                match next {
                    Some(at) => {
                        stats.retried += 1;
                        tracing::warn!(outbox_id = item.id, attempts, next_attempt_at = %at, error, "mail not sent, will retry");
                    }
                    None => {
                        stats.given_up += 1;
                        tracing::error!(outbox_id = item.id, attempts, error, "mail not sent, given up");
                    }
                }
            }
        }
    }
    Ok(stats)
}

/// The long-running worker: delivers due mails in batches of `limit` until none are due, waits
/// `interval`, and again, until `shutdown` completes. A batch in progress is finished first, so
/// no mail is cut off mid-dialogue. Storage errors are logged and retried at the next tick.
pub async fn run<O: Outbox + ?Sized>(outbox: &O, mailer: &Mailer, interval: Duration, limit: u32, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        // Drain: a backlog (e.g. after an SMTP outage) goes out without waiting a tick per batch.
        loop {
            // Checked between batches only: `shutdown` is never polled again once it completed.
            let stopping = tokio::select! { biased; () = &mut shutdown => true, () = std::future::ready(()) => false };
            if stopping {
                return;
            }
            match deliver_due(outbox, mailer, Utc::now(), limit).await {
                Ok(stats) if stats.claimed() >= limit.max(1) => continue,
                Ok(_) => break,
                Err(err) => {
                    tracing::error!(error = %cause_chain(&err), "mail outbox unavailable");
                    break;
                }
            }
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// `error: cause: cause…`, so a log line shows why the storage failed, not only that it did.
fn cause_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}
