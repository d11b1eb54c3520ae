//! Accounts, sign-in and server-side sessions, and the first-run setup.
//!
//! Passwords are hashed with argon2id. A session is a random token held by
//! the browser in an HttpOnly cookie; the database keeps only its SHA-256,
//! with a per-session CSRF token for scripts that send it in a header.
//! Signing out records a `session.ended` event, so every node drops its
//! cached copy of the session as soon as its change feed reads it.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use vellum_core::{Actor, Event, Role, SessionId, Timestamp, UserId};
use vellum_store::users::UserRecord;
use vellum_store::{access, sessions, setup, users, Constraint, Handle};

use crate::ports::Cache;
use crate::uow::UnitOfWork;
use crate::validate::{display_name as check_display_name, password as check_password, username as check_username};
use crate::{edit, App, AppError, AppResult, Code};

/// A signed-in visitor, as the web layer sees it.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: SessionId,
    pub actor: Actor,
    pub csrf_token: String,
}

/// A new sign-in: `token` goes into the cookie.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub session: Session,
}

pub struct NewAccount<'a> {
    pub username: &'a str,
    pub display_name: Option<&'a str>,
    pub password: &'a str,
    pub role: Role,
}

pub(crate) fn random_token() -> AppResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| AppError::bug(e.to_string()))?;
    Ok(hex::encode(bytes))
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn hash_password(password: &str) -> AppResult<String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| AppError::bug(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AppError::bug(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::bug(e.to_string()))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

fn invalid_credentials() -> AppError {
    AppError::new(
        Code::InvalidCredentials,
        "The user name or password is not right. Check both and try again.",
    )
}

fn setup_done() -> AppError {
    AppError::new(
        Code::SetupDone,
        "This wiki is already set up, so the setup link no longer works. Sign in with your account instead.",
    )
}

fn invalid_setup_token() -> AppError {
    AppError::new(
        Code::InvalidSetupToken,
        "This setup link is not valid. Use the link printed on the server's console when it started.",
    )
}

fn actor_of(user: &UserRecord) -> Actor {
    Actor::User {
        id: user.id,
        name: user.username.clone(),
        role: user.role.clone(),
    }
}

impl App {
    /// The session behind a cookie token, if it is live.
    pub async fn session(&self, token: &str) -> AppResult<Option<Session>> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let hash = token_hash(token);
        // Entries from before an account or access change are stale (the
        // role may have changed, the account been disabled).
        let gen = self.0.access.generation();
        if let Some((g, cached)) = self.0.sessions.get(&hash) {
            if g == gen {
                return Ok(cached);
            }
        }
        let mut conn = self.0.store.read().await?;
        let found = sessions::find(&mut conn, &hash, Timestamp::now()).await?;
        let session = found.map(|row| Session {
            id: row.id,
            actor: actor_of(&row.user),
            csrf_token: row.csrf_token,
        });
        if self.0.access.generation() == gen {
            self.0.sessions.insert(hash, (gen, session.clone()));
        }
        Ok(session)
    }

    pub async fn login(&self, username: &str, password: &str) -> AppResult<NewSession> {
        let key = username.trim().to_lowercase();
        // A name no account can have is looked up nowhere, but costs the
        // same time as a real check, so timing tells nothing.
        let user = match check_username(&key) {
            Ok(key) => {
                let mut conn = self.0.store.read().await?;
                users::by_username_key(&mut conn, &key).await?
            }
            Err(_) => None,
        };
        let password = password.to_owned();
        let Some(user) = user.filter(|u| u.disabled_at.is_none()) else {
            self.cpu(move || hash_password(&password)).await??;
            return Err(invalid_credentials());
        };
        let hash = user.password_hash.clone();
        if !self.cpu(move || verify_password(&password, &hash)).await? {
            return Err(invalid_credentials());
        }
        let mut uow = self.begin(Some(user.id)).await?;
        let new = self.start_session(&mut uow, &user).await?;
        uow.commit().await?;
        Ok(new)
    }

    async fn start_session(&self, h: &mut impl Handle, user: &UserRecord) -> AppResult<NewSession> {
        let token = random_token()?;
        let csrf = random_token()?;
        let now = Timestamp::now();
        let id = sessions::insert(
            h,
            sessions::NewSession {
                token_hash: &token_hash(&token),
                user: user.id,
                csrf_token: &csrf,
                now,
                expires_at: now.plus(self.0.config.session_ttl),
            },
        )
        .await
        .map_err(|e| match e.unique() {
            Some(Constraint::SessionToken) => AppError::bug("a fresh session token collided"),
            _ => e.into(),
        })?;
        sessions::delete_expired(h, now).await?;
        Ok(NewSession {
            token,
            session: Session {
                id,
                actor: actor_of(user),
                csrf_token: csrf,
            },
        })
    }

    /// Ends the session behind a token, on every node.
    pub async fn logout(&self, token: &str) -> AppResult<()> {
        let hash = token_hash(token);
        let mut uow = self.begin(None).await?;
        if let Some((session, user)) = sessions::delete(&mut uow, &hash).await? {
            uow.record(Event::SessionEnded { session, user }).await?;
        }
        uow.commit().await?;
        self.0.sessions.invalidate(&hash);
        Ok(())
    }

    /// True until the first account exists.
    pub async fn setup_required(&self) -> AppResult<bool> {
        let mut conn = self.0.store.read().await?;
        Ok(users::count(&mut conn).await? == 0)
    }

    /// On a wiki with no accounts, makes a one-time setup token for this
    /// node to print (every node's link works until one is used). Returns
    /// `None` once an account exists.
    pub async fn prepare_setup(&self) -> AppResult<Option<String>> {
        if !self.setup_required().await? {
            return Ok(None);
        }
        let token = random_token()?;
        let mut uow = self.begin(None).await?;
        setup::add_token(&mut uow, &token_hash(&token), Timestamp::now()).await?;
        uow.commit().await?;
        Ok(Some(token))
    }

    /// Checks a setup token without using it (for showing the form).
    pub async fn check_setup_token(&self, token: &str) -> AppResult<()> {
        let mut conn = self.0.store.read().await?;
        if users::count(&mut conn).await? > 0 {
            return Err(setup_done());
        }
        if token.is_empty() || !setup::token_exists(&mut conn, &token_hash(token)).await? {
            return Err(invalid_setup_token());
        }
        Ok(())
    }

    /// Creates the first administrator with a one-time setup token, and
    /// signs them in. However many setups run at once, with however many
    /// nodes' links, exactly one succeeds.
    pub async fn complete_setup(&self, token: &str, account: NewAccount<'_>) -> AppResult<NewSession> {
        let username = check_username(account.username)?;
        check_password(account.password)?;
        let display = match account.display_name.map(check_display_name).transpose()? {
            Some(d) if !d.is_empty() => d,
            _ => username.clone(),
        };
        let hash = {
            let password = account.password.to_owned();
            self.cpu(move || hash_password(&password)).await??
        };
        let welcome = self.render_stored_form(edit::WELCOME).await?;
        let mut uow = self.begin(None).await?;
        setup::lock(&mut uow).await?;
        if users::count(&mut uow).await? > 0 {
            return Err(setup_done());
        }
        if !setup::consume(&mut uow, &token_hash(token)).await? {
            return Err(invalid_setup_token());
        }
        let user = insert_user(&mut uow, &username, &display, &hash, Role::Admin).await?;
        uow.act_as(user.id);
        uow.record(Event::UserCreated {
            user: user.id,
            username: username.clone(),
            role: Role::Admin,
            via_setup: true,
        })
        .await?;
        edit::create_welcome_page(&mut uow, &actor_of(&user), &welcome).await?;
        let new = self.start_session(&mut uow, &user).await?;
        uow.commit().await?;
        Ok(new)
    }

    /// Creates an account. `actor` must be an administrator, or `None` for
    /// the command line (which runs with the operator's authority).
    pub async fn create_user(&self, actor: Option<&Actor>, account: NewAccount<'_>) -> AppResult<UserId> {
        if let Some(actor) = actor {
            self.need_admin(actor)?;
        }
        let username = check_username(account.username)?;
        check_password(account.password)?;
        let display = match account.display_name.map(check_display_name).transpose()? {
            Some(d) if !d.is_empty() => d,
            _ => username.clone(),
        };
        let hash = {
            let password = account.password.to_owned();
            self.cpu(move || hash_password(&password)).await??
        };
        let mut uow = self.begin(actor.and_then(Actor::user_id)).await?;
        if !access::role_exists(&mut uow, &account.role).await? {
            return Err(crate::admin::role_not_found(&account.role));
        }
        let user = insert_user(&mut uow, &username, &display, &hash, account.role.clone()).await?;
        uow.record(Event::UserCreated {
            user: user.id,
            username,
            role: account.role,
            via_setup: false,
        })
        .await?;
        uow.commit().await?;
        Ok(user.id)
    }
}

async fn insert_user(
    uow: &mut UnitOfWork,
    username: &str,
    display_name: &str,
    password_hash: &str,
    role: Role,
) -> AppResult<UserRecord> {
    let now = uow.now();
    let id = users::insert(
        uow,
        users::NewUser {
            username,
            username_key: &username.to_lowercase(),
            display_name,
            password_hash,
            role: &role,
            now,
        },
    )
    .await
    .map_err(|e| match e.unique() {
        Some(Constraint::Username) => AppError::new(
            Code::UsernameTaken,
            format!("The user name “{username}” is taken. Choose another."),
        )
        .with_details(serde_json::json!({ "field": "username" })),
        _ => e.into(),
    })?;
    Ok(UserRecord {
        id,
        username: username.to_owned(),
        display_name: display_name.to_owned(),
        password_hash: password_hash.to_owned(),
        role,
        created_at: now,
        disabled_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hashes_are_argon2id_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
