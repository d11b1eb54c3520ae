//! What the search index needs of each live page: its current text, tags
//! and last editor, by page id (for pages the change feed names) or in id
//! order (for a full rebuild).

use std::collections::HashMap;

use vellum_core::{PageId, Timestamp};

use crate::db::{with_db, Columns, Handle, Sql, TextList};
use crate::Result;

/// A live page as the search index holds it.
#[derive(Debug, Clone)]
pub struct IndexRecord {
    pub id: PageId,
    pub path: String,
    pub title: String,
    pub markdown: String,
    pub tags: Vec<String>,
    /// Username of the current revision's author (`""` if unknown).
    pub author: String,
    pub updated_at: Timestamp,
}

macro_rules! index_sql {
    ($cond:literal) => {
        concat!(
            "SELECT p.id, p.path, p.title, r.markdown, COALESCE(u.username, '') AS author, p.updated_at \
             FROM pages p JOIN revisions r ON r.id = p.current_revision_id \
             LEFT JOIN users u ON u.id = r.author_id WHERE p.deleted_at IS NULL AND ",
            $cond
        )
    };
}

fn decode(r: &impl Columns) -> Result<IndexRecord> {
    Ok(IndexRecord {
        id: r.id("id")?,
        path: r.text("path")?,
        title: r.text("title")?,
        markdown: r.text("markdown")?,
        tags: Vec::new(),
        author: r.text("author")?,
        updated_at: r.time("updated_at")?,
    })
}

/// The live pages among `ids` (deleted or unknown ids are left out).
pub async fn by_ids(h: &mut impl Handle, ids: &[PageId]) -> Result<Vec<IndexRecord>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    const PAGES: Sql = Sql {
        sqlite: index_sql!("p.id IN (SELECT CAST(value AS INTEGER) FROM json_each($1)) ORDER BY p.id"),
        postgres: index_sql!("p.id = ANY($1::text[]::bigint[]) ORDER BY p.id"),
    };
    const TAGS: Sql = Sql {
        sqlite:
            "SELECT page_id, tag FROM page_tags WHERE page_id IN (SELECT CAST(value AS INTEGER) FROM json_each($1))",
        postgres: "SELECT page_id, tag FROM page_tags WHERE page_id = ANY($1::text[]::bigint[])",
    };
    let list: Vec<String> = ids.iter().map(|i| i.0.to_string()).collect();
    let mut pages: Vec<IndexRecord> = with_db!(h, |c, b| {
        let rows = sqlx::query(PAGES.of(b))
            .bind(TextList(&list))
            .fetch_all(&mut *c)
            .await?;
        rows.iter().map(decode).collect::<Result<Vec<_>>>()
    })?;
    let tags: Vec<(i64, String)> = with_db!(h, |c, b| sqlx::query_as(TAGS.of(b))
        .bind(TextList(&list))
        .fetch_all(&mut *c)
        .await)?;
    attach_tags(&mut pages, tags);
    Ok(pages)
}

/// Live pages with ids above `after`, in id order, at most `limit`.
pub async fn after(h: &mut impl Handle, after: PageId, limit: i64) -> Result<Vec<IndexRecord>> {
    const PAGES: &str = index_sql!("p.id > $1 ORDER BY p.id LIMIT $2");
    const TAGS: &str = "SELECT page_id, tag FROM page_tags WHERE page_id > $1 AND page_id <= $2";
    let mut pages: Vec<IndexRecord> = with_db!(h, |c| {
        let rows = sqlx::query(PAGES).bind(after.0).bind(limit).fetch_all(&mut *c).await?;
        rows.iter().map(decode).collect::<Result<Vec<_>>>()
    })?;
    let Some(last) = pages.last().map(|p| p.id.0) else {
        return Ok(pages);
    };
    let tags: Vec<(i64, String)> = with_db!(h, |c| sqlx::query_as(TAGS)
        .bind(after.0)
        .bind(last)
        .fetch_all(&mut *c)
        .await)?;
    attach_tags(&mut pages, tags);
    Ok(pages)
}

/// Live pages in all (what a full rebuild will index).
pub async fn count(h: &mut impl Handle) -> Result<i64> {
    const SQL: &str = "SELECT COUNT(*) FROM pages WHERE deleted_at IS NULL";
    Ok(with_db!(h, |c| sqlx::query_scalar(SQL).fetch_one(&mut *c).await)?)
}

fn attach_tags(pages: &mut [IndexRecord], tags: Vec<(i64, String)>) {
    let mut by_page: HashMap<i64, Vec<String>> = HashMap::new();
    for (page, tag) in tags {
        by_page.entry(page).or_default().push(tag);
    }
    for p in pages {
        if let Some(mut t) = by_page.remove(&p.id.0) {
            t.sort();
            p.tags = t;
        }
    }
}
