//! Credentials for API clients: personal API tokens, and the refresh
//! tokens behind short-lived access tokens. Only hashes are stored.

use vellum_core::{Scopes, Timestamp, UserId};

use crate::db::{with_db, Columns, DbTime, Handle};
use crate::users::{user_sql, UserRecord};
use crate::{Result, StoreError};

/// A personal API token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    pub id: i64,
    pub user: UserId,
    pub name: String,
    pub scopes: Scopes,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl ApiTokenRecord {
    fn decode(r: &impl Columns) -> Result<Self> {
        Ok(ApiTokenRecord {
            id: r.int("token_id")?,
            user: r.id("token_user_id")?,
            name: r.text("token_name")?,
            scopes: r.parsed("scopes", |s| {
                Scopes::from_names(s.split(',').filter(|x| !x.is_empty()))
                    .map_err(|bad| StoreError::Corrupt(format!("token scope `{bad}`")))
            })?,
            created_at: r.time("token_created_at")?,
            expires_at: r.opt_time("expires_at")?,
            last_used_at: r.opt_time("last_used_at")?,
            revoked_at: r.opt_time("revoked_at")?,
        })
    }
}

const TOKEN_COLUMNS: &str = "t.id AS token_id, t.user_id AS token_user_id, t.name AS token_name, t.scopes, \
                             t.created_at AS token_created_at, t.expires_at, t.last_used_at, t.revoked_at";

pub struct NewApiToken<'a> {
    pub user: UserId,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub scopes: Scopes,
    pub now: Timestamp,
    pub expires_at: Option<Timestamp>,
}

pub async fn insert_api_token(h: &mut impl Handle, t: NewApiToken<'_>) -> Result<i64> {
    Ok(with_db!(h, |c| sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, scopes, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
    )
    .bind(t.user.0)
    .bind(t.name)
    .bind(t.token_hash)
    .bind(t.scopes.names().join(","))
    .bind(DbTime(t.now))
    .bind(t.expires_at.map(DbTime))
    .fetch_one(&mut *c)
    .await)?)
}

/// The live token with this hash (not revoked, not expired, its account
/// enabled and not invalidated since it was made), with its user.
pub async fn find_api_token(
    h: &mut impl Handle,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<(ApiTokenRecord, UserRecord)>> {
    let sql = format!(
        "{}, {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 \
         AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2) AND u.disabled_at IS NULL \
         AND (u.tokens_valid_after IS NULL OR t.created_at > u.tokens_valid_after)",
        user_sql!("")
    );
    with_db!(h, |c| {
        let row = sqlx::query(&sql)
            .bind(token_hash)
            .bind(DbTime(now))
            .fetch_optional(&mut *c)
            .await?;
        row.as_ref()
            .map(|r| Ok((ApiTokenRecord::decode(r)?, UserRecord::decode(r)?)))
            .transpose()
    })
}

/// A user's tokens, newest first (revoked ones included, marked).
pub async fn api_tokens_of(h: &mut impl Handle, user: UserId) -> Result<Vec<ApiTokenRecord>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens t WHERE t.user_id = $1 ORDER BY t.id DESC");
    with_db!(h, |c| {
        let rows = sqlx::query(&sql).bind(user.0).fetch_all(&mut *c).await?;
        rows.iter().map(ApiTokenRecord::decode).collect()
    })
}

pub async fn api_token(h: &mut impl Handle, id: i64) -> Result<Option<ApiTokenRecord>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens t WHERE t.id = $1");
    with_db!(h, |c| {
        let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *c).await?;
        row.as_ref().map(ApiTokenRecord::decode).transpose()
    })
}

