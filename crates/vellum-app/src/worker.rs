//! The workers: claim due jobs, run them with a renewed lease, record the
//! outcome, put back the jobs of dead workers, and fire the schedules.
//!
//! One loop per [`Workers`] claims as many jobs as it has free slots and
//! runs each in its own task. It wakes when a commit here (or, on
//! PostgreSQL, `NOTIFY vellum_jobs` from any process) says jobs were
//! enqueued, when a job finishes, and at least every `poll` (jobs whose
//! retry time came, expired leases, schedules). `vellum serve` runs one
//! with a few slots; `vellum worker` runs only this.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument;
use vellum_core::Timestamp;
use vellum_store::jobs::{self as store, JobRecord};

use crate::jobs::{backoff, Job, JobError, JobSpec};
use crate::App;

/// How a process runs its workers.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Jobs run at once.
    pub concurrency: usize,
    /// The queues served (empty: every queue a handler is registered on).
    pub queues: Vec<String>,
    /// How long a claim lasts without renewal; renewed every third of it.
    pub lease: Duration,
    /// The longest an idle worker waits before looking again.
    pub poll: Duration,
    /// How long shutdown waits for running jobs before handing them back.
    pub grace: Duration,
    /// Fire the built-in schedules (any number of processes may; each
    /// firing happens once).
    pub schedules: bool,
    /// The first retry's wait; each further one doubles it (see
    /// [`backoff`](crate::jobs::backoff)).
    pub retry_base: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            concurrency: 4,
            queues: Vec::new(),
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            grace: Duration::from_secs(10),
            schedules: true,
            retry_base: Duration::from_secs(2),
        }
    }
}

/// When a schedule fires.
#[derive(Debug, Clone)]
pub enum When {
    /// Once per period, at times aligned to it (every 30 s at :00 and :30,
    /// hourly on the hour, daily at 00:00 UTC).
    Every(Duration),
    /// At the times a cron expression names, in UTC: five fields (minute,
    /// hour, day of month, month, day of week) or six with seconds first,
    /// or a nickname such as `@daily`.
    Cron(std::sync::Arc<croner::Cron>),
    /// Never (an operator turned the schedule off).
    Off,
}

impl When {
    /// Reads a schedule from configuration: `off`, `every 30s` (also `m`,
    /// `h`, `d`), or a cron expression.
    pub fn parse(raw: &str) -> Result<When, String> {
        let s = raw.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(When::Off);
        }
        if let Some(rest) = s.strip_prefix("every ") {
            let rest = rest.trim();
            let (n, unit) = rest.split_at(rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len()));
            let n: u64 = n
                .parse()
                .map_err(|_| format!("`{s}` needs a number of seconds, minutes, hours or days, as in `every 10m`"))?;
            let secs = match unit.trim() {
                "s" => n,
                "m" => n * 60,
                "h" => n * 3600,
                "d" => n * 86_400,
                other => return Err(format!("`{other}` in `{s}` is not a unit; use s, m, h or d")),
            };
            if secs == 0 {
                return Err(format!("`{s}` is no time at all; give a period of at least a second"));
            }
            return Ok(When::Every(Duration::from_secs(secs)));
        }
        croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Optional)
            .year(croner::parser::Year::Disallowed)
            .build()
            .parse(s)
            .map(|c| When::Cron(std::sync::Arc::new(c)))
            .map_err(|e| format!("`{s}` is not a cron expression ({e}); write e.g. `0 3 * * *` for 03:00 UTC daily"))
    }

    /// The first firing time after `now` (`None`: never).
    pub fn next_after(&self, now: Timestamp) -> Option<Timestamp> {
        match self {
            When::Every(period) => {
                let p = i64::try_from(period.as_millis()).unwrap_or(i64::MAX).max(1);
                let t = now.as_millis();
                Some(Timestamp::from_millis((t.div_euclid(p) + 1).saturating_mul(p)))
            }
            When::Cron(cron) => {
                let at = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(now.as_millis())?;
                let next = cron.find_next_occurrence(&at, false).ok()?;
                Some(Timestamp::from_millis(next.timestamp_millis()))
            }
            When::Off => None,
        }
    }
}

