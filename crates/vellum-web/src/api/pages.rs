//! `/api/v1/pages/{path}` and its sub-resources after `/-/`.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vellum_app::{DiffView, ErrorKind, Lookup, Page, PageSummary, Paged, RevisionInfo, SaveRequest};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ListParams, Visitor};
use crate::AppState;

/// A page as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageBody {
    #[serde(flatten)]
    pub page: Page,
    /// Set when the requested path is an old path the page moved from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirected_from: Option<String>,
    /// Set on a save that was merged with an edit that landed first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PutPage {
    /// Defaults to the current title, or one made from the path.
    pub title: Option<String>,
    pub markdown: String,
    pub summary: Option<String>,
    /// Replaces the page's tags when present.
    pub tags: Option<Vec<String>>,
    /// The revision the edit started from; enables the three-way merge.
    pub base_revision: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MoveRequest {
    pub to: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RevertRequest {
    pub revision: i64,
    pub summary: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    pub from: i64,
    pub to: i64,
}

fn split(path: &str) -> (&str, Option<&str>) {
    match path.split_once("/-/") {
        Some((page, sub)) => (page, Some(sub)),
        None => (path, None),
    }
}

fn unknown_sub(sub: &str) -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        "not_found",
        format!("pages have no sub-resource `{sub}`; see /api/v1/openapi.json"),
    )
}

fn parse<T: serde::de::DeserializeOwned>(body: serde_json::Value) -> ApiResult<T> {
    serde_json::from_value(body).map_err(|e| ApiError::new(ErrorKind::Invalid, "invalid_body", e.to_string()))
}

