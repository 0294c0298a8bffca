//! Compact JWS with ES256 (RFC 7515, RFC 7518 §3.4): signing ID tokens and checking the ID
//! tokens relying parties send back (`id_token_hint`). Only ES256 is accepted: `alg: none`,
//! HMAC algorithms and anything else are refused before any key is touched (RFC 8725 §3.1).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Longest JWT we try to read: ID tokens are well under 2 KiB.
const MAX_JWT_LEN: usize = 8192;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("algorithm not accepted")]
    Algorithm,
    #[error("unknown key")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
}

/// The public key as a JWK (RFC 7517, RFC 7518 §6.2).
pub fn public_jwk(key: &VerifyingKey, kid: &str) -> Value {
    let p = key.to_encoded_point(false);
    json!({
        "kty": "EC",
        "crv": "P-256",
        "x": B64.encode(p.x().expect("uncompressed point")),
        "y": B64.encode(p.y().expect("uncompressed point")),
        "use": "sig",
        "alg": "ES256",
        "kid": kid,
    })
}

/// The RFC 7638 thumbprint of the key: a stable, collision-free key id.
pub fn thumbprint(key: &VerifyingKey) -> String {
    let p = key.to_encoded_point(false);
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        B64.encode(p.x().expect("uncompressed point")),
        B64.encode(p.y().expect("uncompressed point"))
    );
    B64.encode(Sha256::digest(canonical.as_bytes()))
}

/// Reads back a JWK written by [`public_jwk`].
pub fn verifying_key_from_jwk(jwk: &Value) -> Option<VerifyingKey> {
    if jwk.get("kty")?.as_str()? != "EC" || jwk.get("crv")?.as_str()? != "P-256" {
        return None;
    }
    let x = B64.decode(jwk.get("x")?.as_str()?).ok()?;
    let y = B64.decode(jwk.get("y")?.as_str()?).ok()?;
    if x.len() != 32 || y.len() != 32 {
        return None;
    }
    let point = p256::EncodedPoint::from_affine_coordinates(x.as_slice().into(), y.as_slice().into(), false);
    VerifyingKey::from_encoded_point(&point).ok()
}

/// An ES256 signing key ready for use: the key id and the key pair in `ring`'s form (its P-256
/// code is assembly; signing is the token endpoint's largest single cost).
pub struct Es256 {
    pub kid: String,
    /// The protected header, encoded once: `{"alg":"ES256","kid":…,"typ":"JWT"}` in base64url.
    header: String,
    pair: ring::signature::EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
    /// The same key for the presigned path ([`super::presign`]).
    key: SigningKey,
}

impl Es256 {
    pub fn new(kid: String, key: &SigningKey) -> anyhow::Result<Es256> {
        let public = key.verifying_key().to_encoded_point(false);
        let rng = ring::rand::SystemRandom::new();
        let pair = ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &key.to_bytes(),
            public.as_bytes(),
            &rng,
        )
        .map_err(|e| anyhow::anyhow!("ES256 key rejected: {e}"))?;
        let header = B64.encode(json!({"alg": "ES256", "typ": "JWT", "kid": kid}).to_string());
        Ok(Es256 { kid, header, pair, rng, key: key.clone() })
    }

    /// A compact JWS of the claims (header `alg: ES256`, `typ: JWT`, `kid`).
    pub fn sign(&self, claims: &impl serde::Serialize) -> String {
        let claims = serde_json::to_string(claims).expect("claims always encode");
        let mut input = String::with_capacity(self.header.len() + 1 + claims.len() * 4 / 3 + 4 + 1 + 86);
        input.push_str(&self.header);
        input.push('.');
        B64.encode_string(claims, &mut input);
        let sig = self.signature(input.as_bytes(), super::presign::take());
        input.push('.');
        B64.encode_string(sig, &mut input);
        input
    }

    /// The 64-byte r ‖ s that RFC 7518 §3.4 asks for: with a nonce made ahead (the usual case),
    /// two multiplications; otherwise ring's whole signature (FIXED signing), which fails only
    /// when the system's random source does — that leaves nothing sensible to sign with.
    fn signature(&self, input: &[u8], nonce: Option<super::presign::Nonce>) -> [u8; 64] {
        if let Some(sig) = nonce.and_then(|n| n.sign(self.key.as_nonzero_scalar(), input)) {
            return sig;
        }
        let sig = self.pair.sign(&self.rng, input).expect("the system random source works");
        let mut out = [0u8; 64];
        out.copy_from_slice(sig.as_ref());
        out
    }
}

