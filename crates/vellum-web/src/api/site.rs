//! Site-wide API resources: revisions, folders, changes, tags, trash,
//! rendering, users and settings.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vellum_app::{
    Change, ErrorKind, Folder, NewAccount, Page, PageSummary, Paged, Revision, Role, TagCount, TrashedPage, WantedPage,
};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ListParams, Visitor};
use crate::AppState;

/// One revision with its text and rendering.
#[utoipa::path(get, path = "/api/v1/revisions/{id}", tag = "pages", params(("id" = i64, Path)),
    responses((status = 200, body = Revision), (status = 404, body = ErrorBody, description = "`revision_not_found`")))]
pub(crate) async fn revision(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Revision>> {
    let id: i64 = id.parse().map_err(|_| {
        ApiError::new(
            ErrorKind::BadRequest,
            "invalid_revision_id",
            "a revision id is a whole number",
        )
    })?;
    Ok(Json(s.app.revision(&v.actor, id).await?))
}

/// The root folder: its sub-folders and pages.
#[utoipa::path(get, path = "/api/v1/folders", tag = "site", params(ListParams), responses((status = 200, body = Folder)))]
pub(crate) async fn folder_root(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<Folder>> {
    Ok(Json(s.app.folder(&v.actor, "", &q.request()).await?))
}

/// A folder: its sub-folders (with page counts) and pages.
#[utoipa::path(get, path = "/api/v1/folders/{path}", tag = "site", params(("path" = String, Path), ListParams),
    responses((status = 200, body = Folder), (status = 404, body = ErrorBody, description = "`folder_not_found`")))]
pub(crate) async fn folder(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<Folder>> {
    Ok(Json(s.app.folder(&v.actor, &path, &q.request()).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesParams {
    /// Only this user's changes.
    pub user: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

/// Page changes, newest first: who, what, when, summary, size change.
#[utoipa::path(get, path = "/api/v1/recent-changes", tag = "site", params(ChangesParams),
    responses((status = 200, body = Paged<Change>)))]
pub(crate) async fn recent_changes(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<ChangesParams>,
) -> ApiResult<Json<Paged<Change>>> {
    let req = vellum_app::PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(Json(s.app.recent_changes(&v.actor, q.user.as_deref(), &req).await?))
}

/// Every tag with its page count.
#[utoipa::path(get, path = "/api/v1/tags", tag = "site", responses((status = 200, body = Vec<TagCount>)))]
pub(crate) async fn tags(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<Vec<TagCount>>> {
    Ok(Json(s.app.tags(&v.actor).await?))
}

/// Pages with a tag.
#[utoipa::path(get, path = "/api/v1/tags/{tag}", tag = "site", params(("tag" = String, Path), ListParams),
    responses((status = 200, body = Paged<PageSummary>)))]
pub(crate) async fn tag(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(tag): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<Paged<PageSummary>>> {
    Ok(Json(s.app.pages_with_tag(&v.actor, &tag, &q.request()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RenderRequest {
    pub markdown: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RenderResponse {
    pub html: String,
    #[schema(value_type = Vec<Object>)]
    pub toc: Vec<vellum_markup::TocEntry>,
}

/// Renders Markdown as a page would be (preview).
#[utoipa::path(post, path = "/api/v1/render", tag = "site", request_body = RenderRequest,
    responses((status = 200, body = RenderResponse), (status = 413, body = ErrorBody)))]
pub(crate) async fn render(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<RenderRequest>,
) -> ApiResult<Json<RenderResponse>> {
    let (html, toc) = s.app.preview(&v.actor, &body.markdown).await?;
    Ok(Json(RenderResponse { html, toc }))
}

/// Deleted pages, most recent first.
#[utoipa::path(get, path = "/api/v1/trash", tag = "site", params(ListParams),
    responses((status = 200, body = Paged<TrashedPage>)))]
pub(crate) async fn trash(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<Paged<TrashedPage>>> {
    Ok(Json(s.app.trash(&v.actor, &q.request()).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RestoreRequest {
    /// Restore to this path instead of the old one.
    pub to: Option<String>,
}

/// Brings a page back from the trash.
#[utoipa::path(post, path = "/api/v1/trash/{id}/restore", tag = "site", params(("id" = i64, Path)),
    request_body = RestoreRequest,
    responses((status = 200, body = Page), (status = 409, body = ErrorBody, description = "`path_taken`"),
              (status = 404, body = ErrorBody, description = "`not_in_trash`")))]
pub(crate) async fn restore(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RestoreRequest>,
) -> ApiResult<Json<Page>> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::new(ErrorKind::BadRequest, "invalid_id", "a page id is a whole number"))?;
    Ok(Json(s.app.restore_page(&v.actor, id, body.to.as_deref()).await?))
}

/// Link targets where no page exists yet, most linked first.
#[utoipa::path(get, path = "/api/v1/wanted", tag = "site", responses((status = 200, body = Vec<WantedPage>)))]
pub(crate) async fn wanted(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<Vec<WantedPage>>> {
    Ok(Json(s.app.wanted_pages(&v.actor).await?))
}

/// Pages no other page links to.
#[utoipa::path(get, path = "/api/v1/orphans", tag = "site", params(ListParams),
    responses((status = 200, body = Paged<PageSummary>)))]
pub(crate) async fn orphans(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<Paged<PageSummary>>> {
    Ok(Json(s.app.orphaned_pages(&v.actor, &q.request()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUser {
    pub username: String,
    pub password: String,
    /// `admin`, `editor` or `viewer`.
    pub role: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    pub id: i64,
    pub username: String,
    pub role: String,
}

/// Creates an account (administrators only).
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = CreateUser,
    responses((status = 201, body = CreatedUser), (status = 409, body = ErrorBody, description = "`username_taken`"),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn create_user(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<CreatedUser>)> {
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError(vellum_app::AppError::invalid(
            "invalid_role",
            "role",
            "the role is one of `admin`, `editor`, `viewer`",
        ))
    })?;
    let account = NewAccount {
        username: &body.username,
        display_name: body.display_name.as_deref(),
        password: &body.password,
        role,
    };
    let id = s.app.create_user(Some(&v.actor), account).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedUser {
            id,
            username: body.username.trim().to_owned(),
            role: role.as_str().into(),
        }),
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Settings {
    /// Whether visitors who are not signed in may read pages.
    pub anonymous_read: bool,
}

/// Site settings (administrators only).
#[utoipa::path(get, path = "/api/v1/settings", tag = "admin", responses((status = 200, body = Settings)))]
pub(crate) async fn get_settings(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<Settings>> {
    let policy = s.app.site_settings(&v.actor).await?;
    Ok(Json(Settings {
        anonymous_read: policy.anonymous_read,
    }))
}

/// Changes site settings (administrators only).
#[utoipa::path(put, path = "/api/v1/settings", tag = "admin", request_body = Settings,
    responses((status = 200, body = Settings), (status = 403, body = ErrorBody)))]
pub(crate) async fn put_settings(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<Settings>,
) -> ApiResult<Json<Settings>> {
    s.app.set_anonymous_read(&v.actor, body.anonymous_read).await?;
    Ok(Json(body))
}
