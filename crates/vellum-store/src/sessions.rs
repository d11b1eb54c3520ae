//! Server-side sessions. Only a hash of the session token is stored, so a
//! leaked database does not hand out live sessions.

use vellum_core::{SessionId, Timestamp, UserId};

use crate::db::{with_db, Columns, DbTime, Handle};
use crate::users::{user_sql, UserRecord};
use crate::Result;

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: SessionId,
    pub csrf_token: String,
    pub expires_at: Timestamp,
    pub user: UserRecord,
}

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user: UserId,
    pub csrf_token: &'a str,
    pub now: Timestamp,
    pub expires_at: Timestamp,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub async fn insert(h: &mut impl Handle, s: NewSession<'_>) -> Result<SessionId> {
    let id: i64 = with_db!(h, |c| sqlx::query_scalar(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(s.token_hash)
    .bind(s.user.0)
    .bind(s.csrf_token)
    .bind(DbTime(s.now))
    .bind(DbTime(s.expires_at))
    .bind(s.ip)
    .bind(s.user_agent)
    .fetch_one(&mut *c)
    .await)?;
    Ok(SessionId(id))
}

/// The live session for a token hash, with its (enabled) user.
pub async fn find(h: &mut impl Handle, token_hash: &str, now: Timestamp) -> Result<Option<SessionRecord>> {
    const SQL: &str = user_sql!(
        ", s.id AS session_id, s.csrf_token, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL"
    );
    with_db!(h, |c| {
        let row = sqlx::query(SQL)
            .bind(token_hash)
            .bind(DbTime(now))
            .fetch_optional(&mut *c)
            .await?;
        row.as_ref()
            .map(|r| {
                Ok(SessionRecord {
                    id: r.id("session_id")?,
                    csrf_token: r.text("csrf_token")?,
                    expires_at: r.time("expires_at")?,
                    user: UserRecord::decode(r)?,
                })
            })
            .transpose()
    })
}

/// Ends a session; returns it if it existed.
pub async fn delete(h: &mut impl Handle, token_hash: &str) -> Result<Option<(SessionId, UserId)>> {
    let found: Option<(i64, i64)> = with_db!(h, |c| sqlx::query_as(
        "DELETE FROM sessions WHERE token_hash = $1 RETURNING id, user_id"
    )
    .bind(token_hash)
    .fetch_optional(&mut *c)
    .await)?;
    Ok(found.map(|(s, u)| (SessionId(s), UserId(u))))
}

pub async fn delete_expired(h: &mut impl Handle, now: Timestamp) -> Result<u64> {
    Ok(with_db!(h, |c| sqlx::query(
        "DELETE FROM sessions WHERE expires_at <= $1"
    )
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?)
}

/// A session as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: SessionId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A user's live sessions, newest first.
pub async fn of_user(h: &mut impl Handle, user: UserId, now: Timestamp) -> Result<Vec<SessionInfo>> {
    with_db!(h, |c| {
        let rows = sqlx::query(
            "SELECT id, created_at, expires_at, ip, user_agent FROM sessions WHERE user_id = $1 AND expires_at > $2 \
             ORDER BY id DESC",
        )
        .bind(user.0)
        .bind(DbTime(now))
        .fetch_all(&mut *c)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SessionInfo {
                    id: r.id("id")?,
                    created_at: r.time("created_at")?,
                    expires_at: r.time("expires_at")?,
                    ip: r.opt_text("ip")?,
                    user_agent: r.opt_text("user_agent")?,
                })
            })
            .collect()
    })
}

/// Ends one of a user's sessions; false when they had no such session.
pub async fn delete_of_user(h: &mut impl Handle, user: UserId, id: SessionId) -> Result<bool> {
    let n = with_db!(h, |c| sqlx::query(
        "DELETE FROM sessions WHERE id = $1 AND user_id = $2"
    )
    .bind(id.0)
    .bind(user.0)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Ends every session of a user but `keep`; returns the ended ones.
pub async fn delete_all_of(h: &mut impl Handle, user: UserId, keep: Option<SessionId>) -> Result<Vec<SessionId>> {
    let ids: Vec<i64> = with_db!(h, |c| sqlx::query_scalar(
        "DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id"
    )
    .bind(user.0)
    .bind(keep.map_or(-1, |k| k.0))
    .fetch_all(&mut *c)
    .await)?;
    Ok(ids.into_iter().map(SessionId).collect())
}
