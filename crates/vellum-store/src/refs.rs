//! References between pages (outgoing links, recorded on every save) and
//! tags. Backlinks and pages-by-tag are plain queries over these tables.

use sqlx::{AnyConnection, Row};

use crate::Result;

pub async fn replace_links(conn: &mut AnyConnection, page_id: i64, targets: &[&str]) -> Result<()> {
    sqlx::query("DELETE FROM page_links WHERE page_id = $1")
        .bind(page_id)
        .execute(&mut *conn)
        .await?;
    insert_pairs(conn, "page_links (page_id, target)", page_id, targets).await
}

/// One multi-row `INSERT … ON CONFLICT DO NOTHING` of `(id, value)` rows,
/// in chunks well under both engines' bind-parameter limits. A write holds
/// SQLite's single writer lock, so every round trip saved counts.
async fn insert_pairs(conn: &mut AnyConnection, table: &str, id: i64, values: &[&str]) -> Result<()> {
    for chunk in values.chunks(200) {
        let rows: Vec<String> = (0..chunk.len()).map(|i| format!("($1, ${})", i + 2)).collect();
        let sql = format!("INSERT INTO {table} VALUES {} ON CONFLICT DO NOTHING", rows.join(", "));
        let mut q = sqlx::query(&sql).bind(id);
        for v in chunk {
            q = q.bind(*v);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct LinkingPage {
    pub id: i64,
    pub path: String,
    pub title: String,
    pub current_revision_id: i64,
}

/// Maps `(id, path, title, current revision)` columns.
fn linking_page(r: &sqlx::any::AnyRow) -> Result<LinkingPage, sqlx::Error> {
    Ok(LinkingPage {
        id: r.try_get(0)?,
        path: r.try_get(1)?,
        title: r.try_get(2)?,
        current_revision_id: r.try_get(3)?,
    })
}

/// Live pages linking to any of `targets` (a page path and the redirects
/// that lead to it), by path.
pub async fn linking_to(conn: &mut AnyConnection, targets: &[&str]) -> Result<Vec<LinkingPage>> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT DISTINCT p.id, p.path, p.title, COALESCE(p.current_revision_id, 0) AS rev \
         FROM page_links l JOIN pages p ON p.id = l.page_id \
         WHERE p.deleted_at IS NULL AND l.target IN ({}) ORDER BY p.path",
        crate::placeholders(1, targets.len())
    );
    let mut q = sqlx::query(&sql);
    for t in targets {
        q = q.bind(*t);
    }
    let found = q.fetch_all(conn).await?;
    Ok(found.iter().map(linking_page).collect::<Result<_, _>>()?)
}

/// The page's link targets that lead nowhere now: no live page and no
/// redirect to one. Runs on every page view.
///
/// Two plain indexed queries (the page's links, then which of them exist),
/// rather than one query with `EXISTS`/anti-join subqueries: measured at
/// 100,000 pages, the one-query forms were planned as hash or merge joins
/// over every page whenever PostgreSQL's statistics lagged a growing table
/// (16-400 ms a call), and one form was ten times slower on SQLite 3.46. An
/// `IN` list of a page's few targets is an index look-up for any planner.
pub async fn missing_targets(conn: &mut AnyConnection, page_id: i64) -> Result<Vec<String>> {
    let found = sqlx::query("SELECT target FROM page_links WHERE page_id = $1 ORDER BY target")
        .bind(page_id)
        .fetch_all(&mut *conn)
        .await?;
    let targets: Vec<String> = found.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
    let wanted: Vec<&str> = targets.iter().map(String::as_str).collect();
    let existing = crate::pages::existing_paths(conn, &wanted).await?;
    Ok(targets.into_iter().filter(|t| !existing.contains(t)).collect())
}

/// Paths that redirect to the page.
pub async fn redirects_to(conn: &mut AnyConnection, page_id: i64) -> Result<Vec<String>> {
    let found = sqlx::query("SELECT path FROM redirects WHERE page_id = $1 ORDER BY path")
        .bind(page_id)
        .fetch_all(conn)
        .await?;
    Ok(found.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?)
}

pub async fn replace_tags(conn: &mut AnyConnection, page_id: i64, tags: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM page_tags WHERE page_id = $1")
        .bind(page_id)
        .execute(&mut *conn)
        .await?;
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    insert_pairs(conn, "page_tags (page_id, tag)", page_id, &tags).await
}

pub async fn tags_of(conn: &mut AnyConnection, page_id: i64) -> Result<Vec<String>> {
    let found = sqlx::query("SELECT tag FROM page_tags WHERE page_id = $1 ORDER BY tag")
        .bind(page_id)
        .fetch_all(conn)
        .await?;
    Ok(found.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?)
}

/// Every tag on a live page, with how many live pages carry it.
pub async fn tag_counts(conn: &mut AnyConnection) -> Result<Vec<(String, i64)>> {
    let found = sqlx::query(
        "SELECT t.tag, COUNT(*) FROM page_tags t JOIN pages p ON p.id = t.page_id \
         WHERE p.deleted_at IS NULL GROUP BY t.tag ORDER BY t.tag",
    )
    .fetch_all(conn)
    .await?;
    Ok(found
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?)
}

/// Live pages with a tag, by path, after the cursor path.
pub async fn pages_with_tag(
    conn: &mut AnyConnection,
    tag: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<LinkingPage>> {
    let found = sqlx::query(
        "SELECT p.id, p.path, p.title, COALESCE(p.current_revision_id, 0) FROM page_tags t \
         JOIN pages p ON p.id = t.page_id WHERE t.tag = $1 AND p.deleted_at IS NULL AND p.path > $2 \
         ORDER BY p.path LIMIT $3",
    )
    .bind(tag)
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(found.iter().map(linking_page).collect::<Result<_, _>>()?)
}
