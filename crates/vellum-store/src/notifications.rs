//! Watchlists and in-app notifications.

use vellum_core::{PageId, PagePath, Timestamp, UserId};

use crate::db::{with_db, Columns, DbTime, Handle, Sql, TextList};
use crate::visible::{Visible, VisibleSql};
use crate::{Result, StoreError};

/// Watches one page.
pub async fn watch_page(h: &mut impl Handle, user: UserId, page: PageId, now: Timestamp) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "INSERT INTO watches (user_id, page_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (page_id, user_id) WHERE page_id IS NOT NULL DO NOTHING"
    )
    .bind(user.0)
    .bind(page.0)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Watches a folder and everything below it (`""`: the whole wiki).
pub async fn watch_folder(h: &mut impl Handle, user: UserId, folder: &str, now: Timestamp) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "INSERT INTO watches (user_id, folder, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (folder, user_id) WHERE folder IS NOT NULL DO NOTHING"
    )
    .bind(user.0)
    .bind(folder)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn unwatch_page(h: &mut impl Handle, user: UserId, page: PageId) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "DELETE FROM watches WHERE user_id = $1 AND page_id = $2"
    )
    .bind(user.0)
    .bind(page.0)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn unwatch_folder(h: &mut impl Handle, user: UserId, folder: &str) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "DELETE FROM watches WHERE user_id = $1 AND folder = $2"
    )
    .bind(user.0)
    .bind(folder)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Whether `user` watches the page itself, and the nearest watched folder
/// at or above it (`folders`: the page's folder and those above it).
pub async fn watching(
    h: &mut impl Handle,
    user: UserId,
    page: PageId,
    folders: &[String],
) -> Result<(bool, Option<String>)> {
    const SQL: Sql = Sql {
        sqlite: "SELECT page_id, folder FROM watches WHERE user_id = $1 AND (page_id = $2 \
                 OR folder IN (SELECT value FROM json_each($3)))",
        postgres: "SELECT page_id, folder FROM watches WHERE user_id = $1 AND (page_id = $2 OR folder = ANY($3))",
    };
    let rows: Vec<(Option<i64>, Option<String>)> = with_db!(h, |c, b| sqlx::query_as(SQL.of(b))
        .bind(user.0)
        .bind(page.0)
        .bind(TextList(folders))
        .fetch_all(&mut *c)
        .await)?;
    let page_watched = rows.iter().any(|(p, _)| p.is_some());
    let folder = rows.into_iter().filter_map(|(_, f)| f).max_by_key(|f| f.len());
    Ok((page_watched, folder))
}

/// Whether `user` watches `folder` itself.
pub async fn watches_folder(h: &mut impl Handle, user: UserId, folder: &str) -> Result<bool> {
    let n: i64 = with_db!(h, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM watches WHERE user_id = $1 AND folder = $2"
    )
    .bind(user.0)
    .bind(folder)
    .fetch_one(&mut *c)
    .await)?;
    Ok(n > 0)
}

/// Everyone who watches the page or a folder at or above it.
pub async fn watchers(h: &mut impl Handle, page: PageId, folders: &[String]) -> Result<Vec<UserId>> {
    const SQL: Sql = Sql {
        sqlite: "SELECT DISTINCT user_id FROM watches WHERE page_id = $1 \
                 OR folder IN (SELECT value FROM json_each($2)) ORDER BY user_id",
        postgres: "SELECT DISTINCT user_id FROM watches WHERE page_id = $1 OR folder = ANY($2) ORDER BY user_id",
    };
    let ids: Vec<i64> = with_db!(h, |c, b| sqlx::query_scalar(SQL.of(b))
        .bind(page.0)
        .bind(TextList(folders))
        .fetch_all(&mut *c)
        .await)?;
    Ok(ids.into_iter().map(UserId).collect())
}

/// The authors of a thread's comments that are not deleted.
pub async fn thread_participants(h: &mut impl Handle, thread: i64) -> Result<Vec<UserId>> {
    let ids: Vec<i64> = with_db!(h, |c| sqlx::query_scalar(
        "SELECT DISTINCT author_id FROM comments WHERE (id = $1 OR thread_id = $1) \
         AND author_id IS NOT NULL AND deleted_at IS NULL ORDER BY author_id"
    )
    .bind(thread)
    .fetch_all(&mut *c)
    .await)?;
    Ok(ids.into_iter().map(UserId).collect())
}

