//! Comments: `/api/v1/pages/{path}/-/comments` and `/api/v1/comments/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vellum_app::CommentView;

use super::model::ListJson;
use super::site::parse_id;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ListParams, Visitor};
use crate::fmt::rfc3339;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route(
            "/.sub/pages/comments/{*path}",
            // Page-sized bodies: the comment's own limit (64 KiB) answers
            // with a clear reason before the server's.
            class(RouteClass::Page, get(list_comments).post(add_comment)),
        )
        .route(
            "/comments/{id}",
            class(
                RouteClass::Page,
                get(get_comment).patch(edit_comment).delete(delete_comment),
            ),
        )
        .route("/comments/{id}/resolve", class(RouteClass::Small, post(resolve)))
        .route("/comments/{id}/reopen", class(RouteClass::Small, post(reopen)))
        .route("/mentions", class(RouteClass::Small, get(mention_suggestions)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentJson {
    pub id: i64,
    /// The thread's first comment (its own id when it starts the thread).
    pub thread_id: i64,
    /// The comment this replies to (the thread's first); absent on a
    /// thread's first comment.
    pub parent_id: Option<i64>,
    pub path: String,
    /// The author's user name (absent once deleted).
    pub author: Option<String>,
    pub author_display: Option<String>,
    pub markdown: String,
    /// Rendered and sanitized.
    pub html: String,
    pub created_at: String,
    pub edited_at: Option<String>,
    pub deleted: bool,
    /// The thread is resolved.
    pub resolved: bool,
    pub resolved_by: Option<String>,
    /// What the caller may do with it.
    pub can: CommentCanJson,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentCanJson {
    pub edit: bool,
    pub delete: bool,
    pub resolve: bool,
}

impl From<CommentView> for CommentJson {
    fn from(c: CommentView) -> Self {
        CommentJson {
            id: c.id,
            thread_id: c.thread_id,
            parent_id: c.parent_id,
            path: c.path.into_string(),
            author: c.author,
            author_display: c.author_display,
            markdown: c.markdown,
            html: c.html,
            created_at: rfc3339(c.created_at),
            edited_at: c.edited_at.map(rfc3339),
            deleted: c.deleted,
            resolved: c.resolved,
            resolved_by: c.resolved_by,
            can: CommentCanJson {
                edit: c.can_edit,
                delete: c.can_delete,
                resolve: c.can_resolve,
            },
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCommentJson {
    /// Markdown (at most 64 KiB); `@name` mentions a user.
    pub markdown: String,
    /// Reply to this comment of the page (its thread).
    pub parent_id: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentEditJson {
    pub markdown: String,
}

/// A page's comments: threads in order, each followed by its replies.
#[utoipa::path(get, path = "/api/v1/pages/{path}/-/comments", tag = "comments",
    params(("path" = String, Path), ListParams),
    responses((status = 200, body = ListJson<CommentJson>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn list_comments(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<ListJson<CommentJson>>> {
    Ok(Json(ListJson::from(
        s.app.comments(&v.actor, &path, &q.request()).await?,
    )))
}

/// Comments on a page, or replies to one of its comments (needs the
/// comment level on the page).
#[utoipa::path(post, path = "/api/v1/pages/{path}/-/comments", tag = "comments", request_body = NewCommentJson,
    params(("path" = String, Path)),
    responses((status = 201, body = CommentJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_comment` (the text, or a `parent_id` that is no comment of this page)")))]
pub(crate) async fn add_comment(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiJson(body): ApiJson<NewCommentJson>,
) -> ApiResult<(StatusCode, Json<CommentJson>)> {
    let c = s
        .app
        .add_comment(&v.actor, &path, &body.markdown, body.parent_id)
        .await?;
    Ok((StatusCode::CREATED, Json(c.into())))
}

async fn one(s: &AppState, v: &Visitor, id: i64) -> ApiResult<CommentView> {
    // A comment is found through its page's list; reading one needs
    // reading the page, as the list does.
    Ok(s.app.comment(&v.actor, id).await?)
}

/// One comment.
#[utoipa::path(get, path = "/api/v1/comments/{id}", tag = "comments", params(("id" = i64, Path)),
    responses((status = 200, body = CommentJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`comment_not_found`")))]
pub(crate) async fn get_comment(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CommentJson>> {
    let id = parse_id(&id, "comment")?;
    Ok(Json(one(&s, &v, id).await?.into()))
}

/// Changes one's own comment.
#[utoipa::path(patch, path = "/api/v1/comments/{id}", tag = "comments", request_body = CommentEditJson,
    params(("id" = i64, Path)),
    responses((status = 200, body = CommentJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_comment`")))]
pub(crate) async fn edit_comment(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CommentEditJson>,
) -> ApiResult<Json<CommentJson>> {
    let id = parse_id(&id, "comment")?;
    Ok(Json(s.app.edit_comment(&v.actor, id, &body.markdown).await?.into()))
}

/// Deletes one's own comment (or any, for those who manage the page); its
/// replies stay.
#[utoipa::path(delete, path = "/api/v1/comments/{id}", tag = "comments", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_comment(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id, "comment")?;
    s.app.delete_comment(&v.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resolves the thread the comment belongs to (whoever started it, or
/// someone who may edit the page); answers the thread's first comment.
#[utoipa::path(post, path = "/api/v1/comments/{id}/resolve", tag = "comments", params(("id" = i64, Path)),
    responses((status = 200, body = CommentJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn resolve(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CommentJson>> {
    let id = parse_id(&id, "comment")?;
    Ok(Json(s.app.resolve_comment(&v.actor, id, true).await?.into()))
}

/// Reopens a resolved thread.
#[utoipa::path(post, path = "/api/v1/comments/{id}/reopen", tag = "comments", params(("id" = i64, Path)),
    responses((status = 200, body = CommentJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn reopen(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CommentJson>> {
    let id = parse_id(&id, "comment")?;
    Ok(Json(s.app.resolve_comment(&v.actor, id, false).await?.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MentionParams {
    /// The start of a user name or display name.
    pub q: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MentionJson {
    pub username: String,
    pub display_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MentionsJson {
    pub items: Vec<MentionJson>,
}

/// Accounts to mention, for `@` completion (signed-in users; at most 10).
#[utoipa::path(get, path = "/api/v1/mentions", tag = "comments", params(MentionParams),
    responses((status = 200, body = MentionsJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn mention_suggestions(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<MentionParams>,
) -> ApiResult<Json<MentionsJson>> {
    let items = s
        .app
        .mention_suggestions(&v.actor, q.q.as_deref().unwrap_or(""))
        .await?
        .into_iter()
        .map(|(username, display_name)| MentionJson { username, display_name })
        .collect();
    Ok(Json(MentionsJson { items }))
}
