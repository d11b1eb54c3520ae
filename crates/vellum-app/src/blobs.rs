//! Where file contents live: an object store (the `object_store` crate)
//! holding each distinct content once, under its SHA-256
//! (`sha256/ab/cd/abcd…`). Local files under the data directory by
//! default.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use object_store::aws::AmazonS3;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{
    Attribute, GetOptions, GetRange, GetResult, GetResultPayload, ObjectStore, PutMultipartOptions, PutOptions,
    WriteMultipart,
};
use tokio::io::AsyncReadExt;

use crate::{AppError, AppResult, Code};

/// Parts of this size go to the store one after another, so an upload of
/// any size holds at most a few of them in memory.
const PART: usize = 8 * 1024 * 1024;
/// Copies into the store at once (see `Blobs::transfers`).
const TRANSFERS: usize = 2;

/// Where files are stored, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageUrl {
    /// A directory (`file:///var/lib/vellum/files`).
    Local(PathBuf),
    /// An S3 bucket, or an S3-compatible server's
    /// (`s3://bucket/prefix?region=eu-west-1&endpoint=http://127.0.0.1:9000`).
    /// Credentials come from the environment (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, or the instance's role).
    S3 {
        bucket: String,
        prefix: String,
        region: Option<String>,
        endpoint: Option<String>,
    },
}

impl std::fmt::Display for StorageUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageUrl::Local(dir) => write!(f, "file://{}", dir.display()),
            StorageUrl::S3 { bucket, prefix, .. } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            StorageUrl::S3 { bucket, prefix, .. } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
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
        if let Some(rest) = raw.strip_prefix("s3://") {
            let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
            let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
            if bucket.is_empty() {
                return Err("`s3://` needs a bucket, as in s3://my-wiki-files".into());
            }
            let (mut region, mut endpoint) = (None, None);
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some(("region", v)) if !v.is_empty() => region = Some(v.to_owned()),
                    Some(("endpoint", v)) if v.starts_with("http://") || v.starts_with("https://") => {
                        endpoint = Some(v.to_owned());
                    }
                    _ => {
                        return Err(format!(
                            "`{pair}` in `{raw}` is not understood; S3 addresses take ?region=NAME&endpoint=http(s)://HOST:PORT"
                        ))
                    }
                }
            }
            return Ok(StorageUrl::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
                region,
                endpoint,
            });
        }
        if raw.contains("://") {
            return Err(format!(
                "`{raw}` is not a storage address Vellum knows; use file://DIRECTORY or s3://BUCKET"
            ));
        }
        Ok(StorageUrl::Local(PathBuf::from(raw)))
    }
}

