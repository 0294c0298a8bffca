//! Notification mail: the outbox rows written with each action, delivered through SMTP by a
//! background worker (`tl_mail::run`), retried with back-off until delivered or given up.

use crate::AppState;
use chrono::{DateTime, Utc};
use tl_mail::{Mail, OutboxMail};

/// The outbox table as the mail worker sees it.
pub struct DbOutbox {
    pub st: AppState,
    /// The domain of the Message-IDs (a retried mail keeps its id).
    pub domain: String,
}

/// How long a claimed mail stays hidden from other workers.
const LEASE: chrono::Duration = chrono::Duration::minutes(15);

#[derive(Debug, thiserror::Error)]
#[error("outbox storage: {0}")]
pub struct OutboxError(#[from] tl_storage::StoreError);

#[async_trait::async_trait]
impl tl_mail::Outbox for DbOutbox {
    type Error = OutboxError;

    async fn claim_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OutboxMail>, OutboxError> {
        let mut w = self.st.db.begin().await?;
        let rows = w.claim_outbox(now, now + LEASE, i64::from(limit)).await?;
        w.commit().await?;
        Ok(rows
            .into_iter()
            .map(|r| OutboxMail {
                id: r.id,
                attempts: r.attempts.max(0) as u32,
                mail: Mail {
                    to: r.to_addr,
                    subject: r.subject,
                    text: r.text_body,
                    html: r.html_body,
                    message_id: tl_mail::outbox_message_id(r.id, &self.domain),
                },
            })
            .collect())
    }

    async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<(), OutboxError> {
        let mut w = self.st.db.begin().await?;
        w.outbox_sent(id, at).await?;
        Ok(w.commit().await?)
    }

    async fn mark_failed(&self, id: i64, attempts: u32, next: Option<DateTime<Utc>>, error: &str) -> Result<(), OutboxError> {
        let mut w = self.st.db.begin().await?;
        w.outbox_failed(id, i64::from(attempts), next, error).await?;
        Ok(w.commit().await?)
    }
}
