//! Search in the benchmark: queries drawn from the corpus's words (single
//! words, pairs, phrases, prefixes, a typo in one word, filters), title
//! prefixes for autocomplete, waiting for the index to catch up after the
//! load, latency for one user and for many while edits stream in (with
//! the index lag those edits see), and a full `vellum reindex` on the
//! loaded database.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;

use crate::corpus::{Rng, WORDS};
use crate::stats::{percentiles, Percentiles};

#[derive(Debug, Clone, Serialize)]
pub struct SearchStats {
    /// Seconds from the end of the corpus load until the index had every
    /// event (lag 0).
    pub catch_up_seconds: f64,
    pub index_pages: u64,
    pub index_mib: f64,
    /// `vellum reindex` on the loaded database, with the server stopped.
    pub reindex_pages_per_second: Option<f64>,
    pub load: Option<SearchLoad>,
}

/// Search latency alone and under load.
#[derive(Debug, Clone, Serialize)]
pub struct SearchLoad {
    /// One client, one query after another.
    pub single_search: Percentiles,
    pub single_titles: Percentiles,
    /// `searchers` clients at once while `edits_per_second` edits stream
    /// in from other clients.
    pub searchers: usize,
    pub loaded_search: Percentiles,
    pub searches_per_second: f64,
    pub edits_per_second: f64,
    /// From an edit's answer until a search finds the word it added.
    pub index_lag: Percentiles,
}

/// Times `get` on each of `targets` in turn, for `seconds`.
async fn one_by_one(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    prefix: &str,
    targets: &[String],
    seconds: f64,
) -> anyhow::Result<Percentiles> {
    let started = Instant::now();
    let mut samples = Vec::new();
    for t in targets.iter().cycle() {
        if started.elapsed().as_secs_f64() > seconds {
            break;
        }
        let at = Instant::now();
        let res = client
            .get(format!("{base}{prefix}{t}"))
            .header("cookie", cookie)
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("{prefix}{t} answered {}", res.status());
        }
        res.bytes().await?;
        samples.push(micros(at.elapsed()));
    }
    Ok(percentiles(&mut samples))
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

async fn put_markdown(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    path: &str,
    markdown: &str,
) -> anyhow::Result<()> {
    let res = client
        .put(format!("{base}/api/v1/pages/{path}"))
        .header("cookie", cookie)
        .json(&serde_json::json!({ "markdown": markdown }))
        .send()
        .await?;
    if !res.status().is_success() {
        bail!(
            "edit of {path} answered {}: {}",
            res.status(),
            res.text().await.unwrap_or_default()
        );
    }
    Ok(())
}

/// Searches as one user, then as `searchers` users while two editors
/// stream edits into `pages` and a third adds a new word to a page and
/// waits until a search finds it (the index lag).
pub async fn under_load(
    base: &str,
    cookie: &str,
    queries: &[String],
    prefixes: &[String],
    pages: &[String],
    searchers: usize,
    seconds: f64,
) -> anyhow::Result<SearchLoad> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(searchers + 4)
        .build()?;
    let search = "/api/v1/search?limit=20&q=";
    let single_search = one_by_one(&client, base, cookie, search, queries, seconds).await?;
    let single_titles = one_by_one(&client, base, cookie, "/api/v1/search/titles?q=", prefixes, seconds).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let mut searching = Vec::new();
    for k in 0..searchers {
        let (client, base, cookie, stop) = (client.clone(), base.to_owned(), cookie.to_owned(), stop.clone());
        let queries: Vec<String> = queries
            .iter()
            .skip(k * 7)
            .chain(queries.iter().take(k * 7))
            .cloned()
            .collect();
        searching.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            for q in queries.iter().cycle() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let at = Instant::now();
                let res = client
                    .get(format!("{base}{search}{q}"))
                    .header("cookie", &cookie)
                    .send()
                    .await?;
                if !res.status().is_success() {
                    bail!("search {q} answered {}", res.status());
                }
                res.bytes().await?;
                samples.push(micros(at.elapsed()));
            }
            Ok::<_, anyhow::Error>(samples)
        }));
    }
    // The editors stream into the first half of the pages, the probe into
    // the second (so that no edit overwrites a probe before it is found).
    let (streamed, probed) = pages.split_at(pages.len() / 2);
    let mut editing = Vec::new();
    for k in 0..2usize {
        let (client, stop, base, cookie) = (client.clone(), stop.clone(), base.to_owned(), cookie.to_owned());
        let pages: Vec<String> = streamed.iter().skip(k).step_by(2).take(5_000).cloned().collect();
        editing.push(tokio::spawn(async move {
            let mut n = 0u64;
            for (i, path) in pages.iter().cycle().enumerate() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let markdown = format!("# Edited\n\nEdit {i} of this page, streamed while people search.\n");
                put_markdown(&client, &base, &cookie, path, &markdown).await?;
                n += 1;
            }
            Ok::<_, anyhow::Error>(n)
        }));
    }
    let started = Instant::now();
    let mut lags = Vec::new();
    let mut probe = 0usize;
    while started.elapsed().as_secs_f64() < seconds {
        probe += 1;
        let word = format!("lagprobe{probe}x");
        let path = &probed[(probe * 7919) % probed.len()];
        put_markdown(
            &client,
            base,
            cookie,
            path,
            &format!("# Probe\n\nThis page now says {word}.\n"),
        )
        .await?;
        let edited = Instant::now();
        loop {
            // As a phrase: the word exactly, not an earlier probe's word
            // one typo away.
            let res = client
                .get(format!("{base}{search}%22{word}%22"))
                .header("cookie", cookie)
                .send()
                .await?;
            let body: serde_json::Value = res.json().await?;
            if body["total"].as_u64().unwrap_or(0) > 0 {
                lags.push(micros(edited.elapsed()));
                break;
            }
            if edited.elapsed() > Duration::from_secs(60) {
                bail!("an edit was not found by search within a minute");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let mut samples = Vec::new();
    for t in searching {
        samples.extend(t.await??);
    }
    let mut edits = 0;
    for t in editing {
        edits += t.await??;
    }
    Ok(SearchLoad {
        single_search,
        single_titles,
        searchers,
        searches_per_second: samples.len() as f64 / elapsed,
        loaded_search: percentiles(&mut samples),
        edits_per_second: edits as f64 / elapsed,
        index_lag: percentiles(&mut lags),
    })
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
    let mut last_lag = serde_json::Value::Null;
    let mut moved = Instant::now();
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
        // A stall, not a slow catch-up: the lag has not moved for a minute.
        if body["lag_events"] != last_lag {
            last_lag = body["lag_events"].clone();
            moved = Instant::now();
        } else if moved.elapsed() > Duration::from_secs(60) {
            bail!("the search index stopped catching up (no progress for 60 s): {body}");
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
