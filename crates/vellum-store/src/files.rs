//! Files attached to pages, their versions, and the blobs they point at.

use vellum_core::{PageId, Timestamp, UserId};

use crate::db::{with_db, Columns, DbTime, Handle};
use crate::Result;

/// A file with its current version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub id: i64,
    pub page_id: PageId,
    pub name: String,
    pub version: i64,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

const FILE_SELECT: &str = "SELECT f.id, f.page_id, f.name, f.version, v.sha256, v.size, v.content_type, \
     f.created_at, f.updated_at, f.deleted_at \
     FROM files f JOIN file_versions v ON v.file_id = f.id AND v.version = f.version";

fn decode_file(r: &impl Columns) -> Result<FileRecord> {
    Ok(FileRecord {
        id: r.int("id")?,
        page_id: r.id("page_id")?,
        name: r.text("name")?,
        version: r.int("version")?,
        sha256: r.text("sha256")?,
        size: r.int("size")?,
        content_type: r.text("content_type")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
        deleted_at: r.opt_time("deleted_at")?,
    })
}

/// One version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRecord {
    pub version: i64,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub author_name: Option<String>,
    pub created_at: Timestamp,
}

/// Notes that a blob is in the object store (nothing when it already was).
pub async fn put_blob(h: &mut impl Handle, sha256: &str, size: i64, now: Timestamp) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "INSERT INTO blobs (sha256, size, created_at) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING"
    )
    .bind(sha256)
    .bind(size)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Whether the blob is stored.
pub async fn has_blob(h: &mut impl Handle, sha256: &str) -> Result<bool> {
    let n: i64 = with_db!(h, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM blobs WHERE sha256 = $1"
    )
    .bind(sha256)
    .fetch_one(&mut *c)
    .await)?;
    Ok(n > 0)
}

/// The live file named `name` on the page.
pub async fn live_by_name(h: &mut impl Handle, page: PageId, name: &str) -> Result<Option<FileRecord>> {
    with_db!(h, |c| {
        let sql = format!("{FILE_SELECT} WHERE f.page_id = $1 AND f.name = $2 AND f.deleted_at IS NULL");
        let row = sqlx::query(&sql)
            .bind(page.0)
            .bind(name)
            .fetch_optional(&mut *c)
            .await?;
        row.as_ref().map(decode_file).transpose()
    })
}

