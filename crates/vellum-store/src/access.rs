//! Access rules, roles and groups, and the scope of pages and link targets.
//!
//! The rules are few (one row per rule), read whole into a
//! [`vellum_core::acl::Rules`] and cached by the app. What the store keeps
//! per page is its **scope**, the path of its nearest node with rules, so
//! that a list keeps the pages a reader may read with one indexed condition
//! (see [`crate::visible`]); each link keeps its target path's scope the
//! same way.
//!
//! Scopes depend on the rules, so the two must not race: a transaction
//! that changes rules takes [`lock_rules`], and one that gives a page or a
//! link target its scope takes [`lock_rules_shared`] before reading the
//! nodes. On PostgreSQL these are a transaction-scoped advisory lock
//! (exclusive and shared: writers of pages never wait for each other); on
//! SQLite every write transaction is already serial (`BEGIN IMMEDIATE`).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use vellum_core::acl::{GroupId, Level, NodeRules, Principal, Rules};
use vellum_core::{PageId, Role, Timestamp, UserId};

use crate::db::{with_db, Columns, DbTime, Handle, Sql, TextList};
use crate::{Backend, Result, StoreError};

/// Names the rules lock among the database's advisory locks.
const RULES_LOCK: i64 = 0x7665_6c6c_7275;

/// Taken by a transaction that changes rules (see the module notes).
pub async fn lock_rules(h: &mut impl Handle) -> Result<()> {
    advisory_xact_lock(h, "SELECT pg_advisory_xact_lock($1)").await
}

/// Taken by a transaction that gives pages or link targets their scope.
pub async fn lock_rules_shared(h: &mut impl Handle) -> Result<()> {
    advisory_xact_lock(h, "SELECT pg_advisory_xact_lock_shared($1)").await
}

/// The rules lock on PostgreSQL; nothing on SQLite, whose write
/// transactions are serial already.
async fn advisory_xact_lock(h: &mut impl Handle, sql: &'static str) -> Result<()> {
    with_db!(h, |c, b| {
        if b == Backend::Postgres {
            sqlx::query(sql).bind(RULES_LOCK).execute(&mut *c).await.map(drop)
        } else {
            Ok(())
        }
    })?;
    Ok(())
}

fn principal_of(key: &str) -> Result<Principal> {
    key.parse()
        .map_err(|()| StoreError::Corrupt(format!("access rule principal `{key}`")))
}

fn level_of(level: &str) -> Result<Level> {
    Level::parse(level).ok_or_else(|| StoreError::Corrupt(format!("access rule level `{level}`")))
}

/// Every node and rule of the wiki.
pub async fn load_rules(h: &mut impl Handle) -> Result<Rules> {
    let nodes: Vec<(String, bool)> = with_db!(h, |c| sqlx::query_as("SELECT path, inherit FROM access_nodes")
        .fetch_all(&mut *c)
        .await)?;
    let rules: Vec<(String, String, String)> = with_db!(h, |c| sqlx::query_as(
        "SELECT path, principal, level FROM access_rules ORDER BY path, principal"
    )
    .fetch_all(&mut *c)
    .await)?;
    let mut out: BTreeMap<String, NodeRules> = nodes
        .into_iter()
        .map(|(path, inherit)| {
            (
                path,
                NodeRules {
                    inherit,
                    rules: Vec::new(),
                },
            )
        })
        .collect();
    for (path, principal, level) in rules {
        out.entry(path)
            .or_default()
            .rules
            .push((principal_of(&principal)?, level_of(&level)?));
    }
    // One order everywhere (users, groups, roles, signed-in, anyone), so
    // explanations list rules the same way on both backends.
    for n in out.values_mut() {
        n.rules.sort();
    }
    Ok(Rules { nodes: out })
}

