//! ES256 signing in two halves (offline/online ECDSA). An ECDSA P-256 signature of a message
//! hash z with the key d is (r, s) where r = x(k·G) mod n and s = k⁻¹·(z + r·d) mod n, for a
//! fresh random nonce k. Nearly all of the cost — the point multiplication k·G and the two
//! inversions — is in the nonce half, which depends on neither the message nor the key. A
//! background thread makes those halves ahead of time at idle priority (Linux `SCHED_IDLE`: it
//! runs only on a core nothing else wants), many at once so that one inversion serves a whole
//! chunk (Montgomery's trick); signing an ID token is then a hash and two multiplications.
//!
//! On the token endpoint the signature is made after the code's batch is committed, while the
//! client waits: the measured exchange rate with free signatures was 25–37 % higher (BENCHMARKS.md,
//! session 14). When the pool is empty (the cores never idle), [`take`] returns nothing and the
//! caller signs the whole way with `ring`.
//!
//! Safety of the nonces: each k comes from `ring`'s key generation (the operating system's random
//! source, uniform in [1, n−1]); a nonce is removed from the pool under its lock before it is
//! used, so no two signatures share one; the pool lives only in this process's memory, as the
//! signing keys do, and its values are wiped when dropped.

use p256::elliptic_curve::ff::{Field, PrimeField};
use p256::elliptic_curve::ops::Reduce;
use p256::elliptic_curve::zeroize::Zeroize;
use p256::{FieldBytes, NonZeroScalar, Scalar, U256};
use sha2::{Digest, Sha256};
use std::sync::{Condvar, Mutex, OnceLock};

/// Nonces kept ready; at ~30,000 signatures a second this is a quarter of a second of them.
pub const POOL_SIZE: usize = 8192;
/// The background thread is woken when the pool falls below this.
const REFILL_BELOW: usize = POOL_SIZE / 2;
/// Nonces made together (one scalar inversion for all of them).
const CHUNK: usize = 64;

/// The message-independent half of one signature: k⁻¹ and r. Used once.
pub struct Nonce {
    k_inv: Scalar,
    r: Scalar,
}

impl Drop for Nonce {
    fn drop(&mut self) {
        self.k_inv.zeroize();
        self.r.zeroize();
    }
}

impl Nonce {
    /// The signature r ‖ s (64 bytes, RFC 7518 §3.4) of `msg` with the key `d`; None in the
    /// (probability 2⁻²⁵⁶) case s = 0, where the caller signs afresh.
    pub fn sign(self, d: &NonZeroScalar, msg: &[u8]) -> Option<[u8; 64]> {
        let z = <Scalar as Reduce<U256>>::reduce_bytes(&Sha256::digest(msg));
        let d: &Scalar = d.as_ref();
        let mut s = self.k_inv * (z + self.r * d);
        if bool::from(s.is_zero()) {
            return None;
        }
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.r.to_repr());
        out[32..].copy_from_slice(&s.to_repr());
        s.zeroize();
        Some(out)
    }
}

struct Pool {
    inner: Mutex<Inner>,
    wanted: Condvar,
}

struct Inner {
    nonces: Vec<Nonce>,
    /// The background thread waits for a wake-up (and poppers below the mark give one).
    filler_waiting: bool,
}

static POOL: OnceLock<&'static Pool> = OnceLock::new();

fn pool() -> &'static Pool {
    POOL.get_or_init(|| {
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            inner: Mutex::new(Inner { nonces: Vec::with_capacity(POOL_SIZE), filler_waiting: false }),
            wanted: Condvar::new(),
        }));
        if let Err(e) = std::thread::Builder::new().name("tl-nonces".into()).spawn(move || fill(pool)) {
            tracing::warn!(error = %e, "no thread for ES256 nonces: every signature is made whole");
        }
        pool
    })
}

fn lock(pool: &Pool) -> std::sync::MutexGuard<'_, Inner> {
    // A nonce vector cannot be left half-updated by a panic: push and pop are whole.
    pool.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A fresh nonce, if one is ready (the first call starts the background thread).
pub fn take() -> Option<Nonce> {
    let pool = pool();
    let mut g = lock(pool);
    let n = g.nonces.pop();
    if g.filler_waiting && g.nonces.len() < REFILL_BELOW {
        g.filler_waiting = false;
        pool.wanted.notify_one();
    }
    n
}

/// How many nonces are ready.
#[cfg(test)]
fn ready() -> usize {
    lock(pool()).nonces.len()
}

