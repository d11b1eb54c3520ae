//! CPU time spent by the server (and, on PostgreSQL, by the database
//! processes) during a scenario, read from `/proc`. Throughput on a shared
//! two-core machine moves with whatever else runs; CPU time per request
//! moves much less, so it is the number to compare between runs.

use std::sync::OnceLock;
use std::time::Instant;

/// Clock ticks per second of `/proc/*/stat` times.
fn ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// One process's line of `/proc/PID/stat`.
struct Stat {
    name: String,
    parent: u32,
    /// User + system ticks.
    own: u64,
    /// Ticks of its waited-for (exited) children.
    children: u64,
}

fn stat(pid: &str) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name is in parentheses and may hold spaces; the fields follow it.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 2..)?.split(' ').collect();
    // After the name: state is field 3, the parent 4, utime 14 and stime 15 (1-based).
    let parent: u32 = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let cutime: u64 = fields.get(13)?.parse().ok()?;
    let cstime: u64 = fields.get(14)?.parse().ok()?;
    Some(Stat {
        name,
        parent,
        own: utime + stime,
        children: cutime + cstime,
    })
}

/// CPU seconds a process has used so far.
pub fn process_seconds(pid: u32) -> Option<f64> {
    stat(&pid.to_string()).map(|s| s.own as f64 / ticks_per_second())
}

/// CPU seconds of this process's exited children so far (the load
/// generator, or a script the harness ran and waited for).
pub fn children_seconds() -> f64 {
    stat("self").map_or(0.0, |s| s.children as f64 / ticks_per_second())
}

/// CPU seconds all `postgres` processes on this machine have used so far,
/// including those that have exited: a connection's backend process ends
/// with its connection, and its time then counts in the postmaster's
/// children's time.
pub fn postgres_seconds() -> f64 {
    let ticks: u64 = processes()
        .filter(|(_, s)| s.name == "postgres")
        .map(|(_, s)| s.own + s.children)
        .sum();
    ticks as f64 / ticks_per_second()
}

fn processes() -> impl Iterator<Item = (u32, Stat)> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|name| Some((name.parse::<u32>().ok()?, stat(&name)?)))
}

/// CPU seconds used so far by the processes `roots` and all their
/// descendants, exited ones included (in their parents' children's time):
/// a server made of several processes, such as nginx and a php-fpm pool,
/// each started from a master whose pid is known.
pub fn tree_seconds(roots: &[u32]) -> f64 {
    let all: Vec<(u32, Stat)> = processes().collect();
    let mut members: std::collections::HashSet<u32> = roots.iter().copied().collect();
    // Parents come before children in no particular order: widen until stable.
    loop {
        let before = members.len();
        for (pid, s) in &all {
            if members.contains(&s.parent) {
                members.insert(*pid);
            }
        }
        if members.len() == before {
            break;
        }
    }
    let ticks: u64 = all
        .iter()
        .filter(|(pid, _)| members.contains(pid))
        .map(|(_, s)| s.own + s.children)
        .sum();
    ticks as f64 / ticks_per_second()
}

/// CPU seconds the whole machine has been busy so far (all cores, from
/// `/proc/stat`): what is left after the server and the load generator is
/// someone else's work disturbing the measurement.
pub fn machine_busy_seconds() -> f64 {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is in user already).
    let busy: u64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, t)| t)
        .sum();
    busy as f64 / ticks_per_second()
}

/// The CPU time the machine spent on work other than the measured server's
/// and this harness's (with the load generator and the scripts it waited
/// for) over a stretch of time: a run that others disturbed shows here.
pub struct Others {
    at: Instant,
    accounted: f64,
    busy: f64,
}

/// CPU seconds of this process and its waited-for children.
fn harness_seconds() -> f64 {
    process_seconds(std::process::id()).unwrap_or(0.0) + children_seconds()
}

impl Others {
    /// `accounted`: the measured server's CPU seconds so far.
    pub fn start(accounted: f64) -> Others {
        Others {
            at: Instant::now(),
            accounted: accounted + harness_seconds(),
            busy: machine_busy_seconds(),
        }
    }

    /// Percent of all cores others used since the start (`accounted`: the
    /// server's CPU seconds now).
    pub fn percent(&self, accounted: f64) -> f64 {
        let wall = self.at.elapsed().as_secs_f64();
        let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
        let others = machine_busy_seconds() - self.busy - (accounted + harness_seconds() - self.accounted);
        (100.0 * others / (wall * cores).max(1e-3)).max(0.0)
    }
}
