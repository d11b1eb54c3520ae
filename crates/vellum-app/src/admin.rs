//! Managing access: the rules on folders and pages, groups and their
//! members, custom roles, the explanation of one user's level at a path,
//! and the access report of what a user or group can see.
//!
//! Administrators manage everything; whoever has `manage` on a folder or
//! page manages the rules there and below (not the root). Rules name users
//! and groups by id, so renaming keeps them; the API and the pages name
//! them as `user:NAME` and `group:NAME`.

use std::collections::BTreeMap;

use vellum_core::acl::{GroupId, Level, NodeRules, Principal, Reason, Rules, Subject};
use vellum_core::{Actor, Event, FolderPath, Role, UserId};
use vellum_store::{access, pages, users, Constraint, Handle};

use crate::model::{PageRequest, Paged};
use crate::{validate, App, AppError, AppResult, Code};

/// The most rules one folder or page can carry.
pub const MAX_RULES_PER_NODE: usize = 200;
const MAX_GROUP_NAME_CHARS: usize = 64;

/// One rule as people read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleView {
    /// `user:ann`, `group:eng`, `role:editor`, `authenticated`, `anyone`.
    pub principal: String,
    pub level: Level,
}

/// A rule that reaches a node from above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InheritedRule {
    /// The folder or page it is set on (`""`: the whole wiki).
    pub from: String,
    pub rule: RuleView,
}

/// The access settings of one folder or page.
#[derive(Debug, Clone)]
pub struct AccessView {
    pub path: FolderPath,
    pub inherit: bool,
    /// The rules set here.
    pub rules: Vec<RuleView>,
    /// What applies here from above (empty when it does not inherit).
    pub inherited: Vec<InheritedRule>,
}

/// One step of an explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExplainStep {
    Rule { node: String, rule: RuleView },
    StopsInheriting { node: String },
    Administrator,
}

/// A user's level at a path, and the rules that decided it, in order.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub user: String,
    pub path: FolderPath,
    pub level: Level,
    pub steps: Vec<ExplainStep>,
}

/// One line of an access report: a scope (a folder or page with rules,
/// and what lies below it up to the next such) and the level there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub scope: String,
    pub level: Level,
    /// Live pages in the scope.
    pub pages: i64,
}

/// What a user or group can read, edit or manage.
#[derive(Debug, Clone)]
pub struct AccessReport {
    /// `user:ann` or `group:eng`.
    pub subject: String,
    pub rows: Vec<ReportRow>,
}

/// A group with its members.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub id: GroupId,
    pub name: String,
    pub members: Vec<String>,
    pub member_count: i64,
    pub created_at: vellum_core::Timestamp,
}

/// The site-wide settings.
#[derive(Debug, Clone, Copy)]
pub struct SiteSettings {
    /// The root grants `anyone: read`.
    pub anonymous_read: bool,
    /// Every account with a password must set up two-factor sign-in.
    pub require_totp: bool,
    /// Audit entries older than this many days are removed.
    pub audit_retention_days: i64,
    /// Pages in the trash longer than this many days are removed for good
    /// (0: kept until removed by hand).
    pub trash_retention_days: i64,
}

/// Settings to change (`None`: unchanged).
#[derive(Debug, Clone, Copy, Default)]
pub struct SettingsChange {
    pub anonymous_read: Option<bool>,
    pub require_totp: Option<bool>,
    pub audit_retention_days: Option<i64>,
    pub trash_retention_days: Option<i64>,
}

pub(crate) fn role_not_found(role: &Role) -> AppError {
    AppError::invalid(
        Code::RoleNotFound,
        "role",
        format!(
            "There is no role “{role}”. Use viewer, commenter, editor, admin, or a custom role an administrator \
             has made."
        ),
    )
}

fn group_not_found(name: &str) -> AppError {
    AppError::new(Code::GroupNotFound, format!("There is no group “{name}”."))
}

fn user_not_found(name: &str) -> AppError {
    AppError::new(Code::UserNotFound, format!("There is no user “{name}”."))
}

