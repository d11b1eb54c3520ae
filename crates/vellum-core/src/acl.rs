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

use crate::{Actor, FolderPath, Role, UserId};

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

/// A subject's level at every scope: answers "may they do this at this
/// path?" without walking the rules, and gives list queries the scopes to
/// keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    levels: BTreeMap<String, Level>,
    is_admin: bool,
    /// The scopes the subject may read, sorted.
    readable: Vec<String>,
    /// Identifies the set of readable scopes: two subjects with the same
    /// fingerprint see the same lists (a cache key for shared views).
    fingerprint: u64,
}

impl Permissions {
    fn new(levels: BTreeMap<String, Level>, is_admin: bool) -> Permissions {
        use std::hash::{Hash, Hasher};
        let readable: Vec<String> = levels
            .iter()
            .filter(|(_, l)| is_admin || **l >= Level::Read)
            .map(|(s, _)| s.clone())
            .collect();
        let everything = readable.len() == levels.len();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        if everything {
            // Everyone who reads everything sees the same lists.
            0u8.hash(&mut h);
        } else {
            readable.hash(&mut h);
        }
        Permissions {
            levels,
            is_admin,
            readable,
            fingerprint: h.finish(),
        }
    }

    /// The same permissions with every level at most `max` (a credential
    /// limited to some scopes).
    pub fn capped(self, max: Level) -> Permissions {
        if max == Level::Manage {
            return self;
        }
        let admin = self.is_admin;
        let levels = self
            .levels
            .into_iter()
            .map(|(s, l)| (s, if admin { max } else { l.min(max) }))
            .collect();
        Permissions::new(levels, false)
    }

    /// The scopes the subject may read (sorted): list queries keep the
    /// pages whose scope is one of these.
    pub fn readable_scopes(&self) -> &[String] {
        &self.readable
    }

