//! The event log: append-only, one row per change, written in the same
//! transaction as the change. It feeds recent changes now, and the audit
//! log, search indexing and live updates later.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::backend::lock_event_log;
use crate::Result;

pub struct NewEvent<'a> {
    pub now: i64,
    pub actor_id: Option<i64>,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<i64>,
    pub target_path: Option<&'a str>,
    pub revision_id: Option<i64>,
    /// A JSON object.
    pub details: &'a str,
}

pub async fn append(conn: &mut AnyConnection, e: NewEvent<'_>) -> Result<i64> {
    lock_event_log(conn).await?;
    let row = sqlx::query(
        "INSERT INTO events (created_at, actor_id, action, target_type, target_id, target_path, revision_id, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING seq",
    )
    .bind(e.now)
    .bind(e.actor_id)
    .bind(e.action)
    .bind(e.target_type)
    .bind(e.target_id)
    .bind(e.target_path)
    .bind(e.revision_id)
    .bind(e.details)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get(0)?)
}

#[derive(Debug, Clone)]
pub struct ChangeRow {
    pub seq: i64,
    pub created_at: i64,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub action: String,
    pub page_id: Option<i64>,
    pub path: Option<String>,
    pub revision_id: Option<i64>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub size_delta: Option<i64>,
    pub details: String,
}

fn from_row(r: &AnyRow) -> Result<ChangeRow, sqlx::Error> {
    Ok(ChangeRow {
        seq: r.try_get("seq")?,
        created_at: r.try_get("created_at")?,
        actor_id: r.try_get("actor_id")?,
        actor_name: r.try_get("actor_name")?,
        action: r.try_get("action")?,
        page_id: r.try_get("target_id")?,
        path: r.try_get("target_path")?,
        revision_id: r.try_get("revision_id")?,
        title: r.try_get("title")?,
        summary: r.try_get("summary")?,
        size_delta: r.try_get("size_delta")?,
        details: r.try_get("details")?,
    })
}

/// Page changes, newest first, before the cursor sequence number; only
/// those by `actor` when given.
pub async fn page_changes(
    conn: &mut AnyConnection,
    actor: Option<i64>,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<ChangeRow>> {
    let filter = if actor.is_some() { "AND e.actor_id = $3" } else { "" };
    let sql = format!(
        "SELECT e.seq, e.created_at, e.actor_id, u.username AS actor_name, e.action, e.target_id, \
         e.target_path, e.revision_id, r.title, r.summary, r.size_delta, e.details \
         FROM events e LEFT JOIN users u ON u.id = e.actor_id LEFT JOIN revisions r ON r.id = e.revision_id \
         WHERE e.target_type = 'page' AND e.seq < $1 {filter} ORDER BY e.seq DESC LIMIT $2"
    );
    let mut q = sqlx::query(&sql).bind(before_seq.unwrap_or(i64::MAX)).bind(limit);
    if let Some(a) = actor {
        q = q.bind(a);
    }
    let found = q.fetch_all(conn).await?;
    Ok(found.iter().map(from_row).collect::<Result<_, _>>()?)
}
