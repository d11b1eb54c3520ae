//! Comments on pages: threads of a first comment and its replies,
//! resolved or open, with the users each comment mentions.

use vellum_core::{PageId, Timestamp, UserId};

use crate::db::{with_db, Columns, DbTime, Handle};
use crate::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentRecord {
    pub id: i64,
    pub page_id: PageId,
    /// The thread's first comment; `None` for the first comment itself.
    pub thread_id: Option<i64>,
    pub author_id: Option<UserId>,
    pub author_name: Option<String>,
    pub author_display: Option<String>,
    pub markdown: String,
    pub html: String,
    pub created_at: Timestamp,
    pub edited_at: Option<Timestamp>,
    pub deleted_at: Option<Timestamp>,
    /// The thread's state (read from its first comment).
    pub resolved_at: Option<Timestamp>,
    pub resolved_by_name: Option<String>,
}

impl CommentRecord {
    /// The thread this comment belongs to (its own id when it starts one).
    pub fn thread(&self) -> i64 {
        self.thread_id.unwrap_or(self.id)
    }
}

const SELECT: &str = "SELECT c.id, c.page_id, c.thread_id, c.author_id, u.username AS author_name, \
     u.display_name AS author_display, c.markdown, c.html, c.created_at, c.edited_at, c.deleted_at, \
     t.resolved_at, r.username AS resolved_by_name \
     FROM comments c JOIN comments t ON t.id = COALESCE(c.thread_id, c.id) \
     LEFT JOIN users u ON u.id = c.author_id LEFT JOIN users r ON r.id = t.resolved_by";

fn decode(r: &impl Columns) -> Result<CommentRecord> {
    Ok(CommentRecord {
        id: r.int("id")?,
        page_id: r.id("page_id")?,
        thread_id: r.opt_int("thread_id")?,
        author_id: r.opt_id("author_id")?,
        author_name: r.opt_text("author_name")?,
        author_display: r.opt_text("author_display")?,
        markdown: r.text("markdown")?,
        html: r.text("html")?,
        created_at: r.time("created_at")?,
        edited_at: r.opt_time("edited_at")?,
        deleted_at: r.opt_time("deleted_at")?,
        resolved_at: r.opt_time("resolved_at")?,
        resolved_by_name: r.opt_text("resolved_by_name")?,
    })
}

pub struct NewComment<'a> {
    pub page: PageId,
    pub thread: Option<i64>,
    pub author: UserId,
    pub markdown: &'a str,
    pub html: &'a str,
    pub mentions: &'a [UserId],
}

pub async fn insert(h: &mut impl Handle, c: &NewComment<'_>, now: Timestamp) -> Result<i64> {
    let id: i64 = with_db!(h, |c2| sqlx::query_scalar(
        "INSERT INTO comments (page_id, thread_id, author_id, markdown, html, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
    )
    .bind(c.page.0)
    .bind(c.thread)
    .bind(c.author.0)
    .bind(c.markdown)
    .bind(c.html)
    .bind(DbTime(now))
    .fetch_one(&mut *c2)
    .await)?;
    set_mentions(h, id, c.mentions).await?;
    Ok(id)
}

async fn set_mentions(h: &mut impl Handle, comment: i64, users: &[UserId]) -> Result<()> {
    with_db!(h, |c| sqlx::query("DELETE FROM comment_mentions WHERE comment_id = $1")
        .bind(comment)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    for u in users {
        with_db!(h, |c| sqlx::query(
            "INSERT INTO comment_mentions (comment_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        )
        .bind(comment)
        .bind(u.0)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

pub async fn get(h: &mut impl Handle, id: i64) -> Result<Option<CommentRecord>> {
    let sql = format!("{SELECT} WHERE c.id = $1");
    with_db!(h, |c| {
        let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *c).await?;
        row.as_ref().map(decode).transpose()
    })
}

/// A page's comments in order (threads by their first comment, each
/// followed by its replies), after the cursor `(thread, id)`.
pub async fn of_page(
    h: &mut impl Handle,
    page: PageId,
    after: Option<(i64, i64)>,
    limit: i64,
) -> Result<Vec<CommentRecord>> {
    let (after_thread, after_id) = after.unwrap_or((0, 0));
    let sql = format!(
        "{SELECT} WHERE c.page_id = $1 AND (COALESCE(c.thread_id, c.id) > $2 \
         OR (COALESCE(c.thread_id, c.id) = $2 AND c.id > $3)) \
         ORDER BY COALESCE(c.thread_id, c.id), c.id LIMIT $4"
    );
    with_db!(h, |c| {
        let rows = sqlx::query(&sql)
            .bind(page.0)
            .bind(after_thread)
            .bind(after_id)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
        rows.iter().map(decode).collect()
    })
}

/// Comments (not deleted) and open threads on a page.
pub async fn counts(h: &mut impl Handle, page: PageId) -> Result<(i64, i64)> {
    let row: (i64, i64) = with_db!(h, |c| sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN thread_id IS NULL AND resolved_at IS NULL THEN 1 ELSE 0 END), 0) \
         FROM comments WHERE page_id = $1 AND deleted_at IS NULL"
    )
    .bind(page.0)
    .fetch_one(&mut *c)
    .await)?;
    Ok(row)
}

pub async fn update(
    h: &mut impl Handle,
    id: i64,
    markdown: &str,
    html: &str,
    mentions: &[UserId],
    now: Timestamp,
) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "UPDATE comments SET markdown = $2, html = $3, edited_at = $4 WHERE id = $1"
    )
    .bind(id)
    .bind(markdown)
    .bind(html)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    set_mentions(h, id, mentions).await
}

/// Removes a comment's text (the row stays, so its thread reads in order).
pub async fn delete(h: &mut impl Handle, id: i64, now: Timestamp) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "UPDATE comments SET markdown = '', html = '', deleted_at = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    set_mentions(h, id, &[]).await
}

/// Resolves (`Some(by)`) or reopens (`None`) the thread that starts with `thread`.
pub async fn set_resolved(h: &mut impl Handle, thread: i64, by: Option<UserId>, now: Timestamp) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "UPDATE comments SET resolved_at = CASE WHEN $2 IS NULL THEN NULL ELSE $3 END, resolved_by = $2 WHERE id = $1"
    )
    .bind(thread)
    .bind(by.map(|u| u.0))
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
