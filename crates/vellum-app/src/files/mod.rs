//! Files attached to pages: uploads streamed to storage, versions, the
//! trash, and reading them back (for the web layer to deliver).
//!
//! An upload is streamed to a temporary file while its SHA-256 and size
//! are computed (never held in memory), refused as soon as it passes the
//! size limit, typed from its first bytes (not from what the client says)
//! and checked against the allowed types; its bytes go to the object store
//! under their hash unless they are there already (so identical files are
//! stored once), and then one unit of work records the file, its new
//! version and a `file.uploaded` event. Every read goes through the page:
//! a file of a page the reader may not read answers as a missing one.

use std::path::PathBuf;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use vellum_core::acl::Level;
use vellum_core::{Actor, Event, PageId, PagePath, Timestamp};
use vellum_store::files::{self as store, FileRecord};
use vellum_store::pages::{self, PageRecord};

mod kinds;

use kinds::{allowed, check_name, sniff};

use crate::blobs::{BlobRead, StorageUrl};
use crate::jobs::{JobError, JobSpec, UPKEEP_QUEUE};
use crate::worker::{Schedule, When};
use crate::{App, AppError, AppResult, Code, PageRequest, Paged};

/// The bytes kept to decide a file's type.
const SNIFF: usize = 8192;
/// Unused blobs younger than this are kept: an upload may be about to
/// point at them.
const GC_GRACE_MS: i64 = 24 * 3600 * 1000;
pub(crate) const GC: &str = "files.gc";

/// S3 keys given in the configuration (otherwise the environment's
/// `AWS_*` variables or the instance's role are used).
#[derive(Clone, PartialEq, Eq)]
pub struct S3Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Keys")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .finish()
    }
}

/// Files settings.
#[derive(Debug, Clone)]
pub struct FilesConfig {
    /// Where blobs are stored (default: `files/` in the data directory).
    pub storage: Option<StorageUrl>,
    /// Keys for S3 storage, when not from the environment.
    pub s3_keys: Option<S3Keys>,
    /// ClamAV's daemon, when uploads are to be scanned.
    pub clamd: Option<crate::scan::Clamd>,
    /// The largest upload accepted, in bytes.
    pub max_bytes: u64,
    /// Types accepted, as `type/subtype` or `type/*`.
    pub allowed_types: Vec<String>,
    /// Images with more pixels than this get no preview.
    pub max_pixels: u64,
    /// Deliver contents from S3 by presigned addresses valid this long.
    pub signed_url_secs: Option<u64>,
}

impl FilesConfig {
    pub const DEFAULT_MAX_BYTES: u64 = 1024 * 1024 * 1024;

