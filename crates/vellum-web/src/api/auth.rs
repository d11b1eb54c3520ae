//! Signing in and the caller's own account: sessions (the cookie is shared
//! with the HTML UI), access and refresh tokens, personal API tokens,
//! two-factor sign-in, password and display name.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vellum_app::{Actor, ApiToken, Code, Credentials};

use super::model::{ListJson, LoginRequest, Me};
use super::site::parse_id;
use crate::cookies::{cleared, session_cookie};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Visitor};
use crate::fmt::rfc3339;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/auth/login", class(RouteClass::Small, post(login)))
        .route("/auth/logout", class(RouteClass::Small, post(logout)))
        .route("/auth/me", class(RouteClass::Small, get(me).patch(update_me)))
        .route("/auth/token", class(RouteClass::Small, post(token)))
        .route("/auth/refresh", class(RouteClass::Small, post(refresh)))
        .route("/auth/password", class(RouteClass::Small, post(change_password)))
        .route("/auth/sessions", class(RouteClass::Small, get(sessions)))
        .route("/auth/sessions/{id}", class(RouteClass::Small, delete(end_session)))
        .route(
            "/auth/totp",
            class(RouteClass::Small, get(totp_status).post(begin_totp)),
        )
        .route("/auth/totp/confirm", class(RouteClass::Small, post(confirm_totp)))
        .route("/auth/totp/disable", class(RouteClass::Small, post(disable_totp)))
        .route("/tokens", class(RouteClass::Small, get(list_tokens).post(create_token)))
        .route("/tokens/{id}", class(RouteClass::Small, delete(revoke_token)))
}

fn signed_in(v: &Visitor) -> ApiResult<()> {
    match v.actor {
        Actor::User { .. } => Ok(()),
        Actor::Anonymous => Err(ApiError::new(Code::Unauthenticated, "Sign in to see or do this.")),
    }
}

/// Signs in; the response sets the `vellum_session` cookie. Accounts with
/// two-factor sign-in send `totp` too (a code or a recovery code).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Me, description = "Signed in; session cookie set"),
              (status = 400, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 401, body = ErrorBody, description = "`invalid_credentials`, `totp_required`, `invalid_totp`"),
              (status = 429, body = ErrorBody, description = "`rate_limited`: too many failures; see `Retry-After`")))]
pub(crate) async fn login(State(s): State<AppState>, ApiJson(req): ApiJson<LoginRequest>) -> ApiResult<Response> {
    let new = s
        .app
        .login(Credentials {
            username: &req.username,
            password: &req.password,
            totp: req.totp.as_deref(),
        })
        .await?;
    let me = me_of(&s, &new.session.actor, &new.session.csrf_token).await?;
    let mut headers = HeaderMap::new();
    if let Some(c) = session_cookie(&new.token, s.app.config().session_ttl.as_secs(), s.opts.secure()) {
        headers.insert(header::SET_COOKIE, c);
    }
    Ok((StatusCode::OK, headers, Json(me)).into_response())
}

