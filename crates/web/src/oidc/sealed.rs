//! Access tokens that are not stored. An access token carries what it grants — grant, client,
//! person, scope, sign-in time, session, issue and expiry times — encrypted and authenticated
//! with a key only the servers hold (AES-256-GCM), so the token endpoint writes no row for it
//! and every use reads none. What can end it before it expires is checked on every use: the
//! account's and the client's status, and the revocations stored for its grant, for itself, or
//! for the person's consent to the client (`tl_storage::revocation`, migration 0021).
//!
//! The token is opaque to clients (the internal account number stays hidden: subjects are
//! pairwise). Layout: `tla_` + base64url(version 1 ‖ salt (16 random bytes) ‖ ciphertext ‖
//! tag). Each token is encrypted under its own key, HMAC-SHA256(master, salt), with a zero
//! nonce: random 96-bit nonces under one key would be unsafe after some billions of tokens. The
//! master key is derived from the key-encryption key of the configuration and the provider's
//! stored pairwise secret: a copy of the database alone cannot make tokens.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tl_storage::{OidcToken, TokenKind};

const VERSION: u8 = 1;
const SALT: usize = 16;
const TAG: usize = 16;
/// The longest token accepted (a long scope list fits well within it).
pub const MAX_TOKEN_LEN: usize = 1024;

/// The seal of this provider's access tokens.
pub struct Sealer {
    master: [u8; 32],
}

impl Sealer {
    pub fn new(kek: &[u8; 32], pairwise_secret: &[u8]) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(kek).expect("HMAC takes any key");
        mac.update(b"thanglong/oidc/access-token/v1\0");
        mac.update(pairwise_secret);
        Sealer { master: mac.finalize().into_bytes().into() }
    }

    fn cipher(&self, salt: &[u8]) -> Aes256Gcm {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.master).expect("HMAC takes any key");
        mac.update(salt);
        let key: [u8; 32] = mac.finalize().into_bytes().into();
        Aes256Gcm::new(&key.into())
    }

    /// The access token for `t` (its `token_hash`, `kind`, `used_at` and `revoked_at` are not
    /// carried).
    pub fn seal(&self, t: &OidcToken) -> String {
        let salt: [u8; SALT] = rand::random();
        let msg = encode(t);
        let sealed = self
            .cipher(&salt)
            .encrypt(&Nonce::default(), Payload { msg: &msg, aad: &[VERSION] })
            .expect("AES-GCM encrypts a short message");
        let mut raw = Vec::with_capacity(1 + SALT + sealed.len());
        raw.push(VERSION);
        raw.extend_from_slice(&salt);
        raw.extend_from_slice(&sealed);
        format!("{}{}", super::ACCESS_TOKEN_PREFIX, B64.encode(raw))
    }

    /// What a token carries, if this provider sealed it (expired or not: the caller checks);
    /// `token_hash` is the token's key.
    pub fn open(&self, token: &str) -> Option<OidcToken> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let raw = B64.decode(token.strip_prefix(super::ACCESS_TOKEN_PREFIX)?).ok()?;
        if raw.len() < 1 + SALT + TAG || raw[0] != VERSION {
            return None;
        }
        let (salt, sealed) = raw[1..].split_at(SALT);
        let msg = self.cipher(salt).decrypt(&Nonce::default(), Payload { msg: sealed, aad: &[VERSION] }).ok()?;
        let mut t = decode(&msg)?;
        t.token_hash = super::protocol::secret_key(token);
        Some(t)
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    let n = u16::try_from(s.len()).expect("a token field is short");
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    out.push(u8::from(s.is_some()));
    if let Some(s) = s {
        put_str(out, s);
    }
}

fn put_time(out: &mut Vec<u8>, t: DateTime<Utc>) {
    out.extend_from_slice(&t.timestamp_millis().to_le_bytes());
}