    pub fn default_allowed() -> Vec<String> {
        [
            "image/*",
            "audio/*",
            "video/*",
            "text/*",
            "application/pdf",
            "application/json",
            "application/xml",
            "application/zip",
            "application/gzip",
            "application/x-tar",
            "application/x-7z-compressed",
            "application/x-bzip2",
            "application/x-xz",
            "application/zstd",
            "application/rtf",
            "application/msword",
            "application/vnd.*",
            "application/epub+zip",
            "font/*",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect()
    }
}

impl Default for FilesConfig {
    fn default() -> Self {
        FilesConfig {
            storage: None,
            s3_keys: None,
            clamd: None,
            max_bytes: Self::DEFAULT_MAX_BYTES,
            allowed_types: Self::default_allowed(),
            max_pixels: crate::previews::DEFAULT_MAX_PIXELS,
            signed_url_secs: None,
        }
    }
}

/// A file as its readers see it.
#[derive(Debug, Clone)]
pub struct FileView {
    pub id: i64,
    pub page: PagePath,
    pub name: String,
    pub version: i64,
    pub size: i64,
    pub sha256: String,
    pub content_type: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The address of this version's bytes (immutable).
    pub url: String,
    /// The address of its small preview, once made (images).
    pub preview_url: Option<String>,
}

/// One version, for the file's history.
#[derive(Debug, Clone)]
pub struct FileVersionView {
    pub version: i64,
    pub size: i64,
    pub sha256: String,
    pub content_type: String,
    pub author: Option<String>,
    pub created_at: Timestamp,
    pub url: String,
}

/// A file with its versions, newest first.
#[derive(Debug, Clone)]
pub struct FileDetail {
    pub file: FileView,
    pub versions: Vec<FileVersionView>,
    /// The current version's previews (images).
    pub previews: crate::previews::Previews,
    /// Pages whose text shows or links to this file (those the reader
    /// may read, up to 100).
    pub used_by: Vec<crate::model::PageSummary>,
    pub can_edit: bool,
}

/// What the web layer needs to deliver a file's bytes.
#[derive(Debug, Clone)]
pub struct FileContent {
    pub name: String,
    pub version: i64,
    pub sha256: String,
    pub size: u64,
    pub content_type: String,
    pub updated_at: Timestamp,
}

/// The path segment of a file name in URLs.
fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub(crate) fn version_url(id: i64, version: i64, name: &str) -> String {
    format!("/files/{id}/{version}/{}", encode(name))
}

fn view(f: &FileRecord, page: &PagePath) -> FileView {
    FileView {
        id: f.id,
        page: page.clone(),
        name: f.name.clone(),
        version: f.version,
        size: f.size,
        sha256: f.sha256.clone(),
        content_type: f.content_type.clone(),
        created_at: f.created_at,
        updated_at: f.updated_at,
        url: version_url(f.id, f.version, &f.name),
        preview_url: f
            .has_preview
            .then(|| format!("{}?preview=small", version_url(f.id, f.version, &f.name))),
    }
}

/// The upload's temporary file could not be written (a full disk, say):
/// nothing is kept, and the caller is told it is the server's side.
fn temp_space(e: std::io::Error) -> AppError {
    AppError::new(
        Code::StorageUnavailable,
        format!("The upload could not be written to the server's temporary space ({e}); nothing was saved. Try again, or tell an administrator."),
    )
}

/// What to deliver for a file's current version.
fn current_content(f: FileRecord) -> FileContent {
    FileContent {
        name: f.name,
        version: f.version,
        sha256: f.sha256,
        size: u64::try_from(f.size).unwrap_or(0),
        content_type: f.content_type,
        updated_at: f.updated_at,
    }
}

fn not_found(id: impl std::fmt::Display) -> AppError {
    AppError::new(
        Code::FileNotFound,
        format!("There is no file {id} that you can read. Check the address, or ask for access to its page."),
    )
}

/// Bytes gathered before they are written to the temporary file.
const SPOOL_BLOCK: usize = 1024 * 1024;

/// Writes an upload to its temporary file off the async threads: the
/// request's chunks gather (not copied) until there is a block, which one
/// blocking task hashes and writes while the next block arrives. An upload
/// holds at most two blocks.
struct Spool {
    idle: Option<(std::fs::File, Sha256)>,
    busy: Option<tokio::task::JoinHandle<std::io::Result<(std::fs::File, Sha256)>>>,
    pending: Vec<Bytes>,
    pending_len: usize,
}

impl Spool {
    fn new(file: std::fs::File) -> Spool {
        Spool {
            idle: Some((file, Sha256::new())),
            busy: None,
            pending: Vec::new(),
            pending_len: 0,
        }
    }

    /// Waits for the block being written.
    async fn settle(&mut self) -> std::io::Result<()> {
        if let Some(task) = self.busy.take() {
            self.idle = Some(task.await.map_err(std::io::Error::other)??);
        }
        Ok(())
    }

    async fn push(&mut self, chunk: Bytes) -> std::io::Result<()> {
        self.pending_len += chunk.len();
        self.pending.push(chunk);
        if self.pending_len >= SPOOL_BLOCK {
            self.write_pending().await?;
        }
        Ok(())
    }

    async fn write_pending(&mut self) -> std::io::Result<()> {
        self.settle().await?;
        let (mut file, mut hasher) = self
            .idle
            .take()
            .ok_or_else(|| std::io::Error::other("the temporary file was lost"))?;
        let block = std::mem::take(&mut self.pending);
        self.pending_len = 0;
        self.busy = Some(tokio::task::spawn_blocking(move || {
            use std::io::Write;
            for b in &block {
                hasher.update(b);
                file.write_all(b)?;
            }
            Ok((file, hasher))
        }));
        Ok(())
    }

