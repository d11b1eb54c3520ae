//! First-run setup links. Every node that starts on a wiki without
//! accounts records the hash of the link it prints, so whichever link the
//! operator opens works; the first setup to finish consumes them all.

use vellum_core::Timestamp;

use crate::db::{with_db, DbTime, Handle, Sql};
use crate::Result;

pub async fn add_token(h: &mut impl Handle, token_hash: &str, now: Timestamp) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "INSERT INTO setup_tokens (token_hash, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING"
    )
    .bind(token_hash)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn token_exists(h: &mut impl Handle, token_hash: &str) -> Result<bool> {
    Ok(with_db!(h, |c| sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM setup_tokens WHERE token_hash = $1)"
    )
    .bind(token_hash)
    .fetch_one(&mut *c)
    .await)?)
}

/// Serialises setups: on PostgreSQL, concurrent setups (with the same link
/// or with links from different nodes) wait here for each other, so only
/// the first finds no account and proceeds. SQLite's writers are
/// serialised already.
pub async fn lock(h: &mut impl Handle) -> Result<()> {
    const SQL: Sql = Sql {
        sqlite: "SELECT 1",
        postgres: "LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE",
    };
    with_db!(h, |c, b| sqlx::query(SQL.of(b))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Consumes every setup link; true when `token_hash` was one of them.
pub async fn consume(h: &mut impl Handle, token_hash: &str) -> Result<bool> {
    let mine = with_db!(h, |c| sqlx::query("DELETE FROM setup_tokens WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    with_db!(h, |c| sqlx::query("DELETE FROM setup_tokens")
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(mine == 1)
}