pub async fn revoke_api_token(h: &mut impl Handle, id: i64, now: Timestamp) -> Result<bool> {
    let n = with_db!(h, |c| sqlx::query(
        "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL"
    )
    .bind(id)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Notes that a token was used (callers do this at most once a minute per
/// token).
pub async fn touch_api_token(h: &mut impl Handle, id: i64, now: Timestamp) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Revokes every API token and refresh token of a user.
pub async fn revoke_all_of(h: &mut impl Handle, user: UserId, now: Timestamp) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL"
    )
    .bind(user.0)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    revoke_refresh_of(h, user, now).await
}

// ---------------------------------------------------------------------------
// Refresh tokens.

/// A refresh token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    pub id: i64,
    pub family: String,
    pub user: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

pub async fn insert_refresh(
    h: &mut impl Handle,
    family: &str,
    user: UserId,
    token_hash: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<i64> {
    Ok(with_db!(h, |c| sqlx::query_scalar(
        "INSERT INTO refresh_tokens (family, user_id, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id"
    )
    .bind(family)
    .bind(user.0)
    .bind(token_hash)
    .bind(DbTime(now))
    .bind(DbTime(expires_at))
    .fetch_one(&mut *c)
    .await)?)
}

/// The refresh token with this hash, locked for the rest of the
/// transaction on PostgreSQL (two uses of one token race to it).
pub async fn refresh_by_hash(h: &mut impl Handle, token_hash: &str) -> Result<Option<RefreshRecord>> {
    const SQL: crate::db::Sql = crate::db::Sql {
        sqlite: "SELECT id, family, user_id, created_at, expires_at, used_at, revoked_at FROM refresh_tokens \
                 WHERE token_hash = $1",
        postgres: "SELECT id, family, user_id, created_at, expires_at, used_at, revoked_at FROM refresh_tokens \
                   WHERE token_hash = $1 FOR UPDATE",
    };
    with_db!(h, |c, b| {
        let row = sqlx::query(SQL.of(b)).bind(token_hash).fetch_optional(&mut *c).await?;
        row.as_ref()
            .map(|r| {
                Ok(RefreshRecord {
                    id: r.int("id")?,
                    family: r.text("family")?,
                    user: r.id("user_id")?,
                    created_at: r.time("created_at")?,
                    expires_at: r.time("expires_at")?,
                    used_at: r.opt_time("used_at")?,
                    revoked_at: r.opt_time("revoked_at")?,
                })
            })
            .transpose()
    })
}

pub async fn mark_refresh_used(h: &mut impl Handle, id: i64, now: Timestamp) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "UPDATE refresh_tokens SET used_at = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Revokes every token of a family (a reused refresh token).
pub async fn revoke_family(h: &mut impl Handle, family: &str, now: Timestamp) -> Result<u64> {
    Ok(with_db!(h, |c| sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family = $1 AND revoked_at IS NULL"
    )
    .bind(family)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?)
}

/// Whether a family still has a live (unrevoked) token.
pub async fn family_live(h: &mut impl Handle, family: &str) -> Result<bool> {
    Ok(with_db!(h, |c| sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE family = $1 AND revoked_at IS NULL)"
    )
    .bind(family)
    .fetch_one(&mut *c)
    .await)?)
}

pub async fn revoke_refresh_of(h: &mut impl Handle, user: UserId, now: Timestamp) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL"
    )
    .bind(user.0)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Forgets refresh tokens that expired before `cutoff`.
pub async fn purge_refresh_before(h: &mut impl Handle, cutoff: Timestamp) -> Result<u64> {
    Ok(with_db!(h, |c| sqlx::query(
        "DELETE FROM refresh_tokens WHERE expires_at < $1"
    )
    .bind(DbTime(cutoff))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?)
}

/// Records a password reset link's token (its hash).
pub async fn insert_password_reset(
    h: &mut impl Handle,
    token_hash: &str,
    user: UserId,
    now: Timestamp,
    expires: Timestamp,
) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)"
    )
    .bind(token_hash)
    .bind(user.0)
    .bind(DbTime(now))
    .bind(DbTime(expires))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Uses a password reset token: the account it is for, if it is unused
/// and unexpired; every reset link of that account is void afterwards.
pub async fn use_password_reset(h: &mut impl Handle, token_hash: &str, now: Timestamp) -> Result<Option<UserId>> {
    let user: Option<i64> = with_db!(h, |c| sqlx::query_scalar(
        "UPDATE password_resets SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
         RETURNING user_id"
    )
    .bind(token_hash)
    .bind(DbTime(now))
    .fetch_optional(&mut *c)
    .await)?;
    if let Some(u) = user {
        with_db!(h, |c| sqlx::query(
            "UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL"
        )
        .bind(u)
        .bind(DbTime(now))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(user.map(UserId))
}

/// Removes reset links that expired before `cutoff`.
pub async fn purge_password_resets_before(h: &mut impl Handle, cutoff: Timestamp) -> Result<u64> {
    Ok(with_db!(h, |c| sqlx::query(
        "DELETE FROM password_resets WHERE expires_at < $1"
    )
    .bind(DbTime(cutoff))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?)
}
