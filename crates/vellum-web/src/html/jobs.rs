//! The administrators' page of the job queue (`/admin/jobs`): depth, age
//! and failures per queue, the jobs of one state, retry and discard, and
//! the broken-link report.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use vellum_app::{AppError, Code, ErrorKind, JobRecord, LinkReport, PageRequest, QueueStats};

use super::{render_status, Chrome};
use crate::error::HtmlResult;
use crate::extract::Visitor;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::urls::{encode_query, see_other};
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new().route("/admin/jobs", class(RouteClass::Small, get(jobs).post(jobs_post)))
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct JobsQuery {
    #[serde(default)]
    state: String,
    cursor: Option<String>,
    done: Option<String>,
}

pub(crate) struct JobRow {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    pub state: &'static str,
    pub attempts: String,
    pub when: String,
    pub when_rfc3339: String,
    pub error: String,
    pub request_id: String,
    pub can_retry: bool,
    pub can_discard: bool,
}

impl From<JobRecord> for JobRow {
    fn from(j: JobRecord) -> Self {
        use vellum_app::JobState::*;
        let when = match j.state {
            Running => j.locked_until.unwrap_or(j.run_at),
            _ => j.run_at,
        };
        JobRow {
            id: j.id,
            queue: j.queue,
            kind: j.kind,
            state: j.state.as_str(),
            attempts: format!("{} of {}", j.attempts, j.max_attempts),
            when: crate::fmt::seconds(when),
            when_rfc3339: crate::fmt::rfc3339(when),
            error: j.last_error.unwrap_or_default(),
            request_id: j.request_id.unwrap_or_default(),
            can_retry: matches!(j.state, Failed | Dead),
            can_discard: j.state != Running,
        }
    }
}

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsTemplate {
    chrome: Chrome,
    state: String,
    queues: Vec<QueueStats>,
    rows: Vec<JobRow>,
    next: Option<String>,
    report: Option<LinkReport>,
    report_at: String,
    /// The report's most linked missing pages: (href, path, links).
    broken: Vec<(String, String, i64)>,
    message: Option<String>,
    error: Option<String>,
}

async fn jobs(State(s): State<AppState>, v: Visitor, Query(q): Query<JobsQuery>) -> HtmlResult {
    let message = q.done.clone();
    jobs_page(&s, &v, q, message, None, StatusCode::OK).await
}

async fn jobs_page(
    s: &AppState,
    v: &Visitor,
    q: JobsQuery,
    message: Option<String>,
    mut error: Option<String>,
    status: StatusCode,
) -> HtmlResult {
    let queues = s.app.job_stats(&v.actor).await?;
    let req = PageRequest {
        cursor: q.cursor.clone(),
        limit: Some(100),
    };
    let state = (!q.state.is_empty()).then_some(q.state.as_str());
    let (rows, next) = match s.app.list_jobs(&v.actor, state, &req).await {
        Ok(page) => {
            let next = page.next_cursor.map(|c| {
                format!(
                    "/admin/jobs?state={}&cursor={}",
                    encode_query(&q.state),
                    encode_query(&c)
                )
            });
            (page.items.into_iter().map(JobRow::from).collect(), next)
        }
        Err(e) if matches!(e.kind(), ErrorKind::Invalid | ErrorKind::BadRequest) => {
            error = Some(e.message);
            (Vec::new(), None)
        }
        Err(e) => return Err(e.into()),
    };
    let report = s.app.link_report(&v.actor).await?;
    let report_at = report
        .as_ref()
        .map(|r| crate::fmt::seconds(r.generated_at))
        .unwrap_or_default();
    let broken = report
        .as_ref()
        .map(|r| {
            r.top
                .iter()
                .filter_map(|(t, n)| {
                    let path = vellum_core::PagePath::parse(t).ok()?;
                    Some((crate::urls::wiki_href(&path), t.clone(), *n))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(render_status(
        &JobsTemplate {
            chrome: Chrome::new(v, "Background jobs"),
            state: q.state,
            queues,
            rows,
            next,
            report,
            report_at,
            broken,
            message,
            error,
        },
        status,
    ))
}

#[derive(serde::Deserialize)]
pub(crate) struct JobForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    state: String,
}

async fn jobs_post(State(s): State<AppState>, v: Visitor, axum::Form(f): axum::Form<JobForm>) -> HtmlResult {
    let id =
        f.id.trim()
            .parse::<i64>()
            .map_err(|_| AppError::new(Code::InvalidId, "That job id is not a number. Reload the page."));
    let result = match (f.action.as_str(), id) {
        (_, Err(e)) => Err(e),
        ("retry", Ok(id)) => s
            .app
            .retry_job(&v.actor, id)
            .await
            .map(|j| format!("Job {} ({}) is queued again.", j.id, j.kind)),
        ("discard", Ok(id)) => s
            .app
            .discard_job(&v.actor, id)
            .await
            .map(|()| format!("Discarded job {id}.")),
        _ => Err(AppError::new(
            Code::InvalidRequest,
            "That form action is unknown. Reload the page.",
        )),
    };
    match result {
        Ok(m) => Ok(see_other(&format!(
            "/admin/jobs?state={}&done={}",
            encode_query(&f.state),
            encode_query(&m)
        ))),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::Invalid | ErrorKind::Conflict | ErrorKind::BadRequest | ErrorKind::NotFound
            ) =>
        {
            let q = JobsQuery {
                state: f.state,
                ..JobsQuery::default()
            };
            jobs_page(&s, &v, q, None, Some(e.message), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}
