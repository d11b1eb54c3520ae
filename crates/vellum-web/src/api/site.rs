//! Site-wide API resources: revisions, folders, changes, tags, trash,
//! links reports and rendering.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use vellum_app::Code;
use vellum_core::{PageId, RevisionId};

use super::model::*;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ListParams, Visitor};
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/revisions/{id}", class(RouteClass::Small, get(revision)))
        .route("/folders", class(RouteClass::Small, get(folder_root)))
        .route("/folders/", class(RouteClass::Small, get(folder_root)))
        .route("/folders/{*path}", class(RouteClass::Small, get(folder)))
        .route("/recent-changes", class(RouteClass::Small, get(recent_changes)))
        .route("/tags", class(RouteClass::Small, get(tags)))
        .route("/tags/{tag}", class(RouteClass::Small, get(tag)))
        .route("/render", class(RouteClass::Page, post(render)))
        .route("/trash", class(RouteClass::Small, get(trash)))
        .route("/trash/{id}/restore", class(RouteClass::Small, post(restore)))
        .route("/wanted", class(RouteClass::Small, get(wanted)))
        .route("/orphans", class(RouteClass::Small, get(orphans)))
}

/// A whole-number id from a path segment.
pub(crate) fn parse_id(raw: &str, what: &str) -> ApiResult<i64> {
    raw.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        ApiError::new(
            Code::InvalidId,
            format!("A {what} id is a positive whole number, such as 42."),
        )
    })
}

/// One revision with its text and rendering.
#[utoipa::path(get, path = "/api/v1/revisions/{id}", tag = "pages", params(("id" = i64, Path)),
    responses((status = 200, body = RevisionJson), (status = 400, body = ErrorBody, description = "`invalid_id`"),
              (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`revision_not_found`")))]
pub(crate) async fn revision(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<RevisionJson>> {
    let id = RevisionId(parse_id(&id, "revision")?);
    Ok(Json(s.app.revision(&v.actor, id).await?.into()))
}

/// The root folder: its sub-folders and pages.
#[utoipa::path(get, path = "/api/v1/folders", tag = "site", params(ListParams),
    responses((status = 200, body = FolderJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn folder_root(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<FolderJson>> {
    Ok(Json(s.app.folder(&v.actor, "", &q.request()).await?.into()))
}

/// A folder: its sub-folders (with page counts) and pages.
#[utoipa::path(get, path = "/api/v1/folders/{path}", tag = "site", params(("path" = String, Path), ListParams),
    responses((status = 200, body = FolderJson), (status = 404, body = ErrorBody, description = "`folder_not_found`"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn folder(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<FolderJson>> {
    Ok(Json(s.app.folder(&v.actor, &path, &q.request()).await?.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesParams {
    /// Only this user's changes.
    pub user: Option<String>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

/// Page changes, newest first: who, what, when, summary, size change.
#[utoipa::path(get, path = "/api/v1/recent-changes", tag = "site", params(ChangesParams),
    responses((status = 200, body = ListJson<ChangeJson>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody, description = "`user_not_found`"),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn recent_changes(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<ChangesParams>,
) -> ApiResult<Json<ListJson<ChangeJson>>> {
    let req = vellum_app::PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(Json(ListJson::from(
        s.app.recent_changes(&v.actor, q.user.as_deref(), &req).await?,
    )))
}

/// Every tag with its page count, by tag.
#[utoipa::path(get, path = "/api/v1/tags", tag = "site", params(ListParams),
    responses((status = 200, body = ListJson<TagCountJson>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn tags(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<ListJson<TagCountJson>>> {
    Ok(Json(ListJson::from(s.app.tags(&v.actor, &q.request()).await?)))
}

/// Pages with a tag.
#[utoipa::path(get, path = "/api/v1/tags/{tag}", tag = "site", params(("tag" = String, Path), ListParams),
    responses((status = 200, body = ListJson<PageSummaryJson>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_tag`")))]
pub(crate) async fn tag(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(tag): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<ListJson<PageSummaryJson>>> {
    Ok(Json(ListJson::from(
        s.app.pages_with_tag(&v.actor, &tag, &q.request()).await?,
    )))
}

/// Renders Markdown as a page would be (preview).
#[utoipa::path(post, path = "/api/v1/render", tag = "site", request_body = RenderRequest,
    responses((status = 200, body = RenderResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_body`, `invalid_text`, `too_many_links`")))]
pub(crate) async fn render(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<RenderRequest>,
) -> ApiResult<Json<RenderResponse>> {
    let (html, toc) = s.app.preview(&v.actor, &body.markdown).await?;
    Ok(Json(RenderResponse {
        html: html.to_string(),
        toc,
    }))
}

/// Deleted pages, most recent first.
#[utoipa::path(get, path = "/api/v1/trash", tag = "site", params(ListParams),
    responses((status = 200, body = ListJson<TrashedJson>), (status = 400, body = ErrorBody, description = "`invalid_cursor`"),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn trash(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<ListJson<TrashedJson>>> {
    Ok(Json(ListJson::from(s.app.trash(&v.actor, &q.request()).await?)))
}

/// Brings a page back from the trash.
#[utoipa::path(post, path = "/api/v1/trash/{id}/restore", tag = "site", params(("id" = i64, Path)),
    request_body = RestoreRequest,
    responses((status = 200, body = PageHeadJson), (status = 409, body = ErrorBody, description = "`path_taken`"),
              (status = 400, body = ErrorBody, description = "`invalid_id`"), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`not_in_trash`")))]
pub(crate) async fn restore(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RestoreRequest>,
) -> ApiResult<Json<PageHeadJson>> {
    let id = PageId(parse_id(&id, "page")?);
    Ok(Json(s.app.restore_page(&v.actor, id, body.to.as_deref()).await?.into()))
}

/// Link targets where no page exists yet, most linked first.
#[utoipa::path(get, path = "/api/v1/wanted", tag = "site", params(ListParams),
    responses((status = 200, body = ListJson<WantedJson>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn wanted(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<ListJson<WantedJson>>> {
    Ok(Json(ListJson::from(s.app.wanted_pages(&v.actor, &q.request()).await?)))
}

/// Pages no other page links to.
#[utoipa::path(get, path = "/api/v1/orphans", tag = "site", params(ListParams),
    responses((status = 200, body = ListJson<PageSummaryJson>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn orphans(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<ListJson<PageSummaryJson>>> {
    Ok(Json(ListJson::from(
        s.app.orphaned_pages(&v.actor, &q.request()).await?,
    )))
}
