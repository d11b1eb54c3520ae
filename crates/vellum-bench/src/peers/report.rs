//! The comparison's report: JSON, and Markdown tables with each wiki's
//! ratio to Vellum.

use std::path::Path;

use serde::Serialize;

use crate::report::{LoadResult, Machine, Scenario};
use crate::stats::Percentiles;
use crate::Args;

#[derive(Debug, Serialize)]
pub struct PeersReport {
    pub date: String,
    pub commit: String,
    pub machine: Machine,
    pub pages: usize,
    pub seed: u64,
    pub seconds: u32,
    pub connections: u32,
    pub threads: u32,
    pub load_concurrency: usize,
    pub vellum_bin: String,
    /// Vellum first, then each peer measured.
    pub systems: Vec<System>,
    /// The peers not measured, and why.
    pub skipped: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct System {
    pub name: String,
    pub version: String,
    pub setup: String,
    /// The markup the pages were sent in.
    pub markup: String,
    pub markup_mib: f64,
    pub creation: Creation,
    pub first_views: FirstViews,
    /// `wrk`: anonymous views of random pages.
    pub views: Scenario,
    /// Percent of the machine (all cores) used by neither the wiki nor the
    /// harness during the views: above a few percent, the run was disturbed.
    pub views_other_cpu_percent: f64,
    pub ratio_to_vellum: Option<Ratios>,
}

/// Every page of the corpus created through the wiki's API.
#[derive(Debug, Serialize)]
pub struct Creation {
    pub load: LoadResult,
    /// The server's CPU time per page during the load, in milliseconds.
    pub server_cpu_ms_per_page: f64,
    pub other_cpu_percent: f64,
    /// Attempts repeated after a refusal (MediaWiki on SQLite: "database is locked").
    pub retries: usize,
    /// The import's deferred work, after the last page was created.
    pub settle: Settle,
}

#[derive(Debug, Default, Serialize)]
pub struct Settle {
    pub what: String,
    pub seconds: f64,
    /// CPU time of that work (the server's and the scripts'), per page.
    pub cpu_ms_per_page: f64,
}

/// The first view of every page after the load (it fills render caches).
#[derive(Debug, Serialize)]
pub struct FirstViews {
    pub requests_per_second: f64,
    pub latency: Percentiles,
}

/// This wiki's value divided by Vellum's.
#[derive(Debug, Serialize)]
pub struct Ratios {
    pub views_per_second: f64,
    pub view_cpu: f64,
    pub pages_created_per_second: f64,
    pub creation_cpu: f64,
}

impl PeersReport {
    pub fn new(args: &Args, bin: &Path) -> PeersReport {
        PeersReport {
            date: crate::report::now(),
            commit: crate::report::commit(),
            machine: crate::report::machine(),
            pages: args.pages,
            seed: args.seed,
            seconds: args.seconds,
            connections: args.connections,
            threads: args.threads,
            load_concurrency: args.load_concurrency,
            vellum_bin: bin.display().to_string(),
            systems: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// Fills each system's ratios to Vellum (the first system).
    pub fn compare(&mut self) {
        let Some(v) = self.systems.first() else { return };
        let base = (
            v.views.requests_per_second,
            v.views.server_cpu_us.unwrap_or(0.0),
            v.creation.load.pages_per_second,
            v.creation.server_cpu_ms_per_page,
        );
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
        for s in &mut self.systems {
            s.ratio_to_vellum = Some(Ratios {
                views_per_second: ratio(s.views.requests_per_second, base.0),
                view_cpu: ratio(s.views.server_cpu_us.unwrap_or(0.0), base.1),
                pages_created_per_second: ratio(s.creation.load.pages_per_second, base.2),
                creation_cpu: ratio(s.creation.server_cpu_ms_per_page, base.3),
            });
        }
    }

    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut s = format!(
            "Run {} on commit `{}`: the same {} pages (seed {}) in every wiki. Views: wrk -t{} -c{} for {} s \
             (after an unrecorded warm-up), anonymous, a uniformly random page per request. Creation: every page \
             through the wiki's API from {} clients.  \n\
             Machine: {} ({} cores, {:.0} GiB, Linux {}); load generator on the same machine. \
             × Vellum: this wiki's value divided by Vellum's.\n\n",
            self.date,
            self.commit,
            self.pages,
            self.seed,
            self.threads,
            self.connections,
            self.seconds,
            self.load_concurrency,
            m.cpu,
            m.cores,
            m.memory_gib,
            m.kernel
        );
        let times = |r: Option<f64>| match r {
            Some(r) if r.is_finite() && r >= 10.0 => format!("{r:.0}"),
            Some(r) if r.is_finite() && r >= 0.1 => format!("{r:.2}"),
            Some(r) if r.is_finite() => format!("{r:.3}"),
            _ => "–".to_owned(),
        };
        // Rates below 10 keep a decimal (MediaWiki creates about 2 pages/s).
        let rate = |r: f64| if r < 10.0 { format!("{r:.1}") } else { format!("{r:.0}") };
        let ratios = |sys: &System, f: fn(&Ratios) -> f64| times(sys.ratio_to_vellum.as_ref().map(f));
        s.push_str(
            "**Page views** (anonymous, random page)\n\n\
             | wiki | req/s | × Vellum | p50 ms | p99 ms | server CPU ms/view | × Vellum | non-2xx | others' CPU |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for sys in &self.systems {
            let v = &sys.views;
            s.push_str(&format!(
                "| {} | {} | {} | {:.1} | {:.1} | {:.2} | {} | {} | {:.0} % |\n",
                sys.name,
                rate(v.requests_per_second),
                ratios(sys, |r| r.views_per_second),
                v.p50_ms,
                v.p99_ms,
                v.server_cpu_us.unwrap_or(f64::NAN) / 1000.0,
                ratios(sys, |r| r.view_cpu),
                v.non_2xx + v.socket_errors,
                sys.views_other_cpu_percent
            ));
        }
        s.push_str(&format!(
            "\n**Page creation** (API, {} clients, {} pages)\n\n\
             | wiki | pages/s | × Vellum | p50 ms | p99 ms | server CPU ms/page | × Vellum | retries | others' CPU | \
             then deferred work |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
            self.load_concurrency, self.pages
        ));
        for sys in &self.systems {
            let c = &sys.creation;
            s.push_str(&format!(
                "| {} | {} | {} | {:.1} | {:.1} | {:.2} | {} | {} | {:.0} % | {}: {:.1} s, {:.2} ms CPU/page |\n",
                sys.name,
                rate(c.load.pages_per_second),
                ratios(sys, |r| r.pages_created_per_second),
                c.load.latency.p50_ms,
                c.load.latency.p99_ms,
                c.server_cpu_ms_per_page,
                ratios(sys, |r| r.creation_cpu),
                c.retries,
                c.other_cpu_percent,
                c.settle.what,
                c.settle.seconds,
                c.settle.cpu_ms_per_page
            ));
        }
        s.push_str(&format!(
            "\n**First view of every page** after the load ({} clients; fills the render caches)\n\n\
             | wiki | req/s | p50 ms | p99 ms |\n|---|---:|---:|---:|\n",
            self.load_concurrency
        ));
        for sys in &self.systems {
            let f = &sys.first_views;
            s.push_str(&format!(
                "| {} | {} | {:.1} | {:.1} |\n",
                sys.name,
                rate(f.requests_per_second),
                f.latency.p50_ms,
                f.latency.p99_ms
            ));
        }
        s.push_str("\nThe wikis:\n\n");
        for sys in &self.systems {
            s.push_str(&format!(
                "- **{}** {}: {}; pages sent as {} ({:.1} MiB).\n",
                sys.name, sys.version, sys.setup, sys.markup, sys.markup_mib
            ));
        }
        for note in &self.skipped {
            s.push_str(&format!("- {note}\n"));
        }
        s
    }
}
