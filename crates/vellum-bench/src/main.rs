//! End-to-end benchmark of Vellum: generates a deterministic corpus, starts a
//! release build of `vellum serve` on SQLite and on PostgreSQL, loads the
//! corpus through the API, drives load with `wrk`, and reports throughput,
//! latency percentiles, the ratio to a trivial-handler ceiling, peak RSS,
//! startup time and on-disk size, as JSON and as a Markdown table.
//!
//! ```sh
//! cargo run --release -p vellum-bench -- --pages 1000            # quick
//! cargo run --release -p vellum-bench -- --pages 100000 --seconds 20  # full
//! sudo bench/peers/install.sh && cargo run --release -p vellum-bench -- --peers --pages 2000
//! ```
#![forbid(unsafe_code)]

mod access;
mod corpus;
mod cpu;
mod files;
mod jobs;
mod peers;
mod relevance;
mod report;
mod scenario;
mod search;
mod server;
mod stats;
mod wrk;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use sqlx::Connection;

use crate::report::{BackendResult, LoadResult, Report};
use crate::scenario::{measure, wait_for_jobs, with_etags, ScenarioSpec, CONDITIONAL, CONDITIONAL_PAGES};
use crate::server::{dir_size, free_port, Target};

#[derive(Debug, Clone, Parser)]
#[command(about = "Benchmark a release build of vellum serve")]
pub struct Args {
    /// Corpus size: 1000 for a quick run, 100000 for the full one.
    #[arg(long, default_value_t = 1000)]
    pages: usize,
    /// Corpus seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// `sqlite`, `postgres` or `both`.
    #[arg(long, default_value = "both")]
    backend: String,
    /// Seconds of load per scenario (after a warm-up of half as long, at most 5 s).
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Concurrent connections of the load generator.
    #[arg(long, default_value_t = 50)]
    connections: u32,
    /// Load-generator threads.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Concurrent API clients while loading the corpus.
    #[arg(long, default_value_t = 16)]
    load_concurrency: usize,
    /// The vellum binary; built with `cargo build --release -p vellum` when missing.
    #[arg(long)]
    vellum_bin: Option<PathBuf>,
    /// PostgreSQL server for the PostgreSQL run (a fresh database is made on it).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pg_url: String,
    /// Where to write results.json and results.md.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// SQLite durability for the SQLite run: `full` (Vellum's default) or
    /// `normal` (faster commits, can lose the last ones on power loss).
    #[arg(long, default_value = "full")]
    sqlite_synchronous: String,
    /// Run only the scenarios whose name contains this (the ceiling always
    /// runs, as the reference), e.g. `--only edit`.
    #[arg(long)]
    only: Option<String>,
    /// Measure with access rules in force: 100 groups and 1,000 users are
    /// made first, the scenarios run once without rules, then this many
    /// rules are spread over the corpus's folders and pages and the
    /// scenarios run again. Reads run as a signed-in editor in five
    /// groups. Then the reads run as a restricted viewer on the pages they
    /// may read, once with the rules and once after they are removed.
    /// 0: no users, groups or rules (reads run as the admin).
    #[arg(long, default_value_t = 0)]
    rules: usize,
    /// Keep the loaded database (and print where it is) instead of
    /// dropping it, e.g. to look at query plans afterwards.
    #[arg(long)]
    keep: bool,
    /// Judge relevance instead of speed: load the HTML manual in this
    /// directory (repeatable; e.g. /usr/share/doc/postgresql-doc-15/html
    /// and /usr/share/doc/python3.11/html/library) as wiki pages and run a
    /// known-item query for every page with a one-line description, clean
    /// and with one typo. Writes relevance.json and relevance.md.
    #[arg(long)]
    relevance: Vec<PathBuf>,
    /// Measure the background job queue instead (in process): jobs per
    /// second enqueued with a write and completed, and pick-up latency.
    /// Writes jobs.json and jobs.md.
    #[arg(long)]
    jobs: bool,
    /// Jobs the workers run at once in the `--jobs` measurement (the
    /// default of `vellum worker`).
    #[arg(long, default_value_t = 16)]
    job_concurrency: usize,
    /// Measure file uploads and downloads instead (a `vellum serve`
    /// process with local storage): one `--file-mib` upload with the
    /// server's memory sampled, its download, and 50 concurrent uploads of
    /// 10 MiB. Writes files.json and files.md.
    #[arg(long)]
    files: bool,
    /// The size of the large upload in `--files`, in MiB.
    #[arg(long, default_value_t = 2048)]
    file_mib: usize,
    /// Photos (12 megapixels, JPEG) uploaded in `--files` to measure how
    /// fast previews are made.
    #[arg(long, default_value_t = 40)]
    preview_images: usize,
    /// Run `--files` against S3-compatible storage as well: moto's
    /// `moto_server` at this path is started on loopback.
    #[arg(long)]
    moto: Option<PathBuf>,
    /// Compare instead with MediaWiki and DokuWiki (Debian's packages on
    /// nginx + php-fpm, installed with `sudo bench/peers/install.sh`): the
    /// same corpus created through each wiki's API by `--load-concurrency`
    /// clients, then anonymous views of random pages with the same wrk
    /// script and settings; req/s, p50/p99 and server CPU per request, and
    /// each one's ratio to Vellum (SQLite). A peer that is not installed is
    /// skipped. Needs root (the scripts run the peers' servers). Writes
    /// results.json and results.md.
    #[arg(long)]
    peers: bool,
    /// Where the peers' scripts are (`--peers`).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/peers"))]
    peers_dir: PathBuf,
}

