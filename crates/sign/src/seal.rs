//! Private keys at rest: AES-256-GCM under a key-encryption key (KEK) that
//! lives outside the database (config secret, KMS), so a database dump alone
//! does not let anyone sign.
//!
//! Format: `version (1 byte) || nonce (12 bytes) || ciphertext || tag (16 bytes)`.
//! The version byte is authenticated too (it is the associated data), so a
//! later format can't be confused with this one.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::Error;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Domain separation: a blob sealed for another purpose under the same KEK
/// does not open as a key.
const AAD: &[u8] = b"thanglong/tl-sign/private-key/v1";

/// Encrypts a private key (any bytes, typically PKCS#8 DER) under `kek`,
/// with a random nonce. 96-bit random nonces are safe for far more keys
/// than one KEK will ever seal (NIST SP 800-38D: up to 2^32 messages).
pub fn seal_key(pkcs8: &[u8], kek: &[u8; 32]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let cipher = Aes256Gcm::new(kek.into());
    let aad = [&[VERSION][..], AAD].concat();
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: pkcs8, aad: &aad })
        // Only fails for plaintexts over 64 GiB.
        .expect("AES-GCM encrypts a key-sized message");
    [&[VERSION][..], &nonce, &sealed].concat()
}

/// Decrypts what [`seal_key`] produced. A wrong KEK, a changed byte or a
/// truncated blob all give [`Error::Unseal`], without saying which.
pub fn open_key(sealed: &[u8], kek: &[u8; 32]) -> Result<Zeroizing<Vec<u8>>, Error> {
    if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != VERSION {
        return Err(Error::Unseal);
    }
    let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
    let aad = [&[VERSION][..], AAD].concat();
    let cipher = Aes256Gcm::new(kek.into());
    cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: &aad }).map(Zeroizing::new).map_err(|_| Error::Unseal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_kind_of_damage_is_refused() {
        let kek = [7u8; 32];
        let key = b"-- a PKCS#8 key --".to_vec();
        let sealed = seal_key(&key, &kek);
        assert_eq!(sealed.len(), 1 + NONCE_LEN + key.len() + TAG_LEN);
        assert_eq!(*open_key(&sealed, &kek).unwrap(), key);
        // Random nonces: sealing twice never gives the same bytes.
        assert_ne!(seal_key(&key, &kek), sealed);

        assert!(matches!(open_key(&sealed, &[8u8; 32]), Err(Error::Unseal)));
        for i in 0..sealed.len() {
            let mut damaged = sealed.clone();
            damaged[i] ^= 0x01;
            assert!(open_key(&damaged, &kek).is_err(), "flip at {i} went unnoticed");
        }
        for len in 0..sealed.len() {
            assert!(open_key(&sealed[..len], &kek).is_err());
        }
    }
}
