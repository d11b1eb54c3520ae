//! From a provider's claims to a Vellum account: found by subject, linked
//! by verified e-mail address, or made just in time; role and group
//! memberships following the claims when configured (see `OidcConfig`).

use serde_json::{json, Map, Value};
use vellum_core::{Event, Role};
use vellum_store::users::UserRecord;
use vellum_store::{access, users};

use super::{sso_failed, OidcConfig};
use crate::auth::{insert_user, NewSession};
use crate::{App, AppError, AppResult, Code};

impl App {
    /// The account behind a provider's claims: by subject, else linked by
    /// user name to an account an administrator made for SSO, else made
    /// now when allowed. Role and groups follow the claims when set up so.
    pub(super) async fn sso_account(&self, config: &OidcConfig, claims: &Map<String, Value>) -> AppResult<UserRecord> {
        let sub = claims.get("sub").and_then(Value::as_str).unwrap_or_default();
        if sub.is_empty() {
            return Err(sso_failed("The provider's ID token names no subject."));
        }
        let subject = format!("{}#{sub}", config.issuer);
        let groups: Vec<String> = match claims.get(&config.groups_claim) {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            Some(Value::String(s)) => s
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        let mapped_role = config
            .roles
            .iter()
            .find(|(g, _)| groups.iter().any(|c| c == g))
            .map(|(_, r)| r.clone());
        let mut uow = self.begin(None).await?;
        let mut existing = users::by_sso_subject(&mut uow, &subject).await?;
        let verified_email = claims
            .get("email")
            .and_then(Value::as_str)
            .filter(|_| claims.get("email_verified").and_then(Value::as_bool) == Some(true));
        if existing.is_none() {
            if let Some(email) = verified_email {
                if let Some(u) = users::by_email(&mut uow, email)
                    .await?
                    .filter(|u| u.sso_subject.is_none())
                {
                    users::set_sso_subject(&mut uow, u.id, &subject).await?;
                    uow.audit(
                        "user.linked_to_sso",
                        Some(&format!("user:{}", u.username)),
                        json!({ "subject": subject }),
                    )
                    .await?;
                    existing = Some(u);
                }
            }
        }
        let mut user = match existing {
            Some(u) => u,
            None => {
                if !config.create_users {
                    return Err(AppError::new(
                        Code::SsoNoAccount,
                        "You have no account on this wiki yet. Ask an administrator to make one with your e-mail address.",
                    ));
                }
                let proposed = claims
                    .get(&config.username_claim)
                    .or_else(|| claims.get("email"))
                    .and_then(Value::as_str)
                    .map(|s| s.split('@').next().unwrap_or(s))
                    .unwrap_or(sub);
                let username = self.free_username(&mut uow, proposed).await?;
                let display = claims
                    .get("name")
                    .and_then(Value::as_str)
                    .and_then(|n| crate::validate::display_name(n).ok())
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| username.clone());
                let email = claims
                    .get("email")
                    .and_then(Value::as_str)
                    .and_then(|e| crate::validate::email(e).ok().flatten());
                let role = mapped_role.clone().unwrap_or_else(|| config.default_role.clone());
                let role = if access::role_exists(&mut uow, &role).await? {
                    role
                } else {
                    Role::Viewer
                };
                let user = insert_user(
                    &mut uow,
                    &username,
                    &display,
                    users::NO_PASSWORD_HASH,
                    role.clone(),
                    email.as_deref(),
                    Some(&subject),
                )
                .await?;
                uow.record(Event::UserCreated {
                    user: user.id,
                    username: username.clone(),
                    role,
                    via_setup: false,
                })
                .await?;
                uow.audit(
                    "user.created_by_sso",
                    Some(&format!("user:{username}")),
                    json!({ "subject": subject }),
                )
                .await?;
                user
            }
        };
        if user.disabled_at.is_some() {
            return Err(AppError::new(
                Code::SsoNoAccount,
                "Your account on this wiki is disabled. Ask an administrator.",
            ));
        }
        if !config.roles.is_empty() {
            let wanted = mapped_role.unwrap_or_else(|| config.default_role.clone());
            let keeps_last_admin =
                user.role == Role::Admin && wanted != Role::Admin && users::count_enabled_admins(&mut uow).await? <= 1;
            if wanted != user.role && !keeps_last_admin && access::role_exists(&mut uow, &wanted).await? {
                users::update(
                    &mut uow,
                    user.id,
                    &users::UserChange {
                        role: Some(&wanted),
                        ..Default::default()
                    },
                )
                .await?;
                uow.record(Event::UserUpdated {
                    user: user.id,
                    username: user.username.clone(),
                    role: Some(wanted.clone()),
                    disabled: None,
                    display_name: None,
                    password_changed: false,
                })
                .await?;
                user.role = wanted;
            }
        }
        if config.sync_groups {
            let have = access::group_names_of(&mut uow, user.id).await?;
            for name in &groups {
                if have.contains(name) {
                    continue;
                }
                if let Some(g) = access::group_by_name(&mut uow, name).await? {
                    if access::add_member(&mut uow, g.id, user.id).await? {
                        uow.record(Event::GroupMemberAdded {
                            group: g.id,
                            name: g.name,
                            user: user.id,
                            username: user.username.clone(),
                        })
                        .await?;
                    }
                }
            }
            for name in have.iter().filter(|h| !groups.contains(h)) {
                if let Some(g) = access::group_by_name(&mut uow, name).await? {
                    if access::remove_member(&mut uow, g.id, user.id).await? {
                        uow.record(Event::GroupMemberRemoved {
                            group: g.id,
                            name: g.name,
                            user: user.id,
                            username: user.username.clone(),
                        })
                        .await?;
                    }
                }
            }
        }
        uow.commit().await?;
        Ok(user)
    }

    /// A user name like `proposed` that no account has: the allowed
    /// characters only, and a number added when taken.
    async fn free_username(&self, uow: &mut crate::uow::UnitOfWork, proposed: &str) -> AppResult<String> {
        let mut base: String = proposed
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                    c
                } else {
                    '-'
                }
            })
            .take(34)
            .collect();
        base = base.trim_matches(['-', '.']).to_owned();
        if base.is_empty() {
            base = "user".into();
        }
        for n in 0..1000 {
            let candidate = if n == 0 {
                base.clone()
            } else {
                format!("{base}-{}", n + 1)
            };
            if users::by_username_key(uow, &candidate.to_lowercase()).await?.is_none()
                && candidate != crate::accounts::PLACEHOLDER_USERNAME
            {
                return Ok(candidate);
            }
        }
        Err(sso_failed(
            "No free user name could be found for this account. Ask an administrator.",
        ))
    }

    pub(super) async fn sso_signed_in(&self, user: &UserRecord) -> AppResult<NewSession> {
        let mut uow = self.begin(Some(user.id)).await?;
        let new = self.start_session(&mut uow, user).await?;
        uow.audit(
            "auth.signed_in",
            Some(&format!("user:{}", user.username)),
            json!({ "via": "single sign-on" }),
        )
        .await?;
        uow.commit().await?;
        Ok(new)
    }
}
