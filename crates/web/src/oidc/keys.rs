//! ID-token signing keys: ES256, the private half sealed in the database with the configured
//! key-encryption key (`tl_sign::seal_key`). A rotation makes a new key active; the old ones
//! stay in the JWKS until every token they signed has expired.

use super::jwt;
use super::protocol::KEY_PUBLISH_AFTER_RETIREMENT;
use chrono::{DateTime, Utc};
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tl_storage::{AuditEntry, Database, OidcKey};

/// App servers look for a newer key (a rotation made elsewhere) this often.
const RELOAD: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct KeyCache {
    current: Mutex<Option<(Instant, Arc<jwt::Es256>)>>,
}

impl KeyCache {
    /// The active signing key: the newest unretired key this server can open; a new one when
    /// there is none (first start, or a key sealed under a key-encryption key now gone).
    pub async fn signing_key(&self, db: &dyn Database, kek: &[u8; 32]) -> anyhow::Result<Arc<jwt::Es256>> {
        if let Some((at, key)) = self.current.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            if at.elapsed() < RELOAD {
                return Ok(key.clone());
            }
        }
        let now = Utc::now();
        let keys = db.read().await?.list_oidc_keys(now).await?;
        let found = keys.iter().filter(|k| k.retired_at.is_none()).find_map(|k| open(k, kek).map(|key| (k.kid.clone(), key)));
        let (kid, key) = match found {
            Some(f) => f,
            None => {
                let kid = rotate(db, kek, now, "system").await?;
                let keys = db.read().await?.list_oidc_keys(now).await?;
                let k = keys.iter().find(|k| k.kid == kid).ok_or_else(|| anyhow::anyhow!("new key vanished"))?;
                (kid, open(k, kek).ok_or_else(|| anyhow::anyhow!("new key does not open"))?)
            }
        };
        let key = Arc::new(jwt::Es256::new(kid, &key)?);
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), key.clone()));
        Ok(key)
    }

    /// Forgets the cached key (after a rotation in this process).
    pub fn clear(&self) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

fn open(k: &OidcKey, kek: &[u8; 32]) -> Option<SigningKey> {
    let der = tl_sign::open_key(&k.sealed_key, kek).ok()?;
    SigningKey::from_pkcs8_der(&der).ok()
}

/// Every published public key (for the JWKS and for checking `id_token_hint`).
pub async fn published(db: &dyn Database, now: DateTime<Utc>) -> anyhow::Result<Vec<(String, VerifyingKey, serde_json::Value)>> {
    let keys = db.read().await?.list_oidc_keys(now).await?;
    Ok(keys.into_iter().filter_map(|k| jwt::verifying_key_from_jwk(&k.public_jwk).map(|v| (k.kid, v, k.public_jwk))).collect())
}

/// Makes a new key active and retires the others (published for a while longer). Returns its id.
pub async fn rotate(db: &dyn Database, kek: &[u8; 32], now: DateTime<Utc>, actor: &str) -> anyhow::Result<String> {
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let kid = jwt::thumbprint(key.verifying_key());
    let der = key.to_pkcs8_der().map_err(|e| anyhow::anyhow!("pkcs8: {e}"))?;
    let mut w = db.begin().await?;
    w.add_oidc_key(&OidcKey {
        kid: kid.clone(),
        alg: "ES256".into(),
        public_jwk: jwt::public_jwk(key.verifying_key(), &kid),
        sealed_key: tl_sign::seal_key(der.as_bytes(), kek),
        created_at: now,
        retired_at: None,
        publish_until: None,
    })
    .await?;
    let retired = w.retire_oidc_keys(&kid, now, now + KEY_PUBLISH_AFTER_RETIREMENT).await?;
    w.append_audit(&AuditEntry {
        at: now,
        actor_id: None,
        actor_label: actor.into(),
        action: "oidc.key_rotated".into(),
        target_type: "oidc_key".into(),
        target_id: kid.clone(),
        detail: serde_json::json!({"retired": retired, "alg": "ES256"}),
        ip: None,
        request_id: None,
    })
    .await?;
    w.commit().await?;
    Ok(kid)
}