const PASSWORD: &str = "bench password";
/// Concurrent searchers in the search-under-load measurement.
const SEARCHERS: usize = 50;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.relevance.is_empty() {
        return relevance::main(&args);
    }
    if args.jobs {
        return jobs::main(&args);
    }
    if args.files {
        return files::main(&args);
    }
    if args.peers {
        return peers::main(&args);
    }
    if !wrk::available() {
        bail!("wrk is not installed; run `apt-get install wrk`");
    }
    let bin = vellum_bin(&args)?;
    let backends = backends(&args)?;
    let runtime = runtime()?;
    let mut report = Report::new(&args, &bin);
    std::fs::create_dir_all(&args.out)?;
    for backend in backends {
        eprintln!("== {backend}: {} pages", args.pages);
        let result = runtime.block_on(run_backend(&args, &bin, backend))?;
        report.backends.extend(result);
        // Written after each backend, so an interrupted run keeps what it measured.
        std::fs::write(args.out.join("results.json"), serde_json::to_string_pretty(&report)?)?;
        std::fs::write(args.out.join("results.md"), report.markdown())?;
    }
    let md = report.markdown();
    println!("{md}");
    eprintln!("results written to {}", args.out.display());
    Ok(())
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

pub(crate) fn backends(args: &Args) -> anyhow::Result<Vec<&'static str>> {
    Ok(match args.backend.as_str() {
        "both" => vec!["sqlite", "postgres"],
        "sqlite" => vec!["sqlite"],
        "postgres" => vec!["postgres"],
        other => bail!("--backend is sqlite, postgres or both (got {other})"),
    })
}

pub(crate) fn vellum_bin(args: &Args) -> anyhow::Result<PathBuf> {
    Ok(match &args.vellum_bin {
        Some(b) => b.clone(),
        None => {
            eprintln!("building vellum (release)…");
            let ok = std::process::Command::new("cargo")
                .args(["build", "--release", "-p", "vellum"])
                .status()?
                .success();
            if !ok {
                bail!("cargo build --release -p vellum failed");
            }
            let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
            PathBuf::from(target).join("release/vellum")
        }
    })
}

/// A fresh data directory and database for one backend's run.
pub(crate) struct Setup {
    work: PathBuf,
    data_dir: PathBuf,
    pg_name: String,
    database_url: String,
    pub(crate) target: Target,
}

