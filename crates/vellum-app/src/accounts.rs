//! Accounts: what administrators do with them (list and filter, change
//! role, disable and enable, reset a password, delete), and what each user
//! does with their own (display name, password, sessions).
//!
//! Disabling an account, resetting its password or deleting it ends all of
//! its sessions and voids all of its tokens at once, on every node: the
//! rows go (or `tokens_valid_after` moves past them) in the same
//! transaction, and the `user.updated` event makes every node drop what it
//! cached. One enabled administrator always remains.

use serde_json::json;
use vellum_core::{Actor, Event, Role, SessionId, Timestamp, UserId};
use vellum_store::users::{self, UserChange, UserFilter, UserRecord, PLACEHOLDER_HASH};
use vellum_store::{access, sessions, tokens, Handle};

use crate::auth::{hash_password, insert_user, verify_password};
use crate::model::{PageRequest, Paged, UserSummary};
use crate::uow::UnitOfWork;
use crate::validate::{display_name as check_display_name, password as check_password};
use crate::{validate, App, AppError, AppResult, Code};

/// The account that deleted users' work is credited to.
pub const PLACEHOLDER_USERNAME: &str = "deleted-user";

/// What an administrator changes on an account (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct AccountChange {
    pub role: Option<String>,
    pub disabled: Option<bool>,
    pub display_name: Option<String>,
    pub email: Option<String>,
}

/// Which accounts to list.
#[derive(Debug, Clone, Default)]
pub struct AccountQuery {
    pub q: Option<String>,
    pub role: Option<String>,
    pub disabled: Option<bool>,
}

/// One account in detail, for administrators.
#[derive(Debug, Clone)]
pub struct AccountDetail {
    pub summary: UserSummary,
    pub email: Option<String>,
    pub groups: Vec<String>,
    pub sessions: usize,
    pub totp_enabled: bool,
    pub sso: bool,
}

/// A session as its owner sees it.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub id: SessionId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The session this request came with.
    pub current: bool,
}

pub(crate) fn summary_of(u: &UserRecord) -> UserSummary {
    UserSummary {
        id: u.id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role: u.role.clone(),
        created_at: u.created_at,
        disabled: u.disabled_at.is_some(),
    }
}

fn user_not_found(name: &str) -> AppError {
    AppError::new(Code::UserNotFound, format!("There is no user “{name}”."))
}

fn last_admin() -> AppError {
    AppError::new(
        Code::LastAdmin,
        "This is the last enabled administrator, and the wiki needs one. Make someone else an administrator first.",
    )
}

fn parse_role(raw: &str) -> AppResult<Role> {
    Role::parse(raw.trim()).map_err(|_| {
        AppError::invalid(
            Code::InvalidRole,
            "role",
            "The role is “admin”, “editor”, “commenter”, “viewer” or a custom role an administrator has made.",
        )
    })
}

impl App {
    async fn account_named(&self, h: &mut impl Handle, name: &str) -> AppResult<UserRecord> {
        let name = validate::single_line(name, "username")?.trim();
        users::by_username_key(h, &name.to_lowercase())
            .await?
            .filter(|u| u.password_hash != PLACEHOLDER_HASH)
            .ok_or_else(|| user_not_found(name))
    }

    /// Accounts by name, filtered (administrators).
    pub async fn users(&self, actor: &Actor, q: &AccountQuery, req: &PageRequest) -> AppResult<Paged<UserSummary>> {
        self.need_admin(actor)?;
        let text =
            q.q.as_deref()
                .map(|t| validate::single_line(t, "q").map(str::trim))
                .transpose()?
                .filter(|t| !t.is_empty());
        let role = q
            .role
            .as_deref()
            .filter(|r| !r.trim().is_empty())
            .map(parse_role)
            .transpose()?;
        let filter = UserFilter {
            text,
            role: role.as_ref(),
            disabled: q.disabled,
        };
        let mut conn = self.0.store.read().await?;
        let rows = users::list(&mut conn, &filter, req.text_cursor()?, req.fetch()?).await?;
        let items = rows.iter().map(summary_of).collect();
        Ok(Paged::from_rows(items, req.limit()?, |u: &UserSummary| {
            u.username.to_lowercase()
        }))
    }

