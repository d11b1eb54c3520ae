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
//! `account.rs` turns a provider's claims into a Vellum account.
//!
//! The protocol is small enough to speak directly with `reqwest` and
//! `jsonwebtoken` (both already in the build): discovery, the token
//! exchange, the JWKS, and the userinfo endpoint.

use std::time::{Duration, Instant};

use base64::Engine as _;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::RwLock;
use vellum_core::{Role, Timestamp};

mod account;

use crate::auth::{random_token, NewSession};
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
        let fresh_enough = |p: &Provider| !refresh_keys || p.fetched.elapsed() < KEY_REFRESH;
        if let Some(p) = rt.provider.read().await.as_ref().filter(|p| fresh_enough(p)) {
            return Ok(p.clone());
        }
        let mut slot = rt.provider.write().await;
        // Another request may have fetched while this one waited: tokens
        // naming unknown keys fetch at most once a minute, however many.
        if let Some(p) = slot.as_ref().filter(|p| fresh_enough(p)) {
            return Ok(p.clone());
        }
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
