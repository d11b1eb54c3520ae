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
    pub email: Option<String>,
    /// Credentials issued before this are void.
    pub tokens_valid_after: Option<Timestamp>,
    /// Base32; two-factor sign-in is on once `totp_enabled_at` is set.
    pub totp_secret: Option<String>,
    pub totp_enabled_at: Option<Timestamp>,
    pub sso_subject: Option<String>,
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
            "SELECT u.id, u.username, u.display_name, u.password_hash, u.role, u.created_at, u.disabled_at, \
             u.email, u.tokens_valid_after, u.totp_secret, u.totp_enabled_at, u.sso_subject",
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
            email: r.opt_text("email")?,
            tokens_valid_after: r.opt_time("tokens_valid_after")?,
            totp_secret: r.opt_text("totp_secret")?,
            totp_enabled_at: r.opt_time("totp_enabled_at")?,
            sso_subject: r.opt_text("sso_subject")?,
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
    pub email: Option<&'a str>,
    pub sso_subject: Option<&'a str>,
    pub now: Timestamp,
}

pub async fn count(h: &mut impl Handle) -> Result<i64> {
    Ok(with_db!(h, |c| sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut *c)
        .await)?)
}

pub async fn insert(h: &mut impl Handle, u: NewUser<'_>) -> Result<UserId> {
    let id: i64 = with_db!(h, |c| {
        sqlx::query_scalar(
        "INSERT INTO users (username, username_key, display_name, password_hash, role, created_at, email, sso_subject) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(u.username)
    .bind(u.username_key)
    .bind(u.display_name)
    .bind(u.password_hash)
    .bind(u.role.as_str())
    .bind(DbTime(u.now))
    .bind(u.email)
    .bind(u.sso_subject)
    .fetch_one(&mut *c)
    .await
    })?;
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

/// Which accounts to list.
#[derive(Debug, Clone, Default)]
pub struct UserFilter<'a> {
    /// Part of the user name or display name (case-insensitive).
    pub text: Option<&'a str>,
    pub role: Option<&'a Role>,
    pub disabled: Option<bool>,
}

/// Accounts by case-folded name, after the cursor name key, filtered.
pub async fn list(h: &mut impl Handle, f: &UserFilter<'_>, after: Option<&str>, limit: i64) -> Result<Vec<UserRecord>> {
    let mut sql = String::from(user_sql!(" FROM users u WHERE u.username_key > $1"));
    let mut n = 1;
    let like = f.text.map(|t| {
        let escaped = t
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    if like.is_some() {
        n += 1;
        sql.push_str(&format!(
            " AND (u.username_key LIKE ${n} ESCAPE '\\' OR lower(u.display_name) LIKE ${n} ESCAPE '\\')"
        ));
    }
    if f.role.is_some() {
        n += 1;
        sql.push_str(&format!(" AND u.role = ${n}"));
    }
    match f.disabled {
        Some(true) => sql.push_str(" AND u.disabled_at IS NOT NULL"),
        Some(false) => sql.push_str(" AND u.disabled_at IS NULL"),
        None => {}
    }
    // Placeholder accounts (deleted users' work) are not people.
    sql.push_str(&format!(" AND u.password_hash <> '{PLACEHOLDER_HASH}'"));
    sql.push_str(&format!(" ORDER BY u.username_key LIMIT ${}", n + 1));
    with_db!(h, |c| {
        let mut q = sqlx::query(&sql).bind(after.unwrap_or(""));
        if let Some(l) = &like {
            q = q.bind(l.as_str());
        }
        if let Some(r) = f.role {
            q = q.bind(r.as_str());
        }
        let rows = q.bind(limit).fetch_all(&mut *c).await?;
        rows.iter().map(UserRecord::decode).collect()
    })
}

/// The password hash of placeholder accounts: no password matches it.
pub const PLACEHOLDER_HASH: &str = "!placeholder";

/// The password hash of an account that signs in only through single
/// sign-on: no password matches it.
pub const NO_PASSWORD_HASH: &str = "!no-password";

/// What an administrator changes on an account (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct UserChange<'a> {
    pub role: Option<&'a Role>,
    /// `Some(Some(t))` disables at `t`, `Some(None)` enables.
    pub disabled_at: Option<Option<Timestamp>>,
    pub display_name: Option<&'a str>,
    pub email: Option<Option<&'a str>>,
    pub password_hash: Option<&'a str>,
    pub tokens_valid_after: Option<Timestamp>,
}

pub async fn update(h: &mut impl Handle, id: UserId, ch: &UserChange<'_>) -> Result<()> {
    let mut sets = Vec::new();
    let mut n = 1;
    let mut next = || {
        n += 1;
        n
    };
    if ch.role.is_some() {
        sets.push(format!("role = ${}", next()));
    }
    if ch.disabled_at.is_some() {
        sets.push(format!("disabled_at = ${}", next()));
    }
    if ch.display_name.is_some() {
        sets.push(format!("display_name = ${}", next()));
    }
    if ch.email.is_some() {
        sets.push(format!("email = ${}", next()));
    }
    if ch.password_hash.is_some() {
        sets.push(format!("password_hash = ${}", next()));
    }
    if ch.tokens_valid_after.is_some() {
        sets.push(format!("tokens_valid_after = ${}", next()));
    }
    if sets.is_empty() {
        return Ok(());
    }
    let sql = format!("UPDATE users SET {} WHERE id = $1", sets.join(", "));
    with_db!(h, |c| {
        let mut q = sqlx::query(&sql).bind(id.0);
        if let Some(r) = ch.role {
            q = q.bind(r.as_str());
        }
        if let Some(d) = ch.disabled_at {
            q = q.bind(d.map(DbTime));
        }
        if let Some(d) = ch.display_name {
            q = q.bind(d);
        }
        if let Some(e) = ch.email {
            q = q.bind(e);
        }
        if let Some(p) = ch.password_hash {
            q = q.bind(p);
        }
        if let Some(t) = ch.tokens_valid_after {
            q = q.bind(DbTime(t));
        }
        q.execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Sets (or clears) the account's TOTP secret and when it was turned on.
pub async fn set_totp(
    h: &mut impl Handle,
    id: UserId,
    secret: Option<&str>,
    enabled_at: Option<Timestamp>,
) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "UPDATE users SET totp_secret = $2, totp_enabled_at = $3 WHERE id = $1"
    )
    .bind(id.0)
    .bind(secret)
    .bind(enabled_at.map(DbTime))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn by_sso_subject(h: &mut impl Handle, subject: &str) -> Result<Option<UserRecord>> {
    fetch_user!(h, user_sql!(" FROM users u WHERE u.sso_subject = $1"), subject)
}

/// The account with this e-mail address (compared without case), if
/// exactly one has it.
pub async fn by_email(h: &mut impl Handle, email: &str) -> Result<Option<UserRecord>> {
    let found: Vec<UserRecord> = with_db!(h, |c| {
        let rows = sqlx::query(user_sql!(" FROM users u WHERE lower(u.email) = lower($1) LIMIT 2"))
            .bind(email)
            .fetch_all(&mut *c)
            .await?;
        rows.iter().map(UserRecord::decode).collect::<Result<Vec<_>>>()
    })?;
    Ok(if found.len() == 1 {
        found.into_iter().next()
    } else {
        None
    })
}

pub async fn set_sso_subject(h: &mut impl Handle, id: UserId, subject: &str) -> Result<()> {
    with_db!(h, |c| sqlx::query("UPDATE users SET sso_subject = $2 WHERE id = $1")
        .bind(id.0)
        .bind(subject)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Enabled administrators, for the rule that one must remain.
pub async fn count_enabled_admins(h: &mut impl Handle) -> Result<i64> {
    Ok(with_db!(h, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL"
    )
    .fetch_one(&mut *c)
    .await)?)
}

/// Credits everything `from` wrote or did to `to` (before deleting `from`).
pub async fn reassign(h: &mut impl Handle, from: UserId, to: UserId) -> Result<()> {
    for sql in [
        "UPDATE revisions SET author_id = $2 WHERE author_id = $1",
        "UPDATE events SET actor_id = $2 WHERE actor_id = $1",
        "UPDATE pages SET deleted_by = $2 WHERE deleted_by = $1",
        "UPDATE comments SET author_id = $2 WHERE author_id = $1",
        "UPDATE comments SET resolved_by = $2 WHERE resolved_by = $1",
        // A deleted account is mentioned by no one, watches nothing and
        // is told nothing.
        "DELETE FROM comment_mentions WHERE user_id = $1 AND $2 = $2",
        "DELETE FROM watches WHERE user_id = $1 AND $2 = $2",
        "DELETE FROM notifications WHERE user_id = $1 AND $2 = $2",
        "UPDATE notifications SET actor_id = $2 WHERE actor_id = $1",
        "DELETE FROM password_resets WHERE user_id = $1 AND $2 = $2",
        // Reviews it owned are left without an owner (managers still
        // verify them); its verifications stay on record.
        "UPDATE review_policies SET owner_id = NULL WHERE owner_id = $1 AND $2 = $2",
        "UPDATE verifications SET user_id = $2 WHERE user_id = $1",
    ] {
        with_db!(h, |c| sqlx::query(sql)
            .bind(from.0)
            .bind(to.0)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Deletes an account (its sessions, tokens and memberships go with it).
pub async fn delete(h: &mut impl Handle, id: UserId) -> Result<()> {
    with_db!(h, |c| sqlx::query("DELETE FROM access_rules WHERE principal = $1")
        .bind(format!("user:{}", id.0))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    with_db!(h, |c| sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id.0)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
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

/// Replaces a user's recovery codes (hashes).
pub async fn replace_recovery_codes(h: &mut impl Handle, id: UserId, hashes: &[String]) -> Result<()> {
    with_db!(h, |c| sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(id.0)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    for hash in hashes {
        with_db!(h, |c| sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)"
        )
        .bind(id.0)
        .bind(hash)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Records that a sign-in used TOTP time step `step`; false when that step
/// or a later one was used already (the code is a replay). One statement,
/// so two nodes cannot both accept the same code.
pub async fn claim_totp_step(h: &mut impl Handle, id: UserId, step: i64) -> Result<bool> {
    let n = with_db!(h, |c| sqlx::query(
        "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)"
    )
    .bind(id.0)
    .bind(step)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Uses up a recovery code; false when it is not one of the user's unused
/// codes.
pub async fn use_recovery_code(h: &mut impl Handle, id: UserId, hash: &str, now: Timestamp) -> Result<bool> {
    let n = with_db!(h, |c| sqlx::query(
        "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL"
    )
    .bind(id.0)
    .bind(hash)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

pub async fn recovery_codes_left(h: &mut impl Handle, id: UserId) -> Result<i64> {
    Ok(with_db!(h, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL"
    )
    .bind(id.0)
    .fetch_one(&mut *c)
    .await)?)
}
