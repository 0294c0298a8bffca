//! Building a MIME message from a [`Mail`] and submitting it over SMTP.

use crate::config::{ConfigError, Security, SmtpConfig};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, Mailboxes, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use std::error::Error as _;
use std::fmt;
use std::time::Duration;

/// One notification e-mail, as stored in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    /// One recipient: `user@example.vn` or `Nguyễn Văn A <user@example.vn>`.
    pub to: String,
    pub subject: String,
    /// Plain-text body; always sent, it is what text-only clients and screen readers get.
    pub text: String,
    /// Optional HTML alternative of the same content (multipart/alternative).
    pub html: Option<String>,
    /// `<left@right>`, stable across retries (see [`outbox_message_id`]) so a re-sent mail is
    /// recognisably the same message.
    pub message_id: String,
}

/// The Message-ID of outbox row `id`: `<outbox-{id}@{domain}>`.
pub fn outbox_message_id(id: i64, domain: &str) -> String {
    format!("<outbox-{id}@{domain}>")
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Cause {
    /// A negative SMTP reply: its code and text.
    #[error("the SMTP server replied {code} {text}")]
    Reply { code: u16, text: String },
    /// The mail itself cannot be sent (bad recipient address, malformed Message-ID).
    #[error("the mail is malformed: {0}")]
    InvalidMail(String),
    /// Connection refused, reset, name resolution, TLS handshake, unexpected server output.
    #[error("cannot talk to the SMTP server: {0}")]
    Connection(String),
    #[error("the SMTP server did not finish within {0:?}")]
    Timeout(Duration),
}

/// A failed send, classified for the retry decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Retrying cannot help (5xx reply, invalid address): give up.
    #[error("permanent failure: {0}")]
    Permanent(Cause),
    /// May succeed later (4xx reply, server unreachable, timeout): retry with backoff.
    #[error("transient failure: {0}")]
    Transient(Cause),
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
    }

    pub fn cause(&self) -> &Cause {
        match self {
            SendError::Permanent(c) | SendError::Transient(c) => c,
        }
    }
}

/// Sends mails through one SMTP server. Cheap to clone; one connection per mail (no pool: the
/// worker sends small batches, and a fresh connection keeps each failure independent).
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
    server: String,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer").field("server", &self.server).field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

/// Exactly one mailbox: lettre's single-mailbox parser ignores trailing text, so
/// `a@x.vn, b@y.vn` would otherwise quietly become `a@x.vn`.
fn one_mailbox(s: &str) -> Option<Mailbox> {
    let list: Mailboxes = s.trim().parse().ok()?;
    let mut it = list.into_iter();
    match (it.next(), it.next()) {
        (Some(m), None) => Some(m),
        _ => None,
    }
}

fn valid_message_id(id: &str) -> bool {
    let Some(inner) = id.strip_prefix('<').and_then(|s| s.strip_suffix('>')) else { return false };
    let Some((left, right)) = inner.split_once('@') else { return false };
    let atext = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && !b"<>()[]\\\",;:@".contains(&b));
    atext(left) && atext(right)
}

/// RFC 3834: tells auto-responders (vacation replies) not to answer a notification.
const AUTO_SUBMITTED: HeaderName = HeaderName::new_from_ascii_str("Auto-Submitted");

