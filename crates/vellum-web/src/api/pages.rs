//! `/api/v1/pages/{path}` and its sub-resources after `/-/`.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use utoipa::IntoParams;
use vellum_app::{Lookup, SaveRequest};
use vellum_core::RevisionId;

use super::model::*;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ListParams, Visitor};
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::urls::{api_page_href, location};
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/pages", class(RouteClass::Small, get(list_pages)))
        .route(
            "/pages/{*path}",
            class(RouteClass::Page, get(get_page).put(put_page).delete(delete_page)),
        )
        .route(
            "/.sub/pages/revisions/{*path}",
            class(RouteClass::Small, get(revisions)),
        )
        .route("/.sub/pages/diff/{*path}", class(RouteClass::Small, get(diff)))
        .route(
            "/.sub/pages/backlinks/{*path}",
            class(RouteClass::Small, get(backlinks)),
        )
        .route("/.sub/pages/move/{*path}", class(RouteClass::Small, post(move_page)))
        .route("/.sub/pages/revert/{*path}", class(RouteClass::Small, post(revert)))
}

#[derive(Debug, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    /// Revision id to compare from.
    pub from: i64,
    /// Revision id to compare to.
    pub to: i64,
}

/// A page with its Markdown and rendered HTML.
#[utoipa::path(get, path = "/api/v1/pages/{path}", tag = "pages",
    params(("path" = String, Path, description = "Page path, e.g. `engineering/runbooks/deploy`")),
    responses((status = 200, body = PageJson),
              (status = 404, body = ErrorBody, description = "`page_not_found` (`details.in_trash`)"),
              (status = 401, body = ErrorBody), (status = 400, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_path`"),
              (status = 503, body = ErrorBody, description = "`busy`")))]
pub(crate) async fn get_page(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
) -> ApiResult<Json<PageJson>> {
    match s.app.lookup(&v.actor, &path, true).await? {
        Lookup::Found(page) => {
            let can = s.app.capabilities(&v.actor, &page.path).await?;
            Ok(Json(PageJson::new(*page, can)))
        }
        Lookup::Moved(page) => {
            let can = s.app.capabilities(&v.actor, &page.path).await?;
            let mut body = PageJson::new(*page, can);
            body.redirected_from = vellum_core::PagePath::parse(&path).ok().map(|p| p.into_string());
            Ok(Json(body))
        }
        Lookup::Missing { path, in_trash } => Err(ApiError(
            vellum_app::AppError::new(
                vellum_app::Code::PageNotFound,
                format!("There is no page at “{path}”. Check the address, or create the page."),
            )
            .with_details(serde_json::json!({ "path": path.as_str(), "in_trash": in_trash })),
        )),
    }
}

/// Creates (201) or edits (200) a page. With `base_revision`, an edit that
/// raced another one is merged; overlapping changes answer 409
/// `edit_conflict` with both texts in `details`. The answer describes the
/// revision this request wrote.
#[utoipa::path(put, path = "/api/v1/pages/{path}", tag = "pages", request_body = PutPage,
    params(("path" = String, Path)),
    responses((status = 201, body = PageJson, description = "Created"), (status = 200, body = PageJson, description = "Updated"),
              (status = 400, body = ErrorBody, description = "`invalid_json`, `unsupported_media_type`"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`not_found` (a sub-resource path)"),
              (status = 409, body = ErrorBody, description = "`edit_conflict` (details: yours, theirs, merged_with_markers, current_revision) or `page_gone`"),
              (status = 413, body = ErrorBody, description = "`page_too_large`, `payload_too_large`"),
              (status = 422, body = ErrorBody, description = "`invalid_body`, `invalid_text`, `invalid_path`, `invalid_title`, `invalid_tag`, `too_many_tags`, `too_many_links`, `invalid_summary`, `invalid_base_revision`"),
              (status = 503, body = ErrorBody, description = "`busy`: nothing was saved; retry after `Retry-After` seconds")))]
pub(crate) async fn put_page(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiJson(body): ApiJson<PutPage>,
) -> ApiResult<Response> {
    let req = SaveRequest {
        title: body.title,
        markdown: body.markdown,
        summary: body.summary,
        tags: body.tags,
        base_revision: body.base_revision.map(RevisionId),
        verify: body.verify,
    };
    let saved = s.app.save_page(&v.actor, &path, req).await?;
    let status = if saved.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut headers = HeaderMap::new();
    if saved.created {
        headers.insert(header::LOCATION, location(&api_page_href(&saved.page.path)));
    }
    let can = s.app.capabilities(&v.actor, &saved.page.path).await?;
    let mut body = PageJson::new(saved.page, can);
    body.merged = Some(saved.merged);
    Ok((status, headers, Json(body)).into_response())
}

/// Moves a page to the trash (restore it with `POST /api/v1/trash/{id}/restore`).
#[utoipa::path(delete, path = "/api/v1/pages/{path}", tag = "pages", params(("path" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn delete_page(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
) -> ApiResult<StatusCode> {
    s.app.delete_page(&v.actor, &path).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// All pages, by path.
#[utoipa::path(get, path = "/api/v1/pages", tag = "pages", params(ListParams),
    responses((status = 200, body = ListJson<PageSummaryJson>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_limit`")))]
pub(crate) async fn list_pages(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<ListJson<PageSummaryJson>>> {
    Ok(Json(ListJson::from(s.app.all_pages(&v.actor, &q.request()).await?)))
}

/// A page's revisions, newest first.
#[utoipa::path(get, path = "/api/v1/pages/{path}/-/revisions", tag = "pages",
    params(("path" = String, Path), ListParams),
    responses((status = 200, body = ListJson<RevisionInfoJson>), (status = 404, body = ErrorBody),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn revisions(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<ListJson<RevisionInfoJson>>> {
    Ok(Json(ListJson::from(
        s.app.history(&v.actor, &path, &q.request()).await?,
    )))
}

/// Line diff (with word-level changes) between two revisions of the page.
#[utoipa::path(get, path = "/api/v1/pages/{path}/-/diff", tag = "pages",
    params(("path" = String, Path), DiffParams),
    responses((status = 200, body = DiffJson), (status = 400, body = ErrorBody, description = "`invalid_query`"),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`revision_not_found`")))]
pub(crate) async fn diff(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiQuery(q): ApiQuery<DiffParams>,
) -> ApiResult<Json<DiffJson>> {
    Ok(Json(
        s.app
            .diff(&v.actor, &path, RevisionId(q.from), RevisionId(q.to))
            .await?
            .into(),
    ))
}

/// Pages that link to this page, by path.
#[utoipa::path(get, path = "/api/v1/pages/{path}/-/backlinks", tag = "pages",
    params(("path" = String, Path), ListParams),
    responses((status = 200, body = ListJson<PageSummaryJson>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn backlinks(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<ListJson<PageSummaryJson>>> {
    Ok(Json(ListJson::from(
        s.app.backlinks(&v.actor, &path, &q.request()).await?,
    )))
}

/// Moves the page; the old path keeps redirecting to it.
#[utoipa::path(post, path = "/api/v1/pages/{path}/-/move", tag = "pages", request_body = MoveRequest,
    params(("path" = String, Path)),
    responses((status = 200, body = PageHeadJson), (status = 409, body = ErrorBody, description = "`path_taken`"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_path`, `same_path`, `invalid_body`")))]
pub(crate) async fn move_page(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiJson(body): ApiJson<MoveRequest>,
) -> ApiResult<Json<PageHeadJson>> {
    Ok(Json(s.app.move_page(&v.actor, &path, &body.to).await?.into()))
}

/// Saves an old revision as a new revision.
#[utoipa::path(post, path = "/api/v1/pages/{path}/-/revert", tag = "pages", request_body = RevertRequest,
    params(("path" = String, Path)),
    responses((status = 200, body = PageJson), (status = 404, body = ErrorBody),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn revert(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiJson(body): ApiJson<RevertRequest>,
) -> ApiResult<Json<PageJson>> {
    let saved = s
        .app
        .revert(&v.actor, &path, RevisionId(body.revision), body.summary.as_deref())
        .await?;
    let can = s.app.capabilities(&v.actor, &saved.page.path).await?;
    Ok(Json(PageJson::new(saved.page, can)))
}
