//! Access rules on folders and pages, and how they decide what a user may
//! do. No I/O: the rules come in as a [`Rules`] value, the user as a
//! [`Subject`], and the answer is a [`Level`] with the reasons for it.
//!
//! **The model.** A rule grants a [`Level`] (none < read < comment < edit <
//! manage) to a [`Principal`] (a user, a group, a role, every signed-in
//! user, or anyone) on a node: a folder or page path, where a page's rules
//! also cover the pages below it (a page is the folder of its children).
//! The root node (the empty path) holds the site-wide rules; each role's
//! default level is a root rule for that role.
//!
//! **Precedence.** To find a user's level at a path, walk from the root
//! down to the path, node by node, keeping one level per principal:
//!
//! 1. at a node that does not inherit (a restricted sub-tree), forget every
//!    level from above: only rules at this node and below count;
//! 2. each rule at the node sets its principal's level, replacing the level
//!    that principal had from above (so a deeper rule may raise it, lower
//!    it, or set it to none);
//! 3. at the path, the user's level is the highest level of any principal
//!    they match: themselves, each of their groups, their role, every
//!    signed-in user (when signed in), anyone.
//!
//! So a `none` rule takes away what that principal had from above; it does
//! not deny what the user gets through another principal. To close a
//! sub-tree, stop inheriting. Administrators manage everything, whatever
//! the rules say (nobody can lock the wiki out of itself).
//!
//! Two properties follow, and are property-tested: narrowing a rule (a
//! lower level, or not inheriting) never widens anything below it; and a
//! path's level depends only on the rules of the nodes above it, so a page
//! has the level of its nearest node with rules (its **scope**). Lists use
//! the second: a [`Permissions`] value names the scopes a user can read,
//! and every list query keeps the pages whose scope is among them.

use std::collections::{BTreeMap, BTreeSet};

use crate::{Actor, Role, UserId};

/// What a principal may do, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    None,
    Read,
    Comment,
    Edit,
    Manage,
}

impl Level {
    pub const ALL: [Level; 5] = [Level::None, Level::Read, Level::Comment, Level::Edit, Level::Manage];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Read => "read",
            Level::Comment => "comment",
            Level::Edit => "edit",
            Level::Manage => "manage",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// A group of users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct GroupId(pub i64);

impl From<i64> for GroupId {
    fn from(id: i64) -> Self {
        GroupId(id)
    }
}

/// Who a rule is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principal {
    User(UserId),
    Group(GroupId),
    /// Every user with this role.
    Role(Role),
    /// Every signed-in user.
    Authenticated,
    /// Everyone, signed in or not.
    Anyone,
}

impl std::fmt::Display for Principal {
    /// The stored form: `user:12`, `group:3`, `role:editor`,
    /// `authenticated`, `anyone` (users and groups by id, so renaming
    /// them keeps their rules).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::User(u) => write!(f, "user:{}", u.0),
            Principal::Group(g) => write!(f, "group:{}", g.0),
            Principal::Role(r) => write!(f, "role:{r}"),
            Principal::Authenticated => f.write_str("authenticated"),
            Principal::Anyone => f.write_str("anyone"),
        }
    }
}

impl std::str::FromStr for Principal {
    type Err = ();

    /// Parses the stored form written by `Display`.
    fn from_str(key: &str) -> Result<Principal, ()> {
        match key.split_once(':') {
            Some(("user", id)) => id.parse().map(|id| Principal::User(UserId(id))).map_err(drop),
            Some(("group", id)) => id.parse().map(|id| Principal::Group(GroupId(id))).map_err(drop),
            Some(("role", name)) => Role::parse(name).map(Principal::Role).map_err(drop),
            None if key == "authenticated" => Ok(Principal::Authenticated),
            None if key == "anyone" => Ok(Principal::Anyone),
            _ => Err(()),
        }
    }
}

impl serde::Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Principal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|()| serde::de::Error::custom(format!("unknown principal “{s}”")))
    }
}

/// The rules set directly on one node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeRules {
    /// Whether the node takes the rules from above (false: a restricted
    /// sub-tree).
    pub inherit: bool,
    pub rules: Vec<(Principal, Level)>,
}

impl Default for NodeRules {
    fn default() -> Self {
        NodeRules {
            inherit: true,
            rules: Vec::new(),
        }
    }
}

/// Every rule of the wiki, by node path (the empty path is the root).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    pub nodes: BTreeMap<String, NodeRules>,
}

/// The user a decision is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// `None` for an anonymous visitor.
    pub user: Option<UserId>,
    pub groups: BTreeSet<GroupId>,
    pub role: Option<Role>,
    pub is_admin: bool,
    /// Only rules naming the subject's own principals count (not
    /// `anyone` or `authenticated`): what a group itself is given.
    pub named_only: bool,
}

impl Subject {
    pub fn anonymous() -> Subject {
        Subject {
            user: None,
            groups: BTreeSet::new(),
            role: None,
            is_admin: false,
            named_only: false,
        }
    }

    /// What the rules give a group (for access reports): only rules that
    /// name the group count.
    pub fn group(g: GroupId) -> Subject {
        Subject {
            groups: BTreeSet::from([g]),
            named_only: true,
            ..Subject::anonymous()
        }
    }