/// A file by id (live or trashed).
pub async fn by_id(h: &mut impl Handle, id: i64) -> Result<Option<FileRecord>> {
    with_db!(h, |c| {
        let sql = format!("{FILE_SELECT} WHERE f.id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *c).await?;
        row.as_ref().map(decode_file).transpose()
    })
}

/// The live files of a page, by name, after the cursor name.
pub async fn of_page(h: &mut impl Handle, page: PageId, after: Option<&str>, limit: i64) -> Result<Vec<FileRecord>> {
    with_db!(h, |c| {
        let sql = format!(
            "{FILE_SELECT} WHERE f.page_id = $1 AND f.deleted_at IS NULL AND f.name > $2 ORDER BY f.name LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(page.0)
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
        rows.iter().map(decode_file).collect::<Result<Vec<_>>>()
    })
}

/// A new file with its first version; answers its id.
pub async fn insert(h: &mut impl Handle, page: PageId, name: &str, now: Timestamp) -> Result<i64> {
    let id: i64 = with_db!(h, |c| {
        sqlx::query_scalar(
        "INSERT INTO files (page_id, name, version, created_at, updated_at) VALUES ($1, $2, 0, $3, $3) RETURNING id"
    )
    .bind(page.0)
    .bind(name)
    .bind(DbTime(now))
    .fetch_one(&mut *c)
    .await
    })?;
    Ok(id)
}

/// Adds the next version of a file (pointing at a stored blob) and makes it
/// current; answers its number.
pub async fn add_version(
    h: &mut impl Handle,
    file: i64,
    blob: (&str, i64, &str),
    author: Option<UserId>,
    now: Timestamp,
) -> Result<i64> {
    let (sha256, size, content_type) = blob;
    let version: i64 = with_db!(h, |c| sqlx::query_scalar(
        "UPDATE files SET version = version + 1, updated_at = $2 WHERE id = $1 RETURNING version"
    )
    .bind(file)
    .bind(DbTime(now))
    .fetch_one(&mut *c)
    .await)?;
    with_db!(h, |c| sqlx::query(
        "INSERT INTO file_versions (file_id, version, sha256, size, content_type, author_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(file)
    .bind(version)
    .bind(sha256)
    .bind(size)
    .bind(content_type)
    .bind(author.map(|a| a.0))
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(version)
}

/// A file's versions, newest first.
pub async fn versions(h: &mut impl Handle, file: i64) -> Result<Vec<VersionRecord>> {
    let rows = with_db!(h, |c| {
        let rows = sqlx::query(
            "SELECT v.version, v.sha256, v.size, v.content_type, u.username AS author_name, v.created_at \
             FROM file_versions v LEFT JOIN users u ON u.id = v.author_id WHERE v.file_id = $1 ORDER BY v.version DESC",
        )
        .bind(file)
        .fetch_all(&mut *c)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(VersionRecord {
                    version: r.int("version")?,
                    sha256: r.text("sha256")?,
                    size: r.int("size")?,
                    content_type: r.text("content_type")?,
                    author_name: r.opt_text("author_name")?,
                    created_at: r.time("created_at")?,
                })
            })
            .collect::<Result<Vec<_>>>()
    })?;
    Ok(rows)
}

/// Puts a file in the trash.
pub async fn trash(h: &mut impl Handle, file: i64, by: Option<UserId>, now: Timestamp) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "UPDATE files SET deleted_at = $2, deleted_by = $3 WHERE id = $1"
    )
    .bind(file)
    .bind(DbTime(now))
    .bind(by.map(|u| u.0))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Blobs that no version points at and that were stored before `cutoff`
/// (younger ones may belong to an upload still being recorded).
pub async fn unused_blobs(h: &mut impl Handle, cutoff: Timestamp, limit: i64) -> Result<Vec<String>> {
    let rows: Vec<String> = with_db!(h, |c| sqlx::query_scalar(
        "SELECT b.sha256 FROM blobs b WHERE b.created_at < $1 \
         AND NOT EXISTS (SELECT 1 FROM file_versions v WHERE v.sha256 = b.sha256) ORDER BY b.sha256 LIMIT $2"
    )
    .bind(DbTime(cutoff))
    .bind(limit)
    .fetch_all(&mut *c)
    .await)?;
    Ok(rows)
}

/// Forgets a blob, unless a version came to point at it meanwhile;
/// answers whether it was forgotten (then its bytes may be deleted).
pub async fn forget_blob(h: &mut impl Handle, sha256: &str) -> Result<bool> {
    let n = with_db!(h, |c| sqlx::query(
        "DELETE FROM blobs WHERE sha256 = $1 AND NOT EXISTS (SELECT 1 FROM file_versions v WHERE v.sha256 = $1)"
    )
    .bind(sha256)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// Stored blobs in hash order after `after`, with their sizes.
pub async fn blobs_after(h: &mut impl Handle, after: &str, limit: i64) -> Result<Vec<(String, i64)>> {
    let rows: Vec<(String, i64)> = with_db!(h, |c| sqlx::query_as(
        "SELECT sha256, size FROM blobs WHERE sha256 > $1 ORDER BY sha256 LIMIT $2"
    )
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *c)
    .await)?;
    Ok(rows)
}

/// How many blobs are stored.
pub async fn blob_count(h: &mut impl Handle) -> Result<i64> {
    Ok(with_db!(h, |c| sqlx::query_scalar("SELECT COUNT(*) FROM blobs")
        .fetch_one(&mut *c)
        .await)?)
}

/// The page's files in the trash, most recently deleted first.
pub async fn trashed_of_page(h: &mut impl Handle, page: PageId, limit: i64) -> Result<Vec<FileRecord>> {
    with_db!(h, |c| {
        let sql = format!(
            "{FILE_SELECT} WHERE f.page_id = $1 AND f.deleted_at IS NOT NULL ORDER BY f.deleted_at DESC, f.id DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql).bind(page.0).bind(limit).fetch_all(&mut *c).await?;
        rows.iter().map(decode_file).collect::<Result<Vec<_>>>()
    })
}

/// Takes a file out of the trash (the unique live name may refuse it).
pub async fn untrash(h: &mut impl Handle, file: i64, now: Timestamp) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "UPDATE files SET deleted_at = NULL, deleted_by = NULL, updated_at = $2 WHERE id = $1"
    )
    .bind(file)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Removes for good up to `limit` files trashed before `cutoff`, with
/// their versions and events (their blobs are collected later); answers
/// how many.
pub async fn purge_trashed_before(h: &mut impl Handle, cutoff: Timestamp, limit: i64) -> Result<u64> {
    let ids: Vec<i64> = with_db!(h, |c| sqlx::query_scalar(
        "SELECT id FROM files WHERE deleted_at IS NOT NULL AND deleted_at < $1 ORDER BY deleted_at, id LIMIT $2"
    )
    .bind(DbTime(cutoff))
    .bind(limit)
    .fetch_all(&mut *c)
    .await)?;
    for id in &ids {
        for sql in [
            "DELETE FROM file_versions WHERE file_id = $1",
            "DELETE FROM events WHERE target_type = 'file' AND target_id = $1",
            "DELETE FROM files WHERE id = $1",
        ] {
            with_db!(h, |c| sqlx::query(sql)
                .bind(*id)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
        }
    }
    Ok(ids.len() as u64)
}