/// Signs out (on every node) and clears the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204), (status = 400, body = ErrorBody)))]
pub(crate) async fn logout(State(s): State<AppState>, v: Visitor) -> ApiResult<Response> {
    if let Some(token) = &v.session_token {
        s.app.logout(token).await?;
    }
    let mut headers = HeaderMap::new();
    if let Some(c) = cleared(s.opts.secure()) {
        headers.insert(header::SET_COOKIE, c);
    }
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

async fn me_of(s: &AppState, actor: &Actor, csrf: &str) -> ApiResult<Me> {
    let d = s.app.me(actor).await?;
    Ok(Me {
        username: d.summary.username,
        display_name: d.summary.display_name,
        role: d.summary.role.as_str().to_owned(),
        email: d.email,
        groups: d.groups,
        totp_enabled: d.totp_enabled,
        scopes: actor.scopes().names().iter().map(|s| (*s).to_owned()).collect(),
        csrf_token: csrf.to_owned(),
    })
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub(crate) async fn me(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<Me>> {
    signed_in(&v)?;
    Ok(Json(me_of(&s, &v.actor, &v.csrf).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    /// What pages, history and recent changes show for you.
    pub display_name: Option<String>,
    /// `""` removes it.
    pub email: Option<String>,
}

/// Changes your display name or e-mail.
#[utoipa::path(patch, path = "/api/v1/auth/me", tag = "auth", request_body = UpdateMe,
    responses((status = 200, body = Me), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 400, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_display_name`, `invalid_email`")))]
pub(crate) async fn update_me(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<UpdateMe>,
) -> ApiResult<Json<Me>> {
    signed_in(&v)?;
    s.app
        .update_me(&v.actor, body.display_name.as_deref(), body.email.as_deref())
        .await?;
    Ok(Json(me_of(&s, &v.actor, &v.csrf).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Changes your password. Your other sessions end, and so do your access
/// and refresh tokens; this session and your personal API tokens stay.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 400, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_password` (a wrong current password, or a new one that is refused)")))]
pub(crate) async fn change_password(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    signed_in(&v)?;
    s.app
        .change_password(&v.actor, &body.current_password, &body.new_password, v.session_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub username: String,
    pub password: String,
    /// A code from the authenticator app (or a recovery code), for accounts
    /// with two-factor sign-in.
    pub totp: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer …`.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds the access token is valid for (900).
    pub expires_in: i64,
    /// Works once, for `POST /api/v1/auth/refresh`.
    pub refresh_token: String,
}

impl From<vellum_app::TokenPair> for TokenResponse {
    fn from(p: vellum_app::TokenPair) -> Self {
        TokenResponse {
            access_token: p.access_token,
            token_type: "Bearer".into(),
            expires_in: p.expires_in,
            refresh_token: p.refresh_token,
        }
    }
}

/// Signs in an API client: a short-lived access token (a JWT) and a refresh
/// token.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 401, body = ErrorBody, description = "`invalid_credentials`, `totp_required`, `invalid_totp`"),
              (status = 403, body = ErrorBody, description = "`totp_enrollment_required`"),
              (status = 429, body = ErrorBody, description = "`rate_limited`")))]
pub(crate) async fn token(
    State(s): State<AppState>,
    ApiJson(body): ApiJson<TokenRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let pair = s
        .app
        .issue_tokens(Credentials {
            username: &body.username,
            password: &body.password,
            totp: body.totp.as_deref(),
        })
        .await?;
    Ok(Json(pair.into()))
}

/// Swaps a refresh token for a new access token and a new refresh token.
/// A refresh token works once: using one twice revokes its family.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 401, body = ErrorBody, description = "`invalid_token`"), (status = 429, body = ErrorBody)))]
pub(crate) async fn refresh(
    State(s): State<AppState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    Ok(Json(s.app.refresh_tokens(&body.refresh_token).await?.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionJson {
    pub id: i64,
    pub created_at: String,
    pub expires_at: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The session this request came with.
    pub current: bool,
}

/// Your browser sessions.
#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth",
    responses((status = 200, body = ListJson<SessionJson>), (status = 401, body = ErrorBody)))]
pub(crate) async fn sessions(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<ListJson<SessionJson>>> {
    signed_in(&v)?;
    let items = s
        .app
        .my_sessions(&v.actor, v.session_id)
        .await?
        .into_iter()
        .map(|x| SessionJson {
            id: x.id.0,
            created_at: rfc3339(x.created_at),
            expires_at: rfc3339(x.expires_at),
            ip: x.ip,
            user_agent: x.user_agent,
            current: x.current,
        })
        .collect();
    Ok(Json(ListJson {
        items,
        next_cursor: None,
    }))
}

/// Ends one of your sessions, on every node.
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody, description = "`invalid_id`"), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`session_not_found`")))]
pub(crate) async fn end_session(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    signed_in(&v)?;
    let id = parse_id(&id, "session")?;
    s.app.end_session(&v.actor, vellum_core::SessionId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpStatusJson {
    pub enabled: bool,
    pub recovery_codes_left: i64,
    /// Administrators require two-factor sign-in.
    pub required: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpSetupJson {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://` URL (what a QR code holds).
    pub url: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirm {
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// One-time codes for signing in without the app. Shown only now.
    pub recovery_codes: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfirm {
    pub password: String,
}

/// Whether two-factor sign-in is on for you.
#[utoipa::path(get, path = "/api/v1/auth/totp", tag = "auth",
    responses((status = 200, body = TotpStatusJson), (status = 401, body = ErrorBody)))]
pub(crate) async fn totp_status(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<TotpStatusJson>> {
    signed_in(&v)?;
    let t = s.app.totp_status(&v.actor).await?;
    Ok(Json(TotpStatusJson {
        enabled: t.enabled,
        recovery_codes_left: t.recovery_codes_left,
        required: t.required,
    }))
}

/// Starts setting up two-factor sign-in: a new secret for your app. It is
/// required only once confirmed with a code.
#[utoipa::path(post, path = "/api/v1/auth/totp", tag = "auth",
    responses((status = 200, body = TotpSetupJson), (status = 401, body = ErrorBody), (status = 400, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`totp_already_on`")))]
pub(crate) async fn begin_totp(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<TotpSetupJson>> {
    signed_in(&v)?;
    let t = s.app.begin_totp(&v.actor).await?;
    Ok(Json(TotpSetupJson {
        secret: t.secret,
        url: t.url,
    }))
}

/// Turns two-factor sign-in on with a code from the app; answers the
/// recovery codes, once.
#[utoipa::path(post, path = "/api/v1/auth/totp/confirm", tag = "auth", request_body = TotpConfirm,
    responses((status = 200, body = RecoveryCodes), (status = 401, body = ErrorBody), (status = 400, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`totp_not_started`"),
              (status = 422, body = ErrorBody, description = "`invalid_code`")))]
pub(crate) async fn confirm_totp(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<TotpConfirm>,
) -> ApiResult<Json<RecoveryCodes>> {
    signed_in(&v)?;
    let codes = s.app.confirm_totp(&v.actor, &body.code).await?;
    Ok(Json(RecoveryCodes { recovery_codes: codes }))
}

/// Turns two-factor sign-in off (your password confirms it).
#[utoipa::path(post, path = "/api/v1/auth/totp/disable", tag = "auth", request_body = PasswordConfirm,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 400, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_password`")))]
pub(crate) async fn disable_totp(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<PasswordConfirm>,
) -> ApiResult<StatusCode> {
    signed_in(&v)?;
    s.app.disable_totp(&v.actor, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// To tell tokens apart.
    pub name: String,
    /// `read`, `write` (reads too) and/or `admin` (everything the user may).
    pub scopes: Vec<String>,
    /// A date or RFC 3339 time; null or absent: never expires.
    pub expires_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenJson {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

impl From<ApiToken> for TokenJson {
    fn from(t: ApiToken) -> Self {
        TokenJson {
            id: t.id,
            name: t.name,
            scopes: t.scopes.names().iter().map(|s| (*s).to_owned()).collect(),
            created_at: rfc3339(t.created_at),
            expires_at: t.expires_at.map(rfc3339),
            last_used_at: t.last_used_at.map(rfc3339),
            revoked: t.revoked,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewTokenJson {
    /// The token itself, shown only now: send it as `Authorization: Bearer
    /// …`.
    pub token: String,
    #[serde(flatten)]
    pub info: TokenJson,
}

/// Makes a personal API token (from a session or an access token; a token
/// cannot make tokens).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = CreateToken,
    responses((status = 201, body = NewTokenJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 400, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_scopes`, `invalid_expiry`, `invalid_name`")))]
pub(crate) async fn create_token(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<NewTokenJson>)> {
    signed_in(&v)?;
    let t = s
        .app
        .create_api_token(&v.actor, &body.name, &body.scopes, body.expires_at.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewTokenJson {
            token: t.token,
            info: t.info.into(),
        }),
    ))
}

/// Your personal API tokens, newest first.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth",
    responses((status = 200, body = ListJson<TokenJson>), (status = 401, body = ErrorBody)))]
pub(crate) async fn list_tokens(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<ListJson<TokenJson>>> {
    signed_in(&v)?;
    let items = s.app.api_tokens(&v.actor).await?.into_iter().map(Into::into).collect();
    Ok(Json(ListJson {
        items,
        next_cursor: None,
    }))
}

/// Revokes one of your tokens (administrators: anyone's).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody, description = "`invalid_id`"), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`token_not_found`")))]
pub(crate) async fn revoke_token(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    signed_in(&v)?;
    let id = parse_id(&id, "token")?;
    s.app.revoke_api_token(&v.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