pub struct NewNotification<'a> {
    pub user: UserId,
    pub kind: &'a str,
    pub page: PageId,
    pub actor: Option<UserId>,
    pub comment: Option<i64>,
    pub event_seq: i64,
}

/// Adds a notification; nothing when the recipient already has one for
/// this event (the fan-out ran before).
pub async fn insert(h: &mut impl Handle, n: &NewNotification<'_>, now: Timestamp) -> Result<bool> {
    let done = with_db!(h, |c| sqlx::query(
        "INSERT INTO notifications (user_id, kind, page_id, actor_id, comment_id, event_seq, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id, event_seq) DO NOTHING"
    )
    .bind(n.user.0)
    .bind(n.kind)
    .bind(n.page.0)
    .bind(n.actor.map(|a| a.0))
    .bind(n.comment)
    .bind(n.event_seq)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    pub id: i64,
    pub kind: String,
    pub path: PagePath,
    pub title: String,
    pub actor_name: Option<String>,
    pub actor_display: Option<String>,
    pub comment_id: Option<i64>,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

/// `user`'s notifications about live pages they may read, newest first,
/// before the cursor id.
pub async fn list(
    h: &mut impl Handle,
    user: UserId,
    visible: Visible<'_>,
    unread_only: bool,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<NotificationRecord>> {
    static SQL: VisibleSql = VisibleSql::both(
        "SELECT n.id, n.kind, p.path, p.title, u.username AS actor_name, u.display_name AS actor_display, \
         n.comment_id, n.created_at, n.read_at FROM notifications n JOIN pages p ON p.id = n.page_id \
         LEFT JOIN users u ON u.id = n.actor_id \
         WHERE n.user_id = $1 AND n.id < $2 AND ($3 = 0 OR n.read_at IS NULL) AND p.deleted_at IS NULL \
         AND {visible p.scope $5} ORDER BY n.id DESC LIMIT $4",
    );
    with_db!(h, |c, b| {
        let q = sqlx::query(SQL.of(b, visible))
            .persistent(visible.cache_plan(b))
            .bind(user.0)
            .bind(before.unwrap_or(i64::MAX))
            .bind(i64::from(unread_only))
            .bind(limit);
        let q = match visible.param() {
            Some(s) => q.bind(s),
            None => q,
        };
        let rows = q.fetch_all(&mut *c).await?;
        rows.iter().map(decode_notification).collect()
    })
}

fn decode_notification(r: &impl Columns) -> Result<NotificationRecord> {
    let path = r.text("path")?;
    Ok(NotificationRecord {
        id: r.int("id")?,
        kind: r.text("kind")?,
        path: PagePath::parse(&path).map_err(|e| StoreError::Corrupt(format!("page path {path:?}: {e}")))?,
        title: r.text("title")?,
        actor_name: r.opt_text("actor_name")?,
        actor_display: r.opt_text("actor_display")?,
        comment_id: r.opt_int("comment_id")?,
        created_at: r.time("created_at")?,
        read_at: r.opt_time("read_at")?,
    })
}

/// `user`'s unread notifications not mailed yet, about live pages they
/// may read, oldest first.
pub async fn unmailed(
    h: &mut impl Handle,
    user: UserId,
    visible: Visible<'_>,
    limit: i64,
) -> Result<Vec<NotificationRecord>> {
    static SQL: VisibleSql = VisibleSql::both(
        "SELECT n.id, n.kind, p.path, p.title, u.username AS actor_name, u.display_name AS actor_display, \
         n.comment_id, n.created_at, n.read_at FROM notifications n JOIN pages p ON p.id = n.page_id \
         LEFT JOIN users u ON u.id = n.actor_id \
         WHERE n.user_id = $1 AND n.read_at IS NULL AND n.mailed_at IS NULL AND p.deleted_at IS NULL \
         AND {visible p.scope $3} ORDER BY n.id LIMIT $2",
    );
    with_db!(h, |c, b| {
        let q = sqlx::query(SQL.of(b, visible))
            .persistent(visible.cache_plan(b))
            .bind(user.0)
            .bind(limit);
        let q = match visible.param() {
            Some(s) => q.bind(s),
            None => q,
        };
        let rows = q.fetch_all(&mut *c).await?;
        rows.iter().map(decode_notification).collect()
    })
}

/// Records that these notifications went out by mail.
pub async fn mark_mailed(h: &mut impl Handle, ids: &[i64], now: Timestamp) -> Result<()> {
    const SQL: Sql = Sql {
        sqlite:
            "UPDATE notifications SET mailed_at = $1 WHERE id IN (SELECT CAST(value AS INTEGER) FROM json_each($2))",
        postgres: "UPDATE notifications SET mailed_at = $1 WHERE id = ANY($2::text[]::bigint[])",
    };
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    with_db!(h, |c, b| sqlx::query(SQL.of(b))
        .bind(DbTime(now))
        .bind(TextList(&list))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// How an account wants notification mail: `immediate`, `daily` or `off`.
pub async fn email_mode(h: &mut impl Handle, user: UserId) -> Result<String> {
    let v: Option<String> = with_db!(h, |c| sqlx::query_scalar("SELECT email_mode FROM users WHERE id = $1")
        .bind(user.0)
        .fetch_optional(&mut *c)
        .await)?;
    Ok(v.unwrap_or_else(|| "off".into()))
}

pub async fn set_email_mode(h: &mut impl Handle, user: UserId, mode: &str) -> Result<()> {
    with_db!(h, |c| sqlx::query("UPDATE users SET email_mode = $2 WHERE id = $1")
        .bind(user.0)
        .bind(mode)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Unread notifications about live pages `user` may read.
pub async fn unread(h: &mut impl Handle, user: UserId, visible: Visible<'_>) -> Result<i64> {
    static SQL: VisibleSql = VisibleSql::both(
        "SELECT COUNT(*) FROM notifications n JOIN pages p ON p.id = n.page_id \
         WHERE n.user_id = $1 AND n.read_at IS NULL AND p.deleted_at IS NULL AND {visible p.scope $2}",
    );
    Ok(with_db!(h, |c, b| {
        let q = sqlx::query_scalar(SQL.of(b, visible))
            .persistent(visible.cache_plan(b))
            .bind(user.0);
        let q = match visible.param() {
            Some(s) => q.bind(s),
            None => q,
        };
        q.fetch_one(&mut *c).await
    })?)
}

/// Marks `user`'s notifications read: those in `ids`, or all.
pub async fn mark_read(h: &mut impl Handle, user: UserId, ids: Option<&[i64]>, now: Timestamp) -> Result<u64> {
    Ok(match ids {
        None => with_db!(h, |c| sqlx::query(
            "UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL"
        )
        .bind(user.0)
        .bind(DbTime(now))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?,
        Some(ids) => {
            const SQL: Sql = Sql {
                sqlite: "UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL \
                         AND id IN (SELECT CAST(value AS INTEGER) FROM json_each($3))",
                postgres: "UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL \
                           AND id = ANY($3::text[]::bigint[])",
            };
            let list: Vec<String> = ids.iter().map(i64::to_string).collect();
            with_db!(h, |c, b| sqlx::query(SQL.of(b))
                .bind(user.0)
                .bind(DbTime(now))
                .bind(TextList(&list))
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?
        }
    })
}

/// Whether the account watches the pages it creates (default yes).
pub async fn watch_created(h: &mut impl Handle, user: UserId) -> Result<bool> {
    let v: Option<bool> = with_db!(h, |c| sqlx::query_scalar(
        "SELECT watch_created FROM users WHERE id = $1"
    )
    .bind(user.0)
    .fetch_optional(&mut *c)
    .await)?;
    Ok(v.unwrap_or(true))
}

pub async fn set_watch_created(h: &mut impl Handle, user: UserId, on: bool) -> Result<()> {
    with_db!(h, |c| sqlx::query("UPDATE users SET watch_created = $2 WHERE id = $1")
        .bind(user.0)
        .bind(on)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}