    /// Writes what is left; answers the hash of everything.
    async fn finish(mut self) -> std::io::Result<Sha256> {
        self.write_pending().await?;
        self.settle().await?;
        let (_, hasher) = self
            .idle
            .take()
            .ok_or_else(|| std::io::Error::other("the temporary file was lost"))?;
        Ok(hasher)
    }
}

/// A temporary file that is removed when dropped.
struct Temp(PathBuf);

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub(crate) fn gc_schedule() -> Schedule {
    Schedule {
        name: GC.into(),
        when: When::Every(std::time::Duration::from_secs(86_400)),
        job: JobSpec::new(GC, serde_json::json!({})).queue(UPKEEP_QUEUE).attempts(3),
    }
}

impl App {
    pub(crate) fn register_file_jobs(&self) {
        self.register_job(GC, UPKEEP_QUEUE, |app: App, _| async move {
            let n = app.collect_unused_blobs().await.map_err(JobError::from)?;
            if n > 0 {
                tracing::info!(blobs = n, "unused file contents removed");
            }
            Ok(())
        });
    }

    fn files_config(&self) -> &FilesConfig {
        &self.0.config.files
    }

    /// Uploads `name` to the page: a new file (`true`) or a new version of
    /// the page's file of that name (`false`).
    pub async fn upload_file<S, E>(
        &self,
        actor: &Actor,
        raw_path: &str,
        raw_name: &str,
        body: S,
    ) -> AppResult<(FileView, bool)>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let path = PagePath::parse(raw_path)?;
        let name = check_name(raw_name)?;
        let perms = self.permissions(actor).await?;
        let page = {
            let mut conn = self.0.store.read().await?;
            self.live_page(actor, &perms, &mut conn, &path).await?
        };
        self.need_edit(actor, &perms, &page.path)?;