/// grant, client, scope, account, auth_time, sid, created, expires.
fn encode(t: &OidcToken) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + t.grant_id.len() + t.client_id.len() + t.scope.len());
    put_str(&mut out, &t.grant_id);
    put_str(&mut out, &t.client_id);
    put_str(&mut out, &t.scope);
    out.push(u8::from(t.account_id.is_some()));
    if let Some(a) = t.account_id {
        out.extend_from_slice(&a.to_le_bytes());
    }
    out.push(u8::from(t.auth_time.is_some()));
    if let Some(a) = t.auth_time {
        put_time(&mut out, a);
    }
    put_opt_str(&mut out, t.sid.as_deref());
    put_time(&mut out, t.created_at);
    put_time(&mut out, t.expires_at);
    out
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn flag(&mut self) -> Option<bool> {
        match self.take(1)?[0] {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn str(&mut self) -> Option<String> {
        let n = u16::from_le_bytes(self.take(2)?.try_into().ok()?);
        String::from_utf8(self.take(usize::from(n))?.to_vec()).ok()
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn time(&mut self) -> Option<DateTime<Utc>> {
        Utc.timestamp_millis_opt(self.i64()?).single()
    }
}

fn decode(msg: &[u8]) -> Option<OidcToken> {
    let mut r = Reader(msg);
    let grant_id = r.str()?;
    let client_id = r.str()?;
    let scope = r.str()?;
    let account_id = if r.flag()? { Some(r.i64()?) } else { None };
    let auth_time = if r.flag()? { Some(r.time()?) } else { None };
    let sid = if r.flag()? { Some(r.str()?) } else { None };
    let created_at = r.time()?;
    let expires_at = r.time()?;
    if !r.0.is_empty() {
        return None;
    }
    Some(OidcToken {
        token_hash: String::new(),
        kind: TokenKind::Access,
        grant_id,
        client_id,
        account_id,
        scope,
        auth_time,
        sid,
        created_at,
        expires_at,
        used_at: None,
        revoked_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> OidcToken {
        let now = Utc.timestamp_millis_opt(1_796_000_000_123).unwrap();
        OidcToken {
            token_hash: String::new(),
            kind: TokenKind::Access,
            grant_id: "019a2b3c4d5eAbCdEfGhIj".into(),
            client_id: "thư-viện".into(),
            account_id: Some(42),
            scope: "openid profile thanglong:officer".into(),
            auth_time: Some(now - chrono::Duration::minutes(3)),
            sid: Some("c2lkLXNpZC1zaWQtc2lk".into()),
            created_at: now,
            expires_at: now + chrono::Duration::minutes(15),
            used_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn a_sealed_token_opens_to_what_it_was_made_from_and_hides_it() {
        let s = Sealer::new(&[7; 32], b"pairwise");
        let t = token();
        let sealed = s.seal(&t);
        assert!(sealed.starts_with("tla_") && sealed.len() < 300, "{sealed}");
        assert!(!sealed.contains("thanglong") && !sealed.contains("openid"), "the scope is not readable");
        let opened = s.open(&sealed).expect("opens");
        assert_eq!(opened.token_hash, crate::oidc::protocol::secret_key(&sealed));
        assert_eq!(
            (opened.grant_id.as_str(), opened.client_id.as_str(), opened.scope.as_str()),
            (t.grant_id.as_str(), t.client_id.as_str(), t.scope.as_str())
        );
        assert_eq!((opened.account_id, opened.auth_time, opened.sid.clone()), (t.account_id, t.auth_time, t.sid.clone()));
        assert_eq!((opened.created_at, opened.expires_at), (t.created_at, t.expires_at));
        assert_ne!(s.seal(&t), sealed, "two tokens for the same grant differ");
        let machine = OidcToken { account_id: None, auth_time: None, sid: None, ..token() };
        let m = s.open(&s.seal(&machine)).unwrap();
        assert_eq!((m.account_id, m.auth_time, m.sid), (None, None, None));
    }

    #[test]
    fn forged_altered_or_foreign_tokens_do_not_open() {
        let s = Sealer::new(&[7; 32], b"pairwise");
        let sealed = s.seal(&token());
        assert!(Sealer::new(&[8; 32], b"pairwise").open(&sealed).is_none(), "another key-encryption key");
        assert!(Sealer::new(&[7; 32], b"other").open(&sealed).is_none(), "another database's secret");
        let body = sealed.strip_prefix("tla_").unwrap();
        let mut raw = B64.decode(body).unwrap();
        for i in [0, 1, 20, raw.len() - 1] {
            raw[i] ^= 1;
            assert!(s.open(&format!("tla_{}", B64.encode(&raw))).is_none(), "byte {i} flipped");
            raw[i] ^= 1;
        }
        for bad in ["", "tla_", "tla_AAAA", "tla_!!!!", &sealed[..sealed.len() - 4], &format!("{sealed}{}", "A".repeat(2000))] {
            assert!(s.open(bad).is_none(), "{bad:?}");
        }
        assert!(s.open(&sealed.replacen("tla_", "tlx_", 1)).is_none());
    }
}