    /// One account (administrators).
    pub async fn user(&self, actor: &Actor, name: &str) -> AppResult<AccountDetail> {
        self.need_admin(actor)?;
        let mut conn = self.0.store.read().await?;
        let u = self.account_named(&mut conn, name).await?;
        let groups = access::group_names_of(&mut conn, u.id).await?;
        let sessions = sessions::of_user(&mut conn, u.id, self.now()).await?.len();
        Ok(AccountDetail {
            summary: summary_of(&u),
            email: u.email.clone(),
            groups,
            sessions,
            totp_enabled: u.totp_enabled_at.is_some(),
            sso: u.sso_subject.is_some(),
        })
    }

    /// Changes an account (administrators). Disabling ends its sessions
    /// and tokens everywhere.
    pub async fn update_user(&self, actor: &Actor, name: &str, ch: &AccountChange) -> AppResult<UserSummary> {
        self.need_admin(actor)?;
        let role = ch.role.as_deref().map(parse_role).transpose()?;
        let display = ch.display_name.as_deref().map(check_display_name).transpose()?;
        if display.as_deref() == Some("") {
            return Err(AppError::invalid(
                Code::InvalidDisplayName,
                "display_name",
                "A display name cannot be empty.",
            ));
        }
        let email = ch.email.as_deref().map(validate::email).transpose()?;
        let mut uow = self.begin(actor.user_id()).await?;
        // Serialises changes to administrators, so two of them cannot
        // demote each other at once.
        access::lock_rules(&mut uow).await?;
        let u = self.account_named(&mut uow, name).await?;
        if let Some(r) = &role {
            if !access::role_exists(&mut uow, r).await? {
                return Err(crate::admin::role_not_found(r));
            }
        }
        let now = uow.now();
        let losing_admin = u.role == Role::Admin
            && u.disabled_at.is_none()
            && (role.as_ref().is_some_and(|r| *r != Role::Admin) || ch.disabled == Some(true));
        if losing_admin && users::count_enabled_admins(&mut uow).await? <= 1 {
            return Err(last_admin());
        }
        let disable = match (ch.disabled, u.disabled_at) {
            (Some(true), None) => Some(Some(now)),
            (Some(false), Some(_)) => Some(None),
            _ => None,
        };
        users::update(
            &mut uow,
            u.id,
            &UserChange {
                role: role.as_ref().filter(|r| **r != u.role),
                disabled_at: disable,
                display_name: display.as_deref().filter(|d| *d != u.display_name),
                email: email.as_ref().map(|e| e.as_deref()),
                password_hash: None,
                tokens_valid_after: (disable == Some(Some(now))).then_some(now),
            },
        )
        .await?;
        if disable == Some(Some(now)) {
            self.end_everything(&mut uow, u.id, None, now).await?;
        }
        let changed_role = role.clone().filter(|r| *r != u.role);
        let changed_display = display.clone().filter(|d| *d != u.display_name);
        if changed_role.is_some() || disable.is_some() || changed_display.is_some() || email.is_some() {
            uow.record(Event::UserUpdated {
                user: u.id,
                username: u.username.clone(),
                role: changed_role,
                disabled: disable.map(|d| d.is_some()),
                display_name: changed_display,
                password_changed: false,
            })
            .await?;
        }
        uow.commit().await?;
        let mut conn = self.0.store.read().await?;
        let after = users::by_id(&mut conn, u.id)
            .await?
            .ok_or_else(|| user_not_found(name))?;
        Ok(summary_of(&after))
    }

    /// Ends every session and voids every token of a user (but `keep`).
    pub(crate) async fn end_everything(
        &self,
        uow: &mut UnitOfWork,
        user: UserId,
        keep: Option<SessionId>,
        now: Timestamp,
    ) -> AppResult<()> {
        let ended = sessions::delete_all_of(uow, user, keep).await?;
        for session in ended {
            uow.record(Event::SessionEnded { session, user }).await?;
        }
        if keep.is_none() {
            tokens::revoke_all_of(uow, user, now).await?;
        } else {
            tokens::revoke_refresh_of(uow, user, now).await?;
        }
        Ok(())
    }

