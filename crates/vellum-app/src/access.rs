//! Authorization: every use case asks here, with one [`Permissions`] value
//! per request, what the actor may do at a path, and hands list queries
//! the [`Visible`] filter the same value produces. No use case decides
//! access itself, and none filters rows after the fact.
//!
//! **What a caller who may not read learns.** Whether someone may read a
//! path depends only on the path and the rules, never on what is stored
//! there, and every check is made before anything is looked up. So a
//! signed-in reader gets "there is no page here you can read" for a
//! restricted path whether or not a page lives there, and an anonymous
//! visitor gets "sign in" for both.
//!
//! **Caching.** The rules are read whole and kept; each user's
//! [`Permissions`] are kept by user. Any change to rules, groups, roles or
//! an account bumps one generation number (on this node at commit, on the
//! others when the change feed delivers the event); a cached value from an
//! older generation is never used, and one computed while the generation
//! moved is not stored. A revocation takes effect on the next request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use vellum_core::acl::{Level, Permissions, Rules, Subject};
use vellum_core::{Actor, FolderPath, PagePath, Scopes, UserId};
use vellum_store::{access, Visible};

use crate::model::{Capabilities, SiteCapabilities};
use crate::ports::{Cache, MemoryCache};
use crate::{App, AppError, AppResult, Code};

pub(crate) struct AccessCache {
    generation: AtomicU64,
    rules: RwLock<Option<(u64, Arc<Rules>)>>,
    perms: MemoryCache<(Option<UserId>, Scopes), (u64, Arc<Permissions>)>,
}

impl AccessCache {
    pub(crate) fn new() -> AccessCache {
        AccessCache {
            generation: AtomicU64::new(0),
            rules: RwLock::new(None),
            perms: MemoryCache::new(100_000, Some(std::time::Duration::from_secs(600))),
        }
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Makes every cached rule set and permission value stale.
    pub(crate) fn forget(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut r) = self.rules.write() {
            *r = None;
        }
        self.perms.invalidate_all();
    }
}

/// The list filter for a reader.
pub(crate) fn visible(p: &Permissions) -> Visible<'_> {
    visible_among(p, p.readable_scopes())
}

/// The list filter for a reader, by the readable scopes a list can hold
/// (from [`Permissions::readable_within`] for lists of one folder: a
/// handful of scopes to test instead of every one the reader may read).
pub(crate) fn visible_among<'a>(p: &Permissions, scopes: &'a [String]) -> Visible<'a> {
    if p.reads_everything() {
        Visible::All
    } else {
        Visible::Scopes(scopes)
    }
}

/// The signed-in user behind `actor`, or the answer that asks to sign in.
pub(crate) fn signed_in(actor: &Actor) -> AppResult<vellum_core::UserId> {
    actor.user_id().ok_or_else(sign_in)
}

/// The answer for a path the actor may not read: the same whether or not
/// anything lives there.
pub(crate) fn cannot_read_page(actor: &Actor, path: &PagePath) -> AppError {
    match actor {
        Actor::Anonymous => sign_in(),
        Actor::User { .. } => AppError::new(
            Code::PageNotFound,
            format!(
                "There is no page at “{path}” that you can read. If someone sent you this address, ask them or \
                 an administrator for access."
            ),
        )
        .with_details(serde_json::json!({ "path": path.as_str() })),
    }
}

pub(crate) fn cannot_read_folder(actor: &Actor, folder: &FolderPath) -> AppError {
    match actor {
        Actor::Anonymous => sign_in(),
        Actor::User { .. } => AppError::new(
            Code::FolderNotFound,
            format!("There is no folder “{folder}” with pages you can read. Check the address."),
        ),
    }
}

pub(crate) fn sign_in() -> AppError {
    AppError::new(Code::Unauthenticated, "Sign in to see or do this.")
}

pub(crate) fn forbidden(message: String) -> AppError {
    AppError::new(Code::Forbidden, message)
}

impl App {
    /// Every access rule of the wiki (cached).
    pub(crate) async fn rules(&self) -> AppResult<Arc<Rules>> {
        let cache = &self.0.access;
        let gen = cache.generation();
        if let Some((g, r)) = cache.rules.read().ok().and_then(|g| g.clone()) {
            if g == gen {
                return Ok(r);
            }
        }
        let mut conn = self.0.store.read().await?;
        let rules = Arc::new(access::load_rules(&mut conn).await?);
        if cache.generation() == gen {
            if let Ok(mut slot) = cache.rules.write() {
                *slot = Some((gen, rules.clone()));
            }
        }
        Ok(rules)
    }

    /// What `actor` may do where (cached per user).
    pub async fn permissions(&self, actor: &Actor) -> AppResult<Arc<Permissions>> {
        let cache = &self.0.access;
        let gen = cache.generation();
        let key = (actor.user_id(), actor.scopes());
        if let Some((g, p)) = cache.perms.get(&key) {
            if g == gen {
                return Ok(p);
            }
        }
        let rules = self.rules().await?;
        let groups = match key.0 {
            Some(user) => {
                let mut conn = self.0.store.read().await?;
                access::groups_of(&mut conn, user).await?
            }
            None => Default::default(),
        };
        let perms = Arc::new(
            rules
                .permissions(&Subject::of(actor, groups))
                .capped(actor.scopes().cap()),
        );
        if cache.generation() == gen {
            cache.perms.insert(key, (gen, perms.clone()));
        }
        Ok(perms)
    }

