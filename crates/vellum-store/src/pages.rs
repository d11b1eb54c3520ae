//! Pages, the folder tree, redirects left by moves, and the trash.

use std::collections::HashSet;

use vellum_core::{FolderPath, PageId, PagePath, RevisionId, Timestamp, Title, UserId};

use crate::db::{with_db, Columns, DbTime, Handle, Sql, TextList};
use crate::Result;

/// A page as stored (its text lives in its revisions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRecord {
    pub id: PageId,
    pub path: PagePath,
    pub title: Title,
    pub current_revision: RevisionId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

/// `SELECT <the page columns> FROM …`: the page columns are written once,
/// here, and [`PageRecord::decode`] reads them.
macro_rules! page_sql {
    (with $extra:literal; $($rest:literal),+) => {
        concat!(
            "SELECT p.id, p.path, p.title, p.current_revision_id, p.created_at, p.updated_at, p.deleted_at",
            $extra,
            " FROM ",
            $($rest),+
        )
    };
    ($($rest:literal),+) => {
        $crate::pages::page_sql!(with ""; $($rest),+)
    };
}
pub(crate) use page_sql;

impl PageRecord {
    pub(crate) fn decode(r: &impl Columns) -> Result<Self> {
        Ok(PageRecord {
            id: r.id("id")?,
            path: r.parsed("path", PagePath::parse)?,
            title: r.parsed("title", Title::parse)?,
            current_revision: r.id("current_revision_id")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
            deleted_at: r.opt_time("deleted_at")?,
        })
    }
}

/// Runs a query that selects [`COLUMNS`] and decodes every row.
macro_rules! fetch_pages {
    ($h:expr, $sql:expr, $($bind:expr),*) => {
        with_db!($h, |c| {
            let rows = sqlx::query($sql)$(.bind($bind))*.fetch_all(&mut *c).await?;
            rows.iter().map(PageRecord::decode).collect::<Result<Vec<_>>>()
        })
    };
}

macro_rules! fetch_page {
    ($h:expr, $sql:expr, $($bind:expr),*) => {
        with_db!($h, |c| {
            let row = sqlx::query($sql)$(.bind($bind))*.fetch_optional(&mut *c).await?;
            row.as_ref().map(PageRecord::decode).transpose()
        })
    };
}

/// The live page at `path`.
pub async fn by_path(h: &mut impl Handle, path: &PagePath) -> Result<Option<PageRecord>> {
    const SQL: &str = page_sql!("pages p WHERE p.path = $1 AND p.deleted_at IS NULL");
    fetch_page!(h, SQL, path.as_str())
}

/// The live page at `path`, locked for the rest of the transaction
/// (PostgreSQL; SQLite's writers are serialised already).
pub async fn lock_by_path(h: &mut impl Handle, path: &PagePath) -> Result<Option<PageRecord>> {
    const SQL: Sql = Sql {
        sqlite: page_sql!("pages p WHERE p.path = $1 AND p.deleted_at IS NULL"),
        postgres: page_sql!("pages p WHERE p.path = $1 AND p.deleted_at IS NULL FOR UPDATE"),
    };
    with_db!(h, |c, b| {
        let row = sqlx::query(SQL.of(b))
            .bind(path.as_str())
            .fetch_optional(&mut *c)
            .await?;
        row.as_ref().map(PageRecord::decode).transpose()
    })
}

/// Any page, live or trashed.
pub async fn by_id(h: &mut impl Handle, id: PageId) -> Result<Option<PageRecord>> {
    const SQL: &str = page_sql!("pages p WHERE p.id = $1");
    fetch_page!(h, SQL, id.0)
}

/// Inserts a page without a revision yet; the caller adds the first
/// revision and [`set_current`] in the same transaction.
pub async fn insert(h: &mut impl Handle, path: &PagePath, title: &Title, now: Timestamp) -> Result<PageId> {
    let id: i64 = with_db!(h, |c| sqlx::query_scalar(
        "INSERT INTO pages (path, folder, title, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id"
    )
    .bind(path.as_str())
    .bind(path.folder().as_str())
    .bind(title.as_str())
    .bind(DbTime(now))
    .fetch_one(&mut *c)
    .await)?;
    Ok(PageId(id))
}

pub async fn set_current(
    h: &mut impl Handle,
    id: PageId,
    revision: RevisionId,
    title: &Title,
    now: Timestamp,
) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "UPDATE pages SET current_revision_id = $2, title = $3, updated_at = $4 WHERE id = $1"
    )
    .bind(id.0)
    .bind(revision.0)
    .bind(title.as_str())
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn set_path(h: &mut impl Handle, id: PageId, path: &PagePath, now: Timestamp) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "UPDATE pages SET path = $2, folder = $3, updated_at = $4 WHERE id = $1"
    )
    .bind(id.0)
    .bind(path.as_str())
    .bind(path.folder().as_str())
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn trash(h: &mut impl Handle, id: PageId, by: Option<UserId>, now: Timestamp) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "UPDATE pages SET deleted_at = $2, deleted_by = $3 WHERE id = $1"
    )
    .bind(id.0)
    .bind(DbTime(now))
    .bind(by.map(|u| u.0))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn untrash(h: &mut impl Handle, id: PageId, now: Timestamp) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "UPDATE pages SET deleted_at = NULL, deleted_by = NULL, updated_at = $2 WHERE id = $1"
    )
    .bind(id.0)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Live pages directly in `folder`, by path, after the cursor path.