impl Mailer {
    /// Checks the settings and prepares the transport (loads the system TLS roots once).
    pub fn new(cfg: &SmtpConfig) -> Result<Self, ConfigError> {
        if cfg.host.trim().is_empty() {
            return Err(ConfigError::EmptyHost);
        }
        if cfg.port == 0 {
            return Err(ConfigError::ZeroPort);
        }
        if cfg.timeout.is_zero() || cfg.timeout > Duration::from_secs(600) {
            return Err(ConfigError::Timeout(cfg.timeout.as_secs()));
        }
        let from = one_mailbox(&cfg.from).ok_or_else(|| ConfigError::From(cfg.from.clone()))?;
        let credentials = match (&cfg.username, &cfg.password) {
            (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password.clone())),
            (None, None) => None,
            _ => return Err(ConfigError::PartialCredentials),
        };
        if credentials.is_some() && cfg.security == Security::None {
            return Err(ConfigError::CredentialsWithoutTls);
        }
        let tls_params =
            || TlsParameters::new(cfg.host.clone()).map_err(|e| ConfigError::Tls { host: cfg.host.clone(), reason: e.to_string() });
        let tls = match cfg.security {
            Security::None => Tls::None,
            // Required, not opportunistic: a stripped STARTTLS must not downgrade to clear text.
            Security::StartTls => Tls::Required(tls_params()?),
            Security::Tls => Tls::Wrapper(tls_params()?),
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.as_str()).port(cfg.port).tls(tls).timeout(Some(cfg.timeout));
        if let Some(c) = credentials {
            builder = builder.credentials(c);
        }
        Ok(Mailer { transport: builder.build(), from, timeout: cfg.timeout, server: format!("{}:{}", cfg.host, cfg.port) })
    }

    /// The domain of the sender address, the natural right-hand side of our Message-IDs.
    pub fn sender_domain(&self) -> &str {
        self.from.email.domain()
    }

    /// Submits one mail. Nothing is retried here; the outbox worker decides from the error.
    pub async fn send(&self, mail: &Mail) -> Result<(), SendError> {
        let message = self.message(mail)?;
        // lettre bounds only the TCP connect; this bounds the whole dialogue.
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Err(_) => Err(SendError::Transient(Cause::Timeout(self.timeout))),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(self.classify(&e)),
        }
    }

    fn message(&self, mail: &Mail) -> Result<Message, SendError> {
        let invalid = |what: String| SendError::Permanent(Cause::InvalidMail(what));
        let to = one_mailbox(&mail.to).ok_or_else(|| invalid(format!("recipient `{}` is not a single valid address", mail.to)))?;
        if !valid_message_id(&mail.message_id) {
            return Err(invalid(format!("Message-ID `{}` is not of the form <left@right>", mail.message_id)));
        }
        // Subjects come from templates: a stray line break must not end the header early.
        let subject: String = mail.subject.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(mail.message_id.clone()))
            .raw_header(HeaderValue::new(AUTO_SUBMITTED, "auto-generated".into()));
        // lettre picks quoted-printable or base64 per part and encodes headers as RFC 2047 words.
        let built = match &mail.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(mail.text.clone(), html.clone())),
            None => builder.singlepart(SinglePart::plain(mail.text.clone())),
        };
        built.map_err(|e| invalid(e.to_string()))
    }

    fn classify(&self, e: &lettre::transport::smtp::Error) -> SendError {
        if let Some(code) = e.status() {
            let code = u16::from(code);
            let cause = Cause::Reply { code, text: e.source().map(|s| s.to_string()).unwrap_or_default() };
            // RFC 4954 auth failures (530 required, 534 too weak, 535 bad credentials, 538 needs
            // encryption) are our configuration, not this mail: keep it until an operator fixes it.
            return if e.is_permanent() && !matches!(code, 530 | 534 | 535 | 538) {
                SendError::Permanent(cause)
            } else {
                SendError::Transient(cause)
            };
        }
        if e.is_timeout() {
            return SendError::Transient(Cause::Timeout(self.timeout));
        }
        SendError::Transient(Cause::Connection(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailer() -> Mailer {
        let cfg: SmtpConfig = toml::from_str(
            r#"host = "127.0.0.1"
               port = 2525
               security = "none"
               from = "Cổng dịch vụ công Thăng Long <no-reply@thanglong.example>""#,
        )
        .unwrap();
        Mailer::new(&cfg).unwrap()
    }

    fn mail(to: &str, message_id: &str) -> Mail {
        Mail {
            to: to.into(), subject: "Hồ sơ\r\nBcc: x@evil.example".into(), text: "ệ".into(), html: None, message_id: message_id.into()
        }
    }

    #[test]
    fn rejects_bad_recipients_and_message_ids_as_permanent() {
        let m = mailer();
        for to in ["", "not an address", "a@x.vn, b@y.vn"] {
            let err = m.message(&mail(to, "<outbox-1@thanglong>")).unwrap_err();
            assert!(matches!(err, SendError::Permanent(Cause::InvalidMail(_))), "{to}: {err}");
        }
        for id in ["outbox-1@thanglong", "<outbox-1>", "<a b@c>", "<@c>", "<a@b@c>"] {
            assert!(m.message(&mail("a@x.vn", id)).is_err(), "{id}");
        }
        assert!(m.message(&mail("Nguyễn Văn A <a@x.vn>", "<outbox-1@thanglong>")).is_ok());
    }

    #[test]
    fn a_line_break_in_the_subject_cannot_add_headers() {
        let raw = String::from_utf8(mailer().message(&mail("a@x.vn", "<outbox-1@thanglong>")).unwrap().formatted()).unwrap();
        assert!(!raw.lines().any(|l| l.starts_with("Bcc:")), "{raw}");
        assert!(raw.contains("Auto-Submitted: auto-generated\r\n"), "{raw}");
        assert_eq!(mailer().sender_domain(), "thanglong.example");
    }
}