/// The object store, or why it could not be opened.
#[derive(Clone)]
pub(crate) struct Blobs {
    store: Result<Arc<dyn ObjectStore>, String>,
    /// S3 storage, for presigned addresses (with the key prefix).
    signer: Option<(Arc<AmazonS3>, String)>,
    /// Turns for copying into the store part by part: each copy holds a
    /// few parts in memory, so this bounds the memory of many uploads at
    /// once (they wait on disk for their turn).
    transfers: Arc<tokio::sync::Semaphore>,
    /// The directory of local storage: uploads are linked into it rather
    /// than copied, and reads go straight to the file.
    local: Option<PathBuf>,
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
    pub(crate) fn open(url: &StorageUrl, keys: Option<&crate::files::S3Keys>) -> Blobs {
        let mut signer = None;
        let store = match url {
            StorageUrl::Local(dir) => std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))
                .and_then(|()| {
                    LocalFileSystem::new_with_prefix(dir)
                        .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
                        .map_err(|e| e.to_string())
                }),
            StorageUrl::S3 {
                bucket,
                prefix,
                region,
                endpoint,
            } => {
                let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
                if let Some(k) = keys {
                    b = b
                        .with_access_key_id(&k.access_key_id)
                        .with_secret_access_key(&k.secret_access_key);
                }
                if let Some(r) = region {
                    b = b.with_region(r);
                }
                if let Some(e) = endpoint {
                    b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
                }
                b.build().map_err(|e| e.to_string()).map(|s| {
                    let s = Arc::new(s);
                    signer = Some((Arc::clone(&s), prefix.clone()));
                    let s: Arc<dyn ObjectStore> = s;
                    if prefix.is_empty() {
                        s
                    } else {
                        Arc::new(PrefixStore::new(s, prefix.as_str())) as Arc<dyn ObjectStore>
                    }
                })
            }
        };
        if let Err(e) = &store {
            tracing::error!(error = %e, "the file storage could not be opened; uploads and downloads will fail");
        }
        let local = match url {
            StorageUrl::Local(dir) => std::fs::canonicalize(dir).ok(),
            StorageUrl::S3 { .. } => None,
        };
        Blobs {
            store,
            signer,
            local,
            transfers: Arc::new(tokio::sync::Semaphore::new(TRANSFERS)),
        }
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

    /// Copies a local file into the store under its hash, part by part
    /// (into local storage on the same file system: a hard link, no copy).
    /// On S3 the object keeps `content_type` (see [`Blobs::put_opts`]).
    pub(crate) async fn put_file(&self, sha256: &str, file: &FsPath, content_type: &str) -> AppResult<()> {
        let store = self.store()?;
        if let Some(root) = &self.local {
            let dest = root.join(key(sha256).as_ref());
            if let Some(parent) = dest.parent() {
                tokio::fs::create_dir_all(parent).await.map_err(unavailable)?;
            }
            match tokio::fs::hard_link(file, &dest).await {
                Ok(()) => return Ok(()),
                // The same content, stored meanwhile by another upload.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
                // Another file system, or none with links: copy below.
                Err(_) => {}
            }
        }
        let _turn = self.transfers.acquire().await.map_err(unavailable)?;
        let upload = store
            .put_multipart_opts(&key(sha256), self.put_opts(content_type))
            .await
            .map_err(unavailable)?;
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

    /// The attributes an object is stored with: on S3 its type, which S3
    /// answers with when it delivers the object itself (local storage
    /// keeps none).
    fn put_opts(&self, content_type: &str) -> PutMultipartOptions {
        let mut opts = PutMultipartOptions::default();
        if self.signer.is_some() {
            opts.attributes
                .insert(Attribute::ContentType, content_type.to_owned().into());
        }
        opts
    }

    /// Stores a small blob held in memory (a preview).
    pub(crate) async fn put_bytes(&self, sha256: &str, bytes: Bytes, content_type: &str) -> AppResult<()> {
        let opts = PutOptions {
            attributes: self.put_opts(content_type).attributes,
            ..PutOptions::default()
        };
        self.store()?
            .put_opts(&key(sha256), bytes.into(), opts)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// A presigned address at which S3 itself delivers the blob for
    /// `expires` (`None` for local storage).
    pub(crate) async fn signed_url(&self, sha256: &str, expires: std::time::Duration) -> AppResult<Option<String>> {
        use object_store::signer::Signer;
        let Some((s3, prefix)) = &self.signer else {
            return Ok(None);
        };
        let path = if prefix.is_empty() {
            key(sha256)
        } else {
            Path::from(format!("{prefix}/{}", key(sha256)))
        };
        let url = s3
            .signed_url(reqwest::Method::GET, &path, expires)
            .await
            .map_err(unavailable)?;
        Ok(Some(url.to_string()))
    }

    /// A whole blob in memory (for blobs known to be of bounded size).
    pub(crate) async fn read_all(&self, sha256: &str) -> AppResult<Bytes> {
        let got = self.store()?.get(&key(sha256)).await.map_err(unavailable)?;
        got.bytes().await.map_err(unavailable)
    }

    /// Reads a blob, or the byte range `range` of it (inclusive end).
    pub(crate) async fn read(&self, sha256: &str, range: Option<(u64, u64)>) -> AppResult<BlobRead> {
        let opts = GetOptions {
            range: range.map(|(a, b)| GetRange::Bounded(a..b + 1)),
            ..GetOptions::default()
        };
        let got = self.store()?.get_opts(&key(sha256), opts).await.map_err(unavailable)?;
        let (start, end) = (got.range.start, got.range.end);
        let stream = match got.payload {
            // A local file: read in large blocks (the store's own stream
            // reads 8 KiB at a time).
            GetResultPayload::File(file, _) => file_stream(file, start, end),
            other @ GetResultPayload::Stream(_) => GetResult { payload: other, ..got }
                .into_stream()
                .map(|r| r.map_err(std::io::Error::other))
                .boxed(),
        };
        Ok(BlobRead { stream })
    }

    /// The size of a stored blob, if it is stored.
    pub(crate) async fn size_of(&self, sha256: &str) -> AppResult<Option<u64>> {
        match self.store()?.head(&key(sha256)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Copies a blob from `self` into `to`, streaming it part by part.
    pub(crate) async fn copy_to(&self, sha256: &str, to: &Blobs, content_type: &str) -> AppResult<()> {
        let _turn = to.transfers.acquire().await.map_err(unavailable)?;
        let got = self.store()?.get(&key(sha256)).await.map_err(unavailable)?;
        let mut stream = got.into_stream();
        let upload = to
            .store()?
            .put_multipart_opts(&key(sha256), to.put_opts(content_type))
            .await
            .map_err(unavailable)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(unavailable)?;
            writer.wait_for_capacity(2).await.map_err(unavailable)?;
            writer.put(chunk);
        }
        writer.finish().await.map_err(unavailable)?;
        Ok(())
    }

    /// Removes a blob's bytes (a missing one is no error).
    pub(crate) async fn delete(&self, sha256: &str) -> AppResult<()> {
        match self.store()?.delete(&key(sha256)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// Bytes `start..end` of an open file, in blocks of up to 1 MiB.
fn file_stream(file: std::fs::File, start: u64, end: u64) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
    use tokio::io::AsyncSeekExt;
    const BLOCK: u64 = 1024 * 1024;
    let state = (Some(tokio::fs::File::from_std(file)), start, false);
    futures_util::stream::unfold(state, move |(file, pos, sought)| async move {
        let mut file = file?;
        if pos >= end {
            return None;
        }
        if !sought {
            if let Err(e) = file.seek(std::io::SeekFrom::Start(pos)).await {
                return Some((Err(e), (None, pos, true)));
            }
        }
        let want = usize::try_from((end - pos).min(BLOCK)).unwrap_or(1 << 20);
        let mut buf = vec![0u8; want];
        let mut filled = 0;
        while filled < want {
            match file.read(&mut buf[filled..]).await {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) => return Some((Err(e), (None, pos, true))),
            }
        }
        if filled == 0 {
            let e = std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the stored file is shorter than recorded",
            );
            return Some((Err(e), (None, pos, true)));
        }
        buf.truncate(filled);
        Some((Ok(Bytes::from(buf)), (Some(file), pos + filled as u64, true)))
    })
    .boxed()
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
        assert_eq!(
            StorageUrl::parse("s3://wiki/files/?region=eu-west-1&endpoint=http://127.0.0.1:9000").unwrap(),
            StorageUrl::S3 {
                bucket: "wiki".into(),
                prefix: "files".into(),
                region: Some("eu-west-1".into()),
                endpoint: Some("http://127.0.0.1:9000".into()),
            }
        );
        assert_eq!(StorageUrl::parse("s3://wiki").unwrap().to_string(), "s3://wiki");
        assert!(StorageUrl::parse("s3://").is_err());
        assert!(StorageUrl::parse("s3://wiki?secret=x")
            .unwrap_err()
            .contains("not understood"));
        assert!(StorageUrl::parse("ftp://x").unwrap_err().contains("file://"));
        assert!(StorageUrl::parse("file://").is_err());
    }
}