/// The rules set directly on one node (`None`: it has none of its own).
pub async fn node(h: &mut impl Handle, path: &str) -> Result<Option<NodeRules>> {
    let inherit: Option<bool> = with_db!(h, |c| sqlx::query_scalar(
        "SELECT inherit FROM access_nodes WHERE path = $1"
    )
    .bind(path)
    .fetch_optional(&mut *c)
    .await)?;
    let Some(inherit) = inherit else {
        return Ok(None);
    };
    let rows: Vec<(String, String)> = with_db!(h, |c| sqlx::query_as(
        "SELECT principal, level FROM access_rules WHERE path = $1 ORDER BY principal"
    )
    .bind(path)
    .fetch_all(&mut *c)
    .await)?;
    let mut rules: Vec<(Principal, Level)> = rows
        .iter()
        .map(|(p, l)| Ok((principal_of(p)?, level_of(l)?)))
        .collect::<Result<_>>()?;
    rules.sort();
    Ok(Some(NodeRules { inherit, rules }))
}

/// The ancestors of a path from the root down, the path included: `""`,
/// `a`, `a/b`.
fn lineage(path: &str) -> impl Iterator<Item = &str> {
    std::iter::once("").chain(
        path.match_indices('/')
            .map(move |(i, _)| &path[..i])
            .chain((!path.is_empty()).then_some(path)),
    )
}

/// The scope each path has now: its nearest node, itself or above. One
/// query however many paths (it looks up every ancestor by key).
pub async fn scopes_for(h: &mut impl Handle, paths: &[&str]) -> Result<Vec<String>> {
    let mut ancestors: Vec<&str> = paths.iter().flat_map(|p| lineage(p)).collect();
    ancestors.sort_unstable();
    ancestors.dedup();
    const SQL: Sql = Sql {
        sqlite: "SELECT path FROM access_nodes WHERE path IN (SELECT value FROM json_each($1))",
        postgres: "SELECT path FROM access_nodes WHERE path = ANY($1)",
    };
    let found: Vec<String> = with_db!(h, |c, b| sqlx::query_scalar(SQL.of(b))
        .bind(TextList(&ancestors))
        .fetch_all(&mut *c)
        .await)?;
    let nodes: HashSet<&str> = found.iter().map(String::as_str).collect();
    Ok(paths
        .iter()
        .map(|p| lineage(p).filter(|a| nodes.contains(a)).last().unwrap_or("").to_owned())
        .collect())
}

/// The scope a page at `path` has now.
pub async fn scope_for(h: &mut impl Handle, path: &str) -> Result<String> {
    Ok(scopes_for(h, &[path]).await?.pop().unwrap_or_default())
}

