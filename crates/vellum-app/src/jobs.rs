//! Background jobs: what a use case enqueues in its unit of work, the
//! handlers that run them, and the administrators' view of the queue.
//! The queue itself is rows in the database (`vellum_store::jobs`); the
//! workers that claim and run them are in `worker.rs`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use vellum_core::{Actor, Timestamp};
use vellum_store::jobs::{self as store, NewJob};
pub use vellum_store::jobs::{JobRecord, JobState};

use crate::uow::UnitOfWork;
use crate::{App, AppError, AppResult, Code, PageRequest, Paged};

/// The queue of jobs that name none.
pub const DEFAULT_QUEUE: &str = "default";
/// The queue of the built-in upkeep jobs.
pub const UPKEEP_QUEUE: &str = "upkeep";
/// Runs before a job is dead, unless its kind says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub kind: String,
    pub payload: serde_json::Value,
    pub queue: String,
    /// Higher runs first (default 0).
    pub priority: i32,
    /// At most one job with this key waits or runs at a time.
    pub unique_key: Option<String>,
    /// Run no earlier than this (default: at once).
    pub run_at: Option<Timestamp>,
    pub max_attempts: i32,
}

impl JobSpec {
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> JobSpec {
        JobSpec {
            kind: kind.into(),
            payload,
            queue: DEFAULT_QUEUE.into(),
            priority: 0,
            unique_key: None,
            run_at: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    pub fn queue(mut self, q: impl Into<String>) -> Self {
        self.queue = q.into();
        self
    }

    pub fn priority(mut self, p: i32) -> Self {
        self.priority = p;
        self
    }

    pub fn unique(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    pub fn at(mut self, t: Timestamp) -> Self {
        self.run_at = Some(t);
        self
    }

    pub fn attempts(mut self, n: i32) -> Self {
        self.max_attempts = n.max(1);
        self
    }
}

/// A job as its handler sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: serde_json::Value,
    /// This run's number, from 1.
    pub attempt: i32,
    pub request_id: Option<String>,
}

/// Why a run failed.
#[derive(Debug, Clone)]
pub enum JobError {
    /// Try again later (with back-off), until the attempts run out.
    Retry(String),
    /// Trying again cannot help (a malformed payload): dead at once.
    Permanent(String),
}

impl From<AppError> for JobError {
    fn from(e: AppError) -> Self {
        let detail = match &e.source {
            Some(s) => format!("{}: {s}", e.message),
            None => e.message.clone(),
        };
        JobError::Retry(detail)
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Retry(m) | JobError::Permanent(m) => f.write_str(m),
        }
    }
}

pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
/// What runs a kind of job. It must be idempotent: delivery is at least
/// once (a worker that stalls past its lease may see its job run again).
pub type Handler = Arc<dyn Fn(App, Job) -> JobFuture + Send + Sync>;

/// The handlers by job kind, and the queues they run on.
#[derive(Default)]
pub(crate) struct Registry {
    handlers: RwLock<HashMap<String, (String, Handler)>>,
}

impl Registry {
    pub(crate) fn handler(&self, kind: &str) -> Option<Handler> {
        self.handlers.read().ok()?.get(kind).map(|(_, h)| h.clone())
    }

    /// Every queue some handler runs on, sorted.
    pub(crate) fn queues(&self) -> Vec<String> {
        let mut q: Vec<String> = self
            .handlers
            .read()
            .map(|h| h.values().map(|(q, _)| q.clone()).collect())
            .unwrap_or_default();
        q.sort();
        q.dedup();
        q
    }
}

impl App {
    /// Makes `kind` runnable by this process's workers (on `queue`). The
    /// built-in kinds are registered when the app is built; later
    /// registrations replace earlier ones.
    pub fn register_job<F, Fut>(&self, kind: &str, queue: &str, f: F)
    where
        F: Fn(App, Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |app, job| Box::pin(f(app, job)));
        if let Ok(mut h) = self.0.jobs.handlers.write() {
            h.insert(kind.to_owned(), (queue.to_owned(), handler));
        }
    }

    /// Enqueues a job outside any other change (the command line, tests,
    /// and jobs that start jobs). Answers its id, or `None` when a job with
    /// the same unique key was already waiting.
    pub async fn enqueue(&self, spec: JobSpec) -> AppResult<Option<i64>> {
        let mut uow = self.begin(None).await?;
        let id = uow.enqueue(spec).await?;
        uow.commit().await?;
        Ok(id)
    }
}

impl UnitOfWork {
    /// Enqueues a job in this unit of work: it exists if and only if the
    /// change commits. Workers are woken after the commit.
    pub(crate) async fn enqueue(&mut self, spec: JobSpec) -> AppResult<Option<i64>> {
        let request = crate::audit::current_request();
        let now = self.now();
        let id = store::enqueue(
            self,
            &NewJob {
                queue: &spec.queue,
                kind: &spec.kind,
                payload: &spec.payload,
                priority: spec.priority,
                run_at: spec.run_at.unwrap_or(now),
                max_attempts: spec.max_attempts,
                unique_key: spec.unique_key.as_deref(),
                request_id: request.request_id.as_deref(),
            },
            now,
        )
        .await?;
        self.jobs_enqueued();
        Ok(id)
    }
}

/// The wait before run `attempt + 1` after run `attempt` failed:
/// exponential from `base` (2 s by default), at most an hour, with ±25 %
/// jitter so that jobs failing together do not retry together.
pub fn backoff(attempt: i32, jitter: f64, base: Duration) -> Duration {
    let wait = base.as_secs_f64() * 2f64.powi(attempt.clamp(1, 30) - 1);
    let capped = wait.min(3600.0);
    let factor = 0.75 + 0.5 * jitter.clamp(0.0, 1.0);
    Duration::from_secs_f64(capped * factor)
}

