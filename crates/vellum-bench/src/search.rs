//! Search in the benchmark: queries drawn from the corpus's words (single
//! words, pairs, phrases, prefixes, a typo in one word, filters), title
//! prefixes for autocomplete, waiting for the index to catch up after the
//! load, and a full `vellum reindex` on the loaded database.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;

use crate::corpus::{Rng, WORDS};

#[derive(Debug, Clone, Serialize)]
pub struct SearchStats {
    /// Seconds from the end of the corpus load until the index had every
    /// event (lag 0).
    pub catch_up_seconds: f64,
    pub index_pages: u64,
    pub index_mib: f64,
    /// `vellum reindex` on the loaded database, with the server stopped.
    pub reindex_pages_per_second: Option<f64>,
}

fn encode(q: &str) -> String {
    let mut out = String::new();
    for b in q.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// One letter swapped with the next: the commonest typo.
fn typo(word: &str) -> String {
    let mut c: Vec<char> = word.chars().collect();
    if c.len() >= 5 {
        let i = c.len() / 2;
        c.swap(i - 1, i);
    }
    c.into_iter().collect()
}

/// URL-encoded queries of the kinds people type.
pub fn queries(seed: u64, n: usize) -> Vec<String> {
    let mut rng = Rng::new(seed ^ 0x5EA6C4);
    (0..n)
        .map(|i| {
            let a = rng.pick(WORDS);
            let b = rng.pick(WORDS);
            let q = match i % 6 {
                0 => a.to_owned(),
                1 => format!("{a} {b}"),
                2 => format!("\"{a} {b}\""),
                3 => format!("{}*", &a[..a.len().min(4)]),
                4 => format!("{} {b}", typo(a)),
                _ => format!("{a} -{b}"),
            };
            encode(&q)
        })
        .collect()
}

/// URL-encoded title prefixes, as typed into the header box.
pub fn prefixes(seed: u64, n: usize) -> Vec<String> {
    let mut rng = Rng::new(seed ^ 0xAC0);
    (0..n)
        .map(|_| {
            let w = rng.pick(WORDS);
            encode(&w[..w.len().min(2 + rng.below(3))])
        })
        .collect()
}

/// Polls the index's status until it has every event; returns the wait.
pub async fn wait_indexed(base: &str, admin: &str) -> anyhow::Result<(Duration, u64, u64)> {
    let started = Instant::now();
    let client = reqwest::Client::new();
    loop {
        let res = client
            .get(format!("{base}/api/v1/search/status"))
            .header("cookie", admin)
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("search status answered {}", res.status());
        }
        let body: serde_json::Value = res.json().await?;
        if body["lag_events"] == 0 && body["rebuilding"] == false {
            let pages = body["pages"].as_u64().unwrap_or(0);
            let bytes = body["bytes"].as_u64().unwrap_or(0);
            return Ok((started.elapsed(), pages, bytes));
        }
        if started.elapsed() > Duration::from_secs(3600) {
            bail!("the search index did not catch up within an hour: {body}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads `vellum reindex`'s last line: "indexed N pages in S s".
pub fn reindex_rate(stderr: &str) -> anyhow::Result<f64> {
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.contains("indexed "))
        .context("vellum reindex printed no summary")?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let pages: f64 = words.get(1).and_then(|w| w.parse().ok()).context("page count")?;
    let secs: f64 = words.get(4).and_then(|w| w.parse().ok()).context("seconds")?;
    Ok(pages / secs.max(0.001))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_url_encoded_and_varied() {
        let q = queries(42, 12);
        assert!(q.iter().all(|q| !q.contains(' ') && !q.contains('"')));
        assert!(q.iter().any(|q| q.contains("%22")), "{q:?}");
        assert!(q.iter().any(|q| q.contains("%2A")), "{q:?}");
        assert_eq!(typo("deploy"), "delpoy");
        assert_eq!(typo("team"), "team");
        assert_eq!(
            reindex_rate("\r  [###] 10/10\n  indexed 1000 pages in 2.0 s").unwrap(),
            500.0
        );
    }
}