    /// A signed-in user (or an anonymous visitor) and their groups.
    pub fn of(actor: &Actor, groups: BTreeSet<GroupId>) -> Subject {
        Subject {
            user: actor.user_id(),
            groups,
            role: actor.role().cloned(),
            // The role decides; what the credential may do is a cap the
            // caller applies (`Permissions::capped`).
            is_admin: actor.role() == Some(&Role::Admin),
            named_only: false,
        }
    }

    pub fn matches(&self, p: &Principal) -> bool {
        match p {
            Principal::User(u) => self.user == Some(*u),
            Principal::Group(g) => self.groups.contains(g),
            Principal::Role(r) => self.role.as_ref() == Some(r),
            Principal::Authenticated => self.user.is_some() && !self.named_only,
            Principal::Anyone => !self.named_only,
        }
    }
}

/// One step of an explanation: a rule that counted, or a node that cut
/// off what came from above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// At `node`, `principal` (which the subject matches) was set to `level`.
    Rule {
        node: String,
        principal: Principal,
        level: Level,
    },
    /// At `node`, the rules from above stopped applying.
    StopsInheriting { node: String },
    /// Administrators manage everything.
    Administrator,
}

/// A level and how it was reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub level: Level,
    /// The rules that apply to the subject at the path, in the order they
    /// were met from the root down (later ones replace earlier ones for the
    /// same principal); the level is the highest one still standing.
    pub reasons: Vec<Reason>,
}

/// The node paths from the root down to `path`: `""`, `a`, `a/b`, …
fn chain(path: &str) -> impl Iterator<Item = &str> {
    std::iter::once("").chain(
        path.match_indices('/')
            .map(move |(i, _)| &path[..i])
            .chain((!path.is_empty()).then_some(path)),
    )
}

impl Rules {
    /// The subject's level at `path` (a page or folder path; `""` is the
    /// root), with the reasons.
    pub fn decide(&self, subject: &Subject, path: &str) -> Decision {
        if subject.is_admin {
            return Decision {
                level: Level::Manage,
                reasons: vec![Reason::Administrator],
            };
        }
        // principal → (level, reason index)
        let mut standing: BTreeMap<&Principal, (Level, usize)> = BTreeMap::new();
        let mut reasons = Vec::new();
        for node in chain(path) {
            let Some(rules) = self.nodes.get(node) else {
                continue;
            };
            if !rules.inherit && !node.is_empty() {
                standing.clear();
                reasons.push(Reason::StopsInheriting { node: node.to_owned() });
            }
            for (principal, level) in &rules.rules {
                if subject.matches(principal) {
                    reasons.push(Reason::Rule {
                        node: node.to_owned(),
                        principal: principal.clone(),
                        level: *level,
                    });
                    standing.insert(principal, (*level, reasons.len() - 1));
                }
            }
        }
        let level = standing.values().map(|(l, _)| *l).max().unwrap_or(Level::None);
        // Keep the reasons still standing, and the cut-offs, in order.
        let kept: BTreeSet<usize> = standing.values().map(|(_, i)| *i).collect();
        let reasons = reasons
            .into_iter()
            .enumerate()
            .filter(|(i, r)| kept.contains(i) || matches!(r, Reason::StopsInheriting { .. }))
            .map(|(_, r)| r)
            .collect();
        Decision { level, reasons }
    }

    /// The rules a node at `path` takes from above, for every principal:
    /// `(node, principal, level)`, where `node` is the ancestor the rule is
    /// set on (a later rule for the same principal replaces an earlier
    /// one; a node that stops inheriting drops what came before it). The
    /// node's own rules are not included; a node that does not inherit
    /// takes nothing.
    pub fn inherited(&self, path: &str) -> Vec<(String, Principal, Level)> {
        if self.nodes.get(path).is_some_and(|n| !n.inherit) && !path.is_empty() {
            return Vec::new();
        }
        let mut standing: BTreeMap<&Principal, (&str, Level)> = BTreeMap::new();
        for node in chain(path).filter(|n| *n != path) {
            let Some(rules) = self.nodes.get(node) else {
                continue;
            };
            if !rules.inherit && !node.is_empty() {
                standing.clear();
            }
            for (principal, level) in &rules.rules {
                standing.insert(principal, (node, *level));
            }
        }
        standing
            .into_iter()
            .map(|(p, (node, level))| (node.to_owned(), p.clone(), level))
            .collect()
    }

    /// The subject's level at `path`.
    pub fn level(&self, subject: &Subject, path: &str) -> Level {
        self.decide(subject, path).level
    }

    /// The scope of `path`: its nearest node (itself or above) with rules.
    pub fn scope_of<'a>(&self, path: &'a str) -> &'a str {
        chain(path).filter(|n| self.nodes.contains_key(*n)).last().unwrap_or("")
    }

    /// Every scope (node with rules), the root included.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        std::iter::once("").chain(self.nodes.keys().map(String::as_str).filter(|k| !k.is_empty()))
    }

    /// What the subject may see and do, decided once for every scope.
    pub fn permissions(&self, subject: &Subject) -> Permissions {
        let levels: BTreeMap<String, Level> = self.scopes().map(|s| (s.to_owned(), self.level(subject, s))).collect();
        Permissions::new(levels, subject.is_admin)
    }
}

mod permissions;
pub use permissions::{Permissions, Within};

#[cfg(test)]
mod tests;
