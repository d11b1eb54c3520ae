//! Server-side sessions. Only a hash of the session token is stored, so a
//! leaked database does not hand out live sessions.

use sqlx::{AnyConnection, Row};

use crate::users::{self, UserRow};
use crate::Result;

pub struct SessionRow {
    pub csrf_token: String,
    pub expires_at: i64,
    pub user: UserRow,
}

pub async fn insert(
    conn: &mut AnyConnection,
    token_hash: &str,
    user_id: i64,
    csrf_token: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(csrf_token)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The live session for a token hash, with its (enabled) user.
pub async fn find(conn: &mut AnyConnection, token_hash: &str, now: i64) -> Result<Option<SessionRow>> {
    let sql = format!(
        "SELECT s.csrf_token, s.expires_at, {} FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
        users::COLUMNS
    );
    let Some(row) = sqlx::query(&sql)
        .bind(token_hash)
        .bind(now)
        .fetch_optional(conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(SessionRow {
        csrf_token: row.try_get("csrf_token")?,
        expires_at: row.try_get("expires_at")?,
        user: users::from_row(&row)?,
    }))
}

pub async fn delete(conn: &mut AnyConnection, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_expired(conn: &mut AnyConnection, now: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(conn)
        .await?
        .rows_affected())
}
