//! Page verification: review owners and intervals on pages and folders,
//! "mark as verified", and the report of what is due.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vellum_app::{
    AppError, Code, PageRequest, PageReview, ReviewPolicy, ReviewQuery, ReviewRow, ReviewTally, VerificationView,
};

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Visitor};
use crate::fmt::{csv_field, rfc3339};
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route(
            "/.sub/pages/verification/{*path}",
            class(
                RouteClass::Small,
                get(page_review).put(set_page_review).delete(clear_page_review),
            ),
        )
        .route("/.sub/pages/verify/{*path}", class(RouteClass::Small, post(verify)))
        .route(
            "/.sub/folders/verification/{*path}",
            class(
                RouteClass::Small,
                get(folder_review).put(set_folder_review).delete(clear_folder_review),
            ),
        )
        .route(
            "/.sub/folders/verification",
            class(
                RouteClass::Small,
                get(root_review).put(set_root_review).delete(clear_root_review),
            ),
        )
        .route("/verification", class(RouteClass::Small, get(report)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewPolicyJson {
    /// `page` (the page's own) or `folder` (inherited from a folder).
    pub scope: String,
    /// The page's path, or the folder's (`""`: the whole wiki).
    pub path: String,
    /// The owner's user name (`null` once the account was deleted).
    pub owner: Option<String>,
    pub owner_display: Option<String>,
    pub interval_days: i64,
    pub updated_at: String,
}

impl From<ReviewPolicy> for ReviewPolicyJson {
    fn from(p: ReviewPolicy) -> Self {
        ReviewPolicyJson {
            scope: p.scope.into(),
            path: p.path,
            owner: p.owner,
            owner_display: p.owner_display,
            interval_days: p.interval_days,
            updated_at: rfc3339(p.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationJson {
    pub by: Option<String>,
    pub by_display: Option<String>,
    pub at: String,
    /// The revision that was confirmed.
    pub revision: i64,
    /// Verified by saving an edit with `verify`.
    pub with_edit: bool,
}

impl From<VerificationView> for VerificationJson {
    fn from(v: VerificationView) -> Self {
        VerificationJson {
            by: v.by,
            by_display: v.by_display,
            at: rfc3339(v.at),
            revision: v.revision.0,
            with_edit: v.with_edit,
        }
    }
}

/// A page's review.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageReviewJson {
    pub path: String,
    pub title: String,
    /// The policy that governs the page (its own, or the nearest folder's);
    /// `null` when none does.
    pub policy: Option<ReviewPolicyJson>,
    /// The page has a policy of its own.
    pub own_policy: bool,
    /// `current`, `due` (within the notice days) or `overdue`; `null`
    /// without a policy.
    pub state: Option<String>,
    pub due_at: Option<String>,
    /// The latest verification (`null`: never verified).
    pub last_verified: Option<VerificationJson>,
    /// Verifications, newest first (the latest 50).
    pub history: Vec<VerificationJson>,
    /// You may mark it verified (its owner, or you manage the page).
    pub can_verify: bool,
    /// You may set or remove the page's own policy.
    pub can_set: bool,
}

impl From<PageReview> for PageReviewJson {
    fn from(r: PageReview) -> Self {
        PageReviewJson {
            path: r.path.into_string(),
            title: r.title,
            policy: r.policy.map(Into::into),
            own_policy: r.own_policy,
            state: r.state.map(|s| s.as_str().into()),
            due_at: r.due_at.map(rfc3339),
            last_verified: r.last.map(Into::into),
            history: r.history.into_iter().map(Into::into).collect(),
            can_verify: r.can_verify,
            can_set: r.can_set,
        }
    }
}

/// A review policy to set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewPolicyBody {
    /// The owner's user name: reminded before and when a review is due,
    /// and may mark the page verified. Defaults to you.
    pub owner: Option<String>,
    /// Days between reviews, 1 to 3650.
    pub interval_days: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FolderReviewJson {
    /// The folder's own policy (`null`: none; its pages may still inherit
    /// one from a folder above).
    pub policy: Option<ReviewPolicyJson>,
}

/// The page's review: policy, state, due date and history.
#[utoipa::path(get, path = "/api/v1/pages/{path}/-/verification", tag = "verification", params(("path" = String, Path)),
    responses((status = 200, body = PageReviewJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_path`")))]
pub(crate) async fn page_review(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
) -> ApiResult<Json<PageReviewJson>> {
    Ok(Json(s.app.page_review(&v.actor, &path).await?.into()))
}

/// Sets the page's own review owner and interval (those who manage it).
#[utoipa::path(put, path = "/api/v1/pages/{path}/-/verification", tag = "verification", params(("path" = String, Path)),
    request_body = ReviewPolicyBody,
    responses((status = 200, body = PageReviewJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_review`, `invalid_path`, `invalid_body`")))]
pub(crate) async fn set_page_review(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiJson(body): ApiJson<ReviewPolicyBody>,
) -> ApiResult<Json<PageReviewJson>> {
    let review = s
        .app
        .set_page_review(&v.actor, &path, body.owner.as_deref(), body.interval_days)
        .await?;
    Ok(Json(review.into()))
}

/// Removes the page's own review policy (a folder's may still cover it).
#[utoipa::path(delete, path = "/api/v1/pages/{path}/-/verification", tag = "verification", params(("path" = String, Path)),
    responses((status = 200, body = PageReviewJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_path`")))]
pub(crate) async fn clear_page_review(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
) -> ApiResult<Json<PageReviewJson>> {
    Ok(Json(s.app.clear_page_review(&v.actor, &path).await?.into()))
}

/// Marks the page verified as of its current revision (its review owner,
/// or those who manage it).
#[utoipa::path(post, path = "/api/v1/pages/{path}/-/verify", tag = "verification", params(("path" = String, Path)),
    responses((status = 200, body = PageReviewJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`no_review`: no policy covers the page"),
              (status = 422, body = ErrorBody, description = "`invalid_path`")))]
pub(crate) async fn verify(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
) -> ApiResult<Json<PageReviewJson>> {
    Ok(Json(s.app.verify_page(&v.actor, &path).await?.into()))
}

async fn folder_answer(s: &AppState, v: &Visitor, folder: &str) -> ApiResult<Json<FolderReviewJson>> {
    let policy = s.app.folder_review(&v.actor, folder).await?;
    Ok(Json(FolderReviewJson {
        policy: policy.map(Into::into),
    }))
}

async fn folder_set(
    s: &AppState,
    v: &Visitor,
    folder: &str,
    body: Option<ReviewPolicyBody>,
) -> ApiResult<Json<FolderReviewJson>> {
    let policy = s
        .app
        .set_folder_review(
            &v.actor,
            folder,
            body.as_ref().map(|b| (b.owner.as_deref(), b.interval_days)),
        )
        .await?;
    Ok(Json(FolderReviewJson {
        policy: policy.map(Into::into),
    }))
}

/// The folder's own review policy.
#[utoipa::path(get, path = "/api/v1/folders/{path}/-/verification", tag = "verification", params(("path" = String, Path)),
    responses((status = 200, body = FolderReviewJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_path`")))]
pub(crate) async fn folder_review(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
) -> ApiResult<Json<FolderReviewJson>> {
    folder_answer(&s, &v, &path).await
}

/// Sets the folder's review owner and interval: every page below without
/// a policy of its own (or a nearer folder's) follows it.
#[utoipa::path(put, path = "/api/v1/folders/{path}/-/verification", tag = "verification", params(("path" = String, Path)),
    request_body = ReviewPolicyBody,
    responses((status = 200, body = FolderReviewJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_review`, `invalid_path`, `invalid_body`")))]
pub(crate) async fn set_folder_review(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiJson(body): ApiJson<ReviewPolicyBody>,
) -> ApiResult<Json<FolderReviewJson>> {
    folder_set(&s, &v, &path, Some(body)).await
}

/// Removes the folder's review policy.
#[utoipa::path(delete, path = "/api/v1/folders/{path}/-/verification", tag = "verification", params(("path" = String, Path)),
    responses((status = 200, body = FolderReviewJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_path`")))]
pub(crate) async fn clear_folder_review(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
) -> ApiResult<Json<FolderReviewJson>> {
    folder_set(&s, &v, &path, None).await
}

/// The whole wiki's review policy (the default for every page).
#[utoipa::path(get, path = "/api/v1/folders/-/verification", tag = "verification",
    responses((status = 200, body = FolderReviewJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn root_review(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<FolderReviewJson>> {
    folder_answer(&s, &v, "").await
}

/// Sets the whole wiki's review policy (administrators).
#[utoipa::path(put, path = "/api/v1/folders/-/verification", tag = "verification", request_body = ReviewPolicyBody,
    responses((status = 200, body = FolderReviewJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_review`, `invalid_body`")))]
pub(crate) async fn set_root_review(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<ReviewPolicyBody>,
) -> ApiResult<Json<FolderReviewJson>> {
    folder_set(&s, &v, "", Some(body)).await
}

/// Removes the whole wiki's review policy (administrators).
#[utoipa::path(delete, path = "/api/v1/folders/-/verification", tag = "verification",
    responses((status = 200, body = FolderReviewJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn clear_root_review(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<FolderReviewJson>> {
    folder_set(&s, &v, "", None).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// `due` (within the notice days), `overdue`, `never` (never verified),
    /// `current`, `attention` (due, overdue or never verified) or `all`
    /// (the default).
    pub state: Option<String>,
    /// Only pages in this folder and below.
    pub folder: Option<String>,
    /// Only pages this user owns the review of.
    pub owner: Option<String>,
    /// `json` (the default) or `csv` (every matching page, no paging).
    pub format: Option<String>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewRowJson {
    pub path: String,
    pub title: String,
    pub folder: String,
    pub owner: Option<String>,
    pub owner_display: Option<String>,
    pub interval_days: i64,
    /// Where the governing policy is set: `page` or `folder`.
    pub policy_scope: String,
    pub policy_path: String,
    /// `null`: never verified.
    pub verified_at: Option<String>,
    pub verified_by: Option<String>,
    pub due_at: String,
    /// `current`, `due` or `overdue`.
    pub state: String,
}

impl From<ReviewRow> for ReviewRowJson {
    fn from(r: ReviewRow) -> Self {
        ReviewRowJson {
            path: r.path.into_string(),
            title: r.title,
            folder: r.folder,
            owner: r.owner,
            owner_display: r.owner_display,
            interval_days: r.interval_days,
            policy_scope: r.policy_scope.into(),
            policy_path: r.policy_path,
            verified_at: r.verified_at.map(rfc3339),
            verified_by: r.verified_by,
            due_at: rfc3339(r.due_at),
            state: r.state.as_str().into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TallyJson {
    pub current: u64,
    pub due: u64,
    pub overdue: u64,
    pub never: u64,
    pub total: u64,
}

impl From<ReviewTally> for TallyJson {
    fn from(t: ReviewTally) -> Self {
        TallyJson {
            current: t.current,
            due: t.due,
            overdue: t.overdue,
            never: t.never,
            total: t.total,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupTallyJson {
    /// The folder, or the owner's user name (`""`: the top level, or no
    /// owner).
    pub key: String,
    #[serde(flatten)]
    pub tally: TallyJson,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewReportJson {
    /// Soonest due first.
    pub items: Vec<ReviewRowJson>,
    pub next_cursor: Option<String>,
    /// Counts over every page matching `folder` and `owner` (any state).
    pub summary: TallyJson,
    pub by_folder: Vec<GroupTallyJson>,
    pub by_owner: Vec<GroupTallyJson>,
    /// The time the states were worked out at.
    pub as_of: String,
}

fn groups(g: Vec<(String, ReviewTally)>) -> Vec<GroupTallyJson> {
    g.into_iter()
        .map(|(key, t)| GroupTallyJson { key, tally: t.into() })
        .collect()
}

/// The pages under review that you may read, with their state: due,
/// overdue and never verified, per folder and owner; as JSON or CSV.
#[utoipa::path(get, path = "/api/v1/verification", tag = "verification", params(ReportParams),
    responses((status = 200, body = ReviewReportJson, description = "JSON, or `text/csv` with `format=csv`"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_review` (an unknown state), `invalid_path`, `invalid_limit`")))]
pub(crate) async fn report(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<ReportParams>,
) -> ApiResult<Response> {
    let query = ReviewQuery {
        state: q.state,
        folder: q.folder,
        owner: q.owner,
    };
    match q.format.as_deref() {
        None | Some("json") => {
            let req = PageRequest {
                cursor: q.cursor,
                limit: q.limit,
            };
            let r = s.app.review_report(&v.actor, &query, &req).await?;
            Ok(Json(ReviewReportJson {
                items: r.page.items.into_iter().map(Into::into).collect(),
                next_cursor: r.page.next_cursor,
                summary: r.tally.into(),
                by_folder: groups(r.by_folder),
                by_owner: groups(r.by_owner),
                as_of: rfc3339(r.as_of),
            })
            .into_response())
        }
        Some("csv") => {
            let rows = s.app.review_report_all(&v.actor, &query).await?;
            let mut out =
                String::from("path,title,folder,owner,interval_days,state,due_at,verified_at,verified_by\r\n");
            for r in rows {
                let fields = [
                    csv_field(r.path.as_str()),
                    csv_field(&r.title),
                    csv_field(&r.folder),
                    csv_field(r.owner.as_deref().unwrap_or_default()),
                    r.interval_days.to_string(),
                    r.state.as_str().to_owned(),
                    rfc3339(r.due_at),
                    r.verified_at.map(rfc3339).unwrap_or_default(),
                    csv_field(r.verified_by.as_deref().unwrap_or_default()),
                ];
                out.push_str(&fields.join(","));
                out.push_str("\r\n");
            }
            Ok(crate::fmt::csv_download(
                out,
                "attachment; filename=\"verification.csv\"",
            ))
        }
        Some(_) => Err(AppError::invalid(Code::InvalidQuery, "format", "The format is json or csv.").into()),
    }
}
