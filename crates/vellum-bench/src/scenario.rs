//! Running the load generator's scenarios against a server: warm-up,
//! measured run and CPU accounting per scenario, and what the runs need
//! beforehand (the load's background jobs done, validators to send back).

use std::path::Path;

use crate::report::Scenario;
use crate::{cpu, server, wrk, Args};

pub(crate) type ScenarioSpec<'a> = (&'a str, &'a str, &'a str, &'a Path, Option<&'a Path>);

/// Runs every selected scenario once, with a warm-up for reads.
pub(crate) fn measure(
    args: &Args,
    work: &Path,
    base: &str,
    cookie: &str,
    scenarios: &[ScenarioSpec<'_>],
    server: &server::Server,
    backend: &str,
) -> anyhow::Result<Vec<Scenario>> {
    let mut results = Vec::new();
    let pid = server.child.id();
    for (i, &(name, method, prefix, targets, body)) in scenarios.iter().enumerate() {
        if i > 0 && args.only.as_deref().is_some_and(|only| !name.contains(only)) {
            continue;
        }
        let load = wrk::Load {
            base,
            cookie,
            method,
            prefix,
            targets,
            body,
            connections: args.connections,
            threads: args.threads,
            seconds: args.seconds,
        };
        let (scenario, _) = run_scenario(
            args,
            work,
            name,
            load,
            &|| cpu::process_seconds(pid),
            backend == "postgres",
            &|| {},
        )?;
        results.push(scenario);
    }
    Ok(results)
}

/// Waits until the jobs the load caused (notification fan-out, one per
/// created page) are done, so that they do not run during the
/// measurements. Jobs waiting for a later time (none by default) do not
/// count: the wait ends when the count of runnable ones stops falling
/// for 5 s, or reaches zero.
pub(crate) async fn wait_for_jobs(base: &str, admin: &str) -> anyhow::Result<std::time::Duration> {
    let started = std::time::Instant::now();
    let client = reqwest::Client::new();
    let (mut last, mut moved) = (i64::MAX, std::time::Instant::now());
    loop {
        let stats: serde_json::Value = client
            .get(format!("{base}/api/v1/admin/jobs/stats"))
            .header("cookie", admin)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let pending: i64 = stats["queues"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|q| q["queued"].as_i64().unwrap_or(0) + q["running"].as_i64().unwrap_or(0))
            .sum();
        if pending == 0 || (pending >= last && moved.elapsed() > std::time::Duration::from_secs(5)) {
            return Ok(started.elapsed());
        }
        if pending < last {
            (last, moved) = (pending, std::time::Instant::now());
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Pages the conditional-view scenario revalidates.
pub(crate) const CONDITIONAL_PAGES: usize = 5_000;
/// Its name (the validators are the harness reader's, before any rules).
pub(crate) const CONDITIONAL: &str = "page view, HTML, If-None-Match hit (304)";

/// `PATH<TAB>ETAG` lines: each target with the validator `cookie`'s user
/// gets for it now.
pub(crate) async fn with_etags(
    base: &str,
    cookie: &str,
    prefix: &str,
    targets: &[String],
) -> anyhow::Result<Vec<String>> {
    use futures_util::StreamExt;
    let client = reqwest::Client::new();
    let lines: Vec<anyhow::Result<String>> = futures_util::stream::iter(targets)
        .map(|t| {
            let req = client.get(format!("{base}{prefix}{t}")).header("cookie", cookie);
            async move {
                let res = req.send().await?;
                anyhow::ensure!(res.status().is_success(), "GET {t}: {}", res.status());
                let etag = res
                    .headers()
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| anyhow::anyhow!("GET {t}: no ETag"))?
                    .to_owned();
                Ok(format!("{t}\t{etag}"))
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    lines.into_iter().collect()
}

/// One `wrk` scenario: for reads an unrecorded warm-up of half as long (at
/// most 5 s), then `before_measuring` (e.g. waiting for the server to be
/// idle), then the measured run, with the server's (and, with `db`,
/// PostgreSQL's) CPU time read around it. Answers the result and the share
/// of the machine (all cores, in percent) that others used meanwhile.
pub(crate) fn run_scenario(
    args: &Args,
    work: &Path,
    name: &str,
    mut load: wrk::Load<'_>,
    server_cpu: &dyn Fn() -> Option<f64>,
    db: bool,
    before_measuring: &dyn Fn(),
) -> anyhow::Result<(Scenario, f64)> {
    if load.method.starts_with("GET") {
        load.seconds = (args.seconds / 2).clamp(1, 5);
        wrk::run(work, &load)?; // warm-up, not recorded
    }
    load.seconds = args.seconds;
    before_measuring();
    let db_seconds = || if db { cpu::postgres_seconds() } else { 0.0 };
    let (server_before, db_before) = (server_cpu(), db_seconds());
    let others = cpu::Others::start(server_before.unwrap_or(0.0) + db_before);
    let out = wrk::run(work, &load)?;
    let (server_after, db_after) = (server_cpu(), db_seconds());
    let other = others.percent(server_after.unwrap_or(0.0) + db_after);
    let per_request = |seconds: f64| seconds * 1e6 / (out.requests.max(1) as f64);
    let server_cpu = server_before.zip(server_after).map(|(a, b)| per_request(b - a));
    let db_cpu = db.then(|| per_request(db_after - db_before));
    eprintln!(
        "   {name}: {:.0} req/s, p99 {:.1} ms, non-2xx {}, others used {other:.0} % of the machine",
        out.rps(),
        out.p99_us as f64 / 1000.0,
        out.non_2xx
    );
    Ok((Scenario::new(name, out, server_cpu, db_cpu), other))
}
