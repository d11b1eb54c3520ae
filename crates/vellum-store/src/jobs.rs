//! The durable job queue and the cluster-wide schedules.
//!
//! A job is a row from the moment it is enqueued (inside the transaction of
//! the change that causes it, so a rolled-back change has no job) until it
//! succeeds, when the row is deleted. Workers claim due jobs by setting a
//! lease (`locked_until`) and renew it while they work; a job whose lease
//! ran out (its worker died) is put back by [`reap`] and claimed again. On
//! PostgreSQL claims take `FOR UPDATE SKIP LOCKED`, so any number of
//! workers claim concurrently without waiting on each other; on SQLite
//! claims are write transactions, one at a time.
//!
//! Delivery is at least once: a worker that loses its lease (it stalled
//! past it) may find its job already run elsewhere. Job handlers are
//! written to be idempotent; [`complete`] and [`fail`] only act on a job
//! the worker still holds.
//!
//! States: `queued` (never failed), `running` (claimed), `failed` (failed at
//! least once and waiting for `run_at` to run again), `dead` (gave up after
//! `max_attempts`; kept until an administrator retries or discards it).

use vellum_core::Timestamp;

use crate::db::{with_db, Columns, DbTime, Handle, Sql, TextList};
use crate::{Result, StoreError};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Failed,
    Dead,
}

impl JobState {
    pub const ALL: [JobState; 4] = [JobState::Queued, JobState::Running, JobState::Failed, JobState::Dead];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Failed => "failed",
            JobState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|j| j.as_str() == s)
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub queue: &'a str,
    pub kind: &'a str,
    pub payload: &'a serde_json::Value,
    /// Higher runs first.
    pub priority: i32,
    pub run_at: Timestamp,
    pub max_attempts: i32,
    /// At most one job with this key waits or runs at a time; enqueueing
    /// another meanwhile does nothing.
    pub unique_key: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub priority: i32,
    pub state: JobState,
    /// Runs started so far (the current one included while running).
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: Timestamp,
    pub locked_until: Option<Timestamp>,
    pub worker: Option<String>,
    pub unique_key: Option<String>,
    pub last_error: Option<String>,
    pub request_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLUMNS: &str = "id, queue, kind, payload, priority, state, attempts, max_attempts, run_at, \
                       locked_until, worker, unique_key, last_error, request_id, created_at, updated_at";

impl JobRecord {
    fn decode(r: &impl Columns) -> Result<Self> {
        let state = r.text("state")?;
        Ok(JobRecord {
            id: r.int("id")?,
            queue: r.text("queue")?,
            kind: r.text("kind")?,
            payload: r.json("payload")?,
            priority: r.int("priority")? as i32,
            state: JobState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("job state {state:?}")))?,
            attempts: r.int("attempts")? as i32,
            max_attempts: r.int("max_attempts")? as i32,
            run_at: r.time("run_at")?,
            locked_until: r.opt_time("locked_until")?,
            worker: r.opt_text("worker")?,
            unique_key: r.opt_text("unique_key")?,
            last_error: r.opt_text("last_error")?,
            request_id: r.opt_text("request_id")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
        })
    }
}

/// Adds a job; answers its id, or `None` when a job with the same unique
/// key is already waiting or running.
pub async fn enqueue(h: &mut impl Handle, job: &NewJob<'_>, now: Timestamp) -> Result<Option<i64>> {
    const SQL: &str = "INSERT INTO jobs (queue, kind, payload, priority, max_attempts, run_at, unique_key, \
                       request_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                       ON CONFLICT (unique_key) WHERE state IN ('queued', 'running', 'failed') DO NOTHING \
                       RETURNING id";
    Ok(with_db!(h, |c| sqlx::query_scalar(SQL)
        .bind(job.queue)
        .bind(job.kind)
        .bind(sqlx::types::Json(job.payload))
        .bind(i64::from(job.priority))
        .bind(i64::from(job.max_attempts))
        .bind(DbTime(job.run_at))
        .bind(job.unique_key)
        .bind(job.request_id)
        .bind(DbTime(now))
        .fetch_optional(&mut *c)
        .await)?)
}

/// Whether any job of `queues` is due: a cheap read before a claim, which
/// on SQLite is a write transaction.
pub async fn any_due(h: &mut impl Handle, queues: &[&str], now: Timestamp) -> Result<bool> {
    const SQL: Sql = Sql {
        sqlite: "SELECT EXISTS (SELECT 1 FROM jobs WHERE state IN ('queued', 'failed') AND run_at <= $2 \
                 AND queue IN (SELECT value FROM json_each($1)))",
        postgres: "SELECT EXISTS (SELECT 1 FROM jobs WHERE state IN ('queued', 'failed') AND run_at <= $2 \
                   AND queue = ANY($1))",
    };
    Ok(with_db!(h, |c, b| sqlx::query_scalar(SQL.of(b))
        .bind(TextList(queues))
        .bind(DbTime(now))
        .fetch_one(&mut *c)
        .await)?)
}

