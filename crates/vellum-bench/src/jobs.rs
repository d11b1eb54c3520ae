//! The job queue's benchmark (`vellum-bench --jobs`): in process, on a
//! fresh database of each backend.
//!
//! - **Throughput**: producers commit transactions that each append an
//!   event (the write) and enqueue a no-op job, while the workers of the
//!   same database run them; jobs per second from the first commit until
//!   the queue is empty.
//! - **Pick-up latency**: with the workers idle, one job at a time; the time
//!   from its commit to its handler starting. On PostgreSQL the producer is
//!   another app (its own pool, as another process would be), so the
//!   workers learn of the job by LISTEN/NOTIFY; on SQLite, one process owns
//!   the database and its commit wakes its own workers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use tokio::sync::mpsc;
use vellum_app::{App, AppConfig, JobSpec, WorkerOptions};
use vellum_core::{Event, Timestamp};
use vellum_store::jobs::{self as store, NewJob};

use crate::stats::{percentiles, Percentiles};
use crate::Args;

const PRODUCERS: usize = 16;
const PINGS: usize = 300;

#[derive(Debug, Serialize)]
pub struct JobsResult {
    pub backend: String,
    pub jobs: usize,
    pub producers: usize,
    pub worker_concurrency: usize,
    /// Enqueue (in a transaction with a write) and completion, together.
    pub jobs_per_second: f64,
    /// Enqueueing alone, while the workers ran.
    pub enqueued_per_second: f64,
    pub pickup: Percentiles,
}

pub fn main(args: &Args) -> anyhow::Result<()> {
    let runtime = crate::runtime()?;
    std::fs::create_dir_all(&args.out)?;
    let mut results = Vec::new();
    for backend in crate::backends(args)? {
        eprintln!("== jobs on {backend}");
        let r = runtime.block_on(run(args, backend))?;
        eprintln!(
            "   {:.0} jobs/s (enqueue {:.0}/s); pick-up p50 {:.2} ms, p99 {:.2} ms",
            r.jobs_per_second, r.enqueued_per_second, r.pickup.p50_ms, r.pickup.p99_ms
        );
        results.push(r);
    }
    std::fs::write(args.out.join("jobs.json"), serde_json::to_string_pretty(&results)?)?;
    let mut md = String::from(
        "| backend | jobs | jobs/s (enqueue with a write + complete) | enqueue/s | pick-up p50 | p99 |\n|---|---|---|---|---|---|\n",
    );
    for r in &results {
        md.push_str(&format!(
            "| {} | {} | {:.0} | {:.0} | {:.2} ms | {:.2} ms |\n",
            r.backend, r.jobs, r.jobs_per_second, r.enqueued_per_second, r.pickup.p50_ms, r.pickup.p99_ms
        ));
    }
    std::fs::write(args.out.join("jobs.md"), &md)?;
    println!("{md}");
    Ok(())
}

async fn open(args: &Args, url: &str, dir: &std::path::Path) -> anyhow::Result<App> {
    let mut config = AppConfig::new(url, dir);
    config.store.sqlite_durability = match args.sqlite_synchronous.as_str() {
        "normal" => vellum_app::SqliteDurability::Normal,
        _ => vellum_app::SqliteDurability::Full,
    };
    App::open(config)
        .await
        .map_err(|e| anyhow::anyhow!("open: {}", e.message))
}

async fn run(args: &Args, backend: &str) -> anyhow::Result<JobsResult> {
    let work = std::env::temp_dir().join(format!("vellum-jobs-{backend}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let pg_name = format!("vellum_jobs_{}", std::process::id());
    let url = match backend {
        "postgres" => crate::fresh_pg(&args.pg_url, &pg_name).await?,
        _ => format!("sqlite://{}", work.join("vellum.db").display()),
    };
    let app = open(args, &url, &work).await?;
    app.store().start_feed_signals();
    let concurrency = args.job_concurrency.max(1);
    let opts = WorkerOptions {
        concurrency,
        schedules: false,
        ..WorkerOptions::default()
    };

    // Throughput.
    let jobs = (args.pages * 20).max(2_000);
    let workers = app.start_workers(opts.clone());
    let started = Instant::now();
    let per = jobs / PRODUCERS;
    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let app = app.clone();
        producers.push(tokio::spawn(async move {
            let payload = serde_json::json!({});
            for i in 0..per {
                let now = Timestamp::now();
                let mut tx = app.store().begin().await?;
                vellum_store::events::append(
                    &mut tx,
                    &Event::SettingsChanged {
                        key: format!("bench.{p}"),
                        value: i.to_string(),
                    },
                    None,
                    now,
                )
                .await?;
                store::enqueue(
                    &mut tx,
                    &NewJob {
                        queue: "default",
                        kind: "noop",
                        payload: &payload,
                        priority: 0,
                        run_at: now,
                        max_attempts: 3,
                        unique_key: None,
                        request_id: None,
                    },
                    now,
                )
                .await?;
                tx.commit().await?;
                app.store().ring_jobs();
            }
            Ok::<_, vellum_store::StoreError>(())
        }));
    }
    for p in producers {
        p.await?.context("a producer failed")?;
    }
    let enqueued = started.elapsed();
    let total = per * PRODUCERS;
    loop {
        let left: i64 = {
            let mut conn = app.store().read().await?;
            store::counts(&mut conn).await?.iter().map(|c| c.count).sum()
        };
        if left == 0 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "the queue did not drain: {left} left"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let done = started.elapsed();
    workers.stop().await;

    // Pick-up latency.
    let (tx, mut rx) = mpsc::unbounded_channel::<Instant>();
    let tx = Arc::new(tx);
    let worker_app = if backend == "postgres" {
        let other = open(args, &url, &work).await?;
        other.store().start_feed_signals();
        other
    } else {
        app.clone()
    };
    {
        let tx = tx.clone();
        worker_app.register_job("bench.ping", "default", move |_, _| {
            let _ = tx.send(Instant::now());
            async { Ok(()) }
        });
    }
    let workers = worker_app.start_workers(opts);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut samples = Vec::with_capacity(PINGS);
    for _ in 0..PINGS {
        let t0 = Instant::now();
        app.enqueue(JobSpec::new("bench.ping", serde_json::json!({})))
            .await
            .map_err(|e| anyhow::anyhow!("enqueue: {}", e.message))?;
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .context("a job was not picked up within 5 s")?
            .context("channel closed")?;
        samples.push(got.saturating_duration_since(t0).as_micros() as u64);
        // Idle between pings, as a quiet wiki's workers are.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    workers.stop().await;
    if backend == "postgres" {
        worker_app.shutdown().await;
    }
    app.shutdown().await;
    if backend == "postgres" {
        crate::drop_pg(&args.pg_url, &pg_name).await?;
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(JobsResult {
        backend: backend.to_owned(),
        jobs: total,
        producers: PRODUCERS,
        worker_concurrency: concurrency,
        jobs_per_second: total as f64 / done.as_secs_f64(),
        enqueued_per_second: total as f64 / enqueued.as_secs_f64(),
        pickup: percentiles(&mut samples),
    })
}