/// A schedule: a job enqueued once per firing across all processes.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub when: When,
    pub job: JobSpec,
}

impl Schedule {
    /// The first firing time after `now` (`None`: never).
    pub fn next_after(&self, now: Timestamp) -> Option<Timestamp> {
        self.when.next_after(now)
    }
}

/// Running workers; [`Workers::stop`] ends them gracefully.
pub struct Workers {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    pub name: String,
}

impl Workers {
    /// Stops claiming, lets running jobs finish within the grace period,
    /// and hands back (without counting the run) those that did not.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Ends the workers the way a crash would: nothing is handed back, and
    /// their jobs run again elsewhere once their leases end (for tests of
    /// exactly that).
    #[doc(hidden)]
    pub async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// A worker's name in leases and logs: host, process and a random part
/// (several workers may share a process).
fn worker_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    let mut r = [0u8; 3];
    let _ = getrandom::getrandom(&mut r);
    format!("{host}:{}:{:02x}{:02x}{:02x}", std::process::id(), r[0], r[1], r[2])
}

fn jitter() -> f64 {
    let mut r = [0u8; 2];
    let _ = getrandom::getrandom(&mut r);
    f64::from(u16::from_le_bytes(r)) / f64::from(u16::MAX)
}

impl App {
    /// Starts workers in this process. Call from inside the runtime.
    pub fn start_workers(&self, opts: WorkerOptions) -> Workers {
        let (stop, stopping) = watch::channel(false);
        let name = worker_name();
        let task = tokio::spawn(run(self.clone(), opts, name.clone(), stopping));
        Workers { stop, task, name }
    }

    /// The built-in schedules (upkeep.rs), with this deployment's
    /// overrides (`AppConfig::schedules`).
    pub fn schedules(&self) -> Vec<Schedule> {
        let mut list = crate::upkeep::schedules();
        for s in &mut list {
            if let Some((_, when)) = self.0.config.schedules.iter().find(|(name, _)| *name == s.name) {
                s.when = when.clone();
            }
        }
        list
    }

    /// The names of the built-in schedules (for checking configuration).
    pub fn schedule_names() -> Vec<String> {
        crate::upkeep::schedules().into_iter().map(|s| s.name).collect()
    }

    /// Fires every due schedule once (across all processes): answers the
    /// names fired here.
    pub async fn fire_schedules(&self, schedules: &[Schedule]) -> crate::AppResult<Vec<String>> {
        let now = self.now();
        let mut fired = Vec::new();
        for s in schedules {
            let Some(next) = s.next_after(now) else {
                continue; // turned off
            };
            let due = {
                let mut conn = self.0.store.read().await?;
                store::schedule(&mut conn, &s.name)
                    .await?
                    .is_none_or(|(next, _)| next <= now)
            };
            if !due {
                continue;
            }
            let mut uow = self.begin(None).await?;
            if store::fire_schedule(&mut uow, &s.name, now, next).await? {
                // Keyed by the schedule: a firing whose job still waits (the
                // workers are behind) does not pile up another.
                uow.enqueue(s.job.clone().unique(format!("schedule:{}", s.name)))
                    .await?;
                uow.commit().await?;
                fired.push(s.name.clone());
            }
        }
        Ok(fired)
    }
}

/// The ids of the jobs this worker holds, for the heartbeat.
type Held = Arc<Mutex<HashSet<i64>>>;

