//! Failed sign-ins, counted per key (`user:NAME`, `ip:ADDR`) in the
//! database, so every node of a cluster sees the same counts.

use vellum_core::Timestamp;

use crate::db::{with_db, Columns, DbTime, Handle};
use crate::Result;

/// The state of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    pub failures: i64,
    pub last_failure_at: Timestamp,
    pub locked_until: Option<Timestamp>,
}

pub async fn get(h: &mut impl Handle, key: &str) -> Result<Option<Throttle>> {
    with_db!(h, |c| {
        let row = sqlx::query("SELECT failures, last_failure_at, locked_until FROM sign_in_throttle WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *c)
            .await?;
        row.as_ref()
            .map(|r| {
                Ok(Throttle {
                    failures: r.int("failures")?,
                    last_failure_at: r.time("last_failure_at")?,
                    locked_until: r.opt_time("locked_until")?,
                })
            })
            .transpose()
    })
}

pub async fn put(h: &mut impl Handle, key: &str, t: &Throttle) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "INSERT INTO sign_in_throttle (key, failures, last_failure_at, locked_until) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at, \
         locked_until = excluded.locked_until"
    )
    .bind(key)
    .bind(t.failures)
    .bind(DbTime(t.last_failure_at))
    .bind(t.locked_until.map(DbTime))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn clear(h: &mut impl Handle, key: &str) -> Result<()> {
    with_db!(h, |c| sqlx::query("DELETE FROM sign_in_throttle WHERE key = $1")
        .bind(key)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Forgets keys whose last failure is older than `cutoff`.
pub async fn purge_before(h: &mut impl Handle, cutoff: Timestamp) -> Result<u64> {
    Ok(with_db!(h, |c| sqlx::query(
        "DELETE FROM sign_in_throttle WHERE last_failure_at < $1 AND (locked_until IS NULL OR locked_until < $1)"
    )
    .bind(DbTime(cutoff))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?)
}
