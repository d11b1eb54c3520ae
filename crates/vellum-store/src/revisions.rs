//! Revisions: the full text of every version of a page. Never rewritten.

use vellum_core::{PageId, RevisionId, RevisionKind, Timestamp, Title, UserId};

use crate::db::{with_db, Columns, DbTime, Handle};
use crate::{Result, StoreError};

/// One revision; `markdown` is empty in history listings, which do not load
/// the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionRecord {
    pub id: RevisionId,
    pub page: PageId,
    /// 1, 2, 3 … within the page.
    pub number: i64,
    pub parent: Option<RevisionId>,
    pub author: Option<UserId>,
    pub author_name: Option<String>,
    /// The author's display name.
    pub author_display: Option<String>,
    pub created_at: Timestamp,
    pub kind: RevisionKind,
    pub title: Title,
    pub markdown: String,
    pub summary: String,
    pub size: i64,
    pub size_delta: i64,
}

/// `SELECT <revision metadata> [, r.markdown] FROM revisions r LEFT JOIN
/// users u …`, the one column list [`RevisionRecord::decode`] reads.
macro_rules! revision_sql {
    (text, $($rest:literal),+) => {
        revision_sql!(@ ", r.markdown", $($rest),+)
    };
    (meta, $($rest:literal),+) => {
        revision_sql!(@ ", '' AS markdown", $($rest),+)
    };
    (@ $text:literal, $($rest:literal),+) => {
        concat!(
            "SELECT r.id, r.page_id, r.number, r.parent_id, r.author_id, u.username AS author_name, \
             u.display_name AS author_display, r.created_at, r.kind, r.title, r.summary, r.size, r.size_delta",
            $text,
            " FROM revisions r LEFT JOIN users u ON u.id = r.author_id ",
            $($rest),+
        )
    };
}

impl RevisionRecord {
    fn decode(r: &impl Columns) -> Result<Self> {
        Ok(RevisionRecord {
            id: r.id("id")?,
            page: r.id("page_id")?,
            number: r.int("number")?,
            parent: r.opt_id("parent_id")?,
            author: r.opt_id("author_id")?,
            author_name: r.opt_text("author_name")?,
            author_display: r.opt_text("author_display")?,
            created_at: r.time("created_at")?,
            kind: r.parsed("kind", |k| {
                RevisionKind::parse(k).ok_or_else(|| StoreError::Corrupt(format!("unknown revision kind `{k}`")))
            })?,
            title: r.parsed("title", Title::parse)?,
            markdown: r.text("markdown")?,
            summary: r.text("summary")?,
            size: r.int("size")?,
            size_delta: r.int("size_delta")?,
        })
    }
}

pub struct NewRevision<'a> {
    pub page: PageId,
    pub parent: Option<RevisionId>,
    pub author: Option<UserId>,
    pub now: Timestamp,
    pub kind: RevisionKind,
    pub title: &'a Title,
    pub markdown: &'a str,
    pub summary: &'a str,
    pub size_delta: i64,
}

/// Inserts a revision numbered one past the page's last; returns its id and
/// number. Callers hold the page's row lock (or SQLite's write lock), so
/// numbers cannot race.
pub async fn insert(h: &mut impl Handle, r: NewRevision<'_>) -> Result<(RevisionId, i64)> {
    let size = i64::try_from(r.markdown.len()).unwrap_or(i64::MAX);
    let (id, number): (i64, i64) = with_db!(h, |c| {
        sqlx::query_as(
        "INSERT INTO revisions (page_id, number, parent_id, author_id, created_at, kind, title, markdown, summary, size, size_delta) \
         SELECT $1, COALESCE(MAX(number), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM revisions WHERE page_id = $1 \
         RETURNING id, number"
    )
    .bind(r.page.0)
    .bind(r.parent.map(|p| p.0))
    .bind(r.author.map(|a| a.0))
    .bind(DbTime(r.now))
    .bind(r.kind.as_str())
    .bind(r.title.as_str())
    .bind(r.markdown)
    .bind(r.summary)
    .bind(size)
    .bind(r.size_delta)
    .fetch_one(&mut *c)
    .await
    })?;
    Ok((RevisionId(id), number))
}

/// A revision with its text.
pub async fn by_id(h: &mut impl Handle, id: RevisionId) -> Result<Option<RevisionRecord>> {
    const SQL: &str = revision_sql!(text, "WHERE r.id = $1");
    with_db!(h, |c| {
        let row = sqlx::query(SQL).bind(id.0).fetch_optional(&mut *c).await?;
        row.as_ref().map(RevisionRecord::decode).transpose()
    })
}

/// A page's revisions, newest first, older than the cursor id; no text.
pub async fn history(
    h: &mut impl Handle,
    page: PageId,
    before: Option<RevisionId>,
    limit: i64,
) -> Result<Vec<RevisionRecord>> {
    const SQL: &str = revision_sql!(meta, "WHERE r.page_id = $1 AND r.id < $2 ORDER BY r.id DESC LIMIT $3");
    with_db!(h, |c| {
        let rows = sqlx::query(SQL)
            .bind(page.0)
            .bind(before.map_or(i64::MAX, |r| r.0))
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
        rows.iter().map(RevisionRecord::decode).collect()
    })
}
