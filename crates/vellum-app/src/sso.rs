//! Single sign-on with OpenID Connect: the authorization code flow with
//! PKCE (RFC 7636), a confidential client, and ID tokens checked against
//! the provider's published keys.
//!
//! The flow's secrets (state, nonce, PKCE verifier, where to go after) live
//! in a signed, short-lived value the web layer keeps in a cookie, so any
//! node can finish a sign-in another node started. An account is found by
//! its subject (issuer and `sub`), or made just in time when the
//! configuration allows; claims can set the role and the groups.
//!
//! The protocol is small enough to speak directly with `reqwest` and
//! `jsonwebtoken` (both already in the build): discovery, the token
//! exchange, the JWKS, and the userinfo endpoint.

use std::time::{Duration, Instant};

use base64::Engine as _;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::RwLock;
use vellum_core::{Event, Role, Timestamp};
use vellum_store::users::UserRecord;
use vellum_store::{access, users};

use crate::auth::{insert_user, random_token, NewSession};
use crate::{App, AppError, AppResult, Code};

/// How an operator connects Vellum to an OpenID provider.
#[derive(Clone)]
pub struct OidcConfig {
    /// The provider's issuer URL; its discovery document is at
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// For providers that authenticate the client (most do); sent with
    /// HTTP Basic.
    pub client_secret: Option<String>,
    /// Where the provider sends people back: `{public_url}/login/sso/callback`.
    pub redirect_url: String,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    /// The sign-in button's words: "Sign in with {label}".
    pub label: String,
    /// Make an account on first sign-in. Either way, an existing account
    /// with the same e-mail address (verified by the provider) and no SSO
    /// link yet is linked on first sign-in instead.
    pub create_users: bool,
    /// The role of accounts made on first sign-in that no `roles` entry
    /// matches.
    pub default_role: Role,
    /// The claim that proposes a user name.
    pub username_claim: String,
    /// The claim holding group names (a list of strings).
    pub groups_claim: String,
    /// Group claim values that decide the role, first match wins. Empty:
    /// the provider never changes roles.
    pub roles: Vec<(String, Role)>,
    /// Make an SSO account's group memberships exactly the claim's groups
    /// that exist in Vellum, at each sign-in.
    pub sync_groups: bool,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "[redacted]"))
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("create_users", &self.create_users)
            .field("default_role", &self.default_role)
            .field("roles", &self.roles)
            .field("sync_groups", &self.sync_groups)
            .finish_non_exhaustive()
    }
}

impl OidcConfig {
    pub fn new(issuer: &str, client_id: &str, redirect_url: &str) -> Self {
        OidcConfig {
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret: None,
            redirect_url: redirect_url.to_owned(),
            scopes: vec!["profile".into(), "email".into()],
            label: "single sign-on".into(),
            create_users: true,
            default_role: Role::Viewer,
            username_claim: "preferred_username".into(),
            groups_claim: "groups".into(),
            roles: Vec::new(),
            sync_groups: false,
        }
    }
}

/// The provider's endpoints and keys, fetched on first use and again when
/// a token names a key we do not have (providers rotate keys).
pub(crate) struct SsoRuntime {
    http: reqwest::Client,
    provider: RwLock<Option<Provider>>,
}

#[derive(Clone)]
struct Provider {
    meta: Discovery,
    keys: JwkSet,
    fetched: Instant,
}

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
}

/// Keys are fetched again at most this often when a token names an
/// unknown one.
const KEY_REFRESH: Duration = Duration::from_secs(60);
/// How long a sign-in may spend at the provider.
const FLOW_SECONDS: i64 = 600;
const FLOW_ISSUER: &str = "vellum-sso";

impl SsoRuntime {
    pub(crate) fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        SsoRuntime {
            http,
            provider: RwLock::new(None),
        }
    }
}

/// The signed content of the flow cookie.
#[derive(Debug, Serialize, Deserialize)]
struct Flow {
    iss: String,
    exp: i64,
    state: String,
    nonce: String,
    verifier: String,
    next: String,
}

/// Where to send the browser to sign in, and the value to keep in its
/// cookie until it comes back.
#[derive(Debug, Clone)]
pub struct SsoStart {
    pub url: String,
    pub flow: String,
}

/// A finished SSO sign-in and where the user wanted to go.
#[derive(Debug, Clone)]
pub struct SsoDone {
    pub session: NewSession,
    pub next: String,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
    access_token: Option<String>,
}

fn sso_failed(message: impl Into<String>) -> AppError {
    AppError::new(Code::SsoFailed, message)
}

