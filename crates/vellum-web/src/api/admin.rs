//! Accounts and site settings (administrators).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Json;
use vellum_app::{AppError, Code, NewAccount, Role};

use super::model::*;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, ListParams, Visitor};
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/users", class(RouteClass::Small, get(list_users).post(create_user)))
        .route(
            "/settings",
            class(RouteClass::Small, get(get_settings).put(put_settings)),
        )
}

/// Accounts, by name (administrators only).
#[utoipa::path(get, path = "/api/v1/users", tag = "admin", params(ListParams),
    responses((status = 200, body = ListJson<UserJson>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn list_users(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<ListJson<UserJson>>> {
    Ok(Json(ListJson::from(s.app.users(&v.actor, &q.request()).await?)))
}

/// Creates an account (administrators only).
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = CreateUser,
    responses((status = 201, body = UserJson), (status = 409, body = ErrorBody, description = "`username_taken`"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_username`, `invalid_password`, `invalid_role`, `invalid_display_name`")))]
pub(crate) async fn create_user(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<UserJson>)> {
    let role = Role::parse(body.role.trim()).map_err(|_| {
        AppError::invalid(
            Code::InvalidRole,
            "role",
            "The role is “admin”, “editor”, “commenter”, “viewer” or a custom role an administrator has made.",
        )
    })?;
    let account = NewAccount {
        username: &body.username,
        display_name: body.display_name.as_deref(),
        password: &body.password,
        role: role.clone(),
    };
    let id = s.app.create_user(Some(&v.actor), account).await?;
    let username = body.username.trim().to_owned();
    Ok((
        StatusCode::CREATED,
        Json(UserJson {
            id: id.0,
            display_name: body
                .display_name
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| username.clone()),
            username,
            role: role.as_str().into(),
            created_at: crate::fmt::rfc3339(vellum_core::Timestamp::now()),
            disabled: false,
        }),
    ))
}

/// Site settings (administrators only).
#[utoipa::path(get, path = "/api/v1/settings", tag = "admin",
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn get_settings(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<Settings>> {
    let policy = s.app.site_settings(&v.actor).await?;
    Ok(Json(Settings {
        anonymous_read: policy.anonymous_read,
    }))
}

/// Changes site settings (administrators only).
#[utoipa::path(put, path = "/api/v1/settings", tag = "admin", request_body = Settings,
    responses((status = 200, body = Settings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn put_settings(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<Settings>,
) -> ApiResult<Json<Settings>> {
    let policy = s.app.set_anonymous_read(&v.actor, body.anonymous_read).await?;
    Ok(Json(Settings {
        anonymous_read: policy.anonymous_read,
    }))
}