pub async fn in_folder(
    h: &mut impl Handle,
    folder: &FolderPath,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<PageRecord>> {
    const SQL: &str = page_sql!(
        "pages p WHERE p.folder = $1 AND p.deleted_at IS NULL AND p.path > $2 \
                       ORDER BY p.path LIMIT $3"
    );
    fetch_pages!(h, SQL, folder.as_str(), after.unwrap_or(""), limit)
}

/// All live pages ordered by path, after the cursor path.
pub async fn list(h: &mut impl Handle, after: Option<&str>, limit: i64) -> Result<Vec<PageRecord>> {
    const SQL: &str = page_sql!("pages p WHERE p.deleted_at IS NULL AND p.path > $1 ORDER BY p.path LIMIT $2");
    fetch_pages!(h, SQL, after.unwrap_or(""), limit)
}

/// Trashed pages, most recently deleted first, before the cursor id.
pub async fn trashed(h: &mut impl Handle, before: Option<PageId>, limit: i64) -> Result<Vec<PageRecord>> {
    const SQL: &str = page_sql!(
        "pages p WHERE p.deleted_at IS NOT NULL AND p.id < $1 \
                       ORDER BY p.id DESC LIMIT $2"
    );
    fetch_pages!(h, SQL, before.map_or(i64::MAX, |p| p.0), limit)
}

/// The most recently trashed page that lived at `path`.
pub async fn trashed_at(h: &mut impl Handle, path: &PagePath) -> Result<Option<PageRecord>> {
    const SQL: &str = page_sql!(
        "pages p WHERE p.path = $1 AND p.deleted_at IS NOT NULL \
                       ORDER BY p.deleted_at DESC LIMIT 1"
    );
    fetch_page!(h, SQL, path.as_str())
}

/// Of the given paths, those that lead somewhere: a live page or a
/// redirect to one.
pub async fn existing_paths(h: &mut impl Handle, paths: &[&str]) -> Result<HashSet<String>> {
    if paths.is_empty() {
        return Ok(HashSet::new());
    }
    const SQL: Sql = Sql {
        sqlite: "SELECT path FROM pages WHERE deleted_at IS NULL AND path IN (SELECT value FROM json_each($1)) \
                 UNION SELECT r.path FROM redirects r JOIN pages p ON p.id = r.page_id \
                 WHERE p.deleted_at IS NULL AND r.path IN (SELECT value FROM json_each($1))",
        postgres: "SELECT path FROM pages WHERE deleted_at IS NULL AND path = ANY($1) \
                   UNION SELECT r.path FROM redirects r JOIN pages p ON p.id = r.page_id \
                   WHERE p.deleted_at IS NULL AND r.path = ANY($1)",
    };
    let found: Vec<String> = with_db!(h, |c, b| sqlx::query_scalar(SQL.of(b))
        .bind(TextList(paths))
        .fetch_all(&mut *c)
        .await)?;
    Ok(found.into_iter().collect())
}

/// Records a page path's folder and every folder above it (no-op for
/// existing ones), in one statement.
pub async fn ensure_folders(h: &mut impl Handle, folder: &FolderPath, now: Timestamp) -> Result<()> {
    let lineage = folder.lineage();
    if lineage.is_empty() {
        return Ok(());
    }
    let parents: Vec<FolderPath> = lineage.iter().map(|f| f.parent().unwrap_or_default()).collect();
    let paths: Vec<&str> = lineage.iter().map(FolderPath::as_str).collect();
    let parents: Vec<&str> = parents.iter().map(FolderPath::as_str).collect();
    const SQL: Sql = Sql {
        sqlite: "INSERT INTO folders (path, parent, created_at) \
                 SELECT a.value, b.value, $3 FROM json_each($1) a JOIN json_each($2) b ON a.key = b.key \
                 WHERE true ON CONFLICT (path) DO NOTHING",
        postgres: "INSERT INTO folders (path, parent, created_at) \
                   SELECT p, q, $3 FROM unnest($1::text[], $2::text[]) AS t(p, q) ON CONFLICT (path) DO NOTHING",
    };
    with_db!(h, |c, b| sqlx::query(SQL.of(b))
        .bind(TextList(&paths))
        .bind(TextList(&parents))
        .bind(DbTime(now))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A sub-folder with the number of live pages anywhere below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderCount {
    pub path: FolderPath,
    pub page_count: i64,
}

/// Sub-folders of `parent` with the number of live pages below each.
///
/// The count is two range scans of the `pages_folder` index: the folder
/// itself, and every folder whose path starts with `path/` (those sort
/// between `path/` and `path0`, as `0` follows `/`).
pub async fn child_folders(h: &mut impl Handle, parent: &FolderPath) -> Result<Vec<FolderCount>> {
    let rows: Vec<(String, i64)> = with_db!(h, |c| sqlx::query_as(
        "SELECT f.path, \
             (SELECT COUNT(*) FROM pages p WHERE p.deleted_at IS NULL AND p.folder = f.path) \
           + (SELECT COUNT(*) FROM pages p WHERE p.deleted_at IS NULL \
                AND p.folder >= f.path || '/' AND p.folder < f.path || '0') AS page_count \
         FROM folders f WHERE f.parent = $1 AND f.path <> '' ORDER BY f.path",
    )
    .bind(parent.as_str())
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter()
        .map(|(path, page_count)| {
            let path = FolderPath::parse(&path)
                .map_err(|e| crate::StoreError::Corrupt(format!("folder path `{path}`: {e}")))?;
            Ok(FolderCount { path, page_count })
        })
        .collect()
}

pub async fn folder_exists(h: &mut impl Handle, path: &FolderPath) -> Result<bool> {
    Ok(with_db!(h, |c| sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM folders WHERE path = $1)"
    )
    .bind(path.as_str())
    .fetch_one(&mut *c)
    .await)?)
}

/// Leaves a redirect from `path` to the page (replacing an older one).
pub async fn put_redirect(h: &mut impl Handle, path: &PagePath, page: PageId, now: Timestamp) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "INSERT INTO redirects (path, page_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (path) DO UPDATE SET page_id = excluded.page_id, created_at = excluded.created_at",
    )
    .bind(path.as_str())
    .bind(page.0)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn delete_redirect(h: &mut impl Handle, path: &PagePath) -> Result<()> {
    with_db!(h, |c| sqlx::query("DELETE FROM redirects WHERE path = $1")
        .bind(path.as_str())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The live page a redirect at `path` leads to.
pub async fn resolve_redirect(h: &mut impl Handle, path: &PagePath) -> Result<Option<PageRecord>> {
    const SQL: &str = page_sql!(
        "redirects r JOIN pages p ON p.id = r.page_id \
                       WHERE r.path = $1 AND p.deleted_at IS NULL"
    );
    fetch_page!(h, SQL, path.as_str())
}

/// Paths that redirect to the page.
pub async fn redirects_to(h: &mut impl Handle, page: PageId) -> Result<Vec<String>> {
    Ok(with_db!(h, |c| sqlx::query_scalar(
        "SELECT path FROM redirects WHERE page_id = $1 ORDER BY path"
    )
    .bind(page.0)
    .fetch_all(&mut *c)
    .await)?)
}

/// Live pages that no live page links to (directly or through a redirect).
pub async fn orphans(h: &mut impl Handle, after: Option<&str>, limit: i64) -> Result<Vec<PageRecord>> {
    const SQL: &str = page_sql!(
        "pages p WHERE p.deleted_at IS NULL AND p.path > $1 \
         AND NOT EXISTS (SELECT 1 FROM page_links l JOIN pages src ON src.id = l.page_id \
             WHERE src.deleted_at IS NULL AND src.id <> p.id AND (l.target = p.path \
             OR l.target IN (SELECT r.path FROM redirects r WHERE r.page_id = p.id))) \
         ORDER BY p.path LIMIT $2"
    );
    fetch_pages!(h, SQL, after.unwrap_or(""), limit)
}

/// A link target where no page lives, with how many live pages link there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub target: PagePath,
    pub links: i64,
}

/// Link targets of live pages where no page lives, most wanted first,
/// after the cursor `(links, target)`.
pub async fn wanted(h: &mut impl Handle, after: Option<(i64, &str)>, limit: i64) -> Result<Vec<Wanted>> {
    let (after_links, after_target) = after.unwrap_or((i64::MAX, ""));
    let rows: Vec<(String, i64)> = with_db!(h, |c| {
        sqlx::query_as(
        "SELECT target, n FROM (SELECT l.target, COUNT(*) AS n FROM page_links l JOIN pages src ON src.id = l.page_id \
         WHERE src.deleted_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM pages p WHERE p.path = l.target AND p.deleted_at IS NULL) \
         AND NOT EXISTS (SELECT 1 FROM redirects r JOIN pages p ON p.id = r.page_id \
             WHERE r.path = l.target AND p.deleted_at IS NULL) \
         GROUP BY l.target) w WHERE n < $1 OR (n = $1 AND target > $2) \
         ORDER BY n DESC, target LIMIT $3",
    )
    .bind(after_links)
    .bind(after_target)
    .bind(limit)
    .fetch_all(&mut *c)
    .await
    })?;
    rows.into_iter()
        .map(|(target, links)| {
            let target = PagePath::parse(&target)
                .map_err(|e| crate::StoreError::Corrupt(format!("link target `{target}`: {e}")))?;
            Ok(Wanted { target, links })
        })
        .collect()
}