pub async fn set_page_scope(h: &mut impl Handle, page: PageId, scope: &str) -> Result<()> {
    with_db!(h, |c| sqlx::query("UPDATE pages SET scope = $2 WHERE id = $1")
        .bind(page.0)
        .bind(scope)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Replaces the rules set directly on `path` (`None`, or a node that
/// inherits with no rules: it has none of its own any more; the root keeps
/// its row), and moves the scope of every page and link target it covers.
/// The caller holds [`lock_rules`].
pub async fn set_node(h: &mut impl Handle, path: &str, new: Option<&NodeRules>, now: Timestamp) -> Result<()> {
    let existed = node(h, path).await?.is_some();
    let keep = path.is_empty() || new.is_some_and(|n| !n.inherit || !n.rules.is_empty());
    with_db!(h, |c| sqlx::query("DELETE FROM access_rules WHERE path = $1")
        .bind(path)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    if !keep {
        with_db!(h, |c| sqlx::query("DELETE FROM access_nodes WHERE path = $1")
            .bind(path)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        if existed {
            // What it covered falls back to the nearest node above.
            let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
            let fallback = scope_for(h, parent).await?;
            rescope(h, "UPDATE pages SET scope = $2 WHERE scope = $1", &[path, &fallback]).await?;
            rescope(
                h,
                "UPDATE page_links SET target_scope = $2 WHERE target_scope = $1",
                &[path, &fallback],
            )
            .await?;
        }
        return Ok(());
    }
    let inherit = new.is_none_or(|n| n.inherit);
    with_db!(h, |c| sqlx::query(
        "INSERT INTO access_nodes (path, inherit, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (path) DO UPDATE SET inherit = excluded.inherit, updated_at = excluded.updated_at"
    )
    .bind(path)
    .bind(inherit)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    for (principal, level) in new.map(|n| n.rules.as_slice()).unwrap_or_default() {
        with_db!(h, |c| sqlx::query(
            "INSERT INTO access_rules (path, principal, level) VALUES ($1, $2, $3) \
             ON CONFLICT (path, principal) DO UPDATE SET level = excluded.level"
        )
        .bind(path)
        .bind(principal.to_string())
        .bind(level.as_str())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    if !existed && !path.is_empty() {
        // A new node: what lies at and below it and took its scope from
        // above now takes it from here (deeper nodes keep theirs).
        rescope(
            h,
            "UPDATE pages SET scope = $1 WHERE (path = $1 OR (path >= $1 || '/' AND path < $1 || '0')) \
             AND length(scope) < length($1)",
            &[path],
        )
        .await?;
        rescope(
            h,
            "UPDATE page_links SET target_scope = $1 WHERE (target = $1 OR (target >= $1 || '/' AND target < $1 || '0')) \
             AND length(target_scope) < length($1)",
            &[path],
        )
        .await?;
    }
    Ok(())
}

async fn rescope(h: &mut impl Handle, sql: &'static str, binds: &[&str]) -> Result<()> {
    with_db!(h, |c| {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(*b);
        }
        q.execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The nodes whose rules name `principal`.
pub async fn nodes_naming(h: &mut impl Handle, principal: &Principal) -> Result<Vec<String>> {
    Ok(with_db!(h, |c| sqlx::query_scalar(
        "SELECT path FROM access_rules WHERE principal = $1 ORDER BY path"
    )
    .bind(principal.to_string())
    .fetch_all(&mut *c)
    .await)?)
}

// ---------------------------------------------------------------------------
// Roles.

/// A role, with how many users have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRecord {
    pub role: Role,
    pub users: i64,
    pub created_at: Timestamp,
}

pub async fn roles(h: &mut impl Handle) -> Result<Vec<RoleRecord>> {
    with_db!(h, |c| {
        let rows = sqlx::query(
            "SELECT r.name, r.created_at, (SELECT COUNT(*) FROM users u WHERE u.role = r.name) AS users \
             FROM roles r ORDER BY r.builtin DESC, r.name",
        )
        .fetch_all(&mut *c)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RoleRecord {
                    role: r.parsed("name", |s| {
                        Role::parse(s).map_err(|e| StoreError::Corrupt(format!("role `{s}`: {e}")))
                    })?,
                    users: r.int("users")?,
                    created_at: r.time("created_at")?,
                })
            })
            .collect()
    })
}

pub async fn role_exists(h: &mut impl Handle, role: &Role) -> Result<bool> {
    Ok(with_db!(h, |c| sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM roles WHERE name = $1)"
    )
    .bind(role.as_str())
    .fetch_one(&mut *c)
    .await)?)
}

/// Adds a custom role; false when it already exists.
pub async fn insert_role(h: &mut impl Handle, role: &Role, now: Timestamp) -> Result<bool> {
    let n = with_db!(h, |c| sqlx::query(
        "INSERT INTO roles (name, builtin, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
    )
    .bind(role.as_str())
    .bind(false)
    .bind(DbTime(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Removes a custom role and every rule naming it.
pub async fn delete_role(h: &mut impl Handle, role: &Role) -> Result<()> {
    with_db!(h, |c| sqlx::query("DELETE FROM access_rules WHERE principal = $1")
        .bind(Principal::Role(role.clone()).to_string())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    with_db!(h, |c| sqlx::query("DELETE FROM roles WHERE name = $1 AND NOT builtin")
        .bind(role.as_str())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Groups.

/// A group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    pub id: GroupId,
    pub name: String,
    pub members: i64,
    pub created_at: Timestamp,
}

impl GroupRecord {
    fn decode(r: &impl Columns) -> Result<Self> {
        Ok(GroupRecord {
            id: r.id("id")?,
            name: r.text("name")?,
            members: r.int("members")?,
            created_at: r.time("created_at")?,
        })
    }
}

macro_rules! group_sql {
    ($($rest:literal),+) => {
        concat!(
            "SELECT g.id, g.name, g.created_at, (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS members \
             FROM groups g ",
            $($rest),+
        )
    };
}

/// The key groups are unique and ordered by.
pub fn group_key(name: &str) -> String {
    name.to_lowercase()
}

pub async fn insert_group(h: &mut impl Handle, name: &str, now: Timestamp) -> Result<GroupId> {
    let id: i64 = with_db!(h, |c| sqlx::query_scalar(
        "INSERT INTO groups (name, name_key, created_at) VALUES ($1, $2, $3) RETURNING id"
    )
    .bind(name)
    .bind(group_key(name))
    .bind(DbTime(now))
    .fetch_one(&mut *c)
    .await)?;
    Ok(GroupId(id))
}

pub async fn group_by_name(h: &mut impl Handle, name: &str) -> Result<Option<GroupRecord>> {
    with_db!(h, |c| {
        let row = sqlx::query(group_sql!("WHERE g.name_key = $1"))
            .bind(group_key(name))
            .fetch_optional(&mut *c)
            .await?;
        row.as_ref().map(GroupRecord::decode).transpose()
    })
}

/// Groups by id, for naming principals.
pub async fn group_names(h: &mut impl Handle, ids: &[GroupId]) -> Result<BTreeMap<GroupId, String>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let ids: Vec<String> = ids.iter().map(|g| g.0.to_string()).collect();
    const SQL: Sql = Sql {
        sqlite: "SELECT id, name FROM groups WHERE id IN (SELECT CAST(value AS INTEGER) FROM json_each($1))",
        postgres: "SELECT id, name FROM groups WHERE id = ANY($1::text[]::bigint[])",
    };
    let rows: Vec<(i64, String)> = with_db!(h, |c, b| sqlx::query_as(SQL.of(b))
        .bind(TextList(&ids))
        .fetch_all(&mut *c)
        .await)?;
    Ok(rows.into_iter().map(|(id, n)| (GroupId(id), n)).collect())
}

/// Groups by name, after the cursor key.
pub async fn groups(h: &mut impl Handle, after: Option<&str>, limit: i64) -> Result<Vec<GroupRecord>> {
    with_db!(h, |c| {
        let rows = sqlx::query(group_sql!("WHERE g.name_key > $1 ORDER BY g.name_key LIMIT $2"))
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
        rows.iter().map(GroupRecord::decode).collect()
    })
}

/// Removes a group, its memberships and every rule naming it.
pub async fn delete_group(h: &mut impl Handle, id: GroupId) -> Result<()> {
    with_db!(h, |c| sqlx::query("DELETE FROM access_rules WHERE principal = $1")
        .bind(Principal::Group(id).to_string())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    with_db!(h, |c| sqlx::query("DELETE FROM group_members WHERE group_id = $1")
        .bind(id.0)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    with_db!(h, |c| sqlx::query("DELETE FROM groups WHERE id = $1")
        .bind(id.0)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Adds a member; false when they already were one.
pub async fn add_member(h: &mut impl Handle, group: GroupId, user: UserId) -> Result<bool> {
    let n = with_db!(h, |c| sqlx::query(
        "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
    )
    .bind(group.0)
    .bind(user.0)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Removes a member; false when they were not one.
pub async fn remove_member(h: &mut impl Handle, group: GroupId, user: UserId) -> Result<bool> {
    let n = with_db!(h, |c| sqlx::query(
        "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2"
    )
    .bind(group.0)
    .bind(user.0)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// The groups a user is in.
pub async fn groups_of(h: &mut impl Handle, user: UserId) -> Result<BTreeSet<GroupId>> {
    let ids: Vec<i64> = with_db!(h, |c| sqlx::query_scalar(
        "SELECT group_id FROM group_members WHERE user_id = $1"
    )
    .bind(user.0)
    .fetch_all(&mut *c)
    .await)?;
    Ok(ids.into_iter().map(GroupId).collect())
}

/// The names of the groups a user is in, by name.
pub async fn group_names_of(h: &mut impl Handle, user: UserId) -> Result<Vec<String>> {
    Ok(with_db!(h, |c| sqlx::query_scalar(
        "SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = $1 \
         ORDER BY g.name_key"
    )
    .bind(user.0)
    .fetch_all(&mut *c)
    .await)?)
}

/// The user names in a group, by name.
pub async fn members(h: &mut impl Handle, group: GroupId) -> Result<Vec<String>> {
    Ok(with_db!(h, |c| sqlx::query_scalar(
        "SELECT u.username FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = $1 \
         ORDER BY u.username_key"
    )
    .bind(group.0)
    .fetch_all(&mut *c)
    .await)?)
}
