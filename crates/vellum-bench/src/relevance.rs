//! Relevance on real documentation: HTML manuals (the PostgreSQL manual
//! from Debian's `postgresql-doc-15`, Python's library reference from
//! `python3-doc`) are converted to Markdown and loaded as wiki pages; each
//! page that has a one-line description ("ALTER TABLE — change the
//! definition of a table", "json — JSON encoder and decoder") gives a
//! known-item query made of the description's words, once as written and
//! once with a typo in one word. The page must come first (recall@1) or at
//! least in the top ten (recall@10); MRR@10 is the mean of 1/rank.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use serde::Serialize;

use crate::corpus::Rng;

/// One page of a manual, ready to be written to the wiki.
#[derive(Debug, Clone)]
pub struct Doc {
    pub path: String,
    pub title: String,
    pub markdown: String,
    /// The one-line description, when the page has one.
    pub description: Option<String>,
}

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

/// Decodes the character references that appear in the manuals' titles.
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest[..rest.len().min(12)].find(';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..end];
        let ch = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" | "#39" => Some('\''),
            "nbsp" => Some(' '),
            _ => name
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text of an HTML fragment: tags dropped, references decoded,
/// whitespace collapsed.
fn text_of(html: &str) -> String {
    let mut plain = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => plain.push(c),
            _ => {}
        }
    }
    decode_entities(&plain).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first `<tag ...>…</tag>` at or after `from`, as inner HTML.
fn inner<'a>(html: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = html.find(open)?;
    let after = start + html[start..].find('>')? + 1;
    let end = after + html[after..].find(close)?;
    Some(&html[after..end])
}

/// Splits "NAME — description" (an em dash between spaces).
fn after_dash(s: &str) -> Option<String> {
    let (_, d) = s.split_once(" \u{2014} ")?;
    let d = d.trim().trim_end_matches('¶').trim();
    (!d.is_empty()).then(|| d.to_owned())
}

/// The part of a page that is the document, without the navigation
/// around it (DocBook's navheader/navfooter, Sphinx's related bars and
/// sidebar).
fn main_part(html: &str) -> &str {
    let body = html.find("<body").map_or(html, |i| &html[i..]);
    if let Some(i) = body.find("role=\"main\"") {
        let rest = &body[i..];
        let start = rest.find('>').map_or(0, |j| j + 1);
        let end = ["<div class=\"sphinxsidebar\"", "<footer", "<div class=\"footer\""]
            .iter()
            .filter_map(|m| rest.find(m))
            .min()
            .unwrap_or(rest.len());
        return &rest[start..end.max(start)];
    }
    let start = body
        .find("<div class=\"navheader\"")
        .and_then(|i| body[i..].find("</div>").map(|j| i + j + "</div>".len()))
        .unwrap_or(0);
    let end = body.find("<div class=\"navfooter\"").unwrap_or(body.len());
    &body[start..end.max(start)]
}

/// A wiki path segment from a file stem: lower case, `[a-z0-9-]`.
fn slug(stem: &str) -> String {
    let mut s: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    s.trim_matches('-').to_owned()
}

/// Reads one manual page.
pub fn convert(prefix: &str, stem: &str, html: &str) -> anyhow::Result<Doc> {
    let raw_title = inner(html, "<title", "</title>").map(text_of).unwrap_or_default();
    // Sphinx: "json — JSON encoder and decoder — Python 3.11.2 documentation".
    let title = match raw_title.rsplit_once(" \u{2014} ") {
        Some((t, suffix)) if suffix.ends_with("documentation") => t.to_owned(),
        _ => raw_title.clone(),
    };
    // DocBook reference pages: <div class="refnamediv">…<p>NAME — purpose</p>.
    let description = html
        .find("class=\"refnamediv\"")
        .and_then(|i| inner(&html[i..], "<p", "</p>"))
        .map(text_of)
        .and_then(|p| after_dash(&p))
        .or_else(|| after_dash(&title));
    let converter = htmd::HtmlToMarkdown::builder()
        .skip_tags(vec!["script", "style", "head"])
        .build();
    let markdown = converter
        .convert(main_part(html))
        .with_context(|| format!("converting {stem}"))?;
    let title = if title.is_empty() { stem.to_owned() } else { title };
    Ok(Doc {
        path: format!("{prefix}/{}", slug(stem)),
        title: title.chars().take(200).collect(),
        markdown,
        description,
    })
}