    pub(crate) fn forget_access(&self) {
        self.0.access.forget();
    }

    /// The actor may read the page at `path`, or the same error whether or
    /// not it exists.
    pub(crate) fn need_read(&self, actor: &Actor, p: &Permissions, path: &PagePath) -> AppResult<()> {
        if p.can(Level::Read, path.as_str()) {
            Ok(())
        } else {
            Err(cannot_read_page(actor, path))
        }
    }

    /// The actor may read something in `folder` (a folder's listing shows
    /// only what they may read).
    pub(crate) fn need_read_within(&self, actor: &Actor, p: &Permissions, folder: &FolderPath) -> AppResult<()> {
        if p.may_read_within(folder) {
            Ok(())
        } else {
            Err(cannot_read_folder(actor, folder))
        }
    }

    /// The actor may edit at `path` (create, edit, move, delete, restore).
    pub(crate) fn need_edit(&self, actor: &Actor, p: &Permissions, path: &PagePath) -> AppResult<()> {
        self.need_level(actor, p, Level::Edit, path)
    }

    /// The actor may put a page at `path` (a move's or restore's target).
    pub(crate) fn need_edit_target(&self, actor: &Actor, p: &Permissions, path: &PagePath) -> AppResult<()> {
        if p.can(Level::Edit, path.as_str()) {
            return Ok(());
        }
        Err(match actor {
            Actor::Anonymous => sign_in(),
            Actor::User { .. } => AppError::invalid(
                Code::Forbidden,
                "to",
                format!("You may not put pages at “{path}”. Choose a place where you may edit."),
            ),
        })
    }

    pub(crate) fn need_level(&self, actor: &Actor, p: &Permissions, level: Level, path: &PagePath) -> AppResult<()> {
        self.need_read(actor, p, path)?;
        if p.can(level, path.as_str()) {
            return Ok(());
        }
        Err(match actor {
            Actor::Anonymous => sign_in(),
            Actor::User { .. } => forbidden(format!(
                "You may read “{path}” but not {} there. Ask an administrator, or whoever manages that folder, \
                 for access.",
                match level {
                    Level::Comment => "comment",
                    Level::Manage => "manage access",
                    _ => "edit",
                }
            )),
        })
    }

    /// The actor may manage the rules at `node` (a folder or page path;
    /// `""` is the root, which only administrators manage).
    pub(crate) fn need_manage(&self, actor: &Actor, p: &Permissions, node: &str) -> AppResult<()> {
        if p.can(Level::Manage, node) && (p.is_admin() || !node.is_empty()) {
            return Ok(());
        }
        Err(match actor {
            Actor::Anonymous => sign_in(),
            Actor::User { .. } if !p.can(Level::Read, node) => AppError::new(
                Code::NotFound,
                "There is nothing here you can read. Check the address.".to_owned(),
            ),
            Actor::User { .. } => forbidden(
                "Only administrators, and those who manage a folder, can change who may read or edit it.".into(),
            ),
        })
    }

    /// Site-wide lists: an anonymous visitor who may read nothing is asked
    /// to sign in; anyone else sees what they may read.
    pub(crate) fn need_any_read(&self, actor: &Actor, p: &Permissions) -> AppResult<()> {
        if p.reads_anything() || !matches!(actor, Actor::Anonymous) {
            Ok(())
        } else {
            Err(sign_in())
        }
    }

    /// Accounts, groups, roles and settings.
    pub(crate) fn need_admin(&self, actor: &Actor) -> AppResult<()> {
        match actor {
            _ if actor.is_admin() => Ok(()),
            Actor::Anonymous => Err(sign_in()),
            Actor::User { .. } => Err(forbidden("Only administrators can do this.".into())),
        }
    }

    /// What the actor may do with the page at `path`.
    pub(crate) fn capabilities_in(p: &Permissions, path: &PagePath) -> Capabilities {
        let level = p.level(path.as_str());
        Capabilities {
            comment: level >= Level::Comment,
            edit: level >= Level::Edit,
            move_page: level >= Level::Edit,
            delete: level >= Level::Edit,
            manage_access: level >= Level::Manage,
        }
    }

    /// What the actor may do with the page at `path`.
    pub async fn capabilities(&self, actor: &Actor, path: &PagePath) -> AppResult<Capabilities> {
        let p = self.permissions(actor).await?;
        Ok(Self::capabilities_in(&p, path))
    }

    /// What the actor may do in a folder (create pages there, manage its
    /// access).
    pub async fn folder_capabilities(&self, actor: &Actor, folder: &FolderPath) -> AppResult<Capabilities> {
        let p = self.permissions(actor).await?;
        let level = p.level(folder.as_str());
        Ok(Capabilities {
            comment: level >= Level::Comment,
            edit: level >= Level::Edit,
            move_page: false,
            delete: false,
            manage_access: level >= Level::Manage && (p.is_admin() || !folder.is_root()),
        })
    }

    /// What the site's chrome may offer the actor.
    pub async fn site_capabilities(&self, actor: &Actor) -> AppResult<SiteCapabilities> {
        let p = self.permissions(actor).await?;
        let highest = p.highest();
        Ok(SiteCapabilities {
            read: p.reads_anything(),
            create: highest >= Level::Edit,
            manage_access: highest >= Level::Manage,
            administer: actor.is_admin(),
        })
    }
}
