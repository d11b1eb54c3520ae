//! User accounts.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::Result;

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

pub(crate) const COLUMNS: &str =
    "u.id, u.username, u.display_name, u.password_hash, u.role, u.created_at, u.disabled_at";

pub(crate) fn from_row(r: &AnyRow) -> Result<UserRow, sqlx::Error> {
    Ok(UserRow {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        password_hash: r.try_get("password_hash")?,
        role: r.try_get("role")?,
        created_at: r.try_get("created_at")?,
        disabled_at: r.try_get("disabled_at")?,
    })
}

pub struct NewUser<'a> {
    pub username: &'a str,
    /// Case-folded username; unique.
    pub username_key: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub now: i64,
}

pub async fn count(conn: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) FROM users")
        .fetch_one(conn)
        .await?
        .try_get(0)?)
}

pub async fn insert(conn: &mut AnyConnection, u: NewUser<'_>) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO users (username, username_key, display_name, password_hash, role, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(u.username)
    .bind(u.username_key)
    .bind(u.display_name)
    .bind(u.password_hash)
    .bind(u.role)
    .bind(u.now)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get(0)?)
}

pub async fn by_username_key(conn: &mut AnyConnection, key: &str) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {COLUMNS} FROM users u WHERE u.username_key = $1");
    let row = sqlx::query(&sql).bind(key).fetch_optional(conn).await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

pub async fn by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {COLUMNS} FROM users u WHERE u.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}
