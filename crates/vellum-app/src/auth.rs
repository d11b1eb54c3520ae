//! Sign-in, server-side sessions, sign-in protection, and the first-run
//! setup.
//!
//! Passwords are hashed with argon2id. A session is a random token held by
//! the browser in an HttpOnly cookie; the database keeps only its SHA-256,
//! with a per-session CSRF token for scripts that send it in a header.
//! Ending a session records a `session.ended` event, so every node drops
//! its cached copy as soon as its change feed reads it.
//!
//! **Sign-in protection.** Failed attempts are counted per account name and
//! per client address, in the database (so every node sees them). Past a
//! few failures a key is locked for a time that doubles with each further
//! failure (1 s, 2 s, 4 s, … up to 15 minutes); while locked, attempts are
//! answered `429` with `Retry-After` without looking at the password. An
//! unknown name and a wrong password get the same answer and the same
//! counting, so the answers tell nobody which names exist.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde_json::json;
use sha2::{Digest, Sha256};
use vellum_core::{Actor, Event, Role, Scopes, SessionId, Timestamp, UserId};
use vellum_store::throttle::{self, Throttle};
use vellum_store::users::UserRecord;
use vellum_store::{access, sessions, settings, setup, users, Constraint, Handle};

use crate::audit::current_request;
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
    /// The wiki requires two-factor sign-in and this account has not set
    /// it up: until it does, the session may only do that.
    pub must_enroll_totp: bool,
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
    pub email: Option<&'a str>,
}

/// Where a two-step sign-in stands after its first step.
#[derive(Debug, Clone)]
pub enum LoginStep {
    Done(NewSession),
    /// The password was right; the account needs a code too. The ticket
    /// (valid 5 minutes) goes with the code to the second step.
    SecondFactor {
        ticket: String,
    },
}

/// What a sign-in presents.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// A code from the authenticator app, or a recovery code.
    pub totp: Option<&'a str>,
}

pub(crate) fn random_token() -> AppResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| AppError::bug(e.to_string()))?;
    Ok(hex::encode(bytes))
}

pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub(crate) fn hash_password(password: &str) -> AppResult<String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| AppError::bug(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AppError::bug(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::bug(e.to_string()))
}

pub(crate) fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