        // Stream to a temporary file, hashing and counting.
        let tmp_dir = self.0.config.data_dir.join("tmp");
        tokio::fs::create_dir_all(&tmp_dir).await.map_err(temp_space)?;
        let mut rnd = [0u8; 12];
        getrandom::getrandom(&mut rnd).map_err(|e| AppError::bug(e.to_string()))?;
        let temp = Temp(tmp_dir.join(format!("upload-{}", hex::encode(rnd))));
        let file = tokio::fs::File::create(&temp.0).await.map_err(temp_space)?;
        let mut out = Spool::new(file.into_std().await);
        let mut size: u64 = 0;
        let mut head: Vec<u8> = Vec::with_capacity(SNIFF);
        let max = self.files_config().max_bytes;
        let mut body = body;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                AppError::new(
                    Code::InvalidRequest,
                    format!("The upload broke off before its end ({e}); nothing was saved. Send it again."),
                )
            })?;
            size += chunk.len() as u64;
            if size > max {
                return Err(AppError::new(
                    Code::FileTooLarge,
                    format!(
                        "The file is larger than the limit of {} MiB; nothing was saved. Upload a smaller file, or ask an administrator to raise `files.max_upload_mib`.",
                        max / (1024 * 1024)
                    ),
                )
                .with_details(serde_json::json!({ "limit": max })));
            }
            if head.len() < SNIFF {
                let take = (SNIFF - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
            out.push(chunk).await.map_err(temp_space)?;
        }
        let hasher = out.finish().await.map_err(temp_space)?;
        let content_type = sniff(&head, &name);
        if !allowed(&self.files_config().allowed_types, &content_type) {
            return Err(AppError::invalid(
                Code::FileTypeRefused,
                "file",
                format!("Files of type {content_type} are not accepted here (the type is read from the file itself). Upload another kind of file, or ask an administrator to allow it."),
            )
            .with_details(serde_json::json!({ "field": "file", "content_type": content_type })));
        }
        let sha256 = hex::encode(hasher.finalize());
        if let Some(clamd) = &self.files_config().clamd {
            if let crate::scan::Verdict::Infected(signature) = crate::scan::scan(clamd, &temp.0).await? {
                self.audit_now(
                    actor.user_id(),
                    actor.name(),
                    "file.infected",
                    Some(&format!("{} file {name}", page.path)),
                    serde_json::json!({ "page": page.path.as_str(), "name": name, "signature": signature, "sha256": sha256 }),
                )
                .await?;
                return Err(AppError::invalid(
                    Code::FileInfected,
                    "file",
                    format!("The malware scanner found {signature} in this file, so it was not saved. The attempt is recorded."),
                )
                .with_details(serde_json::json!({ "field": "file", "signature": signature })));
            }
        }
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        let known = {
            let mut conn = self.0.store.read().await?;
            store::has_blob(&mut conn, &sha256).await?
        };
        if !known || !self.0.blobs.exists(&sha256).await? {
            self.0.blobs.put_file(&sha256, &temp.0, &content_type).await?;
        }

        let mut uow = self.begin(actor.user_id()).await?;
        let now = uow.now();
        store::put_blob(&mut uow, &sha256, size, now).await?;
        let (file_id, created) = match store::live_by_name(&mut uow, page.id, &name).await? {
            Some(f) => (f.id, false),
            None => (store::insert(&mut uow, page.id, &name, now).await?, true),
        };
        let version =
            store::add_version(&mut uow, file_id, (&sha256, size, &content_type), actor.user_id(), now).await?;
        if crate::previews::previewable(&content_type) {
            uow.enqueue(crate::previews::preview_job(&sha256)).await?;
        }
        uow.record(Event::FileUploaded {
            file: file_id,
            page: page.id,
            path: page.path.clone(),
            name: name.clone(),
            version,
            sha256: sha256.clone(),
            restored_from: None,
        })
        .await?;
        let record = store::by_id(&mut uow, file_id)
            .await?
            .ok_or_else(|| AppError::bug("a file vanished inside its own upload"))?;
        uow.commit().await?;
        // A blob collected between the check above and the commit would
        // have taken its bytes along: put them back.
        if !self.0.blobs.exists(&sha256).await? {
            self.0.blobs.put_file(&sha256, &temp.0, &content_type).await?;
        }
        Ok((view(&record, &page.path), created))
    }

    /// A live file and its page, if the actor may read the page.
    async fn readable_file(&self, actor: &Actor, id: i64) -> AppResult<(FileRecord, PageRecord)> {
        let perms = self.permissions(actor).await?;
        let mut conn = self.0.store.read().await?;
        let file = store::by_id(&mut conn, id)
            .await?
            .filter(|f| f.deleted_at.is_none())
            .ok_or_else(|| not_found(id))?;
        let page = pages::by_id(&mut conn, file.page_id)
            .await?
            .filter(|p| p.deleted_at.is_none() && perms.can(Level::Read, p.path.as_str()))
            .ok_or_else(|| not_found(id))?;
        Ok((file, page))
    }

    /// The page's files, by name.
    pub async fn page_files(&self, actor: &Actor, raw_path: &str, req: &PageRequest) -> AppResult<Paged<FileView>> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        let mut conn = self.0.store.read().await?;
        let page = self.live_page(actor, &perms, &mut conn, &path).await?;
        let rows = store::of_page(&mut conn, page.id, req.text_cursor()?, req.fetch()?).await?;
        let items = rows.iter().map(|f| view(f, &page.path)).collect();
        Ok(Paged::from_rows(items, req.limit()?, |f: &FileView| f.name.clone()))
    }

    /// One file with its versions.
    pub async fn file(&self, actor: &Actor, id: i64) -> AppResult<FileDetail> {
        let (file, page) = self.readable_file(actor, id).await?;
        let perms = self.permissions(actor).await?;
        let mut conn = self.0.store.read().await?;
        let versions = store::versions(&mut conn, file.id)
            .await?
            .into_iter()
            .map(|v| FileVersionView {
                url: version_url(file.id, v.version, &file.name),
                version: v.version,
                size: v.size,
                sha256: v.sha256,
                content_type: v.content_type,
                author: v.author_name,
                created_at: v.created_at,
            })
            .collect();
        let used_by = store::used_by(&mut conn, page.id, &file.name, crate::access::visible(&perms), 100)
            .await?
            .iter()
            .map(crate::read::summary)
            .collect();
        drop(conn);
        let current = version_url(file.id, file.version, &file.name);
        let previews = self.previews_for(&file.sha256, &file.content_type, &current).await?;
        Ok(FileDetail {
            file: view(&file, &page.path),
            versions,
            previews,
            used_by,
            can_edit: perms.can(Level::Edit, page.path.as_str()) && actor.user_id().is_some(),
        })
    }

    /// Makes an earlier version current again (as a new version with the
    /// same bytes).
    pub async fn restore_file_version(&self, actor: &Actor, id: i64, version: i64) -> AppResult<FileView> {
        let (file, page) = self.readable_file(actor, id).await?;
        let perms = self.permissions(actor).await?;
        self.need_edit(actor, &perms, &page.path)?;
        let mut uow = self.begin(actor.user_id()).await?;
        let old = store::versions(&mut uow, file.id)
            .await?
            .into_iter()
            .find(|v| v.version == version)
            .ok_or_else(|| {
                AppError::invalid(
                    Code::InvalidBody,
                    "version",
                    format!(
                        "“{}” has no version {version}; its versions are 1 to {}.",
                        file.name, file.version
                    ),
                )
            })?;
        let now = uow.now();
        let new = store::add_version(
            &mut uow,
            file.id,
            (&old.sha256, old.size, &old.content_type),
            actor.user_id(),
            now,
        )
        .await?;
        if crate::previews::previewable(&old.content_type) {
            uow.enqueue(crate::previews::preview_job(&old.sha256)).await?;
        }
        uow.record(Event::FileUploaded {
            file: file.id,
            page: page.id,
            path: page.path.clone(),
            name: file.name.clone(),
            version: new,
            sha256: old.sha256.clone(),
            restored_from: Some(version),
        })
        .await?;
        let record = store::by_id(&mut uow, file.id)
            .await?
            .ok_or_else(|| AppError::bug("a file vanished inside its own restore"))?;
        uow.commit().await?;
        Ok(view(&record, &page.path))
    }

    /// Puts a file in the trash (its versions are kept).
    pub async fn delete_file(&self, actor: &Actor, id: i64) -> AppResult<()> {
        let (file, page) = self.readable_file(actor, id).await?;
        let perms = self.permissions(actor).await?;
        self.need_edit(actor, &perms, &page.path)?;
        let mut uow = self.begin(actor.user_id()).await?;
        let now = uow.now();
        store::trash(&mut uow, file.id, actor.user_id(), now).await?;
        uow.record(Event::FileDeleted {
            file: file.id,
            page: page.id,
            path: page.path.clone(),
            name: file.name.clone(),
        })
        .await?;
        uow.commit().await?;
        Ok(())
    }

    /// The page's files in the trash (up to 100, most recent first).
    pub async fn trashed_files(&self, actor: &Actor, raw_path: &str) -> AppResult<Vec<FileView>> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        let mut conn = self.0.store.read().await?;
        let page = self.live_page(actor, &perms, &mut conn, &path).await?;
        let rows = store::trashed_of_page(&mut conn, page.id, 100).await?;
        Ok(rows.iter().map(|f| view(f, &page.path)).collect())
    }

    /// Takes a file out of the trash.
    pub async fn untrash_file(&self, actor: &Actor, id: i64) -> AppResult<FileView> {
        let perms = self.permissions(actor).await?;
        let mut uow = self.begin(actor.user_id()).await?;
        let file = store::by_id(&mut uow, id)
            .await?
            .filter(|f| f.deleted_at.is_some())
            .ok_or_else(|| not_found(id))?;
        let page = pages::by_id(&mut uow, file.page_id)
            .await?
            .filter(|p| p.deleted_at.is_none() && perms.can(Level::Read, p.path.as_str()))
            .ok_or_else(|| not_found(id))?;
        self.need_edit(actor, &perms, &page.path)?;
        let now = uow.now();
        match store::untrash(&mut uow, file.id, now).await {
            Err(e) if e.unique() == Some(vellum_store::Constraint::FileName) => {
                return Err(AppError::new(
                    Code::FileNameTaken,
                    format!(
                        "The page has another file named “{}” now. Rename or delete that one first, or upload this one again under another name.",
                        file.name
                    ),
                ))
            }
            other => other?,
        }
        uow.record(Event::FileUploaded {
            file: file.id,
            page: page.id,
            path: page.path.clone(),
            name: file.name.clone(),
            version: file.version,
            sha256: file.sha256.clone(),
            restored_from: Some(file.version),
        })
        .await?;
        let record = store::by_id(&mut uow, file.id)
            .await?
            .ok_or_else(|| AppError::bug("a file vanished inside its own restore"))?;
        uow.commit().await?;
        Ok(view(&record, &page.path))
    }

    /// What to deliver for a file (its current version, or `version`).
    pub async fn file_content(&self, actor: &Actor, id: i64, version: Option<i64>) -> AppResult<FileContent> {
        let (file, _) = self.readable_file(actor, id).await?;
        let Some(version) = version.filter(|v| *v != file.version) else {
            return Ok(current_content(file));
        };
        let mut conn = self.0.store.read().await?;
        let v = store::versions(&mut conn, file.id)
            .await?
            .into_iter()
            .find(|v| v.version == version)
            .ok_or_else(|| not_found(format!("{id} v{version}")))?;
        Ok(FileContent {
            name: file.name,
            version: v.version,
            sha256: v.sha256,
            size: u64::try_from(v.size).unwrap_or(0),
            content_type: v.content_type,
            updated_at: v.created_at,
        })
    }

    /// The current version of the page's file `name` (what `file:NAME` in
    /// the page's Markdown shows), if the actor may read the page.
    pub async fn page_file_content(&self, actor: &Actor, page: PageId, name: &str) -> AppResult<(i64, FileContent)> {
        let name = name.trim();
        let perms = self.permissions(actor).await?;
        let mut conn = self.0.store.read().await?;
        let missing = || {
            AppError::new(
                Code::FileNotFound,
                "There is no file of that name on this page that you can read. Check the name in the page's text.",
            )
        };
        let page = pages::by_id(&mut conn, page)
            .await?
            .filter(|p| p.deleted_at.is_none() && perms.can(Level::Read, p.path.as_str()))
            .ok_or_else(missing)?;
        let file = store::live_by_name(&mut conn, page.id, name)
            .await?
            .ok_or_else(missing)?;
        Ok((file.id, current_content(file)))
    }

    /// Opens a blob's bytes (after one of the checks above).
    pub async fn read_blob(&self, sha256: &str, range: Option<(u64, u64)>) -> AppResult<BlobRead> {
        self.0.blobs.read(sha256, range).await
    }

    /// Copies every stored blob into the storage at `to` (for moving to
    /// another backend: run this, then point `files.storage` at `to`).
    /// Blobs already there with the right size are skipped, so an
    /// interrupted run picks up where it stopped. `progress` hears
    /// (done, total, copied). Answers (blobs seen, blobs copied).
    pub async fn migrate_storage(
        &self,
        to: &StorageUrl,
        progress: &(dyn Fn(u64, u64, u64) + Sync),
    ) -> AppResult<(u64, u64)> {
        let target = crate::blobs::Blobs::open(to, self.files_config().s3_keys.as_ref());
        let total = {
            let mut conn = self.0.store.read().await?;
            u64::try_from(store::blob_count(&mut conn).await?).unwrap_or(0)
        };
        let (mut done, mut copied) = (0u64, 0u64);
        let mut after = String::new();
        loop {
            let batch = {
                let mut conn = self.0.store.read().await?;
                store::blobs_after(&mut conn, &after, 500).await?
            };
            let Some((last, _, _)) = batch.last() else {
                break;
            };
            after = last.clone();
            for (sha, size, content_type) in &batch {
                let have = target.size_of(sha).await?;
                if have != u64::try_from(*size).ok() {
                    self.0.blobs.copy_to(sha, &target, content_type).await?;
                    copied += 1;
                }
                done += 1;
                progress(done, total, copied);
            }
        }
        Ok((done, copied))
    }

    /// Removes blobs no version points at (after the grace period).
    pub async fn collect_unused_blobs(&self) -> AppResult<u64> {
        let cutoff = Timestamp::from_millis(self.now().as_millis() - GC_GRACE_MS);
        let mut removed = 0;
        loop {
            let batch = {
                let mut conn = self.0.store.read().await?;
                store::unused_blobs(&mut conn, cutoff, 200).await?
            };
            if batch.is_empty() {
                return Ok(removed);
            }
            let mut now = 0;
            for sha in &batch {
                let mut tx = self.0.store.begin().await?;
                if store::forget_blob(&mut tx, sha).await? {
                    tx.commit().await?;
                    self.0.blobs.delete(sha).await?;
                    now += 1;
                }
            }
            removed += now;
            // Forgetting an image leaves its previews unused: another
            // pass takes them.
            if now == 0 {
                return Ok(removed);
            }
        }
    }
}