pub(crate) async fn setup(args: &Args, bin: &Path, backend: &str, label: &str) -> anyhow::Result<Setup> {
    let work = std::env::temp_dir().join(format!("vellum-{label}-{backend}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let data_dir = work.join("data");
    let pg_name = format!("vellum_{label}_{}", std::process::id());
    let database_url = match backend {
        "postgres" => fresh_pg(&args.pg_url, &pg_name).await?,
        _ => format!("sqlite://{}", data_dir.join("vellum.db").display()),
    };
    std::fs::create_dir_all(&data_dir)?;
    let target = Target {
        bin: bin.to_owned(),
        data_dir: data_dir.clone(),
        database_url: database_url.clone(),
        port: free_port()?,
        sqlite_synchronous: (backend == "sqlite").then(|| args.sqlite_synchronous.clone()),
        config: None,
    };
    target.create_admin("bench", PASSWORD)?;
    Ok(Setup {
        work,
        data_dir,
        pg_name,
        database_url,
        target,
    })
}

impl Setup {
    /// Drops the database and the work directory, unless `--keep`.
    pub(crate) async fn finish(&self, args: &Args, backend: &str) -> anyhow::Result<()> {
        if args.keep {
            eprintln!(
                "   kept the database: {} (the reader's password is {PASSWORD:?})",
                self.database_url
            );
            return Ok(());
        }
        if backend == "postgres" {
            drop_pg(&args.pg_url, &self.pg_name).await?;
        }
        let _ = std::fs::remove_dir_all(&self.work);
        Ok(())
    }
}

pub(crate) async fn drop_pg(admin: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    Ok(())
}

pub(crate) async fn fresh_pg(admin: &str, name: &str) -> anyhow::Result<String> {
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .with_context(|| format!("connect to {admin}"))?;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    Ok(format!("{base}/{name}"))
}

async fn pg_size(url: &str) -> anyhow::Result<u64> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let row: (i64,) = sqlx::query_as("SELECT pg_database_size(current_database())::bigint")
        .fetch_one(&mut conn)
        .await?;
    Ok(u64::try_from(row.0).unwrap_or(0))
}

async fn run_backend(args: &Args, bin: &Path, backend: &str) -> anyhow::Result<Vec<BackendResult>> {
    let run = setup(args, bin, backend, "bench").await?;
    let (work, data_dir, database_url, target) = (&run.work, &run.data_dir, &run.database_url, &run.target);
    let sqlite_synchronous = target.sqlite_synchronous.clone();
    let (server, _) = target.start().await?;
    let base = server.base.clone();
    let cookie = crate::login(&base).await?;

    eprintln!("   loading the corpus…");
    let load = load_corpus(args, &base, &cookie).await?;
    eprintln!("   {:.0} pages/s", load.pages_per_second);
    let (catch_up, index_pages, index_bytes) = crate::search::wait_indexed(&base, &cookie).await?;
    eprintln!(
        "   search index caught up {:.1} s after the load: {index_pages} pages, {:.0} MiB",
        catch_up.as_secs_f64(),
        index_bytes as f64 / 1048576.0
    );

    let drained = wait_for_jobs(&base, &cookie).await?;
    eprintln!(
        "   background jobs of the load done {:.1} s later",
        drained.as_secs_f64()
    );

    // Targets for the load generator.
    let n = args.pages;
    let paths: Vec<String> = (0..n).map(|i| corpus::path_of(i, n)).collect();
    let mut folders: Vec<String> = paths
        .iter()
        .filter_map(|p| p.rsplit_once('/').map(|(f, _)| f.to_owned()))
        .collect();
    folders.sort();
    folders.dedup();
    let write = |name: &str, lines: &[String]| -> anyhow::Result<PathBuf> {
        let p = work.join(name);
        std::fs::write(&p, lines.join("\n") + "\n")?;
        Ok(p)
    };
    let pages_file = write("pages.txt", &paths)?;
    let folders_file = write("folders.txt", &folders)?;
    let single_file = write("single.txt", &[String::new()])?;
    let queries_file = write("queries.txt", &search::queries(args.seed, 600))?;
    let prefixes_file = write("prefixes.txt", &search::prefixes(args.seed, 600))?;
    let body_file = work.join("body.json-fragment");
    let body = corpus::page(args.seed, 0, n).markdown;
    let escaped = serde_json::to_string(&body)?;
    std::fs::write(&body_file, &escaped[1..escaped.len() - 1])?;

    let mut phases = Vec::new();
    let mut reader_cookie = cookie.clone();
    if args.rules > 0 {
        eprintln!("   making 1,000 users and 100 groups…");
        reader_cookie = access::people(&base, &cookie, PASSWORD).await?;
    }
    // Conditional views: a spread of pages with the validators the reader
    // got for them, sent back as `If-None-Match`.
    let sample: Vec<String> = paths.iter().step_by((n / CONDITIONAL_PAGES).max(1)).cloned().collect();
    let conditional_file = write(
        "conditional.txt",
        &with_etags(&base, &reader_cookie, "/wiki/", &sample).await?,
    )?;
    let scenarios: [ScenarioSpec<'_>; 11] = [
        (
            "ceiling (trivial handler)",
            "GET",
            "/healthz",
            single_file.as_path(),
            None,
        ),
        ("page view, HTML", "GET", "/wiki/", pages_file.as_path(), None),
        (
            "page view, HTML, Zipf popularity (s = 1)",
            "GET-ZIPF",
            "/wiki/",
            pages_file.as_path(),
            None,
        ),
        (CONDITIONAL, "GET", "/wiki/", conditional_file.as_path(), None),
        ("page, JSON API", "GET", "/api/v1/pages/", pages_file.as_path(), None),
        (
            "folder listing, JSON API",
            "GET",
            "/api/v1/folders/",
            folders_file.as_path(),
            None,
        ),
        ("folder listing, HTML", "GET", "/folders/", folders_file.as_path(), None),
        (
            "recent changes, JSON API",
            "GET",
            "/api/v1/recent-changes",
            single_file.as_path(),
            None,
        ),
        (
            "search, JSON API",
            "GET",
            "/api/v1/search?limit=20&q=",
            queries_file.as_path(),
            None,
        ),
        (
            "title suggestions, JSON API",
            "GET",
            "/api/v1/search/titles?q=",
            prefixes_file.as_path(),
            None,
        ),
        (
            "edit (PUT of a changed page)",
            "PUT",
            "/api/v1/pages/",
            pages_file.as_path(),
            Some(body_file.as_path()),
        ),
    ];
    phases.push((
        "",
        measure(args, work, &base, &reader_cookie, &scenarios, &server, backend)?,
    ));
    if args.rules > 0 {
        eprintln!("   spreading {} access rules…", args.rules);
        let nodes = access::rules(&base, &cookie, &folders, &paths, args.rules).await?;
        eprintln!("   {} rules on {} folders and pages", nodes.len() * 2, nodes.len());
        // (Without the conditional views: the rules change what the
        // reader sees, so their validators no longer match.)
        let with_rules: Vec<ScenarioSpec<'_>> = scenarios.iter().copied().filter(|s| s.0 != CONDITIONAL).collect();
        phases.push((
            "rules",
            measure(args, work, &base, &reader_cookie, &with_rules, &server, backend)?,
        ));
        // The restricted reader, on the pages they may read, with the
        // rules and then without them (same targets, same process).
        let restricted = login_as(&base, access::RESTRICTED, PASSWORD).await?;
        let readable = access::readable_pages(&base, &restricted).await?;
        let mut readable_folders: Vec<String> = readable
            .iter()
            .filter_map(|p| p.rsplit_once('/').map(|(f, _)| f.to_owned()))
            .collect();
        readable_folders.sort();
        readable_folders.dedup();
        eprintln!(
            "   {} may read {} pages in {} folders",
            access::RESTRICTED,
            readable.len(),
            readable_folders.len()
        );
        let readable_file = write("pages-restricted.txt", &readable)?;
        let readable_folders_file = write("folders-restricted.txt", &readable_folders)?;
        let reads: Vec<ScenarioSpec<'_>> = scenarios
            .iter()
            .filter(|s| s.1.starts_with("GET") && s.3 != single_file.as_path() && s.0 != CONDITIONAL)
            .map(|&(name, method, prefix, targets, body)| {
                let targets = if targets == pages_file.as_path() {
                    readable_file.as_path()
                } else if targets == folders_file.as_path() {
                    readable_folders_file.as_path()
                } else {
                    targets
                };
                (name, method, prefix, targets, body)
            })
            .collect();
        let reads: Vec<ScenarioSpec<'_>> = std::iter::once(scenarios[0]).chain(reads).collect();
        phases.push((
            "restricted",
            measure(args, work, &base, &restricted, &reads, &server, backend)?,
        ));
        eprintln!("   removing the rules…");
        access::remove_rules(&base, &cookie, &nodes).await?;
        phases.push((
            "restricted, removed",
            measure(args, work, &base, &restricted, &reads, &server, backend)?,
        ));
    }
    let search_load = if args.only.as_deref().is_none_or(|o| "search under load".contains(o)) {
        eprintln!("   search: one user, then {SEARCHERS} while edits stream in…");
        let queries = search::queries(args.seed, 600);
        let prefixes = search::prefixes(args.seed, 600);
        let load = search::under_load(
            &base,
            &cookie,
            &queries,
            &prefixes,
            &paths,
            SEARCHERS,
            f64::from(args.seconds),
        )
        .await?;
        eprintln!(
            "   one user p95 {:.1} ms (titles {:.1} ms); {SEARCHERS} users p95 {:.1} ms with {:.0} edits/s; index lag p95 {:.0} ms",
            load.single_search.p95_ms, load.single_titles.p95_ms, load.loaded_search.p95_ms, load.edits_per_second, load.index_lag.p95_ms
        );
        Some(load)
    } else {
        None
    };
    let peak_rss_mib = server.peak_rss_mib();
    server.stop()?;

    // Startup on the loaded database.
    let (server, startup) = target.start().await?;
    server.stop()?;
    eprintln!("   vellum reindex…");
    let reindex = search::reindex_rate(&target.reindex()?)?;
    eprintln!("   {reindex:.0} pages/s");
    let search_stats = search::SearchStats {
        catch_up_seconds: catch_up.as_secs_f64(),
        index_pages,
        index_mib: index_bytes as f64 / 1048576.0,
        reindex_pages_per_second: Some(reindex),
        load: search_load,
    };
    let disk_bytes = match backend {
        "postgres" => pg_size(database_url).await?,
        _ => dir_size(data_dir),
    };
    run.finish(args, backend).await?;
    let name = match sqlite_synchronous.as_deref() {
        Some(mode) if mode != "full" => format!("{backend} (synchronous={mode})"),
        _ => backend.to_owned(),
    };
    Ok(phases
        .into_iter()
        .map(|(phase, results)| BackendResult {
            backend: match (phase, args.rules) {
                (_, 0) => name.clone(),
                ("", _) => format!("{name}, no rules (editor in 5 groups)"),
                ("rules", _) => format!("{name}, {} rules (same editor)", args.rules),
                ("restricted", _) => format!(
                    "{name}, {} rules (restricted viewer {})",
                    args.rules,
                    access::RESTRICTED
                ),
                _ => format!("{name}, rules removed (same viewer, same pages)"),
            },
            load: load.clone(),
            scenarios: results,
            peak_rss_mib,
            startup_ms: startup.as_secs_f64() * 1000.0,
            search: Some(search_stats.clone()),
            disk_mib: disk_bytes as f64 / (1024.0 * 1024.0),
        })
        .collect())
}

pub(crate) async fn login(base: &str) -> anyhow::Result<String> {
    login_as(base, "bench", PASSWORD).await
}

pub(crate) async fn login_as(base: &str, username: &str, password: &str) -> anyhow::Result<String> {
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("login failed: {}", res.status());
    }
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("no session cookie")?;
    Ok(cookie.to_owned())
}

