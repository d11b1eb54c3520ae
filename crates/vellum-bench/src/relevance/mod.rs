//! Relevance on real documentation: HTML manuals (the PostgreSQL manual
//! from Debian's `postgresql-doc-15`, Python's library reference from
//! `python3-doc`) are converted to Markdown and loaded as wiki pages; each
//! page that has a one-line description ("ALTER TABLE — change the
//! definition of a table", "json — JSON encoder and decoder") gives a
//! known-item query made of the description's words, once as written and
//! once with a typo in one word. The page must come first (recall@1) or at
//! least in the top ten (recall@10); MRR@10 is the mean of 1/rank.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use anyhow::bail;
use serde::Serialize;

use crate::corpus::Rng;
use crate::Args;

mod manual;

pub use manual::{read_dir, Doc};

/// A known-item query: its words and the page it should find.
#[derive(Debug, Clone, Serialize)]
pub struct Query {
    pub target: String,
    pub text: String,
    /// The same words with one typo in one word of five or more letters
    /// (shorter words are matched exactly by design), when there is one.
    pub typo: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    pub queries: usize,
    pub mrr_at_10: f64,
    pub recall_at_1: f64,
    pub recall_at_10: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RelevanceResult {
    pub backend: String,
    pub sources: Vec<String>,
    pub pages: usize,
    /// Pages left out: over the wiki's size or link limits.
    pub skipped: Vec<String>,
    pub clean: Scores,
    /// The same scores on the queries that have a typo variant, without
    /// and with the typo (so the difference is the typo's cost alone).
    pub typo_clean: Scores,
    pub typo: Scores,
    pub query_ms_p50: f64,
    pub query_ms_p95: f64,
    /// Up to 25 clean queries whose page was not first: query, target,
    /// what came first.
    pub misses: Vec<(String, String, String)>,
    /// The same for queries with a typo whose page was not in the top ten.
    pub typo_misses: Vec<(String, String, String)>,
}

/// One typo in one word of five or more letters, chosen and made by the
/// seeded generator: a letter dropped, doubled, replaced or swapped with
/// its neighbour, never at the first letter (people rarely get that one
/// wrong, and neither do the peers measured).
pub fn typo(text: &str, rng: &mut Rng) -> Option<String> {
    let words: Vec<&str> = text.split(' ').collect();
    let candidates: Vec<usize> = (0..words.len())
        .filter(|&i| words[i].chars().count() >= 5 && words[i].chars().all(char::is_alphabetic))
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let i = candidates[rng.below(candidates.len())];
    let mut c: Vec<char> = words[i].chars().collect();
    let at = 1 + rng.below(c.len() - 2);
    match rng.below(4) {
        0 => {
            c.remove(at);
        }
        1 => c.insert(at, c[at]),
        2 => {
            let next = if c[at] == 'z' {
                'a'
            } else {
                char::from_u32(c[at] as u32 + 1).unwrap_or('a')
            };
            c[at] = next;
        }
        _ => c.swap(at, at + 1),
    }
    let changed: String = c.into_iter().collect();
    if changed == words[i] {
        return None;
    }
    let mut out: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
    out[i] = changed;
    Some(out.join(" "))
}

/// Known-item queries: one per page with a description that no other
/// page shares (a shared one has no single right answer).
pub fn queries(docs: &[Doc], seed: u64) -> Vec<Query> {
    let mut rng = Rng::new(seed ^ 0x2E1E);
    let mut count = std::collections::HashMap::new();
    for d in docs {
        if let Some(desc) = &d.description {
            *count.entry(desc.to_lowercase()).or_insert(0) += 1;
        }
    }
    docs.iter()
        .filter_map(|d| {
            let desc = d.description.as_ref()?;
            if count.get(&desc.to_lowercase()) != Some(&1) {
                return None;
            }
            Some(Query {
                target: d.path.clone(),
                text: desc.clone(),
                typo: typo(desc, &mut rng),
            })
        })
        .collect()
}

/// Ranks of the target (1-based, `None` when not in the top ten) and the
/// first hit's path.
async fn rank(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    q: &str,
    target: &str,
) -> anyhow::Result<(Option<usize>, String, u64)> {
    let t = std::time::Instant::now();
    let res = client
        .get(format!("{base}/api/v1/search"))
        .query(&[("q", q), ("limit", "10")])
        .header("cookie", cookie)
        .send()
        .await?;
    let status = res.status();
    let body: serde_json::Value = res.json().await?;
    let us = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
    if !status.is_success() {
        bail!("search for {q:?} answered {status}: {body}");
    }
    let paths: Vec<String> = body["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["path"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let first = paths.first().cloned().unwrap_or_default();
    Ok((paths.iter().position(|p| p == target).map(|i| i + 1), first, us))
}

fn scores(ranks: &[Option<usize>]) -> Scores {
    let n = ranks.len().max(1) as f64;
    Scores {
        queries: ranks.len(),
        mrr_at_10: ranks.iter().map(|r| r.map_or(0.0, |r| 1.0 / r as f64)).sum::<f64>() / n,
        recall_at_1: ranks.iter().filter(|r| **r == Some(1)).count() as f64 / n,
        recall_at_10: ranks.iter().filter(|r| r.is_some()).count() as f64 / n,
    }
}

pub type Misses = Vec<(String, String, String)>;

/// Runs every query (four at a time) and scores the answers: clean,
/// clean on the queries with a typo variant, with the typo; the
/// latencies (µs); the misses, clean and with a typo.
pub async fn evaluate(
    base: &str,
    cookie: &str,
    queries: &[Query],
) -> anyhow::Result<(Scores, Scores, Scores, Vec<u64>, Misses, Misses)> {
    let client = reqwest::Client::new();
    let queries = Arc::new(queries.to_vec());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (client, queries, next, base, cookie) = (
            client.clone(),
            queries.clone(),
            next.clone(),
            base.to_owned(),
            cookie.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(q) = queries.get(i) else { break };
                let clean = rank(&client, &base, &cookie, &q.text, &q.target).await?;
                let typo = match &q.typo {
                    Some(t) => Some(rank(&client, &base, &cookie, t, &q.target).await?),
                    None => None,
                };
                out.push((i, clean, typo));
            }
            Ok::<_, anyhow::Error>(out)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by_key(|(i, ..)| *i);
    let mut times = Vec::new();
    let (mut clean, mut typo_clean, mut typo) = (Vec::new(), Vec::new(), Vec::new());
    let (mut misses, mut typo_misses) = (Vec::new(), Vec::new());
    for (i, (r, first, us), t) in all {
        times.push(us);
        clean.push(r);
        if r != Some(1) && misses.len() < 25 {
            misses.push((queries[i].text.clone(), queries[i].target.clone(), first));
        }
        if let Some((tr, tfirst, tus)) = t {
            if tr.is_none() && typo_misses.len() < 25 {
                let text = queries[i].typo.clone().unwrap_or_default();
                typo_misses.push((text, queries[i].target.clone(), tfirst));
            }
            times.push(tus);
            typo_clean.push(r);
            typo.push(tr);
        }
    }
    Ok((
        scores(&clean),
        scores(&typo_clean),
        scores(&typo),
        times,
        misses,
        typo_misses,
    ))
}

/// The Markdown table of a relevance run.
pub fn markdown(results: &[RelevanceResult]) -> String {
    let mut s = String::new();
    for r in results {
        s.push_str(&format!(
            "**{}**: {} pages from {} ({} left out: over the page limits)\n\n\
             | queries | n | MRR@10 | recall@1 | recall@10 |\n|---|---:|---:|---:|---:|\n",
            r.backend,
            r.pages,
            r.sources.join(", "),
            r.skipped.len()
        ));
        for (name, sc) in [
            ("clean (all)", &r.clean),
            ("clean (those with a typo variant)", &r.typo_clean),
            ("one typo", &r.typo),
        ] {
            s.push_str(&format!(
                "| {name} | {} | {:.3} | {:.3} | {:.3} |\n",
                sc.queries, sc.mrr_at_10, sc.recall_at_1, sc.recall_at_10
            ));
        }
        s.push_str(&format!(
            "\nQuery latency through the API (4 clients): p50 {:.1} ms, p95 {:.1} ms.\n\n",
            r.query_ms_p50, r.query_ms_p95
        ));
        if !r.misses.is_empty() {
            s.push_str(
                "Clean queries whose page was not first (up to 25):\n\n| query | page | first hit |\n|---|---|---|\n",
            );
            for (q, target, first) in &r.misses {
                s.push_str(&format!("| {q} | {target} | {first} |\n"));
            }
            s.push('\n');
        }
        if !r.typo_misses.is_empty() {
            s.push_str("Queries with a typo whose page was not in the top ten (up to 25):\n\n| query | page | first hit |\n|---|---|---|\n");
            for (q, target, first) in &r.typo_misses {
                s.push_str(&format!("| {q} | {target} | {first} |\n"));
            }
            s.push('\n');
        }
    }
    s
}

/// The relevance evaluation on every selected backend.
pub fn main(args: &Args) -> anyhow::Result<()> {
    let bin = crate::vellum_bin(args)?;
    let mut docs = Vec::new();
    for dir in &args.relevance {
        docs.extend(read_dir(dir)?);
    }
    let queries = queries(&docs, args.seed);
    eprintln!(
        "{} pages, {} known-item queries ({} with a typo variant)",
        docs.len(),
        queries.len(),
        queries.iter().filter(|q| q.typo.is_some()).count()
    );
    let runtime = crate::runtime()?;
    std::fs::create_dir_all(&args.out)?;
    let mut results = Vec::new();
    for backend in crate::backends(args)? {
        eprintln!("== {backend}");
        results.push(runtime.block_on(run_relevance(args, &bin, backend, &docs, &queries))?);
        std::fs::write(args.out.join("relevance.json"), serde_json::to_string_pretty(&results)?)?;
    }
    let md = markdown(&results);
    std::fs::write(args.out.join("relevance.md"), &md)?;
    println!("{md}");
    eprintln!("results written to {}", args.out.display());
    Ok(())
}

async fn run_relevance(
    args: &Args,
    bin: &Path,
    backend: &str,
    docs: &[Doc],
    queries: &[Query],
) -> anyhow::Result<RelevanceResult> {
    let run = crate::setup(args, bin, backend, "relevance").await?;
    let (server, _) = run.target.start().await?;
    let base = server.base.clone();
    let cookie = crate::login(&base).await?;
    eprintln!("   loading {} pages…", docs.len());
    let shared: Arc<Vec<Doc>> = Arc::new(docs.to_vec());
    let pages = shared.clone();
    let (_, _, refused) = crate::put_pages(&base, &cookie, docs.len(), args.load_concurrency, move |i| {
        let d = &pages[i];
        let body = serde_json::json!({"title": d.title, "markdown": d.markdown, "summary": "import"});
        (d.path.clone(), body)
    })
    .await?;
    let mut skipped = Vec::new();
    for (i, status, body) in &refused {
        if *status != 413 && *status != 422 {
            bail!("creating {} answered {status}: {body}", shared[*i].path);
        }
        skipped.push(shared[*i].path.clone());
    }
    let left_out: HashSet<&str> = skipped.iter().map(String::as_str).collect();
    let queries: Vec<Query> = queries
        .iter()
        .filter(|q| !left_out.contains(q.target.as_str()))
        .cloned()
        .collect();
    crate::search::wait_indexed(&base, &cookie).await?;
    eprintln!("   {} queries…", queries.len());
    let (clean, typo_clean, typo, mut times, misses, typo_misses) = evaluate(&base, &cookie, &queries).await?;
    server.stop()?;
    run.finish(args, backend).await?;
    let latency = crate::stats::percentiles(&mut times);
    Ok(RelevanceResult {
        backend: backend.to_owned(),
        sources: args.relevance.iter().map(|d| d.display().to_string()).collect(),
        pages: docs.len() - skipped.len(),
        skipped,
        clean,
        typo_clean,
        typo,
        query_ms_p50: latency.p50_ms,
        query_ms_p95: latency.p95_ms,
        misses,
        typo_misses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_changes_one_long_word_once() {
        let mut rng = Rng::new(7);
        for _ in 0..200 {
            let t = typo("change the definition of a table", &mut rng).unwrap();
            let before: Vec<&str> = "change the definition of a table".split(' ').collect();
            let after: Vec<&str> = t.split(' ').collect();
            assert_eq!(before.len(), after.len());
            let changed: Vec<usize> = (0..before.len()).filter(|&i| before[i] != after[i]).collect();
            assert_eq!(changed.len(), 1, "{t}");
            assert!(before[changed[0]].len() >= 5, "{t}");
            assert_eq!(before[changed[0]].chars().next(), after[changed[0]].chars().next());
        }
        assert_eq!(typo("a b of it", &mut rng), None);
    }

    #[test]
    fn shared_descriptions_give_no_query() {
        let doc = |path: &str, d: &str| Doc {
            path: path.into(),
            title: path.into(),
            markdown: String::new(),
            description: Some(d.into()),
        };
        let q = queries(
            &[
                doc("a", "same words"),
                doc("b", "Same words"),
                doc("c", "other words here"),
            ],
            1,
        );
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].target, "c");
    }

    #[test]
    fn scores_are_the_usual_ones() {
        let s = scores(&[Some(1), Some(2), None, Some(10)]);
        assert!((s.mrr_at_10 - (1.0 + 0.5 + 0.1) / 4.0).abs() < 1e-9);
        assert!((s.recall_at_1 - 0.25).abs() < 1e-9);
        assert!((s.recall_at_10 - 0.75).abs() < 1e-9);
    }
}