fn fill(pool: &'static Pool) {
    idle_priority();
    let rng = ring::rand::SystemRandom::new();
    loop {
        let made = match make(&rng, CHUNK) {
            Ok(v) => v,
            Err(why) => {
                tracing::warn!(why, "ES256 nonces cannot be made ahead: every signature is made whole");
                return;
            }
        };
        let mut g = lock(pool);
        let room = POOL_SIZE.saturating_sub(g.nonces.len());
        g.nonces.extend(made.into_iter().take(room));
        while g.nonces.len() >= POOL_SIZE || (g.filler_waiting && g.nonces.len() >= REFILL_BELOW) {
            g.filler_waiting = true;
            g = pool.wanted.wait(g).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

/// Linux: `SCHED_IDLE`, so that making nonces never takes a core from a request.
fn idle_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: 0 is the calling thread; the parameter is a valid struct for SCHED_IDLE.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0 {
            tracing::debug!("SCHED_IDLE refused; the nonce thread runs at normal priority");
        }
    }
}

/// The layout of `ring`'s P-256 PKCS#8 v1 document (RFC 5915 inside RFC 5208): the private key
/// at 36..68, the uncompressed public point 04 ‖ x ‖ y at 73..138.
const PKCS8_LEN: usize = 138;
const PKCS8_HEAD: [u8; 36] = [
    0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d, 0x30, 0x6b, 0x02, 0x01, 0x01, 0x04, 0x20,
];
const PKCS8_MID: [u8; 6] = [0xa1, 0x44, 0x03, 0x42, 0x00, 0x04];

/// `count` nonces: k and k·G from `ring`'s P-256 key generation (its assembly point
/// multiplication), r = x mod n, and every k⁻¹ from one inversion.
fn make(rng: &ring::rand::SystemRandom, count: usize) -> Result<Vec<Nonce>, &'static str> {
    let mut ks: Vec<Scalar> = Vec::with_capacity(count);
    let mut rs: Vec<Scalar> = Vec::with_capacity(count);
    while ks.len() < count {
        let doc = ring::signature::EcdsaKeyPair::generate_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, rng)
            .map_err(|_| "the system random source failed")?;
        let b = doc.as_ref();
        if b.len() != PKCS8_LEN || b[..36] != PKCS8_HEAD || b[68..74] != PKCS8_MID {
            return Err("ring's key document has an unexpected layout");
        }
        let Some(k) = Option::<Scalar>::from(Scalar::from_repr(*FieldBytes::from_slice(&b[36..68]))) else {
            return Err("ring made a private key out of range");
        };
        let r = <Scalar as Reduce<U256>>::reduce_bytes(FieldBytes::from_slice(&b[74..106]));
        if bool::from(k.is_zero() | r.is_zero()) {
            continue;
        }
        ks.push(k);
        rs.push(r);
    }
    // Montgomery's trick: prefix[i] = k₀…kᵢ₋₁; inv = (k₀…kᵢ)⁻¹ walking back.
    let mut prefix: Vec<Scalar> = Vec::with_capacity(count);
    let mut acc = Scalar::ONE;
    for k in &ks {
        prefix.push(acc);
        acc *= k;
    }
    let Some(mut inv) = Option::<Scalar>::from(acc.invert()) else { return Err("a zero nonce") };
    let mut out: Vec<Nonce> = Vec::with_capacity(count);
    for i in (0..count).rev() {
        out.push(Nonce { k_inv: inv * prefix[i], r: rs[i] });
        inv *= ks[i];
    }
    for v in [&mut ks, &mut prefix] {
        v.iter_mut().for_each(Zeroize::zeroize);
    }
    acc.zeroize();
    inv.zeroize();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, SigningKey};

    #[test]
    fn presigned_signatures_verify_and_never_share_a_nonce() {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let rng = ring::rand::SystemRandom::new();
        let nonces = make(&rng, CHUNK).expect("nonces");
        let mut rs = std::collections::HashSet::new();
        for (i, n) in nonces.into_iter().enumerate() {
            let msg = format!("header.claims-{i}");
            let sig = n.sign(key.as_nonzero_scalar(), msg.as_bytes()).expect("s is not zero");
            assert!(rs.insert(sig[..32].to_vec()), "every signature has its own r");
            let sig = Signature::from_slice(&sig).unwrap();
            key.verifying_key().verify(msg.as_bytes(), &sig).expect("verifies with the public key");
            // Another message does not pass with this signature.
            assert!(key.verifying_key().verify(b"header.other", &sig).is_err());
        }
    }

    #[test]
    fn the_pool_fills_in_the_background_and_hands_each_nonce_out_once() {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while ready() < CHUNK && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(ready() >= CHUNK, "the background thread made nonces");
        let mut rs = std::collections::HashSet::new();
        for _ in 0..CHUNK {
            let sig = take().expect("a nonce is ready").sign(key.as_nonzero_scalar(), b"m").unwrap();
            assert!(rs.insert(sig[..32].to_vec()), "a nonce is never handed out twice");
        }
    }
}
