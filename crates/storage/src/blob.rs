//! The file store: where uploaded bytes live. The filesystem under the data directory by
//! default, or an S3-compatible object store (AWS S3, MinIO, Ceph, a provincial data centre's
//! store) when configured.
//!
//! Uploads always stream first to a temporary file on local disk (hashed and checked by
//! content on the way); `commit` then makes them durable under their key: on the filesystem by
//! fsync + rename (a crash never leaves a half-written file under a real key), in S3 by a PUT
//! that returns only once the object is stored, after which the temporary file is removed.

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// Where an S3-compatible store is and how to sign in to it.
#[derive(Clone)]
pub struct S3Config {
    /// e.g. `https://s3.hanoi.gov.vn` or `http://127.0.0.1:9000`; None for AWS itself.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Plain HTTP (a store on the same private network or a test stand-in).
    pub allow_http: bool,
    /// Prefix for every key, so several deployments can share a bucket.
    pub prefix: String,
}

impl std::fmt::Debug for S3Config {
    /// Never prints the secret key (configurations end up in logs).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("allow_http", &self.allow_http)
            .field("prefix", &self.prefix)
            .finish()
    }
}

#[derive(Clone)]
enum Backend {
    Fs,
    S3 { store: Arc<dyn ObjectStore>, prefix: String },
}

#[derive(Clone)]
pub struct BlobStore {
    /// Temporary files (both backends) and, on the filesystem backend, the files themselves.
    root: PathBuf,
    backend: Backend,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.backend {
            Backend::Fs => "filesystem",
            Backend::S3 { .. } => "s3",
        };
        f.debug_struct("BlobStore").field("root", &self.root).field("backend", &kind).finish()
    }
}

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl BlobStore {
    /// Files under `root` on the local filesystem.
    pub fn filesystem(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(Self { root, backend: Backend::Fs })
    }

    /// Files in an S3-compatible bucket; `root` holds only temporary files.
    pub fn s3(root: impl Into<PathBuf>, cfg: &S3Config) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join("tmp"))?;
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&cfg.bucket)
            .with_region(&cfg.region)
            .with_access_key_id(&cfg.access_key_id)
            .with_secret_access_key(&cfg.secret_access_key)
            .with_allow_http(cfg.allow_http);
        if let Some(e) = &cfg.endpoint {
            // Path-style addressing (`endpoint/bucket/key`): what S3-compatible stores expect.
            b = b.with_endpoint(e).with_virtual_hosted_style_request(false);
        }
        let store = b.build().map_err(io_err)?;
        Ok(Self { root, backend: Backend::S3 { store: Arc::new(store), prefix: cfg.prefix.trim_matches('/').to_owned() } })
    }

    pub fn is_s3(&self) -> bool {
        matches!(self.backend, Backend::S3 { .. })
    }

    /// A new temporary file to stream an upload into.
    pub async fn create_temp(&self, name: &str) -> std::io::Result<(PathBuf, tokio::fs::File)> {
        let path = self.root.join("tmp").join(name);
        let f = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await?;
        Ok((path, f))
    }

    /// Where the bytes of `key` live on the filesystem backend: two levels of directories keep
    /// each one small.
    fn path(&self, key: &str) -> PathBuf {
        let a = key.get(0..2).unwrap_or("00");
        let b = key.get(2..4).unwrap_or("00");
        self.root.join(a).join(b).join(key)
    }

    fn object(prefix: &str, key: &str) -> ObjectPath {
        if prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{prefix}/{key}"))
        }
    }

    /// Makes a finished temporary file durable under `key`.
    pub async fn commit(&self, mut file: tokio::fs::File, temp: &Path, key: &str) -> std::io::Result<()> {
        file.flush().await?;
        match &self.backend {
            Backend::Fs => {
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
            Backend::S3 { store, prefix } => {
                drop(file);
                // Uploads are bounded (20 MB a file by default), so one PUT carries them.
                let bytes = tokio::fs::read(temp).await?;
                let put = store.put(&Self::object(prefix, key), bytes::Bytes::from(bytes).into()).await;
                let _ = tokio::fs::remove_file(temp).await;
                put.map(|_| ()).map_err(io_err)
            }
        }
    }

    /// The bytes stored under `key`.
    pub async fn read(&self, key: &str) -> std::io::Result<Vec<u8>> {
        match &self.backend {
            Backend::Fs => tokio::fs::read(self.path(key)).await,
            Backend::S3 { store, prefix } => {
                let got = store.get(&Self::object(prefix, key)).await.map_err(|e| match e {
                    object_store::Error::NotFound { .. } => std::io::Error::new(std::io::ErrorKind::NotFound, e.to_string()),
                    other => io_err(other),
                })?;
                Ok(got.bytes().await.map_err(io_err)?.to_vec())
            }
        }
    }

    /// Removes `key`; a key that is already gone is not an error.
    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        match &self.backend {
            Backend::Fs => match tokio::fs::remove_file(self.path(key)).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
            Backend::S3 { store, prefix } => match store.delete(&Self::object(prefix, key)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(io_err(e)),
            },
        }
    }

    /// Whether the store answers (the readiness probe and start-up check).
    pub async fn check(&self) -> std::io::Result<()> {
        match &self.backend {
            Backend::Fs => tokio::fs::metadata(self.root.join("tmp")).await.map(|_| ()),
            Backend::S3 { store, prefix } => match store.head(&Self::object(prefix, ".thanglong-probe")).await {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(io_err(e)),
            },
        }
    }
}