/// Claims up to `limit` due jobs of `queues` for `worker`, highest priority
/// first, with a lease until `until`.
pub async fn claim(
    h: &mut impl Handle,
    queues: &[&str],
    worker: &str,
    limit: i64,
    until: Timestamp,
    now: Timestamp,
) -> Result<Vec<JobRecord>> {
    const SQL: Sql = Sql {
        sqlite: "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker = $2, locked_until = $3, \
                 updated_at = $4 WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_next \
                 WHERE state IN ('queued', 'failed') \
                 AND run_at <= $4 AND queue IN (SELECT value FROM json_each($1)) \
                 ORDER BY priority DESC, run_at, id LIMIT $5) RETURNING *",
        postgres: "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker = $2, locked_until = $3, \
                   updated_at = $4 WHERE id IN (SELECT id FROM jobs WHERE state IN ('queued', 'failed') \
                   AND run_at <= $4 AND queue = ANY($1) \
                   ORDER BY priority DESC, run_at, id LIMIT $5 FOR UPDATE SKIP LOCKED) RETURNING *",
    };
    let mut jobs: Vec<JobRecord> = with_db!(h, |c, b| {
        let rows = sqlx::query(SQL.of(b))
            .bind(TextList(queues))
            .bind(worker)
            .bind(DbTime(until))
            .bind(DbTime(now))
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
        rows.iter().map(JobRecord::decode).collect::<Result<Vec<_>>>()
    })?;
    // RETURNING keeps no order.
    jobs.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then(a.run_at.cmp(&b.run_at))
            .then(a.id.cmp(&b.id))
    });
    Ok(jobs)
}

