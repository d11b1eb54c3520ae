//! Pages, the folder tree, redirects left by moves, and the trash.

use std::collections::{BTreeMap, HashSet};

use vellum_core::{FolderPath, PageId, PagePath, RevisionId, Timestamp, Title, UserId};

use crate::db::{with_db, Columns, DbTime, Handle, Sql, TextList};
use crate::visible::{Visible, VisibleSql};
use crate::{access, Backend, Result, StoreError};

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

/// Runs a list query with a visibility condition (see [`crate::visible`]):
/// the scopes, when bound, are the last parameter.
macro_rules! fetch_visible_pages {
    ($h:expr, $sql:expr, $visible:expr, $($bind:expr),*) => {
        with_db!($h, |c, b| {
            let q = sqlx::query($sql.of(b, $visible)).persistent($visible.cache_plan(b))$(.bind($bind))*;
            let q = match $visible.param() {
                Some(scopes) => q.bind(scopes),
                None => q,
            };
            let rows = q.fetch_all(&mut *c).await?;
            rows.iter().map($crate::pages::PageRecord::decode).collect::<$crate::Result<Vec<_>>>()
        })
    };
}
pub(crate) use fetch_visible_pages;

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
/// revision and [`set_current`] in the same transaction. The page gets the
/// scope its path has under the rules (see [`crate::access`]).
pub async fn insert(h: &mut impl Handle, path: &PagePath, title: &Title, now: Timestamp) -> Result<PageId> {
    access::lock_rules_shared(h).await?;
    let scope = access::scope_for(h, path.as_str()).await?;
    let id: i64 = with_db!(h, |c| sqlx::query_scalar(
        "INSERT INTO pages (path, folder, title, created_at, updated_at, scope) VALUES ($1, $2, $3, $4, $4, $5) \
         RETURNING id"
    )
    .bind(path.as_str())
    .bind(path.folder().as_str())
    .bind(title.as_str())
    .bind(DbTime(now))
    .bind(&scope)
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

/// Moves a page; it takes the scope of its new path.
pub async fn set_path(h: &mut impl Handle, id: PageId, path: &PagePath, now: Timestamp) -> Result<()> {
    access::lock_rules_shared(h).await?;
    let scope = access::scope_for(h, path.as_str()).await?;
    with_db!(h, |c| sqlx::query(
        "UPDATE pages SET path = $2, folder = $3, updated_at = $4, scope = $5 WHERE id = $1"
    )
    .bind(id.0)
    .bind(path.as_str())
    .bind(path.folder().as_str())
    .bind(DbTime(now))
    .bind(&scope)
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

/// Visible live pages directly in `folder`, by path, after the cursor path.
pub async fn in_folder(
    h: &mut impl Handle,
    folder: &FolderPath,
    visible: Visible<'_>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<PageRecord>> {
    static SQL: VisibleSql = VisibleSql::both(page_sql!(
        "pages p WHERE p.folder = $1 AND p.deleted_at IS NULL AND p.path > $2 AND {visible p.scope $4} \
         ORDER BY p.path LIMIT $3"
    ));
    fetch_visible_pages!(h, SQL, visible, folder.as_str(), after.unwrap_or(""), limit)
}

/// Visible live pages ordered by path, after the cursor path.
pub async fn list(
    h: &mut impl Handle,
    visible: Visible<'_>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<PageRecord>> {
    static SQL: VisibleSql = VisibleSql::both(page_sql!(
        "pages p WHERE p.deleted_at IS NULL AND p.path > $1 AND {visible p.scope $3} ORDER BY p.path LIMIT $2"
    ));
    fetch_visible_pages!(h, SQL, visible, after.unwrap_or(""), limit)
}

/// Visible trashed pages, most recently deleted first, before the cursor id.
pub async fn trashed(
    h: &mut impl Handle,
    visible: Visible<'_>,
    before: Option<PageId>,
    limit: i64,
) -> Result<Vec<PageRecord>> {
    static SQL: VisibleSql = VisibleSql::both(page_sql!(
        "pages p WHERE p.deleted_at IS NOT NULL AND p.id < $1 AND {visible p.scope $3} \
         ORDER BY p.id DESC LIMIT $2"
    ));
    fetch_visible_pages!(h, SQL, visible, before.map_or(i64::MAX, |p| p.0), limit)
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

/// The current path of each live page among `ids`.
pub async fn live_paths(h: &mut impl Handle, ids: &[PageId]) -> Result<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    const SQL: Sql = Sql {
        sqlite: "SELECT id, path FROM pages WHERE deleted_at IS NULL \
                 AND id IN (SELECT CAST(value AS INTEGER) FROM json_each($1))",
        postgres: "SELECT id, path FROM pages WHERE deleted_at IS NULL AND id = ANY($1::text[]::bigint[])",
    };
    let list: Vec<String> = ids.iter().map(|i| i.0.to_string()).collect();
    Ok(with_db!(h, |c, b| sqlx::query_as(SQL.of(b))
        .bind(TextList(&list))
        .fetch_all(&mut *c)
        .await)?)
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

/// Sub-folders of `parent` with the number of visible live pages below
/// each (folders with none are left out).
///
/// The count is two range scans of the `pages_folder` index, which
/// carries the scope: the folder itself, and every folder whose path
/// starts with `path/` (those sort between `path/` and `path0`, as `0`
/// follows `/`).
pub async fn child_folders(h: &mut impl Handle, parent: &FolderPath, visible: Visible<'_>) -> Result<Vec<FolderCount>> {
    static SQL: VisibleSql = VisibleSql::both(
        "SELECT path, page_count FROM (SELECT f.path, \
             (SELECT COUNT(*) FROM pages p WHERE p.deleted_at IS NULL AND p.folder = f.path \
                AND {visible p.scope $2}) \
           + (SELECT COUNT(*) FROM pages p WHERE p.deleted_at IS NULL \
                AND p.folder >= f.path || '/' AND p.folder < f.path || '0' AND {visible p.scope $2}) AS page_count \
         FROM folders f WHERE f.parent = $1 AND f.path <> '') c WHERE page_count > 0 ORDER BY path",
    );
    let rows: Vec<(String, i64)> = with_db!(h, |c, b| {
        let q = sqlx::query_as(SQL.of(b, visible))
            .persistent(visible.cache_plan(b))
            .bind(parent.as_str());
        let q = match visible.param() {
            Some(s) => q.bind(s),
            None => q,
        };
        q.fetch_all(&mut *c).await
    })?;
    rows.into_iter()
        .map(|(path, page_count)| {
            let path = FolderPath::parse(&path)
                .map_err(|e| crate::StoreError::Corrupt(format!("folder path `{path}`: {e}")))?;
            Ok(FolderCount { path, page_count })
        })
        .collect()
}

/// Whether any visible live page lies in the folder or below it.
pub async fn folder_has_visible(h: &mut impl Handle, path: &FolderPath, visible: Visible<'_>) -> Result<bool> {
    static SQL: VisibleSql = VisibleSql::both(
        "SELECT EXISTS (SELECT 1 FROM pages p WHERE p.deleted_at IS NULL AND {visible p.scope $2} \
             AND (p.folder = $1 OR (p.folder >= $1 || '/' AND p.folder < $1 || '0')))",
    );
    Ok(with_db!(h, |c, b| {
        let q = sqlx::query_scalar(SQL.of(b, visible))
            .persistent(visible.cache_plan(b))
            .bind(path.as_str());
        let q = match visible.param() {
            Some(s) => q.bind(s),
            None => q,
        };
        q.fetch_one(&mut *c).await
    })?)
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

/// Visible live pages that no visible live page links to (directly or
/// through a redirect): a link from a page the reader cannot see does not
/// count, so the list says nothing about such pages. Two `NOT EXISTS`, not
/// one with an `OR`: each probes an index (`page_links_target`,
/// `redirects_page`), where the `OR` made PostgreSQL scan every link for
/// every page (over 30 s at 100,000 pages).
pub async fn orphans(
    h: &mut impl Handle,
    visible: Visible<'_>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<PageRecord>> {
    static SQL: VisibleSql = VisibleSql::both(page_sql!(
        "pages p WHERE p.deleted_at IS NULL AND p.path > $1 AND {visible p.scope $3} \
         AND NOT EXISTS (SELECT 1 FROM page_links l JOIN pages src ON src.id = l.page_id \
             WHERE l.target = p.path AND src.deleted_at IS NULL AND src.id <> p.id AND {visible src.scope $3}) \
         AND NOT EXISTS (SELECT 1 FROM redirects r JOIN page_links l ON l.target = r.path \
             JOIN pages src ON src.id = l.page_id \
             WHERE r.page_id = p.id AND src.deleted_at IS NULL AND src.id <> p.id AND {visible src.scope $3}) \
         ORDER BY p.path LIMIT $2"
    ));
    fetch_visible_pages!(h, SQL, visible, after.unwrap_or(""), limit)
}

/// A link target where no page lives, with how many live pages link there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub target: PagePath,
    pub links: i64,
}

/// Link targets of visible live pages where no page lives, most wanted
/// first, after the cursor `(links, target)`. Only links from visible
/// pages count, and a target the reader may not read is never listed
/// (whether or not a page is there); a redirect to a page they may not
/// read leads nowhere for them.
pub async fn wanted(
    h: &mut impl Handle,
    visible: Visible<'_>,
    after: Option<(i64, &str)>,
    limit: i64,
) -> Result<Vec<Wanted>> {
    let (after_links, after_target) = after.unwrap_or((i64::MAX, ""));
    static SQL: VisibleSql = VisibleSql::both(
        "SELECT target, n FROM (SELECT l.target, COUNT(*) AS n FROM page_links l JOIN pages src ON src.id = l.page_id \
         WHERE src.deleted_at IS NULL AND {visible src.scope $4} AND {visible l.target_scope $4} \
         AND NOT EXISTS (SELECT 1 FROM pages p WHERE p.path = l.target AND p.deleted_at IS NULL) \
         AND NOT EXISTS (SELECT 1 FROM redirects r JOIN pages p ON p.id = r.page_id \
             WHERE r.path = l.target AND p.deleted_at IS NULL AND {visible p.scope $4}) \
         GROUP BY l.target) w WHERE n < $1 OR (n = $1 AND target > $2) \
         ORDER BY n DESC, target LIMIT $3",
    );
    let rows: Vec<(String, i64)> = with_db!(h, |c, b| {
        let q = sqlx::query_as(SQL.of(b, visible))
            .persistent(visible.cache_plan(b))
            .bind(after_links)
            .bind(after_target)
            .bind(limit);
        let q = match visible.param() {
            Some(s) => q.bind(s),
            None => q,
        };
        q.fetch_all(&mut *c).await
    })?;
    rows.into_iter()
        .map(|(target, links)| {
            let target = PagePath::parse(&target)
                .map_err(|e| crate::StoreError::Corrupt(format!("link target `{target}`: {e}")))?;
            Ok(Wanted { target, links })
        })
        .collect()
}

/// Live pages per scope.
pub async fn count_by_scope(h: &mut impl Handle) -> Result<BTreeMap<String, i64>> {
    let rows: Vec<(String, i64)> = with_db!(h, |c| sqlx::query_as(
        "SELECT scope, COUNT(*) FROM pages WHERE deleted_at IS NULL GROUP BY scope"
    )
    .fetch_all(&mut *c)
    .await)?;
    Ok(rows.into_iter().collect())
}

/// Removes for good up to `limit` pages that went to the trash before
/// `cutoff`, with everything that belongs to them: revisions, links, tags,
/// redirects, the stored rendering and their events (the change history;
/// the audit log keeps its own record). Answers the pages removed.
pub async fn purge_trashed_before(
    h: &mut impl Handle,
    cutoff: Timestamp,
    limit: i64,
) -> Result<Vec<(PageId, PagePath)>> {
    const PICK: &str = "SELECT id, path FROM pages WHERE deleted_at IS NOT NULL AND deleted_at < $1 \
                        ORDER BY deleted_at, id LIMIT $2";
    let rows: Vec<(i64, String)> = with_db!(h, |c| sqlx::query_as(PICK)
        .bind(DbTime(cutoff))
        .bind(limit)
        .fetch_all(&mut *c)
        .await)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.iter().map(|(id, _)| id.to_string()).collect();
    // Dependents first; one statement per table, over the whole batch.
    const DELETES: [&str; 21] = [
        "DELETE FROM file_uses WHERE page_id IN ({ids})",
        "DELETE FROM file_uses WHERE owner_page_id IN ({ids})",
        "DELETE FROM notifications WHERE page_id IN ({ids})",
        // Their blobs stay until the blob collection finds them unused.
        "DELETE FROM file_versions WHERE file_id IN (SELECT id FROM files WHERE page_id IN ({ids}))",
        "DELETE FROM events WHERE target_type = 'file' AND target_id IN (SELECT id FROM files WHERE page_id IN ({ids}))",
        "DELETE FROM files WHERE page_id IN ({ids})",
        "DELETE FROM review_reminders WHERE page_id IN ({ids})",
        "DELETE FROM verifications WHERE page_id IN ({ids})",
        "DELETE FROM review_policies WHERE page_id IN ({ids})",
        "DELETE FROM events WHERE target_type = 'review' AND target_id IN ({ids})",
        "DELETE FROM watches WHERE page_id IN ({ids})",
        "DELETE FROM comment_mentions WHERE comment_id IN (SELECT id FROM comments WHERE page_id IN ({ids}))",
        "DELETE FROM events WHERE target_type = 'comment' AND target_id IN \
         (SELECT id FROM comments WHERE page_id IN ({ids}))",
        "DELETE FROM comments WHERE page_id IN ({ids})",
        "DELETE FROM page_renders WHERE page_id IN ({ids})",
        "DELETE FROM page_tags WHERE page_id IN ({ids})",
        "DELETE FROM page_links WHERE page_id IN ({ids})",
        "DELETE FROM redirects WHERE page_id IN ({ids})",
        "DELETE FROM events WHERE target_type = 'page' AND target_id IN ({ids})",
        "DELETE FROM revisions WHERE page_id IN ({ids})",
        "DELETE FROM pages WHERE id IN ({ids})",
    ];
    for sql in DELETES {
        with_db!(h, |c, b| {
            let list = match b {
                Backend::Sqlite => "SELECT CAST(value AS INTEGER) FROM json_each($1)",
                Backend::Postgres => "SELECT unnest($1::text[]::bigint[])",
            };
            let sql = sql.replace("{ids}", list);
            sqlx::query(&sql)
                .bind(TextList(&ids))
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected())
        })?;
    }
    rows.into_iter()
        .map(|(id, path)| {
            let path = PagePath::parse(&path).map_err(|e| StoreError::Corrupt(format!("page path {path:?}: {e}")))?;
            Ok((PageId(id), path))
        })
        .collect()
}