    /// Identifies what the subject can read; equal for subjects who see
    /// the same lists.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    pub fn is_admin(&self) -> bool {
        self.is_admin
    }

    /// The level at every scope (node with rules), by path.
    pub fn levels(&self) -> impl Iterator<Item = (&str, Level)> {
        self.levels
            .iter()
            .map(|(s, l)| (s.as_str(), if self.is_admin { Level::Manage } else { *l }))
    }

    /// The highest level the subject has anywhere.
    pub fn highest(&self) -> Level {
        if self.is_admin {
            return Level::Manage;
        }
        self.levels.values().copied().max().unwrap_or(Level::None)
    }

    /// Whether the subject may read anything at all.
    pub fn reads_anything(&self) -> bool {
        !self.readable.is_empty()
    }

    /// The level at `path`: the level of its scope.
    pub fn level(&self, path: &str) -> Level {
        if self.is_admin {
            return Level::Manage;
        }
        chain(path)
            .filter_map(|n| self.levels.get(n))
            .last()
            .copied()
            .unwrap_or(Level::None)
    }

    pub fn can(&self, needed: Level, path: &str) -> bool {
        self.level(path) >= needed
    }

    /// The scopes where the subject's level is at least `needed`: list
    /// queries keep pages whose scope is one of these.
    pub fn scopes_with(&self, needed: Level) -> Vec<&str> {
        self.levels
            .iter()
            .filter(|(_, l)| **l >= needed)
            .map(|(s, _)| s.as_str())
            .collect()
    }

    /// Whether the subject may read every page (no filter needed).
    pub fn reads_everything(&self) -> bool {
        self.readable.len() == self.levels.len()
    }

    /// The level within a folder at its most generous: whether the folder
    /// has anything the subject may read (for folder listings).
    pub fn may_read_within(&self, folder: &FolderPath) -> bool {
        if self.can(Level::Read, folder.as_str()) {
            return true;
        }
        let prefix = if folder.is_root() {
            String::new()
        } else {
            format!("{}/", folder.as_str())
        };
        self.levels
            .iter()
            .any(|(s, l)| *l >= Level::Read && s.starts_with(&prefix) && !s.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn user(id: i64, groups: &[i64], role: &str) -> Subject {
        Subject {
            user: Some(UserId(id)),
            groups: groups.iter().map(|g| GroupId(*g)).collect(),
            role: Some(Role::parse(role).unwrap()),
            is_admin: false,
            named_only: false,
        }
    }

    type NodeSpec<'a> = (&'a str, bool, Vec<(Principal, Level)>);

    fn rules(nodes: &[NodeSpec<'_>]) -> Rules {
        Rules {
            nodes: nodes
                .iter()
                .map(|(path, inherit, rules)| {
                    (
                        (*path).to_owned(),
                        NodeRules {
                            inherit: *inherit,
                            rules: rules.clone(),
                        },
                    )
                })
                .collect(),
        }
    }

    fn site() -> Rules {
        rules(&[
            (
                "",
                true,
                vec![
                    (Principal::Role(Role::Viewer), Level::Read),
                    (Principal::Role(Role::Editor), Level::Edit),
                ],
            ),
            // HR is closed: only its group reads and edits there.
            ("hr", false, vec![(Principal::Group(GroupId(7)), Level::Edit)]),
            // One HR page is open to every signed-in user.
            ("hr/holidays", true, vec![(Principal::Authenticated, Level::Read)]),
            // A rule for Bob alone: it does not take away what his role gives.
            ("eng/launch", true, vec![(Principal::User(UserId(2)), Level::Read)]),
            // `none` for a principal is not a deny.
            ("drafts", true, vec![(Principal::Authenticated, Level::None)]),
        ])
    }

    #[test]
    fn worked_examples_from_the_guide() {
        let r = site();
        let ann = user(1, &[], "viewer");
        let bob = user(2, &[], "editor");
        let hana = user(3, &[7], "viewer");
        assert_eq!(r.level(&ann, "eng/deploy"), Level::Read);
        assert_eq!(r.level(&bob, "eng/deploy"), Level::Edit);
        // A restricted sub-tree: roles from the root no longer apply.
        assert_eq!(r.level(&ann, "hr/salaries"), Level::None);
        assert_eq!(r.level(&bob, "hr/salaries"), Level::None);
        assert_eq!(r.level(&hana, "hr/salaries"), Level::Edit);
        // A page below it adds to what it inherits.
        assert_eq!(r.level(&ann, "hr/holidays"), Level::Read);
        assert_eq!(r.level(&hana, "hr/holidays/2027"), Level::Edit);
        assert_eq!(r.level(&Subject::anonymous(), "hr/holidays"), Level::None);
        // A rule for a user replaces that principal's level only: Bob's
        // editor role still gives him edit on the launch plan.
        assert_eq!(r.level(&bob, "eng/launch"), Level::Edit);
        assert_eq!(r.level(&ann, "drafts/x"), Level::Read);
        let admin = Subject {
            is_admin: true,
            ..Subject::anonymous()
        };
        assert_eq!(r.level(&admin, "hr/salaries"), Level::Manage);
    }

    #[test]
    fn a_limited_credential_caps_every_level() {
        let r = site();
        let bob = user(2, &[], "editor");
        let p = r.permissions(&bob).capped(Level::Read);
        assert_eq!(p.level("eng/deploy"), Level::Read);
        assert_eq!(p.level("hr/salaries"), Level::None);
        let admin = Subject {
            is_admin: true,
            ..Subject::anonymous()
        };
        let p = r.permissions(&admin).capped(Level::Read);
        assert_eq!(
            p.level("hr/salaries"),
            Level::Read,
            "an administrator's read token reads everything"
        );
        assert!(!p.is_admin() && p.reads_everything());
    }

    #[test]
    fn what_a_node_inherits() {
        let r = site();
        assert_eq!(
            r.inherited("eng/launch"),
            vec![
                ("".into(), Principal::Role(Role::Viewer), Level::Read),
                ("".into(), Principal::Role(Role::Editor), Level::Edit),
            ]
        );
        // HR stops inheriting: nothing comes from above it.
        assert_eq!(r.inherited("hr"), vec![]);
        assert_eq!(
            r.inherited("hr/holidays"),
            vec![("hr".into(), Principal::Group(GroupId(7)), Level::Edit)]
        );
    }

    #[test]
    fn principals_have_a_stored_form() {
        for p in [
            Principal::User(UserId(12)),
            Principal::Group(GroupId(3)),
            Principal::Role(Role::Editor),
            Principal::Role(Role::parse("qa").unwrap()),
            Principal::Authenticated,
            Principal::Anyone,
        ] {
            assert_eq!(p.to_string().parse::<Principal>(), Ok(p.clone()));
        }
        for bad in [
            "", "user:", "user:x", "group:-", "role:", "role:Bad", "everyone", "anyone:1",
        ] {
            assert!(bad.parse::<Principal>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_none_rule_takes_away_what_that_principal_had() {
        let r = rules(&[
            ("", true, vec![(Principal::Authenticated, Level::Read)]),
            ("drafts", true, vec![(Principal::Authenticated, Level::None)]),
        ]);
        let ann = user(1, &[], "viewer");
        assert_eq!(r.level(&ann, "notes"), Level::Read);
        assert_eq!(r.level(&ann, "drafts/x"), Level::None);
    }

    #[test]
    fn explanations_list_the_rules_that_decided_in_order() {
        let r = site();
        let hana = user(3, &[7], "viewer");
        let d = r.decide(&hana, "hr/holidays");
        assert_eq!(d.level, Level::Edit);
        assert_eq!(
            d.reasons,
            vec![
                Reason::StopsInheriting { node: "hr".into() },
                Reason::Rule {
                    node: "hr".into(),
                    principal: Principal::Group(GroupId(7)),
                    level: Level::Edit
                },
                Reason::Rule {
                    node: "hr/holidays".into(),
                    principal: Principal::Authenticated,
                    level: Level::Read
                },
            ]
        );
    }

    #[test]
    fn scopes_and_permissions_agree_with_decisions() {
        let r = site();
        assert_eq!(r.scope_of("hr/salaries/2026"), "hr");
        assert_eq!(r.scope_of("hr/holidays/x"), "hr/holidays");
        assert_eq!(r.scope_of("misc"), "");
        let ann = user(1, &[], "viewer");
        let p = r.permissions(&ann);
        assert_eq!(
            p.scopes_with(Level::Read),
            vec!["", "drafts", "eng/launch", "hr/holidays"]
        );
        assert!(!p.reads_everything());
        assert!(p.may_read_within(&FolderPath::parse("hr").unwrap()));
        assert!(!p.may_read_within(&FolderPath::parse("hr/salaries").unwrap()));
    }

    const PATHS: [&str; 8] = ["", "a", "a/b", "a/b/c", "a/d", "e", "e/f", "a/b/c/g"];

    fn arb_principal() -> impl Strategy<Value = Principal> {
        prop_oneof![
            (1i64..4).prop_map(|u| Principal::User(UserId(u))),
            (1i64..3).prop_map(|g| Principal::Group(GroupId(g))),
            prop::sample::select(vec![Role::Viewer, Role::Editor]).prop_map(Principal::Role),
            Just(Principal::Authenticated),
            Just(Principal::Anyone),
        ]
    }

    fn arb_rules() -> impl Strategy<Value = Rules> {
        prop::collection::btree_map(
            prop::sample::select(PATHS[..7].to_vec()).prop_map(str::to_owned),
            (
                any::<bool>(),
                prop::collection::vec((arb_principal(), prop::sample::select(Level::ALL.to_vec())), 0..4),
            )
                .prop_map(|(inherit, rules)| NodeRules { inherit, rules }),
            0..6,
        )
        .prop_map(|nodes| Rules { nodes })
    }

    fn arb_subject() -> impl Strategy<Value = Subject> {
        prop_oneof![
            Just(Subject::anonymous()),
            (
                1i64..4,
                prop::collection::btree_set(1i64..3, 0..3),
                prop::sample::select(vec![Role::Viewer, Role::Editor])
            )
                .prop_map(|(u, g, r)| Subject {
                    user: Some(UserId(u)),
                    groups: g.into_iter().map(GroupId).collect(),
                    role: Some(r),
                    is_admin: false,
                    named_only: false,
                }),
        ]
    }

    /// The rules with one node narrowed: a rule's level lowered, or the
    /// node set to stop inheriting.
    fn narrow(rules: &Rules, node: &str, which: usize, stop: bool) -> Rules {
        let mut out = rules.clone();
        let n = out.nodes.entry(node.to_owned()).or_default();
        if stop {
            n.inherit = false;
        } else {
            let len = n.rules.len().max(1);
            if let Some((_, level)) = n.rules.get_mut(which % len) {
                *level = Level::ALL[(*level as usize).saturating_sub(1)];
            }
        }
        out
    }

    proptest! {
        #[test]
        fn narrowing_a_node_never_widens_anything(
            rules in arb_rules(),
            subject in arb_subject(),
            node in prop::sample::select(PATHS[1..7].to_vec()),
            which in 0usize..4,
            stop in any::<bool>(),
        ) {
            let narrowed = narrow(&rules, node, which, stop);
            for path in PATHS {
                prop_assert!(
                    narrowed.level(&subject, path) <= rules.level(&subject, path),
                    "{path} widened after narrowing {node}"
                );
            }
        }

        #[test]
        fn a_path_has_the_level_of_its_scope(rules in arb_rules(), subject in arb_subject()) {
            let perms = rules.permissions(&subject);
            for path in PATHS {
                let level = rules.level(&subject, path);
                prop_assert_eq!(level, rules.level(&subject, rules.scope_of(path)));
                prop_assert_eq!(level, perms.level(path));
                let readable = perms.scopes_with(Level::Read).contains(&rules.scope_of(path));
                prop_assert_eq!(readable, level >= Level::Read);
            }
        }

        #[test]
        fn rules_below_a_path_do_not_change_it(rules in arb_rules(), subject in arb_subject()) {
            // Dropping every rule strictly below `a` leaves `a` and the
            // paths outside it as they were.
            let mut above = rules.clone();
            above.nodes.retain(|k, _| !k.starts_with("a/"));
            for path in ["", "a", "e", "e/f"] {
                prop_assert_eq!(above.level(&subject, path), rules.level(&subject, path));
            }
        }
    }
}
