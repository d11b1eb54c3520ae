//! Credentials for API clients.
//!
//! - **Personal API tokens** (`vlm_…`): made by a signed-in user, with
//!   scopes (`read`, `write`, `admin`), an optional expiry, and a last-used
//!   time; shown once, stored as a hash; revocable.
//! - **Access tokens** from `POST /api/v1/auth/token`: JWTs (HS256, with a
//!   secret the nodes share through the database) that live 15 minutes,
//!   with a **refresh token** that lives 30 days. Each refresh replaces the
//!   refresh token with a new one of the same family; presenting a used
//!   refresh token again means it was stolen, so the whole family is
//!   revoked (and its access tokens stop working).
//!
//! Both are sent as `Authorization: Bearer …`. A credential that does not
//! check out is refused (`401 invalid_token`), never treated as anonymous.
//! Disabling an account or resetting its password voids all of them at once
//! (`users.tokens_valid_after`), on every node.

use std::sync::OnceLock;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::json;
use vellum_core::{Actor, Event, Scopes, Timestamp, UserId};
use vellum_store::tokens::{self, ApiTokenRecord, NewApiToken};
use vellum_store::users::{self, UserRecord};
use vellum_store::{settings, Handle};

use crate::auth::{actor_of, random_token, token_hash, Credentials};
use crate::ports::{Cache, MemoryCache};
use crate::{validate, App, AppError, AppResult, Code};

pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;
pub const REFRESH_TOKEN_DAYS: i64 = 30;
const PAT_PREFIX: &str = "vlm_";
const JWT_SECRET_KEY: &str = "jwt_secret";
const MAX_TOKEN_NAME: usize = 100;
/// The issuer of second-factor tickets: never valid as an access token.
const TICKET_ISSUER: &str = "vellum-second-factor";

/// A personal API token as its owner sees it.
#[derive(Debug, Clone)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub scopes: Scopes,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked: bool,
}

impl From<ApiTokenRecord> for ApiToken {
    fn from(t: ApiTokenRecord) -> Self {
        ApiToken {
            id: t.id,
            name: t.name,
            scopes: t.scopes,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked: t.revoked_at.is_some(),
        }
    }
}

/// A new personal API token: `token` is shown once.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub token: String,
    pub info: ApiToken,
}

/// An access token and its refresh token.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    /// The user id, as a string (RFC 7519 makes `sub` a string).
    sub: String,
    /// The refresh token family this access token came from.
    fam: String,
    iat: i64,
    exp: i64,
}

/// Who a bearer credential stands for.
#[derive(Debug, Clone)]
pub struct Bearer {
    pub actor: Actor,
    /// `pat:ID` or `jwt:FAMILY`: what rate limits count against.
    pub key: String,
    /// When the credential stops working (checked on every use, cached or
    /// not).
    pub expires_at: Option<Timestamp>,
}

/// Caches for bearer credentials (by hash), tagged with the access
/// generation like sessions.
pub(crate) struct TokenCache {
    bearers: MemoryCache<String, (u64, Option<Bearer>)>,
    touched: MemoryCache<i64, ()>,
    jwt_secret: OnceLock<Vec<u8>>,
}

impl TokenCache {
    pub(crate) fn new() -> TokenCache {
        TokenCache {
            bearers: MemoryCache::new(100_000, Some(std::time::Duration::from_secs(60))),
            touched: MemoryCache::new(100_000, Some(std::time::Duration::from_secs(60))),
            jwt_secret: OnceLock::new(),
        }
    }
}

fn invalid_token() -> AppError {
    AppError::new(
        Code::InvalidToken,
        "The token is not valid: it is unknown, expired or revoked. Sign in again or make a new token.",
    )
}

fn parse_expiry(raw: Option<&str>, now: Timestamp) -> AppResult<Option<Timestamp>> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let t = crate::audit::parse_time(raw).map_err(|_| {
        AppError::invalid(
            Code::InvalidExpiry,
            "expires_at",
            "The expiry (“expires_at”) is a date (2027-03-01) or an RFC 3339 time, or null for a token that does not expire.",
        )
    })?;
    if t <= now {
        return Err(AppError::invalid(
            Code::InvalidExpiry,
            "expires_at",
            "The expiry (“expires_at”) is in the past. Give a later date.",
        ));
    }
    Ok(Some(t))
}