pub(crate) async fn get_dispatch(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    params: ApiQuery<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<Response> {
    let (page, sub) = split(&path);
    match sub {
        None => get_page(State(s), v, ApiPath(page.to_owned()))
            .await
            .map(IntoResponse::into_response),
        Some("revisions") => {
            let list = ListParams {
                cursor: params.0.get("cursor").and_then(|c| c.as_str()).map(str::to_owned),
                limit: match params.0.get("limit").and_then(|l| l.as_str()) {
                    Some(l) => Some(l.parse().map_err(|_| {
                        ApiError::new(
                            ErrorKind::BadRequest,
                            "invalid_query",
                            "`limit` must be a number from 1 to 500",
                        )
                    })?),
                    None => None,
                },
            };
            revisions(State(s), v, page, list)
                .await
                .map(IntoResponse::into_response)
        }
        Some("diff") => {
            let num = |k: &str| -> ApiResult<i64> {
                params
                    .0
                    .get(k)
                    .and_then(|x| x.as_str())
                    .and_then(|x| x.parse().ok())
                    .ok_or_else(|| {
                        ApiError::new(
                            ErrorKind::BadRequest,
                            "invalid_query",
                            format!("give `{k}` as a revision id, e.g. ?from=1&to=2"),
                        )
                    })
            };
            let q = DiffParams {
                from: num("from")?,
                to: num("to")?,
            };
            diff(State(s), v, page, q).await.map(IntoResponse::into_response)
        }
        Some("backlinks") => backlinks(State(s), v, page).await.map(IntoResponse::into_response),
        Some(other) => Err(unknown_sub(other)),
    }
}

pub(crate) async fn post_dispatch(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<Response> {
    let (page, sub) = split(&path);
    match sub {
        Some("move") => move_page(State(s), v, page, parse(body)?)
            .await
            .map(IntoResponse::into_response),
        Some("revert") => revert(State(s), v, page, parse(body)?)
            .await
            .map(IntoResponse::into_response),
        Some(other) => Err(unknown_sub(other)),
        None => Err(ApiError::new(
            ErrorKind::BadRequest,
            "method_not_allowed",
            "use PUT to create or edit a page; POST is for …/-/move and …/-/revert",
        )),
    }
}

/// A page with its Markdown and rendered HTML.
#[utoipa::path(get, path = "/api/v1/pages/{path}", tag = "pages",
    params(("path" = String, Path, description = "Page path, e.g. `engineering/runbooks/deploy`")),
    responses((status = 200, body = PageBody), (status = 404, body = ErrorBody, description = "`page_not_found`"),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_path`")))]
pub(crate) async fn get_page(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
) -> ApiResult<Json<PageBody>> {
    match s.app.lookup(&v.actor, &path).await? {
        Lookup::Found(page) => Ok(Json(PageBody {
            page: *page,
            redirected_from: None,
            merged: None,
        })),
        Lookup::Moved(page) => Ok(Json(PageBody {
            page: *page,
            redirected_from: Some(path),
            merged: None,
        })),
        Lookup::Missing { path, in_trash } => Err(ApiError(
            vellum_app::AppError::not_found("page_not_found", format!("there is no page at `{path}`"))
                .with_details(serde_json::json!({ "path": path, "in_trash": in_trash })),
        )),
    }
}

/// Creates (201) or edits (200) a page. With `base_revision`, an edit that
/// raced another one is merged; overlapping changes answer 409
/// `edit_conflict` with both texts in `details`.
#[utoipa::path(put, path = "/api/v1/pages/{path}", tag = "pages", request_body = PutPage,
    params(("path" = String, Path)),
    responses((status = 201, body = PageBody, description = "Created"), (status = 200, body = PageBody, description = "Updated"),
              (status = 409, body = ErrorBody, description = "`edit_conflict` (details: yours, theirs, merged_with_markers, current_revision) or `page_gone`"),
              (status = 413, body = ErrorBody, description = "`page_too_large`"),
              (status = 422, body = ErrorBody, description = "`invalid_path`, `invalid_title`, `invalid_tag`, `invalid_base_revision`"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn put_page(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiJson(body): ApiJson<PutPage>,
) -> ApiResult<Response> {
    if let (_, Some(sub)) = split(&path) {
        return Err(unknown_sub(sub));
    }
    let req = SaveRequest {
        title: body.title,
        markdown: body.markdown,
        summary: body.summary,
        tags: body.tags,
        base_revision: body.base_revision,
    };
    let saved = s.app.save_page(&v.actor, &path, req).await?;
    let status = if saved.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut headers = HeaderMap::new();
    if saved.created {
        if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/pages/{}", crate::html::encode_path(&saved.page.path)))
        {
            headers.insert(header::LOCATION, loc);
        }
    }
    let body = PageBody {
        page: saved.page,
        redirected_from: None,
        merged: Some(saved.merged),
    };
    Ok((status, headers, Json(body)).into_response())
}

/// Moves a page to the trash (restore it with `POST /api/v1/trash/{id}/restore`).
#[utoipa::path(delete, path = "/api/v1/pages/{path}", tag = "pages", params(("path" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_page(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
) -> ApiResult<StatusCode> {
    if let (_, Some(sub)) = split(&path) {
        return Err(unknown_sub(sub));
    }
    s.app.delete_page(&v.actor, &path).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// All pages, by path.
#[utoipa::path(get, path = "/api/v1/pages", tag = "pages", params(ListParams),
    responses((status = 200, body = Paged<PageSummary>)))]
pub(crate) async fn list_pages(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<Paged<PageSummary>>> {
    Ok(Json(s.app.all_pages(&v.actor, &q.request()).await?))
}

/// A page's revisions, newest first.
#[utoipa::path(get, path = "/api/v1/pages/{path}/-/revisions", tag = "pages",
    params(("path" = String, Path), ListParams),
    responses((status = 200, body = Paged<RevisionInfo>), (status = 404, body = ErrorBody)))]
pub(crate) async fn revisions(
    State(s): State<AppState>,
    v: Visitor,
    path: &str,
    q: ListParams,
) -> ApiResult<Json<Paged<RevisionInfo>>> {
    Ok(Json(s.app.history(&v.actor, path, &q.request()).await?))
}

/// Line diff (with word-level changes) between two revisions of the page.
#[utoipa::path(get, path = "/api/v1/pages/{path}/-/diff", tag = "pages",
    params(("path" = String, Path), DiffParams),
    responses((status = 200, body = DiffView), (status = 404, body = ErrorBody, description = "`revision_not_found`")))]
pub(crate) async fn diff(
    State(s): State<AppState>,
    v: Visitor,
    path: &str,
    q: DiffParams,
) -> ApiResult<Json<DiffView>> {
    Ok(Json(s.app.diff(&v.actor, path, q.from, q.to).await?))
}

/// Pages that link to this page.
#[utoipa::path(get, path = "/api/v1/pages/{path}/-/backlinks", tag = "pages",
    params(("path" = String, Path)), responses((status = 200, body = Vec<PageSummary>)))]
pub(crate) async fn backlinks(State(s): State<AppState>, v: Visitor, path: &str) -> ApiResult<Json<Vec<PageSummary>>> {
    Ok(Json(s.app.backlinks(&v.actor, path).await?))
}

/// Moves the page; the old path keeps redirecting to it.
#[utoipa::path(post, path = "/api/v1/pages/{path}/-/move", tag = "pages", request_body = MoveRequest,
    params(("path" = String, Path)),
    responses((status = 200, body = PageBody), (status = 409, body = ErrorBody, description = "`path_taken`")))]
pub(crate) async fn move_page(
    State(s): State<AppState>,
    v: Visitor,
    path: &str,
    body: MoveRequest,
) -> ApiResult<Json<PageBody>> {
    let page = s.app.move_page(&v.actor, path, &body.to).await?;
    Ok(Json(PageBody {
        page,
        redirected_from: None,
        merged: None,
    }))
}

/// Saves an old revision as a new revision.
#[utoipa::path(post, path = "/api/v1/pages/{path}/-/revert", tag = "pages", request_body = RevertRequest,
    params(("path" = String, Path)),
    responses((status = 200, body = PageBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn revert(
    State(s): State<AppState>,
    v: Visitor,
    path: &str,
    body: RevertRequest,
) -> ApiResult<Json<PageBody>> {
    let saved = s
        .app
        .revert(&v.actor, path, body.revision, body.summary.as_deref())
        .await?;
    Ok(Json(PageBody {
        page: saved.page,
        redirected_from: None,
        merged: None,
    }))
}
