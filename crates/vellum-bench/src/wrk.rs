//! Load from `wrk` (Debian package) with fixed concurrency and duration.
//! A Lua script picks a random target per request and, when done, prints
//! one JSON line with the throughput, latency percentiles and error counts.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

const SCRIPT: &str = r#"
-- A target per line; "PATH<TAB>ETAG" sends If-None-Match with it.
local targets = {}
local etags = {}
for line in io.lines(os.getenv("VELLUM_TARGETS")) do
  local path, etag = line:match("^([^\t]*)\t(.*)$")
  targets[#targets + 1] = path or line
  etags[#targets] = etag
end
-- "uniform", or "zipf": the target on line k is picked with weight 1/k.
local pick = os.getenv("VELLUM_PICK") or "uniform"
local cumulative = nil
if pick == "zipf" then
  cumulative = {}
  local sum = 0
  for k = 1, #targets do sum = sum + 1 / k; cumulative[k] = sum end
end
local function choose()
  if not cumulative then return math.random(#targets) end
  local r = math.random() * cumulative[#cumulative]
  local lo, hi = 1, #cumulative
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cumulative[mid] < r then lo = mid + 1 else hi = mid end
  end
  return lo
end
local cookie = os.getenv("VELLUM_COOKIE") or ""
local method = os.getenv("VELLUM_METHOD") or "GET"
local prefix = os.getenv("VELLUM_PREFIX") or ""
local body_file = os.getenv("VELLUM_BODY")
local body = nil
if body_file then local f = io.open(body_file, "r"); body = f:read("*a"); f:close() end
local counter = 0
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
end

function request()
  local i = choose()
  local t = targets[i]
  local headers = {}
  if cookie ~= "" then headers["Cookie"] = cookie end
  if etags[i] then headers["If-None-Match"] = etags[i] end
  if method == "PUT" then
    counter = counter + 1
    headers["Content-Type"] = "application/json"
    local text = string.format('{"markdown":"%s\\n\\nEdit %d of thread %d.","summary":"bench edit"}', body, counter, tid or 0)
    return wrk.format("PUT", prefix .. t, headers, text)
  end
  return wrk.format(method, prefix .. t, headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\n{"requests":%d,"duration_us":%d,"socket_errors":%d,"non_2xx":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"#;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct WrkOut {
    pub requests: u64,
    pub duration_us: u64,
    pub socket_errors: u64,
    pub non_2xx: u64,
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl WrkOut {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / (self.duration_us as f64 / 1e6)
    }
}

pub struct Load<'a> {
    pub base: &'a str,
    pub cookie: &'a str,
    /// `GET`, `PUT`, or `GET-ZIPF` (targets by Zipf popularity, s = 1).
    pub method: &'a str,
    pub prefix: &'a str,
    pub targets: &'a Path,
    pub body: Option<&'a Path>,
    pub connections: u32,
    pub threads: u32,
    pub seconds: u32,
}

pub fn available() -> bool {
    Command::new("wrk").arg("--version").output().is_ok()
}

pub fn run(dir: &Path, load: &Load<'_>) -> anyhow::Result<WrkOut> {
    let script = dir.join("vellum.lua");
    std::fs::write(&script, SCRIPT)?;
    let mut cmd = Command::new("wrk");
    cmd.arg(format!("-t{}", load.threads))
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.seconds))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(&script)
        .arg(load.base)
        .env("VELLUM_TARGETS", load.targets)
        .env("VELLUM_COOKIE", load.cookie)
        .env("VELLUM_PREFIX", load.prefix);
    match load.method.strip_suffix("-ZIPF") {
        Some(method) => cmd.env("VELLUM_METHOD", method).env("VELLUM_PICK", "zipf"),
        None => cmd.env("VELLUM_METHOD", load.method),
    };
    if let Some(body) = load.body {
        cmd.env("VELLUM_BODY", body);
    }
    let out = cmd.output().context("run wrk (apt-get install wrk)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("wrk failed: {}{}", stdout, String::from_utf8_lossy(&out.stderr));
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("no result line from wrk")?;
    Ok(serde_json::from_str(line)?)
}
