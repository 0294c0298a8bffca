//! SMTP settings, typically the `[mail]` table of the TOML configuration.

use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain text: only for a relay on the same host or a test server.
    None,
    /// STARTTLS, required: the mail is not sent if the server does not offer it (usually port 587).
    #[default]
    StartTls,
    /// Implicit TLS from the first byte (usually port 465).
    Tls,
}

/// SMTP submission settings. `password` is never printed (see the `Debug` impl).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub security: Security,
    #[serde(default)]
    pub username: Option<String>,
    /// Better given through the environment than written in the file.
    #[serde(default)]
    pub password: Option<String>,
    /// The sender mailbox, e.g. `Cổng dịch vụ công Thăng Long <no-reply@thanglong.example>`.
    pub from: String,
    /// Upper bound for one whole delivery: connecting, TLS and the SMTP dialogue.
    #[serde(rename = "timeout_secs", default = "default_timeout", deserialize_with = "seconds")]
    pub timeout: Duration,
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_secs)
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Settings that cannot work; reported at start, never at the first send.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("mail.host is empty")]
    EmptyHost,
    #[error("mail.port must not be 0")]
    ZeroPort,
    #[error("mail.timeout_secs must be between 1 and 600 (got {0})")]
    Timeout(u64),
    #[error("mail.from `{0}` is not a single mailbox like `Name <user@example.vn>`")]
    From(String),
    #[error("mail.username and mail.password must be given together")]
    PartialCredentials,
    #[error("mail.security = \"none\" would send the SMTP password in clear text; use starttls or tls")]
    CredentialsWithoutTls,
    #[error("cannot set up TLS for {host}: {reason}")]
    Tls { host: String, reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_toml_and_never_prints_the_password() {
        let cfg: SmtpConfig = toml::from_str(
            r#"host = "smtp.thanglong.example"
               port = 465
               security = "tls"
               username = "no-reply"
               password = "mật-khẩu-bí-mật"
               from = "Cổng dịch vụ công Thăng Long <no-reply@thanglong.example>"
               timeout_secs = 20"#,
        )
        .unwrap();
        assert_eq!((cfg.security, cfg.timeout), (Security::Tls, Duration::from_secs(20)));
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("mật-khẩu") && shown.contains("<redacted>"), "{shown}");

        let minimal: SmtpConfig = toml::from_str("host = \"h\"\nport = 587\nfrom = \"a@b.vn\"").unwrap();
        assert_eq!((minimal.security, minimal.timeout), (Security::StartTls, Duration::from_secs(30)));
        assert!(toml::from_str::<SmtpConfig>("host = \"h\"\nport = 587\nfrom = \"a@b.vn\"\npasword = \"typo\"").is_err());
    }
}
