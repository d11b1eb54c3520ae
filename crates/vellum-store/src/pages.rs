//! Pages, the folder tree, redirects left by moves, and the trash.

use std::collections::HashSet;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::backend::for_update;
use crate::{placeholders, Result};

#[derive(Debug, Clone)]
pub struct PageRow {
    pub id: i64,
    pub path: String,
    pub title: String,
    pub current_revision_id: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
}

const COLUMNS: &str =
    "p.id, p.path, p.title, COALESCE(p.current_revision_id, 0) AS current_revision_id, p.created_at, p.updated_at, p.deleted_at";

fn from_row(r: &AnyRow) -> Result<PageRow, sqlx::Error> {
    Ok(PageRow {
        id: r.try_get("id")?,
        path: r.try_get("path")?,
        title: r.try_get("title")?,
        current_revision_id: r.try_get("current_revision_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        deleted_at: r.try_get("deleted_at")?,
    })
}

fn rows(rows: &[AnyRow]) -> Result<Vec<PageRow>> {
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// The live page at `path`.
pub async fn by_path(conn: &mut AnyConnection, path: &str) -> Result<Option<PageRow>> {
    let sql = format!("SELECT {COLUMNS} FROM pages p WHERE p.path = $1 AND p.deleted_at IS NULL");
    let row = sqlx::query(&sql).bind(path).fetch_optional(conn).await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// What showing a page needs, in one query: the live page at `path`, its
/// current text and author, and its stored rendering when that is of the
/// current revision and renderer version `renderer`.
pub struct PageView {
    pub page: PageRow,
    pub markdown: String,
    pub author_name: Option<String>,
    /// `(html, toc)` as stored.
    pub render: Option<(String, String)>,
}

///
/// Without `with_text`, `markdown` is left empty: showing a page needs only
/// its rendering, and the text is the largest value in the row (on
/// PostgreSQL an out-of-line TOAST fetch).
pub async fn view_by_path(
    conn: &mut AnyConnection,
    path: &str,
    renderer: i64,
    with_text: bool,
) -> Result<Option<PageView>> {
    let text = if with_text { "r.markdown" } else { "'' AS markdown" };
    let sql = format!(
        "SELECT {COLUMNS}, {text}, u.username AS author_name, rd.html, rd.toc \
         FROM pages p JOIN revisions r ON r.id = p.current_revision_id \
         LEFT JOIN users u ON u.id = r.author_id \
         LEFT JOIN page_renders rd ON rd.page_id = p.id AND rd.revision_id = p.current_revision_id AND rd.renderer = $2 \
         WHERE p.path = $1 AND p.deleted_at IS NULL"
    );
    let Some(r) = sqlx::query(&sql).bind(path).bind(renderer).fetch_optional(conn).await? else {
        return Ok(None);
    };
    let html: Option<String> = r.try_get("html")?;
    let toc: Option<String> = r.try_get("toc")?;
    Ok(Some(PageView {
        page: from_row(&r)?,
        markdown: r.try_get("markdown")?,
        author_name: r.try_get("author_name")?,
        render: html.zip(toc),
    }))
}

/// The live page at `path`, locked for the rest of the transaction.
pub async fn lock_by_path(conn: &mut AnyConnection, path: &str) -> Result<Option<PageRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM pages p WHERE p.path = $1 AND p.deleted_at IS NULL{}",
        for_update(conn)
    );
    let row = sqlx::query(&sql).bind(path).fetch_optional(conn).await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// Any page, live or trashed.
pub async fn by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<PageRow>> {
    let sql = format!("SELECT {COLUMNS} FROM pages p WHERE p.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

pub async fn insert(conn: &mut AnyConnection, path: &str, folder: &str, title: &str, now: i64) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO pages (path, folder, title, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(path)
    .bind(folder)
    .bind(title)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get(0)?)
}

pub async fn set_current(conn: &mut AnyConnection, id: i64, revision_id: i64, title: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE pages SET current_revision_id = $2, title = $3, updated_at = $4 WHERE id = $1")
        .bind(id)
        .bind(revision_id)
        .bind(title)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_path(conn: &mut AnyConnection, id: i64, path: &str, folder: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE pages SET path = $2, folder = $3, updated_at = $4 WHERE id = $1")
        .bind(id)
        .bind(path)
        .bind(folder)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn trash(conn: &mut AnyConnection, id: i64, by: Option<i64>, now: i64) -> Result<()> {
    sqlx::query("UPDATE pages SET deleted_at = $2, deleted_by = $3 WHERE id = $1")
        .bind(id)
        .bind(now)
        .bind(by)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn untrash(conn: &mut AnyConnection, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE pages SET deleted_at = NULL, deleted_by = NULL, updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Live pages directly in `folder`, by path, after the cursor path.
pub async fn in_folder(
    conn: &mut AnyConnection,
    folder: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<PageRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM pages p WHERE p.folder = $1 AND p.deleted_at IS NULL AND p.path > $2 \
         ORDER BY p.path LIMIT $3"
    );
    rows(
        &sqlx::query(&sql)
            .bind(folder)
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(conn)
            .await?,
    )
}

/// All live pages ordered by path, after the cursor path.
pub async fn list(conn: &mut AnyConnection, after: Option<&str>, limit: i64) -> Result<Vec<PageRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM pages p WHERE p.deleted_at IS NULL AND p.path > $1 ORDER BY p.path LIMIT $2");
    rows(
        &sqlx::query(&sql)
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(conn)
            .await?,
    )
}

/// Trashed pages, most recently deleted first, before the cursor id.
pub async fn trashed(conn: &mut AnyConnection, before_id: Option<i64>, limit: i64) -> Result<Vec<PageRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM pages p WHERE p.deleted_at IS NOT NULL AND p.id < $1 \
         ORDER BY p.id DESC LIMIT $2"
    );
    rows(
        &sqlx::query(&sql)
            .bind(before_id.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(conn)
            .await?,
    )
}

/// Of the given paths, those that lead somewhere: a live page or a
/// redirect to one.
pub async fn existing_paths(conn: &mut AnyConnection, paths: &[&str]) -> Result<HashSet<String>> {
    if paths.is_empty() {
        return Ok(HashSet::new());
    }
    let list = placeholders(1, paths.len());
    let sql = format!(
        "SELECT path FROM pages WHERE deleted_at IS NULL AND path IN ({list}) \
         UNION SELECT r.path FROM redirects r JOIN pages p ON p.id = r.page_id \
         WHERE p.deleted_at IS NULL AND r.path IN ({list})"
    );
    let mut q = sqlx::query(&sql);
    for p in paths {
        q = q.bind(*p);
    }
    let found = q.fetch_all(conn).await?;
    Ok(found.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?)
}

/// Records `path` and its ancestors as folders (no-op for existing ones),
/// in one statement.
pub async fn ensure_folders(conn: &mut AnyConnection, lineage: &[(&str, &str)], now: i64) -> Result<()> {
    if lineage.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (0..lineage.len())
        .map(|i| format!("(${}, ${}, $1)", 2 * i + 2, 2 * i + 3))
        .collect();
    let sql = format!(
        "INSERT INTO folders (path, parent, created_at) VALUES {} ON CONFLICT (path) DO NOTHING",
        rows.join(", ")
    );
    let mut q = sqlx::query(&sql).bind(now);
    for (path, parent) in lineage {
        q = q.bind(*path).bind(*parent);
    }
    q.execute(conn).await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct FolderRow {
    pub path: String,
    /// Live pages anywhere below this folder.
    pub page_count: i64,
}

/// Sub-folders of `parent` with the number of live pages below each.
///
/// The count is two range scans of the `pages_folder` index: the folder
/// itself, and every folder whose path starts with `path/` (those sort
/// between `path/` and `path0`, as `0` follows `/`).
pub async fn child_folders(conn: &mut AnyConnection, parent: &str) -> Result<Vec<FolderRow>> {
    let found = sqlx::query(
        "SELECT f.path, \
             (SELECT COUNT(*) FROM pages p WHERE p.deleted_at IS NULL AND p.folder = f.path) \
           + (SELECT COUNT(*) FROM pages p WHERE p.deleted_at IS NULL \
                AND p.folder >= f.path || '/' AND p.folder < f.path || '0') AS page_count \
         FROM folders f WHERE f.parent = $1 AND f.path <> '' ORDER BY f.path",
    )
    .bind(parent)
    .fetch_all(conn)
    .await?;
    Ok(found
        .iter()
        .map(|r| {
            Ok(FolderRow {
                path: r.try_get(0)?,
                page_count: r.try_get(1)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?)
}

pub async fn folder_exists(conn: &mut AnyConnection, path: &str) -> Result<bool> {
    Ok(sqlx::query("SELECT 1 FROM folders WHERE path = $1")
        .bind(path)
        .fetch_optional(conn)
        .await?
        .is_some())
}

/// Leaves a redirect from `path` to the page (replacing an older one).
pub async fn put_redirect(conn: &mut AnyConnection, path: &str, page_id: i64, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO redirects (path, page_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (path) DO UPDATE SET page_id = excluded.page_id, created_at = excluded.created_at",
    )
    .bind(path)
    .bind(page_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_redirect(conn: &mut AnyConnection, path: &str) -> Result<()> {
    sqlx::query("DELETE FROM redirects WHERE path = $1")
        .bind(path)
        .execute(conn)
        .await?;
    Ok(())
}

/// The live page a redirect at `path` leads to.
pub async fn resolve_redirect(conn: &mut AnyConnection, path: &str) -> Result<Option<PageRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM redirects r JOIN pages p ON p.id = r.page_id \
         WHERE r.path = $1 AND p.deleted_at IS NULL"
    );
    let row = sqlx::query(&sql).bind(path).fetch_optional(conn).await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// The most recently trashed page that lived at `path`.
pub async fn trashed_at(conn: &mut AnyConnection, path: &str) -> Result<Option<PageRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM pages p WHERE p.path = $1 AND p.deleted_at IS NOT NULL ORDER BY p.deleted_at DESC LIMIT 1"
    );
    let row = sqlx::query(&sql).bind(path).fetch_optional(conn).await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// Live pages that no live page links to (directly or through a redirect).
pub async fn orphans(conn: &mut AnyConnection, after: Option<&str>, limit: i64) -> Result<Vec<PageRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM pages p WHERE p.deleted_at IS NULL AND p.path > $1 \
         AND NOT EXISTS (SELECT 1 FROM page_links l JOIN pages src ON src.id = l.page_id \
             WHERE src.deleted_at IS NULL AND src.id <> p.id AND (l.target = p.path \
             OR l.target IN (SELECT r.path FROM redirects r WHERE r.page_id = p.id))) \
         ORDER BY p.path LIMIT $2"
    );
    rows(
        &sqlx::query(&sql)
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(conn)
            .await?,
    )
}

#[derive(Debug, Clone)]
pub struct WantedRow {
    pub target: String,
    pub links: i64,
}

/// Link targets of live pages where no page lives, most wanted first.
pub async fn wanted(conn: &mut AnyConnection, limit: i64) -> Result<Vec<WantedRow>> {
    let found = sqlx::query(
        "SELECT l.target, COUNT(*) AS n FROM page_links l JOIN pages src ON src.id = l.page_id \
         WHERE src.deleted_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM pages p WHERE p.path = l.target AND p.deleted_at IS NULL) \
         AND NOT EXISTS (SELECT 1 FROM redirects r JOIN pages p ON p.id = r.page_id \
             WHERE r.path = l.target AND p.deleted_at IS NULL) \
         GROUP BY l.target ORDER BY n DESC, l.target LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(found
        .iter()
        .map(|r| {
            Ok(WantedRow {
                target: r.try_get(0)?,
                links: r.try_get(1)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?)
}

/// The stored rendering of a page's current revision, if it is of
/// `revision_id` and was made by renderer version `renderer`.
pub async fn stored_render(
    conn: &mut AnyConnection,
    page_id: i64,
    revision_id: i64,
    renderer: i64,
) -> Result<Option<(String, String)>> {
    let row =
        sqlx::query("SELECT html, toc FROM page_renders WHERE page_id = $1 AND revision_id = $2 AND renderer = $3")
            .bind(page_id)
            .bind(revision_id)
            .bind(renderer)
            .fetch_optional(conn)
            .await?;
    Ok(row
        .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
        .transpose()?)
}

/// Stores (replaces) the rendering of a page's current revision.
pub async fn store_render(
    conn: &mut AnyConnection,
    page_id: i64,
    revision_id: i64,
    renderer: i64,
    html: &str,
    toc: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO page_renders (page_id, revision_id, renderer, html, toc) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (page_id) DO UPDATE SET revision_id = excluded.revision_id, renderer = excluded.renderer, \
         html = excluded.html, toc = excluded.toc",
    )
    .bind(page_id)
    .bind(revision_id)
    .bind(renderer)
    .bind(html)
    .bind(toc)
    .execute(conn)
    .await?;
    Ok(())
}
