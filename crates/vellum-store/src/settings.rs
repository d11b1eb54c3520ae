//! Site settings as a small key-value table.

use crate::db::{with_db, Handle};
use crate::Result;

pub async fn get(h: &mut impl Handle, key: &str) -> Result<Option<String>> {
    Ok(with_db!(h, |c| sqlx::query_scalar(
        "SELECT value FROM settings WHERE key = $1"
    )
    .bind(key)
    .fetch_optional(&mut *c)
    .await)?)
}

pub async fn set(h: &mut impl Handle, key: &str, value: &str) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Sets `key` unless it is set already (several nodes racing to create a
/// shared secret keep the first one).
pub async fn set_if_absent(h: &mut impl Handle, key: &str, value: &str) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING"
    )
    .bind(key)
    .bind(value)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
