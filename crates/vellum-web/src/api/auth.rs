//! Sign-in and sign-out for API clients (the session cookie is shared with
//! the HTML UI).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vellum_app::{Actor, ErrorKind};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Visitor, SESSION_COOKIE};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub username: String,
    /// `admin`, `editor` or `viewer`.
    pub role: String,
}

pub(crate) fn session_cookie(token: &str, max_age_secs: u64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .ok()
}

pub(crate) fn me_of(actor: &Actor) -> Option<Me> {
    match actor {
        Actor::User { name, role, .. } => Some(Me {
            username: name.clone(),
            role: role.as_str().to_owned(),
        }),
        Actor::Anonymous => None,
    }
}

/// Signs in; the response sets the `vellum_session` cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Me, description = "Signed in; session cookie set"),
              (status = 401, body = ErrorBody, description = "`invalid_credentials`")))]
pub(crate) async fn login(State(s): State<AppState>, ApiJson(req): ApiJson<LoginRequest>) -> ApiResult<Response> {
    let new = s.app.login(&req.username, &req.password).await?;
    let me = me_of(&new.session.actor)
        .ok_or_else(|| ApiError::new(ErrorKind::Internal, "internal", "signed in without a user"))?;
    let mut headers = HeaderMap::new();
    if let Some(c) = session_cookie(&new.token, s.app.config().session_ttl.as_secs(), s.opts.secure_cookies) {
        headers.insert(header::SET_COOKIE, c);
    }
    Ok((StatusCode::OK, headers, Json(me)).into_response())
}

/// Signs out and clears the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub(crate) async fn logout(State(s): State<AppState>, v: Visitor) -> ApiResult<Response> {
    if let Some(token) = &v.session_token {
        s.app.logout(token).await?;
    }
    let mut headers = HeaderMap::new();
    if let Some(c) = session_cookie("", 0, s.opts.secure_cookies) {
        headers.insert(header::SET_COOKIE, c);
    }
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub(crate) async fn me(v: Visitor) -> ApiResult<Json<Me>> {
    me_of(&v.actor)
        .map(Json)
        .ok_or_else(|| ApiError::new(ErrorKind::Unauthenticated, "unauthenticated", "sign in to do this"))
}
