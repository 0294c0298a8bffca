//! Secrets: Argon2id password hashes, random tokens stored only as SHA-256, and the
//! per-address sign-in throttle.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane: OWASP's recommendation).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// [`hash_password`] on the blocking pool: Argon2 takes tens of milliseconds of CPU.
pub async fn hash_password_async(password: &str) -> anyhow::Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password)).await?
}

/// Checks a password against a stored hash. With no hash (unknown login, federated-only
/// account) a dummy hash is checked anyway so the answer takes the same time.
pub fn verify_password(password: &str, hash: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("không có tài khoản này").expect("hash"));
    let (h, real) = match hash {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    let ok = PasswordHash::new(h).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok());
    ok && real
}

/// A new random secret: 32 bytes, URL-safe base64, with a readable prefix.
pub fn new_token(prefix: &str) -> String {
    let mut b = [0u8; 32];
    // The thread's CSPRNG (ChaCha, reseeded from the OS): a system call per token cost more.
    rand::thread_rng().fill_bytes(&mut b);
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

pub fn sha256_hex(s: &str) -> String {
    let mut out = [0u8; 64];
    // Into a buffer: `hex::encode` builds the string a char at a time (three times per exchange).
    hex::encode_to_slice(Sha256::digest(s.as_bytes()), &mut out).expect("64 hex digits for 32 bytes");
    String::from_utf8(out.to_vec()).expect("hex is ASCII")
}

/// Constant-time comparison of two secrets.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Attempts per key (a client address by default) in a sliding window (in memory: per app
/// server). Per-account lockout is in the database, so it holds across app servers.
pub struct Throttle<K = IpAddr> {
    max: usize,
    window: Duration,
    hits: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: std::hash::Hash + Eq> Throttle<K> {
    pub fn new(max: usize, window: Duration) -> Self {
        Self { max, window, hits: Mutex::new(HashMap::new()) }
    }

    /// Records an attempt; Err(seconds to wait) when over the limit.
    pub fn hit(&self, ip: K, now: Instant) -> Result<(), u64> {
        let mut map = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            // Bound memory under a flood of addresses: forget windows that have passed.
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < self.window));
        }
        let q = map.entry(ip).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            q.pop_front();
        }
        if q.len() >= self.max {
            let wait = self.window.saturating_sub(now.duration_since(*q.front().expect("non-empty")));
            return Err(wait.as_secs().max(1));
        }
        q.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("Hoa sen nở giữa hồ").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("Hoa sen nở giữa hồ", Some(&h)));
        assert!(!verify_password("hoa sen no giua ho", Some(&h)));
        assert!(!verify_password("không có tài khoản này", None));
        assert!(!verify_password("x", Some("not a hash")));
    }

    #[test]
    fn throttle_window() {
        let t = Throttle::new(2, Duration::from_secs(60));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        assert!(t.hit(ip, t0).is_ok());
        assert!(t.hit(ip, t0).is_ok());
        assert_eq!(t.hit(ip, t0 + Duration::from_secs(10)), Err(50));
        assert!(t.hit("127.0.0.2".parse().unwrap(), t0).is_ok());
        assert!(t.hit(ip, t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token("tl_");
        assert!(a.starts_with("tl_") && a.len() == 46);
        assert_ne!(a, new_token("tl_"));
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("abc", "ab"));
    }
}
