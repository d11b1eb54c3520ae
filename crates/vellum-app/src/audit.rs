//! The audit log: every security-relevant action, with who did it, from
//! which address and browser, and when.
//!
//! Entries are written in the same transaction as the change they record
//! (a unit of work appends one for each audited event), so a change cannot
//! commit without its entry. Actions that change nothing (a failed
//! sign-in) get a transaction of their own. Entries are never updated (the
//! database refuses it) and leave only when older than the retention
//! setting.
//!
//! **Where a request came from.** The web layer runs each request inside
//! [`with_request`], which makes the client's address (after the trusted
//! proxies) and user agent known to the code that writes entries, the way
//! a tracing span carries context: use cases do not pass it along.

use std::future::Future;
use std::net::IpAddr;

use serde_json::json;
use vellum_core::{Actor, Event, Timestamp, UserId};
use vellum_store::audit::{self, Filter, NewEntry};
use vellum_store::{settings, users, Handle};

use crate::model::{PageRequest, Paged};
use crate::{validate, App, AppError, AppResult, Code};

/// What the audit log records about the request behind an action.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// The request's id (`X-Request-Id`), carried into the jobs it enqueues.
    pub request_id: Option<String>,
}

tokio::task_local! {
    static REQUEST: RequestMeta;
}

/// Runs `f` (one request's handling) with its request known to the audit
/// log.
pub async fn with_request<F: Future>(meta: RequestMeta, f: F) -> F::Output {
    REQUEST.scope(meta, f).await
}

/// The request being handled, if any (none on the command line).
pub(crate) fn current_request() -> RequestMeta {
    REQUEST.try_with(Clone::clone).unwrap_or_default()
}

/// The longest user agent kept.
const MAX_USER_AGENT: usize = 300;

pub const DEFAULT_RETENTION_DAYS: i64 = 365;
pub(crate) const RETENTION_KEY: &str = "audit_retention_days";

/// The audited action for an event, and what it was about.
pub(crate) fn audited(event: &Event) -> Option<(&'static str, String)> {
    let target = match event {
        Event::PageMoved { from, to, .. } => format!("{from} → {to}"),
        Event::PageDeleted { path, .. } => path.to_string(),
        Event::PageRestored { from, to, .. } => format!("{from} → {to}"),
        Event::UserCreated { username, .. } | Event::UserUpdated { username, .. } => format!("user:{username}"),
        Event::SessionEnded { .. } => "session".to_owned(),
        Event::SettingsChanged { key, .. } => format!("setting:{key}"),
        Event::AccessChanged { path, .. } => format!("access:{path}"),
        Event::GroupCreated { name, .. } | Event::GroupDeleted { name, .. } => format!("group:{name}"),
        Event::GroupMemberAdded { name, username, .. } | Event::GroupMemberRemoved { name, username, .. } => {
            format!("group:{name} user:{username}")
        }
        Event::RoleCreated { role } | Event::RoleDeleted { role } => format!("role:{role}"),
        Event::TokenCreated { name, .. } | Event::TokenRevoked { name, .. } => format!("token:{name}"),
        Event::UserDeleted { username, .. } => format!("user:{username}"),
        Event::TrashPurged { paths, .. } => format!("trash: {} pages", paths.len()),
        // Page edits are in the history; they are not security events.
        Event::PageCreated { .. }
        | Event::PageEdited { .. }
        | Event::PageReverted { .. }
        | Event::PageTagsChanged { .. }
        | Event::CommentAdded { .. }
        | Event::CommentEdited { .. }
        | Event::CommentResolved { .. }
        | Event::PageVerified { .. }
        | Event::ReviewReminded { .. }
        | Event::FileUploaded { .. }
        | Event::WatchChanged { .. } => return None,
        Event::FileDeleted { path, name, .. } => format!("{path} file {name}"),
        // Who must review what, and how often, is a governance record.
        Event::ReviewPolicySet { path, .. } => format!("review:{path}"),
        // Removing what someone else wrote is worth a record.
        Event::CommentDeleted { comment, path, .. } => format!("{path} comment {comment}"),
    };
    Some((event.action(), target))
}

fn user_agent(meta: &RequestMeta) -> Option<String> {
    meta.user_agent.as_ref().map(|ua| {
        let clean: String = ua.chars().filter(|c| !c.is_control()).collect();
        clean.chars().take(MAX_USER_AGENT).collect()
    })
}

