//! The audit log: one row per security-relevant action, with who, from
//! where and when. Append-only: nothing here updates a row (and a trigger
//! refuses it); rows leave only through [`purge_before`], when they are
//! older than the retention setting.

use vellum_core::{Timestamp, UserId};

use crate::db::{with_db, Columns, DbTime, Handle};
use crate::Result;

/// One entry to append.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub at: Timestamp,
    pub actor_id: Option<UserId>,
    pub actor_name: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub details: &'a serde_json::Value,
}

pub async fn append(h: &mut impl Handle, e: &NewEntry<'_>) -> Result<i64> {
    Ok(with_db!(h, |c| sqlx::query_scalar(
        "INSERT INTO audit_log (at, actor_id, actor_name, action, target, ip, user_agent, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"
    )
    .bind(DbTime(e.at))
    .bind(e.actor_id.map(|u| u.0))
    .bind(e.actor_name)
    .bind(e.action)
    .bind(e.target)
    .bind(e.ip)
    .bind(e.user_agent)
    .bind(sqlx::types::Json(e.details))
    .fetch_one(&mut *c)
    .await)?)
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: i64,
    pub at: Timestamp,
    pub actor_id: Option<UserId>,
    pub actor_name: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
}

impl Entry {
    fn decode(r: &impl Columns) -> Result<Self> {
        Ok(Entry {
            id: r.int("id")?,
            at: r.time("at")?,
            actor_id: r.opt_id("actor_id")?,
            actor_name: r.opt_text("actor_name")?,
            action: r.text("action")?,
            target: r.opt_text("target")?,
            ip: r.opt_text("ip")?,
            user_agent: r.opt_text("user_agent")?,
            details: r.json("details")?,
        })
    }
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    pub actor: Option<&'a str>,
    /// An action, or a prefix ending in `.` (`auth.`).
    pub action: Option<&'a str>,
    pub since: Option<Timestamp>,
    pub before_id: Option<i64>,
}

/// Entries newest first, filtered, before the cursor id. The statement
/// names only the filters given, so each combination gets its own plan
/// (on `audit_log_actor`, `audit_log_action` or the key).
pub async fn list(h: &mut impl Handle, f: &Filter<'_>, limit: i64) -> Result<Vec<Entry>> {
    let mut sql = String::from(
        "SELECT id, at, actor_id, actor_name, action, target, ip, user_agent, details FROM audit_log WHERE id < $1",
    );
    let mut n = 1;
    let mut next = || {
        n += 1;
        n
    };
    if f.actor.is_some() {
        sql.push_str(&format!(" AND actor_name = ${}", next()));
    }
    let prefix = f
        .action
        .filter(|a| a.ends_with('.'))
        .map(|a| format!("{}%", a.replace('%', "")));
    if prefix.is_some() {
        sql.push_str(&format!(" AND action LIKE ${}", next()));
    } else if f.action.is_some() {
        sql.push_str(&format!(" AND action = ${}", next()));
    }
    if f.since.is_some() {
        sql.push_str(&format!(" AND at >= ${}", next()));
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", next()));
    with_db!(h, |c| {
        let mut q = sqlx::query(&sql).bind(f.before_id.unwrap_or(i64::MAX));
        if let Some(a) = f.actor {
            q = q.bind(a);
        }
        match (&prefix, f.action) {
            (Some(p), _) => q = q.bind(p.as_str()),
            (None, Some(a)) => q = q.bind(a),
            (None, None) => {}
        }
        if let Some(t) = f.since {
            q = q.bind(DbTime(t));
        }
        let rows = q.bind(limit).fetch_all(&mut *c).await?;
        rows.iter().map(Entry::decode).collect::<Result<Vec<_>>>()
    })
}

/// Removes entries older than `cutoff` (the retention setting); returns
/// how many went.
pub async fn purge_before(h: &mut impl Handle, cutoff: Timestamp) -> Result<u64> {
    Ok(with_db!(h, |c| sqlx::query("DELETE FROM audit_log WHERE at < $1")
        .bind(DbTime(cutoff))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?)
}