/// Every `*.html` file directly in `dir`, in name order, under a folder
/// named after the directory's manual.
pub fn read_dir(dir: &Path) -> anyhow::Result<Vec<Doc>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!(
            "{} holds no .html files (try /usr/share/doc/postgresql-doc-15/html \
             from `apt-get install postgresql-doc-15`)",
            dir.display()
        );
    }
    let lossy = dir.display().to_string();
    let prefix = if lossy.contains("postgresql") {
        "postgresql".to_owned()
    } else if lossy.contains("python") {
        "python".to_owned()
    } else {
        slug(&dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
    };
    let mut docs = Vec::new();
    for f in files {
        let html = std::fs::read(&f)?;
        let html = String::from_utf8_lossy(&html);
        let stem = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        docs.push(convert(&prefix, &stem, &html)?);
    }
    Ok(docs)
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
            let next = if c[at] == 'z' { 'a' } else { char::from_u32(c[at] as u32 + 1).unwrap_or('a') };
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
async fn rank(client: &reqwest::Client, base: &str, cookie: &str, q: &str, target: &str) -> anyhow::Result<(Option<usize>, String, f64)> {
    let t = std::time::Instant::now();
    let res = client
        .get(format!("{base}/api/v1/search"))
        .query(&[("q", q), ("limit", "10")])
        .header("cookie", cookie)
        .send()
        .await?;
    let status = res.status();
    let body: serde_json::Value = res.json().await?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    if !status.is_success() {
        bail!("search for {q:?} answered {status}: {body}");
    }
    let paths: Vec<String> = body["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["path"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let first = paths.first().cloned().unwrap_or_default();
    Ok((paths.iter().position(|p| p == target).map(|i| i + 1), first, ms))
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
/// latencies; the misses, clean and with a typo.
pub async fn evaluate(base: &str, cookie: &str, queries: &[Query]) -> anyhow::Result<(Scores, Scores, Scores, Vec<f64>, Misses, Misses)> {
    let client = reqwest::Client::new();
    let queries = Arc::new(queries.to_vec());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (client, queries, next, base, cookie) =
            (client.clone(), queries.clone(), next.clone(), base.to_owned(), cookie.to_owned());
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
    for (i, (r, first, ms), t) in all {
        times.push(ms);
        clean.push(r);
        if r != Some(1) && misses.len() < 25 {
            misses.push((queries[i].text.clone(), queries[i].target.clone(), first));
        }
        if let Some((tr, tfirst, tms)) = t {
            if tr.is_none() && typo_misses.len() < 25 {
                let text = queries[i].typo.clone().unwrap_or_default();
                typo_misses.push((text, queries[i].target.clone(), tfirst));
            }
            times.push(tms);
            typo_clean.push(r);
            typo.push(tr);
        }
    }
    Ok((scores(&clean), scores(&typo_clean), scores(&typo), times, misses, typo_misses))
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
            s.push_str("Clean queries whose page was not first (up to 25):\n\n| query | page | first hit |\n|---|---|---|\n");
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

#[cfg(test)]
mod tests {
    use super::*;

    const PG: &str = r##"<html><head><title>ALTER TABLE</title></head><body>
<div class="navheader"><table><tr><th>ALTER SYSTEM</th></tr></table><hr /></div>
<div class="refentry"><div class="refnamediv"><h2><span class="refentrytitle">ALTER TABLE</span></h2>
<p>ALTER TABLE &#8212; change the definition of a table</p></div>
<h2>Description</h2><p><code>ALTER TABLE</code> changes the definition of an existing table.</p></div>
<div class="navfooter"><a href="sql-altertablespace.html">ALTER TABLESPACE</a></div></body></html>"##;

    const PY: &str = r##"<html><head><title>json — JSON encoder and decoder &#8212; Python 3.11.2 documentation</title></head>
<body><div class="related">modules | next</div><div class="body" role="main">
<h1><code>json</code> — JSON encoder and decoder<a class="headerlink" href="#">¶</a></h1>
<p>JSON is a lightweight data interchange format.</p></div><div class="sphinxsidebar">Table of Contents</div></body></html>"##;

    #[test]
    fn manual_pages_become_wiki_pages_with_their_descriptions() {
        let pg = convert("postgresql", "sql-altertable", PG).unwrap();
        assert_eq!(pg.path, "postgresql/sql-altertable");
        assert_eq!(pg.title, "ALTER TABLE");
        assert_eq!(pg.description.as_deref(), Some("change the definition of a table"));
        assert!(pg.markdown.contains("## Description"), "{}", pg.markdown);
        assert!(!pg.markdown.contains("ALTER SYSTEM"), "navigation kept: {}", pg.markdown);
        assert!(!pg.markdown.contains("TABLESPACE"), "navigation kept: {}", pg.markdown);

        let py = convert("python", "os.path", PY).unwrap();
        assert_eq!(py.path, "python/os-path");
        assert_eq!(py.title, "json — JSON encoder and decoder");
        assert_eq!(py.description.as_deref(), Some("JSON encoder and decoder"));
        assert!(py.markdown.contains("lightweight data"), "{}", py.markdown);
        assert!(!py.markdown.contains("Table of Contents"), "{}", py.markdown);
    }

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
        let q = queries(&[doc("a", "same words"), doc("b", "Same words"), doc("c", "other words here")], 1);
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
