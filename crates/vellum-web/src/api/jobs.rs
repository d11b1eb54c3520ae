//! The job queue and the reports its jobs make (administrators).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vellum_app::JobRecord;

use super::model::ListJson;
use super::site::parse_id;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery, ListParams, Visitor};
use crate::fmt::rfc3339;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/admin/jobs", class(RouteClass::Small, get(list_jobs)))
        .route("/admin/jobs/stats", class(RouteClass::Small, get(job_stats)))
        .route(
            "/admin/jobs/{id}",
            class(RouteClass::Small, get(get_job).delete(discard_job)),
        )
        .route("/admin/jobs/{id}/retry", class(RouteClass::Small, post(retry_job)))
        .route(
            "/admin/reports/broken-links",
            class(RouteClass::Small, get(broken_links)),
        )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobListParams {
    /// `queued`, `running`, `failed` (waiting to be retried) or `dead`
    /// (gave up); absent: all.
    pub state: Option<String>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobJson {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Higher runs first.
    pub priority: i32,
    /// `queued`, `running`, `failed` or `dead`.
    pub state: String,
    /// Runs started so far.
    pub attempts: i32,
    pub max_attempts: i32,
    /// When it runs (next).
    pub run_at: String,
    /// While running: until when its worker holds it.
    pub locked_until: Option<String>,
    pub worker: Option<String>,
    pub unique_key: Option<String>,
    pub last_error: Option<String>,
    /// The request that caused it.
    pub request_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<JobRecord> for JobJson {
    fn from(j: JobRecord) -> Self {
        JobJson {
            id: j.id,
            queue: j.queue,
            kind: j.kind,
            payload: j.payload,
            priority: j.priority,
            state: j.state.as_str().to_owned(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: rfc3339(j.run_at),
            locked_until: j.locked_until.map(rfc3339),
            worker: j.worker,
            unique_key: j.unique_key,
            last_error: j.last_error,
            request_id: j.request_id,
            created_at: rfc3339(j.created_at),
            updated_at: rfc3339(j.updated_at),
        }
    }
}

/// Jobs, newest first (administrators only). Finished jobs leave the
/// queue; failed ones wait for their retry, dead ones for an administrator.
#[utoipa::path(get, path = "/api/v1/admin/jobs", tag = "admin", params(JobListParams),
    responses((status = 200, body = ListJson<JobJson>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn list_jobs(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<JobListParams>,
) -> ApiResult<Json<ListJson<JobJson>>> {
    let req = ListParams {
        cursor: q.cursor,
        limit: q.limit,
    }
    .request();
    let page = s.app.list_jobs(&v.actor, q.state.as_deref(), &req).await?;
    Ok(Json(ListJson::from(page)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueJson {
    pub queue: String,
    pub queued: i64,
    pub running: i64,
    pub failed: i64,
    pub dead: i64,
    /// Seconds since the oldest waiting job was enqueued.
    pub oldest_waiting_seconds: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobStatsJson {
    pub queues: Vec<QueueJson>,
}

/// Depth, age and failures of each queue (administrators only).
#[utoipa::path(get, path = "/api/v1/admin/jobs/stats", tag = "admin",
    responses((status = 200, body = JobStatsJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn job_stats(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<JobStatsJson>> {
    let queues = s
        .app
        .job_stats(&v.actor)
        .await?
        .into_iter()
        .map(|q| QueueJson {
            queue: q.queue,
            queued: q.queued,
            running: q.running,
            failed: q.failed,
            dead: q.dead,
            oldest_waiting_seconds: q.oldest_waiting_seconds,
        })
        .collect();
    Ok(Json(JobStatsJson { queues }))
}

/// One job (administrators only).
#[utoipa::path(get, path = "/api/v1/admin/jobs/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = JobJson), (status = 400, body = ErrorBody, description = "`invalid_id`"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`job_not_found`")))]
pub(crate) async fn get_job(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<JobJson>> {
    let id = parse_id(&id, "job")?;
    Ok(Json(s.app.job(&v.actor, id).await?.into()))
}

/// Runs a failed or dead job again now, with all its attempts
/// (administrators only).
#[utoipa::path(post, path = "/api/v1/admin/jobs/{id}/retry", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = JobJson), (status = 400, body = ErrorBody, description = "`invalid_id`"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`job_not_found`"),
              (status = 409, body = ErrorBody, description = "`job_running` (not failed or dead), `job_duplicate`")))]
pub(crate) async fn retry_job(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<JobJson>> {
    let id = parse_id(&id, "job")?;
    Ok(Json(s.app.retry_job(&v.actor, id).await?.into()))
}

/// Discards a job that is not running (administrators only).
#[utoipa::path(delete, path = "/api/v1/admin/jobs/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody, description = "`invalid_id`"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`job_not_found`"),
              (status = 409, body = ErrorBody, description = "`job_running`")))]
pub(crate) async fn discard_job(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id, "job")?;
    s.app.discard_job(&v.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BrokenLinkJson {
    /// The path linked to, where no page lives.
    pub target: String,
    /// Links to it from live pages.
    pub links: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkReportJson {
    /// When the report was made (daily; absent before the first one).
    pub generated_at: Option<String>,
    pub broken_links: i64,
    pub missing_pages: i64,
    /// The most linked missing pages (at most 100).
    pub top: Vec<BrokenLinkJson>,
}

/// The broken-link report made by the daily job (administrators only).
#[utoipa::path(get, path = "/api/v1/admin/reports/broken-links", tag = "admin",
    responses((status = 200, body = LinkReportJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn broken_links(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<LinkReportJson>> {
    let report = s.app.link_report(&v.actor).await?;
    Ok(Json(match report {
        None => LinkReportJson {
            generated_at: None,
            broken_links: 0,
            missing_pages: 0,
            top: Vec::new(),
        },
        Some(r) => LinkReportJson {
            generated_at: Some(rfc3339(r.generated_at)),
            broken_links: r.broken_links,
            missing_pages: r.missing_pages,
            top: r
                .top
                .into_iter()
                .map(|(target, links)| BrokenLinkJson { target, links })
                .collect(),
        },
    }))
}