/// An operation that did not succeed: index, status, body.
type Refused = (usize, u16, String);

/// What one operation came to: done, or refused with a status and a body.
pub(crate) type Outcome = Result<(), (u16, String)>;

/// Runs `op(client, i)` for every `i` in `0..n` from `concurrency` clients
/// at once (each takes the next `i` when done with its last); answers the
/// latencies of the operations that succeeded, in microseconds, and the
/// refused ones. `op` is called before the clock starts, so work done in it
/// before its future is returned is not timed.
pub(crate) async fn concurrently<F, Fut>(
    n: usize,
    concurrency: usize,
    op: F,
) -> anyhow::Result<(Vec<u64>, Vec<Refused>)>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<Outcome>> + Send + 'static,
{
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let op = Arc::new(op);
    let mut tasks = Vec::new();
    for client in 0..concurrency {
        let (next, op) = (next.clone(), op.clone());
        tasks.push(tokio::spawn(async move {
            let (mut samples, mut refused) = (Vec::new(), Vec::new());
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let operation = op(client, i);
                let t = Instant::now();
                match operation.await? {
                    Ok(()) => samples.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX)),
                    Err((status, body)) => refused.push((i, status, body)),
                }
            }
            Ok::<_, anyhow::Error>((samples, refused))
        }));
    }
    let (mut all, mut refused) = (Vec::new(), Vec::new());
    for t in tasks {
        let (s, r) = t.await??;
        all.extend(s);
        refused.extend(r);
    }
    refused.sort_by_key(|r| r.0);
    Ok((all, refused))
}

