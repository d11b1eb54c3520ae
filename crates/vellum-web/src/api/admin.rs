//! Accounts, the audit log and site settings (administrators).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vellum_app::{AccountChange, AccountQuery, AppError, AuditQuery, Code, NewAccount, Role, SettingsChange};

use super::model::*;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ListParams, Visitor};
use crate::fmt::rfc3339;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/users", class(RouteClass::Small, get(list_users).post(create_user)))
        .route(
            "/users/{username}",
            class(RouteClass::Small, get(get_user).patch(update_user).delete(delete_user)),
        )
        .route(
            "/users/{username}/password",
            class(RouteClass::Small, post(reset_password)),
        )
        .route("/users/{username}/totp", class(RouteClass::Small, delete(reset_totp)))
        .route("/audit", class(RouteClass::Small, get(audit)))
        .route(
            "/settings",
            class(RouteClass::Small, get(get_settings).put(put_settings)),
        )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListParams {
    /// Part of the user name or display name.
    pub q: Option<String>,
    pub role: Option<String>,
    /// `true`: only disabled accounts; `false`: only enabled ones.
    pub disabled: Option<bool>,
    pub cursor: Option<String>,
    /// 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

/// Accounts, by name, filtered (administrators only).
#[utoipa::path(get, path = "/api/v1/users", tag = "admin", params(UserListParams),
    responses((status = 200, body = ListJson<UserJson>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn list_users(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<UserListParams>,
) -> ApiResult<Json<ListJson<UserJson>>> {
    let query = AccountQuery {
        q: q.q,
        role: q.role,
        disabled: q.disabled,
    };
    let req = ListParams {
        cursor: q.cursor,
        limit: q.limit,
    }
    .request();
    Ok(Json(ListJson::from(s.app.users(&v.actor, &query, &req).await?)))
}

/// Creates an account (administrators only).
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = CreateUser,
    responses((status = 201, body = UserJson), (status = 409, body = ErrorBody, description = "`username_taken`"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`role_not_found`"),
              (status = 422, body = ErrorBody, description = "`invalid_username`, `invalid_password`, `invalid_role`, `invalid_display_name`, `invalid_email`")))]
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
        role,
        email: body.email.as_deref(),
    };
    s.app.create_user(Some(&v.actor), account).await?;
    let d = s.app.user(&v.actor, body.username.trim()).await?;
    Ok((StatusCode::CREATED, Json(UserJson::from(d.summary))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserDetailJson {
    #[serde(flatten)]
    pub user: UserJson,
    pub email: Option<String>,
    pub groups: Vec<String>,
    /// Live browser sessions.
    pub sessions: usize,
    pub totp_enabled: bool,
    /// Signs in through single sign-on.
    pub sso: bool,
}

/// One account (administrators only).
#[utoipa::path(get, path = "/api/v1/users/{username}", tag = "admin", params(("username" = String, Path)),
    responses((status = 200, body = UserDetailJson), (status = 404, body = ErrorBody, description = "`user_not_found`"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn get_user(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<UserDetailJson>> {
    let d = s.app.user(&v.actor, &name).await?;
    Ok(Json(UserDetailJson {
        user: d.summary.into(),
        email: d.email,
        groups: d.groups,
        sessions: d.sessions,
        totp_enabled: d.totp_enabled,
        sso: d.sso,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub role: Option<String>,
    /// `true` disables the account and ends all its sessions and tokens at
    /// once, on every node; `false` enables it again.
    pub disabled: Option<bool>,
    pub display_name: Option<String>,
    /// `""` removes it.
    pub email: Option<String>,
}

/// Changes an account (administrators only). One enabled administrator
/// always remains.
#[utoipa::path(patch, path = "/api/v1/users/{username}", tag = "admin", request_body = UpdateUser,
    params(("username" = String, Path)),
    responses((status = 200, body = UserJson), (status = 404, body = ErrorBody, description = "`user_not_found`, `role_not_found`"),
              (status = 409, body = ErrorBody, description = "`last_admin`"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_role`, `invalid_display_name`, `invalid_email`")))]
pub(crate) async fn update_user(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> ApiResult<Json<UserJson>> {
    let ch = AccountChange {
        role: body.role,
        disabled: body.disabled,
        display_name: body.display_name,
        email: body.email,
    };
    Ok(Json(s.app.update_user(&v.actor, &name, &ch).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    pub password: String,
}

/// Sets a new password for an account (administrators only); its sessions
/// and tokens end.
#[utoipa::path(post, path = "/api/v1/users/{username}/password", tag = "admin", request_body = ResetPassword,
    params(("username" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody, description = "`user_not_found`"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_password`")))]
pub(crate) async fn reset_password(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<ResetPassword>,
) -> ApiResult<StatusCode> {
    s.app.reset_password(&v.actor, &name, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turns off an account's two-factor sign-in, for a lost phone
/// (administrators only).
#[utoipa::path(delete, path = "/api/v1/users/{username}/totp", tag = "admin", params(("username" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody, description = "`user_not_found`"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn reset_totp(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    s.app.reset_totp(&v.actor, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes an account (administrators only). Its pages, revisions and
/// changes stay, credited to the placeholder account `deleted-user`.
#[utoipa::path(delete, path = "/api/v1/users/{username}", tag = "admin", params(("username" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody, description = "`user_not_found`"),
              (status = 409, body = ErrorBody, description = "`last_admin`"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn delete_user(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    s.app.delete_user(&v.actor, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// The user name of who acted.
    pub actor: Option<String>,
    /// An action (`auth.sign_in_failed`), or a prefix ending in `.` (`auth.`).
    pub action: Option<String>,
    /// A date (`2026-12-01`) or RFC 3339 time: entries from then on.
    pub since: Option<String>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditJson {
    pub id: i64,
    pub at: String,
    /// The user name of who acted (absent: the system, or nobody signed in).
    pub actor: Option<String>,
    pub action: String,
    /// What it was about (`user:ann`, `access:hr`, a page path, …).
    pub target: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// The audit log, newest first (administrators only). Entries cannot be
/// changed or deleted; they leave only past the retention setting.
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditParams),
    responses((status = 200, body = ListJson<AuditJson>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn audit(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> ApiResult<Json<ListJson<AuditJson>>> {
    let query = AuditQuery {
        actor: q.actor,
        action: q.action,
        since: q.since,
    };
    let req = ListParams {
        cursor: q.cursor,
        limit: q.limit,
    }
    .request();
    let page = s.app.audit_log(&v.actor, &query, &req).await?;
    Ok(Json(ListJson {
        items: page
            .items
            .into_iter()
            .map(|e| AuditJson {
                id: e.id,
                at: rfc3339(e.at),
                actor: e.actor,
                action: e.action,
                target: e.target,
                ip: e.ip,
                user_agent: e.user_agent,
                details: e.details,
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

fn settings_json(s: vellum_app::SiteSettings) -> Settings {
    Settings {
        anonymous_read: s.anonymous_read,
        require_totp: s.require_totp,
        audit_retention_days: s.audit_retention_days,
        trash_retention_days: s.trash_retention_days,
    }
}

/// Site settings (administrators only).
#[utoipa::path(get, path = "/api/v1/settings", tag = "admin",
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn get_settings(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<Settings>> {
    Ok(Json(settings_json(s.app.site_settings(&v.actor).await?)))
}

/// Changes site settings (administrators only); absent fields stay.
#[utoipa::path(put, path = "/api/v1/settings", tag = "admin", request_body = SettingsUpdate,
    responses((status = 200, body = Settings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn put_settings(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<SettingsUpdate>,
) -> ApiResult<Json<Settings>> {
    let ch = SettingsChange {
        anonymous_read: body.anonymous_read,
        require_totp: body.require_totp,
        audit_retention_days: body.audit_retention_days,
        trash_retention_days: body.trash_retention_days,
    };
    Ok(Json(settings_json(s.app.update_settings(&v.actor, ch).await?)))
}