fn provider_unreachable(what: &str, e: impl std::fmt::Display) -> AppError {
    tracing::warn!(error = %e, "single sign-on: {what}");
    AppError::new(
        Code::SsoUnavailable,
        "The sign-in provider could not be reached. Try again in a moment, or sign in with a password.",
    )
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl App {
    /// The sign-in button's words, when single sign-on is set up.
    pub fn sso_label(&self) -> Option<&str> {
        self.0.config.oidc.as_ref().map(|c| c.label.as_str())
    }

    /// Whether `issuer` names the configured provider.
    pub fn sso_issuer_is(&self, issuer: &str) -> bool {
        self.0
            .config
            .oidc
            .as_ref()
            .is_some_and(|c| c.issuer == issuer.trim_end_matches('/'))
    }

    fn oidc(&self) -> AppResult<(&OidcConfig, &SsoRuntime)> {
        match (&self.0.config.oidc, &self.0.sso) {
            (Some(c), Some(r)) => Ok((c, r)),
            _ => Err(AppError::new(
                Code::NotFound,
                "Single sign-on is not set up on this wiki. Sign in with your user name and password.",
            )),
        }
    }

    async fn provider(&self, refresh_keys: bool) -> AppResult<Provider> {
        let (config, rt) = self.oidc()?;
        if let Some(p) = rt.provider.read().await.as_ref() {
            if !refresh_keys || p.fetched.elapsed() < KEY_REFRESH {
                return Ok(p.clone());
            }
        }
        let mut slot = rt.provider.write().await;
        let url = format!("{}/.well-known/openid-configuration", config.issuer);
        let meta: Discovery = get_json(&rt.http, &url, "the discovery document").await?;
        if meta.issuer.trim_end_matches('/') != config.issuer {
            return Err(provider_unreachable(
                "discovery",
                format!("the provider calls itself {}, not {}", meta.issuer, config.issuer),
            ));
        }
        let keys: JwkSet = get_json(&rt.http, &meta.jwks_uri, "the signing keys").await?;
        let p = Provider {
            meta,
            keys,
            fetched: Instant::now(),
        };
        *slot = Some(p.clone());
        Ok(p)
    }

    /// Starts a sign-in at the provider. `next` is where to go afterwards
    /// (already checked to be a local path).
    pub async fn sso_start(&self, next: &str) -> AppResult<SsoStart> {
        let (config, _) = self.oidc()?;
        let provider = self.provider(false).await?;
        let verifier = b64(random_token()?.as_bytes());
        let flow = Flow {
            iss: FLOW_ISSUER.into(),
            exp: Timestamp::now().as_millis() / 1000 + FLOW_SECONDS,
            state: random_token()?,
            nonce: random_token()?,
            verifier: verifier.clone(),
            next: next.to_owned(),
        };
        let challenge = b64(&Sha256::digest(verifier.as_bytes()));
        let mut scopes = vec!["openid".to_owned()];
        scopes.extend(config.scopes.iter().filter(|s| *s != "openid").cloned());
        let mut url = url::Url::parse(&provider.meta.authorization_endpoint)
            .map_err(|e| provider_unreachable("authorization endpoint", e))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &config.client_id)
            .append_pair("redirect_uri", &config.redirect_url)
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", &flow.state)
            .append_pair("nonce", &flow.nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let secret = self.jwt_secret().await?;
        let signed = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &flow,
            &EncodingKey::from_secret(&secret),
        )
        .map_err(|e| AppError::bug(format!("signing the sign-in flow: {e}")))?;
        Ok(SsoStart {
            url: url.to_string(),
            flow: signed,
        })
    }

    /// Finishes a sign-in: the provider sent the browser back with `code`
    /// and `state`; `flow` is the cookie `sso_start` made.
    pub async fn sso_finish(&self, flow: Option<&str>, code: &str, state: &str) -> AppResult<SsoDone> {
        let (config, rt) = self.oidc()?;
        let expired = || sso_failed("The sign-in took too long or was started in another browser. Start again.");
        let flow = flow.ok_or_else(expired)?;
        let secret = self.jwt_secret().await?;
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        v.set_issuer(&[FLOW_ISSUER]);
        v.set_required_spec_claims(&["exp", "iss"]);
        let flow = jsonwebtoken::decode::<Flow>(flow, &DecodingKey::from_secret(&secret), &v)
            .map_err(|_| expired())?
            .claims;
        if state.is_empty() || state != flow.state {
            return Err(expired());
        }
        if code.is_empty() || code.len() > 4096 {
            return Err(sso_failed("The provider sent no sign-in code. Start again."));
        }
        let provider = self.provider(false).await?;
        let mut req = rt.http.post(&provider.meta.token_endpoint).form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &config.redirect_url),
            ("code_verifier", &flow.verifier),
            ("client_id", &config.client_id),
        ]);
        if let Some(s) = &config.client_secret {
            req = req.basic_auth(form_encode(&config.client_id), Some(form_encode(s)));
        }
        let res = req
            .send()
            .await
            .map_err(|e| provider_unreachable("token exchange", e))?;
        if !res.status().is_success() {
            let status = res.status();
            let body = res.text().await.unwrap_or_default();
            tracing::warn!(%status, body = %body.chars().take(300).collect::<String>(), "single sign-on: the provider refused the code");
            return Err(sso_failed("The provider did not accept the sign-in. Start again."));
        }
        let tokens: TokenResponse = res
            .json()
            .await
            .map_err(|e| provider_unreachable("token response", e))?;
        let id_token = tokens.id_token.ok_or_else(|| {
            sso_failed("The provider answered without an ID token. Check that the “openid” scope is allowed.")
        })?;
        let mut claims = self.check_id_token(config, &id_token, &flow.nonce).await?;
        if let (Some(url), Some(access)) = (&provider.meta.userinfo_endpoint, &tokens.access_token) {
            let info: Map<String, Value> = rt
                .http
                .get(url)
                .bearer_auth(access)
                .send()
                .await
                .map_err(|e| provider_unreachable("userinfo", e))?
                .json()
                .await
                .map_err(|e| provider_unreachable("userinfo response", e))?;
            // The userinfo answer counts only for the same subject.
            if info.get("sub") == claims.get("sub") {
                for (k, v) in info {
                    claims.entry(k).or_insert(v);
                }
            }
        }
        let user = self.sso_account(config, &claims).await?;
        let session = self.sso_signed_in(&user).await?;
        Ok(SsoDone {
            session,
            next: flow.next,
        })
    }

    async fn check_id_token(&self, config: &OidcConfig, token: &str, nonce: &str) -> AppResult<Map<String, Value>> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| sso_failed("The provider's ID token is malformed."))?;
        if matches!(header.alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
            && config.client_secret.is_none()
        {
            return Err(sso_failed(
                "The provider signed its ID token with a shared secret, and none is set up.",
            ));
        }
        let key = match header.alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                DecodingKey::from_secret(config.client_secret.as_deref().unwrap_or_default().as_bytes())
            }
            _ => {
                let find = |p: &Provider| {
                    p.keys
                        .keys
                        .iter()
                        .find(|k| header.kid.is_none() || k.common.key_id == header.kid)
                        .cloned()
                };
                let jwk = match find(&self.provider(false).await?) {
                    Some(k) => k,
                    None => find(&self.provider(true).await?).ok_or_else(|| {
                        sso_failed("The provider signed its ID token with a key it does not publish.")
                    })?,
                };
                DecodingKey::from_jwk(&jwk)
                    .map_err(|_| sso_failed("The provider publishes a key Vellum cannot use."))?
            }
        };
        let mut v = Validation::new(header.alg);
        v.leeway = 60;
        v.set_issuer(&[config.issuer.as_str(), &format!("{}/", config.issuer)]);
        v.set_audience(&[config.client_id.as_str()]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &v)
            .map_err(|e| {
                tracing::warn!(error = %e, "single sign-on: ID token refused");
                sso_failed(
                    "The provider's ID token did not check out (signature, issuer, audience or expiry). Start again.",
                )
            })?
            .claims;
        if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
            return Err(sso_failed(
                "The provider's ID token belongs to another sign-in. Start again.",
            ));
        }
        Ok(claims)
    }

    /// The account behind a provider's claims: by subject, else linked by
    /// user name to an account an administrator made for SSO, else made
    /// now when allowed. Role and groups follow the claims when set up so.
    async fn sso_account(&self, config: &OidcConfig, claims: &Map<String, Value>) -> AppResult<UserRecord> {
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

    async fn sso_signed_in(&self, user: &UserRecord) -> AppResult<NewSession> {
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

/// RFC 6749 §2.3.1: the client id and secret are form-encoded before
/// HTTP Basic.
fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn get_json<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str, what: &str) -> AppResult<T> {
    let res = http.get(url).send().await.map_err(|e| provider_unreachable(what, e))?;
    if !res.status().is_success() {
        return Err(provider_unreachable(what, format!("{url} answered {}", res.status())));
    }
    res.json().await.map_err(|e| provider_unreachable(what, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_credentials_are_form_encoded() {
        assert_eq!(form_encode("a b:c/d"), "a+b%3Ac%2Fd");
    }

    #[test]
    fn the_secret_never_reaches_debug_output() {
        let mut c = OidcConfig::new(
            "https://id.example.com/",
            "wiki",
            "https://wiki.example.com/login/sso/callback",
        );
        c.client_secret = Some("hunter2".into());
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2") && shown.contains("redacted"), "{shown}");
        assert_eq!(c.issuer, "https://id.example.com");
    }
}
