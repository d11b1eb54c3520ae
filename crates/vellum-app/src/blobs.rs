//! Where file contents live: an object store (the `object_store` crate)
//! holding each distinct content once, under its SHA-256
//! (`sha256/ab/cd/abcd…`). Local files under the data directory by
//! default.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, WriteMultipart};
use tokio::io::AsyncReadExt;

use crate::{AppError, AppResult, Code};

/// Parts of this size go to the store one after another, so an upload of
/// any size holds at most a few of them in memory.
const PART: usize = 8 * 1024 * 1024;

/// Where files are stored, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageUrl {
    /// A directory (`file:///var/lib/vellum/files`).
    Local(PathBuf),
}

impl StorageUrl {
    /// Reads `file://PATH` (or a plain path).
    pub fn parse(raw: &str) -> Result<StorageUrl, String> {
        let raw = raw.trim();
        if let Some(rest) = raw.strip_prefix("file://") {
            if rest.is_empty() {
                return Err("`file://` needs a directory, as in file:///var/lib/vellum/files".into());
            }
            return Ok(StorageUrl::Local(PathBuf::from(rest)));
        }
        if raw.starts_with("s3://") {
            return Err(
                "S3 storage is not available in this version of Vellum; use file://DIRECTORY (see docs/files.md)"
                    .into(),
            );
        }
        if raw.contains("://") {
            return Err(format!(
                "`{raw}` is not a storage address Vellum knows; use file://DIRECTORY"
            ));
        }
        Ok(StorageUrl::Local(PathBuf::from(raw)))
    }
}

/// The object store, or why it could not be opened.
#[derive(Clone)]
pub(crate) struct Blobs {
    store: Result<Arc<dyn ObjectStore>, String>,
}

pub(crate) fn key(sha256: &str) -> Path {
    let (a, b) = (
        &sha256[..2.min(sha256.len())],
        &sha256[2.min(sha256.len())..4.min(sha256.len())],
    );
    Path::from(format!("sha256/{a}/{b}/{sha256}"))
}

fn unavailable(e: impl std::fmt::Display) -> AppError {
    AppError::new(
        Code::StorageUnavailable,
        format!("The file storage could not be used ({e}). Try again; if it goes on, tell an administrator."),
    )
}

/// A stored blob being read.
pub struct BlobRead {
    /// The bytes asked for.
    pub stream: BoxStream<'static, Result<Bytes, std::io::Error>>,
}

impl Blobs {
    pub(crate) fn open(url: &StorageUrl) -> Blobs {
        let store = match url {
            StorageUrl::Local(dir) => std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))
                .and_then(|()| {
                    LocalFileSystem::new_with_prefix(dir)
                        .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
                        .map_err(|e| e.to_string())
                }),
        };
        if let Err(e) = &store {
            tracing::error!(error = %e, "the file storage could not be opened; uploads and downloads will fail");
        }
        Blobs { store }
    }

    fn store(&self) -> AppResult<&Arc<dyn ObjectStore>> {
        self.store.as_ref().map_err(unavailable)
    }

    /// Whether the blob's bytes are in the store.
    pub(crate) async fn exists(&self, sha256: &str) -> AppResult<bool> {
        match self.store()?.head(&key(sha256)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Copies a local file into the store under its hash, part by part.
    pub(crate) async fn put_file(&self, sha256: &str, file: &FsPath) -> AppResult<()> {
        let store = self.store()?;
        let upload = store.put_multipart(&key(sha256)).await.map_err(unavailable)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut f = tokio::fs::File::open(file).await.map_err(unavailable)?;
        let mut buf = vec![0u8; 1024 * 1024];
        loop {
            let n = f.read(&mut buf).await.map_err(unavailable)?;
            if n == 0 {
                break;
            }
            writer.wait_for_capacity(2).await.map_err(unavailable)?;
            writer.write(&buf[..n]);
        }
        writer.finish().await.map_err(unavailable)?;
        Ok(())
    }

    /// Reads a blob, or the byte range `range` of it (inclusive end).
    pub(crate) async fn read(&self, sha256: &str, range: Option<(u64, u64)>) -> AppResult<BlobRead> {
        let opts = GetOptions {
            range: range.map(|(a, b)| GetRange::Bounded(a..b + 1)),
            ..GetOptions::default()
        };
        let got = self.store()?.get_opts(&key(sha256), opts).await.map_err(unavailable)?;
        let stream = got.into_stream().map(|r| r.map_err(std::io::Error::other)).boxed();
        Ok(BlobRead { stream })
    }

    /// Removes a blob's bytes (a missing one is no error).
    pub(crate) async fn delete(&self, sha256: &str) -> AppResult<()> {
        match self.store()?.delete(&key(sha256)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_filed_by_their_hash() {
        let h = "ab34".repeat(16);
        assert_eq!(key(&h).as_ref(), format!("sha256/ab/34/{h}"));
    }

    #[test]
    fn storage_addresses_are_read_or_refused_with_reasons() {
        assert_eq!(
            StorageUrl::parse("file:///srv/files").unwrap(),
            StorageUrl::Local("/srv/files".into())
        );
        assert_eq!(
            StorageUrl::parse("data/files").unwrap(),
            StorageUrl::Local("data/files".into())
        );
        assert!(StorageUrl::parse("s3://bucket").unwrap_err().contains("not available"));
        assert!(StorageUrl::parse("ftp://x").unwrap_err().contains("file://"));
        assert!(StorageUrl::parse("file://").is_err());
    }
}
