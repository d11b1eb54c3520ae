//! Files attached to pages, their versions, and the blobs they point at.

use vellum_core::{PageId, Timestamp, UserId};

use crate::db::{with_db, Columns, DbTime, Handle, Sql, TextList};
use crate::pages::{fetch_visible_pages, page_sql, PageRecord};
use crate::visible::{Visible, VisibleSql};
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
    /// Whether the current version has a small preview (images).
    pub has_preview: bool,
}

const FILE_SELECT: &str = "SELECT f.id, f.page_id, f.name, f.version, v.sha256, v.size, v.content_type, \
     f.created_at, f.updated_at, f.deleted_at, ps.blob AS preview \
     FROM files f JOIN file_versions v ON v.file_id = f.id AND v.version = f.version \
     LEFT JOIN previews ps ON ps.source = v.sha256 AND ps.size = 'small'";

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
        has_preview: r.opt_text("preview")?.is_some(),
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
         AND NOT EXISTS (SELECT 1 FROM file_versions v WHERE v.sha256 = b.sha256) \
         AND NOT EXISTS (SELECT 1 FROM previews p WHERE p.blob = b.sha256) ORDER BY b.sha256 LIMIT $2"
    )
    .bind(DbTime(cutoff))
    .bind(limit)
    .fetch_all(&mut *c)
    .await)?;
    Ok(rows)
}

