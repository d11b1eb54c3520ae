//! Revisions: the full text of every version of a page. Never rewritten.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::Result;

#[derive(Debug, Clone)]
pub struct RevisionRow {
    pub id: i64,
    pub page_id: i64,
    pub parent_id: Option<i64>,
    pub author_id: Option<i64>,
    pub author_name: Option<String>,
    pub created_at: i64,
    pub kind: String,
    pub title: String,
    /// Empty in history listings, which do not load the text.
    pub markdown: String,
    pub summary: String,
    pub size: i64,
    pub size_delta: i64,
}

const META: &str = "r.id, r.page_id, r.parent_id, r.author_id, u.username AS author_name, r.created_at, \
                    r.kind, r.title, r.summary, r.size, r.size_delta";

fn from_row(r: &AnyRow, with_text: bool) -> Result<RevisionRow, sqlx::Error> {
    Ok(RevisionRow {
        id: r.try_get("id")?,
        page_id: r.try_get("page_id")?,
        parent_id: r.try_get("parent_id")?,
        author_id: r.try_get("author_id")?,
        author_name: r.try_get("author_name")?,
        created_at: r.try_get("created_at")?,
        kind: r.try_get("kind")?,
        title: r.try_get("title")?,
        markdown: if with_text {
            r.try_get("markdown")?
        } else {
            String::new()
        },
        summary: r.try_get("summary")?,
        size: r.try_get("size")?,
        size_delta: r.try_get("size_delta")?,
    })
}

pub struct NewRevision<'a> {
    pub page_id: i64,
    pub parent_id: Option<i64>,
    pub author_id: Option<i64>,
    pub now: i64,
    pub kind: &'a str,
    pub title: &'a str,
    pub markdown: &'a str,
    pub summary: &'a str,
    pub size_delta: i64,
}

pub async fn insert(conn: &mut AnyConnection, r: NewRevision<'_>) -> Result<i64> {
    let size = i64::try_from(r.markdown.len()).unwrap_or(i64::MAX);
    let row = sqlx::query(
        "INSERT INTO revisions (page_id, parent_id, author_id, created_at, kind, title, markdown, summary, size, size_delta) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(r.page_id)
    .bind(r.parent_id)
    .bind(r.author_id)
    .bind(r.now)
    .bind(r.kind)
    .bind(r.title)
    .bind(r.markdown)
    .bind(r.summary)
    .bind(size)
    .bind(r.size_delta)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get(0)?)
}

/// A revision with its text.
pub async fn by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<RevisionRow>> {
    let sql =
        format!("SELECT {META}, r.markdown FROM revisions r LEFT JOIN users u ON u.id = r.author_id WHERE r.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    Ok(row.as_ref().map(|r| from_row(r, true)).transpose()?)
}

/// A page's revisions, newest first, older than the cursor id; no text.
pub async fn history(
    conn: &mut AnyConnection,
    page_id: i64,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<RevisionRow>> {
    let sql = format!(
        "SELECT {META} FROM revisions r LEFT JOIN users u ON u.id = r.author_id \
         WHERE r.page_id = $1 AND r.id < $2 ORDER BY r.id DESC LIMIT $3"
    );
    let found = sqlx::query(&sql)
        .bind(page_id)
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    Ok(found.iter().map(|r| from_row(r, false)).collect::<Result<_, _>>()?)
}
