//! The event log: append-only, one row per change, written in the same
//! transaction as the change. It is the recent-changes feed, the audit log
//! and the change feed ([`crate::feed`]) that caches, search indexing and
//! live updates follow.

use vellum_core::{Event, PagePath, RevisionId, Timestamp, UserId};

use crate::db::{with_db, Columns, DbTime, Handle};
use crate::visible::{Visible, VisibleSql};
use crate::{Result, StoreError};

/// Appends an event; returns its sequence number.
pub async fn append(h: &mut impl Handle, event: &Event, actor: Option<UserId>, now: Timestamp) -> Result<i64> {
    let details = serde_json::to_value(event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let target_id = match event {
        Event::UserCreated { user, .. }
        | Event::UserUpdated { user, .. }
        | Event::UserDeleted { user, .. }
        | Event::WatchChanged { user, .. } => Some(user.0),
        Event::TokenCreated { token, .. } | Event::TokenRevoked { token, .. } => Some(*token),
        Event::SessionEnded { session, .. } => Some(session.0),
        Event::GroupCreated { group, .. }
        | Event::GroupDeleted { group, .. }
        | Event::GroupMemberAdded { group, .. }
        | Event::GroupMemberRemoved { group, .. } => Some(group.0),
        Event::CommentAdded { comment, .. }
        | Event::CommentEdited { comment, .. }
        | Event::CommentDeleted { comment, .. } => Some(*comment),
        Event::CommentResolved { thread, .. } => Some(*thread),
        Event::ReviewPolicySet { page, .. } => page.map(|p| p.0),
        Event::ReviewReminded { page, .. } => Some(page.0),
        Event::FileUploaded { file, .. } | Event::FileDeleted { file, .. } => Some(*file),
        other => other.page().map(|p| p.0),
    };
    let target_path = match event {
        Event::AccessChanged { path, .. } => Some(path.as_str()),
        Event::CommentAdded { path, .. }
        | Event::CommentEdited { path, .. }
        | Event::CommentDeleted { path, .. }
        | Event::CommentResolved { path, .. }
        | Event::ReviewReminded { path, .. }
        | Event::FileUploaded { path, .. }
        | Event::FileDeleted { path, .. } => Some(path.as_str()),
        Event::ReviewPolicySet { path, .. } => Some(path.as_str()),
        Event::WatchChanged { target, .. } => Some(target.as_str()),
        other => other.path().map(PagePath::as_str),
    };
    let seq: i64 = with_db!(h, |c| {
        sqlx::query_scalar(
        "INSERT INTO events (created_at, actor_id, action, target_type, target_id, target_path, revision_id, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING seq",
    )
    .bind(DbTime(now))
    .bind(actor.map(|a| a.0))
    .bind(event.action())
    .bind(event.target_type().as_str())
    .bind(target_id)
    .bind(target_path)
    .bind(event.revision().map(|r| r.0))
    .bind(sqlx::types::Json(&details))
    .fetch_one(&mut *c)
    .await
    })?;
    Ok(seq)
}

/// One event by its sequence number, with who caused it.
pub async fn by_seq(h: &mut impl Handle, seq: i64) -> Result<Option<(Event, Option<UserId>)>> {
    let row: Option<(sqlx::types::Json<Event>, Option<i64>)> = with_db!(h, |c| sqlx::query_as(
        "SELECT details, actor_id FROM events WHERE seq = $1"
    )
    .bind(seq)
    .fetch_optional(&mut *c)
    .await)?;
    Ok(row.map(|(e, a)| (e.0, a.map(UserId))))
}

/// A page change for the recent-changes list, with the revision it made.
#[derive(Debug, Clone)]
pub struct ChangeRecord {
    pub seq: i64,
    pub at: Timestamp,
    pub actor: Option<UserId>,
    pub actor_name: Option<String>,
    /// The actor's display name.
    pub actor_display: Option<String>,
    pub event: Event,
    pub revision: Option<RevisionId>,
    /// The revision's title, summary and size change, when it made one.
    pub title: Option<String>,
    pub summary: Option<String>,
    pub size_delta: Option<i64>,
}

impl ChangeRecord {
    fn decode(r: &impl Columns) -> Result<Self> {
        let event: Event = r
            .json_as("details")
            .map_err(|e| StoreError::Corrupt(format!("event {}: {e}", r.int("seq").unwrap_or_default())))?;
        Ok(ChangeRecord {
            seq: r.int("seq")?,
            at: r.time("created_at")?,
            actor: r.opt_id("actor_id")?,
            actor_name: r.opt_text("actor_name")?,
            actor_display: r.opt_text("actor_display")?,
            event,
            revision: r.opt_id("revision_id")?,
            title: r.opt_text("title")?,
            summary: r.opt_text("summary")?,
            size_delta: r.opt_int("size_delta")?,
        })
    }
}

/// Changes to visible pages (as they are now: a page moved out of the
/// reader's sight takes its history with it), newest first, before the
/// cursor sequence number; only those by `actor` when given.
pub async fn page_changes(
    h: &mut impl Handle,
    actor: Option<UserId>,
    visible: Visible<'_>,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<ChangeRecord>> {
    // The target type is written into the text (`'page'`, which a test
    // holds to `TargetType::Page`) rather than bound, so the planner sees
    // it; and two statements rather than one with `($n IS NULL OR …)`, so
    // each gets a plan on its own index (events_type_seq, events_actor).
    macro_rules! changes_sql {
        ($filter:literal) => {
            concat!(
                "SELECT e.seq, e.created_at, e.actor_id, u.username AS actor_name, u.display_name AS actor_display, e.revision_id, e.details, \
                 r.title, r.summary, r.size_delta \
                 FROM events e JOIN pages p ON p.id = e.target_id \
                 LEFT JOIN users u ON u.id = e.actor_id LEFT JOIN revisions r ON r.id = e.revision_id \
                 WHERE e.target_type = 'page' AND e.seq < $1 ",
                $filter,
                " ORDER BY e.seq DESC LIMIT $2"
            )
        };
    }
    static ALL: VisibleSql = VisibleSql::both(changes_sql!("AND {visible p.scope $3}"));
    static BY_ACTOR: VisibleSql = VisibleSql::both(changes_sql!("AND e.actor_id = $3 AND {visible p.scope $4}"));
    with_db!(h, |c, b| {
        let sql = if actor.is_some() { &BY_ACTOR } else { &ALL };
        let q = sqlx::query(sql.of(b, visible))
            .persistent(visible.cache_plan(b))
            .bind(before_seq.unwrap_or(i64::MAX))
            .bind(limit);
        let q = match actor {
            Some(a) => q.bind(a.0),
            None => q,
        };
        let q = match visible.param() {
            Some(s) => q.bind(s),
            None => q,
        };
        let rows = q.fetch_all(&mut *c).await?;
        rows.iter().map(ChangeRecord::decode).collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_target_type_written_into_the_sql_is_the_enums() {
        assert_eq!(vellum_core::TargetType::Page.as_str(), "page");
    }
}
