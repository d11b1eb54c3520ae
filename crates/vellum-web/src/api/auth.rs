//! Sign-in and sign-out for API clients (the session cookie is shared with
//! the HTML UI).

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use vellum_app::{Actor, Code};

use super::model::{LoginRequest, Me};
use crate::cookies::{cleared, session_cookie};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Visitor};
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/auth/login", class(RouteClass::Small, post(login)))
        .route("/auth/logout", class(RouteClass::Small, post(logout)))
        .route("/auth/me", class(RouteClass::Small, get(me)))
}

fn me_of(actor: &Actor, csrf: &str) -> Option<Me> {
    match actor {
        Actor::User { name, role, .. } => Some(Me {
            username: name.clone(),
            role: role.as_str().to_owned(),
            csrf_token: csrf.to_owned(),
        }),
        Actor::Anonymous => None,
    }
}

/// Signs in; the response sets the `vellum_session` cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Me, description = "Signed in; session cookie set"),
              (status = 400, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 401, body = ErrorBody, description = "`invalid_credentials`")))]
pub(crate) async fn login(State(s): State<AppState>, ApiJson(req): ApiJson<LoginRequest>) -> ApiResult<Response> {
    let new = s.app.login(&req.username, &req.password).await?;
    let me = me_of(&new.session.actor, &new.session.csrf_token)
        .ok_or_else(|| ApiError(vellum_app::AppError::bug("signed in without a user")))?;
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

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub(crate) async fn me(v: Visitor) -> ApiResult<Json<Me>> {
    me_of(&v.actor, &v.csrf)
        .map(Json)
        .ok_or_else(|| ApiError::new(Code::Unauthenticated, "Sign in to see or do this."))
}
