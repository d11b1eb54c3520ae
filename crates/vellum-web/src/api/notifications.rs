//! Watching pages and folders, and the notification centre.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vellum_app::{AppError, Code, NotificationView, PageRequest, WatchState};

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Visitor};
use crate::fmt::rfc3339;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route(
            "/.sub/pages/watch/{*path}",
            class(RouteClass::Small, get(page_watch).put(watch_page).delete(unwatch_page)),
        )
        .route(
            "/.sub/folders/watch/{*path}",
            class(
                RouteClass::Small,
                get(folder_watch).put(watch_folder).delete(unwatch_folder),
            ),
        )
        .route(
            "/.sub/folders/watch",
            class(RouteClass::Small, get(root_watch).put(watch_root).delete(unwatch_root)),
        )
        .route("/notifications", class(RouteClass::Small, get(list)))
        .route("/notifications/read", class(RouteClass::Small, post(mark_read)))
        .route(
            "/notifications/settings",
            class(RouteClass::Small, get(settings).put(put_settings)),
        )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PageWatchJson {
    /// You watch the page itself.
    pub page: bool,
    /// The nearest folder at or above it that you watch (`""`: the whole
    /// wiki); changes to the page reach you through it too.
    pub folder: Option<String>,
}

impl From<WatchState> for PageWatchJson {
    fn from(w: WatchState) -> Self {
        PageWatchJson {
            page: w.page,
            folder: w.folder,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FolderWatchJson {
    pub watching: bool,
}

/// Whether you watch the page (or a folder above it).
#[utoipa::path(get, path = "/api/v1/pages/{path}/-/watch", tag = "notifications", params(("path" = String, Path)),
    responses((status = 200, body = PageWatchJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_path`")))]
pub(crate) async fn page_watch(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
) -> ApiResult<Json<PageWatchJson>> {
    signed_in(&v)?;
    Ok(Json(s.app.watch_state(&v.actor, &path).await?.into()))
}

/// Watches the page: its changes and comments reach your notifications.
#[utoipa::path(put, path = "/api/v1/pages/{path}/-/watch", tag = "notifications", params(("path" = String, Path)),
    responses((status = 200, body = PageWatchJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_path`")))]
pub(crate) async fn watch_page(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
) -> ApiResult<Json<PageWatchJson>> {
    Ok(Json(s.app.watch_page(&v.actor, &path, true).await?.into()))
}

/// Stops watching the page (a watched folder above it still counts).
#[utoipa::path(delete, path = "/api/v1/pages/{path}/-/watch", tag = "notifications", params(("path" = String, Path)),
    responses((status = 200, body = PageWatchJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_path`")))]
pub(crate) async fn unwatch_page(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
) -> ApiResult<Json<PageWatchJson>> {
    Ok(Json(s.app.watch_page(&v.actor, &path, false).await?.into()))
}

fn signed_in(v: &Visitor) -> ApiResult<()> {
    if v.actor.user_id().is_none() {
        return Err(AppError::new(Code::Unauthenticated, "Sign in to watch pages and read notifications.").into());
    }
    Ok(())
}

async fn folder_state(s: &AppState, v: &Visitor, folder: &str, on: Option<bool>) -> ApiResult<Json<FolderWatchJson>> {
    let watching = match on {
        Some(on) => s.app.watch_folder(&v.actor, folder, on).await?,
        None => {
            signed_in(v)?;
            s.app.folder_watched(&v.actor, folder).await?
        }
    };
    Ok(Json(FolderWatchJson { watching }))
}

/// Whether you watch the folder.
#[utoipa::path(get, path = "/api/v1/folders/{path}/-/watch", tag = "notifications", params(("path" = String, Path)),
    responses((status = 200, body = FolderWatchJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_path`")))]
pub(crate) async fn folder_watch(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
) -> ApiResult<Json<FolderWatchJson>> {
    folder_state(&s, &v, &path, None).await
}

/// Watches the folder and everything below it.
#[utoipa::path(put, path = "/api/v1/folders/{path}/-/watch", tag = "notifications", params(("path" = String, Path)),
    responses((status = 200, body = FolderWatchJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_path`")))]
pub(crate) async fn watch_folder(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
) -> ApiResult<Json<FolderWatchJson>> {
    folder_state(&s, &v, &path, Some(true)).await
}

/// Stops watching the folder.
#[utoipa::path(delete, path = "/api/v1/folders/{path}/-/watch", tag = "notifications", params(("path" = String, Path)),
    responses((status = 200, body = FolderWatchJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_path`")))]
pub(crate) async fn unwatch_folder(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
) -> ApiResult<Json<FolderWatchJson>> {
    folder_state(&s, &v, &path, Some(false)).await
}

/// Whether you watch the whole wiki.
#[utoipa::path(get, path = "/api/v1/folders/-/watch", tag = "notifications",
    responses((status = 200, body = FolderWatchJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn root_watch(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<FolderWatchJson>> {
    folder_state(&s, &v, "", None).await
}

/// Watches the whole wiki (every change you may read).
#[utoipa::path(put, path = "/api/v1/folders/-/watch", tag = "notifications",
    responses((status = 200, body = FolderWatchJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn watch_root(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<FolderWatchJson>> {
    folder_state(&s, &v, "", Some(true)).await
}

/// Stops watching the whole wiki.
#[utoipa::path(delete, path = "/api/v1/folders/-/watch", tag = "notifications",
    responses((status = 200, body = FolderWatchJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn unwatch_root(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<FolderWatchJson>> {
    folder_state(&s, &v, "", Some(false)).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationParams {
    /// `true`: only unread ones.
    pub unread: Option<bool>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationJson {
    pub id: i64,
    /// `edit` (a watched page changed), `comment` (on a watched page),
    /// `reply` (in a thread you took part in), `mention`, or `review` (a
    /// page whose review you own is coming up or due).
    pub kind: String,
    pub path: String,
    pub title: String,
    /// Who did it.
    pub actor: Option<String>,
    pub actor_display: Option<String>,
    pub comment_id: Option<i64>,
    pub created_at: String,
    pub read: bool,
}

impl From<NotificationView> for NotificationJson {
    fn from(n: NotificationView) -> Self {
        NotificationJson {
            id: n.id,
            kind: n.kind,
            path: n.path.into_string(),
            title: n.title,
            actor: n.actor,
            actor_display: n.actor_display,
            comment_id: n.comment_id,
            created_at: rfc3339(n.created_at),
            read: n.read,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationListJson {
    pub items: Vec<NotificationJson>,
    pub next_cursor: Option<String>,
    /// Unread notifications in all (not only this page).
    pub unread: i64,
}

/// Your notifications, newest first; only about pages you may read now.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(NotificationParams),
    responses((status = 200, body = NotificationListJson), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn list(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<NotificationParams>,
) -> ApiResult<Json<NotificationListJson>> {
    let req = PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    let n = s.app.notifications(&v.actor, q.unread.unwrap_or(false), &req).await?;
    Ok(Json(NotificationListJson {
        items: n.page.items.into_iter().map(NotificationJson::from).collect(),
        next_cursor: n.page.next_cursor,
        unread: n.unread,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkReadJson {
    /// These notifications (at most 1,000)…
    pub ids: Option<Vec<i64>>,
    /// …or all of them.
    pub all: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadJson {
    pub unread: i64,
}

/// Marks notifications read: `{"ids": […]}` or `{"all": true}`.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", request_body = MarkReadJson,
    responses((status = 200, body = UnreadJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn mark_read(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<MarkReadJson>,
) -> ApiResult<Json<UnreadJson>> {
    let ids = match (body.ids, body.all) {
        (Some(ids), None | Some(false)) => Some(ids),
        (None, Some(true)) => None,
        _ => {
            return Err(AppError::invalid(
                Code::InvalidBody,
                "ids",
                "Give either the notifications to mark, {\"ids\": [1, 2]}, or {\"all\": true}.",
            )
            .into())
        }
    };
    let unread = s.app.mark_notifications_read(&v.actor, ids.as_deref()).await?;
    Ok(Json(UnreadJson { unread }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationSettingsJson {
    /// Watch the pages you create (default `true`).
    pub watch_created: bool,
    /// Notification mail: `immediate` (one mail per burst, about a minute
    /// after), `daily` (a digest) or `off`. Needs an e-mail address on
    /// your account, and mail set up on the wiki.
    pub email: String,
    /// The wiki sends mail at all.
    pub mail_enabled: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettingsUpdate {
    pub watch_created: Option<bool>,
    /// `immediate`, `daily` or `off`.
    pub email: Option<String>,
}

async fn settings_json(s: &AppState, v: &Visitor) -> ApiResult<Json<NotificationSettingsJson>> {
    Ok(Json(NotificationSettingsJson {
        watch_created: s.app.watch_created(&v.actor).await?,
        email: s.app.email_mode(&v.actor).await?.as_str().to_owned(),
        mail_enabled: s.app.mail_enabled(),
    }))
}

/// Your notification settings.
#[utoipa::path(get, path = "/api/v1/notifications/settings", tag = "notifications",
    responses((status = 200, body = NotificationSettingsJson), (status = 401, body = ErrorBody)))]
pub(crate) async fn settings(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<NotificationSettingsJson>> {
    settings_json(&s, &v).await
}

/// Changes your notification settings; absent fields stay.
#[utoipa::path(put, path = "/api/v1/notifications/settings", tag = "notifications",
    request_body = NotificationSettingsUpdate,
    responses((status = 200, body = NotificationSettingsJson), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_setting`")))]
pub(crate) async fn put_settings(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<NotificationSettingsUpdate>,
) -> ApiResult<Json<NotificationSettingsJson>> {
    if let Some(mode) = &body.email {
        s.app.set_email_mode(&v.actor, mode).await?;
    }
    if let Some(on) = body.watch_created {
        s.app.set_watch_created(&v.actor, on).await?;
    }
    settings_json(&s, &v).await
}
