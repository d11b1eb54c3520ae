//! Accounts, sign-in and server-side sessions, and the first-run setup.
//!
//! Passwords are hashed with argon2id. A session is a random token held by
//! the browser in an HttpOnly cookie; the database keeps only its SHA-256,
//! with a per-session CSRF token for HTML forms.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use vellum_core::access::Action;
use vellum_core::{Actor, Role, UserId};
use vellum_store::{sessions, settings, users};

use crate::validate::{password as check_password, username as check_username};
use crate::{edit, now_ms, App, AppError, AppResult, ErrorKind};

const SETUP_TOKEN: &str = "setup_token_sha256";

/// A signed-in visitor, as the web layer sees it.
#[derive(Debug, Clone)]
pub struct Session {
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
    getrandom::getrandom(&mut bytes).map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))?;
    Ok(hex::encode(bytes))
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn hash_password(password: &str) -> AppResult<String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Argon2 is deliberately slow; keep it off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(AppError::internal)
}

fn invalid_credentials() -> AppError {
    AppError::new(
        ErrorKind::Unauthenticated,
        "invalid_credentials",
        "the user name or password is not right",
    )
}

impl App {
    /// The session behind a cookie token, if it is live.
    pub async fn session(&self, token: &str) -> AppResult<Option<Session>> {
        let hash = token_hash(token);
        if let Some(cached) = self.0.sessions.get(&hash) {
            return Ok(cached);
        }
        let mut conn = self.0.store.read().await?;
        let found = sessions::find(&mut conn, &hash, now_ms()).await?;
        let session = match found {
            Some(row) => Some(Session {
                actor: actor_of(&row.user)?,
                csrf_token: row.csrf_token,
            }),
            None => None,
        };
        self.0.sessions.insert(hash, session.clone());
        Ok(session)
    }

    pub async fn login(&self, username: &str, password: &str) -> AppResult<NewSession> {
        let key = username.trim().to_lowercase();
        let mut conn = self.0.store.read().await?;
        let user = users::by_username_key(&mut conn, &key).await?;
        drop(conn);
        let password = password.to_owned();
        let Some(user) = user.filter(|u| u.disabled_at.is_none()) else {
            // Spend the same time as a real check, so timing does not tell
            // which user names exist.
            blocking(move || hash_password(&password)).await??;
            return Err(invalid_credentials());
        };
        let hash = user.password_hash.clone();
        if !blocking(move || verify_password(&password, &hash)).await? {
            return Err(invalid_credentials());
        }
        self.start_session(&user).await
    }

    async fn start_session(&self, user: &users::UserRow) -> AppResult<NewSession> {
        let token = random_token()?;
        let csrf = random_token()?;
        let now = now_ms();
        let ttl = i64::try_from(self.0.config.session_ttl.as_millis()).unwrap_or(i64::MAX);
        let mut tx = self.0.store.begin().await?;
        sessions::insert(
            &mut tx,
            &token_hash(&token),
            user.id,
            &csrf,
            now,
            now.saturating_add(ttl),
        )
        .await?;
        sessions::delete_expired(&mut tx, now).await?;
        tx.commit().await?;
        Ok(NewSession {
            token,
            session: Session {
                actor: actor_of(user)?,
                csrf_token: csrf,
            },
        })
    }

    pub async fn logout(&self, token: &str) -> AppResult<()> {
        let hash = token_hash(token);
        let mut tx = self.0.store.begin().await?;
        sessions::delete(&mut tx, &hash).await?;
        tx.commit().await?;
        self.0.sessions.invalidate(&hash);
        Ok(())
    }

    /// True until the first account exists.
    pub async fn setup_required(&self) -> AppResult<bool> {
        let mut conn = self.0.store.read().await?;
        Ok(users::count(&mut conn).await? == 0)
    }