    /// Sets a new password for an account (administrators); its sessions
    /// and tokens end.
    pub async fn reset_password(&self, actor: &Actor, name: &str, password: &str) -> AppResult<()> {
        self.need_admin(actor)?;
        let mut conn = self.0.store.read().await?;
        let u = self.account_named(&mut conn, name).await?;
        drop(conn);
        check_password(password, &u.username)?;
        let hash = {
            let p = password.to_owned();
            self.cpu(move || hash_password(&p)).await??
        };
        let mut uow = self.begin(actor.user_id()).await?;
        let now = uow.now();
        users::update(
            &mut uow,
            u.id,
            &UserChange {
                password_hash: Some(&hash),
                tokens_valid_after: Some(now),
                ..UserChange::default()
            },
        )
        .await?;
        self.end_everything(&mut uow, u.id, None, now).await?;
        uow.record(Event::UserUpdated {
            user: u.id,
            username: u.username.clone(),
            role: None,
            disabled: None,
            display_name: None,
            password_changed: true,
        })
        .await?;
        uow.commit().await
    }

    /// Deletes an account (administrators). What it wrote stays, credited
    /// to the placeholder account `deleted-user`; its rules go.
    pub async fn delete_user(&self, actor: &Actor, name: &str) -> AppResult<()> {
        self.need_admin(actor)?;
        let mut uow = self.begin(actor.user_id()).await?;
        access::lock_rules(&mut uow).await?;
        let u = self.account_named(&mut uow, name).await?;
        if actor.user_id() == Some(u.id) {
            return Err(AppError::new(
                Code::Forbidden,
                "You cannot delete your own account. Ask another administrator.",
            ));
        }
        if u.role == Role::Admin && u.disabled_at.is_none() && users::count_enabled_admins(&mut uow).await? <= 1 {
            return Err(last_admin());
        }
        let placeholder = match users::by_username_key(&mut uow, PLACEHOLDER_USERNAME).await? {
            Some(p) => p,
            None => {
                let p = insert_user(
                    &mut uow,
                    PLACEHOLDER_USERNAME,
                    "Deleted user",
                    PLACEHOLDER_HASH,
                    Role::Viewer,
                    None,
                    None,
                )
                .await?;
                let now = uow.now();
                users::update(
                    &mut uow,
                    p.id,
                    &UserChange {
                        disabled_at: Some(Some(now)),
                        ..UserChange::default()
                    },
                )
                .await?;
                p
            }
        };
        let nodes = access::nodes_naming(&mut uow, &vellum_core::Principal::User(u.id)).await?;
        let ended = sessions::delete_all_of(&mut uow, u.id, None).await?;
        for session in ended {
            uow.record(Event::SessionEnded { session, user: u.id }).await?;
        }
        users::reassign(&mut uow, u.id, placeholder.id).await?;
        users::delete(&mut uow, u.id).await?;
        let now = uow.now();
        for node in nodes {
            if let Some(n) = access::node(&mut uow, &node).await? {
                access::set_node(&mut uow, &node, Some(&n), now).await?;
            }
        }
        uow.record(Event::UserDeleted {
            user: u.id,
            username: u.username.clone(),
            placeholder: placeholder.id,
        })
        .await?;
        uow.commit().await
    }

    /// The actor's own account.
    pub async fn me(&self, actor: &Actor) -> AppResult<AccountDetail> {
        let id = crate::access::signed_in(actor)?;
        let mut conn = self.0.store.read().await?;
        let u = users::by_id(&mut conn, id).await?.ok_or_else(crate::access::sign_in)?;
        let groups = access::group_names_of(&mut conn, u.id).await?;
        let sessions = sessions::of_user(&mut conn, u.id, self.now()).await?.len();
        Ok(AccountDetail {
            summary: summary_of(&u),
            email: u.email.clone(),
            groups,
            sessions,
            totp_enabled: u.totp_enabled_at.is_some(),
            sso: u.sso_subject.is_some(),
        })
    }

