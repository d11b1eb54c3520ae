//! Starting, measuring and stopping a `vellum serve` process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

pub struct Server {
    pub child: Child,
    pub base: String,
}

pub struct Target {
    pub bin: PathBuf,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub port: u16,
    /// SQLite's durability setting, passed to the server.
    pub sqlite_synchronous: Option<String>,
    /// A configuration file for the server.
    pub config: Option<PathBuf>,
}

impl Target {
    fn command(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--database-url")
            .arg(&self.database_url)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .env("VELLUM_LOG", "warn")
            // The load generator is one client sending thousands of
            // requests a second: rate limits would answer most with 429.
            .env("VELLUM_RATE_LIMIT", "off");
        if let Some(mode) = &self.sqlite_synchronous {
            c.env("VELLUM_SQLITE_SYNCHRONOUS", mode);
        }
        if let Some(config) = &self.config {
            c.env("VELLUM_CONFIG", config);
        }
        c
    }

    pub fn create_admin(&self, name: &str, password: &str) -> anyhow::Result<()> {
        use std::io::Write;
        let mut child = self
            .command()
            .args(["user", "create", name, "--role", "admin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .context("run vellum user create")?;
        child
            .stdin
            .take()
            .context("stdin")?
            .write_all(format!("{password}\n").as_bytes())?;
        if !child.wait()?.success() {
            bail!("vellum user create failed");
        }
        Ok(())
    }

    /// Runs `vellum reindex` (the server stopped); answers its standard
    /// error, which ends with "indexed N pages in S s".
    pub fn reindex(&self) -> anyhow::Result<String> {
        let out = self
            .command()
            .arg("reindex")
            .stdout(Stdio::null())
            .output()
            .context("run vellum reindex")?;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            bail!("vellum reindex failed: {stderr}");
        }
        Ok(stderr)
    }

    /// Starts the server and waits for `/readyz`; returns it with the time
    /// from spawn to the first successful answer.
    pub async fn start(&self) -> anyhow::Result<(Server, Duration)> {
        let started = Instant::now();
        let child = self
            .command()
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("spawn vellum serve")?;
        let base = format!("http://127.0.0.1:{}", self.port);
        let client = reqwest::Client::new();
        let deadline = started + Duration::from_secs(60);
        loop {
            if let Ok(res) = client.get(format!("{base}/readyz")).send().await {
                if res.status().is_success() {
                    return Ok((Server { child, base }, started.elapsed()));
                }
            }
            if Instant::now() > deadline {
                bail!("vellum serve did not become ready within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

impl Server {
    /// Peak resident memory (VmHWM) in MiB, from /proc.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()?;
        let status = self.child.wait()?;
        if !status.success() {
            bail!("vellum serve exited with {status}");
        }
        Ok(())
    }
}

impl Drop for Server {
    /// A run that fails part-way must not leave its server behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
