//! HTML manuals as wiki pages: DocBook (the PostgreSQL manual) and Sphinx
//! (Python's) pages converted to Markdown without their navigation, with
//! the one-line description each reference page carries.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// One page of a manual, ready to be written to the wiki.
#[derive(Debug, Clone)]
pub struct Doc {
    pub path: String,
    pub title: String,
    pub markdown: String,
    /// The one-line description, when the page has one.
    pub description: Option<String>,
}

/// Decodes the character references that appear in the manuals' titles.
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // A reference is short; look for its `;` in the first bytes only
        // (by byte, so a multi-byte character there cannot split).
        let Some(end) = rest.bytes().take(12).position(|b| b == b';') else {
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
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
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
        slug(
            &dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    };
    let mut docs = Vec::new();
    for f in files {
        let html = std::fs::read(&f)?;
        let html = String::from_utf8_lossy(&html);
        let stem = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        docs.push(convert(&prefix, &stem, &html)?);
    }
    Ok(docs)
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
        assert!(
            !pg.markdown.contains("ALTER SYSTEM"),
            "navigation kept: {}",
            pg.markdown
        );
        assert!(!pg.markdown.contains("TABLESPACE"), "navigation kept: {}", pg.markdown);

        let py = convert("python", "os.path", PY).unwrap();
        assert_eq!(py.path, "python/os-path");
        assert_eq!(py.title, "json — JSON encoder and decoder");
        assert_eq!(py.description.as_deref(), Some("JSON encoder and decoder"));
        assert!(py.markdown.contains("lightweight data"), "{}", py.markdown);
        assert!(!py.markdown.contains("Table of Contents"), "{}", py.markdown);
    }

    #[test]
    fn references_decode_and_stray_ampersands_stay() {
        assert_eq!(
            decode_entities("a &amp; b &#8212; &#x41; &bogus; &"),
            "a & b \u{2014} A &bogus; &"
        );
        // A multi-byte character just after an `&` with no `;` nearby.
        assert_eq!(decode_entities("&ééééééééé"), "&ééééééééé");
    }
}
