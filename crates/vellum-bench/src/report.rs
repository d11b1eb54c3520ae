//! The benchmark report: JSON for machines, a Markdown table for people.

use std::path::Path;

use serde::Serialize;

use crate::stats::Percentiles;
use crate::wrk::WrkOut;
use crate::Args;

#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    pub pages: usize,
    pub markdown_mib: f64,
    pub seconds: f64,
    pub pages_per_second: f64,
    pub latency: Percentiles,
    pub concurrency: usize,
}

#[derive(Debug, Serialize)]
pub struct Scenario {
    pub name: String,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub non_2xx: u64,
    pub socket_errors: u64,
    /// Server CPU time per request, in microseconds.
    pub server_cpu_us: Option<f64>,
    /// PostgreSQL's CPU time per request (all its processes), in microseconds.
    pub db_cpu_us: Option<f64>,
    pub raw: WrkOut,
}

impl Scenario {
    pub fn new(name: &str, out: WrkOut, server_cpu_us: Option<f64>, db_cpu_us: Option<f64>) -> Scenario {
        Scenario {
            server_cpu_us,
            db_cpu_us,
            name: name.to_owned(),
            requests_per_second: out.rps(),
            p50_ms: out.p50_us as f64 / 1000.0,
            p95_ms: out.p95_us as f64 / 1000.0,
            p99_ms: out.p99_us as f64 / 1000.0,
            non_2xx: out.non_2xx,
            socket_errors: out.socket_errors,
            raw: out,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct BackendResult {
    pub backend: String,
    pub load: LoadResult,
    pub scenarios: Vec<Scenario>,
    pub peak_rss_mib: Option<f64>,
    pub startup_ms: f64,
    pub disk_mib: f64,
    pub search: Option<crate::search::SearchStats>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub date: String,
    pub commit: String,
    pub machine: Machine,
    pub pages: usize,
    pub seed: u64,
    pub seconds: u32,
    pub connections: u32,
    pub threads: u32,
    pub vellum_bin: String,
    pub backends: Vec<BackendResult>,
}

fn command(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// The checked-out commit, `+dirty` when tracked files have changed.
pub(crate) fn commit() -> String {
    let dirty = !command("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    command("git", &["rev-parse", "--short", "HEAD"]) + if dirty { "+dirty" } else { "" }
}

/// The time now, UTC, ISO 8601.
pub(crate) fn now() -> String {
    command("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"])
}

pub(crate) fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or_else(|| "unknown".into(), |s| s.trim().to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        memory_gib: kib / (1024.0 * 1024.0),
        kernel: command("uname", &["-r"]),
    }
}

impl Report {
    pub fn new(args: &Args, bin: &Path) -> Report {
        Report {
            date: now(),
            commit: commit(),
            machine: machine(),
            pages: args.pages,
            seed: args.seed,
            seconds: args.seconds,
            connections: args.connections,
            threads: args.threads,
            vellum_bin: bin.display().to_string(),
            backends: Vec::new(),
        }
    }

    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut s = format!(
            "Run {} on commit `{}`: {} pages (seed {}), wrk -t{} -c{} for {} s per scenario.\n\
             Machine: {} ({} cores, {:.0} GiB, Linux {}); load generator on the same machine.\n\n",
            self.date,
            self.commit,
            self.pages,
            self.seed,
            self.threads,
            self.connections,
            self.seconds,
            m.cpu,
            m.cores,
            m.memory_gib,
            m.kernel
        );
        for b in &self.backends {
            let ceiling = b.scenarios.first().map_or(1.0, |c| c.requests_per_second.max(1.0));
            s.push_str(&format!("**{}**\n\n", b.backend));
            s.push_str(
                "| scenario | req/s | of ceiling | p50 ms | p95 ms | p99 ms | non-2xx | server CPU µs/req | db CPU µs/req |\n\
                 |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            );
            let us = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.0}"));
            for sc in &b.scenarios {
                s.push_str(&format!(
                    "| {} | {:.0} | {:.0} % | {:.2} | {:.2} | {:.2} | {} | {} | {} |\n",
                    sc.name,
                    sc.requests_per_second,
                    100.0 * sc.requests_per_second / ceiling,
                    sc.p50_ms,
                    sc.p95_ms,
                    sc.p99_ms,
                    sc.non_2xx + sc.socket_errors,
                    us(sc.server_cpu_us),
                    us(sc.db_cpu_us),
                ));
            }
            let l = &b.load;
            s.push_str(&format!(
                "\nCorpus load through the API ({} clients): {} pages ({:.0} MiB of Markdown) in {:.1} s = **{:.0} pages/s**, \
                 latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms.  \n\
                 Peak RSS {} · startup on the loaded database {:.0} ms · database on disk {:.0} MiB.\n\n",
                l.concurrency,
                l.pages,
                l.markdown_mib,
                l.seconds,
                l.pages_per_second,
                l.latency.p50_ms,
                l.latency.p95_ms,
                l.latency.p99_ms,
                b.peak_rss_mib.map_or("n/a".to_owned(), |r| format!("{r:.0} MiB")),
                b.startup_ms,
                b.disk_mib
            ));
            if let Some(x) = &b.search {
                s.push_str(&format!(
                    "Search index: {} pages, {:.0} MiB, caught up {:.1} s after the load · `vellum reindex` {}.\n\n",
                    x.index_pages,
                    x.index_mib,
                    x.catch_up_seconds,
                    x.reindex_pages_per_second
                        .map_or("not run".to_owned(), |r| format!("{r:.0} pages/s"))
                ));
                if let Some(l) = &x.load {
                    s.push_str(&format!(
                        "Search latency, one user: query p50 {:.1} ms, p95 {:.1} ms; title suggestions p50 {:.1} ms, \
                         p95 {:.1} ms. {} users at once while {:.0} edits/s stream in: {:.0} queries/s, p50 {:.1} ms, \
                         p95 {:.1} ms, p99 {:.1} ms; index lag after an edit p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms.\n\n",
                        l.single_search.p50_ms,
                        l.single_search.p95_ms,
                        l.single_titles.p50_ms,
                        l.single_titles.p95_ms,
                        l.searchers,
                        l.edits_per_second,
                        l.searches_per_second,
                        l.loaded_search.p50_ms,
                        l.loaded_search.p95_ms,
                        l.loaded_search.p99_ms,
                        l.index_lag.p50_ms,
                        l.index_lag.p95_ms,
                        l.index_lag.max_ms
                    ));
                }
            }
        }
        s
    }
}