    /// On a wiki with no accounts, makes a fresh one-time setup token (the
    /// console prints the link). Returns `None` once an account exists.
    pub async fn prepare_setup(&self) -> AppResult<Option<String>> {
        if !self.setup_required().await? {
            return Ok(None);
        }
        let token = random_token()?;
        let mut tx = self.0.store.begin().await?;
        settings::set(&mut tx, SETUP_TOKEN, &token_hash(&token)).await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    /// Checks a setup token without using it (for showing the form).
    pub async fn check_setup_token(&self, token: &str) -> AppResult<()> {
        let mut conn = self.0.store.read().await?;
        if users::count(&mut conn).await? > 0 {
            return Err(AppError::conflict(
                "setup_done",
                "this wiki is already set up; sign in instead",
            ));
        }
        match settings::get(&mut conn, SETUP_TOKEN).await? {
            Some(h) if h == token_hash(token) => Ok(()),
            _ => Err(AppError::new(
                ErrorKind::Forbidden,
                "invalid_setup_token",
                "this setup link is not valid; use the link printed on the server console",
            )),
        }
    }

    /// Creates the first administrator with the one-time setup token, and
    /// signs them in.
    pub async fn complete_setup(&self, token: &str, account: NewAccount<'_>) -> AppResult<NewSession> {
        let username = check_username(account.username)?;
        check_password(account.password)?;
        let hash = {
            let password = account.password.to_owned();
            blocking(move || hash_password(&password)).await??
        };
        let welcome = self.render_stored_form(edit::WELCOME).await?;
        let mut tx = self.0.store.begin().await?;
        if users::count(&mut tx).await? > 0 {
            return Err(AppError::conflict(
                "setup_done",
                "this wiki is already set up; sign in instead",
            ));
        }
        match settings::get(&mut tx, SETUP_TOKEN).await? {
            Some(h) if h == token_hash(token) => {}
            _ => {
                return Err(AppError::new(
                    ErrorKind::Forbidden,
                    "invalid_setup_token",
                    "this setup link is not valid; use the link printed on the server console",
                ))
            }
        }
        settings::delete(&mut tx, SETUP_TOKEN).await?;
        let display = account
            .display_name
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .unwrap_or(&username);
        let id = insert_user(&mut tx, &username, display, &hash, Role::Admin).await?;
        let actor = Actor::User {
            id: UserId(id),
            name: username.clone(),
            role: Role::Admin,
        };
        let details = serde_json::json!({ "username": username, "role": "admin", "via": "setup" }).to_string();
        edit::append_event(&mut tx, &actor, "user.created", "user", Some(id), None, None, &details).await?;
        edit::create_welcome_page(&mut tx, &actor, &welcome).await?;
        tx.commit().await?;
        let mut conn = self.0.store.read().await?;
        let user = users::by_id(&mut conn, id)
            .await?
            .ok_or_else(|| AppError::not_found("user_not_found", "user vanished"))?;
        drop(conn);
        self.start_session(&user).await
    }

    /// Creates an account. `actor` must be an administrator, or `None` for
    /// the command line (which runs with the operator's authority).
    pub async fn create_user(&self, actor: Option<&Actor>, account: NewAccount<'_>) -> AppResult<i64> {
        if let Some(actor) = actor {
            self.authorize(actor, Action::Administer).await?;
        }
        let username = check_username(account.username)?;
        check_password(account.password)?;
        let hash = {
            let password = account.password.to_owned();
            blocking(move || hash_password(&password)).await??
        };
        let mut tx = self.0.store.begin().await?;
        let display = account
            .display_name
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .unwrap_or(&username);
        let id = insert_user(&mut tx, &username, display, &hash, account.role).await?;
        let details = serde_json::json!({ "username": username, "role": account.role.as_str() }).to_string();
        let system = Actor::Anonymous;
        edit::append_event(
            &mut tx,
            actor.unwrap_or(&system),
            "user.created",
            "user",
            Some(id),
            None,
            None,
            &details,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }
}

async fn insert_user(
    conn: &mut vellum_store::AnyConnection,
    username: &str,
    display_name: &str,
    password_hash: &str,
    role: Role,
) -> AppResult<i64> {
    users::insert(
        conn,
        users::NewUser {
            username,
            username_key: &username.to_lowercase(),
            display_name,
            password_hash,
            role: role.as_str(),
            now: now_ms(),
        },
    )
    .await
    .map_err(|e| match e {
        vellum_store::StoreError::Unique(_) => AppError::conflict(
            "username_taken",
            format!("the user name `{username}` is taken; choose another"),
        )
        .with_details(serde_json::json!({ "field": "username" })),
        other => other.into(),
    })
}

fn actor_of(user: &users::UserRow) -> AppResult<Actor> {
    let role = Role::parse(&user.role).ok_or_else(|| {
        AppError::internal(std::io::Error::other(format!(
            "unknown role `{}` in database",
            user.role
        )))
    })?;
    Ok(Actor::User {
        id: UserId(user.id),
        name: user.username.clone(),
        role,
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
