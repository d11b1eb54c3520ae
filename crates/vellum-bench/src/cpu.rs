//! CPU time spent by the server (and, on PostgreSQL, by the database
//! processes) during a scenario, read from `/proc`. Throughput on a shared
//! two-core machine moves with whatever else runs; CPU time per request
//! moves much less, so it is the number to compare between runs.

use std::sync::OnceLock;

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

/// `(command name, user + system ticks, ticks of its waited-for children)`
/// of a process.
fn stat(pid: &str) -> Option<(String, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name is in parentheses and may hold spaces; the fields follow it.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 2..)?.split(' ').collect();
    // After the name: state is field 3, utime 14 and stime 15 (1-based).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let cutime: u64 = fields.get(13)?.parse().ok()?;
    let cstime: u64 = fields.get(14)?.parse().ok()?;
    Some((name, utime + stime, cutime + cstime))
}

/// CPU seconds a process has used so far.
pub fn process_seconds(pid: u32) -> Option<f64> {
    stat(&pid.to_string()).map(|(_, t, _)| t as f64 / ticks_per_second())
}

/// CPU seconds all `postgres` processes on this machine have used so far,
/// including those that have exited: a connection's backend process ends
/// with its connection, and its time then counts in the postmaster's
/// children's time.
pub fn postgres_seconds() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    let ticks: u64 = dir
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|pid| stat(&pid))
        .filter(|(name, _, _)| name == "postgres")
        .map(|(_, own, children)| own + children)
        .sum();
    ticks as f64 / ticks_per_second()
}