/// Appends an entry through `h` (a transaction, usually).
pub(crate) async fn append(
    h: &mut impl Handle,
    actor: Option<UserId>,
    actor_name: Option<&str>,
    action: &str,
    target: Option<&str>,
    details: &serde_json::Value,
    at: Timestamp,
) -> AppResult<()> {
    let meta = current_request();
    let name = match (actor, actor_name) {
        (_, Some(n)) => Some(n.to_owned()),
        (Some(id), None) => users::by_id(h, id).await?.map(|u| u.username),
        (None, None) => None,
    };
    let ip = meta.ip.map(|ip| ip.to_string());
    let ua = user_agent(&meta);
    audit::append(
        h,
        &NewEntry {
            at,
            actor_id: actor,
            actor_name: name.as_deref(),
            action,
            target,
            ip: ip.as_deref(),
            user_agent: ua.as_deref(),
            details,
        },
    )
    .await?;
    Ok(())
}

/// One audit entry as administrators see it.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
}

/// Which entries to show.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// RFC 3339, or a date (`2026-12-01`).
    pub since: Option<String>,
}

/// A date (`2026-12-01`, midnight UTC) or an RFC 3339 time.
pub(crate) fn parse_time(raw: &str) -> Result<Timestamp, ()> {
    let raw = raw.trim();
    let parsed = time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .ok()
        .or_else(|| {
            let d = time::Date::parse(raw, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
            Some(d.midnight().assume_utc())
        })
        .ok_or(())?;
    Ok(Timestamp::from_millis(
        i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX),
    ))
}

fn parse_since(raw: &str) -> AppResult<Timestamp> {
    parse_time(raw).map_err(|()| {
        AppError::invalid(
            Code::InvalidQuery,
            "since",
            "The “since” filter is a date (2026-12-01) or a time in RFC 3339 (2026-12-01T09:30:00Z).",
        )
    })
}

impl App {
    /// Appends an entry in a transaction of its own (actions that change
    /// nothing else, like a failed sign-in).
    pub(crate) async fn audit_now(
        &self,
        actor: Option<UserId>,
        actor_name: Option<&str>,
        action: &str,
        target: Option<&str>,
        details: serde_json::Value,
    ) -> AppResult<()> {
        let mut tx = self.0.store.begin().await?;
        append(&mut tx, actor, actor_name, action, target, &details, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records that `actor` exported something (reports, later pages).
    pub async fn audit_export(&self, actor: &Actor, what: &str) -> AppResult<()> {
        self.audit_now(actor.user_id(), actor.name(), "export", Some(what), json!({}))
            .await
    }

    /// Entries newest first (administrators).
    pub async fn audit_log(&self, actor: &Actor, q: &AuditQuery, req: &PageRequest) -> AppResult<Paged<AuditEntry>> {
        self.need_admin(actor)?;
        let actor_filter = q
            .actor
            .as_deref()
            .map(|a| validate::single_line(a, "actor").map(str::trim))
            .transpose()?
            .filter(|a| !a.is_empty());
        let action = q
            .action
            .as_deref()
            .map(|a| validate::single_line(a, "action").map(str::trim))
            .transpose()?
            .filter(|a| !a.is_empty());
        let since = q
            .since
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(parse_since)
            .transpose()?;
        let filter = Filter {
            actor: actor_filter,
            action,
            since,
            before_id: req.id_cursor()?,
        };
        let mut conn = self.0.store.read().await?;
        let rows = audit::list(&mut conn, &filter, req.fetch()?).await?;
        let items = rows
            .into_iter()
            .map(|e| AuditEntry {
                id: e.id,
                at: e.at,
                actor: e.actor_name,
                action: e.action,
                target: e.target,
                ip: e.ip,
                user_agent: e.user_agent,
                details: e.details,
            })
            .collect();
        Ok(Paged::from_rows(items, req.limit()?, |e: &AuditEntry| e.id.to_string()))
    }

    /// How many days audit entries are kept.
    pub(crate) async fn audit_retention_days(&self, h: &mut impl Handle) -> AppResult<i64> {
        Ok(settings::get(h, RETENTION_KEY)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_RETENTION_DAYS))
    }

    /// Removes audit entries older than the retention setting.
    pub(crate) async fn purge_audit(&self) -> AppResult<u64> {
        let mut tx = self.0.store.begin().await?;
        let days = self.audit_retention_days(&mut tx).await?;
        let cutoff = Timestamp::from_millis(self.now().as_millis() - days * 86_400_000);
        let gone = audit::purge_before(&mut tx, cutoff).await?;
        tx.commit().await?;
        Ok(gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_dates_and_times() {
        assert_eq!(parse_since("1970-01-02").unwrap().as_millis(), 86_400_000);
        assert_eq!(parse_since("1970-01-01T00:00:01Z").unwrap().as_millis(), 1000);
        assert!(parse_since("yesterday").is_err());
    }
}
