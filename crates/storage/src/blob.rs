//! The file store: where uploaded bytes live. The filesystem under the data directory by
//! default; files are written to a temporary name, synced, then renamed into place, so a crash
//! never leaves a half-written file under a real key.

use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(Self { root })
    }

    /// A new temporary file to stream an upload into.
    pub async fn create_temp(&self, name: &str) -> std::io::Result<(PathBuf, tokio::fs::File)> {
        let path = self.root.join("tmp").join(name);
        let f = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await?;
        Ok((path, f))
    }

    /// Where the bytes of `key` live: two levels of directories keep each one small.
    pub fn path(&self, key: &str) -> PathBuf {
        let a = key.get(0..2).unwrap_or("00");
        let b = key.get(2..4).unwrap_or("00");
        self.root.join(a).join(b).join(key)
    }

    /// Makes a finished temporary file durable under `key`.
    pub async fn commit(&self, mut file: tokio::fs::File, temp: &Path, key: &str) -> std::io::Result<()> {
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        let dest = self.path(key);
        let dir = dest.parent().expect("keyed path has a parent");
        tokio::fs::create_dir_all(dir).await?;
        tokio::fs::rename(temp, &dest).await?;
        // The rename itself must reach the disk too.
        if let Ok(d) = tokio::fs::File::open(dir).await {
            let _ = d.sync_all().await;
        }
        Ok(())
    }

    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}
