//! What the provider keeps in memory between requests: registered clients (every token,
//! introspection and revocation request authenticates one) and the userinfo answer of each live
//! access token. Both are pure caches of the database, which stays the only truth.
//!
//! Staleness is bounded by the database's cache generation (`oidc_epoch`, migration 0020): a
//! trigger bumps it in the same transaction as anything that could make a cached answer wrong —
//! a token revoked or deleted, an account disabled or renamed, a role granted or withdrawn, a
//! client changed or suspended — whichever process made the change (another app server, the
//! CLI). Every server reads it every [`POLL`] and drops its cache when it moved; changes made by
//! this server drop it at once ([`Cache::invalidate`]). If the generation cannot be read for
//! [`TRUST`], nothing is served from memory until it can.
//!
//! An entry carries the local generation current *before* the database was read for it, so an
//! answer read just before an invalidation is never stored as if it came after.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tl_storage::Database;

/// How often each server reads the database's generation.
pub const POLL: Duration = Duration::from_millis(100);
/// How long a generation read stays good when the next reads fail.
pub const TRUST: Duration = Duration::from_secs(1);
/// Entries per map; a full map is emptied (the next requests refill it from the database).
const MAX_ENTRIES: usize = 100_000;

/// A map whose entries are valid for one generation.
struct Map<K, V> {
    entries: Mutex<HashMap<K, (u64, V)>>,
}

impl<K: Eq + Hash, V: Clone> Map<K, V> {
    fn new() -> Self {
        Self { entries: Mutex::new(HashMap::new()) }
    }
    fn get<Q: Hash + Eq + ?Sized>(&self, k: &Q, generation: u64) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let m = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        m.get(k).filter(|(g, _)| *g == generation).map(|(_, v)| v.clone())
    }
    fn put(&self, k: K, generation: u64, v: V) {
        let mut m = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() >= MAX_ENTRIES {
            m.clear();
        }
        m.insert(k, (generation, v));
    }
    fn remove<Q: Hash + Eq + ?Sized>(&self, k: &Q)
    where
        K: Borrow<Q>,
    {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).remove(k);
    }
    fn clear(&self) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// A userinfo answer: the JSON body, good until the token expires.
#[derive(Clone)]
pub struct UserinfoAnswer {
    pub body: axum::body::Bytes,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

pub struct Cache {
    /// Local generation: bumped whenever the database's moved or this server changed something.
    generation: AtomicU64,
    /// The database generation last read, and when.
    seen: Mutex<Option<(i64, Instant)>>,
    clients: Map<String, tl_storage::OidcClient>,
    userinfo: Map<String, UserinfoAnswer>,
}

impl Cache {
    /// A cache that follows `db`'s generation from a background task (ending with the cache).
    pub fn start(db: Arc<dyn Database>) -> Arc<Cache> {
        let cache = Arc::new(Cache { generation: AtomicU64::new(1), seen: Mutex::new(None), clients: Map::new(), userinfo: Map::new() });
        tokio::spawn(follow(Arc::downgrade(&cache), db));
        cache
    }

    /// The generation to tag what is about to be read from the database with; None when the
    /// cache must not be used (the database's generation has not been read lately).
    pub fn generation(&self) -> Option<u64> {
        let seen = *self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.filter(|(_, at)| at.elapsed() < TRUST).map(|_| self.generation.load(Ordering::Acquire))
    }

    /// Drops everything (after this server revoked, disabled or changed something).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.clients.clear();
        self.userinfo.clear();
    }

    pub fn client(&self, client_id: &str) -> Option<tl_storage::OidcClient> {
        let g = self.generation()?;
        self.clients.get(client_id, g)
    }

    pub fn put_client(&self, generation: u64, c: tl_storage::OidcClient) {
        self.clients.put(c.client_id.clone(), generation, c);
    }

    pub fn userinfo(&self, token_hash: &str, now: chrono::DateTime<chrono::Utc>) -> Option<UserinfoAnswer> {
        let g = self.generation()?;
        let a = self.userinfo.get(token_hash, g)?;
        if a.expires_at <= now {
            self.userinfo.remove(token_hash);
            return None;
        }
        Some(a)
    }

    pub fn put_userinfo(&self, generation: u64, token_hash: String, a: UserinfoAnswer) {
        self.userinfo.put(token_hash, generation, a);
    }

    /// Records a read of the database's generation; a new value drops everything.
    fn saw(&self, epoch: i64) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.is_some_and(|(e, _)| e != epoch) || seen.is_none() {
            self.invalidate();
        }
        *seen = Some((epoch, Instant::now()));
    }
}

async fn follow(cache: Weak<Cache>, db: Arc<dyn Database>) {
    let mut failing = false;
    loop {
        let read = async { db.read().await?.oidc_epoch().await }.await;
        {
            let Some(c) = cache.upgrade() else { return };
            match read {
                Ok(epoch) => {
                    if failing {
                        tracing::info!("the OIDC cache generation can be read again");
                    }
                    failing = false;
                    c.saw(epoch);
                }
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "the OIDC cache generation cannot be read; answering from the database");
                }
                Err(_) => {}
            }
        }
        tokio::time::sleep(POLL).await;
    }
}