/// Checks the signature against the published keys and returns the claims. Expiry and
/// audience are the caller's business (an expired `id_token_hint` is still a good hint).
pub fn verify(token: &str, keys: &[(String, VerifyingKey)]) -> Result<Value, JwtError> {
    if token.len() > MAX_JWT_LEN {
        return Err(JwtError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwtError::Malformed);
    };
    let header: Value = B64.decode(h).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(JwtError::Malformed)?;
    if header.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err(JwtError::Algorithm);
    }
    if header.get("crit").is_some() {
        return Err(JwtError::Malformed);
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let sig_bytes = B64.decode(s).map_err(|_| JwtError::Malformed)?;
    let sig = Signature::from_slice(&sig_bytes).map_err(|_| JwtError::Signature)?;
    let input = &token[..h.len() + 1 + c.len()];
    let candidates: Vec<&VerifyingKey> = keys.iter().filter(|(k, _)| kid.is_none_or(|kid| kid == k)).map(|(_, v)| v).collect();
    if candidates.is_empty() {
        return Err(JwtError::UnknownKey);
    }
    if !candidates.iter().any(|k| k.verify(input.as_bytes(), &sig).is_ok()) {
        return Err(JwtError::Signature);
    }
    let claims: Value = B64.decode(c).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(JwtError::Malformed)?;
    if !claims.is_object() {
        return Err(JwtError::Malformed);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> (String, SigningKey) {
        let k = SigningKey::random(&mut rand::rngs::OsRng);
        (thumbprint(k.verifying_key()), k)
    }

    #[test]
    fn signs_and_verifies_and_refuses_every_forgery() {
        let (kid, k) = key();
        let keys = vec![(kid.clone(), *k.verifying_key())];
        let t = Es256::new(kid.clone(), &k).unwrap().sign(&json!({"sub": "a", "aud": "lib"}));
        assert_eq!(verify(&t, &keys).unwrap()["sub"], "a");
        // The JWK round-trips.
        let jwk = public_jwk(k.verifying_key(), &kid);
        assert_eq!(verifying_key_from_jwk(&jwk).unwrap(), *k.verifying_key());
        // alg none, HS256 with the public key as secret, changed claims, other key, junk.
        let parts: Vec<&str> = t.split('.').collect();
        let none = format!("{}.{}.", B64.encode(r#"{"alg":"none"}"#), parts[1]);
        assert_eq!(verify(&none, &keys), Err(JwtError::Algorithm));
        let hs = format!("{}.{}.{}", B64.encode(r#"{"alg":"HS256","kid":"x"}"#), parts[1], parts[2]);
        assert_eq!(verify(&hs, &keys), Err(JwtError::Algorithm));
        let changed = format!("{}.{}.{}", parts[0], B64.encode(r#"{"sub":"b","aud":"lib"}"#), parts[2]);
        assert_eq!(verify(&changed, &keys), Err(JwtError::Signature));
        let (kid2, k2) = key();
        assert_eq!(verify(&t, &[(kid2.clone(), *k2.verifying_key())]), Err(JwtError::UnknownKey));
        for junk in ["", "a.b", "a.b.c.d", "!!!.???.***", &"a".repeat(10_000)] {
            assert!(verify(junk, &keys).is_err(), "{junk}");
        }
        // A key id is a thumbprint: 43 base64url characters.
        assert_eq!(kid.len(), 43);
    }

    #[test]
    fn signatures_verify_with_the_published_key_whole_or_presigned() {
        let (kid, k) = key();
        let keys = vec![(kid.clone(), *k.verifying_key())];
        let signer = Es256::new(kid.clone(), &k).unwrap();
        for i in 0..20 {
            let t = signer.sign(&json!({"sub": "a", "n": i}));
            assert_eq!(verify(&t, &keys).unwrap()["n"], i);
            let header: Value = serde_json::from_slice(&B64.decode(t.split('.').next().unwrap()).unwrap()).unwrap();
            assert_eq!(header, json!({"alg": "ES256", "typ": "JWT", "kid": kid}));
        }
        // Both ways of signing give signatures the published key verifies.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let nonce = loop {
            match super::super::presign::take() {
                Some(n) => break n,
                None if std::time::Instant::now() < deadline => std::thread::sleep(std::time::Duration::from_millis(5)),
                None => panic!("no nonce was made ahead"),
            }
        };
        for (way, nonce) in [("presigned", Some(nonce)), ("whole", None)] {
            let sig = signer.signature(b"h.c", nonce);
            k.verifying_key().verify(b"h.c", &Signature::from_slice(&sig).unwrap()).unwrap_or_else(|e| panic!("{way}: {e}"));
        }
        // Another key's signer does not pass for this one.
        let (_, other) = key();
        let forged = Es256::new(kid, &other).unwrap().sign(&json!({"sub": "a"}));
        assert_eq!(verify(&forged, &keys), Err(JwtError::Signature));
    }
}