async fn run(app: App, opts: WorkerOptions, name: String, mut stopping: watch::Receiver<bool>) {
    let queues: Vec<String> = if opts.queues.is_empty() {
        app.0.jobs.queues()
    } else {
        opts.queues.clone()
    };
    let queue_refs: Vec<&str> = queues.iter().map(String::as_str).collect();
    let slots = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let held: Held = Arc::default();
    let mut tasks = JoinSet::new();
    let schedules = if opts.schedules { app.schedules() } else { Vec::new() };
    let beat = (opts.lease / 3).max(Duration::from_millis(50));
    let retry_base = opts.retry_base;
    let mut last_beat = Instant::now();
    let mut last_upkeep: Option<Instant> = None;
    let (finished, outcomes) = mpsc::unbounded_channel();
    let recorder = tokio::spawn(record_outcomes(app.clone(), name.clone(), held.clone(), outcomes));
    // Claims are write transactions: with some jobs still running, wait
    // until half the slots are free and claim them together.
    let batch = opts.concurrency.max(1).div_ceil(2);
    // The last claim found work: the next one skips the cheap look first.
    let mut busy = false;
    tracing::info!(worker = %name, ?queues, concurrency = opts.concurrency, "workers started");
    loop {
        if *stopping.borrow() {
            break;
        }
        while tasks.try_join_next().is_some() {}
        if last_beat.elapsed() >= beat {
            last_beat = Instant::now();
            heartbeat(&app, &held, &name, opts.lease).await;
        }
        if last_upkeep.is_none_or(|t| t.elapsed() >= opts.poll) {
            last_upkeep = Some(Instant::now());
            reap(&app).await;
            if !schedules.is_empty() {
                match app.fire_schedules(&schedules).await {
                    Ok(fired) if !fired.is_empty() => tracing::debug!(?fired, "schedules fired"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e.message, "firing schedules failed; trying again"),
                }
            }
        }
        let free = slots.available_permits();
        let mut claimed = 0;
        if free > 0 && (free >= batch || tasks.is_empty()) {
            match claim(&app, &queue_refs, &name, free, opts.lease, busy).await {
                Ok(jobs) => {
                    claimed = jobs.len();
                    busy = claimed > 0;
                    for job in jobs {
                        let Ok(permit) = slots.clone().try_acquire_owned() else {
                            break;
                        };
                        if let Ok(mut h) = held.lock() {
                            h.insert(job.id);
                        }
                        let (app, finished) = (app.clone(), finished.clone());
                        tasks.spawn(async move {
                            let done = execute(&app, job, retry_base).await;
                            // The slot is free; the recorder keeps the lease
                            // renewed until the outcome is written.
                            drop(permit);
                            let _ = finished.send(done);
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e.message, "claiming jobs failed; trying again");
                    tokio::time::sleep(opts.poll).await;
                }
            }
        }
        if claimed > 0 && claimed == free {
            continue; // more may be waiting
        }
        let wait = opts
            .poll
            .min(beat.saturating_sub(last_beat.elapsed()).max(Duration::from_millis(10)));
        tokio::select! {
            () = app.store().wait_for_jobs(wait) => {}
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = stopping.changed() => {}
        }
    }
    // Shutdown: no new claims; let running jobs finish within the grace
    // period (renewing their leases), then hand back the rest.
    let deadline = Instant::now() + opts.grace;
    while !tasks.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        tokio::select! {
            _ = tasks.join_next() => {}
            () = tokio::time::sleep(left.min(beat)) => heartbeat(&app, &held, &name, opts.lease).await,
        }
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    // Every finished job's outcome is written before the rest go back.
    drop(finished);
    let _ = recorder.await;
    let unfinished: Vec<i64> = held.lock().map(|h| h.iter().copied().collect()).unwrap_or_default();
    for id in &unfinished {
        if let Err(e) = release(&app, *id, &name).await {
            tracing::warn!(job = id, error = %e.message, "could not hand back a job; it runs again when its lease ends");
        }
    }
    tracing::info!(worker = %name, handed_back = unfinished.len(), "workers stopped");
}

async fn claim(
    app: &App,
    queues: &[&str],
    name: &str,
    free: usize,
    lease: Duration,
    busy: bool,
) -> crate::AppResult<Vec<JobRecord>> {
    let now = app.now();
    // A read first when idle: a claim is a write transaction (on SQLite
    // one at a time), which an idle worker should not take every time it
    // looks. A busy one goes straight to claiming.
    if !busy {
        let mut conn = app.0.store.read().await?;
        if !store::any_due(&mut conn, queues, now).await? {
            return Ok(Vec::new());
        }
    }
    let mut tx = app.0.store.begin().await?;
    let jobs = store::claim(&mut tx, queues, name, free as i64, now.plus(lease), now).await?;
    tx.commit().await?;
    Ok(jobs)
}

async fn heartbeat(app: &App, held: &Held, name: &str, lease: Duration) {
    let ids: Vec<i64> = held.lock().map(|h| h.iter().copied().collect()).unwrap_or_default();
    if ids.is_empty() {
        return;
    }
    let result = async {
        let mut tx = app.0.store.begin().await?;
        let n = store::heartbeat(&mut tx, &ids, name, app.now().plus(lease)).await?;
        tx.commit().await?;
        Ok::<_, crate::AppError>(n)
    }
    .await;
    match result {
        Ok(n) if (n as usize) < ids.len() => tracing::warn!(
            held = ids.len(),
            renewed = n,
            "some job leases ran out before renewal; those jobs may run again elsewhere"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e.message, "renewing job leases failed"),
    }
}

async fn reap(app: &App) {
    let result = async {
        let now = app.now();
        let mut tx = app.0.store.begin().await?;
        let n = store::reap(&mut tx, now).await?;
        tx.commit().await?;
        Ok::<_, crate::AppError>(n)
    }
    .await;
    match result {
        Ok(0) => {}
        Ok(n) => {
            tracing::warn!(
                jobs = n,
                "jobs of a worker that stopped renewing its leases were put back"
            );
            app.store().ring_jobs();
        }
        Err(e) => tracing::warn!(error = %e.message, "putting back expired jobs failed"),
    }
}

async fn release(app: &App, id: i64, name: &str) -> crate::AppResult<()> {
    let mut tx = app.0.store.begin().await?;
    store::release(&mut tx, id, name, app.now()).await?;
    tx.commit().await?;
    app.store().ring_jobs();
    Ok(())
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A run's outcome, for the recorder.
struct Finished {
    job: JobRecord,
    outcome: Result<(), JobError>,
    retry_at: Option<Timestamp>,
    ms: u64,
}

/// Runs one claimed job.
async fn execute(app: &App, job: JobRecord, retry_base: Duration) -> Finished {
    let span = job_span(&job);
    async {
        let started = Instant::now();
        let outcome = match app.0.jobs.handler(&job.kind) {
            None => Err(JobError::Retry(format!(
                "no handler for job kind `{}` in this process (a newer version may know it)",
                job.kind
            ))),
            Some(handler) => {
                let input = Job {
                    id: job.id,
                    kind: job.kind.clone(),
                    payload: job.payload.clone(),
                    attempt: job.attempts,
                    request_id: job.request_id.clone(),
                };
                // In a task of its own, so that a panic is a failed run;
                // aborted with this one (at shutdown), so that a job handed
                // back is not still running here.
                let mut run = AbortOnDrop(tokio::spawn(handler(app.clone(), input)));
                match (&mut run.0).await {
                    Ok(r) => r,
                    Err(e) if e.is_panic() => Err(JobError::Retry("the job panicked".into())),
                    Err(_) => Err(JobError::Retry("the job was cancelled".into())),
                }
            }
        };
        let retry_at = match &outcome {
            Err(JobError::Retry(_)) => Some(app.now().plus(backoff(job.attempts, jitter(), retry_base))),
            _ => None,
        };
        Finished {
            ms: started.elapsed().as_millis() as u64,
            job,
            outcome,
            retry_at,
        }
    }
    .instrument(span)
    .await
}

fn job_span(job: &JobRecord) -> tracing::Span {
    tracing::info_span!(
        "job",
        id = job.id,
        kind = %job.kind,
        attempt = job.attempts,
        request_id = job.request_id.as_deref().unwrap_or(""),
    )
}

/// Writes the outcomes of finished runs, those that arrived together in
/// one transaction (successes in one statement): one write per batch, not
/// per job, is what lets many small jobs through the queue.
async fn record_outcomes(app: App, name: String, held: Held, mut outcomes: mpsc::UnboundedReceiver<Finished>) {
    const MAX_BATCH: usize = 512;
    while let Some(first) = outcomes.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match outcomes.try_recv() {
                Ok(f) => batch.push(f),
                Err(_) => break,
            }
        }
        let now = app.now();
        let written = async {
            let ok: Vec<i64> = batch.iter().filter(|f| f.outcome.is_ok()).map(|f| f.job.id).collect();
            let mut tx = app.0.store.begin().await?;
            let completed = store::complete_many(&mut tx, &ok, &name).await?;
            let mut failed_held = Vec::new();
            for f in &batch {
                if let Err(e) = &f.outcome {
                    if store::fail(&mut tx, f.job.id, &name, &e.to_string(), f.retry_at, now).await? {
                        failed_held.push(f.job.id);
                    }
                }
            }
            tx.commit().await?;
            Ok::<_, crate::AppError>((completed, failed_held))
        }
        .await;
        if let Ok(mut h) = held.lock() {
            for f in &batch {
                h.remove(&f.job.id);
            }
        }
        match written {
            Ok((completed, failed)) => {
                for f in &batch {
                    let _span = job_span(&f.job).entered();
                    let still_held = match f.outcome {
                        Ok(()) => completed.binary_search(&f.job.id).is_ok(),
                        Err(_) => failed.contains(&f.job.id),
                    };
                    log_outcome(f, still_held);
                }
            }
            Err(e) => tracing::warn!(
                jobs = batch.len(),
                error = %e.message,
                "recording job outcomes failed; those jobs run again when their leases end"
            ),
        }
    }
}

fn log_outcome(f: &Finished, still_held: bool) {
    let ms = f.ms;
    match &f.outcome {
        _ if !still_held => {
            tracing::warn!(
                ms,
                "the job's lease ran out while it ran; another worker may run it again"
            )
        }
        Ok(()) => tracing::debug!(ms, "job done"),
        Err(e) if f.job.attempts >= f.job.max_attempts || matches!(e, JobError::Permanent(_)) => {
            tracing::error!(ms, error = %e, "job failed for the last time; it is dead until an administrator retries it")
        }
        Err(e) => tracing::warn!(ms, error = %e, "job failed; it will be retried"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_fire_at_times_aligned_to_their_period() {
        let s = When::Every(Duration::from_secs(30));
        let at = |ms| Some(Timestamp::from_millis(ms));
        assert_eq!(s.next_after(Timestamp::from_millis(0)), at(30_000));
        assert_eq!(s.next_after(Timestamp::from_millis(29_999)), at(30_000));
        assert_eq!(s.next_after(Timestamp::from_millis(30_000)), at(60_000));
        let daily = When::Every(Duration::from_secs(86_400));
        assert_eq!(
            daily.next_after(Timestamp::from_millis(86_400_000 + 5)),
            at(2 * 86_400_000)
        );
        assert_eq!(When::Off.next_after(Timestamp::from_millis(5)), None);
    }

    #[test]
    fn cron_expressions_name_times_in_utc() {
        // 2026-12-04T01:50:00Z
        let now = Timestamp::from_millis(1_796_349_000_000);
        let at_three = When::parse("0 3 * * *").unwrap();
        // 03:00 the same day.
        assert_eq!(
            at_three.next_after(now),
            Some(Timestamp::from_millis(1_796_353_200_000))
        );
        // With seconds, every 15 s.
        let quarter = When::parse("*/15 * * * * *").unwrap();
        assert_eq!(quarter.next_after(now), Some(Timestamp::from_millis(1_796_349_015_000)));
        // Mondays at 09:30: 2026-12-07 is a Monday.
        let monday = When::parse("30 9 * * MON").unwrap();
        assert_eq!(monday.next_after(now), Some(Timestamp::from_millis(1_796_635_800_000)));
        assert!(matches!(When::parse("@hourly"), Ok(When::Cron(_))));
        assert!(matches!(When::parse("every 10m"), Ok(When::Every(d)) if d == Duration::from_secs(600)));
        assert!(matches!(When::parse(" OFF "), Ok(When::Off)));
        for bad in ["61 * * * *", "every", "every 5x", "every 0s", "tuesdays", ""] {
            assert!(When::parse(bad).is_err(), "{bad}");
        }
    }
}