/// The queue at a glance: jobs per queue and state, and the oldest.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QueueStats {
    pub queue: String,
    pub queued: i64,
    pub running: i64,
    pub failed: i64,
    pub dead: i64,
    /// Seconds since the oldest waiting (queued or failed) job was enqueued.
    pub oldest_waiting_seconds: Option<i64>,
}

impl App {
    /// Jobs, newest first (administrators).
    pub async fn list_jobs(
        &self,
        actor: &Actor,
        state: Option<&str>,
        page: &PageRequest,
    ) -> AppResult<Paged<JobRecord>> {
        self.need_admin(actor)?;
        let state = match state {
            None | Some("") | Some("all") => None,
            Some(s) => Some(JobState::parse(s).ok_or_else(|| {
                AppError::invalid(
                    Code::InvalidQuery,
                    "state",
                    format!("There is no job state “{s}”. Use queued, running, failed or dead, or leave it out for all jobs."),
                )
            })?),
        };
        let limit = page.limit()?;
        let mut conn = self.0.store.read().await?;
        let rows = store::list(&mut conn, state, page.id_cursor()?, page.fetch()?).await?;
        Ok(Paged::from_rows(rows, limit, |r| r.id.to_string()))
    }

    pub async fn job(&self, actor: &Actor, id: i64) -> AppResult<JobRecord> {
        self.need_admin(actor)?;
        let mut conn = self.0.store.read().await?;
        store::get(&mut conn, id).await?.ok_or_else(job_not_found)
    }

    /// Runs a failed or dead job again, with all its attempts.
    pub async fn retry_job(&self, actor: &Actor, id: i64) -> AppResult<JobRecord> {
        self.need_admin(actor)?;
        let mut uow = self.begin(actor.user_id()).await?;
        let Some(job) = store::get(&mut uow, id).await? else {
            return Err(job_not_found());
        };
        if !matches!(job.state, JobState::Failed | JobState::Dead) {
            return Err(AppError::new(
                Code::JobRunning,
                format!(
                    "Job {id} is {}; only failed or dead jobs can be retried.",
                    job.state.as_str()
                ),
            ));
        }
        let now = uow.now();
        match store::retry(&mut uow, id, now).await {
            Ok(_) => {}
            Err(e) if e.unique() == Some(vellum_store::Constraint::JobKey) => {
                return Err(AppError::new(
                    Code::JobDuplicate,
                    "Another job with the same key is already waiting; it will do this job's work.",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        uow.audit(
            "job.retried",
            Some(&id.to_string()),
            serde_json::json!({"kind": job.kind}),
        )
        .await?;
        uow.jobs_enqueued();
        let job = store::get(&mut uow, id).await?.ok_or_else(job_not_found)?;
        uow.commit().await?;
        Ok(job)
    }

    /// Removes a job that is not running.
    pub async fn discard_job(&self, actor: &Actor, id: i64) -> AppResult<()> {
        self.need_admin(actor)?;
        let mut uow = self.begin(actor.user_id()).await?;
        let Some(job) = store::get(&mut uow, id).await? else {
            return Err(job_not_found());
        };
        if job.state == JobState::Running || !store::discard(&mut uow, id).await? {
            return Err(AppError::new(
                Code::JobRunning,
                format!("Job {id} is running; wait for it to finish or fail, then discard it."),
            ));
        }
        uow.audit(
            "job.discarded",
            Some(&id.to_string()),
            serde_json::json!({"kind": job.kind, "state": job.state.as_str()}),
        )
        .await?;
        uow.commit().await
    }

    /// Depth, age and failures per queue (administrators).
    pub async fn job_stats(&self, actor: &Actor) -> AppResult<Vec<QueueStats>> {
        self.need_admin(actor)?;
        let counts = {
            let mut conn = self.0.store.read().await?;
            store::counts(&mut conn).await?
        };
        let now = self.now();
        let mut out: Vec<QueueStats> = Vec::new();
        for c in counts {
            let i = match out.iter().position(|q| q.queue == c.queue) {
                Some(i) => i,
                None => {
                    out.push(QueueStats {
                        queue: c.queue.clone(),
                        queued: 0,
                        running: 0,
                        failed: 0,
                        dead: 0,
                        oldest_waiting_seconds: None,
                    });
                    out.len() - 1
                }
            };
            let q = &mut out[i];
            match c.state {
                JobState::Queued => q.queued = c.count,
                JobState::Running => q.running = c.count,
                JobState::Failed => q.failed = c.count,
                JobState::Dead => q.dead = c.count,
            }
            if matches!(c.state, JobState::Queued | JobState::Failed) {
                let age = (now.as_millis() - c.oldest.as_millis()).max(0) / 1000;
                q.oldest_waiting_seconds = Some(q.oldest_waiting_seconds.map_or(age, |a| a.max(age)));
            }
        }
        Ok(out)
    }
}

fn job_not_found() -> AppError {
    AppError::new(
        Code::JobNotFound,
        "There is no such job (it may have finished, or been discarded).",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered_within_a_quarter() {
        let b = Duration::from_secs(2);
        assert_eq!(backoff(1, 0.5, b), Duration::from_secs(2));
        assert_eq!(backoff(2, 0.5, b), Duration::from_secs(4));
        assert_eq!(backoff(5, 0.5, b), Duration::from_secs(32));
        assert_eq!(backoff(40, 0.5, b), Duration::from_secs(3600));
        assert_eq!(backoff(1, 0.0, b), Duration::from_millis(1500));
        assert_eq!(backoff(1, 1.0, b), Duration::from_millis(2500));
        for a in 1..20 {
            assert!(backoff(a + 1, 0.0, b) >= backoff(a, 0.0, b));
        }
    }
}
