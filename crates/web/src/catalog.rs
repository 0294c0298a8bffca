//! The catalog as the public pages and the API read it: an in-memory search index of the
//! procedures in force today, rebuilt when the database's catalog generation changes (checked at
//! most once a second per app server) or the local date turns. Writes always go to the database.

use crate::error::AppResult;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tl_core::catalog::I18nText;
use tl_core::search::SearchIndex;
use tl_storage::{Database, FieldRow, ProcedureDetail, ProcedureSummary};

/// How stale a server's view of the catalog may be after another server (or the CLI) wrote it.
pub const MAX_STALENESS: Duration = Duration::from_secs(1);

pub struct Snapshot {
    pub generation: i64,
    pub day: chrono::NaiveDate,
    pub index: SearchIndex<ProcedureSummary>,
    /// Fields with the number of procedures in force in each.
    pub fields: Vec<FieldRow>,
    /// Procedure pages read since the snapshot was built, by (code, version asked for).
    /// Dropped with the snapshot, so a catalog write or a new day empties it.
    details: std::sync::Mutex<DetailCache>,
}

/// Procedure details by (code, version asked for).
type DetailCache = std::collections::HashMap<(String, Option<i64>), Arc<ProcedureDetail>>;

/// Most procedure details kept per snapshot (a province has ~2,100 procedures).
const MAX_CACHED_DETAILS: usize = 8192;

pub struct CatalogIndex {
    current: RwLock<Option<Arc<Snapshot>>>,
    /// Milliseconds since `epoch` of the last generation check.
    checked_ms: AtomicU64,
    epoch: Instant,
    rebuild: tokio::sync::Mutex<()>,
}

impl Default for CatalogIndex {
    fn default() -> Self {
        Self { current: RwLock::new(None), checked_ms: AtomicU64::new(0), epoch: Instant::now(), rebuild: tokio::sync::Mutex::new(()) }
    }
}

impl CatalogIndex {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    fn get(&self) -> Option<Arc<Snapshot>> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Makes the next read check the database (after a write through this server).
    pub fn invalidate(&self) {
        self.checked_ms.store(0, Ordering::Relaxed);
    }

    /// The current snapshot, reloaded first if the catalog or the day changed.
    pub async fn snapshot(&self, db: &Arc<dyn Database>) -> AppResult<Arc<Snapshot>> {
        let today = crate::portal::today();
        let fresh = |s: &Arc<Snapshot>| {
            s.day == today && self.now_ms().saturating_sub(self.checked_ms.load(Ordering::Relaxed)) < MAX_STALENESS.as_millis() as u64
        };
        if let Some(s) = self.get().filter(fresh) {
            return Ok(s);
        }
        // One request checks and rebuilds; the others keep answering from the old snapshot.
        let _guard = match self.rebuild.try_lock() {
            Ok(g) => g,
            Err(_) => match self.get() {
                Some(s) if s.day == today => return Ok(s),
                _ => self.rebuild.lock().await,
            },
        };
        if let Some(s) = self.get().filter(fresh) {
            return Ok(s);
        }
        let stale = self.get().filter(|s| s.day == today);
        let checked = async {
            let mut repo = db.read().await?;
            let generation = repo.catalog_generation().await?;
            Ok::<_, tl_storage::StoreError>((repo, generation))
        }
        .await;
        let (mut repo, generation) = match (checked, stale) {
            (Ok(x), _) => x,
            // The database is unreachable: keep answering from today's snapshot (the catalog
            // changes rarely) rather than failing every search; retry after MAX_STALENESS.
            (Err(e), Some(s)) => {
                tracing::warn!(error = %e, "catalog check failed; serving the last snapshot");
                self.checked_ms.store(self.now_ms(), Ordering::Relaxed);
                return Ok(s);
            }
            (Err(e), None) => return Err(e.into()),
        };
        if let Some(s) = self.get().filter(|s| s.generation == generation && s.day == today) {
            self.checked_ms.store(self.now_ms(), Ordering::Relaxed);
            return Ok(s);
        }
        let rows = repo.list_current_procedures(today).await?;
        let fields = repo.list_fields(today).await?;
        drop(repo);
        let docs = rows.into_iter().map(tl_storage::IndexedProcedure::into_doc).collect();
        let snap = Arc::new(Snapshot { generation, day: today, index: SearchIndex::new(docs), fields, details: Default::default() });
        tracing::debug!(generation, procedures = snap.index.len(), "catalog index rebuilt");
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(snap.clone());
        self.checked_ms.store(self.now_ms(), Ordering::Relaxed);
        Ok(snap)
    }
}

impl Snapshot {
    /// A procedure as in force on the snapshot's day (or a given version), from the cache or
    /// the database. Unknown codes are not cached (they cost one query each).
    pub async fn procedure(&self, db: &Arc<dyn Database>, code: &str, version: Option<i64>) -> AppResult<Option<Arc<ProcedureDetail>>> {
        let key = (code.to_owned(), version);
        if let Some(d) = self.details.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(Some(d.clone()));
        }
        let Some(d) = db.read().await?.get_procedure(code, self.day, version).await? else { return Ok(None) };
        let d = Arc::new(d);
        let mut cache = self.details.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED_DETAILS {
            cache.clear();
        }
        cache.insert(key, d.clone());
        Ok(Some(d))
    }

    pub fn field_name(&self, code: &str) -> Option<&I18nText> {
        self.fields.iter().find(|f| f.code == code).map(|f| &f.name)
    }
}
