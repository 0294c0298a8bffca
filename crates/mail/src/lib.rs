//! E-mail side of citizen notifications (thông báo): an SMTP [`Mailer`] and the outbox worker.
//!
//! The flow: an action (dossier accepted, supplement requested, result ready…) writes its mail
//! into an outbox table in the same database transaction as the action itself. The storage layer
//! implements [`Outbox`] over that table; [`deliver_due`] (or the [`run`] loop around it) claims due
//! rows, sends them and records the outcome, retrying transient failures with [`next_attempt`]'s
//! backoff. Delivery is at least once: a crash between sending and recording re-sends the mail,
//! with the same Message-ID so receiving systems can tell it is the same message.

mod config;
mod mailer;
mod outbox;
#[doc(hidden)]
pub mod testing;

pub use config::{ConfigError, Security, SmtpConfig};
pub use mailer::{outbox_message_id, Cause, Mail, Mailer, SendError};
pub use outbox::{deliver_due, next_attempt, run, DeliveryStats, Outbox, OutboxMail, GIVE_UP_AFTER, MAX_RETRY_DELAY};