/// Forgets a blob, unless a version (or a preview) came to point at it
/// meanwhile; answers whether it was forgotten (then its bytes may be
/// deleted). Its own previews are forgotten with it, which leaves their
/// blobs unused for the next pass.
pub async fn forget_blob(h: &mut impl Handle, sha256: &str) -> Result<bool> {
    with_db!(h, |c| sqlx::query(
        "DELETE FROM previews WHERE source = $1 AND NOT EXISTS (SELECT 1 FROM file_versions v WHERE v.sha256 = $1)"
    )
    .bind(sha256)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    let n = with_db!(h, |c| sqlx::query(
        "DELETE FROM blobs WHERE sha256 = $1 AND NOT EXISTS (SELECT 1 FROM file_versions v WHERE v.sha256 = $1) \
         AND NOT EXISTS (SELECT 1 FROM previews p WHERE p.blob = $1 OR p.source = $1)"
    )
    .bind(sha256)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// A preview of an image blob: a smaller copy, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewRecord {
    pub size: String,
    pub made: std::result::Result<PreviewBlob, String>,
}

/// A preview's own blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewBlob {
    pub sha256: String,
    /// Its length in bytes.
    pub bytes: i64,
    pub width: i64,
    pub height: i64,
    pub content_type: String,
}

/// Records a preview of `source` (replacing an earlier one of that size).
pub async fn put_preview(h: &mut impl Handle, source: &str, p: &PreviewRecord, now: Timestamp) -> Result<()> {
    let (blob, width, height, ct, error) = match &p.made {
        Ok(b) => (
            Some(b.sha256.as_str()),
            Some(b.width),
            Some(b.height),
            Some(b.content_type.as_str()),
            None,
        ),
        Err(e) => (None, None, None, None, Some(e.as_str())),
    };
    with_db!(h, |c| sqlx::query(
        "INSERT INTO previews (source, size, blob, width, height, content_type, error, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (source, size) DO UPDATE SET blob = excluded.blob, \
         width = excluded.width, height = excluded.height, content_type = excluded.content_type, \
         error = excluded.error, created_at = excluded.created_at"
    )
    .bind(source)
    .bind(&p.size)
    .bind(blob)
    .bind(width)
    .bind(height)
    .bind(ct)
    .bind(error)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The previews made of `source`, by size name.
pub async fn previews_of(h: &mut impl Handle, source: &str) -> Result<Vec<PreviewRecord>> {
    with_db!(h, |c| {
        let rows = sqlx::query(
            "SELECT p.size, p.blob, p.width, p.height, p.content_type, p.error, b.size AS bytes \
             FROM previews p LEFT JOIN blobs b ON b.sha256 = p.blob WHERE p.source = $1 ORDER BY p.size",
        )
        .bind(source)
        .fetch_all(&mut *c)
        .await?;
        rows.iter()
            .map(|r| {
                let made = match r.opt_text("blob")? {
                    Some(sha256) => Ok(PreviewBlob {
                        sha256,
                        bytes: r.int("bytes")?,
                        width: r.int("width")?,
                        height: r.int("height")?,
                        content_type: r.text("content_type")?,
                    }),
                    None => Err(r.opt_text("error")?.unwrap_or_default()),
                };
                Ok(PreviewRecord {
                    size: r.text("size")?,
                    made,
                })
            })
            .collect::<Result<Vec<_>>>()
    })
}

/// Replaces the files a page's text refers to: its own files `names`
/// and the files `ids` of any page (unknown ids are left out), in one
/// statement each whatever their number.
pub async fn replace_uses(h: &mut impl Handle, page: PageId, names: &[String], ids: &[i64]) -> Result<()> {
    with_db!(h, |c| sqlx::query("DELETE FROM file_uses WHERE page_id = $1")
        .bind(page.0)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    if !names.is_empty() {
        const OWN: Sql = Sql {
            sqlite: "INSERT INTO file_uses (page_id, owner_page_id, name) SELECT $1, $1, value FROM json_each($2) \
                     WHERE true ON CONFLICT DO NOTHING",
            postgres: "INSERT INTO file_uses (page_id, owner_page_id, name) SELECT $1, $1, unnest($2::text[]) \
                       ON CONFLICT DO NOTHING",
        };
        with_db!(h, |c, b| sqlx::query(OWN.of(b))
            .bind(page.0)
            .bind(TextList(names))
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    if !ids.is_empty() {
        const OTHERS: Sql = Sql {
            sqlite: "INSERT INTO file_uses (page_id, owner_page_id, name) SELECT $1, f.page_id, f.name FROM files f \
                     WHERE f.id IN (SELECT CAST(value AS INTEGER) FROM json_each($2)) ON CONFLICT DO NOTHING",
            postgres: "INSERT INTO file_uses (page_id, owner_page_id, name) SELECT $1, f.page_id, f.name FROM files f \
                       WHERE f.id = ANY($2::text[]::bigint[]) ON CONFLICT DO NOTHING",
        };
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        with_db!(h, |c, b| sqlx::query(OTHERS.of(b))
            .bind(page.0)
            .bind(TextList(&ids))
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Visible live pages whose text refers to the file `name` of page
/// `owner`, by path.
pub async fn used_by(
    h: &mut impl Handle,
    owner: PageId,
    name: &str,
    visible: Visible<'_>,
    limit: i64,
) -> Result<Vec<PageRecord>> {
    static SQL: VisibleSql = VisibleSql::new(Sql {
        sqlite: page_sql!(
            "pages p WHERE p.deleted_at IS NULL AND {visible p.scope $4} AND EXISTS (SELECT 1 FROM file_uses u \
             WHERE u.page_id = p.id AND u.owner_page_id = $1 AND u.name = $2) ORDER BY p.path LIMIT $3"
        ),
        postgres: page_sql!(
            "pages p WHERE p.deleted_at IS NULL AND {visible p.scope $4} AND EXISTS (SELECT 1 FROM file_uses u \
             WHERE u.page_id = p.id AND u.owner_page_id = $1 AND u.name = $2) ORDER BY p.path LIMIT $3"
        ),
    });
    fetch_visible_pages!(h, SQL, visible, owner.0, name, limit)
}

/// Stored blobs in hash order after `after`, with their sizes and types.
pub async fn blobs_after(h: &mut impl Handle, after: &str, limit: i64) -> Result<Vec<(String, i64, String)>> {
    let rows: Vec<(String, i64, String)> = with_db!(h, |c| {
        sqlx::query_as(
        "SELECT b.sha256, b.size, COALESCE((SELECT v.content_type FROM file_versions v WHERE v.sha256 = b.sha256 LIMIT 1), \
         (SELECT p.content_type FROM previews p WHERE p.blob = b.sha256 LIMIT 1), 'application/octet-stream') \
         FROM blobs b WHERE b.sha256 > $1 ORDER BY b.sha256 LIMIT $2"
    )
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *c)
    .await
    })?;
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