pub(crate) fn invalid_credentials() -> AppError {
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

pub(crate) fn actor_of(user: &UserRecord, scopes: Scopes) -> Actor {
    Actor::User {
        id: user.id,
        name: user.username.clone(),
        role: user.role.clone(),
        scopes,
    }
}

/// Failures a key may have before it is locked.
const ACCOUNT_FREE_FAILURES: i64 = 5;
const ADDRESS_FREE_FAILURES: i64 = 20;
/// Failures older than this are forgotten.
const FAILURE_WINDOW_MS: i64 = 15 * 60 * 1000;
const MAX_LOCK_MS: i64 = 15 * 60 * 1000;

/// How long a key with `failures` failures stays locked.
fn lock_ms(failures: i64, free: i64) -> Option<i64> {
    let over = failures - free;
    if over < 0 {
        return None;
    }
    let ms = 1000_i64.saturating_mul(1_i64 << over.min(20));
    Some(ms.min(MAX_LOCK_MS))
}

/// What a sign-in attempt counts against: the account (when the name is one
/// an account could have; other text never reaches the database) and the
/// client's address.
fn throttle_keys(username_key: Option<&str>) -> Vec<(String, i64)> {
    let mut keys: Vec<_> = username_key
        .map(|k| (format!("user:{k}"), ACCOUNT_FREE_FAILURES))
        .into_iter()
        .collect();
    if let Some(ip) = current_request().ip {
        keys.push((format!("ip:{ip}"), ADDRESS_FREE_FAILURES));
    }
    keys
}

fn too_many(until: Timestamp, now: Timestamp) -> AppError {
    let secs = u64::try_from((until.as_millis() - now.as_millis() + 999) / 1000).unwrap_or(1);
    AppError::new(
        Code::RateLimited,
        format!(
            "Too many failed sign-ins. Wait {secs} second{} and try again.",
            if secs == 1 { "" } else { "s" }
        ),
    )
    .with_retry_after(secs)
}

pub(crate) const REQUIRE_TOTP_KEY: &str = "require_totp";

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
        let found = sessions::find(&mut conn, &hash, self.now()).await?;
        let require_totp = self.require_totp(&mut conn).await?;
        let session = found.map(|row| Session {
            id: row.id,
            actor: actor_of(&row.user, Scopes::ALL),
            csrf_token: row.csrf_token,
            must_enroll_totp: require_totp && row.user.totp_enabled_at.is_none() && row.user.sso_subject.is_none(),
        });
        if self.0.access.generation() == gen {
            self.0.sessions.insert(hash, (gen, session.clone()));
        }
        Ok(session)
    }

    /// Whether administrators require two-factor sign-in.
    pub(crate) async fn require_totp(&self, h: &mut impl Handle) -> AppResult<bool> {
        Ok(settings::get(h, REQUIRE_TOTP_KEY).await?.as_deref() == Some("true"))
    }

    /// Checks a sign-in: throttling first, then the password, then the
    /// second factor. Failures are counted and audited; success clears the
    /// account's count. Shared by the browser sign-in and the API's token
    /// endpoint.
    pub(crate) async fn verify_sign_in(&self, c: Credentials<'_>) -> AppResult<UserRecord> {
        let user = self.verify_password_step(c.username, c.password).await?;
        if user.totp_enabled_at.is_some() {
            match c.totp.map(str::trim).filter(|t| !t.is_empty()) {
                None => {
                    return Err(AppError::new(
                        Code::TotpRequired,
                        "Enter the code from your authenticator app (or a recovery code) to finish signing in.",
                    ))
                }
                Some(code) => self.verify_code_step(&user, code).await?,
            }
        }
        let mut tx = self.0.store.begin().await?;
        throttle::clear(&mut tx, &format!("user:{}", user.username.to_lowercase())).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn check_throttle(&self, keys: &[(String, i64)]) -> AppResult<()> {
        let now = self.now();
        let mut conn = self.0.store.read().await?;
        for (k, _) in keys {
            if let Some(t) = throttle::get(&mut conn, k).await? {
                if let Some(until) = t.locked_until.filter(|u| *u > now) {
                    return Err(too_many(until, now));
                }
            }
        }
        Ok(())
    }

    /// The second factor of a sign-in whose password was right; a wrong
    /// code counts as a failed sign-in.
    async fn verify_code_step(&self, user: &UserRecord, code: &str) -> AppResult<()> {
        let key = user.username.to_lowercase();
        let keys = throttle_keys(Some(&key));
        self.check_throttle(&keys).await?;
        if self.check_second_factor(user, code).await? {
            return Ok(());
        }
        self.sign_in_failed(&keys, Some(&key), "second factor").await?;
        Err(AppError::new(
            Code::InvalidTotp,
            "That code is not right. Codes change every 30 seconds: enter the one shown now, or a recovery code.",
        ))
    }

    /// The password step of a sign-in, throttled and audited.
    async fn verify_password_step(&self, username: &str, password: &str) -> AppResult<UserRecord> {
        let c = Credentials {
            username,
            password,
            totp: None,
        };
        let key = c.username.trim().to_lowercase();
        let valid_name = check_username(&key).ok();
        let keys = throttle_keys(valid_name.as_deref());
        self.check_throttle(&keys).await?;
        // A name no account can have is looked up nowhere, but costs the
        // same time as a real check, so timing tells nothing.
        let user = match &valid_name {
            Some(key) => {
                let mut conn = self.0.store.read().await?;
                users::by_username_key(&mut conn, key).await?
            }
            None => None,
        };
        let password = c.password.to_owned();
        let user = match user.filter(|u| u.disabled_at.is_none() && !u.password_hash.starts_with('!')) {
            None => {
                self.cpu(move || hash_password(&password)).await??;
                None
            }
            Some(u) => {
                let hash = u.password_hash.clone();
                self.cpu(move || verify_password(&password, &hash)).await?.then_some(u)
            }
        };
        let Some(user) = user else {
            self.sign_in_failed(&keys, valid_name.as_deref(), "password").await?;
            return Err(invalid_credentials());
        };
        Ok(user)
    }

    /// Counts a failed sign-in against each key, locks keys past their
    /// allowance, and audits both.
    async fn sign_in_failed(&self, keys: &[(String, i64)], name: Option<&str>, what: &str) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.0.store.begin().await?;
        let target = name.map(|n| format!("user:{n}"));
        for (k, free) in keys {
            let before = throttle::get(&mut tx, k).await?;
            let failures = match before {
                Some(t) if now.as_millis() - t.last_failure_at.as_millis() < FAILURE_WINDOW_MS => t.failures + 1,
                _ => 1,
            };
            let locked_until = lock_ms(failures, *free).map(|ms| Timestamp::from_millis(now.as_millis() + ms));
            throttle::put(
                &mut tx,
                k,
                &Throttle {
                    failures,
                    last_failure_at: now,
                    locked_until,
                },
            )
            .await?;
            if let Some(until) = locked_until {
                crate::audit::append(
                    &mut tx,
                    None,
                    None,
                    "auth.locked",
                    Some(k),
                    &json!({ "failures": failures, "seconds": (until.as_millis() - now.as_millis()) / 1000 }),
                    now,
                )
                .await?;
            }
        }
        crate::audit::append(
            &mut tx,
            None,
            name,
            "auth.sign_in_failed",
            target.as_deref(),
            &json!({ "failed": what }),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Signs in with a password (and a code when two-factor sign-in is on)
    /// and starts a browser session.
    pub async fn login(&self, c: Credentials<'_>) -> AppResult<NewSession> {
        let user = self.verify_sign_in(c).await?;
        self.signed_in(&user, "password").await
    }

    /// The first step of a sign-in in two steps (the browser's): the
    /// password, then, when two-factor sign-in is on, a ticket for the
    /// second step.
    pub async fn login_step(&self, username: &str, password: &str) -> AppResult<LoginStep> {
        let user = self.verify_password_step(username, password).await?;
        if user.totp_enabled_at.is_none() {
            let mut tx = self.0.store.begin().await?;
            throttle::clear(&mut tx, &format!("user:{}", user.username.to_lowercase())).await?;
            tx.commit().await?;
            return Ok(LoginStep::Done(self.signed_in(&user, "password").await?));
        }
        Ok(LoginStep::SecondFactor {
            ticket: self.second_factor_ticket(&user).await?,
        })
    }

    /// The second step: the ticket from the first and a code.
    pub async fn login_second_factor(&self, ticket: &str, code: &str) -> AppResult<NewSession> {
        let expired = || {
            AppError::new(
                Code::InvalidCredentials,
                "The sign-in took too long, or its page was reloaded. Sign in again.",
            )
        };
        let id = self.check_second_factor_ticket(ticket).await?.ok_or_else(expired)?;
        let mut conn = self.0.store.read().await?;
        let user = users::by_id(&mut conn, id)
            .await?
            .filter(|u| u.disabled_at.is_none() && u.totp_enabled_at.is_some())
            .ok_or_else(expired)?;
        drop(conn);
        self.verify_code_step(&user, code).await?;
        let mut tx = self.0.store.begin().await?;
        throttle::clear(&mut tx, &format!("user:{}", user.username.to_lowercase())).await?;
        tx.commit().await?;
        self.signed_in(&user, "password and second factor").await
    }

    async fn signed_in(&self, user: &UserRecord, via: &str) -> AppResult<NewSession> {
        let mut uow = self.begin(Some(user.id)).await?;
        let new = self.start_session(&mut uow, user).await?;
        uow.audit(
            "auth.signed_in",
            Some(&format!("user:{}", user.username)),
            json!({ "via": via }),
        )
        .await?;
        uow.commit().await?;
        Ok(new)
    }

    pub(crate) async fn start_session(&self, uow: &mut UnitOfWork, user: &UserRecord) -> AppResult<NewSession> {
        let token = random_token()?;
        let csrf = random_token()?;
        let now = uow.now();
        let meta = current_request();
        let ip = meta.ip.map(|i| i.to_string());
        let ua = meta
            .user_agent
            .as_deref()
            .map(|u| u.chars().filter(|c| !c.is_control()).take(300).collect::<String>());
        let id = sessions::insert(
            uow,
            sessions::NewSession {
                token_hash: &token_hash(&token),
                user: user.id,
                csrf_token: &csrf,
                now,
                expires_at: now.plus(self.0.config.session_ttl),
                ip: ip.as_deref(),
                user_agent: ua.as_deref(),
            },
        )
        .await
        .map_err(|e| match e.unique() {
            Some(Constraint::SessionToken) => AppError::bug("a fresh session token collided"),
            _ => e.into(),
        })?;
        sessions::delete_expired(uow, now).await?;
        let require_totp = self.require_totp(uow).await?;
        Ok(NewSession {
            token,
            session: Session {
                id,
                actor: actor_of(user, Scopes::ALL),
                csrf_token: csrf,
                must_enroll_totp: require_totp && user.totp_enabled_at.is_none() && user.sso_subject.is_none(),
            },
        })
    }

    /// Ends the session behind a token, on every node.
    pub async fn logout(&self, token: &str) -> AppResult<()> {
        let hash = token_hash(token);
        let mut uow = self.begin(None).await?;
        if let Some((session, user)) = sessions::delete(&mut uow, &hash).await? {
            uow.act_as(user);
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
        setup::add_token(&mut uow, &token_hash(&token), self.now()).await?;
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
        check_password(account.password, &username)?;
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
        let user = insert_user(&mut uow, &username, &display, &hash, Role::Admin, None, None).await?;
        uow.act_as(user.id);
        uow.record(Event::UserCreated {
            user: user.id,
            username: username.clone(),
            role: Role::Admin,
            via_setup: true,
        })
        .await?;
        edit::create_welcome_page(&mut uow, &actor_of(&user, Scopes::ALL), &welcome).await?;
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
        check_password(account.password, &username)?;
        let display = match account.display_name.map(check_display_name).transpose()? {
            Some(d) if !d.is_empty() => d,
            _ => username.clone(),
        };
        let email = account.email.map(crate::validate::email).transpose()?.flatten();
        let hash = {
            let password = account.password.to_owned();
            self.cpu(move || hash_password(&password)).await??
        };
        let mut uow = self.begin(actor.and_then(Actor::user_id)).await?;
        if !access::role_exists(&mut uow, &account.role).await? {
            return Err(crate::admin::role_not_found(&account.role));
        }
        let user = insert_user(
            &mut uow,
            &username,
            &display,
            &hash,
            account.role.clone(),
            email.as_deref(),
            None,
        )
        .await?;
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

pub(crate) async fn insert_user(
    uow: &mut UnitOfWork,
    username: &str,
    display_name: &str,
    password_hash: &str,
    role: Role,
    email: Option<&str>,
    sso_subject: Option<&str>,
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
            email,
            sso_subject,
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
        email: email.map(str::to_owned),
        tokens_valid_after: None,
        totp_secret: None,
        totp_enabled_at: None,
        sso_subject: sso_subject.map(str::to_owned),
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

    #[test]
    fn locks_double_after_the_allowance() {
        assert_eq!(lock_ms(4, 5), None);
        assert_eq!(lock_ms(5, 5), Some(1000));
        assert_eq!(lock_ms(6, 5), Some(2000));
        assert_eq!(lock_ms(9, 5), Some(16_000));
        assert_eq!(lock_ms(40, 5), Some(MAX_LOCK_MS));
    }
}