/// Writes pages `0..n` (made by `make`: path and JSON body) through the
/// API with `concurrency` clients; returns the latencies of the created
/// ones, the Markdown bytes sent, and the refused ones.
pub(crate) async fn put_pages<F>(
    base: &str,
    cookie: &str,
    n: usize,
    concurrency: usize,
    make: F,
) -> anyhow::Result<(Vec<u64>, usize, Vec<Refused>)>
where
    F: Fn(usize) -> (String, serde_json::Value) + Send + Sync + 'static,
{
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let bytes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (base, cookie, counted) = (base.to_owned(), cookie.to_owned(), bytes.clone());
    let (samples, refused) = concurrently(n, concurrency, move |_, i| {
        let (path, body) = make(i);
        counted.fetch_add(
            body["markdown"].as_str().map_or(0, str::len),
            std::sync::atomic::Ordering::Relaxed,
        );
        let (client, base, cookie) = (client.clone(), base.clone(), cookie.clone());
        async move {
            let res = client
                .put(format!("{base}/api/v1/pages/{path}"))
                .header("cookie", &cookie)
                .json(&body)
                .send()
                .await?;
            let status = res.status().as_u16();
            Ok(if status == 201 {
                Ok(())
            } else {
                Err((status, res.text().await.unwrap_or_default()))
            })
        }
    })
    .await?;
    Ok((samples, bytes.load(std::sync::atomic::Ordering::Relaxed), refused))
}

async fn load_corpus(args: &Args, base: &str, cookie: &str) -> anyhow::Result<LoadResult> {
    let (seed, n) = (args.seed, args.pages);
    let started = Instant::now();
    let (mut all, bytes, refused) = put_pages(base, cookie, n, args.load_concurrency, move |i| {
        let page = corpus::page(seed, i, n);
        let body =
            serde_json::json!({"title": page.title, "markdown": page.markdown, "tags": page.tags, "summary": "import"});
        (page.path, body)
    })
    .await?;
    if let Some((i, status, body)) = refused.first() {
        bail!("creating {} answered {status}: {body}", corpus::page(seed, *i, n).path);
    }
    let elapsed = started.elapsed();
    Ok(LoadResult {
        pages: args.pages,
        markdown_mib: bytes as f64 / (1024.0 * 1024.0),
        seconds: elapsed.as_secs_f64(),
        pages_per_second: args.pages as f64 / elapsed.as_secs_f64().max(Duration::from_millis(1).as_secs_f64()),
        latency: stats::percentiles(&mut all),
        concurrency: args.load_concurrency,
    })
}