    /// Changes the actor's display name (and e-mail).
    pub async fn update_me(
        &self,
        actor: &Actor,
        display_name: Option<&str>,
        email: Option<&str>,
    ) -> AppResult<UserSummary> {
        let id = crate::access::signed_in(actor)?;
        if actor.scopes().cap() < vellum_core::Level::Edit {
            return Err(AppError::new(
                Code::Forbidden,
                "A read-only token cannot change the account.",
            ));
        }
        let display = display_name.map(check_display_name).transpose()?;
        if display.as_deref() == Some("") {
            return Err(AppError::invalid(
                Code::InvalidDisplayName,
                "display_name",
                "A display name cannot be empty.",
            ));
        }
        let email = email.map(validate::email).transpose()?;
        let mut uow = self.begin(Some(id)).await?;
        let u = users::by_id(&mut uow, id).await?.ok_or_else(crate::access::sign_in)?;
        users::update(
            &mut uow,
            id,
            &UserChange {
                display_name: display.as_deref(),
                email: email.as_ref().map(|e| e.as_deref()),
                ..UserChange::default()
            },
        )
        .await?;
        if display.as_ref().is_some_and(|d| *d != u.display_name) {
            uow.record(Event::UserUpdated {
                user: id,
                username: u.username.clone(),
                role: None,
                disabled: None,
                display_name: display.clone(),
                password_changed: false,
            })
            .await?;
        }
        uow.commit().await?;
        let mut conn = self.0.store.read().await?;
        let after = users::by_id(&mut conn, id).await?.ok_or_else(crate::access::sign_in)?;
        Ok(summary_of(&after))
    }

    /// Changes the actor's password; their other sessions end (this one,
    /// `keep`, stays), and so do their access tokens.
    pub async fn change_password(
        &self,
        actor: &Actor,
        current: &str,
        new: &str,
        keep: Option<SessionId>,
    ) -> AppResult<()> {
        let id = crate::access::signed_in(actor)?;
        if actor.scopes() != vellum_core::Scopes::ALL {
            return Err(AppError::new(
                Code::Forbidden,
                "A personal API token cannot change the password.",
            ));
        }
        let mut conn = self.0.store.read().await?;
        let u = users::by_id(&mut conn, id).await?.ok_or_else(crate::access::sign_in)?;
        drop(conn);
        let (hash, cur) = (u.password_hash.clone(), current.to_owned());
        if !self.cpu(move || verify_password(&cur, &hash)).await? {
            return Err(AppError::invalid(
                Code::InvalidPassword,
                "current_password",
                "The current password is not right. Your password stays as it was.",
            ));
        }
        check_password(new, &u.username)?;
        let fresh = {
            let p = new.to_owned();
            self.cpu(move || hash_password(&p)).await??
        };
        let mut uow = self.begin(Some(id)).await?;
        let now = uow.now();
        users::update(
            &mut uow,
            id,
            &UserChange {
                password_hash: Some(&fresh),
                ..UserChange::default()
            },
        )
        .await?;
        self.end_everything(&mut uow, id, keep, now).await?;
        uow.record(Event::UserUpdated {
            user: id,
            username: u.username.clone(),
            role: None,
            disabled: None,
            display_name: None,
            password_changed: true,
        })
        .await?;
        uow.audit(
            "auth.password_changed",
            Some(&format!("user:{}", u.username)),
            json!({}),
        )
        .await?;
        uow.commit().await
    }

    /// The actor's live sessions.
    pub async fn my_sessions(&self, actor: &Actor, current: Option<SessionId>) -> AppResult<Vec<SessionView>> {
        let id = crate::access::signed_in(actor)?;
        let mut conn = self.0.store.read().await?;
        Ok(sessions::of_user(&mut conn, id, self.now())
            .await?
            .into_iter()
            .map(|s| SessionView {
                current: Some(s.id) == current,
                id: s.id,
                created_at: s.created_at,
                expires_at: s.expires_at,
                ip: s.ip,
                user_agent: s.user_agent,
            })
            .collect())
    }

    /// Ends one of the actor's sessions, on every node.
    pub async fn end_session(&self, actor: &Actor, session: SessionId) -> AppResult<()> {
        let id = crate::access::signed_in(actor)?;
        let mut uow = self.begin(Some(id)).await?;
        if !sessions::delete_of_user(&mut uow, id, session).await? {
            return Err(AppError::new(
                Code::SessionNotFound,
                format!("You have no session {session}. It may have ended already."),
            ));
        }
        uow.record(Event::SessionEnded { session, user: id }).await?;
        uow.commit().await
    }
}