fn invalid_principal(spec: &str, why: &str) -> AppError {
    AppError::invalid(
        Code::InvalidPrincipal,
        "principal",
        format!("A rule cannot name “{spec}”: {why} Name user:NAME, group:NAME, role:NAME, authenticated or anyone."),
    )
}

fn group_name(raw: &str) -> AppResult<String> {
    let name = validate::single_line(raw, "name")?.trim();
    let ok = name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'));
    if name.is_empty() || name.chars().count() > MAX_GROUP_NAME_CHARS || !ok {
        return Err(AppError::invalid(
            Code::InvalidGroupName,
            "name",
            format!(
                "A group name has 1 to {MAX_GROUP_NAME_CHARS} characters: letters, digits, spaces, “-”, “_” or “.”."
            ),
        ));
    }
    Ok(name.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Parses a folder or page path naming a node (`""` is the whole wiki).
fn node_path(raw: &str) -> AppResult<FolderPath> {
    Ok(FolderPath::parse(validate::single_line(raw, "path")?)?)
}

impl App {
    /// Names principals for people: user and group ids become names.
    async fn label_rules(&self, h: &mut impl Handle, rules: &[(Principal, Level)]) -> AppResult<Vec<RuleView>> {
        let names = self.principal_names(h, rules.iter().map(|(p, _)| p)).await?;
        Ok(rules
            .iter()
            .map(|(p, l)| RuleView {
                principal: names.get(p).cloned().unwrap_or_else(|| p.to_string()),
                level: *l,
            })
            .collect())
    }

    async fn principal_names<'a>(
        &self,
        h: &mut impl Handle,
        principals: impl Iterator<Item = &'a Principal>,
    ) -> AppResult<BTreeMap<Principal, String>> {
        let mut user_ids = Vec::new();
        let mut group_ids = Vec::new();
        let mut out = BTreeMap::new();
        for p in principals {
            match p {
                Principal::User(u) => user_ids.push(*u),
                Principal::Group(g) => group_ids.push(*g),
                other => {
                    out.insert(other.clone(), other.to_string());
                }
            }
        }
        for (id, name) in users::names_by_ids(h, &user_ids).await? {
            out.insert(Principal::User(id), format!("user:{name}"));
        }
        for (id, name) in access::group_names(h, &group_ids).await? {
            out.insert(Principal::Group(id), format!("group:{name}"));
        }
        Ok(out)
    }

    /// `user:ann` → the user's id, and so on.
    async fn resolve_principal(&self, h: &mut impl Handle, spec: &str) -> AppResult<Principal> {
        let spec = validate::single_line(spec, "principal")?.trim();
        match spec.split_once(':') {
            Some(("user", name)) => {
                let user = users::by_username_key(h, &name.trim().to_lowercase())
                    .await?
                    .ok_or_else(|| invalid_principal(spec, "there is no such user."))?;
                Ok(Principal::User(user.id))
            }
            Some(("group", name)) => {
                let group = access::group_by_name(h, name.trim())
                    .await?
                    .ok_or_else(|| invalid_principal(spec, "there is no such group."))?;
                Ok(Principal::Group(group.id))
            }
            Some(("role", name)) => {
                let role = Role::parse(name.trim()).map_err(|_| invalid_principal(spec, "there is no such role."))?;
                if role == Role::Admin {
                    return Err(invalid_principal(
                        spec,
                        "administrators manage everything already, so no rule names them.",
                    ));
                }
                if !access::role_exists(h, &role).await? {
                    return Err(invalid_principal(spec, "there is no such role."));
                }
                Ok(Principal::Role(role))
            }
            None if spec == "authenticated" => Ok(Principal::Authenticated),
            None if spec == "anyone" => Ok(Principal::Anyone),
            _ => Err(invalid_principal(spec, "it names no kind of principal.")),
        }
    }

    async fn user_named(&self, h: &mut impl Handle, name: &str) -> AppResult<vellum_store::users::UserRecord> {
        let name = validate::single_line(name, "user")?.trim();
        users::by_username_key(h, &name.to_lowercase())
            .await?
            .ok_or_else(|| user_not_found(name))
    }

    // -----------------------------------------------------------------------
    // Rules.

    /// The rules set on a folder or page, and what it inherits.
    pub async fn access(&self, actor: &Actor, raw_path: &str) -> AppResult<AccessView> {
        let path = node_path(raw_path)?;
        let perms = self.permissions(actor).await?;
        self.need_manage(actor, &perms, path.as_str())?;
        let rules = self.rules().await?;
        self.access_view(&rules, path).await
    }

    async fn access_view(&self, rules: &Rules, path: FolderPath) -> AppResult<AccessView> {
        let own = rules.nodes.get(path.as_str()).cloned().unwrap_or_default();
        let inherited = rules.inherited(path.as_str());
        let mut conn = self.0.store.read().await?;
        let labelled = self.label_rules(&mut conn, &own.rules).await?;
        let above: Vec<(Principal, Level)> = inherited.iter().map(|(_, p, l)| (p.clone(), *l)).collect();
        let above_labels = self.label_rules(&mut conn, &above).await?;
        Ok(AccessView {
            inherit: own.inherit,
            rules: labelled,
            inherited: inherited
                .into_iter()
                .zip(above_labels)
                .map(|((from, _, _), rule)| InheritedRule { from, rule })
                .collect(),
            path,
        })
    }

    /// Replaces the rules set on a folder or page.
    pub async fn set_access(
        &self,
        actor: &Actor,
        raw_path: &str,
        inherit: bool,
        rules: &[(String, Level)],
    ) -> AppResult<AccessView> {
        let path = node_path(raw_path)?;
        let perms = self.permissions(actor).await?;
        self.need_manage(actor, &perms, path.as_str())?;
        if path.is_root() && !inherit {
            return Err(AppError::invalid(
                Code::InvalidRules,
                "inherit",
                "The whole wiki has nothing above it to inherit from; only folders and pages can stop inheriting.",
            ));
        }
        if rules.len() > MAX_RULES_PER_NODE {
            return Err(AppError::invalid(
                Code::InvalidRules,
                "rules",
                format!("A folder or page carries at most {MAX_RULES_PER_NODE} rules; use groups to name many people at once."),
            ));
        }
        let mut uow = self.begin(actor.user_id()).await?;
        access::lock_rules(&mut uow).await?;
        let mut resolved: Vec<(Principal, Level)> = Vec::with_capacity(rules.len());
        for (spec, level) in rules {
            let p = self.resolve_principal(&mut uow, spec).await?;
            if resolved.iter().any(|(q, _)| *q == p) {
                return Err(AppError::invalid(
                    Code::InvalidRules,
                    "rules",
                    format!("The rules name “{}” twice; give each principal one level.", spec.trim()),
                ));
            }
            resolved.push((p, *level));
        }
        resolved.sort();
        let before = access::node(&mut uow, path.as_str()).await?;
        let after = NodeRules {
            inherit,
            rules: resolved,
        };
        let kept = path.is_root() || !after.inherit || !after.rules.is_empty();
        let now = uow.now();
        access::set_node(&mut uow, path.as_str(), Some(&after), now).await?;
        if before.as_ref() != Some(&after) {
            uow.record(Event::AccessChanged {
                path: path.as_str().to_owned(),
                before,
                after: kept.then_some(after),
            })
            .await?;
        }
        uow.commit().await?;
        let rules = self.rules().await?;
        self.access_view(&rules, path).await
    }

    /// Why `user` has the level they have at a path.
    pub async fn explain(&self, actor: &Actor, raw_path: &str, username: &str) -> AppResult<Explanation> {
        let path = node_path(raw_path)?;
        let perms = self.permissions(actor).await?;
        if !actor.is_admin() {
            self.need_manage(actor, &perms, path.as_str())?;
        }
        let mut conn = self.0.store.read().await?;
        let user = self.user_named(&mut conn, username).await?;
        let groups = access::groups_of(&mut conn, user.id).await?;
        drop(conn);
        let subject_actor = Actor::User {
            id: user.id,
            name: user.username.clone(),
            role: user.role.clone(),
            scopes: vellum_core::Scopes::ALL,
        };
        let rules = self.rules().await?;
        let decision = if user.disabled_at.is_some() {
            vellum_core::acl::Decision {
                level: Level::None,
                reasons: Vec::new(),
            }
        } else {
            rules.decide(&Subject::of(&subject_actor, groups), path.as_str())
        };
        let mut conn = self.0.store.read().await?;
        let named = self
            .principal_names(
                &mut conn,
                decision.reasons.iter().filter_map(|r| match r {
                    Reason::Rule { principal, .. } => Some(principal),
                    _ => None,
                }),
            )
            .await?;
        let steps = decision
            .reasons
            .into_iter()
            .map(|r| match r {
                Reason::Rule { node, principal, level } => ExplainStep::Rule {
                    node,
                    rule: RuleView {
                        principal: named.get(&principal).cloned().unwrap_or_else(|| principal.to_string()),
                        level,
                    },
                },
                Reason::StopsInheriting { node } => ExplainStep::StopsInheriting { node },
                Reason::Administrator => ExplainStep::Administrator,
            })
            .collect();
        Ok(Explanation {
            user: user.username,
            path,
            level: decision.level,
            steps,
        })
    }

    /// The subject of a report: `user:NAME` or `group:NAME`.
    async fn report_subject(&self, h: &mut impl Handle, spec: &str) -> AppResult<(String, Subject)> {
        match self.resolve_principal(h, spec).await? {
            Principal::User(id) => {
                let user = users::by_id(h, id).await?.ok_or_else(|| user_not_found(spec))?;
                let groups = access::groups_of(h, id).await?;
                let a = Actor::User {
                    id,
                    name: user.username.clone(),
                    role: user.role.clone(),
                    scopes: vellum_core::Scopes::ALL,
                };
                let mut s = Subject::of(&a, groups);
                if user.disabled_at.is_some() {
                    // A disabled account reads nothing.
                    s = Subject {
                        named_only: true,
                        groups: Default::default(),
                        role: None,
                        user: None,
                        is_admin: false,
                    };
                }
                Ok((format!("user:{}", user.username), s))
            }
            Principal::Group(g) => {
                let name = access::group_names(h, &[g]).await?.remove(&g).unwrap_or_default();
                Ok((format!("group:{name}"), Subject::group(g)))
            }
            _ => Err(AppError::invalid(
                Code::InvalidPrincipal,
                "subject",
                "An access report is for one user (user:NAME) or one group (group:NAME).",
            )),
        }
    }

    /// What a user or group can read, edit or manage, scope by scope
    /// (administrators).
    pub async fn access_report(&self, actor: &Actor, subject: &str) -> AppResult<AccessReport> {
        self.need_admin(actor)?;
        let mut conn = self.0.store.read().await?;
        let (name, subject) = self.report_subject(&mut conn, subject).await?;
        let counts = pages::count_by_scope(&mut conn).await?;
        drop(conn);
        let rules = self.rules().await?;
        let perms = rules.permissions(&subject);
        let rows = perms
            .levels()
            .map(|(scope, level)| ReportRow {
                scope: scope.to_owned(),
                level,
                pages: counts.get(scope).copied().unwrap_or(0),
            })
            .collect();
        Ok(AccessReport { subject: name, rows })
    }

    /// Every live page with the subject's level there, by path, a page at
    /// a time (for the report's CSV export; administrators).
    pub async fn access_report_pages(
        &self,
        actor: &Actor,
        subject: &str,
        req: &PageRequest,
    ) -> AppResult<Paged<(vellum_core::PagePath, String, Level)>> {
        self.need_admin(actor)?;
        let mut conn = self.0.store.read().await?;
        let (_, subject) = self.report_subject(&mut conn, subject).await?;
        let rows = pages::list(&mut conn, vellum_store::Visible::All, req.text_cursor()?, req.fetch()?).await?;
        drop(conn);
        let rules = self.rules().await?;
        let perms = rules.permissions(&subject);
        let items = rows
            .into_iter()
            .map(|p| {
                let level = perms.level(p.path.as_str());
                (p.path, p.title.as_str().to_owned(), level)
            })
            .collect();
        Ok(Paged::from_rows(
            items,
            req.limit()?,
            |(p, _, _): &(vellum_core::PagePath, String, Level)| p.to_string(),
        ))
    }

    // -----------------------------------------------------------------------
    // Site settings.

    pub async fn site_settings(&self, actor: &Actor) -> AppResult<SiteSettings> {
        self.need_admin(actor)?;
        let rules = self.rules().await?;
        let mut conn = self.0.store.read().await?;
        Ok(SiteSettings {
            anonymous_read: anonymous_read(&rules),
            require_totp: self.require_totp(&mut conn).await?,
            audit_retention_days: self.audit_retention_days(&mut conn).await?,
            trash_retention_days: self.trash_retention_days(&mut conn).await?,
        })
    }

    /// Changes site settings (administrators). Anonymous reading is the
    /// root's `anyone` rule.
    pub async fn update_settings(&self, actor: &Actor, ch: SettingsChange) -> AppResult<SiteSettings> {
        self.need_admin(actor)?;
        if let Some(days) = ch.audit_retention_days {
            if !(1..=36_500).contains(&days) {
                return Err(AppError::invalid(
                    Code::InvalidSetting,
                    "audit_retention_days",
                    "Keep audit entries for 1 to 36,500 days.",
                ));
            }
        }
        if let Some(days) = ch.trash_retention_days {
            if !(0..=36_500).contains(&days) {
                return Err(AppError::invalid(
                    Code::InvalidSetting,
                    "trash_retention_days",
                    "Keep trashed pages for 1 to 36,500 days, or 0 to keep them until someone removes them.",
                ));
            }
        }
        let mut uow = self.begin(actor.user_id()).await?;
        if let Some(allowed) = ch.anonymous_read {
            access::lock_rules(&mut uow).await?;
            let before = access::node(&mut uow, "").await?.unwrap_or_default();
            let mut after = before.clone();
            after.rules.retain(|(p, _)| *p != Principal::Anyone);
            if allowed {
                after.rules.push((Principal::Anyone, Level::Read));
                after.rules.sort();
            }
            if after != before {
                let now = uow.now();
                access::set_node(&mut uow, "", Some(&after), now).await?;
                uow.record(Event::AccessChanged {
                    path: String::new(),
                    before: Some(before),
                    after: Some(after),
                })
                .await?;
            }
        }
        for (key, value) in [
            (crate::auth::REQUIRE_TOTP_KEY, ch.require_totp.map(|b| b.to_string())),
            (
                crate::audit::RETENTION_KEY,
                ch.audit_retention_days.map(|d| d.to_string()),
            ),
            (
                crate::upkeep::TRASH_RETENTION_KEY,
                ch.trash_retention_days.map(|d| d.to_string()),
            ),
        ] {
            let Some(value) = value else { continue };
            if vellum_store::settings::get(&mut uow, key).await?.as_deref() != Some(value.as_str()) {
                vellum_store::settings::set(&mut uow, key, &value).await?;
                uow.record(Event::SettingsChanged {
                    key: key.to_owned(),
                    value,
                })
                .await?;
            }
        }
        uow.commit().await?;
        self.site_settings(actor).await
    }

    /// Whether anonymous visitors may read: the root's `anyone` rule.
    pub async fn set_anonymous_read(&self, actor: &Actor, allowed: bool) -> AppResult<SiteSettings> {
        self.update_settings(
            actor,
            SettingsChange {
                anonymous_read: Some(allowed),
                ..SettingsChange::default()
            },
        )
        .await
    }

    // -----------------------------------------------------------------------
    // Groups.

    pub async fn create_group(&self, actor: &Actor, raw_name: &str) -> AppResult<GroupView> {
        self.need_admin(actor)?;
        let name = group_name(raw_name)?;
        let mut uow = self.begin(actor.user_id()).await?;
        let now = uow.now();
        let id = access::insert_group(&mut uow, &name, now)
            .await
            .map_err(|e| match e.unique() {
                Some(Constraint::GroupName) => AppError::invalid(
                    Code::GroupTaken,
                    "name",
                    format!("There is a group called “{name}” already. Choose another name."),
                ),
                _ => e.into(),
            })?;
        uow.record(Event::GroupCreated {
            group: id,
            name: name.clone(),
        })
        .await?;
        uow.commit().await?;
        Ok(GroupView {
            id,
            name,
            members: Vec::new(),
            member_count: 0,
            created_at: now,
        })
    }

    pub async fn groups(&self, actor: &Actor, req: &PageRequest) -> AppResult<Paged<GroupView>> {
        self.need_admin(actor)?;
        let mut conn = self.0.store.read().await?;
        let rows = access::groups(&mut conn, req.text_cursor()?, req.fetch()?).await?;
        let items = rows
            .into_iter()
            .map(|g| GroupView {
                id: g.id,
                name: g.name,
                members: Vec::new(),
                member_count: g.members,
                created_at: g.created_at,
            })
            .collect();
        Ok(Paged::from_rows(items, req.limit()?, |g: &GroupView| {
            access::group_key(&g.name)
        }))
    }

    pub async fn group(&self, actor: &Actor, name: &str) -> AppResult<GroupView> {
        self.need_admin(actor)?;
        let name = validate::single_line(name, "group")?;
        let mut conn = self.0.store.read().await?;
        let g = access::group_by_name(&mut conn, name)
            .await?
            .ok_or_else(|| group_not_found(name))?;
        let members = access::members(&mut conn, g.id).await?;
        Ok(GroupView {
            id: g.id,
            name: g.name,
            members,
            member_count: g.members,
            created_at: g.created_at,
        })
    }

    /// Deletes a group; its members lose what it gave them, and every rule
    /// naming it goes.
    pub async fn delete_group(&self, actor: &Actor, name: &str) -> AppResult<()> {
        self.need_admin(actor)?;
        let name = validate::single_line(name, "group")?;
        let mut uow = self.begin(actor.user_id()).await?;
        access::lock_rules(&mut uow).await?;
        let g = access::group_by_name(&mut uow, name)
            .await?
            .ok_or_else(|| group_not_found(name))?;
        let nodes = access::nodes_naming(&mut uow, &Principal::Group(g.id)).await?;
        access::delete_group(&mut uow, g.id).await?;
        // Nodes left with no rule of their own and inheriting go away.
        let now = uow.now();
        for node in nodes {
            if let Some(n) = access::node(&mut uow, &node).await? {
                access::set_node(&mut uow, &node, Some(&n), now).await?;
            }
        }
        uow.record(Event::GroupDeleted {
            group: g.id,
            name: g.name,
        })
        .await?;
        uow.commit().await
    }

    /// Adds a user to a group; true when they were not in it.
    pub async fn add_member(&self, actor: &Actor, group: &str, username: &str) -> AppResult<bool> {
        self.change_member(actor, group, username, true).await
    }

    /// Takes a user out of a group; true when they were in it.
    pub async fn remove_member(&self, actor: &Actor, group: &str, username: &str) -> AppResult<bool> {
        self.change_member(actor, group, username, false).await
    }

    async fn change_member(&self, actor: &Actor, group: &str, username: &str, add: bool) -> AppResult<bool> {
        self.need_admin(actor)?;
        let group = validate::single_line(group, "group")?;
        let mut uow = self.begin(actor.user_id()).await?;
        let g = access::group_by_name(&mut uow, group)
            .await?
            .ok_or_else(|| group_not_found(group))?;
        let user = self.user_named(&mut uow, username).await?;
        let changed = if add {
            access::add_member(&mut uow, g.id, user.id).await?
        } else {
            access::remove_member(&mut uow, g.id, user.id).await?
        };
        if changed {
            let (group, name, user, username) = (g.id, g.name, user.id, user.username);
            uow.record(if add {
                Event::GroupMemberAdded {
                    group,
                    name,
                    user,
                    username,
                }
            } else {
                Event::GroupMemberRemoved {
                    group,
                    name,
                    user,
                    username,
                }
            })
            .await?;
        }
        uow.commit().await?;
        Ok(changed)
    }

    /// The groups a user is in, by name.
    pub async fn groups_of_user(&self, actor: &Actor, user: UserId) -> AppResult<Vec<String>> {
        if actor.user_id() != Some(user) {
            self.need_admin(actor)?;
        }
        let mut conn = self.0.store.read().await?;
        Ok(access::group_names_of(&mut conn, user).await?)
    }

    // -----------------------------------------------------------------------
    // Roles.

    pub async fn roles(&self, actor: &Actor) -> AppResult<Vec<access::RoleRecord>> {
        self.need_admin(actor)?;
        let mut conn = self.0.store.read().await?;
        Ok(access::roles(&mut conn).await?)
    }

    /// Adds a custom role. It grants nothing until a rule names it (give it
    /// a site-wide level with a rule on the whole wiki).
    pub async fn create_role(&self, actor: &Actor, raw_name: &str) -> AppResult<Role> {
        self.need_admin(actor)?;
        let name = validate::single_line(raw_name, "name")?.trim();
        let role = Role::parse(name)
            .map_err(|e| AppError::invalid(Code::InvalidRole, "name", crate::sentence(&e.to_string())))?;
        let mut uow = self.begin(actor.user_id()).await?;
        let now = uow.now();
        if role.is_builtin() || !access::insert_role(&mut uow, &role, now).await? {
            return Err(AppError::invalid(
                Code::RoleTaken,
                "name",
                format!("There is a role called “{role}” already. Choose another name."),
            ));
        }
        uow.record(Event::RoleCreated { role: role.clone() }).await?;
        uow.commit().await?;
        Ok(role)
    }

    /// Deletes a custom role nobody has; rules naming it go with it.
    pub async fn delete_role(&self, actor: &Actor, raw_name: &str) -> AppResult<()> {
        self.need_admin(actor)?;
        let name = validate::single_line(raw_name, "role")?.trim();
        let role =
            Role::parse(name).map_err(|_| AppError::new(Code::RoleNotFound, format!("There is no role “{name}”.")))?;
        if role.is_builtin() {
            return Err(AppError::new(
                Code::RoleInUse,
                format!("The role “{role}” is built in and stays. Change what it may do with rules instead."),
            ));
        }
        let mut uow = self.begin(actor.user_id()).await?;
        access::lock_rules(&mut uow).await?;
        if !access::role_exists(&mut uow, &role).await? {
            return Err(role_not_found(&role));
        }
        let holders = users::count_with_role(&mut uow, &role).await?;
        if holders > 0 {
            return Err(AppError::new(
                Code::RoleInUse,
                format!(
                    "The role “{role}” is given to {holders} account{}. Give {} another role first.",
                    if holders == 1 { "" } else { "s" },
                    if holders == 1 { "it" } else { "them" }
                ),
            ));
        }
        let nodes = access::nodes_naming(&mut uow, &Principal::Role(role.clone())).await?;
        access::delete_role(&mut uow, &role).await?;
        let now = uow.now();
        for node in nodes {
            if let Some(n) = access::node(&mut uow, &node).await? {
                access::set_node(&mut uow, &node, Some(&n), now).await?;
            }
        }
        uow.record(Event::RoleDeleted { role }).await?;
        uow.commit().await
    }
}

/// Whether the root lets anyone read.
fn anonymous_read(rules: &Rules) -> bool {
    rules.nodes.get("").is_some_and(|n| {
        n.rules
            .iter()
            .any(|(p, l)| *p == Principal::Anyone && *l >= Level::Read)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names() {
        assert_eq!(group_name("  Site  Reliability ").unwrap(), "Site Reliability");
        assert_eq!(group_name("eng-2.0_x").unwrap(), "eng-2.0_x");
        assert!(group_name("").is_err());
        assert!(group_name("a:b").is_err());
        assert!(group_name("a/b").is_err());
        assert!(group_name(&"x".repeat(65)).is_err());
        assert!(group_name("a\u{0}b").is_err());
    }
}