/// Renews `worker`'s leases on `ids`; answers how many it still holds.
pub async fn heartbeat(h: &mut impl Handle, ids: &[i64], worker: &str, until: Timestamp) -> Result<u64> {
    const SQL: Sql = Sql {
        sqlite: "UPDATE jobs SET locked_until = $3 WHERE state = 'running' AND worker = $2 \
                 AND id IN (SELECT CAST(value AS INTEGER) FROM json_each($1))",
        postgres: "UPDATE jobs SET locked_until = $3 WHERE state = 'running' AND worker = $2 \
                   AND id = ANY($1::text[]::bigint[])",
    };
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    Ok(with_db!(h, |c, b| sqlx::query(SQL.of(b))
        .bind(TextList(&ids))
        .bind(worker)
        .bind(DbTime(until))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Removes a job that succeeded; `false` when `worker` no longer held it.
pub async fn complete(h: &mut impl Handle, id: i64, worker: &str) -> Result<bool> {
    Ok(complete_many(h, &[id], worker).await? == [id])
}

/// Removes jobs that succeeded, in one statement; answers those `worker`
/// still held (the others' leases ran out: they are another worker's now).
pub async fn complete_many(h: &mut impl Handle, ids: &[i64], worker: &str) -> Result<Vec<i64>> {
    const SQL: Sql = Sql {
        sqlite: "DELETE FROM jobs WHERE state = 'running' AND worker = $2 \
                 AND id IN (SELECT CAST(value AS INTEGER) FROM json_each($1)) RETURNING id",
        postgres: "DELETE FROM jobs WHERE state = 'running' AND worker = $2 \
                   AND id = ANY($1::text[]::bigint[]) RETURNING id",
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    let mut done: Vec<i64> = with_db!(h, |c, b| sqlx::query_scalar(SQL.of(b))
        .bind(TextList(&list))
        .bind(worker)
        .fetch_all(&mut *c)
        .await)?;
    done.sort_unstable();
    Ok(done)
}

/// Records a failed run: the job runs again at `retry_at`, or is dead when
/// it used all its attempts (or `retry_at` is `None`: a permanent error).
/// `false` when `worker` no longer held it.
pub async fn fail(
    h: &mut impl Handle,
    id: i64,
    worker: &str,
    error: &str,
    retry_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<bool> {
    const SQL: &str = "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts OR $4 IS NULL \
                       THEN 'dead' ELSE 'failed' END, run_at = COALESCE($4, run_at), last_error = $3, \
                       worker = NULL, locked_until = NULL, updated_at = $5 \
                       WHERE id = $1 AND worker = $2 AND state = 'running'";
    let n = with_db!(h, |c| sqlx::query(SQL)
        .bind(id)
        .bind(worker)
        .bind(truncate(error))
        .bind(retry_at.map(DbTime))
        .bind(DbTime(now))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Hands a job back without counting the run (a worker shutting down
/// before it could finish it).
pub async fn release(h: &mut impl Handle, id: i64, worker: &str, now: Timestamp) -> Result<bool> {
    const SQL: &str = "UPDATE jobs SET state = CASE WHEN attempts > 1 THEN 'failed' ELSE 'queued' END, \
                       attempts = attempts - 1, worker = NULL, locked_until = NULL, run_at = $3, updated_at = $3 \
                       WHERE id = $1 AND worker = $2 AND state = 'running'";
    let n = with_db!(h, |c| sqlx::query(SQL)
        .bind(id)
        .bind(worker)
        .bind(DbTime(now))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Puts back the jobs whose lease ran out (their worker died or stalled):
/// they run again now, or are dead when they used all their attempts.
/// Answers how many.
pub async fn reap(h: &mut impl Handle, now: Timestamp) -> Result<u64> {
    const SQL: &str = "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'failed' END, \
                       last_error = 'its worker stopped renewing the lease (it crashed, or stalled longer than the lease)', \
                       worker = NULL, locked_until = NULL, run_at = $1, updated_at = $1 \
                       WHERE state = 'running' AND locked_until < $1";
    Ok(with_db!(h, |c| sqlx::query(SQL)
        .bind(DbTime(now))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?)
}

/// One job, in any state.
pub async fn get(h: &mut impl Handle, id: i64) -> Result<Option<JobRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
    with_db!(h, |c| {
        let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *c).await?;
        row.as_ref().map(JobRecord::decode).transpose()
    })
}

/// Jobs, newest first, optionally of one state, with ids below `before`.
pub async fn list(
    h: &mut impl Handle,
    state: Option<JobState>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<JobRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM jobs WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR id < $2) \
         ORDER BY id DESC LIMIT $3"
    );
    with_db!(h, |c| {
        let rows = sqlx::query(&sql)
            .bind(state.map(JobState::as_str))
            .bind(before)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
        rows.iter().map(JobRecord::decode).collect()
    })
}

/// Makes a failed or dead job run again now, with all its attempts.
pub async fn retry(h: &mut impl Handle, id: i64, now: Timestamp) -> Result<bool> {
    const SQL: &str = "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $2, updated_at = $2 \
                       WHERE id = $1 AND state IN ('failed', 'dead')";
    let n = with_db!(h, |c| sqlx::query(SQL)
        .bind(id)
        .bind(DbTime(now))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Removes a job that is not running.
pub async fn discard(h: &mut impl Handle, id: i64) -> Result<bool> {
    const SQL: &str = "DELETE FROM jobs WHERE id = $1 AND state <> 'running'";
    let n = with_db!(h, |c| sqlx::query(SQL)
        .bind(id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Jobs per queue and state, with the oldest one's creation time.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueCount {
    pub queue: String,
    pub state: JobState,
    pub count: i64,
    pub oldest: Timestamp,
}

pub async fn counts(h: &mut impl Handle) -> Result<Vec<QueueCount>> {
    const SQL: &str = "SELECT queue, state, COUNT(*) AS n, MIN(created_at) AS oldest FROM jobs \
                       GROUP BY queue, state ORDER BY queue, state";
    with_db!(h, |c| {
        let rows = sqlx::query(SQL).fetch_all(&mut *c).await?;
        rows.iter()
            .map(|r| {
                let state = r.text("state")?;
                Ok(QueueCount {
                    queue: r.text("queue")?,
                    state: JobState::parse(&state)
                        .ok_or_else(|| StoreError::Corrupt(format!("job state {state:?}")))?,
                    count: r.int("n")?,
                    oldest: r.time("oldest")?,
                })
            })
            .collect()
    })
}

/// Claims the firing of schedule `name` if it is due at `now`, moving its
/// next time to `next`; `true` for exactly one caller per due time, across
/// all processes (the row update is the arbiter). A schedule seen for the
/// first time is due at once.
pub async fn fire_schedule(h: &mut impl Handle, name: &str, now: Timestamp, next: Timestamp) -> Result<bool> {
    const INSERT: &str = "INSERT INTO schedules (name, next_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
    const FIRE: &str = "UPDATE schedules SET next_at = $2, last_fired_at = $3 WHERE name = $1 AND next_at <= $3";
    let n = with_db!(h, |c| {
        sqlx::query(INSERT)
            .bind(name)
            .bind(DbTime(now))
            .execute(&mut *c)
            .await?;
        sqlx::query(FIRE)
            .bind(name)
            .bind(DbTime(next))
            .bind(DbTime(now))
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}

/// A schedule's next time and last firing.
pub async fn schedule(h: &mut impl Handle, name: &str) -> Result<Option<(Timestamp, Option<Timestamp>)>> {
    const SQL: &str = "SELECT next_at, last_fired_at FROM schedules WHERE name = $1";
    with_db!(h, |c| {
        let row = sqlx::query(SQL).bind(name).fetch_optional(&mut *c).await?;
        row.map(|r| Ok((r.time("next_at")?, r.opt_time("last_fired_at")?)))
            .transpose()
    })
}

/// Errors are kept to a readable size.
fn truncate(s: &str) -> &str {
    const MAX: usize = 2000;
    if s.len() <= MAX {
        return s;
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