impl App {
    /// The secret access tokens are signed with, shared by every node.
    pub(crate) async fn jwt_secret(&self) -> AppResult<Vec<u8>> {
        if let Some(s) = self.0.tokens.jwt_secret.get() {
            return Ok(s.clone());
        }
        let mut tx = self.0.store.begin().await?;
        let secret = match settings::get(&mut tx, JWT_SECRET_KEY).await? {
            Some(s) => s,
            None => {
                let fresh = random_token()?;
                settings::set_if_absent(&mut tx, JWT_SECRET_KEY, &fresh).await?;
                settings::get(&mut tx, JWT_SECRET_KEY)
                    .await?
                    .ok_or_else(|| AppError::bug("the token secret vanished"))?
            }
        };
        tx.commit().await?;
        let bytes = hex::decode(&secret).map_err(|e| AppError::bug(format!("token secret: {e}")))?;
        let _ = self.0.tokens.jwt_secret.set(bytes.clone());
        Ok(bytes)
    }

    /// A ticket naming a user whose password was right, for the second
    /// step of a sign-in (5 minutes; signed, so any node can check it).
    pub(crate) async fn second_factor_ticket(&self, user: &UserRecord) -> AppResult<String> {
        let iat = Timestamp::now().as_millis() / 1000;
        let claims = Claims {
            iss: TICKET_ISSUER.into(),
            sub: user.id.0.to_string(),
            fam: String::new(),
            iat,
            exp: iat + 300,
        };
        let secret = self.jwt_secret().await?;
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&secret),
        )
        .map_err(|e| AppError::bug(format!("signing a ticket: {e}")))
    }

    pub(crate) async fn check_second_factor_ticket(&self, ticket: &str) -> AppResult<Option<UserId>> {
        let secret = self.jwt_secret().await?;
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        v.set_issuer(&[TICKET_ISSUER]);
        Ok(
            jsonwebtoken::decode::<Claims>(ticket, &DecodingKey::from_secret(&secret), &v)
                .ok()
                .and_then(|d| d.claims.sub.parse().ok())
                .map(UserId),
        )
    }

    /// Signs in for an API client: an access token and a refresh token.
    pub async fn issue_tokens(&self, c: Credentials<'_>) -> AppResult<TokenPair> {
        let user = self.verify_sign_in(c).await?;
        {
            let mut conn = self.0.store.read().await?;
            if self.require_totp(&mut conn).await? && user.totp_enabled_at.is_none() && user.sso_subject.is_none() {
                return Err(AppError::new(
                    Code::TotpEnrollmentRequired,
                    "This wiki requires two-factor sign-in. Set it up in the browser (Account → Two-factor \
                     sign-in) first.",
                ));
            }
        }
        let family = random_token()?;
        // The secret first: on SQLite a second transaction would wait for
        // this one.
        let secret = self.jwt_secret().await?;
        let mut uow = self.begin(Some(user.id)).await?;
        let pair = self.new_pair(&mut uow, &user, &family, &secret).await?;
        uow.audit(
            "auth.signed_in",
            Some(&format!("user:{}", user.username)),
            json!({ "via": "token" }),
        )
        .await?;
        uow.commit().await?;
        Ok(pair)
    }

    async fn new_pair(
        &self,
        h: &mut impl Handle,
        user: &UserRecord,
        family: &str,
        secret: &[u8],
    ) -> AppResult<TokenPair> {
        let now = self.now();
        let refresh = random_token()?;
        tokens::insert_refresh(
            h,
            family,
            user.id,
            &token_hash(&refresh),
            now,
            Timestamp::from_millis(now.as_millis() + REFRESH_TOKEN_DAYS * 86_400_000),
        )
        .await?;
        let iat = now.as_millis() / 1000;
        let claims = Claims {
            iss: "vellum".into(),
            sub: user.id.0.to_string(),
            fam: family.to_owned(),
            iat,
            exp: iat + ACCESS_TOKEN_SECONDS,
        };
        let access = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret),
        )
        .map_err(|e| AppError::bug(format!("signing a token: {e}")))?;
        Ok(TokenPair {
            access_token: access,
            refresh_token: format!("{family}.{refresh}"),
            expires_in: ACCESS_TOKEN_SECONDS,
        })
    }

    /// Swaps a refresh token for a new pair. A refresh token works once; a
    /// second use revokes its whole family.
    pub async fn refresh_tokens(&self, presented: &str) -> AppResult<TokenPair> {
        let presented = validate::single_line(presented, "refresh_token")?.trim();
        let Some((family, secret)) = presented.split_once('.') else {
            return Err(invalid_token());
        };
        let now = self.now();
        let key = self.jwt_secret().await?;
        let mut uow = self.begin(None).await?;
        let Some(row) = tokens::refresh_by_hash(&mut uow, &token_hash(secret)).await? else {
            return Err(invalid_token());
        };
        if row.family != family || row.revoked_at.is_some() || row.expires_at <= now {
            return Err(invalid_token());
        }
        uow.act_as(row.user);
        if row.used_at.is_some() {
            // Stolen: someone used this token before. End the family.
            tokens::revoke_family(&mut uow, &row.family, now).await?;
            uow.audit(
                "auth.refresh_reused",
                Some(&format!("user_id:{}", row.user.0)),
                json!({ "family_started": row.created_at.as_millis() }),
            )
            .await?;
            uow.record(Event::TokenRevoked {
                token: row.id,
                user: row.user,
                name: "access tokens of a reused refresh token".into(),
            })
            .await?;
            uow.commit().await?;
            return Err(invalid_token());
        }
        let user = users::by_id(&mut uow, row.user).await?.ok_or_else(invalid_token)?;
        if user.disabled_at.is_some() || user.tokens_valid_after.is_some_and(|t| row.created_at <= t) {
            return Err(invalid_token());
        }
        tokens::mark_refresh_used(&mut uow, row.id, now).await?;
        let pair = self.new_pair(&mut uow, &user, &row.family, &key).await?;
        uow.commit().await?;
        Ok(pair)
    }

    /// Who an `Authorization: Bearer` credential stands for.
    pub async fn bearer(&self, token: &str) -> AppResult<Bearer> {
        if token.is_empty() || token.len() > 4096 {
            return Err(invalid_token());
        }
        let hash = token_hash(token);
        let gen = self.0.access.generation();
        if let Some((g, cached)) = self.0.tokens.bearers.get(&hash) {
            if g == gen {
                return cached
                    .filter(|b| b.expires_at.is_none_or(|e| e > self.now()))
                    .ok_or_else(invalid_token);
            }
        }
        let found = if token.starts_with(PAT_PREFIX) {
            self.check_api_token(&hash).await?
        } else if token.matches('.').count() == 2 {
            self.check_access_token(token).await?
        } else {
            None
        };
        if self.0.access.generation() == gen {
            self.0.tokens.bearers.insert(hash, (gen, found.clone()));
        }
        found.ok_or_else(invalid_token)
    }

    async fn check_api_token(&self, hash: &str) -> AppResult<Option<Bearer>> {
        let now = self.now();
        let mut conn = self.0.store.read().await?;
        let Some((t, user)) = tokens::find_api_token(&mut conn, hash, now).await? else {
            return Ok(None);
        };
        drop(conn);
        if self.0.tokens.touched.get(&t.id).is_none() {
            // Last used: kept to the minute, one write a minute at most.
            let mut tx = self.0.store.begin().await?;
            tokens::touch_api_token(&mut tx, t.id, now).await?;
            tx.commit().await?;
            self.0.tokens.touched.insert(t.id, ());
        }
        Ok(Some(Bearer {
            actor: actor_of(&user, t.scopes),
            key: format!("pat:{}", t.id),
            expires_at: t.expires_at,
        }))
    }

    async fn check_access_token(&self, token: &str) -> AppResult<Option<Bearer>> {
        let secret = self.jwt_secret().await?;
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        v.set_issuer(&["vellum"]);
        v.set_required_spec_claims(&["exp", "iss", "sub"]);
        let Ok(data) = jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&secret), &v) else {
            return Ok(None);
        };
        let c = data.claims;
        let mut conn = self.0.store.read().await?;
        let Ok(id) = c.sub.parse() else {
            return Ok(None);
        };
        let Some(user) = users::by_id(&mut conn, UserId(id)).await? else {
            return Ok(None);
        };
        let issued = Timestamp::from_millis(c.iat * 1000);
        if user.disabled_at.is_some() || user.tokens_valid_after.is_some_and(|t| issued <= t) {
            return Ok(None);
        }
        if !tokens::family_live(&mut conn, &c.fam).await? {
            return Ok(None);
        }
        Ok(Some(Bearer {
            actor: actor_of(&user, Scopes::ALL),
            key: format!("jwt:{}", &c.fam[..16.min(c.fam.len())]),
            expires_at: Some(Timestamp::from_millis(c.exp * 1000)),
        }))
    }

    /// Makes a personal API token for the actor. Only a full credential (a
    /// browser session or an access token) can make one: a token cannot
    /// make tokens.
    pub async fn create_api_token(
        &self,
        actor: &Actor,
        name: &str,
        scopes: &[String],
        expires_at: Option<&str>,
    ) -> AppResult<NewToken> {
        let user = crate::access::signed_in(actor)?;
        if actor.scopes() != Scopes::ALL {
            return Err(AppError::new(
                Code::Forbidden,
                "A personal API token cannot make tokens. Sign in (or use an access token) to make one.",
            ));
        }
        let name = validate::single_line(name, "name")?.trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_TOKEN_NAME {
            return Err(AppError::invalid(
                Code::InvalidName,
                "name",
                format!("Give the token a name of 1 to {MAX_TOKEN_NAME} characters, to tell it apart later."),
            ));
        }
        if scopes.is_empty() {
            return Err(AppError::invalid(
                Code::InvalidScopes,
                "scopes",
                "Give the token at least one scope: read, write or admin.",
            ));
        }
        let scopes = Scopes::from_names(scopes.iter().map(String::as_str)).map_err(|bad| {
            AppError::invalid(
                Code::InvalidScopes,
                "scopes",
                format!("The scope “{bad}” is unknown. The scopes are read, write and admin."),
            )
        })?;
        let now = self.now();
        let expires = parse_expiry(expires_at, now)?;
        let token = format!("{PAT_PREFIX}{}", random_token()?);
        let mut uow = self.begin(Some(user)).await?;
        let id = tokens::insert_api_token(
            &mut uow,
            NewApiToken {
                user,
                name: &name,
                token_hash: &token_hash(&token),
                scopes,
                now,
                expires_at: expires,
            },
        )
        .await?;
        uow.record(Event::TokenCreated {
            token: id,
            user,
            name: name.clone(),
            scopes: scopes.names().iter().map(|s| (*s).to_owned()).collect(),
        })
        .await?;
        uow.commit().await?;
        Ok(NewToken {
            token,
            info: ApiToken {
                id,
                name,
                scopes,
                created_at: now,
                expires_at: expires,
                last_used_at: None,
                revoked: false,
            },
        })
    }

    /// The actor's personal API tokens, newest first.
    pub async fn api_tokens(&self, actor: &Actor) -> AppResult<Vec<ApiToken>> {
        let user = crate::access::signed_in(actor)?;
        let mut conn = self.0.store.read().await?;
        Ok(tokens::api_tokens_of(&mut conn, user)
            .await?
            .into_iter()
            .map(ApiToken::from)
            .collect())
    }

    /// Revokes one of the actor's tokens (administrators: anyone's).
    pub async fn revoke_api_token(&self, actor: &Actor, id: i64) -> AppResult<()> {
        let me = crate::access::signed_in(actor)?;
        let not_found = || AppError::new(Code::TokenNotFound, format!("You have no token {id}."));
        let mut uow = self.begin(Some(me)).await?;
        let t = tokens::api_token(&mut uow, id).await?.ok_or_else(not_found)?;
        if t.user != me && !actor.is_admin() {
            return Err(not_found());
        }
        let now = uow.now();
        if tokens::revoke_api_token(&mut uow, id, now).await? {
            uow.record(Event::TokenRevoked {
                token: id,
                user: t.user,
                name: t.name,
            })
            .await?;
        }
        uow.commit().await
    }
}
