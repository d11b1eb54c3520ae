//! Page verification: review policies on pages and folders, the record of
//! every verification, and the reminders sent to owners.

use std::collections::HashMap;

use vellum_core::{PageId, RevisionId, Timestamp, UserId};

use crate::db::{with_db, Columns, DbTime, Handle, Sql, TextList};
use crate::pages::{fetch_visible_pages, page_sql, PageRecord};
use crate::visible::{Visible, VisibleSql};
use crate::Result;

/// A review policy: on one page, or on a folder and everything below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRecord {
    pub page_id: Option<PageId>,
    /// `""` is the whole wiki.
    pub folder: Option<String>,
    /// `None` once the owner's account was deleted.
    pub owner_id: Option<UserId>,
    pub owner_name: Option<String>,
    pub owner_display: Option<String>,
    pub interval_days: i64,
    pub updated_at: Timestamp,
}

const POLICY_SELECT: &str = "SELECT r.page_id, r.folder, r.owner_id, u.username AS owner_name, \
     u.display_name AS owner_display, r.interval_days, r.updated_at \
     FROM review_policies r LEFT JOIN users u ON u.id = r.owner_id";

fn decode_policy(r: &impl Columns) -> Result<PolicyRecord> {
    Ok(PolicyRecord {
        page_id: r.opt_id("page_id")?,
        folder: r.opt_text("folder")?,
        owner_id: r.opt_id("owner_id")?,
        owner_name: r.opt_text("owner_name")?,
        owner_display: r.opt_text("owner_display")?,
        interval_days: r.int("interval_days")?,
        updated_at: r.time("updated_at")?,
    })
}

/// Sets (or replaces) the policy of one page.
pub async fn set_page_policy(
    h: &mut impl Handle,
    page: PageId,
    owner: Option<UserId>,
    interval_days: i64,
    now: Timestamp,
) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "INSERT INTO review_policies (page_id, owner_id, interval_days, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (page_id) WHERE page_id IS NOT NULL DO UPDATE SET owner_id = excluded.owner_id, \
         interval_days = excluded.interval_days, updated_at = excluded.updated_at"
    )
    .bind(page.0)
    .bind(owner.map(|o| o.0))
    .bind(interval_days)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Sets (or replaces) the policy of a folder (`""`: the whole wiki).
pub async fn set_folder_policy(
    h: &mut impl Handle,
    folder: &str,
    owner: Option<UserId>,
    interval_days: i64,
    now: Timestamp,
) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "INSERT INTO review_policies (folder, owner_id, interval_days, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (folder) WHERE folder IS NOT NULL DO UPDATE SET owner_id = excluded.owner_id, \
         interval_days = excluded.interval_days, updated_at = excluded.updated_at"
    )
    .bind(folder)
    .bind(owner.map(|o| o.0))
    .bind(interval_days)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Removes a page's own policy; answers whether it had one.
