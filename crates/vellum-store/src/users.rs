//! User accounts.

use vellum_core::{Role, Timestamp, UserId};

use std::collections::BTreeMap;

use crate::db::{with_db, Columns, DbTime, Handle, Sql, TextList};
use crate::{Result, StoreError};

#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password hash stays out of logs.
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// `SELECT <user columns> …`, read by [`UserRecord::decode`].
macro_rules! user_sql {
    ($($rest:literal),+) => {
        concat!(
            "SELECT u.id, u.username, u.display_name, u.password_hash, u.role, u.created_at, u.disabled_at",
            $($rest),+
        )
    };
}
pub(crate) use user_sql;

impl UserRecord {
    pub(crate) fn decode(r: &impl Columns) -> Result<Self> {
        Ok(UserRecord {
            id: r.id("id")?,
            username: r.text("username")?,
            display_name: r.text("display_name")?,
            password_hash: r.text("password_hash")?,
            role: r.parsed("role", |s| {
                Role::parse(s).map_err(|e| StoreError::Corrupt(format!("role `{s}`: {e}")))
            })?,
            created_at: r.time("created_at")?,
            disabled_at: r.opt_time("disabled_at")?,
        })
    }
}

pub struct NewUser<'a> {
    pub username: &'a str,
    /// Case-folded username; unique.
    pub username_key: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: &'a Role,
    pub now: Timestamp,
}

pub async fn count(h: &mut impl Handle) -> Result<i64> {
    Ok(with_db!(h, |c| sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut *c)
        .await)?)
}

pub async fn insert(h: &mut impl Handle, u: NewUser<'_>) -> Result<UserId> {
    let id: i64 = with_db!(h, |c| sqlx::query_scalar(
        "INSERT INTO users (username, username_key, display_name, password_hash, role, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(u.username)
    .bind(u.username_key)
    .bind(u.display_name)
    .bind(u.password_hash)
    .bind(u.role.as_str())
    .bind(DbTime(u.now))
    .fetch_one(&mut *c)
    .await)?;
    Ok(UserId(id))
}

/// Runs a query selecting the user columns and decodes its one row.
macro_rules! fetch_user {
    ($h:expr, $sql:expr, $bind:expr) => {
        with_db!($h, |c| {
            let row = sqlx::query($sql).bind($bind).fetch_optional(&mut *c).await?;
            row.as_ref().map(UserRecord::decode).transpose()
        })
    };
}

pub async fn by_username_key(h: &mut impl Handle, key: &str) -> Result<Option<UserRecord>> {
    fetch_user!(h, user_sql!(" FROM users u WHERE u.username_key = $1"), key)
}

pub async fn by_id(h: &mut impl Handle, id: UserId) -> Result<Option<UserRecord>> {
    fetch_user!(h, user_sql!(" FROM users u WHERE u.id = $1"), id.0)
}

/// Accounts by case-folded name, after the cursor name key.
pub async fn list(h: &mut impl Handle, after: Option<&str>, limit: i64) -> Result<Vec<UserRecord>> {
    const SQL: &str = user_sql!(" FROM users u WHERE u.username_key > $1 ORDER BY u.username_key LIMIT $2");
    with_db!(h, |c| {
        let rows = sqlx::query(SQL)
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
        rows.iter().map(UserRecord::decode).collect()
    })
}

/// User names by id (ids with no account are left out).
pub async fn names_by_ids(h: &mut impl Handle, ids: &[UserId]) -> Result<BTreeMap<UserId, String>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let ids: Vec<String> = ids.iter().map(|u| u.0.to_string()).collect();
    const SQL: Sql = Sql {
        sqlite: "SELECT id, username FROM users WHERE id IN (SELECT CAST(value AS INTEGER) FROM json_each($1))",
        postgres: "SELECT id, username FROM users WHERE id = ANY($1::text[]::bigint[])",
    };
    let rows: Vec<(i64, String)> = with_db!(h, |c, b| sqlx::query_as(SQL.of(b))
        .bind(TextList(&ids))
        .fetch_all(&mut *c)
        .await)?;
    Ok(rows.into_iter().map(|(id, n)| (UserId(id), n)).collect())
}

/// How many accounts have the role.
pub async fn count_with_role(h: &mut impl Handle, role: &Role) -> Result<i64> {
    Ok(with_db!(h, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE role = $1"
    )
    .bind(role.as_str())
    .fetch_one(&mut *c)
    .await)?)
}