pub async fn delete_page_policy(h: &mut impl Handle, page: PageId) -> Result<bool> {
    let n = with_db!(h, |c| sqlx::query("DELETE FROM review_policies WHERE page_id = $1")
        .bind(page.0)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// Removes a folder's policy; answers whether it had one.
pub async fn delete_folder_policy(h: &mut impl Handle, folder: &str) -> Result<bool> {
    let n = with_db!(h, |c| sqlx::query("DELETE FROM review_policies WHERE folder = $1")
        .bind(folder)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// The policies that may apply to a page: its own, and those of `folders`
/// (the folders at and above it).
pub async fn policies_for(h: &mut impl Handle, page: PageId, folders: &[String]) -> Result<Vec<PolicyRecord>> {
    const SQL: Sql = Sql {
        sqlite: "SELECT r.page_id, r.folder, r.owner_id, u.username AS owner_name, u.display_name AS owner_display, \
                 r.interval_days, r.updated_at FROM review_policies r LEFT JOIN users u ON u.id = r.owner_id \
                 WHERE r.page_id = $1 OR r.folder IN (SELECT value FROM json_each($2))",
        postgres: "SELECT r.page_id, r.folder, r.owner_id, u.username AS owner_name, u.display_name AS owner_display, \
                   r.interval_days, r.updated_at FROM review_policies r LEFT JOIN users u ON u.id = r.owner_id \
                   WHERE r.page_id = $1 OR r.folder = ANY($2)",
    };
    with_db!(h, |c, b| {
        let rows = sqlx::query(SQL.of(b))
            .bind(page.0)
            .bind(TextList(folders))
            .fetch_all(&mut *c)
            .await?;
        rows.iter().map(decode_policy).collect::<Result<Vec<_>>>()
    })
}

/// A folder's own policy (`""`: the whole wiki's).
pub async fn folder_policy(h: &mut impl Handle, folder: &str) -> Result<Option<PolicyRecord>> {
    with_db!(h, |c| {
        let sql = format!("{POLICY_SELECT} WHERE r.folder = $1");
        let row = sqlx::query(&sql).bind(folder).fetch_optional(&mut *c).await?;
        row.as_ref().map(decode_policy).transpose()
    })
}

/// Every policy.
pub async fn all_policies(h: &mut impl Handle) -> Result<Vec<PolicyRecord>> {
    with_db!(h, |c| {
        let sql = format!("{POLICY_SELECT} ORDER BY r.id");
        let rows = sqlx::query(&sql).fetch_all(&mut *c).await?;
        rows.iter().map(decode_policy).collect::<Result<Vec<_>>>()
    })
}

/// The live pages the reader may see that some policy covers: those with
/// one of their own and those in (or below) a folder with one.
pub async fn covered_pages(h: &mut impl Handle, visible: Visible<'_>) -> Result<Vec<PageRecord>> {
    // `substr(…) = folder || '/'` rather than LIKE: folder names may hold
    // `_`, which LIKE would take as a wildcard.
    static SQL: VisibleSql = VisibleSql::both(page_sql!(
        "pages p WHERE p.deleted_at IS NULL AND {visible p.scope $1} AND (\
         EXISTS (SELECT 1 FROM review_policies r WHERE r.page_id = p.id) OR \
         EXISTS (SELECT 1 FROM review_policies r WHERE r.folder IS NOT NULL AND (r.folder = '' OR p.folder = r.folder \
         OR substr(p.folder, 1, length(r.folder) + 1) = r.folder || '/'))) ORDER BY p.path"
    ));
    fetch_visible_pages!(h, SQL, visible,)
}

/// One verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationRecord {
    pub page_id: PageId,
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub user_display: Option<String>,
    pub revision: RevisionId,
    pub with_edit: bool,
    pub verified_at: Timestamp,
}

const VERIFICATION_SELECT: &str =
    "SELECT v.page_id, v.user_id, u.username AS user_name, u.display_name AS user_display, \
     v.revision_id, v.with_edit, v.verified_at FROM verifications v LEFT JOIN users u ON u.id = v.user_id";

fn decode_verification(r: &impl Columns) -> Result<VerificationRecord> {
    Ok(VerificationRecord {
        page_id: r.id("page_id")?,
        user_id: r.opt_id("user_id")?,
        user_name: r.opt_text("user_name")?,
        user_display: r.opt_text("user_display")?,
        revision: r.id("revision_id")?,
        with_edit: r.flag("with_edit")?,
        verified_at: r.time("verified_at")?,
    })
}

/// Records that `user` verified the page as of `revision`.
pub async fn insert_verification(
    h: &mut impl Handle,
    page: PageId,
    user: Option<UserId>,
    revision: RevisionId,
    with_edit: bool,
    now: Timestamp,
) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "INSERT INTO verifications (page_id, user_id, revision_id, with_edit, verified_at) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(page.0)
    .bind(user.map(|u| u.0))
    .bind(revision.0)
    .bind(with_edit)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A page's verifications, newest first.
pub async fn verifications(h: &mut impl Handle, page: PageId, limit: i64) -> Result<Vec<VerificationRecord>> {
    with_db!(h, |c| {
        let sql = format!("{VERIFICATION_SELECT} WHERE v.page_id = $1 ORDER BY v.id DESC LIMIT $2");
        let rows = sqlx::query(&sql).bind(page.0).bind(limit).fetch_all(&mut *c).await?;
        rows.iter().map(decode_verification).collect::<Result<Vec<_>>>()
    })
}

/// The latest verification of every page that has one.
pub async fn latest_verifications(h: &mut impl Handle) -> Result<HashMap<PageId, VerificationRecord>> {
    let rows = with_db!(h, |c| {
        let sql = format!("{VERIFICATION_SELECT} WHERE v.id IN (SELECT MAX(id) FROM verifications GROUP BY page_id)");
        let rows = sqlx::query(&sql).fetch_all(&mut *c).await?;
        rows.iter().map(decode_verification).collect::<Result<Vec<_>>>()
    })?;
    Ok(rows.into_iter().map(|v| (v.page_id, v)).collect())
}

/// Notes that the reminder of `stage` for the review due at `due_at` went
/// out; `false` when it already had.
pub async fn mark_reminded(
    h: &mut impl Handle,
    page: PageId,
    due_at: Timestamp,
    stage: &str,
    now: Timestamp,
) -> Result<bool> {
    let n = with_db!(h, |c| sqlx::query(
        "INSERT INTO review_reminders (page_id, due_at, stage, sent_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (page_id, due_at, stage) DO NOTHING"
    )
    .bind(page.0)
    .bind(DbTime(due_at))
    .bind(stage)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}
